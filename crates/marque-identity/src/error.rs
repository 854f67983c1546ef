//! The one error type of marque-identity.

/// A resolution run that could not complete.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error(transparent)]
    Lake(#[from] marque_lake::LakeError),
    #[error("reading {table}: {source}")]
    Query {
        table: String,
        #[source]
        source: datafusion::error::DataFusionError,
    },
    #[error("table {table}: column {column}: {message}")]
    Column { table: String, column: String, message: String },
    #[error("building {table}: {source}")]
    Arrow {
        table: String,
        #[source]
        source: arrow::error::ArrowError,
    },
    #[error("the lake has no raw tables to resolve; run `marque ingest` first")]
    NothingToResolve,
}

/// Result with [`IdentityError`].
pub type Result<T, E = IdentityError> = std::result::Result<T, E>;
