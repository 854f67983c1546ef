//! End to end: gen → ingest (twice) → resolve → eval → serve, through the `marque` binary.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::{count, ok, raw_rows, sum_i64};

#[test]
fn the_pipeline_lands_every_row_once_resolves_and_scores() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let src = common::generate(dir.path(), 400, 7);
    let src_s = src.to_str().unwrap();

    let first = ok(&lake, &["ingest", "--input", src_s]);
    assert!(first.contains("landed"), "{first}");
    let raw = raw_rows(&lake);
    let quarantined = count(&lake, "quarantine");
    assert!(raw > 1000, "only {raw} rows landed");
    // Invariant per batch, summed: rows read = rows landed + rows quarantined.
    let read = sum_i64(&lake, "ingest_batches", "rows_read");
    assert_eq!(read as usize, raw + quarantined);
    assert_eq!(
        sum_i64(&lake, "ingest_batches", "rows_landed") as usize,
        raw
    );

    let second = ok(&lake, &["ingest", "--input", src_s]);
    assert_eq!(second.matches("already loaded").count(), 4, "{second}");
    let raw_again = raw_rows(&lake);
    assert_eq!(
        raw_again, raw,
        "a second ingest of the same files must land nothing"
    );
    assert_eq!(count(&lake, "quarantine"), quarantined);

    let resolved = ok(&lake, &["resolve"]);
    assert!(resolved.contains("customers"), "{resolved}");
    let customers = count(&lake, "customers");
    assert!(customers > 0);

    let eval = ok(&lake, &["eval", "--truth", src_s, "--json"]);
    let report: serde_json::Value = serde_json::from_str(&eval).unwrap();
    let bcubed_p = report["bcubed"]["precision"].as_f64().unwrap();
    assert!(
        bcubed_p > 0.99,
        "b-cubed precision {bcubed_p}: over-merging\n{eval}"
    );
    assert_eq!(
        report["coverage"]["missing_unbroken"].as_u64(),
        Some(0),
        "{eval}"
    );

    // The same customers over HTTP.
    let server = common::serve(&lake, &[]);
    let body = post_sql(
        server.port,
        r#"{"sql":"SELECT count(*) AS n FROM customers"}"#,
    );
    drop(server);
    let answer: serde_json::Value =
        serde_json::from_str(body.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    assert_eq!(
        answer["rows"][0]["n"].as_u64(),
        Some(customers as u64),
        "{body}"
    );
}

/// POSTs to /v1/sql once the server accepts connections (up to 60 s); returns the raw response.
/// HTTP/1.0, so the streamed answer comes without chunked framing.
fn post_sql(port: u16, json: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
            let req = format!(
                "POST /v1/sql HTTP/1.0\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{json}",
                json.len()
            );
            s.write_all(req.as_bytes()).unwrap();
            let mut out = String::new();
            s.read_to_string(&mut out).unwrap();
            return out;
        }
        assert!(Instant::now() < deadline, "server did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
}
