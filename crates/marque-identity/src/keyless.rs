//! Linking leads that carry a full name and a city but no key to the one customer with that
//! name in that city.

use crate::hashing::{HashMap, HashSet, fingerprint_of};
use rayon::prelude::*;

use crate::cluster::UnionFind;
use crate::compare::{NameKind, compare, name_kind};
use crate::link::{Edge, EdgeKind, LinkConfig, LinkStats};
use crate::mentions::Mention;
use crate::model::Model;
use crate::passes::{PassContext, join_pass_edge, sole_candidate};
use crate::units::signature;

/// The block key a keyless lead looks up: its full name and city, for a unit without a key
/// whose name is rare enough (`keyless_max_name_frequency`) to link on.
pub(crate) fn lead_key<'a>(
    m: &'a Mention,
    model: &Model,
    cfg: &LinkConfig,
) -> Option<(&'a str, &'a str)> {
    let city = m.city()?;
    if name_kind(m) != NameKind::Full || signature(m).is_some() {
        return None;
    }
    let freq = model.name_frequency.get(m.name_key().as_str()).copied();
    if freq.is_none_or(|f| f > cfg.keyless_max_name_frequency) {
        return None;
    }
    Some((m.name_key().as_str(), city))
}

/// The keyless pass's index key of a name key and city.
fn index_key(name_key: &str, city: &str) -> u128 {
    fingerprint_of(&(name_key, city))
}

/// Links each unit that has a full name and a city but no key (a lead without a phone) to the
/// one cluster holding the same name in the same city, when there is exactly one and the
/// match weight reaches the strong threshold.
pub(crate) fn keyless_pass(
    cx: &PassContext,
    uf: &mut UnionFind,
    kept: &mut Vec<Edge>,
    stats: &mut LinkStats,
) {
    let PassContext {
        mentions,
        units,
        model,
        cfg,
        outside,
    } = *cx;
    let rep = |u: u32| &mentions[units.rep[u as usize] as usize];
    let n = units.rep.len() as u32;
    // The leads first, then the keyed units holding a key some lead asks for, both on both
    // cores: a key for every unit (32 bytes each with its tag, millions of units at 1M persons) was
    // the link phase's peak.
    // (unit, index key, name, city): the leads are few, their keys kept for the loop below.
    let leads: Vec<(u32, u128, &str, &str)> = (0..n)
        .into_par_iter()
        .filter_map(|u| {
            let (name, city) = lead_key(rep(u), model, cfg)?;
            Some((u, index_key(name, city), name, city))
        })
        .collect();
    if leads.is_empty() {
        return;
    }
    let wanted: HashSet<u128> = leads.iter().map(|l| l.1).collect();
    let held: Vec<(u32, u128)> = (0..n)
        .into_par_iter()
        .filter_map(|u| {
            let m = rep(u);
            let city = m.city()?;
            if name_kind(m) != NameKind::Full || signature(m).is_none() {
                return None;
            }
            let key = index_key(m.name_key(), city);
            wanted.contains(&key).then_some((u, key))
        })
        .collect();
    drop(wanted);
    let mut index: HashMap<u128, Vec<u32>> = HashMap::default();
    for (u, key) in held {
        index.entry(key).or_default().push(u);
    }
    for (k, key, name, city) in leads {
        let m = rep(k);
        let freq = model.name_frequency.get(name).copied();
        let candidates = index.get(&key).map_or(&[][..], Vec::as_slice);
        let Some(target) = sole_candidate(uf, candidates, outside.keyless(name, city), stats)
        else {
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
