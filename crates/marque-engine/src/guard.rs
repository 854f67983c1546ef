//! The read-only guard: which logical plans a user's SQL may produce.

use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::SQLOptions;

use crate::{EngineError, Result};

/// The options every user query is planned with: no DDL, no DML (which includes `COPY`), no
/// statements (`SET`, transactions, `PREPARE`…).
pub fn read_only_options() -> SQLOptions {
    SQLOptions::new()
        .with_allow_ddl(false)
        .with_allow_dml(false)
        .with_allow_statements(false)
}

/// Rejects a plan that would change anything, wherever the offending node sits: at the top, under
/// `EXPLAIN` / `EXPLAIN ANALYZE` (which executes its input), or in a subquery. DataFusion's own
/// [`SQLOptions::verify_plan`] runs after this as a second line of defence.
pub fn check_read_only(plan: &LogicalPlan) -> Result<()> {
    let mut forbidden: Option<String> = None;
    plan.apply_with_subqueries(|node| {
        let what = match node {
            LogicalPlan::Ddl(ddl) => Some(format!("DDL ({})", ddl.name())),
            LogicalPlan::Dml(dml) => Some(format!("DML ({})", dml.op)),
            LogicalPlan::Copy(_) => Some("COPY".to_string()),
            LogicalPlan::Statement(stmt) => Some(format!("statement ({})", stmt.name())),
            _ => None,
        };
        Ok(match what {
            Some(w) => {
                forbidden = Some(w);
                TreeNodeRecursion::Stop
            }
            None => TreeNodeRecursion::Continue,
        })
    })?;
    if let Some(what) = forbidden {
        return Err(EngineError::Forbidden(format!(
            "{what} is not allowed: only read-only queries are accepted"
        )));
    }
    if let Err(e) = read_only_options().verify_plan(plan) {
        return Err(EngineError::Forbidden(e.message().into_owned()));
    }
    Ok(())
}
