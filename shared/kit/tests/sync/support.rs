//! A parent's inter-node server (the kit's real sync routes behind `serve_mtls`) and a child's
//! store and client, with certificates made here.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use bangban_domain::calendar::WorkingCalendar;
use bangban_domain::event::*;
use bangban_domain::station::Tier;
use bangban_domain::topology::Topology;
use bangban_kit::attachments::{Attachments, DEFAULT_MAX_BYTES};
use bangban_kit::db::Db;
use bangban_kit::store::{AppendLimits, CaseStore};
use bangban_kit::sync::server::{SyncServer, routes};
use bangban_kit::tls::{NodeCredentials, https_client, serve_mtls};
use district_node::ca::Ca;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

pub use crate::tls_support::{DISTRICT, TOWN, VILLAGE, code, creds, district_ca, now};
pub const SIBLING: &str = "410402001002";
/// Listed in the test tree with its period ended: retired.
pub const RETIRED: &str = "410402001003";
pub const OTHER_TOWN: &str = "410402002000";
pub const OTHER_TOWN_VILLAGE: &str = "410402002001";

pub fn calendar() -> Arc<WorkingCalendar> {
    Arc::new(
        WorkingCalendar::from_json(include_str!("../../../../deploy/policy/calendar.json"))
            .unwrap(),
    )
}

/// The district's real tree, with [`RETIRED`] retired at the end of 2024.
pub fn topology() -> Arc<Topology> {
    let mut tree: serde_json::Value =
        serde_json::from_str(include_str!("../../../../deploy/topology/xinhua.json")).unwrap();
    for station in tree["stations"].as_array_mut().unwrap() {
        if station["code"] == RETIRED {
            station["valid_until"] = serde_json::json!("2024-12-31");
        }
    }
    Arc::new(Topology::from_json(&tree.to_string()).unwrap())
}

/// A running inter-node server with the given credentials and router.
pub struct Server {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
}

impl Server {
    pub async fn spawn(creds: &NodeCredentials, app: Router) -> Server {
        let config = bangban_kit::tls::server_config(creds, Vec::new()).unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(serve_mtls(
            listener,
            config,
            code(DISTRICT),
            app,
            async move {
                let _ = stopped.await;
            },
        ));
        Server {
            addr,
            stop: Some(stop),
        }
    }

    pub fn url(&self) -> url::Url {
        url::Url::parse(&format!("https://127.0.0.1:{}/", self.addr.port())).unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The parent (a town) serving its villages with the kit's real routes.
pub struct Parent {
    pub store: CaseStore,
    pub server: Server,
    /// Requests that carried attachment bytes (`PUT /v1/attachments/…`), and their body bytes.
    pub pieces: Arc<AtomicUsize>,
    pub piece_bytes: Arc<AtomicUsize>,
    _blobs: tempfile::TempDir,
}

impl Parent {
    pub async fn start(ca: &Ca, db: Db, limits: AppendLimits) -> Parent {
        let policy = bangban_kit::policy::PolicyHandle::new(bangban_kit::policy::Policy {
            calendar: WorkingCalendar::clone(&calendar()),
            topology: Some(Topology::clone(&topology())),
            ..Default::default()
        });
        let blobs = tempfile::tempdir().unwrap();
        let store = CaseStore::new(db, policy.clone())
            .with_limits(limits)
            .with_attachments(Attachments::new(blobs.path(), DEFAULT_MAX_BYTES));
        let sync = Arc::new(SyncServer {
            store: store.clone(),
            me: code(TOWN),
            policy,
        });
        let health =
            bangban_kit::http::health_routes(Arc::new(bangban_kit::node::StoreReadiness {
                store: store.clone(),
            }));
        let pieces = Arc::new(AtomicUsize::new(0));
        let piece_bytes = Arc::new(AtomicUsize::new(0));
        let counted = {
            let (pieces, piece_bytes) = (pieces.clone(), piece_bytes.clone());
            axum::middleware::from_fn(
                move |req: axum::extract::Request, next: axum::middleware::Next| {
                    let (pieces, piece_bytes) = (pieces.clone(), piece_bytes.clone());
                    async move {
                        if req.method() == axum::http::Method::PUT {
                            pieces.fetch_add(1, Ordering::SeqCst);
                            let len = req
                                .headers()
                                .get("content-length")
                                .and_then(|v| v.to_str().ok()?.parse::<usize>().ok())
                                .unwrap_or(0);
                            piece_bytes.fetch_add(len, Ordering::SeqCst);
                        }
                        next.run(req).await
                    }
                },
            )
        };
        let server = Server::spawn(&creds(ca, TOWN, ca), routes(sync, health).layer(counted)).await;
        Parent {
            store,
            server,
            pieces,
            piece_bytes,
            _blobs: blobs,
        }
    }
}

/// The child (a village): its own SQLite store queuing for the town, and its client.
pub struct Child {
    pub store: CaseStore,
    pub client: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl Child {
    pub async fn new(ca: &Ca, limits: AppendLimits) -> Child {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::databases::open_sqlite(&dir.path().join("village.sqlite")).await;
        let store = CaseStore::new(db, calendar())
            .with_uplink(code(VILLAGE))
            .with_limits(limits)
            .with_attachments(Attachments::new(
                dir.path().join("attachments"),
                DEFAULT_MAX_BYTES,
            ));
        let client = https_client(&creds(ca, VILLAGE, ca), Vec::new(), code(TOWN)).unwrap();
        Child {
            store,
            client,
            _dir: dir,
        }
    }
}

/// Limits whose clock tolerance is `secs`.
pub fn tolerance(secs: i64) -> AppendLimits {
    AppendLimits {
        future_tolerance: time::Duration::seconds(secs),
        ..AppendLimits::default()
    }
}

pub use crate::store_support::CaseBuilder;

/// A case taken in at the village an hour ago (so that "120 minutes later" lies in the future).
pub fn new_case(seq: u32) -> CaseBuilder {
    let mut case = CaseBuilder::at_station(VILLAGE, seq);
    case.at = now() - time::Duration::hours(1);
    case
}

/// The steps of a link's case, on the store tests' builder.
pub trait LinkCase {
    /// Taken in, reviewed, delegated and escalated to the town.
    fn escalated(&self) -> Vec<Event>;
    /// Accepted at the town.
    fn accepted(&self, minutes: i64) -> Event;
}

impl LinkCase for CaseBuilder {
    fn escalated(&self) -> Vec<Event> {
        vec![
            self.application(),
            self.complete_review(VILLAGE, 1),
            self.delegation(VILLAGE, 2),
            self.escalate(VILLAGE, 3, Tier::Town),
        ]
    }

    fn accepted(&self, minutes: i64) -> Event {
        self.simple(TOWN, minutes, EventKind::AcceptedUpstream)
    }
}

/// Appends `events` as local events of `store`.
pub async fn append_all(store: &CaseStore, events: &[Event]) {
    for ev in events {
        store.append(ev, now()).await.unwrap();
    }
}

/// A router that counts every request it gets and answers 200 `{}` to each.
pub fn counting_router(hits: Arc<AtomicUsize>) -> Router {
    Router::new().fallback(move || {
        let hits = hits.clone();
        async move {
            hits.fetch_add(1, Ordering::SeqCst);
            axum::Json(serde_json::json!({"stored": 0, "duplicates": 0, "events": [], "next": 0}))
        }
    })
}
