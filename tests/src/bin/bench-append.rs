//! Append latency of the case store on a real SQLite file, by the length of the case's log, and
//! what `synchronous = FULL` costs against `NORMAL`.
//!
//!   cargo build --release -p bangban-tests
//!   target/release/bench-append [APPENDS]        (default 200)
//!
//! For each durability setting it builds 200 cases of 10 events and one case of 10,000 events,
//! then times APPENDS single-event appends (a comment, each its own transaction, as an operator's
//! step is) to the short cases and to the long one; and, for comparison, the same appends to the
//! long case with its stored state removed first, which is what every append cost before the
//! state was stored (fold the whole log).
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use bangban_domain::calendar::WorkingCalendar;
use bangban_domain::event::Event;
use bangban_kit::db::{Db, sqlite_url};
use bangban_kit::store::{Admission, AppendLimits, CaseStore};
use time::OffsetDateTime;

// The store tests' case builder, so that the benchmark appends the same events they check.
#[path = "../../../shared/kit/tests/common/databases.rs"]
#[allow(dead_code)]
mod databases;
#[path = "../../../shared/kit/tests/store/support.rs"]
#[allow(dead_code)]
mod store_support;

use store_support::{CaseBuilder, VILLAGE};

/// The `n`-th comment on `case`, `n` minutes after it opened.
fn comment(case: &CaseBuilder, n: i64) -> Event {
    case.comment(VILLAGE, n, &format!("第 {n} 条备注"))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// A case of `len` events (an application and comments), written in batches.
async fn case_of(store: &CaseStore, seq: u32, len: i64) -> CaseBuilder {
    let case = CaseBuilder::at_station(VILLAGE, seq);
    let mut events = vec![case.application()];
    events.extend((1..len).map(|n| comment(&case, n)));
    for chunk in events.chunks(500) {
        store
            .append_batch(chunk, Admission::Local, None, OffsetDateTime::now_utc())
            .await
            .unwrap();
    }
    case
}

/// Sets `synchronous` on every pooled connection (the pool has at most 4).
async fn set_synchronous(db: &Db, mode: &str) {
    let mut held = Vec::new();
    while let Ok(Ok(conn)) =
        tokio::time::timeout(Duration::from_millis(200), db.pool().acquire()).await
    {
        held.push(conn);
    }
    for conn in &mut held {
        sqlx::query(sqlx::AssertSqlSafe(format!("PRAGMA synchronous = {mode}")))
            .execute(&mut **conn)
            .await
            .unwrap();
    }
}

async fn time_appends(
    store: &CaseStore,
    appends: usize,
    mut next: impl FnMut(usize) -> (Event, bool),
) -> Vec<Duration> {
    let mut took = Vec::with_capacity(appends);
    for i in 0..appends {
        let (ev, drop_state) = next(i);
        if drop_state {
            sqlx::query("UPDATE cases SET state_doc = NULL WHERE case_id = $1")
                .bind(ev.case_id.to_string())
                .execute(store.db().pool())
                .await
                .unwrap();
        }
        let t = Instant::now();
        store.append(&ev, OffsetDateTime::now_utc()).await.unwrap();
        took.push(t.elapsed());
    }
    took.sort();
    took
}

fn report(what: &str, took: &[Duration]) {
    println!(
        "  {what:<48} p50 {:>7.2} ms   p99 {:>7.2} ms   mean {:>7.2} ms",
        ms(percentile(took, 0.5)),
        ms(percentile(took, 0.99)),
        ms(took.iter().sum::<Duration>() / u32::try_from(took.len()).unwrap_or(1)),
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let appends: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(200);
    for mode in ["FULL", "NORMAL"] {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::connect(&sqlite_url(&dir.path().join("bench.sqlite")))
            .await
            .unwrap();
        db.migrate().await.unwrap();
        set_synchronous(&db, mode).await;
        let store =
            CaseStore::new(db, Arc::new(WorkingCalendar::empty())).with_limits(AppendLimits {
                max_events_per_case: 1_000_000,
                ..AppendLimits::default()
            });
        let mut short = Vec::new();
        for seq in 1..=u32::try_from(appends).unwrap() {
            short.push(case_of(&store, seq, 10).await);
        }
        let long = case_of(&store, 9999, 10_000).await;
        println!("synchronous = {mode} ({appends} appends each)");
        let took = time_appends(&store, appends, |i| (comment(&short[i], 100), false)).await;
        report("append to a case of 10 events", &took);
        let took = time_appends(&store, appends, |i| {
            (comment(&long, 20_000 + i64::try_from(i).unwrap()), false)
        })
        .await;
        report("append to a case of 10,000 events", &took);
        if mode == "FULL" {
            let took = time_appends(&store, appends, |i| {
                (comment(&long, 30_000 + i64::try_from(i).unwrap()), true)
            })
            .await;
            report("  same, folding the whole log (before)", &took);
        }
        store.db().close().await;
    }
}
