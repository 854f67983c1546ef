//! `GET /healthz`: the process is up and serving.

use axum::Json;
use serde_json::{Value, json};

/// `200 {"status":"ok"}`.
pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}
