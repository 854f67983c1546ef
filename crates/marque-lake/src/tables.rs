//! Opening, listing, reading and writing the lake's Delta tables, with batch identities.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use datafusion::catalog::TableProvider;
use datafusion::catalog::streaming::StreamingTable;
use datafusion::datasource::provider_as_source;
use datafusion::error::DataFusionError;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::{LogicalPlan, LogicalPlanBuilder};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::streaming::PartitionStream;
use datafusion::prelude::SessionContext;
use deltalake::kernel::Transaction;
use deltalake::kernel::transaction::CommitProperties;
use deltalake::protocol::SaveMode;
use deltalake::{DeltaTable, DeltaTableBuilder};
use url::Url;

use crate::encoding::writer_properties;
use crate::{LakeError, LakeRoot, Result};

/// How a write treats the rows already in the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteMode {
    Append,
    /// Replaces the table's rows in one commit (readers of older versions still see them).
    Overwrite,
}

/// Record batches produced while a write runs (see [`Lake::write_stream`]); an `Err` item aborts
/// the write.
pub type BatchStream =
    futures::stream::BoxStream<'static, std::result::Result<RecordBatch, String>>;

enum Input {
    Batches(Vec<RecordBatch>),
    Stream(SchemaRef, BatchStream),
}

/// A logical plan that scans `stream` once.
fn stream_plan(name: &str, schema: SchemaRef, stream: BatchStream) -> Result<LogicalPlan> {
    use futures::StreamExt;
    let query = |source| LakeError::Query {
        table: name.to_string(),
        source,
    };
    let stream = stream.map(|item| item.map_err(DataFusionError::Execution));
    let part = OneShot {
        schema: schema.clone(),
        stream: std::sync::Mutex::new(Some(Box::pin(RecordBatchStreamAdapter::new(
            schema.clone(),
            stream,
        )))),
    };
    let provider = StreamingTable::try_new(schema, vec![Arc::new(part)]).map_err(query)?;
    LogicalPlanBuilder::scan("source", provider_as_source(Arc::new(provider)), None)
        .and_then(|b| b.build())
        .map_err(query)
}

/// The session a stream is written in: one partition, so one writer, and the stream's batches
/// are built as that writer asks for them. With the default of one partition per core,
/// DataFusion splits the stream round-robin over two writers, and its repartition buffers
/// batches ahead of the slower one without bound: writing a 100k-person run's `mentions`
/// held every one of its batches at once (heaptrack).
fn one_writer_session() -> deltalake::DeltaResult<Arc<dyn datafusion::catalog::Session>> {
    let one = HashMap::from([(
        "datafusion.execution.target_partitions".to_string(),
        "1".to_string(),
    )]);
    let ctx = deltalake::delta_datafusion::DeltaSessionContext::new_with_session_overrides(&one)?;
    Ok(Arc::new(ctx.state()))
}

/// A partition stream that can be executed once; a second execution fails instead of writing
/// nothing.
struct OneShot {
    schema: SchemaRef,
    stream: std::sync::Mutex<Option<SendableRecordBatchStream>>,
}

impl std::fmt::Debug for OneShot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OneShot")
    }
}

impl PartitionStream for OneShot {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn execute(&self, _ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        let taken = self.stream.lock().ok().and_then(|mut s| s.take());
        taken.unwrap_or_else(|| {
            let failed = futures::stream::once(async {
                Err(DataFusionError::Execution(
                    "a one-shot write stream was executed twice".into(),
                ))
            });
            Box::pin(RecordBatchStreamAdapter::new(self.schema.clone(), failed))
        })
    }
}

/// What a commit records beside its rows.
#[derive(Debug, Clone, Default)]
pub struct Commit {
    /// The identity of the batch (Delta `txn` app id). A write whose app id the table has already
    /// committed is skipped, which is what makes reruns exactly-once.
    pub batch_id: Option<String>,
    /// Key-value pairs stored in the commit info (who wrote it, inputs, counts).
    pub metadata: Vec<(String, serde_json::Value)>,
    /// Partition columns, used only when the write creates the table.
    pub partition_by: Vec<String>,
    /// Bytes at which a data file is closed and the next one begun; `None` keeps delta-rs's
    /// 100 MiB. The writer holds the open file in memory, so a run writing several tables at
    /// once holds one such file per table.
    pub target_file_size: Option<u64>,
}

impl Commit {
    /// A commit identified by `batch_id`.
    pub fn batch(batch_id: impl Into<String>) -> Self {
        Self {
            batch_id: Some(batch_id.into()),
            ..Self::default()
        }
    }

    /// Adds one metadata entry.
    pub fn with(mut self, key: &str, value: impl Into<serde_json::Value>) -> Self {
        self.metadata.push((key.to_string(), value.into()));
        self
    }

    /// Closes data files at `bytes` (see [`Commit::target_file_size`]).
    pub fn with_target_file_size(mut self, bytes: u64) -> Self {
        self.target_file_size = Some(bytes);
        self
    }
}

/// The lake: a root and the Delta tables under it.
#[derive(Debug, Clone)]
pub struct Lake {
    root: LakeRoot,
}

/// Whether `name` can name a lake table (and so a SQL view beside it): lower-case ASCII
/// letters, digits and underscores. Names starting with `_` are valid too but are never listed,
/// which is how folders such as `_sources` stay out of the catalogue.
pub fn is_valid_table_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

pub(crate) fn check_name_pub(name: &str) -> Result<()> {
    check_name(name)
}

fn check_name(name: &str) -> Result<()> {
    if is_valid_table_name(name) {
        Ok(())
    } else {
        Err(LakeError::InvalidTableName(name.to_string()))
    }
}

impl Lake {
    /// Opens the lake at a local path or `s3://` URL, with settings from the environment.
    pub fn open(root: &str) -> Result<Self> {
        Self::open_with(root, &HashMap::new())
    }

    /// Opens the lake with explicit storage options (they override the environment).
    pub fn open_with(root: &str, options: &HashMap<String, String>) -> Result<Self> {
        Ok(Self {
            root: LakeRoot::parse(root, options)?,
        })
    }

    /// Where the lake lives.
    pub fn root(&self) -> &LakeRoot {
        &self.root
    }

    /// The URL of table `name`.
    pub fn table_url(&self, name: &str) -> Result<Url> {
        check_name(name)?;
        self.root
            .url()
            .join(&format!("{name}/"))
            .map_err(|e| LakeError::InvalidRoot {
                root: self.root.url().to_string(),
                reason: e.to_string(),
            })
    }

    fn builder(&self, name: &str) -> Result<DeltaTableBuilder> {
        let url = self.table_url(name)?;
        let delta = LakeError::delta(name);
        let mut builder = DeltaTableBuilder::from_url(url).map_err(delta)?;
        if let Some(store) = self.root.store() {
            let mut bucket = self.root.url().clone();
            bucket.set_path("/");
            builder = builder.with_storage_backend(store.clone(), bucket);
        }
        Ok(builder)
    }

    /// The table at its latest version, or `None` when it has never been written.
    pub async fn load(&self, name: &str) -> Result<Option<DeltaTable>> {
        if let Some(dir) = self.root.local_path()
            && !dir.join(name).join("_delta_log").is_dir()
        {
            return Ok(None);
        }
        let mut table = self
            .builder(name)?
            .build()
            .map_err(LakeError::delta(name))?;
        match table.load().await {
            Ok(()) => Ok(Some(table)),
            Err(deltalake::DeltaTableError::NotATable(_)) => Ok(None),
            Err(source) => Err(LakeError::delta(name)(source)),
        }
    }

    /// The names of the tables in the lake, sorted.
    pub async fn list_tables(&self) -> Result<Vec<String>> {
        use futures::TryStreamExt;
        let mut names = Vec::new();
        if let Some(dir) = self.root.local_path() {
            let entries = std::fs::read_dir(&dir).map_err(|source| LakeError::Io {
                root: dir.display().to_string(),
                source,
            })?;
            for entry in entries.flatten() {
                if entry.path().join("_delta_log").is_dir() {
                    names.push(entry.file_name().to_string_lossy().into_owned());
                }
            }
        } else if let Some(store) = self.root.store() {
            let prefix = object_store::path::Path::from(self.root.url().path().trim_matches('/'));
            let listing = store
                .list_with_delimiter(Some(&prefix))
                .await
                .map_err(|source| LakeError::Store {
                    root: self.root.url().to_string(),
                    source,
                })?;
            for dir in listing.common_prefixes {
                if let Some(name) = dir.filename() {
                    let log = dir.clone().join("_delta_log");
                    let mut files = store.list(Some(&log));
                    if files.try_next().await.ok().flatten().is_some() {
                        names.push(name.to_string());
                    }
                }
            }
        }
        names.retain(|n| is_valid_table_name(n) && !n.starts_with('_'));
        names.sort();
        Ok(names)
    }

    /// Whether table `name` holds a commit of batch `batch_id` (false when the table does not
    /// exist).
    pub async fn committed(&self, name: &str, batch_id: &str) -> Result<bool> {
        let Some(table) = self.load(name).await? else {
            return Ok(false);
        };
        has_batch(&table, name, batch_id).await
    }

    /// Writes `batches` to table `name` in one commit, creating the table if needed. Returns the
    /// new table version, or `None` when `commit.batch_id` was already committed (nothing is
    /// written then).
    pub async fn write(
        &self,
        name: &str,
        schema: SchemaRef,
        batches: Vec<RecordBatch>,
        mode: WriteMode,
        commit: Commit,
    ) -> Result<Option<i64>> {
        let batches = if batches.is_empty() {
            vec![RecordBatch::new_empty(schema)]
        } else {
            batches
        };
        self.write_input(name, Input::Batches(batches), mode, commit)
            .await
    }

    /// Writes the batches of `stream` to table `name` in one commit (appended, or replacing
    /// its rows), encoding and uploading them while the stream is still producing, so a big
    /// batch needs neither all its rows in memory nor a wait between reading and writing. An
    /// `Err` item aborts the write: nothing is committed and the error is returned. Replaced
    /// rows stay readable until the commit, so the stream may read them (to carry some of them
    /// over). Returns like [`Lake::write`]; when the batch was already committed the stream is
    /// not read.
    pub async fn write_stream(
        &self,
        name: &str,
        schema: SchemaRef,
        stream: BatchStream,
        mode: WriteMode,
        commit: Commit,
    ) -> Result<Option<i64>> {
        self.write_input(name, Input::Stream(schema, stream), mode, commit)
            .await
    }

    async fn write_input(
        &self,
        name: &str,
        input: Input,
        mode: WriteMode,
        commit: Commit,
    ) -> Result<Option<i64>> {
        let delta = LakeError::delta(name);
        let table = match self.load(name).await? {
            Some(t) => t,
            None => {
                if let Some(dir) = self.root.local_path() {
                    let dir = dir.join(name);
                    std::fs::create_dir_all(&dir).map_err(|source| LakeError::Io {
                        root: dir.display().to_string(),
                        source,
                    })?;
                }
                self.builder(name)?.build().map_err(delta)?
            }
        };
        if let Some(id) = &commit.batch_id
            && table.version().is_some()
            && has_batch(&table, name, id).await?
        {
            return Ok(None);
        }
        let mut props = CommitProperties::default().with_metadata(commit.metadata);
        if let Some(id) = &commit.batch_id {
            props = props.with_application_transaction(Transaction::new(id, 1));
        }
        let mut builder = match input {
            Input::Batches(batches) => table.write(batches),
            Input::Stream(schema, stream) => table
                .write(Vec::new())
                .with_input_plan(stream_plan(name, schema, stream)?)
                .with_session_state(one_writer_session().map_err(delta)?),
        };
        builder = builder
            .with_save_mode(match mode {
                WriteMode::Append => SaveMode::Append,
                WriteMode::Overwrite => SaveMode::Overwrite,
            })
            .with_writer_properties(writer_properties())
            .with_commit_properties(props);
        if let Some(size) = commit.target_file_size.and_then(std::num::NonZeroU64::new) {
            builder = builder.with_target_file_size(Some(size));
        }
        if !commit.partition_by.is_empty() {
            builder = builder.with_partition_columns(commit.partition_by);
        }
        if mode == WriteMode::Append {
            // New nullable columns (a canonical field added later) extend the table's schema.
            builder = builder.with_schema_mode(deltalake::operations::write::SchemaMode::Merge);
        }
        let table = builder.await.map_err(delta)?;
        Ok(table.version().map(|v| v as i64))
    }

    /// A DataFusion table provider over the latest version of `name`, or `None` if it does not
    /// exist. The provider is registered on `ctx` so its object store is reachable. Its scans
    /// push filters into Parquet and read text as `Utf8View`, whatever `ctx` says.
    pub async fn provider(
        &self,
        ctx: &SessionContext,
        name: &str,
    ) -> Result<Option<Arc<dyn TableProvider>>> {
        let Some(table) = self.load(name).await? else {
            return Ok(None);
        };
        let delta = LakeError::delta(name);
        table
            .update_datafusion_session(&ctx.state())
            .map_err(delta)?;
        let provider = table
            .table_provider()
            .await
            .map_err(|source| LakeError::Query {
                table: name.to_string(),
                source,
            })?;
        Ok(Some(provider))
    }

    /// Registers every table of the lake on `ctx` under its own name; returns the names. The
    /// tables' logs are read side by side (each is a few small reads, which add up on S3).
    pub async fn register_all(&self, ctx: &SessionContext) -> Result<Vec<String>> {
        let names = self.list_tables().await?;
        let providers =
            futures::future::try_join_all(names.iter().map(|name| self.provider(ctx, name)))
                .await?;
        for (name, provider) in names.iter().zip(providers) {
            if let Some(provider) = provider {
                ctx.register_table(name.as_str(), provider)
                    .map_err(|source| LakeError::Query {
                        table: name.clone(),
                        source,
                    })?;
            }
        }
        Ok(names)
    }

    /// Reads a whole table into memory, or `None` when it does not exist. For small tables
    /// (logs, fixtures, tests); big tables are queried through [`Lake::provider`].
    pub async fn read(&self, name: &str) -> Result<Option<Vec<RecordBatch>>> {
        let ctx = SessionContext::new();
        let Some(provider) = self.provider(&ctx, name).await? else {
            return Ok(None);
        };
        let query = |source| LakeError::Query {
            table: name.to_string(),
            source,
        };
        let df = ctx.read_table(provider).map_err(query)?;
        df.collect().await.map_err(query).map(Some)
    }
}

pub(crate) async fn has_batch(table: &DeltaTable, name: &str, batch_id: &str) -> Result<bool> {
    let delta = LakeError::delta(name);
    let state = table.snapshot().map_err(delta)?;
    let version = state
        .transaction_version(table.log_store().as_ref(), batch_id)
        .await
        .map_err(delta)?;
    Ok(version.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Int64Array, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};

    fn batch(ids: &[i64]) -> (SchemaRef, RecordBatch) {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("name", DataType::Utf8, true),
        ]));
        let names: Vec<String> = ids.iter().map(|i| format!("n{i}")).collect();
        let b = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Int64Array::from(ids.to_vec())),
                Arc::new(StringArray::from(names)),
            ],
        )
        .unwrap();
        (schema, b)
    }

    fn rows(batches: &[RecordBatch]) -> usize {
        batches.iter().map(|b| b.num_rows()).sum()
    }

    /// Writes `ids` to table `t` of `lake`; returns the new version or `None` when skipped.
    async fn put(lake: &Lake, ids: &[i64], mode: WriteMode, commit: Commit) -> Option<i64> {
        let (schema, b) = batch(ids);
        let batches = if ids.is_empty() { vec![] } else { vec![b] };
        lake.write("t", schema, batches, mode, commit)
            .await
            .unwrap()
    }

    async fn rows_of(lake: &Lake) -> usize {
        rows(&lake.read("t").await.unwrap().expect("table t exists"))
    }

    #[tokio::test]
    async fn a_batch_id_is_written_once() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::open(dir.path().to_str().unwrap()).unwrap();
        assert_eq!(
            put(&lake, &[1, 2, 3], WriteMode::Append, Commit::batch("b1")).await,
            Some(0)
        );
        let again = put(&lake, &[1, 2, 3], WriteMode::Append, Commit::batch("b1")).await;
        assert_eq!(again, None, "the same batch id must not land twice");
        put(&lake, &[1, 2, 3], WriteMode::Append, Commit::batch("b2")).await;
        assert_eq!(rows_of(&lake).await, 6);
        assert!(lake.committed("t", "b1").await.unwrap());
        assert!(!lake.committed("t", "b3").await.unwrap());
        assert!(!lake.committed("missing", "b1").await.unwrap());
        assert_eq!(lake.list_tables().await.unwrap(), vec!["t".to_string()]);
        assert_eq!(lake.read("missing").await.unwrap(), None);
    }

    #[tokio::test]
    async fn overwrite_replaces_rows_and_empty_batches_create_tables() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::open(dir.path().to_str().unwrap()).unwrap();
        put(&lake, &[], WriteMode::Append, Commit::default()).await;
        assert_eq!(rows_of(&lake).await, 0);
        put(&lake, &[1, 2], WriteMode::Append, Commit::default()).await;
        put(&lake, &[7], WriteMode::Overwrite, Commit::default()).await;
        assert_eq!(rows_of(&lake).await, 1);
    }

    /// A streamed write split round-robin over several writers put every other batch in
    /// another file and buffered the batches the slower writer had not taken yet (at 100k
    /// persons, every batch of `mentions` at once). One writer takes them in order, so each
    /// file holds a run of consecutive rows.
    #[tokio::test]
    async fn a_streamed_write_has_one_writer_so_each_file_holds_consecutive_rows() {
        use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
        use futures::StreamExt;
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::open(dir.path().to_str().unwrap()).unwrap();
        let (schema, _) = batch(&[0]);
        let stream = futures::stream::iter(0..40i64)
            .map(|k| {
                let ids: Vec<i64> = (k * 50..(k + 1) * 50).collect();
                Ok(batch(&ids).1)
            })
            .boxed();
        let commit = Commit::default().with_target_file_size(4096);
        lake.write_stream("t", schema, stream, WriteMode::Overwrite, commit)
            .await
            .unwrap();
        let mut files = 0;
        let mut spanning = 0;
        let mut total = 0;
        for entry in std::fs::read_dir(dir.path().join("t")).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "parquet") {
                continue;
            }
            let reader =
                ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&path).unwrap())
                    .unwrap()
                    .build()
                    .unwrap();
            let mut ids: Vec<i64> = Vec::new();
            for b in reader {
                let b = b.unwrap();
                let col = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
                ids.extend(col.values().iter().copied());
            }
            ids.sort_unstable();
            let (first, last) = (ids[0], ids[ids.len() - 1]);
            assert_eq!(
                (last - first + 1) as usize,
                ids.len(),
                "{} holds rows {first}..={last} with gaps",
                path.display()
            );
            files += 1;
            spanning += usize::from(first / 50 != last / 50);
            total += ids.len();
        }
        assert_eq!(total, 2000);
        assert!(files > 1, "the target size rolls files");
        assert!(spanning > 0, "some file holds rows of several batches");
    }

    #[test]
    fn bad_names_and_roots_are_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::open(dir.path().to_str().unwrap()).unwrap();
        assert!(matches!(
            lake.table_url("../x"),
            Err(LakeError::InvalidTableName(_))
        ));
        assert!(matches!(
            Lake::open("gs://bucket"),
            Err(LakeError::InvalidRoot { .. })
        ));
    }
}
