//! The cross-tier slice end to end, with real node processes and real mutual TLS on loopback:
//! a case goes village → town → district and its result comes back down; a town killed with
//! SIGKILL in the middle of a burst loses and duplicates nothing; the inter-node API refuses
//! whoever is not a direct child, and bad input changes nothing.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::time::Duration;

use bangban_tests::tree::{DISTRICT, DistrictDb, SIBLING, TOWN, Tree, VILLAGE};
use serde_json::{Value, json};

const SYNC: Duration = Duration::from_secs(20);

fn event_ids(case: &Value) -> Vec<String> {
    case["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event_id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_trip_village_town_district_town_village() {
    round_trip(DistrictDb::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_trip_with_the_district_on_postgres() {
    round_trip(DistrictDb::Postgres).await;
}

async fn round_trip(district_db: DistrictDb) {
    let root = tempfile::tempdir().unwrap();
    let mut tree = Tree::start_on(root.path(), &[DISTRICT, TOWN, VILLAGE], district_db).await;

    let id = tree.escalated_case(VILLAGE).await;
    let at_village = tree
        .wait_case(VILLAGE, &id, SYNC, |c| c["holder"] == DISTRICT)
        .await;
    assert_eq!(at_village["stage"], "escalated");

    // The whole log reached the district through the town.
    let at_district = tree
        .wait_case(DISTRICT, &id, SYNC, |c| c["stage"] == "escalated")
        .await;
    assert_eq!(event_ids(&at_district), event_ids(&at_village));
    assert_eq!(at_district["origin"], VILLAGE);
    assert_eq!(at_district["held_here"], true);
    // Personal data stays masked in what the API shows.
    assert!(!at_district.to_string().contains("11010519491231002X"));
    tree.wait_case(TOWN, &id, SYNC, |c| c["holder"] == DISTRICT)
        .await;

    // The district handles it and returns the result to the origin village.
    tree.step(DISTRICT, &id, "accepted_upstream", json!({}))
        .await;
    tree.step(
        DISTRICT,
        &id,
        "result_ready",
        json!({"outcome": "approved", "certificate_no": "JY14104020001"}),
    )
    .await;
    tree.step(
        DISTRICT,
        &id,
        "returned_down",
        json!({"to": VILLAGE, "reason": "结果已出，请发起站点交付"}),
    )
    .await;

    let back = tree
        .wait_case(VILLAGE, &id, SYNC, |c| {
            c["holder"] == VILLAGE && c["stage"] == "result_ready"
        })
        .await;
    assert_eq!(back["held_here"], true);

    // The village can now hand the result over and complete the case.
    tree.step(
        VILLAGE,
        &id,
        "handed_over",
        json!({"method": {"method": "pickup"}, "received_by": "张三"}),
    )
    .await;
    let done = tree.step(VILLAGE, &id, "completed", json!({})).await;
    assert_eq!(done["stage"], "completed");

    // The completion travels up as well: every tier ends with the same log.
    let district = tree
        .wait_case(DISTRICT, &id, SYNC, |c| c["stage"] == "completed")
        .await;
    let town = tree
        .wait_case(TOWN, &id, SYNC, |c| c["stage"] == "completed")
        .await;
    assert_eq!(event_ids(&district), event_ids(&done));
    assert_eq!(event_ids(&town), event_ids(&done));

    // The town's metrics and readiness report its link to the district.
    let town_ui = tree.node(TOWN).ui.clone();
    let metrics = tree.metrics(TOWN).await;
    assert!(
        metrics.contains("bangban_parent_reachable{station=\"410402001000\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("stage=\"completed\"} 1"), "{metrics}");
    let ready: Value = reqwest::get(format!("{town_ui}/readyz"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let checks = ready["checks"].as_array().unwrap();
    assert!(
        checks
            .iter()
            .any(|c| c["name"] == "certificate" && c["ok"] == true)
    );
    assert!(
        checks
            .iter()
            .any(|c| c["name"] == "parent" && c["ok"] == true)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn town_killed_mid_burst_loses_and_duplicates_nothing() {
    town_killed_mid_burst(DistrictDb::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn town_killed_mid_burst_with_the_district_on_postgres() {
    town_killed_mid_burst(DistrictDb::Postgres).await;
}

async fn town_killed_mid_burst(district_db: DistrictDb) {
    let root = tempfile::tempdir().unwrap();
    let mut tree = Tree::start_on(root.path(), &[DISTRICT, TOWN, VILLAGE], district_db).await;

    let mut cases = Vec::new();
    for i in 0..24 {
        if i == 8 {
            // SIGKILL, as a power cut would: whatever was acknowledged must survive.
            tree.node(TOWN).node.kill();
        }
        if i == 12 {
            // The village keeps working offline and says why its link is down.
            let village_ui = tree.node(VILLAGE).ui.clone();
            let res = reqwest::get(format!("{village_ui}/readyz")).await.unwrap();
            assert_eq!(
                res.status(),
                200,
                "a dead parent does not make a station unready"
            );
            let ready: Value = res.json().await.unwrap();
            let parent = ready["checks"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["name"] == "parent")
                .unwrap()
                .clone();
            assert_eq!(parent["ok"], false, "{ready}");
            assert!(
                parent["detail"].as_str().unwrap().contains("failing"),
                "{ready}"
            );
        }
        if i == 16 {
            tree.node(TOWN).node.spawn();
        }
        cases.push(tree.escalated_case(VILLAGE).await);
    }
    tree.node(TOWN).node.wait_ready(SYNC).await;

    for id in &cases {
        let village = tree
            .wait_case(VILLAGE, id, SYNC, |c| c["stage"] == "escalated")
            .await;
        let district = tree
            .wait_case(DISTRICT, id, SYNC, |c| c["stage"] == "escalated")
            .await;
        let ids = event_ids(&district);
        let unique: BTreeSet<_> = ids.iter().collect();
        assert_eq!(
            unique.len(),
            ids.len(),
            "no duplicated events at the district"
        );
        assert_eq!(
            ids,
            event_ids(&village),
            "the district has exactly the village's log"
        );
    }
    let (status, list) = tree
        .api(DISTRICT, "GET", "/api/v1/cases?limit=500", None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(list["cases"].as_array().unwrap().len(), cases.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_returns_from_several_operators_all_reach_their_village() {
    concurrent_returns(DistrictDb::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_returns_with_the_district_on_postgres() {
    concurrent_returns(DistrictDb::Postgres).await;
}

/// Cases escalated from two villages of one town; eight operator sessions at the district
/// accept each, mark it result-ready and return it, all at once. Every result reaches its
/// village. (On PostgreSQL, before appends were serialised, most never did: a pull served past
/// an event still in flight and the town's cursor skipped it for good.)
async fn concurrent_returns(district_db: DistrictDb) {
    const CASES: usize = 80;
    const SESSIONS: usize = 8;
    let root = tempfile::tempdir().unwrap();
    let mut tree = Tree::start_on(
        root.path(),
        &[DISTRICT, TOWN, VILLAGE, SIBLING],
        district_db,
    )
    .await;
    let mut cases = Vec::new();
    for i in 0..CASES {
        let village = if i % 2 == 0 { VILLAGE } else { SIBLING };
        cases.push((village, tree.escalated_case(village).await));
    }
    for (_, id) in &cases {
        tree.wait_case(DISTRICT, id, SYNC, |c| c["stage"] == "escalated")
            .await;
    }

    let ui = tree.node(DISTRICT).ui.clone();
    let http = reqwest::Client::new();
    let mut sessions = tokio::task::JoinSet::new();
    for s in 0..SESSIONS {
        let token = tree.login(DISTRICT).await;
        let mine: Vec<_> = cases.iter().skip(s).step_by(SESSIONS).cloned().collect();
        let (ui, http) = (ui.clone(), http.clone());
        sessions.spawn(async move {
            for (village, id) in mine {
                for (kind, payload) in [
                    ("accepted_upstream", json!({})),
                    (
                        "result_ready",
                        json!({"outcome": "approved", "certificate_no": "JY14104020001"}),
                    ),
                    (
                        "returned_down",
                        json!({"to": village, "reason": "结果已出，请发起站点交付"}),
                    ),
                ] {
                    let res = http
                        .post(format!("{ui}/api/v1/cases/{id}/events"))
                        .bearer_auth(&token)
                        .json(&json!({"kind": kind, "payload": payload}))
                        .send()
                        .await
                        .unwrap();
                    let status = res.status();
                    assert_eq!(status, 200, "{kind} on {id}: {}", res.text().await.unwrap());
                }
            }
        });
    }
    while let Some(done) = sessions.join_next().await {
        done.unwrap();
    }

    for (village, id) in &cases {
        tree.wait_case(village, id, SYNC, |c| {
            c["holder"] == *village && c["stage"] == "result_ready"
        })
        .await;
    }
    for code in [TOWN, VILLAGE, SIBLING] {
        let metrics = tree.metrics(code).await;
        assert!(
            metrics.contains("direction=\"down\"} 0") && metrics.contains("direction=\"up\"} 0"),
            "no dead letters at {code}: {metrics}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inter_node_refusals() {
    let root = tempfile::tempdir().unwrap();
    let mut tree = Tree::start(root.path(), &[DISTRICT, TOWN, VILLAGE, SIBLING]).await;
    let district_api = tree.node(DISTRICT).api.clone().unwrap();
    let town_api = tree.node(TOWN).api.clone().unwrap();

    // No client certificate: the handshake fails, no handler is reached.
    let ca = std::fs::read(tree.node(DISTRICT).tls_dir.join("ca.pem")).unwrap();
    let anonymous = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&ca).unwrap()])
        .build()
        .unwrap();
    assert!(
        anonymous
            .get(format!("{district_api}/v1/events"))
            .send()
            .await
            .is_err()
    );

    // A certificate from another CA: refused at the handshake too.
    let other = tempfile::tempdir().unwrap();
    let mut stranger = tree.strangers(other.path(), &[TOWN], DISTRICT);
    let foreign = stranger.remove(0);
    assert!(
        foreign
            .get(format!("{district_api}/v1/events"))
            .send()
            .await
            .is_err()
    );

    // Health stays open to any authenticated peer on the inter-node listener.
    let town_client = tree.peer_client(TOWN, DISTRICT);
    let ready: Value = town_client
        .get(format!("{district_api}/readyz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["ready"], true, "{ready}");

    // A village calling the district directly: authenticated, but not a direct child.
    let village = tree.peer_client(VILLAGE, DISTRICT);
    let res = village
        .get(format!("{district_api}/v1/events"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let body: Value = res.json().await.unwrap();
    assert!(!body["message_zh"].as_str().unwrap().is_empty());

    // A village reading its sibling's case at their town.
    let id = tree.escalated_case(VILLAGE).await;
    tree.wait_case(TOWN, &id, SYNC, |c| c["holder"] == DISTRICT)
        .await;
    let sibling = tree.peer_client(SIBLING, TOWN);
    let res = sibling
        .get(format!("{town_api}/v1/cases/{id}/events"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let page: Value = sibling
        .get(format!("{town_api}/v1/events?after=0"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        !page.to_string().contains(&id),
        "a sibling's pull never carries another village's case"
    );
    // ...while the village itself may read it.
    let village = tree.peer_client(VILLAGE, TOWN);
    let res = village
        .get(format!("{town_api}/v1/cases/{id}/events"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    // A town pushing events of a case outside its subtree (a village of another town).
    let town = tree.peer_client(TOWN, DISTRICT);
    let foreign_case = json!({"events": [application_event("410402002001")]});
    let res = town
        .post(format!("{district_api}/v1/events"))
        .json(&foreign_case)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let (_, list) = tree
        .api(DISTRICT, "GET", "/api/v1/cases?limit=500", None)
        .await;
    assert_eq!(list["cases"].as_array().unwrap().len(), 1, "nothing stored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_to_the_inter_node_api_changes_nothing() {
    let root = tempfile::tempdir().unwrap();
    let mut tree = Tree::start(root.path(), &[DISTRICT, TOWN]).await;
    let api = tree.node(DISTRICT).api.clone().unwrap();
    let town = tree.peer_client(TOWN, DISTRICT);
    let post = |body: String| {
        town.post(format!("{api}/v1/events"))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };

    let res = post("{\"events\": [".into()).await.unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(res.headers()["content-type"], "application/problem+json");

    let mut unknown_kind = application_event(TOWN);
    unknown_kind["kind"] = json!("teleported");
    let res = post(json!({"events": [unknown_kind]}).to_string())
        .await
        .unwrap();
    assert_eq!(res.status(), 422);

    // A comment on a case the district never saw.
    let mut orphan = application_event(TOWN);
    orphan["kind"] = json!("commented");
    orphan["payload"] = json!({"text": "无主事件"});
    let res = post(json!({"events": [orphan]}).to_string()).await.unwrap();
    assert_eq!(res.status(), 422);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "case.unknown");

    // A replayed batch is accepted and changes nothing.
    let batch = json!({"events": [application_event(TOWN)]}).to_string();
    let first: Value = post(batch.clone()).await.unwrap().json().await.unwrap();
    assert_eq!(first["stored"], 1);
    let again: Value = post(batch).await.unwrap().json().await.unwrap();
    assert_eq!(again["stored"], 0);
    assert_eq!(again["duplicates"], 1);
    let (_, list) = tree.api(DISTRICT, "GET", "/api/v1/cases", None).await;
    assert_eq!(list["cases"].as_array().unwrap().len(), 1);

    // A body announced larger than the limit is refused from its head, before it is read. (A
    // client still writing such a body may see the connection close before it reads the
    // answer: HTTP/1.1 has no way around that, so this test stops writing, as a careful client
    // would with Expect: 100-continue.)
    let raw = format!(
        "POST /v1/events HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n\
         content-length: {}\r\n\r\n{{\"events\": [",
        17 * 1024 * 1024
    );
    let answer = tree.raw_internode(TOWN, DISTRICT, raw.as_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(
        answer.contains("application/problem+json") && answer.contains("request.too_large"),
        "{answer}"
    );
    let (_, list) = tree.api(DISTRICT, "GET", "/api/v1/cases", None).await;
    assert_eq!(list["cases"].as_array().unwrap().len(), 1);
}

/// An application event authored by `station`, as a child would push it.
fn application_event(station: &str) -> Value {
    json!({
        "event_id": uuid::Uuid::now_v7().to_string(),
        "case_id": uuid::Uuid::now_v7().to_string(),
        "author": station,
        "occurred_at": "2026-11-26T09:00:00+08:00",
        "kind": "application_received",
        "payload": {
            "case_no": format!("{station}-20261126-0001"),
            "channel": "window",
            "item": {"code": "410402-SCJG-001", "name": "食品经营许可证核发", "case_type": "promised", "promised_days": 10},
            "applicant": {"type": "person", "name": "王五", "id_number": "110105195001010039", "phone": "13912345678"}
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_case_handled_at_the_town_never_reaches_the_district() {
    let root = tempfile::tempdir().unwrap();
    let mut tree = Tree::start(root.path(), &[DISTRICT, TOWN, VILLAGE]).await;

    let id = tree.delegated_case(VILLAGE).await;
    tree.escalate(VILLAGE, &id, "town").await;
    tree.wait_case(TOWN, &id, SYNC, |c| c["stage"] == "escalated")
        .await;
    tree.step(TOWN, &id, "accepted_upstream", json!({})).await;
    tree.step(TOWN, &id, "result_ready", json!({"outcome": "approved"}))
        .await;
    tree.step(
        TOWN,
        &id,
        "returned_down",
        json!({"to": VILLAGE, "reason": "结果已出"}),
    )
    .await;
    tree.wait_case(VILLAGE, &id, SYNC, |c| c["holder"] == VILLAGE)
        .await;
    tree.step(
        VILLAGE,
        &id,
        "handed_over",
        json!({"method": {"method": "home_delivery"}, "received_by": "张三"}),
    )
    .await;
    tree.step(VILLAGE, &id, "completed", json!({})).await;
    tree.wait_case(TOWN, &id, SYNC, |c| c["stage"] == "completed")
        .await;

    // Data minimisation: the district never received this case.
    let (status, _) = tree
        .api(DISTRICT, "GET", &format!("/api/v1/cases/{id}"), None)
        .await;
    assert_eq!(status, 404);
    let metrics = tree.metrics(TOWN).await;
    assert!(
        metrics.contains("bangban_outbox{station=\"410402001000\"} 0"),
        "{metrics}"
    );
}
