//! The Pareto/NBD model (Schmittlein, Morrison & Colombo 1987) in the form of Fader & Hardie's
//! 2005 note "A note on deriving the Pareto/NBD model and related expressions": likelihood with
//! its Gauss hypergeometric terms in log space, maximum-likelihood fit, P(alive) and
//! conditional expected transactions.
//!
//! Transactions while alive are Poisson(λ), λ ~ Gamma(r, α); the lifetime is exponential(μ),
//! μ ~ Gamma(s, β). Unlike BG/NBD a customer can die at any time, not only after a purchase.
//! The likelihood of (x, t_x, T) is
//!
//! L = Γ(r+x) α^r β^s / Γ(r) · [ (α+T)^−(r+x) (β+T)^−s + s/(r+s+x) · A₀ ],
//!
//! A₀ = F(t_x) − F(T), F(t) = ₂F₁(r+s+x, b; r+s+x+1; |α−β| / (m+t)) / (m+t)^(r+s+x), where
//! m = max(α, β) and b = s+1 when α ≥ β, b = r+x when α < β (the two forms keep the
//! hypergeometric argument in [0, 1); at α = β it is 0 and ₂F₁ = 1). A₀ is taken as a
//! difference of logarithms, ln F(t_x) + ln(1 − e^(ln F(T) − ln F(t_x))), so it is neither
//! cancelled to 0 nor overflowed for frequent buyers, and P(alive) of 1e-15 stays representable.

use rayon::prelude::*;

use crate::groups::{CHUNK, Grouped};
use crate::optim::{Objective, minimize_with_restarts};
use crate::rfm::Rfm;
use crate::special::{ln_gamma, ln_hyp2f1_positive, log_add_exp, softplus};
use crate::{ClvError, Fit, Result};

/// Pareto/NBD parameters: purchase rates λ ~ Gamma(r, α), dropout rates μ ~ Gamma(s, β).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParetoNbd {
    pub r: f64,
    pub alpha: f64,
    pub s: f64,
    pub beta: f64,
}

impl ParetoNbd {
    /// Checks that every parameter is finite and positive.
    pub fn new(r: f64, alpha: f64, s: f64, beta: f64) -> Result<Self> {
        let m = ParetoNbd { r, alpha, s, beta };
        if [r, alpha, s, beta]
            .iter()
            .all(|v| v.is_finite() && *v > 0.0)
        {
            Ok(m)
        } else {
            Err(ClvError::Params(format!(
                "Pareto/NBD needs positive finite parameters, got {m:?}"
            )))
        }
    }

    pub fn params(&self) -> [(&'static str, f64); 4] {
        [
            ("r", self.r),
            ("alpha", self.alpha),
            ("s", self.s),
            ("beta", self.beta),
        ]
    }

    /// ln F(t) of the module documentation.
    fn ln_f(&self, xf: f64, t: f64) -> f64 {
        let ParetoNbd { r, alpha, s, beta } = *self;
        let a = r + s + xf;
        let (m, b) = if alpha >= beta {
            (alpha, s + 1.0)
        } else {
            (beta, r + xf)
        };
        let z = (alpha - beta).abs() / (m + t);
        ln_hyp2f1_positive(a, b, a + 1.0, z) - a * (m + t).ln()
    }

    /// ln A₀: −∞ when t_x = T (no time after the last purchase in which to have died).
    pub fn ln_a0(&self, x: u32, t_x: f64, t: f64) -> f64 {
        let xf = f64::from(x);
        let hi = self.ln_f(xf, t_x);
        let lo = self.ln_f(xf, t);
        let diff = lo - hi;
        if diff.is_nan() {
            return f64::NAN;
        }
        if diff >= 0.0 {
            return f64::NEG_INFINITY;
        }
        hi + (-diff.exp_m1()).ln()
    }

    /// The two log terms of the bracket: alive through T, and died in (t_x, T].
    fn ln_terms(&self, x: u32, t_x: f64, t: f64) -> (f64, f64) {
        let ParetoNbd { r, alpha, s, beta } = *self;
        let xf = f64::from(x);
        let alive = -(r + xf) * (alpha + t).ln() - s * (beta + t).ln();
        let died = s.ln() - (r + s + xf).ln() + self.ln_a0(x, t_x, t);
        (alive, died)
    }

    /// ln L of one customer with x repeat transactions, last at t_x, observed for T.
    pub fn log_likelihood_one(&self, x: u32, t_x: f64, t: f64) -> f64 {
        let ParetoNbd { r, alpha, s, beta } = *self;
        let xf = f64::from(x);
        let (alive, died) = self.ln_terms(x, t_x, t);
        ln_gamma(r + xf) - ln_gamma(r) + r * alpha.ln() + s * beta.ln() + log_add_exp(alive, died)
    }

    /// Sum of ln L over `rows`.
    pub fn log_likelihood(&self, rows: &[Rfm]) -> f64 {
        let g = Grouped::from_rfm(rows);
        -ParetoObjective { g: &g }.value(&self.theta()) * g.total
    }

    fn theta(&self) -> [f64; 4] {
        [self.r.ln(), self.alpha.ln(), self.s.ln(), self.beta.ln()]
    }

    /// ln P(alive | x, t_x, T) = −ln(1 + e^(died − alive)).
    pub fn ln_p_alive(&self, x: u32, t_x: f64, t: f64) -> f64 {
        let (alive, died) = self.ln_terms(x, t_x, t);
        -softplus(died - alive)
    }

    /// P(alive | x, t_x, T).
    pub fn p_alive(&self, x: u32, t_x: f64, t: f64) -> f64 {
        self.ln_p_alive(x, t_x, t).exp()
    }

    /// Expected transactions in (T, T + t] of a customer alive at T:
    /// (r+x)(β+T) / ((α+T)(s−1)) · [1 − ((β+T)/(β+T+t))^(s−1)], with its limit
    /// (r+x)(β+T)/(α+T) · ln((β+T+t)/(β+T)) at s = 1. Depends on (x, T) only.
    pub fn expected_if_alive(&self, horizon: f64, x: u32, t: f64) -> f64 {
        if horizon <= 0.0 {
            return 0.0;
        }
        let ParetoNbd { r, alpha, s, beta } = *self;
        let ln_ratio = (horizon / (beta + t)).ln_1p();
        let sm1 = s - 1.0;
        let factor = if (sm1 * ln_ratio).abs() < 1e-12 {
            ln_ratio
        } else {
            -(-sm1 * ln_ratio).exp_m1() / sm1
        };
        (r + f64::from(x)) * (beta + t) / (alpha + t) * factor
    }

    /// E[Y(t) | x, t_x, T]: expected transactions in the next `horizon` time units.
    pub fn expected_transactions(&self, horizon: f64, x: u32, t_x: f64, t: f64) -> f64 {
        self.expected_if_alive(horizon, x, t) * self.p_alive(x, t_x, t)
    }

    /// Maximum-likelihood fit on the summaries `rows`: BFGS on log-parameters with central
    /// difference gradients (the hypergeometric terms have no cheap parameter derivatives),
    /// Nelder–Mead where BFGS fails, from two starts.
    pub fn fit(rows: &[Rfm]) -> Result<Fit<ParetoNbd>> {
        for r in rows {
            r.validate()?;
        }
        let g = Grouped::from_rfm(rows);
        if g.is_empty() {
            return Err(ClvError::Input("Pareto/NBD fit: no customers".into()));
        }
        if g.frequencies.iter().all(|&x| x == 0) {
            return Err(ClvError::Input(
                "Pareto/NBD fit: no customer has a repeat transaction".into(),
            ));
        }
        let mean_t = g.t.iter().zip(&g.weight).map(|(t, w)| t * w).sum::<f64>() / g.total;
        let scale = (mean_t / 4.0).max(0.1).ln();
        let starts = vec![vec![0.0, scale, 0.0, scale], vec![0.0; 4]];
        let obj = ParetoObjective { g: &g };
        let m = minimize_with_restarts(&obj, &starts, 1e-8);
        if !m.f.is_finite() {
            return Err(ClvError::Fit(
                "Pareto/NBD fit: the likelihood is not finite anywhere it looked".into(),
            ));
        }
        let params = ParetoNbd::new(m.x[0].exp(), m.x[1].exp(), m.x[2].exp(), m.x[3].exp())
            .map_err(|e| ClvError::Fit(format!("Pareto/NBD fit did not converge: {e}")))?;
        Ok(Fit {
            params,
            log_likelihood: -m.f * g.total,
            evaluations: m.evaluations,
            converged: m.converged,
            customers: g.total as usize,
            distinct_rows: g.len(),
        })
    }
}

/// −ln L / N in θ = ln(r, α, s, β), with a central-difference gradient.
struct ParetoObjective<'a> {
    g: &'a Grouped,
}

impl ParetoObjective<'_> {
    fn f(&self, theta: &[f64]) -> f64 {
        let p: Vec<f64> = theta.iter().map(|v| v.exp()).collect();
        let Ok(m) = ParetoNbd::new(p[0], p[1], p[2], p[3]) else {
            return f64::INFINITY;
        };
        let g = self.g;
        let sum: f64 = (0..g.len())
            .into_par_iter()
            .step_by(CHUNK)
            .map(|start| {
                (start..(start + CHUNK).min(g.len()))
                    .map(|i| {
                        let x = g.frequencies[g.x_index[i] as usize];
                        g.weight[i] * m.log_likelihood_one(x, g.t_x[i], g.t[i])
                    })
                    .sum::<f64>()
            })
            .sum();
        let f = -sum / g.total;
        if f.is_nan() { f64::INFINITY } else { f }
    }
}

impl Objective for ParetoObjective<'_> {
    fn value_grad(&self, theta: &[f64]) -> (f64, Vec<f64>) {
        let f = self.f(theta);
        let grad = (0..theta.len())
            .map(|k| {
                let h = 1e-5;
                let mut up = theta.to_vec();
                let mut down = theta.to_vec();
                up[k] += h;
                down[k] -= h;
                (self.f(&up) - self.f(&down)) / (2.0 * h)
            })
            .collect();
        (f, grad)
    }

    fn value(&self, theta: &[f64]) -> f64 {
        self.f(theta)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The CDNOW estimates (Fader, Hardie & Lee 2005; lifetimes 0.11.3 gets the same).
    fn cdnow() -> ParetoNbd {
        ParetoNbd::new(0.55328178, 10.57765531, 0.60617647, 11.66676565).expect("params")
    }

    #[test]
    fn matches_lifetimes_per_customer_values() {
        // lifetimes 0.11.3 ParetoNBDFitter with the parameters above:
        // (x, t_x, T, ln L, P(alive), E[Y(39)]); the parameters are printed to 8 decimals.
        let m = cdnow();
        for (x, tx, t, ll, pa, e) in [
            (
                2,
                30.43,
                38.86,
                -9.55432381,
                0.8691230344082799,
                1.455133573293042,
            ),
            (
                0,
                0.0,
                38.86,
                -0.52120446,
                0.29509815086280267,
                0.1070620884802799,
            ),
            (
                10,
                35.0,
                38.86,
                -27.08418722,
                0.9273075908648413,
                6.417031984062725,
            ),
            (
                1,
                5.0,
                38.86,
                -4.86836239,
                0.2551535940862878,
                0.2598811576707693,
            ),
        ] {
            let got = m.log_likelihood_one(x, tx, t);
            assert!((got - ll).abs() < 1e-7, "{x} {tx} {t}: ln L {got} vs {ll}");
            let got = m.p_alive(x, tx, t);
            assert!(
                (got - pa).abs() < 1e-7,
                "{x} {tx} {t}: P(alive) {got} vs {pa}"
            );
            let got = m.expected_transactions(39.0, x, tx, t);
            assert!((got - e).abs() < 1e-7 * e, "{x} {tx} {t}: E {got} vs {e}");
        }
    }

    #[test]
    fn alpha_equal_to_and_below_beta_match_lifetimes() {
        // lifetimes' _conditional_log_likelihood at (x, t_x, T) = (3, 20, 38).
        let eq = ParetoNbd::new(0.5, 10.0, 0.6, 10.0).expect("params");
        assert!((eq.log_likelihood_one(3, 20.0, 38.0) - -12.09050075).abs() < 1e-7);
        let lt = ParetoNbd::new(0.5, 10.0, 0.6, 14.0).expect("params");
        assert!((lt.log_likelihood_one(3, 20.0, 38.0) - -11.99222589).abs() < 1e-7);
        // Continuity through α = β from both sides.
        let at = eq.log_likelihood_one(5, 12.0, 40.0);
        for beta in [10.0 - 1e-7, 10.0 + 1e-7] {
            let near = ParetoNbd::new(0.5, 10.0, 0.6, beta).expect("params");
            assert!((near.log_likelihood_one(5, 12.0, 40.0) - at).abs() < 1e-6);
        }
    }

    #[test]
    fn regression_tiny_p_alive_is_not_zero_or_nan() {
        let m = cdnow();
        // Twenty purchases in the first week, then 77 silent weeks: lifetimes gives 7.96e-18.
        let p = m.p_alive(20, 1.0, 78.0);
        assert!((p / 7.961380788687065e-18 - 1.0).abs() < 1e-6, "{p}");
        let lp = m.ln_p_alive(2000, 1.0, 5000.0);
        assert!(lp.is_finite() && lp < -100.0, "{lp}");
        // Last purchase at T: nothing to die in, so alive for sure.
        assert_eq!(m.p_alive(3, 38.86, 38.86), 1.0);
    }

    #[test]
    fn expected_if_alive_is_continuous_at_s_equal_1() {
        let at = ParetoNbd::new(0.5, 10.0, 1.0, 12.0).expect("params");
        let near = ParetoNbd::new(0.5, 10.0, 1.0 + 1e-9, 12.0).expect("params");
        let (a, b) = (
            at.expected_if_alive(39.0, 2, 38.0),
            near.expected_if_alive(39.0, 2, 38.0),
        );
        assert!((a - b).abs() < 1e-7, "{a} vs {b}");
    }

    /// Customers simulated from the model: λ ~ Gamma(r, α), μ ~ Gamma(s, β), purchases at rate
    /// λ until an exponential(μ) death or the end of a T between 30 and 78.
    fn simulate(m: &ParetoNbd, n: usize, seed: u64) -> Vec<Rfm> {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        (0..n)
            .map(|_| {
                let lambda = crate::sim::gamma_variate(&mut rng, m.r) / m.alpha;
                let mu = crate::sim::gamma_variate(&mut rng, m.s) / m.beta;
                let t = 30.0 + 48.0 * rng.random::<f64>();
                let death = -(1.0 - rng.random::<f64>()).ln() / mu;
                let end = death.min(t);
                let (mut now, mut x, mut last) = (0.0, 0, 0.0);
                loop {
                    now += -(1.0 - rng.random::<f64>()).ln() / lambda;
                    if now > end {
                        break;
                    }
                    x += 1;
                    last = now;
                }
                Rfm {
                    frequency: x,
                    recency: last,
                    t,
                    monetary_value: 0.0,
                }
            })
            .collect()
    }

    #[test]
    fn fit_recovers_simulated_parameters_and_maximises_the_likelihood() {
        let truth = cdnow();
        let rows = simulate(&truth, 20_000, 7);
        let fit = ParetoNbd::fit(&rows).expect("fit");
        let p = fit.params;
        assert!(fit.converged, "{fit:?}");
        assert!((fit.log_likelihood - p.log_likelihood(&rows)).abs() < 1e-6);
        // The maximum is at least as high as the truth's likelihood, and close to the truth.
        assert!(fit.log_likelihood >= truth.log_likelihood(&rows), "{fit:?}");
        assert!((p.r / truth.r - 1.0).abs() < 0.2, "{p:?}");
        assert!((p.alpha / truth.alpha - 1.0).abs() < 0.25, "{p:?}");
        for k in 0..4 {
            let mut th = p.theta();
            th[k] += 0.02;
            let moved =
                ParetoNbd::new(th[0].exp(), th[1].exp(), th[2].exp(), th[3].exp()).expect("params");
            assert!(moved.log_likelihood(&rows) < fit.log_likelihood, "{k}");
        }
    }

    #[test]
    fn invalid_parameters_are_rejected() {
        assert!(ParetoNbd::new(0.0, 1.0, 1.0, 1.0).is_err());
        assert!(ParetoNbd::new(1.0, 1.0, f64::INFINITY, 1.0).is_err());
    }
}
