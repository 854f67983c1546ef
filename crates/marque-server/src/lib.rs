//! # marque-server: Marque's HTTP service
//!
//! Two kinds of client use the service. **Services** (CRM, call centre, marketing automation,
//! app back-end) read one customer's unified profile by whatever key they hold — customer id,
//! phone in any format, VIN, app user id, WeChat unionid — in well under a millisecond, because
//! profiles come from an in-memory [`index`] of the latest resolution, never from Parquet.
//! **Analysts** send read-only SQL over the lake's tables and views and get the answer
//! *streamed* as JSON, NDJSON, CSV, Arrow IPC or Parquet ([`stream`]), under a timeout, the
//! engine's memory pool and a concurrency cap.
//!
//! | route | who | answer |
//! |---|---|---|
//! | `GET /v1/profiles/{id}` | service, admin | golden record, mention counts per source, vehicles, lifecycle, CLV, segments with `segments_state` and `segments_as_of` (`?include=mentions`: every mention); `308` for a merged-away id |
//! | `GET /v1/profiles?phone=…` (`vin`, `app_user_id`, `unionid`, `email`; `include`) | service, admin | `{key, value, profiles}` |
//! | `GET /v1/profiles/{id}/timeline`, `/explain` | service, admin | mentions over time (cursor pages); match edges and evidence |
//! | `POST /v1/sql` | analyst, admin | streamed rows; analysts see masked phones and no resident ids ([`mask`]) |
//! | `GET /v1/segments`, `/v1/segments/{name}/members` | analyst, admin | segments of `sql/segments/` with member counts and pages from the `segment_members` table; `?format=`: the definition's result streamed |
//! | `POST /v1/admin/refresh` | admin | re-read the lake now |
//! | `POST /v1/ingest/{connector}` | service, admin | NDJSON events landed as one batch: `202` |
//! | `/healthz`, `/readyz`, `/metrics`, `/openapi.json` | anyone | liveness, readiness (index size and build phases, segment freshness), Prometheus, OpenAPI |
//!
//! **Segments** are materialised outside the serving path: `marque segments refresh` writes the
//! lake table `segment_members`, and the index reads it (never running the definitions, which
//! at a million customers take minutes and more memory than the SQL pool). Its freshness —
//! `current`, `stale` (computed from other resolution versions), `missing` — is shown in
//! profiles, segment answers, `/readyz` and `/metrics` ([`index::SegmentsAsOf`]).
//!
//! **Following the lake** ([`refresh`]): table versions are polled; a new commit refreshes the
//! SQL sessions, and a new resolution builds a new index in the background — on threads of a
//! lower CPU priority ([`background`]), so that lookups preempt the build — swapped in
//! atomically — no restart, no pause. **Security** ([`auth`]): bearer tokens configured as
//! SHA-256 hashes, with roles; with no token the service is in open mode and refuses
//! non-loopback addresses. Every SQL query and admin action goes to the `audit_log` Delta table
//! ([`audit`]). **Robustness**: every error is `{"error": {"code", "message"}}` with an honest
//! status; the caller's mistakes are `4xx`, never `500`. Requests carry ids and are counted and
//! timed by route ([`metrics`]); shutdown lets requests in flight finish.

pub mod audit;
pub mod auth;
pub mod background;
pub mod config;
pub mod error;
pub mod index;
pub mod mask;
pub mod metrics;
pub mod openapi;
pub mod refresh;
pub mod routes;
pub mod segments;
pub mod state;
pub mod stream;

use std::future::Future;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use marque_engine::Engine;

pub use auth::{Role, TokenEntry};
pub use config::{ServerConfig, ServerSection};
pub use error::{ApiError, ServerError};
pub use state::AppState;

/// The service's routes over `state`.
pub fn router(state: AppState) -> Router {
    use routes::*;
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .route("/openapi.json", get(openapi::openapi_json))
        .route("/v1/sql", post(sql::run_sql))
        .route("/v1/profiles", get(profiles::lookup))
        .route("/v1/profiles/{customer_id}", get(profiles::get_profile))
        .route(
            "/v1/profiles/{customer_id}/timeline",
            get(profiles::timeline),
        )
        .route("/v1/profiles/{customer_id}/explain", get(profiles::explain))
        .route("/v1/segments", get(segments::list))
        .route("/v1/segments/{name}/members", get(segments::members))
        .route("/v1/admin/refresh", post(admin::refresh))
        .route(
            "/v1/ingest/{connector}",
            post(ingest::push).layer(DefaultBodyLimit::max(state.cfg.ingest_body_limit)),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(state.body_limit))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::observe,
        ))
        .with_state(state)
}

/// Serves `engine` on `cfg.addr` until ctrl-c or SIGTERM, then finishes the requests in flight.
pub async fn serve(engine: Engine, cfg: ServerConfig) -> Result<(), ServerError> {
    check_open_mode(&cfg, cfg.addr)?;
    let listener = tokio::net::TcpListener::bind(cfg.addr)
        .await
        .map_err(|source| ServerError::Bind {
            addr: cfg.addr,
            source,
        })?;
    serve_on(listener, engine, cfg, shutdown_signal()).await
}

fn check_open_mode(cfg: &ServerConfig, addr: std::net::SocketAddr) -> Result<(), ServerError> {
    if cfg.tokens.is_empty() {
        if !addr.ip().is_loopback() {
            return Err(ServerError::Insecure(addr));
        }
        tracing::warn!(%addr, "no tokens configured: open mode, every local caller is admin (loopback only)");
    }
    Ok(())
}

/// Serves `engine` on an already bound `listener` until `shutdown` completes (tests bind
/// `127.0.0.1:0`; embedders bring their own shutdown signal). `cfg.addr` is ignored. The
/// profile index is built in the background: `/readyz` answers `200` once it is in place.
pub async fn serve_on(
    listener: tokio::net::TcpListener,
    engine: Engine,
    cfg: ServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let addr = listener.local_addr().map_err(ServerError::Serve)?;
    check_open_mode(&cfg, addr)?;
    let mut state = AppState::new(engine.clone(), &cfg);
    let audit_task = if cfg.audit {
        let (audit, task) = audit::Audit::spawn(engine.lake().clone());
        state.audit = audit;
        Some(task)
    } else {
        None
    };
    let refresher = tokio::spawn(refresh::run(state.clone(), cfg.refresh_interval));
    let app = router(state);
    tracing::info!(%addr, "marque server listening");
    // Answers are small and written whole: send them at once rather than let Nagle's
    // algorithm hold a segment back waiting for the client's delayed ACK.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
    });
    let result = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(ServerError::Serve);
    refresher.abort();
    let _ = refresher.await;
    // The router (and every audit handle in it) is gone: the writer drains and stops.
    if let Some(task) = audit_task
        && tokio::time::timeout(std::time::Duration::from_secs(30), task)
            .await
            .is_err()
    {
        tracing::warn!("the audit log writer did not finish within 30 s");
    }
    tracing::info!("marque server stopped");
    result
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for ctrl-c");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutdown requested; finishing requests in flight");
}
