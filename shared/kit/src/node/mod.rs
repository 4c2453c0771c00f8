//! A running node: the runtime both binaries assemble from their checked settings, and `run`,
//! which serves the UI/API listener, the inter-node listener, the link to the parent and the
//! job runner until shutdown. Settings, readiness and metrics have their own modules.

mod metrics;
mod readiness;
mod settings;

pub use readiness::{NodeReadiness, SharedReadiness, StoreReadiness};
pub use settings::*;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use bangban_domain::station::StationCode;
use tokio::net::TcpListener;

use crate::policy::{Policy, PolicyHandle};
use crate::serve::{ListenerLimits, NodeLimits, PlainTcp};
use crate::store::CaseStore;

/// Serves `router` on `listener` within `limits` until `shutdown` completes, then drains open
/// requests. Requests carry `ConnectInfo<SocketAddr>`: the login audit and throttle read the
/// peer address from the connection, never from headers.
pub async fn serve_router(
    listener: TcpListener,
    router: Router,
    limits: ListenerLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    crate::serve::serve(listener, PlainTcp, router, limits, shutdown).await
}

/// Everything a node runs, assembled by the node binary from its checked settings.
pub struct NodeRuntime {
    pub me: StationCode,
    pub name: String,
    pub store: CaseStore,
    pub auth: crate::auth::AuthStore,
    /// The policy in force; the store is built on the same handle.
    pub policy: PolicyHandle,
    /// How to read the policy again (on SIGHUP); `None`: it never changes while the node runs.
    pub reload: Option<Reloader>,
    /// Present on nodes that serve children or dial a parent.
    pub credentials: Option<crate::tls::NodeCredentials>,
    /// The mTLS listener children dial (the policy's district tree says who they are).
    pub internode: Option<TcpListener>,
    /// The parent's inter-node URL, with how to behave on that link.
    pub parent: Option<(url::Url, crate::sync::client::LinkOptions)>,
    pub body_limit_bytes: usize,
    /// The bounds of both listeners.
    pub limits: NodeLimits,
    /// The scheduled jobs (see `crate::jobs::standard_jobs`).
    pub jobs: crate::jobs::Jobs,
}

/// Runs a node until `shutdown` completes: the UI/API listener, the inter-node listener when it
/// serves children, and the forwarder and puller when it has a parent. Returns after every part
/// has stopped; logs which part ended.
pub async fn run(
    rt: NodeRuntime,
    ui_listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    use axum::extract::DefaultBodyLimit;
    use tokio::sync::watch;

    // Before any listener opens: a node whose policy cannot run it must not start half-way.
    let serves_children = rt.internode.is_some();
    check_policy(rt.me, serves_children, &rt.policy.current())?;

    let (stop_tx, stop_rx) = watch::channel(false);
    let stop_tx = Arc::new(stop_tx);
    tokio::spawn({
        let stop_tx = stop_tx.clone();
        async move {
            shutdown.await;
            let _ = stop_tx.send(true);
        }
    });
    let stopped = |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };

    let link = rt.parent.as_ref().map(|_| crate::sync::LinkStatus::new());
    let certificate = match &rt.credentials {
        Some(creds) => {
            let id = creds
                .own_identity(rt.me.district())
                .map_err(|e| anyhow::anyhow!("tls.cert: {e}"))?;
            anyhow::ensure!(
                id.station == rt.me,
                "tls.cert: the certificate is for station {}, but node.code is {}",
                id.station,
                rt.me
            );
            Some(format!(
                "loaded, identity {}",
                crate::tls::identity_uri(id.station)
            ))
        }
        None => None,
    };
    let readiness = Arc::new(NodeReadiness {
        store: rt.store.clone(),
        certificate,
        link: rt
            .parent
            .as_ref()
            .zip(link.clone())
            .map(|((url, _), status)| (url.clone(), status)),
        jobs: rt.jobs.clone(),
    });
    let api = Arc::new(crate::api::NodeApi {
        name: rt.name.clone(),
        auth: rt.auth.clone(),
        intake: crate::intake::Intake {
            me: rt.me,
            store: rt.store.clone(),
            policy: rt.policy.clone(),
        },
    });
    let metrics_state = readiness.clone();
    let internode_readiness = readiness.clone();
    let me = rt.me;
    let ui = Router::new()
        .route(
            crate::api::METRICS_PATH,
            axum::routing::get(move || metrics::metrics(metrics_state.clone(), me)),
        )
        .merge(crate::http::health_routes(readiness))
        .merge(crate::api::routes(api))
        .fallback(crate::http::fallback)
        .layer(DefaultBodyLimit::max(rt.body_limit_bytes))
        .layer(axum::middleware::from_fn_with_state(
            rt.body_limit_bytes,
            crate::http::refuse_oversized,
        ))
        .layer(crate::http::trace_layer());

    let mut tasks = tokio::task::JoinSet::new();
    tracing::info!(
        code = %rt.me,
        tier = rt.me.tier().as_str(),
        listen = %ui_listener.local_addr()?,
        "UI/API listener ready"
    );
    tasks.spawn({
        let stop = stopped(stop_rx.clone());
        let limits = rt.limits.ui;
        async move {
            serve_router(ui_listener, ui, limits, stop).await?;
            Ok::<_, anyhow::Error>("UI/API listener")
        }
    });

    if let Some(listener) = rt.internode {
        let creds = rt
            .credentials
            .as_ref()
            .ok_or_else(|| anyhow::anyhow!("internode.listen needs the [tls] files"))?;
        let config = crate::tls::server_config(creds, Vec::new())?;
        let sync = Arc::new(crate::sync::server::SyncServer {
            store: rt.store.clone(),
            me: rt.me,
            policy: rt.policy.clone(),
        });
        // The long-poll cap wraps the router; a caller that is not a direct child is refused
        // inside at once, so its slot frees at once.
        let app =
            crate::sync::server::routes(sync, crate::http::health_routes(internode_readiness))
                .layer(axum::middleware::from_fn_with_state(
                    crate::serve::LongPollSlots::new(rt.limits.max_long_polls),
                    crate::serve::limit_long_polls,
                ))
                .layer(crate::http::trace_layer());
        tracing::info!(listen = %listener.local_addr()?, "inter-node (mTLS) listener ready");
        let district = rt.me.district();
        let stop = stopped(stop_rx.clone());
        let limits = rt.limits.internode;
        tasks.spawn(async move {
            crate::tls::serve_mtls_with(listener, config, district, app, limits, stop).await?;
            Ok("inter-node listener")
        });
    }

    if let Some(reload) = rt.reload.clone() {
        tasks.spawn(reload_on_hangup(
            rt.me,
            serves_children,
            rt.policy.clone(),
            reload,
            stop_rx.clone(),
        ));
    }

    if !rt.jobs.names().is_empty() {
        let jobs = rt.jobs.clone();
        tracing::info!(jobs = ?jobs.names(), "job runner ready");
        let stop = stop_rx.clone();
        tasks.spawn(async move {
            jobs.run(stop).await;
            Ok("job runner")
        });
    }

    if let (Some((parent, options)), Some(status)) = (rt.parent, link) {
        let creds = rt
            .credentials
            .as_ref()
            .ok_or_else(|| anyhow::anyhow!("parent.url needs the [tls] files"))?;
        let parent_code = rt
            .me
            .parent()
            .ok_or_else(|| anyhow::anyhow!("parent.url is set, but {} has no parent", rt.me))?;
        let client = crate::tls::https_client(creds, Vec::new(), parent_code)?;
        tracing::info!(parent = %parent, "linking to the parent");
        let forwarder = crate::sync::client::run_forwarder(
            rt.store.clone(),
            client.clone(),
            parent.clone(),
            options.clone(),
            status.clone(),
            stop_rx.clone(),
        );
        tasks.spawn(async move {
            forwarder.await;
            Ok("forwarder")
        });
        let puller = crate::sync::client::run_puller(
            rt.store.clone(),
            client,
            parent,
            options,
            status,
            stop_rx.clone(),
        );
        tasks.spawn(async move {
            puller.await;
            Ok("puller")
        });
    }

    let mut result = Ok(());
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(Ok(part)) => tracing::info!(part, "stopped"),
            Ok(Err(e)) => {
                tracing::error!(error = format!("{e:#}"), "a part of the node failed");
                if result.is_ok() {
                    result = Err(e);
                }
                // One part failing stops the others: a half-running node is worse than none.
                let _ = stop_tx.send(true);
            }
            Err(e) => tracing::error!(error = %e, "a task of the node panicked"),
        }
    }
    rt.store.db().close().await;
    result
}

/// Loads the node's TLS files, when it has them.
pub fn load_credentials(
    tls: Option<&TlsFiles>,
) -> anyhow::Result<Option<crate::tls::NodeCredentials>> {
    Ok(match tls {
        Some(t) => Some(crate::tls::NodeCredentials::load(&t.cert, &t.key, &t.ca)?),
        None => None,
    })
}

/// Binds the inter-node listener, when the node serves children.
pub async fn bind_internode(addr: Option<SocketAddr>) -> anyhow::Result<Option<TcpListener>> {
    match addr {
        Some(addr) => Ok(Some(crate::cli::bind("internode.listen", addr).await?)),
        None => Ok(None),
    }
}

/// Reads the policy again from where the node found it at start (its files today).
pub type Reloader = Arc<dyn Fn() -> anyhow::Result<Policy> + Send + Sync>;

/// Checks that `policy` can run node `me`: a node that serves children needs the district tree,
/// and the tree must list the node itself. Used at start and before every replacement.
pub fn check_policy(me: StationCode, serves_children: bool, policy: &Policy) -> anyhow::Result<()> {
    match &policy.topology {
        None if serves_children => anyhow::bail!("policy.topology is required to serve children"),
        Some(tree) if !tree.contains(me) => {
            anyhow::bail!("policy.topology: {me} is not in the district tree")
        }
        _ => Ok(()),
    }
}

/// Reads the policy again on every SIGHUP and puts it in force when it checks; otherwise the
/// policy in force stays, and the error is logged.
async fn reload_on_hangup(
    me: StationCode,
    serves_children: bool,
    policy: PolicyHandle,
    reload: Reloader,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<&'static str> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut hangups = signal(SignalKind::hangup())?;
    loop {
        tokio::select! {
            _ = stop.wait_for(|s| *s) => return Ok("policy reloader"),
            got = hangups.recv() => if got.is_none() { return Ok("policy reloader") },
        }
        let outcome = tokio::task::spawn_blocking({
            let reload = reload.clone();
            move || reload()
        })
        .await
        .map_err(anyhow::Error::from)
        .and_then(|r| r)
        .and_then(|new| check_policy(me, serves_children, &new).map(|()| new));
        match outcome {
            Ok(new) => {
                let generation = policy.replace(new);
                tracing::info!(generation, "SIGHUP: policy reloaded and in force");
            }
            Err(e) => tracing::error!(
                error = format!("{e:#}"),
                generation = policy.current().generation,
                "SIGHUP: the policy files do not check; the policy in force is unchanged"
            ),
        }
    }
}
