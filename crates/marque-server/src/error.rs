//! API errors: an honest status code and a JSON body `{"error": {"code", "message"}}`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use marque_engine::EngineError;

/// An error answered to an HTTP client.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    /// An error with `status`, machine-readable `code` and human `message`.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    /// `400`: the request is wrong.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// `500`: the service's own failure (logged).
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
    }

    /// `503`: not ready yet (the profile index is being built, a table is missing).
    pub fn unavailable(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, code, message)
    }

    /// `404`: nothing there.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() && self.code != "not_ready" {
            tracing::error!(status = %self.status, code = self.code, message = %self.message, "request failed");
        } else {
            tracing::debug!(status = %self.status, code = self.code, message = %self.message, "request rejected");
        }
        let body = serde_json::json!({ "error": { "code": self.code, "message": self.message } });
        let mut response = (self.status, Json(body)).into_response();
        if self.status == StatusCode::PAYLOAD_TOO_LARGE {
            // The body was left unread, so the server closes the connection after answering.
            // Said in the answer, the client does not put the connection back in its pool: a
            // request sent on it next failed as an incomplete message.
            response.headers_mut().insert(
                axum::http::header::CONNECTION,
                axum::http::HeaderValue::from_static("close"),
            );
        }
        response
    }
}

impl From<EngineError> for ApiError {
    fn from(err: EngineError) -> Self {
        let status = match &err {
            e if e.is_user_error() => StatusCode::BAD_REQUEST,
            EngineError::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
            // The query needs more memory than the pool grants: the request is too big for
            // this server, retrying it unchanged will not help.
            EngineError::ResourcesExhausted(_) => StatusCode::INSUFFICIENT_STORAGE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        Self::new(status, err.code(), err.to_string())
    }
}

impl From<datafusion::error::DataFusionError> for ApiError {
    fn from(err: datafusion::error::DataFusionError) -> Self {
        EngineError::from(err).into()
    }
}

/// Why the service could not start or run.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: std::net::SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("server failed: {0}")]
    Serve(#[source] std::io::Error),
    #[error("configuration {origin}: {reason}")]
    Config { origin: String, reason: String },
    #[error(
        "refusing to listen on {0} with no tokens configured: open mode is loopback-only; add [[server.tokens]] to marque.toml"
    )]
    Insecure(std::net::SocketAddr),
    #[error(transparent)]
    Engine(#[from] EngineError),
}

/// Result of a handler.
pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_oversized_body_answer_closes_the_connection_so_clients_do_not_reuse_it() {
        let close = |status| {
            ApiError::new(status, "x", "y")
                .into_response()
                .headers()
                .get(axum::http::header::CONNECTION)
                .cloned()
        };
        assert_eq!(
            close(StatusCode::PAYLOAD_TOO_LARGE)
                .as_ref()
                .map(|v| v.as_bytes()),
            Some(&b"close"[..])
        );
        assert_eq!(
            close(StatusCode::BAD_REQUEST),
            None,
            "other errors keep the connection"
        );
    }
}
