//! # marque-identity: from person mentions to customers
//!
//! A *mention* is one person as seen by one source record in one role: the buyer on an invoice,
//! the owner and the sender on a repair order, a lead, an app account's event. Resolution turns
//! mentions into *customers*:
//!
//! 1. [`mentions`] reads the raw tables and normalises each mention's evidence: phone to E.164
//!    (masked and placeholder numbers are never keys), resident id validated and kept only as a
//!    keyed hash, names cleaned and honorific forms (王先生) reduced to surname + gender.
//! 2. [`link`] joins mentions with a union-find over compact integer ids. Strong keys (valid
//!    resident id, app user id, WeChat unionid) link deterministically. A phone links only
//!    mentions whose names agree, and a phone seen with many different names is a *hub* (a
//!    salesperson's own number) and links nothing. Two different valid resident ids never end
//!    up in one customer. A VIN never links people: it identifies a vehicle.
//! 3. [`golden`] picks each customer's best values and [`ids`] derives a customer id from the
//!    cluster's earliest mention, so the same input gives the same ids and a rerun with more
//!    data keeps the ids of clusters that survive.
//! 4. [`resolve()`] writes `mentions`, `customer_map` and `customers` to the lake, each in one
//!    commit.
//!
//! This first resolver is deterministic only; fuzzy matching (Fellegi–Sunter) builds on the same
//! mentions and guards.

pub mod cluster;
pub mod compare;
mod error;
pub mod explain;
pub mod golden;
pub mod history;
pub mod ids;
pub mod incremental;
pub mod link;
pub mod mentions;
pub mod model;
pub mod names;
mod output;
pub mod overrides;
mod resolve;
pub mod tables;

pub use error::{IdentityError, Result};
pub use link::LinkConfig;
pub use resolve::{ResolveOptions, ResolveSummary, resolve};
