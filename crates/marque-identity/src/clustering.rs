//! Clustering linked units: deterministic edges, then strong scored edges, then weak edges
//! whose combined weight between two clusters reaches the strong threshold, all under the
//! guard labels (resident ids, never-link overrides) that keep people apart.

use crate::cluster::{Label, RESIDENT, UnionFind};
use crate::hashing::HashMap;
use crate::link::{Edge, EdgeKind, LinkConfig, LinkOverrides, LinkStats};
use crate::mentions::Mention;
use crate::scoring::ScoredPair;
use crate::units::Units;
use rayon::prelude::*;

pub(crate) fn guard_labels(
    mentions: &[Mention],
    units: &Units,
    overrides: &LinkOverrides,
) -> Vec<Vec<Label>> {
    let mut labels: Vec<Vec<Label>> = vec![Vec::new(); units.rep.len()];
    // Units with a resident id are found on both cores; their ids are numbered in unit order.
    let residents: Vec<(usize, &str)> = units
        .rep
        .par_iter()
        .enumerate()
        .filter_map(|(u, &r)| mentions[r as usize].resident().map(|res| (u, res.hash())))
        .collect();
    let mut ids: HashMap<&str, u32> = HashMap::default();
    for (u, hash) in residents {
        let next = ids.len() as u32;
        let id = *ids.entry(hash).or_insert(next);
        labels[u].push((RESIDENT, id));
    }
    for (k, &(a, b)) in overrides.never.iter().enumerate() {
        let group = k as u32 + 1;
        labels[units.of[a as usize] as usize].push((group, 1));
        labels[units.of[b as usize] as usize].push((group, 2));
    }
    labels
}

/// Unions deterministic edges, then strong scored edges, then weak edges whose combined weight
/// between two clusters reaches the strong threshold. `restrict` marks units whose scored
/// edges are ignored (oversize clusters).
pub(crate) fn cluster(
    units: &Units,
    labels: &[Vec<Label>],
    det: &[Edge],
    scored: &[ScoredPair],
    cfg: &LinkConfig,
    stats: &mut LinkStats,
    restrict: Option<&[bool]>,
) -> (UnionFind, Vec<Edge>) {
    let mut uf = UnionFind::new(&units.size, labels);
    // The kept edges (and those the later passes add) form a forest over the units, so fewer
    // than there are units: room for all of them up front, virtual until used, where growing by
    // doubling held 160 and 320 MiB at once at 1M persons.
    let mut kept = Vec::with_capacity(units.rep.len());
    let mut join = |uf: &mut UnionFind, e: &Edge, stats: &mut LinkStats| match uf.union(e.a, e.b) {
        Some(true) => kept.push(e.clone()),
        Some(false) => {}
        None => stats.refused_conflicts += 1,
    };
    // Overrides go last: they join whole customers, and still never two resident ids.
    for e in det.iter().filter(|e| e.kind != EdgeKind::Override) {
        join(&mut uf, e, stats);
    }
    let allowed = |e: &ScoredPair| restrict.is_none_or(|r| !(r[e.a as usize] || r[e.b as usize]));
    let mut weak: Vec<&ScoredPair> = Vec::new();
    for e in scored.iter().filter(|e| allowed(e)) {
        if e.weight >= cfg.strong_weight {
            join(&mut uf, &e.edge(), stats);
        } else {
            weak.push(e);
        }
    }
    // Weak edges: sum per pair of clusters; the strongest edge represents the pair.
    let mut support: HashMap<(u32, u32), (f64, usize)> = HashMap::default();
    for (i, e) in weak.iter().enumerate() {
        let (ra, rb) = (uf.find(e.a), uf.find(e.b));
        if ra == rb {
            continue;
        }
        let key = (ra.min(rb), ra.max(rb));
        let s = support.entry(key).or_insert((0.0, i));
        s.0 += e.weight;
    }
    let mut supported: Vec<_> = support.iter().collect();
    // Ties go to the representative edge's units, which (unlike cluster roots) are numbered
    // the same in full and incremental runs.
    supported.sort_by(|a, b| {
        let ends = |i: usize| (weak[i].a, weak[i].b);
        b.1.0.total_cmp(&a.1.0).then(ends(a.1.1).cmp(&ends(b.1.1)))
    });
    for (_, &(sum, i)) in supported {
        if sum >= cfg.strong_weight {
            join(&mut uf, &weak[i].edge(), stats);
        } else {
            stats.weak_unsupported += 1;
        }
    }
    for e in det.iter().filter(|e| e.kind == EdgeKind::Override) {
        join(&mut uf, e, stats);
    }
    (uf, kept)
}
