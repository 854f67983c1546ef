//! `/healthz` (the process is up), `/readyz` (the first index is built), `/metrics`.

use std::sync::atomic::Ordering;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::state::AppState;

/// `200 {"status":"ok"}`.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "{status: ok}")))]
pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// `200` once the profile index is built, with what it holds; `503` before.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses(
        (status = 200, description = "{status: ready, customers, mentions, keys, index_bytes, build_secs, build_phases, versions, built_at, segments: {state, computed_at, as_of_date, computed_from, served, stale_tables, unmatched_members, error}, warnings, last_error}"),
        (status = 503, description = "Still loading", body = crate::openapi::ErrorBody),
    ))]
pub async fn readyz(State(state): State<AppState>) -> Response {
    if !state.live.is_ready() {
        return ApiError::unavailable("not_ready", "the profile index is still being built")
            .into_response();
    }
    let ix = state.live.index();
    let last_error = state
        .live
        .last_error
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    Json(json!({
        "status": "ready",
        "customers": ix.len(),
        "mentions": ix.mention_count(),
        "keys": ix.key_count(),
        "index_bytes": ix.heap_bytes(),
        "index_parts": ix.heap_parts().into_iter().collect::<std::collections::BTreeMap<_, _>>(),
        "build_secs": ix.build_secs,
        "build_phases": ix.build_phases,
        "versions": ix.versions,
        "built_at": ix.built_at.to_rfc3339(),
        "segments": ix.segments_as_of().to_json(&ix.versions),
        "warnings": ix.warnings,
        "last_error": last_error,
    }))
    .into_response()
}

/// Prometheus text format.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text exposition format", content_type = "text/plain")))]
pub async fn metrics(State(state): State<AppState>) -> Response {
    let ix = state.live.index();
    let extra = [
        (
            "marque_ready",
            "1 once the profile index is built.",
            f64::from(u8::from(state.live.is_ready())),
        ),
        (
            "marque_profile_index_customers",
            "Customers in the served index.",
            ix.len() as f64,
        ),
        (
            "marque_profile_index_mentions",
            "Mentions in the served index.",
            ix.mention_count() as f64,
        ),
        (
            "marque_profile_index_bytes",
            "Heap bytes of the served index.",
            ix.heap_bytes() as f64,
        ),
        (
            "marque_profile_index_build_seconds",
            "Time the served index took to build.",
            ix.build_secs,
        ),
        (
            "marque_profile_index_builds_total",
            "Index builds since start.",
            state.live.builds.load(Ordering::Relaxed) as f64,
        ),
        (
            "marque_segments_current",
            "1 when the served segment membership was computed from the served resolution.",
            f64::from(u8::from(
                ix.segments_as_of().state == crate::index::SegmentsState::Current,
            )),
        ),
        (
            "marque_segments_computed_timestamp_seconds",
            "When the served segment membership was computed (0: never).",
            ix.segments_as_of()
                .computed_at
                .map_or(0.0, |t| t.timestamp() as f64),
        ),
        (
            "marque_sql_slots_available",
            "SQL queries that may still start.",
            state.sql_slots.available_permits() as f64,
        ),
        (
            "marque_audit_written_total",
            "Audit events written.",
            state.audit.written.load(Ordering::Relaxed) as f64,
        ),
        (
            "marque_audit_dropped_total",
            "Audit events dropped (writer behind).",
            state.audit.dropped.load(Ordering::Relaxed) as f64,
        ),
    ];
    let body = state.metrics.render(&extra);
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        body,
    )
        .into_response()
}
