//! The one error type of marque-core.

/// What went wrong in a core conversion; each variant names the value that was wrong.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CoreError {
    #[error("unknown source {0:?}: expected one of sales, after_sales, marketing, app")]
    UnknownSource(String),
    #[error("unknown role {0:?}: expected one of buyer, owner, sender, lead, app_user")]
    UnknownRole(String),
}

/// Result with [`CoreError`].
pub type Result<T, E = CoreError> = std::result::Result<T, E>;
