//! `after_sales/repair_orders.csv`: workshop visits, UTF-8 with LF. The person who brings the
//! car (the sender) is often a household member or a driver rather than the owner.

use std::fmt::Write as _;
use std::path::Path;

use marque_core::{Role, Source};
use rand::Rng;

use crate::GenError;
use crate::dirt::DirtRates;
use crate::geo;
use crate::noise;
use crate::out::{Out, RecordCsv};
use crate::rng::{chance, weighted};
use crate::time::{self, Day};
use crate::truth::Truth;
use crate::world::World;

/// The header, exactly as the contract says.
pub const HEADER: &str = "ro_no,ro_date,vin,plate,owner_name,owner_phone,sender_name,sender_phone,mileage_km,labour_amount,parts_amount,service_type,dealer_code";

/// Relative path of the file under the output directory.
pub const PATH: &str = "after_sales/repair_orders.csv";

const SERVICE_TYPES: &[&str] = &["保养", "维修", "钣喷", "索赔", "检测"];
const SERVICE_WEIGHTS: &[u32] = &[55, 20, 10, 8, 7];

/// One workshop visit as the world decided it.
pub struct Visit<'a> {
    pub day: Day,
    pub vin: &'a str,
    pub plate: &'a str,
    pub owner: u32,
    /// Who brought the car; `None` when the sender fields are left empty.
    pub sender: Option<u32>,
    pub mileage: u32,
    pub dealer: usize,
}

/// Writes repair orders and their mentions.
pub struct RepairWriter {
    out: Out,
    csv: RecordCsv,
    /// Order numbers per (dealer, year).
    seq: Vec<u32>,
}

impl RepairWriter {
    pub fn create(dir: &Path) -> Result<RepairWriter, GenError> {
        let mut out = Out::create(dir.join(PATH))?;
        out.bytes(HEADER.as_bytes())?;
        out.bytes(b"\n")?;
        let csv = RecordCsv::new(csv::Terminator::Any(b'\n'));
        Ok(RepairWriter {
            out,
            csv,
            seq: vec![0; geo::dealer_count() * 16],
        })
    }

    /// Writes one visit with its dirt.
    pub fn write<R: Rng + ?Sized>(
        &mut self,
        rng: &mut R,
        dirt: &DirtRates,
        world: &World,
        truth: &mut Truth,
        v: &Visit,
    ) -> Result<(), GenError> {
        let date = time::date(v.day);
        let year = chrono::Datelike::year(&date);
        let slot = v.dealer * 16 + (year - 2019).clamp(0, 15) as usize;
        self.seq[slot] += 1;
        let dealer = geo::dealer_code(v.dealer);
        let ro_no = format!("RO{year}{dealer}{:06}", self.seq[slot]);
        let mut ro_date = String::with_capacity(19);
        time::iso(&mut ro_date, v.day);
        let secs = rng.random_range(8 * 3600..18 * 3600);
        let _ = write!(
            ro_date,
            " {:02}:{:02}:{:02}",
            secs / 3600,
            secs / 60 % 60,
            secs % 60
        );

        let owner = &world.persons[v.owner as usize];
        let household = world.household_of(v.owner);
        let owner_name = noise::name(rng, dirt, &owner.name);
        let owner_number = if household.first != v.owner && chance(rng, dirt.household_phone) {
            world.persons[household.first as usize].phone_on(v.day)
        } else {
            owner.phone_on(v.day)
        };
        let owner_phone = noise::phone(rng, dirt, owner_number, false);
        let (sender_name, sender_phone) = match v.sender {
            None => (String::new(), String::new()),
            Some(s) if s == v.owner => (owner_name.clone(), owner_phone.clone()),
            Some(s) => {
                let sp = &world.persons[s as usize];
                (
                    noise::name(rng, dirt, &sp.name),
                    noise::phone(rng, dirt, sp.phone_on(v.day), false),
                )
            }
        };
        let service = weighted(rng, SERVICE_WEIGHTS);
        let (labour, parts): (u64, u64) = match service {
            0 => (
                rng.random_range(150..600) * 100,
                rng.random_range(20_000..150_000),
            ),
            1 => (
                rng.random_range(200..3000) * 100,
                rng.random_range(10_000..800_000),
            ),
            2 => (
                rng.random_range(500..4000) * 100,
                rng.random_range(20_000..600_000),
            ),
            3 => (0, 0),
            _ => (rng.random_range(0..300) * 100, 0),
        };
        let broken = chance(rng, dirt.broken_row).then(|| rng.random_range(0..2u8));
        let labour = if broken == Some(0) {
            ["待定", "N/A", "1O0.00", "#VALUE!", "abc"][rng.random_range(0..5)].to_string()
        } else {
            noise::money(labour)
        };
        let parts = noise::money(parts);
        let mileage = v.mileage.to_string();
        let mut fields: Vec<&str> = vec![
            &ro_no,
            &ro_date,
            v.vin,
            v.plate,
            &owner_name,
            &owner_phone,
            &sender_name,
            &sender_phone,
            &mileage,
            &labour,
            &parts,
            SERVICE_TYPES[service],
            &dealer,
        ];
        if broken == Some(1) {
            fields.pop();
        }
        let line = self.csv.record(&fields, &self.out.path)?;
        self.out.row(line)?;
        let b = broken.is_some();
        truth.mention(Source::AfterSales, &ro_no, Role::Owner, v.owner, b)?;
        if let Some(s) = v.sender {
            truth.mention(Source::AfterSales, &ro_no, Role::Sender, s, b)?;
        }
        Ok(())
    }

    pub fn finish(self) -> Result<(std::path::PathBuf, u64), GenError> {
        self.out.finish()
    }
}
