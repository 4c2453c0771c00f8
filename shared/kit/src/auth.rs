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

mod hashing;
pub mod throttle;

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
use axum::routing::post;
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

/// How long a session lives after its last use (sliding expiry).
pub const SESSION_TTL: Duration = Duration::hours(12);
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
// Roles, names and errors
// ---------------------------------------------------------------------------------------------

/// What an operator may do. Stored and sent as its snake_case name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    DistrictAdmin,
    Inspector,
    StationOperator,
    Agent,
}

impl Role {
    pub const ALL: [Role; 4] = [
        Role::DistrictAdmin,
        Role::Inspector,
        Role::StationOperator,
        Role::Agent,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::DistrictAdmin => "district_admin",
            Role::Inspector => "inspector",
            Role::StationOperator => "station_operator",
            Role::Agent => "agent",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// The role's name in the operator UI.
    pub fn label_zh(self) -> &'static str {
        match self {
            Role::DistrictAdmin => "区级管理员",
            Role::Inspector => "督查员",
            Role::StationOperator => "站点操作员",
            Role::Agent => "帮办代办员",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            Role::DistrictAdmin => "district administrator",
            Role::Inspector => "inspector",
            Role::StationOperator => "station operator",
            Role::Agent => "agent",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A well-formed username: 3–32 characters of `[a-z0-9_.-]`. Input is trimmed and ASCII-lowercased
/// first, so `ZhangSan` and `zhangsan` are one account.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Username(String);

impl Username {
    pub fn parse(input: &str) -> Result<Username, AuthError> {
        let s = input.trim().to_ascii_lowercase();
        let ok = (3..=32).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_.-".contains(&b));
        if ok {
            Ok(Username(s))
        } else {
            Err(AuthError::InvalidUsername)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl PartialEq<&str> for Username {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

/// Checks a new password against the policy: 8–128 characters, not digits only, not the username.
pub fn check_password_policy(username: &Username, password: &str) -> Result<(), AuthError> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(AuthError::PasswordTooShort);
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(AuthError::PasswordTooLong);
    }
    if password.chars().all(char::is_numeric) {
        return Err(AuthError::PasswordAllDigits);
    }
    if password.to_lowercase() == username.as_str() {
        return Err(AuthError::PasswordIsUsername);
    }
    Ok(())
}

fn check_display_name(name: &str) -> Result<String, AuthError> {
    let name = name.trim();
    let chars = name.chars().count();
    if (1..=64).contains(&chars) && !name.chars().any(char::is_control) {
        Ok(name.to_owned())
    } else {
        Err(AuthError::InvalidDisplayName)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("a username has 3 to 32 characters, each a lowercase letter, a digit, '_', '.' or '-'")]
    InvalidUsername,
    #[error("the display name must have 1 to 64 characters and no control characters")]
    InvalidDisplayName,
    #[error("the password must have at least {MIN_PASSWORD_CHARS} characters")]
    PasswordTooShort,
    #[error("the password must have at most {MAX_PASSWORD_CHARS} characters")]
    PasswordTooLong,
    #[error("the password must not consist of digits only")]
    PasswordAllDigits,
    #[error("the password must not be the same as the username")]
    PasswordIsUsername,
    #[error("the username {0} is taken")]
    DuplicateUsername(String),
    #[error("no operator {0}")]
    UnknownOperator(String),
    /// Also the answer for a disabled account: the caller learns nothing about the account.
    #[error("wrong username or password")]
    InvalidCredentials,
    #[error("too many failed logins: try again in {} seconds", wait_secs(*retry_after))]
    Throttled { retry_after: Duration },
    #[error("the node is busy checking other logins; try again in a moment")]
    Busy,
    #[error("not logged in: log in first")]
    MissingToken,
    #[error("the session has expired or is not valid: log in again")]
    InvalidToken,
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("password hashing failed: {0}")]
    Hashing(String),
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
}

impl AuthError {
    /// The HTTP status this error answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            AuthError::InvalidUsername
            | AuthError::InvalidDisplayName
            | AuthError::PasswordTooShort
            | AuthError::PasswordTooLong
            | AuthError::PasswordAllDigits
            | AuthError::PasswordIsUsername => StatusCode::UNPROCESSABLE_ENTITY,
            AuthError::DuplicateUsername(_) => StatusCode::CONFLICT,
            AuthError::UnknownOperator(_) => StatusCode::NOT_FOUND,
            AuthError::InvalidCredentials | AuthError::MissingToken | AuthError::InvalidToken => {
                StatusCode::UNAUTHORIZED
            }
            AuthError::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
            AuthError::Busy => StatusCode::SERVICE_UNAVAILABLE,
            AuthError::Db(_) | AuthError::Hashing(_) | AuthError::Corrupt(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }

    /// Whether the node, not the caller, is at fault (and the cause must not be shown).
    pub fn is_internal(&self) -> bool {
        matches!(
            self,
            AuthError::Db(_) | AuthError::Hashing(_) | AuthError::Corrupt(_)
        )
    }
}

impl Bilingual for AuthError {
    fn code(&self) -> &'static str {
        match self {
            AuthError::InvalidUsername => "auth.invalid_username",
            AuthError::InvalidDisplayName => "auth.invalid_display_name",
            AuthError::PasswordTooShort => "auth.password_too_short",
            AuthError::PasswordTooLong => "auth.password_too_long",
            AuthError::PasswordAllDigits => "auth.password_all_digits",
            AuthError::PasswordIsUsername => "auth.password_is_username",
            AuthError::DuplicateUsername(_) => "auth.duplicate_username",
            AuthError::UnknownOperator(_) => "auth.unknown_operator",
            AuthError::InvalidCredentials => "auth.invalid_credentials",
            AuthError::Throttled { .. } => "auth.throttled",
            AuthError::Busy => "auth.busy",
            AuthError::MissingToken => "auth.missing_token",
            AuthError::InvalidToken => "auth.invalid_token",
            AuthError::Db(_) => "internal.database",
            AuthError::Hashing(_) => "internal.password_hash",
            AuthError::Corrupt(_) => "internal.corrupt",
        }
    }

    fn message_zh(&self) -> String {
        match self {
            AuthError::InvalidUsername => {
                "用户名须为 3–32 个字符，只能包含小写字母、数字、下划线（_）、点（.）和连字符（-）"
                    .to_owned()
            }
            AuthError::InvalidDisplayName => "姓名须为 1–64 个字符，且不能含控制字符".to_owned(),
            AuthError::PasswordTooShort => format!("密码至少需要 {MIN_PASSWORD_CHARS} 个字符"),
            AuthError::PasswordTooLong => format!("密码不能超过 {MAX_PASSWORD_CHARS} 个字符"),
            AuthError::PasswordAllDigits => "密码不能全部是数字".to_owned(),
            AuthError::PasswordIsUsername => "密码不能与用户名相同".to_owned(),
            AuthError::DuplicateUsername(u) => format!("用户名 {u} 已被使用"),
            AuthError::UnknownOperator(u) => format!("没有用户名为 {u} 的账号"),
            AuthError::InvalidCredentials => "用户名或密码错误".to_owned(),
            AuthError::Throttled { retry_after } => {
                format!("登录失败次数过多，请 {} 秒后重试", wait_secs(*retry_after))
            }
            AuthError::Busy => "系统正忙于处理其他登录，请稍后重试".to_owned(),
            AuthError::MissingToken => "尚未登录，请先登录".to_owned(),
            AuthError::InvalidToken => "登录已失效，请重新登录".to_owned(),
            AuthError::Db(_) | AuthError::Hashing(_) | AuthError::Corrupt(_) => {
                "系统内部错误，请稍后重试".to_owned()
            }
        }
    }
}

impl From<&AuthError> for Problem {
    fn from(err: &AuthError) -> Problem {
        if err.is_internal() {
            // Logs the cause; the caller sees a generic message.
            Problem::internal(err)
        } else {
            Problem::from_domain(err.status(), err)
        }
    }
}

impl From<AuthError> for Problem {
    fn from(err: AuthError) -> Problem {
        Problem::from(&err)
    }
}

/// A wait in whole seconds, rounded up, at least one (a caller told "in 2 seconds" must not be
/// refused again after 2 seconds).
fn wait_secs(wait: Duration) -> i64 {
    let secs = wait.whole_seconds();
    let rounded = if wait > Duration::seconds(secs) {
        secs + 1
    } else {
        secs
    };
    rounded.max(1)
}

// ---------------------------------------------------------------------------------------------
// Accounts, sessions and audit records
// ---------------------------------------------------------------------------------------------

/// An operator account as the rest of the node sees it. Never carries the password hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Operator {
    pub username: Username,
    pub display_name: String,
    pub role: Role,
    pub disabled: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// What an administrator fills in to create an account.
#[derive(Clone)]
pub struct NewOperator {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub password: String,
}

impl fmt::Debug for NewOperator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewOperator")
            .field("username", &self.username)
            .field("display_name", &self.display_name)
            .field("role", &self.role)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// A bearer token. Only its holder and this type ever see it; `Debug` redacts it and it has no
/// `Display`, so it cannot slip into a log line by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionToken(String);

impl SessionToken {
    /// The token itself, to hand to the client that logged in.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionToken(<redacted>)")
    }
}

/// A successful login.
#[derive(Debug, Clone)]
pub struct Session {
    pub token: SessionToken,
    pub operator: Operator,
    pub expires_at: OffsetDateTime,
}

/// How a login attempt ended, as recorded in the audit trail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LoginOutcome {
    Ok,
    WrongPassword,
    UnknownUser,
    /// Refused because the caller must wait (see [`throttle`]); the password was not checked.
    Throttled,
    /// The right password for a disabled account (answered as a wrong one).
    Disabled,
    /// Refused because the account was locked. Written by versions that locked accounts; read
    /// back from old audit rows only.
    Locked,
    /// A wrong password that locked the account. Old audit rows only, as `Locked`.
    Lockout,
}

impl LoginOutcome {
    const ALL: [LoginOutcome; 7] = [
        LoginOutcome::Ok,
        LoginOutcome::WrongPassword,
        LoginOutcome::UnknownUser,
        LoginOutcome::Throttled,
        LoginOutcome::Disabled,
        LoginOutcome::Locked,
        LoginOutcome::Lockout,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LoginOutcome::Ok => "ok",
            LoginOutcome::WrongPassword => "wrong_password",
            LoginOutcome::UnknownUser => "unknown_user",
            LoginOutcome::Throttled => "throttled",
            LoginOutcome::Locked => "locked",
            LoginOutcome::Lockout => "lockout",
            LoginOutcome::Disabled => "disabled",
        }
    }

    pub fn parse(s: &str) -> Option<LoginOutcome> {
        LoginOutcome::ALL.into_iter().find(|o| o.as_str() == s)
    }
}

/// One row of the login audit trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoginAttempt {
    pub id: i64,
    /// `None` when what was typed is not a well-formed username: it may be a mistyped password,
    /// so it is not recorded.
    pub username: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub success: bool,
    pub outcome: LoginOutcome,
    /// The client's IP address, when the listener provides it.
    pub peer: Option<String>,
}

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

    /// Creates an account. The username is normalised (trimmed, lowercased) and must be free.
    pub async fn create_operator(
        &self,
        new: NewOperator,
        now: OffsetDateTime,
    ) -> Result<Operator, AuthError> {
        let username = Username::parse(&new.username)?;
        let display_name = check_display_name(&new.display_name)?;
        check_password_policy(&username, &new.password)?;
        // Cheap check first, so that a taken name does not cost a hash; the insert still guards.
        if self.operator(username.as_str()).await?.is_some() {
            return Err(AuthError::DuplicateUsername(username.0));
        }
        let hash = self.hash_password(new.password).await?;
        let now_ms = to_ms(now);
        let done = sqlx::query(
            "INSERT INTO operators (username, display_name, role, password_hash, disabled, \
             failed_attempts, locked_until, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, 0, 0, NULL, $5, $5) ON CONFLICT (username) DO NOTHING",
        )
        .bind(username.as_str())
        .bind(&display_name)
        .bind(new.role.as_str())
        .bind(hash)
        .bind(now_ms)
        .execute(self.db.pool())
        .await?;
        if done.rows_affected() == 0 {
            return Err(AuthError::DuplicateUsername(username.0));
        }
        tracing::info!(username = %username, role = %new.role, "operator created");
        self.operator(username.as_str())
            .await?
            .ok_or_else(|| AuthError::Corrupt("a new operator vanished".into()))
    }

    /// One account, or `None`.
    pub async fn operator(&self, username: &str) -> Result<Option<Operator>, AuthError> {
        let Ok(username) = Username::parse(username) else {
            return Ok(None);
        };
        let sql = format!("SELECT {OPERATOR_COLUMNS} FROM operators WHERE username = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(username.as_str())
            .fetch_optional(self.db.pool())
            .await?;
        row.as_ref().map(operator_from_row).transpose()
    }

    /// Every account, by username. No password hashes.
    pub async fn list_operators(&self) -> Result<Vec<Operator>, AuthError> {
        let sql = format!("SELECT {OPERATOR_COLUMNS} FROM operators ORDER BY username");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(self.db.pool())
            .await?;
        rows.iter().map(operator_from_row).collect()
    }

    /// Sets a new password (an administrator's reset). Clears the account's failure count and
    /// ends every session of the account, so a stolen session does not outlive the reset.
    pub async fn set_password(
        &self,
        username: &str,
        password: &str,
        now: OffsetDateTime,
    ) -> Result<(), AuthError> {
        let name =
            Username::parse(username).map_err(|_| AuthError::UnknownOperator(username.into()))?;
        check_password_policy(&name, password)?;
        let hash = self.hash_password(password.to_owned()).await?;
        let mut tx = self.begin().await?;
        // The legacy lock columns are cleared too, so that no old lock lingers in the data.
        let done = sqlx::query(
            "UPDATE operators SET password_hash = $2, failed_attempts = 0, locked_until = NULL, \
             updated_at = $3 WHERE username = $1",
        )
        .bind(name.as_str())
        .bind(hash)
        .bind(to_ms(now))
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(AuthError::UnknownOperator(name.0));
        }
        end_sessions_of(&mut tx, &name).await?;
        tx.commit().await?;
        self.throttle.clear_account(&name);
        tracing::info!(username = %name, "password set");
        Ok(())
    }

    /// Disables an account and ends its sessions.
    pub async fn disable(&self, username: &str, now: OffsetDateTime) -> Result<(), AuthError> {
        self.set_disabled(username, true, now).await
    }

    /// Enables a disabled account again.
    pub async fn enable(&self, username: &str, now: OffsetDateTime) -> Result<(), AuthError> {
        self.set_disabled(username, false, now).await
    }

    async fn set_disabled(
        &self,
        username: &str,
        disabled: bool,
        now: OffsetDateTime,
    ) -> Result<(), AuthError> {
        let name =
            Username::parse(username).map_err(|_| AuthError::UnknownOperator(username.into()))?;
        let mut tx = self.begin().await?;
        let done =
            sqlx::query("UPDATE operators SET disabled = $2, updated_at = $3 WHERE username = $1")
                .bind(name.as_str())
                .bind(i64::from(disabled))
                .bind(to_ms(now))
                .execute(&mut *tx)
                .await?;
        if done.rows_affected() == 0 {
            return Err(AuthError::UnknownOperator(name.0));
        }
        if disabled {
            end_sessions_of(&mut tx, &name).await?;
        }
        tx.commit().await?;
        tracing::info!(username = %name, disabled, "operator status set");
        Ok(())
    }

    /// Checks a username and password and opens a session.
    ///
    /// A caller that must wait (see [`throttle`]) is refused with `auth.throttled` (429) before
    /// any argon2 work. Every other refusal, whether the username is unknown or malformed, the
    /// password wrong, or the account disabled, is `auth.invalid_credentials` (401) after exactly
    /// one argon2 verification, so neither the answer nor its time tells them apart; the audit
    /// trail does. When no hashing thread frees up in time the answer is `auth.busy` (503) and the
    /// attempt counts for nothing. Every attempt is audited, whatever its outcome.
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        peer: Option<String>,
        now: OffsetDateTime,
    ) -> Result<Session, AuthError> {
        let name = Username::parse(username).ok();
        let source = Source::from_peer(peer.as_deref());
        if let Err(retry_after) = self.throttle.admit(source, name.as_ref(), now) {
            self.audit(name.as_ref(), now, LoginOutcome::Throttled, peer)
                .await?;
            return Err(AuthError::Throttled { retry_after });
        }
        // From here the attempt counts as a failure unless it is shown otherwise.
        let result = self
            .check_password(name.as_ref(), password, peer, now)
            .await;
        match (&result, &name) {
            (Ok(session), _) => self.throttle.succeeded(source, &session.operator.username),
            (Err(AuthError::InvalidCredentials), _) => {}
            // Busy or broken: the password was not judged.
            (Err(_), name) => self.throttle.withdraw(source, name.as_ref()),
        }
        result
    }

    async fn check_password(
        &self,
        name: Option<&Username>,
        password: &str,
        peer: Option<String>,
        now: OffsetDateTime,
    ) -> Result<Session, AuthError> {
        // Whoever logs in first pays for the dummy hash, so its cost tells nothing either.
        let dummy = self.dummy_hash().await?;
        let account = match name {
            Some(n) => self.account(n).await?,
            None => None,
        };
        let Some((operator, password_hash)) = account else {
            // Same work as a real check; the result is meaningless.
            self.verify_password(password.to_owned(), dummy).await?;
            self.audit(name, now, LoginOutcome::UnknownUser, peer)
                .await?;
            return Err(AuthError::InvalidCredentials);
        };
        let name = &operator.username;
        if !self
            .verify_password(password.to_owned(), password_hash)
            .await?
        {
            self.audit(Some(name), now, LoginOutcome::WrongPassword, peer)
                .await?;
            return Err(AuthError::InvalidCredentials);
        }
        if operator.disabled {
            // The right password, but answered as a wrong one: a caller who guessed it learns
            // nothing, and the operator's administrator sees it in the audit trail.
            self.audit(Some(name), now, LoginOutcome::Disabled, peer)
                .await?;
            return Err(AuthError::InvalidCredentials);
        }
        let token = new_token()?;
        let expires_at = now + SESSION_TTL;
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO sessions (token_hash, username, created_at, expires_at, last_seen_at) \
             VALUES ($1, $2, $3, $4, $3)",
        )
        .bind(token_digest(&token.0)?)
        .bind(name.as_str())
        .bind(to_ms(now))
        .bind(to_ms(expires_at))
        .execute(&mut *tx)
        .await?;
        audit_in(&mut tx, Some(name), now, LoginOutcome::Ok, peer).await?;
        tx.commit().await?;
        Ok(Session {
            token,
            operator,
            expires_at,
        })
    }

    /// An account with its password hash, or `None`.
    async fn account(&self, name: &Username) -> Result<Option<(Operator, String)>, AuthError> {
        let sql =
            format!("SELECT {OPERATOR_COLUMNS}, password_hash FROM operators WHERE username = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(name.as_str())
            .fetch_optional(self.db.pool())
            .await?;
        row.map(|row| Ok((operator_from_row(&row)?, row.try_get("password_hash")?)))
            .transpose()
    }

    async fn dummy_hash(&self) -> Result<String, AuthError> {
        self.dummy_hash
            .get_or_try_init(|| async move {
                let random = new_token()?;
                self.hash_password(random.0).await
            })
            .await
            .cloned()
    }

    async fn audit(
        &self,
        username: Option<&Username>,
        now: OffsetDateTime,
        outcome: LoginOutcome,
        peer: Option<String>,
    ) -> Result<(), AuthError> {
        let mut conn = self.db.pool().acquire().await?;
        audit_in(&mut conn, username, now, outcome, peer).await
    }

    /// The operator a bearer token belongs to. Each use keeps the session alive for another
    /// [`SESSION_TTL`]; an expired or unknown token, or one of a disabled account, is refused
    /// with `auth.invalid_token`.
    pub async fn authenticate(
        &self,
        token: &str,
        now: OffsetDateTime,
    ) -> Result<Operator, AuthError> {
        if !well_formed_token(token) {
            return Err(AuthError::InvalidToken);
        }
        let digest = token_digest(token)?;
        let sql = format!(
            "SELECT s.expires_at AS s_expires_at, s.last_seen_at AS s_last_seen_at, \
             {cols} FROM sessions s JOIN operators o ON o.username = s.username \
             WHERE s.token_hash = $1",
            cols = OPERATOR_COLUMNS
                .split(", ")
                .map(|c| format!("o.{c}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&digest)
            .fetch_optional(self.db.pool())
            .await?
            .ok_or(AuthError::InvalidToken)?;
        let expires_at: i64 = row.try_get("s_expires_at")?;
        let last_seen_at: i64 = row.try_get("s_last_seen_at")?;
        let operator = operator_from_row(&row)?;
        let now_ms = to_ms(now);
        if now_ms >= expires_at || operator.disabled {
            return Err(AuthError::InvalidToken);
        }
        if i128::from(now_ms - last_seen_at) >= RENEW_EVERY.whole_milliseconds() {
            // Only ever extends; the guard keeps a concurrent logout or expiry final.
            sqlx::query(
                "UPDATE sessions SET last_seen_at = $2, expires_at = $3 \
                 WHERE token_hash = $1 AND expires_at > $2 AND expires_at < $3",
            )
            .bind(&digest)
            .bind(now_ms)
            .bind(to_ms(now + SESSION_TTL))
            .execute(self.db.pool())
            .await?;
        }
        Ok(operator)
    }

    /// Ends the session of `token`. Returns whether there was one; an unknown token is no error.
    pub async fn logout(&self, token: &str) -> Result<bool, AuthError> {
        if !well_formed_token(token) {
            return Ok(false);
        }
        let done = sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_digest(token)?)
            .execute(self.db.pool())
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Deletes expired sessions; returns how many. Run it from a job now and then.
    pub async fn purge_expired(&self, now: OffsetDateTime) -> Result<u64, AuthError> {
        let done = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(to_ms(now))
            .execute(self.db.pool())
            .await?;
        Ok(done.rows_affected())
    }

    /// Forgets login attempts recorded before `before` (the retention period has passed).
    pub async fn purge_login_audit(&self, before: OffsetDateTime) -> Result<u64, AuthError> {
        let done = sqlx::query("DELETE FROM login_audit WHERE at < $1")
            .bind(to_ms(before))
            .execute(self.db.pool())
            .await?;
        Ok(done.rows_affected())
    }

    /// The latest `limit` login attempts (at most 1,000), newest first.
    pub async fn login_attempts(&self, limit: u32) -> Result<Vec<LoginAttempt>, AuthError> {
        let rows = sqlx::query(
            "SELECT id, username, at, success, outcome, peer FROM login_audit \
             ORDER BY id DESC LIMIT $1",
        )
        .bind(i64::from(limit.min(1000)))
        .fetch_all(self.db.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let outcome: String = r.try_get("outcome")?;
                Ok(LoginAttempt {
                    id: r.try_get("id")?,
                    username: r.try_get("username")?,
                    at: from_ms(r.try_get("at")?)?,
                    success: r.try_get::<i64, _>("success")? != 0,
                    outcome: LoginOutcome::parse(&outcome)
                        .ok_or_else(|| AuthError::Corrupt(format!("login outcome {outcome}")))?,
                    peer: r.try_get("peer")?,
                })
            })
            .collect()
    }

    /// How many sessions are open (not yet purged, possibly expired), for status and tests.
    pub async fn session_count(&self) -> Result<i64, AuthError> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM sessions")
            .fetch_one(self.db.pool())
            .await?;
        Ok(row.try_get("n")?)
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

// ---------------------------------------------------------------------------------------------
// Hashing and tokens
// ---------------------------------------------------------------------------------------------

/// 256 bits from the operating system's CSPRNG, as 64 lowercase hex digits. The randomness comes
/// through password-hash's salt generator (`getrandom`), the one CSPRNG in our dependencies.
fn new_token() -> Result<SessionToken, AuthError> {
    let mut bytes = [0u8; TOKEN_BYTES];
    for chunk in bytes.chunks_mut(16) {
        let random = argon2::password_hash::try_generate_salt()
            .map_err(|e| AuthError::Hashing(format!("no secure randomness: {e}")))?;
        chunk.copy_from_slice(&random[..chunk.len()]);
    }
    Ok(SessionToken(hex(&bytes)))
}

fn well_formed_token(token: &str) -> bool {
    token.len() == TOKEN_BYTES * 2
        && token
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The stored form of a token: a one-way digest, so a copy of the database (a backup, a stolen
/// disk) yields no live session, and the lookup by primary key leaks nothing through timing.
///
/// The token already has 256 bits of entropy, so no stretching is needed; argon2id at its minimum
/// cost (8 KiB, one pass: microseconds) serves as the hash function because it is the one
/// already in our dependencies (no SHA-2 crate is a direct dependency).
fn token_digest(token: &str) -> Result<String, AuthError> {
    let params = Params::new(8, 1, 1, Some(32)).map_err(|e| AuthError::Hashing(e.to_string()))?;
    let mut out = [0u8; 32];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(token.as_bytes(), TOKEN_DIGEST_SALT, &mut out)
        .map_err(|e| AuthError::Hashing(e.to_string()))?;
    Ok(hex(&out))
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    s
}

// ---------------------------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

impl fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginRequest")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

#[derive(Clone, Serialize)]
pub struct LoginResponse {
    /// The bearer token for `Authorization: Bearer <token>`.
    pub token: String,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    pub username: String,
    pub display_name: String,
    pub role: Role,
}

impl fmt::Debug for LoginResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginResponse")
            .field("token", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .field("username", &self.username)
            .field("display_name", &self.display_name)
            .field("role", &self.role)
            .finish()
    }
}

/// An authentication failure as a response: problem+json, with `WWW-Authenticate: Bearer` on a
/// 401 (RFC 9110 requires it) and `Retry-After` when throttled or busy.
#[derive(Debug)]
pub struct AuthRejection {
    problem: Problem,
    /// `invalid_token` for a token that was presented but refused (RFC 6750).
    bearer_error: Option<&'static str>,
    retry_after_secs: Option<i64>,
}

impl AuthRejection {
    pub fn problem(&self) -> &Problem {
        &self.problem
    }

    pub fn into_problem(self) -> Problem {
        self.problem
    }
}

impl From<AuthError> for AuthRejection {
    fn from(err: AuthError) -> Self {
        let retry_after_secs = match &err {
            AuthError::Throttled { retry_after } => Some(wait_secs(*retry_after)),
            AuthError::Busy => Some(1),
            _ => None,
        };
        let bearer_error = matches!(err, AuthError::InvalidToken).then_some("invalid_token");
        AuthRejection {
            problem: Problem::from(&err),
            bearer_error,
            retry_after_secs,
        }
    }
}

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        let unauthorized = self.problem.status() == StatusCode::UNAUTHORIZED;
        let mut res = self.problem.into_response();
        if unauthorized {
            let challenge = match self.bearer_error {
                Some(e) => format!("Bearer realm=\"bangban\", error=\"{e}\""),
                None => "Bearer realm=\"bangban\"".to_owned(),
            };
            if let Ok(v) = HeaderValue::from_str(&challenge) {
                res.headers_mut().insert(header::WWW_AUTHENTICATE, v);
            }
        }
        if let Some(secs) = self.retry_after_secs {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        res
    }
}

/// The token of an `Authorization: Bearer <token>` header. Any other or no `Authorization`
/// header is a missing token.
pub fn bearer_token(headers: &HeaderMap) -> Result<&str, AuthError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or(AuthError::MissingToken)?
        .to_str()
        .map_err(|_| AuthError::InvalidToken)?;
    let (scheme, token) = value
        .trim()
        .split_once(' ')
        .ok_or(AuthError::MissingToken)?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return Err(AuthError::MissingToken);
    }
    Ok(token)
}

/// The client's IP address, when the server was started with
/// `into_make_service_with_connect_info::<SocketAddr>()`; `None` otherwise. Taken only from the
/// connection, never from a header a client can forge.
#[derive(Debug, Clone, Copy)]
pub struct PeerAddr(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for PeerAddr {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(PeerAddr(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
}

/// The operator behind the request's bearer token; rejects with 401 `auth.missing_token` or
/// `auth.invalid_token`.
#[derive(Debug, Clone)]
pub struct CurrentOperator(pub Operator);

impl<S> FromRequestParts<S> for CurrentOperator
where
    AuthStore: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let token = bearer_token(&parts.headers)?;
        let auth = AuthStore::from_ref(state);
        let operator = auth.authenticate(token, OffsetDateTime::now_utc()).await?;
        Ok(CurrentOperator(operator))
    }
}

/// `POST /api/v1/login`: username and password in, a bearer token out.
pub async fn login_handler(
    State(auth): State<AuthStore>,
    PeerAddr(peer): PeerAddr,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<Json<LoginResponse>, AuthRejection> {
    let session = auth
        .login(
            &req.username,
            &req.password,
            peer.map(|ip| ip.to_string()),
            OffsetDateTime::now_utc(),
        )
        .await?;
    Ok(Json(LoginResponse {
        token: session.token.0,
        expires_at: session.expires_at,
        username: session.operator.username.0,
        display_name: session.operator.display_name,
        role: session.operator.role,
    }))
}

/// `POST /api/v1/logout`: ends the session of the bearer token. 204 even when the session had
/// already ended, so a retry is harmless.
pub async fn logout_handler(
    State(auth): State<AuthStore>,
    headers: HeaderMap,
) -> Result<StatusCode, AuthRejection> {
    let token = bearer_token(&headers)?;
    auth.logout(token).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/login` and `POST /api/v1/logout`, for any state that holds an [`AuthStore`].
pub fn auth_routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    AuthStore: FromRef<S>,
{
    Router::new()
        .route("/api/v1/login", post(login_handler))
        .route("/api/v1/logout", post(logout_handler))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn usernames_are_normalised_and_checked() {
        assert_eq!(Username::parse(" ZhangSan ").unwrap(), "zhangsan");
        assert_eq!(Username::parse("li.si-01_a").unwrap(), "li.si-01_a");
        for bad in ["ab", "", &"a".repeat(33), "张三", "a b c", "a@b.cn"] {
            assert!(Username::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn password_policy() {
        let u = Username::parse("wangwu").unwrap();
        assert!(matches!(
            check_password_policy(&u, "short1"),
            Err(AuthError::PasswordTooShort)
        ));
        assert!(matches!(
            check_password_policy(&u, "12345678"),
            Err(AuthError::PasswordAllDigits)
        ));
        assert!(matches!(
            check_password_policy(&Username::parse("wangwu01").unwrap(), "WangWu01"),
            Err(AuthError::PasswordIsUsername)
        ));
        assert!(matches!(
            check_password_policy(&u, &"x".repeat(129)),
            Err(AuthError::PasswordTooLong)
        ));
        check_password_policy(&u, "办件密码2026").unwrap();
    }

    #[test]
    fn tokens_are_256_random_bits_in_hex() {
        let a = new_token().unwrap();
        let b = new_token().unwrap();
        assert_ne!(a, b);
        assert!(well_formed_token(a.expose()));
        assert_eq!(a.expose().len(), 64);
        assert_eq!(format!("{a:?}"), "SessionToken(<redacted>)");
        let d = token_digest(a.expose()).unwrap();
        assert_eq!(d, token_digest(a.expose()).unwrap());
        assert_ne!(d, a.expose());
        assert!(!well_formed_token("ABCDEF"));
    }

    #[test]
    fn bearer_header_parsing() {
        let mut h = HeaderMap::new();
        assert!(matches!(bearer_token(&h), Err(AuthError::MissingToken)));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert!(matches!(bearer_token(&h), Err(AuthError::MissingToken)));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("bearer  abc "),
        );
        assert_eq!(bearer_token(&h).unwrap(), "abc");
    }

    #[test]
    fn secrets_are_redacted_in_debug() {
        let req = LoginRequest {
            username: "zhangsan".into(),
            password: "s3cret-pass".into(),
        };
        assert!(!format!("{req:?}").contains("s3cret"));
        let new = NewOperator {
            username: "zhangsan".into(),
            display_name: "张三".into(),
            role: Role::Agent,
            password: "s3cret-pass".into(),
        };
        assert!(!format!("{new:?}").contains("s3cret"));
    }

    #[test]
    fn waits_are_shown_in_whole_seconds_rounded_up() {
        assert_eq!(wait_secs(Duration::milliseconds(1)), 1);
        assert_eq!(wait_secs(Duration::seconds(2)), 2);
        assert_eq!(wait_secs(Duration::milliseconds(2_001)), 3);
        assert_eq!(wait_secs(Duration::ZERO), 1);
    }

    #[test]
    fn busy_and_throttled_are_the_callers_to_retry_not_internal_errors() {
        let busy = Problem::from(AuthError::Busy);
        assert_eq!((busy.status, busy.code.as_str()), (503, "auth.busy"));
        let throttled = Problem::from(AuthError::Throttled {
            retry_after: Duration::seconds(4),
        });
        assert_eq!(
            (throttled.status, throttled.code.as_str()),
            (429, "auth.throttled")
        );
        assert!(throttled.message_zh.contains('4') && throttled.message_en.contains('4'));
    }
}
