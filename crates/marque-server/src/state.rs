//! The state every handler shares: the engine and the service limits.

use std::sync::Arc;

use marque_engine::Engine;
use tokio::sync::Semaphore;

use crate::ServerConfig;

/// Shared, cheaply cloned handler state.
#[derive(Clone)]
pub struct AppState {
    pub engine: Engine,
    /// Most rows a `/v1/sql` answer carries; the rest is cut off and `truncated` is set.
    pub max_rows: usize,
    /// Caps the number of SQL queries running at once.
    pub sql_slots: Arc<Semaphore>,
    /// Largest request body accepted, in bytes.
    pub body_limit: usize,
}

impl AppState {
    /// State for `engine` with the limits of `cfg`.
    pub fn new(engine: Engine, cfg: &ServerConfig) -> Self {
        Self {
            engine,
            max_rows: cfg.max_rows,
            sql_slots: Arc::new(Semaphore::new(cfg.max_concurrent_queries.max(1))),
            body_limit: cfg.body_limit,
        }
    }
}
