//! Signed policy bundles travel down a real tree of node processes over real mutual TLS: the
//! district records a bundle (`policy publish --record`), its towns pull and relay it verbatim,
//! its villages verify it against their pinned keys and put it in force with their own agents.
//! A test parent (a real mTLS server holding the town's certificate) offers a village tampered,
//! older, expired and misaddressed bundles, which it refuses while keeping the one in force.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bangban_domain::attachment::MediaType;
use bangban_domain::calendar::WorkingCalendar;
use bangban_domain::catalogue::{Catalogue, FileRef};
use bangban_domain::station::StationCode;
use bangban_domain::topology::Topology;
use bangban_kit::attachments::blobs::BlobStore;
use bangban_kit::policy::bundle::{BundlePayload, SigningKey};
use bangban_kit::policy::roster::{RosterEntry, RosterPayload, RosterSet};
use bangban_tests::tree::{DISTRICT, DistrictDb, TOWN, Tree, VILLAGE};
use bangban_tests::{Kind, Node, free_port, run, workspace};
use serde_json::{Value, json};
use time::OffsetDateTime;

const ITEM: &str = "410402-SCJG-001";

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// A policy key pair made with the real `policy keygen`; returns (key file, public key).
fn keygen(dir: &Path) -> (PathBuf, String) {
    run(
        "district-node",
        &["policy", "keygen", "--dir", &dir.display().to_string()],
    );
    let public = std::fs::read_to_string(dir.join("policy.pub")).unwrap();
    (dir.join("policy.key"), public.trim().to_owned())
}

fn pins(keys: &[&str]) -> String {
    let quoted: Vec<String> = keys.iter().map(|k| format!("\"{k}\"")).collect();
    format!("pinned_keys = [{}]\npull_secs = 1\n", quoted.join(", "))
}

/// The shipped catalogue with the first item renamed to `name`, written into `dir`.
fn catalogue_named(dir: &Path, name: &str) -> PathBuf {
    let mut v: Value = serde_json::from_str(
        &std::fs::read_to_string(workspace().join("deploy/policy/catalogue.json")).unwrap(),
    )
    .unwrap();
    let item = v["items"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|i| i["code"] == ITEM)
        .unwrap();
    item["name"] = json!(name);
    let path = dir.join(format!("catalogue-{}.json", name.len()));
    std::fs::write(&path, v.to_string()).unwrap();
    path
}

/// A resident ID with a valid check digit (GB 11643), the `n`th of a made-up series.
fn resident_id(n: u32) -> String {
    let body = format!("11010519800101{n:03}");
    let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = body
        .chars()
        .zip(weights)
        .map(|(c, w)| c.to_digit(10).unwrap() * w)
        .sum();
    let check = b"10X98765432"[(sum % 11) as usize] as char;
    format!("{body}{check}")
}

/// A registry of agents: `(centre, how many)`.
fn agents_file(dir: &Path, centres: &[(&str, u32)]) -> PathBuf {
    let mut agents = Vec::new();
    let mut n = 0;
    for (centre, count) in centres {
        for _ in 0..*count {
            n += 1;
            agents.push(json!({
                "name": format!("代办员{n}"),
                "id_number": resident_id(n),
                "phone": "13812345678",
                "centre": centre,
                "role": "assisting_agent",
                "badge_no": format!("BD-{n:03}"),
                "filed_on": "2026-03-01",
                "status": "active",
            }));
        }
    }
    let path = dir.join("agents.json");
    std::fs::write(&path, Value::Array(agents).to_string()).unwrap();
    path
}

/// Publishes bundle `number` with the real CLI and records it in the district's database.
fn publish(tree: &Tree, key: &Path, number: u64, catalogue: &Path, agents: Option<&Path>) {
    let ws = workspace();
    let config = tree.nodes[DISTRICT].node.config.display().to_string();
    let mut args = vec![
        "--config".to_owned(),
        config,
        "policy".to_owned(),
        "publish".to_owned(),
        "--key".to_owned(),
        key.display().to_string(),
        "--number".to_owned(),
        number.to_string(),
        "--expires-days".to_owned(),
        "30".to_owned(),
        "--topology".to_owned(),
        ws.join("deploy/topology/xinhua.json").display().to_string(),
        "--catalogue".to_owned(),
        catalogue.display().to_string(),
        "--calendar".to_owned(),
        ws.join("deploy/policy/calendar.json").display().to_string(),
        "--record".to_owned(),
        "--summary".to_owned(),
        format!("bundle {number}"),
    ];
    if let Some(a) = agents {
        args.push("--agents".to_owned());
        args.push(a.display().to_string());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run("district-node", &args);
    assert!(out.contains("recorded"), "{out}");
}

async fn readyz(ui: &str) -> Value {
    reqwest::get(format!("{ui}/readyz"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// The `policy` line of `ui`'s `/readyz`.
async fn policy_line(ui: &str) -> Value {
    let ready = readyz(ui).await;
    ready["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "policy")
        .cloned()
        .unwrap_or_else(|| panic!("no policy line: {ready}"))
}

/// Waits until the policy line of `ui` satisfies `pred`; returns it.
async fn wait_policy(node: &Node, timeout: Duration, pred: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + timeout;
    loop {
        let line = policy_line(&node.ui_url).await;
        let detail = line["detail"].as_str().unwrap().to_owned();
        if pred(&detail) {
            return detail;
        }
        assert!(
            Instant::now() < deadline,
            "policy line stuck at {detail:?}\nlog:\n{}",
            node.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The name of the catalogue item `ITEM` as `code`'s operators see it.
async fn item_name(tree: &mut Tree, code: &str) -> String {
    let (status, body) = tree.api(code, "GET", "/api/v1/items", None).await;
    assert_eq!(status, 200, "{body}");
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["code"] == ITEM)
        .map(|i| i["name"].as_str().unwrap().to_owned())
        .unwrap()
}

/// The stations whose rosters a node keeps (its own and, for a town, those it relays).
fn kept_rosters(node: &Node) -> Vec<String> {
    let text = std::fs::read_to_string(node.dir.join("policy-rosters.json")).unwrap();
    let set: RosterSet = serde_json::from_str(&text).unwrap();
    set.rosters.iter().map(|r| r.station.to_string()).collect()
}

fn write_config(node: &Node, from: &str, to: &str) {
    let text = std::fs::read_to_string(&node.config).unwrap();
    assert!(text.contains(from));
    std::fs::write(&node.config, text.replace(from, to)).unwrap();
}

async fn restart(node: &mut Node) {
    node.stop();
    node.spawn();
    node.wait_ready(Duration::from_secs(30)).await;
}

// ---------------------------------------------------------------------------------------------
// Through the real tree
// ---------------------------------------------------------------------------------------------

async fn publish_reaches_the_village(district_db: DistrictDb) {
    let root = tempfile::tempdir().unwrap();
    let (key, public) = keygen(&root.path().join("key"));
    let mut tree = Tree::start_with(
        root.path(),
        &[DISTRICT, TOWN, VILLAGE],
        district_db,
        &pins(&[&public]),
    )
    .await;
    let before = item_name(&mut tree, VILLAGE).await;
    assert!(
        policy_line(&tree.nodes[VILLAGE].node.ui_url).await["detail"]
            .as_str()
            .unwrap()
            .contains("no bundle yet")
    );

    let catalogue = catalogue_named(root.path(), "个体工商户登记（政策包 1）");
    let agents = agents_file(root.path(), &[(TOWN, 2), (VILLAGE, 3), ("410402001002", 2)]);
    publish(&tree, &key, 1, &catalogue, Some(&agents));

    // The district puts it in force on itself; the village gets it through its town.
    wait_policy(&tree.nodes[DISTRICT].node, Duration::from_secs(15), |d| {
        d.contains("bundle 1 in force")
    })
    .await;
    let village = wait_policy(&tree.nodes[VILLAGE].node, Duration::from_secs(15), |d| {
        d.contains("bundle 1 in force")
    })
    .await;
    assert!(village.contains("3 agent(s) of this centre"), "{village}");
    let town = wait_policy(&tree.nodes[TOWN].node, Duration::from_secs(5), |d| {
        d.contains("bundle 1 in force")
    })
    .await;
    assert!(town.contains("2 agent(s) of this centre"), "{town}");
    let after = item_name(&mut tree, VILLAGE).await;
    assert_ne!(before, after);
    assert_eq!(after, "个体工商户登记（政策包 1）");
    // The town keeps its own roster and relays its village's; the village keeps only its own.
    // (Every village of the town has a roster, empty when it has no agents.)
    let town_rosters = kept_rosters(&tree.nodes[TOWN].node);
    assert!(town_rosters.contains(&TOWN.to_owned()), "{town_rosters:?}");
    assert!(
        town_rosters.contains(&VILLAGE.to_owned()),
        "{town_rosters:?}"
    );
    assert!(
        town_rosters.contains(&"410402001002".to_owned()),
        "{town_rosters:?}"
    );
    assert!(
        town_rosters
            .iter()
            .all(|s| s == TOWN || s.starts_with("410402001")),
        "only the town's subtree: {town_rosters:?}"
    );
    assert!(town_rosters.len() > 3, "{town_rosters:?}");
    assert_eq!(
        kept_rosters(&tree.nodes[VILLAGE].node),
        vec![VILLAGE.to_owned()]
    );
    // The village holds the town's relayed bytes, identical to the district's record.
    let kept = std::fs::read(tree.nodes[VILLAGE].node.dir.join("policy-bundle.json")).unwrap();
    let relayed = std::fs::read(tree.nodes[TOWN].node.dir.join("policy-bundle.json")).unwrap();
    assert_eq!(kept, relayed);

    let metrics = tree.metrics(VILLAGE).await;
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("bangban_policy_bundle_number{") && l.ends_with(" 1")),
        "{metrics}"
    );

    // A bundle of the same number is never taken again: the inter-node answer is 304.
    let client = tree.peer_client(TOWN, DISTRICT);
    let api = tree.nodes[DISTRICT].api.clone().unwrap();
    let res = client
        .get(format!("{api}/v1/policy/bundle"))
        .header("If-None-Match", "\"1\"")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 304);

    // SIGHUP does not replace a bundle by the policy files.
    let pid = tree.nodes[VILLAGE].node.pid().unwrap();
    let status = std::process::Command::new("kill")
        .args(["-HUP", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        item_name(&mut tree, VILLAGE).await,
        "个体工商户登记（政策包 1）"
    );
    assert!(tree.nodes[VILLAGE].node.log().contains("SIGHUP ignored"));

    // Offline: the town stops, the village restarts on its last good bundle and roster.
    tree.node(TOWN).node.stop();
    restart(&mut tree.node(VILLAGE).node).await;
    let line = policy_line(&tree.nodes[VILLAGE].node.ui_url).await;
    let detail = line["detail"].as_str().unwrap();
    assert!(detail.contains("bundle 1 in force"), "{detail}");
    assert!(detail.contains("3 agent(s) of this centre"), "{detail}");
    assert_eq!(
        item_name(&mut tree, VILLAGE).await,
        "个体工商户登记（政策包 1）"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishing_at_the_district_reaches_a_village_through_its_town_with_its_own_agents_only() {
    publish_reaches_the_village(DistrictDb::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishing_reaches_a_village_with_the_district_on_postgresql() {
    publish_reaches_the_village(DistrictDb::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_rotation_with_two_pinned_keys_keeps_a_bundle_in_force_throughout() {
    let root = tempfile::tempdir().unwrap();
    let (key_a, public_a) = keygen(&root.path().join("a"));
    let (key_b, public_b) = keygen(&root.path().join("b"));
    let mut tree = Tree::start_with(
        root.path(),
        &[DISTRICT, TOWN, VILLAGE],
        DistrictDb::Sqlite,
        &pins(&[&public_a]),
    )
    .await;
    let catalogue = catalogue_named(root.path(), "个体工商户登记（轮换）");
    publish(&tree, &key_a, 1, &catalogue, None);
    wait_policy(&tree.nodes[VILLAGE].node, Duration::from_secs(15), |d| {
        d.contains("bundle 1 in force")
    })
    .await;

    // Pin A and B, node by node: each comes back on bundle 1 at once.
    let only_a = format!("pinned_keys = [\"{public_a}\"]");
    let both = format!("pinned_keys = [\"{public_a}\", \"{public_b}\"]");
    for code in [DISTRICT, TOWN, VILLAGE] {
        write_config(&tree.nodes[code].node, &only_a, &both);
        restart(&mut tree.node(code).node).await;
        let detail = policy_line(&tree.nodes[code].node.ui_url).await["detail"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(detail.contains("bundle 1 in force"), "{code}: {detail}");
    }
    publish(&tree, &key_b, 2, &catalogue, None);
    wait_policy(&tree.nodes[VILLAGE].node, Duration::from_secs(15), |d| {
        d.contains("bundle 2 in force")
    })
    .await;

    // Then B only: bundle 2 (signed with B) stays in force; A no longer signs anything.
    let only_b = format!("pinned_keys = [\"{public_b}\"]");
    for code in [DISTRICT, TOWN, VILLAGE] {
        write_config(&tree.nodes[code].node, &both, &only_b);
        restart(&mut tree.node(code).node).await;
        let detail = policy_line(&tree.nodes[code].node.ui_url).await["detail"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(detail.contains("bundle 2 in force"), "{code}: {detail}");
    }
    // Recorded with key A (the CLI checks it against A only): the town refuses it.
    publish(&tree, &key_a, 3, &catalogue, None);
    let town = wait_policy(&tree.nodes[TOWN].node, Duration::from_secs(15), |d| {
        d.contains("last refusal")
    })
    .await;
    assert!(town.contains("bundle 2 in force"), "{town}");
    assert!(town.contains("policy_bundle.unknown_key"), "{town}");
}

// ---------------------------------------------------------------------------------------------
// A test parent offering bad bundles
// ---------------------------------------------------------------------------------------------

/// What the test parent serves: a bundle envelope and the roster set.
#[derive(Default)]
struct Offer {
    bundle: Option<(u64, Vec<u8>)>,
    rosters: Option<RosterSet>,
    /// The catalogue's files, by hash, whatever their bytes.
    files: std::collections::HashMap<String, Vec<u8>>,
}

type Shared = Arc<Mutex<Offer>>;

/// Serves the bundle routes over mutual TLS with the town's certificate, as a town would.
async fn test_parent(tls_dir: &Path, offer: Shared) -> (u16, tokio::sync::oneshot::Sender<()>) {
    use axum::http::{StatusCode, header};
    use axum::response::IntoResponse;
    bangban_kit::tls::install_crypto_provider();
    let creds = bangban_kit::tls::NodeCredentials::load(
        &tls_dir.join("node.pem"),
        &tls_dir.join("node.key"),
        &tls_dir.join("ca.pem"),
    )
    .unwrap();
    let config = bangban_kit::tls::server_config(&creds, Vec::new()).unwrap();
    let bundle_offer = offer.clone();
    let files_offer = offer.clone();
    let app = axum::Router::new()
        .route(
            "/v1/policy/files/{sha256}",
            axum::routing::get(
                move |axum::extract::Path(hash): axum::extract::Path<String>| {
                    let offer = files_offer.clone();
                    async move {
                        match offer.lock().unwrap().files.get(&hash).cloned() {
                            Some(bytes) => bytes.into_response(),
                            None => StatusCode::NOT_FOUND.into_response(),
                        }
                    }
                },
            ),
        )
        .route(
            "/v1/policy/bundle",
            axum::routing::get(move || {
                let offer = bundle_offer.clone();
                async move {
                    match offer.lock().unwrap().bundle.clone() {
                        Some((n, bytes)) => {
                            ([(header::ETAG, format!("\"{n}\""))], bytes).into_response()
                        }
                        None => StatusCode::NOT_FOUND.into_response(),
                    }
                }
            }),
        )
        .route(
            "/v1/policy/rosters",
            axum::routing::get(move || {
                let offer = offer.clone();
                async move {
                    match offer.lock().unwrap().rosters.clone() {
                        Some(set) => axum::Json(set).into_response(),
                        None => StatusCode::NOT_FOUND.into_response(),
                    }
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let district = StationCode::parse(DISTRICT).unwrap();
    tokio::spawn(bangban_kit::tls::serve_mtls_with(
        listener,
        config,
        district,
        app,
        bangban_kit::serve::ListenerLimits::default(),
        async move {
            let _ = rx.await;
        },
    ));
    (port, tx)
}

fn policy(catalogue_name: &str) -> (Topology, Catalogue, WorkingCalendar) {
    let ws = workspace();
    let read = |p: &str| std::fs::read_to_string(ws.join(p)).unwrap();
    let mut cat: Value = serde_json::from_str(&read("deploy/policy/catalogue.json")).unwrap();
    for item in cat["items"].as_array_mut().unwrap() {
        if item["code"] == ITEM {
            item["name"] = json!(catalogue_name);
        }
    }
    (
        Topology::from_json(&read("deploy/topology/xinhua.json")).unwrap(),
        Catalogue::from_json(&cat.to_string()).unwrap(),
        WorkingCalendar::from_json(&read("deploy/policy/calendar.json")).unwrap(),
    )
}

/// Bundle `number` signed by `key`, issued at `issued`, valid `days`; with a roster for
/// `roster_for` (claiming to be `claimed`'s) of no agents.
fn signed(
    key: &SigningKey,
    number: u64,
    issued: OffsetDateTime,
    days: i64,
    name: &str,
    claimed: &str,
) -> (Vec<u8>, RosterSet) {
    signed_catalogue(key, number, issued, days, policy(name).1, claimed)
}

/// Bundle `number` as [`signed`], with `catalogue`.
fn signed_catalogue(
    key: &SigningKey,
    number: u64,
    issued: OffsetDateTime,
    days: i64,
    catalogue: Catalogue,
    claimed: &str,
) -> (Vec<u8>, RosterSet) {
    let (topology, _, calendar) = policy("政策包");
    let payload = BundlePayload {
        district: topology.district(),
        number,
        issued_at: issued,
        expires_at: issued + time::Duration::days(days),
        topology,
        catalogue,
        calendar,
    };
    let envelope = key.sign_envelope(&payload.to_bytes().unwrap());
    let roster = RosterPayload {
        district: payload.district,
        station: StationCode::parse(claimed).unwrap(),
        number,
        issued_at: payload.issued_at,
        expires_at: payload.expires_at,
        agents: Vec::new(),
    }
    .sign(key)
    .unwrap();
    let set = RosterSet {
        number,
        rosters: vec![RosterEntry::new(
            StationCode::parse(VILLAGE).unwrap(),
            &roster,
        )],
    };
    (envelope, set)
}

/// A village whose parent is a [`test_parent`] with the town's certificate, pinning the key
/// returned; the parent's offer and its stop switch.
async fn village_under_test_parent(
    root: &Path,
) -> (Node, SigningKey, Shared, tokio::sync::oneshot::Sender<()>) {
    let ca = root.join("ca");
    bangban_tests::ca_init(&ca);
    let town_tls = root.join("town-tls");
    bangban_tests::ca_issue(&ca, TOWN, &town_tls, &["--host", "127.0.0.1"]);
    let dir = root.join("village");
    bangban_tests::ca_issue(&ca, VILLAGE, &dir.join("tls"), &[]);
    let key = SigningKey::generate().unwrap();
    let offer: Shared = Arc::default();
    let (parent_port, stop) = test_parent(&town_tls, offer.clone()).await;

    let ws = workspace();
    let ui = free_port();
    let config = format!(
        "[node]\ncode = \"{VILLAGE}\"\nname = \"第1社区\"\n[http]\nlisten = \"127.0.0.1:{ui}\"\n\
         [database]\npath = \"node.sqlite\"\n[parent]\nurl = \"https://127.0.0.1:{parent_port}\"\n\
         [tls]\ncert = \"tls/node.pem\"\nkey = \"tls/node.key\"\nca = \"tls/ca.pem\"\n\
         [jobs]\nrefresh_gauges = \"* * * * * *\"\n\
         [policy]\ncalendar = \"{}\"\ntopology = \"{}\"\ncatalogue = \"{}\"\n{}",
        ws.join("deploy/policy/calendar.json").display(),
        ws.join("deploy/topology/xinhua.json").display(),
        ws.join("deploy/policy/catalogue.json").display(),
        pins(&[&key.public_key().to_base64()]),
    );
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("node.toml"), &config).unwrap();
    bangban_tests::add_operator("station-node", &dir.join("node.toml"));
    let mut village = Node::start(Kind::Station, &dir, ui, &config);
    village.wait_ready(Duration::from_secs(30)).await;
    (village, key, offer, stop)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_village_refuses_tampered_older_expired_and_misaddressed_bundles_and_keeps_its_own() {
    let root = tempfile::tempdir().unwrap();
    let (village, key, offer, _stop) = village_under_test_parent(root.path()).await;

    let now = OffsetDateTime::now_utc();
    let set = |bundle: (Vec<u8>, RosterSet), n: u64| {
        let mut o = offer.lock().unwrap();
        o.bundle = Some((n, bundle.0));
        o.rosters = Some(bundle.1);
    };
    // A good bundle 2 goes in force.
    set(signed(&key, 2, now, 30, "政策包 2", VILLAGE), 2);
    wait_policy(&village, Duration::from_secs(15), |d| {
        d.contains("bundle 2 in force")
    })
    .await;

    // Bundle 3 with one byte of its payload changed.
    let (mut tampered, rosters) = signed(&key, 3, now, 30, "政策包 3", VILLAGE);
    let text = String::from_utf8(tampered.clone()).unwrap();
    let at = text.find("\"payload\":\"").unwrap() + 20;
    tampered[at] = if tampered[at] == b'A' { b'B' } else { b'A' };
    set((tampered, rosters), 3);
    let detail = wait_policy(&village, Duration::from_secs(15), |d| {
        d.contains("last refusal")
    })
    .await;
    assert!(detail.contains("bundle 2 in force"), "{detail}");
    assert!(
        detail.contains("policy_bundle.bad_signature") || detail.contains("policy_bundle.payload"),
        "{detail}"
    );

    // An older bundle, properly signed, replayed.
    set(signed(&key, 1, now, 30, "政策包 1", VILLAGE), 1);
    let detail = wait_policy(&village, Duration::from_secs(15), |d| {
        d.contains("policy_bundle.not_newer")
    })
    .await;
    assert!(detail.contains("bundle 2 in force"), "{detail}");

    // An expired bundle.
    set(
        signed(
            &key,
            4,
            now - time::Duration::days(40),
            30,
            "政策包 4",
            VILLAGE,
        ),
        4,
    );
    let detail = wait_policy(&village, Duration::from_secs(15), |d| {
        d.contains("policy_bundle.expired")
    })
    .await;
    assert!(detail.contains("bundle 2 in force"), "{detail}");

    // A good bundle whose roster (under this village's code) is another station's.
    set(signed(&key, 5, now, 30, "政策包 5", "410402001002"), 5);
    let detail = wait_policy(&village, Duration::from_secs(15), |d| {
        d.contains("policy_bundle.roster_station")
    })
    .await;
    assert!(detail.contains("bundle 2 in force"), "{detail}");

    // Signed by a key that is not pinned.
    let stranger = SigningKey::generate().unwrap();
    set(signed(&stranger, 6, now, 30, "政策包 6", VILLAGE), 6);
    let detail = wait_policy(&village, Duration::from_secs(15), |d| {
        d.contains("policy_bundle.unknown_key")
    })
    .await;
    assert!(detail.contains("bundle 2 in force"), "{detail}");

    let http = reqwest::Client::new();
    let metrics = http
        .get(format!("{}/metrics", village.ui_url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for reason in ["not_newer", "expired", "roster_station", "unknown_key"] {
        assert!(
            metrics
                .lines()
                .any(|l| l.starts_with("bangban_policy_refusals_total{")
                    && l.contains(&format!("reason=\"policy_bundle.{reason}\""))),
            "{reason}: {metrics}"
        );
    }
    assert!(village.log().contains("policy bundle refused"));
    // The start page names the refusal, in Chinese by default.
    let page = start_page(&village.ui_url).await;
    assert!(page.contains("id=\"policy-refused\""), "{page}");
    assert!(page.contains("区政策包被拒收"), "{page}");
    assert!(page.contains("不是由已配置的区政策密钥签名的"), "{page}");

    // A good, newer bundle is taken again and the refusal is over.
    set(signed(&key, 7, now, 30, "政策包 7", VILLAGE), 7);
    let detail = wait_policy(&village, Duration::from_secs(15), |d| {
        d.contains("bundle 7 in force")
    })
    .await;
    assert!(!detail.contains("last refusal"), "{detail}");
    assert!(!start_page(&village.ui_url).await.contains("policy-refused"));
}

/// A browser signed in through the login form at `ui`: its client and session cookie.
async fn ui_session(ui: &str) -> (reqwest::Client, String) {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let res = http
        .post(format!("{ui}/login"))
        .header("sec-fetch-site", "same-origin")
        .form(&[
            ("username", "operator"),
            ("password", bangban_tests::PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303, "login at {ui}");
    let cookie = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|v| v.starts_with("bangban_session="))
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    (http, cookie)
}

/// The start page as the operator sees it after logging in through the login form.
async fn start_page(ui: &str) -> String {
    let (http, cookie) = ui_session(ui).await;
    let res = http
        .get(format!("{ui}/start"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.text().await.unwrap()
}

mod files;
mod screen;
