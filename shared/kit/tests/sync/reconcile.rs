//! Reconciliation between a village and its town over real mutual TLS, the town's store on
//! either backend: a check with nothing to repair is one small request; each kind of divergence
//! (an event the parent lacks, a whole case it lacks, an event the child lacks, a child restored
//! from nothing) is found, repaired through the normal paths, recorded and reported; what is
//! merely in transit is not counted; and forged requests are refused and change nothing.

use bangban_domain::station::Tier;
use bangban_kit::db::Db;
use bangban_kit::reconcile::run_once;
use bangban_kit::store::CaseStore;
use bangban_kit::store::digests::DigestSide;
use bangban_kit::store::digests::Lane;
use bangban_kit::sync::client::{LinkOptions, pull_once, push_once};
use bangban_kit::sync::summaries::push_summaries_once;
use sqlx::Row;

use crate::support::*;

fn quick() -> LinkOptions {
    LinkOptions {
        pull_wait_secs: 0,
        ..LinkOptions::default()
    }
}

async fn sync(parent: &Parent, child: &Child) {
    let url = parent.server.url();
    while push_once(&child.store, &child.client, &url, 500)
        .await
        .unwrap()
        > 0
    {}
    while pull_once(&child.store, &child.client, &url, &quick())
        .await
        .unwrap()
        > 0
    {}
    // Last: what was pulled changed the summaries of the village's cases.
    push_summaries_once(&child.store, &child.client, &url, 500)
        .await
        .unwrap();
}

async fn reconcile(parent: &Parent, child: &Child) -> bangban_kit::reconcile::Outcome {
    let mut lines = Vec::new();
    let mut progress = |p: &str| lines.push(p.to_owned());
    run_once(
        &child.store,
        &child.client,
        &parent.server.url(),
        code(VILLAGE),
        None,
        &mut progress,
    )
    .await
    .unwrap()
}

/// The whole-set digests of both sides of the link.
async fn roots(parent: &Parent, child: &Child) -> (u64, u64) {
    let all = |s: &CaseStore, side| {
        let s = s.clone();
        async move {
            s.digests_by(side, (0, 99_999_999), |_| 0)
                .await
                .unwrap()
                .get(&0)
                .map_or(0, |d| d.n)
        }
    };
    (
        all(&child.store, DigestSide::Up).await,
        all(&parent.store, DigestSide::Child(code(VILLAGE))).await,
    )
}

/// Forgets that the outbox held these events, as a lost acknowledgement would.
async fn lose_from_outbox(store: &CaseStore, events: &[bangban_domain::event::Event]) {
    for ev in events {
        sqlx::query("DELETE FROM outbox WHERE event_id = $1")
            .bind(ev.event_id.to_string())
            .execute(store.db().pool())
            .await
            .unwrap();
    }
}

pub async fn a_check_without_differences_is_one_small_request(db: Db) {
    let ca = district_ca();
    let parent = Parent::start(&ca, db, tolerance(86_400)).await;
    let child = Child::new(&ca, tolerance(86_400)).await;
    let cases: Vec<_> = (1..=20).map(new_case).collect();
    for case in &cases {
        append_all(&child.store, &case.escalated()).await;
    }
    // A case that never went up is not the parent's business.
    append_all(&child.store, &[new_case(21).application()]).await;
    sync(&parent, &child).await;
    for case in cases.iter().step_by(2) {
        append_all(&parent.store, &[case.accepted(10)]).await;
    }
    sync(&parent, &child).await;
    assert_eq!(roots(&parent, &child).await, (90, 90));

    let outcome = reconcile(&parent, &child).await;
    assert!(outcome.run.ok);
    // One request per lane: the events, then the summaries.
    assert_eq!(outcome.run.requests, 2, "{:?}", outcome.run);
    assert!(outcome.run.bytes < 800, "{:?}", outcome.run);
    assert!(outcome.repairs.is_empty());
    assert_eq!(outcome.run.detail, "no difference");
    // Recorded here, and reported to the parent.
    let here = child.store.reconcile_runs(None, 0, 10).await.unwrap();
    assert_eq!(here.len(), 1);
    assert_eq!(here[0].1.peer, "parent");
    let there = parent.store.reconcile_runs(None, 0, 10).await.unwrap();
    assert_eq!(there.len(), 1);
    assert_eq!(there[0].1.peer, VILLAGE);
    assert_eq!(there[0].1.requests, 2);
}

pub async fn every_kind_of_divergence_is_found_repaired_and_recorded(db: Db) {
    let ca = district_ca();
    let parent = Parent::start(&ca, db, tolerance(86_400)).await;
    let child = Child::new(&ca, tolerance(86_400)).await;
    let cases: Vec<_> = (1..=6).map(new_case).collect();
    for case in &cases {
        append_all(&child.store, &case.escalated()).await;
    }
    sync(&parent, &child).await;

    // 1. An event of the village that the town never got (its acknowledgement was lost).
    let lost_up = cases[1].comment(VILLAGE, 5, "补充说明");
    append_all(&child.store, std::slice::from_ref(&lost_up)).await;
    lose_from_outbox(&child.store, std::slice::from_ref(&lost_up)).await;
    // 2. A whole case the town never got.
    let whole = new_case(7);
    let whole_log = whole.escalated();
    append_all(&child.store, &whole_log).await;
    lose_from_outbox(&child.store, &whole_log).await;
    // 3. An event of the town that the village passed over (its cursor moved past it).
    let lost_down = cases[2].accepted(10);
    append_all(&parent.store, std::slice::from_ref(&lost_down)).await;
    let position = parent.store.last_seq().await.unwrap();
    let mut tx = child.store.begin_append().await.unwrap();
    tx.save_cursor("parent", position, now()).await.unwrap();
    tx.commit().await.unwrap();
    // Nothing in any queue: without reconciliation these stay lost.
    assert_eq!(child.store.outbox_len().await.unwrap(), 0);
    sync(&parent, &child).await;
    assert!(child.store.events(cases[2].case_id).await.unwrap().len() == 4);

    let outcome = reconcile(&parent, &child).await;
    assert!(outcome.run.ok, "{:?}", outcome.run);
    assert_eq!(outcome.run.cases_checked, 3, "{:?}", outcome.run);
    assert_eq!(outcome.run.sent_up, 1 + 4, "{:?}", outcome.run);
    assert_eq!(outcome.run.fetched_down, 1, "{:?}", outcome.run);
    assert_eq!(outcome.run.unrepairable, 0);
    let recorded = child.store.reconcile_repairs(outcome.run_id).await.unwrap();
    assert_eq!(recorded.len(), 6);
    assert!(
        recorded
            .iter()
            .any(|r| r.event_id == Some(lost_up.event_id) && r.direction == "up")
    );
    assert!(
        recorded
            .iter()
            .any(|r| r.event_id == Some(lost_down.event_id) && r.direction == "down")
    );
    // The village has the town's event now; what the town lacks is queued, in log order.
    assert_eq!(child.store.events(cases[2].case_id).await.unwrap().len(), 5);
    let queued: Vec<_> = child
        .store
        .outbox_peek(100)
        .await
        .unwrap()
        .into_iter()
        .map(|q| q.event.event_id)
        .collect();
    assert_eq!(queued.len(), 5);
    let whole_ids: Vec<_> = whole_log.iter().map(|e| e.event_id).collect();
    let positions: Vec<usize> = whole_ids
        .iter()
        .map(|id| queued.iter().position(|q| q == id).unwrap())
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");

    // The normal link carries the repairs; then both sides agree in one request.
    sync(&parent, &child).await;
    assert_eq!(parent.store.events(whole.case_id).await.unwrap().len(), 4);
    assert_eq!(
        parent.store.events(cases[1].case_id).await.unwrap().len(),
        5
    );
    let (mine, theirs) = roots(&parent, &child).await;
    assert_eq!(mine, theirs);
    let again = reconcile(&parent, &child).await;
    assert_eq!(again.run.requests, 2, "{:?}", again.run);
    assert!(again.repairs.is_empty());
    // The town recorded both reports.
    let there = parent
        .store
        .reconcile_runs(Some(VILLAGE), 0, 10)
        .await
        .unwrap();
    assert_eq!(there.len(), 2);
    assert_eq!(there[1].1.sent_up, 5, "the older report: {:?}", there[1].1);
}

pub async fn events_in_transit_are_not_counted(db: Db) {
    let ca = district_ca();
    let parent = Parent::start(&ca, db, tolerance(86_400)).await;
    let child = Child::new(&ca, tolerance(86_400)).await;
    let case = new_case(1);
    append_all(&child.store, &case.escalated()).await;
    sync(&parent, &child).await;
    // Queued at the village, not yet pushed; written at the town, not yet pulled.
    append_all(&child.store, &[case.comment(VILLAGE, 5, "稍后上传")]).await;
    append_all(&parent.store, &[case.accepted(10)]).await;
    let outcome = reconcile(&parent, &child).await;
    assert!(outcome.run.ok);
    assert_eq!(outcome.run.cases_checked, 1);
    assert!(outcome.repairs.is_empty(), "{:?}", outcome.repairs);
    assert_eq!(
        child.store.outbox_len().await.unwrap(),
        1,
        "still queued once"
    );
}

pub async fn a_child_restored_from_nothing_gets_its_cases_back(db: Db) {
    let ca = district_ca();
    let parent = Parent::start(&ca, db, tolerance(86_400)).await;
    let old = Child::new(&ca, tolerance(86_400)).await;
    let cases: Vec<_> = (1..=3).map(new_case).collect();
    for case in &cases {
        append_all(&old.store, &case.escalated()).await;
    }
    sync(&parent, &old).await;
    append_all(&parent.store, &[cases[0].accepted(10)]).await;
    append_all(&parent.store, &[cases[0].return_to(TOWN, 11, VILLAGE)]).await;
    drop(old);

    // The same village on an empty database.
    let fresh = Child::new(&ca, tolerance(86_400)).await;
    let outcome = reconcile(&parent, &fresh).await;
    assert!(outcome.run.ok, "{:?}", outcome.run);
    assert_eq!(outcome.run.cases_checked, 3);
    // Its own events (4 per case) are counted as lost here; the town's two are still on their
    // way by the pull.
    assert_eq!(outcome.run.fetched_down, 12, "{:?}", outcome.run);
    assert_eq!(outcome.run.sent_up, 0);
    let (state, events) = fresh.store.case(cases[0].case_id).await.unwrap().unwrap();
    assert_eq!(events.len(), 6);
    assert_eq!(state.holder, code(VILLAGE), "returned to the village");
    assert_eq!(
        fresh.store.outbox_len().await.unwrap(),
        0,
        "nothing sent back up"
    );
    sync(&parent, &fresh).await;
    let again = reconcile(&parent, &fresh).await;
    assert_eq!(again.run.requests, 2, "{:?}", again.run);
}

pub async fn forged_requests_are_refused_and_change_nothing(db: Db) {
    let ca = district_ca();
    let parent = Parent::start(&ca, db, tolerance(86_400)).await;
    let child = Child::new(&ca, tolerance(86_400)).await;
    let mine = new_case(1);
    append_all(&child.store, &mine.escalated()).await;
    sync(&parent, &child).await;
    // A case of the sibling village, stored at the town.
    let theirs = CaseBuilder::at_station(SIBLING, 1);
    for ev in [
        theirs.application(),
        theirs.complete_review(SIBLING, 1),
        theirs.delegation(SIBLING, 2),
        theirs.escalate(SIBLING, 3, Tier::Town),
    ] {
        parent.store.append(&ev, now()).await.unwrap();
    }
    // And its summary, as the sibling pushed it.
    let sibling_log = [
        theirs.application(),
        theirs.complete_review(SIBLING, 1),
        theirs.delegation(SIBLING, 2),
    ];
    let sibling_summary = bangban_domain::summary::CaseSummary::from_state(
        &bangban_domain::case::fold(&sibling_log).unwrap(),
    );
    parent
        .store
        .store_summaries(&[sibling_summary], now())
        .await
        .unwrap();
    let day = bangban_kit::store::digests::case_day(&theirs.case_no);
    let events_before = parent.store.last_seq().await.unwrap();
    let summaries_before = summary_rows(&parent.store).await;
    let url = parent.server.url();
    let post = |body: serde_json::Value| {
        let mut u = url.clone();
        u.set_path("/v1/reconcile");
        child.client.post(u).json(&body).send()
    };
    let x = "0123456789abcdef";
    let cases = [
        (
            serde_json::json!({"level": "days", "within": 202611, "digests": [{"key": "20261201", "n": 1, "x": x}]}),
            400,
            "reconcile.range",
        ),
        (
            serde_json::json!({"level": "months", "digests": [{"key": "202699", "n": 1, "x": x}]}),
            400,
            "reconcile.range",
        ),
        (
            serde_json::json!({"level": "cases", "within": 20261345, "digests": []}),
            400,
            "reconcile.range",
        ),
        (
            serde_json::json!({"level": "root", "digests": [{"key": "all", "n": 1, "x": "abc"}]}),
            400,
            "reconcile.digest",
        ),
        (
            serde_json::json!({"level": "root", "digests": [{"key": "all", "n": 1, "x": "0123456789abcdef00"}]}),
            400,
            "reconcile.digest",
        ),
        (
            serde_json::json!({"level": "cases", "within": day, "digests": [{"key": theirs.case_id.to_string(), "n": 4, "x": x}]}),
            403,
            "sync.outside_subtree",
        ),
        (
            serde_json::json!({"level": "everything", "digests": []}),
            422,
            "",
        ),
        // The summaries lane: the same checks, and a lane that does not exist.
        (
            serde_json::json!({"lane": "gossip", "level": "root", "digests": []}),
            422,
            "",
        ),
        (
            serde_json::json!({"lane": 1, "level": "root", "digests": []}),
            400,
            "",
        ),
        (
            serde_json::json!({"lane": "summaries", "level": "days", "within": 202611, "digests": [{"key": "20261201", "n": 1, "x": x}]}),
            400,
            "reconcile.range",
        ),
        (
            serde_json::json!({"lane": "summaries", "level": "root", "within": 202611, "digests": []}),
            400,
            "reconcile.range",
        ),
        (
            serde_json::json!({"lane": "summaries", "level": "root", "digests": [{"key": "all", "n": 1, "x": "abc"}]}),
            400,
            "reconcile.digest",
        ),
        (
            serde_json::json!({"lane": "summaries", "level": "cases", "within": day, "digests": [{"key": theirs.case_id.to_string(), "n": 1, "x": x}]}),
            403,
            "sync.outside_subtree",
        ),
    ];
    for (body, status, code) in cases {
        let res = post(body.clone()).await.unwrap();
        assert_eq!(res.status().as_u16(), status, "{body}");
        assert_eq!(
            res.headers()["content-type"],
            "application/problem+json",
            "{body}"
        );
        let problem: serde_json::Value = res.json().await.unwrap();
        if !code.is_empty() {
            assert_eq!(problem["code"], code, "{body}");
        }
    }
    // The sibling's log is not served either.
    let mut u = url.clone();
    u.set_path(&format!("/v1/reconcile/cases/{}", theirs.case_id));
    let res = child.client.get(u).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 403);
    // A report with negative counts.
    let mut u = url.clone();
    u.set_path("/v1/reconcile/report");
    let res = child
        .client
        .post(u)
        .json(&serde_json::json!({"run": {"peer": "x", "started_at_ms": 1, "finished_at_ms": 2, "ok": true,
            "requests": -1, "bytes": 0, "cases_checked": 0, "sent_up": 0, "fetched_down": 0,
            "unrepairable": 0, "detail": ""}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 400);

    // Nothing changed at the town.
    assert_eq!(parent.store.last_seq().await.unwrap(), events_before);
    assert_eq!(summary_rows(&parent.store).await, summaries_before);
    assert!(
        parent
            .store
            .reconcile_runs(None, 0, 10)
            .await
            .unwrap()
            .is_empty()
    );
    // The real child's own check still works (the control).
    let outcome = reconcile(&parent, &child).await;
    assert_eq!(outcome.run.requests, 2);
}

/// Every summary held, with its version, and the `sum` digest rows.
async fn summary_rows(store: &CaseStore) -> (Vec<(String, i64)>, Vec<(String, i64, i64, i64)>) {
    let held = sqlx::query("SELECT case_id, version FROM case_summaries ORDER BY case_id")
        .fetch_all(store.db().pool())
        .await
        .unwrap()
        .iter()
        .map(|r| (r.try_get("case_id").unwrap(), r.try_get("version").unwrap()))
        .collect();
    let digests = sqlx::query(
        "SELECT origin, day, n, x FROM sync_digests WHERE scope = 'sum' ORDER BY origin, day",
    )
    .fetch_all(store.db().pool())
    .await
    .unwrap()
    .iter()
    .map(|r| {
        (
            r.try_get("origin").unwrap(),
            r.try_get("day").unwrap(),
            r.try_get("n").unwrap(),
            r.try_get("x").unwrap(),
        )
    })
    .collect();
    (held, digests)
}

/// The whole-set summary digests of both sides of the link: all of the child's, the parent's
/// of the child's subtree.
async fn summary_roots(
    parent: &Parent,
    child: &Child,
) -> (
    Option<bangban_kit::store::digests::Digest>,
    Option<bangban_kit::store::digests::Digest>,
) {
    let all = |s: &CaseStore, side| {
        let s = s.clone();
        async move {
            s.lane_digests_by(Lane::Summaries, side, (0, 99_999_999), |_| 0)
                .await
                .unwrap()
                .get(&0)
                .copied()
        }
    };
    (
        all(&child.store, DigestSide::Up).await,
        all(&parent.store, DigestSide::Child(code(VILLAGE))).await,
    )
}

async fn exec(store: &CaseStore, sql: &str, case_id: bangban_domain::event::CaseId) {
    sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
        .bind(case_id.to_string())
        .execute(store.db().pool())
        .await
        .unwrap();
}

pub async fn summaries_are_reconciled_like_events(db: Db) {
    let ca = district_ca();
    let parent = Parent::start(&ca, db, tolerance(86_400)).await;
    let child = Child::new(&ca, tolerance(86_400)).await;
    let cases: Vec<_> = (1..=4).map(new_case).collect();
    for case in &cases[..2] {
        append_all(&child.store, &case.escalated()).await;
    }
    // Two handled at the village: only their summaries go up.
    for case in &cases[2..] {
        append_all(
            &child.store,
            &[case.application(), case.complete_review(VILLAGE, 1)],
        )
        .await;
    }
    sync(&parent, &child).await;
    let (mine, theirs) = summary_roots(&parent, &child).await;
    assert_eq!(mine.map(|d| d.n), Some(4));
    assert_eq!(mine, theirs, "the pushes keep both sides' digests equal");
    let outcome = reconcile(&parent, &child).await;
    assert_eq!(outcome.run.requests, 2, "{:?}", outcome.run);
    assert!(outcome.repairs.is_empty(), "{:?}", outcome.repairs);

    // 1. A newer version lost on the way: its queue row went before the push.
    append_all(&child.store, &[cases[2].delegation(VILLAGE, 2)]).await;
    exec(
        &child.store,
        "DELETE FROM summary_outbox WHERE case_id = $1",
        cases[2].case_id,
    )
    .await;
    // 2. A summary the town lost (removed with SQL; its digests are rebuilt when reopened).
    exec(
        &parent.store,
        "DELETE FROM case_summaries WHERE case_id = $1",
        cases[3].case_id,
    )
    .await;
    parent.store.db().migrate().await.unwrap();
    // 3. A summary the town holds that the village lost: it cannot come from below.
    exec(
        &child.store,
        "DELETE FROM case_summaries WHERE case_id = $1",
        cases[0].case_id,
    )
    .await;
    child.store.db().migrate().await.unwrap();
    sync(&parent, &child).await;
    assert_eq!(child.store.summary_outbox_len().await.unwrap(), 0);
    assert_ne!(summary_roots(&parent, &child).await.0, mine);

    let outcome = reconcile(&parent, &child).await;
    assert!(outcome.run.ok, "{:?}", outcome.run);
    assert_eq!(
        (
            outcome.run.summaries_sent,
            outcome.run.unrepairable,
            outcome.run.sent_up,
            outcome.run.fetched_down
        ),
        (2, 1, 0, 0),
        "{:?}",
        outcome.run
    );
    assert!(
        outcome
            .run
            .detail
            .contains("summaries: 2 re-sent, 1 unrepairable"),
        "{}",
        outcome.run.detail
    );
    let mut recorded: Vec<_> = child
        .store
        .reconcile_repairs(outcome.run_id)
        .await
        .unwrap()
        .into_iter()
        .map(|r| {
            assert_eq!((r.lane, r.event_id), (Lane::Summaries, None));
            (r.case_id, r.direction)
        })
        .collect();
    recorded.sort();
    let mut expected = vec![
        (cases[0].case_id, "unrepairable"),
        (cases[2].case_id, "up"),
        (cases[3].case_id, "up"),
    ];
    expected.sort();
    assert_eq!(recorded, expected);
    assert_eq!(child.store.summary_outbox_len().await.unwrap(), 2);
    // The town has the report, with its count.
    let there = parent
        .store
        .reconcile_runs(Some(VILLAGE), 0, 1)
        .await
        .unwrap();
    assert_eq!(there[0].1.summaries_sent, 2);

    // The summary-push job carries the repairs.
    let pushed = push_summaries_once(&child.store, &child.client, &parent.server.url(), 100)
        .await
        .unwrap();
    assert_eq!((pushed.sent, pushed.stored), (2, 2));
    assert_eq!(
        parent
            .store
            .summary(cases[2].case_id)
            .await
            .unwrap()
            .map(|s| s.version),
        Some(3)
    );
    assert_eq!(
        parent.store.summary(cases[3].case_id).await.unwrap(),
        child.store.summary(cases[3].case_id).await.unwrap()
    );

    // A newer version still queued is in transit, not a discrepancy; the lost one stays lost.
    append_all(&child.store, &[cases[3].delegation(VILLAGE, 2)]).await;
    let again = reconcile(&parent, &child).await;
    assert_eq!(
        (again.run.summaries_sent, again.run.unrepairable),
        (0, 1),
        "{:?}",
        again.run
    );
    assert_eq!(child.store.summary_outbox_len().await.unwrap(), 1);
}

/// A database written before digests existed gets them when opened, equal to those kept by
/// the appends.
pub async fn digests_of_an_older_database_are_filled_when_opened(db: Db) {
    let ca = district_ca();
    let parent = Parent::start(&ca, db.clone(), tolerance(86_400)).await;
    let child = Child::new(&ca, tolerance(86_400)).await;
    for seq in 1..=5 {
        append_all(&child.store, &new_case(seq).escalated()).await;
    }
    sync(&parent, &child).await;
    let side = DigestSide::Child(code(VILLAGE));
    let kept = parent
        .store
        .digests_by(side, (0, 99_999_999), |d| d)
        .await
        .unwrap();
    let kept_cases = parent
        .store
        .case_digests(side, *kept.keys().next().unwrap())
        .await
        .unwrap();
    sqlx::query("UPDATE cases SET ev_n = 0, ev_x = 0, case_day = 0")
        .execute(db.pool())
        .await
        .unwrap();
    sqlx::query("DELETE FROM sync_digests")
        .execute(db.pool())
        .await
        .unwrap();
    db.migrate().await.unwrap();
    let filled = parent
        .store
        .digests_by(side, (0, 99_999_999), |d| d)
        .await
        .unwrap();
    assert_eq!(filled, kept);
    let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM cases WHERE ev_n = 0")
        .fetch_one(db.pool())
        .await
        .unwrap()
        .try_get("n")
        .unwrap();
    assert_eq!(n, 0);
    assert_eq!(
        parent
            .store
            .case_digests(side, *kept.keys().next().unwrap())
            .await
            .unwrap(),
        kept_cases
    );
}
