//! Security and operations over real HTTP: tokens and roles, open mode, request ids, metrics,
//! readiness, the OpenAPI document, push ingestion and graceful shutdown.

mod common;

use std::time::Duration;

use common::*;
use marque_server::{ServerConfig, ServerError};
use reqwest::StatusCode;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_and_roles_decide_who_may_do_what() {
    let server = Server::start(|_| {}).await;
    for (path, token, status) in [
        ("/v1/profiles/C001", "", StatusCode::UNAUTHORIZED),
        ("/v1/profiles/C001", "wrong", StatusCode::UNAUTHORIZED),
        ("/v1/profiles/C001", ANALYST, StatusCode::FORBIDDEN),
        ("/v1/profiles/C001", SERVICE, StatusCode::OK),
        ("/v1/profiles/C001", ADMIN, StatusCode::OK),
        ("/v1/segments", SERVICE, StatusCode::FORBIDDEN),
        ("/v1/segments", ANALYST, StatusCode::OK),
        ("/healthz", "", StatusCode::OK),
    ] {
        let (s, body) = server.get(path, token).await;
        assert_eq!(s, status, "{path} as {token:?}: {body}");
        if !s.is_success() {
            let code = error_code(&body);
            assert_eq!(
                code,
                if s == 401 {
                    "unauthorized"
                } else {
                    "forbidden"
                }
            );
        }
    }
    let (s, body) = server.sql("SELECT 1", SERVICE).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    let (s, _) = server.sql("SELECT 1", "").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, body) = server
        .post_raw("/v1/admin/refresh", ANALYST, Vec::new())
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_mode_is_loopback_only() {
    let dir = tempfile::tempdir().unwrap();
    let lake = fixture_lake(dir.path()).await;
    let engine = marque_engine::Engine::open(lake, Default::default())
        .await
        .unwrap();
    let cfg = ServerConfig {
        addr: "0.0.0.0:0".parse().unwrap(),
        ..ServerConfig::default()
    };
    let err = marque_server::serve(engine, cfg).await.unwrap_err();
    assert!(matches!(err, ServerError::Insecure(_)), "{err}");
    // On loopback with no tokens, everyone is admin.
    let server = Server::start(|cfg| cfg.tokens.clear()).await;
    let (s, _) = server.get("/v1/profiles/C001", "").await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = server.sql("SELECT 1", "").await;
    assert_eq!(s, StatusCode::OK);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_ids_metrics_readiness_and_openapi() {
    let server = Server::start(|_| {}).await;
    let resp = server
        .client
        .get(server.url("/v1/profiles/C001"))
        .bearer_auth(SERVICE)
        .header("x-request-id", "trace-abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["x-request-id"], "trace-abc-123");
    let resp = server
        .client
        .get(server.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert!(
        !resp.headers()["x-request-id"].is_empty(),
        "an id is made up when none is sent"
    );
    server.get("/v1/profiles/C999", SERVICE).await;

    let (s, ready) = server.get("/readyz", "").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(ready["status"], "ready");
    assert_eq!(ready["customers"], 3);
    assert_eq!(ready["mentions"], 6);
    assert!(ready["keys"].as_u64().unwrap() >= 8, "{ready}");
    assert!(ready["index_bytes"].as_u64().unwrap() > 0, "{ready}");
    assert!(ready["build_secs"].as_f64().is_some(), "{ready}");

    let text = server
        .client
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains(
        "marque_http_requests_total{route=\"/v1/profiles/{customer_id}\",method=\"GET\",status=\"200\"} 1"
    ), "{text}");
    assert!(text.contains("route=\"/v1/profiles/{customer_id}\",method=\"GET\",status=\"404\""));
    assert!(text.contains(
        "marque_http_request_duration_seconds_bucket{route=\"/v1/profiles/{customer_id}\""
    ));
    assert!(text.contains("marque_profile_index_customers 3"));
    assert!(text.contains("marque_profile_index_bytes "), "{text}");

    let (s, doc) = server.get("/openapi.json", "").await;
    assert_eq!(s, StatusCode::OK);
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/v1/sql",
        "/v1/profiles",
        "/v1/profiles/{customer_id}",
        "/v1/profiles/{customer_id}/timeline",
        "/v1/profiles/{customer_id}/explain",
        "/v1/segments",
        "/v1/segments/{name}/members",
        "/v1/admin/refresh",
        "/v1/ingest/{connector}",
        "/healthz",
        "/readyz",
        "/metrics",
        "/openapi.json",
    ] {
        assert!(
            paths.contains_key(p),
            "{p} missing from the OpenAPI document"
        );
    }
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    // The profile answers and their include parameter are described.
    let profile = &doc["components"]["schemas"]["Profile"]["properties"];
    for field in [
        "customer_id",
        "golden",
        "mention_counts",
        "mentions",
        "vehicles",
        "lifecycle",
        "clv",
        "segments",
    ] {
        assert!(
            profile.get(field).is_some(),
            "Profile lacks {field}: {profile}"
        );
    }
    for p in ["/v1/profiles", "/v1/profiles/{customer_id}"] {
        let params = doc["paths"][p]["get"]["parameters"].as_array().unwrap();
        assert!(
            params.iter().any(|q| q["name"] == "include"),
            "{p} does not document include"
        );
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn segments_list_page_and_stream() {
    let server = Server::start(|_| {}).await;
    let (s, body) = server.get("/v1/segments", ANALYST).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(
        body["segments"],
        json!([
            { "name": "broken", "description": "", "members": null },
            { "name": "multi_source", "description": "Customers seen in two or more records", "members": 3 },
        ])
    );
    let (s, body) = server
        .get("/v1/segments/multi_source/members?limit=2", ANALYST)
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["members"], json!(["C001", "C002"]));
    assert_eq!(body["total"], 3);
    let (_, body) = server
        .get(
            "/v1/segments/multi_source/members?limit=2&cursor=2",
            ANALYST,
        )
        .await;
    assert_eq!(body["members"], json!(["C003"]));
    assert_eq!(body["next_cursor"], Value::Null);
    // The whole export streams through the SQL path, masked for analysts.
    let resp = server
        .client
        .get(server.url("/v1/segments/multi_source/members?format=csv"))
        .bearer_auth(ANALYST)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let text = resp.text().await.unwrap();
    assert!(
        text.starts_with("customer_id,phone\nC001,+86139****5678\n"),
        "{text}"
    );
    for (path, status) in [
        ("/v1/segments/nope/members", StatusCode::NOT_FOUND),
        (
            "/v1/segments/broken/members",
            StatusCode::SERVICE_UNAVAILABLE,
        ),
        (
            "/v1/segments/multi_source/members?limit=0",
            StatusCode::BAD_REQUEST,
        ),
        (
            "/v1/segments/multi_source/members?format=xls",
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let (s, body) = server.get(path, ANALYST).await;
        assert_eq!(s, status, "{path}: {body}");
        error_code(&body);
    }
    let (s, body) = server
        .get("/v1/segments/broken/members?format=json", ANALYST)
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushed_events_land_once_and_bad_lines_come_back_with_reasons() {
    let server = Server::start(|cfg| cfg.ingest_body_limit = 64 * 1024).await;
    let push =
        |body: &'static str, key: &'static str, token: &'static str, connector: &'static str| {
            let server = &server;
            async move {
                let resp = server
                    .client
                    .post(server.url(&format!("/v1/ingest/{connector}")))
                    .bearer_auth(token)
                    .header("idempotency-key", key)
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                let status = resp.status();
                (status, resp.json::<Value>().await.unwrap())
            }
        };
    let good = concat!(
        r#"{"event_id":"e1","app_user_id":"u1","event_type":"login","event_time":"2024-01-02 10:00:00"}"#,
        "\n",
        r#"{"event_id":"e2","#,
        "\n"
    );
    let (s, body) = push(good, "k1", SERVICE, "app_events").await;
    assert_eq!(s, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["status"], "landed");
    assert_eq!(body["rows_landed"], 1);
    assert_eq!(body["rows_quarantined"], 1);
    assert_eq!(body["rejected"][0]["line"], 2);
    assert!(!body["batch_id"].as_str().unwrap().is_empty());
    let (s, body) = push(good, "k1", SERVICE, "app_events").await;
    assert_eq!(s, StatusCode::ACCEPTED);
    assert_eq!(
        body["status"], "already_loaded",
        "same key and body land once"
    );
    let (s, body) = push("{\"nope\n", "k2", SERVICE, "app_events").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body["rejected"][0]["reason"].as_str().unwrap().len() > 3);
    let (s, _) = push(good, "k3", ANALYST, "app_events").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = push(good, "k3", SERVICE, "no_such_connector").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = push("\n\n", "k4", SERVICE, "app_events").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let big = "x".repeat(100 * 1024);
    let resp = server
        .client
        .post(server.url("/v1/ingest/app_events"))
        .bearer_auth(SERVICE)
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_lets_a_streaming_answer_finish() {
    let server = Server::start(|_| {}).await;
    let resp = server
        .client
        .post(server.url("/v1/sql?format=csv"))
        .bearer_auth(ADMIN)
        .json(&json!({ "sql": "SELECT value FROM generate_series(1, 300000)" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    // Ask the server to stop while the body is still being streamed.
    let stopping = tokio::spawn(server.stop());
    tokio::time::sleep(Duration::from_millis(50)).await;
    let text = resp.text().await.unwrap();
    assert_eq!(
        text.lines().count(),
        300_001,
        "the answer in flight was completed"
    );
    stopping.await.unwrap();
}
