//! The database gauges of `/metrics` are read by the `refresh-gauges` job, never by a scrape:
//! between two runs a scrape shows the last reading, however the store changed.

use bangban_kit::auth::AuthStore;
use bangban_kit::jobs::standard_jobs;
use bangban_kit::node::{JobSettings, NodeMetrics};
use bangban_kit::store::CaseStore;

use crate::support::{CaseBuilder, VILLAGE, code, now};

/// Schedules that never come round while a test runs: the test runs the job itself.
pub fn never() -> bangban_kit::node::JobSchedules {
    let never = "0 0 0 1 1 * 2099".to_owned();
    JobSettings {
        reconcile: never.clone(),
        purge_sessions: never.clone(),
        purge_login_audit: never.clone(),
        login_audit_retention_days: 180,
        refresh_gauges: never.clone(),
        deadline_scan: never.clone(),
        link_watchdog: never.clone(),
        summary_push: never,
    }
    .check()
    .unwrap()
}

/// Asserts the value of each series in one scrape of `metrics`.
fn assert_series(metrics: &NodeMetrics, expected: &[(&str, i64)]) {
    let text = metrics.render();
    for (series, value) in expected {
        let line = text
            .lines()
            .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '));
        assert_eq!(line, Some(&*format!("{series} {value}")), "{text}");
    }
}

pub async fn gauges_change_when_the_refresh_job_runs_and_never_on_scrape(store: CaseStore) {
    let jobs = standard_jobs(AuthStore::new(store.db().clone()), store.clone(), &never());
    // At start, the gauges are read once.
    let metrics = NodeMetrics::start(code(VILLAGE), &store, &jobs).await;
    let received = "bangban_cases{station=\"410402001001\",stage=\"received\"}";
    let events = "bangban_events{station=\"410402001001\"}";
    let last_seq = "bangban_last_seq{station=\"410402001001\"}";
    assert_series(&metrics, &[(received, 0), (events, 0), (last_seq, 0)]);

    // A case opens: scrapes keep showing the last reading.
    store
        .append(&CaseBuilder::village().application(), now())
        .await
        .unwrap();
    for _ in 0..3 {
        assert_series(&metrics, &[(received, 0), (events, 0), (last_seq, 0)]);
    }

    // The job runs: the gauges show the case, and the run is counted.
    let status = jobs.run_now("refresh-gauges").await.unwrap();
    assert_eq!(status.last_ok, Some(true), "{status:?}");
    assert_eq!(
        status.last_detail.as_deref(),
        Some("1 case(s), 1 event(s), 0 queued for the parent, 0 dead letter(s)")
    );
    let seq = store.last_seq().await.unwrap();
    assert_series(&metrics, &[(received, 1), (events, 1), (last_seq, seq)]);
    let text = metrics.render();
    assert!(
        text.contains("bangban_job_runs_total{station=\"410402001001\",job=\"refresh-gauges\"} 1"),
        "{text}"
    );
    assert!(
        text.contains(
            "bangban_job_last_success{station=\"410402001001\",job=\"refresh-gauges\"} 1"
        ),
        "{text}"
    );
}

pub async fn the_age_of_the_oldest_record_waiting_for_the_parent_is_a_gauge(store: CaseStore) {
    let store = store.with_uplink(code(VILLAGE));
    let jobs = standard_jobs(AuthStore::new(store.db().clone()), store.clone(), &never());
    let metrics = NodeMetrics::start(code(VILLAGE), &store, &jobs).await;
    let age = "bangban_outbox_oldest_age_seconds{station=\"410402001001\"}";
    assert_series(&metrics, &[(age, 0)]);
    assert_eq!(store.outbox_oldest_ms().await.unwrap(), None);

    // An escalation queues the case's log; it has waited half an hour (the link is down).
    crate::hardening::escalated_to_town(&store, 1).await;
    sqlx::query("UPDATE outbox SET enqueued_at = enqueued_at - 1800000")
        .execute(store.db().pool())
        .await
        .unwrap();
    let oldest = store.outbox_oldest_ms().await.unwrap().unwrap();
    let waited = bangban_kit::store::to_ms(time::OffsetDateTime::now_utc()) - oldest;
    assert!((1_800_000..1_900_000).contains(&waited), "{waited}");
    jobs.run_now("refresh-gauges").await.unwrap();
    let text = metrics.render();
    let seconds: i64 = text
        .lines()
        .find_map(|l| l.strip_prefix(age)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("{text}"));
    assert!((1800..1900).contains(&seconds), "{seconds}");
    assert_series(&metrics, &[("bangban_outbox{station=\"410402001001\"}", 4)]);
}
