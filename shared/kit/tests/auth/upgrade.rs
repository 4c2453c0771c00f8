//! Migration 0005 on a database that is in use: the accounts, their sessions and the login
//! audit made under 0004 come through unchanged, foreign keys intact and still enforced, and the
//! new role is accepted. SQLite rebuilds `operators` and `sessions` for the new CHECK; PostgreSQL
//! changes the constraint in place.

use bangban_kit::db::{Backend, Db, KIT_MIGRATIONS, sqlite_url};
use sqlx::Row;

use crate::databases::postgres_unmigrated;

/// Applies kit's migrations up to and including `version`.
async fn migrate_up_to(db: &Db, version: i64) {
    let set = match db.backend() {
        Backend::Sqlite => &KIT_MIGRATIONS.sqlite,
        Backend::Postgres => &KIT_MIGRATIONS.postgres,
    };
    let migrator = sqlx::migrate::Migrator::with_migrations(
        set.iter()
            .filter(|m| m.version <= version)
            .cloned()
            .collect(),
    );
    migrator.run(db.pool()).await.unwrap();
}

async fn exec(db: &Db, sql: &str) {
    sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
        .execute(db.pool())
        .await
        .unwrap();
}

/// Every row of the three tables, as text, in a stable order.
async fn dump(db: &Db) -> Vec<String> {
    let mut out = Vec::new();
    for r in sqlx::query(
        "SELECT username, display_name, role, password_hash, disabled, failed_attempts, \
         locked_until, created_at, updated_at FROM operators ORDER BY username",
    )
    .fetch_all(db.pool())
    .await
    .unwrap()
    {
        out.push(format!(
            "operator {} {} {} {} {} {} {:?} {} {}",
            r.get::<String, _>(0),
            r.get::<String, _>(1),
            r.get::<String, _>(2),
            r.get::<String, _>(3),
            r.get::<i64, _>(4),
            r.get::<i64, _>(5),
            r.get::<Option<i64>, _>(6),
            r.get::<i64, _>(7),
            r.get::<i64, _>(8),
        ));
    }
    for r in sqlx::query(
        "SELECT token_hash, username, created_at, expires_at, last_seen_at FROM sessions \
         ORDER BY token_hash",
    )
    .fetch_all(db.pool())
    .await
    .unwrap()
    {
        out.push(format!(
            "session {} {} {} {} {}",
            r.get::<String, _>(0),
            r.get::<String, _>(1),
            r.get::<i64, _>(2),
            r.get::<i64, _>(3),
            r.get::<i64, _>(4),
        ));
    }
    for r in
        sqlx::query("SELECT id, username, at, success, outcome, peer FROM login_audit ORDER BY id")
            .fetch_all(db.pool())
            .await
            .unwrap()
    {
        out.push(format!(
            "login {} {:?} {} {} {} {:?}",
            r.get::<i64, _>(0),
            r.get::<Option<String>, _>(1),
            r.get::<i64, _>(2),
            r.get::<i64, _>(3),
            r.get::<String, _>(4),
            r.get::<Option<String>, _>(5),
        ));
    }
    out
}

async fn upgrade_keeps_everything(db: &Db) {
    migrate_up_to(db, 4).await;
    exec(
        db,
        "INSERT INTO operators (username, display_name, role, password_hash, disabled, \
         failed_attempts, locked_until, created_at, updated_at) VALUES \
         ('wangfang', '王芳', 'station_operator', '$argon2id$v=19$m=1024,t=1,p=1$aaaa$bbbb', 0, 0, NULL, 1, 2), \
         ('lisi', '李四', 'agent', '$argon2id$v=19$m=1024,t=1,p=1$cccc$dddd', 1, 3, 99, 3, 4), \
         ('quzhang', '区长', 'district_admin', '$argon2id$v=19$m=1024,t=1,p=1$eeee$ffff', 0, 0, NULL, 5, 6)",
    )
    .await;
    exec(
        db,
        "INSERT INTO sessions (token_hash, username, created_at, expires_at, last_seen_at) VALUES \
         ('aa01', 'wangfang', 10, 20, 11), ('aa02', 'wangfang', 12, 22, 13), \
         ('aa03', 'quzhang', 14, 24, 15)",
    )
    .await;
    exec(
        db,
        "INSERT INTO login_audit (username, at, success, outcome, peer) VALUES \
         ('wangfang', 10, 1, 'ok', '10.0.0.1'), (NULL, 11, 0, 'unknown_user', NULL), \
         ('lisi', 12, 0, 'disabled', '10.0.0.2')",
    )
    .await;
    let before = dump(db).await;
    assert_eq!(before.len(), 9);

    db.migrate().await.unwrap();
    db.migrate().await.unwrap(); // and again: a no-op

    assert_eq!(dump(db).await, before, "nothing lost or changed");
    if db.backend() == Backend::Sqlite {
        let dangling = sqlx::query("PRAGMA foreign_key_check")
            .fetch_all(db.pool())
            .await
            .unwrap();
        assert!(
            dangling.is_empty(),
            "{} dangling references",
            dangling.len()
        );
        let fk = sqlx::query("PRAGMA foreign_key_list(sessions)")
            .fetch_all(db.pool())
            .await
            .unwrap();
        assert_eq!(fk.len(), 1);
        assert_eq!(fk[0].get::<String, _>("table"), "operators");
        let leftovers = sqlx::query(
            "SELECT name FROM sqlite_master WHERE name LIKE '%_new' OR sql LIKE '%_new\"%'",
        )
        .fetch_all(db.pool())
        .await
        .unwrap();
        assert!(leftovers.is_empty(), "no trace of the rebuild");
        let indexes = sqlx::query("PRAGMA index_list(sessions)")
            .fetch_all(db.pool())
            .await
            .unwrap();
        let names: Vec<String> = indexes.iter().map(|r| r.get("name")).collect();
        assert!(names.contains(&"sessions_username".to_owned()), "{names:?}");
        assert!(names.contains(&"sessions_expires".to_owned()), "{names:?}");
    } else {
        let n: i64 = sqlx::query(
            "SELECT COUNT(*) AS n FROM pg_constraint \
             WHERE conrelid = 'sessions'::regclass AND contype = 'f'",
        )
        .fetch_one(db.pool())
        .await
        .unwrap()
        .get("n");
        assert_eq!(n, 1);
    }
    // The reference is still enforced, both ways.
    let orphan = sqlx::query(
        "INSERT INTO sessions (token_hash, username, created_at, expires_at, last_seen_at) \
         VALUES ('bb01', 'nobody', 1, 2, 1)",
    )
    .execute(db.pool())
    .await;
    assert!(
        orphan.is_err(),
        "a session of an unknown account is refused"
    );
    let parent = sqlx::query("DELETE FROM operators WHERE username = 'quzhang'")
        .execute(db.pool())
        .await;
    assert!(parent.is_err(), "an account with sessions cannot vanish");
    // The new role is accepted, a made-up one still refused.
    exec(
        db,
        "INSERT INTO operators (username, display_name, role, password_hash, disabled, \
         failed_attempts, locked_until, created_at, updated_at) VALUES \
         ('zhanzhang', '站长', 'station_admin', 'x', 0, 0, NULL, 7, 7)",
    )
    .await;
    let bad = sqlx::query(
        "INSERT INTO operators (username, display_name, role, password_hash, disabled, \
         failed_attempts, locked_until, created_at, updated_at) VALUES \
         ('root', 'root', 'root', 'x', 0, 0, NULL, 7, 7)",
    )
    .execute(db.pool())
    .await;
    assert!(bad.is_err());
    // The new tables are there.
    exec(
        db,
        "INSERT INTO account_audit (at, actor, action, target) VALUES (1, '@cli', 'created', 'zhanzhang')",
    )
    .await;
    exec(
        db,
        "INSERT INTO personal_data_views (at, operator, case_id, case_no) VALUES (1, 'wangfang', 'c', 'n')",
    )
    .await;
}

#[tokio::test]
async fn migration_0005_keeps_accounts_sessions_and_logins_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::connect(&sqlite_url(&dir.path().join("old.sqlite")))
        .await
        .unwrap();
    upgrade_keeps_everything(&db).await;
    db.close().await;
}

#[tokio::test]
async fn migration_0005_keeps_accounts_sessions_and_logins_on_postgres() {
    let (db, guard) = postgres_unmigrated().await;
    upgrade_keeps_everything(&db).await;
    guard.drop_database().await;
}
