//! A node assembled from parts: the kit runs what a node crate adds (routes on either listener,
//! an extra listener, named tasks, readiness lines) and stops it all on shutdown; and the tables
//! of several crates coexist in one database, each set with its own migration numbering.
#![allow(clippy::unwrap_used)]

#[path = "../common/databases.rs"]
mod databases;
mod migrations;
mod parts;
#[path = "../tls/support.rs"]
#[allow(dead_code)]
mod tls_support;
