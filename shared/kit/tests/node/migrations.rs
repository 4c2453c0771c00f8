//! Migrations of several crates in one database: each set keeps its own bookkeeping table, so
//! two sets that both start at 0001 apply side by side, after kit's, and again as no-ops.

use bangban_kit::db::{Db, DbError, KIT_MIGRATIONS, Migrations};
use sqlx::Row;

use crate::databases::{PgGuard, postgres_db, sqlite_db};

static FIRST: Migrations = Migrations {
    owner: "first-crate",
    table: "_first_migrations",
    sqlite: sqlx::migrate!("tests/node/migrations/first/sqlite"),
    postgres: sqlx::migrate!("tests/node/migrations/first/postgres"),
};

static SECOND: Migrations = Migrations {
    owner: "second-crate",
    table: "_second_migrations",
    sqlite: sqlx::migrate!("tests/node/migrations/second/sqlite"),
    postgres: sqlx::migrate!("tests/node/migrations/second/postgres"),
};

/// Both crates claim one bookkeeping table: refused before anything runs.
static CLASHING: Migrations = Migrations {
    owner: "clashing-crate",
    table: "_first_migrations",
    sqlite: sqlx::migrate!("tests/node/migrations/second/sqlite"),
    postgres: sqlx::migrate!("tests/node/migrations/second/postgres"),
};

async fn versions(db: &Db, table: &str) -> Vec<i64> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT version FROM {table} ORDER BY version"
    )))
    .fetch_all(db.pool())
    .await
    .unwrap()
    .iter()
    .map(|r| r.try_get::<i64, _>("version").unwrap())
    .collect()
}

async fn coexist(db: Db) {
    // The database already has kit's tables (the helper migrated it); the two sets follow.
    for _ in 0..2 {
        db.migrate_with(&[&FIRST, &SECOND]).await.unwrap();
    }
    let kit: Vec<i64> = KIT_MIGRATIONS.sqlite.iter().map(|m| m.version).collect();
    assert_eq!(versions(&db, "_sqlx_migrations").await, kit);
    assert_eq!(versions(&db, "_first_migrations").await, vec![1]);
    assert_eq!(versions(&db, "_second_migrations").await, vec![1, 2]);
    // Every table is there and usable, and the second crate's refers to kit's.
    sqlx::query("INSERT INTO first_things (id, label) VALUES (1, 'one')")
        .execute(db.pool())
        .await
        .unwrap();
    let orphan = sqlx::query("INSERT INTO second_things (case_id, note) VALUES ('nope', 'x')")
        .execute(db.pool())
        .await;
    assert!(orphan.is_err(), "the foreign key to kit's cases holds");

    let clash = db.migrate_with(&[&FIRST, &CLASHING]).await.unwrap_err();
    assert!(
        matches!(clash, DbError::SharedBookkeeping { .. }),
        "{clash}"
    );
    assert!(clash.to_string().contains("_first_migrations"), "{clash}");
}

#[tokio::test]
async fn migrations_of_several_crates_coexist_on_sqlite() {
    let (db, _guard) = sqlite_db().await;
    coexist(db).await;
}

#[tokio::test]
async fn migrations_of_several_crates_coexist_on_postgres() {
    let (db, guard): (Db, PgGuard) = postgres_db().await;
    coexist(db).await;
    guard.drop_database().await;
}
