//! SECURITY-CRITICAL (part of `crate::serve`). The bounds of a listener: connections,
//! deadlines, head size, long polls.

use std::time::Duration;

/// The largest request head (request line and headers) accepted, in bytes. hyper answers 431
/// above it; it also bounds each connection's read buffer.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;

/// The bounds of one listener. Build it from the settings (`[http]`, `[internode]`) or start
/// from [`ListenerLimits::ui`] / [`ListenerLimits::internode`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListenerLimits {
    /// Open connections at most; at the cap the listener stops accepting until one closes.
    pub max_connections: usize,
    /// How long a client may take to complete the TLS handshake (TLS listeners only).
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
