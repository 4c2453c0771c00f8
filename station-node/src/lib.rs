//! station-node: a town or village centre. Local intake of cases into its own SQLite file; later
//! issues add the operator UI, the outbox to its parent, the pull from its parent and, for towns,
//! serving its own children.

pub mod settings;

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use bangban_kit::db::{Db, sqlite_url};
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

/// Opens (creating when missing) and migrates the station's database.
pub async fn open_store(config: &Config) -> anyhow::Result<CaseStore> {
    let db = Db::connect(&sqlite_url(&config.database_path)).await?;
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
        tier = state.config.code.tier().as_str(),
        listen = %listener.local_addr()?,
        "station node ready"
    );
    serve_router(listener, build_router(state), shutdown).await?;
    store.db().close().await;
    tracing::info!("station node stopped");
    Ok(())
}
