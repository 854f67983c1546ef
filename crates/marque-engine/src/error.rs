//! The one error type of marque-engine, split into the user's mistakes and the engine's failures.

use std::time::Duration;

use datafusion::arrow::error::ArrowError;
use datafusion::error::DataFusionError;
use marque_lake::LakeError;

/// A failed engine operation.
///
/// [`EngineError::is_user_error`] tells the caller whether the person who sent the SQL can fix it
/// (a syntax error, an unknown table or column, a forbidden statement, a cast that fails on the
/// data): the server maps those to `400`, everything else to a `5xx`.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The SQL text does not parse.
    #[error("SQL syntax error: {0}")]
    Syntax(String),
    /// The SQL parses but cannot be planned: unknown table, column or function, wrong types,
    /// unsupported feature.
    #[error("invalid query: {0}")]
    InvalidQuery(String),
    /// The statement would change something (DDL, DML, COPY, SET, transactions…), possibly
    /// hidden inside `EXPLAIN`. Only read-only queries are accepted.
    #[error("statement not allowed: {0}")]
    Forbidden(String),
    /// The query was valid but failed on the data (a failing cast, division by zero, …).
    #[error("query failed: {0}")]
    QueryFailed(String),
    /// The query hit the engine's memory limit.
    #[error("resources exhausted: {0}")]
    ResourcesExhausted(String),
    /// The query ran longer than the engine's query timeout and was cancelled.
    #[error("query timed out after {0:?}")]
    Timeout(Duration),
    /// A named object (segment, table version) does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// An engine option is invalid (a pinned version that does not exist, a bad date).
    #[error("invalid option: {0}")]
    InvalidOption(String),
    /// A view file could not be read.
    #[error("view file {path}: {source}")]
    ViewFile {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// The lake could not be listed or a table could not be opened (boxed: Delta errors are big).
    #[error(transparent)]
    Lake(Box<LakeError>),
    /// Any other DataFusion failure (I/O, internal errors): not the user's fault.
    #[error("engine error: {0}")]
    Internal(String),
}

/// Result with [`EngineError`].
pub type Result<T, E = EngineError> = std::result::Result<T, E>;

impl EngineError {
    /// Whether the caller's input caused the error (the server answers `400`).
    pub fn is_user_error(&self) -> bool {
        matches!(
            self,
            Self::Syntax(_)
                | Self::InvalidQuery(_)
                | Self::Forbidden(_)
                | Self::QueryFailed(_)
                | Self::NotFound(_)
                | Self::InvalidOption(_)
        )
    }

    /// A short, stable, machine-readable code for the error kind.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Syntax(_) => "sql_syntax",
            Self::InvalidQuery(_) => "invalid_query",
            Self::Forbidden(_) => "forbidden_statement",
            Self::QueryFailed(_) => "query_failed",
            Self::ResourcesExhausted(_) => "resources_exhausted",
            Self::Timeout(_) => "query_timeout",
            Self::NotFound(_) => "not_found",
            Self::InvalidOption(_) => "invalid_option",
            Self::ViewFile { .. } | Self::Lake(_) | Self::Internal(_) => "internal",
        }
    }
}

impl From<LakeError> for EngineError {
    fn from(err: LakeError) -> Self {
        Self::Lake(Box::new(err))
    }
}

impl From<DataFusionError> for EngineError {
    fn from(err: DataFusionError) -> Self {
        classify(&err)
    }
}

fn classify(err: &DataFusionError) -> EngineError {
    let root = err.find_root();
    let message = root.message().into_owned();
    match root {
        DataFusionError::SQL(parser, _) => EngineError::Syntax(parser.to_string()),
        DataFusionError::Plan(_)
        | DataFusionError::SchemaError(..)
        | DataFusionError::NotImplemented(_) => EngineError::InvalidQuery(message),
        DataFusionError::ResourcesExhausted(_) => EngineError::ResourcesExhausted(message),
        DataFusionError::ArrowError(arrow, _) => match arrow.as_ref() {
            ArrowError::CastError(_)
            | ArrowError::ParseError(_)
            | ArrowError::DivideByZero
            | ArrowError::ArithmeticOverflow(_)
            | ArrowError::ComputeError(_)
            | ArrowError::InvalidArgumentError(_) => EngineError::QueryFailed(message),
            _ => EngineError::Internal(err.to_string()),
        },
        // Raised by scalar functions given bad arguments at run time (e.g. an invalid regex).
        DataFusionError::Execution(_) => EngineError::QueryFailed(message),
        _ => EngineError::Internal(err.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datafusion_errors_are_classified() {
        let plan = EngineError::from(DataFusionError::Plan("table 'x' not found".into()));
        assert!(plan.is_user_error());
        assert_eq!(plan.code(), "invalid_query");
        let wrapped = DataFusionError::Context(
            "ctx".into(),
            Box::new(DataFusionError::ArrowError(
                Box::new(ArrowError::DivideByZero),
                None,
            )),
        );
        assert_eq!(EngineError::from(wrapped).code(), "query_failed");
        let internal = EngineError::from(DataFusionError::Internal("bug".into()));
        assert!(!internal.is_user_error());
        let oom = EngineError::from(DataFusionError::ResourcesExhausted("pool".into()));
        assert!(!oom.is_user_error());
    }
}
