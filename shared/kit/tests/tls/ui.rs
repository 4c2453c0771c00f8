//! The UI listener's server-only TLS (`bangban_kit::https`) on real TLS over loopback: TLS 1.3
//! and 1.2 with HTTP/1.1, no client certificate needed, a stalled handshake closed at the
//! listener's deadline without holding up anyone else.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use bangban_kit::https::{ServerTls, UiTls, server_config};
use bangban_kit::serve::ListenerLimits;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio_rustls::TlsConnector;

use crate::support::*;

/// Serves "hello" over the UI's TLS with the node credentials `creds`, within `limits`.
async fn spawn_ui(
    creds: &bangban_kit::tls::NodeCredentials,
    limits: ListenerLimits,
) -> (u16, oneshot::Sender<()>) {
    let config = server_config(&UiTls::Node, Some(creds)).unwrap().unwrap();
    assert!(config.warnings.is_empty(), "{:?}", config.warnings);
    let config = config.config;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(bangban_kit::serve::serve(
        listener,
        ServerTls::new(config),
        Router::new().route("/", get(|| async { "hello" })),
        limits,
        async move {
            let _ = stopped.await;
        },
    ));
    (port, stop)
}

/// A client of `version` trusting `ca`, offering h2 and http/1.1 as browsers do.
fn connector(
    ca: &district_node::ca::Ca,
    version: &'static rustls::SupportedProtocolVersion,
) -> TlsConnector {
    let roots = bangban_kit::tls::parse_ca_roots(ca.cert_pem().as_bytes(), "ca").unwrap();
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_protocol_versions(&[version])
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    TlsConnector::from(Arc::new(config))
}

#[tokio::test]
async fn the_ui_speaks_tls_1_3_and_1_2_with_http_1_1_and_needs_no_client_certificate() {
    let ca = district_ca();
    let (port, _stop) = spawn_ui(&creds(&ca, VILLAGE, &ca), ListenerLimits::ui()).await;
    for (version, expected) in [
        (&rustls::version::TLS13, rustls::ProtocolVersion::TLSv1_3),
        (&rustls::version::TLS12, rustls::ProtocolVersion::TLSv1_2),
    ] {
        let tcp = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        let mut tls = connector(&ca, version)
            .connect(ServerName::try_from("127.0.0.1").unwrap(), tcp)
            .await
            .unwrap();
        let (_, session) = tls.get_ref();
        assert_eq!(session.protocol_version(), Some(expected));
        assert_eq!(session.alpn_protocol(), Some(&b"http/1.1"[..]));
        tls.write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut answer = String::new();
        tls.read_to_string(&mut answer).await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.ends_with("hello"), "{answer}");
    }
}

#[tokio::test]
async fn a_stalled_handshake_is_closed_at_the_deadline_and_blocks_nobody() {
    let ca = district_ca();
    let limits = ListenerLimits {
        handshake_timeout: Duration::from_secs(1),
        ..ListenerLimits::ui()
    };
    let (port, _stop) = spawn_ui(&creds(&ca, VILLAGE, &ca), limits).await;
    // Half a TLS record, then nothing.
    let mut stalled = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    stalled.write_all(&[0x16, 0x03, 0x01, 0x02]).await.unwrap();

    let tcp = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let served = connector(&ca, &rustls::version::TLS13)
        .connect(ServerName::try_from("127.0.0.1").unwrap(), tcp)
        .await;
    assert!(served.is_ok(), "{served:?}");

    let mut rest = Vec::new();
    let closed =
        tokio::time::timeout(Duration::from_secs(10), stalled.read_to_end(&mut rest)).await;
    assert!(
        closed.is_ok(),
        "the stalled connection is closed by the server"
    );
    assert!(rest.is_empty() || rest[0] == 0x15, "{rest:?}");
}
