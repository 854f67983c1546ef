//! The Gamma-Gamma spend model (Fader, Hardie & Lee 2005, "RFM and CLV"): fit on repeat
//! customers' mean spend and the conditional expected spend per transaction.

use rayon::prelude::*;

use crate::groups::CHUNK;
use crate::optim::{Objective, minimize_with_restarts};
use crate::special::{digamma, ln_gamma};
use crate::{ClvError, Fit, Result};

/// Gamma-Gamma parameters: each transaction's value z ~ Gamma(p, ν), ν ~ Gamma(q, γ).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GammaGamma {
    pub p: f64,
    pub q: f64,
    pub gamma: f64,
}

impl GammaGamma {
    /// Checks positivity; q must exceed 1 for the mean spend to exist.
    pub fn new(p: f64, q: f64, gamma: f64) -> Result<Self> {
        let m = GammaGamma { p, q, gamma };
        if [p, q, gamma].iter().all(|v| v.is_finite() && *v > 0.0) && q > 1.0 {
            Ok(m)
        } else {
            Err(ClvError::Params(format!(
                "Gamma-Gamma needs positive finite parameters with q > 1, got {m:?}"
            )))
        }
    }

    pub fn params(&self) -> [(&'static str, f64); 3] {
        [("p", self.p), ("q", self.q), ("gamma", self.gamma)]
    }

    /// E[Z | x, m̄]: expected value of a future transaction given x repeat transactions of mean
    /// value m̄ (the population mean p γ / (q − 1) when x = 0).
    pub fn expected_spend(&self, x: u32, mean_value: f64) -> f64 {
        let xf = f64::from(x);
        let m = if x > 0 { mean_value } else { 0.0 };
        self.p * (self.gamma + xf * m) / (self.p * xf + self.q - 1.0)
    }

    /// ln L of one customer's x repeat transactions with mean value m̄ > 0.
    pub fn log_likelihood_one(&self, x: u32, mean_value: f64) -> f64 {
        let GammaGamma { p, q, gamma } = *self;
        let xf = f64::from(x);
        let px = p * xf;
        ln_gamma(px + q) - ln_gamma(px) - ln_gamma(q)
            + q * gamma.ln()
            + (px - 1.0) * mean_value.ln()
            + px * xf.ln()
            - (px + q) * (xf * mean_value + gamma).ln()
    }

    /// Maximum-likelihood fit on (x, m̄) pairs; rows with x = 0 or m̄ ≤ 0 are ignored, as in the
    /// literature.
    pub fn fit(rows: &[(u32, f64)]) -> Result<Fit<GammaGamma>> {
        let data = SpendData::new(rows);
        if data.x_index.is_empty() {
            return Err(ClvError::Input(
                "Gamma-Gamma fit: no customer with repeat transactions of positive value".into(),
            ));
        }
        let mean = data.total_value / data.total;
        let starts = vec![vec![0.0, 1f64.ln() + 1.0, mean.ln()], vec![0.0; 3]];
        let obj = GgObjective { d: &data };
        let m = minimize_with_restarts(&obj, &starts, 1e-11);
        if !m.f.is_finite() {
            return Err(ClvError::Fit(
                "Gamma-Gamma fit: the likelihood is not finite anywhere it looked".into(),
            ));
        }
        let params = GammaGamma::new(m.x[0].exp(), m.x[1].exp(), m.x[2].exp())
            .map_err(|e| ClvError::Fit(format!("Gamma-Gamma fit did not converge: {e}")))?;
        Ok(Fit {
            params,
            log_likelihood: -m.f * data.total,
            evaluations: m.evaluations,
            converged: m.converged,
            customers: data.total as usize,
            distinct_rows: data.x_index.len(),
        })
    }
}

/// Repeat customers' (x, m̄) with per-row constants and per-x indices.
struct SpendData {
    frequencies: Vec<u32>,
    x_index: Vec<u32>,
    value: Vec<f64>,
    /// (p-independent) ln m̄ and ln x of each row.
    ln_m: Vec<f64>,
    total: f64,
    total_value: f64,
}

impl SpendData {
    fn new(rows: &[(u32, f64)]) -> Self {
        let kept: Vec<(u32, f64)> = rows
            .iter()
            .copied()
            .filter(|(x, m)| *x > 0 && m.is_finite() && *m > 0.0)
            .collect();
        let mut frequencies: Vec<u32> = kept.iter().map(|r| r.0).collect();
        frequencies.sort_unstable();
        frequencies.dedup();
        let x_index = kept
            .iter()
            .map(|r| frequencies.partition_point(|&f| f < r.0) as u32)
            .collect();
        SpendData {
            frequencies,
            x_index,
            value: kept.iter().map(|r| r.1).collect(),
            ln_m: kept.iter().map(|r| r.1.ln()).collect(),
            total: kept.len() as f64,
            total_value: kept.iter().map(|r| r.1).sum(),
        }
    }
}

/// −ln L / N and its gradient in θ = ln(p, q, γ).
struct GgObjective<'a> {
    d: &'a SpendData,
}

impl Objective for GgObjective<'_> {
    fn value_grad(&self, theta: &[f64]) -> (f64, Vec<f64>) {
        let [p, q, gamma] = [theta[0].exp(), theta[1].exp(), theta[2].exp()];
        if ![p, q, gamma].iter().all(|v| v.is_finite() && *v > 0.0) {
            return (f64::INFINITY, vec![0.0; 3]);
        }
        let d = self.d;
        let (lg_q, psi_q, ln_gamma_) = (ln_gamma(q), digamma(q), gamma.ln());
        // Per distinct x: ln Γ(px+q) − ln Γ(px), its p- and q-derivatives, and ln x.
        let per_x: Vec<[f64; 4]> = d
            .frequencies
            .iter()
            .map(|&x| {
                let xf = f64::from(x);
                let px = p * xf;
                let (psi_pxq, psi_px) = (digamma(px + q), digamma(px));
                [
                    ln_gamma(px + q) - ln_gamma(px) - lg_q + q * ln_gamma_,
                    xf * (psi_pxq - psi_px),
                    psi_pxq - psi_q + ln_gamma_,
                    xf.ln(),
                ]
            })
            .collect();
        let n = d.value.len();
        let partials: Vec<[f64; 4]> = (0..n)
            .into_par_iter()
            .step_by(CHUNK)
            .map(|start| {
                let mut acc = [0.0; 4];
                for i in start..(start + CHUNK).min(n) {
                    let k = d.x_index[i] as usize;
                    let c = &per_x[k];
                    let xf = f64::from(d.frequencies[k]);
                    let px = p * xf;
                    let s = xf * d.value[i] + gamma;
                    let ln_s = s.ln();
                    acc[0] += c[0] + (px - 1.0) * d.ln_m[i] + px * c[3] - (px + q) * ln_s;
                    acc[1] += c[1] + xf * (d.ln_m[i] + c[3] - ln_s);
                    acc[2] += c[2] - ln_s;
                    acc[3] += q / gamma - (px + q) / s;
                }
                acc
            })
            .collect();
        let mut tot = [0.0; 4];
        for part in &partials {
            for (t, v) in tot.iter_mut().zip(part) {
                *t += v;
            }
        }
        let total = d.total;
        let f = -tot[0] / total;
        let grad = vec![
            -tot[1] * p / total,
            -tot[2] * q / total,
            -tot[3] * gamma / total,
        ];
        (if f.is_nan() { f64::INFINITY } else { f }, grad)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expected_spend_shrinks_towards_the_population_mean() {
        let m = GammaGamma::new(6.25, 3.74, 15.44).expect("params");
        let population = m.expected_spend(0, 0.0);
        assert!((population - 6.25 * 15.44 / 2.74).abs() < 1e-12);
        let one = m.expected_spend(1, 100.0);
        let many = m.expected_spend(50, 100.0);
        assert!(
            population < one && one < many && many < 100.0,
            "{population} {one} {many}"
        );
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let rows = [(1, 10.0), (3, 25.5), (2, 40.0), (7, 12.0)];
        let d = SpendData::new(&rows);
        let obj = GgObjective { d: &d };
        let theta = [1.5, 1.2, 2.7];
        let (f, grad) = obj.value_grad(&theta);
        let direct: f64 = rows
            .iter()
            .map(|&(x, m)| {
                GammaGamma {
                    p: theta[0].exp(),
                    q: theta[1].exp(),
                    gamma: theta[2].exp(),
                }
                .log_likelihood_one(x, m)
            })
            .sum();
        assert!((f + direct / 4.0).abs() < 1e-12);
        for k in 0..3 {
            let h = 1e-6;
            let mut up = theta;
            let mut down = theta;
            up[k] += h;
            down[k] -= h;
            let numeric = (obj.value(&up) - obj.value(&down)) / (2.0 * h);
            assert!(
                (numeric - grad[k]).abs() < 1e-7,
                "k={k}: {numeric} vs {}",
                grad[k]
            );
        }
    }

    #[test]
    fn q_at_or_below_one_is_rejected() {
        assert!(GammaGamma::new(1.0, 1.0, 1.0).is_err());
    }
}
