//! Training the Fellegi–Sunter model on one run's units: u from value frequencies and random
//! pairs, m and the prior by EM over the candidate pairs' comparison vectors.

use crate::hashing::{HashMap, fingerprint_of};

use rand::{Rng, SeedableRng};
use rayon::prelude::*;

use crate::compare::{Comparison, NameKind, Vector, compare, name_kind};
use crate::link::LinkConfig;
use crate::masked::{self, holder_key};
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
    let clock = std::time::Instant::now();
    let step = |name: &str| {
        tracing::debug!(
            step = name,
            elapsed_s = clock.elapsed().as_secs_f64(),
            "train"
        )
    };
    let n = units.rep.len();
    let rep = |u: usize| &mentions[units.rep[u] as usize];
    // Name frequencies over units with a full name: gathered on both cores and counted as
    // runs of a parallel sort on the names' fingerprints (comparing the strings themselves
    // made this sort most of training).
    let names: Vec<(u128, &str)> = (0..n)
        .into_par_iter()
        .map(rep)
        .filter(|m| name_kind(m) == NameKind::Full)
        .map(|m| (fingerprint_of(m.name_key().as_str()), m.name_key().as_str()))
        .collect();
    let name_counts: Vec<(&str, u32)> = run_lengths_by(names, |p| p.0)
        .into_iter()
        .map(|((_, name), n)| (name, n))
        .collect();
    step("name counts");
    let named_units = name_counts.iter().map(|c| c.1).sum::<u32>().max(1) as f64;
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
    step("u samples");
    // Only how often each value occurs matters here, so values are counted by fingerprint.
    let counts = |value: fn(&Mention) -> Option<u128>| -> Vec<u32> {
        run_lengths_by(
            (0..n)
                .into_par_iter()
                .filter_map(|i| value(rep(i)))
                .collect(),
            |&v| v,
        )
        .into_iter()
        .map(|c| c.1)
        .collect()
    };
    let phones = counts(|m| m.usable_phone().map(|p| fingerprint_of(&p)));
    let vins = counts(|m| m.vin().map(|v| fingerprint_of(&v)));
    let births = counts(|m| m.resident().map(|r| r.birth_date as u128));
    step("value counts");
    let u = u.finish(&[
        (Comparison::Phone, agreement_probability(phones.iter())),
        (Comparison::Vin, agreement_probability(vins.iter())),
        (
            Comparison::Name,
            agreement_probability(name_counts.iter().map(|c| &c.1)),
        ),
        (Comparison::Birth, agreement_probability(births.iter())),
    ]);
    let histogram: HashMap<Vector, u64> = vectors
        .par_iter()
        .fold(HashMap::default, |mut h: HashMap<Vector, u64>, v| {
            *h.entry(*v).or_default() += 1;
            h
        })
        .reduce(HashMap::default, |mut a, b| {
            for (v, n) in b {
                *a.entry(v).or_default() += n;
            }
            a
        });
    step("histogram");
    let masked_keys = run_lengths_by(
        (0..n)
            .into_par_iter()
            .filter_map(|u| holder_key(rep(u)).map(|(p, s)| masked::index_key(&p, s)))
            .collect(),
        |&k| k,
    )
    .len();
    step("masked keys");
    let mut model = Model::initial(u).fit(&histogram, cfg.em_max_iterations, cfg.em_tolerance);
    model.masked_key_u = (masked_keys > 0).then(|| 1.0 / masked_keys as f64);
    step("em");
    model.name_frequency = name_counts
        .into_iter()
        .map(|(k, n)| (k.to_string(), n as f64 / named_units))
        .collect();
    model
}

/// Each distinct `key` with the first value carrying it and how many do, by a sort on both
/// cores. Keying by a fingerprint keeps string comparisons out of the sort.
fn run_lengths_by<T: Send, K: Ord + Send>(
    mut values: Vec<T>,
    key: impl Fn(&T) -> K + Sync,
) -> Vec<(T, u32)> {
    values.par_sort_unstable_by_key(&key);
    let mut out: Vec<(T, u32)> = Vec::new();
    for v in values {
        match out.last_mut() {
            Some((last, n)) if key(last) == key(&v) => *n += 1,
            _ => out.push((v, 1)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn run_lengths_count_each_distinct_key() {
        assert_eq!(
            super::run_lengths_by(vec!["b", "a", "b", "c", "b"], |&s| s),
            vec![("a", 1), ("b", 3), ("c", 1)]
        );
        assert_eq!(
            super::run_lengths_by(vec![(2, "x"), (1, "y"), (2, "x")], |p| p.0),
            vec![((1, "y"), 1), ((2, "x"), 2)]
        );
        assert!(super::run_lengths_by(Vec::<u8>::new(), |&v| v).is_empty());
    }
}
