//! Reconciliation with real node processes over real mutual TLS: `station-node reconcile --now`
//! finds nothing to repair on a tree in step, finds and repairs an event whose acknowledgement
//! was lost (it then reaches the district by the normal path), and `district-node reconcile
//! --now` asks the towns, which run at their next contact and report back. The district runs on
//! SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use bangban_domain::event::{CaseId, CaseNumber};
use bangban_kit::store::CaseStore;
use bangban_tests::tree::{DISTRICT, DistrictDb, TOWN, Tree, VILLAGE};
use bangban_tests::{binary, run};

#[path = "../../shared/kit/tests/common/databases.rs"]
#[allow(dead_code)]
mod databases;
#[path = "../../shared/kit/tests/store/support.rs"]
#[allow(dead_code)]
mod store_support;

const SYNC: Duration = Duration::from_secs(30);

fn reconcile(bin: &str, tree: &Tree, code: &str, extra: &[&str]) -> (bool, String) {
    let config = tree.root.join(code).join("node.toml");
    let out = std::process::Command::new(binary(bin))
        .args(["reconcile", "--now", "--config"])
        .arg(&config)
        .args(extra)
        .output()
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconciliation_across_the_tree_with_the_district_on_sqlite() {
    across_the_tree(DistrictDb::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconciliation_across_the_tree_with_the_district_on_postgres() {
    across_the_tree(DistrictDb::Postgres).await;
}

async fn across_the_tree(db: DistrictDb) {
    bangban_kit::tls::install_crypto_provider();
    let root = tempfile::tempdir().unwrap();
    let mut tree = Tree::start_on(root.path(), &[DISTRICT, TOWN, VILLAGE], db).await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(tree.escalated_case(VILLAGE).await);
    }
    for id in &ids {
        tree.wait_case(DISTRICT, id, SYNC, |c| c["stage"] == "escalated")
            .await;
    }

    // The village's case summaries go up now rather than at the job's next tick.
    let pushed = run(
        "station-node",
        &[
            "job",
            "run",
            "summary-push",
            "--config",
            &root
                .path()
                .join(VILLAGE)
                .join("node.toml")
                .display()
                .to_string(),
        ],
    );
    assert!(!pushed.is_empty(), "{pushed}");

    // In step: one request per lane (events, summaries), nothing found.
    let (ok, out) = reconcile("station-node", &tree, VILLAGE, &[]);
    assert!(ok, "{out}");
    assert!(out.contains("no difference"), "{out}");
    assert!(out.contains("2 request(s)"), "{out}");
    assert!(out.contains("comparing all 3 case summaries"), "{out}");

    // The village writes a comment and loses its outbox row, as a lost acknowledgement would:
    // nothing would ever send it again.
    let case = tree.wait_case(VILLAGE, &ids[0], SYNC, |_| true).await;
    tree.node(VILLAGE).node.kill();
    let db_path = root.path().join(VILLAGE).join("node.sqlite");
    let db = databases::open_sqlite(&db_path).await;
    let store = CaseStore::new(db.clone(), store_support::calendar())
        .with_uplink(bangban_domain::station::StationCode::parse(VILLAGE).unwrap());
    let builder = store_support::CaseBuilder {
        case_id: ids[0].parse::<CaseId>().unwrap(),
        case_no: CaseNumber::parse(case["case_no"].as_str().unwrap()).unwrap(),
        origin: bangban_domain::station::StationCode::parse(VILLAGE).unwrap(),
        at: time::OffsetDateTime::now_utc(),
    };
    let comment = builder.comment(VILLAGE, 0, "对账测试：确认已电话告知申请人");
    store
        .append(&comment, time::OffsetDateTime::now_utc())
        .await
        .unwrap();
    sqlx::query("DELETE FROM outbox")
        .execute(db.pool())
        .await
        .unwrap();
    db.close().await;
    tree.node(VILLAGE).node.spawn();
    tree.node(VILLAGE)
        .node
        .wait_ready(Duration::from_secs(30))
        .await;

    let (ok, out) = reconcile("station-node", &tree, VILLAGE, &[]);
    assert!(ok, "{out}");
    assert!(
        out.contains("1 up, 0 down, 0 summaries up, 0 unrepairable"),
        "{out}"
    );
    assert!(out.contains(&format!("up case {}", ids[0])), "{out}");
    // The normal link carries it on, through the town, to the district.
    let comment_id = comment.event_id.to_string();
    tree.wait_case(DISTRICT, &ids[0], SYNC, |c| {
        c["events"]
            .as_array()
            .is_some_and(|e| e.iter().any(|e| e["event_id"] == comment_id.as_str()))
    })
    .await;
    let (ok, out) = reconcile("station-node", &tree, VILLAGE, &[]);
    assert!(ok && out.contains("no difference"), "{out}");

    // The scheduled run shows on the village's start page (every 5 s in the test's config).
    let ui = tree.nodes[VILLAGE].ui.clone();
    let deadline = std::time::Instant::now() + SYNC;
    loop {
        let page = bangban_tests::web_page(&ui, "/start").await.1;
        let row = page
            .split("data-job=\"reconcile\"")
            .nth(1)
            .and_then(|r| r.split("</tr>").next())
            .unwrap_or_default()
            .to_owned();
        if row.contains("✓ 正常") && row.contains("no difference") {
            assert!(row.contains("与上级对账"), "{row}");
            // The link panel shows the last run, whoever ran it.
            let last = page
                .split("id=\"last-reconcile\"")
                .nth(1)
                .and_then(|r| r.split("</dd>").next())
                .unwrap_or_default();
            assert!(last.contains("✓ 与上级一致"), "{last}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{row}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    // The district asks its town, which runs at its next pull and reports.
    let (ok, out) = reconcile(
        "district-node",
        &tree,
        DISTRICT,
        &["--child", TOWN, "--wait", "60"],
    );
    assert!(ok, "{out}");
    assert!(out.contains(TOWN), "{out}");
    assert!(out.contains("no difference"), "{out}");
    // The list of runs shows the town's report at the district.
    let listed = run(
        "district-node",
        &[
            "reconcile",
            "--config",
            &root
                .path()
                .join(DISTRICT)
                .join("node.toml")
                .display()
                .to_string(),
        ],
    );
    assert!(listed.contains(TOWN), "{listed}");
    // With the gaps in the case numbers of the last days: the village's 1 to 3 are all here.
    assert!(
        listed.contains("case numbers of the last 7 days: no gaps"),
        "{listed}"
    );
    // Asking every town: the ten that never run here do not report, and the command says so.
    let (ok, out) = reconcile("district-node", &tree, DISTRICT, &["--wait", "8"]);
    assert!(!ok, "{out}");
    assert!(out.contains("410402002000: no report within 8 s"), "{out}");
    assert!(out.contains("10 child(ren) did not report"), "{out}");
    // A child that is not the district's is refused by name.
    let (ok, out) = reconcile("district-node", &tree, DISTRICT, &["--child", VILLAGE]);
    assert!(!ok && out.contains("not a direct child"), "{out}");
}
