//! `POST /v1/sql` over real HTTP: every output format, read-only enforcement, analyst masking,
//! limits (concurrency, timeout, memory) and the audit log.

mod common;

use std::time::{Duration, Instant};

use arrow::array::AsArray;
use arrow::datatypes::Int64Type;
use common::*;
use marque_engine::EngineOptions;
use reqwest::StatusCode;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sql_answers_in_every_format() {
    let server = Server::start(|_| {}).await;
    let sql = "SELECT customer_id, mention_count FROM customers ORDER BY customer_id";
    let (status, body) = server.sql(sql, ADMIN).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["row_count"], 3);
    assert_eq!(body["truncated"], false);
    assert_eq!(
        body["rows"][0],
        json!({ "customer_id": "C001", "mention_count": 4 })
    );
    assert_eq!(body["columns"][1]["name"], "mention_count");

    let fetch = |format: &'static str, accept: Option<&'static str>| {
        let server = &server;
        async move {
            let mut req = server
                .client
                .post(server.url(&format!("/v1/sql{format}")))
                .bearer_auth(ADMIN)
                .json(&json!({ "sql": sql }));
            if let Some(a) = accept {
                req = req.header("accept", a);
            }
            let resp = req.send().await.unwrap();
            assert_eq!(resp.status(), StatusCode::OK, "{format} {accept:?}");
            let ct = resp.headers()["content-type"].to_str().unwrap().to_string();
            (ct, resp.bytes().await.unwrap())
        }
    };
    let (ct, bytes) = fetch("?format=ndjson", None).await;
    assert_eq!(ct, "application/x-ndjson");
    let lines: Vec<Value> = std::str::from_utf8(&bytes)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[2]["customer_id"], "C003");

    let (ct, bytes) = fetch("", Some("text/csv")).await;
    assert!(ct.starts_with("text/csv"));
    assert_eq!(
        std::str::from_utf8(&bytes).unwrap(),
        "customer_id,mention_count\nC001,4\nC002,1\nC003,1\n"
    );

    let (ct, bytes) = fetch("", Some("application/vnd.apache.arrow.stream")).await;
    assert_eq!(ct, "application/vnd.apache.arrow.stream");
    let reader =
        arrow::ipc::reader::StreamReader::try_new(std::io::Cursor::new(bytes.to_vec()), None)
            .unwrap();
    let batches: Vec<_> = reader.map(|b| b.unwrap()).collect();
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    assert_eq!(rows, 3);

    let (ct, bytes) = fetch("?format=parquet", None).await;
    assert_eq!(ct, "application/vnd.apache.parquet");
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(bytes)
        .unwrap()
        .build()
        .unwrap();
    let batches: Vec<_> = reader.map(|b| b.unwrap()).collect();
    let total: i64 = batches
        .iter()
        .map(|b| {
            b.column_by_name("mention_count")
                .unwrap()
                .as_primitive::<Int64Type>()
                .iter()
                .flatten()
                .sum::<i64>()
        })
        .sum();
    assert_eq!(total, 6);

    // Empty results are still well-formed in every format.
    let (_, body) = server
        .sql("SELECT * FROM customers WHERE false", ADMIN)
        .await;
    assert_eq!(body["rows"], json!([]));
    let resp = server
        .client
        .post(server.url("/v1/sql?format=csv"))
        .bearer_auth(ADMIN)
        .json(&json!({ "sql": "SELECT customer_id FROM customers WHERE false" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.text().await.unwrap(), "customer_id\n");

    for (format, accept, status) in [
        ("?format=xml", None, StatusCode::BAD_REQUEST),
        ("", Some("image/png"), StatusCode::NOT_ACCEPTABLE),
    ] {
        let mut req = server
            .client
            .post(server.url(&format!("/v1/sql{format}")))
            .bearer_auth(ADMIN)
            .json(&json!({ "sql": sql }));
        if let Some(a) = accept {
            req = req.header("accept", a);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), status);
        let body: Value = resp.json().await.unwrap();
        error_code(&body);
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_and_malformed_requests_are_4xx_json_never_500() {
    let server = Server::start(|_| {}).await;
    for (sql, code) in [
        ("SELEC 1", "sql_syntax"),
        ("SELECT * FROM no_such_table", "invalid_query"),
        ("SELECT no_such_column FROM customers", "invalid_query"),
        ("CREATE TABLE t (a INT)", "forbidden_statement"),
        ("DROP TABLE customers", "forbidden_statement"),
        (
            "INSERT INTO customers (customer_id) VALUES ('x')",
            "forbidden_statement",
        ),
        ("COPY customers TO '/tmp/x.csv'", "forbidden_statement"),
        (
            "SET datafusion.execution.batch_size = 1",
            "forbidden_statement",
        ),
        ("EXPLAIN CREATE TABLE t (a INT)", "forbidden_statement"),
        (
            "EXPLAIN ANALYZE INSERT INTO customers (customer_id) VALUES ('x')",
            "forbidden_statement",
        ),
        ("CREATE VIEW v AS SELECT 1", "forbidden_statement"),
        ("", "sql_syntax"),
    ] {
        for token in [ADMIN, ANALYST] {
            let (status, body) = server.sql(sql, token).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{sql}: {body}");
            assert_eq!(error_code(&body), code, "{sql}: {body}");
        }
    }
    for raw in [
        &b"not json"[..],
        b"{\"sql\": 1}",
        b"{\"query\": \"SELECT 1\"}",
        b"",
        b"\xff\xfe",
    ] {
        let (status, body) = server.post_raw("/v1/sql", ADMIN, raw.to_vec()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{raw:?}: {body}");
        assert_eq!(error_code(&body), "bad_json");
    }
    let huge = format!("{{\"sql\": \"SELECT '{}'\"}}", "x".repeat(2 * 1024 * 1024));
    let (status, body) = server.post_raw("/v1/sql", ADMIN, huge.into_bytes()).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(error_code(&body), "payload_too_large");
    let (status, body) = server.get("/v1/nothing", ADMIN).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error_code(&body), "not_found");
    let resp = server
        .client
        .get(server.url("/v1/sql"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
    // The lake is untouched.
    let (_, body) = server
        .sql("SELECT count(*) AS n FROM customers", ADMIN)
        .await;
    assert_eq!(body["rows"], json!([{ "n": 3 }]));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn analysts_see_masked_phones_and_no_resident_ids_whatever_the_query() {
    let server = Server::start(|_| {}).await;
    let sql = "SELECT record_id, phone, resident_id, upper(phone) AS p2, concat(resident_id, '') AS r2 FROM raw_sales ORDER BY record_id";
    let (status, body) = server.sql(sql, ANALYST).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let row = &body["rows"][0];
    assert_eq!(row["phone"], "139****5678");
    assert_eq!(row["p2"], "139****5678", "renaming does not unmask");
    assert_eq!(row["resident_id"], "******************");
    assert_eq!(row["r2"], "******************");
    assert_eq!(
        body["rows"][1]["resident_id"],
        Value::Null,
        "nulls stay null"
    );
    let text = body.to_string();
    assert!(
        !text.contains("110101199003071234") && !text.contains("13912345678"),
        "{text}"
    );
    let (_, body) = server
        .sql(
            "SELECT phone FROM customers WHERE customer_id = 'C001'",
            ANALYST,
        )
        .await;
    assert_eq!(body["rows"][0]["phone"], "+86139****5678");
    // Filters run on masked values too: a clear phone cannot be probed.
    let (_, body) = server
        .sql(
            "SELECT count(*) AS n FROM customers WHERE phone = '+8613912345678'",
            ANALYST,
        )
        .await;
    assert_eq!(body["rows"][0]["n"], 0);
    // Admins see the lake as it is.
    let (_, body) = server.sql(sql, ADMIN).await;
    assert_eq!(body["rows"][0]["resident_id"], "110101199003071234");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_answer_429_504_507_and_cut_rows() {
    let dir = tempfile::tempdir().unwrap();
    let lake = fixture_lake(&dir.path().join("lake")).await;
    let opts = EngineOptions {
        memory_limit: Some(8 * 1024 * 1024),
        ..EngineOptions::default()
    };
    let server = Server::start_on(dir, lake, opts, |cfg| {
        cfg.max_concurrent_queries = 1;
        cfg.query_timeout = Some(Duration::from_secs(2));
        cfg.max_rows = Some(5);
    })
    .await;
    // Row cap: the JSON answer says it was cut.
    let (status, body) = server
        .sql("SELECT value FROM generate_series(1, 100)", ADMIN)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["row_count"], 5);
    assert_eq!(body["truncated"], true);
    // Memory: sorting far more than the 8 MiB pool cannot spill here.
    let (status, body) = server
        .sql(
            "SELECT array_agg(value) FROM generate_series(1, 5000000)",
            ADMIN,
        )
        .await;
    assert_eq!(status, StatusCode::INSUFFICIENT_STORAGE, "{body}");
    assert_eq!(error_code(&body), "resources_exhausted");
    // Timeout before the first row.
    let slow = "SELECT count(*) FROM generate_series(1, 20000000000)";
    let started = Instant::now();
    let (status, body) = server.sql(slow, ADMIN).await;
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT, "{body}");
    assert_eq!(error_code(&body), "query_timeout");
    assert!(started.elapsed() < Duration::from_secs(20));
    // Concurrency: one slot; a second query while the first runs gets 429.
    let first = {
        let client = server.client.clone();
        let url = server.url("/v1/sql");
        tokio::spawn(async move {
            client
                .post(url)
                .bearer_auth(ADMIN)
                .json(&json!({ "sql": slow }))
                .send()
                .await
                .unwrap()
                .status()
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (status, body) = server.sql("SELECT 1", ADMIN).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(error_code(&body), "too_many_queries");
    assert_eq!(first.await.unwrap(), StatusCode::GATEWAY_TIMEOUT);
    let (status, _) = server.sql("SELECT 1", ADMIN).await;
    assert_eq!(status, StatusCode::OK, "the slot is free again");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_query_and_admin_action_lands_in_the_audit_log() {
    let server = Server::start(|_| {}).await;
    let (status, _) = server
        .sql("SELECT customer_id FROM customers", ANALYST)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = server.sql("DROP TABLE customers", ANALYST).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let resp = server
        .client
        .post(server.url("/v1/admin/refresh"))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let lake = server.lake.clone();
    let _dir = server.stop().await; // shutdown flushes the writer
    let batches = lake
        .read("audit_log")
        .await
        .unwrap()
        .expect("audit_log exists");
    let mut rows = Vec::new();
    for b in &batches {
        // Read back as the lake gives it (strings may be views): cast to plain types.
        let col = |n: &str, t: &arrow::datatypes::DataType| {
            arrow::compute::cast(b.column_by_name(n).unwrap(), t).unwrap()
        };
        let utf8 = arrow::datatypes::DataType::Utf8;
        let int64 = arrow::datatypes::DataType::Int64;
        let (who, action, target, status, n) = (
            col("principal", &utf8),
            col("action", &utf8),
            col("target", &utf8),
            col("status", &int64),
            col("rows", &int64),
        );
        for i in 0..b.num_rows() {
            rows.push((
                who.as_string::<i32>().value(i).to_string(),
                action.as_string::<i32>().value(i).to_string(),
                target.as_string::<i32>().value(i).to_string(),
                status.as_primitive::<Int64Type>().value(i),
                n.as_primitive::<Int64Type>().value(i),
            ));
        }
    }
    rows.sort();
    assert!(
        rows.contains(&(
            "bi".into(),
            "sql".into(),
            "SELECT customer_id FROM customers".into(),
            200,
            3
        )),
        "{rows:?}"
    );
    assert!(rows.contains(&(
        "bi".into(),
        "sql".into(),
        "DROP TABLE customers".into(),
        400,
        0
    )));
    assert!(
        rows.iter()
            .any(|r| r.0 == "ops" && r.1 == "admin.refresh" && r.3 == 200)
    );
}
