//! The one error type of marque-identity.

/// A resolution run that could not complete.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// Boxed: lake errors carry Delta and DataFusion errors, which are large.
    #[error(transparent)]
    Lake(Box<marque_lake::LakeError>),
    #[error("reading {table}: {source}")]
    Query {
        table: String,
        #[source]
        source: datafusion::error::DataFusionError,
    },
    #[error("table {table}: column {column}: {message}")]
    Column {
        table: String,
        column: String,
        message: String,
    },
    #[error("building {table}: {source}")]
    Arrow {
        table: String,
        #[source]
        source: arrow::error::ArrowError,
    },
    #[error("spilling folded record ids to {path}: {source}")]
    Spill {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the lake has no raw tables to resolve; run `marque ingest` first")]
    NothingToResolve,
    #[error("no customer {0:?} in customer_map")]
    UnknownCustomer(String),
    #[error("invalid mention key {0:?}: expected SOURCE:RECORD_ID:ROLE")]
    BadMentionKey(String),
    #[error(
        "incremental resolution of the lake at this version is not possible: {0}; run `marque resolve --full`"
    )]
    Incremental(String),
}

/// Result with [`IdentityError`].
pub type Result<T, E = IdentityError> = std::result::Result<T, E>;

impl From<marque_lake::LakeError> for IdentityError {
    fn from(e: marque_lake::LakeError) -> Self {
        IdentityError::Lake(Box::new(e))
    }
}
