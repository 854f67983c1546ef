//! `POST /v1/ingest/{connector}`: NDJSON events pushed by an app back-end, one request = one
//! batch = one Delta commit, exactly once per `Idempotency-Key`.
//!
//! The body is bounded (`ingest_body_limit`, `413` above). Each line is a JSON object keyed by
//! the connector's source columns (for the reference `app_events`: `event_id`, `app_user_id`,
//! `unionid`, `registered_mobile`, `event_type`, `event_time`, …) and goes through the
//! connector's mapping like a row of a file, whatever format its files come in; bad lines go to `quarantine` with their reason.
//! Answer: `202 {batch_id, status, rows_read, rows_landed, rows_quarantined, rejected:[{line,
//! reason}]}` when at least one line landed (or the batch was already loaded); `422` with the
//! same body when every line was rejected. The batch is named `push/<Idempotency-Key>` (else
//! `push/<request id>`), so a retry with the same key and body lands nothing twice.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use marque_connect::ingest::BatchStatus;
use serde_json::json;

use crate::auth::Capability;
use crate::error::{ApiError, ApiResult};
use crate::routes::{Caller, path_param};
use crate::state::AppState;

/// Ingests the pushed lines.
#[utoipa::path(
    post,
    path = "/v1/ingest/{connector}",
    tag = "ingest",
    params(
        ("connector" = String, Path, description = "A connector name, e.g. app_events; lines are JSON objects keyed by its source columns"),
        ("Idempotency-Key" = Option<String>, Header, description = "Names the batch: the same key and body land once"),
    ),
    request_body(content = String, content_type = "application/x-ndjson", description = "One JSON object per line"),
    responses(
        (status = 202, description = "{batch_id, status: landed|already_loaded, rows_read, rows_landed, rows_quarantined, rejected:[{line, reason}]}"),
        (status = 400, description = "Empty body", body = crate::openapi::ErrorBody),
        (status = 404, description = "No such connector", body = crate::openapi::ErrorBody),
        (status = 413, description = "Body over the limit", body = crate::openapi::ErrorBody),
        (status = 422, description = "Every line was rejected: same body as 202, with the reasons"),
    ),
    security(("bearer" = []))
)]
pub async fn push(
    State(state): State<AppState>,
    caller: Caller,
    connector: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Response> {
    caller.require(Capability::Ingest)?;
    let connector = path_param(connector)?;
    let body = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!(
                    "pushed bodies are limited to {} bytes; split the events into several requests",
                    state.cfg.ingest_body_limit
                ),
            )
        } else {
            ApiError::bad_request("bad_body", rejection.body_text())
        }
    })?;
    let Some(def) = state.connectors.iter().find(|d| d.name == connector) else {
        return Err(ApiError::not_found(format!("no connector {connector:?}")));
    };
    // Pushed lines are JSON objects keyed by the connector's source columns, whatever format
    // its files come in: the mapping is the same, only the reader changes.
    let mut def = def.clone();
    def.format = marque_connect::Format::Jsonl;
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request("empty_body", "the body has no line"));
    }
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .filter(|k| !k.is_empty() && k.len() <= 200 && k.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_string)
        .unwrap_or_else(|| caller.request_id.to_string());
    let report = marque_connect::ingest_bytes(
        state.engine.lake(),
        &def,
        &format!("push/{key}"),
        body.to_vec(),
    )
    .await
    .map_err(|e| ApiError::unavailable("ingest_failed", e.to_string()))?;
    let status_text = match &report.status {
        BatchStatus::Landed => "landed",
        BatchStatus::AlreadyLoaded => "already_loaded",
        BatchStatus::Failed(e) => {
            state
                .audit
                .record(caller.audit_event("ingest.push", &connector, 503, 0));
            return Err(ApiError::unavailable(
                "ingest_failed",
                format!("the batch could not be written: {e}"),
            ));
        }
    };
    let status = if report.status == BatchStatus::Landed
        && report.rows_landed == 0
        && report.rows_quarantined > 0
    {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::ACCEPTED
    };
    state.audit.record(caller.audit_event(
        "ingest.push",
        &connector,
        status.as_u16(),
        report.rows_landed,
    ));
    let rejected: Vec<_> = report
        .rejected
        .iter()
        .map(|(line, reason)| json!({ "line": line, "reason": reason }))
        .collect();
    Ok((
        status,
        Json(json!({
            "batch_id": report.batch_id,
            "status": status_text,
            "rows_read": report.rows_read,
            "rows_landed": report.rows_landed,
            "rows_quarantined": report.rows_quarantined,
            "rejected": rejected,
        })),
    )
        .into_response())
}
