//! `GET /v1/profiles/{customer_id}`: one customer's golden record, mentions and vehicles.
//!
//! Reads go through the DataFrame API with the id as a literal value, never spliced into SQL
//! text, so any id (quotes included) is just a value that matches nothing.

use std::collections::BTreeSet;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use datafusion::prelude::{DataFrame, Expr, ident, lit};
use marque_core::{Role, Source, canonical};
use marque_engine::{Engine, EngineError};
use serde::Serialize;
use serde_json::Value;

use crate::error::{ApiError, ApiResult};
use crate::json::rows_values;
use crate::state::AppState;

/// Longest customer id accepted; longer ones cannot exist.
const MAX_ID_LEN: usize = 256;

/// One source record in which the customer appears.
#[derive(Debug, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct Mention {
    pub source: String,
    pub record_id: String,
    pub role: String,
}

/// The answer.
#[derive(Debug, Serialize)]
pub struct Profile {
    pub customer_id: String,
    /// The `customers` row, every column present (`null` when unknown).
    pub golden: Value,
    pub mentions: Vec<Mention>,
    /// Distinct VINs the customer bought (sales buyer) or brought in as owner (after-sales).
    pub vehicles: Vec<String>,
}

/// Looks the customer up.
pub async fn get_profile(
    State(state): State<AppState>,
    Path(customer_id): Path<String>,
) -> ApiResult<Json<Profile>> {
    if customer_id.is_empty() || customer_id.len() > MAX_ID_LEN {
        return Err(ApiError::not_found(format!("no customer {customer_id:?}")));
    }
    let engine = &state.engine;
    let Some(customers) = engine.table("customers").await? else {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_ready",
            "the lake has no customers table yet: run identity resolution first",
        ));
    };
    let golden = rows(
        engine,
        customers.filter(ident("customer_id").eq(lit(customer_id.as_str())))?,
    )
    .await?;
    let Some(golden) = golden.into_iter().next() else {
        return Err(ApiError::not_found(format!("no customer {customer_id:?}")));
    };

    let mut mentions = Vec::new();
    if let Some(map) = engine.table("customer_map").await? {
        let map = map
            .filter(ident("customer_id").eq(lit(customer_id.as_str())))?
            .select(vec![ident("source"), ident("record_id"), ident("role")])?;
        for row in rows(engine, map).await? {
            let field = |k: &str| {
                row.get(k)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string()
            };
            mentions.push(Mention {
                source: field("source"),
                record_id: field("record_id"),
                role: field("role"),
            });
        }
    }
    mentions.sort();

    let mut vehicles = BTreeSet::new();
    // A VIN belongs to the customer who bought it or is its registered owner, never to the
    // person who merely brought it in.
    for (source, role) in [
        (Source::Sales, Role::Buyer),
        (Source::AfterSales, Role::Owner),
    ] {
        let table = canonical::raw_table(source);
        let ids: Vec<Expr> = mentions
            .iter()
            .filter(|m| m.source == source.as_str() && m.role == role.as_str())
            .map(|m| lit(m.record_id.as_str()))
            .collect();
        if ids.is_empty() {
            continue;
        }
        let Some(raw) = engine.table(table).await? else {
            continue;
        };
        let vins = raw
            .filter(
                ident("record_id")
                    .in_list(ids, false)
                    .and(ident("vin").is_not_null()),
            )?
            .select(vec![ident("vin")])?
            .distinct()?;
        for row in rows(engine, vins).await? {
            if let Some(vin) = row
                .get("vin")
                .and_then(Value::as_str)
                .filter(|v| !v.is_empty())
            {
                vehicles.insert(vin.to_string());
            }
        }
    }

    Ok(Json(Profile {
        customer_id,
        golden,
        mentions,
        vehicles: vehicles.into_iter().collect(),
    }))
}

async fn rows(engine: &Engine, df: DataFrame) -> ApiResult<Vec<Value>> {
    let (_, batches) = engine.collect(df).await?;
    rows_values(&batches)
}

impl From<datafusion::error::DataFusionError> for ApiError {
    fn from(err: datafusion::error::DataFusionError) -> Self {
        // A plan over the contract tables that fails is the lake's fault (a missing column), not
        // the caller's: answer it as a server error with the engine's message.
        let err = EngineError::from(err);
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            err.to_string(),
        )
    }
}
