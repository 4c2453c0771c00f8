//! The inter-node server over real mTLS on loopback.

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::get;
use bangban_kit::http::PROBLEM_JSON;
use bangban_kit::tls::Peer;
use district_node::ca::Ca;
use tower::ServiceExt;

use crate::support::*;

#[tokio::test]
async fn valid_child_reaches_the_handler_with_its_station_code() {
    let ca = district_ca();
    let server = TestServer::spawn(&ca, DISTRICT).await;

    let (status, body) = get_text(&client(&ca, TOWN), &server.url("/v1/whoami"))
        .await
        .unwrap();
    assert_eq!((status, body.as_str()), (200, TOWN));

    let (status, body) = get_text(&client(&ca, VILLAGE), &server.url("/v1/whoami"))
        .await
        .unwrap();
    assert_eq!((status, body.as_str()), (200, VILLAGE));

    assert_eq!(server.hits(), 2);
    server.stop().await;
}

#[tokio::test]
async fn many_requests_share_one_connection_and_keep_the_identity() {
    let ca = district_ca();
    let server = TestServer::spawn(&ca, DISTRICT).await;
    let town = client(&ca, TOWN);
    for _ in 0..5 {
        let (_, body) = get_text(&town, &server.url("/v1/whoami")).await.unwrap();
        assert_eq!(body, TOWN);
    }
    assert_eq!(server.hits(), 5);
    server.stop().await;
}

#[tokio::test]
async fn client_without_a_certificate_never_reaches_the_handler() {
    let ca = district_ca();
    let server = TestServer::spawn(&ca, DISTRICT).await;

    let outcome = get_text(&client_without_certificate(&ca), &server.url("/v1/whoami")).await;
    assert!(outcome.is_err(), "{outcome:?}");
    assert_eq!(server.hits(), 0);

    // The server still serves a valid child afterwards.
    let (status, _) = get_text(&client(&ca, TOWN), &server.url("/v1/whoami"))
        .await
        .unwrap();
    assert_eq!(status, 200);
    server.stop().await;
}

#[tokio::test]
async fn certificate_from_another_ca_never_reaches_the_handler() {
    let ca = district_ca();
    // Same district code and CA name, different key: only the signature tells them apart.
    let impostor_ca = Ca::generate(code(DISTRICT), now(), 365).unwrap();
    let server = TestServer::spawn(&ca, DISTRICT).await;

    // The impostor's client trusts the real CA, so only the server's check can stop it.
    let impostor =
        bangban_kit::tls::https_client(&creds(&impostor_ca, TOWN, &ca), Vec::new(), code(DISTRICT))
            .unwrap();
    let outcome = get_text(&impostor, &server.url("/v1/whoami")).await;
    assert!(outcome.is_err(), "{outcome:?}");
    assert_eq!(server.hits(), 0);
    server.stop().await;
}

#[tokio::test]
async fn client_refuses_a_server_from_another_ca() {
    let ca = district_ca();
    let impostor_ca = Ca::generate(code(DISTRICT), now(), 365).unwrap();
    // A server with a certificate from the impostor CA that trusts the real CA's clients.
    let server = TestServer::spawn_with(creds(&impostor_ca, DISTRICT, &ca), DISTRICT).await;

    let outcome = get_text(&client(&ca, TOWN), &server.url("/v1/whoami")).await;
    assert!(outcome.is_err(), "{outcome:?}");
    assert_eq!(server.hits(), 0);
    server.stop().await;
}

#[tokio::test]
async fn identity_of_another_district_is_refused() {
    let ca = district_ca();
    // The certificate chains to the trusted CA, but its identity names district 410402 and this
    // server belongs to 410403.
    let server = TestServer::spawn(&ca, OTHER_DISTRICT).await;

    let outcome = get_text(&client(&ca, TOWN), &server.url("/v1/whoami")).await;
    assert!(outcome.is_err(), "{outcome:?}");
    assert_eq!(server.hits(), 0);
    server.stop().await;
}

#[tokio::test]
async fn stalled_client_does_not_block_a_valid_one() {
    let ca = district_ca();
    let server = TestServer::spawn(&ca, DISTRICT).await;

    // Connects and never sends a ClientHello; a second one sends half a record.
    let _stalled = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let mut half = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut half, &[0x16, 0x03, 0x01, 0x02])
        .await
        .unwrap();

    let started = std::time::Instant::now();
    let (status, body) = get_text(&client(&ca, VILLAGE), &server.url("/v1/whoami"))
        .await
        .unwrap();
    assert_eq!((status, body.as_str()), (200, VILLAGE));
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "served after {:?}",
        started.elapsed()
    );
    // Shutting down does not wait for the stalled handshakes to time out.
    server.stop().await;
}

#[tokio::test]
async fn forbidden_peer_answers_403_problem() {
    let ca = district_ca();
    let server = TestServer::spawn(&ca, DISTRICT).await;

    let response = client(&ca, VILLAGE)
        .get(server.url("/v1/towns-only"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(response.headers()["content-type"], PROBLEM_JSON);
    let problem: serde_json::Value = response.json().await.unwrap();
    assert_eq!(problem["code"], "peer.forbidden");
    assert!(problem["message_en"].as_str().unwrap().contains(VILLAGE));
    assert!(problem["message_zh"].as_str().unwrap().contains(VILLAGE));

    let (status, body) = get_text(&client(&ca, TOWN), &server.url("/v1/towns-only"))
        .await
        .unwrap();
    assert_eq!((status, body.as_str()), (200, TOWN));
    server.stop().await;
}

#[tokio::test]
async fn peer_extractor_without_mtls_answers_401_problem() {
    let app = Router::new().route(
        "/v1/whoami",
        get(|Peer(p): Peer| async move { p.station.to_string() }),
    );
    let response = app
        .oneshot(Request::get("/v1/whoami").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(response.headers()["content-type"], PROBLEM_JSON);
    let body = axum::body::to_bytes(response.into_body(), 1 << 16)
        .await
        .unwrap();
    let problem: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(problem["code"], "peer.unauthenticated");
}

#[tokio::test]
async fn certificates_from_a_reloaded_ca_are_accepted() {
    let ca = district_ca();
    let dir = tempfile::tempdir().unwrap();
    ca.save(dir.path()).unwrap();
    let reloaded = Ca::load(dir.path()).unwrap();
    let server = TestServer::spawn(&ca, DISTRICT).await;

    let (status, body) = get_text(&client(&reloaded, VILLAGE), &server.url("/v1/whoami"))
        .await
        .unwrap();
    assert_eq!((status, body.as_str()), (200, VILLAGE));
    server.stop().await;
}
