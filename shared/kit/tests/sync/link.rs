//! The child's side of the link against a real parent server.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bangban_kit::db::Db;
use bangban_kit::store::Direction;
use bangban_kit::sync::client::{LinkOptions, MAX_REFUSALS, pull_once, push_once};

use crate::support::*;

fn quick() -> LinkOptions {
    LinkOptions {
        pull_wait_secs: 0,
        ..LinkOptions::default()
    }
}

/// The parent refuses one event for good (dated an hour ahead of its clock, which tolerates
/// five minutes; the village's own clock tolerance is a day). After [`MAX_REFUSALS`] tries it is
/// a dead letter at the village, and every event behind it reaches the town.
pub async fn an_event_the_parent_refuses_is_set_aside_and_the_events_behind_it_arrive(db: Db) {
    let ca = district_ca();
    let parent = Parent::start(&ca, db, tolerance(300)).await;
    let child = Child::new(&ca, tolerance(86_400)).await;
    let first = new_case(1);
    append_all(&child.store, &first.escalated()).await;
    let ahead = first.comment(VILLAGE, 120, "时钟超前的备注");
    append_all(&child.store, std::slice::from_ref(&ahead)).await;
    let second = new_case(2);
    append_all(&child.store, &second.escalated()).await;
    assert_eq!(child.store.outbox_len().await.unwrap(), 9);

    let mut refusals = 0;
    for _ in 0..10 {
        match push_once(&child.store, &child.client, &parent.server.url(), 500).await {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => {
                refusals += 1;
                assert!(e.to_string().contains("event.from_the_future"), "{e}");
            }
        }
    }
    assert_eq!(refusals, MAX_REFUSALS);
    assert_eq!(child.store.outbox_len().await.unwrap(), 0);
    for case in [&first, &second] {
        let (_, events) = parent.store.case(case.case_id).await.unwrap().unwrap();
        assert_eq!(events.len(), 4, "the events behind the refused one arrived");
    }
    let letters = child.store.dead_letters(false, 10).await.unwrap();
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].direction, Direction::Up);
    assert_eq!(letters[0].event, ahead);
    assert_eq!(letters[0].code, "event.from_the_future");
    assert_eq!(letters[0].attempts, MAX_REFUSALS);
}

/// The village refuses one pulled event (dated an hour ahead of its clock); it is set aside in
/// the pull's own transaction and the events before and after it are stored.
pub async fn a_pulled_event_the_child_refuses_is_set_aside_and_the_link_flows_on(db: Db) {
    let ca = district_ca();
    let parent = Parent::start(&ca, db, tolerance(86_400)).await;
    let child = Child::new(&ca, tolerance(300)).await;
    let case = new_case(1);
    append_all(&child.store, &case.escalated()).await;
    push_once(&child.store, &child.client, &parent.server.url(), 500)
        .await
        .unwrap();
    let ahead = case.comment(TOWN, 120, "时钟超前的回复");
    append_all(
        &parent.store,
        &[
            case.accepted(10),
            ahead.clone(),
            case.comment(TOWN, 11, "已受理"),
        ],
    )
    .await;

    let url = parent.server.url();
    assert_eq!(
        pull_once(&child.store, &child.client, &url, &quick())
            .await
            .unwrap(),
        3
    );
    let (state, events) = child.store.case(case.case_id).await.unwrap().unwrap();
    assert_eq!(
        events.len(),
        6,
        "the escalation, the acceptance and the good comment"
    );
    assert_eq!(state.holder, code(TOWN));
    let letters = child.store.dead_letters(false, 10).await.unwrap();
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].direction, Direction::Down);
    assert_eq!(letters[0].event, ahead);
    assert_eq!(letters[0].code, "event.from_the_future");
    assert_eq!(
        child.store.cursor("parent").await.unwrap(),
        parent.store.last_seq().await.unwrap()
    );

    // The link keeps flowing.
    append_all(&parent.store, &[case.comment(TOWN, 12, "请补充材料照片")]).await;
    assert_eq!(
        pull_once(&child.store, &child.client, &url, &quick())
            .await
            .unwrap(),
        1
    );
    assert_eq!(child.store.events(case.case_id).await.unwrap().len(), 7);
}

/// A sibling village's certificate chains to the district CA and may even name the town's
/// address; the village must still not take it for its town.
pub async fn a_sibling_on_the_parents_address_receives_nothing_and_the_outbox_stays() {
    let ca = district_ca();
    let hits = Arc::new(AtomicUsize::new(0));
    let impostor = Server::spawn(&creds(&ca, SIBLING, &ca), counting_router(hits.clone())).await;
    let child = Child::new(&ca, tolerance(300)).await;
    let case = new_case(1);
    append_all(&child.store, &case.escalated()).await;

    let push = push_once(&child.store, &child.client, &impostor.url(), 500).await;
    assert!(push.is_err(), "{push:?}");
    let pull = pull_once(&child.store, &child.client, &impostor.url(), &quick()).await;
    assert!(pull.is_err(), "{pull:?}");
    // Not even one request reached it: the handshake failed.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(hits.load(Ordering::SeqCst), 0);
    assert_eq!(
        child.store.outbox_len().await.unwrap(),
        4,
        "the outbox is kept"
    );
    assert_eq!(child.store.cursor("parent").await.unwrap(), 0);

    // The same client reaches the real town.
    let (db, _guard) = crate::databases::sqlite_db().await;
    let parent = Parent::start(&ca, db, tolerance(300)).await;
    assert_eq!(
        push_once(&child.store, &child.client, &parent.server.url(), 500)
            .await
            .unwrap(),
        4
    );
}
pub use crate::matrix::the_refusal_matrix;
