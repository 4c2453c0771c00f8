//! Live policy on a real node process: the catalogue file is changed and the node told with
//! SIGHUP while operators keep asking for the items. Every answer is the old catalogue or the
//! new one, never a mix; the new one is in force without a restart; a broken file changes
//! nothing.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bangban_tests::{Kind, Node, add_operator, free_port, login, workspace};
use serde_json::{Value, json};

/// What an operator of a village centre sees of the catalogue: the code and name of each item
/// a village may take in.
type Seen = BTreeSet<(String, String)>;

fn seen(items: &Value) -> Seen {
    items["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| {
            i["intake_tiers"]
                .as_array()
                .unwrap()
                .contains(&json!("village"))
        })
        .map(|i| {
            (
                i["code"].as_str().unwrap().to_owned(),
                i["name"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn hangup(node: &Node) {
    let status = Command::new("kill")
        .arg("-HUP")
        .arg(node.pid().unwrap().to_string())
        .status()
        .unwrap();
    assert!(status.success());
}

/// Writes `text` to `path` in one step (a reader never sees half a file).
fn replace_file(path: &std::path::Path, text: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_swaps_the_catalogue_while_requests_run_and_a_broken_file_changes_nothing() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("village");
    std::fs::create_dir_all(&dir).unwrap();
    let ws = workspace();
    let v1: Value = serde_json::from_str(
        &std::fs::read_to_string(ws.join("deploy/policy/catalogue.json")).unwrap(),
    )
    .unwrap();
    let mut v2 = v1.clone();
    let items = v2["items"].as_array_mut().unwrap();
    let renamed = format!("{}（新版）", items[0]["name"].as_str().unwrap());
    items[0]["name"] = json!(renamed);
    items.pop();
    let catalogue = dir.join("catalogue.json");
    replace_file(&catalogue, &v1.to_string());

    let port = free_port();
    let config = format!(
        "[node]\ncode = \"410402001001\"\nname = \"第1社区\"\n\
         [http]\nlisten = \"127.0.0.1:{port}\"\n\
         [policy]\ncalendar = \"{}\"\ncatalogue = \"catalogue.json\"\n",
        ws.join("deploy/policy/calendar.json").display()
    );
    std::fs::write(dir.join("node.toml"), &config).unwrap();
    add_operator("station-node", &dir.join("node.toml"));
    let mut node = Node::start(Kind::Station, &dir, port, &config);
    node.wait_ready(Duration::from_secs(20)).await;
    let pid = node.pid();

    let http = reqwest::Client::new();
    let token = login(&http, &node.ui_url).await;
    let items = |http: reqwest::Client, ui: String, token: String| async move {
        let res = http
            .get(format!("{ui}/api/v1/items"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        seen(&res.json::<Value>().await.unwrap())
    };
    assert_eq!(
        items(http.clone(), node.ui_url.clone(), token.clone()).await,
        seen(&v1)
    );

    // Operators keep asking while the file changes and the node is told.
    let stop = Arc::new(AtomicBool::new(false));
    let mut readers = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let (http, ui, token, stop) = (
            http.clone(),
            node.ui_url.clone(),
            token.clone(),
            stop.clone(),
        );
        readers.spawn(async move {
            let mut answers = Vec::new();
            while !stop.load(Ordering::SeqCst) {
                answers.push(items(http.clone(), ui.clone(), token.clone()).await);
            }
            answers
        });
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    replace_file(&catalogue, &v2.to_string());
    hangup(&node);
    let deadline = Instant::now() + Duration::from_secs(10);
    while items(http.clone(), node.ui_url.clone(), token.clone()).await != seen(&v2) {
        assert!(
            Instant::now() < deadline,
            "the new catalogue never came into force\n{}",
            node.log()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::SeqCst);
    let mut answers = Vec::new();
    while let Some(done) = readers.join_next().await {
        answers.extend(done.unwrap());
    }
    let (old, new) = (seen(&v1), seen(&v2));
    assert!(answers.contains(&old) && answers.contains(&new));
    for a in &answers {
        assert!(*a == old || *a == new, "a mix of old and new: {a:?}");
    }
    // In force for intake too: the removed item is refused, the renamed one taken in by name.
    let removed = v1["items"].as_array().unwrap().last().unwrap()["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = http
        .post(format!("{}/api/v1/cases", node.ui_url))
        .bearer_auth(&token)
        .json(
            &json!({"kind": "application", "channel": "window", "item_code": removed,
            "applicant": {"type": "person", "name": "张三", "id_number": "11010519491231002X",
            "phone": "13812345678"}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422, "{}", res.text().await.unwrap());

    // A broken file: the policy in force stays, and the log says why.
    replace_file(&catalogue, "{\"items\": [");
    hangup(&node);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !node.log().contains("the policy in force is unchanged") {
        assert!(
            Instant::now() < deadline,
            "no word of the broken file\n{}",
            node.log()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        items(http.clone(), node.ui_url.clone(), token.clone()).await,
        new
    );
    let metrics = http
        .get(format!("{}/metrics", node.ui_url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("bangban_policy_generation{station=\"410402001001\"} 2"),
        "{metrics}"
    );
    assert_eq!(node.pid(), pid, "nothing restarted");
    let status = node.stop().unwrap();
    assert!(status.success(), "{}", node.log());
}
