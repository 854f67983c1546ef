//! The analyst's view of the lake: the same tables and views, with phones masked and resident id
//! numbers hidden, and read-only SQL planned against it.
//!
//! Masking is applied where the data enters a query, not on the result: every table and view
//! whose schema has a sensitive column is registered in the analyst session as a projection
//! that replaces the column by its masked value under the same name. A query that renames or
//! transforms the column (`upper(phone) AS x`) therefore only ever sees the masked value.
//! Sensitive columns, by name (case-insensitive):
//!
//! - phones: names containing `phone` or `mobile`, and `tel`: `+8613912345678` → `+86139****5678`;
//! - resident id numbers: names containing `resident_id`, `id_card` or `id_number`, except
//!   `*_hash` columns: replaced by `******************` (nulls stay null).
//!
//! Limit: the views of `sql/views` are planned on the engine's session, so in the analyst session
//! a view is masked by its *output* column names like a table. A view that exposed a phone under
//! an unrelated name (`SELECT phone AS contact`) would show it in clear; Marque's views keep
//! the names `phone` / `resident_id*`.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, StringArray};
use arrow::compute::can_cast_types;
use arrow::datatypes::DataType;
use datafusion::catalog::view::ViewTable;
use datafusion::common::ScalarValue;
use datafusion::datasource::provider_as_source;
use datafusion::logical_expr::{
    ColumnarValue, LogicalPlanBuilder, ScalarUDF, Volatility, create_udf,
};
use datafusion::prelude::{DataFrame, Expr, SessionContext, cast, col, lit};
use marque_engine::{Engine, EngineError};

/// Whether column `name` holds phone numbers.
pub fn is_phone_column(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.contains("phone") || n.contains("mobile") || n == "tel" || n.ends_with("_tel")
}

/// Whether column `name` holds resident id numbers in clear.
pub fn is_resident_id_column(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    (n.contains("resident_id") || n.contains("id_card") || n.contains("id_number"))
        && !n.ends_with("_hash")
}

/// `+8613912345678` → `+86139****5678`; short values are masked whole.
pub fn mask_phone(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let head = if s.starts_with("+86") { 6 } else { 3 };
    if chars.len() < head + 4 + 1 {
        return "*".repeat(chars.len().max(4));
    }
    let tail: String = chars[chars.len() - 4..].iter().collect();
    let head: String = chars[..head].iter().collect();
    format!("{head}****{tail}")
}

fn string_udf(name: &str, f: fn(&str) -> String) -> ScalarUDF {
    create_udf(
        name,
        vec![DataType::Utf8],
        DataType::Utf8,
        Volatility::Immutable,
        Arc::new(move |args: &[ColumnarValue]| {
            let arrays = ColumnarValue::values_to_arrays(args)?;
            let input = arrays[0]
                .as_any()
                .downcast_ref::<StringArray>()
                .ok_or_else(|| {
                    datafusion::error::DataFusionError::Internal(format!(
                        "masking expects Utf8, got {}",
                        arrays[0].data_type()
                    ))
                })?;
            let out: StringArray = input.iter().map(|v| v.map(f)).collect();
            Ok(ColumnarValue::Array(Arc::new(out) as ArrayRef))
        }),
    )
}

fn mask_id(_: &str) -> String {
    "*".repeat(18)
}

/// The masking expression for column `name` of type `dt`, or `None` when it is not sensitive.
fn masked(name: &str, dt: &DataType, phone: &ScalarUDF, id: &ScalarUDF) -> Option<Expr> {
    let udf = if is_phone_column(name) {
        phone
    } else if is_resident_id_column(name) {
        id
    } else {
        return None;
    };
    let column = col(datafusion::common::Column::new_unqualified(name));
    let expr = if can_cast_types(dt, &DataType::Utf8) && !dt.is_nested() {
        udf.call(vec![cast(column, DataType::Utf8)])
    } else {
        lit(ScalarValue::Utf8(None))
    };
    Some(expr.alias(name))
}

/// Builds the analyst session over the engine's current tables and views.
pub async fn analyst_context(engine: &Engine) -> Result<SessionContext, EngineError> {
    let base = engine.context();
    let ctx = SessionContext::new_with_config_rt(base.copied_config(), base.runtime_env());
    {
        let state = base.state();
        for f in state.scalar_functions().values() {
            ctx.register_udf(f.as_ref().clone());
        }
        for f in state.aggregate_functions().values() {
            ctx.register_udaf(f.as_ref().clone());
        }
        for f in state.window_functions().values() {
            ctx.register_udwf(f.as_ref().clone());
        }
    }
    let phone = string_udf("marque_mask_phone", mask_phone);
    let id = string_udf("marque_mask_resident_id", mask_id);
    ctx.register_udf(phone.clone());
    ctx.register_udf(id.clone());
    let mut names = engine.tables();
    names.extend(engine.views());
    for name in names {
        let provider = match base.table_provider(name.as_str()).await {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(table = %name, error = %e, "not in the analyst session");
                continue;
            }
        };
        let schema = provider.schema();
        let sensitive = schema
            .fields()
            .iter()
            .any(|f| is_phone_column(f.name()) || is_resident_id_column(f.name()));
        if !sensitive {
            ctx.register_table(name.as_str(), provider)?;
            continue;
        }
        let exprs: Vec<Expr> = schema
            .fields()
            .iter()
            .map(|f| {
                masked(f.name(), f.data_type(), &phone, &id)
                    .unwrap_or_else(|| col(datafusion::common::Column::new_unqualified(f.name())))
            })
            .collect();
        let plan = LogicalPlanBuilder::scan(name.as_str(), provider_as_source(provider), None)?
            .project(exprs)?
            .build()?;
        ctx.register_table(name.as_str(), Arc::new(ViewTable::new(plan, None)))?;
    }
    Ok(ctx)
}

/// Plans read-only `sql` on `ctx`; DDL, DML, `COPY` and statements are refused, also under
/// `EXPLAIN` and in subqueries (the same rule as [`Engine::query`]).
pub async fn plan_read_only(ctx: &SessionContext, sql: &str) -> Result<DataFrame, EngineError> {
    let plan = ctx.state().create_logical_plan(sql).await?;
    marque_engine::check_read_only(&plan)?;
    Ok(ctx.execute_logical_plan(plan).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_and_ids_are_recognised_and_masked() {
        assert_eq!(mask_phone("+8613912345678"), "+86139****5678");
        assert_eq!(mask_phone("13912345678"), "139****5678");
        assert_eq!(mask_phone("12345"), "*****");
        for n in ["phone", "owner_phone", "Mobile", "tel"] {
            assert!(is_phone_column(n), "{n}");
        }
        assert!(!is_phone_column("hotel_name"));
        assert!(is_resident_id_column("resident_id"));
        assert!(!is_resident_id_column("resident_id_hash"));
        assert!(!is_resident_id_column("customer_id"));
    }
}
