//! Which lake tables a session sees, and at which versions: the latest snapshot by default, a
//! pinned version per table for reproducible results, and empty placeholders for optional tables.

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::catalog::MemTable;
use datafusion::prelude::SessionContext;
use marque_lake::{Lake, LakeError};

use crate::{EngineError, Result};

/// Registers every table of `lake` on `ctx`, each at its pinned version when `pins` names it,
/// else at its latest version. Returns the registered tables with the version each was opened at.
/// A pin naming a table the lake does not have, or a version it never had, is an error.
pub(crate) async fn register_tables(
    lake: &Lake,
    ctx: &SessionContext,
    pins: &BTreeMap<String, i64>,
) -> Result<BTreeMap<String, i64>> {
    let names = lake.list_tables().await?;
    for pinned in pins.keys() {
        if !names.contains(pinned) {
            return Err(EngineError::InvalidOption(format!(
                "table {pinned} is pinned to version {} but the lake has no such table",
                pins[pinned]
            )));
        }
    }
    let mut versions = BTreeMap::new();
    for name in &names {
        let Some(mut table) = lake.load(name).await? else {
            continue;
        };
        let delta = |source| {
            EngineError::from(LakeError::Delta {
                table: name.clone(),
                source,
            })
        };
        if let Some(&version) = pins.get(name) {
            let latest = table.version().unwrap_or(0);
            let Some(wanted) = u64::try_from(version).ok().filter(|v| *v <= latest) else {
                return Err(EngineError::InvalidOption(format!(
                    "table {name} has versions 0..={latest}; version {version} does not exist"
                )));
            };
            table.load_version(wanted).await.map_err(delta)?;
        }
        table
            .update_datafusion_session(&ctx.state())
            .map_err(delta)?;
        let provider = table.table_provider().await.map_err(|source| {
            EngineError::from(LakeError::Query {
                table: name.clone(),
                source,
            })
        })?;
        ctx.register_table(name.as_str(), provider)?;
        let version = table.version().and_then(|v| i64::try_from(v).ok());
        versions.insert(name.clone(), version.unwrap_or(-1));
    }
    Ok(versions)
}

/// Tables other parts of Marque write later (or not at all on a given lake) that views read:
/// when the lake lacks one, an empty table with the contract's schema stands in, so the views
/// still plan and their columns from it are NULL. Returns the names that were stood in for.
pub(crate) fn register_placeholders(ctx: &SessionContext) -> Result<Vec<String>> {
    let mut stood_in = Vec::new();
    for (name, schema) in placeholder_schemas() {
        if ctx.table_exist(name)? {
            continue;
        }
        let table = MemTable::try_new(Arc::new(schema), vec![vec![]])?;
        ctx.register_table(name, Arc::new(table))?;
        tracing::debug!(
            table = name,
            "absent from the lake; an empty placeholder stands in"
        );
        stood_in.push(name.to_string());
    }
    Ok(stood_in)
}

/// The contract schemas of the optional tables (see `notes/contract.md` and issue 5).
fn placeholder_schemas() -> Vec<(&'static str, Schema)> {
    let f64s = |names: &[&str]| -> Vec<Field> {
        names
            .iter()
            .map(|n| Field::new(*n, DataType::Float64, true))
            .collect()
    };
    let mut clv = vec![Field::new("customer_id", DataType::Utf8, false)];
    clv.extend(f64s(&[
        "frequency",
        "recency",
        "t",
        "monetary_value",
        "expected_transactions",
        "p_alive",
        "expected_spend",
        "clv",
    ]));
    vec![("customer_clv", Schema::new(clv))]
}
