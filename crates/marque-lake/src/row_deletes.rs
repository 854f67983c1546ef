//! Replacing some rows of a table in place: the old rows are marked deleted by deletion
//! vectors and the new ones appended, in one commit, so that no data file is rewritten.
//!
//! delta-rs reads deletion vectors (scans, optimize and vacuum honour them) but deletes and
//! updates copy-on-write: every file holding one deleted row is rewritten whole. An incremental
//! resolution replaces the rows of a tenth of the customers, and those rows sit in every file,
//! so copy-on-write rewrote every table whole. Here only the key column of each file is read,
//! to find the positions of the rows to delete.

use std::collections::HashSet;
use std::hash::BuildHasher;
use std::sync::Arc;

use datafusion::parquet::arrow::ProjectionMask;
#[allow(deprecated)] // see `matching_rows`
use datafusion::parquet::arrow::async_reader::{
    ParquetObjectReader, ParquetRecordBatchStreamBuilder,
};
use deltalake::kernel::transaction::{CommitBuilder, CommitProperties};
use deltalake::kernel::{
    Action, DeletionVectorDescriptor, StorageType, TableFeatures, Transaction,
};
use deltalake::logstore::ObjectStoreRef;
use deltalake::protocol::DeltaOperation;
use deltalake::writer::{DeltaWriter, RecordBatchWriter};
use deltalake::{DeltaTable, DeltaTableError};
use futures::{StreamExt, TryStreamExt};
use object_store::ObjectStoreExt;
use object_store::path::Path;
use roaring::RoaringTreemap;

use crate::deletion_vector;
use crate::tables::{BatchStream, Commit, Lake};
use crate::{LakeError, Result};

/// Files whose key column is read at once.
const CONCURRENT_FILES: usize = 4;

/// One data file of the table and the rows of it to delete from now on.
struct Marked {
    file: deltalake::kernel::LogicalFileView,
    deleted: RoaringTreemap,
}

impl Lake {
    /// Deletes the rows of table `name` whose text column `key` holds one of `keys`, and
    /// appends `fresh`, in one commit. Deleted rows are marked by deletion vectors (the table
    /// gains the `deletionVectors` feature the first time). Returns the new version, or `None`
    /// when `commit` names a batch the table already has (then `fresh` is not read).
    pub async fn replace_rows<S: BuildHasher + Send + Sync + 'static>(
        &self,
        name: &str,
        key: &str,
        keys: Arc<HashSet<String, S>>,
        fresh: BatchStream,
        commit: Commit,
    ) -> Result<Option<i64>> {
        let delta = LakeError::delta(name);
        let Some(mut table) = self.load(name).await? else {
            return Err(delta(DeltaTableError::NotATable(name.to_string())));
        };
        if let Some(id) = &commit.batch_id
            && crate::tables::has_batch(&table, name, id).await?
        {
            return Ok(None);
        }
        if !has_deletion_vectors(&table).map_err(delta)? {
            table = table
                .add_feature()
                .with_feature(TableFeatures::DeletionVectors)
                .with_allow_protocol_versions_increase(true)
                .await
                .map_err(delta)?;
        }
        let operation = DeltaOperation::Update {
            predicate: Some(format!("{key} in {} replaced values", keys.len())),
        };
        let store = table.log_store().object_store(None);
        // The new rows are encoded while the old ones are found, each on a worker thread: the
        // caller's task (often the runtime's entry thread) only waits. Polled in the caller's
        // task, the four tables of an incremental resolution shared one core.
        let appended = tokio::spawn(append(
            table.clone(),
            name.to_string(),
            fresh,
            commit.target_file_size,
        ));
        // Should finding the old rows fail, the new rows stop being written (a file finished
        // before then is never committed: no reader sees it, and vacuum removes it).
        let _abort = AbortOnDrop(appended.abort_handle());
        let started = std::time::Instant::now();
        let marked = if keys.is_empty() {
            Vec::new()
        } else {
            mark(&table, name, &store, key, keys).await?
        };
        // Marking and appending run side by side: their own times tell which one a
        // replacement waits on.
        tracing::debug!(
            table = name,
            files = marked.len(),
            elapsed_s = started.elapsed().as_secs_f64(),
            "old rows found"
        );
        let mut actions = deletion_actions(name, &store, marked).await?;
        actions.extend(appended.await.map_err(|e| LakeError::Task {
            table: name.to_string(),
            message: e.to_string(),
        })??);
        tracing::debug!(
            table = name,
            elapsed_s = started.elapsed().as_secs_f64(),
            "old rows marked and new rows written"
        );

        let mut props = CommitProperties::default().with_metadata(commit.metadata);
        if let Some(id) = &commit.batch_id {
            props = props.with_application_transaction(Transaction::new(id, 1));
        }
        let snapshot = table.snapshot().map_err(delta)?;
        let done = CommitBuilder::from(props)
            .with_actions(actions)
            .build(Some(snapshot), table.log_store(), operation)
            .await
            .map_err(delta)?;
        Ok(Some(done.version() as i64))
    }
}

/// Aborts a spawned task when dropped (a no-op once the task ended).
struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn has_deletion_vectors(table: &DeltaTable) -> deltalake::DeltaResult<bool> {
    let protocol = table.snapshot()?.protocol();
    Ok(protocol
        .reader_features()
        .is_some_and(|f| f.iter().any(|f| f.as_ref() == "deletionVectors")))
}

/// Every data file with live rows whose `key` is in `keys`, and all of its deleted rows (those
/// deleted before included). Files are read a few at a time, one column each.
async fn mark<S: BuildHasher + Send + Sync + 'static>(
    table: &DeltaTable,
    name: &str,
    store: &ObjectStoreRef,
    key: &str,
    keys: Arc<HashSet<String, S>>,
) -> Result<Vec<Marked>> {
    let delta = LakeError::delta(name);
    let snapshot = table.snapshot().map_err(delta)?;
    let files: Vec<_> = snapshot.log_data().into_iter().collect();
    let marked = futures::stream::iter(files)
        .map(|file| {
            let keys = keys.clone();
            // Decoding a key column is CPU work: on a worker thread.
            let (table, files, path, key) = (
                name.to_string(),
                store.clone(),
                file.object_store_path(),
                key.to_string(),
            );
            let found =
                tokio::spawn(
                    async move { matching_rows(&table, &files, &path, &key, &keys).await },
                );
            // Should another file fail first, the collect below drops this future, polled or
            // not: the guard it owns from here on stops the read instead of leaving it
            // detached (made inside the block, it would not exist until the first poll).
            let abort = AbortOnDrop(found.abort_handle());
            async move {
                let _abort = abort;
                let rows = found.await.map_err(|e| LakeError::Task {
                    table: name.to_string(),
                    message: e.to_string(),
                })??;
                if rows.is_empty() {
                    return Ok(None);
                }
                let mut deleted = match file.deletion_vector_descriptor() {
                    Some(dv) => read_vector(name, store, &dv).await?,
                    None => RoaringTreemap::new(),
                };
                let before = deleted.len();
                deleted.extend(rows);
                // Rows a customer had here before an earlier replacement are deleted already.
                Ok((deleted.len() > before).then_some(Marked { file, deleted }))
            }
        })
        .buffer_unordered(CONCURRENT_FILES)
        .try_filter_map(|m| async move { Ok(m) })
        .try_collect()
        .await?;
    Ok(marked)
}

/// The positions of the rows of data file `path` whose text column `key` is in `keys`.
async fn matching_rows<S: BuildHasher>(
    table: &str,
    store: &ObjectStoreRef,
    path: &Path,
    key: &str,
    keys: &HashSet<String, S>,
) -> Result<Vec<u64>> {
    let err = |message: String| LakeError::DataFile {
        table: table.to_string(),
        file: path.to_string(),
        message,
    };
    // Deprecated in favour of a hand-written `AsyncFileReader`; this one still reads ranges
    // from the object store as the rest of the lake does, which is all a key column needs.
    #[allow(deprecated)]
    let reader = ParquetObjectReader::new(store.clone(), path.clone());
    let builder = ParquetRecordBatchStreamBuilder::new(reader)
        .await
        .map_err(|e| err(e.to_string()))?;
    let column = builder
        .parquet_schema()
        .columns()
        .iter()
        .position(|c| c.name() == key)
        .ok_or_else(|| err(format!("no column {key}")))?;
    let mask = ProjectionMask::leaves(builder.parquet_schema(), [column]);
    let mut stream = builder
        .with_projection(mask)
        .build()
        .map_err(|e| err(e.to_string()))?;
    let mut rows = Vec::new();
    let mut at = 0u64;
    while let Some(batch) = stream.next().await {
        let batch = batch.map_err(|e| err(e.to_string()))?;
        let values = arrow::compute::cast(batch.column(0), &arrow::datatypes::DataType::Utf8)
            .map_err(|e| err(e.to_string()))?;
        let values = values
            .as_any()
            .downcast_ref::<arrow::array::StringArray>()
            .ok_or_else(|| err(format!("column {key} is not text")))?;
        rows.extend(
            values
                .iter()
                .enumerate()
                .filter(|(_, v)| v.is_some_and(|v| keys.contains(v)))
                .map(|(i, _)| at + i as u64),
        );
        at += batch.num_rows() as u64;
    }
    Ok(rows)
}

/// The rows an existing deletion vector deletes.
async fn read_vector(
    table: &str,
    store: &ObjectStoreRef,
    dv: &DeletionVectorDescriptor,
) -> Result<RoaringTreemap> {
    let err = |file: &str, message: String| LakeError::DataFile {
        table: table.to_string(),
        file: file.to_string(),
        message,
    };
    let path = match dv.storage_type {
        StorageType::UuidRelativePath => deletion_vector::file_of(&dv.path_or_inline_dv)
            .map_err(|m| err(&dv.path_or_inline_dv, m))?,
        other => {
            return Err(err(
                &dv.path_or_inline_dv,
                format!("deletion vectors stored as {other} are not read here"),
            ));
        }
    };
    let (offset, size) = (dv.offset.unwrap_or(1) as usize, dv.size_in_bytes as usize);
    let range = deletion_vector::range_of(offset, size);
    let bytes = store
        .get_range(
            &Path::from(path.as_str()),
            range.start as u64..range.end as u64,
        )
        .await
        .map_err(|e| err(&path, e.to_string()))?;
    deletion_vector::decode_range(&bytes, size)
        .map_err(|m| err(&path, format!("{m} at offset {offset}")))
}

/// Writes the new vectors into one file and gives, for each marked data file, the `remove`
/// of it as it was and the `add` of it with its new vector; a file with every row deleted is
/// only removed.
async fn deletion_actions(
    table: &str,
    store: &ObjectStoreRef,
    marked: Vec<Marked>,
) -> Result<Vec<Action>> {
    let mut actions = Vec::with_capacity(2 * marked.len());
    let (emptied, marked): (Vec<Marked>, Vec<Marked>) = marked.into_iter().partition(|m| {
        m.file
            .num_records()
            .is_some_and(|n| m.deleted.len() >= n as u64)
    });
    actions.extend(
        emptied
            .iter()
            .map(|m| Action::Remove(m.file.remove_action(true))),
    );
    if marked.is_empty() {
        return Ok(actions);
    }
    let (file_name, path_or_inline_dv) = deletion_vector::new_file();
    let err = |message: String| LakeError::DataFile {
        table: table.to_string(),
        file: file_name.clone(),
        message,
    };
    let (bytes, placed) =
        deletion_vector::encode(marked.iter().map(|m| &m.deleted)).map_err(err)?;
    store
        .put(&Path::from(file_name.as_str()), bytes.into())
        .await
        .map_err(|e| err(e.to_string()))?;
    for (m, at) in marked.iter().zip(placed) {
        actions.push(Action::Remove(m.file.remove_action(true)));
        // The file's add action as logged, stats and all: no other API gives it.
        #[allow(deprecated)]
        let mut add = m.file.add_action();
        add.deletion_vector = Some(DeletionVectorDescriptor {
            storage_type: StorageType::UuidRelativePath,
            path_or_inline_dv: path_or_inline_dv.clone(),
            offset: Some(at.offset),
            size_in_bytes: at.size_in_bytes,
            cardinality: at.cardinality,
        });
        add.data_change = true;
        actions.push(Action::Add(add));
    }
    Ok(actions)
}

/// Writes `fresh` as new data files (uncommitted) and gives their `add` actions.
async fn append(
    table: DeltaTable,
    name: String,
    mut fresh: BatchStream,
    target_file_size: Option<u64>,
) -> Result<Vec<Action>> {
    let delta = LakeError::delta(&name);
    let mut writer = RecordBatchWriter::for_table(&table)
        .map_err(delta)?
        .with_writer_properties(crate::writer_properties());
    if let Some(size) = target_file_size.filter(|&s| s > 0) {
        writer = writer.with_target_file_size(size);
    }
    while let Some(batch) = fresh.next().await {
        let batch = batch.map_err(|m| delta(DeltaTableError::Generic(m)))?;
        if batch.num_rows() > 0 {
            writer.write(batch).await.map_err(delta)?;
        }
    }
    let adds = writer.flush().await.map_err(delta)?;
    Ok(adds.into_iter().map(Action::Add).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::WriteMode;
    use arrow::array::{Int64Array, RecordBatch, StringArray};
    use arrow::datatypes::{DataType, Field, Schema, SchemaRef};

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("customer_id", DataType::Utf8, true),
            Field::new("v", DataType::Int64, false),
        ]))
    }

    fn batch(rows: &[(&str, i64)]) -> RecordBatch {
        let ids: Vec<&str> = rows.iter().map(|r| r.0).collect();
        let vs: Vec<i64> = rows.iter().map(|r| r.1).collect();
        let cols: Vec<arrow::array::ArrayRef> = vec![
            Arc::new(StringArray::from(ids)),
            Arc::new(Int64Array::from(vs)),
        ];
        RecordBatch::try_new(schema(), cols).unwrap()
    }

    fn stream(rows: &[(&str, i64)]) -> BatchStream {
        futures::stream::iter(vec![Ok(batch(rows))]).boxed()
    }

    /// The table's rows, through a DataFusion scan (which applies deletion vectors).
    async fn rows(lake: &Lake) -> Vec<(String, i64)> {
        let ctx = datafusion::prelude::SessionContext::new();
        lake.register_all(&ctx).await.unwrap();
        let sql = "SELECT CAST(customer_id AS VARCHAR), v FROM t ORDER BY v";
        let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
        let mut out = Vec::new();
        for b in batches {
            let ids = arrow::compute::cast(b.column(0), &DataType::Utf8).unwrap();
            let ids = ids.as_any().downcast_ref::<StringArray>().unwrap();
            let vs = b.column(1).as_any().downcast_ref::<Int64Array>().unwrap();
            out.extend((0..b.num_rows()).map(|r| (ids.value(r).to_string(), vs.value(r))));
        }
        out
    }

    fn keys(ks: &[&str]) -> Arc<HashSet<String>> {
        Arc::new(ks.iter().map(|k| k.to_string()).collect())
    }

    /// Replaces the rows of customers `ks` in table `t` by `fresh`.
    async fn replace(
        lake: &Lake,
        ks: &[&str],
        fresh: &[(&str, i64)],
        commit: Commit,
    ) -> Result<Option<i64>> {
        lake.replace_rows("t", "customer_id", keys(ks), stream(fresh), commit)
            .await
    }

    fn data_files(dir: &std::path::Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir.join("t"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".parquet"))
            .collect();
        names.sort();
        names
    }

    fn vector_files(dir: &std::path::Path) -> usize {
        std::fs::read_dir(dir.join("t"))
            .unwrap()
            .filter(|e| {
                let name = e.as_ref().unwrap().file_name();
                name.to_string_lossy().starts_with("deletion_vector_")
            })
            .count()
    }

    #[tokio::test]
    async fn replaced_rows_are_deleted_by_vectors_and_no_data_file_is_rewritten() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::open(dir.path().to_str().unwrap()).unwrap();
        let write = |rows: &'static [(&'static str, i64)]| {
            lake.write(
                "t",
                schema(),
                vec![batch(rows)],
                WriteMode::Append,
                Commit::default(),
            )
        };
        write(&[("a", 1), ("b", 2), ("c", 3)]).await.unwrap();
        write(&[("b", 4), ("d", 5)]).await.unwrap();
        let before = data_files(dir.path());
        assert_eq!(before.len(), 2);

        let v = replace(&lake, &["b"], &[("b", 6)], Commit::batch("r1"))
            .await
            .unwrap();
        assert!(v.is_some());
        let expect = |rows: &[(&str, i64)]| -> Vec<(String, i64)> {
            rows.iter().map(|(k, v)| (k.to_string(), *v)).collect()
        };
        assert_eq!(
            rows(&lake).await,
            expect(&[("a", 1), ("c", 3), ("d", 5), ("b", 6)])
        );
        let after = data_files(dir.path());
        assert_eq!(after.len(), 3, "one new file, none rewritten");
        assert!(before.iter().all(|f| after.contains(f)));
        assert_eq!(vector_files(dir.path()), 1);

        // A second replacement adds to the first file's vector rather than replacing it.
        replace(&lake, &["a"], &[], Commit::batch("r2"))
            .await
            .unwrap();
        assert_eq!(rows(&lake).await, expect(&[("c", 3), ("d", 5), ("b", 6)]));
        // The same batch again is skipped.
        let again = replace(&lake, &["c"], &[], Commit::batch("r2"))
            .await
            .unwrap();
        assert_eq!(again, None);
        assert_eq!(rows(&lake).await.len(), 3);

        // Replacing b again marks only the file holding its live row: the first file's b is
        // deleted already, so that file keeps its vector.
        let first_vectors = |lake: &Lake| {
            let lake = lake.clone();
            async move {
                let table = lake.load("t").await.unwrap().unwrap();
                let mut v: Vec<(String, Option<String>)> = table
                    .snapshot()
                    .unwrap()
                    .log_data()
                    .into_iter()
                    .map(|f| {
                        let dv = f.deletion_vector_descriptor().map(|d| d.path_or_inline_dv);
                        (f.path().to_string(), dv)
                    })
                    .collect();
                v.sort();
                v
            }
        };
        let old = first_vectors(&lake).await;
        replace(&lake, &["b"], &[("b", 7)], Commit::default())
            .await
            .unwrap();
        assert_eq!(rows(&lake).await, expect(&[("c", 3), ("d", 5), ("b", 7)]));
        let new = first_vectors(&lake).await;
        let kept = old.iter().filter(|&f| new.contains(f)).count();
        assert_eq!(
            kept, 2,
            "both original files keep their vectors: {old:?} → {new:?}"
        );
        replace(&lake, &["b"], &[("b", 6)], Commit::default())
            .await
            .unwrap();

        // A file whose every row goes is removed, not given a vector.
        replace(&lake, &["c"], &[], Commit::batch("r3"))
            .await
            .unwrap();
        assert_eq!(rows(&lake).await, expect(&[("d", 5), ("b", 6)]));
        let table = lake.load("t").await.unwrap().unwrap();
        let live: Vec<String> = table
            .snapshot()
            .unwrap()
            .log_data()
            .into_iter()
            .map(|f| f.path().to_string())
            .collect();
        assert_eq!(live.len(), 2, "a, b and c's file is gone: {live:?}");

        // Compaction keeps the rows deleted, and a full overwrite still replaces everything.
        lake.optimize("t", None).await.unwrap();
        assert_eq!(rows(&lake).await, expect(&[("d", 5), ("b", 6)]));
        lake.write(
            "t",
            schema(),
            vec![batch(&[("z", 9)])],
            WriteMode::Overwrite,
            Commit::default(),
        )
        .await
        .unwrap();
        assert_eq!(rows(&lake).await, expect(&[("z", 9)]));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_corrupt_data_file_fails_the_replacement_with_its_name_and_commits_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::open(dir.path().to_str().unwrap()).unwrap();
        for i in 0..6 {
            let rows = [("a", i), ("b", 10 + i)];
            lake.write(
                "t",
                schema(),
                vec![batch(&rows)],
                WriteMode::Append,
                Commit::default(),
            )
            .await
            .unwrap();
        }
        let version = |lake: &Lake| {
            let lake = lake.clone();
            async move { lake.load("t").await.unwrap().unwrap().version() }
        };
        // One replacement first, so that the table has deletion vectors already (enabling
        // them is a commit of its own).
        replace(&lake, &["a"], &[], Commit::batch("r0"))
            .await
            .unwrap();
        let (before, vectors_before) = (version(&lake).await, vector_files(dir.path()));
        let bad = data_files(dir.path()).remove(2);
        std::fs::write(dir.path().join("t").join(&bad), b"not parquet").unwrap();
        let err = replace(&lake, &["b"], &[("b", 99)], Commit::batch("r1"))
            .await
            .unwrap_err();
        assert!(err.to_string().contains(&bad), "{err}");
        assert_eq!(version(&lake).await, before, "nothing committed");
        assert_eq!(
            vector_files(dir.path()),
            vectors_before,
            "no deletion vector written"
        );
    }

    #[tokio::test]
    async fn replacing_rows_of_a_missing_table_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::open(dir.path().to_str().unwrap()).unwrap();
        let err = replace(&lake, &["a"], &[], Commit::default())
            .await
            .unwrap_err();
        assert!(err.to_string().contains("table t"), "{err}");
    }
}
