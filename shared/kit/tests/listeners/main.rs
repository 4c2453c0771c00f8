//! The bounded listeners over real sockets on 127.0.0.1: slow and stalled clients are closed by
//! their deadlines while the node keeps answering, the connection cap holds new clients until a
//! slot frees, long polls beyond their cap get 503, and the body and idle deadlines hold.
#![allow(clippy::unwrap_used)]

mod deadlines;
mod flood;
mod support;
#[path = "../tls/support.rs"]
#[allow(dead_code)]
mod tls_support;
