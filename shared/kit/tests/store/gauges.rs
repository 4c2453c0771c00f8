//! The database gauges of `/metrics` are read by the `refresh-gauges` job, never by a scrape:
//! between two runs a scrape shows the last reading, however the store changed.

use bangban_kit::auth::AuthStore;
use bangban_kit::jobs::standard_jobs;
use bangban_kit::node::{JobSettings, NodeMetrics};
use bangban_kit::store::CaseStore;

use crate::support::{CaseBuilder, VILLAGE, code, now};

/// Schedules that never come round while a test runs: the test runs the job itself.
fn never() -> bangban_kit::node::JobSchedules {
    let never = "0 0 0 1 1 * 2099".to_owned();
    JobSettings {
        reconcile: never.clone(),
        purge_sessions: never.clone(),
        purge_login_audit: never.clone(),
        login_audit_retention_days: 180,
        refresh_gauges: never,
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
