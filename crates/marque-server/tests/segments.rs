//! Segment membership over real HTTP: profiles and member pages come from the lake table
//! `segment_members` (what `marque segments refresh` writes), never from running the
//! definitions in the service; a missing or stale table is visible, never silently empty.

mod common;

use std::sync::Arc;

use arrow::array::{ArrayRef, Date32Array, Int64Array, StringArray, TimestampMicrosecondArray};
use common::*;
use marque_engine::segments::{MEMBERS_TABLE, members_schema};
use marque_engine::{Engine, EngineOptions};
use marque_lake::{Commit, Lake, WriteMode};
use reqwest::StatusCode;
use serde_json::json;

/// Overwrites `segment_members` by hand with `rows` (segment, customer_id), recorded as
/// computed from the lake's current table versions.
async fn write_members(lake: &Lake, rows: &[(&str, &str)]) {
    let versions = Engine::open(lake.clone(), EngineOptions::default())
        .await
        .unwrap()
        .table_versions();
    let versions = serde_json::to_string(&versions).unwrap();
    let n = rows.len();
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(
            rows.iter().map(|r| r.0).collect::<Vec<_>>(),
        )),
        Arc::new(StringArray::from(
            rows.iter().map(|r| Some(r.1)).collect::<Vec<_>>(),
        )),
        Arc::new(Date32Array::from(vec![Some(20_000); n])),
        Arc::new(
            TimestampMicrosecondArray::from(vec![1_700_000_000_000_000; n]).with_timezone("UTC"),
        ),
        Arc::new(Int64Array::from(vec![Some(0); n])),
        Arc::new(StringArray::from(vec![versions.as_str(); n])),
    ];
    let batch = arrow::array::RecordBatch::try_new(members_schema(), columns).unwrap();
    lake.write(
        MEMBERS_TABLE,
        members_schema(),
        vec![batch],
        WriteMode::Overwrite,
        Commit::default(),
    )
    .await
    .unwrap();
}

async fn admin_refresh(server: &Server) {
    let (s, body) = server.post_raw("/v1/admin/refresh", ADMIN, vec![]).await;
    assert_eq!(s, StatusCode::OK, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn profiles_and_member_pages_come_from_the_materialised_table() {
    let server = Server::start(|_| {}).await;
    let (s, body) = server.get("/v1/profiles/C001", SERVICE).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["segments"], json!(["multi_source"]));
    assert_eq!(body["segments_state"], "current");
    assert!(body["segments_as_of"].is_string(), "{body}");
    let (_, ready) = server.get("/readyz", "").await;
    assert_eq!(ready["segments"]["state"], "current", "{ready}");
    assert_eq!(ready["segments"]["stale_tables"], json!([]));

    // Hand-written membership that the definitions would never produce: the service serves
    // exactly the table.
    write_members(
        &server.lake,
        &[
            ("multi_source", "C002"),
            ("vip", "C003"),
            ("vip", "C001"),
            ("vip", "C999"),
        ],
    )
    .await;
    admin_refresh(&server).await;
    let (_, c1) = server.get("/v1/profiles/C001", SERVICE).await;
    assert_eq!(c1["segments"], json!(["vip"]), "{c1}");
    let (_, c2) = server.get("/v1/profiles/C002", SERVICE).await;
    assert_eq!(c2["segments"], json!(["multi_source"]));
    let (_, lookup) = server.get("/v1/profiles?phone=13712345678", SERVICE).await;
    assert_eq!(lookup["profiles"][0]["segments"], json!(["multi_source"]));
    let (s, page) = server.get("/v1/segments/vip/members", ANALYST).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert_eq!(page["members"], json!(["C001", "C003"]));
    assert_eq!(page["total"], 2);
    assert_eq!(page["segments_state"], "current");
    let (_, list) = server.get("/v1/segments", ANALYST).await;
    assert_eq!(
        list["segments"],
        json!([
            { "name": "broken", "description": "", "members": null },
            { "name": "multi_source", "description": "Customers seen in two or more records", "members": 1 },
            { "name": "vip", "description": "", "members": 2 },
        ])
    );
    let (_, ready) = server.get("/readyz", "").await;
    assert_eq!(ready["segments"]["unmatched_members"], 1, "{ready}");
    // A materialised segment without a definition has members but no export.
    let (s, body) = server
        .get("/v1/segments/vip/members?format=json", ANALYST)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{body}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_or_stale_membership_is_visible_never_silently_empty() {
    let dir = tempfile::tempdir().unwrap();
    let lake = fixture_lake(&dir.path().join("lake")).await;
    let server = Server::start_unrefreshed(dir, lake, EngineOptions::default(), |_| {}).await;

    // Never materialised: profiles say so, member pages answer 503 with a clear code.
    let (s, body) = server.get("/v1/profiles/C001", SERVICE).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["segments"], json!([]));
    assert_eq!(body["segments_state"], "missing");
    assert_eq!(body["segments_as_of"], json!(null));
    let (s, body) = server
        .get("/v1/segments/multi_source/members", ANALYST)
        .await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(error_code(&body), "segments_not_materialised");
    let (_, list) = server.get("/v1/segments", ANALYST).await;
    assert_eq!(list["segments_state"], "missing");
    let (s, ready) = server.get("/readyz", "").await;
    assert_eq!(s, StatusCode::OK, "profiles are still served");
    assert_eq!(ready["segments"]["state"], "missing");
    assert!(
        ready["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w.as_str().unwrap().contains("marque segments refresh")),
        "{ready}"
    );
    let (_, metrics) = server
        .client
        .get(server.url("/metrics"))
        .send()
        .await
        .map(|r| (r.status(), r))
        .unwrap();
    assert!(
        metrics
            .text()
            .await
            .unwrap()
            .contains("marque_segments_current 0")
    );

    // Materialised: current.
    refresh_segments(
        &server.lake,
        &segments_dir(server.dir.path()),
        &EngineOptions::default(),
    )
    .await;
    admin_refresh(&server).await;
    let (_, body) = server.get("/v1/profiles/C001", SERVICE).await;
    assert_eq!(body["segments"], json!(["multi_source"]));
    assert_eq!(body["segments_state"], "current");

    // A new resolution commits: the membership is kept but flagged stale, with the table.
    write_customers(&server.lake, true).await;
    admin_refresh(&server).await;
    let (_, body) = server.get("/v1/profiles/C001", SERVICE).await;
    assert_eq!(body["segments"], json!(["multi_source"]), "{body}");
    assert_eq!(body["segments_state"], "stale");
    let (_, c4) = server.get("/v1/profiles/C004", SERVICE).await;
    assert_eq!(c4["segments"], json!([]));
    assert_eq!(c4["segments_state"], "stale");
    let (s, page) = server
        .get("/v1/segments/multi_source/members", ANALYST)
        .await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert_eq!(page["segments_state"], "stale");
    let (_, ready) = server.get("/readyz", "").await;
    assert_eq!(ready["segments"]["state"], "stale", "{ready}");
    assert_eq!(ready["segments"]["stale_tables"], json!(["customers"]));
    server.stop().await;
}

/// The bug: at 1M customers the service ran the six definitions while building its index,
/// inside its SQL memory pool; four of them exceeded it and profiles silently lost those
/// segments. Here the definition cannot run inside the service's pool at all, yet profiles and
/// member pages carry the segment, because it comes from the materialised table.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn segments_missing_when_the_definitions_exceed_the_sql_pool() {
    let dir = tempfile::tempdir().unwrap();
    let lake = fixture_lake(&dir.path().join("lake")).await;
    let tiny = EngineOptions {
        memory_limit: Some(1),
        ..EngineOptions::default()
    };
    let server = Server::start_on(dir, lake, tiny, |_| {}).await;
    // The definition exceeds the service's pool…
    let (s, body) = server
        .sql(
            "SELECT customer_id, phone FROM customers WHERE mention_count >= 1 ORDER BY customer_id",
            ADMIN,
        )
        .await;
    assert_eq!(s, StatusCode::INSUFFICIENT_STORAGE, "{body}");
    // …and the segment is served all the same.
    for id in ["C001", "C002", "C003"] {
        let (s, body) = server.get(&format!("/v1/profiles/{id}"), SERVICE).await;
        assert_eq!(s, StatusCode::OK, "{body}");
        assert_eq!(body["segments"], json!(["multi_source"]), "{id}: {body}");
        assert_eq!(body["segments_state"], "current");
    }
    let (s, page) = server
        .get("/v1/segments/multi_source/members", ANALYST)
        .await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert_eq!(page["members"], json!(["C001", "C002", "C003"]));
    let (_, ready) = server.get("/readyz", "").await;
    assert!(
        !ready["warnings"].to_string().contains("multi_source"),
        "{ready}"
    );
    server.stop().await;
}

/// `marque segments refresh` also materialises each customer's lifecycle stage
/// (`customer_lifecycle`); profiles take it from there rather than from the lifecycle view or
/// table, so the service never computes the view at a million customers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_materialised_lifecycle_wins_over_the_view() {
    let server = Server::start(|_| {}).await;
    let (_, body) = server.get("/v1/profiles/C001", SERVICE).await;
    assert_eq!(body["lifecycle"], json!({ "stage": "loyal" }));
    write(
        &server.lake,
        "customer_lifecycle",
        vec![utf8("customer_id"), utf8("stage"), utf8("stage_rule")],
        vec![
            strings(&[Some("C001"), Some("C003")]),
            strings(&[Some("at_risk"), Some("potential")]),
            strings(&[Some("silent_at_risk"), Some("prospect_active")]),
        ],
    )
    .await;
    admin_refresh(&server).await;
    let (_, body) = server.get("/v1/profiles/C001", SERVICE).await;
    assert_eq!(
        body["lifecycle"],
        json!({ "stage": "at_risk", "stage_rule": "silent_at_risk" })
    );
    let (_, ready) = server.get("/readyz", "").await;
    assert!(
        ready["build_phases"]
            .to_string()
            .contains("customer_lifecycle"),
        "{ready}"
    );
    server.stop().await;
}
