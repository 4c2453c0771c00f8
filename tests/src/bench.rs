//! What the in-process benchmarks (`bench-reconcile`, `bench-sync`) share: station codes, the
//! certificates `district-node ca issue` wrote, the district's real policy files, and a parent
//! serving the kit's real inter-node routes over mutual TLS on loopback.

use std::path::Path;
use std::sync::Arc;

use bangban_domain::station::StationCode;
use bangban_kit::policy::{Policy, PolicyHandle};
use bangban_kit::store::CaseStore;
use bangban_kit::sync::server::{SyncServer, routes};
use bangban_kit::tls::{NodeCredentials, serve_mtls, server_config};

use crate::workspace;

pub fn code(s: &str) -> StationCode {
    StationCode::parse(s).expect("station code")
}

/// The credentials `ca issue --out dir` wrote.
pub fn creds(dir: &Path) -> NodeCredentials {
    let read = |f: &str| std::fs::read(dir.join(f)).expect("certificate files");
    NodeCredentials::from_pem(&read("node.pem"), &read("node.key"), &read("ca.pem"))
        .expect("credentials")
}

/// The district's calendar and tree from `deploy/`.
pub fn policy() -> PolicyHandle {
    let ws = workspace();
    let read = |p: &str| std::fs::read_to_string(ws.join(p)).expect("policy file");
    PolicyHandle::new(Policy {
        calendar: bangban_domain::calendar::WorkingCalendar::from_json(&read(
            "deploy/policy/calendar.json",
        ))
        .expect("calendar"),
        topology: Some(
            bangban_domain::topology::Topology::from_json(&read("deploy/topology/xinhua.json"))
                .expect("topology"),
        ),
        ..Default::default()
    })
}

/// Node `me` serving its children from `store` with the certificate in `tls`, until the
/// returned sender is dropped or used.
pub async fn serve(
    store: CaseStore,
    me: &str,
    tls: &Path,
) -> (url::Url, tokio::sync::oneshot::Sender<()>) {
    let sync = Arc::new(SyncServer {
        store,
        me: code(me),
        policy: policy(),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("loopback port");
    let port = listener.local_addr().expect("bound address").port();
    let url = url::Url::parse(&format!("https://127.0.0.1:{port}/")).expect("url");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(serve_mtls(
        listener,
        server_config(&creds(tls), Vec::new()).expect("server config"),
        code("410402000000"),
        routes(sync, axum::Router::new()),
        async move {
            let _ = stopped.await;
        },
    ));
    (url, stop)
}
