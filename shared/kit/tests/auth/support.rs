//! Test support: auth stores on both backends (argon2id at a low cost, so that a test does not
//! spend seconds hashing in a debug build) and a few accounts.

use std::path::Path;

use argon2::Params;
use bangban_kit::auth::{AuthStore, NewOperator, Operator, Role};
use bangban_kit::db::{Db, sqlite_url};
use sqlx::Row;
use time::OffsetDateTime;
use time::macros::datetime;
use uuid::Uuid;

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

pub struct SqliteGuard(#[allow(dead_code)] tempfile::TempDir);

pub async fn open_sqlite(path: &Path) -> AuthStore {
    let db = Db::connect(&sqlite_url(path)).await.unwrap();
    db.migrate().await.unwrap();
    AuthStore::with_argon2_params(db, cheap_params())
}

pub async fn sqlite_store() -> (AuthStore, SqliteGuard) {
    let dir = tempfile::tempdir().unwrap();
    let store = open_sqlite(&dir.path().join("test.sqlite")).await;
    (store, SqliteGuard(dir))
}

/// A fresh database on the test server, dropped at the end of the test.
pub struct PgGuard {
    admin_url: String,
    name: String,
    store: AuthStore,
}

impl PgGuard {
    pub async fn drop_database(self) {
        self.store.db().close().await;
        let admin = Db::connect(&self.admin_url).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        )))
        .execute(admin.pool())
        .await
        .unwrap();
        admin.close().await;
    }
}

pub async fn postgres_store() -> (AuthStore, PgGuard) {
    let admin_url = std::env::var("PG_TEST_URL").expect(
        "PG_TEST_URL is not set: the PostgreSQL half of the auth tests needs a real server. \
         Run ./scripts/test.sh, which starts one, or set PG_TEST_URL=postgres://user@host:port/db",
    );
    let admin = Db::connect(&admin_url)
        .await
        .unwrap_or_else(|e| panic!("cannot reach PostgreSQL at PG_TEST_URL: {e}"));
    let name = format!("bangban_auth_test_{}", Uuid::now_v7().simple());
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(admin.pool())
        .await
        .unwrap();
    admin.close().await;
    let mut url = url::Url::parse(&admin_url).unwrap();
    url.set_path(&format!("/{name}"));
    let db = Db::connect(url.as_str()).await.unwrap();
    db.migrate().await.unwrap();
    let store = AuthStore::with_argon2_params(db, cheap_params());
    (
        store.clone(),
        PgGuard {
            admin_url,
            name,
            store,
        },
    )
}
