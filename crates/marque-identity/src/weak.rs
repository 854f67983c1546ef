//! The guard on weak-name units (nameless, surname-only or nickname mentions on a shared phone
//! or VIN): such a unit links only when its matches point at one person.

use crate::hashing::HashMap;
use rayon::prelude::*;

use crate::cluster::{Label, UnionFind};
use crate::compare::{NameKind, name_kind};
use crate::link::{Edge, LinkConfig, LinkStats};
use crate::mentions::Mention;
use crate::units::Units;

/// Drops the scored edges of weak-name units that match several people.
///
/// A weak unit's partners are grouped by the cluster the deterministic edges and the scored
/// edges between full-name units would put them in: the same person written 王伟 and 王偉,
/// or in pinyin, is one partner, not two names. With several partner clusters the unit is
/// ambiguous and keeps no edge to a full-name unit, unless one cluster holds `dominant_share`
/// of the partners' mentions (the phone's owner, whose household members use it now and then):
/// then it keeps the edges to that cluster only. `scored` must be in descending weight order,
/// the order clustering joins them.
pub(crate) fn drop_ambiguous(
    mentions: &[Mention],
    units: &Units,
    labels: &[Vec<Label>],
    deterministic: &[Edge],
    scored: &mut Vec<Edge>,
    cfg: &LinkConfig,
    stats: &mut LinkStats,
) {
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
    if runs.iter().all(|r| r.len() < 2) {
        return;
    }
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
            let mut by_person: Vec<(u32, u32)> = run
                .iter()
                .map(|&(_, o)| (person[o as usize], units.size[o as usize]))
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
            Some((run[0].0, keep))
        })
        .collect();
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

#[cfg(test)]
mod tests {
    use crate::mentions::{Mention, test_mention};

    fn on_phone(name: &str, id: &str) -> Mention {
        let mut m = test_mention(name);
        m.record_ids = crate::compact::RecordIds::one(id);
        m.set_phone(Some("+8613912345678"));
        if name.is_empty() {
            m.name_is_evidence = false;
        }
        m
    }

    use crate::link::link_trained as run;

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
}
