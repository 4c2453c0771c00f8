//! station-node through its router on a real port-0 listener and a real SQLite file.
#![allow(clippy::unwrap_used)]

mod attachments;
mod browser;
mod cases;
mod config;
mod health;
mod helpers;
mod jobs;
mod openapi;
mod roles;
mod web;
