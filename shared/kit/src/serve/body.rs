//! SECURITY-CRITICAL (part of `crate::serve`). The body deadline: a request body must arrive
//! within `body_read_timeout` of its head.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::{Bytes, HttpBody};
use hyper::body::{Frame, Incoming, SizeHint};
use tokio::time::{Instant, Sleep};

/// The request body did not arrive in full within the listener's body-read deadline. Handlers
/// reading JSON through [`crate::http::ApiJson`] answer it with 408.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the request body was not received in time")]
pub struct BodyReadTimeout;

/// A request body that fails with [`BodyReadTimeout`] once its deadline has passed.
pub(super) struct DeadlineBody {
    inner: Incoming,
    deadline: Instant,
    /// Armed on the first wait, so a request whose body is never read costs no timer.
    sleep: Option<Pin<Box<Sleep>>>,
}

impl DeadlineBody {
    pub(super) fn new(inner: Incoming, deadline: Instant) -> DeadlineBody {
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn body_timeouts_are_found_behind_other_errors() {
        let wrapped = axum::Error::new(BodyReadTimeout);
        assert!(is_body_read_timeout(&wrapped));
        assert!(!is_body_read_timeout(&std::io::Error::other("x")));
    }
}
