//! A 10-million-row SQL answer streams to the client with bounded server memory. Alone in its
//! test binary so that the process's peak RSS measures this one query.

mod common;

use common::*;
use futures::StreamExt;
use reqwest::StatusCode;
use serde_json::json;

/// Peak resident set size of this process (server and client together), in bytes.
fn vm_hwm() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    let kb: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kb * 1024
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_million_rows_stream_with_bounded_memory() {
    let server = Server::start(|_| {}).await;
    // Warm up: plan and run a small query once so lazy initialisation is not counted.
    let (status, _) = server
        .sql("SELECT value FROM generate_series(1, 100000)", ADMIN)
        .await;
    assert_eq!(status, StatusCode::OK);
    let before = vm_hwm();
    let resp = server
        .client
        .post(server.url("/v1/sql?format=ndjson"))
        .bearer_auth(ADMIN)
        .json(&json!({ "sql": "SELECT value FROM generate_series(1, 10000000)" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let (mut bytes, mut lines, mut last) = (0usize, 0usize, Vec::new());
    let mut body = resp.bytes_stream();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.unwrap();
        bytes += chunk.len();
        lines += chunk.iter().filter(|&&b| b == b'\n').count();
        last = chunk.to_vec(); // only the latest chunk is kept
    }
    let after = vm_hwm();
    assert_eq!(lines, 10_000_000);
    assert!(String::from_utf8_lossy(&last).ends_with("{\"value\":10000000}\n"));
    let grew = after.saturating_sub(before);
    println!(
        "streamed {lines} rows, {} MB; peak RSS {} MB -> {} MB (+{} MB)",
        bytes >> 20,
        before >> 20,
        after >> 20,
        grew >> 20
    );
    // Collected whole, the answer alone would be ~170 MB of JSON plus 80 MB of Arrow.
    assert!(bytes > 160 * 1024 * 1024, "{bytes}");
    assert!(
        grew < 64 * 1024 * 1024,
        "peak RSS grew by {} MB",
        grew >> 20
    );
    server.stop().await;
}
