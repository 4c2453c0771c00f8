//! Case summaries up the link, over real mutual TLS: pushed and stored once, a replay changes
//! nothing; a summary with a personal-data key, of a case outside the caller's subtree, or a
//! body that is not JSON is refused and stores nothing; the child drops a summary refused for
//! good and the others flow on.

use bangban_domain::case::fold;
use bangban_domain::summary::{CaseSummary, SummaryOutcome};
use bangban_kit::db::Db;
use bangban_kit::sync::summaries::push_summaries_once;
use serde_json::{Value, json};

use crate::support::*;

async fn post(child: &Child, parent: &Parent, body: String) -> (u16, Value) {
    let res = child
        .client
        .post(parent.server.url().join("v1/summaries").unwrap())
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn held(parent: &Parent) -> i64 {
    use sqlx::Row;
    sqlx::query("SELECT COUNT(*) AS n FROM case_summaries")
        .fetch_one(parent.store.db().pool())
        .await
        .unwrap()
        .try_get("n")
        .unwrap()
}

/// A case handled at the village: taken in and reviewed.
async fn village_case(child: &Child, seq: u32) -> CaseBuilder {
    let case = new_case(seq);
    for ev in [case.application(), case.complete_review(VILLAGE, 10)] {
        child.store.append(&ev, now()).await.unwrap();
    }
    case
}

pub async fn pushed_summaries_are_stored_once_and_a_replay_changes_nothing(db: Db) {
    let ca = district_ca();
    let parent = Parent::start(&ca, db, tolerance(300)).await;
    let child = Child::new(&ca, tolerance(300)).await;
    let a = village_case(&child, 1).await;
    let b = village_case(&child, 2).await;
    assert_eq!(child.store.summary_outbox_len().await.unwrap(), 2);

    let done = push_summaries_once(&child.store, &child.client, &parent.server.url(), 1)
        .await
        .unwrap();
    assert_eq!(
        (done.sent, done.stored, done.dropped),
        (2, 2, 0),
        "two batches of one"
    );
    assert_eq!(child.store.summary_outbox_len().await.unwrap(), 0);
    for case in [&a, &b] {
        assert_eq!(
            parent.store.summary(case.case_id).await.unwrap(),
            child.store.summary(case.case_id).await.unwrap(),
        );
    }
    // The parent holds no case log, only the summaries.
    assert!(parent.store.case(a.case_id).await.unwrap().is_none());

    // A replay (the answer was lost) is acknowledged and changes nothing.
    let summary = child.store.summary(a.case_id).await.unwrap().unwrap();
    let body = json!({ "summaries": [summary] }).to_string();
    let (status, outcome) = post(&child, &parent, body).await;
    assert_eq!(status, 200, "{outcome}");
    let outcome: SummaryOutcome = serde_json::from_value(outcome).unwrap();
    assert_eq!(
        outcome,
        SummaryOutcome {
            stored: 0,
            unchanged: 1
        }
    );
    assert_eq!(held(&parent).await, 2);

    // The next event makes a newer version, which replaces the parent's.
    child
        .store
        .append(&a.delegation(VILLAGE, 20), now())
        .await
        .unwrap();
    let done = push_summaries_once(&child.store, &child.client, &parent.server.url(), 100)
        .await
        .unwrap();
    assert_eq!((done.sent, done.stored), (1, 1));
    assert_eq!(
        parent
            .store
            .summary(a.case_id)
            .await
            .unwrap()
            .unwrap()
            .version,
        3
    );
    let again = push_summaries_once(&child.store, &child.client, &parent.server.url(), 100)
        .await
        .unwrap();
    assert_eq!(again.sent, 0, "nothing left to send");
}

pub async fn a_summary_with_personal_data_is_refused_and_nothing_is_stored(db: Db) {
    let ca = district_ca();
    let parent = Parent::start(&ca, db, tolerance(300)).await;
    let child = Child::new(&ca, tolerance(300)).await;
    let a = village_case(&child, 1).await;
    let b = village_case(&child, 2).await;
    let clean = |case: &CaseBuilder| serde_json::to_value(summary_of(case)).unwrap();
    let (sa, sb) = (clean(&a), clean(&b));
    for (field, value, key) in [
        (
            "applicant",
            json!({"type": "person", "name": "张三", "id_number": "11010519491231002X"}),
            "summaries[1].applicant",
        ),
        (
            "id_number",
            json!("11010519491231002X"),
            "summaries[1].id_number",
        ),
        (
            "contact_phone",
            json!("13812345678"),
            "summaries[1].contact_phone",
        ),
        ("agent_name", json!("李四"), "summaries[1].agent_name"),
    ] {
        let mut dirty = sb.clone();
        dirty[field] = value;
        let body = json!({ "summaries": [sa.clone(), dirty] }).to_string();
        let (status, problem) = post(&child, &parent, body).await;
        assert_eq!(status, 422, "{problem}");
        assert_eq!(problem["code"], "sync.summary_personal_data");
        assert_eq!(problem["key"], key);
        assert_eq!(problem["case_id"], b.case_id.to_string());
        assert!(problem["message_zh"].as_str().unwrap().contains(key));
        assert_eq!(
            held(&parent).await,
            0,
            "nothing stored, not even the clean one"
        );
    }
    // Nested deep inside a summary, too.
    let mut nested = sa.clone();
    nested["suspensions"] = json!([{"from": "2026-02-10T09:00:00+08:00", "recipient": "张三"}]);
    let (status, problem) = post(
        &child,
        &parent,
        json!({ "summaries": [nested] }).to_string(),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(problem["key"], "summaries[0].suspensions[0].recipient");
    assert_eq!(held(&parent).await, 0);
    assert_eq!(
        parent.store.summary_counts().refused(),
        9,
        "four batches of two, one of one"
    );
}

/// The summary the child holds for a [`village_case`], as it would push it.
fn summary_of(case: &CaseBuilder) -> CaseSummary {
    CaseSummary::from_state(
        &fold(&[case.application(), case.complete_review(VILLAGE, 10)]).unwrap(),
    )
    .dated(&calendar())
}

pub async fn summaries_outside_the_callers_subtree_or_malformed_are_refused(db: Db) {
    let ca = district_ca();
    let parent = Parent::start(&ca, db, tolerance(300)).await;
    let child = Child::new(&ca, tolerance(300)).await;
    let mine = village_case(&child, 1).await;
    let sibling = CaseBuilder::at_station(SIBLING, 1);
    let theirs = CaseSummary::from_state(&fold(&[sibling.application()]).unwrap());
    let body = json!({ "summaries": [summary_of(&mine), theirs] }).to_string();
    let (status, problem) = post(&child, &parent, body).await;
    assert_eq!(status, 403, "{problem}");
    assert_eq!(problem["code"], "sync.outside_subtree");
    assert_eq!(problem["case_id"], sibling.case_id.to_string());
    assert_eq!(held(&parent).await, 0);

    // Not JSON; JSON of the wrong shape; an unknown field; a case number of another station;
    // too many at once.
    let (status, problem) = post(&child, &parent, "{\"summaries\": [".into()).await;
    assert_eq!(status, 400, "{problem}");
    let (status, problem) = post(&child, &parent, json!({"summaries": 3}).to_string()).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (422, Some("sync.summary_invalid"))
    );
    let mut unknown = serde_json::to_value(summary_of(&mine)).unwrap();
    unknown["remarks"] = json!("x");
    let (status, problem) = post(
        &child,
        &parent,
        json!({ "summaries": [unknown] }).to_string(),
    )
    .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (422, Some("sync.summary_invalid"))
    );
    let mut forged = summary_of(&mine);
    forged.case_no = sibling.case_no;
    let (status, problem) = post(
        &child,
        &parent,
        json!({ "summaries": [forged] }).to_string(),
    )
    .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (422, Some("summary.case_number"))
    );
    let many: Vec<_> = (0..501).map(|_| summary_of(&mine)).collect();
    let (status, problem) = post(&child, &parent, json!({ "summaries": many }).to_string()).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (413, Some("sync.batch_too_large"))
    );
    assert_eq!(held(&parent).await, 0);
}

pub async fn a_summary_refused_for_good_leaves_the_queue_and_the_others_flow_on(db: Db) {
    let ca = district_ca();
    let parent = Parent::start(&ca, db, tolerance(300)).await;
    let child = Child::new(&ca, tolerance(300)).await;
    // A sibling's summary the village should never hold, queued as if relayed: the town
    // refuses it, and the village's own summary behind it still goes up.
    let sibling = CaseBuilder::at_station(SIBLING, 1);
    let stray = CaseSummary::from_state(&fold(&[sibling.application()]).unwrap());
    child.store.store_summaries(&[stray], now()).await.unwrap();
    let mine = village_case(&child, 1).await;
    assert_eq!(child.store.summary_outbox_len().await.unwrap(), 2);
    let done = push_summaries_once(&child.store, &child.client, &parent.server.url(), 100)
        .await
        .unwrap();
    assert_eq!((done.sent, done.dropped), (1, 1));
    assert_eq!(child.store.summary_outbox_len().await.unwrap(), 0);
    assert!(parent.store.summary(mine.case_id).await.unwrap().is_some());
    assert!(
        parent
            .store
            .summary(sibling.case_id)
            .await
            .unwrap()
            .is_none()
    );
}
