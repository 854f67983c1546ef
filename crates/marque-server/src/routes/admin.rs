//! `POST /v1/admin/refresh`: re-read the lake now and rebuild the profile index (admin only,
//! audited).

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::auth::Capability;
use crate::error::ApiResult;
use crate::routes::Caller;
use crate::state::AppState;

/// Forces a refresh.
#[utoipa::path(
    post,
    path = "/v1/admin/refresh",
    tag = "admin",
    responses(
        (status = 200, description = "{customers, mentions, versions}: the index now served"),
        (status = 403, description = "Admins only", body = crate::openapi::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn refresh(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Value>> {
    caller.require(Capability::Admin)?;
    let result = crate::refresh::refresh(&state, true).await;
    let status = if result.is_ok() { 200 } else { 500 };
    let ix = state.live.index();
    state
        .audit
        .record(caller.audit_event("admin.refresh", "lake", status, ix.len() as u64));
    result?;
    Ok(Json(json!({
        "customers": ix.len(),
        "mentions": ix.mention_count(),
        "versions": ix.versions,
    })))
}
