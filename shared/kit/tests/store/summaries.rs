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

/// The `sum` digest rows, by origin and day.
async fn sum_digests(store: &CaseStore) -> Vec<(String, i64, i64, i64)> {
    sqlx::query(
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
    .collect()
}

fn with_version(mut summary: CaseSummary, version: u64) -> CaseSummary {
    summary.version = version;
    summary
}

pub async fn summary_digests_follow_each_stored_version_and_are_filled_when_opened(
    store: CaseStore,
) {
    use bangban_kit::store::digests::{DigestSide, Lane, summary_hash};
    let a = CaseBuilder::at_station(VILLAGE, 1);
    let b = CaseBuilder::at_station(SIBLING, 1);
    let (sa, sb) = (
        summary_after(&[a.application()]),
        summary_after(&[b.application()]),
    );
    store
        .store_summaries(&[with_version(sa.clone(), 2), sb.clone()], now())
        .await
        .unwrap();
    // An older version changes nothing; a newer one swaps its hash.
    store
        .store_summaries(&[with_version(sa.clone(), 1)], now())
        .await
        .unwrap();
    store
        .store_summaries(&[with_version(sa.clone(), 5)], now())
        .await
        .unwrap();
    let (ia, ib) = (a.case_id.to_string(), b.case_id.to_string());
    let day = 20_260_210;
    assert_eq!(
        sum_digests(&store).await,
        vec![
            (VILLAGE.to_owned(), day, 1, summary_hash(&ia, 5)),
            (SIBLING.to_owned(), day, 1, summary_hash(&ib, 1)),
        ],
        "ordered by origin: the village's code sorts first"
    );
    // The cases level of the lane reads the same versions; a subtree sees its own only.
    let cases = store
        .lane_case_digests(Lane::Summaries, DigestSide::Child(code(VILLAGE)), day)
        .await
        .unwrap();
    assert_eq!(cases.len(), 1);
    assert_eq!(cases[0].case_id, ia);
    assert_eq!(cases[0].digest.x, summary_hash(&ia, 5) as u64);
    let town = store
        .lane_digests_by(
            Lane::Summaries,
            DigestSide::Child(code(TOWN)),
            (0, 99_999_999),
            |_| 0,
        )
        .await
        .unwrap();
    assert_eq!(town[&0].n, 2);
    assert_eq!(
        town[&0].x,
        (summary_hash(&ia, 5) ^ summary_hash(&ib, 1)) as u64
    );

    // A database whose summaries predate their digests gets them when opened.
    let kept = sum_digests(&store).await;
    sqlx::query("DELETE FROM sync_digests WHERE scope = 'sum'")
        .execute(store.db().pool())
        .await
        .unwrap();
    sqlx::query("UPDATE case_summaries SET case_day = CAST(substr(case_no, 14, 8) AS BIGINT)")
        .execute(store.db().pool())
        .await
        .unwrap();
    store.db().migrate().await.unwrap();
    assert_eq!(sum_digests(&store).await, kept);
}

/// Writers racing on one new case (several connections, several versions) leave the digest of
/// exactly the newest version: the held version is read under a lock.
pub async fn racing_summary_writers_leave_one_digest(store: CaseStore) {
    use bangban_kit::store::digests::summary_hash;
    let a = CaseBuilder::at_station(VILLAGE, 1);
    let base = summary_after(&[a.application()]);
    let mut tasks = Vec::new();
    for writer in 0..6u64 {
        let store = store.clone();
        let base = base.clone();
        tasks.push(tokio::spawn(async move {
            for v in 1..=4u64 {
                let version = 1 + (v * 7 + writer * 3) % 9;
                store
                    .store_summaries(&[with_version(base.clone(), version)], now())
                    .await
                    .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let held = store.summary(a.case_id).await.unwrap().unwrap().version;
    assert_eq!(held, 9, "the newest version written");
    assert_eq!(
        sum_digests(&store).await,
        vec![(
            VILLAGE.to_owned(),
            20_260_210,
            1,
            summary_hash(&a.case_id.to_string(), 9)
        )]
    );
}

pub async fn gaps_in_case_numbers_are_those_held_neither_as_summary_nor_as_case(store: CaseStore) {
    use bangban_kit::store::NumberGap;
    let summary_of = |station: &str, seq: u32| {
        let case = CaseBuilder::at_station(station, seq);
        summary_after(&[case.application()])
    };
    // The village: 1, 2, 4 and 6 as summaries, 5 as a case held here; 3 is missing.
    let mut summaries: Vec<CaseSummary> = [1, 2, 4, 6]
        .into_iter()
        .map(|seq| summary_of(VILLAGE, seq))
        .collect();
    // The sibling: 1 to 3, none missing. A village of another town: 2 of 1 and 3.
    summaries.extend((1..=3).map(|seq| summary_of(SIBLING, seq)));
    summaries.extend([1, 3].map(|seq| summary_of(OTHER_TOWN_VILLAGE, seq)));
    store.store_summaries(&summaries, now()).await.unwrap();
    let held_as_case = CaseBuilder::at_station(VILLAGE, 5);
    store
        .append(&held_as_case.application(), now())
        .await
        .unwrap();

    let (from, to) = (20_260_201, 20_260_228);
    let gaps = store.number_gaps(code(TOWN), from, to, 10).await.unwrap();
    assert_eq!(
        gaps,
        vec![NumberGap {
            station: code(VILLAGE),
            day: 20_260_210,
            missing: vec![3],
            missing_total: 1,
        }]
    );
    assert_eq!(
        store.number_gap_count(code(TOWN), from, to).await.unwrap(),
        1
    );
    // The district sees both towns; the limit bounds the list.
    let all = store
        .number_gaps(code(DISTRICT), from, to, 10)
        .await
        .unwrap();
    assert_eq!(all.len(), 2);
    assert!(
        all.iter()
            .any(|g| g.station == code(OTHER_TOWN_VILLAGE) && g.missing == [2])
    );
    assert_eq!(
        store
            .number_gap_count(code(DISTRICT), from, to)
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        store
            .number_gaps(code(DISTRICT), from, to, 1)
            .await
            .unwrap()
            .len(),
        1
    );
    // Outside the window of days, nothing.
    assert!(
        store
            .number_gaps(code(TOWN), 20_260_211, to, 10)
            .await
            .unwrap()
            .is_empty()
    );
    // The missing summary arrives: no gap left in the town's subtree.
    store
        .store_summaries(&[summary_of(VILLAGE, 3)], now())
        .await
        .unwrap();
    assert!(
        store
            .number_gaps(code(TOWN), from, to, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.number_gap_count(code(TOWN), from, to).await.unwrap(),
        0
    );
}
