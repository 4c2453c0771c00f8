//! The contract every case store backend keeps. Each function gets a fresh, migrated store.

use bangban_domain::case::{Stage, TransitionError};
use bangban_domain::event::{EventKind, Satisfaction};
use bangban_domain::station::Tier;
use bangban_kit::store::{Appended, CaseFilter, CaseStore, StoreError};
use time::macros::datetime;

use crate::support::*;

pub use crate::gauges::*;
pub use crate::hardening::*;

fn stored(outcome: Appended) -> (i64, Box<bangban_domain::case::CaseState>) {
    match outcome {
        Appended::Stored { seq, state } => (seq, state),
        Appended::Duplicate => panic!("expected a new event, got a duplicate"),
    }
}

pub async fn migrations_are_idempotent(store: CaseStore) {
    store.db().migrate().await.unwrap();
    store.db().migrate().await.unwrap();
    assert_eq!(store.event_count().await.unwrap(), 0);
}

pub async fn opening_event_creates_the_case_and_its_projection(store: CaseStore) {
    let case = CaseBuilder::village();
    let app = case.application();
    let (seq, state) = stored(store.append(&app, now()).await.unwrap());
    assert!(seq >= 1);
    assert_eq!(state.stage, Stage::Received);
    assert_eq!(state.holder, code(VILLAGE));

    let (read, events) = store.case(case.case_id).await.unwrap().unwrap();
    assert_eq!(read, *state);
    assert_eq!(events, vec![app]);

    let list = store.list(&CaseFilter::default()).await.unwrap();
    assert_eq!(list.len(), 1);
    let row = &list[0];
    assert_eq!(row.case_no, case.case_no.to_string());
    assert_eq!(row.stage, "received");
    assert_eq!(row.holder, VILLAGE);
    // Lists never show personal data in full.
    assert_eq!(row.applicant.as_deref(), Some("张*"));
    assert_eq!(
        row.due_date, None,
        "no deadline before the materials are complete"
    );
}

pub async fn storing_the_same_event_twice_is_a_no_op(store: CaseStore) {
    let case = CaseBuilder::village();
    let app = case.application();
    store.append(&app, now()).await.unwrap();
    let review = case.complete_review(VILLAGE, 5);
    store.append(&review, now()).await.unwrap();
    // Replays, even of an event the state machine would now refuse, change nothing.
    for ev in [&app, &review, &app] {
        assert!(matches!(
            store.append(ev, now()).await.unwrap(),
            Appended::Duplicate
        ));
    }
    assert_eq!(store.event_count().await.unwrap(), 2);
    let (state, _) = store.case(case.case_id).await.unwrap().unwrap();
    assert_eq!(state.version, 2);
}

pub async fn reusing_an_event_id_with_other_content_is_refused_and_changes_nothing(
    store: CaseStore,
) {
    let case = CaseBuilder::village();
    store.append(&case.application(), now()).await.unwrap();
    let first = case.comment(VILLAGE, 1, "已电话联系申请人");
    store.append(&first, now()).await.unwrap();
    let mut forged = first.clone();
    forged.body = case.comment(VILLAGE, 1, "另一条内容").body;
    let err = store.append(&forged, now()).await.unwrap_err();
    assert!(matches!(err, StoreError::EventIdReused(id) if id == first.event_id));
    let events = store.events(case.case_id).await.unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(events[1], first);
}

pub async fn illegal_transition_is_refused_and_changes_nothing(store: CaseStore) {
    let case = CaseBuilder::village();
    store.append(&case.application(), now()).await.unwrap();
    let before = store.list(&CaseFilter::default()).await.unwrap();
    // A result cannot be ready for a case whose materials were never reviewed.
    let err = store
        .append(&case.simple(VILLAGE, 1, EventKind::ResultReady), now())
        .await
        .unwrap_err();
    match err {
        StoreError::Transition(TransitionError::Illegal { stage, kind }) => {
            assert_eq!(stage, Stage::Received);
            assert_eq!(kind, EventKind::ResultReady);
        }
        other => panic!("expected an illegal transition, got {other:?}"),
    }
    // A second opening of the same case is refused too.
    let err = store.append(&case.application(), now()).await.unwrap_err();
    assert!(matches!(
        err,
        StoreError::Transition(TransitionError::AlreadyOpen { .. })
    ));
    assert_eq!(store.event_count().await.unwrap(), 1);
    let after = store.list(&CaseFilter::default()).await.unwrap();
    assert_eq!(format!("{before:?}"), format!("{after:?}"));
}

pub async fn only_the_holder_changes_state(store: CaseStore) {
    let case = CaseBuilder::village();
    store.append(&case.application(), now()).await.unwrap();
    let err = store
        .append(&case.complete_review(TOWN, 1), now())
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        StoreError::Transition(TransitionError::NotHolder { .. })
    ));
    // The town is on the origin's path: it may comment.
    store
        .append(&case.comment(TOWN, 2, "街道已关注"), now())
        .await
        .unwrap();
    // A sibling village is not: it may not even comment.
    let err = store
        .append(&case.comment(SIBLING, 3, "x"), now())
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        StoreError::Transition(TransitionError::OutsideChain { .. })
    ));
    assert_eq!(store.event_count().await.unwrap(), 2);
}

pub async fn lifecycle_updates_holder_stage_and_due_date(store: CaseStore) {
    let case = CaseBuilder::village();
    let steps = vec![
        case.application(),
        case.complete_review(VILLAGE, 10),
        case.delegation(VILLAGE, 20),
        case.escalate(VILLAGE, 30, Tier::District),
        case.simple(DISTRICT, 40, EventKind::AcceptedUpstream),
        case.simple(DISTRICT, 50, EventKind::ResultReady),
        case.return_to(DISTRICT, 60, VILLAGE),
        case.simple(VILLAGE, 70, EventKind::HandedOver),
        case.simple(VILLAGE, 80, EventKind::Completed),
    ];
    let expected = [
        (VILLAGE, "received"),
        (VILLAGE, "reviewed"),
        (VILLAGE, "delegated"),
        (DISTRICT, "escalated"),
        (DISTRICT, "in_progress"),
        (DISTRICT, "result_ready"),
        (VILLAGE, "result_ready"),
        (VILLAGE, "handed_over"),
        (VILLAGE, "completed"),
    ];
    let mut last_seq = 0;
    for (ev, (holder, stage)) in steps.iter().zip(expected) {
        let (seq, _) = stored(store.append(ev, now()).await.unwrap());
        assert!(seq > last_seq, "sequence numbers grow");
        last_seq = seq;
        let row = store.list(&CaseFilter::default()).await.unwrap().remove(0);
        assert_eq!((row.holder.as_str(), row.stage.as_str()), (holder, stage));
    }
    // Accepted Tue 2026-02-10 (complete review), 5 working days: Wed 11, Thu 12, Fri 13,
    // Sat 14 (make-up working day), then the Spring Festival (15-23 off): Tue 24.
    let row = store.list(&CaseFilter::default()).await.unwrap().remove(0);
    assert_eq!(row.due_date.as_deref(), Some("2026-02-24"));
    let (state, events) = store.case(case.case_id).await.unwrap().unwrap();
    assert_eq!(events.len(), steps.len());
    assert_eq!(state.accepted_at, Some(datetime!(2026-02-10 09:10 +8)));
    assert_eq!(state.escalations, 1);
    // After completion anyone on the path may record the evaluation.
    store
        .append(
            &case.event(
                TOWN,
                90,
                bangban_domain::event::EventBody::Evaluated(bangban_domain::event::Evaluation {
                    level: Satisfaction::VerySatisfied,
                    comment: None,
                }),
            ),
            now(),
        )
        .await
        .unwrap();
}

pub async fn lists_filter_by_subtree_holder_and_stage(store: CaseStore) {
    let a = CaseBuilder::at_station(VILLAGE, 1);
    let b = CaseBuilder::at_station(SIBLING, 1);
    let c = CaseBuilder::at_station(OTHER_TOWN_VILLAGE, 1);
    for case in [&a, &b, &c] {
        store.append(&case.application(), now()).await.unwrap();
    }
    store
        .append(&b.complete_review(SIBLING, 1), now())
        .await
        .unwrap();

    let count = |f: CaseFilter| {
        let store = store.clone();
        async move { store.list(&f).await.unwrap().len() }
    };
    assert_eq!(count(CaseFilter::default()).await, 3);
    let subtree = |s: &str| CaseFilter {
        subtree: Some(code(s)),
        ..Default::default()
    };
    assert_eq!(count(subtree(DISTRICT)).await, 3);
    assert_eq!(count(subtree(TOWN)).await, 2);
    assert_eq!(count(subtree(VILLAGE)).await, 1);
    assert_eq!(count(subtree("410402002000")).await, 1);
    assert_eq!(
        count(CaseFilter {
            holder: Some(code(SIBLING)),
            ..Default::default()
        })
        .await,
        1
    );
    assert_eq!(
        count(CaseFilter {
            stage: Some("reviewed".into()),
            ..Default::default()
        })
        .await,
        1
    );
    assert_eq!(
        count(CaseFilter {
            limit: 2,
            ..Default::default()
        })
        .await,
        2
    );
    assert_eq!(
        count(CaseFilter {
            limit: 2,
            offset: 2,
            ..Default::default()
        })
        .await,
        1
    );
    // Search by a piece of the case number or of the item's name; wildcards are literal.
    let search = |text: &str| CaseFilter {
        search: Some(text.to_owned()),
        ..Default::default()
    };
    assert_eq!(
        count(search(VILLAGE)).await,
        1,
        "the origin's code is in the number"
    );
    assert_eq!(count(search("410402001")).await, 2);
    assert_eq!(count(search("食品经营")).await, 3);
    assert_eq!(count(search("%")).await, 0);
    assert_eq!(count(search("_")).await, 0);
    assert_eq!(count(search("不存在的事项")).await, 0);
}

pub async fn case_numbers_count_per_station_and_day(store: CaseStore) {
    let day1 = datetime!(2026-03-02 10:00 +8);
    // 23:30 UTC on Mar 2 is already Mar 3 in China.
    let day2 = datetime!(2026-03-02 23:30 UTC);
    let n1 = store.next_case_number(code(VILLAGE), day1).await.unwrap();
    let n2 = store.next_case_number(code(VILLAGE), day1).await.unwrap();
    let other = store.next_case_number(code(SIBLING), day1).await.unwrap();
    let next_day = store.next_case_number(code(VILLAGE), day2).await.unwrap();
    assert_eq!(n1.to_string(), "410402001001-20260302-0001");
    assert_eq!(n2.to_string(), "410402001001-20260302-0002");
    assert_eq!(other.to_string(), "410402001002-20260302-0001");
    assert_eq!(next_day.to_string(), "410402001001-20260303-0001");
}

pub async fn concurrent_appends_to_one_case_are_all_kept_in_order(store: CaseStore) {
    let case = CaseBuilder::village();
    store.append(&case.application(), now()).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..20 {
        let store = store.clone();
        let ev = case.comment(VILLAGE, i + 1, &format!("备注 {i}"));
        tasks.push(tokio::spawn(async move { store.append(&ev, now()).await }));
    }
    for t in tasks {
        assert!(matches!(t.await.unwrap().unwrap(), Appended::Stored { .. }));
    }
    let (state, events) = store.case(case.case_id).await.unwrap().unwrap();
    assert_eq!(events.len(), 21);
    assert_eq!(state.version, 21);
}

pub async fn unknown_case_reads_as_none(store: CaseStore) {
    let case = CaseBuilder::village();
    assert!(store.case(case.case_id).await.unwrap().is_none());
    assert!(store.events(case.case_id).await.unwrap().is_empty());
}

pub async fn the_day_counts_what_a_station_must_see_today(store: CaseStore) {
    let fresh = CaseBuilder::at_station(VILLAGE, 1);
    let reviewed = CaseBuilder::at_station(VILLAGE, 2);
    let away = CaseBuilder::at_station(VILLAGE, 3);
    let events = [
        fresh.application(),
        reviewed.application(),
        reviewed.complete_review(VILLAGE, 1),
        away.application(),
        away.complete_review(VILLAGE, 1),
        away.delegation(VILLAGE, 2),
        away.escalate(VILLAGE, 3, Tier::Town),
    ];
    for ev in &events {
        store.append(ev, now()).await.unwrap();
    }
    let held = store
        .list(&CaseFilter {
            holder: Some(code(VILLAGE)),
            stage: Some("reviewed".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let due = held[0]
        .due_date
        .clone()
        .expect("a reviewed case runs to a due date");
    let day_after = time::Date::parse(
        &due,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .unwrap()
    .next_day()
    .unwrap()
    .to_string();
    let counts = |me: &'static str, since: i64, today: String, soon: String| {
        let store = store.clone();
        async move {
            store
                .day_counts(code(me), since, &today, &soon)
                .await
                .unwrap()
        }
    };
    let long_ago = "2000-01-01".to_owned();
    let village = counts(VILLAGE, 0, long_ago.clone(), long_ago.clone()).await;
    // Held here: the fresh and the reviewed case; the escalated one is the town's now.
    assert_eq!(
        (
            village.new_today,
            village.due_soon,
            village.overdue,
            village.away
        ),
        (2, 0, 0, 1)
    );
    let on_the_day = counts(VILLAGE, 0, due.clone(), due.clone()).await;
    assert_eq!((on_the_day.due_soon, on_the_day.overdue), (1, 0));
    let late = counts(VILLAGE, 0, day_after.clone(), day_after).await;
    assert_eq!((late.due_soon, late.overdue), (0, 1));
    assert_eq!(
        counts(VILLAGE, i64::MAX, long_ago.clone(), long_ago.clone())
            .await
            .new_today,
        0
    );
    let town = counts(TOWN, 0, long_ago.clone(), long_ago).await;
    assert_eq!((town.new_today, town.away), (1, 0));
}

/// An `attachment_added` event writes one row of the `attachments` table in its own
/// transaction; a replay, or the same file added again, adds none; a file belongs to the case
/// it was added to only.
pub async fn attachments_are_projected_from_their_events_once(store: CaseStore) {
    let case = CaseBuilder::village();
    let other = CaseBuilder::at_station(VILLAGE, 2);
    store.append(&case.application(), now()).await.unwrap();
    store.append(&other.application(), now()).await.unwrap();
    let scan = b"%PDF-1.7 scan of the household register";
    let added = case.attachment(VILLAGE, 1, scan, "户口簿");
    store.append(&added, now()).await.unwrap();
    assert!(matches!(
        store.append(&added, now()).await.unwrap(),
        Appended::Duplicate
    ));
    // The same bytes again on the same case (another event): still one row.
    store
        .append(&case.attachment(VILLAGE, 2, scan, "户口簿"), now())
        .await
        .unwrap();
    let rows = store.case_attachments(case.case_id).await.unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    let row = &rows[0];
    let hash = bangban_kit::attachments::sha256(scan);
    assert_eq!(row.sha256, hash);
    assert_eq!(row.case_id, case.case_id);
    assert_eq!(row.size, scan.len() as u64);
    assert_eq!(row.file_name, "户口簿.pdf");
    assert_eq!(row.material.as_deref(), Some("户口簿"));
    assert_eq!(row.station, code(VILLAGE));
    assert_eq!(row.uploaded_by, added.actor);
    assert_eq!(
        bangban_kit::store::to_ms(row.uploaded_at),
        bangban_kit::store::to_ms(added.occurred_at)
    );
    assert!(!row.stripped);
    assert_eq!(
        store.case_attachment(case.case_id, &hash).await.unwrap(),
        Some(row.clone())
    );
    // The other case does not have it, until it is added there too.
    assert_eq!(
        store.case_attachment(other.case_id, &hash).await.unwrap(),
        None
    );
    assert!(
        store
            .case_attachments(other.case_id)
            .await
            .unwrap()
            .is_empty()
    );
    store
        .append(&other.attachment(VILLAGE, 3, scan, "身份证"), now())
        .await
        .unwrap();
    assert_eq!(
        store.case_attachments(other.case_id).await.unwrap().len(),
        1
    );
    assert_eq!(store.case_attachments(case.case_id).await.unwrap().len(), 1);
}
// The case list's contract lives in its own module.
pub use crate::lists::*;
