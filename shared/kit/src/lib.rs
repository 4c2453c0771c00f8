//! What both Bangban nodes run: configuration loading, telemetry, the case store, HTTP plumbing
//! (problem+json errors, health endpoints) and graceful shutdown.
//!
//! Written once so that the district's hall and a village centre handle a case with the same code.
//! Domain rules live in `bangban-domain`; this crate must never re-decide them.

pub mod access;
pub mod alerts;
pub mod api;
pub mod attachments;
pub mod auth;
pub mod cli;
pub mod config;
pub mod db;
pub mod http;
pub mod https;
pub mod intake;
pub mod jobs;
pub mod node;
pub mod openapi;
pub mod policy;
pub mod reconcile;
pub mod serve;
pub mod shutdown;
pub mod store;
pub mod sync;
pub mod telemetry;
pub mod tls;
pub mod web;
