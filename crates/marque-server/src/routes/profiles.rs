//! Profiles for services, all served from the in-memory index (never from Parquet):
//! `GET /v1/profiles/{customer_id}`, `GET /v1/profiles?phone=…` (or `vin`, `app_user_id`,
//! `unionid`, `email`), `GET /v1/profiles/{id}/timeline` and `GET /v1/profiles/{id}/explain`.
//!
//! Profiles are lean by default (golden record, mention counts per source, vehicles,
//! lifecycle, CLV, segments) and written straight from the index into the response body;
//! `include=mentions` adds every mention.
//!
//! An id that a later resolution merged into another answers `308` with `Location` pointing at
//! the surviving id (from `customer_id_history`), so a service that stored the old id follows it
//! and can update its copy.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use datafusion::prelude::{ident, lit};
use futures::StreamExt;
use serde_json::{Value, json};

use crate::auth::Capability;
use crate::auth::Role;
use crate::error::{ApiError, ApiResult};
use crate::index::{Include, KeyKind, ProfileIndex, Resolved, cells};
use crate::routes::{Caller, parse_cursor, parse_limit, path_param, query_params};
use crate::state::AppState;

/// Longest customer id accepted; longer ones cannot exist.
const MAX_ID_LEN: usize = 256;

fn ready_index(state: &AppState) -> ApiResult<Arc<ProfileIndex>> {
    if !state.live.is_ready() {
        return Err(ApiError::unavailable(
            "not_ready",
            "the profile index is still being built; retry shortly",
        ));
    }
    Ok(state.live.index())
}

/// Resolves the path id: the index of a live customer, or the `308`/`404` answer.
fn resolve(ix: &ProfileIndex, id: &str, suffix: &str) -> Result<u32, Box<Response>> {
    if id.is_empty() || id.len() > MAX_ID_LEN {
        return Err(Box::new(
            ApiError::not_found(format!("no customer {id:?}")).into_response(),
        ));
    }
    match ix.resolve(id) {
        Resolved::Found(i) => Ok(i),
        Resolved::Moved(to) => {
            let location = format!("/v1/profiles/{}{suffix}", encode_segment(&to));
            let body = json!({ "moved_to": to, "location": location });
            let mut resp = (StatusCode::PERMANENT_REDIRECT, Json(body)).into_response();
            if let Ok(v) = HeaderValue::from_str(&location) {
                resp.headers_mut().insert(header::LOCATION, v);
            }
            Err(Box::new(resp))
        }
        Resolved::Unknown => Err(Box::new(
            ApiError::not_found(format!("no customer {id:?}")).into_response(),
        )),
    }
}

/// The `include` parameter, or `400`.
fn include_param(value: Option<&str>) -> ApiResult<Include> {
    Include::parse(value).map_err(|m| ApiError::bad_request("bad_query", m))
}

/// A `200` JSON answer from bytes already written.
fn json_bytes(body: Vec<u8>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

/// Most profiles one lookup answers with (a hub key can be held by many customers).
const MAX_LOOKUP_PROFILES: usize = 100;

/// The lookup answer `{key, value, profiles}` for customers `hits`.
fn write_lookup(
    ix: &ProfileIndex,
    kind: KeyKind,
    value: &str,
    hits: &[u32],
    role: Role,
    include: Include,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(1024 * hits.len().min(4));
    out.extend_from_slice(b"{\"key\":");
    cells::write_str(&mut out, kind.as_str());
    out.extend_from_slice(b",\"value\":");
    cells::write_str(&mut out, value);
    out.extend_from_slice(b",\"profiles\":[");
    for (n, &i) in hits.iter().take(MAX_LOOKUP_PROFILES).enumerate() {
        if n > 0 {
            out.push(b',');
        }
        ix.write_profile(&mut out, i, role, include);
    }
    out.extend_from_slice(b"]}");
    out
}

/// Percent-encodes a path segment (ids are usually plain ASCII already).
fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// One customer's profile.
#[utoipa::path(
    get,
    path = "/v1/profiles/{customer_id}",
    tag = "profiles",
    params(
        ("customer_id" = String, Path, description = "A customer id; a merged-away id redirects"),
        ("include" = Option<String>, Query, description = "Comma-separated extras: `mentions` adds every mention as {source, record_id, role}"),
    ),
    responses(
        (status = 200, description = "The lean profile; `mentions` only with include=mentions. Service tokens never see resident-id columns.", body = crate::openapi::Profile),
        (status = 308, description = "The id was merged into another: Location is the surviving profile"),
        (status = 400, description = "An unknown include value", body = crate::openapi::ErrorBody),
        (status = 401, description = "Missing or unknown token", body = crate::openapi::ErrorBody),
        (status = 403, description = "The role may not read profiles", body = crate::openapi::ErrorBody),
        (status = 404, description = "No such customer", body = crate::openapi::ErrorBody),
        (status = 503, description = "The index is still being built", body = crate::openapi::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn get_profile(
    State(state): State<AppState>,
    caller: Caller,
    id: Result<Path<String>, PathRejection>,
    params: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> ApiResult<Response> {
    caller.require(Capability::Profiles)?;
    let id = path_param(id)?;
    let params = query_params(params)?;
    let include = include_param(params.get("include").map(String::as_str))?;
    let ix = ready_index(&state)?;
    match resolve(&ix, &id, "") {
        Ok(i) => {
            let mut out = Vec::with_capacity(1024);
            ix.write_profile(&mut out, i, caller.principal.role, include);
            Ok(json_bytes(out))
        }
        Err(resp) => Ok(*resp),
    }
}

/// Looks profiles up by one key.
#[utoipa::path(
    get,
    path = "/v1/profiles",
    tag = "profiles",
    params(
        ("phone" = Option<String>, Query, description = "Any common format: +86 138 0013 8000, 138-0013-8000, full-width digits"),
        ("vin" = Option<String>, Query, description = "17-character VIN (spaces, dashes, case ignored)"),
        ("app_user_id" = Option<String>, Query, description = "Brand app user id"),
        ("unionid" = Option<String>, Query, description = "WeChat unionid"),
        ("email" = Option<String>, Query, description = "E-mail address (when the lake has e-mails)"),
        ("include" = Option<String>, Query, description = "Comma-separated extras: `mentions` adds every mention to each profile"),
    ),
    responses(
        (status = 200, description = "Every customer holding the key (at most 100), lean profiles unless include=mentions", body = crate::openapi::ProfileLookup),
        (status = 400, description = "No key, several keys, an unknown parameter or include value, or an unusable value (a masked phone)", body = crate::openapi::ErrorBody),
        (status = 404, description = "No customer holds the key", body = crate::openapi::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn lookup(
    State(state): State<AppState>,
    caller: Caller,
    params: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> ApiResult<Response> {
    caller.require(Capability::Profiles)?;
    let params = query_params(params)?;
    let mut key = None;
    let mut include = Include::default();
    for (name, value) in &params {
        if name == "include" {
            include = include_param(Some(value))?;
            continue;
        }
        let Some(kind) = KeyKind::ALL.iter().find(|k| k.as_str() == name) else {
            return Err(ApiError::bad_request(
                "bad_query",
                format!(
                    "unknown parameter {name:?}: use phone, vin, app_user_id, unionid or email (and include)"
                ),
            ));
        };
        if key.is_some() {
            return Err(ApiError::bad_request(
                "bad_query",
                "give exactly one of phone, vin, app_user_id, unionid, email",
            ));
        }
        key = Some((*kind, value.as_str()));
    }
    let Some((kind, raw)) = key else {
        return Err(ApiError::bad_request(
            "bad_query",
            "give one of phone, vin, app_user_id, unionid, email",
        ));
    };
    let value = kind
        .normalise(raw)
        .map_err(|m| ApiError::bad_request("bad_key", m))?;
    let ix = ready_index(&state)?;
    let hits = ix.lookup(kind, &value);
    if hits.is_empty() {
        return Err(ApiError::not_found(format!(
            "no customer has {} {value:?}",
            kind.as_str()
        )));
    }
    Ok(json_bytes(write_lookup(
        &ix,
        kind,
        &value,
        hits,
        caller.principal.role,
        include,
    )))
}

/// A customer's mentions over time, newest first.
#[utoipa::path(
    get,
    path = "/v1/profiles/{customer_id}/timeline",
    tag = "profiles",
    params(
        ("customer_id" = String, Path, description = "A customer id"),
        ("limit" = Option<usize>, Query, description = "Page size, 1–500 (default 50)"),
        ("cursor" = Option<String>, Query, description = "next_cursor of the previous page"),
    ),
    responses(
        (status = 200, description = "{customer_id, events:[{at, source, role, record_id, first_seen, last_seen, record_count, vin}], next_cursor}"),
        (status = 308, description = "Merged-away id"),
        (status = 400, description = "Bad cursor or limit", body = crate::openapi::ErrorBody),
        (status = 404, description = "No such customer", body = crate::openapi::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn timeline(
    State(state): State<AppState>,
    caller: Caller,
    id: Result<Path<String>, PathRejection>,
    params: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> ApiResult<Response> {
    caller.require(Capability::Profiles)?;
    let id = path_param(id)?;
    let params = query_params(params)?;
    let offset = parse_cursor(params.get("cursor").map(String::as_str))?;
    let limit = parse_limit(params.get("limit").map(String::as_str), 50, 500)?;
    let ix = ready_index(&state)?;
    let i = match resolve(&ix, &id, "/timeline") {
        Ok(i) => i,
        Err(resp) => return Ok(*resp),
    };
    let (events, more) = ix.timeline(i, offset, limit);
    let next = more.then(|| (offset + limit).to_string());
    Ok(
        Json(json!({ "customer_id": ix.id(i), "events": events, "next_cursor": next }))
            .into_response(),
    )
}

/// Why the customer's mentions were linked: the match edges and their evidence.
#[utoipa::path(
    get,
    path = "/v1/profiles/{customer_id}/explain",
    tag = "profiles",
    params(("customer_id" = String, Path, description = "A customer id")),
    responses(
        (status = 200, description = "{customer_id, mentions:[{source,record_id,role}], edges:[{left_*, right_*, kind, weight, evidence}], edges_available}"),
        (status = 308, description = "Merged-away id"),
        (status = 404, description = "No such customer", body = crate::openapi::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn explain(
    State(state): State<AppState>,
    caller: Caller,
    id: Result<Path<String>, PathRejection>,
) -> ApiResult<Response> {
    caller.require(Capability::Profiles)?;
    let id = path_param(id)?;
    let ix = ready_index(&state)?;
    let i = match resolve(&ix, &id, "/explain") {
        Ok(i) => i,
        Err(resp) => return Ok(*resp),
    };
    let customer = ix.id(i).to_string();
    let mentions: Vec<Value> = ix
        .mention_keys(i)
        .into_iter()
        .map(|(s, r, role)| json!({ "source": s, "record_id": r, "role": role }))
        .collect();
    let mut edges = Vec::new();
    let available = match state.engine.table("match_edges").await? {
        Some(df) => {
            // Explanations are rare and for people: a filtered read of match_edges is fine here.
            let df = df
                .filter(ident("customer_id").eq(lit(customer.as_str())))?
                .limit(0, Some(1000))?;
            let mut stream = df.execute_stream().await?;
            while let Some(batch) = stream.next().await {
                let batch =
                    cells::normalise(&batch?).map_err(|e| ApiError::internal(e.to_string()))?;
                for row in 0..batch.num_rows() {
                    let mut obj = cells::row_object(&batch, row, |n| n == "customer_id");
                    // evidence is a JSON list stored as text: serve it as JSON.
                    if let Some(Value::String(text)) = obj.get("evidence")
                        && let Ok(v) = serde_json::from_str::<Value>(text)
                    {
                        obj.insert("evidence".into(), v);
                    }
                    edges.push(Value::Object(obj));
                }
            }
            true
        }
        None => false,
    };
    Ok(Json(json!({
        "customer_id": customer,
        "mentions": mentions,
        "edges": edges,
        "edges_available": available,
    }))
    .into_response())
}
