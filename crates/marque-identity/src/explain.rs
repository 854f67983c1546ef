//! Why a customer is what it is: its mentions and every link holding it together, with each
//! comparison's level and weight (from `match_edges`).

use arrow::array::RecordBatch;
use datafusion::prelude::SessionContext;
use marque_lake::Lake;

use crate::{IdentityError, Result};

/// A customer's mentions and links.
pub struct Explanation {
    pub customer_id: String,
    /// From `mentions`: source, role, record, records folded, name, phone, vin, first seen.
    pub mentions: Vec<RecordBatch>,
    /// From `match_edges`: both ends, kind, weight and the evidence JSON.
    pub edges: Vec<RecordBatch>,
    /// From `customer_id_history`: ids merged into or split from this one.
    pub history: Vec<RecordBatch>,
}

async fn query(ctx: &SessionContext, table: &str, sql: String) -> Result<Vec<RecordBatch>> {
    let err = |e| IdentityError::Query {
        table: table.into(),
        source: e,
    };
    ctx.sql(&sql)
        .await
        .map_err(err)?
        .collect()
        .await
        .map_err(err)
}

/// Explains `customer_id`; fails when the customer does not exist.
pub async fn explain(lake: &Lake, customer_id: &str) -> Result<Explanation> {
    let ctx = SessionContext::new();
    let tables = lake.register_all(&ctx).await?;
    let id = customer_id.replace('\'', "''");
    let mentions = query(
        &ctx,
        "mentions",
        format!(
            "SELECT source, role, record_id, record_count, name, phone, vin, city, first_seen \
             FROM mentions WHERE customer_id = '{id}' ORDER BY first_seen, source, record_id, role"
        ),
    )
    .await?;
    if mentions.iter().all(|b| b.num_rows() == 0) {
        return Err(IdentityError::UnknownCustomer(customer_id.to_string()));
    }
    let edges = if tables.iter().any(|t| t == "match_edges") {
        query(
            &ctx,
            "match_edges",
            format!(
                "SELECT left_source || ':' || left_record_id || ':' || left_role AS left_mention, \
                 right_source || ':' || right_record_id || ':' || right_role AS right_mention, \
                 kind, round(weight, 2) AS weight, evidence \
                 FROM match_edges WHERE customer_id = '{id}' ORDER BY weight DESC NULLS FIRST, left_mention, right_mention"
            ),
        )
        .await?
    } else {
        Vec::new()
    };
    let history = if tables.iter().any(|t| t == "customer_id_history") {
        query(
            &ctx,
            "customer_id_history",
            format!(
                "SELECT old_id, new_id, changed_at, reason, records FROM customer_id_history \
                 WHERE old_id = '{id}' OR new_id = '{id}' ORDER BY changed_at"
            ),
        )
        .await?
    } else {
        Vec::new()
    };
    Ok(Explanation {
        customer_id: customer_id.to_string(),
        mentions,
        edges,
        history,
    })
}
