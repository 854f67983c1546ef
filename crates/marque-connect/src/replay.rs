//! Replaying quarantined rows through the current (fixed) connector definition, exactly once.
//!
//! Each quarantined row is re-read on its own (a CSV row behind its file's header record, a JSON
//! line, or a Parquet row kept as a JSON object). Rows that now map land in the domain's raw
//! table, and are marked in `quarantine_replays`, under one replay batch id derived from the set
//! of rows tried. The raw commit and the marks carry that id, so a crash between them is healed
//! by the next replay: it tries the same rows, finds the raw commit done and writes the marks.
//! Rows that still fail stay in quarantine (not copied again), with their new reason reported.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, Int64Array, RecordBatch, StringBuilder, TimestampMicrosecondBuilder,
};
use arrow::datatypes::{DataType, Field, Int64Type, Schema, SchemaRef};
use marque_core::canonical;
use marque_lake::{Commit, Lake, WriteMode};
use sha2::{Digest, Sha256};

use crate::definition::Format;
use crate::ingest::{BatchReport, BatchStatus, QUARANTINE_TABLE, log_batch, now_micros};
use crate::read::{Input, read_input};
use crate::{ConnectError, ConnectorDef, Result};

/// The table marking quarantined rows that a replay landed.
pub const REPLAYS_TABLE: &str = "quarantine_replays";

/// Schema of `quarantine_replays`: one row per quarantined row landed by a replay.
pub fn replays_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("connector", DataType::Utf8, false),
        Field::new("batch_id", DataType::Utf8, false),
        Field::new("line", DataType::Int64, false),
        Field::new("replay_batch_id", DataType::Utf8, false),
        Field::new(
            "replayed_at",
            DataType::Timestamp(arrow::datatypes::TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
    ]))
}

/// One quarantined row as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct QuarantineRecord {
    pub connector: String,
    pub batch_id: String,
    pub file: String,
    pub line: u64,
    pub byte_offset: u64,
    pub raw: Vec<u8>,
    pub reason: String,
    /// Microseconds since the epoch, UTC.
    pub quarantined_at: i64,
    pub header: Option<Vec<u8>>,
    /// The replay batch that landed it, if any.
    pub replayed_by: Option<String>,
}

impl QuarantineRecord {
    /// The row's id as the CLI shows it: `<batch_id>:<line>`.
    pub fn id(&self) -> String {
        format!("{}:{}", self.batch_id, self.line)
    }
}

/// Every quarantined row of the lake (of one connector when given), in batch and line order,
/// with its replay status.
pub async fn quarantined(lake: &Lake, connector: Option<&str>) -> Result<Vec<QuarantineRecord>> {
    let mut out = Vec::new();
    let replayed = replay_marks(lake).await?;
    for b in lake.read(QUARANTINE_TABLE).await?.unwrap_or_default() {
        let s = |name: &str| b.column_by_name(name).and_then(utf8);
        let i = |name: &str| {
            b.column_by_name(name)
                .and_then(|c| c.as_primitive_opt::<Int64Type>().cloned())
        };
        let bin = |name: &str| b.column_by_name(name).and_then(binary);
        let (Some(conn), Some(batch), Some(file), Some(line), Some(off), Some(raw), Some(reason)) = (
            s("connector"),
            s("batch_id"),
            s("file"),
            i("line"),
            i("byte_offset"),
            bin("raw"),
            s("reason"),
        ) else {
            continue;
        };
        let at = b
            .column_by_name("quarantined_at")
            .and_then(|c| c.as_primitive_opt::<arrow::datatypes::TimestampMicrosecondType>())
            .cloned();
        let header = bin("header");
        for r in 0..b.num_rows() {
            if connector.is_some_and(|c| c != conn.value(r)) {
                continue;
            }
            let key = (batch.value(r).to_string(), line.value(r));
            out.push(QuarantineRecord {
                connector: conn.value(r).to_string(),
                batch_id: key.0.clone(),
                file: file.value(r).to_string(),
                line: line.value(r) as u64,
                byte_offset: off.value(r) as u64,
                raw: raw.value(r).to_vec(),
                reason: reason.value(r).to_string(),
                quarantined_at: at.as_ref().map(|a| a.value(r)).unwrap_or(0),
                header: header
                    .as_ref()
                    .filter(|h| h.is_valid(r))
                    .map(|h| h.value(r).to_vec()),
                replayed_by: replayed.get(&key).cloned(),
            });
        }
    }
    out.sort_by(|a, b| (&a.batch_id, a.line).cmp(&(&b.batch_id, b.line)));
    Ok(out)
}

async fn replay_marks(lake: &Lake) -> Result<std::collections::HashMap<(String, i64), String>> {
    let mut marks = std::collections::HashMap::new();
    for b in lake.read(REPLAYS_TABLE).await?.unwrap_or_default() {
        let (Some(batch), Some(line), Some(by)) = (
            b.column_by_name("batch_id").and_then(utf8),
            b.column_by_name("line")
                .and_then(|c| c.as_primitive_opt::<Int64Type>().cloned()),
            b.column_by_name("replay_batch_id").and_then(utf8),
        ) else {
            continue;
        };
        for r in 0..b.num_rows() {
            marks.insert(
                (batch.value(r).to_string(), line.value(r)),
                by.value(r).to_string(),
            );
        }
    }
    Ok(marks)
}

/// A text column as a plain `StringArray`, whatever string type the reader produced (Delta
/// scans may return `Utf8View`).
pub(crate) fn utf8(col: &ArrayRef) -> Option<arrow::array::StringArray> {
    arrow::compute::cast(col, &DataType::Utf8)
        .ok()
        .map(|a| a.as_string::<i32>().clone())
}

/// A binary column as a plain `BinaryArray` (see [`utf8`]).
pub(crate) fn binary(col: &ArrayRef) -> Option<arrow::array::BinaryArray> {
    arrow::compute::cast(col, &DataType::Binary)
        .ok()
        .map(|a| a.as_binary::<i32>().clone())
}

/// What one connector's replay did.
#[derive(Debug, Clone)]
pub struct ReplayReport {
    pub connector: String,
    /// The replay batch id (empty when there was nothing to replay).
    pub batch_id: String,
    /// Quarantined rows not yet replayed, all tried.
    pub tried: u64,
    /// Rows that now map and landed.
    pub landed: u64,
    /// Rows that still fail, with their current reason: (row id, reason).
    pub still_failing: Vec<(String, String)>,
    /// True when the same replay had already been completed.
    pub already_done: bool,
}

/// Replays the not-yet-replayed quarantined rows of connector `def` with its current definition.
pub async fn replay(lake: &Lake, def: &ConnectorDef) -> Result<ReplayReport> {
    let started = std::time::Instant::now();
    let started_at = now_micros();
    let candidates: Vec<QuarantineRecord> = quarantined(lake, Some(&def.name))
        .await?
        .into_iter()
        .filter(|q| q.replayed_by.is_none())
        .collect();
    let mut report = ReplayReport {
        connector: def.name.clone(),
        batch_id: String::new(),
        tried: candidates.len() as u64,
        landed: 0,
        still_failing: Vec::new(),
        already_done: false,
    };
    if candidates.is_empty() {
        return Ok(report);
    }
    let mut h = Sha256::new();
    for q in &candidates {
        h.update(q.batch_id.as_bytes());
        h.update(q.line.to_le_bytes());
    }
    let id = format!("{}-replay-{}", def.name, &hex::encode(h.finalize())[..20]);
    report.batch_id = id.clone();
    if lake.committed(crate::ingest::BATCHES_TABLE, &id).await? {
        report.already_done = true;
        return Ok(report);
    }
    let source = def.source_domain().map_err(|e| ConnectError::Definition {
        path: def.path.clone(),
        message: e.to_string(),
    })?;
    // Parquet rows were quarantined as JSON objects keyed by column name.
    let mut json_def = def.clone();
    if matches!(def.format, Format::Parquet) {
        json_def.format = Format::Jsonl;
    }
    let mut landed_batches: Vec<RecordBatch> = Vec::new();
    let mut marks: Vec<&QuarantineRecord> = Vec::new();
    for q in &candidates {
        let mut bytes = Vec::new();
        if let Some(h) = &q.header {
            bytes.extend_from_slice(h);
            bytes.push(b'\n');
        }
        bytes.extend_from_slice(&q.raw);
        let out = match read_input(&json_def, Input::Bytes(&bytes), &q.file, &id) {
            Ok(o) => o,
            Err(e) => {
                report.still_failing.push((q.id(), e.to_string()));
                continue;
            }
        };
        if out.rows_read == 1 && out.rows_landed == 1 {
            for b in out.batches {
                landed_batches.push(with_line(b, q.line)?);
            }
            marks.push(q);
        } else {
            let reason = out
                .quarantined
                .first()
                .map(|r| r.reason.clone())
                .unwrap_or_else(|| format!("re-read as {} records", out.rows_read));
            report.still_failing.push((q.id(), reason));
        }
    }
    report.landed = marks.len() as u64;
    if !marks.is_empty() {
        lake.write(
            canonical::raw_table(source),
            canonical::raw_schema(source),
            landed_batches,
            WriteMode::Append,
            Commit::batch(&id)
                .with("connector", def.name.as_str())
                .with("replay", true),
        )
        .await?;
        lake.write(
            REPLAYS_TABLE,
            replays_schema(),
            vec![marks_batch(&def.name, &id, &marks)?],
            WriteMode::Append,
            Commit::batch(&id),
        )
        .await?;
    }
    if marks.is_empty() {
        // Nothing changed; the next replay tries the same rows again.
        return Ok(report);
    }
    // The log row counts the re-landed rows only (read = landed, none quarantined): rows still
    // failing are already counted by their original batch, so the lake-wide invariant
    // sum(rows_read) = raw rows + quarantine rows keeps holding.
    let log = BatchReport {
        connector: def.name.clone(),
        file: format!(
            "quarantine replay: {} tried, {} still failing",
            report.tried,
            report.still_failing.len()
        ),
        batch_id: id.clone(),
        rows_read: report.landed,
        rows_landed: report.landed,
        rows_quarantined: 0,
        status: BatchStatus::Landed,
        duration_ms: started.elapsed().as_millis() as u64,
        rejected: Vec::new(),
    };
    log_batch(lake, def, &log, 0, "", started_at, Some(&id), None).await?;
    Ok(report)
}

/// Sets the `_line` lineage column to the row's line in its original file.
fn with_line(b: RecordBatch, line: u64) -> Result<RecordBatch> {
    let schema = b.schema();
    let mut cols: Vec<ArrayRef> = b.columns().to_vec();
    if let Ok(i) = schema.index_of("_line") {
        cols[i] = Arc::new(Int64Array::from(vec![line as i64; b.num_rows()]));
    }
    RecordBatch::try_new(schema, cols).map_err(|source| ConnectError::Arrow {
        table: "raw".into(),
        source,
    })
}

fn marks_batch(connector: &str, id: &str, marks: &[&QuarantineRecord]) -> Result<RecordBatch> {
    let mut conn = StringBuilder::new();
    let mut batch = StringBuilder::new();
    let mut by = StringBuilder::new();
    let mut at = TimestampMicrosecondBuilder::new();
    let now = now_micros();
    for q in marks {
        conn.append_value(connector);
        batch.append_value(&q.batch_id);
        by.append_value(id);
        at.append_value(now);
    }
    RecordBatch::try_new(
        replays_schema(),
        vec![
            Arc::new(conn.finish()),
            Arc::new(batch.finish()),
            Arc::new(Int64Array::from(
                marks.iter().map(|q| q.line as i64).collect::<Vec<_>>(),
            )),
            Arc::new(by.finish()),
            Arc::new(at.finish().with_timezone("UTC")),
        ],
    )
    .map_err(|source| ConnectError::Arrow {
        table: REPLAYS_TABLE.into(),
        source,
    })
}
