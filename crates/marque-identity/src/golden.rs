//! The golden record: each customer's best values chosen from its mentions.

use std::collections::HashMap;

use marque_core::Source;
use marque_core::name::Gender;

use crate::mentions::Mention;

/// A customer's best values.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Golden {
    pub name: Option<String>,
    pub gender: Option<Gender>,
    /// Days since 1970-01-01, from the resident id.
    pub birth_date: Option<i32>,
    pub phone: Option<String>,
    pub resident_id_hash: Option<String>,
    pub city: Option<String>,
    pub app_user_id: Option<String>,
    pub unionid: Option<String>,
    /// Source records × roles that make up the customer.
    pub mention_count: i64,
    /// Distinct sources, sorted, comma-joined.
    pub sources: String,
    pub first_seen: Option<i64>,
    pub last_seen: Option<i64>,
}

/// How much a source is trusted for a person's name: invoices carry names from ID checks.
fn name_priority(s: Source) -> u8 {
    match s {
        Source::Sales => 3,
        Source::AfterSales => 2,
        Source::Marketing => 1,
        Source::App => 0,
    }
}

/// The most frequent value; ties go to the higher priority, then the most recent, then the
/// smaller value, so the choice is deterministic.
fn vote<'a>(items: impl Iterator<Item = (&'a str, u8, i64, usize)>) -> Option<String> {
    let mut tally: HashMap<&str, (usize, u8, i64)> = HashMap::new();
    for (v, prio, t, n) in items {
        let e = tally.entry(v).or_insert((0, 0, i64::MIN));
        e.0 += n;
        e.1 = e.1.max(prio);
        e.2 = e.2.max(t);
    }
    tally
        .into_iter()
        .max_by(|a, b| (a.1).cmp(&b.1).then_with(|| b.0.cmp(a.0)))
        .map(|(v, _)| v.to_string())
}

/// Builds the golden record of the customer made of `members`.
pub fn golden(members: &[&Mention]) -> Golden {
    let t = |m: &Mention| m.last_seen.unwrap_or(i64::MIN);
    let n = |m: &Mention| m.record_ids.len();
    let name = vote(
        members
            .iter()
            .filter(|m| m.name_is_evidence && !m.name.honorific_only && !m.name.full.is_empty())
            .map(|m| (m.name.full.as_str(), name_priority(m.source), t(m), n(m))),
    );
    let phone = vote(
        members
            .iter()
            .filter_map(|m| m.phone.as_deref().map(|p| (p, 0, t(m), n(m)))),
    );
    let city = vote(
        members
            .iter()
            .filter_map(|m| m.city.as_deref().map(|c| (c, 0, t(m), n(m)))),
    );
    let app_user_id = vote(
        members
            .iter()
            .filter_map(|m| m.app_user_id.as_deref().map(|c| (c, 0, t(m), n(m)))),
    );
    let unionid = vote(
        members
            .iter()
            .filter_map(|m| m.unionid.as_deref().map(|c| (c, 0, t(m), n(m)))),
    );
    let resident = members.iter().find_map(|m| m.resident.as_ref());
    let gender = resident
        .map(|r| if r.male { Gender::Male } else { Gender::Female })
        .or_else(|| members.iter().find_map(|m| m.gender()));
    let mut sources: Vec<&str> = members.iter().map(|m| m.source.as_str()).collect();
    sources.sort_unstable();
    sources.dedup();
    Golden {
        name,
        gender,
        birth_date: resident.map(|r| r.birth_date),
        phone,
        resident_id_hash: resident.map(|r| r.hash.clone()),
        city,
        app_user_id,
        unionid,
        mention_count: members.iter().map(|m| m.record_ids.len() as i64).sum(),
        sources: sources.join(","),
        first_seen: members.iter().filter_map(|m| m.first_seen).min(),
        last_seen: members.iter().filter_map(|m| m.last_seen).max(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(source: Source, n: &str, phone: &str, t: i64) -> Mention {
        let mut m = crate::mentions::test_mention(n);
        m.source = source;
        m.record_ids = vec![format!("r{t}")];
        m.name_is_evidence = source != Source::App;
        m.phone = Some(phone.to_string());
        m.first_seen = Some(t);
        m.last_seen = Some(t);
        m
    }

    #[test]
    fn most_frequent_value_wins_and_honorifics_never_become_the_name() {
        let a = m(Source::Marketing, "王先生", "+8613900000001", 1);
        let b = m(Source::Sales, "王伟", "+8613912345678", 2);
        let c = m(Source::AfterSales, "王伟", "+8613912345678", 3);
        let g = golden(&[&a, &b, &c]);
        assert_eq!(g.name.as_deref(), Some("王伟"));
        assert_eq!(g.phone.as_deref(), Some("+8613912345678"));
        assert_eq!(g.gender, Some(Gender::Male));
        assert_eq!(g.sources, "after_sales,marketing,sales");
        assert_eq!(
            (g.first_seen, g.last_seen, g.mention_count),
            (Some(1), Some(3), 3)
        );
    }
}
