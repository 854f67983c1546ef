//! `POST /v1/sql`: read-only SQL for analysts, streamed as JSON, NDJSON, CSV, Arrow or Parquet.
//!
//! Body `{"sql": "...", "format": "csv"}` (`format` optional; also `?format=` or `Accept`).
//! Analysts query the masked session ([`crate::mask`]); admins the engine's own. Every query is
//! audited with its outcome and row count.

use std::collections::HashMap;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::auth::{Capability, Role};
use crate::error::{ApiError, ApiResult};
use crate::routes::Caller;
use crate::state::AppState;
use crate::stream::{self, Format, Outcome};

/// The request body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SqlRequest {
    /// One read-only statement (SELECT, WITH, EXPLAIN of those, SHOW, DESCRIBE).
    pub sql: String,
    /// `json` (default), `ndjson`, `csv`, `arrow` or `parquet`.
    #[serde(default)]
    pub format: Option<String>,
}

/// Reads a JSON body of type `T`, mapping every failure to a JSON error: `413` when the body is
/// over the limit, `400` when it is not valid JSON or lacks a field. The content type is not
/// checked, so `curl -d` works.
pub fn parse_body<T: serde::de::DeserializeOwned>(
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<T> {
    let bytes = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                rejection.body_text(),
            )
        } else {
            ApiError::bad_request("bad_body", rejection.body_text())
        }
    })?;
    serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::bad_request("bad_json", format!("invalid JSON body: {e}")))
}

/// Runs the SQL and streams its rows.
#[utoipa::path(
    post,
    path = "/v1/sql",
    tag = "sql",
    request_body = SqlRequest,
    params(("format" = Option<String>, Query, description = "json, ndjson, csv, arrow or parquet; overrides Accept")),
    responses(
        (status = 200, description = "The rows, streamed in the chosen format. JSON: {columns:[{name,type}], rows:[{…}], row_count, truncated}"),
        (status = 400, description = "Bad JSON, SQL syntax error, unknown table or column, or a statement that would write (DDL, DML, COPY, SET — also under EXPLAIN)", body = crate::openapi::ErrorBody),
        (status = 401, description = "Missing or unknown token", body = crate::openapi::ErrorBody),
        (status = 403, description = "The role may not run SQL", body = crate::openapi::ErrorBody),
        (status = 406, description = "Accept names no supported type", body = crate::openapi::ErrorBody),
        (status = 413, description = "Body over the limit", body = crate::openapi::ErrorBody),
        (status = 429, description = "Too many queries running", body = crate::openapi::ErrorBody),
        (status = 504, description = "The query timed out before its first rows", body = crate::openapi::ErrorBody),
        (status = 507, description = "The query needs more memory than the pool allows", body = crate::openapi::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn run_sql(
    State(state): State<AppState>,
    caller: Caller,
    params: Result<Query<HashMap<String, String>>, QueryRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Response> {
    caller.require(Capability::Sql)?;
    let params = crate::routes::query_params(params)?;
    let request: SqlRequest = parse_body(body)?;
    if request.sql.trim().is_empty() {
        return Err(ApiError::bad_request(
            "sql_syntax",
            "the sql field is empty",
        ));
    }
    let explicit = request
        .format
        .as_deref()
        .or(params.get("format").map(String::as_str));
    let format = Format::choose(explicit, headers.get(header::ACCEPT))?;
    stream_query(&state, &caller, &request.sql, format, "sql").await
}

/// Plans `sql` for `caller` (masked for analysts), runs it under the service's limits, streams
/// the answer and audits it as `action`.
pub async fn stream_query(
    state: &AppState,
    caller: &Caller,
    sql: &str,
    format: Format,
    action: &'static str,
) -> ApiResult<Response> {
    let audit = state.audit.clone();
    let fail = |e: ApiError| {
        audit.record(caller.audit_event(action, sql, e.status.as_u16(), 0));
        e
    };
    let permit = state.sql_slots.clone().try_acquire_owned().map_err(|_| {
        fail(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_queries",
            format!(
                "{} queries are running, the most this service allows; retry shortly",
                state.cfg.max_concurrent_queries
            ),
        ))
    })?;
    tracing::info!(request_id = %caller.request_id, principal = %caller.principal.name, sql = %sql, "sql query");
    let timeout = state.cfg.query_timeout;
    let plan = async {
        let df = if caller.principal.role == Role::Admin {
            state.engine.query(sql).await?
        } else {
            let Some(ctx) = state.live.analyst() else {
                return Err(ApiError::unavailable(
                    "not_ready",
                    "the service is still loading the lake; retry shortly",
                ));
            };
            crate::mask::plan_read_only(&ctx, sql).await?
        };
        Ok(df.execute_stream().await?)
    };
    let planned = match timeout {
        Some(t) => tokio::time::timeout(t, plan)
            .await
            .unwrap_or_else(|_| Err(ApiError::from(marque_engine::EngineError::Timeout(t)))),
        None => plan.await,
    };
    let records = planned.map_err(fail)?;
    let remaining = timeout.map(|t| {
        t.saturating_sub(caller.started.elapsed())
            .max(Duration::from_millis(1))
    });
    let ended = {
        let caller = caller.clone();
        let audit = state.audit.clone();
        let sql = sql.to_string();
        Box::new(move |outcome: Outcome, rows: usize| {
            let status = match outcome {
                Outcome::Complete => 200,
                Outcome::Failed => 500,
                Outcome::TimedOut => 504,
                Outcome::Abandoned => 499,
            };
            audit.record(caller.audit_event(action, &sql, status, rows as u64));
        }) as stream::OnEnd
    };
    match stream::respond(
        records,
        format,
        remaining,
        state.cfg.max_rows,
        stream::hold(permit),
        ended,
    )
    .await
    {
        Ok(resp) => Ok(resp),
        Err((e, _ended)) => Err(fail(e)),
    }
}
