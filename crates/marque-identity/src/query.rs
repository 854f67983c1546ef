//! Running SQL on a run's session, with errors that name the table the query reads.

use arrow::array::RecordBatch;
use datafusion::physical_plan::SendableRecordBatchStream;
use datafusion::prelude::SessionContext;

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
