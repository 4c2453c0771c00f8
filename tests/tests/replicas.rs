//! Two district replicas on one PostgreSQL database, with real processes and real mutual TLS on
//! loopback: both start at once on an empty database; a town lists both as its parent; cases
//! escalated from a village reach the district while replica A runs, and after A is killed with
//! SIGKILL, escalations and returns flow through replica B; operators at either replica see the
//! same case; and each tick of each scheduled job runs once across the two.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{Duration, Instant};

use bangban_tests::tree::{DISTRICT, TOWN, Tree, VILLAGE, fresh_postgres_database, node_config};
use bangban_tests::{Kind, Node, PASSWORD, add_operator, ca_init, ca_issue, free_port};
use serde_json::{Value, json};

/// How long a case may take to cross the tree (the link retries with backoff).
const SYNC: Duration = Duration::from_secs(30);
/// The key under which the tree knows replica B (replica A is [`DISTRICT`]).
const REPLICA_B: &str = "district-b";

/// Both replicas run these every second, so that their ticks collide.
fn every_second(config: String) -> String {
    config.replace(
        "[jobs]\n",
        "[jobs]\npurge_sessions = \"* * * * * *\"\npurge_login_audit = \"* * * * * *\"\n",
    ) + "[log]\nformat = \"json\"\n"
}

/// Starts replica A and B of the district with one config (but their own ports) and one
/// certificate, at the same time, on the empty database `db_url`.
async fn start_replicas(root: &Path, db_url: &str) -> Vec<(Node, String, std::path::PathBuf)> {
    let ca = root.join("ca");
    let shared_tls = root.join("district-tls");
    ca_issue(&ca, DISTRICT, &shared_tls, &["--host", "127.0.0.1"]);
    let mut replicas = Vec::new();
    for name in ["a", "b"] {
        let dir = root.join(format!("district-{name}"));
        let tls = dir.join("tls");
        std::fs::create_dir_all(&tls).unwrap();
        for file in ["node.pem", "node.key", "ca.pem"] {
            std::fs::copy(shared_tls.join(file), tls.join(file)).unwrap();
        }
        let (ui, api) = (free_port(), free_port());
        let config = every_second(node_config(DISTRICT, ui, Some(api), None, "", db_url));
        // Started without waiting: both migrate and seed the empty database at once.
        let node = Node::start(Kind::District, &dir, ui, &config);
        replicas.push((node, format!("https://127.0.0.1:{api}"), tls));
    }
    for (node, _, _) in &mut replicas {
        node.wait_ready(Duration::from_secs(90)).await;
    }
    replicas
}

/// Starts station `code` with `parent` in its `[parent] url` line (as TOML) and an operator.
async fn start_station(
    root: &Path,
    code: &str,
    parent: &str,
    serves: bool,
) -> (Node, Option<String>) {
    let dir = root.join(code);
    let tls = dir.join("tls");
    let hosts: &[&str] = if serves {
        &["--host", "127.0.0.1"]
    } else {
        &[]
    };
    ca_issue(&root.join("ca"), code, &tls, hosts);
    let ui = free_port();
    let api = serves.then(free_port);
    let config = node_config(code, ui, api, Some("@parent"), "", "")
        .replace("url = \"@parent\"", &format!("url = {parent}"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("node.toml"), &config).unwrap();
    add_operator("station-node", &dir.join("node.toml"));
    let mut node = Node::start(Kind::Station, &dir, ui, &config);
    node.wait_ready(Duration::from_secs(30)).await;
    (node, api.map(|p| format!("https://127.0.0.1:{p}")))
}

/// The `parent` line of `ui`'s `/readyz`.
async fn parent_check(ui: &str) -> Value {
    let ready: Value = reqwest::get(format!("{ui}/readyz"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    ready["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "parent")
        .cloned()
        .unwrap_or_else(|| panic!("no parent line: {ready}"))
}

/// A browser session (cookie) made at `ui`'s login form.
async fn web_session(ui: &str) -> String {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let res = http
        .post(format!("{ui}/login"))
        .header("sec-fetch-site", "same-origin")
        .form(&[("username", "operator"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303, "login at {ui}");
    res.headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|v| v.starts_with("bangban_session="))
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

async fn page(ui: &str, path: &str, cookie: &str) -> (u16, String) {
    let res = reqwest::Client::new()
        .get(format!("{ui}{path}"))
        .header(reqwest::header::COOKIE, cookie)
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

/// The scheduled runs a replica logged (its JSON lines): (job, tick) of each.
fn logged_runs(log: &str) -> Vec<(String, i64)> {
    log.lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|l| {
            matches!(
                l["message"].as_str(),
                Some("job done" | "job failed" | "job panicked")
            )
        })
        .filter_map(|l| Some((l["job"].as_str()?.to_owned(), l["tick"].as_i64()?)))
        .collect()
}

fn event_ids(case: &Value) -> Vec<String> {
    case["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event_id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_district_replicas_on_one_postgres_serve_the_tree_and_survive_a_sigkill() {
    let root = tempfile::tempdir().unwrap();
    let root = root.path();
    let db_url = fresh_postgres_database().await;
    ca_init(&root.join("ca"));

    // Both replicas come up together on the empty database.
    let mut replicas = start_replicas(root, &db_url).await;
    let (b_node, b_api, b_tls) = replicas.pop().unwrap();
    let (a_node, a_api, a_tls) = replicas.pop().unwrap();
    let (a_pid, b_pid) = (a_node.pid().unwrap(), b_node.pid().unwrap());
    let a_ui = a_node.ui_url.clone();
    let b_ui = b_node.ui_url.clone();
    // One operator, in the shared database, for both.
    add_operator("district-node", &a_node.config);

    // The town lists both replicas (a TOML array); its village dials the town.
    let parents = format!("[\"{a_api}\", \"{b_api}\"]");
    let (town, town_api) = start_station(root, TOWN, &parents, true).await;
    let town_ui = town.ui_url.clone();
    let (village, _) =
        start_station(root, VILLAGE, &format!("\"{}\"", town_api.unwrap()), false).await;

    let mut tree = Tree::empty(root);
    tree.adopt(DISTRICT, DISTRICT, a_node, Some(a_api.clone()), a_tls);
    tree.adopt(REPLICA_B, DISTRICT, b_node, Some(b_api.clone()), b_tls);
    tree.adopt(TOWN, TOWN, town, None, root.join(TOWN).join("tls"));
    tree.adopt(
        VILLAGE,
        VILLAGE,
        village,
        None,
        root.join(VILLAGE).join("tls"),
    );

    // While A runs, an escalated case reaches the district's database through A.
    let first = tree.escalated_case(VILLAGE).await;
    let at_a = tree
        .wait_case(DISTRICT, &first, SYNC, |c| c["stage"] == "escalated")
        .await;
    let pg = bangban_kit::db::Db::connect(&db_url).await.unwrap();
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM cases WHERE case_id = $1")
        .bind(&first)
        .fetch_one(pg.pool())
        .await
        .unwrap();
    assert_eq!(stored, 1, "the case is in the district's database");
    let check = parent_check(&town_ui).await;
    let detail = check["detail"].as_str().unwrap();
    assert!(
        detail.starts_with(&format!("{a_api}/ reachable")),
        "{check}"
    );
    assert!(detail.contains("0 switch(es)"), "{check}");

    // An operator at either replica sees the same case; a session made at A works at B too.
    let at_b = tree
        .wait_case(REPLICA_B, &first, SYNC, |c| c["stage"] == "escalated")
        .await;
    assert_eq!(event_ids(&at_a), event_ids(&at_b));
    assert_eq!(
        (&at_a["holder"], &at_a["case_no"]),
        (&at_b["holder"], &at_b["case_no"])
    );
    let cookie = web_session(&a_ui).await;
    let (status, html) = page(&b_ui, &format!("/cases/{first}"), &cookie).await;
    assert_eq!(status, 200, "a session of A at B: {html}");
    assert!(
        html.contains(at_a["case_no"].as_str().unwrap()),
        "the case page at B"
    );

    // The district accepts the case at B while the town long-polls A: A looks at the shared
    // database again within a second, not only at the end of the 25-second wait.
    tree.step(REPLICA_B, &first, "accepted_upstream", json!({}))
        .await;
    tree.wait_case(TOWN, &first, Duration::from_secs(5), |c| {
        c["stage"] == "in_progress"
    })
    .await;
    let check = parent_check(&town_ui).await;
    assert!(
        check["detail"].as_str().unwrap().contains("0 switch(es)"),
        "it came through A: {check}"
    );

    // Let the jobs of both replicas collide for a few ticks, then kill A as a crash would.
    tokio::time::sleep(Duration::from_secs(4)).await;
    tree.node(DISTRICT).node.kill();
    let killed = Instant::now();

    // A new escalation reaches the district through B.
    let second = tree.escalated_case(VILLAGE).await;
    tree.wait_case(REPLICA_B, &second, SYNC, |c| c["stage"] == "escalated")
        .await;
    // And a return made at B comes down to the village.
    tree.step(
        REPLICA_B,
        &first,
        "result_ready",
        json!({"outcome": "approved", "certificate_no": "JY14104020001"}),
    )
    .await;
    tree.step(
        REPLICA_B,
        &first,
        "returned_down",
        json!({"to": VILLAGE, "reason": "结果已出，请发起站点交付"}),
    )
    .await;
    let back = tree
        .wait_case(VILLAGE, &first, SYNC, |c| {
            c["holder"] == VILLAGE && c["stage"] == "result_ready"
        })
        .await;
    assert_eq!(back["held_here"], true);
    let took = killed.elapsed();
    assert!(took < 2 * SYNC, "through B within a bounded wait: {took:?}");

    // The town says which parent URL it uses now, and that it switched.
    let check = parent_check(&town_ui).await;
    let detail = check["detail"].as_str().unwrap();
    assert!(
        detail.starts_with(&format!("{b_api}/ reachable")),
        "{check}"
    );
    assert!(
        detail.contains(&format!("({a_api}/, {b_api}/)")),
        "both URLs are listed: {check}"
    );
    assert!(!detail.contains("0 switch(es)"), "{check}");
    let metrics = tree.metrics(TOWN).await;
    assert!(
        metrics.contains(&format!(
            "bangban_parent_url_in_use{{station=\"{TOWN}\",url=\"{b_api}/\"}} 1"
        )),
        "{metrics}"
    );
    assert!(
        metrics.contains(&format!(
            "bangban_parent_url_in_use{{station=\"{TOWN}\",url=\"{a_api}/\"}} 0"
        )),
        "{metrics}"
    );
    let switches: u64 = metrics
        .lines()
        .find_map(|l| {
            l.strip_prefix(&format!(
                "bangban_parent_switches_total{{station=\"{TOWN}\"}} "
            ))
        })
        .unwrap()
        .parse()
        .unwrap();
    assert!(switches >= 1, "{metrics}");
    let town_log = tree.node(TOWN).node.log();
    assert!(
        town_log
            .lines()
            .any(|l| l.contains("switching to its next URL")
                && l.contains(&format!("{a_api}/"))
                && l.contains(&format!("{b_api}/"))),
        "the switch is logged with both URLs:\n{town_log}"
    );
    let town_cookie = web_session(&town_ui).await;
    let (status, start) = page(&town_ui, "/", &town_cookie).await;
    assert_eq!(status, 200);
    let panel = &start[start
        .find("id=\"parent-url\"")
        .expect("the parent URL on the start page")..];
    assert!(
        panel.starts_with(&format!("id=\"parent-url\"><code>{b_api}/</code>")),
        "{panel}"
    );

    // B keeps running the jobs alone: let it tick, then compare the logs with job_ticks.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let a_log = tree.node(DISTRICT).node.log();
    let b_log = tree.node(REPLICA_B).node.log();
    let a_runs = logged_runs(&a_log);
    let b_runs = logged_runs(&b_log);
    let mut runs: BTreeMap<(String, i64), Vec<u32>> = BTreeMap::new();
    for (run, pid) in a_runs
        .iter()
        .map(|r| (r, a_pid))
        .chain(b_runs.iter().map(|r| (r, b_pid)))
    {
        runs.entry(run.clone()).or_default().push(pid);
    }
    let twice: Vec<_> = runs.iter().filter(|(_, pids)| pids.len() > 1).collect();
    assert!(twice.is_empty(), "ticks run more than once: {twice:?}");
    let ticks: Vec<(String, i64, String)> =
        sqlx::query_as("SELECT job, scheduled_for, runner FROM job_ticks")
            .fetch_all(pg.pool())
            .await
            .unwrap();
    let mut claims: BTreeMap<(String, i64), Vec<String>> = BTreeMap::new();
    for (job, tick, runner) in ticks {
        claims.entry((job, tick)).or_default().push(runner);
    }
    assert!(
        claims.values().all(|r| r.len() == 1),
        "one job_ticks row per (job, scheduled_for)"
    );
    // Every run either replica logged is the one its claim names.
    for ((job, tick), pids) in &runs {
        let runner = &claims
            .get(&(job.clone(), *tick))
            .unwrap_or_else(|| panic!("{job} at {tick} ran without a claim"))[0];
        assert!(
            runner.ends_with(&format!("#{}", pids[0])),
            "{job} at {tick} was claimed by {runner}, run by {}",
            pids[0]
        );
    }
    // Three jobs every second ran all along, first on both replicas, then on B alone (others
    // may have run on their own schedules, e.g. the link watchdog at second 30).
    let jobs: BTreeSet<&str> = runs.keys().map(|(job, _)| job.as_str()).collect();
    assert!(
        jobs.is_superset(&BTreeSet::from([
            "purge-login-audit",
            "purge-sessions",
            "refresh-gauges"
        ])),
        "{runs:?}\nB's log:\n{}",
        b_log
            .lines()
            .filter(|l| l.contains("job"))
            .take(5)
            .collect::<Vec<_>>()
            .join("\n")
    );
    let gauges: Vec<i64> = runs
        .keys()
        .filter(|(job, _)| job == "refresh-gauges")
        .map(|(_, tick)| *tick)
        .collect();
    assert!(gauges.len() >= 8, "a tick every second: {gauges:?}");
    let last_a = a_runs.iter().map(|(_, t)| *t).max().unwrap_or(0);
    assert!(
        b_runs.iter().any(|(_, t)| *t > last_a + 1000),
        "B runs the ticks after A died"
    );
    pg.close().await;
}
