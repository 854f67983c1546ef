//! One writer per job at a time: a lock that a crash (kill -9) never leaves stuck.
//!
//! Local lakes use an OS file lock (`flock`) on `<root>/_locks/<name>.lock`: the kernel drops it
//! when the process dies, however it dies. S3 lakes use a lease object
//! `<root>/_locks/<name>.lock` created with a conditional put (fails when it exists); it records
//! host, pid and time, and is taken over when its holder is a dead process on this host or when
//! it is older than the TTL (`MARQUE_LOCK_TTL_SECS`, default 6 hours) — the case of a holder on
//! another machine that crashed.

use std::io::Write;
use std::sync::Arc;

use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};

use crate::{LakeError, Result};

/// A held lock; released by [`LakeLock::release`] or, best effort, when dropped.
pub struct LakeLock {
    name: String,
    held: Held,
}

enum Held {
    File(Option<std::fs::File>),
    Lease {
        store: Arc<dyn ObjectStore>,
        path: object_store::path::Path,
        released: bool,
    },
}

impl std::fmt::Debug for LakeLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LakeLock")
            .field("name", &self.name)
            .finish()
    }
}

/// Who holds a lock, as written in it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Holder {
    host: String,
    pid: u32,
    /// Seconds since the epoch.
    acquired_at: u64,
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".into())
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn me() -> Holder {
    Holder {
        host: hostname(),
        pid: std::process::id(),
        acquired_at: now_secs(),
    }
}

fn ttl_secs() -> u64 {
    std::env::var("MARQUE_LOCK_TTL_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(6 * 3600)
}

/// Whether a lease's holder can no longer be running.
fn is_stale(h: &Holder) -> bool {
    if h.host == hostname() {
        return !std::path::Path::new(&format!("/proc/{}", h.pid)).exists();
    }
    now_secs().saturating_sub(h.acquired_at) > ttl_secs()
}

impl LakeLock {
    /// Takes the lock `name` in the local folder `dir` (the lake root).
    pub(crate) fn local(dir: &std::path::Path, name: &str) -> Result<Self> {
        let io = |source| LakeError::Io {
            root: dir.display().to_string(),
            source,
        };
        let locks = dir.join("_locks");
        std::fs::create_dir_all(&locks).map_err(io)?;
        let path = locks.join(format!("{name}.lock"));
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let holder = std::fs::read_to_string(&path).unwrap_or_default();
                return Err(LakeError::Locked {
                    name: name.to_string(),
                    holder: holder.trim().to_string(),
                });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
        }
        let text = serde_json::to_string(&me()).unwrap_or_default();
        file.set_len(0).map_err(io)?;
        file.write_all(text.as_bytes()).map_err(io)?;
        Ok(Self {
            name: name.to_string(),
            held: Held::File(Some(file)),
        })
    }

    /// Takes the lease `name` under `prefix` of an object store.
    pub(crate) async fn lease(
        store: Arc<dyn ObjectStore>,
        prefix: &str,
        name: &str,
        root: &str,
    ) -> Result<Self> {
        let path = object_store::path::Path::from(format!(
            "{}/_locks/{name}.lock",
            prefix.trim_matches('/')
        ));
        let store_err = |source| LakeError::Store {
            root: root.to_string(),
            source,
        };
        for _ in 0..2 {
            let body = serde_json::to_vec(&me()).unwrap_or_default();
            let put = store
                .put_opts(
                    &path,
                    PutPayload::from(body),
                    PutOptions::from(PutMode::Create),
                )
                .await;
            match put {
                Ok(_) => {
                    return Ok(Self {
                        name: name.to_string(),
                        held: Held::Lease {
                            store,
                            path,
                            released: false,
                        },
                    });
                }
                Err(object_store::Error::AlreadyExists { .. }) => {
                    let current = store.get(&path).await.map_err(store_err)?;
                    let bytes = current.bytes().await.map_err(store_err)?;
                    let holder: Option<Holder> = serde_json::from_slice(&bytes).ok();
                    match holder {
                        Some(h) if !is_stale(&h) => {
                            return Err(LakeError::Locked {
                                name: name.to_string(),
                                holder: String::from_utf8_lossy(&bytes).into_owned(),
                            });
                        }
                        // A stale or unreadable lease: its holder is gone; take it over.
                        _ => store.delete(&path).await.map_err(store_err)?,
                    }
                }
                Err(e) => return Err(store_err(e)),
            }
        }
        Err(LakeError::Locked {
            name: name.to_string(),
            holder: "another process took the stale lease first".into(),
        })
    }

    /// The lock's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Releases the lock.
    pub async fn release(mut self) -> Result<()> {
        match &mut self.held {
            Held::File(f) => {
                drop(f.take());
                Ok(())
            }
            Held::Lease {
                store,
                path,
                released,
            } => {
                *released = true;
                match store.delete(path).await {
                    Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                    Err(source) => Err(LakeError::Store {
                        root: path.to_string(),
                        source,
                    }),
                }
            }
        }
    }
}

impl Drop for LakeLock {
    fn drop(&mut self) {
        if let Held::Lease {
            store,
            path,
            released: false,
        } = &self.held
            && let Ok(rt) = tokio::runtime::Handle::try_current()
        {
            let (store, path) = (store.clone(), path.clone());
            rt.spawn(async move {
                let _ = store.delete(&path).await;
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_local_lock_is_exclusive_and_freed_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let a = LakeLock::local(dir.path(), "dms").unwrap();
        let e = LakeLock::local(dir.path(), "dms").unwrap_err().to_string();
        assert!(e.contains("dms") && e.contains("pid"), "{e}");
        let other = LakeLock::local(dir.path(), "leads");
        assert!(other.is_ok(), "locks of other jobs are independent");
        drop(a);
        assert!(LakeLock::local(dir.path(), "dms").is_ok());
    }

    #[test]
    fn a_lease_of_a_dead_process_on_this_host_is_stale() {
        let dead = Holder {
            host: hostname(),
            pid: u32::MAX - 1,
            acquired_at: now_secs(),
        };
        assert!(is_stale(&dead));
        assert!(!is_stale(&me()));
        let far = Holder {
            host: "elsewhere".into(),
            pid: 1,
            acquired_at: now_secs(),
        };
        assert!(!is_stale(&far), "a fresh lease of another host is live");
        let old = Holder {
            acquired_at: 0,
            ..far
        };
        assert!(is_stale(&old));
    }
}
