//! district-node: the district hall. Its own cases and those escalated to it, on SQLite or
//! PostgreSQL, and the mTLS listener its towns dial; the district CA (`ca`) and the tree of
//! centres (`tiers`), the signed policy bundles (`policy`). Later issues add the agent
//! registry, inspection and enrollment, each a folder here. The machinery is `bangban_kit`'s, shared with the stations;
//! this crate reads its settings and adds its own parts, routes and tables to the node.

pub mod admin;
pub mod ca;
pub mod drafts;
pub mod policy;
pub mod settings;
pub mod tiers;

use std::future::Future;
use std::sync::Arc;

use bangban_kit::auth::AuthStore;
use bangban_kit::db::{Db, Migrations};
use bangban_kit::node::{NodeRuntime, Parts};
use bangban_kit::store::CaseStore;
use tokio::net::TcpListener;

pub use settings::{Config, Settings};

/// The district's own tables, next to those of `bangban_kit` in the same database, with their
/// own bookkeeping table so that the two sets number their migrations independently.
pub static MIGRATIONS: Migrations = Migrations {
    owner: "district-node",
    table: "_district_migrations",
    sqlite: sqlx::migrate!("migrations/sqlite"),
    postgres: sqlx::migrate!("migrations/postgres"),
};

/// Opens and migrates the district's database (SQLite or PostgreSQL): the shared tables, then
/// the district's own.
pub async fn open_db(config: &Config) -> anyhow::Result<Db> {
    let db = Db::connect(&config.database_url).await?;
    db.migrate_with(&[&MIGRATIONS]).await?;
    Ok(db)
}

/// The district's own parts of the node.
pub fn parts(config: &Config, store: &CaseStore, db: &Db) -> Parts {
    let admin = admin::Admin {
        me: config.code,
        db: db.clone(),
        auth: AuthStore::new(db.clone()),
        drafts: drafts::Drafts::new(db.clone()),
        policy: store.policy().clone(),
    };
    Parts::new()
        .ui_api(
            tiers::routes(tiers::TiersApi {
                auth: AuthStore::new(db.clone()),
                policy: store.policy().clone(),
            }),
            tiers::access(),
        )
        .ui_routes(admin::routes(admin), admin::access())
}

/// The district's case store. The district has no parent, so nothing is queued upward.
pub fn case_store(config: &Config, db: Db) -> CaseStore {
    CaseStore::new(db, config.policy.clone())
        .with_limits(config.event_limits)
        .with_attachments(config.attachments.clone())
}

/// Reads the policy files again, through the same checks as at start (on SIGHUP).
pub fn reloader(config: &Config) -> bangban_kit::node::Reloader {
    let source = config.source.clone();
    Arc::new(move || {
        let file = source.as_deref();
        Ok(Settings::load(file)?.check(file)?.policy)
    })
}

/// The scheduled jobs of this node, on the schedules of `[jobs]` (also for `job run`).
pub fn jobs(config: &Config, db: Db) -> bangban_kit::jobs::Jobs {
    bangban_kit::jobs::standard_jobs(
        AuthStore::new(db.clone()),
        case_store(config, db),
        &config.jobs,
    )
}

/// Runs the node on `ui_listener` until `shutdown` completes; binds the inter-node listener
/// from the settings.
pub async fn serve(
    config: Config,
    ui_listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let internode = bangban_kit::node::bind_internode(config.internode_listen).await?;
    serve_with(config, ui_listener, internode, shutdown).await
}

/// As [`serve`], with the inter-node listener given (tests).
pub async fn serve_with(
    config: Config,
    ui_listener: TcpListener,
    internode: Option<TcpListener>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    bangban_kit::tls::install_crypto_provider();
    let db = open_db(&config).await?;
    let credentials = bangban_kit::node::load_credentials(config.tls.as_ref())?;
    tracing::info!(backend = ?config.backend, "district database open");
    // The administrators author the policy from what the district runs on at first start.
    drafts::Drafts::new(db.clone()).seed(&config.policy).await?;
    let jobs = jobs(&config, db.clone());
    let store = case_store(&config, db.clone());
    let rt = NodeRuntime {
        me: config.code,
        name: config.name.clone(),
        store: store.clone(),
        parts: parts(&config, &store, &db),
        auth: AuthStore::new(db),
        policy: store.policy().clone(),
        reload: Some(reloader(&config)),
        credentials,
        internode,
        body_limit_bytes: config.http.body_limit_kib * 1024,
        limits: config.limits,
        ui_tls: config.ui_tls.clone(),
        jobs,
    };
    bangban_kit::node::run(rt, ui_listener, shutdown).await?;
    tracing::info!("district node stopped");
    Ok(())
}
