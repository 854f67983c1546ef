//! # marque-gen: synthetic automotive customer data with ground truth
//!
//! Every Marque benchmark measures against data made here: the four sources of a Chinese car
//! maker (dealer DMS sales, after-sales repair orders, marketing leads, app events), written in
//! the formats and with the dirt the real systems have, plus the truth of who is who.
//!
//! ## Design
//! - **A world first, then lives.** [`world`] draws households of persons (names, birth dates,
//!   valid resident ids, mobiles that change, city and address, churn day, app account) and the
//!   dealers with their salespeople. [`life`] then walks the persons in index order and draws
//!   what each one does: lead episodes, purchases and repurchases, resales to a person of
//!   another household, workshop visits of every owner (brought by the owner, a household member
//!   or a driver), and app activity that decays before churn.
//! - **Determinism.** Every household and every person has its own ChaCha8 stream derived from
//!   the seed and its index ([`rng`]); records are written in generation order and ids are
//!   counters in that order, so the same seed gives byte-identical files.
//! - **Dirt is rendering.** The world is clean; the writers ([`sales`], [`after_sales`],
//!   [`leads`], [`app`]) apply the rates of [`DirtRates`] when they render a value ([`noise`]).
//!   All rates at zero give clean data.
//! - **Truth for every record.** Each written record (broken ones too, flagged) gets one row per
//!   person it mentions in `truth/mentions.csv` ([`truth`]), with the roles of
//!   [`marque_core::Role`]; ownership periods and the persons are written alongside.
//! - **Streaming.** Only the persons are held in memory; records go straight to buffered files.
//!
//! ## Output under `out_dir`
//! `sales/dms_sales.csv` (GBK, CRLF), `after_sales/repair_orders.csv`, `marketing/leads.jsonl`,
//! `app/app_events-NNNNN.parquet`, `truth/{mentions,ownership,persons}.csv`, `manifest.json`.

pub mod after_sales;
pub mod app;
pub mod dirt;
mod error;
pub mod geo;
pub mod leads;
pub mod life;
pub mod names;
pub mod noise;
mod out;
pub mod rng;
pub mod sales;
pub mod time;
pub mod truth;
pub mod vehicles;
pub mod world;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

pub use dirt::DirtRates;
pub use error::GenError;

/// The version written into `manifest.json`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// What to generate.
#[derive(Debug, Clone)]
pub struct GenConfig {
    /// Number of persons in the world (0 is allowed: files with headers only).
    pub persons: u64,
    /// Seed of every random stream.
    pub seed: u64,
    /// Dirt and life-event rates.
    pub dirt: DirtRates,
    /// Chance that a purchase is preceded by a lead episode (default 0.5).
    pub lead_before_purchase: f64,
    /// Share of persons who neither buy nor leave leads; they appear as household members,
    /// drivers and second owners (default 0.03).
    pub passive_share: f64,
}

impl Default for GenConfig {
    fn default() -> Self {
        GenConfig {
            persons: 1000,
            seed: 42,
            dirt: DirtRates::default(),
            lead_before_purchase: 0.5,
            passive_share: 0.03,
        }
    }
}

/// What [`generate`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenSummary {
    pub persons: u64,
    pub households: u64,
    pub vehicles: u64,
    /// Data rows (header excluded) per file, by path relative to the output directory.
    pub files: BTreeMap<String, u64>,
}

impl fmt::Display for GenSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} persons in {} households, {} vehicles",
            self.persons, self.households, self.vehicles
        )?;
        for (path, rows) in &self.files {
            writeln!(f, "  {path:<40} {rows:>12} rows")?;
        }
        Ok(())
    }
}

fn relative(out_dir: &Path, p: &Path) -> String {
    p.strip_prefix(out_dir)
        .unwrap_or(p)
        .to_string_lossy()
        .replace('\\', "/")
}

/// Generates the world for `cfg` and writes every file under `out_dir`.
pub fn generate(cfg: &GenConfig, out_dir: &Path) -> Result<GenSummary, GenError> {
    cfg.dirt.validate()?;
    std::fs::create_dir_all(out_dir).map_err(|e| GenError::io(out_dir, e))?;
    let world = world::World::build(cfg);
    let mut sinks = life::Sinks {
        sales: sales::SalesWriter::create(out_dir)?,
        repairs: after_sales::RepairWriter::create(out_dir)?,
        leads: leads::LeadWriter::create(out_dir)?,
        app: app::AppWriter::create(out_dir)?,
        truth: truth::Truth::create(out_dir)?,
        vehicles: 0,
    };
    let model_weights = vehicles::model_weights();
    for p in 0..world.persons.len() as u32 {
        life::live(cfg, &world, &model_weights, p, &mut sinks)?;
    }
    let mut files = BTreeMap::new();
    let life::Sinks {
        sales,
        repairs,
        leads,
        app,
        truth,
        vehicles,
    } = sinks;
    for (path, rows) in [
        sales.finish()?,
        repairs.finish()?,
        leads.finish()?,
        truth.mentions.finish()?,
        truth.ownership.finish()?,
    ] {
        files.insert(relative(out_dir, &path), rows);
    }
    for (path, rows) in app.finish()? {
        files.insert(relative(out_dir, &path), rows);
    }
    let (path, rows) = truth::write_persons(out_dir, &world, cfg.seed)?;
    files.insert(relative(out_dir, &path), rows);

    let summary = GenSummary {
        persons: world.persons.len() as u64,
        households: world.households.len() as u64,
        vehicles,
        files,
    };
    write_manifest(cfg, &summary, out_dir)?;
    Ok(summary)
}

#[derive(serde::Serialize)]
struct Manifest<'a> {
    generator: &'static str,
    version: &'static str,
    seed: u64,
    persons: u64,
    households: u64,
    vehicles: u64,
    lead_before_purchase: f64,
    passive_share: f64,
    dirt: &'a DirtRates,
    files: &'a BTreeMap<String, u64>,
}

fn write_manifest(cfg: &GenConfig, s: &GenSummary, out_dir: &Path) -> Result<(), GenError> {
    let path = out_dir.join("manifest.json");
    let m = Manifest {
        generator: "marque-gen",
        version: VERSION,
        seed: cfg.seed,
        persons: s.persons,
        households: s.households,
        vehicles: s.vehicles,
        lead_before_purchase: cfg.lead_before_purchase,
        passive_share: cfg.passive_share,
        dirt: &cfg.dirt,
        files: &s.files,
    };
    let mut text = serde_json::to_string_pretty(&m).map_err(|e| GenError::json(&path, e))?;
    text.push('\n');
    std::fs::write(&path, text).map_err(|e| GenError::io(&path, e))
}
