//! The BG/NBD model (Fader, Hardie & Lee 2005, "Counting your customers the easy way"):
//! likelihood, maximum-likelihood fit, P(alive) and conditional expected transactions, all in
//! log space.

use rayon::prelude::*;

use crate::groups::{CHUNK, Grouped};
use crate::newton::{HessianObjective, minimize_newton, to_log_space};
use crate::optim::Objective;
use crate::rfm::Rfm;
use crate::special::{
    digamma, hyp2f1_series, ln_gamma, ln_hyp2f1_positive, log_add_exp, softplus, trigamma,
};
use crate::{ClvError, Fit, Result};

/// BG/NBD parameters: transaction rates λ ~ Gamma(r, α); dropout probability after each repeat
/// transaction p ~ Beta(a, b).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BgNbd {
    pub r: f64,
    pub alpha: f64,
    pub a: f64,
    pub b: f64,
}

/// Above this t / (α + T) the conditional expectation sums 2F1 directly, below it the Pfaff
/// transform (whose series converges geometrically at this rate whatever the frequency).
const PFAFF_LIMIT: f64 = 0.75;

impl BgNbd {
    /// Checks that every parameter is finite and positive.
    pub fn new(r: f64, alpha: f64, a: f64, b: f64) -> Result<Self> {
        let m = BgNbd { r, alpha, a, b };
        if [r, alpha, a, b].iter().all(|v| v.is_finite() && *v > 0.0) {
            Ok(m)
        } else {
            Err(ClvError::Params(format!(
                "BG/NBD needs positive finite parameters, got {m:?}"
            )))
        }
    }

    pub fn params(&self) -> [(&'static str, f64); 4] {
        [
            ("r", self.r),
            ("alpha", self.alpha),
            ("a", self.a),
            ("b", self.b),
        ]
    }

    /// ln L of one customer with x repeat transactions, last at t_x, observed for T.
    pub fn log_likelihood_one(&self, x: u32, t_x: f64, t: f64) -> f64 {
        let BgNbd { r, alpha, a, b } = *self;
        let xf = f64::from(x);
        let a1 = ln_gamma(r + xf) - ln_gamma(r) + r * alpha.ln();
        let a2 = ln_gamma(a + b) + ln_gamma(b + xf) - ln_gamma(b) - ln_gamma(a + b + xf);
        let a3 = -(r + xf) * (alpha + t).ln();
        let tail = if x > 0 {
            let a4 = a.ln() - (b + xf - 1.0).ln() - (r + xf) * (alpha + t_x).ln();
            log_add_exp(a3, a4)
        } else {
            a3
        };
        a1 + a2 + tail
    }

    /// Sum of ln L over `rows`.
    pub fn log_likelihood(&self, rows: &[Rfm]) -> f64 {
        let g = Grouped::from_rfm(rows);
        -BgNbdObjective::new(&g).value(&self.theta()) * g.total
    }

    fn theta(&self) -> [f64; 4] {
        [self.r.ln(), self.alpha.ln(), self.a.ln(), self.b.ln()]
    }

    /// ln P(alive | x, t_x, T): never −∞ or NaN for finite inputs in range, so P(alive) of
    /// 1e-11 or 1e-200 stays representable.
    pub fn ln_p_alive(&self, x: u32, t_x: f64, t: f64) -> f64 {
        if x == 0 {
            return 0.0;
        }
        let xf = f64::from(x);
        // ln of a/(b+x−1) · ((α+T)/(α+t_x))^(r+x), the odds of having dropped out.
        let log_odds = (self.a / (self.b + xf - 1.0)).ln()
            + (self.r + xf) * ((t - t_x) / (self.alpha + t_x)).ln_1p();
        -softplus(log_odds)
    }

    /// P(alive | x, t_x, T).
    pub fn p_alive(&self, x: u32, t_x: f64, t: f64) -> f64 {
        self.ln_p_alive(x, t_x, t).exp()
    }

    /// Expected transactions in (T, T + t] of a customer known to be alive at T: the factor
    /// that, times P(alive), gives the conditional expectation. Depends on (x, T) only.
    pub fn expected_if_alive(&self, horizon: f64, x: u32, t: f64) -> f64 {
        if horizon <= 0.0 {
            return 0.0;
        }
        let BgNbd { r, alpha, b, .. } = *self;
        // a = 1 exactly makes the direct form 0/0; its limit is continuous.
        let a = if self.a == 1.0 { 1.0 + 1e-9 } else { self.a };
        let xf = f64::from(x);
        let big_a = r + xf;
        let c = a + b + xf - 1.0;
        let w = horizon / (alpha + t);
        if w < PFAFF_LIMIT {
            // 1 − G = −(a−1) S with S = Σ_{n≥1} (A)_n (a)_{n−1} / ((c)_n n!) (−w)^n, so the
            // factor (a+b+x−1)/(a−1) · (1 − G) is −c S with no cancellation at a ≈ 1.
            let mut term = big_a / c * -w;
            let mut sum = term;
            for n in 1..1_000_000 {
                let nf = n as f64;
                term *= (big_a + nf) * (a + nf - 1.0) / ((c + nf) * (nf + 1.0)) * -w;
                sum += term;
                if term.abs() <= sum.abs() * 1e-17 {
                    break;
                }
            }
            -c * sum
        } else {
            let z = w / (1.0 + w);
            let ln_g = -big_a * w.ln_1p() + ln_hyp2f1_positive(big_a, b + xf, c, z);
            c / (a - 1.0) * -ln_g.exp_m1()
        }
    }

    /// E[Y(t) | x, t_x, T]: expected transactions in the next `horizon` time units.
    pub fn expected_transactions(&self, horizon: f64, x: u32, t_x: f64, t: f64) -> f64 {
        self.expected_if_alive(horizon, x, t) * self.p_alive(x, t_x, t)
    }

    /// 2F1 by its plain series, exposed for cross-checks of [`Self::expected_if_alive`].
    #[doc(hidden)]
    pub fn expected_if_alive_reference(&self, horizon: f64, x: u32, t: f64) -> f64 {
        let BgNbd { r, alpha, a, b } = *self;
        let xf = f64::from(x);
        let z = horizon / (alpha + t + horizon);
        let g = (1.0 - z).powf(r + xf) * hyp2f1_series(r + xf, b + xf, a + b + xf - 1.0, z);
        (a + b + xf - 1.0) / (a - 1.0) * (1.0 - g)
    }

    /// Maximum-likelihood fit on the summaries `rows`: Newton on log-parameters with the
    /// analytic Hessian; BFGS from two starts (Nelder–Mead where BFGS fails) if it does not
    /// converge.
    pub fn fit(rows: &[Rfm]) -> Result<Fit<BgNbd>> {
        for r in rows {
            r.validate()?;
        }
        let g = Grouped::from_rfm(rows);
        if g.is_empty() {
            return Err(ClvError::Input("BG/NBD fit: no customers".into()));
        }
        if g.frequencies.iter().all(|&x| x == 0) {
            return Err(ClvError::Input(
                "BG/NBD fit: no customer has a repeat transaction".into(),
            ));
        }
        let mean_t = g.t.iter().zip(&g.weight).map(|(t, w)| t * w).sum::<f64>() / g.total;
        let scale = (mean_t / 10.0).max(0.1);
        let starts = vec![
            vec![0.0; 4],
            vec![0.1f64.ln(), scale.ln(), 0.5f64.ln(), 2f64.ln()],
        ];
        let obj = BgNbdObjective::new(&g);
        let m = minimize_newton(&obj, &starts, 1e-10);
        let p = BgNbd::new(m.x[0].exp(), m.x[1].exp(), m.x[2].exp(), m.x[3].exp())
            .map_err(|e| ClvError::Fit(format!("BG/NBD fit did not converge: {e}")))?;
        if !m.f.is_finite() {
            return Err(ClvError::Fit(
                "BG/NBD fit: the likelihood is not finite anywhere it looked".into(),
            ));
        }
        Ok(Fit {
            params: p,
            log_likelihood: -m.f * g.total,
            evaluations: m.evaluations,
            converged: m.converged,
            customers: g.total as usize,
            distinct_rows: g.len(),
        })
    }
}

/// −ln L / N with its gradient and Hessian in θ = ln(r, α, a, b). Terms that depend on x only
/// are summed once per distinct x with the total weight of its rows; each distinct row then
/// costs one exp and one ln_1p.
struct BgNbdObjective<'a> {
    g: &'a Grouped,
    /// Total weight of the rows of each distinct frequency.
    x_weight: Vec<f64>,
}

impl<'a> BgNbdObjective<'a> {
    fn new(g: &'a Grouped) -> Self {
        let mut x_weight = vec![0.0; g.frequencies.len()];
        for (k, w) in g.x_index.iter().zip(&g.weight) {
            x_weight[*k as usize] += w;
        }
        BgNbdObjective { g, x_weight }
    }

    /// ln L, its gradient and its Hessian (upper triangle, row-major 4 × 4) in (r, α, a, b).
    fn natural(&self, [r, alpha, a, b]: [f64; 4]) -> (f64, [f64; 4], [f64; 16]) {
        let g = self.g;
        let ln_alpha = alpha.ln();
        let (psi_r, psi_ab, psi_b) = (digamma(r), digamma(a + b), digamma(b));
        let (tri_r, tri_ab, tri_b) = (trigamma(r), trigamma(a + b), trigamma(b));
        let lg_const = -ln_gamma(r) + r * ln_alpha + ln_gamma(a + b) - ln_gamma(b);
        let mut ll = 0.0;
        let mut gr = [0.0; 4];
        let mut h = [0.0; 16];
        // ln c4 = ln a − ln(b + x − 1) and 1/(b + x − 1) per distinct x (x > 0).
        let mut c4 = vec![0.0; g.frequencies.len()];
        let mut inv_bx1 = vec![0.0; g.frequencies.len()];
        for (k, &x) in g.frequencies.iter().enumerate() {
            let xf = f64::from(x);
            let w = self.x_weight[k];
            let (psi_abx, tri_abx) = (digamma(a + b + xf), trigamma(a + b + xf));
            ll += w * (lg_const + ln_gamma(r + xf) + ln_gamma(b + xf) - ln_gamma(a + b + xf));
            gr[0] += w * (digamma(r + xf) - psi_r + ln_alpha);
            gr[1] += w * r / alpha;
            gr[2] += w * (psi_ab - psi_abx);
            gr[3] += w * (digamma(b + xf) - psi_abx - psi_b + psi_ab);
            h[0] += w * (trigamma(r + xf) - tri_r);
            h[1] += w / alpha;
            h[5] -= w * r / (alpha * alpha);
            h[10] += w * (tri_ab - tri_abx);
            h[11] += w * (tri_ab - tri_abx);
            h[15] += w * (trigamma(b + xf) - tri_abx - tri_b + tri_ab);
            if x > 0 {
                c4[k] = a.ln() - (b + xf - 1.0).ln();
                inv_bx1[k] = 1.0 / (b + xf - 1.0);
            }
        }
        // ln(α + T), 1/(α + T) per distinct T, and the same for t_x.
        let tables = |values: &[f64]| -> (Vec<f64>, Vec<f64>) {
            values
                .iter()
                .map(|v| ((alpha + v).ln(), 1.0 / (alpha + v)))
                .unzip()
        };
        let (ln_at, inv_at) = tables(&g.t_values);
        let (ln_atx, inv_atx) = tables(&g.tx_values);
        let inv_a = 1.0 / a;
        // Accumulators: ll, ∇ (4), then the Hessian entries (r,α) (α,α) (a,a) (b,b) of the
        // two exponents, then the 10 entries of Σ w₃w₄ δδᵀ.
        let partials: Vec<[f64; 19]> = (0..g.len())
            .into_par_iter()
            .step_by(CHUNK)
            .map(|start| {
                let end = (start + CHUNK).min(g.len());
                let mut acc = [0.0; 19];
                for i in start..end {
                    let w = g.weight[i];
                    let k = g.x_index[i] as usize;
                    let xf = f64::from(g.frequencies[k]);
                    let rx = r + xf;
                    let ti = g.t_index[i] as usize;
                    let (l3, i3) = (ln_at[ti], inv_at[ti]);
                    let a3 = -rx * l3;
                    if g.frequencies[k] == 0 {
                        acc[0] += w * a3;
                        acc[1] -= w * l3;
                        acc[2] -= w * rx * i3;
                        acc[5] -= w * i3;
                        acc[6] += w * rx * i3 * i3;
                        continue;
                    }
                    let txi = g.tx_index[i] as usize;
                    let (l4, i4) = (ln_atx[txi], inv_atx[txi]);
                    let a4 = c4[k] - rx * l4;
                    // log-sum-exp and the two softmax weights from one exp.
                    let (hi, lo) = if a3 > a4 { (a3, a4) } else { (a4, a3) };
                    let e = (lo - hi).exp();
                    let (w_hi, w_lo) = (1.0 / (1.0 + e), e / (1.0 + e));
                    let (w3, w4) = if a3 > a4 { (w_hi, w_lo) } else { (w_lo, w_hi) };
                    let ib = inv_bx1[k];
                    acc[0] += w * (hi + e.ln_1p());
                    acc[1] -= w * (w3 * l3 + w4 * l4);
                    acc[2] -= w * rx * (w3 * i3 + w4 * i4);
                    acc[3] += w * w4;
                    acc[4] -= w * w4 * ib;
                    acc[5] -= w * (w3 * i3 + w4 * i4);
                    acc[6] += w * rx * (w3 * i3 * i3 + w4 * i4 * i4);
                    acc[7] += w * w4;
                    acc[8] += w * w4 * ib * ib;
                    // δ = ∇a₃ − ∇a₄ = (l4 − l3, rx (i4 − i3), −1/a, ib).
                    let v = w * w3 * w4;
                    let d = [l4 - l3, rx * (i4 - i3), -inv_a, ib];
                    let mut n = 9;
                    for p in 0..4 {
                        for q in p..4 {
                            acc[n] += v * d[p] * d[q];
                            n += 1;
                        }
                    }
                }
                acc
            })
            .collect();
        let mut tot = [0.0; 19];
        for p in &partials {
            for (t, v) in tot.iter_mut().zip(p) {
                *t += v;
            }
        }
        ll += tot[0];
        gr[0] += tot[1];
        gr[1] += tot[2];
        gr[2] += tot[3] * inv_a;
        gr[3] += tot[4];
        h[1] += tot[5];
        h[5] += tot[6];
        h[10] -= tot[7] * inv_a * inv_a;
        h[15] += tot[8];
        let mut n = 9;
        for p in 0..4 {
            for q in p..4 {
                h[p * 4 + q] += tot[n];
                n += 1;
            }
        }
        (ll, gr, h)
    }
}

impl HessianObjective for BgNbdObjective<'_> {
    fn value_grad_hess(&self, theta: &[f64]) -> (f64, Vec<f64>, Vec<f64>) {
        let p = [
            theta[0].exp(),
            theta[1].exp(),
            theta[2].exp(),
            theta[3].exp(),
        ];
        if !p.iter().all(|v| v.is_finite() && *v > 0.0) {
            return (f64::INFINITY, vec![0.0; 4], vec![0.0; 16]);
        }
        let (ll, g, mut h) = self.natural(p);
        for i in 0..4 {
            for j in 0..i {
                h[i * 4 + j] = h[j * 4 + i];
            }
        }
        to_log_space(&p, ll, &g, &h, self.g.total)
    }
}

impl Objective for BgNbdObjective<'_> {
    fn value_grad(&self, theta: &[f64]) -> (f64, Vec<f64>) {
        let (f, g, _) = self.value_grad_hess(theta);
        (f, g)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paper() -> BgNbd {
        BgNbd::new(0.243, 4.414, 0.793, 2.426).expect("params")
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let rows = [
            Rfm {
                frequency: 0,
                recency: 0.0,
                t: 30.0,
                monetary_value: 0.0,
            },
            Rfm {
                frequency: 3,
                recency: 20.0,
                t: 35.0,
                monetary_value: 5.0,
            },
            Rfm {
                frequency: 1,
                recency: 2.0,
                t: 38.0,
                monetary_value: 5.0,
            },
        ];
        let g = Grouped::from_rfm(&rows);
        let obj = BgNbdObjective::new(&g);
        let theta = [-1.2, 1.4, -0.2, 0.9];
        let f = obj.value(&theta);
        let m = BgNbd::new(
            theta[0].exp(),
            theta[1].exp(),
            theta[2].exp(),
            theta[3].exp(),
        )
        .expect("params");
        let direct: f64 = rows
            .iter()
            .map(|r| m.log_likelihood_one(r.frequency, r.recency, r.t))
            .sum();
        assert!((f + direct / 3.0).abs() < 1e-12, "{f} vs {direct}");
        crate::newton::assert_derivatives(&obj, &theta);
    }

    #[test]
    fn paper_worked_example_expects_1_226_transactions() {
        let e = paper().expected_transactions(39.0, 2, 30.43, 38.86);
        assert!((e - 1.226).abs() < 5e-4, "{e}");
    }

    #[test]
    fn pfaff_and_direct_forms_agree_with_the_plain_series() {
        let m = paper();
        for (h, x, t) in [
            (1.0, 0, 10.0),
            (39.0, 2, 38.86),
            (10.0, 7, 20.0),
            (100.0, 1, 5.0),
        ] {
            let fast = m.expected_if_alive(h, x, t);
            let slow = m.expected_if_alive_reference(h, x, t);
            assert!(
                (fast - slow).abs() < 1e-9 * slow.abs().max(1.0),
                "{h} {x} {t}: {fast} vs {slow}"
            );
        }
        // Both branches meet at the switch-over.
        let t = 20.0;
        let h = PFAFF_LIMIT * (m.alpha + t);
        let below = m.expected_if_alive(h * (1.0 - 1e-12), 4, t);
        let above = m.expected_if_alive(h * (1.0 + 1e-12), 4, t);
        assert!((below - above).abs() < 1e-9, "{below} vs {above}");
    }

    #[test]
    fn extreme_inputs_give_tiny_but_finite_p_alive() {
        let m = paper();
        // A frequent buyer who then vanished for a long time.
        let p = m.p_alive(30, 5.0, 78.0);
        assert!(p.is_finite() && p > 0.0 && p < 1e-9, "{p}");
        // Far beyond f64's exponent range the logarithm is still exact and finite.
        let lp = m.ln_p_alive(2000, 1.0, 5000.0);
        assert!(lp.is_finite() && lp < -1000.0, "{lp}");
        let e = m.expected_transactions(39.0, 2000, 1.0, 5000.0);
        assert!(e.is_finite() && e >= 0.0, "{e}");
        // A very frequent, recent buyer: a large 2F1 that overflows f64 in the plain form.
        let e = m.expected_transactions(500.0, 3000, 99.99, 100.0);
        assert!(e.is_finite() && e > 100.0, "{e}");
    }

    #[test]
    fn regression_p_alive_near_1e_minus_11_is_not_zero() {
        let m = paper();
        // Ten repeat purchases in the first day, then 78 silent weeks: P(alive) ≈ 9.8e-12.
        let p = m.p_alive(10, 1.0, 79.0);
        assert!(p > 1e-12 && p < 1e-10, "{p}");
        assert!(!p.is_nan());
    }

    #[test]
    fn invalid_parameters_are_rejected() {
        assert!(BgNbd::new(0.0, 1.0, 1.0, 1.0).is_err());
        assert!(BgNbd::new(1.0, f64::NAN, 1.0, 1.0).is_err());
    }
}
