//! A running node: the runtime both binaries assemble from their checked settings, and `run`,
//! which serves the UI/API listener, the inter-node listener and the job runner until shutdown,
//! with the [`Parts`] the node crate adds (its own routes, listeners and tasks: the station's
//! link to its parent is one). Settings, readiness and metrics have their own modules.

mod metrics;
mod parts;
mod readiness;
mod settings;

pub use metrics::{GAP_DAYS, GaugeReading, NodeMetrics, refresh_gauges};
pub use parts::{CheckFn, Parts, Stop};
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
    /// What the node crate adds: its own routes, listeners, tasks and readiness lines.
    pub parts: Parts,
    pub body_limit_bytes: usize,
    /// The bounds of both listeners.
    pub limits: NodeLimits,
    /// Whether the UI/API listener serves HTTPS, and with which certificate (`http.tls`).
    pub ui_tls: crate::https::UiTls,
    /// The scheduled jobs (see `crate::jobs::standard_jobs`).
    pub jobs: crate::jobs::Jobs,
}

/// Runs a node until `shutdown` completes: the UI/API listener, the inter-node listener when it
/// serves children, the job runner, the policy reloader, and the node crate's [`Parts`]. Returns
/// after every part has stopped; logs which part ended.
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
    let mut names = rt.parts.names();
    names.sort_unstable();
    if let Some(twice) = names.windows(2).find(|w| w[0] == w[1]) {
        anyhow::bail!("two parts of the node are named {}", twice[0]);
    }

    let (stop_tx, stop_rx) = watch::channel(false);
    let stop_tx = Arc::new(stop_tx);
    tokio::spawn({
        let stop_tx = stop_tx.clone();
        async move {
            shutdown.await;
            let _ = stop_tx.send(true);
        }
    });
    let stop = Stop::new(stop_rx);

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
    let Parts {
        ui: own_ui,
        ui_access: own_access,
        ui_docs: own_docs,
        internode: own_internode,
        listeners,
        tasks: own_tasks,
        checks,
        uplink,
    } = rt.parts;
    let readiness = Arc::new(NodeReadiness {
        store: rt.store.clone(),
        certificate,
        link: uplink,
        jobs: rt.jobs.clone(),
        extra: checks,
    });
    let api = Arc::new(crate::api::NodeApi {
        name: rt.name.clone(),
        auth: rt.auth.clone(),
        intake: crate::intake::Intake {
            me: rt.me,
            store: rt.store.clone(),
            policy: rt.policy.clone(),
        },
        openapi: Arc::new(crate::openapi::Rendered::new(&crate::api::openapi_with(
            own_docs,
        ))),
    });
    // Plain HTTP is fine on loopback, a risk on the office LAN: HTTPS there (`http.tls`).
    let ui_tls = crate::https::server_config(&rt.ui_tls, rt.credentials.as_ref())?;
    for warning in ui_tls.iter().flat_map(|c| &c.warnings) {
        tracing::warn!("the UI certificate: {warning}");
    }
    let ui_tls = ui_tls.map(|c| c.config);
    let ui_addr = ui_listener.local_addr()?;
    let exposed_plain_http = crate::https::exposed_plain_http(ui_addr, &rt.ui_tls);
    if exposed_plain_http {
        tracing::warn!(
            listen = %ui_addr,
            "THE UI IS SERVED IN PLAIN HTTP ON THE NETWORK ADDRESS {ui_addr}: passwords and \
             personal data cross the LAN unencrypted. Set http.tls = \"node\" (this node's \
             certificate) or \"files\" (http.tls_cert, http.tls_key) to serve HTTPS, or \
             http.listen = \"127.0.0.1:{}\" behind an HTTPS proxy",
            ui_addr.port()
        );
    }
    let chrome = crate::web::pages::Chrome {
        centre: rt.name.clone(),
        exposed_plain_http,
    };
    let web = crate::web::Web {
        me: rt.me,
        name: rt.name.clone(),
        auth: rt.auth.clone(),
        store: rt.store.clone(),
        uplink: readiness.link.clone(),
        exposed_plain_http,
        secure_cookies: ui_tls.is_some(),
        jobs: rt.jobs.clone(),
    };
    // Every route of the UI listener names what it needs; see crate::access.
    let access = Arc::new(crate::access::AccessPolicy::new(
        rt.auth.clone(),
        ui_access().into_iter().chain(own_access),
    )?);
    let upload_limit = crate::web::upload_limit(&web);
    let node_metrics = NodeMetrics::start(rt.me, &rt.store, &rt.jobs).await;
    let internode_readiness = readiness.clone();
    let ui = Router::new()
        .merge(node_metrics.routes(rt.policy.clone(), readiness.link.clone()))
        .merge(crate::http::health_routes(readiness))
        .merge(crate::api::routes(api))
        .merge(crate::web::routes(web))
        .merge(own_ui)
        .route_layer(axum::middleware::from_fn_with_state(
            access,
            crate::access::enforce,
        ))
        .fallback(crate::http::fallback)
        .layer(axum::Extension(chrome))
        .layer(DefaultBodyLimit::max(rt.body_limit_bytes))
        .layer(axum::middleware::from_fn_with_state(
            (rt.body_limit_bytes, upload_limit),
            crate::web::attachments::refuse_oversized,
        ))
        .layer(crate::http::trace_layer());
    // Over TLS, every answer (pages, API, errors, health) carries HSTS and only Secure cookies.
    let ui = match ui_tls {
        Some(_) => ui.layer(axum::middleware::map_response(crate::https::https_response)),
        None => ui,
    };

    let mut tasks = tokio::task::JoinSet::new();
    tracing::info!(
        code = %rt.me,
        tier = rt.me.tier().as_str(),
        listen = %ui_addr,
        scheme = rt.ui_tls.scheme(),
        "UI/API listener ready"
    );
    tasks.spawn({
        let stop = stop.clone().stopped();
        let limits = rt.limits.ui;
        async move {
            match ui_tls {
                Some(config) => {
                    let handshake = crate::https::ServerTls::new(config);
                    crate::serve::serve(ui_listener, handshake, ui, limits, stop).await?;
                }
                None => serve_router(ui_listener, ui, limits, stop).await?,
            }
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
        let app = crate::sync::server::routes(
            sync,
            crate::http::health_routes(internode_readiness).merge(own_internode),
        )
        .layer(axum::middleware::from_fn_with_state(
            crate::serve::LongPollSlots::new(rt.limits.max_long_polls),
            crate::serve::limit_long_polls,
        ))
        .layer(crate::http::trace_layer());
        tracing::info!(listen = %listener.local_addr()?, "inter-node (mTLS) listener ready");
        let district = rt.me.district();
        let stop = stop.clone().stopped();
        let limits = rt.limits.internode;
        tasks.spawn(async move {
            crate::tls::serve_mtls_with(listener, config, district, app, limits, stop).await?;
            Ok("inter-node listener")
        });
    }

    for extra in listeners {
        tracing::info!(part = extra.name, listen = %extra.listener.local_addr()?, "listener ready");
        let stop = stop.clone().stopped();
        tasks.spawn(async move {
            serve_router(
                extra.listener,
                extra.router.layer(crate::http::trace_layer()),
                extra.limits,
                stop,
            )
            .await?;
            Ok(extra.name)
        });
    }

    if let Some(reload) = rt.reload.clone() {
        tasks.spawn(reload_on_hangup(
            rt.me,
            serves_children,
            rt.policy.clone(),
            reload,
            stop.clone(),
        ));
    }

    if !rt.jobs.names().is_empty() {
        // Ticks are claimed in the node's database: district replicas run each tick once.
        let jobs = rt.jobs.clone().claimed_in(rt.store.db().clone());
        tracing::info!(jobs = ?jobs.names(), "job runner ready");
        let stop = stop.receiver();
        tasks.spawn(async move {
            jobs.run(stop).await;
            Ok("job runner")
        });
    }

    for task in own_tasks {
        tracing::info!(part = task.name, "task started");
        let run = (task.run)(stop.clone());
        tasks.spawn(async move {
            run.await
                .map_err(|e| e.context(format!("task {}", task.name)))?;
            Ok(task.name)
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
            Err(e) => {
                tracing::error!(error = %e, "a task of the node panicked");
                let _ = stop_tx.send(true);
            }
        }
    }
    rt.store.db().close().await;
    result
}

/// What each route the kit serves on the UI listener needs: health and metrics (public), the
/// operator API and the web pages. A node crate's parts add theirs.
pub fn ui_access() -> Vec<crate::access::Access> {
    use crate::access::Access;
    [
        Access::public_get("/healthz"),
        Access::public_get("/readyz"),
        Access::public_get("/metrics"),
    ]
    .into_iter()
    .chain(crate::api::access())
    .chain(crate::web::access())
    .collect()
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
/// policy in force stays, and the error is logged. On a node running on a signed bundle the
/// signal is logged and ignored: only a newer bundle replaces a bundle.
async fn reload_on_hangup(
    me: StationCode,
    serves_children: bool,
    policy: PolicyHandle,
    reload: Reloader,
    stop: Stop,
) -> anyhow::Result<&'static str> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut hangups = signal(SignalKind::hangup())?;
    loop {
        tokio::select! {
            () = stop.clone().stopped() => return Ok("policy reloader"),
            got = hangups.recv() => if got.is_none() { return Ok("policy reloader") },
        }
        // A signed bundle outranks the files: SIGHUP never replaces it (see crate::policy).
        if let Some(number) = policy.current().bundle {
            tracing::warn!(
                bundle = number,
                "SIGHUP ignored: the policy in force is the district's signed bundle; the \
                 policy files do not replace it"
            );
            continue;
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
