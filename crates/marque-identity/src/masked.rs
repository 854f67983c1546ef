//! Linking mentions whose phone auto media masked (139****5678) to the one customer whose
//! full mobile shows the same digits and whose name states the same surname.

use std::collections::HashMap;

use crate::cluster::UnionFind;
use crate::compare::{Comparison, NameKind, compare, name_kind, name_level};
use crate::link::{Edge, EdgeKind, LinkConfig, LinkStats, join_pass_edge};
use crate::mentions::Mention;
use crate::model::Model;
use crate::units::Units;

/// The surname a mention's name states, when its name is evidence (a full name, an honorific
/// form, or a nickname built on the surname such as 小王).
pub(crate) fn stated_surname(m: &Mention) -> Option<&str> {
    m.name_is_evidence
        .then_some(m.name.surname.as_deref())
        .flatten()
}

/// Links each still-alone unit with a masked phone and a stated surname to the one cluster
/// holding a full mobile with the same visible digits and the same surname, when gender and
/// city do not disagree and the full names (if both have one) are not different names.
///
/// Masked digits alone are weak (about one mobile in 10⁴ of the same prefix shares them), so
/// the pattern and surname must point at exactly one cluster: a second candidate means the
/// evidence cannot tell them apart and the lead stays alone.
pub(crate) fn masked_pass(
    mentions: &[Mention],
    units: &Units,
    model: &Model,
    cfg: &LinkConfig,
    uf: &mut UnionFind,
    kept: &mut Vec<Edge>,
    stats: &mut LinkStats,
) {
    let rep = |u: u32| &mentions[units.rep[u as usize] as usize];
    let mut index: HashMap<(String, &str), Vec<u32>> = HashMap::new();
    let mut masked = Vec::new();
    for u in 0..units.rep.len() as u32 {
        let m = rep(u);
        let Some(surname) = stated_surname(m) else {
            continue;
        };
        if let Some(pattern) = m
            .usable_phone()
            .and_then(marque_core::phone::mobile_block_pattern)
        {
            index.entry((pattern, surname)).or_default().push(u);
        } else if m.phone.is_none() && m.masked_phone.is_some() {
            masked.push(u);
        }
    }
    if index.is_empty() {
        return;
    }
    // Chance that a random person's (pattern, surname) collides with a given one.
    let pattern_weight = (index.len() as f64).log2();
    for k in masked {
        if uf.size_of(k) > 1 {
            continue; // already linked by a stronger pass
        }
        let m = rep(k);
        let (Some(pattern), Some(surname)) = (m.masked_phone.clone(), stated_surname(m)) else {
            continue;
        };
        let Some(candidates) = index.get(&(pattern, surname)) else {
            continue;
        };
        let mut roots: Vec<(u32, u32)> = candidates.iter().map(|&u| (uf.find(u), u)).collect();
        roots.sort_unstable();
        roots.dedup_by_key(|r| r.0);
        let [(_, target)] = roots[..] else {
            stats.ambiguous_dropped += 1;
            continue;
        };
        let t = rep(target);
        let gender_clash = matches!((m.gender(), t.gender()), (Some(a), Some(b)) if a != b);
        let city_clash = matches!((&m.city, &t.city), (Some(a), Some(b)) if a != b);
        let v = compare(m, t);
        let names_differ = name_kind(m) == NameKind::Full
            && name_kind(t) == NameKind::Full
            && v[Comparison::Name.index()] == name_level::DIFFERENT;
        if gender_clash || city_clash || names_differ {
            continue;
        }
        let freq = model.name_frequency.get(&m.name_key).copied();
        let w = model.score(&v, freq) + pattern_weight;
        if w < cfg.match_weight {
            continue;
        }
        let e = Edge {
            a: k,
            b: target,
            kind: EdgeKind::MaskedPhone,
            weight: w,
            vector: Some(v),
            name_frequency: freq,
        };
        join_pass_edge(uf, e, kept, stats);
    }
}
