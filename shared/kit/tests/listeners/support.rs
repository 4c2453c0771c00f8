//! Test support: a plain (UI-style) server with a few routes, raw connections, and counting
//! which of them the server has closed.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::routing::{get, post};
use bangban_kit::http::ApiJson;
use bangban_kit::serve::{ListenerLimits, LongPollSlots, limit_long_polls};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, oneshot};
use tokio::task::JoinHandle;

/// Installs the crypto provider and test logging, as `main` does.
pub fn init() {
    bangban_kit::tls::install_crypto_provider();
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter("bangban_kit=info")
        .try_init();
}

/// A running plain server on a port-0 listener.
pub struct PlainServer {
    pub addr: SocketAddr,
    /// Long polls in progress hold a permit of this gate; add permits to let them answer.
    pub release: Arc<Semaphore>,
    pub slots: LongPollSlots,
    stop: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
}

/// `/healthz`; `/peer` echoes the client's address from `ConnectInfo`; `/echo` reads a JSON
/// body; `/v1/events` waits for `release` when asked to (`?wait=N`), behind the long-poll cap.
fn router(release: Arc<Semaphore>, slots: LongPollSlots) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/peer",
            get(|ConnectInfo(addr): ConnectInfo<SocketAddr>| async move { addr.ip().to_string() }),
        )
        .route(
            "/echo",
            post(|ApiJson(v): ApiJson<serde_json::Value>| async move { v.to_string() }),
        )
        .route(
            "/v1/events",
            get(move |query: axum::extract::RawQuery| {
                let release = release.clone();
                async move {
                    let query = query.0.unwrap_or_default();
                    let waits = query
                        .split('&')
                        .any(|p| p.starts_with("wait=") && p != "wait=0");
                    if waits {
                        let _ = release.acquire().await.map(|p| p.forget());
                        "waited"
                    } else {
                        "at once"
                    }
                }
            }),
        )
        .layer(axum::middleware::from_fn_with_state(
            slots,
            limit_long_polls,
        ))
}

impl PlainServer {
    pub async fn spawn(limits: ListenerLimits, max_long_polls: usize) -> PlainServer {
        init();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let release = Arc::new(Semaphore::new(0));
        let slots = LongPollSlots::new(max_long_polls);
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(bangban_kit::node::serve_router(
            listener,
            router(release.clone(), slots.clone()),
            limits,
            async move {
                let _ = stopped.await;
            },
        ));
        PlainServer {
            addr,
            release,
            slots,
            stop,
            task,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Shuts the server down and waits (briefly) for it to end.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("the server stops promptly")
            .unwrap()
            .unwrap();
    }
}

/// A client that opens a new connection per request and gives up after `timeout`.
pub fn http(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(timeout)
        .build()
        .unwrap()
}

/// Counts connections the server has closed.
#[derive(Clone, Default)]
pub struct Closed(Arc<AtomicUsize>);

impl Closed {
    pub fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// Opens `n` connections to `addr` and spawns a task per connection that writes `payload` one
/// byte a second (stopping when it runs out) and notes in the returned counter when the server
/// closes the connection.
pub async fn trickle(addr: SocketAddr, n: usize, payload: &'static [u8]) -> Closed {
    let closed = Closed::default();
    for _ in 0..n {
        let stream = TcpStream::connect(addr).await.unwrap();
        let closed = closed.clone();
        tokio::spawn(async move {
            let (mut read, mut write) = stream.into_split();
            let reader = async move {
                let mut buf = [0u8; 256];
                // Ends on EOF or a reset: either way the server closed it.
                while let Ok(n) = read.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                }
            };
            let writer = async move {
                for byte in payload {
                    if write.write_all(std::slice::from_ref(byte)).await.is_err() {
                        break;
                    }
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                std::future::pending::<()>().await;
            };
            tokio::select! {
                () = reader => {}
                () = writer => {}
            }
            closed.0.fetch_add(1, Ordering::SeqCst);
        });
    }
    closed
}

/// Reads until the server closes the connection; whether it did within `within`.
pub async fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    tokio::time::timeout(within, async {
        let mut buf = [0u8; 1024];
        while let Ok(n) = stream.read(&mut buf).await {
            if n == 0 {
                break;
            }
        }
    })
    .await
    .is_ok()
}

/// Reads one HTTP/1.1 response (head and a `Content-Length` body) from a raw connection.
pub async fn read_response<R: AsyncRead + Unpin>(stream: &mut R) -> (u16, String, String) {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
            .await
            .expect("a response in time")
            .unwrap();
        assert!(n > 0, "closed before a full response: {data:?}");
        data.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&data).into_owned();
        if let Some(end) = text.find("\r\n\r\n") {
            let head = text[..end].to_owned();
            let length: usize = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse().unwrap())
                })
                .unwrap_or(0);
            if text.len() >= end + 4 + length {
                let status = head[9..12].parse().unwrap();
                return (status, head, text[end + 4..end + 4 + length].to_owned());
            }
        }
    }
}
