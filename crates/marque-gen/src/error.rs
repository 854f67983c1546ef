//! The one error type of the generator: every message says what failed and where.

use std::path::PathBuf;

/// Everything that can go wrong while configuring or running the generator.
#[derive(Debug, thiserror::Error)]
pub enum GenError {
    /// A `--dirt name=rate` flag or TOML key named a kind of dirt that does not exist.
    #[error("unknown dirt rate `{name}` (known: {known})")]
    UnknownDirt { name: String, known: String },
    /// A rate outside `[0, 1]` (or not a number).
    #[error("dirt rate `{name}` = {value} is outside [0, 1]")]
    RateOutOfRange { name: String, value: f64 },
    /// The dirt TOML could not be parsed.
    #[error("invalid dirt TOML: {0}")]
    Toml(String),
    /// Creating, writing or flushing an output file failed.
    #[error("I/O error on {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The CSV writer failed on a file.
    #[error("CSV error on {path}: {source}")]
    Csv {
        path: PathBuf,
        #[source]
        source: csv::Error,
    },
    /// Building Arrow batches or writing Parquet failed.
    #[error("Parquet/Arrow error on {path}: {message}")]
    Parquet { path: PathBuf, message: String },
    /// Serialising JSON (a lead line or the manifest) failed.
    #[error("JSON error on {path}: {source}")]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
}

impl GenError {
    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        GenError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
    pub(crate) fn csv(path: &std::path::Path, source: csv::Error) -> Self {
        GenError::Csv {
            path: path.to_path_buf(),
            source,
        }
    }
    pub(crate) fn parquet(path: &std::path::Path, e: impl std::fmt::Display) -> Self {
        GenError::Parquet {
            path: path.to_path_buf(),
            message: e.to_string(),
        }
    }
    pub(crate) fn json(path: &std::path::Path, source: serde_json::Error) -> Self {
        GenError::Json {
            path: path.to_path_buf(),
            source,
        }
    }
}
