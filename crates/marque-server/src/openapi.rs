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
    components(schemas(ErrorBody, ErrorDetail, crate::routes::sql::SqlRequest)),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

/// The OpenAPI document of this service.
#[utoipa::path(get, path = "/openapi.json", tag = "operations",
    responses((status = 200, description = "This document")))]
pub async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
