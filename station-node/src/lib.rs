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

/// The case store of this station, queuing for its parent when it has one; it summarises the
/// cases taken in here either way.
pub fn case_store(config: &Config, db: Db) -> CaseStore {
    let store = CaseStore::new(db, config.policy.clone())
        .with_limits(config.event_limits)
        .with_attachments(config.attachments.clone())
        .of_station(config.code);
    if config.parent.is_some() {
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

/// The mTLS client and URL of this station's parent, when it has one.
pub fn uplink(config: &Config) -> anyhow::Result<Option<bangban_kit::reconcile::cli::Uplink>> {
    let (Some(parent), Some(parent_code)) = (&config.parent, config.code.parent()) else {
        return Ok(None);
    };
    let credentials = bangban_kit::node::load_credentials(config.tls.as_ref())?
        .ok_or_else(|| anyhow::anyhow!("parent.url needs the [tls] files"))?;
    // The client accepts only the parent's own certificate (bangban_kit::tls::ParentVerifier).
    let client = bangban_kit::tls::https_client(&credentials, Vec::new(), parent_code)?;
    Ok(Some((client, parent.clone())))
}

/// The scheduled jobs of this node, on the schedules of `[jobs]` (also for `job run`): the
/// standard ones, and reconciliation with the parent when there is one.
pub fn jobs(config: &Config, db: Db) -> anyhow::Result<bangban_kit::jobs::Jobs> {
    let store = case_store(config, db.clone());
    let mut jobs =
        bangban_kit::jobs::standard_jobs(AuthStore::new(db), store.clone(), &config.jobs);
    bangban_kit::alerts::add_jobs(
        &mut jobs,
        config.code,
        store.clone(),
        config.alerts,
        &config.jobs,
    );
    if let Some((client, parent)) = uplink(config)? {
        let me = config.code;
        let (summaries, summary_client, summary_parent) =
            (store.clone(), client.clone(), parent.clone());
        jobs.add(
            "summary-push",
            config.jobs.summary_push.clone(),
            move || {
                let (store, client, parent) = (
                    summaries.clone(),
                    summary_client.clone(),
                    summary_parent.clone(),
                );
                async move {
                    let url = parent.current().clone();
                    bangban_kit::sync::summaries::summary_push_job(&store, &client, &url, me).await
                }
            },
        );
        jobs.add("reconcile", config.jobs.reconcile.clone(), move || {
            let (store, client, parent) = (store.clone(), client.clone(), parent.clone());
            async move {
                let mut progress = |p: &str| tracing::debug!("{p}");
                let url = parent.current().clone();
                let outcome = bangban_kit::reconcile::run_once(
                    &store,
                    &client,
                    &url,
                    me,
                    None,
                    &mut progress,
                )
                .await?;
                Ok(outcome.run.detail)
            }
        });
    }
    Ok(jobs)
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
    let link = match (&config.parent, credentials, config.code.parent()) {
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
    // The pulls report escalations stuck longer than this node's own alarm threshold.
    let link = LinkOptions {
        transit_alarm: config
            .alerts
            .transit_alarm
            .try_into()
            .unwrap_or(link.transit_alarm),
        ..link
    };
    let db = open_db(&config).await?;
    let credentials = bangban_kit::node::load_credentials(config.tls.as_ref())?;
    let jobs = jobs(&config, db.clone())?;
    let store = case_store(&config, db.clone());
    let mut parts = match config.parent.clone() {
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
