//! station-node: a town or village centre. It takes cases in locally into its own SQLite file,
//! pushes the cases it escalates to its parent and pulls their results back; a town also serves
//! its own villages on an mTLS listener. The machinery is `bangban_kit`'s, shared with the
//! district; this crate reads its settings and adds its own parts: the link to the parent.

pub mod policy_pull;
pub mod settings;
pub mod uplink;

use std::future::Future;
use std::sync::Arc;

use bangban_kit::auth::AuthStore;
use bangban_kit::db::{Db, sqlite_url};
use bangban_kit::node::{NodeRuntime, Parts};
use bangban_kit::store::CaseStore;
use bangban_kit::sync::client::LinkOptions;
use tokio::net::TcpListener;

pub use settings::{Config, Settings};

/// Opens (creating when missing) and migrates the station's database.
pub async fn open_db(config: &Config) -> anyhow::Result<Db> {
    let db = Db::connect(&sqlite_url(&config.database_path)).await?;
    db.migrate().await?;
    Ok(db)
}

/// The case store of this station, queuing for its parent when it has one.
pub fn case_store(config: &Config, db: Db) -> CaseStore {
    let store = CaseStore::new(db, config.policy.clone())
        .with_limits(config.event_limits)
        .with_attachments(config.attachments.clone());
    if config.parent_url.is_some() {
        store.with_uplink(config.code)
    } else {
        store
    }
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

/// The signed policy's parts (see [`policy_pull`]): the last good bundle is put back in force
/// now, before the node serves.
fn policy_parts(
    config: &Config,
    store: &CaseStore,
    credentials: Option<&bangban_kit::tls::NodeCredentials>,
) -> anyhow::Result<Parts> {
    let data_dir = config
        .database_path
        .parent()
        .map(std::path::Path::to_path_buf)
        .unwrap_or_default();
    let policy = store.policy().clone();
    policy_pull::restore(
        config.code,
        &config.pinned_keys,
        &policy,
        &bangban_kit::policy::apply::Kept::new(data_dir.clone()),
    );
    let link = match (&config.parent_url, credentials, config.code.parent()) {
        (Some(parent), Some(creds), Some(parent_code)) => Some((
            bangban_kit::tls::https_client(creds, Vec::new(), parent_code)?,
            parent.clone(),
        )),
        _ => None,
    };
    Ok(policy_pull::parts(
        config.code,
        config.pinned_keys.clone(),
        policy,
        data_dir,
        config.attachments.blobs().clone(),
        link,
        config.internode_listen.is_some(),
        config.policy_pull,
    ))
}

/// Runs the node on `ui_listener` until `shutdown` completes; binds the inter-node listener
/// from the settings when this is a town.
pub async fn serve(
    config: Config,
    ui_listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let internode = bangban_kit::node::bind_internode(config.internode_listen).await?;
    let link = config.link.clone();
    serve_with(config, ui_listener, internode, link, shutdown).await
}

/// As [`serve`], with the inter-node listener and link behaviour given (tests).
pub async fn serve_with(
    config: Config,
    ui_listener: TcpListener,
    internode: Option<TcpListener>,
    link: LinkOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    bangban_kit::tls::install_crypto_provider();
    let db = open_db(&config).await?;
    let credentials = bangban_kit::node::load_credentials(config.tls.as_ref())?;
    let jobs = jobs(&config, db.clone());
    let store = case_store(&config, db.clone());
    let mut parts = match config.parent_url.clone() {
        Some(parent) => uplink::parts(config.code, &store, credentials.as_ref(), parent, link)?,
        None => Parts::new(),
    };
    if !config.pinned_keys.is_empty() {
        parts = parts.merge(policy_parts(&config, &store, credentials.as_ref())?);
    }
    let rt = NodeRuntime {
        me: config.code,
        name: config.name.clone(),
        store: store.clone(),
        auth: AuthStore::new(db),
        policy: store.policy().clone(),
        reload: Some(reloader(&config)),
        credentials,
        internode,
        parts,
        body_limit_bytes: config.http.body_limit_kib * 1024,
        limits: config.limits,
        ui_tls: config.ui_tls.clone(),
        jobs,
    };
    bangban_kit::node::run(rt, ui_listener, shutdown).await?;
    tracing::info!("station node stopped");
    Ok(())
}
