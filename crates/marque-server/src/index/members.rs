//! Segment membership from the lake table `segment_members` (written by `marque segments
//! refresh`), never from running the definitions: at a million customers the definitions take
//! minutes and more memory than the service's SQL pool, so the index reads the materialised
//! result in seconds and says how fresh it is.
//!
//! States, shown in `/readyz`, `/v1/segments`, member pages and every profile
//! (`segments_state`, `segments_as_of`):
//! - `current`: the table was computed from the resolution tables the index serves;
//! - `stale`: it was computed from other versions of them (a resolution or CLV run committed
//!   since) — the members are still served, flagged, until the next refresh; ids merged away
//!   since are dropped (`unmatched_members`);
//! - `missing`: the lake has no `segment_members` table — profiles carry no segments and the
//!   member pages answer `503 segments_not_materialised`;
//! - `unreadable`: the table exists but could not be read (the error is in `/readyz`).

use std::collections::{BTreeMap, HashMap};

use arrow::array::Array;
use arrow::compute::cast;
use arrow::datatypes::DataType;
use marque_engine::segments::{MEMBERS_TABLE, RESOLUTION_INPUTS};
use marque_engine::{Engine, EngineError};
use serde_json::{Value, json};

use super::build::{for_each_batch, has_column, select_present};
use super::cells::{micros_at, str_at};
use super::strtab::StrTable;

/// How fresh the index's segment membership is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SegmentsState {
    #[default]
    Missing,
    Current,
    Stale,
    Unreadable,
}

impl SegmentsState {
    /// The name the API uses.
    pub fn as_str(self) -> &'static str {
        match self {
            SegmentsState::Missing => "missing",
            SegmentsState::Current => "current",
            SegmentsState::Stale => "stale",
            SegmentsState::Unreadable => "unreadable",
        }
    }
}

/// Where the index's segment membership came from.
#[derive(Debug, Clone, Default)]
pub struct SegmentsAsOf {
    pub state: SegmentsState,
    /// When `marque segments refresh` computed it.
    pub computed_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The as-of date the segments were computed for.
    pub as_of_date: Option<String>,
    /// The lake table versions it was computed from.
    pub table_versions: BTreeMap<String, i64>,
    /// Resolution tables whose served version differs from the one it was computed from.
    pub stale_tables: Vec<String>,
    /// Member ids that are not customers of the index (merged away since).
    pub unmatched_members: usize,
    /// Why the table could not be read.
    pub error: Option<String>,
}

impl SegmentsAsOf {
    /// `computed_at` as RFC 3339, or `null`.
    pub fn computed_at_json(&self) -> Value {
        self.computed_at
            .map(|t| Value::from(t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)))
            .unwrap_or(Value::Null)
    }

    /// The detail `/readyz` shows.
    pub fn to_json(&self, served: &BTreeMap<String, i64>) -> Value {
        json!({
            "state": self.state.as_str(),
            "computed_at": self.computed_at_json(),
            "as_of_date": self.as_of_date,
            "computed_from": RESOLUTION_INPUTS
                .iter()
                .filter_map(|t| self.table_versions.get(*t).map(|v| (t.to_string(), *v)))
                .collect::<BTreeMap<_, _>>(),
            "served": RESOLUTION_INPUTS
                .iter()
                .filter_map(|t| served.get(*t).map(|v| (t.to_string(), *v)))
                .collect::<BTreeMap<_, _>>(),
            "stale_tables": self.stale_tables,
            "unmatched_members": self.unmatched_members,
            "error": self.error,
        })
    }

    /// A warning for `/readyz` when the membership is not current.
    pub fn warning(&self) -> Option<String> {
        match self.state {
            SegmentsState::Current => None,
            SegmentsState::Missing => Some(format!(
                "the lake has no {MEMBERS_TABLE} table: profiles carry no segments; run `marque segments refresh`"
            )),
            SegmentsState::Stale => Some(format!(
                "{MEMBERS_TABLE} was computed from other versions of {}: segments are stale; run `marque segments refresh`",
                self.stale_tables.join(", ")
            )),
            SegmentsState::Unreadable => Some(format!(
                "{MEMBERS_TABLE} cannot be read: {}",
                self.error.as_deref().unwrap_or("unknown error")
            )),
        }
    }
}

/// Segment names (sorted) and each one's member customer indexes, sorted by customer id.
pub(super) struct Members {
    pub names: Vec<String>,
    pub members: Vec<Vec<u32>>,
    pub as_of: SegmentsAsOf,
}

/// Reads `segment_members` for the customers of `ids`; `served` are the versions of the
/// resolution tables the index is built from.
pub(super) async fn read(
    engine: &Engine,
    ids: &StrTable,
    served: &BTreeMap<String, i64>,
    timeout: Option<std::time::Duration>,
) -> Members {
    let mut out = Members {
        names: Vec::new(),
        members: Vec::new(),
        as_of: SegmentsAsOf::default(),
    };
    match read_table(engine, ids, timeout, &mut out).await {
        Ok(true) => {
            let a = &mut out.as_of;
            a.stale_tables = RESOLUTION_INPUTS
                .iter()
                .filter(|t| a.table_versions.get(**t) != served.get(**t))
                .map(|t| t.to_string())
                .collect();
            a.state = if a.stale_tables.is_empty() {
                SegmentsState::Current
            } else {
                SegmentsState::Stale
            };
        }
        Ok(false) => out.as_of.state = SegmentsState::Missing,
        Err(e) => {
            out.names.clear();
            out.members.clear();
            out.as_of.state = SegmentsState::Unreadable;
            out.as_of.error = Some(e.to_string());
        }
    }
    for m in &mut out.members {
        m.sort_unstable_by(|a, b| ids.get(*a).cmp(ids.get(*b)));
        m.dedup();
        m.shrink_to_fit();
    }
    out
}

/// Fills `out` from the table; `false` when the lake has none.
async fn read_table(
    engine: &Engine,
    ids: &StrTable,
    timeout: Option<std::time::Duration>,
    out: &mut Members,
) -> Result<bool, EngineError> {
    let Some(df) = engine.table(MEMBERS_TABLE).await? else {
        return Ok(false);
    };
    for c in ["segment", "customer_id"] {
        if !has_column(&df, c) {
            return Err(EngineError::InvalidQuery(format!(
                "{MEMBERS_TABLE} has no {c} column"
            )));
        }
    }
    let df = select_present(
        df,
        &[
            "segment",
            "customer_id",
            "computed_at",
            "as_of_date",
            "table_versions",
        ],
    )?;
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut first = true;
    let Members {
        names,
        members,
        as_of,
    } = out;
    for_each_batch(df, timeout, |batch| {
        let (Some(seg), Some(cid)) = (
            batch.column_by_name("segment"),
            batch.column_by_name("customer_id"),
        ) else {
            return Ok(());
        };
        if first && batch.num_rows() > 0 {
            first = false;
            as_of.computed_at = batch
                .column_by_name("computed_at")
                .and_then(|c| micros_at(c, 0))
                .and_then(chrono::DateTime::from_timestamp_micros);
            as_of.as_of_date = batch.column_by_name("as_of_date").and_then(|c| {
                let c = cast(c, &DataType::Utf8).ok()?;
                str_at(&c, 0).map(str::to_string)
            });
            as_of.table_versions = batch
                .column_by_name("table_versions")
                .and_then(|c| str_at(c, 0))
                .and_then(|s| serde_json::from_str(s).ok())
                .unwrap_or_default();
        }
        for row in 0..batch.num_rows() {
            let Some(name) = str_at(seg, row) else {
                continue;
            };
            let s = match index.get(name) {
                Some(&s) => s,
                None => {
                    if names.len() >= usize::from(u16::MAX) {
                        return Err(EngineError::Internal(format!(
                            "{MEMBERS_TABLE} holds more than 65535 segments"
                        )));
                    }
                    index.insert(name.to_string(), names.len());
                    names.push(name.to_string());
                    members.push(Vec::new());
                    names.len() - 1
                }
            };
            // A NULL member marks a segment computed with no members.
            if !cid.is_valid(row) {
                continue;
            }
            match str_at(cid, row).and_then(|c| ids.find(c)) {
                Some(i) => members[s].push(i),
                None => as_of.unmatched_members += 1,
            }
        }
        Ok(())
    })
    .await?;
    // Sorted by name, as definitions are listed.
    let mut order: Vec<usize> = (0..names.len()).collect();
    order.sort_by(|a, b| names[*a].cmp(&names[*b]));
    let mut taken: Vec<Option<Vec<u32>>> = std::mem::take(members).into_iter().map(Some).collect();
    *members = order.iter().filter_map(|&i| taken[i].take()).collect();
    let mut sorted_names: Vec<String> = order.iter().map(|&i| names[i].clone()).collect();
    std::mem::swap(names, &mut sorted_names);
    Ok(true)
}
