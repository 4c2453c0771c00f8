//! district-node: the district hall. Its own cases and those escalated to it, on SQLite or
//! PostgreSQL, and the mTLS listener its towns dial; the district CA (`ca`) and the tree of
//! centres (`tiers`), the signed policy bundles (`policy`), the agent registry (`agents`). Later
//! issues add inspection and enrollment, each a folder here. The machinery is `bangban_kit`'s, shared with the stations;
//! this crate reads its settings and adds its own parts, routes and tables to the node.

pub mod admin;
pub mod agents;
pub mod ca;
pub mod calendar;
pub mod catalogue;
pub mod drafts;
pub mod policy;
pub mod publish;
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
        .ui_routes(tiers::web::routes(admin.clone()), tiers::web::access())
        .ui_api(tiers::api::routes(admin.clone()), tiers::api::access())
        .ui_routes(agents::web::routes(admin.clone()), agents::web::access())
        .ui_api(agents::api::routes(admin.clone()), agents::api::access())
        .ui_routes(calendar::routes(admin.clone()), Vec::new())
        .ui_api(calendar::api(admin.clone()), calendar::access())
        .ui_routes(admin::routes(admin.clone()), admin::access())
        .ui_routes(
            publish::routes(publish::PublishState {
                admin,
                published: policy::published::Published::new(db.clone())
                    .with_keys(config.pinned_keys.clone()),
                key: config.signing_key.clone(),
                pinned: config.pinned_keys.clone(),
                expires_days: config.publish_expires_days,
                agents: registry_agents(db),
            }),
            publish::access(),
        )
        .merge(catalogue_parts(config, db))
}

/// The registry's agents, for the rosters the publish screen signs.
fn registry_agents(db: &Db) -> publish::AgentSource {
    let registry = agents::Registry::new(db.clone());
    Arc::new(move || {
        let registry = registry.clone();
        Box::pin(async move { Ok(registry.all().await?) })
    })
}

/// The catalogue's pages and JSON API (`catalogue`).
fn catalogue_parts(config: &Config, db: &Db) -> Parts {
    let items = catalogue::Items {
        drafts: drafts::Drafts::new(db.clone()),
        files: config.attachments.clone(),
    };
    Parts::new()
        .ui_routes(
            catalogue::pages::routes(items.clone()),
            catalogue::pages::access(),
        )
        .ui_api(
            catalogue::api::routes(catalogue::api::CatalogueApi {
                items,
                auth: AuthStore::new(db.clone()),
            }),
            catalogue::api::access(),
        )
}

/// The published bundles' parts: the towns' routes to the latest bundle, their rosters and the
/// catalogue's files, the watcher that puts a bundle recorded by another process in force here,
/// and the `/readyz` line. The latest recorded bundle is put in force now, before the node serves.
pub async fn policy_parts(config: &Config, store: &CaseStore, db: &Db) -> Parts {
    use policy::published::{Published, put_in_force, watch};
    let published = Published::new(db.clone()).with_keys(config.pinned_keys.clone());
    let handle = store.policy().clone();
    if config.pinned_keys.is_empty() {
        tracing::info!(
            "policy.pinned_keys is empty: the district serves its recorded bundles but runs on \
             its policy files"
        );
    }
    match put_in_force(&published, &handle, config.code, &config.pinned_keys).await {
        Ok(Some(number)) => tracing::info!(bundle = number, "recorded policy bundle in force"),
        Ok(None) => {}
        Err(e) => tracing::warn!(error = %e, "the latest recorded policy bundle was refused"),
    }
    let (me, pinned, every) = (config.code, config.pinned_keys.clone(), config.policy_watch);
    let watcher = {
        let (published, handle) = (published.clone(), handle.clone());
        move |stop| async move {
            watch(published, handle, me, pinned, every, stop).await;
            Ok(())
        }
    };
    Parts::new()
        .internode_routes(bangban_kit::policy::serve::routes(std::sync::Arc::new(
            published,
        )))
        // The catalogue's blank forms and samples, from the blob store its admins upload to.
        .internode_routes(bangban_kit::policy::files::routes(
            bangban_kit::policy::files::FileSource {
                policy: handle.clone(),
                blobs: config.attachments.blobs().clone(),
            },
        ))
        .task("policy-watch", watcher)
        .readiness(move || {
            let line = policy_line(&handle);
            async move { vec![line] }
        })
}

/// The `/readyz` line of the policy in force on the district.
fn policy_line(handle: &bangban_kit::policy::PolicyHandle) -> bangban_kit::http::Check {
    let report = handle.report();
    let in_force = handle.current();
    let now = time::OffsetDateTime::now_utc();
    let mut detail = match in_force.bundle {
        Some(n) => format!(
            "bundle {n} in force; expires {}{}",
            report.expires_at.map_or("?".to_owned(), |t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default()
            }),
            if report.expired(now) {
                " (EXPIRED)"
            } else {
                ""
            }
        ),
        None => "policy files in force; no bundle".to_owned(),
    };
    if let Some(r) = &report.last_refusal {
        detail.push_str(&format!("; last refusal: {} ({})", r.message_en, r.code));
    }
    bangban_kit::http::Check {
        name: "policy",
        ok: report.last_refusal.is_none() && !report.expired(now),
        required: false,
        detail,
    }
}

/// The district's case store. The district has no parent, so nothing is queued upward; it
/// summarises the cases taken in at its own hall, beside those its towns send.
pub fn case_store(config: &Config, db: Db) -> CaseStore {
    CaseStore::new(db, config.policy.clone())
        .with_limits(config.event_limits)
        .with_attachments(config.attachments.clone())
        .of_station(config.code)
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
    let store = case_store(config, db.clone());
    let mut jobs =
        bangban_kit::jobs::standard_jobs(AuthStore::new(db), store.clone(), &config.jobs);
    bangban_kit::alerts::add_jobs(&mut jobs, config.code, store, config.alerts, &config.jobs);
    jobs
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
        parts: parts(&config, &store, &db).merge(policy_parts(&config, &store, &db).await),
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
