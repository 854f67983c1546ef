//! Profiles over real HTTP: by id, by key in any phone format, merged ids, timeline, explain,
//! masking per role, and the index swapped when a new resolution commits.

mod common;

use std::time::{Duration, Instant};

use common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_profile_has_golden_record_mention_counts_vehicles_lifecycle_clv_and_segments() {
    let server = Server::start(|_| {}).await;
    let (status, body) = server.get("/v1/profiles/C001", SERVICE).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["customer_id"], "C001");
    assert_eq!(body["golden"]["name"], "王伟");
    assert_eq!(
        body["golden"]["phone"], "+8613912345678",
        "services see phones"
    );
    assert_eq!(body["golden"]["mention_count"], 4);
    assert_eq!(body["golden"]["birth_date"], "1978-03-20");
    assert_eq!(body["golden"]["app_user_id"], Value::Null);
    assert_eq!(body["golden"]["first_seen"], "2023-01-01T00:00:00Z");
    assert!(
        body["golden"].get("resident_id_hash").is_none(),
        "services never see resident-id columns: {body}"
    );
    assert_eq!(
        body["mention_counts"],
        json!({ "after_sales": 2, "sales": 2 })
    );
    assert!(
        body.get("mentions").is_none(),
        "the lean profile has counts, not the mention list: {body}"
    );
    // RO1's car was only brought in by C001 (sender), so it is not C001's vehicle.
    assert_eq!(
        body["vehicles"],
        json!([
            "LFV2A21K0A3000012",
            "LSVAA4182E2000001",
            "LSVAA4182E2000002"
        ])
    );
    assert_eq!(body["lifecycle"], json!({ "stage": "loyal" }));
    assert_eq!(body["clv"], json!({ "clv": 123456.5 }));
    assert_eq!(body["segments"], json!(["multi_source"]));

    let (status, body) = server.get("/v1/profiles/C001", ADMIN).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body["golden"]["resident_id_hash"], "h1",
        "admins see everything"
    );

    let (status, body) = server.get("/v1/profiles/C002", SERVICE).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["mention_counts"], json!({ "app": 1 }));
    assert_eq!(body["clv"], Value::Null);
    assert_eq!(body["segments"], json!(["multi_source"]));
    assert_eq!(body["vehicles"], json!([]));
    assert_eq!(body["lifecycle"], Value::Null);

    for id in [
        "C999",
        "x'%20OR%20'1'='1",
        "C001'%20--",
        "%22%3B%20DROP%20TABLE%20customers%3B",
        "%E7%8E%8B",
    ] {
        let (status, body) = server.get(&format!("/v1/profiles/{id}"), SERVICE).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{id}: {body}");
        assert_eq!(error_code(&body), "not_found");
    }
    let long = "C".repeat(5000);
    let (status, _) = server.get(&format!("/v1/profiles/{long}"), SERVICE).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Not valid UTF-8 once decoded: a 4xx JSON error, never a 500.
    let (status, body) = server.get("/v1/profiles/%FF%FE", SERVICE).await;
    assert!(status.is_client_error(), "{status} {body}");
    error_code(&body);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn include_mentions_adds_every_mention_to_profiles_and_lookups() {
    let server = Server::start(|_| {}).await;
    let all = json!([
        { "source": "after_sales", "record_id": "RO1", "role": "sender" },
        { "source": "after_sales", "record_id": "RO2", "role": "owner" },
        { "source": "sales", "record_id": "S1", "role": "buyer" },
        { "source": "sales", "record_id": "S2", "role": "buyer" },
    ]);
    let (status, body) = server
        .get("/v1/profiles/C001?include=mentions", SERVICE)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["mentions"], all);
    assert_eq!(body["mention_counts"]["sales"], 2);
    assert_eq!(body["golden"]["name"], "王伟");
    let (status, body) = server
        .get("/v1/profiles?phone=13912345678&include=mentions", SERVICE)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["profiles"][0]["mentions"], all);
    let (_, body) = server.get("/v1/profiles?phone=13912345678", SERVICE).await;
    assert!(body["profiles"][0].get("mentions").is_none(), "{body}");
    for path in [
        "/v1/profiles/C001?include=secrets",
        "/v1/profiles?phone=13912345678&include=mentions,secrets",
    ] {
        let (status, body) = server.get(path, SERVICE).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
        assert_eq!(error_code(&body), "bad_query");
    }
    // The answer is a declared JSON document.
    let resp = server
        .client
        .get(server.url("/v1/profiles/C001"))
        .bearer_auth(SERVICE)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["content-type"], "application/json");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merged_away_id_redirects_to_the_surviving_profile() {
    let server = Server::start(|_| {}).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for (old, suffix) in [("C900", ""), ("C901", ""), ("C900", "/timeline")] {
        let resp = client
            .get(server.url(&format!("/v1/profiles/{old}{suffix}")))
            .bearer_auth(SERVICE)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::PERMANENT_REDIRECT, "{old}");
        assert_eq!(
            resp.headers()["location"],
            format!("/v1/profiles/C001{suffix}").as_str()
        );
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["moved_to"], "C001");
    }
    // A client that follows redirects lands on the survivor.
    let (status, body) = server.get("/v1/profiles/C901", SERVICE).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["customer_id"], "C001");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookups_accept_any_common_phone_format_and_every_key() {
    let server = Server::start(|_| {}).await;
    for phone in [
        "+8613912345678",
        "13912345678",
        "+86 139 1234 5678",
        "139-1234-5678",
        "0086 13912345678",
        "１３９１２３４５６７８",
        "(+86) 139 1234 5678",
    ] {
        let path = format!("/v1/profiles?phone={}", urlencode(phone));
        let (status, body) = server.get(&path, SERVICE).await;
        assert_eq!(status, StatusCode::OK, "{phone}: {body}");
        assert_eq!(body["key"], "phone");
        assert_eq!(body["value"], "+8613912345678");
        assert_eq!(body["profiles"][0]["customer_id"], "C001", "{phone}");
        assert_eq!(body["profiles"].as_array().unwrap().len(), 1);
    }
    // A phone seen only on a mention (not the golden record) still finds the customer.
    let (status, body) = server.get("/v1/profiles?phone=13611112222", SERVICE).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["profiles"][0]["customer_id"], "C001");
    for (q, id) in [
        ("vin=lsvaa4182e2000002", "C001"),
        ("vin=LSVAA-4182E-2000001", "C001"),
        ("app_user_id=app-9", "C002"),
        ("unionid=wx-union-1", "C001"),
    ] {
        let (status, body) = server.get(&format!("/v1/profiles?{q}"), SERVICE).await;
        assert_eq!(status, StatusCode::OK, "{q}: {body}");
        assert_eq!(body["profiles"][0]["customer_id"], id, "{q}");
    }
    for (q, status, code) in [
        ("phone=13000000001", StatusCode::NOT_FOUND, "not_found"),
        (
            "email=nobody%40example.com",
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        ("phone=138****8000", StatusCode::BAD_REQUEST, "bad_key"),
        ("phone=hello", StatusCode::BAD_REQUEST, "bad_key"),
        ("phone=", StatusCode::BAD_REQUEST, "bad_key"),
        ("", StatusCode::BAD_REQUEST, "bad_query"),
        ("name=%E7%8E%8B", StatusCode::BAD_REQUEST, "bad_query"),
        (
            "phone=13912345678&vin=X",
            StatusCode::BAD_REQUEST,
            "bad_query",
        ),
    ] {
        let (s, body) = server.get(&format!("/v1/profiles?{q}"), SERVICE).await;
        assert_eq!(s, status, "{q}: {body}");
        assert_eq!(error_code(&body), code, "{q}");
    }
    server.stop().await;
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'-' {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timelines_page_with_cursors_and_explain_shows_edges() {
    let server = Server::start(|_| {}).await;
    let (status, body) = server
        .get("/v1/profiles/C001/timeline?limit=3", SERVICE)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let events = body["events"].as_array().unwrap();
    assert_eq!(events.len(), 3);
    assert_eq!(events[0]["record_id"], "RO2", "newest first");
    assert_eq!(events[0]["at"], "2024-01-01T00:00:00Z");
    assert_eq!(events[2]["record_id"], "S2");
    let cursor = body["next_cursor"].as_str().unwrap().to_string();
    let (_, body) = server
        .get(
            &format!("/v1/profiles/C001/timeline?limit=3&cursor={cursor}"),
            SERVICE,
        )
        .await;
    assert_eq!(body["events"].as_array().unwrap().len(), 1);
    assert_eq!(body["events"][0]["record_id"], "S1");
    assert_eq!(body["next_cursor"], Value::Null);
    for q in ["cursor=abc", "limit=0", "limit=100000", "limit=x"] {
        let (s, body) = server
            .get(&format!("/v1/profiles/C001/timeline?{q}"), SERVICE)
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{q}: {body}");
    }
    let (s, _) = server.get("/v1/profiles/C999/timeline", SERVICE).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    let (status, body) = server.get("/v1/profiles/C001/explain", SERVICE).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["edges_available"], true);
    assert_eq!(body["edges"][0]["weight"], 12.5);
    assert_eq!(body["edges"][0]["evidence"][0]["comparison"], "phone");
    assert_eq!(body["mentions"].as_array().unwrap().len(), 4);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_resolution_is_served_without_restart_or_failed_requests() {
    let server = Server::start(|cfg| cfg.refresh_interval = Some(Duration::from_millis(200))).await;
    let (status, _) = server.get("/v1/profiles/C004", SERVICE).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Hammer C001 while the new snapshot commits and the index is rebuilt and swapped.
    let client = server.client.clone();
    let url = server.url("/v1/profiles?phone=13912345678");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let hammer = {
        let stop = stop.clone();
        tokio::spawn(async move {
            let (mut ok, mut bad) = (0u32, 0u32);
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                match client.get(&url).bearer_auth(SERVICE).send().await {
                    Ok(r) if r.status() == StatusCode::OK => ok += 1,
                    _ => bad += 1,
                }
            }
            (ok, bad)
        })
    };
    write_customers(&server.lake, true).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, body) = server.get("/v1/profiles?phone=15011112222", SERVICE).await;
        if status == StatusCode::OK {
            assert_eq!(body["profiles"][0]["customer_id"], "C004");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the new customer was never served"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (ok, bad) = hammer.await.unwrap();
    assert!(ok > 10, "too few requests during the swap: {ok}");
    assert_eq!(bad, 0, "requests failed during the swap");
    let (_, ready) = server.get("/readyz", "").await;
    assert_eq!(ready["customers"], 4);
    server.stop().await;
}
