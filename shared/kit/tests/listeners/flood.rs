//! Floods of slow clients against both listeners at their default limits: 1,500 connections
//! that never complete a request head (UI) or a TLS handshake (inter-node) are closed by the
//! deadlines, and a real client is answered promptly throughout.

use std::time::{Duration, Instant};

use bangban_kit::serve::ListenerLimits;

use crate::support::*;
use crate::tls_support::{TestServer, VILLAGE, client, district_ca};

const FLOOD: usize = 1_500;

/// At least 95 % of the flood closed.
fn most(closed: usize) -> bool {
    closed * 100 >= FLOOD * 95
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ui_listener_closes_a_flood_of_trickled_headers_and_keeps_answering() {
    let server = PlainServer::spawn(ListenerLimits::ui(), 8).await;
    let closed = trickle(
        server.addr,
        FLOOD,
        b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nUser-Agent: slowloris\r\n\r\n",
    )
    .await;
    let opened = Instant::now();

    // While the flood trickles, a real request is answered at once.
    let started = Instant::now();
    let res = http(Duration::from_secs(1))
        .get(server.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(started.elapsed() < Duration::from_secs(1));
    assert!(
        closed.count() < FLOOD / 2,
        "the header deadline is 10 s, yet {} were closed at once",
        closed.count()
    );

    tokio::time::sleep_until((opened + Duration::from_secs(12)).into()).await;
    let n = closed.count();
    assert!(
        most(n),
        "only {n} of {FLOOD} trickling connections were closed after 12 s"
    );

    let started = Instant::now();
    let res = http(Duration::from_secs(1))
        .get(server.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(started.elapsed() < Duration::from_secs(1));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn internode_listener_closes_a_flood_of_stalled_handshakes_and_keeps_serving() {
    let ca = district_ca();
    let server = TestServer::spawn(&ca, crate::tls_support::DISTRICT).await;
    // Half send nothing; half trickle the start of a ClientHello record.
    let silent = trickle(server.addr, FLOOD / 2, b"").await;
    let partial = trickle(
        server.addr,
        FLOOD - FLOOD / 2,
        &[
            0x16, 0x03, 0x01, 0x00, 0xc8, 0x01, 0x00, 0x00, 0xc4, 0x03, 0x03, 0x00,
        ],
    )
    .await;
    let opened = Instant::now();

    let village = client(&ca, VILLAGE);
    let started = Instant::now();
    let res = village.get(server.url("/v1/whoami")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(started.elapsed() < Duration::from_secs(1));

    tokio::time::sleep_until((opened + Duration::from_secs(12)).into()).await;
    let n = silent.count() + partial.count();
    assert!(
        most(n),
        "only {n} of {FLOOD} stalled handshakes were closed after 12 s"
    );

    // A new mTLS client (new connection, full handshake) is served within a second.
    let started = Instant::now();
    let res = tokio::time::timeout(
        Duration::from_secs(1),
        client(&ca, VILLAGE).get(server.url("/v1/whoami")).send(),
    )
    .await
    .expect("answered within a second")
    .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.text().await.unwrap(), VILLAGE);
    assert!(started.elapsed() < Duration::from_secs(1));
    server.stop().await;
}
