//! Scored links: the match weight of a candidate pair, and the compact form the pairs above it
//! take while the guards and clustering decide on them.

use rayon::prelude::*;

use crate::compare::{Comparison, Vector, compare, name_level};
use crate::link::{Edge, EdgeKind, LinkConfig};
use crate::mentions::Mention;
use crate::model::Model;

/// A candidate pair of units above the match weight, while the guards and clustering decide
/// on it: 16 bytes where an [`Edge`] takes 40, and at 1M persons there are 11 million. The
/// pairs clustering keeps become edges, their comparison vectors computed again
/// ([`fill_scored`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct ScoredPair {
    pub weight: f64,
    pub a: u32,
    pub b: u32,
}

impl ScoredPair {
    /// The pair as a link, its comparison vector still to be filled in.
    pub(crate) fn edge(&self) -> Edge {
        Edge {
            a: self.a,
            b: self.b,
            kind: EdgeKind::Scored,
            weight: self.weight,
            vector: None,
            name_frequency: None,
        }
    }
}

/// The match weight of two mentions compared as `v`, and the name frequency it used (either
/// side's, the first's first), when it links them: not when their names differ (a veto) nor
/// under `cfg.match_weight`. The scored pairs and the weak-name guard's outside holders are
/// judged alike by it.
pub(crate) fn pair_score(
    model: &Model,
    cfg: &LinkConfig,
    a: &Mention,
    b: &Mention,
    v: &Vector,
) -> Option<(f64, Option<f64>)> {
    if v[Comparison::Name.index()] == name_level::DIFFERENT {
        return None;
    }
    let freq = model
        .name_frequency_of(a)
        .or_else(|| model.name_frequency_of(b));
    let w = model.score(v, freq);
    (w >= cfg.match_weight).then_some((w, freq))
}

/// Gives the scored edges clustering kept their comparison vectors and name frequencies, as
/// scoring found them (see [`ScoredPair`]).
pub(crate) fn fill_scored(
    kept: &mut [Edge],
    mentions: &[Mention],
    reps: &[u32],
    model: &Model,
    cfg: &LinkConfig,
) {
    let rep = |u: u32| &mentions[reps[u as usize] as usize];
    kept.par_iter_mut()
        .filter(|e| e.kind == EdgeKind::Scored && e.vector.is_none())
        .for_each(|e| {
            let (a, b) = (rep(e.a), rep(e.b));
            let v = compare(a, b);
            let (w, freq) = pair_score(model, cfg, a, b, &v).expect("a kept pair scored");
            debug_assert_eq!(w.to_bits(), e.weight.to_bits());
            e.vector = Some(v);
            e.name_frequency = freq;
        });
}
