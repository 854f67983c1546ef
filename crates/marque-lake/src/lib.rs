//! # marque-lake: Delta Lake tables on object storage
//!
//! Every table Marque keeps — the raw tables the connectors land, the quarantine, the ingestion
//! log, and the resolver's outputs — is a Delta Lake table under one *lake root*: a local folder
//! by default (`./marque-data`), or an `s3://bucket/prefix` URL for real deployments. A table is
//! the folder `<root>/<name>/` holding Parquet files and a `_delta_log`.
//!
//! Delta gives the lake what a pile of Parquet files cannot: a commit is atomic, so a batch is in
//! the table whole or not at all; and a commit can carry an *application transaction*
//! (`txn` action: app id + version) which Marque uses as the identity of a batch. Before writing a
//! batch a stage asks [`Lake::committed`] whether that app id is already in the table's log; a
//! rerun after a crash therefore writes exactly the part that did not land, never a second copy.
//!
//! Replacing some rows of a table ([`Lake::replace_rows`], what an incremental resolution does
//! to its customers' rows) marks the old rows deleted with Delta deletion vectors, which this
//! crate writes itself (delta-rs reads them but deletes copy-on-write), and appends the new
//! rows: no data file is rewritten, one commit per table.
//!
//! This crate is the only one that knows where tables are and how they are opened. Readers get a
//! DataFusion [`TableProvider`](datafusion::catalog::TableProvider) from [`Lake::provider`];
//! writers hand over Arrow record batches.

mod deletion_vector;
mod encoding;
mod error;
mod location;
mod lock;
mod maintenance;
mod row_deletes;
mod tables;

pub use encoding::{
    GOLDEN_LINEAGE_COLUMNS, HIGH_CARDINALITY_NUMBER_COLUMNS, HIGH_CARDINALITY_TEXT_COLUMNS,
    REPEATED_LONG_TEXT_COLUMNS, RESOLVED_HIGH_CARDINALITY_NUMBER_COLUMNS,
    RESOLVED_HIGH_CARDINALITY_TEXT_COLUMNS, UNCOMPRESSED_COLUMNS, writer_properties,
};
pub use error::{LakeError, Result};
pub use location::LakeRoot;
pub use lock::LakeLock;
pub use maintenance::{OptimizeSummary, VacuumSummary};
pub use tables::{BatchStream, Commit, Lake, WriteMode, is_valid_table_name};

/// Re-exported so that crates writing to the lake use the same Arrow and Delta versions.
pub use deltalake;
