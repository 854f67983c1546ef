//! The one error type of marque-lake.

/// A lake operation that failed, with the table or location it was about.
#[derive(Debug, thiserror::Error)]
pub enum LakeError {
    #[error("invalid lake root {root:?}: {reason}")]
    InvalidRoot { root: String, reason: String },
    #[error("invalid table name {0:?}: use lower-case letters, digits and underscores")]
    InvalidTableName(String),
    #[error("table {table}: {source}")]
    Delta {
        table: String,
        #[source]
        source: deltalake::DeltaTableError,
    },
    #[error("table {table}: {source}")]
    Query {
        table: String,
        #[source]
        source: datafusion::error::DataFusionError,
    },
    #[error("lake root {root}: {source}")]
    Store {
        root: String,
        #[source]
        source: object_store::Error,
    },
    #[error("table {table}, file {file}: {message}")]
    DataFile {
        table: String,
        file: String,
        message: String,
    },
    /// A task the write spawned panicked or was cancelled (a bug, not bad data).
    #[error("table {table}: a write task failed: {message}")]
    Task { table: String, message: String },
    #[error("{name} is locked by another run ({holder}); retry when it ends")]
    Locked { name: String, holder: String },
    #[error("lake root {root}: {source}")]
    Io {
        root: String,
        #[source]
        source: std::io::Error,
    },
}

impl LakeError {
    /// Wraps a delta-rs error about table `table` (for `map_err`).
    pub(crate) fn delta(
        table: &str,
    ) -> impl Fn(deltalake::DeltaTableError) -> LakeError + Copy + '_ {
        move |source| LakeError::Delta {
            table: table.to_string(),
            source,
        }
    }
}

/// Result with [`LakeError`].
pub type Result<T, E = LakeError> = std::result::Result<T, E>;
