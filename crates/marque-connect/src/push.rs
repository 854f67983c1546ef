//! Ingesting a body already in memory (HTTP push of NDJSON app events) as one batch.

use std::sync::Arc;

use marque_lake::Lake;
use sha2::{Digest, Sha256};

use crate::ingest::{BatchInput, BatchReport, ingest_batch};
use crate::{ConnectorDef, Result};

/// Ingests `bytes` as one batch of connector `def`, exactly once: the batch id is the connector,
/// `source_name`, the body's size and its SHA-256, so the same body pushed twice under the same
/// name lands once (the second report says [`AlreadyLoaded`](crate::ingest::BatchStatus)).
/// `source_name` is recorded as the batch's file (e.g. `push/<request id>`). Bad lines are
/// quarantined like bad rows of a file; their first reasons are in [`BatchReport::rejected`].
pub async fn ingest_bytes(
    lake: &Lake,
    def: &ConnectorDef,
    source_name: &str,
    bytes: Vec<u8>,
) -> Result<BatchReport> {
    let size = bytes.len() as u64;
    let sha = hex::encode(Sha256::digest(&bytes));
    ingest_batch(
        lake,
        def,
        BatchInput::Bytes(Arc::new(bytes)),
        source_name,
        size,
        &sha,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::BatchStatus;
    use std::path::Path;

    const APP: &str = r#"
name = "app_push"
domain = "app"
source = { path = "push" }
format = { kind = "jsonl" }
[[field]]
name = "record_id"
column = "event_id"
[[field]]
name = "app_user_id"
column = "app_user_id"
[[field]]
name = "event_type"
column = "event_type"
[[field]]
name = "event_time"
column = "event_time"
"#;

    #[tokio::test]
    async fn a_pushed_body_lands_once_and_bad_lines_are_quarantined_with_reasons() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::open(dir.path().to_str().unwrap()).unwrap();
        let def = ConnectorDef::parse(APP, Path::new("app_push.toml")).unwrap();
        let body = concat!(
            r#"{"event_id":"e1","app_user_id":"u1","event_type":"login","event_time":"2024-01-02 10:00:00"}"#,
            "\n",
            r#"{"event_id":"e2","app_user_id":"u1","event_type":"login","event_time":"yesterday"}"#,
            "\n",
            r#"{"event_id":"e3","#,
            "\n"
        );
        let r = ingest_bytes(&lake, &def, "push/r1", body.as_bytes().to_vec())
            .await
            .unwrap();
        assert_eq!(r.status, BatchStatus::Landed);
        assert_eq!((r.rows_read, r.rows_landed, r.rows_quarantined), (3, 1, 2));
        assert_eq!(r.rejected.len(), 2);
        assert_eq!(r.rejected[0].0, 2);
        assert!(r.rejected[0].1.contains("event_time"), "{:?}", r.rejected);
        assert!(r.rejected[1].1.contains("invalid JSON"), "{:?}", r.rejected);
        let again = ingest_bytes(&lake, &def, "push/r1", body.as_bytes().to_vec())
            .await
            .unwrap();
        assert_eq!(again.status, BatchStatus::AlreadyLoaded);
        let rows: usize = lake
            .read("raw_app_events")
            .await
            .unwrap()
            .unwrap()
            .iter()
            .map(|b| b.num_rows())
            .sum();
        assert_eq!(rows, 1);
    }
}
