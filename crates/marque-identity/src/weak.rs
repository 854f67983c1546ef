//! The guard on weak-name units (nameless, surname-only or nickname mentions on a shared phone
//! or VIN): such a unit links only when its matches point at one person.

use crate::hashing::HashMap;
use rayon::prelude::*;

use crate::cluster::{Label, UnionFind};
use crate::compare::{NameKind, compare, name_kind};
use crate::link::{Edge, LinkStats};
use crate::passes::PassContext;
use crate::scoring::{ScoredPair, pair_score};

/// Drops the scored edges of weak-name units that match several people.
///
/// A weak unit's partners are grouped by the cluster the deterministic edges and the scored
/// edges between full-name units would put them in: the same person written 王伟 and 王偉,
/// or in pinyin, is one partner, not two names. With several partner clusters the unit is
/// ambiguous and keeps no edge to a full-name unit, unless one cluster holds `dominant_share`
/// of the partners' mentions (the phone's owner, whose household members use it now and then):
/// then it keeps the edges to that cluster only. In an incremental run the full-name holders
/// of the unit's phone or VIN outside the scope ([`crate::outside::Outside::key_holders`]) are
/// partners too, each customer a person of its own, when the unit scores above the match
/// weight against them: a full run would see them. `scored` must be in descending weight
/// order, the order clustering joins them.
pub(crate) fn drop_ambiguous(
    cx: &PassContext,
    labels: &[Vec<Label>],
    deterministic: &[Edge],
    scored: &mut Vec<ScoredPair>,
    stats: &mut LinkStats,
) {
    let (mentions, units, cfg) = (cx.mentions, cx.units, cx.cfg);
    // Looked up for every end of every scored edge: one pass over the units, not a random
    // read of a mention each time.
    let is_full: Vec<bool> = units
        .rep
        .par_iter()
        .map(|&r| name_kind(&mentions[r as usize]) == NameKind::Full)
        .collect();
    let full = |u: u32| is_full[u as usize];
    // (weak unit, full-name partner) pairs, sorted so that each weak unit's partners form a run.
    let mut partners: Vec<(u32, u32)> = scored
        .par_iter()
        .flat_map_iter(|e| {
            [(e.a, e.b), (e.b, e.a)]
                .into_iter()
                .filter(|&(weak, other)| !full(weak) && full(other))
        })
        .collect();
    partners.par_sort_unstable();
    let runs: Vec<&[(u32, u32)]> = partners.chunk_by(|x, y| x.0 == y.0).collect();
    let outside = outside_partners(cx, &is_full);
    if runs.iter().all(|r| r.len() < 2) && outside.is_empty() {
        return;
    }
    // Outside customers are people numbered past every unit.
    let outside_person = |customer: u32| units.size.len() as u32 + customer;
    let mut people = UnionFind::new(&units.size, labels);
    for e in deterministic {
        people.union(e.a, e.b);
    }
    for e in scored.iter().filter(|e| full(e.a) && full(e.b)) {
        people.union(e.a, e.b);
    }
    // Every unit's person, read-only from here on, so that the weak units are judged on both
    // cores.
    let person: Vec<u32> = (0..units.size.len() as u32)
        .map(|u| people.find(u))
        .collect();
    drop(people);
    // For each weak unit with several partner people: the one it may link to, if any.
    let allowed: HashMap<u32, Option<u32>> = runs
        .par_iter()
        .filter_map(|run| {
            let weak = run[0].0;
            let from = outside.partition_point(|p| p.0 < weak);
            let to = outside.partition_point(|p| p.0 <= weak);
            let mut by_person: Vec<(u32, u32)> = run
                .iter()
                .map(|&(_, o)| (person[o as usize], units.size[o as usize]))
                .chain(
                    outside[from..to]
                        .iter()
                        .map(|&(_, c, n)| (outside_person(c), n)),
                )
                .collect();
            by_person.sort_unstable();
            let mut shares: Vec<(u32, u32)> = Vec::new();
            for (p, n) in by_person {
                match shares.last_mut() {
                    Some((last, total)) if *last == p => *total += n,
                    _ => shares.push((p, n)),
                }
            }
            if shares.len() < 2 {
                return None;
            }
            let total: u32 = shares.iter().map(|s| s.1).sum();
            // A dominant share is over half, so ties never decide.
            let top = shares
                .iter()
                .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
                .copied();
            let keep = top
                .filter(|&(_, n)| n as f64 >= cfg.dominant_share * total as f64)
                .map(|(p, _)| p);
            Some((weak, keep))
        })
        .collect();
    // A full run would link these to the customer outside; here they stay alone.
    stats.outside_only += allowed
        .values()
        .filter(|keep| keep.is_some_and(|p| p >= outside_person(0)))
        .count() as u64;
    drop(runs);
    drop(partners);
    let blocked = |weak: u32, other: u32| {
        full(other)
            && allowed
                .get(&weak)
                .is_some_and(|keep| *keep != Some(person[other as usize]))
    };
    // Judged on both cores; `retain` then visits the edges in the same order.
    let keep: Vec<bool> = scored
        .par_iter()
        .map(|e| !(blocked(e.a, e.b) || blocked(e.b, e.a)))
        .collect();
    let mut keep = keep.into_iter();
    let before = scored.len();
    scored.retain(|_| keep.next().unwrap_or(true));
    stats.ambiguous_dropped += (before - scored.len()) as u64;
}

/// (weak-name unit, outside customer, mentions) for each full-name holder outside an
/// incremental run's scope of a weak unit's phone or VIN that the unit scores above the match
/// weight against, sorted. A holder weighs what its mention would in a unit's size.
fn outside_partners(cx: &PassContext, is_full: &[bool]) -> Vec<(u32, u32, u32)> {
    if !cx.outside.has_key_holders() {
        return Vec::new();
    }
    let mut out: Vec<(u32, u32, u32)> = (0..cx.units.rep.len() as u32)
        .into_par_iter()
        .filter(|&u| !is_full[u as usize])
        .flat_map_iter(|u| {
            let m = &cx.mentions[cx.units.rep[u as usize] as usize];
            let holders = cx.outside.key_holders(m.usable_phone(), m.vin());
            holders.into_iter().filter_map(move |h| {
                let v = compare(m, &h.mention);
                pair_score(cx.model, cx.cfg, m, &h.mention, &v)?;
                Some((u, h.customer, h.weight))
            })
        })
        .collect();
    out.par_sort_unstable();
    out
}

#[cfg(test)]
mod tests {
    use crate::mentions::{Mention, test_mention};

    fn on_phone(name: &str, id: &str) -> Mention {
        let mut m = test_mention(name);
        m.record = id.into();
        m.set_phone(Some("+8613912345678"));
        if name.is_empty() {
            m.name_is_evidence = false;
        }
        m
    }

    use crate::link::link_trained as run;

    /// Links `scoped` as an incremental run does: hubs marked, the stored `model`, and the
    /// holders it did not load in `outside`.
    fn link_scoped(
        scoped: &[Mention],
        model: &crate::model::Model,
        outside: &crate::outside::Outside,
    ) -> crate::link::Linked {
        use crate::link::{LinkConfig, LinkOverrides, link, mark_hubs};
        let cfg = LinkConfig::default();
        let mut ms = scoped.to_vec();
        mark_hubs(&mut ms, &cfg);
        link(&ms, &cfg, &LinkOverrides::default(), Some(model), outside)
    }

    #[test]
    fn a_nameless_lead_joins_one_person_whose_name_is_written_two_ways() {
        // Before: the two spellings counted as two names (neither with 80 % of the
        // mentions), so the lead was ambiguous.
        let mut ms = vec![
            on_phone("王伟", "s-1"),
            on_phone("Wang Wei", "s-2"),
            on_phone("王伟", "s-3"),
            on_phone("", "lead-1"),
        ];
        let l = run(&mut ms);
        assert_eq!(l.roots[0], l.roots[1], "one person, two spellings");
        assert_eq!(l.roots[0], l.roots[3], "the lead joins that one person");
    }

    #[test]
    fn a_nameless_lead_between_two_people_on_one_phone_joins_neither() {
        let mut ms = vec![
            on_phone("王伟", "s-1"),
            on_phone("李娜", "s-2"),
            on_phone("", "lead-1"),
        ];
        let l = run(&mut ms);
        assert_ne!(l.roots[2], l.roots[0]);
        assert_ne!(l.roots[2], l.roots[1]);
        assert!(l.stats.ambiguous_dropped > 0);
    }

    #[test]
    fn incremental_nameless_lead_stays_alone_when_a_customer_outside_the_scope_shares_its_phone() {
        use crate::outside::Outside;
        // The full run sees 王伟 and 李娜 on the phone and leaves the lead alone.
        let mut full = vec![
            on_phone("王伟", "s-1"),
            on_phone("李娜", "s-2"),
            on_phone("", "lead-1"),
        ];
        let trained = run(&mut full);
        assert_ne!(trained.roots[2], trained.roots[0]);
        // An incremental run loaded 王伟's customer and the lead, not 李娜's.
        let scoped = [on_phone("王伟", "s-1"), on_phone("", "lead-1")];
        let with = |outside: &Outside| link_scoped(&scoped, &trained.model, outside);
        let blind = with(&Outside::default());
        assert_eq!(
            blind.roots[1], blind.roots[0],
            "seeing only 王伟, it joins him"
        );
        let seen = with(&Outside::from_phone_holder(7, "李娜", 1, "+8613912345678"));
        assert_ne!(
            seen.roots[1], seen.roots[0],
            "李娜 outside makes it ambiguous"
        );
        assert!(seen.stats.ambiguous_dropped > 0);
        // Only full names are partners: a surname with an honorific outside changes nothing.
        let honorific = with(&Outside::from_phone_holder(
            7,
            "李女士",
            1,
            "+8613912345678",
        ));
        assert_eq!(honorific.roots[1], honorific.roots[0]);
    }

    #[test]
    fn incremental_nameless_buyer_stays_apart_when_the_vins_next_owner_lies_outside_the_scope() {
        use crate::outside::Outside;
        // Found at 1M persons: a buyer with a garbled name shares phone and VIN with the
        // owner 王伟, and the car's next owner 李娜 (another phone) holds the VIN too. The full
        // run sees both through the VIN block and leaves the buyer alone; the incremental run
        // loaded 王伟's customer only and joined them.
        let vin = "LXCA2E7CXPA468659";
        let on_car = |name: &str, id: &str, phone: &str| {
            let mut m = on_phone(name, id);
            m.set_phone(Some(phone));
            m.set_vin(crate::compact::PackedVin::pack(vin));
            m
        };
        let mut full = vec![
            on_car("王伟", "ro-1", "+8613912345678"),
            on_car("李娜", "ro-2", "+8613987654321"),
            on_car("", "fp-1", "+8613912345678"),
        ];
        let trained = run(&mut full);
        assert_ne!(trained.roots[2], trained.roots[0], "full: ambiguous");
        assert_ne!(trained.roots[2], trained.roots[1], "full: ambiguous");
        let scoped = [
            on_car("王伟", "ro-1", "+8613912345678"),
            on_car("", "fp-1", "+8613912345678"),
        ];
        let with = |outside: &Outside| link_scoped(&scoped, &trained.model, outside);
        let blind = with(&Outside::default());
        assert_eq!(blind.roots[1], blind.roots[0], "blind, it joins 王伟");
        let next_owner = Outside::from_key_holder(7, "李娜", 1, "+8613987654321", Some(vin));
        let seen = with(&next_owner);
        assert_ne!(
            seen.roots[1], seen.roots[0],
            "李娜 on the VIN outside: ambiguous"
        );
        assert!(seen.stats.ambiguous_dropped > 0);
    }

    #[test]
    fn incremental_weak_guard_counts_an_outside_holders_folded_records() {
        use crate::outside::Outside;
        // 王伟 holds four of the phone's five records in the scope: 80 %, the dominant share.
        let scoped: Vec<Mention> = (1..=4)
            .map(|i| on_phone("王伟", &format!("s-{i}")))
            .chain([on_phone("", "lead-1")])
            .collect();
        let trained = run(&mut scoped.clone());
        let with = |outside: &Outside| link_scoped(&scoped, &trained.model, outside);
        let one = with(&Outside::from_phone_holder(7, "李娜", 1, "+8613912345678"));
        assert_eq!(one.roots[4], one.roots[0], "4 of 5: 王伟 dominates");
        // The outside row stands for two folded records: 4 of 6, no longer dominant.
        let two = with(&Outside::from_phone_holder(7, "李娜", 2, "+8613912345678"));
        assert_ne!(two.roots[4], two.roots[0], "4 of 6: ambiguous");
    }
}
