//! district-node: the district hall. Its own cases and those escalated to it, on SQLite or
//! PostgreSQL; later issues add policy, the agent registry, inspection, the CA and enrollment,
//! and the inter-node listener its towns dial.

pub mod settings;

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use bangban_kit::db::Db;
use bangban_kit::http::{fallback, health_routes, trace_layer};
use bangban_kit::node::{StoreReadiness, serve_router};
use bangban_kit::store::CaseStore;
use tokio::net::TcpListener;

pub use settings::{Config, Settings};

/// What request handlers share.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub store: CaseStore,
}

/// Opens and migrates the district's database (SQLite or PostgreSQL).
pub async fn open_store(config: &Config) -> anyhow::Result<CaseStore> {
    let db = Db::connect(&config.database_url).await?;
    db.migrate().await?;
    Ok(CaseStore::new(db, Arc::new(config.calendar.clone())))
}

/// The UI/API router.
pub fn build_router(state: AppState) -> Router {
    let readiness = Arc::new(StoreReadiness {
        store: state.store.clone(),
    });
    Router::new()
        .merge(health_routes(readiness))
        .fallback(fallback)
        .layer(DefaultBodyLimit::max(
            state.config.http.body_limit_kib * 1024,
        ))
        .layer(trace_layer())
}

/// Runs the node on `listener` until `shutdown` completes.
pub async fn serve(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let store = open_store(&config).await?;
    let state = AppState {
        config: Arc::new(config),
        store: store.clone(),
    };
    tracing::info!(
        code = %state.config.code,
        backend = ?state.config.backend,
        listen = %listener.local_addr()?,
        "district node ready"
    );
    serve_router(listener, build_router(state), shutdown).await?;
    store.db().close().await;
    tracing::info!("district node stopped");
    Ok(())
}
