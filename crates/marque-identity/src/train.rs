//! Training the Fellegi–Sunter model on one run's units: u from value frequencies and random
//! pairs, m and the prior by EM over the candidate pairs' comparison vectors.

use crate::hashing::{HashMap, HashSet};

use rand::{Rng, SeedableRng};
use rayon::prelude::*;

use crate::compare::{Comparison, NameKind, Vector, compare, name_kind};
use crate::link::LinkConfig;
use crate::masked::holder_key;
use crate::mentions::Mention;
use crate::model::{Model, UCounts, agreement_probability};
use crate::units::Units;

/// Estimates u from random unit pairs (agreement on phone, VIN, name and birth date from value
/// frequencies) and m and the prior by EM over the candidate pairs.
pub(crate) fn train(
    mentions: &[Mention],
    units: &Units,
    vectors: &[Vector],
    cfg: &LinkConfig,
) -> Model {
    let n = units.rep.len();
    let rep = |u: usize| &mentions[units.rep[u] as usize];
    // Name frequencies over units with a full name.
    let mut name_counts: HashMap<&str, u32> = HashMap::default();
    for u in 0..n {
        let m = rep(u);
        if name_kind(m) == NameKind::Full {
            *name_counts.entry(m.name_key.as_str()).or_default() += 1;
        }
    }
    let named_units = name_counts.values().sum::<u32>().max(1) as f64;
    let mut u = UCounts::default();
    if n >= 2 {
        // The pairs are drawn in sequence (the same seed gives the same pairs) and compared on
        // both cores: this is a fixed cost of every run, a tenth of a small one.
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(cfg.seed);
        let pairs: Vec<(usize, usize)> = (0..cfg.u_samples)
            .map(|_| (rng.random_range(0..n), rng.random_range(0..n)))
            .filter(|(a, b)| a != b)
            .collect();
        let sampled: Vec<Vector> = pairs
            .par_iter()
            .map(|&(a, b)| compare(rep(a), rep(b)))
            .collect();
        for v in &sampled {
            u.add(v);
        }
    }
    let mut phones: HashMap<&str, u32> = HashMap::default();
    let mut vins: HashMap<&str, u32> = HashMap::default();
    let mut births: HashMap<i32, u32> = HashMap::default();
    for i in 0..n {
        let m = rep(i);
        if let Some(p) = m.usable_phone() {
            *phones.entry(p).or_default() += 1;
        }
        if let Some(v) = &m.vin {
            *vins.entry(v).or_default() += 1;
        }
        if let Some(r) = &m.resident {
            *births.entry(r.birth_date).or_default() += 1;
        }
    }
    let u = u.finish(&[
        (Comparison::Phone, agreement_probability(phones.values())),
        (Comparison::Vin, agreement_probability(vins.values())),
        (
            Comparison::Name,
            agreement_probability(name_counts.values()),
        ),
        (Comparison::Birth, agreement_probability(births.values())),
    ]);
    let mut histogram: HashMap<Vector, u64> = HashMap::default();
    for v in vectors {
        *histogram.entry(*v).or_default() += 1;
    }
    let masked_keys: HashSet<(String, &str)> = (0..n).filter_map(|u| holder_key(rep(u))).collect();
    let mut model = Model::initial(u).fit(&histogram, cfg.em_max_iterations, cfg.em_tolerance);
    model.masked_key_u = (!masked_keys.is_empty()).then(|| 1.0 / masked_keys.len() as f64);
    model.name_frequency = name_counts
        .into_iter()
        .map(|(k, n)| (k.to_string(), n as f64 / named_units))
        .collect();
    model
}
