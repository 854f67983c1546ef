//! # marque-eval: scores a predicted `customer_map` against generator ground truth
//!
//! `marque eval --truth DIR` loads the generator's `DIR/truth/mentions.csv` into a [`Truth`],
//! feeds the resolver's `customer_map` batches to an [`Evaluator`] and prints the [`Report`].
//! It is the instrument for all matching work, so it is strict about its inputs and explicit
//! about what it did and did not score.
//!
//! ## What is scored
//!
//! A *mention* is one person seen by one source record in one role ([`MentionKey`]). Truth says
//! which person each mention is; the prediction says which customer. **Every score is computed
//! over the mentions present in both** (the *scored* mentions). Everything else is counted in
//! [`Coverage`], never silently dropped:
//!
//! - `missing_unbroken`: unbroken truth mentions the prediction lacks. Should be 0; a non-zero
//!   value means ingestion or resolution lost data, and the scores do not see that loss.
//! - `missing_broken`: truth rows marked `broken=1`, which ingestion should quarantine.
//!   `scored_broken` counts the broken rows that got through anyway (they are scored).
//! - `unknown`: predicted mentions that truth does not know (wrong truth directory, mangled
//!   record ids). The report carries a few example keys of both kinds.
//! - A mention predicted twice is an **error** naming the key: a customer_map is a function
//!   from mentions to customers, and averaging over a broken one would hide the bug. The same
//!   holds for duplicate truth rows, nulls, unknown source/role names and empty ids.
//!
//! ## Metrics
//!
//! Let `n_ij` be the number of scored mentions in predicted customer `i` that belong to true
//! person `j` (the contingency table), `|C_i| = Σ_j n_ij` and `|T_j| = Σ_i n_ij`, and `N` the
//! number of scored mentions.
//!
//! - **Pairwise**: over all unordered pairs of mentions. `TP = Σ C(n_ij, 2)`, predicted pairs
//!   `Σ C(|C_i|, 2)`, true pairs `Σ C(|T_j|, 2)`; precision = TP / predicted pairs, recall =
//!   TP / true pairs. Precision is 1 when no pairs are predicted (all singletons make no false
//!   merge), recall is 1 when truth has no pairs. Pair counts are exact `u64`. Pairwise scores
//!   weigh big clusters quadratically, so one over-merge dominates them.
//! - **B-cubed**: per-mention averages, precision_m = |C(m) ∩ T(m)| / |C(m)| and recall_m =
//!   |C(m) ∩ T(m)| / |T(m)|. Summed by cells this is precision = (1/N) Σ_i (Σ_j n_ij²) / |C_i|
//!   and recall = (1/N) Σ_j (Σ_i n_ij²) / |T_j|, computed with exact integer inner sums in
//!   O(N) rather than per pair. B-cubed is also reported per source of the mention (each
//!   mention still judged against its whole customer and whole person).
//! - F1 is the harmonic mean, 0 when precision and recall are both 0.
//! - With no scored mention at all every score is 0, so an evaluation against the wrong truth
//!   can never look perfect.
//! - Cluster statistics over scored mentions: predicted customers, true persons, customers
//!   holding more than one person (over-merged), persons spread over several customers
//!   (split), singleton customers and the largest customer (ties: more persons, then smaller
//!   id).
//!
//! ## Speed
//!
//! Truth keeps record ids in one string arena behind a hash table of `u32` mention indices, so
//! looking up a prediction row allocates nothing. Customer ids are interned to dense `u32`s;
//! the predicted customer of each truth mention lives in a flat `Vec<u32>`, which also detects
//! duplicates. Metrics bucket the mentions by customer with a counting sort and walk each
//! customer with a per-person scratch counter: O(mentions + customers + persons), no pair
//! hashing, no sorting.
//!
//! ```
//! use marque_core::{MentionKey, Role, Source};
//! use marque_eval::{Truth, evaluate};
//!
//! let key = |id: &str| MentionKey { source: Source::Sales, record_id: id.into(), role: Role::Buyer };
//! let truth = Truth::from_rows([(key("1"), "P1", false), (key("2"), "P1", false)])?;
//! let report = evaluate(&truth, [(key("1"), "C1"), (key("2"), "C2")])?;
//! assert_eq!(report.bcubed.precision, 1.0);
//! assert_eq!(report.bcubed.recall, 0.5);
//! assert_eq!(report.pairwise.recall, 0.0);
//! # Ok::<(), marque_eval::EvalError>(())
//! ```

mod error;
mod metrics;
mod predictions;
mod report;
mod truth;

use arrow::array::RecordBatch;
pub use error::{EvalError, Result};
pub use marque_core::{MentionKey, Role, Source};
pub use predictions::Evaluator;
pub use report::{Clusters, Coverage, LargestCustomer, Pairwise, Report, Scores, SourceScores};
pub use truth::{TRUTH_FILE, Truth};

/// Scores `(mention, customer_id)` pairs against `truth`.
pub fn evaluate<I, S>(truth: &Truth, predictions: I) -> Result<Report>
where
    I: IntoIterator<Item = (MentionKey, S)>,
    S: AsRef<str>,
{
    let mut ev = Evaluator::new(truth);
    for (key, customer) in predictions {
        ev.add(&key, customer.as_ref())?;
    }
    Ok(ev.finish())
}

/// Scores customer_map record batches against `truth` (see [`Evaluator::add_batch`]).
pub fn evaluate_batches<'b, I>(truth: &Truth, batches: I) -> Result<Report>
where
    I: IntoIterator<Item = &'b RecordBatch>,
{
    let mut ev = Evaluator::new(truth);
    for batch in batches {
        ev.add_batch(batch)?;
    }
    Ok(ev.finish())
}
