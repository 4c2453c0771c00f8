//! What a node crate adds to the node that `shared/kit` runs: routes on the UI listener, routes on
//! the inter-node listener (behind the same direct-child gate as the sync API), extra listeners,
//! named background tasks that stop on shutdown, and lines of `/readyz`.
//!
//! `district-node` and `station-node` build their capabilities as [`Parts`] and hand them to
//! [`crate::node::run`]; kit never names a capability of one node only. (Each crate's tables come
//! with its own [`crate::db::Migrations`], applied when the database opens, before the node runs.)
//!
//! ```ignore
//! let parts = Parts::new()
//!     .ui_routes(tiers::routes(policy.clone()))
//!     .task("forwarder", move |stop| async move { forward(stop).await });
//! ```

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::http::Check;
use crate::serve::ListenerLimits;

/// Tells a part that the node is stopping. Cheap to clone; every task gets its own.
#[derive(Debug, Clone)]
pub struct Stop(watch::Receiver<bool>);

impl Stop {
    pub(crate) fn new(rx: watch::Receiver<bool>) -> Stop {
        Stop(rx)
    }

    /// Completes once the node is stopping (at once if it already is).
    pub async fn stopped(mut self) {
        let _ = self.0.wait_for(|s| *s).await;
    }

    pub fn is_stopped(&self) -> bool {
        *self.0.borrow()
    }

    /// The underlying channel, for loops that `select!` on `changed()`.
    pub fn receiver(&self) -> watch::Receiver<bool> {
        self.0.clone()
    }
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;
type TaskFn = Box<dyn FnOnce(Stop) -> BoxFuture<anyhow::Result<()>> + Send>;
/// Produces readiness lines on each `/readyz`.
pub type CheckFn = Arc<dyn Fn() -> BoxFuture<Vec<Check>> + Send + Sync>;

/// A named background task. It must return soon after its [`Stop`] completes.
pub(crate) struct Task {
    pub name: &'static str,
    pub run: TaskFn,
}

/// An extra listener: a router served on its own socket within its own limits.
pub(crate) struct Listener {
    pub name: &'static str,
    pub listener: TcpListener,
    pub router: Router,
    pub limits: ListenerLimits,
}

/// The parts one node crate adds. Build with the methods below; [`Parts::merge`] combines the
/// parts of several capabilities.
#[derive(Default)]
pub struct Parts {
    pub(crate) ui: Router,
    /// What each of the `ui` routes needs.
    pub(crate) ui_access: Vec<crate::access::Access>,
    /// The documentation of the JSON routes among them, merged into `/api/v1/openapi.json`.
    pub(crate) ui_docs: Vec<utoipa::openapi::OpenApi>,
    pub(crate) internode: Router,
    pub(crate) listeners: Vec<Listener>,
    pub(crate) tasks: Vec<Task>,
    pub(crate) checks: Vec<CheckFn>,
    /// The link to the parent, when this node dials one: shown in `/readyz` and `/metrics`.
    pub(crate) uplink: Option<crate::sync::Uplink>,
}

impl Parts {
    pub fn new() -> Parts {
        Parts::default()
    }

    /// Routes served on the UI/API listener, next to the operator API, with what each needs
    /// (a route without a rule is refused to everybody). They carry their own state
    /// (`Router::with_state`) and must not set a fallback.
    pub fn ui_routes(
        mut self,
        routes: Router,
        access: impl IntoIterator<Item = crate::access::Access>,
    ) -> Parts {
        self.ui = self.ui.merge(routes);
        self.ui_access.extend(access);
        self
    }

    /// JSON routes on the UI/API listener with their OpenAPI documentation (built with
    /// `utoipa_axum::router::OpenApiRouter`), which joins the node's `/api/v1/openapi.json`.
    pub fn ui_api(
        mut self,
        routes: utoipa_axum::router::OpenApiRouter,
        access: impl IntoIterator<Item = crate::access::Access>,
    ) -> Parts {
        let (router, doc) = routes.split_for_parts();
        self.ui_docs.push(doc);
        self.ui_routes(router, access)
    }

    /// Routes served on the inter-node (mTLS) listener. Only direct, active children reach
    /// them, as for the sync API; a handler learns the caller from [`crate::tls::Peer`].
    pub fn internode_routes(mut self, routes: Router) -> Parts {
        self.internode = self.internode.merge(routes);
        self
    }

    /// A router served on a listener of its own (plain TCP), stopped and drained with the node.
    pub fn listener(
        mut self,
        name: &'static str,
        listener: TcpListener,
        router: Router,
        limits: ListenerLimits,
    ) -> Parts {
        self.listeners.push(Listener {
            name,
            listener,
            router,
            limits,
        });
        self
    }

    /// A named background task, started with the node. It gets a [`Stop`] and must return soon
    /// after it completes; an error stops the whole node (a half-running node is worse than
    /// none) and is logged with the task's name.
    pub fn task<F, Fut>(mut self, name: &'static str, run: F) -> Parts
    where
        F: FnOnce(Stop) -> Fut + Send + 'static,
        Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        self.tasks.push(Task {
            name,
            run: Box::new(move |stop| Box::pin(run(stop))),
        });
        self
    }

    /// Lines added to `/readyz` on every request.
    pub fn readiness<F, Fut>(mut self, checks: F) -> Parts
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Vec<Check>> + Send + 'static,
    {
        self.checks.push(Arc::new(move || Box::pin(checks())));
        self
    }

    /// Declares the link this node keeps to its parent, for `/readyz` and `/metrics`.
    pub fn uplink(
        mut self,
        parents: Arc<crate::sync::ParentUrls>,
        status: Arc<crate::sync::LinkStatus>,
    ) -> Parts {
        self.uplink = Some(crate::sync::Uplink { parents, status });
        self
    }

    /// Both sets of parts. Task names must stay unique; `run` refuses duplicates at start.
    pub fn merge(mut self, other: Parts) -> Parts {
        self.ui = self.ui.merge(other.ui);
        self.ui_access.extend(other.ui_access);
        self.ui_docs.extend(other.ui_docs);
        self.internode = self.internode.merge(other.internode);
        self.listeners.extend(other.listeners);
        self.tasks.extend(other.tasks);
        self.checks.extend(other.checks);
        if other.uplink.is_some() {
            self.uplink = other.uplink;
        }
        self
    }

    /// The names of the tasks and listeners, in the order they were added.
    pub fn names(&self) -> Vec<&'static str> {
        self.listeners
            .iter()
            .map(|l| l.name)
            .chain(self.tasks.iter().map(|t| t.name))
            .collect()
    }
}
