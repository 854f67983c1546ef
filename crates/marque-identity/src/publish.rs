//! Writing a run's per-mention output tables: streamed to Delta in chunks, after the rows of
//! the customers an incremental run left alone.
//!
//! `mentions` and `customer_map` hold one row per mention and per record (10.8M and 19.3M at
//! 1M persons). Built whole, each was a few GB of Arrow next to the mentions themselves, and an
//! incremental run also collected every untouched row before writing. Here the writer pulls
//! one chunk at a time, so a table costs one chunk and one row group of memory.

use std::ops::Range;
use std::sync::Arc;
use std::time::Instant;

use arrow::array::{BooleanArray, RecordBatch};
use arrow::datatypes::SchemaRef;
use datafusion::prelude::SessionContext;
use futures::StreamExt;
use marque_lake::{BatchStream, Commit, Lake, WriteMode};

use crate::hashing::HashSet;
use crate::text_column::TextColumn;
use crate::{IdentityError, Result};

/// Mentions per chunk: about 30 MB of Arrow for the widest table.
const CHUNK: usize = 256 * 1024;

/// A stream of the batches `build` makes for `0..n` in chunks; at least one batch, so that an
/// empty table is still written with its schema.
pub(crate) fn chunks<F>(n: usize, build: F) -> BatchStream
where
    F: Fn(Range<usize>) -> Result<RecordBatch> + Send + Sync + 'static,
{
    chunks_of(n, CHUNK, build)
}

/// [`chunks`] of `size` rows.
pub(crate) fn chunks_of<F>(n: usize, size: usize, build: F) -> BatchStream
where
    F: Fn(Range<usize>) -> Result<RecordBatch> + Send + Sync + 'static,
{
    let size = size.max(1);
    let starts: Vec<usize> = if n == 0 {
        vec![0]
    } else {
        (0..n).step_by(size).collect()
    };
    futures::stream::iter(starts)
        .map(move |s| build(s..(s + size).min(n)).map_err(|e| e.to_string()))
        .boxed()
}

/// Where and how a run writes its tables.
pub(crate) struct Publisher<'a> {
    pub lake: &'a Lake,
    /// The customers an incremental run re-resolved, and a session holding the output tables
    /// as they were, reading text as the writer takes it (`Lake::plain_text_session`); `None`
    /// for a full run.
    pub incremental: Option<(Arc<HashSet<String>>, &'a SessionContext)>,
    /// Tables that existed when the run started.
    pub existing: &'a [String],
    pub commit: Commit,
    pub started: Instant,
}

impl Publisher<'_> {
    /// Replaces table `name` by the untouched customers' rows (incremental runs) followed by
    /// `fresh`, in one commit.
    pub(crate) async fn replace(
        &self,
        name: &'static str,
        schema: SchemaRef,
        fresh: BatchStream,
    ) -> Result<()> {
        let mut parts = Vec::new();
        if let Some((affected, ctx)) = &self.incremental
            && self.existing.iter().any(|t| t == name)
        {
            parts.push(untouched(ctx, affected.clone(), name, schema.clone()).await?);
        }
        parts.push(fresh);
        let all = futures::stream::iter(parts).flatten().boxed();
        self.lake
            .write_stream(name, schema, all, WriteMode::Overwrite, self.commit.clone())
            .await?;
        tracing::info!(
            table = name,
            elapsed_s = self.started.elapsed().as_secs_f64(),
            "table written"
        );
        Ok(())
    }
}

/// The rows of `name` (registered on `ctx`) that belong to customers outside `affected`, cast
/// to `schema`. Judged in Rust batch by batch: as a SQL anti-join, DataFusion hashed and
/// repartitioned every row of the table before dropping a tenth of them.
async fn untouched(
    ctx: &SessionContext,
    affected: Arc<HashSet<String>>,
    name: &'static str,
    schema: SchemaRef,
) -> Result<BatchStream> {
    let sql = format!("SELECT * FROM {name}");
    let stream = crate::query::stream(ctx, name, &sql).await?;
    Ok(stream
        .map(move |b| {
            let b = b.map_err(|e| format!("reading {name}: {e}"))?;
            let kept = keep_untouched(name, &b, &affected).map_err(|e| e.to_string())?;
            conform(name, &schema, &kept).map_err(|e| e.to_string())
        })
        .boxed())
}

/// The rows of `b` whose `customer_id` is not in `affected`.
fn keep_untouched(table: &str, b: &RecordBatch, affected: &HashSet<String>) -> Result<RecordBatch> {
    let i = b
        .schema()
        .index_of("customer_id")
        .map_err(|_| IdentityError::Column {
            table: table.into(),
            column: "customer_id".into(),
            message: "missing in the stored table; run `marque resolve --full`".into(),
        })?;
    let ids = TextColumn::of(b, i, table)?;
    let keep: BooleanArray = (0..b.num_rows())
        .map(|r| Some(ids.get(r).is_none_or(|c| !affected.contains(c))))
        .collect();
    arrow::compute::filter_record_batch(b, &keep).map_err(|source| IdentityError::Arrow {
        table: table.into(),
        source,
    })
}

/// Casts a batch read back from the lake to the schema resolution writes (the reader may
/// return view types).
pub(crate) fn conform(table: &str, schema: &SchemaRef, b: &RecordBatch) -> Result<RecordBatch> {
    let arrow_err = |source| IdentityError::Arrow {
        table: table.into(),
        source,
    };
    let cols = schema
        .fields()
        .iter()
        .map(|f| {
            let c = b
                .column_by_name(f.name())
                .ok_or_else(|| IdentityError::Column {
                    table: table.into(),
                    column: f.name().clone(),
                    message: "missing in the stored table; run `marque resolve --full`".into(),
                })?;
            arrow::compute::cast(c, f.data_type()).map_err(arrow_err)
        })
        .collect::<Result<Vec<_>>>()?;
    RecordBatch::try_new(schema.clone(), cols).map_err(arrow_err)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use arrow::array::Int64Array;
    use arrow::datatypes::{DataType, Field, Schema};

    fn ranges(n: usize) -> Vec<(usize, usize)> {
        let schema = Arc::new(Schema::new(vec![
            Field::new("start", DataType::Int64, false),
            Field::new("end", DataType::Int64, false),
        ]));
        let stream = chunks(n, move |r| {
            let cols = vec![
                Arc::new(Int64Array::from(vec![r.start as i64])) as _,
                Arc::new(Int64Array::from(vec![r.end as i64])) as _,
            ];
            Ok(RecordBatch::try_new(schema.clone(), cols).unwrap())
        });
        futures::executor::block_on(stream.collect::<Vec<_>>())
            .into_iter()
            .map(|b| {
                let b = b.unwrap();
                let v = |i: usize| {
                    b.column(i)
                        .as_any()
                        .downcast_ref::<Int64Array>()
                        .unwrap()
                        .value(0)
                };
                (v(0) as usize, v(1) as usize)
            })
            .collect()
    }

    #[test]
    fn chunks_cover_every_mention_once_and_an_empty_table_still_gets_its_schema() {
        assert_eq!(ranges(0), vec![(0, 0)]);
        assert_eq!(ranges(5), vec![(0, 5)]);
        assert_eq!(
            ranges(2 * CHUNK + 3),
            vec![(0, CHUNK), (CHUNK, 2 * CHUNK), (2 * CHUNK, 2 * CHUNK + 3)]
        );
    }
}
