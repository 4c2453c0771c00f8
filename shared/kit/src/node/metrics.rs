//! `/metrics` in the Prometheus text format.

use std::sync::Arc;

use bangban_domain::station::StationCode;

use super::readiness::NodeReadiness;

/// `/metrics` in the Prometheus text format: cases by stage, events stored, the outbox and the
/// parent link. Counts only: never a case number or a name.
pub(super) async fn metrics(
    readiness: Arc<NodeReadiness>,
    me: StationCode,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    use std::fmt::Write;
    let store = &readiness.store;
    let mut out = String::new();
    let station = format!("station=\"{me}\"");
    let _ = writeln!(
        out,
        "# HELP bangban_cases Cases stored at this node, by stage."
    );
    let _ = writeln!(out, "# TYPE bangban_cases gauge");
    for (stage, n) in store.stage_counts().await.unwrap_or_default() {
        let _ = writeln!(out, "bangban_cases{{{station},stage=\"{stage}\"}} {n}");
    }
    let gauges = [
        (
            "bangban_events",
            "Events stored at this node.",
            store.event_count().await,
        ),
        (
            "bangban_outbox",
            "Events waiting to be pushed to the parent.",
            store.outbox_len().await,
        ),
        (
            "bangban_last_seq",
            "Local sequence number of the last stored event.",
            store.last_seq().await,
        ),
    ];
    for (name, help, value) in gauges {
        if let Ok(v) = value {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} gauge\n{name}{{{station}}} {v}"
            );
        }
    }
    if let Ok(counts) = store.dead_letter_counts().await {
        let _ = writeln!(
            out,
            "# HELP bangban_dead_letters Events set aside, waiting for a decision, by direction.\n# TYPE bangban_dead_letters gauge\nbangban_dead_letters{{{station},direction=\"up\"}} {}\nbangban_dead_letters{{{station},direction=\"down\"}} {}",
            counts.up, counts.down
        );
    }
    let policy = store.policy().current();
    let _ = writeln!(
        out,
        "# HELP bangban_policy_generation The policy in force: 1 at start, +1 per reload.\n# TYPE bangban_policy_generation gauge\nbangban_policy_generation{{{station}}} {}\n# HELP bangban_policy_since_ms Unix milliseconds the policy in force was put in force.\n# TYPE bangban_policy_since_ms gauge\nbangban_policy_since_ms{{{station}}} {}",
        policy.generation,
        crate::store::to_ms(policy.since)
    );
    let jobs = readiness.jobs.status();
    type Reading = fn(&crate::jobs::JobStatus) -> Option<i64>;
    let families: [(&str, &str, &str, Reading); 5] = [
        (
            "bangban_job_last_run_ms",
            "gauge",
            "Unix milliseconds the job last started.",
            |j| j.last_started_ms,
        ),
        (
            "bangban_job_last_success",
            "gauge",
            "Whether the job's last run succeeded (1) or failed (0).",
            |j| j.last_ok.map(i64::from),
        ),
        (
            "bangban_job_next_run_ms",
            "gauge",
            "Unix milliseconds of the job's next scheduled run.",
            |j| j.next_run_ms,
        ),
        (
            "bangban_job_runs_total",
            "counter",
            "Runs of the job since start.",
            |j| i64::try_from(j.runs).ok(),
        ),
        (
            "bangban_job_failures_total",
            "counter",
            "Failed runs of the job since start.",
            |j| i64::try_from(j.failures).ok(),
        ),
    ];
    for (name, kind, help, value) in families {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for (job, status) in &jobs {
            if let Some(v) = value(status) {
                let _ = writeln!(out, "{name}{{{station},job=\"{job}\"}} {v}");
            }
        }
    }
    if let Some((_, link)) = &readiness.link {
        let _ = writeln!(
            out,
            "# HELP bangban_parent_reachable Whether the last exchange with the parent succeeded.\n# TYPE bangban_parent_reachable gauge\nbangban_parent_reachable{{{station}}} {}",
            i32::from(link.reachable())
        );
        let _ = writeln!(
            out,
            "# HELP bangban_parent_last_ok_ms Unix milliseconds of the last successful exchange with the parent.\n# TYPE bangban_parent_last_ok_ms gauge\nbangban_parent_last_ok_ms{{{station}}} {}",
            link.last_ok_ms()
        );
        let _ = writeln!(
            out,
            "# HELP bangban_pushed_total Events pushed to the parent since start.\n# TYPE bangban_pushed_total counter\nbangban_pushed_total{{{station}}} {}",
            link.pushed()
        );
        let _ = writeln!(
            out,
            "# HELP bangban_pulled_total Events pulled from the parent since start.\n# TYPE bangban_pulled_total counter\nbangban_pulled_total{{{station}}} {}",
            link.pulled()
        );
    }
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        out,
    )
        .into_response()
}
