//! district-node through its router on a real port-0 listener, on SQLite and on the real
//! PostgreSQL server named by `PG_TEST_URL`.
#![allow(clippy::unwrap_used)]

mod calendar;
mod catalogue;
#[path = "../../../shared/kit/tests/common/databases.rs"]
#[allow(dead_code)]
mod databases;
mod drafts;
mod policy;
mod publish;
mod published;
mod registry;
mod registry_pages;
mod tiers;
mod web;

use std::path::Path;
use std::process::Command;

/// A fresh district database (kit's tables and the district's own) on SQLite and one on the
/// PostgreSQL server at `PG_TEST_URL`; [`Backends::finish`] drops them.
struct Backends {
    dbs: Vec<bangban_kit::db::Db>,
    _sqlite: databases::SqliteGuard,
    pg: databases::PgGuard,
}

impl Backends {
    async fn new() -> Backends {
        let (sqlite, _sqlite) = databases::sqlite_db().await;
        let (pg, pg_guard) = databases::postgres_db().await;
        for db in [&sqlite, &pg] {
            db.migrate_with(&[&district_node::MIGRATIONS])
                .await
                .unwrap();
        }
        Backends {
            dbs: vec![sqlite, pg],
            _sqlite,
            pg: pg_guard,
        }
    }

    async fn finish(self) {
        for db in &self.dbs {
            db.close().await;
        }
        self.pg.drop_database().await;
    }
}

fn write_config(dir: &Path, database_url: &str) -> std::path::PathBuf {
    let file = dir.join("district.toml");
    std::fs::write(
        &file,
        format!(
            "[node]\ncode = \"410402000000\"\nname = \"新华区政务服务中心\"\n\
             [database]\nurl = \"{database_url}\"\n"
        ),
    )
    .unwrap();
    file
}

async fn serve_and_check_ready(file: &Path) {
    let config = district_node::Settings::load(Some(file))
        .unwrap()
        .check(Some(file))
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(district_node::serve(config, listener, async move {
        let _ = rx.await;
    }));
    let res = reqwest::get(format!("{base}/healthz")).await.unwrap();
    assert_eq!(res.status(), 200);
    let res = reqwest::get(format!("{base}/readyz")).await.unwrap();
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["ready"], true, "{body}");
    tx.send(()).unwrap();
    task.await.unwrap().unwrap();
}

#[tokio::test]
async fn serves_on_sqlite_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_config(dir.path(), "sqlite://district.sqlite");
    serve_and_check_ready(&file).await;
    assert!(dir.path().join("district.sqlite").is_file());
}

#[tokio::test]
async fn serves_on_postgres_when_the_url_says_so() {
    let admin = std::env::var("PG_TEST_URL")
        .expect("PG_TEST_URL is not set: run ./scripts/test.sh, which starts a PostgreSQL server");
    let name = format!("bangban_district_{}", uuid::Uuid::now_v7().simple());
    let admin_db = bangban_kit::db::Db::connect(&admin).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(admin_db.pool())
        .await
        .unwrap();
    let mut url = url::Url::parse(&admin).unwrap();
    url.set_path(&format!("/{name}"));
    let dir = tempfile::tempdir().unwrap();
    let file = write_config(dir.path(), url.as_str());
    serve_and_check_ready(&file).await;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE {name} WITH (FORCE)"
    )))
    .execute(admin_db.pool())
    .await
    .unwrap();
}

fn check_config(file: &Path, env: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_district-node"));
    cmd.arg("--config").arg(file).arg("check-config");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn bad_database_urls_and_codes_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    for (url, env, needle) in [
        ("mysql://x/y", vec![], "database.url"),
        ("sqlite:///no/such/folder/d.sqlite", vec![], "database.url"),
        ("postgres://user:secret@", vec![], "database.url"),
        (
            "sqlite://d.sqlite",
            vec![("BANGBAN_NODE__CODE", "410402001000")],
            "node.code",
        ),
    ] {
        let file = write_config(dir.path(), url);
        let (code, _, err) = check_config(&file, &env);
        assert_eq!(code, 2, "{url} {env:?}: {err}");
        assert!(err.contains(needle), "{url}: {err}");
        assert!(
            !err.contains("secret"),
            "passwords are never printed: {err}"
        );
    }
}

#[test]
fn passwords_in_the_database_url_are_never_printed() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_config(dir.path(), "postgres://bangban:s3cret@127.0.0.1:1/bangban");
    let (code, out, err) = check_config(&file, &[]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("127.0.0.1"), "{out}");
    assert!(
        !out.contains("s3cret") && !err.contains("s3cret"),
        "{out}{err}"
    );
}
