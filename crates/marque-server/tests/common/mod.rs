//! Shared by the HTTP tests: a small real lake in a temporary folder and a real server on
//! 127.0.0.1 (an ephemeral port), driven over TCP with reqwest.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow::array::{
    ArrayRef, Date32Array, Float64Array, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use marque_engine::{Engine, EngineOptions};
use marque_lake::{Commit, Lake, WriteMode};
use marque_server::{Role, ServerConfig, TokenEntry, serve_on};
use reqwest::StatusCode;
use serde_json::{Value, json};

pub const SERVICE: &str = "service-token-1";
pub const ANALYST: &str = "analyst-token-1";
pub const ADMIN: &str = "admin-token-1";

pub fn strings(values: &[Option<&str>]) -> ArrayRef {
    Arc::new(StringArray::from(values.to_vec()))
}

pub fn utf8(n: &str) -> Field {
    Field::new(n, DataType::Utf8, true)
}

pub fn ts_field(n: &str) -> Field {
    Field::new(
        n,
        DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        true,
    )
}

pub fn ts(values: &[Option<i64>]) -> ArrayRef {
    Arc::new(TimestampMicrosecondArray::from(values.to_vec()).with_timezone("UTC"))
}

pub async fn write(lake: &Lake, name: &str, fields: Vec<Field>, columns: Vec<ArrayRef>) {
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

/// Microseconds of 2023-01-01T00:00:00Z plus `days`.
pub fn day(days: i64) -> Option<i64> {
    Some((1_672_531_200 + days * 86_400) * 1_000_000)
}

/// Writes the golden records (`extra` adds one more customer, for refresh tests).
pub async fn write_customers(lake: &Lake, extra: bool) {
    let mut ids = vec![Some("C001"), Some("C002"), Some("C003")];
    let mut names = vec![Some("王伟"), Some("李娜"), None];
    let mut phones = vec![Some("+8613912345678"), Some("+8613712345678"), None];
    if extra {
        ids.push(Some("C004"));
        names.push(Some("赵六"));
        phones.push(Some("+8615011112222"));
    }
    let n = ids.len();
    let pad = |v: Vec<Option<&'static str>>| {
        let mut v = v;
        v.resize(n, None);
        v
    };
    write(
        lake,
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
            ts_field("first_seen"),
            ts_field("last_seen"),
        ],
        vec![
            strings(&ids),
            strings(&names),
            strings(&pad(vec![Some("M"), Some("F")])),
            Arc::new(Date32Array::from({
                let mut v = vec![Some(3000), None, None];
                v.resize(n, None);
                v
            })),
            strings(&phones),
            strings(&pad(vec![Some("h1")])),
            strings(&pad(vec![Some("上海"), Some("北京")])),
            strings(&pad(vec![None, Some("app-9")])),
            strings(&pad(vec![Some("wx-union-1")])),
            Arc::new(Int64Array::from({
                let mut v = vec![4, 1, 1];
                v.resize(n, 1);
                v
            })),
            strings(&pad(vec![
                Some("after_sales,sales"),
                Some("app"),
                Some("marketing"),
            ])),
            ts(&{
                let mut v = vec![day(0), None, None];
                v.resize(n, None);
                v
            }),
            ts(&{
                let mut v = vec![day(365), None, None];
                v.resize(n, None);
                v
            }),
        ],
    )
    .await;
}

/// The fixture lake: customers, mentions, customer_map, id history, match edges, lifecycle,
/// CLV and a raw sales table with clear resident ids and phones.
pub async fn fixture_lake(root: &std::path::Path) -> Lake {
    let lake = Lake::open(root.to_str().unwrap()).unwrap();
    write_customers(&lake, false).await;
    let cid = [
        Some("C001"),
        Some("C001"),
        Some("C001"),
        Some("C001"),
        Some("C002"),
        Some("C003"),
    ];
    let source = [
        Some("sales"),
        Some("sales"),
        Some("after_sales"),
        Some("after_sales"),
        Some("app"),
        Some("marketing"),
    ];
    let role = [
        Some("buyer"),
        Some("buyer"),
        Some("sender"),
        Some("owner"),
        Some("app_user"),
        Some("lead"),
    ];
    let record = [
        Some("S1"),
        Some("S2"),
        Some("RO1"),
        Some("RO2"),
        Some("A1"),
        Some("L1"),
    ];
    write(
        &lake,
        "mentions",
        vec![
            utf8("customer_id"),
            utf8("source"),
            utf8("role"),
            utf8("record_id"),
            Field::new("record_count", DataType::Int64, false),
            utf8("name"),
            utf8("phone"),
            utf8("resident_id_hash"),
            utf8("app_user_id"),
            utf8("unionid"),
            utf8("vin"),
            ts_field("first_seen"),
            ts_field("last_seen"),
        ],
        vec![
            strings(&cid),
            strings(&source),
            strings(&role),
            strings(&record),
            Arc::new(Int64Array::from(vec![1, 1, 1, 1, 7, 1])),
            strings(&[
                Some("王伟"),
                Some("王伟"),
                Some("张三"),
                Some("王伟"),
                None,
                Some("王先生"),
            ]),
            strings(&[
                Some("+8613912345678"),
                None,
                Some("+8613900001111"),
                Some("+8613611112222"),
                Some("+8613712345678"),
                None,
            ]),
            strings(&[Some("h1"), None, None, None, None, None]),
            strings(&[None, None, None, None, Some("app-9"), None]),
            strings(&[Some("wx-union-1"), None, None, None, None, None]),
            strings(&[
                Some("LSVAA4182E2000001"),
                Some("LSVAA4182E2000002"),
                Some("LFV2A21K0A3000011"),
                Some("LFV2A21K0A3000012"),
                None,
                None,
            ]),
            ts(&[day(0), day(150), day(200), day(300), day(10), day(-300)]),
            ts(&[day(0), day(150), day(200), day(365), day(40), day(-300)]),
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
            strings(&source),
            strings(&record),
            strings(&role),
            strings(&cid),
        ],
    )
    .await;
    write(
        &lake,
        "customer_id_history",
        vec![
            utf8("old_id"),
            utf8("new_id"),
            ts_field("changed_at"),
            utf8("reason"),
        ],
        vec![
            strings(&[Some("C900"), Some("C901")]),
            strings(&[Some("C001"), Some("C900")]),
            ts(&[day(400), day(300)]),
            strings(&[Some("merge"), Some("merge")]),
        ],
    )
    .await;
    write(
        &lake,
        "match_edges",
        vec![
            utf8("customer_id"),
            utf8("left_source"),
            utf8("left_record_id"),
            utf8("left_role"),
            utf8("right_source"),
            utf8("right_record_id"),
            utf8("right_role"),
            utf8("kind"),
            Field::new("weight", DataType::Float64, true),
            utf8("evidence"),
        ],
        vec![
            strings(&[Some("C001")]),
            strings(&[Some("sales")]),
            strings(&[Some("S1")]),
            strings(&[Some("buyer")]),
            strings(&[Some("after_sales")]),
            strings(&[Some("RO2")]),
            strings(&[Some("owner")]),
            strings(&[Some("scored")]),
            Arc::new(Float64Array::from(vec![12.5])),
            strings(&[Some(
                r#"[{"comparison":"phone","level":"exact","weight":8.1}]"#,
            )]),
        ],
    )
    .await;
    write(
        &lake,
        "lifecycle",
        vec![utf8("customer_id"), utf8("stage")],
        vec![strings(&[Some("C001")]), strings(&[Some("loyal")])],
    )
    .await;
    write(
        &lake,
        "customer_clv",
        vec![
            utf8("customer_id"),
            Field::new("clv", DataType::Float64, true),
        ],
        vec![
            strings(&[Some("C001")]),
            Arc::new(Float64Array::from(vec![123456.5])),
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
            utf8("resident_id"),
            utf8("phone"),
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
            strings(&[Some("110101199003071234"), None, Some("110101199003075678")]),
            strings(&[Some("13912345678"), Some("+86 139 1234 5678"), None]),
            Arc::new(Float64Array::from(vec![150000.0, 220000.0, 99000.0])),
        ],
    )
    .await;
    lake
}

/// Writes the fixture segments into `dir`.
pub fn segments_dir(dir: &std::path::Path) -> std::path::PathBuf {
    let d = dir.join("segments");
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(
        d.join("multi_source.sql"),
        "-- Customers seen in two or more records\nSELECT customer_id, phone FROM customers WHERE mention_count >= 1 ORDER BY customer_id\n",
    )
    .unwrap();
    std::fs::write(
        d.join("broken.sql"),
        "SELECT customer_id FROM no_such_table",
    )
    .unwrap();
    d
}

/// Materialises the segments of `segments` into `segment_members`, as `marque segments refresh`
/// does (with `opts`' views, without its memory limit).
pub async fn refresh_segments(
    lake: &Lake,
    segments: &std::path::Path,
    opts: &EngineOptions,
) -> marque_engine::segments::MembersRefresh {
    let engine = Engine::open(
        lake.clone(),
        EngineOptions {
            segments_dir: Some(segments.to_path_buf()),
            memory_limit: None,
            ..opts.clone()
        },
    )
    .await
    .unwrap();
    let scratch = tempfile::tempdir().unwrap();
    engine
        .refresh_segment_members(None, scratch.path())
        .await
        .unwrap()
}

pub struct Server {
    pub base: String,
    pub engine: Engine,
    pub lake: Lake,
    pub client: reqwest::Client,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
    pub dir: tempfile::TempDir,
}

/// The three tokens of the tests.
pub fn tokens() -> Vec<TokenEntry> {
    vec![
        TokenEntry::from_clear("crm", Role::Service, SERVICE),
        TokenEntry::from_clear("bi", Role::Analyst, ANALYST),
        TokenEntry::from_clear("ops", Role::Admin, ADMIN),
    ]
}

impl Server {
    /// A server over the fixture lake with tokens; `tweak` adjusts the config.
    pub async fn start(tweak: impl FnOnce(&mut ServerConfig)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let lake = fixture_lake(&dir.path().join("lake")).await;
        Self::start_on(dir, lake, EngineOptions::default(), tweak).await
    }

    /// A server over `lake` whose segments (the fixture's) are materialised first, as
    /// `marque segments refresh` does.
    pub async fn start_on(
        dir: tempfile::TempDir,
        lake: Lake,
        opts: EngineOptions,
        tweak: impl FnOnce(&mut ServerConfig),
    ) -> Self {
        refresh_segments(&lake, &segments_dir(dir.path()), &opts).await;
        Self::start_unrefreshed(dir, lake, opts, tweak).await
    }

    /// A server over `lake` as it is (no segment refresh).
    pub async fn start_unrefreshed(
        dir: tempfile::TempDir,
        lake: Lake,
        opts: EngineOptions,
        tweak: impl FnOnce(&mut ServerConfig),
    ) -> Self {
        let engine = Engine::open(lake.clone(), opts).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let mut cfg = ServerConfig {
            refresh_interval: None,
            tokens: tokens(),
            segments_dir: Some(segments_dir(dir.path())),
            ..ServerConfig::default()
        };
        tweak(&mut cfg);
        let served = engine.clone();
        let task = tokio::spawn(async move {
            serve_on(listener, served, cfg, async move {
                let _ = stopped.await;
            })
            .await
            .unwrap();
        });
        let server = Self {
            base,
            engine,
            lake,
            client: reqwest::Client::new(),
            stop: Some(stop),
            task,
            dir,
        };
        server.wait_ready().await;
        server
    }

    pub async fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(r) = self
                .client
                .get(format!("{}/readyz", self.base))
                .send()
                .await
                && r.status() == StatusCode::OK
            {
                return;
            }
            assert!(Instant::now() < deadline, "server not ready in 60 s");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// GET with `token` (none when empty); status and JSON body.
    pub async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        let mut req = self.client.get(self.url(path));
        if !token.is_empty() {
            req = req.bearer_auth(token);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        let body = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("GET {path}: not JSON ({e}): {text}"));
        (status, body)
    }

    /// POST /v1/sql as `token`; status and JSON body.
    pub async fn sql(&self, sql: &str, token: &str) -> (StatusCode, Value) {
        let resp = self
            .client
            .post(self.url("/v1/sql"))
            .bearer_auth(token)
            .json(&json!({ "sql": sql }))
            .send()
            .await
            .unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        let body =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{sql}: not JSON ({e}): {text}"));
        (status, body)
    }

    pub async fn post_raw(&self, path: &str, token: &str, body: Vec<u8>) -> (StatusCode, Value) {
        let resp = self
            .client
            .post(self.url(path))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        let body = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("POST {path}: not JSON ({e}): {text}"));
        (status, body)
    }

    /// Stops the server and waits for it; returns the temporary folder (the lake stays until
    /// it is dropped).
    pub async fn stop(mut self) -> tempfile::TempDir {
        self.stop.take().unwrap().send(()).unwrap();
        (&mut self.task).await.unwrap();
        self.dir
    }
}

pub fn error_code(body: &Value) -> &str {
    body["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("not an error body: {body}"))
}
