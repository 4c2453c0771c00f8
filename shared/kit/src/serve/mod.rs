//! SECURITY-CRITICAL. The one HTTP/1.1 server loop both listeners run (the operator UI/API on
//! plain TCP, the inter-node API behind mutual TLS), with the bounds that keep a flood of slow or
//! idle clients from starving the node: a cap on open connections, a handshake deadline, a
//! header-read deadline, a body-read deadline, an idle timeout between requests, and a cap on
//! concurrent long polls ([`LongPollSlots`]).
//!
//! This module must never wait on one client in the accept loop, and never keep a connection open
//! without a deadline that ends it, except while the application is working on a request (the
//! handler's own bounds apply then: the long poll waits at most 30 s).
//!
//! # How the deadlines are kept
//!
//! hyper's own `header_read_timeout` is not used: hyper 1.12 starts that timer as soon as a
//! keep-alive connection waits for its next request (`Conn::idle` sets `notify_read`, and
//! `poll_read_head` arms the timer), so it would also be the idle timeout. The idle timeout must
//! be longer than the client's pool idle time (60 s in [`crate::tls::https_client`]), or a node
//! would often close a pooled connection just as its child sends a request on it; and the header
//! deadline must stay short (10 s) against slowloris. So each connection has a small watchdog
//! fed by the socket reads and by the service:
//!
//! * a new connection (after the TLS handshake) is in its *header phase* at once: it must
//!   deliver a whole request head within `header_read_timeout`;
//! * while a request is being handled, no connection deadline runs; the body must arrive
//!   within `body_read_timeout` of the request head (a total deadline, not a per-read one, so a
//!   byte every few seconds does not keep it open);
//! * after the response, the connection is *idle*; it is closed after `idle_timeout` unless
//!   a byte of the next request arrives, which starts a new header phase.
//!
//! # The connection cap
//!
//! When `max_connections` are open, the loop stops accepting until one closes, rather than
//! accepting and closing at once. Excess connections wait in the kernel's listen backlog and are
//! refused by the kernel when it is full: they cost the node no file descriptor, no task and no
//! CPU, whereas accept-and-close spends an accept, a close and a log line on every flood
//! connection, competes with the real work for the two cores, and still refuses the legitimate
//! client that arrives during the flood. Every accepted connection is bounded by the deadlines
//! above, so slots free within `header_read_timeout` (plus the handshake deadline on mTLS) even
//! when all of them are held by an attacker, and a waiting client is then served.

mod body;
mod limits;
mod long_poll;
mod watchdog;

pub use body::*;
pub use limits::*;
pub use long_poll::*;
use watchdog::{Activity, Busy, Watched, watchdog};

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::http::Extensions;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tower::ServiceExt;

// ---------------------------------------------------------------------------------------------
// Handshakes
// ---------------------------------------------------------------------------------------------

/// What turns an accepted TCP connection into the byte stream HTTP is spoken on, with the
/// extensions every request on it carries (the verified peer, for mTLS). Runs in the
/// connection's own task under [`ListenerLimits::handshake_timeout`]; `None` refuses the
/// connection (the implementation logs why).
pub trait Handshake: Send + Sync + 'static {
    type Io: AsyncRead + AsyncWrite + Unpin + Send + 'static;

    fn handshake(
        &self,
        tcp: TcpStream,
        peer: SocketAddr,
    ) -> impl Future<Output = Option<(Self::Io, Extensions)>> + Send;
}

/// Plain TCP: no handshake, no extensions.
#[derive(Debug, Clone, Copy, Default)]
pub struct PlainTcp;

impl Handshake for PlainTcp {
    type Io = TcpStream;

    async fn handshake(
        &self,
        tcp: TcpStream,
        _peer: SocketAddr,
    ) -> Option<(TcpStream, Extensions)> {
        Some((tcp, Extensions::new()))
    }
}

// ---------------------------------------------------------------------------------------------
// The server loop
// ---------------------------------------------------------------------------------------------

/// Serves `app` on `listener` until `shutdown` completes, within `limits`.
///
/// The accept loop only accepts TCP; the handshake and the requests of each connection run in
/// its own task. Every request carries the peer's `ConnectInfo<SocketAddr>` (the login audit
/// reads it) and the handshake's extensions. After `shutdown`, the listener closes, idle
/// connections close, and requests in progress get [`ListenerLimits::drain_grace`] to finish.
pub async fn serve<H: Handshake>(
    listener: TcpListener,
    handshake: H,
    app: Router,
    limits: ListenerLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let handshake = Arc::new(handshake);
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut connections = JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    'serving: loop {
        // At the cap, wait here for a slot: see the module documentation for why.
        let permit = tokio::select! {
            () = &mut shutdown => break 'serving,
            Some(done) = connections.join_next(), if !connections.is_empty() => {
                log_join(done);
                continue 'serving;
            }
            permit = slots.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break 'serving, // never closed
            },
        };
        let (tcp, addr) = loop {
            tokio::select! {
                () = &mut shutdown => break 'serving,
                Some(done) = connections.join_next(), if !connections.is_empty() => log_join(done),
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => break accepted,
                    Err(e) => {
                        // Usually out of file descriptors: back off instead of spinning.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                },
            }
        };
        connections.spawn(connection(
            tcp,
            addr,
            handshake.clone(),
            app.clone(),
            limits,
            stop_rx.clone(),
            permit,
        ));
    }
    drop(listener);
    let _ = stop_tx.send(true);
    let drained = tokio::time::timeout(limits.drain_grace, async {
        while let Some(done) = connections.join_next().await {
            log_join(done);
        }
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            open = connections.len(),
            "connections still open after the grace period; closing them"
        );
        connections.shutdown().await;
    }
    Ok(())
}

fn log_join(done: Result<(), tokio::task::JoinError>) {
    if let Err(e) = done
        && !e.is_cancelled()
    {
        tracing::error!(error = %e, "a connection task failed");
    }
}

async fn connection<H: Handshake>(
    tcp: TcpStream,
    addr: SocketAddr,
    handshake: Arc<H>,
    app: Router,
    limits: ListenerLimits,
    mut stop: watch::Receiver<bool>,
    _slot: OwnedSemaphorePermit,
) {
    let _ = tcp.set_nodelay(true);
    let handshaking =
        tokio::time::timeout(limits.handshake_timeout, handshake.handshake(tcp, addr));
    let (io, extensions) = tokio::select! {
        outcome = handshaking => match outcome {
            Ok(Some(done)) => done,
            Ok(None) => return,
            Err(_) => {
                tracing::debug!(peer = %addr, "handshake timed out");
                return;
            }
        },
        () = stopping(&mut stop) => return,
    };

    let activity = Arc::new(Activity::new());
    let body_read_timeout = limits.body_read_timeout;
    let service = hyper::service::service_fn({
        let activity = activity.clone();
        move |req: hyper::Request<Incoming>| {
            let busy = Busy::start(activity.clone());
            let app = app.clone();
            let extensions = extensions.clone();
            let body_deadline = Instant::now() + body_read_timeout;
            async move {
                let (mut parts, body) = req.into_parts();
                parts.extensions.extend(extensions);
                parts.extensions.insert(ConnectInfo(addr));
                let body = Body::new(DeadlineBody::new(body, body_deadline));
                let response = app.oneshot(Request::from_parts(parts, body)).await;
                drop(busy);
                response
            }
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    // No hyper timer: the watchdog keeps the header and idle deadlines (see the module doc).
    builder.max_buf_size(MAX_HEAD_BYTES);
    let conn = builder.serve_connection(
        TokioIo::new(Watched {
            inner: io,
            activity: activity.clone(),
        }),
        service,
    );
    let mut conn = std::pin::pin!(conn);
    let watchdog = watchdog(activity, limits);
    let mut watchdog = std::pin::pin!(watchdog);
    tokio::select! {
        served = conn.as_mut() => log_end(addr, served),
        expired = watchdog.as_mut() => {
            tracing::debug!(peer = %addr, deadline = expired.as_str(), "connection closed");
            return;
        }
        () = stopping(&mut stop) => {}
    }
    // Shutting down: no new request on this connection; one in progress may finish, within the
    // watchdog's deadlines and the server's drain grace.
    conn.as_mut().graceful_shutdown();
    tokio::select! {
        served = conn.as_mut() => log_end(addr, served),
        expired = watchdog => {
            tracing::debug!(peer = %addr, deadline = expired.as_str(), "connection closed");
        }
    }
}

fn log_end(addr: SocketAddr, served: hyper::Result<()>) {
    if let Err(e) = served {
        tracing::debug!(peer = %addr, error = %e, "connection ended with an error");
    }
}

/// Completes once the server is shutting down (or gone). Drops the watch guard before returning,
/// so the connection future stays `Send`.
async fn stopping(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stopping| *stopping).await;
}
