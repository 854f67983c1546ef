//! One resolution run: read mentions, link, choose ids and golden records, write the tables.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use datafusion::prelude::SessionContext;
use marque_lake::{Commit, Lake, WriteMode};

use crate::golden::golden;
use crate::ids::{anchor_order, customer_id};
use crate::link::{LinkConfig, link};
use crate::{IdentityError, Result, mentions, output};

/// Settings of a run.
#[derive(Debug, Clone)]
pub struct ResolveOptions {
    pub link: LinkConfig,
    /// Key of the resident-id hashes. Change it per deployment; changing it later re-keys every
    /// hash (ids stay the same).
    pub resident_id_salt: String,
}

impl Default for ResolveOptions {
    fn default() -> Self {
        Self {
            link: LinkConfig::default(),
            resident_id_salt: "marque-default-salt".into(),
        }
    }
}

/// What a run did.
#[derive(Debug, Clone)]
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
    pub duration: Duration,
}

impl std::fmt::Display for ResolveSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "resolved {} mentions into {} customers in {:.1}s (hub phones: {}, resident-id conflicts refused: {}, largest customer: {} mentions)",
            self.mentions,
            self.customers,
            self.duration.as_secs_f64(),
            self.hubs,
            self.refused_conflicts,
            self.largest_customer
        )
    }
}

/// Resolves every mention in the lake and replaces `mentions`, `customer_map` and `customers`.
pub async fn resolve(lake: &Lake, opts: &ResolveOptions) -> Result<ResolveSummary> {
    let started = Instant::now();
    let ctx = SessionContext::new();
    let tables = lake.register_all(&ctx).await?;
    if !tables.iter().any(|t| t.starts_with("raw_")) {
        return Err(IdentityError::NothingToResolve);
    }
    let ms = mentions::load(&ctx, &tables, &opts.resident_id_salt).await?;
    let (roots, stats) = link(&ms, &opts.link);

    let mut clusters: HashMap<u32, Vec<u32>> = HashMap::new();
    for (i, r) in roots.iter().enumerate() {
        clusters.entry(*r).or_default().push(i as u32);
    }
    let mut ids_by_root: HashMap<u32, String> = HashMap::with_capacity(clusters.len());
    let mut customers = Vec::with_capacity(clusters.len());
    let mut largest = 0u64;
    for (root, members) in &clusters {
        let refs: Vec<&mentions::Mention> = members.iter().map(|&i| &ms[i as usize]).collect();
        let anchor = refs
            .iter()
            .copied()
            .min_by(|a, b| anchor_order(a, b))
            .expect("clusters are non-empty");
        let id = customer_id(anchor);
        let g = golden(&refs);
        largest = largest.max(g.mention_count as u64);
        ids_by_root.insert(*root, id.clone());
        customers.push((id, g));
    }
    customers.sort_by(|a, b| a.0.cmp(&b.0));
    let ids: Vec<&str> = roots.iter().map(|r| ids_by_root[r].as_str()).collect();

    let map = output::customer_map(&ms, &ids)?;
    let mention_count = map.num_rows() as u64;
    let commit = || Commit::default().with("operation", "resolve");
    lake.write(
        "mentions",
        output::mentions_schema(),
        vec![output::mention_rows(&ms, &ids)?],
        WriteMode::Overwrite,
        commit(),
    )
    .await?;
    lake.write(
        "customer_map",
        output::customer_map_schema(),
        vec![map],
        WriteMode::Overwrite,
        commit(),
    )
    .await?;
    let n_customers = customers.len() as u64;
    lake.write(
        "customers",
        output::customers_schema(),
        vec![output::customers(&customers)?],
        WriteMode::Overwrite,
        commit(),
    )
    .await?;
    Ok(ResolveSummary {
        mentions: mention_count,
        customers: n_customers,
        hubs: stats.hubs.len(),
        refused_conflicts: stats.refused_conflicts,
        largest_customer: largest,
        duration: started.elapsed(),
    })
}
