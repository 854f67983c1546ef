//! Stable customer ids across runs: a new cluster inherits the previous id that most of its
//! mentions carried, and every merge and split is recorded as `old id → new id`.

use crate::hashing::HashSet;
use rayon::prelude::*;
use std::cmp::Reverse;

/// Why an old id now points to another customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Change {
    /// The old customer was absorbed into another one.
    Merge,
    /// Some of the old customer's mentions now form or join another customer.
    Split,
}

impl Change {
    pub fn as_str(self) -> &'static str {
        match self {
            Change::Merge => "merge",
            Change::Split => "split",
        }
    }
}

/// One row of `customer_id_history`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct IdChange {
    pub old_id: String,
    pub new_id: String,
    pub change: Change,
    /// Mention records that moved from the old id to the new one.
    pub records: u64,
}

/// The previous ids of one cluster's records, each once, with how many records carried it.
/// A list, not a map: a cluster mostly carries one previous id, and a full rerun at 1M
/// persons held 1.27M maps and allocated a key for each of its 19.3M records (11 s, +500 MB).
pub type Votes<'a> = Vec<(&'a str, u64)>;

/// Adds one record's vote for `id` to `votes`.
pub fn vote<'a>(votes: &mut Votes<'a>, id: &'a str) {
    match votes.iter_mut().find(|(held, _)| *held == id) {
        Some((_, n)) => *n += 1,
        None => {
            // Exactly: a cluster mostly carries one id, and a first push reserved four.
            votes.reserve_exact(1);
            votes.push((id, 1));
        }
    }
}

/// The first eight bytes of `text` as a number that orders as the text does (a shorter text
/// is padded with zeros, which order before any byte of a text).
fn text_prefix(text: &str) -> u64 {
    let mut head = [0u8; 8];
    let n = text.len().min(8);
    head[..n].copy_from_slice(&text.as_bytes()[..n]);
    u64::from_be_bytes(head)
}

/// Assigns ids to clusters. `overlap[c]` lists, for cluster `c`, the previous ids of its
/// records with their counts (each id once); `fresh[c]` is the id the cluster would get on a
/// first run. Returns the id of each cluster and the id changes.
///
/// A full rerun at 1M persons assigns 1.27M ids here at its memory peak, so the working sets
/// borrow the texts they hold: a claim is a count, the id's first bytes, a cluster and a
/// position in its votes (24 bytes, was a 56-byte tuple), and the sets of ids in use point
/// into `overlap` and `fresh` (they held an owned copy of every id, 0.2 GB in all).
pub fn assign(overlap: &[Votes<'_>], fresh: &[String]) -> (Vec<String>, Vec<IdChange>) {
    // Greedy by overlap: the cluster holding most of an old customer's records keeps its id.
    // On a tie the part holding the mention the id was derived from wins, then the smaller
    // fresh id: never the cluster's position, which differs between full and incremental runs.
    let order = |c: u32, k: u32| {
        let (id, n) = overlap[c as usize][k as usize];
        let own = fresh[c as usize].as_str();
        (Reverse(n), id, own != id, own, c)
    };
    // Sorted by count and the id's first bytes, and by the whole order only on a tie there:
    // comparing through `overlap` on every step was a cache miss each, and the sort alone
    // took longer than the rest of the phase.
    let mut claims: Vec<(Reverse<u64>, u64, u32, u32)> = overlap
        .iter()
        .enumerate()
        .flat_map(|(c, ids)| {
            ids.iter()
                .enumerate()
                .map(move |(k, &(id, n))| (Reverse(n), text_prefix(id), c as u32, k as u32))
        })
        .collect();
    claims.par_sort_unstable_by(|a, b| {
        (a.0, a.1)
            .cmp(&(b.0, b.1))
            .then_with(|| order(a.2, a.3).cmp(&order(b.2, b.3)))
    });
    let mut ids: Vec<Option<&str>> = vec![None; overlap.len()];
    // The previous ids some cluster kept: the survivors among them.
    let mut kept: HashSet<&str> = HashSet::default();
    for (_, _, c, k) in claims {
        let id = overlap[c as usize][k as usize].0;
        if ids[c as usize].is_none() && !kept.contains(id) {
            ids[c as usize] = Some(id);
            kept.insert(id);
        }
    }
    // Every previous id stays reserved, so a fresh id never reuses a vanished customer's id.
    let previous: HashSet<&str> = overlap
        .iter()
        .flat_map(|m| m.iter().map(|&(id, _)| id))
        .collect();
    let mut fresh_taken: HashSet<&str> = HashSet::default();
    // Fresh ids suffixed because theirs was taken: rare.
    let mut suffixed: HashSet<String> = HashSet::default();
    let ids: Vec<String> = ids
        .into_iter()
        .enumerate()
        .map(|(c, id)| {
            if let Some(id) = id {
                return id.to_string();
            }
            let own = fresh[c].as_str();
            let taken =
                |s: &str| previous.contains(s) || fresh_taken.contains(s) || suffixed.contains(s);
            if !taken(own) {
                fresh_taken.insert(own);
                return own.to_string();
            }
            let mut n = 1;
            let mut candidate = format!("{own}-{n}");
            while taken(&candidate) {
                n += 1;
                candidate = format!("{own}-{n}");
            }
            suffixed.insert(candidate.clone());
            candidate
        })
        .collect();
    drop((previous, fresh_taken, suffixed));
    let mut changes = Vec::new();
    for (c, prev) in overlap.iter().enumerate() {
        for &(old, records) in prev {
            if old != ids[c] {
                // A previous id is in use after the run only where a cluster kept it: fresh
                // ids avoid every previous one.
                let change = if kept.contains(old) {
                    Change::Split
                } else {
                    Change::Merge
                };
                changes.push(IdChange {
                    old_id: old.to_string(),
                    new_id: ids[c].clone(),
                    change,
                    records,
                });
            }
        }
    }
    changes.sort();
    (ids, changes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn o<'a>(pairs: &[(&'a str, u64)]) -> Votes<'a> {
        pairs.to_vec()
    }

    #[test]
    fn a_vote_for_a_held_id_counts_on_it_and_a_new_id_is_added_once() {
        let mut v = Votes::default();
        for id in ["A", "B", "A", "A"] {
            vote(&mut v, id);
        }
        assert_eq!(v, [("A", 3), ("B", 1)]);
    }

    #[test]
    fn merged_customers_keep_the_larger_id_and_record_the_merge() {
        let (ids, changes) = assign(&[o(&[("A", 5), ("B", 2)])], &["X".into()]);
        assert_eq!(ids, vec!["A"]);
        assert_eq!(
            changes,
            vec![IdChange {
                old_id: "B".into(),
                new_id: "A".into(),
                change: Change::Merge,
                records: 2
            }]
        );
    }

    #[test]
    fn a_split_keeps_the_id_on_the_larger_part_and_gives_the_rest_a_fresh_one() {
        let (ids, changes) = assign(&[o(&[("A", 1)]), o(&[("A", 4)])], &["A".into(), "Y".into()]);
        assert_eq!(ids[1], "A");
        assert_ne!(ids[0], "A", "a fresh id never reuses a surviving one");
        assert_eq!(changes[0].change, Change::Split);
    }

    #[test]
    fn an_even_split_keeps_the_id_on_the_part_holding_its_anchor_whatever_the_cluster_order() {
        // Regression: the tie went to the first cluster, and full and incremental runs list
        // clusters in different orders, so they named the two parts differently.
        for order in [[0, 1], [1, 0]] {
            let parts = [
                (o(&[("A", 2)]), "A".to_string()),
                (o(&[("A", 2)]), "Z".to_string()),
            ];
            let overlap: Vec<_> = order.iter().map(|&i| parts[i].0.clone()).collect();
            let fresh: Vec<_> = order.iter().map(|&i| parts[i].1.clone()).collect();
            let (ids, _) = assign(&overlap, &fresh);
            let anchor = order.iter().position(|&i| i == 0).unwrap();
            assert_eq!(ids[anchor], "A");
        }
    }

    #[test]
    fn new_clusters_get_their_fresh_id() {
        let (ids, changes) = assign(&[o(&[]), o(&[("A", 3)])], &["N".into(), "M".into()]);
        assert_eq!(ids, vec!["N", "A"]);
        assert!(changes.is_empty());
    }

    #[test]
    fn a_fresh_id_never_takes_a_merged_away_id_nor_another_clusters_fresh_id() {
        // Cluster 0 absorbs A and B (keeps A); cluster 1 is new and would be named B, the
        // merged-away id; clusters 2 and 3 are new and would both be named N.
        let overlap = [o(&[("A", 3), ("B", 1)]), o(&[]), o(&[]), o(&[])];
        let fresh: Vec<String> = ["X", "B", "N", "N"].map(String::from).to_vec();
        let (ids, changes) = assign(&overlap, &fresh);
        assert_eq!(ids, vec!["A", "B-1", "N", "N-1"]);
        assert_eq!(changes.len(), 1);
        assert_eq!(
            (changes[0].old_id.as_str(), changes[0].change),
            ("B", Change::Merge)
        );
    }

    #[test]
    fn text_prefixes_order_as_their_texts() {
        let texts = [
            "",
            "C",
            "C0",
            "C0123456",
            "C01234567",
            "C0123457",
            "C0a",
            "C0b",
            "D",
        ];
        assert!(texts.is_sorted());
        for w in texts.windows(2) {
            assert!(text_prefix(w[0]) <= text_prefix(w[1]), "{w:?}");
        }
        assert_eq!(
            text_prefix("C0123456"),
            text_prefix("C01234567"),
            "a tie: whole texts decide"
        );
    }
}
