//! Running a connector: one batch per input file, written exactly once to the raw table, the
//! `quarantine` table and the `ingest_batches` log.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use arrow::array::{
    BinaryBuilder, Int64Builder, RecordBatch, StringBuilder, TimestampMicrosecondBuilder,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use marque_core::canonical;
use marque_lake::{Commit, Lake, WriteMode};
use sha2::{Digest, Sha256};

use futures::StreamExt;

use crate::read::{Input, read_input_with};
use crate::rows::QuarantinedRow;
use crate::{ConnectError, ConnectorDef, Result};

/// The table of rows that could not be landed.
pub const QUARANTINE_TABLE: &str = "quarantine";
/// The log of ingestion batches.
pub const BATCHES_TABLE: &str = "ingest_batches";

fn utc_micros() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

/// Schema of the `quarantine` table.
pub fn quarantine_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("connector", DataType::Utf8, false),
        Field::new("batch_id", DataType::Utf8, false),
        Field::new("file", DataType::Utf8, false),
        Field::new("line", DataType::Int64, false),
        Field::new("byte_offset", DataType::Int64, false),
        Field::new("raw", DataType::Binary, false),
        Field::new("reason", DataType::Utf8, false),
        Field::new("quarantined_at", utc_micros(), false),
        // The CSV header record of the row's file, so the row can be replayed on its own.
        Field::new("header", DataType::Binary, true),
    ]))
}

/// Schema of the `ingest_batches` table.
pub fn batches_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("batch_id", DataType::Utf8, false),
        Field::new("connector", DataType::Utf8, false),
        Field::new("domain", DataType::Utf8, false),
        Field::new("file", DataType::Utf8, false),
        Field::new("file_size", DataType::Int64, false),
        Field::new("content_sha256", DataType::Utf8, false),
        Field::new("rows_read", DataType::Int64, false),
        Field::new("rows_landed", DataType::Int64, false),
        Field::new("rows_quarantined", DataType::Int64, false),
        Field::new("started_at", utc_micros(), false),
        Field::new("duration_ms", DataType::Int64, false),
        Field::new("status", DataType::Utf8, false),
        Field::new("error", DataType::Utf8, true),
        // Incremental sources (Postgres): the watermark range of the batch, as text.
        Field::new("watermark_from", DataType::Utf8, true),
        Field::new("watermark_to", DataType::Utf8, true),
    ]))
}

/// Where a connector finds its input.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    /// The directory the connector's `source.path` glob is relative to.
    pub input_dir: PathBuf,
}

/// What happened to one input file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchStatus {
    Landed,
    /// The same connector already landed this exact file; nothing was written.
    AlreadyLoaded,
    Failed(String),
}

/// The outcome of one batch (one input file).
#[derive(Debug, Clone)]
pub struct BatchReport {
    pub connector: String,
    pub file: String,
    pub batch_id: String,
    pub rows_read: u64,
    pub rows_landed: u64,
    pub rows_quarantined: u64,
    pub status: BatchStatus,
    pub duration_ms: u64,
    /// The first quarantined rows of this run (at most [`MAX_REJECTED_NOTES`]): line and
    /// reason, for callers that answer a client (HTTP push) or print a summary.
    pub rejected: Vec<(u64, String)>,
}

/// How many quarantine reasons a [`BatchReport`] carries.
pub const MAX_REJECTED_NOTES: usize = 100;

/// The identity of an input file: size and SHA-256 of its content.
fn fingerprint(path: &Path) -> Result<(u64, String)> {
    let io = |source| ConnectError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut f = std::fs::File::open(path).map_err(io)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = f.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        size += n as u64;
        hasher.update(&buf[..n]);
    }
    Ok((size, hex::encode(hasher.finalize())))
}

/// The batch id of a file for a connector: stable across reruns, different for any change of
/// connector, path, size or content.
pub fn batch_id(connector: &str, file: &str, size: u64, content_sha256: &str) -> String {
    let mut h = Sha256::new();
    for part in [connector, file, &size.to_string(), content_sha256] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    format!("{connector}-{}", &hex::encode(h.finalize())[..20])
}

/// The input files of a connector, sorted, with their paths relative to the input dir.
pub fn input_files(def: &ConnectorDef, input_dir: &Path) -> Result<Vec<(PathBuf, String)>> {
    // Absolute, so that the relative path (part of the batch id) does not depend on how the
    // directory was spelled or where the command runs.
    let input_dir = &std::fs::canonicalize(input_dir).map_err(|source| ConnectError::Io {
        path: input_dir.to_path_buf(),
        source,
    })?;
    let pattern = input_dir.join(&def.source.path);
    let pattern = pattern.to_string_lossy();
    let paths = glob::glob(&pattern).map_err(|e| ConnectError::Definition {
        path: def.path.clone(),
        message: format!("source.path {:?} is not a valid glob: {e}", def.source.path),
    })?;
    let mut files: Vec<(PathBuf, String)> = paths
        .flatten()
        .filter(|p| p.is_file())
        .map(|p| {
            let rel = p
                .strip_prefix(input_dir)
                .unwrap_or(&p)
                .to_string_lossy()
                .into_owned();
            (p, rel)
        })
        .collect();
    files.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(files)
}

/// Ingests every input file of `def` not yet loaded. Files that fail are reported with
/// [`BatchStatus::Failed`] and logged; the others still land. Holds the connector's lock (see
/// [`Lake::lock`]) for the run: a second run of the same connector fails fast instead of racing.
pub async fn ingest_connector(
    lake: &Lake,
    def: &ConnectorDef,
    opts: &IngestOptions,
) -> Result<Vec<BatchReport>> {
    ingest_connector_with(lake, def, opts, &mut |_| {}).await
}

/// What [`ingest_connector_with`] reports while it runs.
#[derive(Debug, Clone)]
pub enum Progress<'a> {
    /// The inputs found: how many and their total size in bytes.
    Planned { files: usize, bytes: u64 },
    /// One input is about to be read.
    Started { file: &'a str, bytes: u64 },
    /// One input is done.
    Finished { report: &'a BatchReport, bytes: u64 },
}

/// The name of the lock a connector's runs take.
pub fn lock_name(connector: &str) -> String {
    let clean: String = connector
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("ingest_{clean}")
}

/// [`ingest_connector`] with a progress callback.
pub async fn ingest_connector_with(
    lake: &Lake,
    def: &ConnectorDef,
    opts: &IngestOptions,
    progress: &mut (dyn FnMut(Progress<'_>) + Send),
) -> Result<Vec<BatchReport>> {
    let lock = lake.lock(&lock_name(&def.name)).await?;
    let result = async {
        if def.source.postgres.is_some() {
            return crate::postgres::ingest_postgres(lake, def, progress).await;
        }
        if crate::object_source::is_object_url(&def.source.path) {
            return ingest_objects(lake, def, progress).await;
        }
        let files = input_files(def, &opts.input_dir)?;
        let sizes: Vec<u64> = files
            .iter()
            .map(|(p, _)| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0))
            .collect();
        progress(Progress::Planned {
            files: files.len(),
            bytes: sizes.iter().sum(),
        });
        let mut reports = Vec::new();
        for ((path, rel), bytes) in files.iter().zip(sizes) {
            progress(Progress::Started { file: rel, bytes });
            let report = ingest_file(lake, def, path, rel).await?;
            progress(Progress::Finished {
                report: &report,
                bytes,
            });
            reports.push(report);
        }
        Ok(reports)
    }
    .await;
    lock.release().await?;
    result
}

async fn ingest_file(
    lake: &Lake,
    def: &ConnectorDef,
    path: &Path,
    rel: &str,
) -> Result<BatchReport> {
    // Hashing the file (one full read) runs while its first chunks are already being mapped.
    let (file, connector, name) = (path.to_path_buf(), def.name.clone(), rel.to_string());
    let identity = async move {
        let (size, sha) = tokio::task::spawn_blocking(move || fingerprint(&file))
            .await
            .map_err(|e| ConnectError::Internal(format!("hashing {name} stopped: {e}")))??;
        let id = batch_id(&connector, &name, size, &sha);
        Ok((Identity { size, sha, id }, true))
    };
    land_batch(
        lake,
        def,
        BatchInput::File(path.to_path_buf()),
        rel,
        identity,
        None,
    )
    .await
}

/// What identifies a batch: the input's size and content hash, and the batch id made of them.
struct Identity {
    size: u64,
    sha: String,
    id: String,
}

/// Ingests the objects of an `s3://` source not yet loaded, one batch each.
async fn ingest_objects(
    lake: &Lake,
    def: &ConnectorDef,
    progress: &mut (dyn FnMut(Progress<'_>) + Send),
) -> Result<Vec<BatchReport>> {
    let objects = crate::object_source::list(lake, def).await?;
    progress(Progress::Planned {
        files: objects.len(),
        bytes: objects.iter().map(|o| o.size).sum(),
    });
    let mut reports = Vec::new();
    for object in objects {
        let bytes = object.size;
        progress(Progress::Started {
            file: &object.url,
            bytes,
        });
        let identity = crate::object_source::identity(&object).await?;
        let url = object.url.clone();
        let report = ingest_batch(
            lake,
            def,
            BatchInput::Object(object),
            &url,
            bytes,
            &identity,
        )
        .await?;
        progress(Progress::Finished {
            report: &report,
            bytes,
        });
        reports.push(report);
    }
    Ok(reports)
}

/// The bytes of a batch, owned so that the reader can run on a blocking thread.
pub(crate) enum BatchInput {
    File(PathBuf),
    Bytes(Arc<Vec<u8>>),
    Object(crate::object_source::Object),
}

/// Lands one batch exactly once: skips it when `ingest_batches` already has its id, else
/// reads it and writes quarantine, rows and the log entry, in that order.
pub(crate) async fn ingest_batch(
    lake: &Lake,
    def: &ConnectorDef,
    input: BatchInput,
    rel: &str,
    size: u64,
    sha: &str,
) -> Result<BatchReport> {
    let id = batch_id(&def.name, rel, size, sha);
    ingest_batch_with_id(lake, def, input, rel, size, sha, id, None).await
}

/// The watermark range `(from, to]` of an incremental batch, as text.
pub(crate) type Watermark = (Option<String>, String);

/// [`ingest_batch`] with an explicit batch id (watermark ranges of database sources).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn ingest_batch_with_id(
    lake: &Lake,
    def: &ConnectorDef,
    input: BatchInput,
    rel: &str,
    size: u64,
    sha: &str,
    id: String,
    watermark: Option<Watermark>,
) -> Result<BatchReport> {
    // The id is known: a batch already loaded is not even opened.
    if lake.committed(BATCHES_TABLE, &id).await? {
        return Ok(already_loaded(def, rel, id));
    }
    let identity = Identity {
        size,
        sha: sha.to_string(),
        id,
    };
    let identity = async { Ok((identity, false)) };
    land_batch(lake, def, input, rel, identity, watermark).await
}

fn already_loaded(def: &ConnectorDef, rel: &str, id: String) -> BatchReport {
    BatchReport {
        connector: def.name.clone(),
        file: rel.to_string(),
        batch_id: id,
        rows_read: 0,
        rows_landed: 0,
        rows_quarantined: 0,
        status: BatchStatus::AlreadyLoaded,
        duration_ms: 0,
        rejected: Vec::new(),
    }
}

/// Lands one batch exactly once (see [`ingest_batch`]). The input is read and mapped while
/// `identity` is being computed; the mapped rows wait for the batch id before they reach the
/// writer. `identity` also says whether the log must still be asked for the batch id: when the
/// batch turns out to be loaded already the read stops.
async fn land_batch(
    lake: &Lake,
    def: &ConnectorDef,
    input: BatchInput,
    rel: &str,
    identity: impl std::future::Future<Output = Result<(Identity, bool)>>,
    watermark: Option<Watermark>,
) -> Result<BatchReport> {
    let started = Instant::now();
    let started_at = now_micros();
    let source = def.source_domain().map_err(|e| ConnectError::Definition {
        path: def.path.clone(),
        message: e.to_string(),
    })?;
    let table = canonical::raw_table(source);
    let id_column = canonical::raw_schema(source)
        .index_of("_batch_id")
        .map_err(|e| ConnectError::Internal(format!("raw schema without _batch_id: {e}")))?;
    // Rows stream from the reader (on blocking threads, every core) into the Delta writer while
    // it encodes: one commit per batch, memory bounded by a few chunks.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<std::result::Result<RecordBatch, String>>(4);
    let (id_tx, id_rx) = tokio::sync::oneshot::channel::<String>();
    let (def2, rel2) = (def.clone(), rel.to_string());
    let handle = tokio::runtime::Handle::current();
    let reader = tokio::task::spawn_blocking(move || {
        let mut id_rx = Some(id_rx);
        let mut id: Option<String> = None;
        let read = (|| {
            let input = match &input {
                BatchInput::File(p) => Input::File(p),
                BatchInput::Bytes(b) => Input::Bytes(b),
                BatchInput::Object(o) => {
                    Input::Reader(Box::new(crate::object_source::blocking_reader(handle, o)?))
                }
            };
            read_input_with(&def2, input, &rel2, "", &mut |batch| {
                let stopped = || ConnectError::Internal("the lake writer stopped".into());
                if id.is_none() {
                    let got = id_rx.take().map(|rx| rx.blocking_recv());
                    id = Some(got.and_then(|r| r.ok()).ok_or_else(stopped)?);
                }
                let batch = with_batch_id(batch, id_column, id.as_deref().unwrap_or_default())?;
                tx.blocking_send(Ok(batch)).map_err(|_| stopped())
            })
        })();
        if let Err(e) = &read {
            // Make the writer fail rather than commit a partial batch.
            let _ = tx.blocking_send(Err(e.to_string()));
        }
        read
    });
    // Dropping `id_tx` and `rx` (an early return) stops the reader at its next batch.
    let (Identity { size, sha, id }, unchecked) = identity.await?;
    let sha = sha.as_str();
    let mut report = BatchReport {
        status: BatchStatus::Landed,
        ..already_loaded(def, rel, id.clone())
    };
    if unchecked && lake.committed(BATCHES_TABLE, &id).await? {
        drop((id_tx, rx));
        let _ = reader.await;
        return Ok(already_loaded(def, rel, id));
    }
    // The reader stops by itself if this fails: the writer below then reports the error.
    let _ = id_tx.send(id.clone());
    // Rows already committed by an earlier, interrupted run are read again (to count them and
    // find the quarantined ones) but not written.
    let landed_before = lake.committed(table, &id).await?;
    let first = if landed_before { None } else { rx.recv().await };
    let written = match first {
        Some(Ok(first)) => {
            let commit = Commit::batch(&id)
                .with("connector", def.name.as_str())
                .with("file", rel);
            let rest = futures::stream::unfold(rx, |mut rx| async move {
                rx.recv().await.map(|item| (item, rx))
            });
            let stream = futures::stream::once(async { Ok(first) }).chain(rest);
            lake.write_stream(
                table,
                canonical::raw_schema(source),
                Box::pin(stream),
                marque_lake::WriteMode::Append,
                commit,
            )
            .await
            .map(|_| ())
        }
        _ => {
            while rx.recv().await.is_some() {}
            Ok(())
        }
    };
    let read = reader.await.unwrap_or_else(|e| {
        Err(ConnectError::Internal(format!(
            "the reader of {rel} stopped: {e}"
        )))
    });
    let outcome = match (read, written) {
        (Ok(o), Ok(())) => o,
        // The writer failed first and stopped the reader: the lake's error is the cause.
        (Ok(_), Err(w)) | (Err(ConnectError::Internal(_)), Err(w)) => return Err(w.into()),
        (Err(e), _) => {
            report.status = BatchStatus::Failed(e.to_string());
            report.duration_ms = started.elapsed().as_millis() as u64;
            log_batch(
                lake,
                def,
                &report,
                size,
                sha,
                started_at,
                None,
                watermark.as_ref(),
            )
            .await?;
            return Ok(report);
        }
    };
    report.rows_read = outcome.rows_read;
    report.rows_landed = outcome.rows_landed;
    report.rows_quarantined = outcome.quarantined.len() as u64;
    report.rejected = outcome
        .quarantined
        .iter()
        .take(MAX_REJECTED_NOTES)
        .map(|q| (q.line, q.reason.clone()))
        .collect();
    // Order matters for crash recovery: rows, then quarantine, then the log entry that marks the
    // batch complete. Each write carries the batch id, so a rerun skips what already landed.
    if !outcome.quarantined.is_empty() {
        let q = quarantine_batch(
            &def.name,
            &id,
            rel,
            &outcome.quarantined,
            outcome.header.as_deref(),
        )?;
        lake.write(
            QUARANTINE_TABLE,
            quarantine_schema(),
            vec![q],
            WriteMode::Append,
            Commit::batch(&id),
        )
        .await?;
    }
    report.duration_ms = started.elapsed().as_millis() as u64;
    log_batch(
        lake,
        def,
        &report,
        size,
        sha,
        started_at,
        Some(&id),
        watermark.as_ref(),
    )
    .await?;
    Ok(report)
}

pub(crate) fn now_micros() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

/// `batch` with every row's `_batch_id` (column `col`) set to `id`.
fn with_batch_id(batch: RecordBatch, col: usize, id: &str) -> Result<RecordBatch> {
    let mut columns = batch.columns().to_vec();
    if let Some(c) = columns.get_mut(col) {
        *c = Arc::new(crate::rows::repeated(id, batch.num_rows()));
    }
    RecordBatch::try_new(batch.schema(), columns).map_err(|source| ConnectError::Arrow {
        table: "raw".into(),
        source,
    })
}

fn quarantine_batch(
    connector: &str,
    batch_id: &str,
    file: &str,
    rows: &[QuarantinedRow],
    header: Option<&[u8]>,
) -> Result<RecordBatch> {
    let n = rows.len();
    let mut connector_col = StringBuilder::new();
    let mut batch_col = StringBuilder::new();
    let mut file_col = StringBuilder::new();
    let mut line = Int64Builder::with_capacity(n);
    let mut offset = Int64Builder::with_capacity(n);
    let mut raw = BinaryBuilder::new();
    let mut reason = StringBuilder::new();
    let mut at = TimestampMicrosecondBuilder::with_capacity(n);
    let mut header_col = BinaryBuilder::new();
    let now = now_micros();
    for r in rows {
        header_col.append_option(header);
        connector_col.append_value(connector);
        batch_col.append_value(batch_id);
        file_col.append_value(file);
        line.append_value(r.line as i64);
        offset.append_value(r.byte_offset as i64);
        raw.append_value(&r.raw);
        reason.append_value(&r.reason);
        at.append_value(now);
    }
    RecordBatch::try_new(
        quarantine_schema(),
        vec![
            Arc::new(connector_col.finish()),
            Arc::new(batch_col.finish()),
            Arc::new(file_col.finish()),
            Arc::new(line.finish()),
            Arc::new(offset.finish()),
            Arc::new(raw.finish()),
            Arc::new(reason.finish()),
            Arc::new(at.finish().with_timezone("UTC")),
            Arc::new(header_col.finish()),
        ],
    )
    .map_err(|source| ConnectError::Arrow {
        table: QUARANTINE_TABLE.into(),
        source,
    })
}

/// Appends the batch's log row; `complete` carries the batch id for finished batches only, so a
/// failed file is retried on the next run.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn log_batch(
    lake: &Lake,
    def: &ConnectorDef,
    r: &BatchReport,
    size: u64,
    sha: &str,
    started_at: i64,
    complete: Option<&str>,
    watermark: Option<&Watermark>,
) -> Result<()> {
    let (status, error) = match &r.status {
        BatchStatus::Failed(e) => ("failed", Some(e.as_str())),
        _ => ("landed", None),
    };
    log_row(
        lake, def, r, size, sha, started_at, complete, watermark, status, error,
    )
    .await
}

/// Appends one `ingest_batches` row with an explicit status (`started` for incremental batches
/// about to be read, so that a rerun after a crash reads the same watermark range).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn log_row(
    lake: &Lake,
    def: &ConnectorDef,
    r: &BatchReport,
    size: u64,
    sha: &str,
    started_at: i64,
    complete: Option<&str>,
    watermark: Option<&Watermark>,
    status: &str,
    error: Option<&str>,
) -> Result<()> {
    let s = |v: &str| Arc::new(arrow::array::StringArray::from(vec![v])) as arrow::array::ArrayRef;
    let i =
        |v: u64| Arc::new(arrow::array::Int64Array::from(vec![v as i64])) as arrow::array::ArrayRef;
    let batch = RecordBatch::try_new(
        batches_schema(),
        vec![
            s(&r.batch_id),
            s(&r.connector),
            s(&def.domain),
            s(&r.file),
            i(size),
            s(sha),
            i(r.rows_read),
            i(r.rows_landed),
            i(r.rows_quarantined),
            Arc::new(
                arrow::array::TimestampMicrosecondArray::from(vec![started_at])
                    .with_timezone("UTC"),
            ),
            i(r.duration_ms),
            s(status),
            Arc::new(arrow::array::StringArray::from(vec![error])),
            Arc::new(arrow::array::StringArray::from(vec![
                watermark.and_then(|w| w.0.clone()),
            ])),
            Arc::new(arrow::array::StringArray::from(vec![
                watermark.map(|w| w.1.clone()),
            ])),
        ],
    )
    .map_err(|source| ConnectError::Arrow {
        table: BATCHES_TABLE.into(),
        source,
    })?;
    let commit = match complete {
        Some(id) => Commit::batch(id),
        None => Commit::default(),
    };
    lake.write(
        BATCHES_TABLE,
        batches_schema(),
        vec![batch],
        WriteMode::Append,
        commit,
    )
    .await?;
    Ok(())
}
