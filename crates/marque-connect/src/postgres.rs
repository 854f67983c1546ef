//! The Postgres source: rows of a table or query read incrementally by a watermark column.
//!
//! A run reads the rows whose watermark is above the last landed batch's, in batches of at most
//! `batch_rows` rows (ties at the boundary stay together). Each batch is identified by the
//! connector and its watermark range `(from, to]`; the range is logged in `ingest_batches` with
//! status `started` before the rows are read, so a rerun after a crash reads exactly the same
//! range under the same id and lands only what is missing. Rows travel as `row_to_json` objects
//! and are mapped like JSON Lines (keys are column names), so quarantined rows keep their JSON.

use std::sync::Arc;

use arrow::array::{Array, AsArray};

use crate::replay::utf8;
use sha2::{Digest, Sha256};

use crate::definition::PostgresSource;
use crate::ingest::{
    BATCHES_TABLE, BatchInput, BatchReport, BatchStatus, Progress, Watermark, ingest_batch_with_id,
    log_row, now_micros,
};
use crate::{ConnectError, ConnectorDef, Result};

const DEFAULT_BATCH_ROWS: u64 = 100_000;

fn def_err(def: &ConnectorDef, message: String) -> ConnectError {
    ConnectError::Definition {
        path: def.path.clone(),
        message,
    }
}

/// Replaces `${VAR}` with the environment variable VAR; a missing variable is an error.
pub fn interpolate_env(text: &str) -> std::result::Result<String, String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            return Err(format!("unclosed ${{ in {text:?}"));
        };
        let name = &after[..end];
        let value =
            std::env::var(name).map_err(|_| format!("environment variable {name} is not set"))?;
        out.push_str(&value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// `"a"."b"` for `a.b`.
fn quote_ident(name: &str) -> String {
    name.split('.')
        .map(|p| format!("\"{}\"", p.replace('"', "\"\"")))
        .collect::<Vec<_>>()
        .join(".")
}

fn quote_literal(v: &str) -> String {
    format!("'{}'", v.replace('\'', "''"))
}

fn relation(pg: &PostgresSource) -> String {
    match (&pg.table, &pg.query) {
        (Some(t), _) => quote_ident(t),
        (None, Some(q)) => format!("({q})"),
        (None, None) => "(SELECT 1)".into(),
    }
}

/// The watermark range to read next: a logged but unfinished batch first, else after the last
/// landed one.
struct LogState {
    /// `(batch_id, from, to)` of the last started batch that never landed.
    pending: Option<(String, Watermark)>,
    /// The upper watermark of the last landed batch.
    last_landed: Option<String>,
}

async fn log_state(lake: &marque_lake::Lake, connector: &str) -> Result<LogState> {
    let mut started: Vec<(i64, String, Watermark)> = Vec::new();
    let mut landed: Vec<(i64, String, String)> = Vec::new();
    for b in lake.read(BATCHES_TABLE).await?.unwrap_or_default() {
        let (Some(from), Some(to)) = (
            b.column_by_name("watermark_from"),
            b.column_by_name("watermark_to"),
        ) else {
            continue;
        };
        let (Some(from), Some(to)) = (utf8(from), utf8(to)) else {
            continue;
        };
        let conn = b.column_by_name("connector").and_then(utf8);
        let id = b.column_by_name("batch_id").and_then(utf8);
        let status = b.column_by_name("status").and_then(utf8);
        let at = b
            .column_by_name("started_at")
            .and_then(|c| c.as_primitive_opt::<arrow::datatypes::TimestampMicrosecondType>());
        let (Some(conn), Some(id), Some(status), Some(at)) = (conn, id, status, at) else {
            continue;
        };
        for r in 0..b.num_rows() {
            if conn.value(r) != connector || !to.is_valid(r) {
                continue;
            }
            let w_from = from.is_valid(r).then(|| from.value(r).to_string());
            match status.value(r) {
                "started" => started.push((
                    at.value(r),
                    id.value(r).to_string(),
                    (w_from, to.value(r).to_string()),
                )),
                "landed" => landed.push((
                    at.value(r),
                    id.value(r).to_string(),
                    to.value(r).to_string(),
                )),
                _ => {}
            }
        }
    }
    landed.sort();
    started.sort();
    let done: std::collections::HashSet<&str> = landed.iter().map(|l| l.1.as_str()).collect();
    let pending = started
        .iter()
        .rev()
        .find(|s| !done.contains(s.1.as_str()))
        .map(|s| (s.1.clone(), s.2.clone()));
    Ok(LogState {
        last_landed: landed.last().map(|l| l.2.clone()),
        pending,
    })
}

fn range_id(connector: &str, w: &Watermark) -> String {
    let mut h = Sha256::new();
    h.update(connector.as_bytes());
    h.update([0]);
    h.update(w.0.as_deref().unwrap_or("").as_bytes());
    h.update([u8::from(w.0.is_some())]);
    h.update(w.1.as_bytes());
    format!("{connector}-wm-{}", &hex::encode(h.finalize())[..20])
}

/// Runs a Postgres connector: every batch of new rows, each exactly once.
pub(crate) async fn ingest_postgres(
    lake: &marque_lake::Lake,
    def: &ConnectorDef,
    progress: &mut (dyn FnMut(Progress<'_>) + Send),
) -> Result<Vec<BatchReport>> {
    let Some(pg) = &def.source.postgres else {
        return Ok(Vec::new());
    };
    let url =
        interpolate_env(&pg.url).map_err(|e| def_err(def, format!("source.postgres.url: {e}")))?;
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .map_err(|e| def_err(def, format!("cannot connect to Postgres: {e}")))?;
    let conn_task = tokio::spawn(connection);
    let result = run(lake, def, pg, &client, progress).await;
    drop(client);
    conn_task.abort();
    result
}

async fn run(
    lake: &marque_lake::Lake,
    def: &ConnectorDef,
    pg: &PostgresSource,
    client: &tokio_postgres::Client,
    progress: &mut (dyn FnMut(Progress<'_>) + Send),
) -> Result<Vec<BatchReport>> {
    let rel = relation(pg);
    let wm = quote_ident(&pg.watermark);
    let limit = pg.batch_rows.unwrap_or(DEFAULT_BATCH_ROWS).max(1);
    let sql_err = |e: tokio_postgres::Error| {
        def_err(
            def,
            format!(
                "Postgres query on {rel} failed: {}",
                e.as_db_error()
                    .map(|d| d.message().to_string())
                    .unwrap_or(e.to_string())
            ),
        )
    };
    let mut reports = Vec::new();
    progress(Progress::Planned { files: 0, bytes: 0 });
    loop {
        let state = log_state(lake, &def.name).await?;
        let (id, range, resumed) = match state.pending {
            Some((id, w)) => (id, w, true),
            None => {
                let above = match &state.last_landed {
                    Some(lo) => format!("WHERE src.{wm} > {}", quote_literal(lo)),
                    None => String::new(),
                };
                let q = format!(
                    "SELECT max(w)::text FROM (SELECT src.{wm} AS w FROM {rel} AS src {above} \
                     ORDER BY src.{wm} LIMIT {limit}) AS x"
                );
                let row = client.query_one(&q, &[]).await.map_err(sql_err)?;
                let hi: Option<String> = row.get(0);
                let Some(hi) = hi else { break };
                let w = (state.last_landed.clone(), hi);
                (range_id(&def.name, &w), w, false)
            }
        };
        let name = format!(
            "postgres:{}({},{}]",
            pg.table.as_deref().unwrap_or("query"),
            range.0.as_deref().unwrap_or(""),
            range.1
        );
        let started_at = now_micros();
        if !resumed {
            let note = BatchReport {
                connector: def.name.clone(),
                file: name.clone(),
                batch_id: id.clone(),
                rows_read: 0,
                rows_landed: 0,
                rows_quarantined: 0,
                status: BatchStatus::Landed,
                duration_ms: 0,
                rejected: Vec::new(),
            };
            log_row(
                lake,
                def,
                &note,
                0,
                "",
                started_at,
                None,
                Some(&range),
                "started",
                None,
            )
            .await?;
        }
        let lower = match &range.0 {
            Some(lo) => format!("src.{wm} > {} AND ", quote_literal(lo)),
            None => String::new(),
        };
        let q = format!(
            "SELECT row_to_json(src)::text FROM {rel} AS src \
             WHERE {lower}src.{wm} <= {} ORDER BY src.{wm}",
            quote_literal(&range.1)
        );
        let rows = client.query(&q, &[]).await.map_err(sql_err)?;
        let mut body = Vec::new();
        for r in &rows {
            let line: String = r.get(0);
            body.extend_from_slice(line.as_bytes());
            body.push(b'\n');
        }
        let size = body.len() as u64;
        let sha = hex::encode(Sha256::digest(&body));
        progress(Progress::Started {
            file: &name,
            bytes: size,
        });
        let report = ingest_batch_with_id(
            lake,
            def,
            BatchInput::Bytes(Arc::new(body)),
            &name,
            size,
            &sha,
            id,
            Some(range),
        )
        .await?;
        progress(Progress::Finished {
            report: &report,
            bytes: size,
        });
        let stop = matches!(report.status, BatchStatus::Failed(_));
        reports.push(report);
        if stop {
            break;
        }
    }
    Ok(reports)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_vars_are_interpolated_and_missing_ones_named() {
        // SAFETY: single-threaded test setup; the variable is unique to this test.
        unsafe { std::env::set_var("MARQUE_TEST_PG_PASSWORD", "s3cret") };
        assert_eq!(
            interpolate_env("postgres://u:${MARQUE_TEST_PG_PASSWORD}@h/db").unwrap(),
            "postgres://u:s3cret@h/db"
        );
        let e = interpolate_env("postgres://u:${MARQUE_TEST_NOT_SET_XYZ}@h").unwrap_err();
        assert!(e.contains("MARQUE_TEST_NOT_SET_XYZ"), "{e}");
    }

    #[test]
    fn identifiers_and_literals_are_quoted() {
        assert_eq!(quote_ident("dms.sales"), "\"dms\".\"sales\"");
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(quote_literal("it's"), "'it''s'");
    }
}
