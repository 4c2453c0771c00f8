//! Ingest at a parent over mutual TLS against a raw batched SQLite insert of the same rows, and
//! the drain of a backlog through two hops (village → town → district).
//!
//!   cargo build --release -p district-node -p bangban-tests
//!   target/release/bench-sync [EVENTS]          (default 100000)
//!
//! Everything is real but in one process: real SQLite files migrated by the kit, the kit's
//! real inter-node routes behind `serve_mtls` with certificates from `district-node ca`, the
//! kit's push client and forwarder. The events are those of the store tests' case builder:
//! cases of five events (application, pre-review, delegation, escalation to the district, a
//! comment), written at the village first (not timed).
//!
//! 1. Ingest: the village's outbox pushed to the town in batches of 500 (`push_once`, each batch
//!    answered only after the town committed it), against the same rows inserted raw into a
//!    fresh database of the same schema (`cases` and `case_events`, 500 events per transaction,
//!    no checks, no projections, no outbox).
//! 2. Drain through two hops: with the town's forwarder running towards the district, the
//!    village's whole backlog is pushed; timed from the first push until the district holds
//!    every event.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use bangban_domain::event::Event;
use bangban_domain::station::Tier;
use bangban_kit::db::{Db, sqlite_url};
use bangban_kit::store::{Admission, CaseStore};
use bangban_kit::sync::client::{LinkOptions, push_once, run_forwarder};
use bangban_kit::sync::{LinkStatus, ParentUrls};
use bangban_kit::tls::https_client;
use bangban_tests::bench::{code, creds, policy, serve};
use bangban_tests::{ca_init, ca_issue};
use time::OffsetDateTime;

#[path = "../../../shared/kit/tests/common/databases.rs"]
#[allow(dead_code)]
mod databases;
#[path = "../../../shared/kit/tests/store/support.rs"]
#[allow(dead_code)]
mod store_support;

use store_support::CaseBuilder;

const DISTRICT: &str = "410402000000";
const TOWN: &str = "410402001000";
const VILLAGE: &str = "410402001001";

async fn open(path: &std::path::Path) -> Db {
    let db = Db::connect(&sqlite_url(path)).await.unwrap();
    db.migrate().await.unwrap();
    db
}

/// The five events of case `seq` at the village, escalated to the district.
fn case_events(seq: u32) -> Vec<Event> {
    let case = CaseBuilder::at_station(VILLAGE, seq);
    vec![
        case.application(),
        case.complete_review(VILLAGE, 1),
        case.delegation(VILLAGE, 2),
        case.escalate(VILLAGE, 3, Tier::District),
        case.comment(VILLAGE, 4, "已电话告知申请人办理进度"),
    ]
}

/// A village store holding `cases` escalated cases, all queued for its parent.
async fn village_with(path: &std::path::Path, cases: u32) -> CaseStore {
    let store = CaseStore::new(open(path).await, policy())
        .with_uplink(code(VILLAGE))
        .of_station(code(VILLAGE));
    for chunk in (1..=cases).collect::<Vec<_>>().chunks(100) {
        let events: Vec<Event> = chunk.iter().flat_map(|s| case_events(*s)).collect();
        store
            .append_batch(&events, Admission::Local, None, OffsetDateTime::now_utc())
            .await
            .unwrap();
    }
    store
}

/// The same rows inserted with no checks: the case rows, then the events, 500 per transaction.
async fn raw_insert(db: &Db, village: &CaseStore, cases: u32) -> Duration {
    let events: Vec<Event> = village
        .outbox_peek(u32::MAX)
        .await
        .unwrap()
        .into_iter()
        .map(|q| q.event)
        .collect();
    let t = Instant::now();
    for chunk in events.chunks(500) {
        let mut tx = db.pool().begin().await.unwrap();
        for ev in chunk {
            if ev.kind().opens_case() {
                sqlx::query(
                    "INSERT INTO cases (case_id, case_no, origin, holder, stage, opened_at, \
                     version, updated_at) VALUES ($1, $2, $3, $4, 'received', 0, 1, 0)",
                )
                .bind(ev.case_id.to_string())
                .bind(format!("{}", ev.case_id))
                .bind(VILLAGE)
                .bind(VILLAGE)
                .execute(&mut *tx)
                .await
                .unwrap();
            }
            sqlx::query(
                "INSERT INTO case_events (event_id, case_id, author, kind, occurred_at, \
                 stored_at, doc) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(ev.event_id.to_string())
            .bind(ev.case_id.to_string())
            .bind(ev.author.to_string())
            .bind(ev.kind().as_str())
            .bind(0i64)
            .bind(0i64)
            .bind(serde_json::to_string(ev).unwrap())
            .execute(&mut *tx)
            .await
            .unwrap();
        }
        tx.commit().await.unwrap();
    }
    let took = t.elapsed();
    assert_eq!(events.len(), cases as usize * 5);
    took
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    bangban_kit::tls::install_crypto_provider();
    let events: u32 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    let cases = events / 5;
    let root = tempfile::tempdir().unwrap();
    let ca = root.path().join("ca");
    ca_init(&ca);
    for (station, host) in [(DISTRICT, true), (TOWN, true), (VILLAGE, false)] {
        let extra: &[&str] = if host { &["--host", "127.0.0.1"] } else { &[] };
        ca_issue(&ca, station, &root.path().join(station), extra);
    }
    let village_client =
        https_client(&creds(&root.path().join(VILLAGE)), Vec::new(), code(TOWN)).unwrap();
    let town_client =
        https_client(&creds(&root.path().join(TOWN)), Vec::new(), code(DISTRICT)).unwrap();

    // 1. Ingest at the town, against the raw insert.
    let t = Instant::now();
    let village = village_with(&root.path().join("village-1.sqlite"), cases).await;
    eprintln!(
        "{} events written at the village in {:.1} s",
        cases * 5,
        t.elapsed().as_secs_f64()
    );
    let raw_db = open(&root.path().join("raw.sqlite")).await;
    let raw = raw_insert(&raw_db, &village, cases).await;
    let town = CaseStore::new(open(&root.path().join("town-1.sqlite")).await, policy())
        .of_station(code(TOWN));
    let (url, stop) = serve(town.clone(), TOWN, &root.path().join(TOWN)).await;
    let t = Instant::now();
    let mut pushed = 0;
    loop {
        let n = push_once(&village, &village_client, &url, 500)
            .await
            .unwrap();
        if n == 0 {
            break;
        }
        pushed += n;
    }
    let ingest = t.elapsed();
    assert_eq!(pushed, events as usize);
    drop(stop);
    let raw_rate = f64::from(events) / raw.as_secs_f64();
    let ingest_rate = f64::from(events) / ingest.as_secs_f64();
    println!("| what | events | time | events/s |");
    println!("|---|---|---|---|");
    println!(
        "| raw batched insert (cases + case_events, 500 per transaction) | {events} | {:.2} s | {:.0} |",
        raw.as_secs_f64(),
        raw_rate
    );
    println!(
        "| ingest at the town over mTLS (push_once, batches of 500, acknowledged after commit) | {events} | {:.2} s | **{:.0}** ({:.0} % of raw) |",
        ingest.as_secs_f64(),
        ingest_rate,
        100.0 * ingest_rate / raw_rate
    );

    // 2. Drain through two hops.
    let village = village_with(&root.path().join("village-2.sqlite"), cases).await;
    let district = CaseStore::new(open(&root.path().join("district.sqlite")).await, policy())
        .of_station(code(DISTRICT));
    let town = CaseStore::new(open(&root.path().join("town-2.sqlite")).await, policy())
        .with_uplink(code(TOWN))
        .of_station(code(TOWN));
    let (district_url, stop_district) =
        serve(district.clone(), DISTRICT, &root.path().join(DISTRICT)).await;
    let (town_url, stop_town) = serve(town.clone(), TOWN, &root.path().join(TOWN)).await;
    let (shutdown, shutdown_rx) = tokio::sync::watch::channel(false);
    let parents = Arc::new(ParentUrls::new(vec![district_url]).unwrap());
    tokio::spawn(run_forwarder(
        town.clone(),
        town_client,
        parents,
        LinkOptions::default(),
        LinkStatus::new(),
        shutdown_rx,
    ));
    let village_parents = Arc::new(ParentUrls::new(vec![town_url]).unwrap());
    let (_village_stop, village_stop_rx) = tokio::sync::watch::channel(false);
    let t = Instant::now();
    tokio::spawn(run_forwarder(
        village.clone(),
        village_client,
        village_parents,
        LinkOptions::default(),
        LinkStatus::new(),
        village_stop_rx,
    ));
    loop {
        let n = district.last_seq().await.unwrap();
        if n >= i64::from(events) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let drain = t.elapsed();
    println!(
        "| drain of the village's backlog through the town to the district (two hops) | {events} | {:.2} s | **{:.0}** |",
        drain.as_secs_f64(),
        f64::from(events) / drain.as_secs_f64()
    );
    let _ = shutdown.send(true);
    drop(stop_town);
    drop(stop_district);
}
