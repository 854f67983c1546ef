//! Materialised segment membership: `marque segments refresh` computes every segment once, off
//! the serving path, and overwrites the lake table `segment_members` (segment, customer_id, the
//! as-of date, when it was computed and the table versions it read) in one commit. Readers —
//! the HTTP service above all — take membership from that table instead of running the
//! definitions, and compare its recorded versions with the resolution they serve to tell
//! whether it is stale.
//!
//! Why a separate step, and how it stays cheap: the segment definitions all stand on the same
//! few expensive views (`events`, a four-way union of joins over the raw tables;
//! `vehicle_ownership`; `vehicles`; `lifecycle`, an aggregation of every event; `ltv`). Run
//! one by one, each definition recomputes them — `win_back_worthy` derives `events` four
//! times — and every copy holds its hash tables at once. Here each shared view is computed
//! **once**, streamed to Parquet in a scratch directory (never collected), and the next stage
//! and the segments are re-planned on top of those files, so a segment query is a few joins
//! over pre-aggregated, per-customer files.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use datafusion::arrow::array::{
    Array, ArrayRef, Date32Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::dataframe::DataFrameWriteOptions;
use datafusion::prelude::{ParquetReadOptions, SessionContext};
use marque_lake::{Commit, WriteMode};

use super::Segment;
use crate::views::{self, ViewFile};
use crate::{Engine, EngineError, Result};

/// The lake table segment membership is materialised in.
pub const MEMBERS_TABLE: &str = "segment_members";

/// The resolution tables whose version a membership was computed from; a reader serving other
/// versions of them knows the membership is stale.
pub const RESOLUTION_INPUTS: &[&str] = &["customers", "customer_map", "customer_clv"];

/// The lake table the lifecycle stage of every customer is materialised in by the same
/// refresh (from the `lifecycle` view computed for the segments), for services that show it
/// per customer without computing the view.
pub const LIFECYCLE_TABLE: &str = "customer_lifecycle";

/// The columns of `lifecycle` kept in [`LIFECYCLE_TABLE`]: the stage and the dates that
/// decided it (the long explanation stays in the view).
pub const LIFECYCLE_COLUMNS: &[&str] = &[
    "customer_id",
    "stage",
    "stage_rule",
    "as_of_date",
    "last_purchase_date",
    "last_service_date",
    "days_silent",
];

/// Views computed once per refresh, in this order (each may read the ones before it): the
/// one-row date and parameters first, so that the whole refresh uses one as-of date.
pub const SHARED_VIEWS: &[&str] = &[
    "as_of",
    "marque_params",
    "events",
    "vehicle_ownership",
    "vehicles",
    "lifecycle",
    "ltv",
];

/// The schema of `segment_members`: one row per (segment, member). A segment computed with no
/// members leaves one row with a NULL customer_id, so that "empty" and "not computed" differ.
pub fn members_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("segment", DataType::Utf8, false),
        Field::new("customer_id", DataType::Utf8, true),
        Field::new("as_of_date", DataType::Date32, true),
        Field::new(
            "computed_at",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
        Field::new("resolution_version", DataType::Int64, true),
        Field::new("table_versions", DataType::Utf8, false),
    ]))
}

/// How one segment fared in a refresh.
#[derive(Debug, Clone)]
pub struct SegmentOutcome {
    pub name: String,
    /// Distinct members, or `None` when the segment failed.
    pub members: Option<usize>,
    /// Why it failed.
    pub error: Option<String>,
    pub secs: f64,
}

/// What [`Engine::refresh_segment_members`] did.
#[derive(Debug, Clone)]
pub struct MembersRefresh {
    pub computed_at: chrono::DateTime<chrono::Utc>,
    pub as_of_date: Option<chrono::NaiveDate>,
    /// The version of every lake table read.
    pub table_versions: BTreeMap<String, i64>,
    /// Each shared view materialised: (name, rows, seconds).
    pub stages: Vec<(String, usize, f64)>,
    pub segments: Vec<SegmentOutcome>,
    /// The version of `segment_members` committed (`None`: nothing was written because every
    /// segment failed).
    pub lake_version: Option<i64>,
    /// Rows written to [`LIFECYCLE_TABLE`] (`None`: the lake has no `lifecycle` view).
    pub lifecycle_rows: Option<usize>,
}

impl MembersRefresh {
    /// The segments that failed, with the reason.
    pub fn failures(&self) -> Vec<(&str, &str)> {
        self.segments
            .iter()
            .filter_map(|s| s.error.as_deref().map(|e| (s.name.as_str(), e)))
            .collect()
    }
}

impl Engine {
    /// Computes `segments` (all registered segments when `None`) and overwrites
    /// [`MEMBERS_TABLE`] with their members in one commit. The shared views of
    /// [`SHARED_VIEWS`] are computed once into Parquet under `scratch` (a directory created
    /// and removed here). A segment that fails is left out of the table and reported; the
    /// others are written. Every table is read at the version of the engine's session.
    pub async fn refresh_segment_members(
        &self,
        segments: Option<&[Segment]>,
        scratch: &Path,
    ) -> Result<MembersRefresh> {
        let segments: Vec<Segment> = match segments {
            Some(s) => s.to_vec(),
            None => self.segments(),
        };
        let dir = scratch.join(format!(
            "marque-segments-{}-{}",
            std::process::id(),
            chrono::Utc::now().timestamp_micros()
        ));
        std::fs::create_dir_all(&dir).map_err(|e| {
            EngineError::Internal(format!("cannot create scratch dir {}: {e}", dir.display()))
        })?;
        let result = self.refresh_in(&segments, &dir).await;
        if let Err(e) = std::fs::remove_dir_all(&dir) {
            tracing::warn!(dir = %dir.display(), error = %e, "cannot remove the scratch dir");
        }
        result
    }

    async fn refresh_in(&self, segments: &[Segment], dir: &Path) -> Result<MembersRefresh> {
        let table_versions = self.table_versions();
        let views = self.view_files()?;
        let present: HashSet<String> = self.views().into_iter().collect();
        let mut done: Vec<(String, PathBuf)> = Vec::new();
        let mut stages = Vec::new();
        for name in SHARED_VIEWS.iter().filter(|n| present.contains(**n)) {
            let started = Instant::now();
            let ctx = self.staged_context(&table_versions, &views, &done).await?;
            let out = dir.join(name);
            let df = ctx.table(*name).await?;
            let target = format!("{}/", out.display());
            let write = df.write_parquet(&target, DataFrameWriteOptions::new(), None);
            let written = match self.options().query_timeout {
                Some(t) => tokio::time::timeout(t, write)
                    .await
                    .map_err(|_| EngineError::Timeout(t))??,
                None => write.await?,
            };
            let rows = count_written(&written);
            let secs = started.elapsed().as_secs_f64();
            tracing::info!(view = %name, rows, secs, "shared view materialised");
            stages.push((name.to_string(), rows, secs));
            done.push((name.to_string(), out));
        }
        let ctx = self.staged_context(&table_versions, &views, &done).await?;
        let lifecycle_rows = if done.iter().any(|(n, _)| n == "lifecycle") {
            Some(self.write_lifecycle(&ctx).await?)
        } else {
            None
        };
        let files: Vec<ViewFile> = segments
            .iter()
            .map(|s| ViewFile {
                name: s.name.clone(),
                sql: s.sql.clone(),
            })
            .collect();
        let (_, failed) = views::register(&ctx, &files).await;
        let as_of_date = as_of(&ctx).await;
        let computed_at = chrono::Utc::now();
        let versions_json = serde_json::to_string(&table_versions)
            .map_err(|e| EngineError::Internal(e.to_string()))?;
        let resolution_version = table_versions.get("customer_map").copied();
        let mut outcomes = Vec::new();
        let mut batches = Vec::new();
        for s in segments {
            let started = Instant::now();
            let ids = match failed.iter().find(|(n, _)| n == &s.name) {
                Some((_, e)) => Err(e.to_string()),
                None => self
                    .members_of(&ctx, &s.name)
                    .await
                    .map_err(|e| e.to_string()),
            };
            let secs = started.elapsed().as_secs_f64();
            match ids {
                Ok(ids) => {
                    tracing::info!(segment = %s.name, members = ids.len(), secs, "segment computed");
                    outcomes.push(SegmentOutcome {
                        name: s.name.clone(),
                        members: Some(ids.len()),
                        error: None,
                        secs,
                    });
                    batches.push(member_batch(
                        &s.name,
                        ids,
                        as_of_date,
                        computed_at,
                        resolution_version,
                        &versions_json,
                    )?);
                }
                Err(e) => {
                    tracing::warn!(segment = %s.name, error = %e, "segment failed; left out");
                    outcomes.push(SegmentOutcome {
                        name: s.name.clone(),
                        members: None,
                        error: Some(e),
                        secs,
                    });
                }
            }
        }
        let lake_version = if batches.is_empty() && !segments.is_empty() {
            None
        } else {
            let commit = Commit::default().with("operation", "segment_refresh").with(
                "segments",
                outcomes.iter().filter(|o| o.members.is_some()).count() as u64,
            );
            self.lake()
                .write(
                    MEMBERS_TABLE,
                    members_schema(),
                    batches,
                    WriteMode::Overwrite,
                    commit,
                )
                .await?
        };
        Ok(MembersRefresh {
            computed_at,
            as_of_date: as_of_date
                .and_then(|d| chrono::NaiveDate::from_num_days_from_ce_opt(d + EPOCH_DAYS_FROM_CE)),
            table_versions,
            stages,
            segments: outcomes,
            lake_version,
            lifecycle_rows,
        })
    }

    /// Overwrites [`LIFECYCLE_TABLE`] with the [`LIFECYCLE_COLUMNS`] of the materialised
    /// `lifecycle` on `ctx`; returns the rows written.
    async fn write_lifecycle(&self, ctx: &SessionContext) -> Result<usize> {
        let df = ctx.table("lifecycle").await?;
        let present: Vec<&str> = LIFECYCLE_COLUMNS
            .iter()
            .copied()
            .filter(|c| df.schema().fields().iter().any(|f| f.name() == c))
            .collect();
        let df = df.select_columns(&present)?;
        let (schema, batches) = self.collect(df).await?;
        let rows = batches.iter().map(RecordBatch::num_rows).sum();
        let commit = Commit::default()
            .with("operation", "lifecycle_refresh")
            .with("rows", rows as u64);
        self.lake()
            .write(
                LIFECYCLE_TABLE,
                schema,
                batches,
                WriteMode::Overwrite,
                commit,
            )
            .await?;
        Ok(rows)
    }

    /// The view files of the engine's options, the as-of override applied.
    fn view_files(&self) -> Result<Vec<ViewFile>> {
        let opts = self.options();
        let mut files = match &opts.views_dir {
            Some(dir) => views::read_dir(dir)?,
            None => Vec::new(),
        };
        if let Some(date) = opts.as_of {
            files.retain(|v| v.name != "as_of");
            files.push(ViewFile {
                name: "as_of".into(),
                sql: format!("SELECT DATE '{}' AS as_of_date", date.format("%Y-%m-%d")),
            });
        }
        Ok(files)
    }

    /// A session like the engine's, with the tables at `versions`, the views of `done` read
    /// from their Parquet files and every other view planned on top of them.
    async fn staged_context(
        &self,
        versions: &BTreeMap<String, i64>,
        views: &[ViewFile],
        done: &[(String, PathBuf)],
    ) -> Result<SessionContext> {
        let ctx = crate::new_context(self.options(), self.inner.pool.as_ref())?;
        // Strings read back as they were written (Utf8), so views plan as on the lake tables.
        ctx.sql("SET datafusion.execution.parquet.schema_force_view_types = false")
            .await?;
        crate::catalog::register_tables(self.lake(), &ctx, versions).await?;
        crate::catalog::register_placeholders(&ctx)?;
        for (name, path) in done {
            ctx.register_parquet(
                name.as_str(),
                &format!("{}/", path.display()),
                ParquetReadOptions::default(),
            )
            .await?;
        }
        let rest: Vec<ViewFile> = views
            .iter()
            .filter(|v| !done.iter().any(|(n, _)| n == &v.name))
            .cloned()
            .collect();
        views::register(&ctx, &rest).await;
        Ok(ctx)
    }

    /// The distinct member ids of the segment view `name` on `ctx`, sorted.
    async fn members_of(&self, ctx: &SessionContext, name: &str) -> Result<Vec<String>> {
        let df = ctx
            .sql(&format!(
                "SELECT DISTINCT CAST(customer_id AS VARCHAR) AS customer_id FROM {name} \
                 WHERE customer_id IS NOT NULL ORDER BY 1"
            ))
            .await?;
        let (_, batches) = self.collect(df).await?;
        super::first_column_ids(&batches)
    }
}

/// Days from 0001-01-01 (CE day 1) to 1970-01-01.
const EPOCH_DAYS_FROM_CE: i32 = 719_163;

/// Rows a `write_parquet` reported (its answer is one `count` row).
fn count_written(batches: &[RecordBatch]) -> usize {
    batches
        .iter()
        .filter(|b| b.num_rows() > 0)
        .filter_map(|b| {
            let c = cast(b.column(0), &DataType::Int64).ok()?;
            let c = c.as_any().downcast_ref::<Int64Array>()?;
            c.is_valid(0).then(|| c.value(0).max(0) as usize)
        })
        .sum()
}

/// The as-of date of `ctx` (days since the epoch), when it has the `as_of` view.
async fn as_of(ctx: &SessionContext) -> Option<i32> {
    let df = ctx
        .sql("SELECT CAST(as_of_date AS DATE) FROM as_of LIMIT 1")
        .await
        .ok()?;
    let batches = df.collect().await.ok()?;
    batches.iter().find(|b| b.num_rows() > 0).and_then(|b| {
        b.column(0)
            .as_any()
            .downcast_ref::<Date32Array>()
            .filter(|a| a.is_valid(0))
            .map(|a| a.value(0))
    })
}

/// The rows of one segment in `segment_members`.
fn member_batch(
    segment: &str,
    ids: Vec<String>,
    as_of_date: Option<i32>,
    computed_at: chrono::DateTime<chrono::Utc>,
    resolution_version: Option<i64>,
    versions_json: &str,
) -> Result<RecordBatch> {
    let ids: Vec<Option<String>> = if ids.is_empty() {
        vec![None]
    } else {
        ids.into_iter().map(Some).collect()
    };
    let n = ids.len();
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(vec![segment; n])),
        Arc::new(StringArray::from(ids)),
        Arc::new(Date32Array::from(vec![as_of_date; n])),
        Arc::new(
            TimestampMicrosecondArray::from(vec![computed_at.timestamp_micros(); n])
                .with_timezone("UTC"),
        ),
        Arc::new(Int64Array::from(vec![resolution_version; n])),
        Arc::new(StringArray::from(vec![versions_json; n])),
    ];
    RecordBatch::try_new(members_schema(), columns)
        .map_err(|e| EngineError::Internal(e.to_string()))
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::EngineOptions;
    use marque_lake::Lake;

    /// Replaces lake table `name` by one non-null column.
    pub(in crate::segments) async fn write_column(
        lake: &Lake,
        name: &str,
        column: &str,
        values: ArrayRef,
    ) {
        let field = Field::new(column, values.data_type().clone(), false);
        let schema = Arc::new(Schema::new(vec![field]));
        let batch = RecordBatch::try_new(schema.clone(), vec![values]).unwrap();
        lake.write(
            name,
            schema,
            vec![batch],
            WriteMode::Overwrite,
            Commit::default(),
        )
        .await
        .unwrap();
    }

    /// A lake with table `people(id)` and a views folder whose `events` view is materialised.
    pub(in crate::segments) async fn fixture(dir: &Path) -> (Lake, PathBuf) {
        let lake = Lake::open(dir.join("lake").to_str().unwrap()).unwrap();
        let ids: ArrayRef = Arc::new(Int64Array::from(vec![1, 2, 3, 4, 5]));
        write_column(&lake, "people", "id", ids).await;
        let sql = dir.join("sql");
        std::fs::create_dir_all(sql.join("views")).unwrap();
        std::fs::create_dir_all(sql.join("segments")).unwrap();
        std::fs::write(
            sql.join("views/events.sql"),
            "SELECT 'P' || CAST(id AS VARCHAR) AS customer_id, id FROM people",
        )
        .unwrap();
        std::fs::write(
            sql.join("views/odd_events.sql"),
            "SELECT customer_id FROM events WHERE id % 2 = 1",
        )
        .unwrap();
        std::fs::write(
            sql.join("segments/odd.sql"),
            "SELECT customer_id FROM odd_events",
        )
        .unwrap();
        std::fs::write(
            sql.join("segments/nobody.sql"),
            "SELECT customer_id FROM events WHERE id > 100",
        )
        .unwrap();
        std::fs::write(
            sql.join("segments/failing.sql"),
            "SELECT CAST('x' AS INT) AS customer_id FROM events",
        )
        .unwrap();
        (lake, sql.join("views"))
    }

    #[tokio::test]
    async fn refresh_writes_members_marks_empty_segments_and_reports_failures() {
        let dir = tempfile::tempdir().unwrap();
        let (lake, views) = fixture(dir.path()).await;
        let engine = Engine::open(lake, EngineOptions::default().with_views_dir(&views))
            .await
            .unwrap();
        let scratch = dir.path().join("scratch");
        let done = engine
            .refresh_segment_members(None, &scratch)
            .await
            .unwrap();
        // `events` was computed once, into scratch files that are gone now.
        assert_eq!(done.stages.len(), 1);
        assert_eq!(done.stages[0].0, "events");
        assert_eq!(done.stages[0].1, 5);
        assert_eq!(std::fs::read_dir(&scratch).unwrap().count(), 0);
        assert_eq!(done.failures().len(), 1);
        assert_eq!(done.failures()[0].0, "failing");
        assert_eq!(done.table_versions.get("people"), Some(&0));

        let engine = Engine::open(engine.lake().clone(), EngineOptions::default())
            .await
            .unwrap();
        let (_, batches) = engine
            .sql(
                "SELECT segment, customer_id FROM segment_members \
                 ORDER BY segment, customer_id",
            )
            .await
            .unwrap();
        let mut rows = Vec::new();
        for b in &batches {
            let seg = cast(b.column(0), &DataType::Utf8).unwrap();
            let cid = cast(b.column(1), &DataType::Utf8).unwrap();
            let seg = seg.as_any().downcast_ref::<StringArray>().unwrap();
            let cid = cid.as_any().downcast_ref::<StringArray>().unwrap();
            for i in 0..b.num_rows() {
                rows.push((
                    seg.value(i).to_string(),
                    cid.is_valid(i).then(|| cid.value(i).to_string()),
                ));
            }
        }
        let expected: Vec<(String, Option<String>)> = vec![
            ("nobody".into(), None),
            ("odd".into(), Some("P1".into())),
            ("odd".into(), Some("P3".into())),
            ("odd".into(), Some("P5".into())),
        ];
        assert_eq!(rows, expected);
    }
}
