//! The evaluation report: coverage, pairwise and B-cubed scores, cluster statistics.

use std::fmt;

use serde::Serialize;

/// Everything one evaluation found. Scores are computed over the *scored* mentions only (those
/// both in truth and in the predictions); [`Coverage`] says how many that is and what was left
/// out.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub coverage: Coverage,
    pub pairwise: Pairwise,
    pub bcubed: Scores,
    /// B-cubed over the scored mentions of each source, in [`marque_core::Source::ALL`] order.
    /// Each mention's precision and recall still use its whole customer and whole person.
    pub per_source: Vec<SourceScores>,
    pub clusters: Clusters,
}

/// Which mentions were scored and which were not.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Coverage {
    /// Mentions in truth, broken ones included.
    pub truth: u64,
    /// Truth mentions marked broken (ingestion is expected to quarantine them).
    pub truth_broken: u64,
    /// Prediction rows accepted (scored + unknown).
    pub predicted: u64,
    /// Mentions both in truth and predicted: the population every score is over.
    pub scored: u64,
    /// Scored mentions that truth marks broken: ingestion let them through.
    pub scored_broken: u64,
    /// Unbroken truth mentions with no prediction. Should be 0.
    pub missing_unbroken: u64,
    /// Broken truth mentions with no prediction (expected).
    pub missing_broken: u64,
    /// Predicted mentions absent from truth.
    pub unknown: u64,
    /// Up to five missing unbroken mentions, as `source:role:record_id`, in truth file order.
    pub missing_examples: Vec<String>,
    /// Up to five unknown mentions, as `source:role:record_id`, in prediction order.
    pub unknown_examples: Vec<String>,
}

/// Precision, recall and their harmonic mean.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Scores {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

/// Pairwise scores with the pair counts behind them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pairwise {
    /// Pairs of scored mentions in the same customer and the same person.
    pub true_positive_pairs: u64,
    /// Pairs of scored mentions in the same customer.
    pub predicted_pairs: u64,
    /// Pairs of scored mentions of the same person.
    pub true_pairs: u64,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

/// B-cubed over the scored mentions of one source.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SourceScores {
    pub source: &'static str,
    pub scored: u64,
    pub bcubed: Scores,
}

/// Shape of the predicted clustering against the true one, over scored mentions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Clusters {
    /// Distinct customers holding at least one scored mention.
    pub customers: u64,
    /// Distinct persons with at least one scored mention.
    pub persons: u64,
    /// Customers holding mentions of more than one person.
    pub over_merged_customers: u64,
    /// Persons whose mentions are spread over more than one customer.
    pub split_persons: u64,
    /// Customers holding a single scored mention.
    pub singleton_customers: u64,
    /// The customer with most scored mentions (ties: most persons, then smallest id).
    pub largest_customer: Option<LargestCustomer>,
}

/// The biggest predicted customer, usually the first place an over-merge shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LargestCustomer {
    pub customer_id: String,
    pub mentions: u64,
    pub persons: u64,
}

impl Scores {
    /// Builds scores from precision and recall; F1 is 0 when both are 0.
    pub fn new(precision: f64, recall: f64) -> Scores {
        Scores {
            precision,
            recall,
            f1: f1(precision, recall),
        }
    }
}

pub(crate) fn f1(p: f64, r: f64) -> f64 {
    if p + r == 0.0 {
        0.0
    } else {
        2.0 * p * r / (p + r)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.coverage;
        writeln!(f, "mentions")?;
        writeln!(
            f,
            "  in truth              {:>12}  ({} broken)",
            c.truth, c.truth_broken
        )?;
        writeln!(f, "  predicted             {:>12}", c.predicted)?;
        writeln!(
            f,
            "  scored                {:>12}  ({} of them marked broken)",
            c.scored, c.scored_broken
        )?;
        writeln!(
            f,
            "  missing, unbroken     {:>12}{}",
            c.missing_unbroken,
            examples(&c.missing_examples)
        )?;
        writeln!(f, "  missing, broken       {:>12}", c.missing_broken)?;
        writeln!(
            f,
            "  unknown               {:>12}{}",
            c.unknown,
            examples(&c.unknown_examples)
        )?;
        writeln!(
            f,
            "scores                   precision     recall         f1"
        )?;
        let row = |f: &mut fmt::Formatter<'_>, name: &str, s: Scores| {
            writeln!(
                f,
                "  {name:<20} {:>10.4} {:>10.4} {:>10.4}",
                s.precision, s.recall, s.f1
            )
        };
        let p = &self.pairwise;
        row(f, "pairwise", Scores::new(p.precision, p.recall))?;
        row(f, "b-cubed", self.bcubed)?;
        for s in &self.per_source {
            row(f, &format!("b-cubed {}", s.source), s.bcubed)?;
        }
        writeln!(
            f,
            "  pairs: {} true positive, {} predicted, {} true",
            p.true_positive_pairs, p.predicted_pairs, p.true_pairs
        )?;
        let k = &self.clusters;
        writeln!(f, "clusters")?;
        writeln!(
            f,
            "  predicted customers   {:>12}  ({} singletons)",
            k.customers, k.singleton_customers
        )?;
        writeln!(f, "  true persons          {:>12}", k.persons)?;
        writeln!(f, "  over-merged customers {:>12}", k.over_merged_customers)?;
        writeln!(f, "  split persons         {:>12}", k.split_persons)?;
        match &k.largest_customer {
            Some(l) => writeln!(
                f,
                "  largest customer      {:>12}  mentions, {} persons, id {}",
                l.mentions, l.persons, l.customer_id
            ),
            None => writeln!(f, "  largest customer      {:>12}", "-"),
        }
    }
}

fn examples(list: &[String]) -> String {
    if list.is_empty() {
        String::new()
    } else {
        format!("  e.g. {}", list.join(", "))
    }
}
