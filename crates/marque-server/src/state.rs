//! The state every handler shares: the engine, the live profile index, tokens, limits, metrics
//! and the audit log.

use std::sync::Arc;

use marque_engine::Engine;
use tokio::sync::Semaphore;

use crate::ServerConfig;
use crate::audit::Audit;
use crate::auth::TokenStore;
use crate::background::Background;
use crate::metrics::Metrics;
use crate::refresh::Live;
use crate::segments::Segment;

/// Worker threads of the background runtime: the build's queries use both cores of a small
/// machine when lookups leave them idle.
const BACKGROUND_THREADS: usize = 2;

/// Shared, cheaply cloned handler state.
#[derive(Clone)]
pub struct AppState {
    pub engine: Engine,
    /// The current profile index and analyst session, swapped on refresh.
    pub live: Arc<Live>,
    pub tokens: Arc<TokenStore>,
    pub metrics: Arc<Metrics>,
    pub audit: Audit,
    /// Caps the number of SQL queries running (or streaming) at once.
    pub sql_slots: Arc<Semaphore>,
    pub cfg: Arc<ServerConfig>,
    /// The segment definitions read at startup.
    pub segments: Arc<Vec<Segment>>,
    /// Largest request body accepted, in bytes.
    pub body_limit: usize,
    /// Connector definitions for pushed events.
    pub connectors: Arc<Vec<marque_connect::ConnectorDef>>,
    /// Low-priority threads for index builds ([`Background`]).
    pub background: Arc<Background>,
}

impl AppState {
    /// State for `engine` with the settings of `cfg` (audit disabled; [`crate::serve_on`]
    /// starts the audit writer).
    pub fn new(engine: Engine, cfg: &ServerConfig) -> Self {
        let segments = match &cfg.segments_dir {
            Some(dir) => crate::segments::load_dir(dir),
            None => Vec::new(),
        };
        let connectors = match marque_connect::load_connectors(cfg.connectors_dir.as_deref()) {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "cannot load connector definitions; push ingestion disabled");
                Vec::new()
            }
        };
        let background = Background::new(BACKGROUND_THREADS).unwrap_or_else(|e| {
            // Without its own threads, background work runs on the serving runtime.
            tracing::warn!(error = %e, "cannot start the background runtime");
            Background::inline()
        });
        Self {
            background: Arc::new(background),
            connectors: Arc::new(connectors),
            engine,
            live: Arc::new(Live::default()),
            tokens: Arc::new(TokenStore::new(&cfg.tokens)),
            metrics: Arc::new(Metrics::default()),
            audit: Audit::disabled(),
            sql_slots: Arc::new(Semaphore::new(cfg.max_concurrent_queries.max(1))),
            cfg: Arc::new(cfg.clone()),
            segments: Arc::new(segments),
            body_limit: cfg.body_limit,
        }
    }
}
