//! The store's part of the trust hardening, on both backends: appends commit in `seq` order,
//! refused events are set aside as dead letters, the case's state is stored beside its log,
//! the per-case cap and the clock tolerance.

use std::time::Duration;

use bangban_domain::case::Stage;
use bangban_domain::event::EventKind;
use bangban_domain::station::Tier;
use bangban_kit::store::{
    Admission, AppendLimits, Appended, CaseStore, DeadLetterError, Direction, StoreError,
};
use sqlx::Row;

use crate::support::*;

/// A case taken in at the village, reviewed, delegated and escalated to the town (all stored
/// here as local events).
pub(crate) async fn escalated_to_town(store: &CaseStore, seq: u32) -> CaseBuilder {
    let case = CaseBuilder::at_station(VILLAGE, seq);
    for ev in [
        case.application(),
        case.complete_review(VILLAGE, 1),
        case.delegation(VILLAGE, 2),
        case.escalate(VILLAGE, 3, Tier::Town),
    ] {
        store.append(&ev, now()).await.unwrap();
    }
    case
}

async fn count(store: &CaseStore, sql: &str) -> i64 {
    sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
        .fetch_one(store.db().pool())
        .await
        .unwrap()
        .try_get(0)
        .unwrap()
}

/// Hold append A open (it took the lower `seq`), let B try to commit, pull, commit A, pull
/// again: the child must receive A. Were B allowed to commit first, the first pull would move
/// the child's cursor past A for good (what lost 588 of 600 results on PostgreSQL).
pub async fn a_pull_never_skips_an_event_still_in_flight(store: CaseStore) {
    let first = escalated_to_town(&store, 1).await;
    let second = escalated_to_town(&store, 2).await;
    let cursor = store.last_seq().await.unwrap();
    let accept_a = first.simple(TOWN, 10, EventKind::AcceptedUpstream);
    let accept_b = second.simple(TOWN, 11, EventKind::AcceptedUpstream);

    let mut tx = store.begin_append().await.unwrap();
    tx.append(&accept_a, Admission::Local, now()).await.unwrap();
    let writer_b = tokio::spawn({
        let store = store.clone();
        let accept_b = accept_b.clone();
        async move { store.append(&accept_b, now()).await }
    });
    tokio::time::sleep(Duration::from_millis(400)).await;

    let page1 = store
        .events_for_subtree(code(VILLAGE), cursor, 100)
        .await
        .unwrap();
    let cursor = page1.last().map_or(cursor, |(seq, _)| *seq);
    tx.commit().await.unwrap();
    assert!(matches!(
        writer_b.await.unwrap().unwrap(),
        Appended::Stored { .. }
    ));
    let page2 = store
        .events_for_subtree(code(VILLAGE), cursor, 100)
        .await
        .unwrap();

    let received: Vec<_> = page1
        .iter()
        .chain(&page2)
        .map(|(_, ev)| ev.event_id)
        .collect();
    assert!(
        received.contains(&accept_a.event_id),
        "the child never receives A: first pull {:?}, second pull {:?}",
        page1.iter().map(|(s, _)| s).collect::<Vec<_>>(),
        page2.iter().map(|(s, _)| s).collect::<Vec<_>>()
    );
    assert!(received.contains(&accept_b.event_id));
    assert_eq!(received.len(), 2, "each once");
}

/// A village's store, queuing for its town.
fn village_store(store: CaseStore) -> CaseStore {
    store.with_uplink(code(VILLAGE))
}

pub async fn a_refused_pulled_event_is_set_aside_and_the_rest_stored(store: CaseStore) {
    let store = village_store(store);
    let case = escalated_to_town(&store, 1).await;
    let unknown = CaseBuilder::at_station(VILLAGE, 9);
    let page = vec![
        // A comment on a case this village never had.
        unknown.comment(TOWN, 5, "无主记录"),
        case.simple(TOWN, 10, EventKind::AcceptedUpstream),
        // The town forging the village's own event.
        case.comment(VILLAGE, 11, "伪造的记录"),
        case.comment(TOWN, 12, "已受理"),
    ];
    let applied = store
        .apply_pulled(&page, ("parent", 42), now())
        .await
        .unwrap();
    assert_eq!((applied.stored, applied.set_aside), (2, 2));
    assert_eq!(store.cursor("parent").await.unwrap(), 42);
    let (state, _) = store.case(case.case_id).await.unwrap().unwrap();
    assert_eq!(state.holder, code(TOWN));
    assert_eq!(state.version, 6);

    let letters = store.dead_letters(false, 100).await.unwrap();
    assert_eq!(letters.len(), 2);
    assert!(letters.iter().all(|d| d.direction == Direction::Down));
    assert_eq!(letters[0].event, page[0]);
    assert_eq!(letters[0].code, "case.unknown");
    assert_eq!(letters[1].event, page[2]);
    assert_eq!(letters[1].code, "sync.forged_author");
    let counts = store.dead_letter_counts().await.unwrap();
    assert_eq!((counts.up, counts.down), (0, 2));

    // Still refused on retry: it stays, unresolved.
    assert!(matches!(
        store.retry_dead_letter(letters[1].id, now()).await,
        Err(DeadLetterError::StillRefused(
            StoreError::ForgedAuthor { .. }
        ))
    ));
    // Discarding needs a reason, then resolves it for good.
    assert!(matches!(
        store.discard_dead_letter(letters[1].id, "  ", now()).await,
        Err(DeadLetterError::NoteRequired)
    ));
    let discarded = store
        .discard_dead_letter(letters[1].id, "上级误发，已电话核实", now())
        .await
        .unwrap();
    assert_eq!(discarded.resolution.as_deref(), Some("discarded"));
    assert!(matches!(
        store
            .discard_dead_letter(letters[1].id, "again", now())
            .await,
        Err(DeadLetterError::Resolved { .. })
    ));
    assert_eq!(store.dead_letter_counts().await.unwrap().down, 1);
    assert_eq!(store.dead_letters(true, 100).await.unwrap().len(), 2);
}

pub async fn an_event_the_parent_refuses_for_good_becomes_a_dead_letter_until_retried(
    store: CaseStore,
) {
    let store = village_store(store);
    let case = escalated_to_town(&store, 1).await;
    let queued = store.outbox_peek(100).await.unwrap();
    assert_eq!(queued.len(), 4, "the whole log goes up with the escalation");
    let bad = queued[1].event.event_id;
    for expected in 1..=3 {
        assert_eq!(
            store
                .outbox_refused(bad, "422 case.transition")
                .await
                .unwrap(),
            expected
        );
    }
    assert!(
        store
            .outbox_dead_letter(bad, "case.transition", "refused", now())
            .await
            .unwrap()
    );
    let queued: Vec<_> = store
        .outbox_peek(100)
        .await
        .unwrap()
        .into_iter()
        .map(|q| q.event.event_id)
        .collect();
    assert_eq!(queued.len(), 3);
    assert!(!queued.contains(&bad), "the events behind it flow on");
    let letters = store.dead_letters(false, 100).await.unwrap();
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].direction, Direction::Up);
    assert_eq!(letters[0].attempts, 3);
    assert_eq!(letters[0].event.case_id, case.case_id);

    // Retried: queued again, attempts from zero, the letter resolved.
    let retried = store.retry_dead_letter(letters[0].id, now()).await.unwrap();
    assert_eq!(retried.resolution.as_deref(), Some("retried"));
    let queued = store.outbox_peek(100).await.unwrap();
    let again = queued.iter().find(|q| q.event.event_id == bad).unwrap();
    assert_eq!(again.attempts, 0);
    assert_eq!(store.dead_letter_counts().await.unwrap().total(), 0);
    assert!(matches!(
        store.retry_dead_letter(letters[0].id, now()).await,
        Err(DeadLetterError::Resolved { .. })
    ));
    assert!(matches!(
        store.retry_dead_letter(9999, now()).await,
        Err(DeadLetterError::Unknown(9999))
    ));
}

pub async fn the_outbox_forgets_exactly_the_acknowledged_events(store: CaseStore) {
    let store = village_store(store);
    escalated_to_town(&store, 1).await;
    let queued = store.outbox_peek(100).await.unwrap();
    let acked = [queued[0].event.event_id, queued[2].event.event_id];
    assert_eq!(store.outbox_ack(&acked).await.unwrap(), 2);
    let left: Vec<_> = store
        .outbox_peek(100)
        .await
        .unwrap()
        .into_iter()
        .map(|q| q.event.event_id)
        .collect();
    assert_eq!(
        left,
        vec![queued[1].event.event_id, queued[3].event.event_id]
    );
}

pub async fn appends_apply_to_the_stored_state_and_fold_when_it_is_unusable(store: CaseStore) {
    let case = CaseBuilder::village();
    store.append(&case.application(), now()).await.unwrap();
    let doc: Option<String> = sqlx::query("SELECT state_doc FROM cases")
        .fetch_one(store.db().pool())
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
    let format = format!("\"format\":{}", bangban_domain::case::STORED_STATE_FORMAT);
    assert!(doc.is_some_and(|d| d.contains(&format)));

    // A case stored before snapshots existed, and one whose snapshot is garbage: both fold.
    for broken in ["NULL", "'{not json'"] {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE cases SET state_doc = {broken}"
        )))
        .execute(store.db().pool())
        .await
        .unwrap();
        let n = store.event_count().await.unwrap();
        store
            .append(&case.comment(VILLAGE, n, "备注"), now())
            .await
            .unwrap();
    }
    store
        .append(&case.complete_review(VILLAGE, 10), now())
        .await
        .unwrap();
    let (state, events) = store.case(case.case_id).await.unwrap().unwrap();
    assert_eq!(events.len(), 4);
    assert_eq!(state.stage, Stage::Reviewed);
    let snapshot: String = sqlx::query("SELECT state_doc FROM cases")
        .fetch_one(store.db().pool())
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
    assert_eq!(
        bangban_domain::case::CaseState::from_stored(&snapshot).unwrap(),
        state,
        "the snapshot is the fold of the log"
    );
}

pub async fn a_case_is_capped_at_its_event_limit(store: CaseStore) {
    let store = store.with_limits(AppendLimits {
        max_events_per_case: 10,
        ..AppendLimits::default()
    });
    let case = CaseBuilder::village();
    store.append(&case.application(), now()).await.unwrap();
    for i in 1..10 {
        store
            .append(&case.comment(VILLAGE, i, "备注"), now())
            .await
            .unwrap();
    }
    let err = store
        .append(&case.comment(VILLAGE, 11, "一条太多"), now())
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::CaseTooLong { max: 10, .. }),
        "{err}"
    );
    assert!(err.is_client_error());
    use bangban_domain::Bilingual;
    assert!(err.message_zh().contains("10"));
    assert_eq!(store.event_count().await.unwrap(), 10, "nothing changed");
}

pub async fn events_from_the_future_are_refused_and_late_ones_kept_with_their_arrival(
    store: CaseStore,
) {
    // Dated 2026-02-10: days late, as an offline station's backlog would be.
    let late = CaseBuilder::village();
    let received_from = now();
    store.append(&late.application(), now()).await.unwrap();
    let row = sqlx::query("SELECT occurred_at, stored_at FROM case_events")
        .fetch_one(store.db().pool())
        .await
        .unwrap();
    let occurred: i64 = row.try_get("occurred_at").unwrap();
    let stored: i64 = row.try_get("stored_at").unwrap();
    assert_eq!(occurred, bangban_kit::store::to_ms(late.at));
    assert!(
        stored >= bangban_kit::store::to_ms(received_from),
        "stored_at is when this node received it"
    );

    let mut soon = CaseBuilder::at_station(VILLAGE, 2);
    soon.at = now() + time::Duration::minutes(4);
    store.append(&soon.application(), now()).await.unwrap();

    let mut future = CaseBuilder::at_station(VILLAGE, 3);
    future.at = now() + time::Duration::minutes(6);
    let err = store
        .append(&future.application(), now())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::FromTheFuture {
                tolerance_secs: 300,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(store.event_count().await.unwrap(), 2, "nothing changed");
}

pub async fn a_parent_cannot_send_events_authored_in_the_child_subtree(store: CaseStore) {
    let store = village_store(store);
    let case = escalated_to_town(&store, 1).await;
    let before = store.event_count().await.unwrap();
    let err = store
        .append_batch(
            &[
                case.simple(TOWN, 10, EventKind::AcceptedUpstream),
                case.comment(VILLAGE, 11, "冒充村站"),
            ],
            Admission::FromParent,
            Some(("parent", 7)),
            now(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::InBatch { index: 1, source } if matches!(**source, StoreError::ForgedAuthor { .. })),
        "{err}"
    );
    assert_eq!(store.event_count().await.unwrap(), before, "nothing kept");
    assert_eq!(store.cursor("parent").await.unwrap(), 0);
    assert_eq!(count(&store, "SELECT COUNT(*) FROM dead_letters").await, 0);
}
