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

use crate::hashing::{HashMap, HashSet};

use rayon::prelude::*;
use serde::Deserialize;

use crate::compare::{Comparison, NameKind, Vector, compare, name_kind, name_level};
use crate::mentions::Mention;
use crate::model::Model;
use crate::outside::Outside;
use crate::units::units;

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
    /// run's scope: left alone, where a full run would link them.
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

/// Marks phones seen with `hub_min_names` or more different full names; returns them.
pub fn mark_hubs(mentions: &mut [Mention], cfg: &LinkConfig) -> Vec<(String, usize)> {
    let mut names: HashMap<&str, HashSet<&str>> = HashMap::default();
    for m in mentions.iter() {
        if let Some(p) = &m.phone
            && name_kind(m) == NameKind::Full
        {
            names.entry(p).or_default().insert(m.name_key.as_str());
        }
    }
    let mut hubs: Vec<(String, usize)> = names
        .into_iter()
        .filter(|(_, n)| n.len() >= cfg.hub_min_names)
        .map(|(p, n)| (p.to_string(), n.len()))
        .collect();
    hubs.sort();
    let set: HashSet<&str> = hubs.iter().map(|(p, _)| p.as_str()).collect();
    for m in mentions.iter_mut() {
        m.phone_is_hub = m.phone.as_deref().is_some_and(|p| set.contains(p));
    }
    hubs
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
    let keys: [(EdgeKind, KeyOf); 3] = [
        (EdgeKind::ResidentId, |m| {
            m.resident.as_ref().map(|r| r.hash.as_str())
        }),
        (EdgeKind::AppUserId, |m| m.app_user_id.as_deref()),
        (EdgeKind::Unionid, |m| m.unionid.as_deref()),
    ];
    for (kind, key) in keys {
        let mut first: HashMap<&str, u32> = HashMap::default();
        for u in 0..units.rep.len() as u32 {
            if let Some(k) = key(rep(u)).filter(|_| !isolate.contains(&units.rep[u as usize])) {
                match first.get(k) {
                    Some(&f) => edges.push(det(f, u, kind)),
                    None => {
                        first.insert(k, u);
                    }
                }
            }
        }
    }

    // Candidate pairs: units sharing a usable phone, or a VIN as its buyer or owner.
    let mut blocks: HashMap<(u8, &str), Vec<u32>> = HashMap::default();
    for u in 0..units.rep.len() as u32 {
        let m = rep(u);
        if let Some(p) = m.usable_phone() {
            blocks.entry((0, p)).or_default().push(u);
        }
        if let Some(v) = &m.vin {
            blocks.entry((1, v)).or_default().push(u);
        }
    }
    phase("deterministic keys and blocks");
    let mut block_list: Vec<((u8, &str), Vec<u32>)> = blocks.into_iter().collect();
    block_list.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    // Split-out mentions take part in no scored link.
    let isolated: HashSet<u32> = isolate.iter().map(|&m| units.of[m as usize]).collect();
    let scorable = |u: u32| isolated.is_empty() || !isolated.contains(&u);
    let mut pairs: Vec<(u32, u32)> = Vec::new();
    for (_, members) in &block_list {
        if members.len() > cfg.max_block_units {
            stats.skipped_blocks += 1;
            continue;
        }
        for (i, &a) in members.iter().enumerate() {
            for &b in &members[i + 1..] {
                if scorable(a) && scorable(b) {
                    pairs.push((a.min(b), a.max(b)));
                }
            }
        }
    }
    // Units sharing both a phone and a VIN meet in two blocks: one comparison each.
    pairs.sort_unstable();
    pairs.dedup();
    // Compared in load order of their representatives: mentions (and their strings) sit in
    // memory in that order, while unit numbers are hashed. Every decision below sorts its own
    // way, so this order only decides how fast the comparisons run.
    pairs.sort_unstable_by_key(|&(a, b)| (units.rep[a as usize], units.rep[b as usize]));
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
    let tf =
        |m: &Mention| -> Option<f64> { model.name_frequency.get(m.name_key.as_str()).copied() };

    // Score, veto, and keep the pairs above the match threshold.
    let mut scored: Vec<Edge> = Vec::new();
    for (&(a, b), v) in pairs.iter().zip(&vectors) {
        if v[Comparison::Name.index()] == name_level::DIFFERENT {
            continue;
        }
        let (ma, mb) = (rep(a), rep(b));
        let freq = tf(ma).or_else(|| tf(mb));
        let w = model.score(v, freq);
        if w >= cfg.match_weight {
            scored.push(Edge {
                a,
                b,
                kind: EdgeKind::Scored,
                weight: w,
                vector: Some(*v),
                name_frequency: freq,
            });
        }
    }
    scored.sort_by(|x, y| {
        y.weight
            .total_cmp(&x.weight)
            .then((x.a, x.b).cmp(&(y.a, y.b)))
    });
    let labels = crate::clustering::guard_labels(mentions, &units, overrides);
    crate::weak::drop_ambiguous(
        mentions,
        &units,
        &labels,
        &edges,
        &mut scored,
        cfg,
        &mut stats,
    );

    phase("model and scores");
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
    phase("clusters");
    let cx = crate::passes::PassContext {
        mentions,
        units: &units,
        model: &model,
        cfg,
        outside,
    };
    crate::keyless::keyless_pass(&cx, &mut uf, &mut kept, &mut stats);
    crate::masked::masked_pass(&cx, &mut uf, &mut kept, &mut stats);

    phase("keyless and masked passes");
    let roots = (0..mentions.len())
        .map(|i| units.rep[uf.find(units.of[i]) as usize])
        .collect();
    let edges = kept
        .into_iter()
        .map(|mut e| {
            e.a = units.rep[e.a as usize];
            e.b = units.rep[e.b as usize];
            e
        })
        .collect();
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
    use crate::mentions::{resident, test_mention};

    fn m(name_raw: &str, phone: Option<&str>, rid: Option<&str>) -> Mention {
        let mut m = test_mention(name_raw);
        m.phone = phone.map(Into::into);
        m.resident = rid.and_then(|r| resident(r, "salt"));
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
        assert!(ms.iter().all(|m| m.phone_is_hub));
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
    fn a_vin_links_owner_and_buyer_with_the_same_name_but_never_a_different_name() {
        let mut buyer = m("赵娜", Some("+8615754271341"), None);
        buyer.vin = Some("LXCA2B7E8KA021417".into());
        let mut owner_new_phone = m("赵娜", Some("+8619959939390"), None);
        owner_new_phone.vin = buyer.vin.clone();
        let mut second_hand = m("钱多", Some("+8613111112222"), None);
        second_hand.vin = buyer.vin.clone();
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
        ms[1].city = Some("北京".into()); // a different unit, same phone and name
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
