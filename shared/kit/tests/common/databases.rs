//! Fresh, migrated databases for tests: a temporary SQLite file, and a new database on the real
//! PostgreSQL server named by `PG_TEST_URL` (scripts/test.sh starts one). A missing server fails
//! the test loudly; it is never skipped. Shared by the kit's test binaries through `#[path]`.

use bangban_kit::db::{Db, sqlite_url};
use uuid::Uuid;

/// Keeps a temporary SQLite file alive.
pub struct SqliteGuard(#[allow(dead_code)] tempfile::TempDir);

/// A migrated database in a fresh temporary SQLite file.
pub async fn sqlite_db() -> (Db, SqliteGuard) {
    let dir = tempfile::tempdir().unwrap();
    let db = open_sqlite(&dir.path().join("test.sqlite")).await;
    (db, SqliteGuard(dir))
}

/// Opens (creating) and migrates a SQLite file.
pub async fn open_sqlite(path: &std::path::Path) -> Db {
    let db = Db::connect(&sqlite_url(path)).await.unwrap();
    db.migrate().await.unwrap();
    db
}

/// A fresh database on the test server; drop it with [`PgGuard::drop_database`].
pub struct PgGuard {
    admin_url: String,
    name: String,
    db: Db,
}

impl PgGuard {
    pub async fn drop_database(self) {
        self.db.close().await;
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

/// A migrated database created for this test on the server at `PG_TEST_URL`.
pub async fn postgres_db() -> (Db, PgGuard) {
    let (db, guard) = postgres_unmigrated().await;
    db.migrate().await.unwrap();
    (db, guard)
}

/// An empty database created for this test on the server at `PG_TEST_URL` (for tests that
/// migrate it step by step).
#[allow(dead_code)]
pub async fn postgres_unmigrated() -> (Db, PgGuard) {
    let admin_url = std::env::var("PG_TEST_URL").expect(
        "PG_TEST_URL is not set: the PostgreSQL half of these tests needs a real server. \
         Run ./scripts/test.sh, which starts one, or set PG_TEST_URL=postgres://user@host:port/db",
    );
    let admin = Db::connect(&admin_url)
        .await
        .unwrap_or_else(|e| panic!("cannot reach PostgreSQL at PG_TEST_URL: {e}"));
    let name = format!("bangban_test_{}", Uuid::now_v7().simple());
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(admin.pool())
        .await
        .unwrap();
    admin.close().await;
    let mut url = url::Url::parse(&admin_url).unwrap();
    url.set_path(&format!("/{name}"));
    let db = Db::connect(url.as_str()).await.unwrap();
    (
        db.clone(),
        PgGuard {
            admin_url,
            name,
            db,
        },
    )
}
