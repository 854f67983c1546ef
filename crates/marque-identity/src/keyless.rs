//! Linking leads that carry a full name and a city but no key to the one customer with that
//! name in that city.

use std::collections::HashMap;

use crate::cluster::UnionFind;
use crate::compare::{NameKind, compare, name_kind};
use crate::link::{Edge, EdgeKind, LinkConfig, LinkStats, join_pass_edge};
use crate::mentions::Mention;
use crate::model::Model;
use crate::units::{Units, signature};

/// Links each unit that has a full name and a city but no key (a lead without a phone) to the
/// one cluster holding the same name in the same city, when there is exactly one and the
/// match weight reaches the strong threshold.
pub(crate) fn keyless_pass(
    mentions: &[Mention],
    units: &Units,
    model: &Model,
    cfg: &LinkConfig,
    uf: &mut UnionFind,
    kept: &mut Vec<Edge>,
    stats: &mut LinkStats,
) {
    let rep = |u: u32| &mentions[units.rep[u as usize] as usize];
    let mut index: HashMap<(&str, &str), Vec<u32>> = HashMap::new();
    let mut keyless = Vec::new();
    for u in 0..units.rep.len() as u32 {
        let m = rep(u);
        let Some(city) = m.city.as_deref() else {
            continue;
        };
        if name_kind(m) != NameKind::Full {
            continue;
        }
        if signature(m).is_some() {
            index
                .entry((m.name_key.as_str(), city))
                .or_default()
                .push(u);
        } else {
            keyless.push(u);
        }
    }
    for k in keyless {
        let m = rep(k);
        let freq = model.name_frequency.get(&m.name_key).copied();
        if freq.is_none_or(|f| f > cfg.keyless_max_name_frequency) {
            continue;
        }
        let Some(candidates) =
            index.get(&(m.name_key.as_str(), m.city.as_deref().unwrap_or_default()))
        else {
            continue;
        };
        let mut roots: Vec<(u32, u32)> = candidates.iter().map(|&u| (uf.find(u), u)).collect();
        roots.sort_unstable();
        roots.dedup_by_key(|r| r.0);
        let [(_, target)] = roots[..] else {
            stats.ambiguous_dropped += 1;
            continue;
        };
        let v = compare(m, rep(target));
        let w = model.score(&v, freq);
        if w < cfg.strong_weight {
            continue;
        }
        let e = Edge {
            a: k,
            b: target,
            kind: EdgeKind::Scored,
            weight: w,
            vector: Some(v),
            name_frequency: freq,
        };
        join_pass_edge(uf, e, kept, stats);
    }
}
