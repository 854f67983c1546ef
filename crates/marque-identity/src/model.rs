//! The Fellegi–Sunter model: m and u probabilities per comparison level, m and the match prior
//! estimated by expectation–maximisation over the candidate pairs, u from random pairs, and a
//! term-frequency adjustment for common names.

use crate::hashing::HashMap;

use crate::compare::{COMPARISONS, Comparison, Vector, name_level};

/// Fitted parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    /// Prior probability that a candidate pair is a match.
    pub lambda: f64,
    /// `m[c][l]`: P(level l of comparison c | match), null levels excluded.
    pub m: Vec<Vec<f64>>,
    /// `u[c][l]`: P(level l | non-match).
    pub u: Vec<Vec<f64>>,
    /// EM iterations run and whether the parameters converged.
    pub iterations: u32,
    pub converged: bool,
    /// Frequency of each name key among named units, for the term-frequency adjustment. Kept
    /// with the model so that full and incremental runs weigh names alike.
    pub name_frequency: HashMap<String, f64>,
    /// u of the masked-phone pass: the chance that a random person's visible digits and
    /// surname equal a given pair, one over the number of distinct pairs among the units
    /// holding a full mobile. Estimated once with the model, so that an incremental run (which
    /// sees only its scope) weighs a masked match as the full run did. `None` in models stored
    /// before it was kept: the pass then counts the pairs it sees.
    pub masked_key_u: Option<f64>,
}

/// Probabilities are kept away from 0 and 1 so that every weight is finite.
const FLOOR: f64 = 1e-9;

fn normalise(v: &mut [f64], null: usize) {
    let total: f64 = v
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != null)
        .map(|(_, x)| x.max(FLOOR))
        .sum();
    for (i, x) in v.iter_mut().enumerate() {
        *x = if i == null { 0.0 } else { x.max(FLOOR) / total };
    }
}

impl Model {
    /// Starting values: agreement likely among matches, u as given.
    pub fn initial(u: Vec<Vec<f64>>) -> Self {
        let m = COMPARISONS
            .iter()
            .map(|c| {
                let n = c.levels().len();
                let null = c.null_level() as usize;
                // Geometric decay from the strongest agreement level.
                let mut v: Vec<f64> = (0..n).map(|i| 0.5f64.powi(i as i32 * 2)).collect();
                normalise(&mut v, null);
                v
            })
            .collect();
        Self {
            lambda: 0.5,
            m,
            u,
            iterations: 0,
            converged: false,
            name_frequency: HashMap::default(),
            masked_key_u: None,
        }
    }

    /// Weight (log2 Bayes factor) of one level; 0 for the null level.
    pub fn weight(&self, c: Comparison, level: u8) -> f64 {
        if level == c.null_level() {
            return 0.0;
        }
        let (m, u) = (
            self.m[c.index()][level as usize].max(FLOOR),
            self.u[c.index()][level as usize].max(FLOOR),
        );
        (m / u).log2()
    }

    /// The name weight with its u replaced by the name's own frequency when the names agree
    /// exactly: sharing 王伟 proves less than sharing a rare name.
    pub fn name_weight_tf(&self, level: u8, name_frequency: Option<f64>) -> f64 {
        match (level, name_frequency) {
            (name_level::EXACT | name_level::NORMALISED, Some(tf)) => {
                let m = self.m[Comparison::Name.index()][level as usize].max(FLOOR);
                // Never more than the average weight times two: a unique typo is not proof.
                let tf = tf.max(self.u[Comparison::Name.index()][level as usize] / 4.0);
                (m / tf.max(FLOOR)).log2()
            }
            _ => self.weight(Comparison::Name, level),
        }
    }

    pub fn prior_weight(&self) -> f64 {
        let l = self.lambda.clamp(FLOOR, 1.0 - FLOOR);
        (l / (1.0 - l)).log2()
    }

    /// The term frequency of `m`'s name, when the model has counted it.
    pub fn name_frequency_of(&self, m: &crate::mentions::Mention) -> Option<f64> {
        self.name_frequency.get(m.name_key().as_str()).copied()
    }

    /// Match weight of a vector (log2 odds), with the name's term frequency when known.
    pub fn score(&self, v: &Vector, name_frequency: Option<f64>) -> f64 {
        let mut s = self.prior_weight();
        for c in COMPARISONS {
            let level = v[c.index()];
            s += if c == Comparison::Name {
                self.name_weight_tf(level, name_frequency)
            } else {
                self.weight(c, level)
            };
        }
        s
    }

    /// Runs EM over a histogram of comparison vectors, keeping u fixed.
    pub fn fit(mut self, histogram: &HashMap<Vector, u64>, max_iter: u32, tol: f64) -> Self {
        let mut vectors: Vec<(&Vector, &u64)> = histogram.iter().collect();
        vectors.sort(); // deterministic summation order
        for it in 1..=max_iter {
            let mut m_acc: Vec<Vec<f64>> = self.m.iter().map(|v| vec![0.0; v.len()]).collect();
            let (mut match_total, mut total) = (0.0, 0.0);
            for &(v, &n) in &vectors {
                let n = n as f64;
                let (mut lm, mut lu) = (self.lambda.ln(), (1.0 - self.lambda).ln());
                for c in COMPARISONS {
                    let l = v[c.index()];
                    if l == c.null_level() {
                        continue;
                    }
                    lm += self.m[c.index()][l as usize].max(FLOOR).ln();
                    lu += self.u[c.index()][l as usize].max(FLOOR).ln();
                }
                let p = 1.0 / (1.0 + (lu - lm).exp());
                match_total += n * p;
                total += n;
                for c in COMPARISONS {
                    m_acc[c.index()][v[c.index()] as usize] += n * p;
                }
            }
            let mut delta: f64 = 0.0;
            let lambda = (match_total / total.max(1.0)).clamp(FLOOR, 1.0 - FLOOR);
            delta = delta.max((lambda - self.lambda).abs());
            self.lambda = lambda;
            for c in COMPARISONS {
                let null = c.null_level() as usize;
                let mut next = m_acc[c.index()].clone();
                normalise(&mut next, null);
                for (a, b) in next.iter().zip(&self.m[c.index()]) {
                    delta = delta.max((a - b).abs());
                }
                self.m[c.index()] = next;
            }
            self.iterations = it;
            if delta < tol {
                self.converged = true;
                break;
            }
        }
        self
    }
}

/// Counts of levels among non-matching pairs, turned into u probabilities.
#[derive(Debug, Clone)]
pub struct UCounts {
    counts: Vec<Vec<f64>>,
}

impl Default for UCounts {
    fn default() -> Self {
        Self {
            counts: COMPARISONS
                .iter()
                .map(|c| vec![0.0; c.levels().len()])
                .collect(),
        }
    }
}

impl UCounts {
    pub fn add(&mut self, v: &Vector) {
        for c in COMPARISONS {
            self.counts[c.index()][v[c.index()] as usize] += 1.0;
        }
    }

    /// u per level; `exact` overrides the agreement level of a comparison with a value
    /// computed from value frequencies (random pairs almost never share a phone, so sampling
    /// cannot see it), the other levels keep their sampled shares of the rest.
    pub fn finish(self, exact: &[(Comparison, f64)]) -> Vec<Vec<f64>> {
        COMPARISONS
            .iter()
            .map(|c| {
                let null = c.null_level() as usize;
                let mut v = self.counts[c.index()].clone();
                // Add-one smoothing so unseen levels get a small, finite u.
                for (i, x) in v.iter_mut().enumerate() {
                    if i != null {
                        *x += 1.0;
                    }
                }
                normalise(&mut v, null);
                if let Some((_, p)) = exact.iter().find(|(e, _)| e == c) {
                    let p = p.clamp(FLOOR, 0.5);
                    let rest: f64 = v
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| *i != 0 && *i != null)
                        .map(|(_, x)| x)
                        .sum();
                    for (i, x) in v.iter_mut().enumerate() {
                        if i == 0 {
                            *x = p;
                        } else if i != null && rest > 0.0 {
                            *x *= (1.0 - p) / rest;
                        }
                    }
                }
                v
            })
            .collect()
    }
}

/// P(two random values agree) from value counts: Σ nᵢ² / (Σ nᵢ)².
pub fn agreement_probability<'a>(counts: impl Iterator<Item = &'a u32>) -> f64 {
    let (mut sq, mut total) = (0f64, 0f64);
    for &n in counts {
        sq += (n as f64) * (n as f64);
        total += n as f64;
    }
    if total == 0.0 {
        0.0
    } else {
        sq / (total * total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u_flat() -> Vec<Vec<f64>> {
        let mut u = UCounts::default();
        // Non-matches mostly disagree on everything.
        for _ in 0..1000 {
            u.add(&[6, 1, 1, 1, 1, 1]);
        }
        u.finish(&[(Comparison::Phone, 1e-6), (Comparison::Name, 1e-4)])
    }

    #[test]
    fn em_separates_matches_from_resold_vehicles() {
        // 900 pairs agreeing on phone and name (the same person) and 300 sharing only a VIN
        // (a resold vehicle: different names, different phones).
        let mut h = HashMap::default();
        h.insert([0, 0, 1, 0, 2, 2], 900);
        h.insert([6, 1, 0, 2, 2, 2], 300);
        let model = Model::initial(u_flat()).fit(&h, 1000, 1e-7);
        assert!(model.converged, "EM converges on separable data: {model:?}");
        assert!(
            (model.lambda - 0.75).abs() < 0.05,
            "lambda {}",
            model.lambda
        );
        assert!(model.score(&[0, 0, 1, 0, 2, 2], None) > 10.0);
        assert!(model.score(&[6, 1, 0, 2, 2, 2], None) < 0.0);
    }

    #[test]
    fn common_names_weigh_less_than_rare_ones() {
        let model = Model::initial(u_flat());
        let common = model.score(&[0, 2, 1, 2, 2, 2], Some(1e-2));
        let rare = model.score(&[0, 2, 1, 2, 2, 2], Some(1e-6));
        assert!(rare > common + 5.0);
    }

    #[test]
    fn agreement_probability_of_value_counts() {
        assert!((agreement_probability([1u32, 1, 2].iter()) - 6.0 / 16.0).abs() < 1e-12);
    }
}
