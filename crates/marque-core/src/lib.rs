//! # marque-core: the vocabulary every Marque crate shares
//!
//! Marque ingests four kinds of source system (dealer sales, after-sales repair orders, marketing
//! leads, app events), resolves the people in them into customers and serves those customers.
//! Every stage must agree on a few things, and they live here so that no stage invents its own:
//!
//! - [`model`]: the four [`Source`]s, the [`Role`]s a person can play in a source record, and the
//!   key of a *mention* (one person as seen by one record in one role). The generator's ground
//!   truth, the lake's raw tables, the resolver's `customer_map` and the evaluator all speak in
//!   these terms, so a mention written by one stage is found by the next.
//! - Identifier validation that the generator uses to make valid data and the resolver uses to
//!   judge evidence: [`vin`] (ISO 3779 check digit at position 9) and [`resident_id`]
//!   (18-digit Chinese resident identity number, ISO 7064 MOD 11-2).
//! - Normalisers for the dirty values of Chinese customer data: [`phone`] (E.164, masked and
//!   placeholder numbers), [`text`] (NFKC, full-width to half-width, whitespace) and [`name`]
//!   (honorifics such as 王先生 reduced to surname and gender).
//!
//! - [`canonical`]: the canonical fields of each domain and the Arrow schema of its raw table.
//!
//! Nothing here does I/O; everything is a pure, unit-tested function or type.

pub mod canonical;
pub mod error;
pub mod model;
pub mod name;
pub mod phone;
pub mod resident_id;
pub mod text;
pub mod vin;

pub use error::{CoreError, Result};
pub use model::{MentionKey, Role, Source};
