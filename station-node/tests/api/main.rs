//! station-node through its router on a real port-0 listener and a real SQLite file.
#![allow(clippy::unwrap_used)]

mod accounts;
mod alerts;
mod attachments;
mod browser;
mod cases;
mod config;
mod health;
mod helpers;
mod https;
mod jobs;
mod openapi;
mod personal;
mod roles;
mod roster;
mod steps;
mod web;
