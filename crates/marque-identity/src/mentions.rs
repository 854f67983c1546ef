//! Person mentions read from the raw tables, with their evidence normalised for linking.

use crate::hashing::{HashSet, fingerprint, record_fingerprint};

#[cfg(test)]
pub use crate::mention::test_mention;
pub use crate::mention::{AppIds, Mention, RareEvidence, ResidentEvidence, resident};

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Int64Type, TimeUnit};
use compact_str::CompactString;
use datafusion::physical_plan::SendableRecordBatchStream;
use datafusion::physical_plan::stream::RecordBatchReceiverStream;
use datafusion::prelude::SessionContext;
use marque_core::{Role, Source, resident_id};
use rayon::prelude::*;

use crate::compact::{PackedVin, SeenSpan};
use crate::folded::FoldedRecords;
use crate::name_cache::{CityCache, NameCache, parse_phone};
use crate::previous::PreviousIds;
use crate::record_folds::{BatchFates, RecordFolds, RowKeys};
use crate::record_set::RecordSet;
use crate::text_column::TextColumn;
use crate::{IdentityError, Result};

fn queries(tables: &[String]) -> Vec<(Source, Role, String)> {
    let has = |t: &str| tables.iter().any(|x| x == t);
    // One projection for all: (record_id, name, phone, resident_id, app_user_id, unionid, vin,
    // city, seen_at); absent columns are typed NULLs.
    let select = |cols: [&str; 9], rest: &str| {
        let names = [
            "record_id",
            "name",
            "phone",
            "resident_id",
            "app_user_id",
            "unionid",
            "vin",
            "city",
            "seen_at",
        ];
        let list: Vec<String> = cols
            .iter()
            .zip(names)
            .map(|(c, n)| {
                if c.is_empty() {
                    format!("CAST(NULL AS VARCHAR) AS {n}")
                } else {
                    format!("{c} AS {n}")
                }
            })
            .collect();
        format!("SELECT {}, _batch_id {rest}", list.join(", "))
    };
    let mut q = Vec::new();
    if has("raw_sales") {
        let cols = [
            "record_id",
            "customer_name",
            "mobile",
            "resident_id",
            "",
            "",
            "vin",
            "city",
            "CAST(sale_date AS TIMESTAMP)",
        ];
        q.push((Source::Sales, Role::Buyer, select(cols, "FROM raw_sales")));
    }
    if has("raw_service_orders") {
        let owner = [
            "record_id",
            "owner_name",
            "owner_phone",
            "",
            "",
            "",
            "vin",
            "",
            "ro_time",
        ];
        q.push((
            Source::AfterSales,
            Role::Owner,
            select(owner, "FROM raw_service_orders"),
        ));
        let sender = [
            "record_id",
            "sender_name",
            "sender_phone",
            "",
            "",
            "",
            "",
            "",
            "ro_time",
        ];
        let only_with_sender =
            "FROM raw_service_orders WHERE sender_name IS NOT NULL OR sender_phone IS NOT NULL";
        q.push((
            Source::AfterSales,
            Role::Sender,
            select(sender, only_with_sender),
        ));
    }
    if has("raw_leads") {
        let cols = [
            "record_id",
            "name",
            "mobile",
            "",
            "",
            "",
            "",
            "city",
            "created_at",
        ];
        q.push((
            Source::Marketing,
            Role::Lead,
            select(cols, "FROM raw_leads"),
        ));
    }
    if has("raw_app_events") {
        let cols = [
            "record_id",
            "nickname",
            "mobile",
            "",
            "app_user_id",
            "unionid",
            "",
            "",
            "event_time",
        ];
        q.push((
            Source::App,
            Role::AppUser,
            select(cols, "FROM raw_app_events"),
        ));
    }
    q
}

/// Which mentions to read.
pub enum Scope<'a> {
    All,
    /// Mentions from these ingest batches, plus the records of `records`.
    Some {
        batches: &'a HashSet<String>,
        records: &'a PreviousIds,
    },
}

/// The key of one mention record: source, record id and role joined by NUL.
pub fn record_key(source: &str, record_id: &str, role: &str) -> String {
    format!("{source}\u{0}{record_id}\u{0}{role}")
}

/// Reads and normalises every mention in the lake registered on `ctx`. `salt` keys the
/// resident-id hashes.
/// Records whose [`record_key`] is in `keep_apart` (named by split and never-link overrides)
/// are never folded with others.
pub async fn load(
    ctx: &SessionContext,
    tables: &[String],
    salt: &str,
    keep_apart: &HashSet<String>,
) -> Result<Loaded> {
    load_scoped(ctx, tables, salt, &Scope::All, keep_apart).await
}

/// What a load gives: the mentions, and the records folded into them beyond their keys.
#[derive(Debug, Default)]
pub struct Loaded {
    pub mentions: Vec<Mention>,
    pub folded: FoldedRecords,
}

/// Reads and normalises the mentions of `scope`.
pub async fn load_scoped(
    ctx: &SessionContext,
    tables: &[String],
    salt: &str,
    scope: &Scope<'_>,
    keep_apart: &HashSet<String>,
) -> Result<Loaded> {
    // A full run reserves room for every row it may read up front: a vector doubling past 8
    // million mentions would copy 1.8 GB, and both copies are resident while it does. The
    // bound is virtual memory only; the pages no mention fills are never touched.
    let mut out = Vec::new();
    let mut folds = RecordFolds::default();
    if let Scope::All = scope {
        // One count per table; a table read in two roles (owner, sender) counts twice.
        let mut read: Vec<&str> = queries(tables)
            .iter()
            .map(|(source, _, _)| marque_core::canonical::raw_table(*source))
            .collect();
        read.sort_unstable();
        let mut upper = 0;
        for roles in read.chunk_by(|a, b| a == b) {
            upper += roles.len() * crate::query::count_rows(ctx, roles[0]).await?;
        }
        out.reserve_exact(upper);
        folds = RecordFolds::with_capacity(upper);
    }
    // Records with identical evidence that includes a key no guard can veto (an app account, a
    // VIN, a resident id) fold into one mention, as linking would fold them into one unit
    // anyway: a customer's 40 repair orders are normalised once and held once.
    let mut caches = Caches::default();
    let mut spill = FoldedRecords::default();
    // Every query starts now and scans ahead on its own tasks (one a partition, read in turn
    // so that rows come in the same order every run): decoding the next batches (and the
    // next tables) overlaps normalising the current one. A scoped run reads the whole
    // tables too and keeps its rows in `row_keys`: a scoped record is anywhere in a table, so
    // no filter prunes a file, and the SQL form of the scope (`_batch_id IN (..) OR record_id
    // IN (SELECT ..)`) made the incremental run's peak (5.2 GB at 1M, 2.2 GB without it).
    // Only the new batches' own rows (no earlier records) are filtered in SQL: the batch ids'
    // statistics prune every older file.
    let only_batches = match scope {
        Scope::Some { batches, records } if records.is_empty() => {
            let list: Vec<String> = batches
                .iter()
                .map(|b| format!("'{}'", b.replace('\'', "''")))
                .collect();
            Some(if list.is_empty() {
                "FALSE".to_string()
            } else {
                format!("_batch_id IN ({})", list.join(", "))
            })
        }
        _ => None,
    };
    // The earlier records in scope, probed a batch at a time (see `record_set`).
    let scoped = match scope {
        Scope::Some { records, .. } if !records.is_empty() => {
            Some(RecordSet::of(records.record_fingerprints(), records.len()))
        }
        _ => None,
    };
    let mut scans = Vec::new();
    for (source, role, sql) in queries(tables) {
        let table = marque_core::canonical::raw_table(source).to_string();
        let sql = match &only_batches {
            Some(f) => format!("SELECT * FROM ({sql}) WHERE {f}"),
            None => sql,
        };
        let stream = crate::query::stream_in_order(ctx, &table, &sql, prefetch).await?;
        scans.push((source, role, table, stream));
    }
    for (source, role, table, mut stream) in scans {
        let query = |e| IdentityError::Query {
            table: table.clone(),
            source: e,
        };
        while let Some(batch) = futures::StreamExt::next(&mut stream).await {
            let batch = batch.map_err(query)?;
            let cols = Columns::new(&batch, &table)?;
            // Each row's fingerprints, scope test and key test need no shared state: both
            // cores; so do the sharded set lookups that sort the rows.
            let n = batch.num_rows();
            let records: Vec<Option<u128>> = (0..n)
                .into_par_iter()
                .map(|r| {
                    Some(record_fingerprint(
                        source.as_str(),
                        cols.text(0, r)?,
                        role.as_str(),
                    ))
                })
                .collect();
            let wanted = in_scope(&cols, &records, scope, scoped.as_ref());
            let rows: Vec<Option<RowKeys>> = (0..n)
                .into_par_iter()
                .map(|r| {
                    let record = records[r].filter(|_| wanted[r])?;
                    row_keys(&cols, r, record, source, role, keep_apart)
                })
                .collect();
            // Rows of this batch that start a mention, and records folding into one (an earlier
            // mention or one of this batch's, so they are added once the batch's are built).
            let BatchFates {
                fresh,
                folds: folded,
            } = folds.sort(&rows, out.len());
            drop(rows);
            // Normalising names, phones and resident ids is the expensive part: both cores.
            let raw = |col: usize| -> Vec<&str> {
                fresh
                    .par_iter()
                    .filter_map(|&r| cols.text(col, r))
                    .collect()
            };
            caches.names.add(&raw(1));
            caches.cities.add(&raw(7));
            let built: Vec<Mention> = fresh
                .par_iter()
                .map(|&r| build(&cols, r, source, role, salt, &caches))
                .collect();
            out.extend(built);
            for (r, i) in folded {
                let spilled = out[i].fold(cols.text(0, r).unwrap_or_default(), cols.seen_at(r));
                spill.push(i as u32, &spilled)?;
            }
        }
    }
    tracing::debug!(
        distinct_names = caches.names.len(),
        "names parsed once per spelling"
    );
    spill.finish()?;
    Ok(Loaded {
        mentions: out,
        folded: spill,
    })
}

/// Batches a scan may decode ahead of the loop consuming them: bounds the memory a query
/// waiting its turn holds (8192 rows a batch).
const PREFETCH: usize = 16;

/// Runs `stream` on its own task, up to [`PREFETCH`] batches ahead of its reader. Dropping the
/// returned stream stops the task.
fn prefetch(mut stream: SendableRecordBatchStream) -> SendableRecordBatchStream {
    use futures::StreamExt;
    let mut b = RecordBatchReceiverStream::builder(stream.schema(), PREFETCH);
    let tx = b.tx();
    b.spawn(async move {
        while let Some(batch) = stream.next().await {
            if tx.send(batch).await.is_err() {
                break; // the reader is gone
            }
        }
        Ok(())
    });
    b.build()
}

/// Whether each row of a batch is in `scope`: from a new batch, or an earlier record of an
/// affected customer (`scoped`, probed in chunks on both cores). A row without a record id
/// (`records[r]` is `None`) never is.
fn in_scope(
    cols: &Columns,
    records: &[Option<u128>],
    scope: &Scope<'_>,
    scoped: Option<&RecordSet>,
) -> Vec<bool> {
    let Scope::Some { batches, .. } = scope else {
        return records.iter().map(Option::is_some).collect();
    };
    let held: Vec<bool> = match scoped {
        Some(set) => records
            .par_chunks(PROBE_CHUNK)
            .flat_map_iter(|chunk| set.contains_each(chunk))
            .collect(),
        None => vec![false; records.len()],
    };
    (0..records.len())
        .into_par_iter()
        .map(|r| {
            records[r].is_some()
                && (held[r] || cols.text(9, r).is_some_and(|b| batches.contains(b)))
        })
        .collect()
}

/// Rows whose records one task probes in turn: long enough for the prefetches to run ahead.
const PROBE_CHUNK: usize = 1024;

/// What the load loop needs of one row in scope, whose record fingerprint is `record`,
/// computed off the loop: `None` when the row has no record id.
fn row_keys(
    cols: &Columns,
    r: usize,
    record: u128,
    source: Source,
    role: Role,
    keep_apart: &HashSet<String>,
) -> Option<RowKeys> {
    let record_id = cols.text(0, r)?;
    let tag = [Some(source.as_str()), Some(role.as_str())];
    let app = source == Source::App;
    let evidence: [Option<&str>; 9] = [
        tag[0],
        tag[1],
        cols.text(1, r),
        cols.text(2, r),
        cols.text(3, r),
        cols.text(4, r),
        cols.text(5, r),
        if app { None } else { cols.text(6, r) },
        if app { None } else { cols.text(7, r) },
    ];
    // The same test as `Mention::app_user_id/unionid/vin/resident.is_some()` of the mention
    // `build` makes, on the raw values, so that folding is decided here.
    let keyed = cols.text(4, r).is_some()
        || cols.text(5, r).is_some()
        || cols.text(6, r).and_then(marque_core::vin::parse).is_some()
        || cols.text(3, r).and_then(resident_id::parse).is_some();
    Some(RowKeys {
        record,
        fold: fingerprint(&evidence),
        keyed,
        foldable: keep_apart.is_empty()
            || !keep_apart.contains(&record_key(source.as_str(), record_id, role.as_str())),
    })
}

/// Each distinct raw name and city parsed (and held) once.
#[derive(Default)]
struct Caches {
    names: NameCache,
    cities: CityCache,
}

/// The mention of row `r`, its evidence normalised.
fn build(
    cols: &Columns,
    r: usize,
    source: Source,
    role: Role,
    salt: &str,
    caches: &Caches,
) -> Mention {
    let phone = parse_phone(cols.text(2, r));
    Mention {
        source,
        role,
        record: cols.text(0, r).unwrap_or_default().into(),
        records: 1,
        name: caches.names.get(cols.text(1, r)),
        name_is_evidence: source != Source::App,
        phone: phone.value,
        phone_kind: phone.kind,
        rare: RareEvidence::boxed(
            cols.text(3, r).and_then(|raw| resident(raw, salt)),
            app_ids(cols.text(4, r), cols.text(5, r)),
            cols.text(6, r)
                .and_then(marque_core::vin::parse)
                .as_deref()
                .and_then(PackedVin::pack),
        ),
        city: caches.cities.get(cols.text(7, r)),
        seen: SeenSpan::at(cols.seen_at(r)),
    }
}

fn app_ids(app_user_id: Option<&str>, unionid: Option<&str>) -> Option<Box<AppIds>> {
    (app_user_id.is_some() || unionid.is_some()).then(|| {
        Box::new(AppIds {
            app_user_id: app_user_id.map(CompactString::from),
            unionid: unionid.map(CompactString::from),
        })
    })
}

/// The nine projected columns of a batch: eight text, `seen_at` as µs since the epoch.
struct Columns {
    text: Vec<TextColumn>,
    time: ArrayRef,
}

impl Columns {
    fn new(batch: &RecordBatch, table: &str) -> Result<Self> {
        let cast = |i: usize, to: &DataType| {
            arrow::compute::cast(batch.column(i), to).map_err(|e| IdentityError::Column {
                table: table.to_string(),
                column: batch.schema().field(i).name().clone(),
                message: e.to_string(),
            })
        };
        // Read as the scan returned them: string views need no copy.
        let text = (0..8)
            .chain(std::iter::once(9))
            .map(|i| TextColumn::of(batch, i, table))
            .collect::<Result<Vec<_>>>()?;
        let ts = cast(8, &DataType::Timestamp(TimeUnit::Microsecond, None))?;
        let time =
            arrow::compute::cast(&ts, &DataType::Int64).map_err(|e| IdentityError::Column {
                table: table.to_string(),
                column: "seen_at".into(),
                message: e.to_string(),
            })?;
        Ok(Self { text, time })
    }

    /// Column `col` of the projection (9 is `_batch_id`); `None` when null or blank.
    fn text(&self, col: usize, row: usize) -> Option<&str> {
        self.text[if col == 9 { 8 } else { col }]
            .get(row)
            .filter(|v| !v.trim().is_empty())
    }

    fn seen_at(&self, row: usize) -> Option<i64> {
        let a = self.time.as_primitive::<Int64Type>();
        a.is_valid(row).then(|| a.value(row))
    }
}
