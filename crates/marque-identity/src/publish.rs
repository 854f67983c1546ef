//! Writing a run's output tables: streamed to Delta in chunks; an incremental run replaces
//! only the rows of the customers it re-resolved.
//!
//! `mentions` and `customer_map` hold one row per mention and per record (10.8M and 19.3M at
//! 1M persons). Built whole, each was a few GB of Arrow next to the mentions themselves, and an
//! incremental run also collected every untouched row before writing. Here the writer pulls
//! small chunks as it goes, so a table costs the dozen chunks in flight (see [`CHUNK`]) and
//! one open data file of memory. An incremental
//! run used to rewrite every table whole (its customers' rows sit in every data file, and
//! delta-rs deletes copy-on-write); it now marks their old rows deleted with deletion vectors
//! ([`Lake::replace_rows`]) and appends the new ones.

use std::ops::Range;
use std::sync::Arc;
use std::time::Instant;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use futures::StreamExt;
use marque_lake::{BatchStream, Commit, Lake, WriteMode};

use crate::Result;
use crate::hashing::HashSet;

/// Mentions per chunk: 1–2 MB of Arrow for the widest table. A table's write holds about
/// a dozen chunks: delta-rs queues up to ten batches between the stream and its writer
/// (`DELTARS_WRITER_BATCH_CHANNEL_SIZE`), beside the one being built and the one being
/// encoded. A 1M-person full run peaked at 3.76 GB with chunks of 256k mentions, 2.88 GB with
/// 32k.
pub(crate) const CHUNK: usize = 8 * 1024;

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
    /// The customers an incremental run re-resolved; `None` for a full run.
    pub incremental: Option<Arc<HashSet<String>>>,
    /// Tables that existed when the run started.
    pub existing: &'a [String],
    pub commit: Commit,
    pub started: Instant,
}

impl Publisher<'_> {
    /// Writes table `name`: a full run replaces all its rows by `fresh`; an incremental run
    /// deletes the rows of the customers it re-resolved (by deletion vectors, so that the
    /// other customers' rows stay where they are) and appends `fresh`. One commit either way.
    pub(crate) async fn replace(
        &self,
        name: &'static str,
        schema: SchemaRef,
        fresh: BatchStream,
    ) -> Result<()> {
        match &self.incremental {
            Some(affected) if self.existing.iter().any(|t| t == name) => {
                self.lake
                    .replace_rows(
                        name,
                        "customer_id",
                        affected.clone(),
                        fresh,
                        self.commit.clone(),
                    )
                    .await?;
            }
            _ => {
                self.lake
                    .write_stream(
                        name,
                        schema,
                        fresh,
                        WriteMode::Overwrite,
                        self.commit.clone(),
                    )
                    .await?;
            }
        }
        tracing::info!(
            table = name,
            elapsed_s = self.started.elapsed().as_secs_f64(),
            rss_mib = crate::memory::resident_mib(),
            cpu_s = crate::memory::cpu_seconds(),
            "table written"
        );
        Ok(())
    }
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
