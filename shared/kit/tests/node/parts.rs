//! `node::run` with parts a node crate adds, on real listeners: plain HTTP for the UI, mutual
//! TLS on loopback for the inter-node listener, with certificates made here.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use bangban_domain::calendar::WorkingCalendar;
use bangban_domain::topology::Topology;
use bangban_kit::access::Access;
use bangban_kit::auth::AuthStore;
use bangban_kit::http::Check;
use bangban_kit::node::{NodeRuntime, Parts, Stop, run};
use bangban_kit::policy::{Policy, PolicyHandle};
use bangban_kit::serve::{ListenerLimits, NodeLimits};
use bangban_kit::store::CaseStore;
use bangban_kit::tls::{Peer, https_client};
use district_node::ca::Ca;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::databases::{SqliteGuard, sqlite_db};
use crate::tls_support::{TOWN, VILLAGE, code, creds, district_ca};

/// A village of another town: a valid certificate of the district, not a child of [`TOWN`].
const OTHER_TOWN_VILLAGE: &str = "410402002001";

fn policy() -> PolicyHandle {
    PolicyHandle::new(Policy {
        calendar: WorkingCalendar::from_json(include_str!(
            "../../../../deploy/policy/calendar.json"
        ))
        .unwrap(),
        topology: Some(
            Topology::from_json(include_str!("../../../../deploy/topology/xinhua.json")).unwrap(),
        ),
        ..Default::default()
    })
}

/// A town's runtime with the given parts, serving its villages on `internode`.
async fn town(ca: &Ca, parts: Parts, internode: TcpListener) -> (NodeRuntime, SqliteGuard) {
    let (db, guard) = sqlite_db().await;
    let policy = policy();
    let rt = NodeRuntime {
        me: code(TOWN),
        name: "曙光街街道便民服务中心".into(),
        store: CaseStore::new(db.clone(), policy.clone()),
        auth: AuthStore::new(db),
        policy,
        reload: None,
        credentials: Some(creds(ca, TOWN, ca)),
        internode: Some(internode),
        parts,
        body_limit_bytes: 64 * 1024,
        limits: NodeLimits::default(),
        ui_tls: bangban_kit::https::UiTls::Off,
        jobs: bangban_kit::jobs::Jobs::new(),
    };
    (rt, guard)
}

async fn bind() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    (listener, format!("127.0.0.1:{port}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_runs_the_parts_its_crate_adds_and_stops_them_on_shutdown() {
    let ca = district_ca();
    let ticks = Arc::new(AtomicUsize::new(0));
    let task_saw_stop = Arc::new(AtomicBool::new(false));
    let (extra, extra_addr) = bind().await;
    let parts = Parts::new()
        .ui_routes(
            Router::new()
                .route("/parts/probe", get(|| async { "ui part" }))
                .route("/parts/unruled", get(|| async { "never served" })),
            [Access::public_get("/parts/probe")],
        )
        .internode_routes(Router::new().route(
            "/v1/probe",
            get(|Peer(peer): Peer| async move { format!("hello {}", peer.station) }),
        ))
        .listener(
            "extra listener",
            extra,
            Router::new().route("/hello", get(|| async { "extra" })),
            ListenerLimits::ui(),
        )
        .task("ticker", {
            let (ticks, saw) = (ticks.clone(), task_saw_stop.clone());
            move |stop: Stop| async move {
                loop {
                    tokio::select! {
                        () = stop.clone().stopped() => break,
                        () = tokio::time::sleep(Duration::from_millis(5)) => {
                            ticks.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                }
                saw.store(stop.is_stopped(), Ordering::SeqCst);
                Ok(())
            }
        })
        .readiness(|| async {
            vec![Check {
                name: "probe",
                ok: true,
                required: false,
                detail: "the part reports".into(),
            }]
        });
    let (internode, internode_addr) = bind().await;
    let (ui, ui_addr) = bind().await;
    let (rt, _guard) = town(&ca, parts, internode).await;
    let (stop, stopped) = oneshot::channel::<()>();
    let node = tokio::spawn(run(rt, ui, async move {
        let _ = stopped.await;
    }));

    let http = reqwest::Client::new();
    let text = |url: String| {
        let http = http.clone();
        async move {
            let res = http.get(url).send().await.unwrap();
            (res.status().as_u16(), res.text().await.unwrap())
        }
    };
    assert_eq!(
        text(format!("http://{ui_addr}/parts/probe")).await,
        (200, "ui part".into())
    );
    // A route whose part names no access rule is refused to everybody.
    assert_eq!(text(format!("http://{ui_addr}/parts/unruled")).await.0, 403);
    // The kit's own routes are still there, and unknown ones get the problem document.
    assert_eq!(text(format!("http://{ui_addr}/healthz")).await.0, 200);
    let (status, body) = text(format!("http://{ui_addr}/nowhere")).await;
    assert_eq!(status, 404);
    assert!(body.contains("route.not_found"), "{body}");
    let (status, body) = text(format!("http://{ui_addr}/readyz")).await;
    assert_eq!(status, 200, "{body}");
    let ready: serde_json::Value = serde_json::from_str(&body).unwrap();
    let probe = ready["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "probe")
        .unwrap_or_else(|| panic!("no probe line: {body}"));
    assert_eq!(probe["detail"], "the part reports");
    assert_eq!(
        text(format!("http://{extra_addr}/hello")).await,
        (200, "extra".into())
    );

    // The inter-node part answers a direct child, by its certificate, and nobody else.
    let village = https_client(&creds(&ca, VILLAGE, &ca), Vec::new(), code(TOWN)).unwrap();
    let res = village
        .get(format!("https://{internode_addr}/v1/probe"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.text().await.unwrap(), format!("hello {VILLAGE}"));
    let stranger =
        https_client(&creds(&ca, OTHER_TOWN_VILLAGE, &ca), Vec::new(), code(TOWN)).unwrap();
    let res = stranger
        .get(format!("https://{internode_addr}/v1/probe"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403, "only direct children reach a part");

    assert!(ticks.load(Ordering::SeqCst) > 0, "the task runs");
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), node)
        .await
        .expect("every part stops on shutdown")
        .unwrap()
        .unwrap();
    assert!(task_saw_stop.load(Ordering::SeqCst));
    let after = ticks.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(30)).await;
    assert_eq!(ticks.load(Ordering::SeqCst), after, "the task is gone");
    assert!(
        reqwest::get(format!("http://{extra_addr}/hello"))
            .await
            .is_err(),
        "the extra listener is closed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_task_stops_the_node_and_is_named() {
    let ca = district_ca();
    let parts = Parts::new().task("breaks at once", |_stop| async {
        anyhow::bail!("the disk is gone")
    });
    let (internode, _) = bind().await;
    let (ui, ui_addr) = bind().await;
    let (rt, _guard) = town(&ca, parts, internode).await;
    // No shutdown is ever asked for: the failure alone must end the node.
    let err = tokio::time::timeout(Duration::from_secs(10), run(rt, ui, std::future::pending()))
        .await
        .expect("the node stops by itself")
        .unwrap_err();
    let message = format!("{err:#}");
    assert!(message.contains("task breaks at once"), "{message}");
    assert!(message.contains("the disk is gone"), "{message}");
    assert!(
        reqwest::get(format!("http://{ui_addr}/healthz"))
            .await
            .is_err(),
        "the UI listener stopped with it"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_parts_with_one_name_are_refused_before_anything_listens() {
    let ca = district_ca();
    let noop = |stop: Stop| async move {
        stop.stopped().await;
        Ok(())
    };
    let parts = Parts::new()
        .task("twin", noop)
        .merge(Parts::new().task("twin", noop));
    let (internode, _) = bind().await;
    let (ui, _) = bind().await;
    let (rt, _guard) = town(&ca, parts, internode).await;
    let err = run(rt, ui, std::future::pending()).await.unwrap_err();
    assert!(err.to_string().contains("twin"), "{err}");
}
