//! Scheduled ticks are claimed in the database (`bangban_kit::jobs`, `job_ticks`): two runners on
//! one database, as two district replicas are, run each tick of a job once between them, and a
//! tick already run is not run again.

use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use bangban_kit::jobs::Jobs;
use bangban_kit::store::CaseStore;

/// A runner with one job, `tick`, every second: it counts its runs in `runs` and takes 300 ms.
fn runner(runs: Arc<AtomicU32>) -> Jobs {
    let mut jobs = Jobs::new();
    jobs.add(
        "tick",
        cron::Schedule::from_str("* * * * * *").unwrap(),
        move || {
            let runs = runs.clone();
            async move {
                runs.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(300)).await;
                Ok("counted".to_owned())
            }
        },
    );
    jobs
}

/// Runs `jobs` (each until the same stop) for about 3.5 seconds.
async fn run_together(all: Vec<Jobs>) {
    let (stop, rx) = tokio::sync::watch::channel(false);
    let tasks: Vec<_> = all
        .into_iter()
        .map(|jobs| tokio::spawn(jobs.run(rx.clone())))
        .collect();
    tokio::time::sleep(Duration::from_millis(3500)).await;
    stop.send(true).unwrap();
    for t in tasks {
        t.await.unwrap();
    }
}

async fn ticks_run(store: &CaseStore) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM job_ticks WHERE job = 'tick'")
        .fetch_one(store.db().pool())
        .await
        .unwrap()
}

pub async fn two_runners_on_one_database_run_each_tick_once(store: CaseStore) {
    // The control: unclaimed, both runners run every tick.
    let unclaimed = Arc::new(AtomicU32::new(0));
    run_together(vec![runner(unclaimed.clone()), runner(unclaimed.clone())]).await;
    let unclaimed = unclaimed.load(Ordering::SeqCst);
    assert!(unclaimed >= 4, "both ran each tick: {unclaimed}");
    assert_eq!(ticks_run(&store).await, 0, "nothing claimed");

    let runs = Arc::new(AtomicU32::new(0));
    run_together(vec![
        runner(runs.clone()).claimed_in(store.db().clone()),
        runner(runs.clone()).claimed_in(store.db().clone()),
    ])
    .await;
    let runs = runs.load(Ordering::SeqCst);
    let ticks = ticks_run(&store).await;
    assert!(ticks >= 2, "{ticks} ticks claimed");
    assert_eq!(
        i64::from(runs),
        ticks,
        "each claimed tick ran once (the unclaimed runners ran {unclaimed} times)"
    );
}

/// A runner with one job, `slow`, every second, taking 1.5 s: it tracks how many runs of it are
/// in flight at once, over every runner, and the most there ever were.
fn slow_runner(in_flight: Arc<AtomicU32>, most: Arc<AtomicU32>, runs: Arc<AtomicU32>) -> Jobs {
    let mut jobs = Jobs::new();
    jobs.add(
        "slow",
        cron::Schedule::from_str("* * * * * *").unwrap(),
        move || {
            let (in_flight, most, runs) = (in_flight.clone(), most.clone(), runs.clone());
            async move {
                let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                runs.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(1500)).await;
                in_flight.fetch_sub(1, Ordering::SeqCst);
                Ok("slow".to_owned())
            }
        },
    );
    jobs
}

pub async fn on_postgres_a_job_never_runs_twice_at_once_across_runners(store: CaseStore) {
    let (in_flight, most, runs) = (
        Arc::new(AtomicU32::new(0)),
        Arc::new(AtomicU32::new(0)),
        Arc::new(AtomicU32::new(0)),
    );
    run_together(vec![
        slow_runner(in_flight.clone(), most.clone(), runs.clone()).claimed_in(store.db().clone()),
        slow_runner(in_flight.clone(), most.clone(), runs.clone()).claimed_in(store.db().clone()),
    ])
    .await;
    let runs = runs.load(Ordering::SeqCst);
    assert!(runs >= 2, "{runs} runs");
    let most = most.load(Ordering::SeqCst);
    if store.db().backend() == bangban_kit::db::Backend::Postgres {
        // The advisory lock: the other runner's next tick falls while this run still holds it.
        assert_eq!(most, 1, "runs overlapped");
    } else {
        // One process per SQLite file: only the tick's row is shared, so runs of consecutive
        // ticks may overlap; each tick still ran once.
        assert!(most <= 2, "{most}");
    }
}
