//! Unconstrained minimisers for the model fits: BFGS with an Armijo line search, Nelder–Mead as
//! the derivative-free fallback, and a multi-start driver that keeps the best minimum.

/// Where a minimiser stopped.
#[derive(Debug, Clone)]
pub struct Minimum {
    pub x: Vec<f64>,
    pub f: f64,
    /// Objective evaluations spent.
    pub evaluations: usize,
    /// Whether the gradient (BFGS) or simplex (Nelder–Mead) criterion was met.
    pub converged: bool,
}

/// An objective with its gradient; non-finite values mark points outside the domain.
pub trait Objective {
    fn value_grad(&self, x: &[f64]) -> (f64, Vec<f64>);
    fn value(&self, x: &[f64]) -> f64 {
        self.value_grad(x).0
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn max_abs(a: &[f64]) -> f64 {
    a.iter().fold(0.0, |m, v| m.max(v.abs()))
}

/// BFGS on `obj` from `x0`; stops when every gradient component is below `gtol` or no step
/// lowers the objective any more.
pub fn bfgs(obj: &dyn Objective, x0: &[f64], gtol: f64, max_iter: usize) -> Minimum {
    let n = x0.len();
    let mut x = x0.to_vec();
    let (mut f, mut g) = obj.value_grad(&x);
    let mut evaluations = 1;
    if !f.is_finite() || g.iter().any(|v| !v.is_finite()) {
        return Minimum {
            x,
            f: f64::INFINITY,
            evaluations,
            converged: false,
        };
    }
    let identity = |n: usize| {
        let mut h = vec![0.0; n * n];
        for i in 0..n {
            h[i * n + i] = 1.0;
        }
        h
    };
    let mut h = identity(n);
    let mut fresh = true;
    for _ in 0..max_iter {
        if max_abs(&g) < gtol {
            return Minimum {
                x,
                f,
                evaluations,
                converged: true,
            };
        }
        let mut d: Vec<f64> = (0..n)
            .map(|i| -(0..n).map(|j| h[i * n + j] * g[j]).sum::<f64>())
            .collect();
        let mut slope = dot(&g, &d);
        if slope >= 0.0 {
            h = identity(n);
            fresh = true;
            d = g.iter().map(|v| -v).collect();
            slope = dot(&g, &d);
        }
        // A first step on a fresh Hessian is capped so a steep start cannot leap far away.
        let mut step = if fresh {
            (1.0 / max_abs(&d)).min(1.0)
        } else {
            1.0
        };
        let mut accepted = None;
        for _ in 0..60 {
            let xn: Vec<f64> = x.iter().zip(&d).map(|(xi, di)| xi + step * di).collect();
            let (fn_, gn) = obj.value_grad(&xn);
            evaluations += 1;
            if fn_.is_finite() && gn.iter().all(|v| v.is_finite()) && fn_ <= f + 1e-4 * step * slope
            {
                accepted = Some((xn, fn_, gn));
                break;
            }
            step *= 0.5;
        }
        let Some((xn, fn_, gn)) = accepted else {
            // No decrease along the direction: at the minimum to working precision, unless the
            // Hessian estimate is stale, in which case retry along the gradient once.
            if fresh {
                let converged = max_abs(&g) < gtol.sqrt();
                return Minimum {
                    x,
                    f,
                    evaluations,
                    converged,
                };
            }
            h = identity(n);
            fresh = true;
            continue;
        };
        let s: Vec<f64> = xn.iter().zip(&x).map(|(a, b)| a - b).collect();
        let y: Vec<f64> = gn.iter().zip(&g).map(|(a, b)| a - b).collect();
        let sy = dot(&s, &y);
        if sy > 1e-300 {
            if fresh {
                // Scale the initial inverse Hessian (Nocedal & Wright 6.20).
                let scale = sy / dot(&y, &y);
                for v in h.iter_mut() {
                    *v *= scale;
                }
            }
            let rho = 1.0 / sy;
            let hy: Vec<f64> = (0..n)
                .map(|i| (0..n).map(|j| h[i * n + j] * y[j]).sum())
                .collect();
            let yhy = dot(&y, &hy);
            for i in 0..n {
                for j in 0..n {
                    h[i * n + j] += -rho * (hy[i] * s[j] + s[i] * hy[j])
                        + (rho * rho * yhy + rho) * s[i] * s[j];
                }
            }
            fresh = false;
        }
        let progress = f - fn_;
        x = xn;
        f = fn_;
        g = gn;
        if progress <= 1e-16 * f.abs().max(1.0) && max_abs(&g) < gtol.sqrt() {
            return Minimum {
                x,
                f,
                evaluations,
                converged: true,
            };
        }
    }
    let converged = max_abs(&g) < gtol;
    Minimum {
        x,
        f,
        evaluations,
        converged,
    }
}

/// Nelder–Mead simplex search from `x0` with initial edge `step`.
pub fn nelder_mead(obj: &dyn Objective, x0: &[f64], step: f64, max_eval: usize) -> Minimum {
    let n = x0.len();
    let value = |x: &[f64]| {
        let v = obj.value(x);
        if v.is_finite() { v } else { f64::INFINITY }
    };
    let mut simplex: Vec<(Vec<f64>, f64)> = Vec::with_capacity(n + 1);
    simplex.push((x0.to_vec(), value(x0)));
    for i in 0..n {
        let mut p = x0.to_vec();
        p[i] += step;
        let v = value(&p);
        simplex.push((p, v));
    }
    let mut evaluations = n + 1;
    let mut converged = false;
    while evaluations < max_eval {
        simplex.sort_by(|a, b| a.1.total_cmp(&b.1));
        let best = simplex[0].1;
        let worst = simplex[n].1;
        let spread = simplex
            .iter()
            .skip(1)
            .flat_map(|(p, _)| p.iter().zip(&simplex[0].0).map(|(a, b)| (a - b).abs()))
            .fold(0.0, f64::max);
        if (worst - best).abs() <= 1e-12 * best.abs().max(1e-10) && spread < 1e-9 {
            converged = true;
            break;
        }
        let centroid: Vec<f64> = (0..n)
            .map(|j| simplex[..n].iter().map(|(p, _)| p[j]).sum::<f64>() / n as f64)
            .collect();
        let along = |t: f64| -> Vec<f64> {
            centroid
                .iter()
                .zip(&simplex[n].0)
                .map(|(c, w)| c + t * (c - w))
                .collect()
        };
        let xr = along(1.0);
        let fr = value(&xr);
        evaluations += 1;
        if fr < simplex[0].1 {
            let xe = along(2.0);
            let fe = value(&xe);
            evaluations += 1;
            simplex[n] = if fe < fr { (xe, fe) } else { (xr, fr) };
        } else if fr < simplex[n - 1].1 {
            simplex[n] = (xr, fr);
        } else {
            let (xc, fc) = if fr < simplex[n].1 {
                let xc = along(0.5);
                let fc = value(&xc);
                (xc, fc)
            } else {
                let xc = along(-0.5);
                let fc = value(&xc);
                (xc, fc)
            };
            evaluations += 1;
            if fc < simplex[n].1.min(fr) {
                simplex[n] = (xc, fc);
            } else {
                let x_best = simplex[0].0.clone();
                for (p, v) in simplex.iter_mut().skip(1) {
                    for (pj, bj) in p.iter_mut().zip(&x_best) {
                        *pj = bj + 0.5 * (*pj - bj);
                    }
                    *v = value(p);
                }
                evaluations += n;
            }
        }
    }
    simplex.sort_by(|a, b| a.1.total_cmp(&b.1));
    let (x, f) = simplex.swap_remove(0);
    Minimum {
        x,
        f,
        evaluations,
        converged,
    }
}

/// BFGS from each start; a start where BFGS fails is first improved by Nelder–Mead and then
/// polished by BFGS. Returns the lowest minimum found.
pub fn minimize_multistart(obj: &dyn Objective, starts: &[Vec<f64>], gtol: f64) -> Minimum {
    let mut best: Option<Minimum> = None;
    let mut spent = 0;
    for start in starts {
        let mut m = bfgs(obj, start, gtol, 500);
        if !m.converged || !m.f.is_finite() {
            let nm = nelder_mead(obj, start, 0.5, 2_000);
            let polished = bfgs(obj, &nm.x, gtol, 500);
            let evaluations = m.evaluations + nm.evaluations + polished.evaluations;
            m = if polished.f <= nm.f { polished } else { nm };
            m.evaluations = evaluations;
        }
        spent += m.evaluations;
        if best.as_ref().is_none_or(|b| m.f < b.f) {
            best = Some(m);
        }
    }
    let mut best = best.unwrap_or(Minimum {
        x: Vec::new(),
        f: f64::INFINITY,
        evaluations: 0,
        converged: false,
    });
    best.evaluations = spent;
    best
}

/// BFGS from the first start, then restarted from its minimum with a fresh Hessian until a
/// restart no longer improves (at most three times): cheap when the first run converged, and a
/// guard against a stale Hessian stopping early. When the first run fails, every start is tried
/// with [`minimize_multistart`] (Nelder–Mead fallback included) and the best is kept.
pub fn minimize_with_restarts(obj: &dyn Objective, starts: &[Vec<f64>], gtol: f64) -> Minimum {
    let Some(first) = starts.first() else {
        return minimize_multistart(obj, starts, gtol);
    };
    let mut m = bfgs(obj, first, gtol, 500);
    if !m.converged || !m.f.is_finite() {
        let fallback = minimize_multistart(obj, starts, gtol);
        let spent = m.evaluations + fallback.evaluations;
        let mut best = if fallback.f <= m.f { fallback } else { m };
        best.evaluations = spent;
        return best;
    }
    for _ in 0..3 {
        let again = bfgs(obj, &m.x, gtol, 500);
        let improved = again.f < m.f - 1e-12 * m.f.abs().max(1.0);
        let spent = m.evaluations + again.evaluations;
        if again.f <= m.f {
            m = Minimum {
                evaluations: spent,
                ..again
            };
        } else {
            m.evaluations = spent;
        }
        if !improved {
            break;
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Rosenbrock valley: minimum 0 at (1, 1), a classic trap for naive descent.
    struct Rosenbrock;
    impl Objective for Rosenbrock {
        fn value_grad(&self, x: &[f64]) -> (f64, Vec<f64>) {
            let (a, b) = (x[0], x[1]);
            let f = (1.0 - a).powi(2) + 100.0 * (b - a * a).powi(2);
            let g = vec![
                -2.0 * (1.0 - a) - 400.0 * a * (b - a * a),
                200.0 * (b - a * a),
            ];
            (f, g)
        }
    }

    #[test]
    fn bfgs_finds_rosenbrock_minimum() {
        let m = bfgs(&Rosenbrock, &[-1.2, 1.0], 1e-10, 1000);
        assert!(m.converged);
        assert!(
            (m.x[0] - 1.0).abs() < 1e-6 && (m.x[1] - 1.0).abs() < 1e-6,
            "{m:?}"
        );
    }

    #[test]
    fn nelder_mead_finds_rosenbrock_minimum() {
        let m = nelder_mead(&Rosenbrock, &[-1.2, 1.0], 0.5, 10_000);
        assert!(
            (m.x[0] - 1.0).abs() < 1e-4 && (m.x[1] - 1.0).abs() < 1e-4,
            "{m:?}"
        );
    }

    #[test]
    fn restarts_converge_from_a_far_start() {
        let m = minimize_with_restarts(&Rosenbrock, &[vec![3.0, -3.0]], 1e-10);
        assert!(m.f < 1e-12 && m.converged, "{m:?}");
    }

    #[test]
    fn multistart_keeps_the_lowest_minimum() {
        let starts = vec![vec![3.0, -3.0], vec![-1.2, 1.0]];
        let m = minimize_multistart(&Rosenbrock, &starts, 1e-10);
        assert!(m.f < 1e-12);
    }
}
