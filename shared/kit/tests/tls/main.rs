//! mTLS between nodes, over real TLS on loopback with certificates made in
//! the test: a valid child is served and named; no certificate, an unknown CA, a foreign district
//! and a stalled client never reach a handler.
#![allow(clippy::unwrap_used)]

mod files;
mod identity;
mod server;
mod support;
mod ui;
