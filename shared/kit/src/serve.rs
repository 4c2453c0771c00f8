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

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{Extensions, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hyper::body::{Frame, Incoming, SizeHint};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinSet;
use tokio::time::{Instant, Sleep};
use tower::ServiceExt;

use crate::http::Problem;

/// The largest request head (request line and headers) accepted, in bytes. hyper answers 431
/// above it; it also bounds each connection's read buffer.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;

/// The bounds of one listener. Build it from the settings (`[http]`, `[internode]`) or start
/// from [`ListenerLimits::ui`] / [`ListenerLimits::internode`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListenerLimits {
    /// Open connections at most; at the cap the listener stops accepting until one closes.
    pub max_connections: usize,
    /// How long a client may take to complete the TLS handshake (mTLS listener only).
    pub handshake_timeout: Duration,
    /// How long a client may take to send a whole request head, counted from the connection's
    /// start or from the first byte of a follow-up request on a kept-alive connection.
    pub header_read_timeout: Duration,
    /// How long after its head a request's body must have arrived in full.
    pub body_read_timeout: Duration,
    /// How long a kept-alive connection may wait for its next request.
    pub idle_timeout: Duration,
    /// How long open connections may finish their requests after shutdown begins.
    pub drain_grace: Duration,
}

impl ListenerLimits {
    /// Defaults of the operator UI/API listener.
    pub const fn ui() -> ListenerLimits {
        ListenerLimits {
            max_connections: 2048,
            handshake_timeout: Duration::from_secs(10),
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(60),
            idle_timeout: Duration::from_secs(75),
            drain_grace: Duration::from_secs(5),
        }
    }

    /// Defaults of the inter-node (mTLS) listener: a push of a full batch over a slow 4G link
    /// gets more time for its body.
    pub const fn internode() -> ListenerLimits {
        ListenerLimits {
            max_connections: 1024,
            body_read_timeout: Duration::from_secs(120),
            ..ListenerLimits::ui()
        }
    }
}

impl Default for ListenerLimits {
    fn default() -> Self {
        ListenerLimits::ui()
    }
}

/// The limits of both listeners of a node, and the long-poll cap of the inter-node one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeLimits {
    pub ui: ListenerLimits,
    pub internode: ListenerLimits,
    /// Concurrent long polls (`GET /v1/events?wait=N`, N > 0) on the inter-node listener.
    pub max_long_polls: usize,
}

impl Default for NodeLimits {
    fn default() -> Self {
        NodeLimits {
            ui: ListenerLimits::ui(),
            internode: ListenerLimits::internode(),
            max_long_polls: DEFAULT_MAX_LONG_POLLS,
        }
    }
}

/// The default cap on concurrent long polls: far above the children a district (11 towns) or a
/// town (its villages) has, each of which holds one.
pub const DEFAULT_MAX_LONG_POLLS: usize = 64;

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

// ---------------------------------------------------------------------------------------------
// The connection watchdog
// ---------------------------------------------------------------------------------------------

/// Which deadline closed a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expired {
    HeaderRead,
    Idle,
}

impl Expired {
    fn as_str(self) -> &'static str {
        match self {
            Expired::HeaderRead => "header read",
            Expired::Idle => "idle",
        }
    }
}

const NONE: u64 = u64::MAX;

/// What the watchdog of one connection knows, in milliseconds since the connection started.
struct Activity {
    origin: Instant,
    /// Requests handed to the application and not yet answered.
    in_flight: AtomicUsize,
    /// When the connection last became free of requests.
    idle_since: AtomicU64,
    /// When the head of the next request started to arrive; [`NONE`] while idle.
    head_since: AtomicU64,
    changed: Notify,
}

impl Activity {
    fn new() -> Activity {
        Activity {
            origin: Instant::now(),
            in_flight: AtomicUsize::new(0),
            idle_since: AtomicU64::new(0),
            // A new connection must send its first request head promptly.
            head_since: AtomicU64::new(0),
            changed: Notify::new(),
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(NONE - 1)
    }

    fn at(&self, ms: u64) -> Instant {
        self.origin + Duration::from_millis(ms)
    }

    /// Bytes arrived from the client.
    fn on_read(&self) {
        if self.in_flight.load(Ordering::Acquire) == 0
            && self
                .head_since
                .compare_exchange(NONE, self.now_ms(), Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        {
            self.changed.notify_one();
        }
    }

    /// The next deadline and which one it is; `None` while a request is being handled.
    fn deadline(&self, limits: &ListenerLimits) -> Option<(Instant, Expired)> {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return None;
        }
        match self.head_since.load(Ordering::Acquire) {
            NONE => Some((
                self.at(self.idle_since.load(Ordering::Acquire)) + limits.idle_timeout,
                Expired::Idle,
            )),
            head => Some((
                self.at(head) + limits.header_read_timeout,
                Expired::HeaderRead,
            )),
        }
    }
}

/// Marks a request in progress on its connection, from its head until its response is ready.
struct Busy(Arc<Activity>);

impl Busy {
    fn start(activity: Arc<Activity>) -> Busy {
        activity.in_flight.fetch_add(1, Ordering::AcqRel);
        activity.head_since.store(NONE, Ordering::Release);
        activity.changed.notify_one();
        Busy(activity)
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        let a = &self.0;
        a.idle_since.store(a.now_ms(), Ordering::Release);
        a.head_since.store(NONE, Ordering::Release);
        a.in_flight.fetch_sub(1, Ordering::AcqRel);
        a.changed.notify_one();
    }
}

/// Completes when the connection has overrun its header or idle deadline.
async fn watchdog(activity: Arc<Activity>, limits: ListenerLimits) -> Expired {
    loop {
        match activity.deadline(&limits) {
            None => activity.changed.notified().await,
            Some((at, expired)) if Instant::now() >= at => return expired,
            Some((at, _)) => {
                tokio::select! {
                    () = activity.changed.notified() => {}
                    () = tokio::time::sleep_until(at) => {}
                }
            }
        }
    }
}

/// The connection's byte stream, reporting reads to its watchdog.
struct Watched<S> {
    inner: S,
    activity: Arc<Activity>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.on_read();
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

// ---------------------------------------------------------------------------------------------
// The body deadline
// ---------------------------------------------------------------------------------------------

/// The request body did not arrive in full within the listener's body-read deadline. Handlers
/// reading JSON through [`crate::http::ApiJson`] answer it with 408.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the request body was not received in time")]
pub struct BodyReadTimeout;

/// A request body that fails with [`BodyReadTimeout`] once its deadline has passed.
struct DeadlineBody {
    inner: Incoming,
    deadline: Instant,
    /// Armed on the first wait, so a request whose body is never read costs no timer.
    sleep: Option<Pin<Box<Sleep>>>,
}

impl DeadlineBody {
    fn new(inner: Incoming, deadline: Instant) -> DeadlineBody {
        DeadlineBody {
            inner,
            deadline,
            sleep: None,
        }
    }
}

impl HttpBody for DeadlineBody {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        let deadline = this.deadline;
        let sleep = this
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        match sleep.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err(Box::new(BodyReadTimeout)))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Whether `err` or one of its sources is a [`BodyReadTimeout`].
pub fn is_body_read_timeout(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(err);
    while let Some(e) = current {
        if e.is::<BodyReadTimeout>() {
            return true;
        }
        current = e.source();
    }
    false
}

// ---------------------------------------------------------------------------------------------
// Long polls
// ---------------------------------------------------------------------------------------------

/// A cap on concurrent long polls, so that held-open requests cannot take every connection and
/// task of the inter-node listener. Cheap to clone; clones share the slots.
///
/// How it is wired (the pull handler lives in `sync/server.rs`):
///
/// * today, `node::run` puts [`limit_long_polls`] in front of the inter-node router:
///   `.layer(axum::middleware::from_fn_with_state(slots, serve::limit_long_polls))`. It treats
///   any `GET` with a query parameter `wait` above 0 as a long poll and answers 503 when no slot
///   is free;
/// * to move the check into the handler instead, give the router the slots as an extension
///   (`.layer(axum::Extension(slots))`), take `Extension(slots): Extension<LongPollSlots>` in
///   `pull`, hold `let _slot = slots.try_acquire()?;` for as long as it waits when `wait > 0`
///   (`?` turns a full cap into the 503 problem), and remove the layer from `node::run`. Do not
///   keep both, or each long poll takes two slots.
#[derive(Debug, Clone)]
pub struct LongPollSlots {
    slots: Arc<Semaphore>,
    max: usize,
}

/// One long poll's slot; dropping it frees the slot.
#[derive(Debug)]
pub struct LongPollSlot(#[allow(dead_code)] OwnedSemaphorePermit);

/// Every long-poll slot is taken: 503 problem+json with `Retry-After`.
#[derive(Debug, Clone)]
pub struct LongPollsFull {
    pub max: usize,
}

/// Seconds a refused long poll is told to wait before it tries again.
const LONG_POLL_RETRY_AFTER_SECS: u32 = 5;

impl LongPollSlots {
    pub fn new(max: usize) -> LongPollSlots {
        LongPollSlots {
            slots: Arc::new(Semaphore::new(max)),
            max,
        }
    }

    /// Takes a slot for one long poll, or refuses at once when all are taken.
    pub fn try_acquire(&self) -> Result<LongPollSlot, LongPollsFull> {
        self.slots
            .clone()
            .try_acquire_owned()
            .map(LongPollSlot)
            .map_err(|_| LongPollsFull { max: self.max })
    }

    /// Slots taken now.
    pub fn in_use(&self) -> usize {
        self.max - self.slots.available_permits()
    }

    pub fn max(&self) -> usize {
        self.max
    }
}

impl From<LongPollsFull> for Problem {
    fn from(full: LongPollsFull) -> Problem {
        tracing::warn!(max = full.max, "long poll refused: every slot is taken");
        Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "server.long_polls_full",
            format!(
                "本节点同时等待的拉取请求已达上限（{} 个），请 {LONG_POLL_RETRY_AFTER_SECS} 秒后重试",
                full.max
            ),
            format!(
                "this node already holds its maximum of {} waiting pulls; retry in \
                 {LONG_POLL_RETRY_AFTER_SECS} seconds",
                full.max
            ),
        )
    }
}

impl IntoResponse for LongPollsFull {
    fn into_response(self) -> Response {
        let mut response = Problem::from(self).into_response();
        response.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from(LONG_POLL_RETRY_AFTER_SECS),
        );
        response
    }
}

/// Middleware holding a [`LongPollSlots`] slot for every long poll (a `GET` whose query has
/// `wait` above 0) while it is handled; 503 problem+json when none is free. Other requests pass.
pub async fn limit_long_polls(
    State(slots): State<LongPollSlots>,
    req: Request,
    next: Next,
) -> Response {
    if !is_long_poll(&req) {
        return next.run(req).await;
    }
    match slots.try_acquire() {
        Ok(slot) => {
            let response = next.run(req).await;
            drop(slot);
            response
        }
        Err(full) => full.into_response(),
    }
}

fn is_long_poll(req: &Request) -> bool {
    req.method() == Method::GET
        && req.uri().query().is_some_and(|query| {
            query.split('&').any(|pair| {
                pair.strip_prefix("wait=")
                    .and_then(|n| n.parse::<u64>().ok())
                    .is_some_and(|n| n > 0)
            })
        })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn get(uri: &str) -> Request {
        Request::get(uri).body(Body::empty()).unwrap()
    }

    #[test]
    fn long_polls_are_gets_that_wait() {
        assert!(is_long_poll(&get("/v1/events?after=3&wait=25")));
        assert!(is_long_poll(&get("/v1/events?wait=1")));
        assert!(!is_long_poll(&get("/v1/events?after=3&wait=0")));
        assert!(!is_long_poll(&get("/v1/events?after=3")));
        assert!(!is_long_poll(&get("/v1/events?wait=soon")));
        assert!(!is_long_poll(&get("/v1/events?nowait=5")));
        let post = Request::post("/v1/events?wait=5")
            .body(Body::empty())
            .unwrap();
        assert!(!is_long_poll(&post));
    }

    #[test]
    fn slots_are_freed_when_dropped() {
        let slots = LongPollSlots::new(2);
        let a = slots.try_acquire().unwrap();
        let _b = slots.try_acquire().unwrap();
        assert_eq!(slots.in_use(), 2);
        let full = slots.try_acquire().unwrap_err();
        let problem = Problem::from(full);
        assert_eq!(problem.status, 503);
        assert!(!problem.message_zh.is_empty() && !problem.message_en.is_empty());
        drop(a);
        assert_eq!(slots.in_use(), 1);
        slots.try_acquire().unwrap();
    }

    #[test]
    fn body_timeouts_are_found_behind_other_errors() {
        let wrapped = axum::Error::new(BodyReadTimeout);
        assert!(is_body_read_timeout(&wrapped));
        assert!(!is_body_read_timeout(&std::io::Error::other("x")));
    }
}
