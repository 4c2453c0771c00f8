//! The link watchdog across a real mutual-TLS link: the village reports its outbox with every
//! pull, the town records the report with the contact time, raises `stuck_in_transit` for a
//! village reporting stuck escalations and `child_silent` once it stops pulling, and ignores
//! report headers that do not check without refusing the pull.

use bangban_kit::alerts::watchdog::{
    OUTBOX_LEN, OUTBOX_OLDEST_MS, STUCK_ESCALATIONS, link_watchdog,
};
use bangban_kit::alerts::{AlertKind, AlertPolicy, AlertStore, OutboxReport};
use bangban_kit::db::Db;
use bangban_kit::store::to_ms;
use bangban_kit::sync::client::{LinkOptions, pull_once};

use crate::support::*;

/// The open alerts of the parent as `(kind, centre)`, sorted.
async fn open(alerts: &AlertStore) -> Vec<(AlertKind, String)> {
    let mut open: Vec<_> = alerts
        .open(100)
        .await
        .unwrap()
        .into_iter()
        .map(|a| (a.kind, a.centre))
        .collect();
    open.sort_by(|a, b| (a.0.as_str(), &a.1).cmp(&(b.0.as_str(), &b.1)));
    open
}

pub async fn the_parent_records_each_pulls_outbox_report_and_raises_link_alarms(db: Db) {
    let ca = district_ca();
    let parent = Parent::start(&ca, db, tolerance(86_400)).await;
    let child = Child::new(&ca, tolerance(86_400)).await;
    let url = parent.server.url();
    let quick = LinkOptions {
        pull_wait_secs: 0,
        ..LinkOptions::default()
    };
    let policy = AlertPolicy::default();
    let town = code(TOWN);
    let alerts = AlertStore::new(parent.store.db().clone());

    // Never contacted: no row, no alarm, however late it is.
    let later = now() + time::Duration::hours(2);
    link_watchdog(&parent.store, town, policy, later)
        .await
        .unwrap();
    assert_eq!(open(&alerts).await, vec![]);

    // An escalation has waited at the village for 31 minutes (the push keeps failing); the
    // village pulls.
    let case = new_case(1);
    append_all(&child.store, &case.escalated()).await;
    sqlx::query("UPDATE outbox SET enqueued_at = enqueued_at - 1860000")
        .execute(child.store.db().pool())
        .await
        .unwrap();
    let before = to_ms(now());
    pull_once(&child.store, &child.client, &url, &quick)
        .await
        .unwrap();
    let links = alerts.child_links().await.unwrap();
    assert_eq!(links.len(), 1);
    assert_eq!(links[0].station, VILLAGE);
    assert!(links[0].last_contact_ms >= before);
    assert_eq!(
        links[0].report,
        OutboxReport {
            len: Some(4),
            oldest_ms: child.store.outbox_oldest_ms().await.unwrap(),
            stuck_escalations: Some(1),
        }
    );
    let stuck = link_watchdog(&parent.store, town, policy, now())
        .await
        .unwrap();
    assert_eq!((stuck.stuck_children, stuck.silent_children), (1, 0));
    assert_eq!(
        open(&alerts).await,
        vec![(AlertKind::StuckInTransit, VILLAGE.to_owned())]
    );

    // 31 minutes without a pull: silent too.
    let silent_at = now() + time::Duration::minutes(31);
    let silent = link_watchdog(&parent.store, town, policy, silent_at)
        .await
        .unwrap();
    assert_eq!((silent.silent_children, silent.changes.raised), (1, 1));
    assert_eq!(
        open(&alerts).await,
        vec![
            (AlertKind::ChildSilent, VILLAGE.to_owned()),
            (AlertKind::StuckInTransit, VILLAGE.to_owned()),
        ]
    );
    let silent_alert = alerts
        .open(10)
        .await
        .unwrap()
        .into_iter()
        .find(|a| a.kind == AlertKind::ChildSilent)
        .unwrap();
    assert_eq!(silent_alert.since_ms, Some(links[0].last_contact_ms));

    // The escalation gets through and the village pulls again: both alarms clear.
    let queued: Vec<_> = child
        .store
        .outbox_peek(100)
        .await
        .unwrap()
        .into_iter()
        .map(|q| q.event.event_id)
        .collect();
    child.store.outbox_ack(&queued).await.unwrap();
    pull_once(&child.store, &child.client, &url, &quick)
        .await
        .unwrap();
    let report = alerts.child_links().await.unwrap()[0].report;
    assert_eq!(
        report,
        OutboxReport {
            len: Some(0),
            oldest_ms: None,
            stuck_escalations: Some(0),
        }
    );
    let clear = link_watchdog(&parent.store, town, policy, now())
        .await
        .unwrap();
    assert_eq!(clear.changes.cleared, 2);
    assert_eq!(open(&alerts).await, vec![]);

    // Report headers that do not check are ignored, each on its own; the pull is answered.
    let contact = alerts.child_links().await.unwrap()[0].last_contact_ms;
    let mut pull = url.clone();
    pull.set_path("/v1/events");
    pull.set_query(Some("after=0&wait=0"));
    let res = child
        .client
        .get(pull)
        .header(OUTBOX_LEN, "-5")
        .header(OUTBOX_OLDEST_MS, "12345678901234567890")
        .header(STUCK_ESCALATIONS, "3")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let link = alerts.child_links().await.unwrap().remove(0);
    assert!(link.last_contact_ms >= contact);
    assert_eq!(
        link.report,
        OutboxReport {
            len: None,
            oldest_ms: None,
            stuck_escalations: Some(3),
        }
    );

    // A station that is no longer an active direct child raises nothing, however silent.
    alerts
        .record_contact(
            RETIRED,
            to_ms(now()),
            &OutboxReport {
                stuck_escalations: Some(2),
                ..OutboxReport::default()
            },
        )
        .await
        .unwrap();
    alerts
        .record_contact(OTHER_TOWN_VILLAGE, to_ms(now()), &OutboxReport::default())
        .await
        .unwrap();
    let late = link_watchdog(
        &parent.store,
        town,
        policy,
        now() + time::Duration::hours(3),
    )
    .await
    .unwrap();
    assert_eq!((late.silent_children, late.stuck_children), (1, 1));
    assert_eq!(
        open(&alerts).await,
        vec![
            (AlertKind::ChildSilent, VILLAGE.to_owned()),
            (AlertKind::StuckInTransit, VILLAGE.to_owned()),
        ]
    );
}
