//! `GET /v1/segments` and `GET /v1/segments/{name}/members`: the named segments of
//! `sql/segments/`, their members paged from the index — which holds the membership
//! materialised in the lake table `segment_members` by `marque segments refresh`, with its
//! state (`current`, `stale`, `missing`) — or the whole segment query streamed on demand.

use std::collections::HashMap;

use axum::Json;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::auth::Capability;
use crate::error::{ApiError, ApiResult};
use crate::index::SegmentsState;
use crate::routes::{Caller, parse_cursor, parse_limit, path_param, query_params};
use crate::state::AppState;
use crate::stream::Format;
use marque_engine::segments::MEMBERS_TABLE;

/// The segments.
#[utoipa::path(
    get,
    path = "/v1/segments",
    tag = "segments",
    responses(
        (status = 200, description = "{segments:[{name, description, members}], segments_state, segments_as_of}: members from the materialised segment_members table, null when it holds none for the segment; segments_state is current, stale (computed from an older resolution), missing (no table: run `marque segments refresh`) or unreadable"),
        (status = 403, description = "The role may not read segments", body = crate::openapi::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn list(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Value>> {
    caller.require(Capability::Segments)?;
    let ix = state.live.index();
    let counts: HashMap<&str, Option<usize>> = ix.segments().into_iter().collect();
    let mut segments: Vec<Value> = state
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
    // Materialised segments whose definition this service was not given.
    for (name, n) in ix.segments() {
        if !state.segments.iter().any(|s| s.name == name) {
            segments.push(json!({ "name": name, "description": "", "members": n }));
        }
    }
    let as_of = ix.segments_as_of();
    Ok(Json(json!({
        "segments": segments,
        "segments_state": as_of.state.as_str(),
        "segments_as_of": as_of.computed_at_json(),
    })))
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
        (status = 200, description = "{segment, members:[customer_id], total, next_cursor, segments_state, segments_as_of} from the materialised segment_members table, or the streamed export (which runs the definition)"),
        (status = 400, description = "Bad cursor, limit or format", body = crate::openapi::ErrorBody),
        (status = 404, description = "No such segment", body = crate::openapi::ErrorBody),
        (status = 503, description = "Members not materialised: no segment_members table (segments_not_materialised), or none for this segment (segment_unavailable): run `marque segments refresh`", body = crate::openapi::ErrorBody),
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
    let ix = state.live.index();
    let definition = state.segments.iter().find(|s| s.name == name);
    if definition.is_none() && !ix.has_segment(&name) {
        return Err(ApiError::not_found(format!("no segment {name:?}")));
    }
    if let Some(f) = params.get("format") {
        let format = Format::choose(Some(f), headers.get(header::ACCEPT))?;
        let Some(segment) = definition else {
            return Err(ApiError::not_found(format!(
                "segment {name:?} has members but no definition in this service's segments directory: no export"
            )));
        };
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
    let as_of = ix.segments_as_of();
    let Some((page, total)) = ix.segment_page(&name, offset, limit) else {
        return Err(match as_of.state {
            SegmentsState::Missing | SegmentsState::Unreadable => ApiError::unavailable(
                "segments_not_materialised",
                format!(
                    "segment membership is not materialised ({}: {}); run `marque segments refresh`, or use ?format=json to run the definition",
                    MEMBERS_TABLE,
                    as_of.state.as_str()
                ),
            ),
            _ => ApiError::unavailable(
                "segment_unavailable",
                format!(
                    "{MEMBERS_TABLE} holds no members for {name:?} (its query failed at the last `marque segments refresh`); use ?format=json to run it"
                ),
            ),
        });
    };
    let next = (offset + limit < total).then(|| (offset + limit).to_string());
    Ok(Json(json!({
        "segment": name,
        "members": page,
        "total": total,
        "next_cursor": next,
        "segments_state": as_of.state.as_str(),
        "segments_as_of": as_of.computed_at_json(),
    }))
    .into_response())
}
