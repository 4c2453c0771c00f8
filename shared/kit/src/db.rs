//! Opening a node's database: SQLite (WAL, foreign keys on, busy timeout) or PostgreSQL, chosen by
//! the URL, through `sqlx::Any` so that one store implementation serves both; and the embedded
//! migrations, one folder per backend with matching numbers.
//!
//! Each crate owns its tables: kit's shared ones are [`KIT_MIGRATIONS`], and a node crate adds
//! its own [`Migrations`] with their own bookkeeping table, so that several crates' migrations
//! coexist in one database without sharing a numbering.

use std::path::Path;
use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, Executor};

/// Which engine is behind a pool. SQL is written to be portable; the few differences (locking)
/// branch on this.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The backend a database URL names, or `None` for anything else.
    pub fn from_url(url: &str) -> Option<Backend> {
        if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Backend::Postgres)
        } else {
            None
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("unsupported database URL (use sqlite:// or postgres://)")]
    UnsupportedUrl,
    #[error("cannot open the database: {0}")]
    Open(#[source] sqlx::Error),
    #[error("{first} and {second} both record their migrations in {table}")]
    SharedBookkeeping {
        first: &'static str,
        second: &'static str,
        table: &'static str,
    },
    #[error("cannot write the search terms of existing cases: {0}")]
    SearchTerms(String),
    #[error("cannot write the reconciliation digests of existing cases: {0}")]
    Digests(String),
    #[error("cannot migrate the tables of {owner}: {source}")]
    Migrate {
        owner: &'static str,
        #[source]
        source: sqlx::migrate::MigrateError,
    },
}

/// A connection pool with its backend.
#[derive(Debug, Clone)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
}

/// One crate's migrations: a folder per backend, applied in order and recorded in the crate's
/// own bookkeeping table.
pub struct Migrations {
    /// The crate that owns the tables, for messages.
    pub owner: &'static str,
    /// Where the applied migrations are recorded; unique per crate.
    pub table: &'static str,
    pub sqlite: sqlx::migrate::Migrator,
    pub postgres: sqlx::migrate::Migrator,
}

/// The tables both nodes use (cases, events, outbox, accounts, sessions …). Their bookkeeping
/// keeps sqlx's default table name, which databases made before per-crate migrations have.
pub static KIT_MIGRATIONS: Migrations = Migrations {
    owner: "bangban-kit",
    table: "_sqlx_migrations",
    sqlite: sqlx::migrate!("migrations/sqlite"),
    postgres: sqlx::migrate!("migrations/postgres"),
};

/// The URL of a SQLite file, created when missing.
pub fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}?mode=rwc", path.display())
}

impl Db {
    /// Opens a pool. SQLite connections get WAL, foreign keys and a busy timeout on every connect.
    pub async fn connect(url: &str) -> Result<Db, DbError> {
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(url).ok_or(DbError::UnsupportedUrl)?;
        let options = AnyPoolOptions::new().acquire_timeout(Duration::from_secs(10));
        let options = match backend {
            // SQLite allows one writer; a handful of connections serves readers under WAL.
            //
            // synchronous = FULL: a commit returns only after the WAL is synced to disk. A push
            // is acknowledged right after its commit and the child then deletes its copy, so
            // the commit must survive power loss, not only a killed process; under NORMAL the
            // last transactions before a power cut may roll back (BENCHMARKS.md has the cost).
            Backend::Sqlite => options.max_connections(4).after_connect(|conn, _| {
                Box::pin(async move {
                    conn.execute(
                        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                         PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;",
                    )
                    .await?;
                    Ok(())
                })
            }),
            Backend::Postgres => options.max_connections(16),
        };
        let pool = options.connect(url).await.map_err(DbError::Open)?;
        Ok(Db { pool, backend })
    }

    /// Applies kit's migrations ([`KIT_MIGRATIONS`]). Idempotent.
    pub async fn migrate(&self) -> Result<(), DbError> {
        self.migrate_with(&[]).await
    }

    /// Applies kit's migrations, then each of `own` in order (a node crate's tables may refer
    /// to kit's). Idempotent.
    pub async fn migrate_with(&self, own: &[&Migrations]) -> Result<(), DbError> {
        let sets: Vec<&Migrations> = std::iter::once(&KIT_MIGRATIONS)
            .chain(own.iter().copied())
            .collect();
        for (i, set) in sets.iter().enumerate() {
            if let Some(earlier) = sets[..i].iter().find(|s| s.table == set.table) {
                return Err(DbError::SharedBookkeeping {
                    first: earlier.owner,
                    second: set.owner,
                    table: set.table,
                });
            }
        }
        for set in sets {
            let embedded = match self.backend {
                Backend::Sqlite => &set.sqlite,
                Backend::Postgres => &set.postgres,
            };
            let mut migrator =
                sqlx::migrate::Migrator::with_migrations(embedded.iter().cloned().collect());
            // Not dangerous here: every set has had its own table from its first migration.
            migrator.dangerous_set_table_name(set.table);
            migrator
                .run(&self.pool)
                .await
                .map_err(|source| DbError::Migrate {
                    owner: set.owner,
                    source,
                })?;
            if std::ptr::eq(set, &KIT_MIGRATIONS) {
                // Data that kit's tables derive in code, not SQL: the search terms of cases
                // stored before they existed (store::search).
                let filled = crate::store::fill_search_terms(self)
                    .await
                    .map_err(|e| DbError::SearchTerms(e.to_string()))?;
                if filled > 0 {
                    tracing::info!(cases = filled, "wrote the search terms of existing cases");
                }
                let filled = crate::store::fill_digests(self)
                    .await
                    .map_err(|e| DbError::Digests(e.to_string()))?;
                if filled > 0 {
                    tracing::info!(
                        cases = filled,
                        "wrote the reconciliation digests of existing cases"
                    );
                }
                let filled = crate::store::fill_summary_digests(self)
                    .await
                    .map_err(|e| DbError::Digests(e.to_string()))?;
                if filled > 0 {
                    tracing::info!(
                        summaries = filled,
                        "wrote the reconciliation digests of existing case summaries"
                    );
                }
            }
        }
        Ok(())
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A cheap round trip, for readiness.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}
