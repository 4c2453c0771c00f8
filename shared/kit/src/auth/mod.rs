//! Operator accounts, password login and bearer sessions for the operator API: roles, argon2id
//! password hashes, throttling of failed logins, sliding sessions, a login audit trail, and the
//! axum pieces (login/logout routes, a `CurrentOperator` extractor) that use them.
//!
//! SECURITY-CRITICAL. This module must never log, return or store a password or a session token:
//! only argon2id PHC strings and one-way token digests reach the database, and the `Debug` of every
//! type that carries a secret is redacted.
//!
//! Login must not be a lever against the node or its operators: argon2 runs on a few dedicated
//! threads with a bounded queue ([`hashing`]); failures slow the *caller* down instead of locking
//! the account ([`throttle`] explains the rules); and an unknown user, a wrong password, an
//! account under attack and a disabled account all answer the same 401 after the same argon2
//! work, while the audit trail keeps them apart.
//!
//! - `model`: roles, usernames, the password policy, [`AuthError`] and the records;
//! - `accounts`: create, read, list, set a password, disable; `admin`: the same changes made
//!   by an administrator, with their guard rails and the account audit; `sessions`: login, bearer
//!   sessions, logout, purges; `tokens`: session tokens and their digests;
//! - `hashing`: the bounded argon2 pool; `throttle`: failed-login throttling;
//! - `http`: the login and logout routes and the [`CurrentOperator`] extractor.

mod accounts;
mod admin;
mod hashing;
mod http;
mod model;
mod sessions;
pub mod throttle;
mod tokens;

pub use admin::*;
pub use http::*;
pub use model::*;
pub use tokens::csrf_token;
use tokens::*;

pub use hashing::{DEFAULT_HASH_WAIT, default_workers};

use std::convert::Infallible;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use argon2::{Algorithm, Argon2, Params, Version};
use axum::extract::{ConnectInfo, FromRef, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use bangban_domain::Bilingual;
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use time::{Duration, OffsetDateTime};

use crate::db::{Backend, Db};
use crate::http::{ApiJson, Problem};
use crate::store::to_ms;
use hashing::HashPool;
use throttle::{Source, Throttle};

/// How long a session lives after its last use (sliding expiry): long enough for a lunch break
/// in a centre, short enough that a PC left signed in does not stay open overnight.
pub const SESSION_TTL: Duration = Duration::hours(3);
/// How long a session lives at most after its login, however busy (a working day).
pub const SESSION_MAX: Duration = Duration::hours(12);
/// Password length bounds, in characters.
pub const MIN_PASSWORD_CHARS: usize = 8;
pub const MAX_PASSWORD_CHARS: usize = 128;
/// A session's expiry is pushed forward at most this often, so that a busy operator does not
/// cost a database write per request.
const RENEW_EVERY: Duration = Duration::minutes(1);
/// Session tokens are 256 random bits, sent as 64 lowercase hex digits.
const TOKEN_BYTES: usize = 32;
/// Domain separation for the token digest (see [`token_digest`]).
const TOKEN_DIGEST_SALT: &[u8] = b"bangban/session-token/v1";

// ---------------------------------------------------------------------------------------------
// The store
// ---------------------------------------------------------------------------------------------

/// Operator accounts, sessions and the login audit over one database. Cheap to clone.
#[derive(Clone)]
pub struct AuthStore {
    db: Db,
    params: Params,
    /// A hash of a random password, checked in place of an unknown user's hash so that an unknown
    /// username costs as much as a wrong password. Made on the first login.
    dummy_hash: Arc<tokio::sync::OnceCell<String>>,
    /// Where argon2 runs, at most one hash per thread.
    hasher: Arc<HashPool>,
    /// Failed logins by source address and by account.
    throttle: Arc<Throttle>,
}

impl fmt::Debug for AuthStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthStore")
            .field("db", &self.db)
            .field("params", &self.params)
            .finish_non_exhaustive()
    }
}

// `failed_attempts` and `locked_until` (migration 0002) are no longer read: throttling replaced
// the lock and keeps its counts in memory.
const OPERATOR_COLUMNS: &str = "username, display_name, role, disabled, created_at, updated_at";

impl AuthStore {
    /// A store hashing new passwords with argon2id at the crate's default cost
    /// (19 MiB, two passes, one lane).
    pub fn new(db: Db) -> Self {
        Self::with_argon2_params(db, Params::DEFAULT)
    }

    /// A store hashing new passwords with argon2id at `params`. Existing hashes are always
    /// verified with the parameters they were made with. Tests use a low cost to stay fast.
    pub fn with_argon2_params(db: Db, params: Params) -> Self {
        AuthStore {
            db,
            params,
            dummy_hash: Arc::new(tokio::sync::OnceCell::new()),
            hasher: Arc::new(HashPool::new(default_workers(), DEFAULT_HASH_WAIT)),
            throttle: Arc::new(Throttle::new()),
        }
    }

    /// The same store with at most `workers` argon2 hashes at once (by default one per core),
    /// a login waiting at most `wait` for its turn before it is refused with `auth.busy` (503).
    pub fn with_hash_limits(mut self, workers: usize, wait: std::time::Duration) -> Self {
        self.hasher = Arc::new(HashPool::new(workers, wait));
        self
    }

    /// An argon2id PHC string for `password` at this store's cost, on a hashing thread.
    async fn hash_password(&self, password: String) -> Result<String, AuthError> {
        let params = self.params.clone();
        self.hasher
            .run(move |memory| hashing::hash_phc(memory, &params, password.as_bytes()))
            .await?
    }

    /// Whether `password` matches a stored PHC string (checked with the parameters stored with
    /// it), on a hashing thread.
    async fn verify_password(&self, password: String, phc: String) -> Result<bool, AuthError> {
        self.hasher
            .run(move |memory| hashing::verify_phc(memory, password.as_bytes(), &phc))
            .await?
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    async fn begin(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, AuthError> {
        Ok(match self.db.backend() {
            // Take the write lock first: a deferred transaction that reads and then writes can
            // fail outright under WAL instead of waiting for the busy timeout.
            Backend::Sqlite => self.db.pool().begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.db.pool().begin().await?,
        })
    }
}

async fn end_sessions_of(conn: &mut AnyConnection, name: &Username) -> Result<(), AuthError> {
    sqlx::query("DELETE FROM sessions WHERE username = $1")
        .bind(name.as_str())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

async fn audit_in(
    conn: &mut AnyConnection,
    username: Option<&Username>,
    now: OffsetDateTime,
    outcome: LoginOutcome,
    peer: Option<String>,
) -> Result<(), AuthError> {
    let user = username.map_or("-", Username::as_str);
    let ip = peer.as_deref().unwrap_or("-");
    if outcome == LoginOutcome::Ok {
        tracing::info!(
            username = user,
            peer = ip,
            outcome = outcome.as_str(),
            "login"
        );
    } else {
        tracing::warn!(
            username = user,
            peer = ip,
            outcome = outcome.as_str(),
            "login refused"
        );
    }
    sqlx::query(
        "INSERT INTO login_audit (username, at, success, outcome, peer) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(username.map(|u| u.as_str().to_owned()))
    .bind(to_ms(now))
    .bind(i64::from(outcome == LoginOutcome::Ok))
    .bind(outcome.as_str())
    .bind(peer)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

fn operator_from_row(r: &AnyRow) -> Result<Operator, AuthError> {
    let role: String = r.try_get("role")?;
    let username: String = r.try_get("username")?;
    Ok(Operator {
        username: Username::parse(&username)
            .map_err(|_| AuthError::Corrupt(format!("stored username {username:?}")))?,
        display_name: r.try_get("display_name")?,
        role: Role::parse(&role).ok_or_else(|| AuthError::Corrupt(format!("role {role}")))?,
        disabled: r.try_get::<i64, _>("disabled")? != 0,
        created_at: from_ms(r.try_get("created_at")?)?,
        updated_at: from_ms(r.try_get("updated_at")?)?,
    })
}

fn from_ms(ms: i64) -> Result<OffsetDateTime, AuthError> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .map_err(|_| AuthError::Corrupt(format!("instant {ms}")))
}
