//! Lake maintenance: compacting small files (optimize), removing unreferenced ones (vacuum), and
//! the per-job lock.

use std::num::NonZeroU64;

use deltalake::operations::optimize::OptimizeType;

use crate::{Lake, LakeError, LakeLock, Result};

/// Target size of compacted files: large enough that a 1M-person lake's tables are a handful of
/// files each (DataFusion scans files in parallel per core), small enough to prune by file stats.
pub const TARGET_FILE_BYTES: u64 = 128 * 1024 * 1024;

/// What `optimize` did to one table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OptimizeSummary {
    pub table: String,
    pub files_removed: u64,
    pub files_added: u64,
    /// The version committed, `None` when there was nothing to compact.
    pub version: Option<i64>,
}

/// What `vacuum` did to one table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VacuumSummary {
    pub table: String,
    pub files_deleted: usize,
    pub dry_run: bool,
}

impl Lake {
    /// Takes the lock `name` (a connector, or `lake-maintenance`) for this process; fails with
    /// [`LakeError::Locked`] when a live process holds it. Crashed holders never block it.
    pub async fn lock(&self, name: &str) -> Result<LakeLock> {
        crate::tables::check_name_pub(name)?;
        if let Some(dir) = self.root().local_path() {
            return LakeLock::local(&dir, name);
        }
        let store = self
            .root()
            .store()
            .cloned()
            .ok_or_else(|| LakeError::InvalidRoot {
                root: self.root().url().to_string(),
                reason: "no object store".into(),
            })?;
        LakeLock::lease(
            store,
            self.root().url().path(),
            name,
            self.root().url().as_str(),
        )
        .await
    }

    /// Compacts the small files of table `name` (one per ingest batch) into files of about
    /// `target_bytes` ([`TARGET_FILE_BYTES`] when `None`). Readers are unaffected: the old files
    /// stay referenced by older versions until [`Lake::vacuum`].
    pub async fn optimize(&self, name: &str, target_bytes: Option<u64>) -> Result<OptimizeSummary> {
        let delta = LakeError::delta(name);
        let mut summary = OptimizeSummary {
            table: name.to_string(),
            ..Default::default()
        };
        let Some(table) = self.load(name).await? else {
            return Ok(summary);
        };
        let before = table.version();
        let target =
            NonZeroU64::new(target_bytes.unwrap_or(TARGET_FILE_BYTES)).unwrap_or(NonZeroU64::MIN);
        let (table, metrics) = table
            .optimize()
            .with_type(OptimizeType::Compact)
            .with_target_size(target)
            .with_writer_properties(crate::writer_properties())
            .await
            .map_err(delta)?;
        summary.files_removed = metrics.num_files_removed;
        summary.files_added = metrics.num_files_added;
        if table.version() != before {
            summary.version = table.version().map(|v| v as i64);
        }
        Ok(summary)
    }

    /// Deletes the files of table `name` that no version younger than `retention_hours` still
    /// references. `retention_hours` below Delta's default (168) is allowed: Marque's readers
    /// load the latest version, and a reader started before the vacuum may then fail and retry.
    pub async fn vacuum(
        &self,
        name: &str,
        retention_hours: u64,
        dry_run: bool,
    ) -> Result<VacuumSummary> {
        let delta = LakeError::delta(name);
        let mut summary = VacuumSummary {
            table: name.to_string(),
            dry_run,
            ..Default::default()
        };
        let Some(table) = self.load(name).await? else {
            return Ok(summary);
        };
        let (_, metrics) = table
            .vacuum()
            .with_retention_period(chrono::Duration::hours(retention_hours as i64))
            .with_enforce_retention_duration(false)
            .with_dry_run(dry_run)
            .await
            .map_err(delta)?;
        summary.files_deleted = metrics.files_deleted.len();
        Ok(summary)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Int64Array, RecordBatch};
    use arrow::datatypes::{DataType, Field, Schema};

    use crate::{Commit, Lake, WriteMode};

    #[tokio::test]
    async fn optimize_compacts_batches_and_vacuum_removes_the_old_files() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::open(dir.path().to_str().unwrap()).unwrap();
        let schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, false)]));
        for i in 0..5 {
            let b = RecordBatch::try_new(
                schema.clone(),
                vec![Arc::new(Int64Array::from(vec![i, i + 100]))],
            )
            .unwrap();
            lake.write(
                "t",
                schema.clone(),
                vec![b],
                WriteMode::Append,
                Commit::batch(format!("b{i}")),
            )
            .await
            .unwrap();
        }
        let parquet = |d: &std::path::Path| {
            std::fs::read_dir(d.join("t"))
                .unwrap()
                .flatten()
                .filter(|e| e.path().extension().is_some_and(|x| x == "parquet"))
                .count()
        };
        assert_eq!(parquet(dir.path()), 5);
        let s = lake.optimize("t", None).await.unwrap();
        assert_eq!((s.files_removed, s.files_added), (5, 1));
        let rows: usize = lake
            .read("t")
            .await
            .unwrap()
            .unwrap()
            .iter()
            .map(|b| b.num_rows())
            .sum();
        assert_eq!(rows, 10, "compaction keeps every row");
        assert!(
            lake.committed("t", "b3").await.unwrap(),
            "batch ids survive"
        );
        let dry = lake.vacuum("t", 0, true).await.unwrap();
        assert_eq!(dry.files_deleted, 5);
        assert_eq!(parquet(dir.path()), 6, "a dry run deletes nothing");
        lake.vacuum("t", 0, false).await.unwrap();
        assert_eq!(parquet(dir.path()), 1);
        let again = lake.optimize("t", None).await.unwrap();
        assert_eq!(again.version, None, "nothing left to compact");
    }
}
