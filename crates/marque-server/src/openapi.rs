//! `GET /openapi.json`: the OpenAPI document, generated from the handlers' annotations.

use axum::Json;
use serde::Serialize;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

/// Every error answer: `{"error": {"code", "message"}}`.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// A machine-readable code and a message for people.
#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
}

/// A unified customer profile. Written by hand from the in-memory index (not serialised from
/// this type, which describes it).
#[derive(Serialize, ToSchema)]
pub struct Profile {
    /// The customer's id.
    pub customer_id: String,
    /// The golden record: every column of the `customers` table (name, gender, birth_date,
    /// phone, city, app_user_id, unionid, mention_count, sources, first_seen, last_seen…);
    /// resident-id columns for admins only.
    #[schema(value_type = Object)]
    pub golden: serde_json::Value,
    /// Mentions per source (`{"after_sales": 3, "sales": 1}`).
    pub mention_counts: std::collections::BTreeMap<String, u64>,
    /// Every mention, sorted: only with `include=mentions`.
    pub mentions: Option<Vec<MentionRef>>,
    /// VINs the customer bought or owns, sorted.
    pub vehicles: Vec<String>,
    /// Lifecycle stage (`stage`, `stage_rule`, `as_of_date`, `last_purchase_date`,
    /// `last_service_date`, `days_silent` when the lake has them), or null.
    #[schema(value_type = Option<Object>)]
    pub lifecycle: Option<serde_json::Value>,
    /// The `customer_clv` row (frequency, recency, t, monetary_value, expected_transactions,
    /// p_alive, expected_spend, clv), or null.
    #[schema(value_type = Option<Object>)]
    pub clv: Option<serde_json::Value>,
    /// Segments the customer is a member of, from the lake table `segment_members`
    /// (`marque segments refresh`).
    pub segments: Vec<String>,
    /// How fresh `segments` is: `current` (computed from the resolution served), `stale`
    /// (computed from an older one), `missing` (never materialised: `segments` is empty for
    /// want of data, not membership) or `unreadable`.
    pub segments_state: String,
    /// When the segment membership was computed (RFC 3339), or null when missing.
    pub segments_as_of: Option<String>,
}

/// One source record in one role.
#[derive(Serialize, ToSchema)]
pub struct MentionRef {
    pub source: String,
    pub record_id: String,
    pub role: String,
}

/// The answer of a lookup by key.
#[derive(Serialize, ToSchema)]
pub struct ProfileLookup {
    /// The key's name (`phone`, `vin`, `app_user_id`, `unionid`, `email`).
    pub key: String,
    /// The normalised value looked up (a phone in E.164).
    pub value: String,
    /// Every customer holding the key, at most 100.
    pub profiles: Vec<Profile>,
}

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The API description.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Marque",
        description = "Unified customer profiles for services, read-only SQL for analysts. Bearer tokens with roles service, analyst and admin (open mode on loopback when none is configured). Every error is {\"error\":{\"code\",\"message\"}}."
    ),
    paths(
        crate::routes::health::healthz,
        crate::routes::health::readyz,
        crate::routes::health::metrics,
        openapi_json,
        crate::routes::sql::run_sql,
        crate::routes::profiles::lookup,
        crate::routes::profiles::get_profile,
        crate::routes::profiles::timeline,
        crate::routes::profiles::explain,
        crate::routes::segments::list,
        crate::routes::segments::members,
        crate::routes::admin::refresh,
        crate::routes::ingest::push,
    ),
    components(schemas(
        ErrorBody,
        ErrorDetail,
        Profile,
        MentionRef,
        ProfileLookup,
        crate::routes::sql::SqlRequest
    )),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

/// The OpenAPI document of this service.
#[utoipa::path(get, path = "/openapi.json", tag = "operations",
    responses((status = 200, description = "This document")))]
pub async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
