//! Digests of the case logs, kept by every append, that reconciliation compares across a link
//! (`crate::reconcile`).
//!
//! A digest is a count of events and the XOR of one 64-bit hash per event id ([`event_hash`]):
//! adding an event is one XOR, so the digest of any set is kept current without reading the
//! log again, and two sets with the same digest hold the same events (up to a 2^-64 accident).
//! Three granularities are stored:
//! - each case's own log: `cases.ev_n`, `cases.ev_x`, with `cases.case_day` (the yyyymmdd of
//!   its case number, which both sides of a link know);
//! - `sync_digests` scope `all`: every event stored here, per case origin and day: a parent
//!   compares a child's subtree with the rows whose origin lies in it;
//! - `sync_digests` scope `up`: the events of the cases shared with the parent, per origin and
//!   day: what a child compares with its parent;
//! - `sync_digests` scope `sum`: the case summaries held here ([`summary_hash`] of each case's
//!   id and version), per origin and day: both sides of a link compare them in the
//!   [`Lane::Summaries`] lane (a child all of its summaries, a parent those of the child's
//!   subtree).
//!
//! Months and the whole set are folded from the day rows when asked (a few thousand rows at
//! most), so a check that finds no difference reads one small table.

use std::collections::BTreeMap;

use bangban_domain::event::EventId;
use bangban_domain::station::StationCode;
use sqlx::{AnyConnection, Row};

use super::*;

/// A count of events and the XOR of their hashes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Digest {
    pub n: u64,
    pub x: u64,
}

impl Digest {
    pub fn add(&mut self, other: Digest) {
        self.n += other.n;
        self.x ^= other.x;
    }

    fn from_row(n: i64, x: i64) -> Digest {
        Digest {
            n: u64::try_from(n).unwrap_or_default(),
            x: u64::from_ne_bytes(x.to_ne_bytes()),
        }
    }

    /// `x` as 16 lowercase hexadecimal digits, as the wire carries it.
    pub fn x_hex(&self) -> String {
        format!("{:016x}", self.x)
    }
}

/// The 64-bit hash of an event id that digests XOR: the first 8 bytes of the SHA-256 of its
/// text form, as a signed integer (how the database stores it).
pub fn event_hash(id: &EventId) -> i64 {
    let sum = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, id.to_string().as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&sum.as_ref()[..8]);
    i64::from_be_bytes(first)
}

/// The 64-bit hash of a case summary that the `sum` digests XOR: the first 8 bytes of the
/// SHA-256 of `"<case_id>:<version>"`, as a signed integer. A newer version changes it, so a
/// parent holding an older version differs.
pub fn summary_hash(case_id: &str, version: i64) -> i64 {
    let text = format!("{case_id}:{version}");
    let sum = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, text.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&sum.as_ref()[..8]);
    i64::from_be_bytes(first)
}

/// What a comparison is about: the case events (`cases.ev_*`, scopes `all`/`up`) or the case
/// summaries (`case_summaries`, scope `sum`).
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    serde::Serialize,
    serde::Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Lane {
    /// The events of the cases both sides should hold.
    #[default]
    Events,
    /// The case summaries of the child's subtree, one per case in its latest version.
    Summaries,
}

impl Lane {
    pub fn is_events(&self) -> bool {
        *self == Lane::Events
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Lane::Events => "events",
            Lane::Summaries => "summaries",
        }
    }
}

/// The day of a case number, as yyyymmdd (0 if the number is malformed, which the store never
/// writes).
pub fn case_day(case_no: &bangban_domain::event::CaseNumber) -> i64 {
    let d = case_no.date();
    i64::from(d.year()) * 10_000 + i64::from(u8::from(d.month())) * 100 + i64::from(d.day())
}

/// Which stored digests a comparison reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DigestSide {
    /// This node as a child: the cases it shared with its parent.
    Up,
    /// This node as a parent: the cases of a child's subtree.
    Child(StationCode),
}

/// The SQL expression of the XOR of two 64-bit integers: neither SQLite nor the `Any` driver has
/// one operator for both backends. `(a | b) - (a & b)` never overflows: the bits of `a & b` are
/// a subset of those of `a | b`.
macro_rules! xor_sql {
    ($a:literal, $b:literal) => {
        concat!("((", $a, " | ", $b, ") - (", $a, " & ", $b, "))")
    };
}
pub(super) use xor_sql;

/// Adds `d` to the day row of `scope` for the case's origin and day.
pub(super) async fn add_to_scope(
    conn: &mut AnyConnection,
    scope: &str,
    origin: &str,
    day: i64,
    d_n: i64,
    d_x: i64,
) -> Result<(), StoreError> {
    sqlx::query(concat!(
        "INSERT INTO sync_digests (scope, origin, day, n, x) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (scope, origin, day) DO UPDATE SET n = sync_digests.n + $4, x = ",
        xor_sql!("sync_digests.x", "$5")
    ))
    .bind(scope)
    .bind(origin)
    .bind(day)
    .bind(d_n)
    .bind(d_x)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A case whose events are compared one by one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseDigest {
    pub case_id: String,
    pub digest: Digest,
}

impl CaseStore {
    /// The stored day digests of one side, folded by `key` (e.g. the month of a day), for the
    /// days in `days` (inclusive).
    pub async fn digests_by(
        &self,
        side: DigestSide,
        days: (i64, i64),
        key: impl Fn(i64) -> i64,
    ) -> Result<BTreeMap<i64, Digest>, StoreError> {
        self.lane_digests_by(Lane::Events, side, days, key).await
    }

    /// [`CaseStore::digests_by`] of one lane. In the summaries lane a child's side is every
    /// summary it holds (its own and those its children sent): all of them should be at the
    /// parent.
    pub async fn lane_digests_by(
        &self,
        lane: Lane,
        side: DigestSide,
        days: (i64, i64),
        key: impl Fn(i64) -> i64,
    ) -> Result<BTreeMap<i64, Digest>, StoreError> {
        let rows = match (lane, side) {
            (Lane::Events, DigestSide::Up) => sqlx::query(
                "SELECT day, n, x FROM sync_digests WHERE scope = 'up' AND day BETWEEN $1 AND $2",
            )
            .bind(days.0)
            .bind(days.1)
            .fetch_all(self.db.pool())
            .await?,
            (Lane::Summaries, DigestSide::Up) => sqlx::query(
                "SELECT day, n, x FROM sync_digests WHERE scope = 'sum' AND day BETWEEN $1 AND $2",
            )
            .bind(days.0)
            .bind(days.1)
            .fetch_all(self.db.pool())
            .await?,
            (lane, DigestSide::Child(child)) => {
                sqlx::query(
                    "SELECT day, n, x FROM sync_digests \
                     WHERE scope = $4 AND origin LIKE $3 AND day BETWEEN $1 AND $2",
                )
                .bind(days.0)
                .bind(days.1)
                .bind(subtree_pattern(&child))
                .bind(match lane {
                    Lane::Events => "all",
                    Lane::Summaries => "sum",
                })
                .fetch_all(self.db.pool())
                .await?
            }
        };
        let mut out: BTreeMap<i64, Digest> = BTreeMap::new();
        for r in rows {
            let d = Digest::from_row(r.try_get("n")?, r.try_get("x")?);
            if d.n == 0 {
                continue;
            }
            out.entry(key(r.try_get("day")?)).or_default().add(d);
        }
        Ok(out)
    }

    /// The digest of each case of one side whose case number is of `day` (yyyymmdd).
    pub async fn case_digests(
        &self,
        side: DigestSide,
        day: i64,
    ) -> Result<Vec<CaseDigest>, StoreError> {
        self.lane_case_digests(Lane::Events, side, day).await
    }

    /// [`CaseStore::case_digests`] of one lane: in the summaries lane, one entry per summary
    /// (count 1, the hash of its id and version).
    pub async fn lane_case_digests(
        &self,
        lane: Lane,
        side: DigestSide,
        day: i64,
    ) -> Result<Vec<CaseDigest>, StoreError> {
        if lane == Lane::Summaries {
            let rows = match side {
                DigestSide::Up => {
                    sqlx::query(
                        "SELECT case_id, version FROM case_summaries WHERE case_day = $1 \
                     ORDER BY case_id",
                    )
                    .bind(day)
                    .fetch_all(self.db.pool())
                    .await?
                }
                DigestSide::Child(child) => {
                    sqlx::query(
                        "SELECT case_id, version FROM case_summaries WHERE case_day = $1 \
                     AND origin LIKE $2 ORDER BY case_id",
                    )
                    .bind(day)
                    .bind(subtree_pattern(&child))
                    .fetch_all(self.db.pool())
                    .await?
                }
            };
            return rows
                .iter()
                .map(|r| {
                    let case_id: String = r.try_get("case_id")?;
                    let x = summary_hash(&case_id, r.try_get("version")?);
                    Ok(CaseDigest {
                        case_id,
                        digest: Digest::from_row(1, x),
                    })
                })
                .collect();
        }
        let rows =
            match side {
                DigestSide::Up => sqlx::query(
                    "SELECT case_id, ev_n, ev_x FROM cases WHERE case_day = $1 AND shared_up = 1 \
                     ORDER BY case_id",
                )
                .bind(day)
                .fetch_all(self.db.pool())
                .await?,
                DigestSide::Child(child) => sqlx::query(
                    "SELECT case_id, ev_n, ev_x FROM cases WHERE case_day = $1 AND origin LIKE $2 \
                     ORDER BY case_id",
                )
                .bind(day)
                .bind(subtree_pattern(&child))
                .fetch_all(self.db.pool())
                .await?,
            };
        rows.iter()
            .map(|r| {
                Ok(CaseDigest {
                    case_id: r.try_get("case_id")?,
                    digest: Digest::from_row(r.try_get("ev_n")?, r.try_get("ev_x")?),
                })
            })
            .collect()
    }

    /// Of `case_ids`, those stored here whose origin lies outside `child`'s subtree: a child
    /// that names one is asking about what is not its own.
    pub async fn cases_outside(
        &self,
        child: StationCode,
        case_ids: &[String],
    ) -> Result<Vec<String>, StoreError> {
        self.lane_cases_outside(Lane::Events, child, case_ids).await
    }

    /// [`CaseStore::cases_outside`] of one lane: in the summaries lane, the summaries held here
    /// of cases outside `child`'s subtree.
    pub async fn lane_cases_outside(
        &self,
        lane: Lane,
        child: StationCode,
        case_ids: &[String],
    ) -> Result<Vec<String>, StoreError> {
        let table = match lane {
            Lane::Events => "cases",
            Lane::Summaries => "case_summaries",
        };
        let mut outside = Vec::new();
        for chunk in case_ids.chunks(500) {
            let placeholders: Vec<String> = (2..chunk.len() + 2).map(|i| format!("${i}")).collect();
            // Built from a fixed table name and placeholder numbers; every value is bound.
            let sql = format!(
                "SELECT case_id FROM {table} WHERE origin NOT LIKE $1 AND case_id IN ({})",
                placeholders.join(", ")
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(subtree_pattern(&child));
            for id in chunk {
                q = q.bind(id);
            }
            for r in q.fetch_all(self.db.pool()).await? {
                outside.push(r.try_get("case_id")?);
            }
        }
        Ok(outside)
    }
}

/// Fills the digests of a database written before they existed (cases with `ev_n = 0`: every
/// stored case has at least one event), then rebuilds `sync_digests` from the cases. Runs when
/// the database is opened, before anything appends.
pub(crate) async fn fill_pending(db: &Db) -> Result<u64, StoreError> {
    let pending: i64 = sqlx::query("SELECT COUNT(*) AS n FROM cases WHERE ev_n = 0")
        .fetch_one(db.pool())
        .await?
        .try_get("n")?;
    if pending == 0 {
        return Ok(0);
    }
    let mut filled = 0u64;
    loop {
        let mut tx = db.pool().begin().await?;
        let ids: Vec<(String, String)> = sqlx::query(
            "SELECT case_id, case_no FROM cases WHERE ev_n = 0 ORDER BY case_id LIMIT 500",
        )
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("case_id")?, r.try_get("case_no")?)))
        .collect::<Result<_, StoreError>>()?;
        if ids.is_empty() {
            break;
        }
        for (case_id, case_no) in &ids {
            let mut d = Digest::default();
            for r in sqlx::query("SELECT event_id FROM case_events WHERE case_id = $1")
                .bind(case_id)
                .fetch_all(&mut *tx)
                .await?
            {
                let id: String = r.try_get("event_id")?;
                let id: EventId = id
                    .parse()
                    .map_err(|_| StoreError::Corrupt(format!("event id {id}")))?;
                d.add(Digest::from_row(1, event_hash(&id)));
            }
            if d.n == 0 {
                return Err(StoreError::Corrupt(format!("case {case_id} has no events")));
            }
            let day = bangban_domain::event::CaseNumber::parse(case_no)
                .map(|c| case_day(&c))
                .map_err(|_| StoreError::Corrupt(format!("case number {case_no}")))?;
            sqlx::query("UPDATE cases SET ev_n = $2, ev_x = $3, case_day = $4 WHERE case_id = $1")
                .bind(case_id)
                .bind(i64::try_from(d.n).unwrap_or(i64::MAX))
                .bind(i64::from_ne_bytes(d.x.to_ne_bytes()))
                .bind(day)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        filled += ids.len() as u64;
    }
    rebuild_scopes(db).await?;
    Ok(filled)
}

/// Rebuilds `sync_digests` from the cases' own digests.
async fn rebuild_scopes(db: &Db) -> Result<(), StoreError> {
    let mut all: BTreeMap<(String, i64), Digest> = BTreeMap::new();
    let mut up: BTreeMap<(String, i64), Digest> = BTreeMap::new();
    for r in sqlx::query("SELECT origin, case_day, ev_n, ev_x, shared_up FROM cases")
        .fetch_all(db.pool())
        .await?
    {
        let key = (r.try_get::<String, _>("origin")?, r.try_get("case_day")?);
        let d = Digest::from_row(r.try_get("ev_n")?, r.try_get("ev_x")?);
        all.entry(key.clone()).or_default().add(d);
        if r.try_get::<i64, _>("shared_up")? != 0 {
            up.entry(key).or_default().add(d);
        }
    }
    let mut tx = db.pool().begin().await?;
    // The `sum` scope is the summaries' own (see `fill_summaries`).
    sqlx::query("DELETE FROM sync_digests WHERE scope IN ('all', 'up')")
        .execute(&mut *tx)
        .await?;
    for (scope, rows) in [("all", all), ("up", up)] {
        for ((origin, day), d) in rows {
            sqlx::query(
                "INSERT INTO sync_digests (scope, origin, day, n, x) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(scope)
            .bind(origin)
            .bind(day)
            .bind(i64::try_from(d.n).unwrap_or(i64::MAX))
            .bind(i64::from_ne_bytes(d.x.to_ne_bytes()))
            .execute(&mut *tx)
            .await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

/// Writes the `sum` digests of the summaries held here when they do not count every summary (a
/// database written before they existed): rebuilds the scope from `case_summaries`, read by
/// pages. Runs when the database is opened; a database whose counts agree costs two counts.
pub(crate) async fn fill_summaries(db: &Db) -> Result<u64, StoreError> {
    let counts = |sql: &'static str| async move {
        let n: i64 = sqlx::query(sql).fetch_one(db.pool()).await?.try_get("n")?;
        Ok::<i64, StoreError>(n)
    };
    let held = counts("SELECT COUNT(*) AS n FROM case_summaries").await?;
    let counted = counts(
        "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) AS n FROM sync_digests WHERE scope = 'sum'",
    )
    .await?;
    if held == counted {
        return Ok(0);
    }
    // Under the write lock, so that no summary upsert of another connection (or replica)
    // lands between the read and the rewrite.
    let mut tx = match db.backend() {
        crate::db::Backend::Sqlite => db.pool().begin_with("BEGIN IMMEDIATE").await?,
        crate::db::Backend::Postgres => {
            let mut tx = db.pool().begin().await?;
            sqlx::query("LOCK TABLE case_summaries IN SHARE ROW EXCLUSIVE MODE")
                .execute(&mut *tx)
                .await?;
            tx
        }
    };
    let mut sums: BTreeMap<(String, i64), Digest> = BTreeMap::new();
    let mut after = String::new();
    let mut filled = 0u64;
    loop {
        let rows = sqlx::query(
            "SELECT case_id, origin, case_day, version FROM case_summaries WHERE case_id > $1 \
             ORDER BY case_id LIMIT 5000",
        )
        .bind(&after)
        .fetch_all(&mut *tx)
        .await?;
        let Some(last) = rows.last() else {
            break;
        };
        after = last.try_get("case_id")?;
        for r in &rows {
            let case_id: String = r.try_get("case_id")?;
            let x = summary_hash(&case_id, r.try_get("version")?);
            sums.entry((r.try_get("origin")?, r.try_get("case_day")?))
                .or_default()
                .add(Digest::from_row(1, x));
            filled += 1;
        }
    }
    sqlx::query("DELETE FROM sync_digests WHERE scope = 'sum'")
        .execute(&mut *tx)
        .await?;
    for ((origin, day), d) in sums {
        sqlx::query(
            "INSERT INTO sync_digests (scope, origin, day, n, x) VALUES ('sum', $1, $2, $3, $4)",
        )
        .bind(origin)
        .bind(day)
        .bind(i64::try_from(d.n).unwrap_or(i64::MAX))
        .bind(i64::from_ne_bytes(d.x.to_ne_bytes()))
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(filled)
}
