//! # marque-identity: from person mentions to customers
//!
//! A *mention* is one person as seen by one source record in one role: the buyer on an invoice,
//! the owner and the sender on a repair order, a lead, an app account's event. Resolution turns
//! mentions into *customers*:
//!
//! 1. [`mentions`] reads the raw tables (all of them, or only new batches and the records of the
//!    customers they touch: [`incremental`]) and normalises each mention's evidence with
//!    marque-core: names simplified, with pinyin, honorifics and nicknames told apart; phones in
//!    E.164 (masked and placeholder numbers are never keys); resident ids kept as keyed hashes.
//!    Each [`mention`] is held in 72 bytes (names and cities shared per spelling, its key
//!    record id packed): at 1M persons ten million of them are the run's memory floor. Records
//!    delivered twice are read once, and records with identical keyed evidence fold into one
//!    mention, in sets sharded so that both cores work them (`record_folds`); the ids of the
//!    records folded beyond each mention's key are spilled to a temporary file ([`folded`]).
//!    Each raw table is read a partition at a time, in order, so a lake loads its mentions in
//!    the same order every run.
//! 2. [`hubs`] marks hub phones; [`link`] folds mentions with identical keyed evidence into
//!    units, links strong keys deterministically, and scores candidate pairs (units sharing a
//!    phone, or a VIN as buyer/owner) with [`compare`] vectors and the Fellegi–Sunter [`model`]
//!    ([`train`]ed by EM, u from frequencies and random pairs, names weighed by their
//!    frequency), holding the pairs above the match weight in 16 bytes each. Guards decide
//!    what may join: different full names never; weak-name mentions on shared phones only to the
//!    phone's dominant person; exclusive labels in the [`cluster`] union-find for resident ids
//!    and never-link overrides; support for weak links; a size limit. A VIN links a vehicle,
//!    never two differently named people.
//! 3. [`history`] lets each cluster keep the id most of its records had ([`ids`] derives fresh
//!    ones), recording merges and splits; [`golden`] picks each customer's best values.
//! 4. [`resolve()`] writes `mentions`, `customer_map`, `customers`, `match_edges` and the
//!    `identity_*` bookkeeping ([`tables`]); [`overrides`] and [`explain`] serve the operator.
//!
//! Blocking and scoring run in Rust over compact unit ids rather than as DataFusion plans: the
//! candidate sets are small after folding, and the graph steps need the whole cluster state.

pub mod cluster;
mod clustering;
pub mod compact;
pub mod compare;
mod error;
pub mod explain;
pub mod folded;
pub mod golden;
pub mod hashing;
pub mod history;
pub mod hubs;
pub mod ids;
pub mod incremental;
mod keyless;
pub mod link;
mod masked;
mod memory;
pub mod mention;
pub mod mentions;
pub mod model;
mod name_cache;
pub mod names;
mod output;
pub mod outside;
pub mod overrides;
mod passes;
pub mod previous;
mod publish;
mod query;
mod record_folds;
mod record_set;
mod resolve;
mod scoring;
pub mod tables;
mod text_column;
pub mod train;
mod units;
mod weak;

pub use error::{IdentityError, Result};
pub use link::LinkConfig;
pub use resolve::{ResolveOptions, ResolveSummary, resolve};
