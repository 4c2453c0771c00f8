//! `/metrics`: the node's Prometheus text, rendered by the `metrics` crate's Prometheus exporter
//! (render only: it opens no listener of its own). Counts and instants only: never a case number
//! or a name. A scrape never queries the database.
//!
//! Where each value comes from:
//! - counts that need the database (cases by stage, events, outbox, dead letters, last sequence
//!   number, open alerts by kind) are read by the `refresh-gauges` job on its `[jobs]`
//!   schedule, and once at start;
//!   between two runs a scrape shows the last reading;
//! - job runs are recorded by the job runner as they end (`crate::jobs`);
//! - the policy in force and the parent link already live in memory (`PolicyHandle`,
//!   `LinkStatus`, which `/readyz` reads too); a scrape copies them into the recorder, so the two
//!   endpoints never disagree and there is no second counter to keep in step.
//!
//! One recorder per node, never a global one: tests run several nodes in one process, and a
//! global recorder can be installed once only (and would mix their numbers). Each node builds a
//! `PrometheusRecorder` with `PrometheusBuilder::build_recorder()`, labelled with its station
//! code, and everything it records goes through [`NodeMetrics::record`], which makes that
//! recorder the current one for a synchronous closure (`metrics::with_local_recorder`). Never
//! hold it across an `.await`: the local recorder is per thread. Only counters and gauges are
//! used, so the exporter needs no upkeep task (that is for histograms).

use std::sync::Arc;

use axum::Router;
use axum::response::IntoResponse;
use bangban_domain::case::Stage;
use bangban_domain::station::StationCode;
use metrics::{counter, describe_counter, describe_gauge, gauge};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};
use time::OffsetDateTime;

use crate::jobs::{JobResult, JobStatus, Jobs};
use crate::policy::PolicyHandle;
use crate::store::{CaseStore, to_ms};
use crate::sync::Uplink;

/// The metrics of one node: its own recorder and the handle that renders it. Cheap to clone.
#[derive(Clone)]
pub struct NodeMetrics {
    recorder: Arc<PrometheusRecorder>,
    handle: PrometheusHandle,
}

impl std::fmt::Debug for NodeMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeMetrics").finish_non_exhaustive()
    }
}

/// What a run of `refresh-gauges` read from the database.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GaugeReading {
    /// Cases by stage, as stored (a stage with no case is absent).
    pub stages: Vec<(String, i64)>,
    pub events: i64,
    pub outbox: i64,
    /// When the oldest event waiting for the parent was queued (unix ms), if any waits.
    pub outbox_oldest_ms: Option<i64>,
    pub last_seq: i64,
    pub dead_letters_up: i64,
    pub dead_letters_down: i64,
    /// Open alerts by kind (a kind with none is absent).
    pub alerts_open: Vec<(String, i64)>,
    /// Case summaries waiting for the parent.
    pub summaries_queued: i64,
    /// Case summaries children sent since start: stored, already held, refused (from memory).
    pub summaries_received: [u64; 3],
    /// Case numbers of this node's subtree missing here, over the last
    /// [`GAP_DAYS`] days (`CaseStore::number_gap_count`).
    pub case_number_gaps: i64,
}

/// The days of case numbers the gap gauge covers, today included.
pub const GAP_DAYS: i64 = 7;

impl GaugeReading {
    /// Reads every database count the gauges show. A failed read fails the whole reading: the
    /// gauges then keep the last values read.
    pub async fn read(store: &CaseStore) -> anyhow::Result<GaugeReading> {
        let dead = store.dead_letter_counts().await?;
        Ok(GaugeReading {
            stages: store.stage_counts().await?,
            events: store.event_count().await?,
            outbox: store.outbox_len().await?,
            outbox_oldest_ms: store.outbox_oldest_ms().await?,
            last_seq: store.last_seq().await?,
            dead_letters_up: dead.up,
            dead_letters_down: dead.down,
            alerts_open: crate::alerts::AlertStore::new(store.db().clone())
                .open_counts()
                .await?,
            summaries_queued: store.summary_outbox_len().await?,
            summaries_received: {
                let counts = store.summary_counts();
                [counts.stored(), counts.unchanged(), counts.refused()]
            },
            case_number_gaps: match store.me() {
                Some(me) => {
                    let (from, to) = crate::store::recent_days(OffsetDateTime::now_utc(), GAP_DAYS);
                    store.number_gap_count(me, from, to).await?
                }
                None => 0,
            },
        })
    }

    fn cases(&self) -> i64 {
        self.stages.iter().map(|(_, n)| n).sum()
    }
}

/// Metric values are `f64` in the exporter; counts and Unix milliseconds fit exactly (< 2^53).
fn value(n: i64) -> f64 {
    n as f64
}

impl NodeMetrics {
    /// A fresh recorder for node `me`: every metric carries `station="<me>"`, and every family
    /// is described (its `# HELP` line) before anything is recorded.
    pub fn new(me: StationCode) -> NodeMetrics {
        let recorder = PrometheusBuilder::new()
            .add_global_label("station", me.to_string())
            .build_recorder();
        let metrics = NodeMetrics {
            handle: recorder.handle(),
            recorder: Arc::new(recorder),
        };
        metrics.record(describe);
        metrics
    }

    /// Runs `f` with this node's recorder as the current one: the `metrics` macros inside record
    /// here. `f` is synchronous on purpose (see the module comment).
    pub fn record<T>(&self, f: impl FnOnce() -> T) -> T {
        metrics::with_local_recorder(self.recorder.as_ref(), f)
    }

    /// The Prometheus text of everything recorded so far. Reads memory only.
    pub fn render(&self) -> String {
        self.handle.render()
    }

    /// The metrics of a starting node: a fresh recorder that the job runner records into, with
    /// the database gauges read once, so the first scrape already shows them. A failed first
    /// reading is logged, never fatal: the job tries again on its schedule.
    pub async fn start(me: StationCode, store: &CaseStore, jobs: &Jobs) -> NodeMetrics {
        let metrics = NodeMetrics::new(me);
        jobs.record_to(&metrics);
        if let Err(e) = refresh_gauges(store, Some(&metrics)).await {
            tracing::warn!(
                error = format!("{e:#}"),
                "the gauges could not be read at start"
            );
        }
        metrics
    }

    /// `GET /metrics`, which also shows the policy in force and, when there is one, the parent
    /// link (both read from memory at scrape).
    pub fn routes(&self, policy: PolicyHandle, link: Option<Uplink>) -> Router {
        let metrics = self.clone();
        Router::new().route(
            "/metrics",
            axum::routing::get(move || {
                let metrics = metrics.clone();
                let policy = policy.clone();
                let link = link.clone();
                async move { metrics.scrape(&policy, link.as_ref()) }
            }),
        )
    }

    fn scrape(&self, policy: &PolicyHandle, link: Option<&Uplink>) -> axum::response::Response {
        let report = policy.report();
        let policy = policy.current();
        self.record(|| {
            if let Some(number) = policy.bundle {
                gauge!("bangban_policy_bundle_number")
                    .set(value(i64::try_from(number).unwrap_or(i64::MAX)));
            }
            if let Some(at) = report.expires_at {
                gauge!("bangban_policy_bundle_expires_timestamp").set(value(at.unix_timestamp()));
            }
            for (reason, n) in &report.refusals {
                counter!("bangban_policy_refusals_total", "reason" => *reason).absolute(*n);
            }
            gauge!("bangban_policy_generation")
                .set(value(i64::try_from(policy.generation).unwrap_or(i64::MAX)));
            gauge!("bangban_policy_since_ms").set(value(crate::store::to_ms(policy.since)));
            if let Some(Uplink { parents, status }) = link {
                // 1 on the URL in use, 0 on the other replicas of the parent.
                let in_use = parents.current();
                for url in parents.urls() {
                    gauge!("bangban_parent_url_in_use", "url" => url.to_string())
                        .set(f64::from(u8::from(url == in_use)));
                }
                counter!("bangban_parent_switches_total").absolute(parents.switches());
                let link = status;
                gauge!("bangban_parent_reachable").set(f64::from(u8::from(link.reachable())));
                gauge!("bangban_parent_last_ok_ms").set(value(link.last_ok_ms()));
                counter!("bangban_pushed_total")
                    .absolute(u64::try_from(link.pushed()).unwrap_or_default());
                counter!("bangban_pulled_total")
                    .absolute(u64::try_from(link.pulled()).unwrap_or_default());
            }
        });
        (
            [(
                axum::http::header::CONTENT_TYPE,
                "text/plain; version=0.0.4",
            )],
            self.render(),
        )
            .into_response()
    }

    /// Publishes a reading of the database gauges. Every stage is set, those without a case to
    /// 0, so a stage that empties drops to 0 instead of keeping its last count.
    pub fn publish(&self, reading: &GaugeReading) {
        self.record(|| {
            for stage in Stage::ALL {
                if !reading.stages.iter().any(|(s, _)| s == stage.as_str()) {
                    gauge!("bangban_cases", "stage" => stage.as_str()).set(0.0);
                }
            }
            for (stage, n) in &reading.stages {
                gauge!("bangban_cases", "stage" => stage.clone()).set(value(*n));
            }
            gauge!("bangban_events").set(value(reading.events));
            gauge!("bangban_outbox").set(value(reading.outbox));
            let age_ms = reading.outbox_oldest_ms.map_or(0, |oldest| {
                (to_ms(OffsetDateTime::now_utc()) - oldest).max(0)
            });
            gauge!("bangban_outbox_oldest_age_seconds").set(value(age_ms / 1000));
            gauge!("bangban_last_seq").set(value(reading.last_seq));
            gauge!("bangban_dead_letters", "direction" => "up").set(value(reading.dead_letters_up));
            gauge!("bangban_dead_letters", "direction" => "down")
                .set(value(reading.dead_letters_down));
            for kind in crate::alerts::AlertKind::ALL {
                let n = reading
                    .alerts_open
                    .iter()
                    .find(|(k, _)| k == kind.as_str())
                    .map_or(0, |(_, n)| *n);
                gauge!("bangban_alerts_open", "kind" => kind.as_str()).set(value(n));
            }
            gauge!("bangban_summaries_queued").set(value(reading.summaries_queued));
            for (outcome, n) in ["stored", "unchanged", "refused"]
                .into_iter()
                .zip(reading.summaries_received)
            {
                counter!("bangban_summaries_received_total", "outcome" => outcome).absolute(n);
            }
            gauge!("bangban_case_number_gaps").set(value(reading.case_number_gaps));
        });
    }

    /// Shows a job as its status stands: called by the job runner when it starts recording
    /// here and at the end of every run. The counters mirror the status's own (`JobStatus` is
    /// what `/readyz` shows), so the two never disagree.
    pub(crate) fn job(&self, name: &'static str, status: &JobStatus) {
        self.record(|| {
            counter!("bangban_job_runs_total", "job" => name).absolute(status.runs);
            counter!("bangban_job_failures_total", "job" => name).absolute(status.failures);
            if let Some(at) = status.last_started_ms {
                gauge!("bangban_job_last_run_ms", "job" => name).set(value(at));
            }
            if let Some(ok) = status.last_ok {
                gauge!("bangban_job_last_success", "job" => name).set(f64::from(u8::from(ok)));
            }
            if let Some(at) = status.next_run_ms {
                gauge!("bangban_job_next_run_ms", "job" => name).set(value(at));
            }
        });
    }
}

/// The `# HELP` text of every family.
fn describe() {
    describe_gauge!(
        "bangban_policy_bundle_number",
        "Number of the district's signed policy bundle in force (absent: the policy files)."
    );
    describe_gauge!(
        "bangban_policy_bundle_expires_timestamp",
        "Expiry of the signed policy bundle in force, Unix seconds."
    );
    describe_counter!(
        "bangban_policy_refusals_total",
        "Policy bundles refused since start, by reason (the policy in force stayed)."
    );
    describe_gauge!("bangban_cases", "Cases stored at this node, by stage.");
    describe_gauge!("bangban_events", "Events stored at this node.");
    describe_gauge!(
        "bangban_outbox",
        "Events waiting to be pushed to the parent."
    );
    describe_gauge!(
        "bangban_outbox_oldest_age_seconds",
        "Age of the oldest event waiting for the parent, in seconds (0: nothing waits)."
    );
    describe_gauge!(
        "bangban_last_seq",
        "Local sequence number of the last stored event."
    );
    describe_gauge!(
        "bangban_dead_letters",
        "Events set aside, waiting for a decision, by direction."
    );
    describe_gauge!(
        "bangban_alerts_open",
        "Open alerts at this node, by kind (near_due, overdue, stuck_in_transit, child_silent)."
    );
    describe_gauge!(
        "bangban_summaries_queued",
        "Case summaries waiting to be pushed to the parent."
    );
    describe_counter!(
        "bangban_summaries_received_total",
        "Case summaries children sent since start, by outcome: stored (new or newer), \
         unchanged (a version already held), refused (personal data, outside the subtree, \
         malformed)."
    );
    describe_gauge!(
        "bangban_case_number_gaps",
        "Case numbers of this node's subtree from the last 7 days missing here: below the \
         highest number seen for their station and day, held neither as a summary nor as a case."
    );
    describe_gauge!(
        "bangban_policy_generation",
        "The policy in force: 1 at start, +1 per reload."
    );
    describe_gauge!(
        "bangban_policy_since_ms",
        "Unix milliseconds the policy in force was put in force."
    );
    describe_gauge!(
        "bangban_job_last_run_ms",
        "Unix milliseconds the job last started."
    );
    describe_gauge!(
        "bangban_job_last_success",
        "Whether the job's last run succeeded (1) or failed (0)."
    );
    describe_gauge!(
        "bangban_job_next_run_ms",
        "Unix milliseconds of the job's next scheduled run."
    );
    describe_counter!("bangban_job_runs_total", "Runs of the job since start.");
    describe_counter!(
        "bangban_job_failures_total",
        "Failed runs of the job since start."
    );
    describe_gauge!(
        "bangban_parent_url_in_use",
        "1 for the parent URL exchanges go to, 0 for the parent's other URLs."
    );
    describe_counter!(
        "bangban_parent_switches_total",
        "Times the link moved to the parent's next URL after a transport failure, since start."
    );
    describe_gauge!(
        "bangban_parent_reachable",
        "Whether the last exchange with the parent succeeded."
    );
    describe_gauge!(
        "bangban_parent_last_ok_ms",
        "Unix milliseconds of the last successful exchange with the parent."
    );
    describe_counter!(
        "bangban_pushed_total",
        "Events pushed to the parent since start."
    );
    describe_counter!(
        "bangban_pulled_total",
        "Events pulled from the parent since start."
    );
}

/// The body of the `refresh-gauges` job: reads the database counts and, when the node's metrics
/// are given, publishes them. Without metrics (`job run refresh-gauges` from the command line,
/// another process than the node) it only reports what it read.
pub async fn refresh_gauges(store: &CaseStore, metrics: Option<&NodeMetrics>) -> JobResult {
    let reading = GaugeReading::read(store).await?;
    if let Some(metrics) = metrics {
        metrics.publish(&reading);
    }
    Ok(format!(
        "{} case(s), {} event(s), {} queued for the parent, {} dead letter(s)",
        reading.cases(),
        reading.events,
        reading.outbox,
        reading.dead_letters_up + reading.dead_letters_down
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn me() -> StationCode {
        StationCode::parse("410402001001").unwrap()
    }

    #[test]
    fn two_nodes_in_one_process_keep_their_own_numbers() {
        let (a, b) = (NodeMetrics::new(me()), NodeMetrics::new(me()));
        a.publish(&GaugeReading {
            events: 7,
            ..GaugeReading::default()
        });
        assert!(
            a.render()
                .contains("bangban_events{station=\"410402001001\"} 7"),
            "{}",
            a.render()
        );
        assert!(!b.render().contains("bangban_events{"), "{}", b.render());
    }

    #[test]
    fn a_stage_that_empties_drops_to_zero() {
        let metrics = NodeMetrics::new(me());
        metrics.publish(&GaugeReading {
            stages: vec![("received".into(), 2)],
            ..GaugeReading::default()
        });
        let text = metrics.render();
        assert!(
            text.contains("bangban_cases{station=\"410402001001\",stage=\"received\"} 2"),
            "{text}"
        );
        assert!(text.contains("# HELP bangban_cases Cases stored at this node, by stage."));
        assert!(text.contains("# TYPE bangban_cases gauge"), "{text}");
        metrics.publish(&GaugeReading::default());
        assert!(
            metrics
                .render()
                .contains("bangban_cases{station=\"410402001001\",stage=\"received\"} 0")
        );
    }

    #[test]
    fn a_job_run_counts_and_shows_its_outcome() {
        let metrics = NodeMetrics::new(me());
        let registered = JobStatus {
            next_run_ms: Some(1_764_800_000_000),
            ..JobStatus::default()
        };
        metrics.job("purge-sessions", &registered);
        let text = metrics.render();
        assert!(
            text.contains(
                "bangban_job_runs_total{station=\"410402001001\",job=\"purge-sessions\"} 0"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "bangban_job_next_run_ms{station=\"410402001001\",job=\"purge-sessions\"} 1764800000000"
            ),
            "{text}"
        );
        let failed = JobStatus {
            last_started_ms: Some(1_764_800_000_000),
            last_ok: Some(false),
            runs: 1,
            failures: 1,
            ..registered
        };
        metrics.job("purge-sessions", &failed);
        let text = metrics.render();
        for line in [
            "bangban_job_runs_total{station=\"410402001001\",job=\"purge-sessions\"} 1",
            "bangban_job_failures_total{station=\"410402001001\",job=\"purge-sessions\"} 1",
            "bangban_job_last_success{station=\"410402001001\",job=\"purge-sessions\"} 0",
            "bangban_job_last_run_ms{station=\"410402001001\",job=\"purge-sessions\"} 1764800000000",
        ] {
            assert!(text.contains(line), "{line}: {text}");
        }
    }
}
