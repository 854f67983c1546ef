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
    // Each unit's (name, city) key on both cores; only keyed units whose key some lead asks
    // for are indexed, out of the millions that have one.
    let keys: Vec<Option<(u128, bool)>> = (0..units.rep.len() as u32)
        .into_par_iter()
        .map(|u| {
            let m = rep(u);
            let city = m.city()?;
            if name_kind(m) != NameKind::Full {
                return None;
            }
            let key = index_key(m.name_key(), city);
            if signature(m).is_some() {
                Some((key, false))
            } else {
                lead_key(m, model, cfg).map(|_| (key, true))
            }
        })
        .collect();
    let wanted: HashSet<u128> = keys.iter().flatten().filter(|k| k.1).map(|k| k.0).collect();
    if wanted.is_empty() {
        return;
    }
    let mut index: HashMap<u128, Vec<u32>> = HashMap::default();
    let mut keyless = Vec::new();
    for (u, key) in keys.into_iter().enumerate() {
        match key {
            Some((_, true)) => keyless.push(u as u32),
            Some((k, false)) if wanted.contains(&k) => index.entry(k).or_default().push(u as u32),
            _ => {}
        }
    }
    for k in keyless {
        let m = rep(k);
        let Some((name, city)) = lead_key(m, model, cfg) else {
            continue;
        };
        let freq = model.name_frequency.get(name).copied();
        let candidates = index
            .get(&index_key(name, city))
            .map_or(&[][..], Vec::as_slice);
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
