//! Building a [`ProfileIndex`] from the lake's resolution tables, batch by batch.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use arrow::array::{ArrayRef, RecordBatch};
use datafusion::prelude::DataFrame;
use futures::StreamExt;
use marque_engine::{Engine, EngineError};

use super::cells::{self, i64_at, micros_at, str_at};
use super::rows::RowSection;
use super::strtab::{ArenaFull, StrTable};
use super::{KeyKind, MentionKind, MentionRec, NO_TIME, NONE, ProfileIndex, Span};

/// Tables whose new versions make the index stale.
pub const RESOLUTION_TABLES: &[&str] = &[
    "customers",
    "customer_map",
    "mentions",
    "customer_id_history",
    "match_edges",
    "customer_clv",
    "lifecycle",
    "segment_members",
    "customer_lifecycle",
];

/// Extra per-customer tables or views shown in profiles when present: (profile key, names in
/// order of preference, columns kept — `None`: all). The lifecycle comes from the table
/// `customer_lifecycle` that `marque segments refresh` materialises, else from the view (which
/// at a million customers takes a minute and gigabytes of the SQL pool). Its long explanation
/// and fact columns stay in SQL (`SELECT * FROM lifecycle WHERE customer_id = …`): a profile
/// carries the stage and the dates that decided it.
const EXTRAS: &[ExtraSource] = &[
    (
        "lifecycle",
        &["customer_lifecycle", "lifecycle"],
        Some(marque_engine::segments::LIFECYCLE_COLUMNS),
    ),
    ("clv", &["customer_clv"], None),
];

/// (profile key, table or view names in order of preference, columns kept).
type ExtraSource = (
    &'static str,
    &'static [&'static str],
    Option<&'static [&'static str]>,
);

/// How an index is built. Segment membership is read from the lake table `segment_members`
/// (`marque segments refresh`); the segment definitions never run here.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// Longest any one query of the build may run.
    pub query_timeout: Option<Duration>,
}

/// Builds the index from the engine's current session; `versions` are recorded in it.
pub async fn build(
    engine: &Engine,
    opts: &BuildOptions,
    versions: BTreeMap<String, i64>,
) -> Result<ProfileIndex, EngineError> {
    let started = Instant::now();
    let mut ix = ProfileIndex::empty();
    ix.versions = versions;
    let Some(customers) = engine.table("customers").await? else {
        ix.warnings
            .push("the lake has no customers table: run `marque resolve`".into());
        return Ok(ix);
    };
    let timeout = opts.query_timeout;
    let mut phase = Instant::now();
    let mut lap = |ix: &mut ProfileIndex, name: &str| {
        ix.build_phases
            .push((name.to_string(), phase.elapsed().as_secs_f64()));
        phase = Instant::now();
    };

    // Golden records (stored row-wise as JSON values), and the keys they carry.
    let mut keys = KeyBuilder::default();
    let mut golden: Option<RowSection> = None;
    for_each_batch(customers, timeout, |batch| {
        let golden = golden
            .get_or_insert_with(|| RowSection::new(batch, 0, |_| true, super::render::admin_only));
        let columns = golden.columns_of(batch);
        let id_col = batch
            .column_by_name("customer_id")
            .ok_or_else(|| EngineError::Internal("customers has no customer_id column".into()))?;
        let key_cols = key_columns(
            batch,
            &[
                KeyKind::Phone,
                KeyKind::AppUserId,
                KeyKind::Unionid,
                KeyKind::Email,
            ],
        );
        for row in 0..batch.num_rows() {
            let Some(id) = str_at(id_col, row) else {
                continue;
            };
            let (idx, new) = ix.ids.intern(id).map_err(too_big)?;
            if !new {
                continue;
            }
            golden.push(idx, batch, row, &columns);
            for (kind, col) in &key_cols {
                keys.add(*kind, str_at(col, row), idx)?;
            }
        }
        Ok(())
    })
    .await?;
    ix.golden = golden.unwrap_or_default();
    ix.golden.shrink_to_fit();
    lap(&mut ix, "customers");

    // Mentions (or the bare customer map): record ids, vehicles, times, and more keys.
    let mut mentions: Vec<MentionRec> = Vec::new();
    let source = match engine.table("mentions").await? {
        Some(df) => Some(df),
        None => engine.table("customer_map").await?,
    };
    if let Some(df) = source {
        // Counting reads Parquet statistics only; reserving exactly keeps the largest vector
        // of the index from doubling past its size.
        if let Ok(n) = df.clone().count().await {
            mentions.reserve_exact(n);
        }
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
        let ProfileIndex {
            ids,
            kinds,
            records,
            vins,
            ..
        } = &mut ix;
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
            let (vin_col, first_col, last_col, count_col) = (
                col("vin"),
                col("first_seen"),
                col("last_seen"),
                col("record_count"),
            );
            let key_cols = key_columns(batch, &KeyKind::ALL);
            for row in 0..batch.num_rows() {
                let Some(idx) = str_at(cid, row).and_then(|c| ids.find(c)) else {
                    continue;
                };
                let (s, r) = (
                    str_at(src, row).unwrap_or(""),
                    str_at(role, row).unwrap_or(""),
                );
                let kind = match kinds.iter().position(|k| k.source == s && k.role == r) {
                    Some(k) => k as u16,
                    None => {
                        if kinds.len() >= usize::from(u16::MAX) {
                            return Err(EngineError::Internal(
                                "mentions has more than 65535 (source, role) pairs".into(),
                            ));
                        }
                        kinds.push(MentionKind {
                            source: s.to_string(),
                            role: r.to_string(),
                            source_id: 0,
                            vehicle: (s == "sales" && r == "buyer")
                                || (s == "after_sales" && r == "owner"),
                        });
                        (kinds.len() - 1) as u16
                    }
                };
                let record = push(records, str_at(rec, row).unwrap_or(""))?;
                let vin = match vin_col.and_then(|c| str_at(c, row)) {
                    Some(v) => vins.intern(v).map_err(too_big)?.0,
                    None => NONE,
                };
                let time =
                    |c: Option<&ArrayRef>| c.and_then(|c| micros_at(c, row)).unwrap_or(NO_TIME);
                let record_count = count_col
                    .and_then(|c| i64_at(c, row))
                    .unwrap_or(1)
                    .clamp(0, i64::from(u32::MAX)) as u32;
                mentions.push(MentionRec {
                    first_seen: time(first_col),
                    last_seen: time(last_col),
                    record,
                    customer: idx,
                    vin,
                    record_count,
                    kind,
                });
                for (kind, col) in &key_cols {
                    keys.add(*kind, str_at(col, row), idx)?;
                }
            }
            Ok(())
        })
        .await?;
    }
    if mentions.len() > u32::MAX as usize {
        return Err(too_big(ArenaFull));
    }
    // Newest first within each customer.
    mentions.sort_unstable_by(|a, b| {
        a.customer
            .cmp(&b.customer)
            .then(b.last_seen.cmp(&a.last_seen))
            .then(b.first_seen.cmp(&a.first_seen))
    });
    mentions.shrink_to_fit();
    let mut offsets = Vec::with_capacity(ix.len() + 1);
    let mut next = 0usize;
    for c in 0..ix.len() as u32 {
        offsets.push(next as u32);
        while next < mentions.len() && mentions[next].customer == c {
            next += 1;
        }
    }
    offsets.push(next as u32);
    ix.offsets = offsets;
    ix.mentions = mentions;
    ix.records.shrink_to_fit();
    ix.vins.shrink_to_fit();
    let mut sources: Vec<String> = ix.kinds.iter().map(|k| k.source.clone()).collect();
    sources.sort_unstable();
    sources.dedup();
    for k in &mut ix.kinds {
        k.source_id = sources.binary_search(&k.source).unwrap_or(0) as u16;
    }
    ix.sources = sources;
    (ix.keys, ix.key_offsets, ix.postings) = keys.finish();
    lap(&mut ix, "mentions");

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
            let changed = batch.column_by_name("changed_at");
            for row in 0..batch.num_rows() {
                let (Some(o), Some(n)) = (str_at(old, row), str_at(new, row)) else {
                    continue;
                };
                let at = changed.and_then(|c| micros_at(c, row)).unwrap_or(NO_TIME);
                let entry = latest.entry(o.into()).or_insert((NO_TIME, n.into()));
                if at >= entry.0 {
                    *entry = (at, n.into());
                }
            }
            Ok(())
        })
        .await?;
        ix.redirects = latest.into_iter().map(|(o, (_, n))| (o, n)).collect();
        lap(&mut ix, "customer_id_history");
    }

    // Lifecycle stage, CLV: one row per customer, stored row-wise like the golden records.
    for (key, names, columns) in EXTRAS {
        let mut found = None;
        for name in names.iter() {
            if let Some(df) = engine.table(name).await? {
                found = Some((*name, df));
                break;
            }
        }
        let Some((name, df)) = found else {
            continue;
        };
        if !has_column(&df, "customer_id") {
            ix.warnings
                .push(format!("{name} has no customer_id column; not in profiles"));
            continue;
        }
        let df = match columns {
            Some(wanted) => select_present(df, wanted)?,
            None => df,
        };
        let customers = ix.len();
        let mut section: Option<RowSection> = None;
        let ids = &ix.ids;
        let result = for_each_batch(df, timeout, |batch| {
            let Some(cid) = batch.column_by_name("customer_id") else {
                return Ok(());
            };
            let section = section.get_or_insert_with(|| {
                RowSection::new(batch, customers, |n| n != "customer_id", |_| false)
            });
            let columns = section.columns_of(batch);
            for row in 0..batch.num_rows() {
                if let Some(idx) = str_at(cid, row).and_then(|c| ids.find(c)) {
                    section.push(idx, batch, row, &columns);
                }
            }
            Ok(())
        })
        .await;
        match result {
            Ok(()) => {
                let mut section = section.unwrap_or_default();
                section.shrink_to_fit();
                ix.extras.push((key, section));
            }
            Err(e) => ix.warnings.push(format!("{name}: {e}")),
        }
        lap(&mut ix, name);
    }

    // Segment membership, as materialised by `marque segments refresh` (never computed here).
    let read = super::members::read(engine, &ix.ids, &ix.versions, timeout).await;
    let mut memberships: Vec<(u32, u16)> = Vec::new();
    for (s, m) in read.members.iter().enumerate() {
        memberships.extend(m.iter().map(|&c| (c, s as u16)));
    }
    ix.segment_names = read.names;
    ix.segment_members = read.members.into_iter().map(Some).collect();
    if let Some(w) = read.as_of.warning() {
        ix.warnings.push(w);
    }
    ix.set_segments_as_of(read.as_of);
    lap(&mut ix, "segment_members");
    memberships.sort_unstable();
    let (offsets, segment_ids) = csr(ix.len(), &memberships);
    ix.segment_offsets = offsets;
    ix.segment_ids = segment_ids;
    ix.has_match_edges = engine.tables().iter().any(|t| t == "match_edges");
    ix.built_at = chrono::Utc::now();
    ix.build_secs = started.elapsed().as_secs_f64();
    Ok(ix)
}

/// `(offsets, values)` of sorted `(row, value)` pairs: row `r`'s values are
/// `values[offsets[r]..offsets[r+1]]`.
fn csr<T: Copy>(rows: usize, pairs: &[(u32, T)]) -> (Vec<u32>, Vec<T>) {
    let mut offsets = Vec::with_capacity(rows + 1);
    let mut next = 0usize;
    for r in 0..rows as u32 {
        offsets.push(next as u32);
        while next < pairs.len() && pairs[next].0 == r {
            next += 1;
        }
    }
    offsets.push(next as u32);
    (offsets, pairs[..next].iter().map(|p| p.1).collect())
}

/// Lookup keys as they are gathered: interned values and (key, customer) pairs.
#[derive(Default)]
struct KeyBuilder {
    table: StrTable,
    pairs: Vec<(u32, u32)>,
    buf: String,
}

impl KeyBuilder {
    /// Records that customer `idx` holds `raw` as a `kind` key.
    fn add(&mut self, kind: KeyKind, raw: Option<&str>, idx: u32) -> Result<(), EngineError> {
        let Some(raw) = raw else {
            return Ok(());
        };
        self.buf.clear();
        self.buf.push(kind.tag());
        // Stored values are normalised already; VINs and e-mails are normalised again so that
        // a lookup and the lake agree whatever wrote the lake.
        match kind {
            KeyKind::Vin | KeyKind::Email => match kind.normalise(raw) {
                Ok(v) => self.buf.push_str(&v),
                Err(_) => return Ok(()),
            },
            _ => self.buf.push_str(raw),
        }
        let (k, _) = self.table.intern(&self.buf).map_err(too_big)?;
        if self.pairs.last() != Some(&(k, idx)) {
            self.pairs.push((k, idx));
        }
        Ok(())
    }

    /// The key table and its postings (customers ascending per key).
    fn finish(mut self) -> (StrTable, Vec<u32>, Vec<u32>) {
        self.pairs.sort_unstable();
        self.pairs.dedup();
        self.table.shrink_to_fit();
        let (offsets, postings) = csr(self.table.len(), &self.pairs);
        (self.table, offsets, postings)
    }
}

/// The columns of `batch` holding keys of `kinds`.
fn key_columns<'a>(batch: &'a RecordBatch, kinds: &[KeyKind]) -> Vec<(KeyKind, &'a ArrayRef)> {
    kinds
        .iter()
        .filter_map(|k| batch.column_by_name(k.as_str()).map(|c| (*k, c)))
        .collect()
}

fn too_big(_: ArenaFull) -> EngineError {
    EngineError::Internal(
        "the profile index would pass 4 GiB of strings or 4 billion entries; it cannot be built"
            .into(),
    )
}

pub(super) fn has_column(df: &DataFrame, name: &str) -> bool {
    df.schema().fields().iter().any(|f| f.name() == name)
}

pub(super) fn select_present(df: DataFrame, wanted: &[&str]) -> Result<DataFrame, EngineError> {
    let present: Vec<&str> = wanted
        .iter()
        .copied()
        .filter(|w| has_column(&df, w))
        .collect();
    Ok(df.select_columns(&present)?)
}

fn push(arena: &mut String, s: &str) -> Result<Span, EngineError> {
    if s.is_empty() {
        return Ok(Span::default());
    }
    if arena.len() + s.len() > u32::MAX as usize {
        return Err(too_big(ArenaFull));
    }
    let start = arena.len() as u32;
    arena.push_str(s);
    Ok(Span {
        start,
        len: s.len() as u32,
    })
}

/// Runs `df` batch by batch (never collecting it), normalising each batch, under `timeout`.
pub(super) async fn for_each_batch(
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
