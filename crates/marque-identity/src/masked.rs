//! Linking mentions whose phone auto media masked (139****5678) to the one customer whose
//! full mobile shows the same digits and whose name states the same surname.

use crate::hashing::{HashMap, HashSet, fingerprint_of};
use rayon::prelude::*;

use crate::cluster::UnionFind;
use crate::compare::{Comparison, NameKind, compare, name_kind, name_level};
use crate::link::{Edge, EdgeKind, LinkStats};
use crate::mentions::Mention;
use crate::passes::{PassContext, join_pass_edge, sole_candidate};
use compact_str::CompactString;
use marque_core::name::Gender;

/// The surname a mention's name states, when its name is evidence (a full name, an honorific
/// form, or a nickname built on the surname such as 小王).
pub(crate) fn stated_surname(m: &Mention) -> Option<&str> {
    m.name_is_evidence
        .then_some(m.name.surname.as_deref())
        .flatten()
}

/// The block key under which a unit holding a full mobile waits for masked leads: the mobile's
/// visible digits and the stated surname.
pub(crate) fn holder_key(m: &Mention) -> Option<(String, &str)> {
    let surname = stated_surname(m)?;
    let pattern = marque_core::phone::mobile_block_pattern(&m.usable_phone()?.text())?;
    Some((pattern, surname))
}

/// The masked pass's index key of a block pattern and surname.
pub(crate) fn index_key(pattern: &str, surname: &str) -> u128 {
    fingerprint_of(&(pattern, surname))
}

/// The block key a masked lead looks up: its masked phone's visible digits and its stated
/// surname, for a unit with a masked phone and no full one.
pub(crate) fn lead_key(m: &Mention) -> Option<(CompactString, &str)> {
    if m.phone().is_some() {
        return None;
    }
    Some((m.masked_phone()?.text(), stated_surname(m)?))
}

/// Whether a holder of a lead's (pattern, surname) key could be the lead's person: stated
/// genders and cities do not disagree.
pub(crate) fn compatible(
    lead: &Mention,
    holder_gender: Option<Gender>,
    holder_city: Option<&str>,
) -> bool {
    let gender_clash = matches!((lead.gender(), holder_gender), (Some(a), Some(b)) if a != b);
    let city_clash = matches!((lead.city(), holder_city), (Some(a), Some(b)) if a != b);
    !gender_clash && !city_clash
}

/// Links each still-alone unit with a masked phone and a stated surname to the one cluster
/// holding a full mobile with the same visible digits and the same surname whose gender and
/// city do not disagree with the lead's, when the full names (if both have one) are not
/// different names.
///
/// Masked digits alone are weak (about one mobile in 10⁴ of the same prefix shares them; at 1M
/// persons a pattern and surname are often held by two or three people), so among the holders
/// whose gender and city fit, exactly one cluster must remain: a second means the evidence
/// cannot tell them apart and the lead stays alone. Holders that contradict the lead's gender
/// or city are not its person, so they do not make it ambiguous.
pub(crate) fn masked_pass(
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
    // The leads first (a lead has no full phone, so it is never a holder), then the holders
    // some lead asks for, out of the millions of mobiles; both on both cores. A tagged key
    // for every unit (16 bytes each, millions of units at 1M persons) stood on the link phase's peak.
    // (unit, index key, pattern, surname): the leads are few, their keys kept for the loop
    // below.
    let leads: Vec<(u32, u128, CompactString, &str)> = (0..n)
        .into_par_iter()
        .filter_map(|u| {
            let (pattern, surname) = lead_key(rep(u))?;
            Some((u, index_key(&pattern, surname), pattern, surname))
        })
        .collect();
    if leads.is_empty() {
        return;
    }
    let holder = |u: u32| holder_key(rep(u)).map(|(pattern, surname)| index_key(&pattern, surname));
    let wanted: HashSet<u128> = leads.iter().map(|l| l.1).collect();
    let held: Vec<(u32, u128)> = (0..n)
        .into_par_iter()
        .filter_map(|u| holder(u).filter(|k| wanted.contains(k)).map(|k| (u, k)))
        .collect();
    drop(wanted);
    // With no holder in the scope, the loop below still counts the leads whose key is held
    // outside it (`sole_candidate`), as it does when some holder is in.
    let mut index: HashMap<u128, Vec<u32>> = HashMap::default();
    for (u, key) in held {
        index.entry(key).or_default().push(u);
    }
    let pattern_weight = -model
        .masked_key_u
        .unwrap_or_else(|| {
            // A model stored before this estimate existed: the distinct holder keys here.
            let distinct: HashSet<u128> = (0..n).into_par_iter().filter_map(holder).collect();
            1.0 / distinct.len() as f64
        })
        .log2();
    for (k, key, pattern, surname) in leads {
        if uf.size_of(k) > 1 {
            continue; // already linked by a stronger pass
        }
        let m = rep(k);
        let candidates: Vec<u32> = index
            .get(&key)
            .map_or(&[][..], Vec::as_slice)
            .iter()
            .copied()
            .filter(|&u| compatible(m, rep(u).gender(), rep(u).city()))
            .collect();
        let Some(target) =
            sole_candidate(uf, &candidates, outside.masked(&pattern, surname, m), stats)
        else {
            continue;
        };
        let t = rep(target);
        let v = compare(m, t);
        let names_differ = name_kind(m) == NameKind::Full
            && name_kind(t) == NameKind::Full
            && v[Comparison::Name.index()] == name_level::DIFFERENT;
        if names_differ {
            continue;
        }
        let freq = model.name_frequency_of(m);
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

#[cfg(test)]
mod tests {
    use crate::compare::COMPARISONS;
    use crate::link::{LinkConfig, LinkOverrides, link, mark_hubs};
    use crate::mentions::{Mention, test_mention};
    use crate::model::Model;
    use crate::outside::Outside;

    fn lead_and_holder() -> Vec<Mention> {
        let mut holder = test_mention("王伟");
        holder.set_phone(Some("+8613912345678"));
        holder.set_city(Some("上海"));
        let mut lead = test_mention("王伟");
        lead.record = "lead-1".into();
        lead.set_masked_phone(Some("139****5678"));
        vec![holder, lead]
    }

    /// Whether the lead (second mention) joins the holder (first).
    fn linked_in(mut ms: Vec<Mention>, outside: &Outside) -> bool {
        let cfg = LinkConfig::default();
        mark_hubs(&mut ms, &cfg);
        // Agreement rare among non-matches, and two million (digits, surname) pairs, as a
        // 1M-person run trains them.
        let u = COMPARISONS
            .iter()
            .map(|c| vec![0.01; c.levels().len()])
            .collect();
        let mut model = Model::initial(u);
        model.masked_key_u = Some(1.0 / 2_000_000.0);
        let l = link(&ms, &cfg, &LinkOverrides::default(), Some(&model), outside);
        l.roots[0] == l.roots[1]
    }

    fn linked(outside: &Outside) -> bool {
        linked_in(lead_and_holder(), outside)
    }

    /// The lead in 上海, and a second 王 in 北京 whose mobile shows the same digits.
    fn lead_with_a_namesake_elsewhere() -> Vec<Mention> {
        let mut ms = lead_and_holder();
        ms[1].set_city(Some("上海"));
        let mut other = test_mention("王伟");
        other.record = "other-1".into();
        other.set_phone(Some("+8613900005678"));
        other.set_city(Some("北京"));
        ms.push(other);
        ms
    }

    #[test]
    fn a_masked_lead_with_one_candidate_joins_it() {
        assert!(linked(&Outside::default()));
    }

    #[test]
    fn incremental_masked_lead_stays_alone_when_a_customer_outside_the_scope_holds_its_key() {
        // A full run would see the second holder and find the lead ambiguous.
        let outside = Outside::from_counts(&[("139****5678", "王", 1)], &[]);
        assert!(!linked(&outside));
    }

    #[test]
    fn a_masked_lead_joins_the_one_holder_whose_city_fits() {
        // Before: two holders of 139****5678 with surname 王 made the lead ambiguous, though
        // the one in 北京 cannot be the 上海 lead's person.
        assert!(linked_in(
            lead_with_a_namesake_elsewhere(),
            &Outside::default()
        ));
    }

    #[test]
    fn a_masked_lead_with_two_holders_in_its_city_joins_neither() {
        let mut ms = lead_with_a_namesake_elsewhere();
        ms[2].set_city(Some("上海"));
        assert!(!linked_in(ms, &Outside::default()));
    }

    #[test]
    fn incremental_masked_lead_ignores_a_holder_outside_the_scope_in_another_city() {
        let mut ms = lead_and_holder();
        ms[1].set_city(Some("上海"));
        let elsewhere = Outside::from_masked_holder("139****5678", "王", Some("北京"));
        assert!(linked_in(ms.clone(), &elsewhere));
        let same_city = Outside::from_masked_holder("139****5678", "王", Some("上海"));
        assert!(!linked_in(ms, &same_city));
    }
}
