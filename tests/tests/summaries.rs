//! Case summaries through a real tree of processes: a case handled entirely at a village (taken
//! in, completed and rated there, never escalated) shows up as a summary at the town and at the
//! district once `summary-push` has run at each, and the district's database holds no personal
//! data of it: neither the applicant's name nor the ID number is anywhere in its SQLite files.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use bangban_tests::tree::{DISTRICT, TOWN, Tree, VILLAGE};
use serde_json::{Value, json};

const NAME: &str = "张三";
const ID_NUMBER: &str = "11010519491231002X";

/// Runs `summary-push` once at `code` with its own config, as an operator would.
fn push_summaries(tree: &Tree, code: &str) -> String {
    let config = tree.root.join(code).join("node.toml");
    bangban_tests::run(
        "station-node",
        &[
            "--config",
            &config.display().to_string(),
            "job",
            "run",
            "summary-push",
        ],
    )
}

/// Whether any of the database's files (the main file, its WAL) contains `needle`.
fn database_contains(dir: &Path, needle: &str) -> bool {
    ["node.sqlite", "node.sqlite-wal"].iter().any(|file| {
        std::fs::read(dir.join(file)).is_ok_and(|bytes| {
            bytes
                .windows(needle.len())
                .any(|window| window == needle.as_bytes())
        })
    })
}

async fn summary_at(tree: &mut Tree, code: &str, case_id: &str) -> Option<Value> {
    let (status, body) = tree.api(code, "GET", "/api/v1/summaries", None).await;
    assert_eq!(status, 200, "{body}");
    body["summaries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["case_id"] == case_id)
        .cloned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_case_handled_at_a_village_reaches_the_district_as_a_summary_without_personal_data() {
    let root = tempfile::tempdir().unwrap();
    let mut tree = Tree::start(root.path(), &[DISTRICT, TOWN, VILLAGE]).await;

    // Taken in, delegated, handled, handed over, completed and rated, all at the village.
    let id = tree.delegated_case(VILLAGE).await;
    for (kind, payload) in [
        ("visit_recorded", json!({"kind": "on_site"})),
        ("handling_started", json!({"department": "区市场监管局"})),
        ("result_ready", json!({"outcome": "approved"})),
        (
            "handed_over",
            json!({"method": {"method": "pickup"}, "received_by": NAME}),
        ),
        ("completed", json!({})),
        ("evaluated", json!({"level": "very_satisfied"})),
    ] {
        tree.step(VILLAGE, &id, kind, payload).await;
    }
    assert!(summary_at(&mut tree, TOWN, &id).await.is_none());

    let village = push_summaries(&tree, VILLAGE);
    assert!(village.contains("1 summary(ies) sent (1 new"), "{village}");
    let at_town = summary_at(&mut tree, TOWN, &id)
        .await
        .expect("the town holds the summary");
    assert!(summary_at(&mut tree, DISTRICT, &id).await.is_none());
    // The town relays what it stored.
    let town = push_summaries(&tree, TOWN);
    assert!(town.contains("1 summary(ies) sent (1 new"), "{town}");
    let at_district = summary_at(&mut tree, DISTRICT, &id)
        .await
        .expect("the district holds the summary");
    assert_eq!(at_district, at_town);
    assert_eq!(at_district["origin"], VILLAGE);
    assert_eq!(at_district["holder"], VILLAGE);
    assert_eq!(at_district["stage"], "completed");
    assert_eq!(at_district["service"], "delegated");
    assert_eq!(at_district["visits"], 1);
    assert_eq!(at_district["outcome"], "approved");
    assert_eq!(at_district["evaluations"], json!(["very_satisfied"]));
    assert_eq!(at_district["version"], 9);
    // Filtered by the village, and by another stage.
    let (_, by_village) = tree
        .api(
            DISTRICT,
            "GET",
            &format!("/api/v1/summaries?centre={VILLAGE}&stage=completed"),
            None,
        )
        .await;
    assert_eq!(by_village["summaries"].as_array().unwrap().len(), 1);
    let (_, open) = tree
        .api(DISTRICT, "GET", "/api/v1/summaries?stage=received", None)
        .await;
    assert!(open["summaries"].as_array().unwrap().is_empty());
    // The district never got the case itself, only its summary.
    let (status, _) = tree
        .api(DISTRICT, "GET", &format!("/api/v1/cases/{id}"), None)
        .await;
    assert_eq!(status, 404);

    // The page lists it too, without a link: the district does not hold the case. A centre
    // outside the district is named beside its field.
    let district_ui = tree.node(DISTRICT).ui.clone();
    let page = bangban_tests::web_page(&district_ui, "/summaries").await;
    assert_eq!(page.0, 200);
    assert!(page.1.contains(at_district["case_no"].as_str().unwrap()));
    assert!(!page.1.contains(&format!("href=\"/cases/{id}\"")));
    let refused = bangban_tests::web_page(&district_ui, "/summaries?centre=410403000000").await;
    assert_eq!(refused.0, 422);
    assert!(refused.1.contains("id=\"centre-error\""));
    let start = bangban_tests::web_page(&district_ui, "/start").await.1;
    assert!(start.contains("id=\"summaries-link\""));
    let village_ui = tree.node(VILLAGE).ui.clone();
    let start = bangban_tests::web_page(&village_ui, "/start").await.1;
    assert!(
        !start.contains("id=\"summaries-link\""),
        "a village has no area"
    );

    // A second run has nothing to send.
    let again = push_summaries(&tree, VILLAGE);
    assert!(again.contains("0 summary(ies) sent"), "{again}");

    // The village holds the applicant's data (the search below would find it)…
    assert!(database_contains(&root.path().join(VILLAGE), ID_NUMBER));
    // …the district has none of it.
    let district = root.path().join(DISTRICT);
    assert!(district.join("node.sqlite").exists());
    for needle in [NAME, ID_NUMBER, "13812345678"] {
        assert!(
            !database_contains(&district, needle),
            "{needle} is in the district's database"
        );
    }
}
