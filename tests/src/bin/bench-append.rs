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
use bangban_domain::event::*;
use bangban_domain::ident::{MobileNumber, ResidentId};
use bangban_domain::station::StationCode;
use bangban_kit::db::{Db, sqlite_url};
use bangban_kit::store::{Admission, AppendLimits, CaseStore};
use time::OffsetDateTime;
use uuid::Uuid;

const VILLAGE: &str = "410402001001";

fn village() -> StationCode {
    StationCode::parse(VILLAGE).unwrap()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

struct Case {
    id: CaseId,
    at: OffsetDateTime,
}

impl Case {
    fn new(seq: u32) -> Case {
        Case {
            id: CaseId::from_uuid(Uuid::now_v7()),
            at: OffsetDateTime::now_utc() - time::Duration::days(2)
                + time::Duration::seconds(i64::from(seq)),
        }
    }

    fn event(&self, n: i64, body: EventBody) -> Event {
        Event {
            event_id: EventId::from_uuid(Uuid::now_v7()),
            case_id: self.id,
            author: village(),
            actor: Some("bench".into()),
            occurred_at: self.at + time::Duration::milliseconds(n),
            body,
        }
    }

    fn application(&self, seq: u32) -> Event {
        self.event(
            0,
            EventBody::ApplicationReceived(Application {
                case_no: CaseNumber::new(village(), self.at.date(), seq).unwrap(),
                channel: Channel::Window,
                item: ItemRef {
                    code: "410402-JY-001".into(),
                    name: "食品经营许可".into(),
                    case_type: CaseType::Promised,
                    promised_days: 5,
                },
                applicant: Applicant::Person {
                    name: "张三".into(),
                    id_number: ResidentId::parse("11010519491231002X").unwrap(),
                    phone: MobileNumber::parse("13812345678").unwrap(),
                },
            }),
        )
    }

    fn comment(&self, n: i64) -> Event {
        self.event(
            n,
            EventBody::Commented(Comment {
                text: format!("第 {n} 条备注"),
            }),
        )
    }
}

/// A case of `len` events (an application and comments), written in batches.
async fn case_of(store: &CaseStore, seq: u32, len: i64) -> Case {
    let case = Case::new(seq);
    let mut events = vec![case.application(seq)];
    events.extend((1..len).map(|n| case.comment(n)));
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
        let took = time_appends(&store, appends, |i| (short[i].comment(100), false)).await;
        report("append to a case of 10 events", &took);
        let took = time_appends(&store, appends, |i| {
            (long.comment(20_000 + i64::try_from(i).unwrap()), false)
        })
        .await;
        report("append to a case of 10,000 events", &took);
        if mode == "FULL" {
            let took = time_appends(&store, appends, |i| {
                (long.comment(30_000 + i64::try_from(i).unwrap()), true)
            })
            .await;
            report("  same, folding the whole log (before)", &took);
        }
        store.db().close().await;
    }
}
