//! The one error type of the evaluator: every message names the file or batch, the line or row
//! and the field that was wrong.

use std::io;
use std::path::PathBuf;

/// Everything that can go wrong while loading ground truth or reading predictions.
///
/// Truth line numbers are 1-based physical lines of the CSV file (the header is line 1).
/// Prediction locations are `batch B, row R`, both 0-based, counted over the batches handed to
/// one [`crate::Evaluator`]; predictions given as key/customer pairs are located as `pair N`.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// The truth file could not be opened or read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The truth file is not well-formed CSV (for example a row with the wrong number of fields).
    #[error("malformed CSV at {} line {line}: {message}", path.display())]
    Csv {
        path: PathBuf,
        line: u64,
        message: String,
    },
    /// A required column is absent from the truth header.
    #[error("{} has no column {column:?} in its header (line 1)", path.display())]
    MissingTruthColumn { path: PathBuf, column: &'static str },
    /// A truth field holds a value the evaluator does not accept.
    #[error("{reason} {value:?} at {} line {line} (field {field})", path.display())]
    TruthField {
        path: PathBuf,
        line: u64,
        field: &'static str,
        value: String,
        reason: &'static str,
    },
    /// The same mention appears twice in the truth file.
    #[error(
        "duplicate mention {key} at {} line {line} (first given as data row {first_row})",
        path.display()
    )]
    DuplicateTruth {
        path: PathBuf,
        line: u64,
        key: String,
        first_row: u64,
    },
    /// The truth file holds more mentions than the evaluator's 32-bit indices can address.
    #[error("{} holds more than {max} mentions", path.display())]
    TooManyMentions { path: PathBuf, max: u64 },
    /// A prediction batch lacks one of the required columns.
    #[error("predictions batch {batch} has no column {column:?}")]
    MissingPredictionColumn { batch: u64, column: &'static str },
    /// A prediction column is not a string column.
    #[error(
        "predictions batch {batch} column {column:?} has type {data_type}, expected Utf8, LargeUtf8 or Utf8View"
    )]
    PredictionColumnType {
        batch: u64,
        column: &'static str,
        data_type: String,
    },
    /// A prediction field is null or holds a value the evaluator does not accept.
    #[error("{reason} {value:?} at predictions {location} (field {field})")]
    PredictionField {
        location: String,
        field: &'static str,
        value: String,
        reason: &'static str,
    },
    /// The same mention is predicted twice; a customer_map must map each mention exactly once.
    #[error("mention {key} predicted twice (second time at predictions {location})")]
    DuplicatePrediction { key: String, location: String },
}

/// Shorthand for results of this crate.
pub type Result<T, E = EvalError> = std::result::Result<T, E>;
