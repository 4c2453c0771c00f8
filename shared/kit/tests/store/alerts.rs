//! Deadline alerts and the child's stuck-escalation alarm, through the real jobs' functions on
//! real stores: near-due and overdue by the 2026 working calendar (a weekend, the Spring
//! Festival and its make-up Saturday), suspended cases skipped, closing and suspending clear,
//! raising twice is one alert, acknowledgements record who, and an escalation waiting in the
//! outbox past the limit raises an alarm until the parent acknowledges it.

use bangban_domain::event::{EventBody, EventKind, Note, Suspension};
use bangban_domain::station::StationCode;
use bangban_kit::alerts::scan::deadline_scan;
use bangban_kit::alerts::watchdog::link_watchdog;
use bangban_kit::alerts::{Alert, AlertKind, AlertPolicy, AlertStore};
use bangban_kit::store::{CaseFilter, CaseStore};
use time::OffsetDateTime;
use time::macros::datetime;

use crate::support::{CaseBuilder, SIBLING, TOWN, VILLAGE, code, now};

/// A case taken in at the village at `at`, reviewed 10 minutes later (the clock starts) and
/// delegated: 5 promised working days.
async fn delegated(store: &CaseStore, seq: u32, at: OffsetDateTime) -> CaseBuilder {
    let mut case = CaseBuilder::at_station(VILLAGE, seq);
    case.at = at;
    for ev in [
        case.application(),
        case.complete_review(VILLAGE, 10),
        case.delegation(VILLAGE, 20),
    ] {
        store.append(&ev, now()).await.unwrap();
    }
    case
}

async fn due_date(store: &CaseStore, case: &CaseBuilder) -> Option<String> {
    store
        .list(&CaseFilter::default())
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.case_id == case.case_id.to_string())
        .unwrap()
        .due_date
}

/// The open alerts as `(kind, case number)`, sorted.
async fn open(store: &CaseStore) -> Vec<(AlertKind, String)> {
    let mut open: Vec<_> = AlertStore::new(store.db().clone())
        .open(1000)
        .await
        .unwrap()
        .into_iter()
        .map(|a| (a.kind, a.case_no.unwrap_or(a.centre)))
        .collect();
    open.sort_by(|a, b| (a.0.as_str(), &a.1).cmp(&(b.0.as_str(), &b.1)));
    open
}

async fn the_alert(store: &CaseStore, case: &CaseBuilder) -> Alert {
    let all = AlertStore::new(store.db().clone())
        .open(1000)
        .await
        .unwrap();
    let mut of_case: Vec<_> = all
        .into_iter()
        .filter(|a| a.case_id.as_deref() == Some(&*case.case_id.to_string()))
        .collect();
    assert_eq!(of_case.len(), 1, "{of_case:?}");
    of_case.remove(0)
}

/// Scans as node `me` at 10:00 China time on `day`.
async fn scan(
    store: &CaseStore,
    me: &str,
    day: time::Date,
) -> bangban_kit::alerts::scan::ScanOutcome {
    let at = day
        .with_hms(10, 0, 0)
        .unwrap()
        .assume_offset(time::macros::offset!(+8));
    deadline_scan(store, code(me), AlertPolicy::default(), at)
        .await
        .unwrap()
}

pub async fn near_due_and_overdue_follow_the_working_calendar(store: CaseStore) {
    use time::macros::date;
    // Accepted Tue 2026-02-10: Wed 11, Thu 12, Fri 13, Sat 14 (make-up day), then the Spring
    // Festival (15-23 off): due Tue 24.
    let festival = delegated(&store, 1, datetime!(2026-02-10 09:00 +8)).await;
    assert_eq!(
        due_date(&store, &festival).await.as_deref(),
        Some("2026-02-24")
    );
    // Accepted Tue 2026-03-03: Wed 4, Thu 5, Fri 6, Mon 9, Tue 10.
    let weekend = delegated(&store, 2, datetime!(2026-03-03 09:00 +8)).await;
    assert_eq!(
        due_date(&store, &weekend).await.as_deref(),
        Some("2026-03-10")
    );
    let (f, w) = (festival.case_no.to_string(), weekend.case_no.to_string());

    // Thu 12 Feb: two working days ahead are Fri 13 and Sat 14 (make-up): not yet.
    scan(&store, VILLAGE, date!(2026 - 02 - 12)).await;
    assert_eq!(open(&store).await, vec![]);
    // Fri 13 Feb: Sat 14 and, across nine days of holiday, Tue 24: near-due, 11 days ahead.
    let first = scan(&store, VILLAGE, date!(2026 - 02 - 13)).await;
    assert_eq!((first.near_due, first.changes.raised), (1, 1));
    assert_eq!(open(&store).await, vec![(AlertKind::NearDue, f.clone())]);
    let alert = the_alert(&store, &festival).await;
    assert_eq!(
        (alert.centre.as_str(), alert.due_date.as_deref()),
        (VILLAGE, Some("2026-02-24"))
    );
    // On its due date it is still near-due; the day after, overdue (the near-due one cleared).
    scan(&store, VILLAGE, date!(2026 - 02 - 24)).await;
    assert_eq!(open(&store).await, vec![(AlertKind::NearDue, f.clone())]);
    assert_eq!(
        the_alert(&store, &festival).await.id,
        alert.id,
        "raised once"
    );
    let next = scan(&store, VILLAGE, date!(2026 - 02 - 25)).await;
    assert_eq!((next.changes.raised, next.changes.cleared), (1, 1));
    assert_eq!(open(&store).await, vec![(AlertKind::Overdue, f.clone())]);

    // Thu 5 Mar: Fri 6 and Mon 9; Fri 6 Mar: across the weekend, Mon 9 and Tue 10.
    scan(&store, VILLAGE, date!(2026 - 03 - 05)).await;
    assert_eq!(open(&store).await, vec![(AlertKind::Overdue, f.clone())]);
    let overdue = the_alert(&store, &festival).await;
    scan(&store, VILLAGE, date!(2026 - 03 - 06)).await;
    let again = scan(&store, VILLAGE, date!(2026 - 03 - 06)).await;
    assert_eq!(
        open(&store).await,
        vec![
            (AlertKind::NearDue, w.clone()),
            (AlertKind::Overdue, f.clone())
        ]
    );
    // Raising again is a no-op: the same alerts, nothing raised or cleared.
    assert_eq!((again.changes.raised, again.changes.cleared), (0, 0));
    assert_eq!((again.near_due, again.overdue), (1, 1));
    assert_eq!(the_alert(&store, &festival).await, overdue);

    // The town above sees the same cases (the village holds them); a sibling village does not,
    // so a scan as the sibling clears every alert about them.
    let as_town = scan(&store, TOWN, date!(2026 - 03 - 11)).await;
    assert_eq!((as_town.overdue, as_town.near_due), (2, 0));
    let as_sibling = scan(&store, SIBLING, date!(2026 - 03 - 11)).await;
    assert_eq!((as_sibling.overdue, as_sibling.changes.cleared), (0, 2));
    assert_eq!(open(&store).await, vec![]);
}

pub async fn suspended_cases_are_skipped_and_closing_clears(store: CaseStore) {
    use time::macros::date;
    let case = delegated(&store, 1, datetime!(2026-02-10 09:00 +8)).await;
    let no = case.case_no.to_string();
    scan(&store, VILLAGE, date!(2026 - 02 - 25)).await;
    assert_eq!(open(&store).await, vec![(AlertKind::Overdue, no.clone())]);
    let before = the_alert(&store, &case).await;

    // Suspended on 10 Feb (the clock stops): skipped, and the overdue alert clears.
    let suspend = case.event(
        VILLAGE,
        30,
        EventBody::Suspended(Suspension {
            reason: "现场勘验".into(),
            procedure: Some("现场勘验".into()),
        }),
    );
    store.append(&suspend, now()).await.unwrap();
    let skipped = scan(&store, VILLAGE, date!(2026 - 02 - 25)).await;
    assert_eq!((skipped.overdue, skipped.changes.cleared), (0, 1));
    assert_eq!(open(&store).await, vec![]);
    let cleared = AlertStore::new(store.db().clone())
        .get(before.id.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(cleared.cleared_at_ms.is_some());

    // Resumed on Thu 26 Feb: the due date moves on by the working days suspended.
    let resume = case.event(
        VILLAGE,
        16 * 24 * 60,
        EventBody::Resumed(Note { note: None }),
    );
    store.append(&resume, now()).await.unwrap();
    let moved = due_date(&store, &case).await.unwrap();
    assert!(moved.as_str() > "2026-02-24", "{moved}");
    let moved_day = time::Date::parse(
        &moved,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .unwrap();
    scan(&store, VILLAGE, moved_day).await;
    let after = the_alert(&store, &case).await;
    assert_eq!(after.kind, AlertKind::NearDue);
    assert_eq!(after.due_date.as_deref(), Some(moved.as_str()));
    assert_ne!(after.id, before.id, "a new alert for the new due date");

    // Completed: the alert clears, and no scan raises one again.
    for (minutes, kind) in [
        (16 * 24 * 60 + 10, EventKind::HandlingStarted),
        (16 * 24 * 60 + 20, EventKind::ResultReady),
        (16 * 24 * 60 + 30, EventKind::HandedOver),
        (16 * 24 * 60 + 40, EventKind::Completed),
    ] {
        store
            .append(&case.simple(VILLAGE, minutes, kind), now())
            .await
            .unwrap();
    }
    let done = scan(&store, VILLAGE, moved_day).await;
    assert_eq!(
        (done.near_due, done.overdue, done.changes.cleared),
        (0, 0, 1)
    );
    scan(&store, VILLAGE, date!(2026 - 12 - 31)).await;
    assert_eq!(open(&store).await, vec![]);
}

pub async fn acknowledging_records_who_and_when_until_the_alert_clears(store: CaseStore) {
    use time::macros::date;
    let case = delegated(&store, 1, datetime!(2026-02-10 09:00 +8)).await;
    scan(&store, VILLAGE, date!(2026 - 02 - 25)).await;
    let alerts = AlertStore::new(store.db().clone());
    let alert = the_alert(&store, &case).await;
    assert_eq!((alert.acked_at_ms, alert.acked_by.as_deref()), (None, None));
    let id = alert.id.parse().unwrap();

    let acked = alerts
        .ack(id, "wangfang", 1_772_000_000_000)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(acked.acked_by.as_deref(), Some("wangfang"));
    assert_eq!(acked.acked_at_ms, Some(1_772_000_000_000));
    // A second acknowledgement keeps the first.
    let twice = alerts
        .ack(id, "lisi", 1_772_000_100_000)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(twice, acked);
    // Unknown: nothing.
    assert_eq!(
        alerts
            .ack(uuid::Uuid::now_v7(), "wangfang", 1)
            .await
            .unwrap(),
        None
    );
    // Acknowledged, it stays listed (and is not raised anew) until its cause is gone.
    scan(&store, VILLAGE, date!(2026 - 02 - 26)).await;
    assert_eq!(the_alert(&store, &case).await, acked);
    assert_eq!(
        alerts.open_counts().await.unwrap(),
        vec![("overdue".to_owned(), 1)]
    );
    scan(&store, SIBLING, date!(2026 - 02 - 26)).await;
    assert!(alerts.open(10).await.unwrap().is_empty());
    let gone = alerts.get(id).await.unwrap().unwrap();
    assert!(gone.cleared_at_ms.is_some());
    assert_eq!(gone.acked_by.as_deref(), Some("wangfang"));
}

pub async fn an_escalation_stuck_in_the_outbox_raises_an_alarm_until_the_parent_acknowledges_it(
    store: CaseStore,
) {
    let store = store.with_uplink(code(VILLAGE));
    let village: StationCode = code(VILLAGE);
    let policy = AlertPolicy::default();
    let alerts = AlertStore::new(store.db().clone());
    let case = crate::hardening::escalated_to_town(&store, 1).await;
    let fresh = link_watchdog(&store, village, policy, now()).await.unwrap();
    assert_eq!(fresh.stuck_here, 0);
    let cutoff = bangban_kit::store::to_ms(now() - policy.transit_alarm);
    let report = alerts.outbox_report(cutoff).await.unwrap();
    assert_eq!((report.len, report.stuck_escalations), (Some(4), Some(0)));

    // The link has been down for 31 minutes: the queued log, escalation included, is older.
    sqlx::query("UPDATE outbox SET enqueued_at = enqueued_at - 1860000")
        .execute(store.db().pool())
        .await
        .unwrap();
    let stuck = link_watchdog(&store, village, policy, now()).await.unwrap();
    assert_eq!((stuck.stuck_here, stuck.changes.raised), (1, 1));
    let alert = the_alert(&store, &case).await;
    assert_eq!(alert.kind, AlertKind::StuckInTransit);
    assert_eq!(alert.centre, VILLAGE);
    assert_eq!(alert.case_no.as_deref(), Some(&*case.case_no.to_string()));
    let cutoff = bangban_kit::store::to_ms(now() - policy.transit_alarm);
    let report = alerts.outbox_report(cutoff).await.unwrap();
    assert_eq!((report.len, report.stuck_escalations), (Some(4), Some(1)));
    assert_eq!(report.oldest_ms, store.outbox_oldest_ms().await.unwrap());
    // Raised once, however often the watchdog looks.
    let again = link_watchdog(&store, village, policy, now()).await.unwrap();
    assert_eq!(again.changes.raised, 0);
    assert_eq!(the_alert(&store, &case).await, alert);
    // The gauge counts it once the gauges are read.
    let metrics = bangban_kit::node::NodeMetrics::new(village);
    bangban_kit::node::refresh_gauges(&store, Some(&metrics))
        .await
        .unwrap();
    let text = metrics.render();
    for line in [
        "bangban_alerts_open{station=\"410402001001\",kind=\"stuck_in_transit\"} 1",
        "bangban_alerts_open{station=\"410402001001\",kind=\"overdue\"} 0",
    ] {
        assert!(text.contains(line), "{line}: {text}");
    }

    // The parent commits the batch and acknowledges it: the alarm clears.
    let queued: Vec<_> = store
        .outbox_peek(100)
        .await
        .unwrap()
        .into_iter()
        .map(|q| q.event.event_id)
        .collect();
    store.outbox_ack(&queued).await.unwrap();
    let acked = link_watchdog(&store, village, policy, now()).await.unwrap();
    assert_eq!((acked.stuck_here, acked.changes.cleared), (0, 1));
    assert!(alerts.open(10).await.unwrap().is_empty());
    // A town that is nobody's parent here has no children to watch: nothing else was raised.
    let as_town = link_watchdog(&store, code(TOWN), policy, now())
        .await
        .unwrap();
    assert_eq!((as_town.silent_children, as_town.stuck_children), (0, 0));
}
