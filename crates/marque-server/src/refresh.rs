//! Following the lake: poll table versions, refresh the SQL sessions when anything commits, and
//! rebuild the profile index in the background when a resolution table commits — then swap it
//! in atomically. Requests never wait for a build; they read whichever index is current. A
//! rebuild while serving and the freeing of the replaced index run on the low-priority threads
//! of [`crate::background`], never on the threads serving lookups.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use datafusion::prelude::SessionContext;
use marque_engine::EngineError;
use marque_lake::Lake;

use crate::audit::AUDIT_TABLE;
use crate::index::{self, BuildOptions, ProfileIndex, RESOLUTION_TABLES};
use crate::state::AppState;

/// What the service currently serves.
pub struct Live {
    index: RwLock<Arc<ProfileIndex>>,
    analyst: RwLock<Option<SessionContext>>,
    ready: AtomicBool,
    /// Table versions seen by the last refresh; the lock serialises refreshes.
    last: tokio::sync::Mutex<Option<BTreeMap<String, i64>>>,
    /// Index builds completed.
    pub builds: AtomicU64,
    /// The last refresh error, if the last refresh failed.
    pub last_error: Mutex<Option<String>>,
}

impl Default for Live {
    fn default() -> Self {
        Self {
            index: RwLock::new(Arc::new(ProfileIndex::empty())),
            analyst: RwLock::new(None),
            ready: AtomicBool::new(false),
            last: tokio::sync::Mutex::new(None),
            builds: AtomicU64::new(0),
            last_error: Mutex::new(None),
        }
    }
}

impl Live {
    /// The current index (an `Arc`: a request keeps the snapshot it started with).
    pub fn index(&self) -> Arc<ProfileIndex> {
        self.index.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The analyst (masked) session, once built.
    pub fn analyst(&self) -> Option<SessionContext> {
        self.analyst
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Whether the first index build has finished.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }
}

/// The latest version of every table of the lake (the audit log excepted: the service's own
/// writes must not trigger refreshes).
pub async fn table_versions(lake: &Lake) -> Result<BTreeMap<String, i64>, EngineError> {
    let mut out = BTreeMap::new();
    for name in lake.list_tables().await? {
        if name == AUDIT_TABLE {
            continue;
        }
        let version = match lake.root().local_path() {
            // Locally, the newest commit file names the version: no log replay needed.
            Some(root) => local_version(&root.join(&name).join("_delta_log")),
            None => lake
                .load(&name)
                .await?
                .and_then(|t| t.version())
                .map(|v| v as i64),
        };
        if let Some(v) = version {
            out.insert(name, v);
        }
    }
    Ok(out)
}

fn local_version(log: &std::path::Path) -> Option<i64> {
    std::fs::read_dir(log)
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name();
            let name = name.to_str()?;
            let stem = name.strip_suffix(".json")?;
            (stem.len() == 20)
                .then(|| stem.parse::<i64>().ok())
                .flatten()
        })
        .max()
}

/// Brings the service up to the lake's latest versions. With `force`, rebuilds everything even
/// when nothing changed. Returns whether a new index was swapped in.
pub async fn refresh(state: &AppState, force: bool) -> Result<bool, EngineError> {
    let mut last = state.live.last.lock().await;
    let now = table_versions(state.engine.lake()).await?;
    let first = last.is_none();
    if !force && last.as_ref() == Some(&now) {
        return Ok(false);
    }
    if !first || force {
        state.engine.refresh().await?;
    }
    let analyst = crate::mask::analyst_context(&state.engine).await?;
    *state
        .live
        .analyst
        .write()
        .unwrap_or_else(|p| p.into_inner()) = Some(analyst);
    let stale = force
        || first
        || RESOLUTION_TABLES
            .iter()
            .any(|t| last.as_ref().and_then(|l| l.get(*t)) != now.get(*t));
    let mut swapped = false;
    if stale {
        let versions: BTreeMap<String, i64> = now
            .iter()
            .filter(|(k, _)| RESOLUTION_TABLES.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        let opts = BuildOptions {
            query_timeout: state.cfg.query_timeout,
        };
        let started = std::time::Instant::now();
        let built = if state.live.is_ready() {
            // A rebuild while serving runs on the low-priority threads: lookups arriving
            // meanwhile preempt it.
            let engine = state.engine.clone();
            state
                .background
                .spawn(async move { index::build(&engine, &opts, versions).await })
                .await
                .map_err(|e| match e.try_into_panic() {
                    Ok(panic) => std::panic::resume_unwind(panic),
                    Err(e) => {
                        EngineError::Internal(format!("the profile index build stopped: {e}"))
                    }
                })??
        } else {
            // The first build has no lookups to protect (they answer 503 until it is done):
            // at normal priority, so that other work on the machine does not delay readiness.
            index::build(&state.engine, &opts, versions).await?
        };
        for w in &built.warnings {
            tracing::warn!(warning = %w, "profile index");
        }
        tracing::info!(
            customers = built.len(),
            mentions = built.mention_count(),
            secs = started.elapsed().as_secs_f64(),
            "profile index built; swapping it in"
        );
        let old = std::mem::replace(
            &mut *state.live.index.write().unwrap_or_else(|p| p.into_inner()),
            Arc::new(built),
        );
        state.live.builds.fetch_add(1, Ordering::Relaxed);
        swapped = true;
        free_off_the_serving_path(state, old).await;
    }
    *last = Some(now);
    state.live.ready.store(true, Ordering::Release);
    Ok(swapped)
}

/// Frees the replaced index on a background thread once the requests still reading it have
/// finished (else the last of them would spend milliseconds unmapping a gigabyte), then hands
/// the build's and the old index's pages back, so that the server's RSS is the index's size
/// rather than its build's peak.
async fn free_off_the_serving_path(state: &AppState, mut old: Arc<ProfileIndex>) {
    // Lookups take microseconds: wait up to a second for them to let go.
    for _ in 0..100 {
        match Arc::try_unwrap(old) {
            Ok(index) => {
                let _ = state
                    .background
                    .spawn_blocking(move || {
                        drop(index);
                        release_free_memory();
                    })
                    .await;
                return;
            }
            Err(still_shared) => old = still_shared,
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // A long request (a member export) still holds it: it frees it when done.
    drop(old);
    let _ = state.background.spawn_blocking(release_free_memory).await;
}

/// Returns free heap pages to the operating system (glibc keeps them otherwise).
fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        unsafe extern "C" {
            fn malloc_trim(pad: usize) -> std::ffi::c_int;
        }
        // SAFETY: malloc_trim only releases memory glibc's allocator holds free; it is safe to
        // call at any time from any thread.
        unsafe {
            malloc_trim(0);
        }
    }
}

/// Refreshes once now, then every `every` (if set), logging failures and keeping the previous
/// snapshot in service.
pub async fn run(state: AppState, every: Option<Duration>) {
    loop {
        let result = refresh(&state, false).await;
        let message = match result {
            Ok(_) => None,
            Err(e) => {
                tracing::warn!(error = %e, "refresh failed; still serving the previous snapshot");
                Some(e.to_string())
            }
        };
        *state
            .live
            .last_error
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = message;
        match every {
            Some(d) => tokio::time::sleep(d).await,
            None => return,
        }
    }
}
