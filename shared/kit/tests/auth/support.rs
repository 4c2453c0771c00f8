//! Test support: auth stores on both backends (argon2id at a low cost, so that a test does not
//! spend seconds hashing in a debug build) and a few accounts.

use argon2::Params;
use bangban_domain::Bilingual;
use bangban_kit::auth::{AuthError, AuthStore, NewOperator, Operator, Role};
use bangban_kit::http::Problem;
use sqlx::Row;
use time::OffsetDateTime;
use time::macros::datetime;

/// A password the policy accepts.
pub const PASSWORD: &str = "Bangban-办件-2026";

/// The instant tests start from; they pass every `now` explicitly.
pub fn t0() -> OffsetDateTime {
    datetime!(2026-02-10 09:00 +8)
}

/// argon2id at 1 MiB and one pass: the same code paths as production, at a fraction of the cost.
pub fn cheap_params() -> Params {
    Params::new(1024, 1, 1, None).unwrap()
}

pub async fn create(store: &AuthStore, username: &str, role: Role) -> Operator {
    store
        .create_operator(
            NewOperator {
                username: username.into(),
                display_name: format!("{username} 测试"),
                role,
                password: PASSWORD.into(),
            },
            t0(),
        )
        .await
        .unwrap()
}

/// The password hash as stored, read behind the store's back.
pub async fn stored_hash(store: &AuthStore, username: &str) -> String {
    sqlx::query("SELECT password_hash FROM operators WHERE username = $1")
        .bind(username)
        .fetch_one(store.db().pool())
        .await
        .unwrap()
        .try_get("password_hash")
        .unwrap()
}

pub use crate::databases::{PgGuard, SqliteGuard};

pub async fn sqlite_store() -> (AuthStore, SqliteGuard) {
    let (db, guard) = crate::databases::sqlite_db().await;
    (AuthStore::with_argon2_params(db, cheap_params()), guard)
}

pub async fn postgres_store() -> (AuthStore, PgGuard) {
    let (db, guard) = crate::databases::postgres_db().await;
    (AuthStore::with_argon2_params(db, cheap_params()), guard)
}

/// The stable code of a refusal.
pub fn code<T: std::fmt::Debug>(r: Result<T, AuthError>) -> &'static str {
    r.unwrap_err().code()
}

pub fn peer(s: &str) -> Option<String> {
    Some(s.to_owned())
}

/// The problem document a refusal is answered with.
pub fn answer(err: &AuthError) -> serde_json::Value {
    serde_json::to_value(Problem::from(err)).unwrap()
}

/// The seconds a throttled attempt is told to wait.
pub fn throttled(r: Result<bangban_kit::auth::Session, AuthError>) -> time::Duration {
    match r {
        Err(AuthError::Throttled { retry_after }) => retry_after,
        other => panic!("expected to be throttled, got {other:?}"),
    }
}
