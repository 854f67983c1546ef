//! Building a [`ProfileIndex`] from the lake's resolution tables, batch by batch.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use arrow::array::RecordBatch;
use datafusion::prelude::DataFrame;
use futures::StreamExt;
use marque_engine::{Engine, EngineError};

use super::cells::{self, i64_at, micros_at, str_at};
use super::{KeyKind, MentionRec, NO_TIME, ProfileIndex, Span};

/// Tables whose new versions make the index stale.
pub const RESOLUTION_TABLES: &[&str] = &[
    "customers",
    "customer_map",
    "mentions",
    "customer_id_history",
    "match_edges",
    "customer_clv",
    "lifecycle",
];

/// Extra per-customer tables or views shown in profiles when present: (profile key, name).
const EXTRAS: &[(&str, &str)] = &[("lifecycle", "lifecycle"), ("clv", "customer_clv")];

/// What goes into an index beside the resolution tables.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// Segments as (name, SQL); members are precomputed for profiles and paging.
    pub segments: Vec<(String, String)>,
    /// Longest any one query of the build may run.
    pub query_timeout: Option<Duration>,
}

/// Builds the index from the engine's current session; `versions` are recorded in it.
pub async fn build(
    engine: &Engine,
    opts: &BuildOptions,
    versions: BTreeMap<String, i64>,
) -> Result<ProfileIndex, EngineError> {
    let mut ix = ProfileIndex::empty();
    ix.versions = versions;
    let Some(customers) = engine.table("customers").await? else {
        ix.warnings
            .push("the lake has no customers table: run `marque resolve`".into());
        return Ok(ix);
    };
    let timeout = opts.query_timeout;

    // Golden records, and the keys they carry.
    let mut keys: [HashMap<Box<str>, Vec<u32>>; 5] = Default::default();
    let mut golden = Vec::new();
    for_each_batch(customers, timeout, |batch| {
        let b = golden.len() as u32;
        let id_col = batch
            .column_by_name("customer_id")
            .ok_or_else(|| EngineError::Internal("customers has no customer_id column".into()))?;
        for row in 0..batch.num_rows() {
            let Some(id) = str_at(id_col, row) else {
                continue;
            };
            if ix.by_id.contains_key(id) {
                continue;
            }
            let idx = ix.ids.len() as u32;
            let id: Arc<str> = Arc::from(id);
            ix.by_id.insert(id.clone(), idx);
            ix.ids.push(id);
            ix.golden_pos.push((b, row as u32));
            for kind in [
                KeyKind::Phone,
                KeyKind::AppUserId,
                KeyKind::Unionid,
                KeyKind::Email,
            ] {
                add_key(&mut keys, batch, kind, row, idx);
            }
        }
        golden.push(batch.clone());
        Ok(())
    })
    .await?;
    ix.golden = golden;

    // Mentions (or the bare customer map): record ids, vehicles, times, and more keys.
    let mut mentions: Vec<(u32, MentionRec)> = Vec::new();
    let mut kinds: HashMap<(String, String), u16> = HashMap::new();
    let source = match engine.table("mentions").await? {
        Some(df) => Some(df),
        None => engine.table("customer_map").await?,
    };
    if let Some(df) = source {
        let wanted = [
            "customer_id",
            "source",
            "role",
            "record_id",
            "record_count",
            "phone",
            "app_user_id",
            "unionid",
            "email",
            "vin",
            "first_seen",
            "last_seen",
        ];
        let df = select_present(df, &wanted)?;
        let arena = &mut ix.arena;
        let ids = &ix.by_id;
        let kind_list = &mut ix.kinds;
        for_each_batch(df, timeout, |batch| {
            let col = |n: &str| batch.column_by_name(n);
            let (Some(cid), Some(src), Some(role), Some(rec)) = (
                col("customer_id"),
                col("source"),
                col("role"),
                col("record_id"),
            ) else {
                return Err(EngineError::Internal(
                    "mentions lacks customer_id, source, role or record_id".into(),
                ));
            };
            for row in 0..batch.num_rows() {
                let Some(&idx) = str_at(cid, row).and_then(|c| ids.get(c)) else {
                    continue;
                };
                let key = (
                    str_at(src, row).unwrap_or("").to_string(),
                    str_at(role, row).unwrap_or("").to_string(),
                );
                let kind = match kinds.get(&key) {
                    Some(&k) => k,
                    None => {
                        let k = kind_list.len() as u16;
                        kind_list.push(key.clone());
                        kinds.insert(key, k);
                        k
                    }
                };
                let record = push(arena, str_at(rec, row).unwrap_or(""));
                let vin = push(arena, col("vin").and_then(|c| str_at(c, row)).unwrap_or(""));
                let first_seen = col("first_seen")
                    .and_then(|c| micros_at(c, row))
                    .unwrap_or(NO_TIME);
                let last_seen = col("last_seen")
                    .and_then(|c| micros_at(c, row))
                    .unwrap_or(NO_TIME);
                let record_count = col("record_count")
                    .and_then(|c| i64_at(c, row))
                    .unwrap_or(1)
                    .clamp(0, i64::from(u32::MAX)) as u32;
                mentions.push((
                    idx,
                    MentionRec {
                        kind,
                        record,
                        vin,
                        first_seen,
                        last_seen,
                        record_count,
                    },
                ));
                for kind in KeyKind::ALL {
                    add_key(&mut keys, batch, kind, row, idx);
                }
            }
            Ok(())
        })
        .await?;
    }
    // Newest first within each customer.
    mentions.sort_unstable_by(|(a, ma), (b, mb)| {
        a.cmp(b)
            .then(mb.last_seen.cmp(&ma.last_seen))
            .then(mb.first_seen.cmp(&ma.first_seen))
    });
    let mut offsets = Vec::with_capacity(ix.ids.len() + 1);
    let mut next = 0usize;
    for c in 0..ix.ids.len() as u32 {
        offsets.push(next as u32);
        while next < mentions.len() && mentions[next].0 == c {
            next += 1;
        }
    }
    offsets.push(next as u32);
    ix.offsets = offsets;
    ix.mentions = mentions.into_iter().map(|(_, m)| m).collect();
    for map in &mut keys {
        for v in map.values_mut() {
            v.sort_unstable();
            v.dedup();
            v.shrink_to_fit();
        }
    }
    ix.keys = keys;

    // Merged-away ids: the latest change of each old id wins.
    if let Some(df) = engine.table("customer_id_history").await? {
        let df = select_present(df, &["old_id", "new_id", "changed_at"])?;
        let mut latest: HashMap<Box<str>, (i64, Box<str>)> = HashMap::new();
        for_each_batch(df, timeout, |batch| {
            let (Some(old), Some(new)) = (
                batch.column_by_name("old_id"),
                batch.column_by_name("new_id"),
            ) else {
                return Err(EngineError::Internal(
                    "customer_id_history lacks old_id or new_id".into(),
                ));
            };
            for row in 0..batch.num_rows() {
                let (Some(o), Some(n)) = (str_at(old, row), str_at(new, row)) else {
                    continue;
                };
                let at = batch
                    .column_by_name("changed_at")
                    .and_then(|c| micros_at(c, row))
                    .unwrap_or(NO_TIME);
                let entry = latest.entry(o.into()).or_insert((NO_TIME, n.into()));
                if at >= entry.0 {
                    *entry = (at, n.into());
                }
            }
            Ok(())
        })
        .await?;
        ix.redirects = latest.into_iter().map(|(o, (_, n))| (o, n)).collect();
    }

    // Lifecycle stage, CLV: whatever columns the analytics views give, one row per customer.
    for (key, name) in EXTRAS {
        let Some(df) = engine.table(name).await? else {
            continue;
        };
        if !has_column(&df, "customer_id") {
            ix.warnings
                .push(format!("{name} has no customer_id column; not in profiles"));
            continue;
        }
        let mut rows: HashMap<u32, Box<str>> = HashMap::new();
        let ids = &ix.by_id;
        let result = for_each_batch(df, timeout, |batch| {
            let cid = batch.column_by_name("customer_id").cloned();
            let Some(cid) = cid else { return Ok(()) };
            for row in 0..batch.num_rows() {
                let Some(&idx) = str_at(&cid, row).and_then(|c| ids.get(c)) else {
                    continue;
                };
                if rows.contains_key(&idx) {
                    continue;
                }
                let obj = cells::row_object(batch, row, |n| n == "customer_id");
                rows.insert(idx, serde_json::Value::Object(obj).to_string().into());
            }
            Ok(())
        })
        .await;
        match result {
            Ok(()) => ix.extras.push((key.to_string(), rows)),
            Err(e) => ix.warnings.push(format!("{name}: {e}")),
        }
    }

    // Segment membership.
    for (name, sql) in &opts.segments {
        let members = match segment_members(engine, sql, timeout, &ix.by_id).await {
            Ok(mut m) => {
                m.sort_unstable_by(|a, b| ix.ids[*a as usize].cmp(&ix.ids[*b as usize]));
                m.dedup();
                let s = ix.segment_names.len() as u16;
                for &c in &m {
                    ix.customer_segments.entry(c).or_default().push(s);
                }
                Some(m)
            }
            Err(e) => {
                ix.warnings.push(format!("segment {name}: {e}"));
                None
            }
        };
        ix.segment_names.push(name.clone());
        ix.segment_members.push(members);
    }
    ix.has_match_edges = engine.tables().iter().any(|t| t == "match_edges");
    ix.built_at = chrono::Utc::now();
    Ok(ix)
}

async fn segment_members(
    engine: &Engine,
    sql: &str,
    timeout: Option<Duration>,
    ids: &HashMap<Arc<str>, u32>,
) -> Result<Vec<u32>, EngineError> {
    let df = engine.query(sql).await?;
    if !has_column(&df, "customer_id") {
        return Err(EngineError::InvalidQuery(
            "the segment's query has no customer_id column".into(),
        ));
    }
    let df = df.select_columns(&["customer_id"])?;
    let mut out = Vec::new();
    for_each_batch(df, timeout, |batch| {
        let col = batch.column(0);
        for row in 0..batch.num_rows() {
            if let Some(&i) = str_at(col, row).and_then(|c| ids.get(c)) {
                out.push(i);
            }
        }
        Ok(())
    })
    .await?;
    Ok(out)
}

fn has_column(df: &DataFrame, name: &str) -> bool {
    df.schema().fields().iter().any(|f| f.name() == name)
}

fn select_present(df: DataFrame, wanted: &[&str]) -> Result<DataFrame, EngineError> {
    let present: Vec<&str> = wanted
        .iter()
        .copied()
        .filter(|w| has_column(&df, w))
        .collect();
    Ok(df.select_columns(&present)?)
}

fn push(arena: &mut String, s: &str) -> Span {
    if s.is_empty() || arena.len() + s.len() > u32::MAX as usize {
        return Span::default();
    }
    let start = arena.len() as u32;
    arena.push_str(s);
    Span {
        start,
        len: s.len() as u32,
    }
}

fn add_key(
    keys: &mut [HashMap<Box<str>, Vec<u32>>; 5],
    batch: &RecordBatch,
    kind: KeyKind,
    row: usize,
    idx: u32,
) {
    let Some(raw) = batch
        .column_by_name(kind.as_str())
        .and_then(|c| str_at(c, row))
    else {
        return;
    };
    // Stored values are normalised already; VINs and e-mails are normalised again so that a
    // lookup and the lake agree whatever wrote the lake.
    let value = match kind {
        KeyKind::Vin | KeyKind::Email => match kind.normalise(raw) {
            Ok(v) => v,
            Err(_) => return,
        },
        _ => raw.to_string(),
    };
    let map = &mut keys[kind.slot()];
    match map.get_mut(value.as_str()) {
        Some(v) => {
            if v.last() != Some(&idx) {
                v.push(idx);
            }
        }
        None => {
            map.insert(value.into_boxed_str(), vec![idx]);
        }
    }
}

/// Runs `df` batch by batch (never collecting it), normalising each batch, under `timeout`.
async fn for_each_batch(
    df: DataFrame,
    timeout: Option<Duration>,
    mut f: impl FnMut(&RecordBatch) -> Result<(), EngineError>,
) -> Result<(), EngineError> {
    let run = async {
        let mut stream = df.execute_stream().await?;
        while let Some(batch) = stream.next().await {
            let batch =
                cells::normalise(&batch?).map_err(|e| EngineError::Internal(e.to_string()))?;
            f(&batch)?;
        }
        Ok::<(), EngineError>(())
    };
    match timeout {
        Some(t) => tokio::time::timeout(t, run)
            .await
            .map_err(|_| EngineError::Timeout(t))?,
        None => run.await,
    }
}
