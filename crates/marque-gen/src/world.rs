//! The world: households of persons (names, birth dates, resident ids, phones, city, churn,
//! app accounts) and the dealers with their salespeople. Built once, before any record.

use std::collections::HashSet;

use chrono::Datelike;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::GenConfig;
use crate::geo::{self, Address, CITIES};
use crate::names::Name;
use crate::rng::{Stream, chance, mix, stream, weighted};
use crate::time::{Day, END};

/// What a person does in the market.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Buys at least one new car (may leave leads before).
    Buyer,
    /// Leaves leads, never buys.
    LeadOnly,
    /// Appears only as a household member, driver or second owner.
    Passive,
}

/// One person, stored compactly; everything else is rendered on demand.
#[derive(Debug, Clone)]
pub struct Person {
    pub household: u32,
    pub name: Name,
    pub male: bool,
    pub birth: chrono::NaiveDate,
    pub resident_id: [u8; 18],
    /// The first mobile, and the second one when the person changed numbers.
    pub phones: [u64; 2],
    /// The day the second mobile replaces the first.
    pub phone_change: Option<Day>,
    pub kind: Kind,
    /// App user number (`U` + 9 digits), 0 when the person does not use the app.
    pub app_user: u32,
    pub has_unionid: bool,
    /// The day the person leaves the brand.
    pub churn: Option<Day>,
}

impl Person {
    /// The mobile in use on a day.
    pub fn phone_on(&self, d: Day) -> u64 {
        match self.phone_change {
            Some(c) if d >= c => self.phones[1],
            _ => self.phones[0],
        }
    }

    /// The resident id as text.
    pub fn resident_id(&self) -> &str {
        std::str::from_utf8(&self.resident_id).unwrap_or("")
    }

    /// The last day of activity (exclusive).
    pub fn active_until(&self) -> Day {
        self.churn.unwrap_or(END).min(END)
    }
}

/// Persons sharing an address (and sometimes a phone).
#[derive(Debug, Clone)]
pub struct Household {
    pub first: u32,
    pub size: u32,
    pub address: Address,
}

impl Household {
    pub fn city(&self) -> usize {
        self.address.city as usize
    }
}

/// A salesperson: a fixed name and phone, reused across many sales.
#[derive(Debug, Clone)]
pub struct Salesperson {
    pub name: String,
    pub phone: u64,
}

/// Everything drawn before the records: persons, households, dealers.
pub struct World {
    pub persons: Vec<Person>,
    pub households: Vec<Household>,
    /// Salespeople per global dealer index.
    pub salespeople: Vec<Vec<Salesperson>>,
}

/// `P00000123`.
pub fn person_id(p: u32) -> String {
    format!("P{p:08}")
}

/// The WeChat unionid of a person: `o` + 27 URL-safe characters, derived from seed and index.
pub fn unionid(seed: u64, p: u32) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut s = String::with_capacity(28);
    s.push('o');
    let mut h = mix(seed ^ 0x005E_ED0F_0E1D) ^ p as u64;
    for i in 0..27 {
        if i % 10 == 0 {
            h = mix(h.wrapping_add(i as u64));
        }
        s.push(ALPHABET[(h & 63) as usize] as char);
        h >>= 6;
    }
    s
}

impl World {
    /// Draws the world for a configuration.
    pub fn build(cfg: &GenConfig) -> World {
        let n = cfg.persons.min(u32::MAX as u64 - 1) as u32;
        let dirt = &cfg.dirt;
        // Share of active persons who buy, so that `lead_never_buys` of the lead-leaving
        // persons are lead-only: L = r·q·B / (1 − r).
        let r = dirt.lead_never_buys.clamp(0.0, 0.95);
        let q = cfg.lead_before_purchase.clamp(0.0, 1.0);
        let buyer_share = 1.0 / (1.0 + r * q / (1.0 - r));
        let city_weights = geo::city_weights();

        let mut sizes = stream(cfg.seed, Stream::HouseholdSizes, 0);
        let mut persons = Vec::with_capacity(n as usize);
        let mut households = Vec::new();
        let mut app_users = 0u32;
        // Identifiers are unique per person: a shared phone or id is always dirt, never chance.
        let mut used_ids: HashSet<u64> = HashSet::with_capacity(n as usize);
        let mut used_phones: HashSet<u64> = HashSet::with_capacity(n as usize * 2);
        let mut fresh_phone = |rng: &mut ChaCha8Rng| loop {
            let m = geo::mobile(rng);
            if used_phones.insert(m) {
                break m;
            }
        };
        while (persons.len() as u32) < n {
            let h = households.len() as u32;
            let first = persons.len() as u32;
            let size = (weighted(&mut sizes, &[35, 35, 20, 10]) as u32 + 1).min(n - first);
            let mut rng = stream(cfg.seed, Stream::Household, h as u64);
            let city = weighted(&mut rng, &city_weights) as u8;
            let address = Address::random(&mut rng, city);
            let region = CITIES[city as usize].region;
            let mut head: Option<(Name, bool, i32)> = None;
            for m in 0..size {
                let (male, year, surname) = match (m, head) {
                    (0, _) | (_, None) => {
                        (rng.random_bool(0.55), rng.random_range(1955..=2001), None)
                    }
                    (1, Some((_, hm, hy))) => {
                        (!hm, (hy + rng.random_range(-5..=5)).min(2001), None)
                    }
                    (_, Some((hn, hm, hy))) => {
                        if hy <= 1972 {
                            // a grown child
                            let s = if hm { Some(hn.surname) } else { None };
                            (
                                rng.random_bool(0.5),
                                (hy + rng.random_range(22..=32)).min(2001),
                                s,
                            )
                        } else {
                            // a parent: the father shares the surname, the mother keeps hers
                            let father = rng.random_bool(0.5);
                            let year = (hy - rng.random_range(24..=32)).max(1930);
                            (father, year, if father { Some(hn.surname) } else { None })
                        }
                    }
                };
                let name = Name::random(&mut rng, male, surname);
                if m == 0 {
                    head = Some((name, male, year));
                }
                let birth = chrono::NaiveDate::from_ymd_opt(
                    year,
                    rng.random_range(1..=12),
                    rng.random_range(1..=28),
                )
                .unwrap_or_default();
                let date_key =
                    (birth.year() as u64 * 100 + birth.month() as u64) * 100 + birth.day() as u64;
                let mut region = region;
                let mut seq = rng.random_range(0..500u32) * 2 + male as u32;
                for attempt in 0.. {
                    if used_ids.insert((region as u64 * 100_000_000 + date_key) * 1000 + seq as u64)
                    {
                        break;
                    }
                    seq = (seq + 2) % 1000;
                    if attempt % 500 == 499 {
                        region += 1; // a neighbouring county once all sequences of the day are taken
                    }
                }
                let rid = marque_core::resident_id::build(region, birth, seq);
                let mut resident_id = [b'0'; 18];
                if rid.len() == 18 {
                    resident_id.copy_from_slice(rid.as_bytes());
                }
                let phones = [fresh_phone(&mut rng), fresh_phone(&mut rng)];
                let phone_change =
                    chance(&mut rng, dirt.phone_change).then(|| rng.random_range(60..END - 60));
                let kind = if birth.year() > 2003 || chance(&mut rng, cfg.passive_share) {
                    Kind::Passive
                } else if chance(&mut rng, buyer_share) {
                    Kind::Buyer
                } else {
                    Kind::LeadOnly
                };
                let adoption = match kind {
                    Kind::Buyer => dirt.app_adoption,
                    Kind::LeadOnly => dirt.app_adoption / 2.0,
                    Kind::Passive => 0.0,
                };
                let app_user = if chance(&mut rng, adoption) {
                    app_users += 1;
                    100_000_000 + app_users
                } else {
                    0
                };
                let has_unionid = app_user != 0 && !chance(&mut rng, dirt.app_unionid_missing);
                let churn = chance(&mut rng, dirt.churn).then(|| rng.random_range(540..END));
                persons.push(Person {
                    household: h,
                    name,
                    male,
                    birth,
                    resident_id,
                    phones,
                    phone_change,
                    kind,
                    app_user,
                    has_unionid,
                    churn,
                });
            }
            households.push(Household {
                first,
                size,
                address,
            });
        }

        let salespeople = (0..geo::dealer_count())
            .map(|d| {
                let mut rng = stream(cfg.seed, Stream::Dealer, d as u64);
                let k = rng.random_range(4..=8);
                (0..k)
                    .map(|_| {
                        let male = rng.random_bool(0.5);
                        Salesperson {
                            name: Name::random(&mut rng, male, None).plain(),
                            phone: fresh_phone(&mut rng),
                        }
                    })
                    .collect()
            })
            .collect();
        World {
            persons,
            households,
            salespeople,
        }
    }

    /// The household of a person.
    pub fn household_of(&self, p: u32) -> &Household {
        &self.households[self.persons[p as usize].household as usize]
    }

    /// The city index of a person.
    pub fn city_of(&self, p: u32) -> usize {
        self.household_of(p).city()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn households_partition_persons_and_ids_are_valid() {
        let cfg = GenConfig {
            persons: 2000,
            ..GenConfig::default()
        };
        let w = World::build(&cfg);
        assert_eq!(w.persons.len(), 2000);
        let mut next = 0;
        for h in &w.households {
            assert_eq!(h.first, next);
            assert!(h.size >= 1);
            next += h.size;
        }
        assert_eq!(next, 2000);
        for p in &w.persons {
            let id = marque_core::resident_id::parse(p.resident_id()).expect("valid resident id");
            assert_eq!(id.birth_date, p.birth);
            assert_eq!(id.male, p.male);
        }
        let ids: HashSet<&str> = w.persons.iter().map(|p| p.resident_id()).collect();
        assert_eq!(ids.len(), w.persons.len(), "resident ids are unique");
        let phones: HashSet<u64> = w.persons.iter().flat_map(|p| p.phones).collect();
        assert_eq!(phones.len(), 2 * w.persons.len(), "phones are unique");
        assert!(w.persons.iter().any(|p| p.kind == Kind::Buyer));
        assert!(w.persons.iter().any(|p| p.kind == Kind::LeadOnly));
        assert_eq!(unionid(1, 5).len(), 28);
        assert_ne!(unionid(1, 5), unionid(1, 6));
    }
}
