//! Life events of one person, drawn from the person's own random stream: lead episodes,
//! purchases and repurchases, resales, workshop visits of every owner, and app activity that
//! decays before churn. Each event is handed to the writer of its source as it happens.

use chrono::Datelike;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::after_sales::{RepairWriter, Visit};
use crate::app::{AppUser, AppWriter};
use crate::geo::{self, CITIES};
use crate::leads::{CHANNEL_WEIGHTS, Lead, LeadWriter};
use crate::rng::{Stream, chance, stream, weighted};
use crate::sales::{Sale, SalesWriter};
use crate::time::{self, Day, END, START_UNIX_LOCAL};
use crate::truth::Truth;
use crate::vehicles::{self, MODELS};
use crate::world::{Kind, World, unionid};
use crate::{GenConfig, GenError};

/// Every writer, plus the vehicle counter that makes VINs unique.
pub struct Sinks {
    pub sales: SalesWriter,
    pub repairs: RepairWriter,
    pub leads: LeadWriter,
    pub app: AppWriter,
    pub truth: Truth,
    pub vehicles: u64,
}

struct Ctx<'a> {
    cfg: &'a GenConfig,
    world: &'a World,
    rng: ChaCha8Rng,
    model_weights: &'a [u32],
}

/// Generates everything person `p` does.
pub fn live(
    cfg: &GenConfig,
    world: &World,
    model_weights: &[u32],
    p: u32,
    s: &mut Sinks,
) -> Result<(), GenError> {
    let mut c = Ctx {
        cfg,
        world,
        rng: stream(cfg.seed, Stream::Person, p as u64),
        model_weights,
    };
    let person = &world.persons[p as usize];
    let city = world.city_of(p);
    let limit = person.active_until();
    let mut first_activity: Option<Day> = None;
    let mut owns_nev = false;
    match person.kind {
        Kind::Passive => {}
        Kind::LeadOnly => {
            for _ in 0..c.rng.random_range(1..=3) {
                if limit < 2 {
                    break;
                }
                let start = c.rng.random_range(0..limit - 1);
                let end = (start + c.rng.random_range(1..60)).min(limit);
                let model = weighted(&mut c.rng, c.model_weights);
                let dealer = geo::dealer_index(city, c.rng.random_range(0..CITIES[city].dealers));
                c.lead_episode(p, start, end, model, dealer, s)?;
                first_activity = Some(first_activity.map_or(start, |f| f.min(start)));
            }
        }
        Kind::Buyer => {
            if limit > 60 {
                let mut d = c.rng.random_range(0..limit - 30);
                first_activity = Some(d);
                for n in 0..3 {
                    owns_nev |= c.purchase(p, city, d, s)?;
                    if n == 2 || !chance(&mut c.rng, cfg.dirt.repurchase) {
                        break;
                    }
                    d += c.rng.random_range(365..1460);
                    if d >= limit - 30 {
                        break;
                    }
                }
            }
        }
    }
    if person.app_user != 0
        && let Some(start) = first_activity
    {
        c.app_life(p, start, owns_nev, s)?;
    }
    Ok(())
}

impl Ctx<'_> {
    /// Leads on one or several channels between `start` and `end` (exclusive).
    fn lead_episode(
        &mut self,
        p: u32,
        start: Day,
        end: Day,
        model: usize,
        dealer: usize,
        s: &mut Sinks,
    ) -> Result<(), GenError> {
        let dirt = &self.cfg.dirt;
        let n = if chance(&mut self.rng, dirt.multi_channel_leads) {
            self.rng.random_range(2..=4)
        } else {
            1
        };
        let mut channels: Vec<usize> = Vec::with_capacity(n);
        for _ in 0..n * 4 {
            if channels.len() == n {
                break;
            }
            let ch = weighted(&mut self.rng, CHANNEL_WEIGHTS);
            if !channels.contains(&ch) {
                channels.push(ch);
            }
        }
        let mut days: Vec<Day> = channels
            .iter()
            .map(|_| {
                if end > start {
                    self.rng.random_range(start..end)
                } else {
                    start
                }
            })
            .collect();
        days.sort_unstable();
        for (ch, day) in channels.into_iter().zip(days) {
            let model = if chance(&mut self.rng, 0.2) {
                weighted(&mut self.rng, self.model_weights)
            } else {
                model
            };
            let lead = Lead {
                day: day.clamp(0, END - 1),
                person: p,
                channel: ch,
                model,
                dealer,
            };
            s.leads
                .write(&mut self.rng, dirt, self.world, &mut s.truth, &lead)?;
        }
        Ok(())
    }

    /// A new-vehicle purchase on day `d`, its leads, owners and workshop visits. Returns
    /// whether the vehicle is a new-energy one.
    fn purchase(&mut self, p: u32, city: usize, d: Day, s: &mut Sinks) -> Result<bool, GenError> {
        let cfg = self.cfg;
        let dirt = &cfg.dirt;
        let world = self.world;
        let dealer = geo::dealer_index(city, self.rng.random_range(0..CITIES[city].dealers));
        let model = weighted(&mut self.rng, self.model_weights);
        if chance(&mut self.rng, cfg.lead_before_purchase) {
            let start = (d - self.rng.random_range(7..90)).max(0);
            self.lead_episode(p, start, d.max(start + 1), model, dealer, s)?;
        }
        let m = &MODELS[model];
        let price =
            m.price_min + self.rng.random_range(0..=(m.price_max - m.price_min) / 100) * 100;
        let date = time::date(d);
        let model_year = date.year() + (date.month() >= 10) as i32;
        let vin = vehicles::vin(model, model_year, s.vehicles);
        s.vehicles += 1;
        let salesperson = self
            .rng
            .random_range(0..world.salespeople[dealer].len().max(1));
        let sale = Sale {
            day: d,
            buyer: p,
            vin: &vin,
            model,
            dealer,
            salesperson,
            price,
        };
        s.sales
            .write(&mut self.rng, dirt, world, &mut s.truth, &sale)?;
        let plate = geo::plate(&mut self.rng, city, m.new_energy);

        // Owners: the buyer, then perhaps a second owner from another household.
        let mut owners: Vec<(u32, Day, Option<Day>, usize)> = vec![(p, d, None, dealer)];
        if chance(&mut self.rng, dirt.resale) {
            let r = d + self.rng.random_range(365..1825);
            if r < END - 30
                && let Some(q) = self.other_person(p, true)
            {
                owners[0].2 = Some(r);
                let qc = world.city_of(q);
                let qd = geo::dealer_index(qc, self.rng.random_range(0..CITIES[qc].dealers));
                owners.push((q, r, None, qd));
            }
        }
        let km_per_day = self.rng.random_range(15.0..70.0);
        let mut mileage: u32 = self.rng.random_range(5..80);
        for &(owner, from, to, home_dealer) in &owners {
            s.truth.owned(&vin, owner, from, to)?;
            let o = &world.persons[owner as usize];
            let until = to.unwrap_or(END).min(o.active_until());
            let per_year: f64 = self.rng.random_range(1.0..2.0);
            let driver = self.other_person(owner, false).unwrap_or(owner);
            let mut t = from + self.rng.random_range(20..120);
            while t < until {
                let keep = match o.churn {
                    Some(c) if c - t < 365 => (c - t) as f64 / 365.0,
                    _ => 1.0,
                };
                if self.rng.random::<f64>() < keep {
                    let km = ((t - d) as f64 * km_per_day) as u32 + self.rng.random_range(0..300);
                    mileage = km.max(mileage + self.rng.random_range(1..50));
                    let sender = self.sender(owner, driver);
                    let dealer = if chance(&mut self.rng, 0.1) {
                        let oc = world.city_of(owner);
                        geo::dealer_index(oc, self.rng.random_range(0..CITIES[oc].dealers))
                    } else {
                        home_dealer
                    };
                    let visit = Visit {
                        day: t,
                        vin: &vin,
                        plate: &plate,
                        owner,
                        sender,
                        mileage,
                        dealer,
                    };
                    s.repairs
                        .write(&mut self.rng, dirt, world, &mut s.truth, &visit)?;
                }
                let gap = -(1.0 - self.rng.random::<f64>()).ln() * 365.0 / per_year;
                t += (gap as Day).clamp(14, 2000);
            }
        }
        Ok(m.new_energy)
    }

    /// A random person other than `p` (outside `p`'s household when `other_household`).
    fn other_person(&mut self, p: u32, other_household: bool) -> Option<u32> {
        let n = self.world.persons.len() as u32;
        let home = self.world.persons[p as usize].household;
        for _ in 0..8 {
            let q = self.rng.random_range(0..n);
            if q != p && (!other_household || self.world.persons[q as usize].household != home) {
                return Some(q);
            }
        }
        None
    }

    /// Who brings the car: usually the owner, else a household member or the driver.
    fn sender(&mut self, owner: u32, driver: u32) -> Option<u32> {
        let dirt = &self.cfg.dirt;
        if chance(&mut self.rng, dirt.sender_missing) {
            return None;
        }
        if !chance(&mut self.rng, dirt.sender_not_owner) {
            return Some(owner);
        }
        let h = self.world.household_of(owner);
        if h.size > 1 && self.rng.random_bool(0.6) {
            let mut q = h.first + self.rng.random_range(0..h.size - 1);
            if q >= owner {
                q += 1;
            }
            return Some(q);
        }
        Some(driver)
    }

    /// App events from registration (around `start`) until churn, decaying before it.
    fn app_life(
        &mut self,
        p: u32,
        start: Day,
        owns_nev: bool,
        s: &mut Sinks,
    ) -> Result<(), GenError> {
        let dirt = &self.cfg.dirt;
        let person = &self.world.persons[p as usize];
        let reg = (start + self.rng.random_range(-60..90)).clamp(0, END - 1);
        let until = person.active_until();
        if reg >= until {
            return Ok(());
        }
        let registered_mobile = if chance(&mut self.rng, dirt.app_mobile_missing) {
            None
        } else {
            let n = person.phone_on(reg);
            Some(if chance(&mut self.rng, dirt.app_mobile_e164) {
                format!("+86{n}")
            } else {
                n.to_string()
            })
        };
        let nickname = if chance(&mut self.rng, dirt.pinyin_nickname) {
            person.name.pinyin()
        } else {
            person.name.nickname(&mut self.rng, person.male)
        };
        let user = AppUser {
            person: p,
            app_user_id: format!("U{}", person.app_user),
            unionid: person.has_unionid.then(|| unionid(self.cfg.seed, p)),
            registered_mobile,
            nickname: Some(nickname),
        };
        let micros = |rng: &mut ChaCha8Rng, d: Day| {
            let secs = rng.random_range(7 * 3600..24 * 3600) as i64;
            (START_UNIX_LOCAL + d as i64 * 86_400 + secs) * 1_000_000
                + rng.random_range(0..1_000_000)
        };
        let t0 = micros(&mut self.rng, reg);
        s.app.event(&mut s.truth, &user, "register", t0, None)?;
        let per_month = 0.03 + self.rng.random::<f64>().powi(2) * 0.3;
        let mut t = reg as f64;
        loop {
            t += -(1.0 - self.rng.random::<f64>()).ln() * 30.0 / per_month;
            let d = t as Day;
            if d >= until {
                break;
            }
            let keep = match person.churn {
                Some(c) if c - d < 270 => (c - d) as f64 / 270.0,
                _ => 1.0,
            };
            if self.rng.random::<f64>() >= keep {
                continue;
            }
            let base = micros(&mut self.rng, d);
            s.app.event(&mut s.truth, &user, "login", base, None)?;
            for k in 0..self.rng.random_range(0..3) {
                let (kind, amount) = match weighted(&mut self.rng, &[35, 5, 15, 8, 20, 12]) {
                    0 => ("browse_model", None),
                    1 => ("book_test_drive", None),
                    2 => ("book_service", None),
                    3 => ("purchase", Some(self.rng.random_range(99..3000) as f64)),
                    4 if owns_nev => (
                        "charge",
                        Some(self.rng.random_range(1500..15000) as f64 / 100.0),
                    ),
                    4 => ("browse_model", None),
                    _ => ("share", None),
                };
                let at = base + (k as i64 + 1) * self.rng.random_range(5_000_000..600_000_000);
                s.app.event(&mut s.truth, &user, kind, at, amount)?;
            }
        }
        Ok(())
    }
}
