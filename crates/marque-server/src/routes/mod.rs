//! The HTTP routes, one module per resource, and the JSON fallbacks.

pub mod health;
pub mod profiles;
pub mod sql;

use crate::error::ApiError;
use axum::http::{Method, StatusCode, Uri};

/// Any path no route matches: `404` JSON.
pub async fn not_found(method: Method, uri: Uri) -> ApiError {
    ApiError::not_found(format!("no route for {method} {}", uri.path()))
}

/// A known path with the wrong method: `405` JSON.
pub async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{method} is not allowed on {}", uri.path()),
    )
}
