//! Credence's HTTP API: axum routes over [`credence_service::platform`].
//!
//! This crate owns the wire: routing, credentials from headers, JSON in
//! and out, the error format `{code, message, field?}`, the OpenAPI
//! document, `/healthz`, Prometheus `/metrics`, request tracing and a
//! graceful shutdown that answers every request it accepted and writes the
//! audit log out before it returns. Every rule lives in the platform, which
//! runs on the blocking pool (SQLite and fsync are blocking work).

mod api;
mod dto;
mod event_schema;
mod lanes;
mod metrics;

pub use api::ApiDoc;
pub use metrics::Metrics;

use axum::Router;
use credence_service::platform::Platform;
use std::future::Future;
use std::sync::Arc;
use tokio::net::TcpListener;

/// Largest request body accepted (a 10,000-event batch is about 3 MB).
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The rules.
    pub platform: Arc<Platform>,
    /// Request counters.
    pub metrics: Arc<Metrics>,
    /// Where partner checks are decided (see `api::call_then`).
    pub deciding: lanes::Lanes,
}

/// The application: every route, with metrics and tracing.
pub fn router(platform: Arc<Platform>) -> Router {
    // On an embedded store deciding is short work on the processors: one
    // lane per core keeps the cores busy, and twice that was a sixth
    // slower, its extra readers in flight slowing every read. On a
    // database server it mostly waits on the network and the server's
    // commits: two lanes held checks to 2 in flight (0.6k checks/s).
    let lanes = platform.store().concurrent_calls().max(1);
    api::routes(AppState {
        platform,
        metrics: Arc::new(Metrics::default()),
        deciding: lanes::Lanes::new(lanes),
    })
}

/// Serves until `shutdown` resolves, then finishes the requests in flight
/// and flushes the audit log.
pub async fn serve(
    listener: TcpListener,
    platform: Arc<Platform>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(platform.clone());
    let sweeper = tokio::spawn(sweep(platform.clone()));
    let result = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await;
    sweeper.abort();
    // Requests are done; everything they queued for the audit log is
    // written before we return.
    tokio::task::spawn_blocking(move || platform.close())
        .await
        .map_err(std::io::Error::other)?;
    result
}

/// At start and every hour: resolves unanswered disputes for the subject
/// once their 20 days are up, even if nobody looks at them (reads settle
/// them too), forgets partner answers claimed before yesterday, and signs
/// a checkpoint over the audit chains' heads. Every node runs it; all
/// three are safe to run at once.
async fn sweep(platform: Arc<Platform>) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(3_600));
    loop {
        tick.tick().await;
        let platform = platform.clone();
        let outcome = tokio::task::spawn_blocking(move || {
            (
                platform.disputes().settle_lapsed_disputes(),
                platform.answers().forget_old_answers(),
                platform.checkpoints().write_checkpoint(),
            )
        })
        .await;
        let Ok((settled, forgotten, checkpoint)) = outcome else {
            continue;
        };
        if let Err(e) = checkpoint {
            tracing::warn!(error = %e, "signing an audit checkpoint");
        }
        match settled {
            Ok(settled) if settled > 0 => {
                tracing::info!(settled, "disputes resolved for subjects after 20 days")
            }
            Err(e) => tracing::warn!(error = %e, "settling lapsed disputes"),
            _ => {}
        }
        match forgotten {
            Ok(forgotten) if forgotten > 0 => {
                tracing::debug!(forgotten, "partner answers from before yesterday forgotten")
            }
            Err(e) => tracing::warn!(error = %e, "forgetting old partner answers"),
            _ => {}
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
