//! Scheduled jobs: plain async functions, each run on its cron schedule from `[jobs]`, at most
//! once per tick, and on demand from the CLI (`<binary> job run NAME`).
//!
//! Schedules are read in China time (UTC+8, no daylight saving), seconds field first:
//! `sec min hour day-of-month month day-of-week [year]`. Write days of the week by name
//! (`MON-FRI`, `SUN`): the `cron` crate counts Sunday as day 1, not 0, so numbers mislead.
//!
//! Each job runs in its own task: a slow run delays only its own next tick, and ticks missed
//! while it ran are skipped rather than run back to back. Every run is logged with its duration
//! and outcome; the last run, its outcome and the next run show in `/readyz` and `/metrics`.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use chrono::TimeZone;
use time::OffsetDateTime;
use tokio::sync::watch;

use crate::store::to_ms;

/// What a run reports when it succeeds: a line for the log and the status (e.g. "12 removed").
pub type JobResult = anyhow::Result<String>;

type JobFn = Arc<dyn Fn() -> Pin<Box<dyn Future<Output = JobResult> + Send>> + Send + Sync>;

/// One job: its name, schedule and body.
#[derive(Clone)]
pub struct Job {
    pub name: &'static str,
    pub schedule: cron::Schedule,
    run: JobFn,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job")
            .field("name", &self.name)
            .field("schedule", &self.schedule.to_string())
            .finish_non_exhaustive()
    }
}

/// The last run of a job, and the next.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobStatus {
    /// Unix milliseconds the last run started (None: never ran since start).
    pub last_started_ms: Option<i64>,
    pub last_duration_ms: Option<i64>,
    /// Whether the last run succeeded.
    pub last_ok: Option<bool>,
    /// What the last run reported, or its error.
    pub last_detail: Option<String>,
    /// Unix milliseconds of the next scheduled run.
    pub next_run_ms: Option<i64>,
    pub runs: u64,
    pub failures: u64,
}

/// A job name that is not registered.
#[derive(Debug, thiserror::Error)]
#[error("no job named `{name}`; the jobs are: {}", known.join(", "))]
pub struct UnknownJob {
    pub name: String,
    pub known: Vec<&'static str>,
}

/// The jobs of a node and their status.
#[derive(Clone, Default)]
pub struct Jobs {
    jobs: Vec<Job>,
    status: Arc<Mutex<BTreeMap<&'static str, JobStatus>>>,
}

impl std::fmt::Debug for Jobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.jobs.iter()).finish()
    }
}

/// China time, in which schedules are read.
fn china() -> chrono::FixedOffset {
    chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset")
}

fn next_after(schedule: &cron::Schedule, now: OffsetDateTime) -> Option<OffsetDateTime> {
    let now = china().timestamp_millis_opt(to_ms(now)).single()?;
    let next = schedule.after(&now).next()?;
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(next.timestamp_millis()) * 1_000_000).ok()
}

impl Jobs {
    pub fn new() -> Jobs {
        Jobs::default()
    }

    /// Registers a job. Names must be unique (a second one with a taken name replaces nothing
    /// and is refused by a panic at start, which a test of the node catches).
    pub fn add<F, Fut>(&mut self, name: &'static str, schedule: cron::Schedule, run: F)
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = JobResult> + Send + 'static,
    {
        assert!(
            self.jobs.iter().all(|j| j.name != name),
            "job {name} registered twice"
        );
        let next = next_after(&schedule, OffsetDateTime::now_utc()).map(to_ms);
        self.jobs.push(Job {
            name,
            schedule,
            run: Arc::new(move || Box::pin(run())),
        });
        if let Ok(mut status) = self.status.lock() {
            status.insert(
                name,
                JobStatus {
                    next_run_ms: next,
                    ..JobStatus::default()
                },
            );
        }
    }

    /// The registered jobs' names, in the order they were added.
    pub fn names(&self) -> Vec<&'static str> {
        self.jobs.iter().map(|j| j.name).collect()
    }

    /// Every job's status, by name.
    pub fn status(&self) -> BTreeMap<&'static str, JobStatus> {
        self.status.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Runs one job now, records its outcome and returns it.
    pub async fn run_now(&self, name: &str) -> Result<JobStatus, UnknownJob> {
        let job = self
            .jobs
            .iter()
            .find(|j| j.name == name)
            .ok_or_else(|| UnknownJob {
                name: name.to_owned(),
                known: self.names(),
            })?;
        self.run_once(job).await;
        Ok(self.status().remove(job.name).unwrap_or_default())
    }

    async fn run_once(&self, job: &Job) {
        let started = OffsetDateTime::now_utc();
        let clock = Instant::now();
        // A panicking job must not take the runner down: run it in its own task.
        let outcome = tokio::spawn((job.run)()).await;
        let took = i64::try_from(clock.elapsed().as_millis()).unwrap_or(i64::MAX);
        let (ok, detail) = match outcome {
            Ok(Ok(detail)) => {
                tracing::info!(job = job.name, took_ms = took, outcome = %detail, "job done");
                (true, detail)
            }
            Ok(Err(e)) => {
                tracing::warn!(
                    job = job.name,
                    took_ms = took,
                    error = format!("{e:#}"),
                    "job failed"
                );
                (false, format!("{e:#}"))
            }
            Err(e) => {
                tracing::error!(job = job.name, took_ms = took, error = %e, "job panicked");
                (false, format!("the job panicked: {e}"))
            }
        };
        let next = next_after(&job.schedule, OffsetDateTime::now_utc()).map(to_ms);
        if let Ok(mut status) = self.status.lock() {
            let s = status.entry(job.name).or_default();
            s.last_started_ms = Some(to_ms(started));
            s.last_duration_ms = Some(took);
            s.last_ok = Some(ok);
            s.last_detail = Some(detail.chars().take(300).collect());
            s.next_run_ms = next;
            s.runs += 1;
            s.failures += u64::from(!ok);
        }
    }

    /// Runs every job on its schedule until `shutdown` turns true; a run in progress at shutdown
    /// is abandoned (every job is idempotent and resumes from the database next time).
    pub async fn run(self, shutdown: watch::Receiver<bool>) {
        let mut tasks = tokio::task::JoinSet::new();
        for job in self.jobs.clone() {
            let jobs = self.clone();
            let mut shutdown = shutdown.clone();
            tasks.spawn(async move {
                loop {
                    let Some(next) = next_after(&job.schedule, OffsetDateTime::now_utc()) else {
                        tracing::info!(job = job.name, "the schedule has no next run");
                        break;
                    };
                    let wait = (next - OffsetDateTime::now_utc())
                        .try_into()
                        .unwrap_or(std::time::Duration::ZERO);
                    tokio::select! {
                        _ = shutdown.wait_for(|s| *s) => break,
                        () = tokio::time::sleep(wait) => {}
                    }
                    tokio::select! {
                        _ = shutdown.wait_for(|s| *s) => break,
                        () = jobs.run_once(&job) => {}
                    }
                }
            });
        }
        while tasks.join_next().await.is_some() {}
        tracing::info!("job runner stopped");
    }
}

/// The jobs every node runs, on the schedules of its `[jobs]` settings.
pub fn standard_jobs(auth: crate::auth::AuthStore, settings: &crate::node::JobSchedules) -> Jobs {
    let mut jobs = Jobs::new();
    let sessions = auth.clone();
    jobs.add(
        "purge-sessions",
        settings.purge_sessions.clone(),
        move || {
            let auth = sessions.clone();
            async move {
                let n = auth.purge_expired(OffsetDateTime::now_utc()).await?;
                Ok(format!("{n} expired session(s) removed"))
            }
        },
    );
    let retention = settings.login_audit_retention;
    jobs.add(
        "purge-login-audit",
        settings.purge_login_audit.clone(),
        move || {
            let auth = auth.clone();
            async move {
                let before = OffsetDateTime::now_utc() - retention;
                let n = auth.purge_login_audit(before).await?;
                Ok(format!(
                    "{n} login record(s) older than {} days removed",
                    retention.whole_days()
                ))
            }
        },
    );
    jobs
}
