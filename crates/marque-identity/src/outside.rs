//! Candidates of the masked-phone and keyless passes that lie outside an incremental run's
//! scope.
//!
//! Both passes link a lead only when its block key points at exactly one customer. An
//! incremental run re-links the customers the new mentions touch, and those customers bring
//! old leads whose key may also be held by customers the run does not load. A full run sees
//! those customers as further candidates and leaves the lead alone; an incremental run that
//! ignored them would link it. Pulling them into the scope moves the boundary one hop further
//! (they bring leads of their own), so the run instead counts, per lead key, the customers
//! outside its scope that hold the key, and the passes add that count to the candidates they
//! see.

use crate::hashing::{HashMap, HashSet};

use compact_str::CompactString;
use datafusion::prelude::SessionContext;
use marque_core::name::Gender;

use crate::link::LinkConfig;
use crate::mentions::Mention;
use crate::model::Model;
use crate::text_column::TextColumn;
use crate::{Result, keyless, masked};

/// A customer outside the scope holding a masked lead's key, with the gender and city of one
/// of its holding mentions (the masked pass counts only holders that fit the lead).
#[derive(Debug, Clone)]
struct MaskedHolder {
    customer: u32,
    gender: Option<Gender>,
    city: Option<CompactString>,
}

/// Customers outside the scope holding each lead key, by pass. Empty for a full run.
#[derive(Debug, Default, Clone)]
pub struct Outside {
    masked: HashMap<String, Vec<MaskedHolder>>,
    keyless: HashMap<String, u32>,
}

fn key(a: &str, b: &str) -> String {
    format!("{a}|{b}")
}

impl Outside {
    /// Customers outside the scope whose full mobile shows `pattern` with `surname` and whose
    /// gender and city fit `lead` ([`masked::compatible`]).
    pub(crate) fn masked(&self, pattern: &str, surname: &str, lead: &Mention) -> u32 {
        if self.masked.is_empty() {
            return 0;
        }
        let Some(rows) = self.masked.get(&key(pattern, surname)) else {
            return 0;
        };
        let mut customers: Vec<u32> = rows
            .iter()
            .filter(|h| masked::compatible(lead, h.gender, h.city.as_deref()))
            .map(|h| h.customer)
            .collect();
        customers.sort_unstable();
        customers.dedup();
        customers.len() as u32
    }

    /// Customers outside the scope holding the name key `name` in `city` with a key.
    pub(crate) fn keyless(&self, name: &str, city: &str) -> u32 {
        if self.keyless.is_empty() {
            return 0;
        }
        self.keyless.get(&key(name, city)).copied().unwrap_or(0)
    }

    /// Counts given directly: (pattern or name, surname or city, customers outside), the
    /// masked holders without a stated gender or city.
    #[cfg(test)]
    pub(crate) fn from_counts(masked: &[(&str, &str, u32)], keyless: &[(&str, &str, u32)]) -> Self {
        Outside {
            masked: masked
                .iter()
                .map(|(a, b, n)| {
                    let holders = (0..*n)
                        .map(|customer| MaskedHolder {
                            customer,
                            gender: None,
                            city: None,
                        })
                        .collect();
                    (key(a, b), holders)
                })
                .collect(),
            keyless: keyless.iter().map(|(a, b, n)| (key(a, b), *n)).collect(),
        }
    }

    /// One masked holder outside the scope, in `city`.
    #[cfg(test)]
    pub(crate) fn from_masked_holder(pattern: &str, surname: &str, city: Option<&str>) -> Self {
        let holder = MaskedHolder {
            customer: 0,
            gender: None,
            city: city.map(Into::into),
        };
        Outside {
            masked: [(key(pattern, surname), vec![holder])]
                .into_iter()
                .collect(),
            keyless: HashMap::default(),
        }
    }

    /// Number of lead keys with at least one holder outside the scope.
    pub fn len(&self) -> usize {
        self.masked.len() + self.keyless.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Counts the holders outside the scope (customers not in `affected`) of the lead keys of
    /// the scope's mentions `ms`, whose hubs are marked; `hubs` are the hub phones stored by
    /// earlier runs. The conditions mirror the passes' holders: a stated surname and a usable
    /// full mobile for the masked pass (`masked::holder_key`), a full name, a city and a key
    /// for the keyless pass. One streaming pass over `mentions`, judged row by row in Rust
    /// (two SQL aggregations with anti-joins took about 3 s at 1M persons).
    pub async fn load(
        ctx: &SessionContext,
        ms: &[Mention],
        affected: &HashSet<String>,
        hubs: &HashSet<String>,
        model: &Model,
        cfg: &LinkConfig,
    ) -> Result<Outside> {
        let mut scan = HolderScan::new(affected, hubs);
        for m in ms {
            if let Some((pattern, surname)) = masked::lead_key(m) {
                scan.masked_keys.insert(key(&pattern, surname));
            }
            if let Some((name, city)) = keyless::lead_key(m, model, cfg) {
                scan.keyless_keys.insert(key(name, city));
            }
        }
        if scan.masked_keys.is_empty() && scan.keyless_keys.is_empty() {
            return Ok(Outside::default());
        }
        let sql = format!("SELECT {} FROM mentions", HolderRow::COLUMNS.join(", "));
        crate::query::for_each_batch(ctx, "mentions", &sql, |cols, rows| {
            for r in 0..rows {
                scan.row(&HolderRow::at(cols, r));
            }
        })
        .await?;
        Ok(scan.finish())
    }
}

/// The `mentions` columns a holder is judged on, of one row.
#[derive(Debug, Default, Clone, Copy)]
struct HolderRow<'a> {
    customer_id: Option<&'a str>,
    source: Option<&'a str>,
    surname: Option<&'a str>,
    phone: Option<&'a str>,
    phone_pattern: Option<&'a str>,
    gender: Option<&'a str>,
    city: Option<&'a str>,
    name: Option<&'a str>,
    resident_id_hash: Option<&'a str>,
    app_user_id: Option<&'a str>,
    unionid: Option<&'a str>,
    vin: Option<&'a str>,
}

impl<'a> HolderRow<'a> {
    const COLUMNS: [&'static str; 12] = [
        "customer_id",
        "source",
        "surname",
        "phone",
        "phone_pattern",
        "gender",
        "city",
        "name",
        "resident_id_hash",
        "app_user_id",
        "unionid",
        "vin",
    ];

    fn at(cols: &'a [TextColumn], r: usize) -> Self {
        let v = |i: usize| cols[i].get(r);
        HolderRow {
            customer_id: v(0),
            source: v(1),
            surname: v(2),
            phone: v(3),
            phone_pattern: v(4),
            gender: v(5),
            city: v(6),
            name: v(7),
            resident_id_hash: v(8),
            app_user_id: v(9),
            unionid: v(10),
            vin: v(11),
        }
    }
}

/// The lead keys sought and the holders found so far.
struct HolderScan<'a> {
    affected: &'a HashSet<String>,
    hubs: &'a HashSet<String>,
    masked_keys: HashSet<String>,
    keyless_keys: HashSet<String>,
    /// Customer id → number, for the customers found holding a key.
    customers: HashMap<String, u32>,
    /// (key, customer, gender code, city), each once.
    masked: HashSet<(String, u32, Option<String>, Option<String>)>,
    /// (key, customer), each once.
    keyless: HashSet<(String, u32)>,
    key: String,
}

impl<'a> HolderScan<'a> {
    fn new(affected: &'a HashSet<String>, hubs: &'a HashSet<String>) -> Self {
        HolderScan {
            affected,
            hubs,
            masked_keys: HashSet::default(),
            keyless_keys: HashSet::default(),
            customers: HashMap::default(),
            masked: HashSet::default(),
            keyless: HashSet::default(),
            key: String::new(),
        }
    }

    /// Judges one `mentions` row: a customer outside the scope holding a sought key.
    fn row(&mut self, row: &HolderRow) {
        let Some(customer) = row.customer_id else {
            return;
        };
        if row.source == Some("app") || row.source.is_none() || self.affected.contains(customer) {
            return;
        }
        let usable_phone = row.phone.is_some_and(|p| !self.hubs.contains(p));
        if !self.masked_keys.is_empty()
            && usable_phone
            && let Some(surname) = row.surname
        {
            self.key.clear();
            self.key.push_str(row.phone_pattern.unwrap_or_default());
            self.key.push('|');
            self.key.push_str(surname);
            if self.masked_keys.contains(self.key.as_str()) {
                let c = self.customer(customer);
                let holder = (
                    self.key.clone(),
                    c,
                    row.gender.map(str::to_string),
                    row.city.map(str::to_string),
                );
                self.masked.insert(holder);
            }
        }
        let keyed = usable_phone
            || row.resident_id_hash.is_some()
            || row.app_user_id.is_some()
            || row.unionid.is_some()
            || row.vin.is_some();
        if !self.keyless_keys.is_empty()
            && keyed
            && let (Some(name), Some(city)) = (row.name, row.city)
        {
            self.key.clear();
            push_lowercase(&mut self.key, name);
            self.key.push('|');
            self.key.push_str(city);
            if self.keyless_keys.contains(self.key.as_str()) {
                let c = self.customer(customer);
                self.keyless.insert((self.key.clone(), c));
            }
        }
    }

    fn customer(&mut self, id: &str) -> u32 {
        let next = self.customers.len() as u32;
        *self.customers.entry(id.to_string()).or_insert(next)
    }

    fn finish(self) -> Outside {
        let mut masked: HashMap<String, Vec<MaskedHolder>> = HashMap::default();
        for (k, customer, gender, city) in self.masked {
            masked.entry(k).or_default().push(MaskedHolder {
                customer,
                gender: crate::output::gender_from_code(gender.as_deref()),
                city: city.map(Into::into),
            });
        }
        let mut keyless: HashMap<String, u32> = HashMap::default();
        for (k, _) in self.keyless {
            *keyless.entry(k).or_default() += 1;
        }
        Outside { masked, keyless }
    }
}

/// Appends `s` lower-cased as SQL's `lower` does (`str::to_lowercase`), without allocating
/// for the common text that has no upper case (Chinese names).
fn push_lowercase(out: &mut String, s: &str) {
    let changes = |c: char| {
        let mut l = c.to_lowercase();
        l.next() != Some(c) || l.next().is_some()
    };
    if s.chars().any(changes) {
        out.push_str(&s.to_lowercase());
    } else {
        out.push_str(s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row<'a>(customer: &'a str, phone: &'a str, name: &'a str) -> HolderRow<'a> {
        HolderRow {
            customer_id: Some(customer),
            source: Some("sales"),
            surname: name.chars().next().map(|_| &name[..3]),
            phone: Some(phone),
            phone_pattern: Some("139****5678"),
            gender: Some("M"),
            city: Some("深圳"),
            name: Some(name),
            ..HolderRow::default()
        }
    }

    #[test]
    fn only_customers_outside_the_scope_with_a_usable_key_count_as_holders() {
        let affected: HashSet<String> = ["C-in".to_string()].into_iter().collect();
        let hubs: HashSet<String> = ["+8613900005678".to_string()].into_iter().collect();
        let mut scan = HolderScan::new(&affected, &hubs);
        scan.masked_keys.insert(key("139****5678", "王"));
        scan.keyless_keys.insert(key("wang xiaoming", "深圳"));
        scan.keyless_keys.insert(key("王小明", "深圳"));
        let rows = [
            row("C-out", "+8613912345678", "王小明"),
            // Same customer again: one holder.
            row("C-out", "+8613912345678", "王小明"),
            row("C-other", "+8613911115678", "王小明"),
            // Inside the scope: the run sees it itself.
            row("C-in", "+8613912345678", "王小明"),
            // A hub phone is no key: neither a masked holder nor keyed for the keyless pass.
            row("C-hub", "+8613900005678", "王小明"),
            HolderRow {
                source: Some("app"),
                ..row("C-app", "+8613912345678", "王小明")
            },
            HolderRow {
                name: Some("Wang Xiaoming"),
                surname: None,
                ..row("C-latin", "+8613922225678", "王小明")
            },
        ];
        for r in &rows {
            scan.row(r);
        }
        let outside = scan.finish();
        let lead = crate::mention::test_mention("王先生");
        assert_eq!(outside.masked("139****5678", "王", &lead), 2);
        assert_eq!(outside.keyless("王小明", "深圳"), 2);
        assert_eq!(
            outside.keyless("wang xiaoming", "深圳"),
            1,
            "the stored name is lower-cased as the lead's name key is"
        );
    }

    #[test]
    fn lowercasing_matches_str_to_lowercase() {
        for s in ["王小明", "Wang XiaoMing", "ǅemal", "ＡＢＣ", ""] {
            let mut out = String::new();
            push_lowercase(&mut out, s);
            assert_eq!(out, s.to_lowercase(), "{s}");
        }
    }
}
