//! Scoring: per-customer P(alive), expected transactions, expected spend and discounted CLV,
//! in parallel, with the 2F1 work shared by customers of equal (x, T).

use hashbrown::HashMap;

use rayon::prelude::*;

use crate::bgnbd::BgNbd;
use crate::gamma_gamma::GammaGamma;
use crate::pareto_nbd::ParetoNbd;
use crate::rfm::Rfm;

/// What scoring needs of a transaction model (BG/NBD or Pareto/NBD): P(alive), and the
/// expected transactions of a customer alive at T, which depend on (x, T) only.
pub trait TransactionModel: Sync {
    fn p_alive(&self, x: u32, t_x: f64, t: f64) -> f64;
    fn expected_if_alive(&self, horizon: f64, x: u32, t: f64) -> f64;
}

impl TransactionModel for BgNbd {
    fn p_alive(&self, x: u32, t_x: f64, t: f64) -> f64 {
        BgNbd::p_alive(self, x, t_x, t)
    }
    fn expected_if_alive(&self, horizon: f64, x: u32, t: f64) -> f64 {
        BgNbd::expected_if_alive(self, horizon, x, t)
    }
}

impl TransactionModel for ParetoNbd {
    fn p_alive(&self, x: u32, t_x: f64, t: f64) -> f64 {
        ParetoNbd::p_alive(self, x, t_x, t)
    }
    fn expected_if_alive(&self, horizon: f64, x: u32, t: f64) -> f64 {
        ParetoNbd::expected_if_alive(self, horizon, x, t)
    }
}
use crate::{ClvError, Result};

/// What to score: the horizon and how its value is discounted.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClvOptions {
    /// Prediction horizon, in the summaries' time unit.
    pub horizon: f64,
    /// Length of one discounting period in the same unit (e.g. 4.345 weeks for months).
    pub period: f64,
    /// Discount rate per period.
    pub discount_rate: f64,
    /// Share of spend that is margin (1 = CLV in revenue).
    pub margin: f64,
}

impl ClvOptions {
    pub fn validate(&self) -> Result<()> {
        let ok = self.horizon.is_finite()
            && self.horizon > 0.0
            && self.period.is_finite()
            && self.period > 0.0
            && self.horizon / self.period <= 1e6
            && self.discount_rate.is_finite()
            && self.discount_rate > -1.0
            && self.margin.is_finite();
        if ok {
            Ok(())
        } else {
            Err(ClvError::Input(format!(
                "CLV options need a positive horizon and period (at most 1e6 periods), a discount \
                 rate above -1 and a finite margin, got {self:?}"
            )))
        }
    }

    /// End of each discounting period: period, 2·period, …, horizon (the last may be partial).
    fn period_ends(&self) -> Vec<f64> {
        let n = (self.horizon / self.period - 1e-9).ceil().max(1.0) as usize;
        (1..=n)
            .map(|i| (i as f64 * self.period).min(self.horizon))
            .collect()
    }
}

/// One customer's predictions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Score {
    /// Expected transactions in the horizon.
    pub expected_transactions: f64,
    pub p_alive: f64,
    /// Expected value of one future transaction (Gamma-Gamma).
    pub expected_spend: f64,
    /// Σ over periods of expected transactions in the period × expected spend × margin /
    /// (1 + d)^period.
    pub clv: f64,
}

/// Scores every row with BG/NBD. Fails on inconsistent summaries or options; never returns NaN
/// for valid inputs.
pub fn score(bg: &BgNbd, gg: &GammaGamma, rows: &[Rfm], opts: &ClvOptions) -> Result<Vec<Score>> {
    score_with(bg, gg, rows, opts)
}

/// Scores every row with any [`TransactionModel`] and Gamma-Gamma spend.
pub fn score_with<M: TransactionModel>(
    bg: &M,
    gg: &GammaGamma,
    rows: &[Rfm],
    opts: &ClvOptions,
) -> Result<Vec<Score>> {
    opts.validate()?;
    for r in rows {
        r.validate()?;
    }
    let ends = opts.period_ends();
    // Expected transactions if alive, per distinct (x, T), at every period end.
    let mut key_index: HashMap<(u32, u64), usize> = HashMap::with_capacity(1024);
    let mut keys: Vec<(u32, f64)> = Vec::new();
    let row_key: Vec<usize> = rows
        .iter()
        .map(|r| {
            *key_index
                .entry((r.frequency, r.t.to_bits()))
                .or_insert_with(|| {
                    keys.push((r.frequency, r.t));
                    keys.len() - 1
                })
        })
        .collect();
    let curves: Vec<Vec<f64>> = keys
        .par_iter()
        .map(|&(x, t)| {
            ends.iter()
                .map(|&h| bg.expected_if_alive(h, x, t))
                .collect()
        })
        .collect();
    let discounts: Vec<f64> = (1..=ends.len())
        .map(|i| (1.0 + opts.discount_rate).powi(-(i as i32)))
        .collect();
    let scores = rows
        .par_iter()
        .zip(row_key.par_iter())
        .map(|(r, &k)| {
            let curve = &curves[k];
            let p_alive = bg.p_alive(r.frequency, r.recency, r.t);
            let spend = gg.expected_spend(r.frequency, r.monetary_value);
            let mut previous = 0.0;
            let mut discounted = 0.0;
            for (e, d) in curve.iter().zip(&discounts) {
                discounted += (e - previous) * d;
                previous = *e;
            }
            Score {
                expected_transactions: previous * p_alive,
                p_alive,
                expected_spend: spend,
                clv: discounted * p_alive * spend * opts.margin,
            }
        })
        .collect();
    Ok(scores)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clv_sums_discounted_period_increments() {
        let bg = BgNbd::new(0.243, 4.414, 0.793, 2.426).expect("bg");
        let gg = GammaGamma::new(6.25, 3.74, 15.44).expect("gg");
        let row = Rfm {
            frequency: 2,
            recency: 30.43,
            t: 38.86,
            monetary_value: 22.35,
        };
        let opts = ClvOptions {
            horizon: 10.0,
            period: 4.0,
            discount_rate: 0.1,
            margin: 0.5,
        };
        let s = score(&bg, &gg, &[row], &opts).expect("score")[0];
        let e = |h: f64| bg.expected_transactions(h, 2, 30.43, 38.86);
        let spend = gg.expected_spend(2, 22.35);
        let by_hand = 0.5
            * spend
            * (e(4.0) / 1.1
                + (e(8.0) - e(4.0)) / 1.1f64.powi(2)
                + (e(10.0) - e(8.0)) / 1.1f64.powi(3));
        assert!((s.clv - by_hand).abs() < 1e-12, "{} vs {by_hand}", s.clv);
        assert!((s.expected_transactions - e(10.0)).abs() < 1e-12);
        assert!((s.p_alive - bg.p_alive(2, 30.43, 38.86)).abs() < 1e-15);
    }

    #[test]
    fn bad_options_are_rejected() {
        let bg = BgNbd::new(1.0, 1.0, 2.0, 2.0).expect("bg");
        let gg = GammaGamma::new(2.0, 3.0, 4.0).expect("gg");
        let opts = ClvOptions {
            horizon: -1.0,
            period: 1.0,
            discount_rate: 0.0,
            margin: 1.0,
        };
        assert!(score(&bg, &gg, &[], &opts).is_err());
    }
}
