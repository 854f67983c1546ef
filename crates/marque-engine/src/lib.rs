//! # marque-engine: the DataFusion session over the lake
//!
//! Every read of Marque's data after ingestion — analysts' SQL, profile lookups, segments, the
//! views under `sql/views/` — goes through one [`Engine`]. It owns a DataFusion
//! [`SessionContext`] on which every Delta table of the lake is registered under its own name, at
//! the table's latest committed version, together with:
//!
//! - **views** from a directory of `*.sql` files (`sql/views/NAME.sql` holds one `SELECT` and is
//!   registered as view `NAME`; no `CREATE VIEW` in the files). Views may use each other; a view
//!   whose tables are missing from this lake is left out with a warning, not an error;
//! - **segments** from `sql/segments/NAME.sql` (one `SELECT` returning `customer_id`), registered
//!   as views too and listable by name; [`Engine::snapshot_segment`] materialises one in the lake
//!   table `segment_snapshots` with the table versions it read, so an audience can be reproduced;
//! - the **as-of date**: view `as_of` (one row, column `as_of_date`) that every date-dependent
//!   view reads. `sql/views/as_of.sql` defines it as today; [`EngineOptions::as_of`] replaces it
//!   with a fixed date;
//! - **placeholders** for optional tables other parts write later (`customer_clv`): when the lake
//!   lacks one, an empty table with the contract's schema stands in so the views still plan;
//! - later, Marque's **UDFs** (China comparators, normalisers).
//!
//! The engine is the only place that knows how tables are found (through
//! [`marque_lake::Lake`]) and, later, whether a plan runs locally or on Ballista. Callers see
//! SQL and DataFrames only.
//!
//! ## Snapshots, pinned versions and refresh
//! Every table is opened at its latest version unless [`EngineOptions::table_versions`] pins it
//! to a given version (time travel, for reproducible results); [`Engine::table_versions`] tells
//! which version each table was read at. A Delta table provider is bound to the snapshot it was
//! opened at. When a new resolution or
//! ingestion commits, [`Engine::refresh`] builds a fresh session (providers at the latest
//! versions, views re-planned against them) and swaps it in atomically; queries already running
//! finish on the snapshot they started on. All sessions share one runtime memory pool, so the
//! memory limit holds across a swap.
//!
//! ## Read-only SQL
//! [`Engine::query`] accepts read-only SQL only. A plan containing DDL, DML, `COPY` or a
//! statement (`SET`, transactions, `PREPARE`) is rejected before anything executes, also when it
//! is hidden under `EXPLAIN` or `EXPLAIN ANALYZE` (plain `SessionContext::sql` would execute
//! DDL). Errors say whether the user can fix them: [`EngineError::is_user_error`].
//! DataFusion has no query timeout setting, so [`Engine::collect`] wraps execution in one.

mod catalog;
mod error;
mod guard;
pub mod output;
pub mod segments;
mod views;

use std::collections::BTreeMap;
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::execution::memory_pool::{GreedyMemoryPool, MemoryPool, TrackConsumersPool};
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::prelude::{DataFrame, SessionConfig, SessionContext};
use marque_lake::Lake;

pub use chrono::NaiveDate;
pub use error::{EngineError, Result};
pub use guard::{check_read_only, read_only_options};
pub use output::{OutputFormat, write_batches};
pub use segments::{Segment, SegmentSnapshot};

/// How the engine's sessions are configured. `Default` gives: no views, no memory limit,
/// DataFusion's batch size and partitioning, a 5-minute query timeout.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Directory of `NAME.sql` view files (usually `sql/views`); skipped when absent.
    pub views_dir: Option<PathBuf>,
    /// Memory limit in bytes for all queries together; `None` is unbounded.
    pub memory_limit: Option<usize>,
    /// Rows per record batch; `None` keeps DataFusion's default (8192).
    pub batch_size: Option<usize>,
    /// Partitions per plan; `None` keeps DataFusion's default (number of cores).
    pub target_partitions: Option<usize>,
    /// Cancels a query in [`Engine::collect`] after this long; `None` never does.
    pub query_timeout: Option<Duration>,
    /// Directory of `NAME.sql` segment files. `None`: the `segments` folder beside `views_dir`
    /// (`sql/segments` next to `sql/views`) when it exists.
    pub segments_dir: Option<PathBuf>,
    /// The date views compute "as of" (view `as_of`); `None` keeps the view file's (today).
    pub as_of: Option<chrono::NaiveDate>,
    /// Table → Delta version to read instead of the latest (reproducible results).
    pub table_versions: BTreeMap<String, i64>,
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self {
            views_dir: None,
            memory_limit: None,
            batch_size: None,
            target_partitions: None,
            query_timeout: Some(Duration::from_secs(300)),
            segments_dir: None,
            as_of: None,
            table_versions: BTreeMap::new(),
        }
    }
}

impl EngineOptions {
    /// These options with views read from `dir`.
    pub fn with_views_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.views_dir = Some(dir.into());
        self
    }

    /// The segments directory in use: `segments_dir`, else `segments` beside `views_dir`.
    pub fn effective_segments_dir(&self) -> Option<PathBuf> {
        if let Some(dir) = &self.segments_dir {
            return Some(dir.clone());
        }
        let sibling = self.views_dir.as_ref()?.parent()?.join("segments");
        sibling.is_dir().then_some(sibling)
    }
}

/// One consistent session: the context and what is registered on it.
struct Snapshot {
    ctx: SessionContext,
    tables: Vec<String>,
    views: Vec<String>,
    /// Table → the Delta version it was opened at.
    versions: BTreeMap<String, i64>,
    segments: Vec<Segment>,
    /// Views and segments that failed to plan, with the reason.
    skipped: Vec<(String, String)>,
}

struct Inner {
    lake: Lake,
    opts: EngineOptions,
    pool: Option<Arc<dyn MemoryPool>>,
    current: RwLock<Arc<Snapshot>>,
    /// Serialises refreshes so that two of them never race to swap.
    refreshing: tokio::sync::Mutex<()>,
}

/// The DataFusion session over the lake. Cheap to clone; clones share the session.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let snap = self.snapshot();
        f.debug_struct("Engine")
            .field("lake", &self.inner.lake)
            .field("tables", &snap.tables)
            .field("views", &snap.views)
            .finish()
    }
}

impl Engine {
    /// Opens the engine on `lake`: registers every table at its latest version and the views.
    pub async fn open(lake: Lake, opts: EngineOptions) -> Result<Self> {
        let pool: Option<Arc<dyn MemoryPool>> = opts.memory_limit.map(|limit| {
            Arc::new(TrackConsumersPool::new(
                GreedyMemoryPool::new(limit),
                NonZeroUsize::new(5).expect("5 is not zero"),
            )) as Arc<dyn MemoryPool>
        });
        let snapshot = build_snapshot(&lake, &opts, pool.as_ref()).await?;
        Ok(Self {
            inner: Arc::new(Inner {
                lake,
                opts,
                pool,
                current: RwLock::new(Arc::new(snapshot)),
                refreshing: tokio::sync::Mutex::new(()),
            }),
        })
    }

    /// Re-opens every table at its latest version (new tables included, dropped ones gone) and
    /// re-plans the views, then swaps the new session in atomically. On error the old session
    /// stays in place.
    pub async fn refresh(&self) -> Result<()> {
        let _guard = self.inner.refreshing.lock().await;
        let snapshot =
            build_snapshot(&self.inner.lake, &self.inner.opts, self.inner.pool.as_ref()).await?;
        let mut current = self
            .inner
            .current
            .write()
            .unwrap_or_else(|p| p.into_inner());
        *current = Arc::new(snapshot);
        Ok(())
    }

    /// Plans read-only SQL and returns the DataFrame (nothing has run yet). DDL, DML, `COPY` and
    /// statements are rejected with [`EngineError::Forbidden`], also under `EXPLAIN`.
    pub async fn query(&self, sql: &str) -> Result<DataFrame> {
        let ctx = self.context();
        let plan = ctx.state().create_logical_plan(sql).await?;
        guard::check_read_only(&plan)?;
        Ok(ctx.execute_logical_plan(plan).await?)
    }

    /// Runs `df` to completion under the query timeout; returns its schema and batches.
    pub async fn collect(&self, df: DataFrame) -> Result<(SchemaRef, Vec<RecordBatch>)> {
        let schema: SchemaRef = Arc::new(df.schema().as_arrow().clone());
        let run = df.collect();
        let batches = match self.inner.opts.query_timeout {
            // Dropping the future on timeout cancels the plan's streams and tasks.
            Some(limit) => tokio::time::timeout(limit, run)
                .await
                .map_err(|_| EngineError::Timeout(limit))??,
            None => run.await?,
        };
        Ok((schema, batches))
    }

    /// [`Engine::query`] then [`Engine::collect`].
    pub async fn sql(&self, sql: &str) -> Result<(SchemaRef, Vec<RecordBatch>)> {
        let df = self.query(sql).await?;
        self.collect(df).await
    }

    /// A DataFrame over table or view `name`, or `None` when this lake does not have it.
    pub async fn table(&self, name: &str) -> Result<Option<DataFrame>> {
        let ctx = self.context();
        if !ctx.table_exist(name)? {
            return Ok(None);
        }
        Ok(Some(ctx.table(name).await?))
    }

    /// The current session. Use it for DataFrame-API reads; it is a snapshot, so it does not see
    /// later refreshes. Do not run user SQL on it directly: use [`Engine::query`].
    pub fn context(&self) -> SessionContext {
        self.snapshot().ctx.clone()
    }

    /// The lake tables registered in the current session, sorted.
    pub fn tables(&self) -> Vec<String> {
        self.snapshot().tables.clone()
    }

    /// The views registered in the current session, sorted.
    pub fn views(&self) -> Vec<String> {
        self.snapshot().views.clone()
    }

    /// The segments and views that failed to plan in the current session (usually because a
    /// table they read is missing from this lake), with the reason.
    pub fn skipped_views(&self) -> Vec<(String, String)> {
        self.snapshot().skipped.clone()
    }

    /// The Delta version every lake table of the current session was read at.
    pub fn table_versions(&self) -> BTreeMap<String, i64> {
        self.snapshot().versions.clone()
    }

    /// The lake this engine reads.
    pub fn lake(&self) -> &Lake {
        &self.inner.lake
    }

    /// The options the engine was opened with.
    pub fn options(&self) -> &EngineOptions {
        &self.inner.opts
    }

    fn snapshot(&self) -> Arc<Snapshot> {
        self.inner
            .current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

fn new_context(opts: &EngineOptions, pool: Option<&Arc<dyn MemoryPool>>) -> Result<SessionContext> {
    let mut config = SessionConfig::new().with_information_schema(true);
    if let Some(size) = opts.batch_size {
        config = config.with_batch_size(size);
    }
    if let Some(n) = opts.target_partitions {
        config = config.with_target_partitions(n);
    }
    let mut runtime = RuntimeEnvBuilder::new();
    if let Some(pool) = pool {
        runtime = runtime.with_memory_pool(pool.clone());
    }
    let ctx = SessionContext::new_with_config_rt(config, runtime.build_arc()?);
    // Lifetime-value functions (bgnbd_expected, bgnbd_p_alive, gg_expected_spend,
    // clv_discounted) for analysts' SQL.
    marque_clv::sql::register_udfs(&ctx);
    Ok(ctx)
}

async fn build_snapshot(
    lake: &Lake,
    opts: &EngineOptions,
    pool: Option<&Arc<dyn MemoryPool>>,
) -> Result<Snapshot> {
    let ctx = new_context(opts, pool)?;
    let versions = catalog::register_tables(lake, &ctx, &opts.table_versions).await?;
    let tables: Vec<String> = versions.keys().cloned().collect();
    catalog::register_placeholders(&ctx)?;
    let mut view_files = match &opts.views_dir {
        Some(dir) => views::read_dir(dir)?,
        None => Vec::new(),
    };
    if let Some(date) = opts.as_of {
        view_files.retain(|v| v.name != "as_of");
        view_files.push(views::ViewFile {
            name: "as_of".into(),
            sql: format!("SELECT DATE '{}' AS as_of_date", date.format("%Y-%m-%d")),
        });
    }
    let segments = match opts.effective_segments_dir() {
        Some(dir) => segments::read_dir(&dir)?,
        None => Vec::new(),
    };
    let (mut views, failed) = views::register(&ctx, &view_files).await;
    let mut skipped: Vec<(String, String)> = failed
        .into_iter()
        .map(|(n, e)| (n, e.to_string()))
        .collect();
    let segment_files: Vec<views::ViewFile> = segments
        .iter()
        .map(|s| views::ViewFile {
            name: s.name.clone(),
            sql: s.sql.clone(),
        })
        .collect();
    let (registered, failed) = views::register(&ctx, &segment_files).await;
    skipped.extend(failed.into_iter().map(|(n, e)| (n, e.to_string())));
    let segments: Vec<Segment> = segments
        .into_iter()
        .filter(|s| registered.contains(&s.name))
        .collect();
    views.retain(|v| !registered.contains(v));
    tracing::info!(
        tables = tables.len(),
        views = views.len(),
        segments = segments.len(),
        skipped = skipped.len(),
        "engine session ready"
    );
    Ok(Snapshot {
        ctx,
        tables,
        views,
        versions,
        segments,
        skipped,
    })
}

#[cfg(test)]
mod tests;
