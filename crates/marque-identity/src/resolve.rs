//! One resolution run: read mentions, link, choose ids and golden records, write the tables.

use crate::hashing::HashSet;

use arrow::array::RecordBatch;
use rayon::prelude::*;
use std::ops::Range;
use std::sync::Arc;
use std::time::{Duration, Instant};

use datafusion::prelude::SessionContext;
use marque_lake::{Commit, Lake, WriteMode};

use crate::folded::FoldedRecords;
use crate::golden::{Golden, Survivorship, golden};
use crate::ids::{anchor_order, customer_id};
use crate::link::{LinkConfig, link, mark_hubs, mark_stored_hubs};
use arrow::array::AsArray;

use crate::mentions::Scope;
use crate::outside::Outside;
use crate::previous::{PreviousIds, RecordIds};
use crate::publish::{self, Publisher};
use crate::{IdentityError, Result, history, incremental, mentions, output, overrides, tables};

/// Settings of a run.
#[derive(Debug, Clone)]
pub struct ResolveOptions {
    pub link: LinkConfig,
    /// Key of the resident-id hashes. Change it per deployment; changing it later re-keys every
    /// hash (ids stay the same).
    pub resident_id_salt: String,
    /// Re-estimate the model even when the lake holds one (`identity_model`). Without it, the
    /// first run trains and later runs reuse the parameters, so that an incremental run and a
    /// full run decide alike.
    pub retrain: bool,
    /// Re-resolve every mention; without it only the batches ingested since the last run are
    /// matched against the customers they touch.
    pub full: bool,
    /// Survivorship of the golden record's fields (`[identity.golden]`).
    pub golden: Survivorship,
}

impl Default for ResolveOptions {
    fn default() -> Self {
        Self {
            link: LinkConfig::default(),
            resident_id_salt: "marque-default-salt".into(),
            retrain: false,
            full: false,
            golden: Survivorship::default(),
        }
    }
}

/// What a run did.
#[derive(Debug, Clone, Default)]
pub struct ResolveSummary {
    /// Source records × roles resolved.
    pub mentions: u64,
    pub customers: u64,
    /// Phones treated as hubs (linked nothing).
    pub hubs: usize,
    /// Links refused because they would join two different resident ids.
    pub refused_conflicts: u64,
    /// Mentions in the largest customer.
    pub largest_customer: u64,
    /// Links refused or dropped by the guards, and clusters kept at deterministic links.
    pub ambiguous_dropped: u64,
    pub weak_unsupported: u64,
    pub oversize_clusters: usize,
    pub candidate_pairs: usize,
    /// Whether this run estimated the model (else it reused the lake's).
    pub trained: bool,
    /// Whether only new batches and the customers they touch were resolved.
    pub incremental: bool,
    /// Ids that changed: merges and splits written to customer_id_history.
    pub id_changes: usize,
    /// Overrides naming mentions that no longer exist.
    pub stale_overrides: usize,
    pub duration: Duration,
}

impl std::fmt::Display for ResolveSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.incremental && self.mentions == 0 {
            return write!(
                f,
                "no batches ingested since the last run; nothing to resolve"
            );
        }
        write!(
            f,
            "resolved {} mentions into {} customers in {:.1}s (hub phones: {}, candidate pairs: {}, guard refusals: {}, ambiguous links dropped: {}, weak links unsupported: {}, oversize clusters: {}, largest customer: {} mentions, id changes: {}, model {})",
            self.mentions,
            self.customers,
            self.duration.as_secs_f64(),
            self.hubs,
            self.candidate_pairs,
            self.refused_conflicts,
            self.ambiguous_dropped,
            self.weak_unsupported,
            self.oversize_clusters,
            self.largest_customer,
            self.id_changes,
            if self.trained { "trained" } else { "reused" }
        )?;
        if self.incremental {
            write!(f, " [incremental]")?;
        }
        Ok(())
    }
}

/// Size of the output tables' data files. The four tables are written at once, each holding
/// its open file in memory: at delta-rs's default of 100 MiB a file that is up to 400 MiB on
/// top of the mentions at the end of a run. A 1M-person `mentions` table fills 17 files.
const OUTPUT_FILE_SIZE: u64 = 32 * 1024 * 1024;

/// Resolves the lake's mentions: only the batches ingested since the last run and the
/// customers they touch, or everything with `opts.full` (or when no earlier run exists).
/// Replaces `mentions`, `customer_map`, `customers`, `match_edges` and `identity_hubs` (one
/// commit each) and appends id changes to `customer_id_history`.
pub async fn resolve(lake: &Lake, opts: &ResolveOptions) -> Result<ResolveSummary> {
    let started = Instant::now();
    // Filters evaluated inside the Parquet scan: an incremental run reads the new batches' rows
    // (`_batch_id IN …`) out of tables that are mostly old, so the other columns are decoded
    // only for the rows that pass.
    let mut config = datafusion::prelude::SessionConfig::new();
    config.options_mut().execution.parquet.pushdown_filters = true;
    config.options_mut().execution.parquet.reorder_filters = true;
    let ctx = SessionContext::new_with_config(config);
    let tables = lake.register_all(&ctx).await?;
    if !tables.iter().any(|t| t.starts_with("raw_")) {
        return Err(IdentityError::NothingToResolve);
    }
    let has = |t: &str| tables.iter().any(|x| x == t);
    let stored = if opts.retrain {
        None
    } else {
        stored_model(lake).await?
    };
    let override_rows = overrides::load(lake).await?;
    let keep_apart = overrides::keep_apart(&override_rows);
    let all_batches = incremental::raw_batches(&ctx, &tables).await?;
    let incremental = !opts.full
        && stored.is_some()
        && [
            "customer_map",
            "mentions",
            "customers",
            incremental::BATCHES_TABLE,
        ]
        .iter()
        .all(|t| has(t))
        // Lakes resolved before phone patterns were kept need one full run to record them.
        && ctx
            .table("mentions")
            .await
            .is_ok_and(|t| t.schema().has_column_with_unqualified_name("phone_pattern"));

    let mut run = if incremental {
        let done = incremental::resolved_batches(&ctx).await?;
        let new: HashSet<String> = all_batches.difference(&done).cloned().collect();
        if new.is_empty() {
            return Ok(ResolveSummary {
                incremental: true,
                duration: started.elapsed(),
                ..Default::default()
            });
        }
        let stored_hubs = stored_hubs(lake).await?;
        let none = PreviousIds::default();
        let scope = Scope::Some {
            batches: &new,
            records: &none,
        };
        let fresh =
            mentions::load_scoped(&ctx, &tables, &opts.resident_id_salt, &scope, &keep_apart)
                .await?
                .mentions;
        let rare = opts.link.keyless_max_name_frequency;
        let keyless_name = |name: &str| {
            stored
                .as_ref()
                .and_then(|m| m.name_frequency.get(name))
                .is_some_and(|&f| f <= rare)
        };
        tracing::info!(
            mentions = fresh.len(),
            elapsed_s = started.elapsed().as_secs_f64(),
            rss_mib = crate::memory::resident_mib(),
            cpu_s = crate::memory::cpu_seconds(),
            "new mentions loaded"
        );
        let affected = incremental::affected(&ctx, &fresh, &stored_hubs, keyless_name).await?;
        drop(fresh);
        tracing::info!(
            customers = affected.customers.len(),
            records = affected.previous.len(),
            elapsed_s = started.elapsed().as_secs_f64(),
            rss_mib = crate::memory::resident_mib(),
            cpu_s = crate::memory::cpu_seconds(),
            "affected customers found"
        );
        let scope = Scope::Some {
            batches: &new,
            records: &affected.previous,
        };
        let loaded =
            mentions::load_scoped(&ctx, &tables, &opts.resident_id_salt, &scope, &keep_apart)
                .await?;
        Run {
            ms: loaded.mentions,
            folded: loaded.folded,
            previous: Some(affected.previous),
            affected: Some(affected.customers),
            stored_hubs,
            new_batches: new,
        }
    } else {
        let loaded = mentions::load(&ctx, &tables, &opts.resident_id_salt, &keep_apart).await?;
        Run {
            ms: loaded.mentions,
            folded: loaded.folded,
            // Read once linking is done (below): held through the link, the previous ids of
            // 19.3M records at 1M persons were a third of a gigabyte on top of its peak.
            previous: None,
            affected: None,
            stored_hubs: HashSet::default(),
            new_batches: all_batches,
        }
    };
    tracing::info!(
        mentions = run.ms.len(),
        incremental = run.affected.is_some(),
        elapsed_s = started.elapsed().as_secs_f64(),
        rss_mib = crate::memory::resident_mib(),
        cpu_s = crate::memory::cpu_seconds(),
        "mentions loaded and normalised"
    );
    let mut hubs = mark_hubs(&mut run.ms, &opts.link);
    tracing::info!(
        hubs = hubs.len(),
        elapsed_s = started.elapsed().as_secs_f64(),
        rss_mib = crate::memory::resident_mib(),
        cpu_s = crate::memory::cpu_seconds(),
        "hubs marked"
    );
    if !run.stored_hubs.is_empty() {
        // A hub stays a hub: the mentions that made it one are not all re-read.
        mark_stored_hubs(&mut run.ms, &run.stored_hubs);
        let known: HashSet<&str> = hubs.iter().map(|h| h.0.as_str()).collect();
        let mut old = stored_hub_rows(lake).await?;
        old.retain(|h| !known.contains(h.0.as_str()));
        hubs.extend(old);
        hubs.sort();
    }
    let ms = run.ms;
    let outside = match (&run.affected, &stored) {
        (Some(affected), Some(model)) => {
            Outside::load(&ctx, &ms, affected, &run.stored_hubs, model, &opts.link).await?
        }
        _ => Outside::default(),
    };
    if run.affected.is_some() {
        tracing::debug!(
            elapsed_s = started.elapsed().as_secs_f64(),
            rss_mib = crate::memory::resident_mib(),
            cpu_s = crate::memory::cpu_seconds(),
            "holders outside the scope counted"
        );
    }
    let (link_overrides, stale_overrides) =
        overrides::resolve_indices(&override_rows, &ms, &run.folded)?;
    let trained = stored.is_none();
    let mut linked = link(&ms, &opts.link, &link_overrides, stored.as_ref(), &outside);
    drop(stored);
    if run.affected.is_none() && has("customer_map") {
        let previous = PreviousIds::load(&ctx, None).await?;
        tracing::debug!(
            records = previous.len(),
            elapsed_s = started.elapsed().as_secs_f64(),
            rss_mib = crate::memory::resident_mib(),
            cpu_s = crate::memory::cpu_seconds(),
            "previous ids loaded"
        );
        run.previous = Some(previous);
    }
    tracing::info!(
        edges = linked.edges.len(),
        keys_held_outside = outside.len(),
        left_alone_for_a_candidate_outside = linked.stats.outside_only,
        elapsed_s = started.elapsed().as_secs_f64(),
        rss_mib = crate::memory::resident_mib(),
        cpu_s = crate::memory::cpu_seconds(),
        "linked"
    );

    // Clusters in a deterministic order: by root mention, members ascending. One parallel
    // sort of (root, mention) pairs, then the runs of equal roots.
    // Taken: the roots are not needed past here (43 MB at 1M persons).
    let mut by_root: Vec<(u32, u32)> = std::mem::take(&mut linked.roots)
        .iter()
        .enumerate()
        .map(|(i, &r)| (r, i as u32))
        .collect();
    by_root.par_sort_unstable();
    let members: Vec<u32> = by_root.iter().map(|p| p.1).collect();
    let mut clusters: Vec<(u32, &[u32])> = Vec::new();
    let mut start = 0;
    for run in by_root.chunk_by(|a, b| a.0 == b.0) {
        clusters.push((run[0].0, &members[start..start + run.len()]));
        start += run.len();
    }
    drop(by_root);

    // Each mention's customer, as an index into the clusters (and so into `cluster_ids`).
    let mut cluster_of = vec![0u32; ms.len()];
    for (c, (_, of)) in clusters.iter().enumerate() {
        for &i in *of {
            cluster_of[i as usize] = c as u32;
        }
    }
    let (records, names) = match run.previous.take() {
        Some(p) => {
            let (records, names) = p.into_parts();
            (Some(records), names)
        }
        None => (None, Vec::new()),
    };
    let overlap = previous_votes(
        &clusters,
        &cluster_of,
        &ms,
        &run.folded,
        records.as_ref(),
        &names,
    )?;
    // Gone before the ids are assigned: at 1M persons a full rerun's peak was there.
    drop(records);
    let fresh: Vec<String> = clusters
        .par_iter()
        .map(|(_, members)| {
            let anchor = members
                .iter()
                .map(|&i| &ms[i as usize])
                .min_by(|a, b| anchor_order(a, b))
                .expect("clusters are non-empty");
            customer_id(anchor)
        })
        .collect();
    tracing::debug!(
        elapsed_s = started.elapsed().as_secs_f64(),
        rss_mib = crate::memory::resident_mib(),
        cpu_s = crate::memory::cpu_seconds(),
        "previous ids counted per customer"
    );
    let (cluster_ids, changes) = history::assign(&overlap, &fresh);
    drop((overlap, fresh));
    drop(names);

    // Each cluster's run of `members` as (start, length).
    let mut spans: Vec<(u32, u32)> = Vec::with_capacity(clusters.len());
    let mut largest = 0u64;
    let mut start = 0u32;
    for (_, of) in &clusters {
        let records: u64 = of.iter().map(|&i| u64::from(ms[i as usize].records)).sum();
        largest = largest.max(records);
        spans.push((start, of.len() as u32));
        start += of.len() as u32;
    }
    let n_customers = clusters.len() as u64;
    drop(clusters);
    // The customers table is written in customer id order.
    let mut id_order: Vec<u32> = (0..n_customers as u32).collect();
    id_order.par_sort_unstable_by(|&a, &b| cluster_ids[a as usize].cmp(&cluster_ids[b as usize]));
    let cluster_of = Arc::new(cluster_of);
    let cluster_ids = Arc::new(cluster_ids);

    tracing::info!(
        customers = n_customers,
        elapsed_s = started.elapsed().as_secs_f64(),
        rss_mib = crate::memory::resident_mib(),
        cpu_s = crate::memory::cpu_seconds(),
        "customer ids assigned"
    );
    let is_incremental = run.affected.is_some();
    let commit = || {
        Commit::default()
            .with_target_file_size(OUTPUT_FILE_SIZE)
            .with("operation", "resolve")
            .with("incremental", is_incremental)
    };
    let publisher = Publisher {
        lake,
        incremental: run.affected.take(),
        existing: &tables,
        commit: commit(),
        started,
    };
    let mention_count: u64 = ms.iter().map(|m| u64::from(m.records)).sum();
    // The per-mention tables are built chunk by chunk as the writer asks for them.
    let ms = Arc::new(ms);
    let model = Arc::new(linked.model);
    let edges = tables::match_edges(
        Arc::new(linked.edges),
        ms.clone(),
        tables::Owners {
            cluster_of: cluster_of.clone(),
            ids: cluster_ids.clone(),
        },
        model.clone(),
    );
    let mention_rows = per_mention(&ms, &cluster_of, &cluster_ids, |ms, ids, _| {
        output::mention_rows(ms, ids)
    });
    // A mention's key row, then the rows of the records folded into it: the spill is read in
    // mention order, so each row's mention and customer id are near the last one's.
    let customer_map_rows = {
        // Owned by the stream: the spill file lives until its rows are written. The chunks
        // are built one at a time in mention order, as `ByMention` needs; the lock only
        // satisfies the builder's `Fn` bound.
        let folded = std::sync::Mutex::new((run.folded.by_mention()?, run.folded));
        per_mention(&ms, &cluster_of, &cluster_ids, move |ms, ids, r| {
            let mut folded = folded.lock().unwrap_or_else(|e| e.into_inner());
            let mut records = Vec::new();
            for (k, i) in r.enumerate() {
                folded.0.take(i as u32, k as u32, &mut records)?;
            }
            output::customer_map(ms, ids, &records)
        })
    };
    // Golden records are picked a chunk of customers at a time as the writer asks: all of
    // them at once held over a gigabyte of values and lineage strings at 1M persons.
    let customer_rows = {
        let (ms, ids, policy) = (ms.clone(), cluster_ids.clone(), opts.golden.clone());
        let (members, spans) = (Arc::new(members), Arc::new(spans));
        publish::chunks_of(id_order.len(), GOLDEN_CHUNK, move |r| {
            let rows: Vec<(String, Golden)> = id_order[r]
                .par_iter()
                .map(|&c| {
                    let (start, len) = spans[c as usize];
                    let refs: Vec<&mentions::Mention> = members
                        [start as usize..(start + len) as usize]
                        .iter()
                        .map(|&i| &ms[i as usize])
                        .collect();
                    (ids[c as usize].clone(), golden(&refs, &policy))
                })
                .collect();
            output::customers(&rows)
        })
    };
    drop(ms);
    // Each write encodes its Parquet on one core: the four run side by side.
    futures::try_join!(
        publisher.replace("match_edges", tables::match_edges_schema(), edges),
        publisher.replace("mentions", output::mentions_schema(), mention_rows),
        publisher.replace(
            "customer_map",
            output::customer_map_schema(),
            customer_map_rows,
        ),
        publisher.replace("customers", output::customers_schema(), customer_rows),
    )?;
    tracing::info!(
        elapsed_s = started.elapsed().as_secs_f64(),
        rss_mib = crate::memory::resident_mib(),
        cpu_s = crate::memory::cpu_seconds(),
        "output tables written"
    );
    let write = |name: &'static str, schema, batch, mode| async move {
        lake.write(name, schema, vec![batch], mode, commit()).await
    };
    write(
        "identity_hubs",
        tables::hubs_schema(),
        tables::hubs(&hubs)?,
        WriteMode::Overwrite,
    )
    .await?;
    if trained {
        write(
            "identity_name_frequency",
            tables::name_frequency_schema(),
            tables::name_frequency_rows(&model)?,
            WriteMode::Overwrite,
        )
        .await?;
        write(
            "identity_model",
            tables::model_schema(),
            tables::model_rows(&model)?,
            WriteMode::Overwrite,
        )
        .await?;
    }
    if !changes.is_empty() {
        let now = chrono::Utc::now().timestamp_micros();
        write(
            "customer_id_history",
            tables::history_schema(),
            tables::history(&changes, now)?,
            WriteMode::Append,
        )
        .await?;
    }
    let mode = if is_incremental {
        WriteMode::Append
    } else {
        WriteMode::Overwrite
    };
    let mut batches: Vec<String> = run.new_batches.into_iter().collect();
    batches.sort();
    write(
        incremental::BATCHES_TABLE,
        tables::batches_schema(),
        tables::batches(&batches)?,
        mode,
    )
    .await?;
    let stats = linked.stats;
    Ok(ResolveSummary {
        mentions: mention_count,
        customers: n_customers,
        hubs: hubs.len(),
        refused_conflicts: stats.refused_conflicts,
        largest_customer: largest,
        ambiguous_dropped: stats.ambiguous_dropped,
        weak_unsupported: stats.weak_unsupported,
        oversize_clusters: stats.oversize.len(),
        candidate_pairs: stats.candidate_pairs,
        trained,
        incremental: is_incremental,
        id_changes: changes.len(),
        stale_overrides,
        duration: started.elapsed(),
    })
}

/// Builds a table's rows from the mentions a chunk at a time, in mention order, as the writer
/// asks: `build` gets the chunk's mentions, their customer ids and their range.
fn per_mention<F>(
    ms: &Arc<Vec<mentions::Mention>>,
    cluster_of: &Arc<Vec<u32>>,
    cluster_ids: &Arc<Vec<String>>,
    build: F,
) -> marque_lake::BatchStream
where
    F: Fn(&[mentions::Mention], &[&str], Range<usize>) -> Result<RecordBatch>
        + Send
        + Sync
        + 'static,
{
    let (ms, cluster_of, cluster_ids) = (ms.clone(), cluster_of.clone(), cluster_ids.clone());
    publish::chunks(ms.len(), move |r| {
        let ids: Vec<&str> = cluster_of[r.clone()]
            .iter()
            .map(|&c| cluster_ids[c as usize].as_str())
            .collect();
        build(&ms[r.clone()], &ids, r)
    })
}

/// Customers whose golden records are picked and encoded together: ~4 MB of golden values
/// (a dozen chunks are in flight, see [`publish::CHUNK`]).
const GOLDEN_CHUNK: usize = 4 * 1024;

/// Folded records whose previous ids are looked up together (1.5 MB of results).
const VOTE_SLICE: usize = 64 * 1024;

/// Per cluster, how many of its records each previous customer id held: what
/// [`history::assign`] keeps ids by. The key records are looked up per cluster, then the folded
/// ones as they are read back; both on both cores.
fn previous_votes<'p>(
    clusters: &[(u32, &[u32])],
    cluster_of: &[u32],
    ms: &[mentions::Mention],
    folded: &FoldedRecords,
    previous: Option<&RecordIds>,
    names: &'p [Box<str>],
) -> Result<Vec<history::Votes<'p>>> {
    let Some(prev) = previous else {
        return Ok(vec![Vec::new(); clusters.len()]);
    };
    let lookup = |i: u32, record: &str| {
        let m = &ms[i as usize];
        let id = prev.get(m.source.as_str(), record, m.role.as_str())?;
        names.get(id as usize).map(|s| &**s)
    };
    let mut votes: Vec<history::Votes<'p>> = clusters
        .par_iter()
        .map(|(_, members)| {
            let mut o = history::Votes::new();
            for &i in members.iter() {
                if let Some(id) = lookup(i, &ms[i as usize].key_record()) {
                    history::vote(&mut o, id);
                }
            }
            o
        })
        .collect();
    tracing::debug!(
        rss_mib = crate::memory::resident_mib(),
        cpu_s = crate::memory::cpu_seconds(),
        "key records' votes counted"
    );
    for chunk in folded.buckets()? {
        let chunk = chunk?;
        // A slice of a bucket at a time: the buckets of app accounts hold millions of
        // records, and their lookups collected at once raised a 1M full rerun's peak.
        for start in (0..chunk.len()).step_by(VOTE_SLICE) {
            let found: Vec<(u32, &str)> = (start..(start + VOTE_SLICE).min(chunk.len()))
                .into_par_iter()
                .filter_map(|k| {
                    let (i, record) = chunk.get(k);
                    Some((cluster_of[i as usize], lookup(i, record)?))
                })
                .collect();
            for (c, id) in found {
                history::vote(&mut votes[c as usize], id);
            }
        }
    }
    Ok(votes)
}

/// What one run works on.
struct Run {
    ms: Vec<mentions::Mention>,
    /// The records folded into `ms` beyond their keys.
    folded: FoldedRecords,
    previous: Option<PreviousIds>,
    /// Customers re-resolved by an incremental run; `None` for a full run.
    affected: Option<Arc<HashSet<String>>>,
    stored_hubs: HashSet<String>,
    new_batches: HashSet<String>,
}

async fn stored_hub_rows(lake: &Lake) -> Result<Vec<(String, usize)>> {
    let mut out = Vec::new();
    for b in tables::read(lake, "identity_hubs")
        .await?
        .unwrap_or_default()
    {
        let v = b.column(1).as_string::<i32>();
        let n = b.column(2).as_primitive::<arrow::datatypes::Int64Type>();
        for r in 0..b.num_rows() {
            out.push((v.value(r).to_string(), n.value(r) as usize));
        }
    }
    Ok(out)
}

async fn stored_hubs(lake: &Lake) -> Result<HashSet<String>> {
    Ok(stored_hub_rows(lake)
        .await?
        .into_iter()
        .map(|h| h.0)
        .collect())
}

/// The model of an earlier run, with its name frequencies.
async fn stored_model(lake: &Lake) -> Result<Option<crate::model::Model>> {
    let Some(mut model) = tables::read(lake, "identity_model")
        .await?
        .and_then(|b| tables::model_from(&b))
    else {
        return Ok(None);
    };
    if let Some(b) = tables::read(lake, "identity_name_frequency").await? {
        tables::load_name_frequency(&mut model, &b);
    }
    Ok(Some(model))
}
