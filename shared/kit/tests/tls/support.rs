//! Test support: a CA, node credentials and a running inter-node server with a hit counter.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use bangban_domain::station::{StationCode, Tier};
use bangban_kit::tls::{
    ALPN_HTTP11, NodeCredentials, Peer, forbidden_peer, https_client, install_crypto_provider,
    serve_mtls, server_config,
};
use district_node::ca::{Ca, new_node_key_and_cert_for_hosts};
use time::OffsetDateTime;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub const DISTRICT: &str = "410402000000";
pub const TOWN: &str = "410402001000";
pub const VILLAGE: &str = "410402001001";
pub const OTHER_DISTRICT: &str = "410403000000";

pub fn code(s: &str) -> StationCode {
    StationCode::parse(s).unwrap()
}

pub fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

/// A fresh CA for the test district (installs the crypto provider and test logging first, as
/// `main` does).
pub fn district_ca() -> Ca {
    install_crypto_provider();
    // Logs show up in a failing test's output.
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter("bangban_kit=debug")
        .try_init();
    Ca::generate(code(DISTRICT), now(), 365).unwrap()
}

/// Credentials for `station`, issued by `ca` for the loopback address and trusting `trusted` as
/// the district CA.
pub fn creds(ca: &Ca, station: &str, trusted: &Ca) -> NodeCredentials {
    let (cert, key) =
        new_node_key_and_cert_for_hosts(ca, code(station), &["127.0.0.1"], now(), 30).unwrap();
    NodeCredentials::from_pem(
        cert.as_bytes(),
        key.as_bytes(),
        trusted.cert_pem().as_bytes(),
    )
    .unwrap()
}

/// An HTTPS client for `station` with a certificate from `ca`, trusting `ca`.
pub fn client(ca: &Ca, station: &str) -> reqwest::Client {
    https_client(&creds(ca, station, ca), Vec::new(), code(DISTRICT)).unwrap()
}

/// A client that trusts `ca` but presents no certificate.
pub fn client_without_certificate(ca: &Ca) -> reqwest::Client {
    let roots = bangban_kit::tls::parse_ca_roots(ca.cert_pem().as_bytes(), "ca").unwrap();
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    config.alpn_protocols = vec![ALPN_HTTP11.to_vec()];
    reqwest::Client::builder()
        .tls_backend_preconfigured(config)
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

/// The inter-node router under test: `/v1/whoami` echoes the verified caller, `/v1/towns-only`
/// refuses anyone but a town.
fn router(hits: Arc<AtomicUsize>) -> Router {
    let whoami_hits = hits.clone();
    Router::new()
        .route(
            "/v1/whoami",
            get(move |Peer(peer): Peer| {
                let hits = whoami_hits.clone();
                async move {
                    hits.fetch_add(1, Ordering::SeqCst);
                    peer.station.to_string()
                }
            }),
        )
        .route(
            "/v1/towns-only",
            get(move |Peer(peer): Peer| {
                let hits = hits.clone();
                async move {
                    hits.fetch_add(1, Ordering::SeqCst);
                    if peer.tier() != Tier::Town {
                        return Err(forbidden_peer(&peer, "only towns may call this"));
                    }
                    Ok(peer.station.to_string())
                }
            }),
        )
}

/// A running inter-node server on a port-0 listener.
pub struct TestServer {
    pub addr: SocketAddr,
    pub hits: Arc<AtomicUsize>,
    stop: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
}

impl TestServer {
    /// The district node's server: its certificate from `ca`, trusting `ca`, accepting
    /// identities of `expected_district`.
    pub async fn spawn(ca: &Ca, expected_district: &str) -> TestServer {
        TestServer::spawn_with(creds(ca, DISTRICT, ca), expected_district).await
    }

    pub async fn spawn_with(creds: NodeCredentials, expected_district: &str) -> TestServer {
        let config = server_config(&creds, Vec::new()).unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let hits = Arc::new(AtomicUsize::new(0));
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(serve_mtls(
            listener,
            config,
            code(expected_district),
            router(hits.clone()),
            async move {
                let _ = stopped.await;
            },
        ));
        TestServer {
            addr,
            hits,
            stop,
            task,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("https://127.0.0.1:{}{path}", self.addr.port())
    }

    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    /// Shuts the server down and waits (briefly) for it to end.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        tokio::time::timeout(Duration::from_secs(3), self.task)
            .await
            .expect("the server stops promptly")
            .unwrap()
            .unwrap();
    }
}

/// GETs `url` with a timeout; the error (if any) as text.
pub async fn get_text(client: &reqwest::Client, url: &str) -> Result<(u16, String), String> {
    let response = tokio::time::timeout(Duration::from_secs(5), client.get(url).send())
        .await
        .map_err(|_| "timed out".to_owned())?
        .map_err(|e| format!("{e:?}"))?;
    let status = response.status().as_u16();
    let body = response.text().await.map_err(|e| format!("{e:?}"))?;
    Ok((status, body))
}
