//! Running SQL on a run's session, with errors that name the table the query reads.

use arrow::array::RecordBatch;
use datafusion::physical_plan::SendableRecordBatchStream;
use datafusion::prelude::SessionContext;

use crate::text_column::TextColumn;
use crate::{IdentityError, Result};

fn error(table: &str) -> impl Fn(datafusion::error::DataFusionError) -> IdentityError + '_ {
    move |source| IdentityError::Query {
        table: table.into(),
        source,
    }
}

/// All result batches of `sql`, which reads `table`.
pub(crate) async fn collect(
    ctx: &SessionContext,
    table: &str,
    sql: &str,
) -> Result<Vec<RecordBatch>> {
    ctx.sql(sql)
        .await
        .map_err(error(table))?
        .collect()
        .await
        .map_err(error(table))
}

/// How many rows `table` holds.
pub(crate) async fn count_rows(ctx: &SessionContext, table: &str) -> Result<usize> {
    use arrow::array::AsArray;
    let sql = format!("SELECT COUNT(*) FROM {table}");
    let batches = collect(ctx, table, &sql).await?;
    Ok(batches
        .iter()
        .filter(|b| b.num_columns() == 1)
        .filter_map(|b| {
            b.column(0)
                .as_primitive_opt::<arrow::datatypes::Int64Type>()
        })
        .flat_map(|c| c.iter().flatten())
        .sum::<i64>()
        .max(0) as usize)
}

/// The result of `sql`, which reads `table`, as a stream of batches.
pub(crate) async fn stream(
    ctx: &SessionContext,
    table: &str,
    sql: &str,
) -> Result<SendableRecordBatchStream> {
    ctx.sql(sql)
        .await
        .map_err(error(table))?
        .execute_stream()
        .await
        .map_err(error(table))
}

/// Runs `sql`, which reads `table` and selects only text columns, and hands each result batch's
/// columns and row count to `each`: one streaming pass, no batch held after its turn.
pub(crate) async fn for_each_batch(
    ctx: &SessionContext,
    table: &str,
    sql: &str,
    mut each: impl FnMut(&[TextColumn], usize),
) -> Result<()> {
    use futures::StreamExt;
    let mut s = stream(ctx, table, sql).await?;
    while let Some(batch) = s.next().await {
        let batch = batch.map_err(error(table))?;
        let cols = (0..batch.num_columns())
            .map(|i| TextColumn::of(&batch, i, table))
            .collect::<Result<Vec<_>>>()?;
        each(&cols, batch.num_rows());
    }
    Ok(())
}
