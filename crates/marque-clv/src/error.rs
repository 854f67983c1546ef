//! The crate's error type.

/// What went wrong in a CLV computation, and where.
#[derive(Debug, thiserror::Error)]
pub enum ClvError {
    /// Bad user data or options (the message names the row, column or value).
    #[error("invalid input: {0}")]
    Input(String),
    /// Model parameters outside their domain.
    #[error("invalid parameters: {0}")]
    Params(String),
    /// The optimiser could not find a finite maximum.
    #[error("fit failed: {0}")]
    Fit(String),
    /// Reading or writing a file.
    #[error("i/o: {0}")]
    Io(String),
    /// A DataFusion or Arrow failure while reading, writing or running SQL.
    #[cfg(feature = "sql")]
    #[error("{context}: {source}")]
    DataFusion {
        context: String,
        #[source]
        source: datafusion::error::DataFusionError,
    },
}

pub type Result<T, E = ClvError> = std::result::Result<T, E>;
