//! The golden record: each customer's best values chosen from its mentions by per-field
//! survivorship rules, with the source record each value came from.

use crate::hashing::HashMap;

use marque_core::Source;
use marque_core::name::Gender;
use serde::Deserialize;

use crate::mentions::Mention;

/// How a field's value survives when a customer's mentions disagree. Every rule skips empty
/// values; ties fall through to frequency, then source priority, then recency, then the
/// smaller value, so the choice is deterministic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// The value the most source records carry.
    MostFrequent,
    /// The value seen last.
    MostRecent,
    /// The value from the most trusted source (`source_priority`), even when rarer.
    SourcePriority,
    /// The most complete value (the longest), e.g. a full name over a surname alone.
    NonEmpty,
}

/// Survivorship per field (`[identity.golden]` in marque.toml).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Survivorship {
    /// Sources from most to least trusted; sources not listed rank last.
    pub source_priority: Vec<Source>,
    pub name: Rule,
    pub phone: Rule,
    pub city: Rule,
    pub app_user_id: Rule,
    pub unionid: Rule,
    /// Gender from a resident id always wins; this rule picks among honorific-derived ones.
    pub gender: Rule,
}

impl Default for Survivorship {
    fn default() -> Self {
        Self {
            // Invoices carry names checked against an ID card; app profiles are self-typed.
            source_priority: vec![
                Source::Sales,
                Source::AfterSales,
                Source::Marketing,
                Source::App,
            ],
            name: Rule::SourcePriority,
            phone: Rule::MostRecent,
            city: Rule::MostRecent,
            app_user_id: Rule::MostFrequent,
            unionid: Rule::MostFrequent,
            gender: Rule::MostFrequent,
        }
    }
}

impl Survivorship {
    fn priority(&self, s: Source) -> u8 {
        let n = self.source_priority.len();
        let rank = self
            .source_priority
            .iter()
            .position(|&p| p == s)
            .unwrap_or(n);
        (n + 1 - rank) as u8
    }
}

/// A chosen value and the mention (source record × role) it came from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sourced<T> {
    pub value: T,
    /// `source:record_id:role` of the most recent mention carrying the value.
    pub from: String,
}

/// A customer's best values.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Golden {
    pub name: Option<Sourced<String>>,
    pub gender: Option<Sourced<Gender>>,
    /// Days since 1970-01-01, from the resident id; `from` names the mention carrying it.
    pub birth_date: Option<Sourced<i32>>,
    pub phone: Option<Sourced<String>>,
    pub resident_id_hash: Option<String>,
    pub city: Option<Sourced<String>>,
    pub app_user_id: Option<Sourced<String>>,
    pub unionid: Option<Sourced<String>>,
    /// Source records × roles that make up the customer.
    pub mention_count: i64,
    /// Distinct sources, sorted, comma-joined.
    pub sources: String,
    pub first_seen: Option<i64>,
    pub last_seen: Option<i64>,
}

/// What one candidate value has going for it across the customer's mentions.
struct Tally<'a> {
    records: usize,
    priority: u8,
    latest: i64,
    /// The latest mention carrying the value: its lineage.
    from: &'a Mention,
}

fn lineage(m: &Mention) -> String {
    format!(
        "{}:{}:{}",
        m.source.as_str(),
        m.key_record(),
        m.role.as_str()
    )
}

/// The order ties between mentions are broken in.
fn identity(m: &Mention) -> (&str, &str, &crate::compact::RecordId) {
    (m.source.as_str(), m.role.as_str(), &m.record)
}

fn seen(m: &Mention) -> i64 {
    m.last_seen().unwrap_or(i64::MIN)
}

/// Picks the surviving value of one field among `(value, mention)` candidates.
fn survive<'a, T: Ord + Clone + std::hash::Hash>(
    rule: Rule,
    policy: &Survivorship,
    candidates: impl Iterator<Item = (T, &'a Mention)>,
    len: impl Fn(&T) -> usize,
) -> Option<Sourced<T>> {
    let mut tally: HashMap<T, Tally<'a>> = HashMap::default();
    for (v, m) in candidates {
        let p = policy.priority(m.source);
        let e = tally.entry(v).or_insert(Tally {
            records: 0,
            priority: 0,
            latest: i64::MIN,
            from: m,
        });
        e.records += m.records as usize;
        e.priority = e.priority.max(p);
        // Among equally recent mentions the first by (source, role, record) is the lineage,
        // whatever order the members come in: the last one seen depended on the order the
        // raw files were listed in, which changes between runs.
        let newer = match seen(m).cmp(&e.latest) {
            std::cmp::Ordering::Greater => true,
            std::cmp::Ordering::Equal => identity(m) < identity(e.from),
            std::cmp::Ordering::Less => false,
        };
        if newer {
            e.latest = seen(m);
            e.from = m;
        }
    }
    let key = |v: &T, t: &Tally| {
        let primary = match rule {
            Rule::MostFrequent => t.records as i64,
            Rule::MostRecent => t.latest,
            Rule::SourcePriority => t.priority as i64,
            Rule::NonEmpty => len(v) as i64,
        };
        (primary, t.records, t.priority, t.latest)
    };
    tally
        .into_iter()
        .max_by(|(va, a), (vb, b)| key(va, a).cmp(&key(vb, b)).then_with(|| vb.cmp(va)))
        .map(|(value, t)| Sourced {
            value,
            from: lineage(t.from),
        })
}

/// Builds the golden record of the customer made of `members`.
pub fn golden(members: &[&Mention], policy: &Survivorship) -> Golden {
    // Candidates are tallied by reference; only each field's survivor is copied.
    let text = |rule: Rule, get: fn(&Mention) -> Option<&str>| {
        survive(
            rule,
            policy,
            members.iter().filter_map(|&m| get(m).map(|v| (v, m))),
            |s: &&str| s.chars().count(),
        )
        .map(|s| Sourced {
            value: s.value.to_string(),
            from: s.from,
        })
    };
    let name = text(policy.name, |m| {
        (m.name_is_evidence && !m.name.honorific_only && !m.name.full.is_empty())
            .then_some(m.name.full.as_str())
    });
    // Packed phones compare as integers: their survivor is chosen among the texts.
    let phone = survive(
        policy.phone,
        policy,
        members
            .iter()
            .filter_map(|&m| m.phone().map(|p| (p.text(), m))),
        |s| s.len(),
    )
    .map(|s| Sourced {
        value: s.value.to_string(),
        from: s.from,
    });
    let city = text(policy.city, |m| m.city());
    let app_user_id = text(policy.app_user_id, |m| m.app_user_id());
    let unionid = text(policy.unionid, |m| m.unionid());
    // A resident id is checked evidence: its birth date and gender beat anything typed.
    let resident = members
        .iter()
        .filter(|m| m.resident().is_some())
        .max_by_key(|m| (seen(m), std::cmp::Reverse(identity(m))));
    let gender = match resident {
        Some(m) => m.resident().map(|r| Sourced {
            value: if r.male { Gender::Male } else { Gender::Female },
            from: lineage(m),
        }),
        None => survive(
            policy.gender,
            policy,
            members
                .iter()
                .filter_map(|&m| m.name.gender.map(|g| (gender_rank(g), m))),
            |_| 1,
        )
        .map(|s| Sourced {
            value: if s.value == 0 {
                Gender::Male
            } else {
                Gender::Female
            },
            from: s.from,
        }),
    };
    let mut sources: Vec<&str> = members.iter().map(|m| m.source.as_str()).collect();
    sources.sort_unstable();
    sources.dedup();
    Golden {
        name,
        gender,
        birth_date: resident.and_then(|m| {
            m.resident().map(|r| Sourced {
                value: r.birth_date,
                from: lineage(m),
            })
        }),
        phone,
        resident_id_hash: resident.and_then(|m| m.resident().map(|r| r.hash().to_string())),
        city,
        app_user_id,
        unionid,
        mention_count: members.iter().map(|m| i64::from(m.records)).sum(),
        sources: sources.join(","),
        first_seen: members.iter().filter_map(|m| m.first_seen()).min(),
        last_seen: members.iter().filter_map(|m| m.last_seen()).max(),
    }
}

/// Gender as an orderable key for [`survive`].
fn gender_rank(g: Gender) -> u8 {
    match g {
        Gender::Male => 0,
        Gender::Female => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(source: Source, n: &str, phone: &str, t: i64) -> Mention {
        let mut m = crate::mentions::test_mention(n);
        m.source = source;
        m.record = format!("r{t}").into();
        m.name_is_evidence = source != Source::App;
        m.set_phone(Some(phone));
        m.seen = crate::compact::SeenSpan::at(Some(t));
        m
    }

    fn value<T: Clone>(s: &Option<Sourced<T>>) -> Option<T> {
        s.as_ref().map(|s| s.value.clone())
    }

    #[test]
    fn honorifics_never_become_the_name_and_lineage_names_the_latest_record() {
        let a = m(Source::Marketing, "王先生", "+8613900000001", 1);
        let b = m(Source::Sales, "王伟", "+8613912345678", 2);
        let c = m(Source::AfterSales, "王伟", "+8613912345678", 3);
        let g = golden(&[&a, &b, &c], &Survivorship::default());
        assert_eq!(value(&g.name).as_deref(), Some("王伟"));
        assert_eq!(g.name.as_ref().unwrap().from, "after_sales:r3:buyer");
        assert_eq!(value(&g.phone).as_deref(), Some("+8613912345678"));
        assert_eq!(value(&g.gender), Some(Gender::Male));
        assert_eq!(g.sources, "after_sales,marketing,sales");
        assert_eq!(
            (g.first_seen, g.last_seen, g.mention_count),
            (Some(1), Some(3), 3)
        );
    }

    #[test]
    fn equally_recent_mentions_give_the_same_lineage_in_any_member_order() {
        // A lead re-sent in a later batch: same values, same time, another record id.
        let mut a = m(Source::Marketing, "刘欣", "+8613473078177", 5);
        a.record = "L000010801".into();
        let mut b = m(Source::Marketing, "刘欣", "+8613473078177", 5);
        b.record = "B2L000010801".into();
        let older = m(Source::Sales, "刘欣", "+8613473078177", 4);
        let policy = Survivorship::default();
        let one = golden(&[&older, &a, &b], &policy);
        let other = golden(&[&b, &older, &a], &policy);
        for g in [&one, &other] {
            assert_eq!(
                g.name.as_ref().unwrap().from,
                "marketing:B2L000010801:buyer"
            );
            assert_eq!(
                g.phone.as_ref().unwrap().from,
                "marketing:B2L000010801:buyer"
            );
        }
    }

    #[test]
    fn each_rule_picks_its_own_survivor() {
        // Two repair orders say 王伟 (older), one newer lead says 王伟强, the invoice says 王维.
        let a = m(Source::AfterSales, "王伟", "+8613900000001", 1);
        let b = m(Source::AfterSales, "王伟", "+8613900000001", 2);
        let c = m(Source::Sales, "王维", "+8613900000002", 3);
        let d = m(Source::Marketing, "王伟强", "+8613900000003", 4);
        let members = [&a, &b, &c, &d];
        let pick = |rule: Rule| {
            let policy = Survivorship {
                name: rule,
                phone: rule,
                ..Survivorship::default()
            };
            let g = golden(&members, &policy);
            (value(&g.name).unwrap(), value(&g.phone).unwrap())
        };
        assert_eq!(
            pick(Rule::MostFrequent),
            ("王伟".into(), "+8613900000001".into())
        );
        assert_eq!(
            pick(Rule::MostRecent),
            ("王伟强".into(), "+8613900000003".into())
        );
        assert_eq!(
            pick(Rule::SourcePriority),
            ("王维".into(), "+8613900000002".into())
        );
        assert_eq!(pick(Rule::NonEmpty).0, "王伟强");
    }

    #[test]
    fn source_priority_follows_the_configured_order() {
        let a = m(Source::Sales, "王伟", "+8613900000001", 1);
        let b = m(Source::App, "王维", "+8613900000002", 2);
        let policy = Survivorship {
            source_priority: vec![Source::App, Source::Sales],
            ..Survivorship::default()
        };
        let mut b = b;
        b.name_is_evidence = true;
        let g = golden(&[&a, &b], &policy);
        assert_eq!(value(&g.name).as_deref(), Some("王维"));
        assert_eq!(g.name.unwrap().from, "app:r2:buyer");
    }

    #[test]
    fn survivorship_reads_from_toml() {
        let p: Survivorship = toml::from_str(
            "source_priority = [\"app\", \"sales\"]\nname = \"most_recent\"\ncity = \"non_empty\"",
        )
        .unwrap();
        assert_eq!(p.source_priority, vec![Source::App, Source::Sales]);
        assert_eq!(
            (p.name, p.city, p.phone),
            (Rule::MostRecent, Rule::NonEmpty, Rule::MostRecent)
        );
        assert!(toml::from_str::<Survivorship>("name = \"loudest\"").is_err());
    }
}
