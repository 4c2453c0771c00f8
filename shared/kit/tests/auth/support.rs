//! Test support: auth stores on both backends (argon2id at a low cost, so that a test does not
//! spend seconds hashing in a debug build) and a few accounts.

use argon2::Params;
use bangban_kit::auth::{AuthStore, NewOperator, Operator, Role};
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
