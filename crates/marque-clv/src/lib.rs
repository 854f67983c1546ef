//! # marque-clv: predictive customer lifetime value
//!
//! "Buy till you die" models for non-contractual customers: the customer buys while alive, at
//! a personal rate, and may silently leave. From each customer's calibration summary — x repeat
//! transactions, the last at t_x, observed for T since the first — the models give P(alive),
//! expected transactions over a horizon and, with a spend model, a discounted lifetime value.
//!
//! * [`rfm`]: dated transactions → (frequency, recency, T, monetary value), same-day purchases
//!   merged, the first purchase excluded from the monetary value (the CDNOW conventions).
//! * [`pareto_nbd`]: Pareto/NBD (Schmittlein et al. 1987, in Fader & Hardie's 2005 form), with
//!   its hypergeometric terms in log space for α < β, α = β and α > β; fitted by BFGS with
//!   central-difference gradients. [`score_with`] scores with either transaction model.
//! * [`bgnbd`]: BG/NBD (Fader, Hardie & Lee 2005), [`gamma_gamma`]: Gamma-Gamma spend (Fader,
//!   Hardie & Lee 2005, "RFM and CLV"). Both fit by maximum likelihood: Newton on
//!   log-parameters with analytic gradients and Hessians, safeguarded by a Levenberg–Marquardt
//!   shift and backtracking ([`newton`]), about ten likelihood evaluations per fit; BFGS from two
//!   starts with Nelder–Mead as its fallback ([`optim`]) where Newton does not converge.
//!   Identical (x, t_x, T) rows are folded into weighted rows and every term that depends on x
//!   alone is computed once per distinct x, so a fit costs a few transcendental functions per
//!   distinct row and evaluation.
//! * Everything is computed in log space ([`special`]): ln Γ, digamma, log-sum-exp, and 2F1
//!   summed with rescaling or through its Pfaff transform, so P(alive) of 1e-11 (or 1e-200)
//!   is returned as such, not as 0 or NaN, and frequent buyers do not overflow.
//! * [`clv`]: parallel scoring (rayon). Expected transactions if alive depend on (x, T) only,
//!   so the 2F1 work is shared by customers with equal (x, T); CLV is lifetimes-style: the sum
//!   over periods of expected transactions in the period × expected spend × margin /
//!   (1 + d)^period.
//! * [`sim`]: simulation from the model with a fixed seed (benchmark, recovery tests).
//! * `sql` (feature, default): DataFusion scalar UDFs [`sql::register_udfs`] and Arrow table
//!   conversions and file I/O ([`table`]).
//!
//! ## What this is for in the car business
//!
//! **Service visits are the repeat-transaction process.** An owner's repair orders at the
//! brand's dealers behave like the purchases these models were built for: they recur at a
//! personal rate (mileage, usage, maintenance habits), the owner can leave silently (sold the
//! car, moved, went to an independent garage) and nobody is told. So `marque clv --from-lake`
//! takes the repair orders of `raw_service_orders`, attributes each to the customer who is its
//! `owner` in `customer_map`, uses labour + parts as its value, and fits BG/NBD + Gamma-Gamma
//! on that. P(alive) is then "still servicing with us", which is what the dormant-owner and
//! at-risk segments need, and CLV is the discounted after-sales value (pass the service margin
//! with `--margin`).
//!
//! **Vehicle repurchase is not a BG/NBD process.** A household buys a car every 5–7 years, so
//! in any realistic calibration window almost every customer has x = 0 or 1: the likelihood
//! has nothing to separate the purchase rate from the dropout probability, and the model's
//! premise — a constant Poisson rate while alive, memoryless between purchases — is wrong for
//! durables, whose replacement hazard is very low for the first years and rises with the age,
//! mileage and warranty expiry of the current vehicle. Repurchase is therefore modelled as a
//! *time-to-event* problem on the vehicle, not the customer: the hazard of a new purchase by
//! vehicle age in years (a discrete-time life table, Kaplan–Meier style: of the vehicles that
//! reached age k without a repurchase by their owner, the share that saw one during year k),
//! optionally split by mileage band and warranty status. A customer's repurchase propensity
//! over the next year is the hazard at their vehicle's current age (the
//! `replacement_candidates` segment selects vehicle age 4–6 years plus service activity).
//! [`repurchase::life_table`] computes that hazard from (vehicle age, repurchased or censored)
//! spells. On the lake the same estimator is the SQL view `repurchase_hazard` (sql/views): a
//! spell runs from each vehicle purchase to the same customer's next purchase, or is censored
//! at the as-of date; `replacement_candidates` shows the hazard at each vehicle's current year
//! of age. It is a view rather than a Rust fit because it is a count per age — a group-by the
//! engine does over the whole lake in one pass, reproducible by analysts, with no parameters to
//! estimate; the split by mileage band and warranty status is a further GROUP BY key away, not
//! done yet (the generated lake records warranty claims but no warranty expiry dates).

pub mod bgnbd;
pub mod clv;
mod error;
pub mod gamma_gamma;
pub mod groups;
pub mod newton;
pub mod optim;
pub mod pareto_nbd;
pub mod repurchase;
pub mod rfm;
pub mod sim;
pub mod special;
#[cfg(feature = "sql")]
pub mod sql;
#[cfg(feature = "sql")]
pub mod table;

/// Re-exported so callers of [`sql`] and [`table`] use the same DataFusion and Arrow.
#[cfg(feature = "sql")]
pub use datafusion;

pub use bgnbd::BgNbd;
pub use clv::{ClvOptions, Score, TransactionModel, score, score_with};
pub use error::{ClvError, Result};
pub use gamma_gamma::GammaGamma;
pub use pareto_nbd::ParetoNbd;
pub use rfm::{CustomerRfm, Rfm, SummaryBuilder, TimeUnit};

/// A fitted model with how the fit went.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fit<M> {
    pub params: M,
    /// Maximised log-likelihood (sum over customers).
    pub log_likelihood: f64,
    /// Objective evaluations the optimiser spent.
    pub evaluations: usize,
    /// Whether the optimiser's convergence criterion was met.
    pub converged: bool,
    /// Customers the fit used.
    pub customers: usize,
    /// Distinct rows after folding identical summaries.
    pub distinct_rows: usize,
}
