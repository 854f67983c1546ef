//! The HTTP API over real TCP on 127.0.0.1, against a real lake in a temporary folder.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, Date32Array, Float64Array, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use marque_engine::{Engine, EngineOptions};
use marque_lake::{Commit, Lake, WriteMode};
use marque_server::{ServerConfig, serve_on};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn strings(values: &[Option<&str>]) -> ArrayRef {
    Arc::new(StringArray::from(values.to_vec()))
}

async fn write(lake: &Lake, name: &str, fields: Vec<Field>, columns: Vec<ArrayRef>) {
    let schema = Arc::new(Schema::new(fields));
    let batch = RecordBatch::try_new(schema.clone(), columns).unwrap();
    lake.write(
        name,
        schema,
        vec![batch],
        WriteMode::Overwrite,
        Commit::default(),
    )
    .await
    .unwrap();
}

async fn fixture_lake(root: &std::path::Path) -> Lake {
    let lake = Lake::open(root.to_str().unwrap()).unwrap();
    let utf8 = |n: &str| Field::new(n, DataType::Utf8, true);
    let ts = |n: &str| {
        Field::new(
            n,
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            true,
        )
    };
    write(
        &lake,
        "customers",
        vec![
            Field::new("customer_id", DataType::Utf8, false),
            utf8("name"),
            utf8("gender"),
            Field::new("birth_date", DataType::Date32, true),
            utf8("phone"),
            utf8("resident_id_hash"),
            utf8("city"),
            utf8("app_user_id"),
            utf8("unionid"),
            Field::new("mention_count", DataType::Int64, true),
            utf8("sources"),
            ts("first_seen"),
            ts("last_seen"),
        ],
        vec![
            strings(&[Some("C001"), Some("C002"), Some("C003")]),
            strings(&[Some("王伟"), Some("李娜"), None]),
            strings(&[Some("M"), Some("F"), None]),
            Arc::new(Date32Array::from(vec![Some(3000), None, None])),
            strings(&[Some("+8613912345678"), Some("+8613800000000"), None]),
            strings(&[Some("h1"), None, None]),
            strings(&[Some("上海"), Some("北京"), None]),
            strings(&[None, Some("app-9"), None]),
            strings(&[None, None, None]),
            Arc::new(Int64Array::from(vec![3, 1, 1])),
            strings(&[Some("after_sales,sales"), Some("app"), Some("marketing")]),
            Arc::new(
                TimestampMicrosecondArray::from(vec![Some(1_700_000_000_000_000), None, None])
                    .with_timezone("UTC"),
            ),
            Arc::new(
                TimestampMicrosecondArray::from(vec![Some(1_710_000_000_000_000), None, None])
                    .with_timezone("UTC"),
            ),
        ],
    )
    .await;
    write(
        &lake,
        "customer_map",
        vec![
            utf8("source"),
            utf8("record_id"),
            utf8("role"),
            utf8("customer_id"),
        ],
        vec![
            strings(&[
                Some("sales"),
                Some("sales"),
                Some("after_sales"),
                Some("after_sales"),
                Some("app"),
                Some("marketing"),
            ]),
            strings(&[
                Some("S1"),
                Some("S2"),
                Some("RO1"),
                Some("RO2"),
                Some("A1"),
                Some("L1"),
            ]),
            strings(&[
                Some("buyer"),
                Some("buyer"),
                Some("sender"),
                Some("owner"),
                Some("app_user"),
                Some("lead"),
            ]),
            strings(&[
                Some("C001"),
                Some("C001"),
                Some("C001"),
                Some("C001"),
                Some("C002"),
                Some("C003"),
            ]),
        ],
    )
    .await;
    write(
        &lake,
        "raw_sales",
        vec![
            utf8("record_id"),
            utf8("vin"),
            utf8("customer_name"),
            Field::new("price", DataType::Float64, true),
        ],
        vec![
            strings(&[Some("S1"), Some("S2"), Some("S3")]),
            strings(&[
                Some("LSVAA4182E2000001"),
                Some("LSVAA4182E2000002"),
                Some("LSVAA4182E2000003"),
            ]),
            strings(&[Some("王伟"), Some("王伟"), Some("张三")]),
            Arc::new(Float64Array::from(vec![150000.0, 220000.0, 99000.0])),
        ],
    )
    .await;
    lake
}

struct Server {
    base: String,
    engine: Engine,
    lake: Lake,
    client: reqwest::Client,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

impl Server {
    async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let lake = fixture_lake(dir.path()).await;
        let engine = Engine::open(lake.clone(), EngineOptions::default())
            .await
            .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let cfg = ServerConfig {
            refresh_interval: None,
            ..ServerConfig::default()
        };
        let served = engine.clone();
        let task = tokio::spawn(async move {
            serve_on(listener, served, cfg, async move {
                let _ = stopped.await;
            })
            .await
            .unwrap();
        });
        Self {
            base,
            engine,
            lake,
            client: reqwest::Client::new(),
            stop: Some(stop),
            task,
            _dir: dir,
        }
    }

    async fn sql(&self, sql: &str) -> (StatusCode, Value) {
        let resp = self
            .client
            .post(format!("{}/v1/sql", self.base))
            .json(&json!({ "sql": sql }))
            .send()
            .await
            .unwrap();
        let status = resp.status();
        (status, resp.json().await.unwrap())
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        let resp = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        let status = resp.status();
        (status, resp.json().await.unwrap())
    }

    async fn post_raw(&self, path: &str, body: Vec<u8>) -> (StatusCode, Value) {
        let resp = self
            .client
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = resp.status();
        (status, resp.json().await.unwrap())
    }

    async fn stop(mut self) {
        self.stop.take().unwrap().send(()).unwrap();
        self.task.await.unwrap();
    }
}

fn error_code(body: &Value) -> &str {
    body["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("not an error body: {body}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sql_endpoint_answers_queries_and_rejects_mistakes() {
    let server = Server::start().await;

    let (status, body) = server.get("/healthz").await;
    assert_eq!((status, body), (StatusCode::OK, json!({ "status": "ok" })));

    let (status, body) = server.sql("SELECT count(*) AS n FROM customers").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["rows"], json!([{ "n": 3 }]));
    assert_eq!(body["row_count"], 1);
    assert_eq!(body["columns"], json!([{ "name": "n", "type": "Int64" }]));

    let (status, body) = server
        .sql("SELECT customer_id, name, birth_date FROM customers ORDER BY customer_id")
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["row_count"], 3);
    assert_eq!(body["rows"][0]["name"], "王伟");
    assert_eq!(body["rows"][0]["birth_date"], "1978-03-20");
    assert_eq!(
        body["rows"][2]["name"],
        Value::Null,
        "nulls are written out"
    );
    assert_eq!(body["truncated"], false);

    let (status, body) = server.sql("SELECT * FROM customers WHERE false").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (body["rows"].clone(), body["row_count"].clone()),
        (json!([]), json!(0))
    );

    let bad = [
        ("SELEC 1", "sql_syntax"),
        ("SELECT * FROM no_such_table", "invalid_query"),
        ("SELECT no_such_column FROM customers", "invalid_query"),
        ("CREATE TABLE t (a INT)", "forbidden_statement"),
        (
            "CREATE TABLE t AS SELECT * FROM customers",
            "forbidden_statement",
        ),
        (
            "INSERT INTO customers (customer_id) VALUES ('x')",
            "forbidden_statement",
        ),
        (
            "COPY customers TO '/tmp/marque-stolen.csv' STORED AS CSV",
            "forbidden_statement",
        ),
        (
            "SET datafusion.execution.batch_size = 1",
            "forbidden_statement",
        ),
        ("DROP TABLE customers", "forbidden_statement"),
        ("EXPLAIN CREATE TABLE t (a INT)", "forbidden_statement"),
        (
            "EXPLAIN ANALYZE INSERT INTO customers (customer_id) VALUES ('x')",
            "forbidden_statement",
        ),
        ("", "sql_syntax"),
        ("SELECT 1; SELECT 2", "invalid_query"),
        ("SELECT 1 / 0", "query_failed"),
        ("SELECT CAST(name AS INT) FROM customers", "query_failed"),
    ];
    for (sql, code) in bad {
        let (status, body) = server.sql(sql).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{sql}: {body}");
        assert_eq!(error_code(&body), code, "{sql}: {body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
    }
    // Nothing above changed the lake.
    let (_, body) = server.sql("SELECT count(*) AS n FROM customers").await;
    assert_eq!(body["rows"], json!([{ "n": 3 }]));

    for body in [
        &b"{not json"[..],
        b"{}",
        b"{\"query\": \"SELECT 1\"}",
        b"{\"sql\": 1}",
        b"",
    ] {
        let (status, answer) = server.post_raw("/v1/sql", body.to_vec()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
        assert_eq!(error_code(&answer), "bad_json");
    }

    let huge = format!("{{\"sql\": \"SELECT '{}'\"}}", "x".repeat(2 * 1024 * 1024));
    let (status, body) = server.post_raw("/v1/sql", huge.into_bytes()).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(error_code(&body), "payload_too_large");

    let (status, body) = server.get("/v1/nothing/here").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error_code(&body), "not_found");
    let (status, body) = server.get("/v1/sql").await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(error_code(&body), "method_not_allowed");

    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn profiles_have_mentions_and_vehicles() {
    let server = Server::start().await;

    let (status, body) = server.get("/v1/profiles/C001").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["customer_id"], "C001");
    assert_eq!(body["golden"]["name"], "王伟");
    assert_eq!(body["golden"]["phone"], "+8613912345678");
    assert_eq!(body["golden"]["mention_count"], 3);
    assert_eq!(body["golden"]["app_user_id"], Value::Null);
    assert!(
        body["golden"]["first_seen"]
            .as_str()
            .unwrap()
            .starts_with("2023-11-14T22:13:20")
    );
    assert_eq!(
        body["mentions"],
        json!([
            { "source": "after_sales", "record_id": "RO1", "role": "sender" },
            { "source": "after_sales", "record_id": "RO2", "role": "owner" },
            { "source": "sales", "record_id": "S1", "role": "buyer" },
            { "source": "sales", "record_id": "S2", "role": "buyer" },
        ])
    );
    // S3 belongs to someone else; RO1 is a sender mention and raw_service_orders is absent.
    assert_eq!(
        body["vehicles"],
        json!(["LSVAA4182E2000001", "LSVAA4182E2000002"])
    );

    let (status, body) = server.get("/v1/profiles/C002").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["mentions"],
        json!([{ "source": "app", "record_id": "A1", "role": "app_user" }])
    );
    assert_eq!(body["vehicles"], json!([]));

    for id in [
        "C999",
        "x'%20OR%20'1'='1",
        "C001'%20--",
        "%22%3B%20DROP%20TABLE%20customers%3B",
        "%E7%8E%8B",
    ] {
        let (status, body) = server.get(&format!("/v1/profiles/{id}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{id}: {body}");
        assert_eq!(error_code(&body), "not_found");
    }
    let (status, _) = server.get("/v1/profiles/C001").await;
    assert_eq!(status, StatusCode::OK, "the lake is untouched");

    // Repair orders land; after a refresh the vehicle the customer owns (RO2) is served, not
    // the one they only brought in as sender (RO1).
    let utf8 = |n: &str| Field::new(n, DataType::Utf8, true);
    write(
        &server.lake,
        "raw_service_orders",
        vec![
            utf8("record_id"),
            utf8("vin"),
            utf8("owner_name"),
            Field::new("mileage_km", DataType::Int64, true),
        ],
        vec![
            strings(&[Some("RO1"), Some("RO2"), Some("RO3")]),
            strings(&[Some("LFV2A21K0A3000011"), Some("LFV2A21K0A3000012"), None]),
            strings(&[Some("张三"), Some("王伟"), Some("王伟")]),
            Arc::new(Int64Array::from(vec![1000, 2000, 3000])),
        ],
    )
    .await;
    let (_, body) = server.get("/v1/profiles/C001").await;
    assert_eq!(
        body["vehicles"],
        json!(["LSVAA4182E2000001", "LSVAA4182E2000002"]),
        "not refreshed yet"
    );
    server.engine.refresh().await.unwrap();
    let (_, body) = server.get("/v1/profiles/C001").await;
    assert_eq!(
        body["vehicles"],
        json!([
            "LFV2A21K0A3000012",
            "LSVAA4182E2000001",
            "LSVAA4182E2000002"
        ])
    );

    server.stop().await;
}
