//! The audit log: every SQL query and admin action (who, when, what, outcome, rows) appended to
//! the Delta table `audit_log`, in batches, by a background task off the request path.
//!
//! Columns: `at` (timestamp UTC), `request_id`, `principal` (token name), `role`, `action`
//! (`sql`, `segment.export`, `admin.refresh`…), `target` (the SQL text or the resource),
//! `status` (HTTP status, or 499 when the client went away mid-stream), `rows`, `duration_ms`.
//! Events are flushed every second or every 1,000 events, and on shutdown. If the writer falls
//! behind by more than 10,000 events, new events are dropped and counted in `/metrics`
//! (`marque_audit_dropped_total`) rather than slowing requests.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use arrow::array::{
    ArrayRef, Int32Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use marque_lake::{Commit, Lake, WriteMode};
use tokio::sync::mpsc;

/// The audit table's name.
pub const AUDIT_TABLE: &str = "audit_log";

/// One audited action.
#[derive(Debug, Clone)]
pub struct AuditEvent {
    pub at: chrono::DateTime<chrono::Utc>,
    pub request_id: String,
    pub principal: String,
    pub role: &'static str,
    pub action: &'static str,
    pub target: String,
    pub status: u16,
    pub rows: u64,
    pub duration_ms: u64,
}

/// Where handlers send audit events. Cheap to clone.
#[derive(Clone, Default)]
pub struct Audit {
    tx: Option<mpsc::Sender<AuditEvent>>,
    /// Events lost because the writer fell behind.
    pub dropped: Arc<AtomicU64>,
    /// Events written.
    pub written: Arc<AtomicU64>,
}

impl Audit {
    /// An audit log that records nothing.
    pub fn disabled() -> Self {
        Self::default()
    }

    /// Starts the writer task on `lake`; returns the handle and the task (it ends once every
    /// clone of the handle is dropped and the last events are written).
    pub fn spawn(lake: Lake) -> (Self, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(10_000);
        let audit = Self {
            tx: Some(tx),
            ..Self::default()
        };
        let written = audit.written.clone();
        let task = tokio::spawn(writer(lake, rx, written));
        (audit, task)
    }

    /// Records `event` without waiting.
    pub fn record(&self, event: AuditEvent) {
        if let Some(tx) = &self.tx
            && tx.try_send(event).is_err()
        {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

async fn writer(lake: Lake, mut rx: mpsc::Receiver<AuditEvent>, written: Arc<AtomicU64>) {
    let mut buf = Vec::new();
    loop {
        let Some(first) = rx.recv().await else { break };
        buf.push(first);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(1);
        while buf.len() < 1000 {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(e)) => buf.push(e),
                Ok(None) | Err(_) => break,
            }
        }
        flush(&lake, &mut buf, &written).await;
    }
    flush(&lake, &mut buf, &written).await;
}

async fn flush(lake: &Lake, buf: &mut Vec<AuditEvent>, written: &AtomicU64) {
    if buf.is_empty() {
        return;
    }
    let n = buf.len() as u64;
    let (schema, batch) = match to_batch(buf) {
        Ok(b) => b,
        Err(e) => {
            tracing::error!(error = %e, "cannot build audit batch; events lost");
            buf.clear();
            return;
        }
    };
    buf.clear();
    let commit = Commit::default().with("writer", "marque-server audit");
    match lake
        .write(AUDIT_TABLE, schema, vec![batch], WriteMode::Append, commit)
        .await
    {
        Ok(_) => {
            written.fetch_add(n, Ordering::Relaxed);
        }
        Err(e) => tracing::error!(error = %e, events = n, "cannot write the audit log"),
    }
}

/// The audit table's schema.
pub fn schema() -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        Field::new(
            "at",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
        Field::new("request_id", DataType::Utf8, false),
        Field::new("principal", DataType::Utf8, false),
        Field::new("role", DataType::Utf8, false),
        Field::new("action", DataType::Utf8, false),
        Field::new("target", DataType::Utf8, false),
        Field::new("status", DataType::Int32, false),
        Field::new("rows", DataType::Int64, false),
        Field::new("duration_ms", DataType::Int64, false),
    ]))
}

fn to_batch(events: &[AuditEvent]) -> Result<(Arc<Schema>, RecordBatch), arrow::error::ArrowError> {
    let schema = schema();
    let strings = |f: fn(&AuditEvent) -> &str| -> ArrayRef {
        Arc::new(StringArray::from_iter_values(events.iter().map(f)))
    };
    let columns: Vec<ArrayRef> = vec![
        Arc::new(
            TimestampMicrosecondArray::from_iter_values(
                events.iter().map(|e| e.at.timestamp_micros()),
            )
            .with_timezone("UTC"),
        ),
        strings(|e| &e.request_id),
        strings(|e| &e.principal),
        strings(|e| e.role),
        strings(|e| e.action),
        strings(|e| &e.target),
        Arc::new(Int32Array::from_iter_values(
            events.iter().map(|e| i32::from(e.status)),
        )),
        Arc::new(Int64Array::from_iter_values(
            events
                .iter()
                .map(|e| i64::try_from(e.rows).unwrap_or(i64::MAX)),
        )),
        Arc::new(Int64Array::from_iter_values(
            events
                .iter()
                .map(|e| i64::try_from(e.duration_ms).unwrap_or(i64::MAX)),
        )),
    ];
    let batch = RecordBatch::try_new(schema.clone(), columns)?;
    Ok((schema, batch))
}
