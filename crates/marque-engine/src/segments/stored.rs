//! What `segment_members` holds, read cheaply: each segment's member count and the freshness of
//! the whole table (`current` / `stale` against the resolution tables the session reads, or
//! `missing`), the same states the HTTP service shows. `marque segments list` prints it instead
//! of running the definitions, which take minutes at a million customers.

use std::collections::BTreeMap;

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Int64Type, TimeUnit};

use super::members::{MEMBERS_TABLE, RESOLUTION_INPUTS};
use crate::{Engine, EngineError, Result};

/// How fresh the materialised membership is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoredState {
    /// Computed from the versions of the resolution tables the session reads.
    Current,
    /// Computed from other versions of them: a resolution or CLV run committed since.
    Stale,
    /// The lake has no `segment_members` table (no refresh has run).
    Missing,
}

impl StoredState {
    /// The name the CLI and the API use.
    pub fn as_str(self) -> &'static str {
        match self {
            StoredState::Current => "current",
            StoredState::Stale => "stale",
            StoredState::Missing => "missing",
        }
    }
}

/// A summary of `segment_members`.
#[derive(Debug, Clone)]
pub struct StoredSegments {
    pub state: StoredState,
    /// Distinct members of each segment in the table, by name.
    pub counts: BTreeMap<String, usize>,
    /// When the refresh ran.
    pub computed_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The as-of date it computed the segments for (`YYYY-MM-DD`).
    pub as_of_date: Option<String>,
    /// The table versions it read.
    pub table_versions: BTreeMap<String, i64>,
    /// Resolution tables whose version differs from the one the session reads.
    pub stale_tables: Vec<String>,
}

impl Engine {
    /// Reads the member counts and freshness of [`MEMBERS_TABLE`] (one aggregation over the
    /// table; no segment definition runs).
    pub async fn stored_segments(&self) -> Result<StoredSegments> {
        let mut out = StoredSegments {
            state: StoredState::Missing,
            counts: BTreeMap::new(),
            computed_at: None,
            as_of_date: None,
            table_versions: BTreeMap::new(),
            stale_tables: Vec::new(),
        };
        if self.table(MEMBERS_TABLE).await?.is_none() {
            return Ok(out);
        }
        let sql = format!(
            "SELECT segment, CAST(count(DISTINCT customer_id) AS BIGINT) AS members, \
             max(computed_at) AS computed_at, CAST(max(as_of_date) AS VARCHAR) AS as_of_date, \
             max(table_versions) AS table_versions FROM {MEMBERS_TABLE} GROUP BY segment"
        );
        let (_, batches) = self.sql(&sql).await?;
        let mut versions_text: Option<String> = None;
        for b in &batches {
            read_batch(b, &mut out, &mut versions_text)?;
        }
        if let Some(text) = versions_text {
            out.table_versions = serde_json::from_str(&text).map_err(|e| {
                EngineError::Internal(format!(
                    "{MEMBERS_TABLE}.table_versions is not a JSON map of versions: {e}"
                ))
            })?;
        }
        let served = self.table_versions();
        out.stale_tables = RESOLUTION_INPUTS
            .iter()
            .filter(|t| out.table_versions.get(**t) != served.get(**t))
            .map(|t| t.to_string())
            .collect();
        out.state = if out.stale_tables.is_empty() {
            StoredState::Current
        } else {
            StoredState::Stale
        };
        Ok(out)
    }
}

fn read_batch(
    b: &RecordBatch,
    out: &mut StoredSegments,
    versions_text: &mut Option<String>,
) -> Result<()> {
    let arrow = |e: datafusion::arrow::error::ArrowError| {
        EngineError::Internal(format!("reading {MEMBERS_TABLE}: {e}"))
    };
    let utf8 = |i: usize| cast(b.column(i), &DataType::Utf8).map_err(arrow);
    let names = utf8(0)?;
    let names = names.as_string::<i32>();
    let counts = cast(b.column(1), &DataType::Int64).map_err(arrow)?;
    let counts = counts.as_primitive::<Int64Type>();
    let at = cast(
        b.column(2),
        &DataType::Timestamp(TimeUnit::Microsecond, None),
    )
    .map_err(arrow)?;
    let at = at.as_primitive::<datafusion::arrow::datatypes::TimestampMicrosecondType>();
    let dates = utf8(3)?;
    let dates = dates.as_string::<i32>();
    let versions = utf8(4)?;
    let versions = versions.as_string::<i32>();
    for row in 0..b.num_rows() {
        if names.is_null(row) {
            continue;
        }
        let n = if counts.is_null(row) {
            0
        } else {
            usize::try_from(counts.value(row)).unwrap_or(0)
        };
        out.counts.insert(names.value(row).to_string(), n);
        if !at.is_null(row) {
            let t = chrono::DateTime::from_timestamp_micros(at.value(row));
            out.computed_at = out.computed_at.max(t);
        }
        if out.as_of_date.is_none() && !dates.is_null(row) {
            out.as_of_date = Some(dates.value(row).to_string());
        }
        if versions_text.is_none() && !versions.is_null(row) {
            *versions_text = Some(versions.value(row).to_string());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{ArrayRef, StringArray};

    use super::*;
    use crate::EngineOptions;
    use crate::segments::members::tests::{fixture, write_column};

    #[tokio::test]
    async fn stored_segments_are_missing_then_current_then_stale_after_a_resolution_commit() {
        let dir = tempfile::tempdir().unwrap();
        let (lake, views) = fixture(dir.path()).await;
        let engine = Engine::open(
            lake.clone(),
            EngineOptions::default().with_views_dir(&views),
        )
        .await
        .unwrap();
        let before = engine.stored_segments().await.unwrap();
        assert_eq!(before.state, StoredState::Missing);
        assert!(before.counts.is_empty());

        engine
            .refresh_segment_members(None, &dir.path().join("scratch"))
            .await
            .unwrap();
        let engine = Engine::open(lake.clone(), EngineOptions::default())
            .await
            .unwrap();
        let now = engine.stored_segments().await.unwrap();
        assert_eq!(now.state, StoredState::Current, "{now:?}");
        // `nobody` was computed with no members; `failing` was never computed.
        let counts: Vec<(&str, usize)> = now.counts.iter().map(|(n, c)| (n.as_str(), *c)).collect();
        assert_eq!(counts, vec![("nobody", 0), ("odd", 3)]);
        assert!(now.computed_at.is_some());
        assert_eq!(now.table_versions.get("people"), Some(&0));

        // A resolution table committed since the refresh: the members are stale.
        let ids: ArrayRef = Arc::new(StringArray::from(vec!["P1"]));
        write_column(&lake, "customers", "customer_id", ids).await;
        let engine = Engine::open(lake, EngineOptions::default()).await.unwrap();
        let later = engine.stored_segments().await.unwrap();
        assert_eq!(later.state, StoredState::Stale);
        assert_eq!(later.stale_tables, vec!["customers".to_string()]);
        assert_eq!(later.counts.get("odd"), Some(&3));
    }
}
