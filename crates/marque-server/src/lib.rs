//! # marque-server: Marque's HTTP service
//!
//! Two kinds of client use the service: **analysts**, who send read-only SQL over the lake's
//! tables and views, and **services** (CRM, call centre, app back-end), which look customers up
//! by id. Every answer is JSON; every error is `{"error": {"code", "message"}}` with an honest
//! status: the caller's mistakes (bad JSON, SQL syntax, unknown table, a statement that would
//! write) are `4xx`, never `500`.
//!
//! | route | answer |
//! |---|---|
//! | `POST /v1/sql` `{"sql": "..."}` | `{"columns":[{"name","type"}], "rows":[{...}], "row_count", "truncated"}` |
//! | `GET /v1/profiles/{customer_id}` | `{"customer_id", "golden": {...}, "mentions":[{"source","record_id","role"}], "vehicles":[vin]}` |
//! | `GET /healthz` | `{"status":"ok"}` |
//!
//! The service holds no data of its own: it asks [`marque_engine::Engine`], which owns the
//! DataFusion session over the lake and enforces read-only SQL. The server adds the limits of a
//! shared service: a request body limit (`413`), a cap on concurrent SQL queries (`429`), a
//! row cap per answer, the engine's query timeout (`504`), and a periodic
//! [`Engine::refresh`](marque_engine::Engine::refresh) so that a new resolution is served without
//! a restart.

pub mod error;
mod json;
pub mod routes;
pub mod state;

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use marque_engine::Engine;

pub use error::ApiError;
pub use state::AppState;

/// Where and how the service runs. `Default`: `127.0.0.1:8080`, 1 MiB bodies, 100 000 rows per
/// SQL answer, 8 concurrent SQL queries, refresh every 30 s.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub addr: SocketAddr,
    /// Largest request body in bytes; larger bodies get `413`.
    pub body_limit: usize,
    /// Most rows returned by one `/v1/sql` answer.
    pub max_rows: usize,
    /// SQL queries running at once; more get `429`.
    pub max_concurrent_queries: usize,
    /// How often the engine re-opens the lake's tables at their latest versions; `None` never.
    pub refresh_interval: Option<Duration>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            body_limit: 1024 * 1024,
            max_rows: 100_000,
            max_concurrent_queries: 8,
            refresh_interval: Some(Duration::from_secs(30)),
        }
    }
}

/// Why the service could not run.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("server failed: {0}")]
    Serve(#[source] std::io::Error),
}

/// The service's routes over `state`.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(routes::health::healthz))
        .route("/v1/sql", post(routes::sql::run_sql))
        .route(
            "/v1/profiles/{customer_id}",
            get(routes::profiles::get_profile),
        )
        .fallback(routes::not_found)
        .method_not_allowed_fallback(routes::method_not_allowed)
        .layer(DefaultBodyLimit::max(state.body_limit))
        .with_state(state)
}

/// Serves `engine` on `cfg.addr` until ctrl-c, then finishes the requests in flight.
pub async fn serve(engine: Engine, cfg: ServerConfig) -> Result<(), ServerError> {
    let listener = tokio::net::TcpListener::bind(cfg.addr)
        .await
        .map_err(|source| ServerError::Bind {
            addr: cfg.addr,
            source,
        })?;
    serve_on(listener, engine, cfg, shutdown_signal()).await
}

/// Serves `engine` on an already bound `listener` until `shutdown` completes (tests bind
/// `127.0.0.1:0`; embedders bring their own shutdown signal). `cfg.addr` is ignored.
pub async fn serve_on(
    listener: tokio::net::TcpListener,
    engine: Engine,
    cfg: ServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let addr = listener.local_addr().map_err(ServerError::Serve)?;
    let refresher = cfg
        .refresh_interval
        .map(|every| tokio::spawn(refresh_loop(engine.clone(), every)));
    let app = router(AppState::new(engine, &cfg));
    tracing::info!(%addr, "marque server listening");
    let result = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(ServerError::Serve);
    if let Some(task) = refresher {
        task.abort();
    }
    tracing::info!("marque server stopped");
    result
}

async fn refresh_loop(engine: Engine, every: Duration) {
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.tick().await; // the first tick is immediate; the engine was just opened
    loop {
        ticker.tick().await;
        if let Err(e) = engine.refresh().await {
            tracing::warn!(error = %e, "engine refresh failed; still serving the previous snapshot");
        }
    }
}

async fn shutdown_signal() {
    if let Err(e) = tokio::signal::ctrl_c().await {
        tracing::error!(error = %e, "cannot listen for ctrl-c; stop the process another way");
        std::future::pending::<()>().await;
    }
    tracing::info!("shutdown requested");
}
