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
/// so rows came in an order that changed from run to run, and with it the mentions' indices
/// and whatever a run decides in their order.
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
    each: impl FnMut(&[TextColumn], usize),
) -> Result<()> {
    each_batch(stream(ctx, table, sql).await?, table, each).await
}

/// Hands each batch of `s` (text columns of `table`) to `each`, one at a time.
async fn each_batch(
    mut s: SendableRecordBatchStream,
    table: &str,
    mut each: impl FnMut(&[TextColumn], usize),
) -> Result<()> {
    use futures::StreamExt;
    while let Some(batch) = s.next().await {
        let batch = batch.map_err(error(table))?;
        let cols = (0..batch.num_columns())
            .map(|i| TextColumn::of(&batch, i, table))
            .collect::<Result<Vec<_>>>()?;
        each(&cols, batch.num_rows());
    }
    Ok(())
}

/// A test of one row's text values (`None` for null), in the order of the columns it is
/// given.
pub(crate) type RowTest = std::sync::Arc<dyn Fn(&[Option<&str>]) -> bool + Send + Sync>;

/// [`for_each_batch`] over `columns` (text) of the rows of `table` that pass `test` on
/// `tested` (text columns). The test runs inside the scan, on its tasks (one a partition),
/// and with filter pushdown the other columns are decoded only for the rows that pass.
/// Tested row by row in `each`, it took the caller's core: an incremental run's scope
/// tests all 19.3M `customer_map` rows at 1M persons for its previous ids. (For the 10.8M
/// `mentions` rows of the `holders` probe it was slower: every tested column is decoded
/// anyway.)
pub(crate) async fn for_each_batch_where(
    ctx: &SessionContext,
    table: &str,
    columns: &[&str],
    tested: &[&str],
    test: RowTest,
    each: impl FnMut(&[TextColumn], usize),
) -> Result<()> {
    use datafusion::prelude::col;
    // A function holding the sets, not SQL: an `IN` list of 171k literals overflowed the
    // planner's stack.
    let args = tested.iter().map(|c| col(*c)).collect();
    let df = ctx
        .table(table)
        .await
        .and_then(|t| t.filter(row_test(tested.len(), test).call(args)))
        .and_then(|t| t.select_columns(columns))
        .map_err(error(table))?;
    each_batch(
        df.execute_stream().await.map_err(error(table))?,
        table,
        each,
    )
    .await
}

/// `test` as a filter function of `n` text arguments.
fn row_test(n: usize, test: RowTest) -> datafusion::logical_expr::ScalarUDF {
    use arrow::array::{Array, AsArray, BooleanArray, StringViewArray};
    use arrow::datatypes::DataType;
    use datafusion::logical_expr::{ColumnarValue, Volatility, create_udf};
    create_udf(
        "marque_row_test",
        vec![DataType::Utf8View; n],
        DataType::Boolean,
        Volatility::Immutable,
        std::sync::Arc::new(move |args: &[ColumnarValue]| {
            let arrays = ColumnarValue::values_to_arrays(args)?;
            let texts: Vec<&StringViewArray> = arrays
                .iter()
                .map(|a| {
                    a.as_string_view_opt().ok_or_else(|| {
                        datafusion::error::DataFusionError::Internal(format!(
                            "marque_row_test expects text, got {}",
                            a.data_type()
                        ))
                    })
                })
                .collect::<std::result::Result<_, _>>()?;
            let rows = texts.first().map_or(0, |t| t.len());
            let mut values = vec![None; texts.len()];
            let hits: BooleanArray = (0..rows)
                .map(|r| {
                    for (v, t) in values.iter_mut().zip(&texts) {
                        *v = t.is_valid(r).then(|| t.value(r));
                    }
                    Some(test(&values))
                })
                .collect();
            Ok(ColumnarValue::Array(std::sync::Arc::new(hits)))
        }),
    )
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

    #[tokio::test]
    async fn only_rows_passing_the_test_reach_the_caller_and_nulls_are_none() {
        use arrow::array::StringArray;
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Utf8, false),
            Field::new("who", DataType::Utf8, true),
        ]));
        let cols = vec![
            Arc::new(StringArray::from(vec!["r1", "r2", "r3", "r4"])) as _,
            Arc::new(StringArray::from(vec![
                Some("C1"),
                None,
                Some("C2"),
                Some("C1"),
            ])) as _,
        ];
        let batch = RecordBatch::try_new(schema.clone(), cols).unwrap();
        let ctx = SessionContext::new();
        let table = MemTable::try_new(schema, vec![vec![batch]]).unwrap();
        ctx.register_table("t", Arc::new(table)).unwrap();
        let test: RowTest = Arc::new(|v| v[1].is_none_or(|w| w == "C1") && v[0] != Some("r4"));
        let mut got = Vec::new();
        for_each_batch_where(&ctx, "t", &["id"], &["id", "who"], test, |cols, rows| {
            got.extend((0..rows).map(|r| cols[0].get(r).unwrap().to_string()));
        })
        .await
        .unwrap();
        assert_eq!(got, ["r1", "r2"]);
    }

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
