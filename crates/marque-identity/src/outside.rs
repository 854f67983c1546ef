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
//!
//! The weak-name guard (`weak.rs`) has the same boundary: a nameless lead or an app
//! nickname on a phone or VIN links only when the full-name holders of that phone or VIN are
//! one person, and some of those holders may lie outside the scope. For the phones and VINs
//! of the scope's weak-name mentions the run reads those holders back from `mentions`, so that
//! the guard scores the weak unit against them as a full run would. (A resold car's VIN is
//! held by its next owner, who shares no phone with the first and stays out of the scope.)

use crate::hashing::{HashMap, HashSet};

use compact_str::CompactString;
use datafusion::prelude::SessionContext;
use marque_core::name::Gender;

use crate::compact::{PackedPhone, PackedVin, PhoneKind, RecordId, SeenSpan};
use crate::compare::{NameKind, name_kind};
use crate::link::LinkConfig;
use crate::mention::RareEvidence;
use crate::mentions::Mention;
use crate::model::Model;
use crate::name_cache::SharedName;
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

/// A full-name mention outside the scope sharing a phone or VIN with a weak-name mention in
/// it, rebuilt from its `mentions` row to be compared as the full run compares it. The table
/// keeps no birth date, so that comparison is missing (weak-name mentions rarely state one).
#[derive(Debug, Clone)]
pub(crate) struct KeyHolder {
    pub customer: u32,
    pub mention: Mention,
    /// The records the row folds (`record_count`): what it adds to a full run's unit size.
    pub weight: u32,
}

/// Customers outside the scope holding each lead key, by pass. Empty for a full run.
#[derive(Debug, Default, Clone)]
pub struct Outside {
    masked: HashMap<String, Vec<MaskedHolder>>,
    keyless: HashMap<String, u32>,
    /// Full-name holders of the weak-name mentions' phones and VINs, one per `mentions` row.
    key_holders: Vec<KeyHolder>,
    /// Indices into `key_holders` by the weak-name phone the holder shares.
    by_phone: HashMap<PackedPhone, Vec<u32>>,
    /// Indices into `key_holders` by the weak-name VIN the holder shares.
    by_vin: HashMap<PackedVin, Vec<u32>>,
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

    /// The full-name mentions outside the scope on `phone` or `vin` (a weak-name mention's
    /// usable phone and VIN), each once, in scan order.
    pub(crate) fn key_holders(
        &self,
        phone: Option<PackedPhone>,
        vin: Option<PackedVin>,
    ) -> Vec<&KeyHolder> {
        let on_phone = phone.and_then(|p| self.by_phone.get(&p));
        let on_vin = vin.and_then(|v| self.by_vin.get(&v));
        let mut at: Vec<u32> = on_phone
            .into_iter()
            .chain(on_vin)
            .flatten()
            .copied()
            .collect();
        // A row holding both the phone and the VIN is one holder, as a full run's candidate
        // pairs are deduplicated across blocks.
        at.sort_unstable();
        at.dedup();
        at.into_iter()
            .map(|i| &self.key_holders[i as usize])
            .collect()
    }

    /// Whether any weak-name mention's phone or VIN has holders outside the scope.
    pub(crate) fn has_key_holders(&self) -> bool {
        !self.key_holders.is_empty()
    }

    /// One holder outside the scope (customer `customer`) of `phone`; none unless `name` is
    /// a full name.
    #[cfg(test)]
    pub(crate) fn from_phone_holder(customer: u32, name: &str, weight: u32, phone: &str) -> Self {
        Self::from_key_holder(customer, name, weight, phone, None)
    }

    /// One holder outside the scope (customer `customer`, on `phone`) found through `vin`, or
    /// through `phone` when `vin` is `None`; none unless `name` is a full name.
    #[cfg(test)]
    pub(crate) fn from_key_holder(
        customer: u32,
        name: &str,
        weight: u32,
        phone: &str,
        vin: Option<&str>,
    ) -> Self {
        let mut out = Outside::default();
        if let Some(mention) = holder_mention(name, None, Some(phone), false, vin, None) {
            match vin.and_then(PackedVin::pack) {
                Some(v) => out.by_vin.insert(v, vec![0]),
                None => out
                    .by_phone
                    .insert(mention.phone().expect("a phone"), vec![0]),
            };
            out.key_holders.push(KeyHolder {
                customer,
                mention,
                weight,
            });
        }
        out
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
            ..Outside::default()
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
            ..Outside::default()
        }
    }

    /// Number of lead keys and weak-name phones and VINs with at least one holder outside the
    /// scope.
    pub fn len(&self) -> usize {
        self.masked.len() + self.keyless.len() + self.by_phone.len() + self.by_vin.len()
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
            if name_kind(m) != NameKind::Full {
                scan.weak_phones.extend(m.usable_phone());
                scan.weak_vins.extend(m.vin());
            }
        }
        if scan.masked_keys.is_empty()
            && scan.keyless_keys.is_empty()
            && scan.weak_phones.is_empty()
            && scan.weak_vins.is_empty()
        {
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
    record_count: Option<&'a str>,
}

impl<'a> HolderRow<'a> {
    const COLUMNS: [&'static str; 13] = [
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
        "CAST(record_count AS VARCHAR)",
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
            record_count: v(12),
        }
    }
}

/// Whether a `mentions` row holds a key, as a unit's signature counts them
/// (`units::signature`): a phone that is no known hub, or any of `others` (resident id hash,
/// app user id, unionid, VIN). A row without one may be a keyless lead.
pub(crate) fn row_is_keyed(
    phone: Option<&str>,
    others: [Option<&str>; 4],
    hubs: &HashSet<String>,
) -> bool {
    phone.is_some_and(|p| !hubs.contains(p)) || others.iter().any(Option::is_some)
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
    /// The usable phones of the scope's weak-name mentions.
    weak_phones: HashSet<PackedPhone>,
    /// The VINs of the scope's weak-name mentions.
    weak_vins: HashSet<PackedVin>,
    /// Their full-name holders, one per `mentions` row, with the phone and VIN found on.
    key_holders: Vec<(Option<PackedPhone>, Option<PackedVin>, KeyHolder)>,
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
            weak_phones: HashSet::default(),
            weak_vins: HashSet::default(),
            key_holders: Vec::new(),
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
        let others = [row.resident_id_hash, row.app_user_id, row.unionid, row.vin];
        let keyed = row_is_keyed(row.phone, others, self.hubs);
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
        self.key_holder(customer, row, usable_phone);
    }

    /// A full-name row on a weak-name mention's usable phone (the phone block) or VIN (the
    /// VIN block): a partner the weak-name guard counts.
    fn key_holder(&mut self, customer: &str, row: &HolderRow, usable_phone: bool) {
        let phone = (!self.weak_phones.is_empty() && usable_phone)
            .then(|| row.phone.and_then(PackedPhone::pack))
            .flatten()
            .filter(|p| self.weak_phones.contains(p));
        let vin = (!self.weak_vins.is_empty())
            .then(|| row.vin.and_then(PackedVin::pack))
            .flatten()
            .filter(|v| self.weak_vins.contains(v));
        let Some(name) = row.name.filter(|_| phone.is_some() || vin.is_some()) else {
            return;
        };
        let gender = crate::output::gender_from_code(row.gender);
        let hub = row.phone.is_some() && !usable_phone;
        if let Some(mention) = holder_mention(name, gender, row.phone, hub, row.vin, row.city) {
            let holder = KeyHolder {
                customer: self.customer(customer),
                mention,
                weight: row.record_count.and_then(|n| n.parse().ok()).unwrap_or(1),
            };
            self.key_holders.push((phone, vin, holder));
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
        let mut out = Outside {
            masked,
            keyless,
            ..Outside::default()
        };
        for (phone, vin, holder) in self.key_holders {
            let at = out.key_holders.len() as u32;
            if let Some(p) = phone {
                out.by_phone.entry(p).or_default().push(at);
            }
            if let Some(v) = vin {
                out.by_vin.entry(v).or_default().push(at);
            }
            out.key_holders.push(holder);
        }
        out
    }
}

/// A `mentions` row's evidence as a mention, when its name is a full name (only those are a
/// weak-name mention's partners). App rows never get here: their names are not evidence.
/// A hub phone is kept (comparisons read it as any phone) and marked.
fn holder_mention(
    name: &str,
    gender: Option<Gender>,
    phone: Option<&str>,
    hub: bool,
    vin: Option<&str>,
    city: Option<&str>,
) -> Option<Mention> {
    let mut m = Mention {
        source: marque_core::Source::Sales,
        role: marque_core::Role::Buyer,
        record: RecordId::default(),
        records: 1,
        name: SharedName::parse_with_gender(name, gender),
        name_is_evidence: true,
        phone: None,
        phone_kind: PhoneKind::Key,
        rare: RareEvidence::boxed(None, None, vin.and_then(PackedVin::pack)),
        city: None,
        seen: SeenSpan::at(None),
    };
    if name_kind(&m) != NameKind::Full {
        return None;
    }
    m.set_phone(phone);
    m.set_phone_hub(hub);
    m.set_city(city);
    Some(m)
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
    fn a_weak_mentions_phone_holders_outside_the_scope_are_its_full_name_rows() {
        let affected: HashSet<String> = ["C-in".to_string()].into_iter().collect();
        let hubs = HashSet::default();
        let mut scan = HolderScan::new(&affected, &hubs);
        let phone = PackedPhone::pack("+8613912345678").expect("packs");
        scan.weak_phones.insert(phone);
        let rows = [
            HolderRow {
                record_count: Some("3"),
                // A VIN no weak mention in the scope holds.
                vin: Some("LXCA2E7CXPA468659"),
                ..row("C-out", "+8613912345678", "王小明")
            },
            row("C-out", "+8613912345678", "王小明"),
            HolderRow {
                gender: Some("F"),
                ..row("C-other", "+8613912345678", "李娜")
            },
            // Inside the scope, on another phone, or not a full name: not a holder.
            row("C-in", "+8613912345678", "王小明"),
            row("C-out", "+8613911115678", "王小明"),
            row("C-sir", "+8613912345678", "王先生"),
        ];
        for r in &rows {
            scan.row(r);
        }
        let outside = scan.finish();
        let holders = outside.key_holders(Some(phone), None);
        let seen: Vec<(&str, Option<Gender>)> = holders
            .iter()
            .map(|h| (h.mention.name.full.as_str(), h.mention.gender()))
            .collect();
        assert_eq!(
            seen,
            [
                ("王小明", Some(Gender::Male)),
                ("王小明", Some(Gender::Male)),
                ("李娜", Some(Gender::Female))
            ],
            "one holder per row, with the stored gender"
        );
        let weights: Vec<u32> = holders.iter().map(|h| h.weight).collect();
        assert_eq!(weights, [3, 1, 1], "a row weighs the records it folds");
        let vin = PackedVin::pack("LXCA2E7CXPA468659");
        assert!(
            outside.key_holders(None, vin).is_empty(),
            "no weak mention holds the VIN: its holder is filed under the phone only"
        );
        assert_eq!(holders[0].customer, holders[1].customer);
        assert_ne!(holders[0].customer, holders[2].customer);
        assert_eq!(holders[0].mention.phone(), Some(phone));
        assert_eq!(holders[0].mention.city(), Some("深圳"));
    }

    #[test]
    fn a_weak_mentions_vin_holders_outside_the_scope_count_once_whatever_their_phone() {
        let affected: HashSet<String> = ["C-in".to_string()].into_iter().collect();
        let hubs: HashSet<String> = ["+8613900005678".to_string()].into_iter().collect();
        let mut scan = HolderScan::new(&affected, &hubs);
        let vin_text = "LXCA2E7CXPA468659";
        let vin = PackedVin::pack(vin_text).expect("packs");
        let phone = PackedPhone::pack("+8613912345678").expect("packs");
        scan.weak_vins.insert(vin);
        scan.weak_phones.insert(phone);
        let on_vin = |customer, phone, name| HolderRow {
            vin: Some(vin_text),
            ..row(customer, phone, name)
        };
        let rows = [
            // The next owner of the car, on a phone of their own.
            on_vin("C-next", "+8613911115678", "李娜"),
            // On a hub phone: still the VIN's holder.
            on_vin("C-hub", "+8613900005678", "张伟"),
            // On the weak mention's phone and VIN: one holder, not two.
            on_vin("C-both", "+8613912345678", "王小明"),
            // Inside the scope, another VIN, or no full name: not a holder.
            on_vin("C-in", "+8613911115678", "李娜"),
            HolderRow {
                vin: Some("LXCA2B7E8KA021417"),
                ..row("C-other", "+8613911115678", "李娜")
            },
            on_vin("C-sir", "+8613911115678", "李先生"),
        ];
        for r in &rows {
            scan.row(r);
        }
        let outside = scan.finish();
        let names = |phone, vin| -> Vec<String> {
            outside
                .key_holders(phone, vin)
                .iter()
                .map(|h| h.mention.name.full.to_string())
                .collect()
        };
        assert_eq!(names(None, Some(vin)), ["李娜", "张伟", "王小明"]);
        assert_eq!(names(Some(phone), None), ["王小明"]);
        assert_eq!(
            names(Some(phone), Some(vin)),
            ["李娜", "张伟", "王小明"],
            "a row on both keys is one holder"
        );
        let hub = &outside.key_holders(None, Some(vin))[1];
        assert!(
            hub.mention.phone().is_some(),
            "the hub phone is still compared"
        );
        assert_eq!(hub.mention.usable_phone(), None, "but is no key");
        assert_eq!(outside.len(), 2, "one phone and one VIN with holders");
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
