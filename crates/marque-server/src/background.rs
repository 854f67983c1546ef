//! The low-priority runtime for work off the serving path: profile index rebuilds while
//! serving (their queries too; the first build, before `/readyz`, runs at normal priority) and
//! the freeing of a replaced index run on their own threads at the lowest CPU priority
//! (nice [`NICE`]), so that a lookup arriving during a rebuild preempts the build instead of
//! waiting behind it for the rest of a scheduler time slice.
//!
//! Measured on the 1M-person lake (2 cores, lookups by `wrk -t1 -c16` while
//! `POST /v1/admin/refresh` rebuilds the index): p99 of the lookups 6.7 ms with the build on the
//! serving threads (17k req/s), 2.7–3.7 ms at nice 10, 1.3–3.2 ms at nice 19 (28–30k req/s; 1.1 ms
//! without a rebuild). The build takes 55 s instead of 39 s of wall time: it yields the cores to
//! lookups, and still gets about 1.5 % of a core when they are saturated, so it always ends.

use std::future::Future;

use tokio::runtime::{Builder, Runtime};
use tokio::task::JoinHandle;

/// The nice value of the background threads: 19, the lowest (a weight of 15 against 1024 for
/// a serving thread at the default 0).
pub const NICE: i32 = 19;

/// A multi-threaded runtime whose threads run at nice [`NICE`]; it is shut down (without
/// waiting for its tasks) when dropped, which is allowed inside an async context.
pub struct Background {
    runtime: Option<Runtime>,
}

impl Background {
    /// A runtime of `threads` worker threads named `marque-bg`.
    pub fn new(threads: usize) -> std::io::Result<Self> {
        let runtime = Builder::new_multi_thread()
            .worker_threads(threads.max(1))
            .thread_name("marque-bg")
            .on_thread_start(lower_priority)
            .enable_all()
            .build()?;
        Ok(Self {
            runtime: Some(runtime),
        })
    }

    /// No runtime of its own: work is spawned on the caller's runtime at its priority (the
    /// fallback when threads cannot be started).
    pub fn inline() -> Self {
        Self { runtime: None }
    }

    /// Runs `fut` on the background threads (tasks it spawns stay there).
    pub fn spawn<F>(&self, fut: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        match &self.runtime {
            Some(rt) => rt.spawn(fut),
            None => tokio::spawn(fut),
        }
    }

    /// Runs the blocking `f` on the background runtime's blocking threads (which inherit the
    /// lower priority).
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        match &self.runtime {
            Some(rt) => rt.spawn_blocking(f),
            None => tokio::task::spawn_blocking(f),
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

/// Lowers the calling thread's CPU priority to nice [`NICE`], or leaves it when it is lower
/// already (on Linux `setpriority` with `PRIO_PROCESS` and id 0 acts on the calling thread
/// only). Lowering a priority needs no privilege; failure only means the thread keeps its
/// priority.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    {
        unsafe extern "C" {
            fn setpriority(
                which: std::ffi::c_int,
                who: std::ffi::c_uint,
                prio: std::ffi::c_int,
            ) -> std::ffi::c_int;
        }
        let target = NICE.max(current_nice());
        // SAFETY: setpriority reads its three integer arguments and changes only the calling
        // thread's nice value.
        let rc = unsafe { setpriority(PRIO_PROCESS, 0, target) };
        if rc != 0 {
            tracing::debug!(
                error = %std::io::Error::last_os_error(),
                "cannot lower the priority of a background thread"
            );
        }
    }
}

#[cfg(target_os = "linux")]
const PRIO_PROCESS: std::ffi::c_int = 0;

/// The calling thread's nice value (Linux).
#[cfg(target_os = "linux")]
fn current_nice() -> i32 {
    unsafe extern "C" {
        fn getpriority(which: std::ffi::c_int, who: std::ffi::c_uint) -> std::ffi::c_int;
    }
    // SAFETY: getpriority reads its two integer arguments.
    unsafe { getpriority(PRIO_PROCESS, 0) }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[tokio::test]
    async fn background_work_runs_at_a_lower_priority_than_serving() {
        let serving = current_nice();
        let bg = Background::new(1).expect("runtime");
        let nice = bg.spawn(async { current_nice() }).await.expect("task");
        let blocking = bg.spawn_blocking(current_nice).await.expect("task");
        assert_eq!(nice, NICE.max(serving), "async background thread");
        assert_eq!(blocking, NICE.max(serving), "blocking background thread");
        // Dropping it inside an async context must not panic.
        drop(bg);
    }
}
