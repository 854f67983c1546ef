//! Linking mentions into clusters: strong keys, phones guarded by names and hub detection, and
//! the rule that two different resident ids never share a customer.

use std::collections::{BTreeMap, HashMap};

use crate::mentions::Mention;

/// Thresholds of the deterministic linker.
#[derive(Debug, Clone)]
pub struct LinkConfig {
    /// A phone seen with at least this many different full names is a hub and links nothing.
    pub hub_min_names: usize,
}

impl Default for LinkConfig {
    fn default() -> Self {
        Self { hub_min_names: 4 }
    }
}

/// What linking found besides the clusters.
#[derive(Debug, Default, Clone)]
pub struct LinkStats {
    /// Phones that were treated as hubs, with the number of names seen on each.
    pub hubs: Vec<(String, usize)>,
    /// Unions refused because they would have joined two different resident ids.
    pub refused_conflicts: u64,
}

/// Union-find over mention indices; each root remembers the resident-id hash of its cluster so
/// that a union joining two different ids can be refused.
pub struct Clusters {
    parent: Vec<u32>,
    size: Vec<u32>,
    resident: Vec<Option<u32>>,
}

impl Clusters {
    fn new(mentions: &[Mention]) -> Self {
        let mut ids: HashMap<&str, u32> = HashMap::new();
        let resident = mentions
            .iter()
            .map(|m| {
                m.resident.as_ref().map(|r| {
                    let next = ids.len() as u32;
                    *ids.entry(r.hash.as_str()).or_insert(next)
                })
            })
            .collect();
        Self {
            parent: (0..mentions.len() as u32).collect(),
            size: vec![1; mentions.len()],
            resident,
        }
    }

    /// The cluster root of mention `i`.
    pub fn find(&mut self, mut i: u32) -> u32 {
        while self.parent[i as usize] != i {
            let p = self.parent[i as usize];
            self.parent[i as usize] = self.parent[p as usize];
            i = p;
        }
        i
    }

    /// Joins the clusters of `a` and `b` unless they hold different resident ids; returns
    /// whether they are joined now.
    fn union(&mut self, a: u32, b: u32) -> bool {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra == rb {
            return true;
        }
        let (ida, idb) = (self.resident[ra as usize], self.resident[rb as usize]);
        if let (Some(x), Some(y)) = (ida, idb)
            && x != y
        {
            return false;
        }
        let (big, small) = if self.size[ra as usize] >= self.size[rb as usize] {
            (ra, rb)
        } else {
            (rb, ra)
        };
        self.parent[small as usize] = big;
        self.size[big as usize] += self.size[small as usize];
        self.resident[big as usize] = ida.or(idb);
        true
    }
}

/// Clusters `mentions`; returns the root of each mention's cluster and what was found.
pub fn link(mentions: &[Mention], cfg: &LinkConfig) -> (Vec<u32>, LinkStats) {
    let mut c = Clusters::new(mentions);
    let mut stats = LinkStats::default();
    let join = |c: &mut Clusters, a: u32, b: u32, stats: &mut LinkStats| {
        if !c.union(a, b) {
            stats.refused_conflicts += 1;
        }
    };
    // Strong keys first, so that the resident-id guard sees whole people before phones join.
    for key in [Key::Resident, Key::AppUser, Key::Unionid] {
        for group in groups(mentions, |m| key.of(m)).values() {
            for &i in &group[1..] {
                join(&mut c, group[0], i, &mut stats);
            }
        }
    }
    let mut phones: Vec<(&str, Vec<u32>)> = groups(mentions, |m| m.phone.as_deref())
        .into_iter()
        .collect();
    phones.sort_unstable_by(|a, b| a.0.cmp(b.0));
    for (phone, group) in phones {
        let names = name_buckets(mentions, &group);
        if names.full.len() >= cfg.hub_min_names {
            stats.hubs.push((phone.to_string(), names.full.len()));
            continue;
        }
        for bucket in names.full.values() {
            for &i in &bucket[1..] {
                join(&mut c, bucket[0], i, &mut stats);
            }
        }
        // Honorific-only mentions (王先生) join the one full name with their surname, or each
        // other when the phone carries no full name with that surname at all.
        for ((surname, _gender), group) in &names.honorific {
            let matching: Vec<&Vec<u32>> = names
                .full
                .iter()
                .filter(|(full, _)| full.starts_with(surname.as_str()))
                .map(|(_, b)| b)
                .collect();
            match matching.as_slice() {
                [only] => group
                    .iter()
                    .for_each(|&i| join(&mut c, only[0], i, &mut stats)),
                [] if names.full.is_empty() && names.honorific.len() == 1 => group[1..]
                    .iter()
                    .for_each(|&i| join(&mut c, group[0], i, &mut stats)),
                _ => {}
            }
        }
        // Mentions without a usable name join only when the phone points at a single person.
        let anchor = match (names.full.len(), names.honorific.len()) {
            (1, _) => names.full.values().next().map(|b| b[0]),
            (0, 1) => names.honorific.values().next().map(|b| b[0]),
            _ => None,
        };
        if let Some(anchor) = anchor {
            for &i in &names.nameless {
                join(&mut c, anchor, i, &mut stats);
            }
        } else if names.full.is_empty() && names.honorific.is_empty() {
            for &i in names.nameless.iter().skip(1) {
                join(&mut c, names.nameless[0], i, &mut stats);
            }
        }
    }
    stats.hubs.sort();
    let roots = (0..mentions.len() as u32).map(|i| c.find(i)).collect();
    (roots, stats)
}

#[derive(Clone, Copy)]
enum Key {
    Resident,
    AppUser,
    Unionid,
}

impl Key {
    fn of(self, m: &Mention) -> Option<&str> {
        match self {
            Key::Resident => m.resident.as_ref().map(|r| r.hash.as_str()),
            Key::AppUser => m.app_user_id.as_deref(),
            Key::Unionid => m.unionid.as_deref(),
        }
    }
}

fn groups<'a>(
    mentions: &'a [Mention],
    key: impl Fn(&'a Mention) -> Option<&'a str>,
) -> HashMap<&'a str, Vec<u32>> {
    let mut g: HashMap<&str, Vec<u32>> = HashMap::new();
    for (i, m) in mentions.iter().enumerate() {
        if let Some(k) = key(m) {
            g.entry(k).or_default().push(i as u32);
        }
    }
    g
}

#[derive(Default)]
struct NameBuckets {
    full: BTreeMap<String, Vec<u32>>,
    honorific: BTreeMap<(String, Option<marque_core::name::Gender>), Vec<u32>>,
    nameless: Vec<u32>,
}

fn name_buckets(mentions: &[Mention], group: &[u32]) -> NameBuckets {
    let mut b = NameBuckets::default();
    for &i in group {
        let m = &mentions[i as usize];
        if !m.name_is_evidence {
            b.nameless.push(i);
        } else if m.name.honorific_only {
            let surname = m.name.surname.clone().unwrap_or_default();
            b.honorific
                .entry((surname, m.name.gender))
                .or_default()
                .push(i);
        } else if m.name.full.is_empty() {
            b.nameless.push(i);
        } else {
            b.full.entry(m.name.full.clone()).or_default().push(i);
        }
    }
    b
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mentions::resident;
    use marque_core::{Role, Source, name};

    fn m(name_raw: &str, phone: Option<&str>, rid: Option<&str>) -> Mention {
        Mention {
            source: Source::Sales,
            role: Role::Buyer,
            record_ids: vec!["r".into()],
            name: name::parse(name_raw),
            name_is_evidence: true,
            phone: phone.map(str::to_string),
            resident: rid.and_then(|r| resident(r, "salt")),
            app_user_id: None,
            unionid: None,
            vin: None,
            city: None,
            first_seen: None,
            last_seen: None,
        }
    }

    fn same(roots: &[u32], a: usize, b: usize) -> bool {
        roots[a] == roots[b]
    }

    #[test]
    fn same_phone_same_name_links_and_household_members_stay_apart() {
        let ms = vec![
            m("王伟", Some("+8613912345678"), None),
            m("王伟", Some("+8613912345678"), None),
            m("李娜", Some("+8613912345678"), None), // his wife, same phone
            m("王先生", Some("+8613912345678"), None),
        ];
        let (roots, _) = link(&ms, &LinkConfig::default());
        assert!(same(&roots, 0, 1));
        assert!(
            !same(&roots, 0, 2),
            "household members sharing a phone are two people"
        );
        assert!(same(&roots, 0, 3), "王先生 joins the one 王 on the phone");
    }

    #[test]
    fn hub_phones_link_nobody() {
        let names = ["张三", "李四", "王五", "赵六", "张三"];
        let ms: Vec<Mention> = names
            .iter()
            .map(|n| m(n, Some("+8613700000001"), None))
            .collect();
        let (roots, stats) = link(&ms, &LinkConfig::default());
        assert!(
            !same(&roots, 0, 4),
            "a salesperson's phone must not join two 张三 buyers"
        );
        assert_eq!(stats.hubs, vec![("+8613700000001".to_string(), 4)]);
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
        let ms = vec![
            m("王伟", Some("+8613912345678"), Some(&a)),
            m("王伟", Some("+8613912345678"), Some(&b)),
            m("王伟", Some("+8613912345678"), None),
        ];
        let (roots, stats) = link(&ms, &LinkConfig::default());
        assert!(!same(&roots, 0, 1));
        assert_eq!(stats.refused_conflicts, 1);
    }
}
