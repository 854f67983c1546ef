//! The HTTP routes, one module per resource, the caller extractor and the JSON fallbacks.

pub mod admin;
pub mod health;
pub mod ingest;
pub mod profiles;
pub mod segments;
pub mod sql;

use std::sync::Arc;
use std::time::Instant;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{Method, StatusCode, Uri};

use crate::audit::AuditEvent;
use crate::auth::{Capability, Principal};
use crate::error::ApiError;
use crate::metrics::RequestId;
use crate::state::AppState;

/// The authenticated caller of a request and its request id: `401` when the token is missing or
/// unknown (open mode: `anonymous` admin).
#[derive(Debug, Clone)]
pub struct Caller {
    pub principal: Principal,
    pub request_id: Arc<str>,
    pub started: Instant,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let principal = state.tokens.authenticate(&parts.headers)?;
        let request_id = parts
            .extensions
            .get::<RequestId>()
            .map(|r| r.0.clone())
            .unwrap_or_else(|| Arc::from("-"));
        Ok(Self {
            principal,
            request_id,
            started: Instant::now(),
        })
    }
}

impl Caller {
    /// `403` unless the caller's role has `cap`.
    pub fn require(&self, cap: Capability) -> Result<(), ApiError> {
        self.principal.require(cap)
    }

    /// An audit event for `action` on `target` by this caller.
    pub fn audit_event(
        &self,
        action: &'static str,
        target: &str,
        status: u16,
        rows: u64,
    ) -> AuditEvent {
        AuditEvent {
            at: chrono::Utc::now(),
            request_id: self.request_id.to_string(),
            principal: self.principal.name.to_string(),
            role: self.principal.role.as_str(),
            action,
            target: target.to_string(),
            status,
            rows,
            duration_ms: self.started.elapsed().as_millis() as u64,
        }
    }
}

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

/// Parses a pagination cursor (an offset written by a previous page).
pub fn parse_cursor(cursor: Option<&str>) -> Result<usize, ApiError> {
    match cursor {
        None | Some("") => Ok(0),
        Some(c) => c.parse::<usize>().map_err(|_| {
            ApiError::bad_request(
                "bad_cursor",
                format!("cursor {c:?} is not one this service wrote"),
            )
        }),
    }
}

/// A page size: `default` when absent, `400` outside `1..=max`.
pub fn parse_limit(limit: Option<&str>, default: usize, max: usize) -> Result<usize, ApiError> {
    match limit {
        None | Some("") => Ok(default),
        Some(l) => match l.parse::<usize>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            _ => Err(ApiError::bad_request(
                "bad_limit",
                format!("limit {l:?} must be a number from 1 to {max}"),
            )),
        },
    }
}

/// The query parameters, or `400` JSON when the query string cannot be decoded.
pub fn query_params(
    q: Result<
        axum::extract::Query<std::collections::HashMap<String, String>>,
        axum::extract::rejection::QueryRejection,
    >,
) -> Result<std::collections::HashMap<String, String>, ApiError> {
    q.map(|axum::extract::Query(m)| m)
        .map_err(|e| ApiError::bad_request("bad_query", e.body_text()))
}

/// The path parameter, or `400` JSON when it cannot be decoded (bad percent-encoding, not UTF-8).
pub fn path_param(
    p: Result<axum::extract::Path<String>, axum::extract::rejection::PathRejection>,
) -> Result<String, ApiError> {
    p.map(|axum::extract::Path(s)| s)
        .map_err(|e| ApiError::bad_request("bad_path", e.body_text()))
}
