//! Case summaries in the store (run on both backends): written with each event of a case this
//! node is the origin of, whatever path the event came by; replaced only by a newer version;
//! queued for the parent and forgotten only once acknowledged; relayed by a town; listed by
//! subtree and stage, newest first.

use bangban_domain::case::{Stage, fold};
use bangban_domain::event::*;
use bangban_domain::station::Tier;
use bangban_domain::summary::{CaseSummary, SummaryOutcome};
use bangban_kit::node::{NodeMetrics, refresh_gauges};
use bangban_kit::store::{CaseStore, Keyset, SummaryFilter};
use sqlx::Row;

use crate::support::*;

/// Every summary document, as stored.
async fn stored_docs(store: &CaseStore) -> Vec<String> {
    sqlx::query("SELECT doc FROM case_summaries ORDER BY case_id")
        .fetch_all(store.db().pool())
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get::<String, _>("doc").unwrap())
        .collect()
}

async fn queued(store: &CaseStore) -> Vec<(String, i64)> {
    sqlx::query("SELECT case_id, version FROM summary_outbox ORDER BY case_id")
        .fetch_all(store.db().pool())
        .await
        .unwrap()
        .iter()
        .map(|r| (r.try_get("case_id").unwrap(), r.try_get("version").unwrap()))
        .collect()
}

/// The summary after `events`, as their origin writes it.
fn summary_after(events: &[Event]) -> CaseSummary {
    CaseSummary::from_state(&fold(events).unwrap()).dated(&calendar())
}

pub async fn the_summary_of_an_own_case_is_written_with_each_of_its_events(store: CaseStore) {
    let store = store.of_station(code(VILLAGE));
    let case = CaseBuilder::village();
    store.append(&case.application(), now()).await.unwrap();
    let first = store.summary(case.case_id).await.unwrap().unwrap();
    assert_eq!((first.version, first.stage), (1, Stage::Received));
    store
        .append(&case.complete_review(VILLAGE, 10), now())
        .await
        .unwrap();
    store
        .append(&case.delegation(VILLAGE, 20), now())
        .await
        .unwrap();
    let summary = store.summary(case.case_id).await.unwrap().unwrap();
    assert_eq!(summary.version, 3);
    assert_eq!(summary.stage, Stage::Delegated);
    assert_eq!(
        summary,
        summary_after(&[
            case.application(),
            case.complete_review(VILLAGE, 10),
            case.delegation(VILLAGE, 20)
        ]),
        "the summary is the fold's"
    );
    assert!(summary.due_date.is_some(), "dated by the calendar in force");
    // A replayed event changes nothing.
    store.append(&case.application(), now()).await.ok();
    assert_eq!(
        store.summary(case.case_id).await.unwrap().unwrap().version,
        3
    );

    // No personal data in what is stored, and nothing queued without a parent.
    let docs = stored_docs(&store).await;
    assert_eq!(docs.len(), 1);
    for personal in ["张三", "11010519491231002X", "13812345678", "李四"] {
        assert!(!docs[0].contains(personal), "{personal} in {}", docs[0]);
    }
    assert!(queued(&store).await.is_empty());

    // A case taken in elsewhere (a sibling's, stored here as it would be from a child) is not
    // this node's to summarise.
    let other = CaseBuilder::at_station(SIBLING, 2);
    store.append(&other.application(), now()).await.unwrap();
    assert!(store.summary(other.case_id).await.unwrap().is_none());
    // A store that summarises nothing writes none.
    let plain = CaseStore::new(store.db().clone(), calendar());
    let third = CaseBuilder::at_station(VILLAGE, 3);
    plain.append(&third.application(), now()).await.unwrap();
    assert!(plain.summary(third.case_id).await.unwrap().is_none());
}

pub async fn a_summary_is_replaced_by_a_newer_version_only(store: CaseStore) {
    let store = store.of_station(code(TOWN));
    let case = CaseBuilder::village();
    let v1 = summary_after(&[case.application()]);
    let v2 = summary_after(&[case.application(), case.complete_review(VILLAGE, 10)]);
    let v3 = summary_after(&[
        case.application(),
        case.complete_review(VILLAGE, 10),
        case.delegation(VILLAGE, 20),
    ]);
    let outcome = store
        .store_summaries(std::slice::from_ref(&v2), now())
        .await
        .unwrap();
    assert_eq!(
        outcome,
        SummaryOutcome {
            stored: 1,
            unchanged: 0
        }
    );
    // An older version and a replay change nothing.
    let outcome = store
        .store_summaries(&[v1.clone(), v2.clone()], now())
        .await
        .unwrap();
    assert_eq!(
        outcome,
        SummaryOutcome {
            stored: 0,
            unchanged: 2
        }
    );
    assert_eq!(store.summary(case.case_id).await.unwrap().unwrap(), v2);
    let outcome = store
        .store_summaries(std::slice::from_ref(&v3), now())
        .await
        .unwrap();
    assert_eq!(outcome.stored, 1);
    assert_eq!(store.summary(case.case_id).await.unwrap().unwrap(), v3);
    let row = sqlx::query("SELECT stage, version FROM case_summaries WHERE case_id = $1")
        .bind(case.case_id.to_string())
        .fetch_one(store.db().pool())
        .await
        .unwrap();
    assert_eq!(row.try_get::<String, _>("stage").unwrap(), "delegated");
    assert_eq!(row.try_get::<i64, _>("version").unwrap(), 3);
    assert_eq!(store.summary_counts().stored(), 2);
    assert_eq!(store.summary_counts().unchanged(), 2);
    // The district has no parent: nothing queued.
    assert!(queued(&store).await.is_empty());
}

pub async fn the_summary_outbox_keeps_the_latest_version_until_it_is_acknowledged(
    store: CaseStore,
) {
    let store = store.with_uplink(code(VILLAGE));
    let case = CaseBuilder::village();
    store.append(&case.application(), now()).await.unwrap();
    store
        .append(&case.complete_review(VILLAGE, 10), now())
        .await
        .unwrap();
    let id = case.case_id.to_string();
    assert_eq!(
        queued(&store).await,
        vec![(id.clone(), 2)],
        "one row per case"
    );
    let peeked = store.summary_outbox_peek(10).await.unwrap();
    assert_eq!(peeked.len(), 1);
    assert_eq!(peeked[0].version, 2);
    // A newer version is queued while version 2 is in flight: acknowledging 2 leaves it.
    store
        .append(&case.delegation(VILLAGE, 20), now())
        .await
        .unwrap();
    assert_eq!(queued(&store).await, vec![(id.clone(), 3)]);
    assert_eq!(
        store
            .summary_outbox_ack(&[(case.case_id, 2)])
            .await
            .unwrap(),
        0
    );
    assert_eq!(store.summary_outbox_len().await.unwrap(), 1);
    assert_eq!(store.summary_outbox_peek(10).await.unwrap()[0].version, 3);
    let metrics = NodeMetrics::new(code(VILLAGE));
    refresh_gauges(&store, Some(&metrics)).await.unwrap();
    assert!(
        metrics
            .render()
            .contains("bangban_summaries_queued{station=\"410402001001\"} 1"),
        "{}",
        metrics.render()
    );
    assert_eq!(
        store
            .summary_outbox_ack(&[(case.case_id, 3)])
            .await
            .unwrap(),
        1
    );
    assert_eq!(store.summary_outbox_len().await.unwrap(), 0);
    assert!(store.summary_outbox_peek(10).await.unwrap().is_empty());
    refresh_gauges(&store, Some(&metrics)).await.unwrap();
    assert!(
        metrics
            .render()
            .contains("bangban_summaries_queued{station=\"410402001001\"} 0")
    );
}

pub async fn a_summary_follows_the_events_pulled_from_the_parent(store: CaseStore) {
    let store = store.with_uplink(code(VILLAGE));
    let case = CaseBuilder::village();
    for ev in [
        case.application(),
        case.complete_review(VILLAGE, 10),
        case.delegation(VILLAGE, 20),
        case.escalate(VILLAGE, 30, Tier::Town),
    ] {
        store.append(&ev, now()).await.unwrap();
    }
    assert_eq!(
        store
            .summary(case.case_id)
            .await
            .unwrap()
            .unwrap()
            .escalations,
        1
    );
    store
        .summary_outbox_ack(&[(case.case_id, 4)])
        .await
        .unwrap();
    // The town accepts the case; the village learns it by its pull.
    let accepted = case.simple(TOWN, 40, EventKind::AcceptedUpstream);
    store
        .apply_pulled(&[accepted], ("parent", 7), now())
        .await
        .unwrap();
    let summary = store.summary(case.case_id).await.unwrap().unwrap();
    assert_eq!(summary.version, 5);
    assert_eq!(summary.holder, code(TOWN));
    assert_eq!(summary.stage, Stage::InProgress);
    assert_eq!(queued(&store).await, vec![(case.case_id.to_string(), 5)]);
}

pub async fn a_town_relays_the_summaries_its_villages_send(store: CaseStore) {
    let store = store.with_uplink(code(TOWN));
    let a = CaseBuilder::village();
    let b = CaseBuilder::at_station(SIBLING, 1);
    let sa = summary_after(&[a.application()]);
    let sb = summary_after(&[b.application(), b.complete_review(SIBLING, 10)]);
    store
        .store_summaries(&[sa.clone(), sb.clone()], now())
        .await
        .unwrap();
    let mut expected = vec![(a.case_id.to_string(), 1), (b.case_id.to_string(), 2)];
    expected.sort();
    assert_eq!(queued(&store).await, expected);
    let acked: Vec<_> = store
        .summary_outbox_peek(10)
        .await
        .unwrap()
        .iter()
        .map(|s| (s.case_id, s.version))
        .collect();
    assert_eq!(store.summary_outbox_ack(&acked).await.unwrap(), 2);
    // A replay from a village is not relayed again.
    store.store_summaries(&[sa], now()).await.unwrap();
    assert!(queued(&store).await.is_empty());
    // What came and how it fared shows in /metrics.
    store.summary_counts().add_refused(3);
    let metrics = NodeMetrics::new(code(TOWN));
    refresh_gauges(&store, Some(&metrics)).await.unwrap();
    let text = metrics.render();
    for line in [
        "bangban_summaries_received_total{station=\"410402001000\",outcome=\"stored\"} 2",
        "bangban_summaries_received_total{station=\"410402001000\",outcome=\"unchanged\"} 1",
        "bangban_summaries_received_total{station=\"410402001000\",outcome=\"refused\"} 3",
        "bangban_summaries_queued{station=\"410402001000\"} 0",
    ] {
        assert!(text.contains(line), "{line}: {text}");
    }
}

pub async fn summaries_list_by_subtree_and_stage_newest_first(store: CaseStore) {
    let store = store.of_station(code(TOWN));
    let mut all = Vec::new();
    for (i, origin) in [VILLAGE, SIBLING, VILLAGE, OTHER_TOWN_VILLAGE, VILLAGE]
        .into_iter()
        .enumerate()
    {
        let seq = u32::try_from(i).unwrap() + 1;
        let mut case = CaseBuilder::at_station(origin, seq);
        case.at += time::Duration::hours(i64::from(seq));
        let mut events = vec![case.application()];
        if i % 2 == 0 {
            events.push(case.complete_review(origin, 10));
        }
        all.push(summary_after(&events));
    }
    store.store_summaries(&all, now()).await.unwrap();
    // The full case of one of them is held here too.
    let held = CaseBuilder::at_station(VILLAGE, 9);
    store.append(&held.application(), now()).await.unwrap();
    store
        .store_summaries(&[summary_after(&[held.application()])], now())
        .await
        .unwrap();

    let rows = store.summaries(&SummaryFilter::default()).await.unwrap();
    assert_eq!(rows.len(), 6);
    let opened: Vec<_> = rows.iter().map(|r| r.summary.opened_at).collect();
    let mut sorted = opened.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(opened, sorted, "newest first");
    assert_eq!(
        rows.iter().filter(|r| r.held_here).count(),
        1,
        "only the case held here links to it"
    );
    assert!(
        rows.iter()
            .any(|r| r.held_here && r.summary.case_id == held.case_id)
    );

    let village = store
        .summaries(&SummaryFilter {
            subtree: Some(code(VILLAGE)),
            ..SummaryFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(village.len(), 4);
    let town = store
        .summaries(&SummaryFilter {
            subtree: Some(code(TOWN)),
            stage: Some(Stage::Reviewed),
            ..SummaryFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(town.len(), 3, "reviewed, in the town's subtree");

    // Keyset pages of two neither repeat nor skip.
    let mut seen = Vec::new();
    let mut keyset = None;
    loop {
        let page = store
            .summaries(&SummaryFilter {
                keyset: keyset.clone(),
                limit: 2,
                ..SummaryFilter::default()
            })
            .await
            .unwrap();
        if page.is_empty() {
            break;
        }
        keyset = page.last().map(|r| Keyset::After(r.cursor()));
        seen.extend(page.into_iter().map(|r| r.summary.case_id));
    }
    let expected: Vec<_> = rows.iter().map(|r| r.summary.case_id).collect();
    assert_eq!(seen, expected);
    // And back: the page before the last row is the rows newer than it, oldest last.
    let last = rows.last().unwrap().cursor();
    let back = store
        .summaries(&SummaryFilter {
            keyset: Some(Keyset::Before(last)),
            limit: 2,
            ..SummaryFilter::default()
        })
        .await
        .unwrap();
    let back: Vec<_> = back.iter().map(|r| r.summary.case_id).collect();
    assert_eq!(back, expected[3..5].to_vec());
}
