//! What the late passes (keyless, masked phone) share: their inputs, the one-candidate rule
//! and how their edges join clusters.

use crate::cluster::UnionFind;
use crate::link::{Edge, LinkConfig, LinkStats};
use crate::mentions::Mention;
use crate::model::Model;
use crate::outside::Outside;
use crate::units::Units;

/// What the late passes (keyless, masked phone) and the weak-name guard read.
#[derive(Clone, Copy)]
pub(crate) struct PassContext<'a> {
    pub mentions: &'a [Mention],
    pub units: &'a Units,
    pub model: &'a Model,
    pub cfg: &'a LinkConfig,
    /// Holders of the passes' keys outside an incremental run's scope.
    pub outside: &'a Outside,
}

/// Joins the clusters of a late pass's edge (keyless, masked phone) and keeps the edge, or
/// counts the refusal when the clusters' labels conflict.
pub(crate) fn join_pass_edge(
    uf: &mut UnionFind,
    e: Edge,
    kept: &mut Vec<Edge>,
    stats: &mut LinkStats,
) {
    match uf.union(e.a, e.b) {
        Some(true) => kept.push(e),
        Some(false) => {}
        None => stats.refused_conflicts += 1,
    }
}

/// The one cluster a late pass's lead may join: the clusters of its in-scope `candidates`
/// (units holding its block key) plus `outside` customers an incremental run did not load
/// must come to exactly one, and that one must be in scope. Several are counted as an
/// ambiguous drop; a single candidate outside the scope is counted in
/// [`LinkStats::outside_only`] (a full run would link the lead there).
pub(crate) fn sole_candidate(
    uf: &mut UnionFind,
    candidates: &[u32],
    outside: u32,
    stats: &mut LinkStats,
) -> Option<u32> {
    let mut roots: Vec<(u32, u32)> = candidates.iter().map(|&u| (uf.find(u), u)).collect();
    roots.sort_unstable();
    roots.dedup_by_key(|r| r.0);
    match (&roots[..], outside) {
        ([], 0) => None,
        ([], 1) => {
            stats.outside_only += 1;
            None
        }
        ([(_, target)], 0) => Some(*target),
        _ => {
            stats.ambiguous_dropped += 1;
            None
        }
    }
}
