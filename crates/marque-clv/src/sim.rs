//! Simulation of customers from a BG/NBD + Gamma-Gamma process with a fixed seed, for the
//! benchmark and for recovery tests.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::bgnbd::BgNbd;
use crate::gamma_gamma::GammaGamma;
use crate::rfm::{Rfm, TimeUnit};

/// Customers simulated per random stream (the result does not depend on the thread count).
const STREAM: usize = 65_536;

fn uniform_open(rng: &mut impl Rng) -> f64 {
    1.0 - rng.random::<f64>()
}

fn normal(rng: &mut impl Rng) -> f64 {
    let u = uniform_open(rng);
    let v = rng.random::<f64>();
    (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
}

/// Gamma(shape, scale 1) by Marsaglia & Tsang.
pub fn gamma_variate(rng: &mut impl Rng, shape: f64) -> f64 {
    if shape < 1.0 {
        return gamma_variate(rng, shape + 1.0) * uniform_open(rng).powf(1.0 / shape);
    }
    let d = shape - 1.0 / 3.0;
    let c = 1.0 / (9.0 * d).sqrt();
    loop {
        let x = normal(rng);
        let v = (1.0 + c * x).powi(3);
        if v <= 0.0 {
            continue;
        }
        let u = uniform_open(rng);
        if u.ln() < 0.5 * x * x + d - d * v + d * v.ln() {
            return d * v;
        }
    }
}

/// `n` customers whose first purchase fell uniformly on one of the `max_age_days` days before
/// the calibration end; purchase days are whole days. Deterministic for a given seed.
pub fn simulate(
    n: usize,
    seed: u64,
    bg: &BgNbd,
    gg: &GammaGamma,
    max_age_days: u32,
    unit: TimeUnit,
) -> Vec<Rfm> {
    let per_unit = unit.days();
    let chunks: Vec<Vec<Rfm>> = (0..n.div_ceil(STREAM))
        .into_par_iter()
        .map(|chunk| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            rng.set_stream(chunk as u64);
            let len = STREAM.min(n - chunk * STREAM);
            (0..len)
                .map(|_| one(&mut rng, bg, gg, max_age_days, per_unit))
                .collect()
        })
        .collect();
    chunks.into_iter().flatten().collect()
}

fn one(rng: &mut ChaCha8Rng, bg: &BgNbd, gg: &GammaGamma, max_age_days: u32, per_unit: f64) -> Rfm {
    let age_days = rng.random_range(1..=max_age_days.max(1));
    let t = f64::from(age_days) / per_unit;
    let lambda = gamma_variate(rng, bg.r) / bg.alpha;
    let g1 = gamma_variate(rng, bg.a);
    let g2 = gamma_variate(rng, bg.b);
    let p = g1 / (g1 + g2);
    let mut now = 0.0;
    let mut x = 0u32;
    let mut last = 0.0;
    loop {
        now += -uniform_open(rng).ln() / lambda;
        if now > t {
            break;
        }
        x += 1;
        last = now;
        if rng.random::<f64>() < p {
            break;
        }
    }
    let recency = ((last * per_unit).floor() / per_unit).min(t);
    let monetary_value = if x > 0 {
        let nu = gamma_variate(rng, gg.q) / gg.gamma;
        let total = gamma_variate(rng, gg.p * f64::from(x)) / nu;
        ((total / f64::from(x)) * 100.0).round().max(1.0) / 100.0
    } else {
        0.0
    };
    Rfm {
        frequency: x,
        recency,
        t,
        monetary_value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gamma_variates_have_the_right_mean_and_variance() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for shape in [0.3, 1.0, 4.5] {
            let n = 200_000;
            let xs: Vec<f64> = (0..n).map(|_| gamma_variate(&mut rng, shape)).collect();
            let mean = xs.iter().sum::<f64>() / n as f64;
            let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
            assert!(
                (mean - shape).abs() < 0.02 * shape.max(1.0),
                "{shape}: {mean}"
            );
            assert!(
                (var - shape).abs() < 0.05 * shape.max(1.0),
                "{shape}: {var}"
            );
        }
    }

    #[test]
    fn simulation_is_deterministic_and_consistent() {
        let bg = BgNbd::new(0.243, 4.414, 0.793, 2.426).expect("bg");
        let gg = GammaGamma::new(6.25, 3.74, 15.44).expect("gg");
        let a = simulate(1000, 1, &bg, &gg, 273, TimeUnit::Weeks);
        let b = simulate(1000, 1, &bg, &gg, 273, TimeUnit::Weeks);
        assert_eq!(a, b);
        assert!(a.iter().all(|r| r.validate().is_ok()));
        assert!(a.iter().any(|r| r.frequency > 0) && a.iter().any(|r| r.frequency == 0));
    }

    #[test]
    fn fitting_a_simulation_recovers_its_parameters() {
        let truth = BgNbd::new(0.5, 6.0, 0.8, 2.5).expect("bg");
        let gg_truth = GammaGamma::new(6.0, 4.0, 15.0).expect("gg");
        let rows = simulate(60_000, 42, &truth, &gg_truth, 365, TimeUnit::Weeks);
        let fit = BgNbd::fit(&rows).expect("fit").params;
        assert!((fit.r / truth.r - 1.0).abs() < 0.1, "{fit:?}");
        assert!((fit.alpha / truth.alpha - 1.0).abs() < 0.15, "{fit:?}");
        assert!((fit.a / truth.a - 1.0).abs() < 0.25, "{fit:?}");
        assert!((fit.b / truth.b - 1.0).abs() < 0.3, "{fit:?}");
        let spend: Vec<(u32, f64)> = rows
            .iter()
            .map(|r| (r.frequency, r.monetary_value))
            .collect();
        let gg = GammaGamma::fit(&spend).expect("gg fit").params;
        let mean = |m: &GammaGamma| m.p * m.gamma / (m.q - 1.0);
        assert!((mean(&gg) / mean(&gg_truth) - 1.0).abs() < 0.1, "{gg:?}");
    }
}
