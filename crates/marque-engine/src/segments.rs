//! Named segments: `sql/segments/NAME.sql` holds one `SELECT` returning at least `customer_id`;
//! the engine registers it as view `NAME`, lists it with its header comment, and can materialise
//! its members as a snapshot in the lake table `segment_snapshots`. [`Engine::refresh_segment_members`] materialises the
//! membership of every segment at once in `segment_members`, which is what services read.

mod members;
mod stored;

use std::path::Path;
use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, Date32Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use marque_lake::{Commit, WriteMode};

use crate::views::{self, ViewFile};
use crate::{Engine, EngineError, Result};

pub use members::{
    LIFECYCLE_COLUMNS, LIFECYCLE_TABLE, MEMBERS_TABLE, MembersRefresh, RESOLUTION_INPUTS,
    SHARED_VIEWS, SegmentOutcome, members_schema,
};
pub use stored::{StoredSegments, StoredState};

/// The lake table segment snapshots are appended to.
pub const SNAPSHOT_TABLE: &str = "segment_snapshots";

/// One segment file: its name, the description from its leading `--` comment lines, its SQL.
#[derive(Debug, Clone)]
pub struct Segment {
    pub name: String,
    pub description: String,
    pub sql: String,
}

impl From<&ViewFile> for Segment {
    fn from(v: &ViewFile) -> Self {
        Self {
            name: v.name.clone(),
            description: header_comment(&v.sql),
            sql: v.sql.clone(),
        }
    }
}

/// The text of the `--` comment lines a SQL file starts with, joined by spaces.
pub fn header_comment(sql: &str) -> String {
    sql.lines()
        .map(str::trim)
        .take_while(|l| l.starts_with("--") || l.is_empty())
        .filter_map(|l| l.strip_prefix("--").map(str::trim))
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Reads the segment files of `dir` (none when it does not exist).
pub(crate) fn read_dir(dir: &Path) -> Result<Vec<Segment>> {
    Ok(views::read_dir(dir)?.iter().map(Segment::from).collect())
}

/// What [`Engine::snapshot_segment`] wrote.
#[derive(Debug, Clone)]
pub struct SegmentSnapshot {
    /// `NAME@TIMESTAMP`, unique per snapshot.
    pub snapshot_id: String,
    pub segment: String,
    /// Distinct customers in the segment.
    pub members: usize,
    /// The version of every lake table the session read, as JSON (`{"customers": 3, …}`).
    pub table_versions: String,
    /// The version of `segment_snapshots` the snapshot was committed as.
    pub lake_version: Option<i64>,
}

/// The schema of `segment_snapshots`: one row per member (a segment with no members leaves one
/// row with a NULL customer_id, so the snapshot itself is recorded).
pub fn snapshot_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("snapshot_id", DataType::Utf8, false),
        Field::new("segment", DataType::Utf8, false),
        Field::new(
            "taken_at",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
        Field::new("as_of_date", DataType::Date32, true),
        Field::new("table_versions", DataType::Utf8, false),
        Field::new("segment_sql", DataType::Utf8, false),
        Field::new("customer_id", DataType::Utf8, true),
    ]))
}

impl Engine {
    /// The segments registered in the current session, sorted by name.
    pub fn segments(&self) -> Vec<Segment> {
        self.snapshot().segments.clone()
    }

    /// The segment called `name`, or [`EngineError::NotFound`].
    pub fn segment(&self, name: &str) -> Result<Segment> {
        self.segments()
            .into_iter()
            .find(|s| s.name == name)
            .ok_or_else(|| {
                EngineError::NotFound(format!(
                    "no segment named {name:?} (known: {})",
                    self.segments()
                        .iter()
                        .map(|s| s.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })
    }

    /// The distinct customer ids of segment `name`, sorted.
    pub async fn segment_members(&self, name: &str) -> Result<Vec<String>> {
        let segment = self.segment(name)?;
        let sql = format!(
            "SELECT DISTINCT CAST(customer_id AS VARCHAR) AS customer_id FROM {} \
             WHERE customer_id IS NOT NULL ORDER BY 1",
            segment.name
        );
        let (_, batches) = self.sql(&sql).await?;
        first_column_ids(&batches)
    }

    /// Materialises segment `name`: appends its members, with the lake table versions and the
    /// as-of date the session used, to `segment_snapshots` in one commit. Opening an engine with
    /// [`crate::EngineOptions::table_versions`] set from the snapshot's `table_versions` (and the
    /// same as-of date) reproduces the audience.
    pub async fn snapshot_segment(&self, name: &str) -> Result<SegmentSnapshot> {
        let segment = self.segment(name)?;
        let members = self.segment_members(name).await?;
        let versions = self.table_versions();
        let table_versions =
            serde_json::to_string(&versions).map_err(|e| EngineError::Internal(e.to_string()))?;
        let now = chrono::Utc::now();
        let snapshot_id = format!("{name}@{}", now.format("%Y-%m-%dT%H:%M:%S%.6fZ"));
        let as_of = self.as_of_date().await?;
        let n = members.len().max(1);
        let member_col: Vec<Option<String>> = if members.is_empty() {
            vec![None]
        } else {
            members.iter().cloned().map(Some).collect()
        };
        let schema = snapshot_schema();
        let columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(vec![snapshot_id.clone(); n])),
            Arc::new(StringArray::from(vec![name.to_string(); n])),
            Arc::new(
                TimestampMicrosecondArray::from(vec![now.timestamp_micros(); n])
                    .with_timezone("UTC"),
            ),
            Arc::new(Date32Array::from(vec![as_of; n])),
            Arc::new(StringArray::from(vec![table_versions.clone(); n])),
            Arc::new(StringArray::from(vec![segment.sql.clone(); n])),
            Arc::new(StringArray::from(member_col)),
        ];
        let batch = RecordBatch::try_new(schema.clone(), columns)
            .map_err(|e| EngineError::Internal(e.to_string()))?;
        let commit = Commit::default()
            .with("operation", "segment_snapshot")
            .with("segment", name)
            .with("members", members.len() as u64);
        let lake_version = self
            .lake()
            .write(
                SNAPSHOT_TABLE,
                schema,
                vec![batch],
                WriteMode::Append,
                commit,
            )
            .await?;
        Ok(SegmentSnapshot {
            snapshot_id,
            segment: name.to_string(),
            members: members.len(),
            table_versions,
            lake_version,
        })
    }

    /// The session's as-of date (view `as_of`), as days since the epoch; `None` without the view.
    async fn as_of_date(&self) -> Result<Option<i32>> {
        if !self.context().table_exist("as_of")? {
            return Ok(None);
        }
        let (_, batches) = self
            .sql("SELECT CAST(as_of_date AS DATE) FROM as_of LIMIT 1")
            .await?;
        Ok(batches.iter().find(|b| b.num_rows() > 0).and_then(|b| {
            b.column(0)
                .as_any()
                .downcast_ref::<Date32Array>()
                .filter(|a| a.is_valid(0))
                .map(|a| a.value(0))
        }))
    }
}

/// The non-null values of the first column (a customer id of any type), as strings.
fn first_column_ids(batches: &[arrow::array::RecordBatch]) -> Result<Vec<String>> {
    let mut ids = Vec::new();
    for batch in batches {
        let col = cast(batch.column(0), &DataType::Utf8)
            .map_err(|e| EngineError::Internal(e.to_string()))?;
        let col = col
            .as_any()
            .downcast_ref::<StringArray>()
            .ok_or_else(|| EngineError::Internal("customer_id is not a string".into()))?;
        ids.extend(
            (0..col.len())
                .filter(|&i| col.is_valid(i))
                .map(|i| col.value(i).to_string()),
        );
    }
    Ok(ids)
}
