//! Scheduled jobs: plain async functions, each run on its cron schedule from `[jobs]`, at most
//! once per tick, and on demand from the CLI (`<binary> job run NAME`).
//!
//! Schedules are read in China time (UTC+8, no daylight saving), seconds field first:
//! `sec min hour day-of-month month day-of-week [year]`. Write days of the week by name
//! (`MON-FRI`, `SUN`): the `cron` crate counts Sunday as day 1, not 0, so numbers mislead.
//!
//! Each job runs in its own task: a slow run delays only its own next tick, and ticks missed
//! while it ran are skipped rather than run back to back.
//!
//! Once per tick across processes ([`Jobs::claimed_in`]): before a scheduled run, the runner
//! claims the tick in the database: on PostgreSQL it takes a session advisory lock of the job
//! (so two district replicas never run one job at the same time), and on both backends it inserts
//! the unique row `(job, scheduled_for)` into `job_ticks` (so a tick another replica has already
//! run, or that this node ran before a restart, is not run again). A tick that cannot be claimed
//! is skipped, never run twice; every job is idempotent, so the next tick catches up. Every run is logged with its duration
//! and outcome; the last run, its outcome and the next run show in `/readyz` and `/metrics`.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use chrono::TimeZone;
use time::OffsetDateTime;
use tokio::sync::watch;

use crate::node::NodeMetrics;
use crate::store::{CaseStore, to_ms};

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
    /// The running node's metrics, once it records there (`record_to`); shared by every clone,
    /// and by jobs that publish into them (`refresh-gauges`). Unset for `job run` on the
    /// command line, which is another process than the node.
    metrics: Arc<OnceLock<NodeMetrics>>,
    /// Where scheduled ticks are claimed (see the module docs); `None`: every tick runs here.
    claims: Option<crate::db::Db>,
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

    /// Claims every scheduled tick in `db` before running it, so that the processes sharing
    /// `db` run each tick of each job once between them. Runs on demand (`run_now`) claim
    /// nothing.
    pub fn claimed_in(mut self, db: crate::db::Db) -> Jobs {
        self.claims = Some(db);
        self
    }

    /// Registers a job. Names must be unique: registering a taken name is a programming error
    /// and panics, at start, before anything runs.
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

    /// From now on, records every job's runs into `metrics`, starting with each job as it
    /// stands. A node records into one set of metrics only: a second call is ignored.
    pub fn record_to(&self, metrics: &NodeMetrics) {
        if self.metrics.set(metrics.clone()).is_err() {
            tracing::warn!("the jobs already record into a node's metrics");
            return;
        }
        for (name, status) in self.status() {
            metrics.job(name, &status);
        }
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
        self.run_once(job, None).await;
        Ok(self.status().remove(job.name).unwrap_or_default())
    }

    /// Runs `job` once; `tick` is the scheduled time it runs for (none on demand), logged with
    /// the outcome so that the runs of replicas can be told apart and counted.
    async fn run_once(&self, job: &Job, tick: Option<OffsetDateTime>) {
        let tick = tick.map(to_ms);
        let started = OffsetDateTime::now_utc();
        let clock = Instant::now();
        // A panicking job must not take the runner down: run it in its own task.
        let outcome = tokio::spawn((job.run)()).await;
        let took = i64::try_from(clock.elapsed().as_millis()).unwrap_or(i64::MAX);
        let (ok, detail) = match outcome {
            Ok(Ok(detail)) => {
                tracing::info!(job = job.name, tick, took_ms = took, outcome = %detail, "job done");
                (true, detail)
            }
            Ok(Err(e)) => {
                tracing::warn!(
                    job = job.name,
                    tick,
                    took_ms = took,
                    error = format!("{e:#}"),
                    "job failed"
                );
                (false, format!("{e:#}"))
            }
            Err(e) => {
                tracing::error!(job = job.name, tick, took_ms = took, error = %e, "job panicked");
                (false, format!("the job panicked: {e}"))
            }
        };
        let next = next_after(&job.schedule, OffsetDateTime::now_utc()).map(to_ms);
        let now = self.status.lock().ok().map(|mut status| {
            let s = status.entry(job.name).or_default();
            s.last_started_ms = Some(to_ms(started));
            s.last_duration_ms = Some(took);
            s.last_ok = Some(ok);
            s.last_detail = Some(detail.chars().take(300).collect());
            s.next_run_ms = next;
            s.runs += 1;
            s.failures += u64::from(!ok);
            s.clone()
        });
        if let (Some(metrics), Some(status)) = (self.metrics.get(), now) {
            metrics.job(job.name, &status);
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
                    let claim = match &jobs.claims {
                        None => None,
                        Some(db) => match claim_tick(db, job.name, next).await {
                            Ok(Some(claim)) => Some(claim),
                            Ok(None) => {
                                tracing::debug!(job = job.name, "tick run elsewhere; skipped");
                                continue;
                            }
                            Err(e) => {
                                tracing::warn!(job = job.name, error = %e, "cannot claim the tick; skipped");
                                continue;
                            }
                        },
                    };
                    tokio::select! {
                        _ = shutdown.wait_for(|s| *s) => break,
                        () = jobs.run_once(&job, Some(next)) => {}
                    }
                    if let Some(claim) = claim {
                        claim.release().await;
                    }
                }
            });
        }
        while tasks.join_next().await.is_some() {}
        tracing::info!("job runner stopped");
    }
}

/// A claimed tick: the connection that holds the job's advisory lock on PostgreSQL.
struct Claim {
    conn: Option<(sqlx::pool::PoolConnection<sqlx::Any>, i64)>,
}

impl Claim {
    /// Gives the advisory lock back (a connection dropped without it would keep the lock until
    /// the pool closes it, so it is detached instead).
    async fn release(self) {
        if let Some((mut conn, key)) = self.conn {
            let unlocked = sqlx::query("SELECT pg_advisory_unlock($1)")
                .bind(key)
                .execute(&mut *conn)
                .await;
            if unlocked.is_err() {
                drop(conn.detach());
            }
        }
    }
}

/// The advisory lock key of a job: FNV-1a of its name, in a namespace of its own.
fn lock_key(job: &str) -> i64 {
    let hash = job.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    i64::from_ne_bytes((hash ^ 0x6a6f_6273_0000_0000).to_ne_bytes())
}

/// Who runs a tick, for the `job_ticks` row.
fn runner() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_default();
    format!("{host}#{}", std::process::id())
}

/// Claims tick `tick` of `job` (see the module docs): `None` when another process holds the
/// job or has claimed the tick.
async fn claim_tick(
    db: &crate::db::Db,
    job: &str,
    tick: OffsetDateTime,
) -> Result<Option<Claim>, sqlx::Error> {
    let mut claim = Claim { conn: None };
    if db.backend() == crate::db::Backend::Postgres {
        let mut conn = db.pool().acquire().await?;
        let key = lock_key(job);
        let got: i64 = sqlx::query_scalar(
            "SELECT CASE WHEN pg_try_advisory_lock($1) THEN 1 ELSE 0 END::BIGINT",
        )
        .bind(key)
        .fetch_one(&mut *conn)
        .await?;
        if got != 1 {
            return Ok(None);
        }
        claim.conn = Some((conn, key));
    }
    let inserted = sqlx::query(
        "INSERT INTO job_ticks (job, scheduled_for, started_at, runner) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (job, scheduled_for) DO NOTHING",
    )
    .bind(job)
    .bind(to_ms(tick))
    .bind(to_ms(OffsetDateTime::now_utc()))
    .bind(runner())
    .execute(db.pool())
    .await;
    match inserted {
        Ok(done) if done.rows_affected() == 1 => {
            // Old rows go with the claims; a failure here only leaves them for the next tick.
            let week_ago = to_ms(tick - time::Duration::days(7));
            if let Err(e) =
                sqlx::query("DELETE FROM job_ticks WHERE job = $1 AND scheduled_for < $2")
                    .bind(job)
                    .bind(week_ago)
                    .execute(db.pool())
                    .await
            {
                tracing::debug!(job, error = %e, "old ticks not removed");
            }
            Ok(Some(claim))
        }
        Ok(_) => {
            claim.release().await;
            Ok(None)
        }
        Err(e) => {
            claim.release().await;
            Err(e)
        }
    }
}

/// The jobs every node runs, on the schedules of its `[jobs]` settings.
pub fn standard_jobs(
    auth: crate::auth::AuthStore,
    store: CaseStore,
    settings: &crate::node::JobSchedules,
) -> Jobs {
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
    // Publishes into the node's metrics once the node records there (see `record_to`).
    let metrics = jobs.metrics.clone();
    jobs.add(
        "refresh-gauges",
        settings.refresh_gauges.clone(),
        move || {
            let store = store.clone();
            let metrics = metrics.clone();
            async move { crate::node::refresh_gauges(&store, metrics.get()).await }
        },
    );
    jobs
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::str::FromStr;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::time::Duration;

    fn schedule(expr: &str) -> cron::Schedule {
        cron::Schedule::from_str(expr).expect("schedule")
    }

    #[test]
    fn schedules_are_read_in_china_time_with_named_days() {
        // 2026-11-28 00:00 UTC is 08:00 on Saturday in China.
        let now = time::macros::datetime!(2026-11-28 00:00 UTC);
        let next = next_after(&schedule("0 30 3 * * *"), now).expect("next");
        assert_eq!(next, time::macros::datetime!(2026-11-29 03:30 +8));
        let monday = next_after(&schedule("0 0 9 * * MON"), now).expect("next");
        assert_eq!(monday, time::macros::datetime!(2026-11-30 09:00 +8));
    }

    #[tokio::test]
    async fn an_unknown_job_is_refused_with_the_known_ones() {
        let mut jobs = Jobs::new();
        jobs.add("purge-sessions", schedule("0 0 * * * *"), || async {
            Ok("done".to_owned())
        });
        jobs.add("purge-login-audit", schedule("0 0 * * * *"), || async {
            Ok("done".to_owned())
        });
        let err = jobs.run_now("purge").await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "no job named `purge`; the jobs are: purge-sessions, purge-login-audit"
        );
    }

    #[tokio::test]
    async fn each_run_records_its_outcome_and_a_panic_is_a_failure() {
        let mut jobs = Jobs::new();
        jobs.add("ok", schedule("0 0 * * * *"), || async {
            Ok("3 removed".to_owned())
        });
        jobs.add("fails", schedule("0 0 * * * *"), || async {
            Err(anyhow::anyhow!("database locked"))
        });
        jobs.add("panics", schedule("0 0 * * * *"), || async {
            panic!("a bug in the job")
        });
        let ok = jobs.run_now("ok").await.unwrap();
        assert_eq!(ok.last_ok, Some(true));
        assert_eq!(ok.last_detail.as_deref(), Some("3 removed"));
        assert_eq!((ok.runs, ok.failures), (1, 0));
        assert!(ok.next_run_ms.is_some() && ok.last_started_ms.is_some());
        let failed = jobs.run_now("fails").await.unwrap();
        assert_eq!(failed.last_ok, Some(false));
        assert_eq!(failed.last_detail.as_deref(), Some("database locked"));
        let panicked = jobs.run_now("panics").await.unwrap();
        assert_eq!(panicked.last_ok, Some(false));
        assert!(panicked.last_detail.unwrap().contains("panicked"));
        assert_eq!(jobs.status().len(), 3);
    }

    /// Every second a tick, but each run takes 1.5 s: the ticks that pass during a run are
    /// skipped, never run back to back; shutdown stops the runner mid-run.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_job_runs_at_most_once_per_tick_and_stops_on_shutdown() {
        let started = Arc::new(AtomicU32::new(0));
        let mut jobs = Jobs::new();
        let counter = started.clone();
        jobs.add("slow", schedule("* * * * * *"), move || {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(1500)).await;
                Ok("slept".to_owned())
            }
        });
        let (stop, stopped) = watch::channel(false);
        let runner = tokio::spawn(jobs.clone().run(stopped));
        tokio::time::sleep(Duration::from_millis(3200)).await;
        stop.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(1), runner)
            .await
            .expect("the runner stops promptly")
            .unwrap();
        let runs = started.load(Ordering::SeqCst);
        // The first tick comes within a second (t1); skipping the ticks a run overlaps, the
        // starts are t1 and t1 + 2 s, and t1 + 4 s is past the window.
        assert!((1..=2).contains(&runs), "{runs} runs started");
        assert!(jobs.status()["slow"].runs >= 1);
    }
}
