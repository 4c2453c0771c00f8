//! Reconciliation between a village and its town at 10,000 and at 1,000,000 cases: the time
//! and the bytes of a check that finds no difference, and of one that finds one case changed.
//!
//!   cargo build --release -p district-node -p bangban-tests
//!   target/release/bench-reconcile [CASES...]          (default 10000 1000000)
//!   BENCH_PG_URL=postgres://… target/release/bench-reconcile   (the town on PostgreSQL)
//!
//! Both stores are real databases (the village a SQLite file; the town a SQLite file or a fresh
//! PostgreSQL database) migrated by the kit, and the two talk through the kit's real inter-node
//! routes over mutual TLS on loopback, with certificates from `district-node ca`. The cases are
//! written straight into the tables reconciliation reads (a million cases through the append
//! path would take the better part of an hour): each case row, its digest over six event ids
//! hashed with the store's own `event_hash`, and the per-day digest rows, as the appends would
//! have left them, and the same per-day rows for the summaries lane (a run compares events,
//! then summaries); the cases are spread evenly over three years. The logs and the summaries
//! themselves are not written: a no-difference check never reads them, and a one-case
//! difference reads one log.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bangban_domain::event::EventId;
use bangban_kit::db::{Db, sqlite_url};
use bangban_kit::store::CaseStore;
use bangban_kit::store::digests::{Digest, event_hash};
use bangban_kit::tls::https_client;
use bangban_tests::bench::{code, creds, policy, serve};
use bangban_tests::{ca_init, ca_issue};

const TOWN: &str = "410402001000";
const VILLAGE: &str = "410402001001";
const DAYS: i64 = 3 * 365;

fn day_of(i: usize, n: usize) -> (i64, time::Date) {
    let per_day = n.div_ceil(DAYS as usize).max(1);
    let date = time::macros::date!(2024 - 01 - 01) + time::Duration::days((i / per_day) as i64);
    let key = i64::from(date.year()) * 10_000
        + i64::from(u8::from(date.month())) * 100
        + i64::from(date.day());
    (key, date)
}

/// Writes `n` shared cases into both stores, with their digests.
async fn fill(village: &Db, town: &Db, n: usize) {
    let signed = |x: u64| i64::from_ne_bytes(x.to_ne_bytes());
    let mut days: BTreeMap<i64, Digest> = BTreeMap::new();
    let mut rows = Vec::with_capacity(n);
    let mut seq_of_day: BTreeMap<i64, u32> = BTreeMap::new();
    for i in 0..n {
        let (key, date) = day_of(i, n);
        let mut d = Digest::default();
        for _ in 0..6 {
            let id = EventId::from_uuid(uuid::Uuid::now_v7());
            d.add(Digest {
                n: 1,
                x: u64::from_ne_bytes(event_hash(&id).to_ne_bytes()),
            });
        }
        let seq = seq_of_day.entry(key).or_default();
        *seq += 1;
        let case_no = format!(
            "{VILLAGE}-{:04}{:02}{:02}-{:04}",
            date.year(),
            u8::from(date.month()),
            date.day(),
            seq
        );
        days.entry(key).or_default().add(d);
        rows.push((uuid::Uuid::now_v7().to_string(), case_no, key, d));
    }
    for (db, shared) in [(village, true), (town, false)] {
        let mut tx = db.pool().begin().await.unwrap();
        for (case_id, case_no, day, d) in &rows {
            sqlx::query(
                "INSERT INTO cases (case_id, case_no, origin, holder, stage, opened_at, version, \
                 updated_at, shared_up, search_version, case_day, ev_n, ev_x) \
                 VALUES ($1, $2, $3, $4, 'escalated', 0, 6, 0, $5, 1, $6, 6, $7)",
            )
            .bind(case_id)
            .bind(case_no)
            .bind(VILLAGE)
            .bind(TOWN)
            .bind(i64::from(shared))
            .bind(*day)
            .bind(signed(d.x))
            .execute(&mut *tx)
            .await
            .unwrap();
        }
        for (day, d) in &days {
            // The summaries lane: one summary per case on both sides (their digest stands for
            // the per-day rows the summary upserts keep).
            for scope in if shared {
                &["up", "all", "sum"][..]
            } else {
                &["all", "sum"][..]
            } {
                sqlx::query(
                    "INSERT INTO sync_digests (scope, origin, day, n, x) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(*scope)
                .bind(VILLAGE)
                .bind(*day)
                .bind(i64::try_from(d.n).unwrap())
                .bind(signed(d.x))
                .execute(&mut *tx)
                .await
                .unwrap();
            }
        }
        tx.commit().await.unwrap();
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

struct Measured {
    median_ms: f64,
    p99_ms: f64,
    requests: i64,
    bytes: i64,
}

async fn measure(
    village: &CaseStore,
    client: &reqwest::Client,
    url: &url::Url,
    runs: usize,
) -> Measured {
    let mut times = Vec::new();
    let mut last = None;
    for _ in 0..runs {
        let mut quiet = |_: &str| {};
        let t = Instant::now();
        let outcome =
            bangban_kit::reconcile::run_once(village, client, url, code(VILLAGE), None, &mut quiet)
                .await
                .unwrap();
        times.push(t.elapsed());
        last = Some(outcome.run);
    }
    times.sort();
    let run = last.unwrap();
    Measured {
        median_ms: ms(times[times.len() / 2]),
        p99_ms: ms(times[((times.len() as f64 - 1.0) * 0.99).round() as usize]),
        requests: run.requests,
        bytes: run.bytes,
    }
}

async fn town_db(dir: &std::path::Path) -> Db {
    let db = match std::env::var("BENCH_PG_URL") {
        Ok(admin_url) => {
            let admin = Db::connect(&admin_url).await.unwrap();
            let name = format!("bench_reconcile_{}", uuid::Uuid::now_v7().simple());
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(admin.pool())
                .await
                .unwrap();
            let mut url = url::Url::parse(&admin_url).unwrap();
            url.set_path(&format!("/{name}"));
            Db::connect(url.as_str()).await.unwrap()
        }
        Err(_) => Db::connect(&sqlite_url(&dir.join("town.sqlite")))
            .await
            .unwrap(),
    };
    db.migrate().await.unwrap();
    db
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    bangban_kit::tls::install_crypto_provider();
    let sizes: Vec<usize> = {
        let args: Vec<usize> = std::env::args()
            .skip(1)
            .filter_map(|a| a.parse().ok())
            .collect();
        if args.is_empty() {
            vec![10_000, 1_000_000]
        } else {
            args
        }
    };
    let root = tempfile::tempdir().unwrap();
    ca_init(&root.path().join("ca"));
    ca_issue(
        &root.path().join("ca"),
        TOWN,
        &root.path().join("town-tls"),
        &["--host", "127.0.0.1"],
    );
    ca_issue(
        &root.path().join("ca"),
        VILLAGE,
        &root.path().join("village-tls"),
        &[],
    );
    let client = https_client(
        &creds(&root.path().join("village-tls")),
        Vec::new(),
        code(TOWN),
    )
    .unwrap();
    println!(
        "town on {}",
        if std::env::var("BENCH_PG_URL").is_ok() {
            "PostgreSQL"
        } else {
            "SQLite"
        }
    );
    println!(
        "| cases | no difference: median / p99 | requests | bytes | one case changed: time | requests | bytes |"
    );
    println!("|---|---|---|---|---|---|---|");
    let mut medians = Vec::new();
    for n in sizes {
        let dir = root.path().join(format!("n{n}"));
        std::fs::create_dir_all(&dir).unwrap();
        let village_db = Db::connect(&sqlite_url(&dir.join("village.sqlite")))
            .await
            .unwrap();
        village_db.migrate().await.unwrap();
        let town = town_db(&dir).await;
        let t = Instant::now();
        fill(&village_db, &town, n).await;
        eprintln!("{n} cases written in {:.1} s", t.elapsed().as_secs_f64());
        let village = CaseStore::new(village_db.clone(), policy()).with_uplink(code(VILLAGE));
        let town_store = CaseStore::new(town.clone(), policy());
        let (url, stop) = serve(town_store.clone(), TOWN, &root.path().join("town-tls")).await;
        // Warm the connection and the page caches, then measure.
        measure(&village, &client, &url, 3).await;
        let same = measure(&village, &client, &url, 50).await;
        // One case changed at the village: its digest and its day's.
        let (case_id, day, x): (String, i64, i64) = {
            use sqlx::Row;
            let r = sqlx::query(
                "SELECT case_id, case_day, ev_x FROM cases ORDER BY case_id LIMIT 1 OFFSET $1",
            )
            .bind(i64::try_from(n / 2).unwrap())
            .fetch_one(village_db.pool())
            .await
            .unwrap();
            (
                r.try_get("case_id").unwrap(),
                r.try_get("case_day").unwrap(),
                r.try_get("ev_x").unwrap(),
            )
        };
        sqlx::query("UPDATE cases SET ev_x = $2 WHERE case_id = $1")
            .bind(&case_id)
            .bind(x ^ 1)
            .execute(village_db.pool())
            .await
            .unwrap();
        sqlx::query(
            "UPDATE sync_digests SET x = ((x | 1) - (x & 1)) WHERE scope = 'up' AND day = $1",
        )
        .bind(day)
        .execute(village_db.pool())
        .await
        .unwrap();
        let one = measure(&village, &client, &url, 1).await;
        println!(
            "| {n} | **{:.2} ms** / {:.2} ms | {} | **{}** | {:.1} ms | {} | {} |",
            same.median_ms,
            same.p99_ms,
            same.requests,
            same.bytes,
            one.median_ms,
            one.requests,
            one.bytes
        );
        medians.push((n, same.median_ms));
        drop(stop);
        village_db.close().await;
        town.close().await;
    }
    if let [(a, ta), .., (b, tb)] = medians[..] {
        println!("\ntime({b}) / time({a}) = {:.2}", tb / ta);
    }
}
