//! SECURITY-CRITICAL (part of `crate::serve`). Long polls: a cap on the requests that wait for
//! events, so they cannot hold every connection slot.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::http::Problem;

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
    use axum::body::Body;

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
}
