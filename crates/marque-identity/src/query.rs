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

/// The result of `sql`, which reads `table`, as one stream whose rows come in a fixed order:
/// each partition's batches in turn, every partition made ready by `ahead` (which may start it
/// decoding on its own task). A plain stream merges the partitions as their batches arrive,
/// so rows came in an order that changed from run to run, and with it each tie a run breaks
/// by load order (the mention a golden value is taken from, among equally recent ones).
pub(crate) async fn stream_in_order(
    ctx: &SessionContext,
    table: &str,
    sql: &str,
    ahead: impl Fn(SendableRecordBatchStream) -> SendableRecordBatchStream,
) -> Result<SendableRecordBatchStream> {
    use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
    use futures::StreamExt;
    let df = ctx.sql(sql).await.map_err(error(table))?;
    let schema = std::sync::Arc::new(df.schema().as_arrow().clone());
    let parts: Vec<SendableRecordBatchStream> = df
        .execute_stream_partitioned()
        .await
        .map_err(error(table))?
        .into_iter()
        .map(ahead)
        .collect();
    Ok(Box::pin(RecordBatchStreamAdapter::new(
        schema,
        futures::stream::iter(parts).flatten(),
    )))
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

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Int64Array, RecordBatch};
    use arrow::datatypes::{DataType, Field, Schema};
    use datafusion::datasource::MemTable;
    use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
    use futures::StreamExt;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn rows_come_in_partition_order_even_when_the_first_partition_is_slowest() {
        let schema = Arc::new(Schema::new(vec![Field::new("v", DataType::Int64, false)]));
        let part = |v: i64| {
            let col = Arc::new(Int64Array::from(vec![v])) as _;
            vec![RecordBatch::try_new(schema.clone(), vec![col]).unwrap()]
        };
        let parts: Vec<_> = (0..4).map(part).collect();
        let ctx = SessionContext::new();
        let table = MemTable::try_new(schema.clone(), parts).unwrap();
        ctx.register_table("t", Arc::new(table)).unwrap();
        // Partition 0 is held back: merged as batches arrive, its row came last.
        let calls = AtomicUsize::new(0);
        let ahead = |s: SendableRecordBatchStream| -> SendableRecordBatchStream {
            if calls.fetch_add(1, Ordering::SeqCst) > 0 {
                return s;
            }
            let schema = s.schema();
            let late =
                futures::stream::once(tokio::time::sleep(std::time::Duration::from_millis(200)))
                    .flat_map(move |()| futures::stream::empty())
                    .chain(s);
            Box::pin(RecordBatchStreamAdapter::new(schema, late))
        };
        let s = stream_in_order(&ctx, "t", "SELECT v FROM t", ahead)
            .await
            .unwrap();
        let got: Vec<i64> = s
            .map(|b| b.unwrap())
            .flat_map(|b| {
                let col = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
                futures::stream::iter(col.values().to_vec())
            })
            .collect()
            .await;
        assert_eq!(calls.load(Ordering::SeqCst), 4, "one stream a partition");
        assert_eq!(got, [0, 1, 2, 3]);
    }
}
