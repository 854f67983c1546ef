//! The one error type of marque-connect.

use std::path::PathBuf;

/// A connector that could not run: its definition is wrong, an input cannot be read, or the lake
/// refused a write. Bad *rows* are not errors: they are quarantined.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("{path}: {message}")]
    Definition { path: PathBuf, message: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not a readable Parquet file: {message}")]
    Parquet { path: PathBuf, message: String },
    /// Boxed: lake errors carry Delta and DataFusion errors, which are large.
    #[error(transparent)]
    Lake(Box<marque_lake::LakeError>),
    /// A stage of the ingest pipeline stopped (its thread failed, or the writer went away).
    #[error("ingest pipeline: {0}")]
    Internal(String),
    /// An object store source (`s3://…`) could not be listed or read.
    #[error("{url}: {message}")]
    Source { url: String, message: String },
    #[error("building the {table} batch: {source}")]
    Arrow {
        table: String,
        #[source]
        source: arrow::error::ArrowError,
    },
}

/// Result with [`ConnectError`].
pub type Result<T, E = ConnectError> = std::result::Result<T, E>;

impl From<marque_lake::LakeError> for ConnectError {
    fn from(e: marque_lake::LakeError) -> Self {
        ConnectError::Lake(Box::new(e))
    }
}
