//! Special functions in log space: ln Γ, digamma, log-sum-exp and the Gauss hypergeometric 2F1.

use std::f64::consts::PI;

/// Lanczos coefficients (g = 7, n = 9): about 15 significant digits for positive arguments.
const LANCZOS_G: f64 = 7.0;
const LANCZOS: [f64; 9] = [
    0.999_999_999_999_809_9,
    676.520_368_121_885_1,
    -1_259.139_216_722_402_8,
    771.323_428_777_653_1,
    -176.615_029_162_140_6,
    12.507_343_278_686_905,
    -0.138_571_095_265_720_12,
    9.984_369_578_019_572e-6,
    1.505_632_735_149_311_6e-7,
];

/// ln Γ(x) for x > 0 (NaN otherwise, which the callers treat as an invalid parameter).
pub fn ln_gamma(x: f64) -> f64 {
    if x.is_nan() || x <= 0.0 {
        return f64::NAN;
    }
    if x < 0.5 {
        // Reflection: Γ(x) Γ(1 − x) = π / sin(πx).
        return (PI / (PI * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut sum = LANCZOS[0];
    for (i, c) in LANCZOS.iter().enumerate().skip(1) {
        sum += c / (x + i as f64);
    }
    let t = x + LANCZOS_G + 0.5;
    0.5 * (2.0 * PI).ln() + (x + 0.5) * t.ln() - t + sum.ln()
}

/// ψ(x) = d/dx ln Γ(x) for x > 0.
pub fn digamma(mut x: f64) -> f64 {
    if x.is_nan() || x <= 0.0 {
        return f64::NAN;
    }
    let mut acc = 0.0;
    while x < 10.0 {
        acc -= 1.0 / x;
        x += 1.0;
    }
    let inv = 1.0 / x;
    let inv2 = inv * inv;
    let series = inv2
        * (1.0 / 12.0
            - inv2 * (1.0 / 120.0 - inv2 * (1.0 / 252.0 - inv2 * (1.0 / 240.0 - inv2 / 132.0))));
    acc + x.ln() - 0.5 * inv - series
}

/// ψ₁(x) = d²/dx² ln Γ(x) for x > 0.
pub fn trigamma(mut x: f64) -> f64 {
    if x.is_nan() || x <= 0.0 {
        return f64::NAN;
    }
    let mut acc = 0.0;
    while x < 12.0 {
        acc += 1.0 / (x * x);
        x += 1.0;
    }
    let inv = 1.0 / x;
    let inv2 = inv * inv;
    // 1/x + 1/(2x²) + Σ B₂ₖ / x^(2k+1), Bernoulli numbers up to B₁₂.
    let tail = 1.0 / 42.0 - inv2 * (1.0 / 30.0 - inv2 * (5.0 / 66.0 - inv2 * 691.0 / 2730.0));
    acc + inv + 0.5 * inv2 + inv * inv2 * (1.0 / 6.0 - inv2 * (1.0 / 30.0 - inv2 * tail))
}

/// ln(e^a + e^b) without overflow or underflow.
pub fn log_add_exp(a: f64, b: f64) -> f64 {
    if a == f64::NEG_INFINITY {
        return b;
    }
    if b == f64::NEG_INFINITY {
        return a;
    }
    let (hi, lo) = if a > b { (a, b) } else { (b, a) };
    hi + (lo - hi).exp().ln_1p()
}

/// ln(1 + e^x), exact for large and very negative x.
pub fn softplus(x: f64) -> f64 {
    if x > 35.0 {
        x + (-x).exp()
    } else if x < -35.0 {
        x.exp()
    } else {
        x.exp().ln_1p()
    }
}

/// Most terms a 2F1 series may take before it is declared not convergent.
const MAX_TERMS: usize = 2_000_000;
/// Rescaling step of the log-scaled series sum (keeps partial sums far from overflow).
const RESCALE: f64 = 1e200;

/// ln 2F1(a, b; c; z) for 0 ≤ z < 1 and a, b, c > 0 (every term positive), summed with rescaling
/// so that values beyond f64 range (large a, b and z near 1) are still returned as a logarithm.
/// NaN when the arguments are outside that domain or the series does not converge.
pub fn ln_hyp2f1_positive(a: f64, b: f64, c: f64, z: f64) -> f64 {
    if !(a > 0.0 && b > 0.0 && c > 0.0 && (0.0..1.0).contains(&z)) {
        return f64::NAN;
    }
    let mut sum = 1.0_f64;
    let mut term = 1.0_f64;
    let mut ln_scale = 0.0_f64;
    for n in 0..MAX_TERMS {
        let nf = n as f64;
        let ratio = (a + nf) * (b + nf) / ((c + nf) * (nf + 1.0)) * z;
        term *= ratio;
        sum += term;
        if sum > RESCALE {
            sum /= RESCALE;
            term /= RESCALE;
            ln_scale += RESCALE.ln();
        }
        if ratio < 1.0 && term <= sum * 1e-17 {
            return sum.ln() + ln_scale;
        }
    }
    f64::NAN
}

/// 2F1(a, b; c; z) for |z| < 1 by its power series (terms may alternate for z < 0). NaN when
/// the series does not converge.
pub fn hyp2f1_series(a: f64, b: f64, c: f64, z: f64) -> f64 {
    if z.is_nan() || z.abs() >= 1.0 || c <= 0.0 {
        return f64::NAN;
    }
    let mut sum = 1.0_f64;
    let mut term = 1.0_f64;
    for n in 0..MAX_TERMS {
        let nf = n as f64;
        let ratio = (a + nf) * (b + nf) / ((c + nf) * (nf + 1.0)) * z;
        term *= ratio;
        sum += term;
        if !sum.is_finite() {
            return f64::NAN;
        }
        if ratio.abs() < 1.0 && term.abs() <= sum.abs() * 1e-17 {
            return sum;
        }
    }
    f64::NAN
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol * b.abs().max(1.0)
    }

    #[test]
    fn ln_gamma_matches_factorials_and_half() {
        assert!(close(ln_gamma(1.0), 0.0, 1e-14));
        assert!(close(ln_gamma(5.0), 24f64.ln(), 1e-14));
        assert!(close(ln_gamma(0.5), PI.sqrt().ln(), 1e-14));
        assert!(close(ln_gamma(171.5), 709.143_163_030_928_2, 1e-13));
        assert!(close(ln_gamma(1e-3), 6.907_178_885_383_853, 1e-12));
        assert!(ln_gamma(0.0).is_nan() && ln_gamma(-1.0).is_nan());
    }

    #[test]
    fn digamma_matches_known_values() {
        let euler = 0.577_215_664_901_532_9;
        assert!(close(digamma(1.0), -euler, 1e-13));
        assert!(close(digamma(0.5), -euler - 2.0 * 2f64.ln(), 1e-13));
        assert!(close(digamma(10.0), 2.251_752_589_066_721, 1e-13));
        // Derivative of ln Γ by central difference.
        let x = 3.7;
        let h = 1e-5;
        let numeric = (ln_gamma(x + h) - ln_gamma(x - h)) / (2.0 * h);
        assert!(close(digamma(x), numeric, 1e-8));
    }

    #[test]
    fn trigamma_matches_known_values_and_the_derivative_of_digamma() {
        assert!(close(trigamma(1.0), PI * PI / 6.0, 1e-13));
        assert!(close(trigamma(0.5), PI * PI / 2.0, 1e-13));
        for x in [0.3, 3.7, 25.0] {
            let h = 1e-5;
            let numeric = (digamma(x + h) - digamma(x - h)) / (2.0 * h);
            assert!(close(trigamma(x), numeric, 1e-7), "x={x}");
        }
        assert!(trigamma(0.0).is_nan());
    }

    #[test]
    fn log_add_exp_survives_extremes() {
        assert!(close(log_add_exp(0.0, 0.0), 2f64.ln(), 1e-15));
        assert_eq!(log_add_exp(1000.0, -1000.0), 1000.0);
        assert!(close(
            log_add_exp(-1000.0, -1000.0),
            -1000.0 + 2f64.ln(),
            1e-15
        ));
        assert_eq!(log_add_exp(f64::NEG_INFINITY, 3.0), 3.0);
        assert!(close(softplus(800.0), 800.0, 1e-15));
        assert!(softplus(-800.0) >= 0.0);
    }

    #[test]
    fn hyp2f1_matches_closed_forms() {
        // 2F1(1, 1; 2; z) = −ln(1 − z) / z.
        for z in [0.1f64, 0.5, 0.9, 0.99] {
            let exact = -(1.0 - z).ln() / z;
            assert!(
                close(ln_hyp2f1_positive(1.0, 1.0, 2.0, z), exact.ln(), 1e-12),
                "z={z}"
            );
            assert!(
                close(hyp2f1_series(1.0, 1.0, 2.0, z), exact, 1e-12),
                "z={z}"
            );
        }
        // 2F1(a, b; b; z) = (1 − z)^(−a), also for negative z.
        assert!(close(
            hyp2f1_series(2.5, 3.0, 3.0, -0.5),
            1.5f64.powf(-2.5),
            1e-13
        ));
        // Beyond f64: (1 − z)^(−a) with a = 1000, z = 0.9 is 1e1000.
        assert!(close(
            ln_hyp2f1_positive(1000.0, 3.0, 3.0, 0.9),
            1000.0 * 10f64.ln(),
            1e-10
        ));
    }
}
