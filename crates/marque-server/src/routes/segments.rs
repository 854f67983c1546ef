//! `GET /v1/segments` and `GET /v1/segments/{name}/members`: the named segments of
//! `sql/segments/`, their members paged from the index, or the whole segment streamed.

use std::collections::HashMap;

use axum::Json;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::auth::Capability;
use crate::error::{ApiError, ApiResult};
use crate::routes::{Caller, parse_cursor, parse_limit, path_param, query_params};
use crate::state::AppState;
use crate::stream::Format;

/// The segments.
#[utoipa::path(
    get,
    path = "/v1/segments",
    tag = "segments",
    responses(
        (status = 200, description = "{segments:[{name, description, members}]}; members is null when the segment's query failed at the last index build"),
        (status = 403, description = "The role may not read segments", body = crate::openapi::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn list(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Value>> {
    caller.require(Capability::Segments)?;
    let ix = state.live.index();
    let counts: HashMap<&str, Option<usize>> = ix.segments().into_iter().collect();
    let segments: Vec<Value> = state
        .segments
        .iter()
        .map(|s| {
            json!({
                "name": s.name,
                "description": s.description,
                "members": counts.get(s.name.as_str()).copied().flatten(),
            })
        })
        .collect();
    Ok(Json(json!({ "segments": segments })))
}

/// A segment's members.
#[utoipa::path(
    get,
    path = "/v1/segments/{name}/members",
    tag = "segments",
    params(
        ("name" = String, Path, description = "Segment name (the file stem)"),
        ("limit" = Option<usize>, Query, description = "Page size, 1–10000 (default 1000)"),
        ("cursor" = Option<String>, Query, description = "next_cursor of the previous page"),
        ("format" = Option<String>, Query, description = "Stream the whole segment query result instead: json, ndjson, csv, arrow or parquet (masked for analysts)"),
    ),
    responses(
        (status = 200, description = "{segment, members:[customer_id], total, next_cursor}, or the streamed export"),
        (status = 400, description = "Bad cursor, limit or format", body = crate::openapi::ErrorBody),
        (status = 404, description = "No such segment", body = crate::openapi::ErrorBody),
        (status = 503, description = "Members not computed (the segment's query failed)", body = crate::openapi::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn members(
    State(state): State<AppState>,
    caller: Caller,
    name: Result<Path<String>, PathRejection>,
    params: Result<Query<HashMap<String, String>>, QueryRejection>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    caller.require(Capability::Segments)?;
    let name = path_param(name)?;
    let params = query_params(params)?;
    let Some(segment) = state.segments.iter().find(|s| s.name == name) else {
        return Err(ApiError::not_found(format!("no segment {name:?}")));
    };
    if let Some(f) = params.get("format") {
        let format = Format::choose(Some(f), headers.get(header::ACCEPT))?;
        return crate::routes::sql::stream_query(
            &state,
            &caller,
            &segment.sql,
            format,
            "segment.export",
        )
        .await;
    }
    let offset = parse_cursor(params.get("cursor").map(String::as_str))?;
    let limit = parse_limit(params.get("limit").map(String::as_str), 1000, 10_000)?;
    let ix = state.live.index();
    let Some((page, total)) = ix.segment_page(&name, offset, limit) else {
        return Err(ApiError::unavailable(
            "segment_unavailable",
            format!(
                "the members of {name:?} are not computed (its query failed or the index is still being built); use ?format=json to run it"
            ),
        ));
    };
    let next = (offset + limit < total).then(|| (offset + limit).to_string());
    Ok(
        Json(json!({ "segment": name, "members": page, "total": total, "next_cursor": next }))
            .into_response(),
    )
}
