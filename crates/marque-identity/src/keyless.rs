//! Linking leads that carry a full name and a city but no key to the one customer with that
//! name in that city.

use crate::hashing::HashMap;

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
    let city = m.city.as_deref()?;
    if name_kind(m) != NameKind::Full || signature(m).is_some() {
        return None;
    }
    let freq = model.name_frequency.get(m.name_key.as_str()).copied();
    if freq.is_none_or(|f| f > cfg.keyless_max_name_frequency) {
        return None;
    }
    Some((m.name_key.as_str(), city))
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
    let mut index: HashMap<(&str, &str), Vec<u32>> = HashMap::default();
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
        let Some((name, city)) = lead_key(m, model, cfg) else {
            continue;
        };
        let freq = model.name_frequency.get(name).copied();
        let candidates = index.get(&(name, city)).map_or(&[][..], Vec::as_slice);
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
