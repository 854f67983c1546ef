//! Linking mentions into clusters.
//!
//! 1. Phones seen with many different full names are *hubs* (a salesperson's own number, a
//!    placeholder) and stop being evidence.
//! 2. Mentions with identical evidence that carries a key fold into one *unit*; linking works
//!    on units, so a customer's forty repair orders cost one comparison, not 780.
//! 3. Strong keys (valid resident id, app user id, WeChat unionid) link units deterministically.
//! 4. Units sharing a phone, or a VIN as owner/buyer, are candidate pairs. Each pair gets a
//!    comparison vector and a Fellegi–Sunter match weight ([`crate::model`]).
//! 5. Guards: two different full names never link; a nameless or surname-only unit that matches
//!    several different people on one phone links none of them; different resident ids and
//!    never-link overrides never share a cluster; a cluster held together only by weak edges
//!    needs their combined weight to reach the strong threshold; a cluster above the size
//!    limit keeps only its deterministic links.

use crate::hashing::{HashSet, fingerprint_of};

use rayon::prelude::*;
use serde::Deserialize;

use crate::compare::{Vector, compare};
use crate::mentions::Mention;
use crate::model::Model;
use crate::outside::Outside;
use crate::units::units;

pub use crate::hubs::{mark_hubs, mark_stored_hubs};
use crate::scoring::{ScoredPair, fill_scored, pair_score};

/// Thresholds of the linker; every one can be set in `marque.toml` under `[identity]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LinkConfig {
    /// A phone seen with at least this many different full names is a hub and links nothing.
    /// 8, not lower: a household's shared phone carries up to 5–7 names (members, relatives
    /// bringing the car in), and the different-names veto already keeps those people apart;
    /// on three generator seeds 8 beat 5 by about 0.001 B-cubed F1 at equal precision.
    pub hub_min_names: usize,
    /// Blocks (units sharing a phone or VIN) larger than this are skipped and reported.
    pub max_block_units: usize,
    /// Pairs below this match weight (log2 odds) are not linked. 6.6 ≈ probability 0.99.
    pub match_weight: f64,
    /// Pairs at or above this weight link on their own; weaker pairs need support. 13.3 ≈
    /// probability 0.9999.
    pub strong_weight: f64,
    /// A cluster with more mentions than this keeps only deterministic links and is reported.
    pub max_cluster_mentions: u32,
    /// A nameless or surname-only mention on a phone shared by several people links to the
    /// one whose name holds at least this share of the phone's named mentions, else to none.
    pub dominant_share: f64,
    /// A mention with a full name but no key (a lead without phone) links to the one customer
    /// with the same name in the same city, when its name is rarer than this frequency.
    pub keyless_max_name_frequency: f64,
    pub em_max_iterations: u32,
    pub em_tolerance: f64,
    /// Random unit pairs sampled to estimate u.
    pub u_samples: usize,
    pub seed: u64,
}

impl Default for LinkConfig {
    fn default() -> Self {
        Self {
            hub_min_names: 8,
            max_block_units: 200,
            match_weight: 6.6,
            strong_weight: 13.3,
            max_cluster_mentions: 2000,
            dominant_share: 0.8,
            keyless_max_name_frequency: 1e-4,
            em_max_iterations: 100,
            em_tolerance: 1e-6,
            u_samples: 200_000,
            seed: 7,
        }
    }
}

/// Why two units are linked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EdgeKind {
    Override,
    ResidentId,
    AppUserId,
    Unionid,
    Scored,
    /// A masked phone's visible digits and the surname pointed at one customer.
    MaskedPhone,
}

impl EdgeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EdgeKind::Override => "override",
            EdgeKind::ResidentId => "resident_id",
            EdgeKind::AppUserId => "app_user_id",
            EdgeKind::Unionid => "unionid",
            EdgeKind::Scored => "scored",
            EdgeKind::MaskedPhone => "masked_phone",
        }
    }
}

/// One link between two mentions (each standing for its unit).
#[derive(Debug, Clone)]
pub struct Edge {
    pub a: u32,
    pub b: u32,
    pub kind: EdgeKind,
    /// Match weight (log2 odds); infinite for deterministic links.
    pub weight: f64,
    pub vector: Option<Vector>,
    /// The name's frequency used in the term-frequency adjustment.
    pub name_frequency: Option<f64>,
}

/// Manual corrections, as mention indices.
#[derive(Debug, Default, Clone)]
pub struct LinkOverrides {
    /// Pairs that must share a customer.
    pub merge: Vec<(u32, u32)>,
    /// Pairs that must never share a customer.
    pub never: Vec<(u32, u32)>,
    /// Mentions split out: each stands alone unless a merge override says otherwise.
    pub isolate: Vec<u32>,
}

/// What linking found besides the clusters.
#[derive(Debug, Default, Clone)]
pub struct LinkStats {
    pub units: usize,
    pub candidate_pairs: usize,
    pub skipped_blocks: usize,
    /// Unions refused by a guard label (different resident ids, never-link).
    pub refused_conflicts: u64,
    /// Links dropped because a weak-name unit matched several people.
    pub ambiguous_dropped: u64,
    /// Weak links that lacked the support to join two clusters.
    pub weak_unsupported: u64,
    /// Clusters above the size limit, by mention count, kept at their deterministic links.
    pub oversize: Vec<u32>,
    /// Leads of the masked or keyless pass whose one candidate lies outside an incremental
    /// run's scope, and weak-name units whose dominant partner does: left alone, where a full
    /// run would link them.
    pub outside_only: u64,
}

/// The result of linking.
pub struct Linked {
    /// Cluster root (a mention index) of each mention.
    pub roots: Vec<u32>,
    /// The links that hold the clusters together (a spanning forest).
    pub edges: Vec<Edge>,
    pub stats: LinkStats,
    pub model: Model,
}

/// Reads one strong key of a mention.
type KeyOf = fn(&Mention) -> Option<&str>;

/// Links `mentions` (hubs already marked by [`mark_hubs`]). With `model` the given parameters
/// are used as they are; without, they are estimated from these mentions.
pub fn link(
    mentions: &[Mention],
    cfg: &LinkConfig,
    overrides: &LinkOverrides,
    model: Option<&Model>,
    outside: &Outside,
) -> Linked {
    let mut stats = LinkStats::default();
    let isolate: HashSet<u32> = overrides.isolate.iter().copied().collect();
    let clock = std::time::Instant::now();
    let phase = |name: &str| {
        tracing::info!(
            phase = name,
            elapsed_s = clock.elapsed().as_secs_f64(),
            rss_mib = crate::memory::resident_mib(),
            cpu_s = crate::memory::cpu_seconds(),
            "link"
        )
    };
    let units = units(mentions, &isolate);
    phase("units");
    stats.units = units.rep.len();
    let rep = |u: u32| &mentions[units.rep[u as usize] as usize];

    // Deterministic edges between units.
    let mut edges: Vec<Edge> = Vec::new();
    let det = |a: u32, b: u32, kind| Edge {
        a,
        b,
        kind,
        weight: f64::INFINITY,
        vector: None,
        name_frequency: None,
    };
    for &(a, b) in &overrides.merge {
        edges.push(det(
            units.of[a as usize],
            units.of[b as usize],
            EdgeKind::Override,
        ));
    }
    // Strong keys: every unit's keys fingerprinted on both cores and sorted, so that the
    // units sharing one form a run; the run's first (lowest) unit links to each other one.
    const STRONG: [(EdgeKind, KeyOf); 3] = [
        (EdgeKind::ResidentId, |m| m.resident().map(|r| r.hash())),
        (EdgeKind::AppUserId, |m| m.app_user_id()),
        (EdgeKind::Unionid, |m| m.unionid()),
    ];
    let mut strong: Vec<(u8, u128, u32)> = (0..units.rep.len() as u32)
        .into_par_iter()
        .filter(|&u| isolate.is_empty() || !isolate.contains(&units.rep[u as usize]))
        .flat_map_iter(|u| {
            let m = rep(u);
            STRONG
                .iter()
                .enumerate()
                .filter_map(move |(k, (_, key))| key(m).map(|v| (k as u8, fingerprint_of(v), u)))
        })
        .collect();
    strong.par_sort_unstable();
    let mut strong_edges: Vec<(u8, u32, u32)> = Vec::new();
    for run in strong.chunk_by(|x, y| (x.0, x.1) == (y.0, y.1)) {
        strong_edges.extend(run[1..].iter().map(|&(k, _, u)| (k, u, run[0].2)));
    }
    drop(strong);
    // In key order, then by unit: the order the unions (and guard refusals) happen in.
    strong_edges.par_sort_unstable();
    edges.extend(
        strong_edges
            .into_iter()
            .map(|(k, u, first)| det(first, u, STRONG[k as usize].0)),
    );

    // Candidate pairs: units sharing a usable phone, or a VIN as its buyer or owner. Block keys
    // are fingerprinted on both cores and sorted: a block is a run of one key, its units in
    // ascending order.
    let mut in_blocks: Vec<(u128, u32)> = (0..units.rep.len() as u32)
        .into_par_iter()
        .flat_map_iter(|u| {
            let m = rep(u);
            [
                m.usable_phone().map(|p| (fingerprint_of(&(0u8, p)), u)),
                m.vin().map(|v| (fingerprint_of(&(1u8, v)), u)),
            ]
            .into_iter()
            .flatten()
        })
        .collect();
    in_blocks.par_sort_unstable();
    phase("deterministic keys and blocks");
    let blocks: Vec<&[(u128, u32)]> = in_blocks.chunk_by(|x, y| x.0 == y.0).collect();
    // Split-out mentions take part in no scored link.
    let isolated: HashSet<u32> = isolate.iter().map(|&m| units.of[m as usize]).collect();
    let scorable = |u: u32| isolated.is_empty() || !isolated.contains(&u);
    stats.skipped_blocks = blocks
        .iter()
        .filter(|b| b.len() > cfg.max_block_units)
        .count();
    // Each pair as the mention indices of its units' representatives, packed in one u64: a
    // unit and its representative determine each other, so one sort of plain integers both
    // removes the pairs met in two blocks (a shared phone and a shared VIN) and puts the pairs
    // in load order of their representatives, where mentions (and their strings) sit in
    // memory in that order while unit numbers are hashed. Every decision below sorts its own
    // way, so this order only decides how fast the comparisons run.
    let packed = |a: u32, b: u32| {
        let (a, b) = (a.min(b), a.max(b));
        (u64::from(units.rep[a as usize]) << 32) | u64::from(units.rep[b as usize])
    };
    let mut keys: Vec<u64> = blocks
        .par_iter()
        .filter(|b| b.len() <= cfg.max_block_units)
        .flat_map_iter(|members| {
            members.iter().enumerate().flat_map(move |(i, &(_, a))| {
                members[i + 1..]
                    .iter()
                    .filter(move |&&(_, b)| scorable(a) && scorable(b))
                    .map(move |&(_, b)| packed(a, b))
            })
        })
        .collect();
    drop(blocks);
    drop(in_blocks);
    keys.par_sort_unstable();
    keys.dedup();
    let pairs: Vec<(u32, u32)> = keys
        .par_iter()
        .map(|&k| {
            (
                units.of[(k >> 32) as usize],
                units.of[(k & 0xffff_ffff) as usize],
            )
        })
        .collect();
    drop(keys);
    stats.candidate_pairs = pairs.len();
    phase("candidate pairs");

    // Comparisons are independent: both cores, and `collect` keeps the pairs' order.
    let vectors: Vec<Vector> = pairs
        .par_iter()
        .map(|&(a, b)| compare(rep(a), rep(b)))
        .collect();
    phase("comparisons");
    let model = match model {
        Some(m) => m.clone(),
        None => crate::train::train(mentions, &units, &vectors, cfg),
    };
    phase("model");
    // Score, veto, and keep the pairs above the match threshold. One weight per pair (NaN for
    // none) first: an indexed collect allocates its length once, where collecting the kept
    // pairs straight away went through rayon's list of pieces and held them twice while
    // joining them.
    let weights: Vec<f64> = pairs
        .par_iter()
        .zip(&vectors)
        .map(|(&(a, b), v)| pair_score(&model, cfg, rep(a), rep(b), v).map_or(f64::NAN, |s| s.0))
        .collect();
    drop(vectors);
    let mut scored: Vec<ScoredPair> =
        Vec::with_capacity(weights.iter().filter(|w| !w.is_nan()).count());
    scored.extend(
        pairs
            .iter()
            .zip(&weights)
            .filter(|(_, w)| !w.is_nan())
            .map(|(&(a, b), &weight)| ScoredPair { weight, a, b }),
    );
    drop((pairs, weights));
    // Pairs are distinct, so (weight, a, b) orders them totally and an unstable sort decides
    // as a stable one would.
    scored.par_sort_unstable_by(|x, y| {
        y.weight
            .total_cmp(&x.weight)
            .then((x.a, x.b).cmp(&(y.a, y.b)))
    });
    phase("scores");
    let labels = crate::clustering::guard_labels(mentions, &units, overrides);
    let cx = crate::passes::PassContext {
        mentions,
        units: &units,
        model: &model,
        cfg,
        outside,
    };
    crate::weak::drop_ambiguous(&cx, &labels, &edges, &mut scored, &mut stats);

    phase("guards");
    let (mut uf, kept) =
        crate::clustering::cluster(&units, &labels, &edges, &scored, cfg, &mut stats, None);

    // Clusters above the size limit keep only their deterministic links.
    let mut oversize: HashSet<u32> = HashSet::default();
    for u in 0..units.rep.len() as u32 {
        let r = uf.find(u);
        if uf.size_of(r) > cfg.max_cluster_mentions && oversize.insert(r) {
            stats.oversize.push(uf.size_of(r));
        }
    }
    let (mut uf, kept) = if oversize.is_empty() {
        (uf, kept)
    } else {
        let in_big: Vec<bool> = (0..units.rep.len() as u32)
            .map(|u| oversize.contains(&uf.find(u)))
            .collect();
        let mut again = LinkStats::default();
        crate::clustering::cluster(
            &units,
            &labels,
            &edges,
            &scored,
            cfg,
            &mut again,
            Some(&in_big),
        )
    };
    stats.oversize.sort_unstable();

    let mut kept = kept;
    fill_scored(&mut kept, mentions, &units.rep, &model, cfg);
    // The candidates are decided: what the passes below add goes to `kept`, and the scored
    // pairs (16 bytes each, 11 million at 1M persons) would only raise the peak.
    drop((scored, edges, labels));
    phase("clusters");
    crate::keyless::keyless_pass(&cx, &mut uf, &mut kept, &mut stats);
    crate::masked::masked_pass(&cx, &mut uf, &mut kept, &mut stats);

    phase("keyless and masked passes");
    // Each unit's root once, then every mention's on both cores.
    let unit_root: Vec<u32> = (0..units.rep.len() as u32)
        .map(|u| units.rep[uf.find(u) as usize])
        .collect();
    drop(uf);
    let roots = units
        .of
        .par_iter()
        .map(|&u| unit_root[u as usize])
        .collect();
    let edges = kept
        .into_iter()
        .map(|mut e| {
            e.a = units.rep[e.a as usize];
            e.b = units.rep[e.b as usize];
            e
        })
        .collect();
    phase("roots");
    Linked {
        roots,
        edges,
        stats,
        model,
    }
}

/// Marks hubs and links `ms` with default settings and a model trained on them, as a full run
/// does: the tests' common setup.
#[cfg(test)]
pub(crate) fn link_trained(ms: &mut [Mention]) -> Linked {
    let cfg = LinkConfig::default();
    mark_hubs(ms, &cfg);
    link(
        ms,
        &cfg,
        &LinkOverrides::default(),
        None,
        &Outside::default(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compact::PackedVin;
    use crate::mentions::{resident, test_mention};

    fn m(name_raw: &str, phone: Option<&str>, rid: Option<&str>) -> Mention {
        let mut m = test_mention(name_raw);
        m.set_phone(phone);
        m.set_resident(rid.and_then(|r| resident(r, "salt")));
        m
    }

    use crate::link::link_trained as run;

    fn same(l: &Linked, a: usize, b: usize) -> bool {
        l.roots[a] == l.roots[b]
    }

    #[test]
    fn same_phone_same_name_links_and_household_members_stay_apart() {
        let mut ms = vec![
            m("王伟", Some("+8613912345678"), None),
            m("王伟", Some("+8613912345678"), None),
            m("李娜", Some("+8613912345678"), None), // his wife, same phone
            m("王先生", Some("+8613912345678"), None),
            m("张三", Some("+8613900000002"), None),
            m("张三", Some("+8613900000002"), None),
        ];
        let l = run(&mut ms);
        assert!(same(&l, 0, 1));
        assert!(
            !same(&l, 0, 2),
            "household members sharing a phone are two people"
        );
        assert!(same(&l, 0, 3), "王先生 joins the one 王 on the phone");
        assert!(same(&l, 4, 5));
    }

    #[test]
    fn a_nameless_mention_on_a_shared_phone_joins_nobody() {
        let mut nameless = m("", Some("+8613912345678"), None);
        nameless.name_is_evidence = false;
        let mut ms = vec![
            m("王伟", Some("+8613912345678"), None),
            m("李娜", Some("+8613912345678"), None),
            nameless,
        ];
        let l = run(&mut ms);
        assert!(!same(&l, 0, 2) && !same(&l, 1, 2));
        assert!(l.stats.ambiguous_dropped > 0);
    }

    #[test]
    fn hub_phones_link_nobody() {
        let names = [
            "张三", "李四", "王五", "赵六", "钱七", "孙八", "周九", "吴十", "张三",
        ];
        let mut ms: Vec<Mention> = names
            .iter()
            .map(|n| m(n, Some("+8613700000001"), None))
            .collect();
        let cfg = LinkConfig::default();
        let hubs = mark_hubs(&mut ms, &cfg);
        assert_eq!(hubs, vec![("+8613700000001".to_string(), 8)]);
        assert!(ms.iter().all(|m| m.phone_is_hub()));
        let l = link(
            &ms,
            &cfg,
            &LinkOverrides::default(),
            None,
            &Outside::default(),
        );
        assert!(
            !same(&l, 0, 8),
            "a salesperson's phone must not join two 张三 buyers"
        );
    }

    #[test]
    fn two_resident_ids_never_share_a_customer() {
        let a = marque_core::resident_id::build(
            310104,
            chrono::NaiveDate::from_ymd_opt(1980, 1, 1).unwrap(),
            11,
        );
        let b = marque_core::resident_id::build(
            310104,
            chrono::NaiveDate::from_ymd_opt(1982, 2, 2).unwrap(),
            13,
        );
        let mut ms = vec![
            m("王伟", Some("+8613912345678"), Some(&a)),
            m("王伟", Some("+8613912345678"), Some(&b)),
            m("王伟", Some("+8613912345678"), None),
        ];
        let l = run(&mut ms);
        assert!(!same(&l, 0, 1));
        assert!(l.stats.refused_conflicts >= 1);
    }

    #[test]
    fn a_stored_hub_phone_stays_a_hub_and_other_phones_and_masked_ones_do_not_become_one() {
        let mut hub_holder = m("王小明", Some("+8613912345678"), None);
        hub_holder.set_phone_hub(false);
        let other = m("王小明", Some("+8613912345679"), None);
        let mut masked = test_mention("王小明");
        masked.set_masked_phone(Some("139****5678"));
        let mut ms = vec![hub_holder, other, masked];
        let stored: HashSet<String> = ["+8613912345678", "139****5678"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        mark_stored_hubs(&mut ms, &stored);
        assert!(ms[0].phone_is_hub());
        assert_eq!(ms[0].usable_phone(), None, "a hub is not evidence");
        assert!(!ms[1].phone_is_hub());
        assert!(!ms[2].phone_is_hub(), "a masked number is never a key");
    }

    #[test]
    fn a_vin_links_owner_and_buyer_with_the_same_name_but_never_a_different_name() {
        let mut buyer = m("赵娜", Some("+8615754271341"), None);
        buyer.set_vin(PackedVin::pack("LXCA2B7E8KA021417"));
        let mut owner_new_phone = m("赵娜", Some("+8619959939390"), None);
        owner_new_phone.set_vin(buyer.vin());
        let mut second_hand = m("钱多", Some("+8613111112222"), None);
        second_hand.set_vin(buyer.vin());
        let mut ms = vec![buyer, owner_new_phone, second_hand];
        let l = run(&mut ms);
        assert!(same(&l, 0, 1));
        assert!(
            !same(&l, 0, 2),
            "a resold vehicle does not merge its owners"
        );
    }

    #[test]
    fn never_link_overrides_keep_two_mentions_apart() {
        let mut ms = vec![
            m("王伟", Some("+8613912345678"), None),
            m("王伟", Some("+8613912345678"), None),
        ];
        ms[1].set_city(Some("北京")); // a different unit, same phone and name
        let cfg = LinkConfig::default();
        mark_hubs(&mut ms, &cfg);
        let o = LinkOverrides {
            never: vec![(0, 1)],
            ..Default::default()
        };
        let l = link(&ms, &cfg, &o, None, &Outside::default());
        assert!(!same(&l, 0, 1));
        let o = LinkOverrides {
            isolate: vec![1],
            ..Default::default()
        };
        assert!(!same(&link(&ms, &cfg, &o, None, &Outside::default()), 0, 1));
    }
}
