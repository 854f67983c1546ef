//! `POST /v1/sql`: read-only SQL for analysts, answered as JSON rows.
//!
//! Body `{"sql": "..."}`. Answer `{"columns": [{"name", "type"}], "rows": [{...}], "row_count",
//! "truncated"}`. At most `max_rows` rows are returned; `truncated` says whether more existed.

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::error::{ApiError, ApiResult};
use crate::json::rows_json;
use crate::state::AppState;

/// The request body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SqlRequest {
    pub sql: String,
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

/// Runs the SQL and answers its rows.
pub async fn run_sql(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Response> {
    let request: SqlRequest = parse_body(body)?;
    if request.sql.trim().is_empty() {
        return Err(ApiError::bad_request(
            "sql_syntax",
            "the sql field is empty",
        ));
    }
    let _slot = state.sql_slots.clone().try_acquire_owned().map_err(|_| {
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_queries",
            "too many queries are running; retry shortly",
        )
    })?;
    tracing::info!(sql = %request.sql, "sql query");
    let df = state.engine.query(&request.sql).await?;
    // Ask for one row more than we answer to know whether the result was cut off.
    let df = df
        .limit(0, Some(state.max_rows.saturating_add(1)))
        .map_err(marque_engine::EngineError::from)?;
    let (schema, mut batches) = state.engine.collect(df).await?;

    let mut total = 0usize;
    let mut truncated = false;
    for batch in &mut batches {
        let room = state.max_rows - total;
        if batch.num_rows() > room {
            *batch = batch.slice(0, room);
            truncated = true;
        }
        total += batch.num_rows();
    }
    let columns: Vec<serde_json::Value> = schema
        .fields()
        .iter()
        .map(|f| serde_json::json!({ "name": f.name(), "type": f.data_type().to_string() }))
        .collect();

    let rows = rows_json(&batches)?;
    let columns = serde_json::to_vec(&columns)
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))?;
    let mut body = Vec::with_capacity(rows.len() + columns.len() + 64);
    body.extend_from_slice(b"{\"columns\":");
    body.extend_from_slice(&columns);
    body.extend_from_slice(b",\"rows\":");
    body.extend_from_slice(&rows);
    body.extend_from_slice(
        format!(",\"row_count\":{total},\"truncated\":{truncated}}}").as_bytes(),
    );
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}
