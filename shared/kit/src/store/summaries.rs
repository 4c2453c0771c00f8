//! Case summaries (`case_summaries`) and the queue of those waiting for the parent
//! (`summary_outbox`). A node writes the summary of each case it is the origin of in the
//! transaction of every event of the case (`append_in`, whatever path the event came by), and
//! stores the summaries its children send; with a parent it queues both, so that the district
//! ends with the summary of every case of every centre.
//!
//! A summary replaces only an older version of itself, so replays and reordered deliveries
//! change nothing. This module never holds personal data: the summary type has no field for it,
//! and the inter-node handler refuses a summary carrying any.

use std::sync::atomic::{AtomicU64, Ordering};

use bangban_domain::case::{CaseState, Stage};
use bangban_domain::event::CaseId;
use bangban_domain::summary::{CaseSummary, SummaryOutcome};
use sqlx::{AnyConnection, Row};
use time::OffsetDateTime;

use super::*;

/// Summaries stored and refused since start, for `/metrics`.
#[derive(Debug, Default)]
pub struct SummaryCounts {
    stored: AtomicU64,
    unchanged: AtomicU64,
    refused: AtomicU64,
}

impl SummaryCounts {
    /// Summaries a child sent that were refused (personal data, outside its subtree …).
    pub fn add_refused(&self, n: usize) {
        self.refused
            .fetch_add(u64::try_from(n).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    /// Summaries stored (new or newer) from children since start.
    pub fn stored(&self) -> u64 {
        self.stored.load(Ordering::Relaxed)
    }

    /// Summaries from children already held in that version or newer.
    pub fn unchanged(&self) -> u64 {
        self.unchanged.load(Ordering::Relaxed)
    }

    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }
}

/// Which summaries a list shows.
#[derive(Debug, Clone, Default)]
pub struct SummaryFilter {
    /// Only cases whose origin lies in this station's subtree.
    pub subtree: Option<StationCode>,
    pub stage: Option<Stage>,
    /// Only rows after (older than) or before (newer than) this row of an earlier page.
    pub keyset: Option<Keyset>,
    /// At most this many (1 to 500; 0: 50).
    pub limit: u32,
}

/// One listed summary, and whether this node holds the case's full log too.
#[derive(Debug, Clone)]
pub struct SummaryRow {
    pub summary: CaseSummary,
    pub held_here: bool,
}

impl SummaryRow {
    /// The row's place in the list (newest first).
    pub fn cursor(&self) -> ListCursor {
        ListCursor {
            opened_at_ms: to_ms(self.summary.opened_at),
            case_id: self.summary.case_id.to_string(),
        }
    }
}

fn date_opt(d: Option<time::Date>) -> Option<String> {
    d.map(date_string)
}

fn i64_of(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl CaseStore {
    /// The summaries stored and refused since start.
    pub fn summary_counts(&self) -> &SummaryCounts {
        &self.summary_counts
    }

    /// Writes the summary of `state` when this node is the case's origin, and queues it for
    /// the parent when there is one. Called by `append_in` for every stored event: one upsert
    /// (two with a parent).
    pub(super) async fn summarise(
        &self,
        conn: &mut AnyConnection,
        state: &CaseState,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        if self.me != Some(state.origin) {
            return Ok(());
        }
        let policy = self.policy.current();
        let mut summary = CaseSummary::from_state(state).dated(&policy.calendar);
        if let Some(agents) = &policy.agents {
            summary = summary.with_agent_from(state, agents);
        }
        self.upsert_summary(conn, &summary, now_ms).await?;
        Ok(())
    }

    /// Stores `summary` unless a summary of the same or a newer version is held, and queues it
    /// for the parent when this node has one. Whether it was stored.
    ///
    /// In the same transaction it keeps the `sum` digests (`store::digests`) of the summary's
    /// origin and day: a new case adds one summary, a newer version swaps the old hash for the
    /// new. INVARIANT: the old version is read with the row locked, so that two writers of one
    /// case never both swap out the same old hash. On SQLite the caller's transaction holds the
    /// write lock (`BEGIN IMMEDIATE`); on PostgreSQL the read is `FOR UPDATE`, and an insert
    /// that loses a race to a concurrent insert reads again once that one committed.
    async fn upsert_summary(
        &self,
        conn: &mut AnyConnection,
        summary: &CaseSummary,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let doc = serde_json::to_string(summary).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let case_id = summary.case_id.to_string();
        let version = i64_of(summary.version);
        let new_hash = super::digests::summary_hash(&case_id, version);
        let mut held = self.held_summary(conn, &case_id).await?;
        if held.is_none() {
            let origin = summary.origin.to_string();
            let day = super::digests::case_day(&summary.case_no);
            let inserted = sqlx::query(
                "INSERT INTO case_summaries (case_id, case_no, origin, holder, stage, item_code, \
                 item_name, opened_at, due_date, closed_at, last_event_at, visits, version, doc, \
                 updated_at, case_day) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, \
                 $13, $14, $15, $16) ON CONFLICT (case_id) DO NOTHING",
            )
            .bind(&case_id)
            .bind(summary.case_no.to_string())
            .bind(&origin)
            .bind(summary.holder.to_string())
            .bind(summary.stage.as_str())
            .bind(summary.item_code.clone())
            .bind(summary.item_name.clone())
            .bind(to_ms(summary.opened_at))
            .bind(date_opt(summary.due_date))
            .bind(summary.closed_at.map(to_ms))
            .bind(to_ms(summary.last_event_at))
            .bind(i64::from(summary.visits))
            .bind(version)
            .bind(&doc)
            .bind(now_ms)
            .bind(day)
            .execute(&mut *conn)
            .await?
            .rows_affected()
                > 0;
            if inserted {
                super::digests::add_to_scope(conn, "sum", &origin, day, 1, new_hash).await?;
                self.queue_summary(conn, &case_id, version, now_ms).await?;
                return Ok(true);
            }
            // Another transaction inserted it meanwhile (and has committed): update that row.
            held = self.held_summary(conn, &case_id).await?;
        }
        let Some(held) = held else {
            return Err(StoreError::Corrupt(format!(
                "summary of case {case_id} neither inserted nor held"
            )));
        };
        if held.version >= version {
            return Ok(false);
        }
        sqlx::query(
            "UPDATE case_summaries SET holder = $2, stage = $3, item_code = $4, item_name = $5, \
             due_date = $6, closed_at = $7, last_event_at = $8, visits = $9, version = $10, \
             doc = $11, updated_at = $12 WHERE case_id = $1",
        )
        .bind(&case_id)
        .bind(summary.holder.to_string())
        .bind(summary.stage.as_str())
        .bind(summary.item_code.clone())
        .bind(summary.item_name.clone())
        .bind(date_opt(summary.due_date))
        .bind(summary.closed_at.map(to_ms))
        .bind(to_ms(summary.last_event_at))
        .bind(i64::from(summary.visits))
        .bind(version)
        .bind(&doc)
        .bind(now_ms)
        .execute(&mut *conn)
        .await?;
        // The row keeps its origin and day (those of its first version), and so do its digests.
        let old_hash = super::digests::summary_hash(&case_id, held.version);
        super::digests::add_to_scope(
            conn,
            "sum",
            &held.origin,
            held.case_day,
            0,
            old_hash ^ new_hash,
        )
        .await?;
        self.queue_summary(conn, &case_id, version, now_ms).await?;
        Ok(true)
    }

    /// The version, origin and day of the summary of `case_id` held here, its row locked for
    /// the rest of the transaction on PostgreSQL (SQLite's write lock covers the database).
    async fn held_summary(
        &self,
        conn: &mut AnyConnection,
        case_id: &str,
    ) -> Result<Option<HeldSummary>, StoreError> {
        let sql = match self.db.backend() {
            crate::db::Backend::Sqlite => {
                "SELECT version, origin, case_day FROM case_summaries WHERE case_id = $1"
            }
            crate::db::Backend::Postgres => {
                "SELECT version, origin, case_day FROM case_summaries WHERE case_id = $1 \
                 FOR UPDATE"
            }
        };
        let row = sqlx::query(sql)
            .bind(case_id)
            .fetch_optional(&mut *conn)
            .await?;
        row.map(|r| {
            Ok(HeldSummary {
                version: r.try_get("version")?,
                origin: r.try_get("origin")?,
                case_day: r.try_get("case_day")?,
            })
        })
        .transpose()
    }

    /// Queues `version` of a stored summary for the parent, when this node has one. A newer
    /// version replaces the one still waiting; the first queuing time stays.
    async fn queue_summary(
        &self,
        conn: &mut AnyConnection,
        case_id: &str,
        version: i64,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        if self.uplink.is_none() {
            return Ok(());
        }
        sqlx::query(
            "INSERT INTO summary_outbox (case_id, version, enqueued_at) VALUES ($1, $2, $3) \
             ON CONFLICT (case_id) DO UPDATE SET version = excluded.version \
             WHERE summary_outbox.version < excluded.version",
        )
        .bind(case_id)
        .bind(version)
        .bind(now_ms)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    /// Queues again, for the parent, the summaries of `case_ids` held here that are not queued
    /// already (reconciliation found the parent lacking them, or holding another version).
    /// Returns those queued now; those already waiting are in transit.
    pub async fn requeue_summaries(
        &self,
        case_ids: &[String],
        now: OffsetDateTime,
    ) -> Result<Vec<String>, StoreError> {
        let mut queued = Vec::new();
        let mut tx = self.begin_summaries().await?;
        for case_id in case_ids {
            let n = sqlx::query(
                "INSERT INTO summary_outbox (case_id, version, enqueued_at) \
                 SELECT case_id, version, $2 FROM case_summaries WHERE case_id = $1 \
                 ON CONFLICT (case_id) DO NOTHING",
            )
            .bind(case_id)
            .bind(to_ms(now))
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n > 0 {
                queued.push(case_id.clone());
            }
        }
        tx.commit().await?;
        Ok(queued)
    }

    /// A transaction that writes summaries: on SQLite it takes the write lock first, so that
    /// reading a held version and writing the new one cannot fail half-way under WAL.
    async fn begin_summaries(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, StoreError> {
        Ok(match self.db.backend() {
            crate::db::Backend::Sqlite => self.db.pool().begin_with("BEGIN IMMEDIATE").await?,
            crate::db::Backend::Postgres => self.db.pool().begin().await?,
        })
    }

    /// Stores summaries a child sent, in one transaction: each replaces only an older version of
    /// itself, and what is stored is queued for this node's parent (the relay). The caller has
    /// checked that every summary belongs to the child's subtree.
    pub async fn store_summaries(
        &self,
        summaries: &[CaseSummary],
        now: OffsetDateTime,
    ) -> Result<SummaryOutcome, StoreError> {
        let now_ms = to_ms(now);
        let mut tx = self.begin_summaries().await?;
        let mut stored = 0u32;
        for summary in summaries {
            if self.upsert_summary(&mut tx, summary, now_ms).await? {
                stored += 1;
            }
        }
        tx.commit().await?;
        let total = u32::try_from(summaries.len()).unwrap_or(u32::MAX);
        let outcome = SummaryOutcome {
            stored,
            unchanged: total - stored,
        };
        self.summary_counts
            .stored
            .fetch_add(u64::from(outcome.stored), Ordering::Relaxed);
        self.summary_counts
            .unchanged
            .fetch_add(u64::from(outcome.unchanged), Ordering::Relaxed);
        Ok(outcome)
    }

    /// One summary, as held here.
    pub async fn summary(&self, case_id: CaseId) -> Result<Option<CaseSummary>, StoreError> {
        let row = sqlx::query("SELECT doc FROM case_summaries WHERE case_id = $1")
            .bind(case_id.to_string())
            .fetch_optional(self.db.pool())
            .await?;
        row.map(|r| parse_summary(&r.try_get::<String, _>("doc")?))
            .transpose()
    }

    /// Up to `limit` summaries waiting for the parent, oldest queued first, each in the version
    /// queued (the latest held).
    pub async fn summary_outbox_peek(&self, limit: u32) -> Result<Vec<CaseSummary>, StoreError> {
        let rows = sqlx::query(
            "SELECT s.doc AS doc FROM summary_outbox o \
             JOIN case_summaries s ON s.case_id = o.case_id \
             ORDER BY o.enqueued_at, o.case_id LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(self.db.pool())
        .await?;
        rows.iter()
            .map(|r| parse_summary(&r.try_get::<String, _>("doc")?))
            .collect()
    }

    /// Forgets the queued summaries the parent committed, each up to the version it got: a
    /// newer version queued meanwhile stays.
    pub async fn summary_outbox_ack(&self, acked: &[(CaseId, u64)]) -> Result<u64, StoreError> {
        let mut done = 0;
        let mut tx = self.db.pool().begin().await?;
        for (case_id, version) in acked {
            done += sqlx::query("DELETE FROM summary_outbox WHERE case_id = $1 AND version <= $2")
                .bind(case_id.to_string())
                .bind(i64_of(*version))
                .execute(&mut *tx)
                .await?
                .rows_affected();
        }
        tx.commit().await?;
        Ok(done)
    }

    /// How many summaries wait for the parent.
    pub async fn summary_outbox_len(&self) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM summary_outbox")
            .fetch_one(self.db.pool())
            .await?;
        Ok(row.try_get("n")?)
    }

    /// A page of summaries, newest first (by `opened_at`, then `case_id`), paged by keyset.
    pub async fn summaries(&self, filter: &SummaryFilter) -> Result<Vec<SummaryRow>, StoreError> {
        let backwards = matches!(filter.keyset, Some(Keyset::Before(_)));
        let order = if backwards { "ASC" } else { "DESC" };
        let limit = if filter.limit == 0 {
            50
        } else {
            filter.limit.min(500)
        };
        let mut values: Vec<Bind> = Vec::new();
        let mut bind = |v: Bind| {
            values.push(v);
            format!("${}", values.len())
        };
        let mut conds = Vec::new();
        if let Some(code) = &filter.subtree {
            conds.push(format!(
                "s.origin LIKE {}",
                bind(Bind::Text(subtree_pattern(code)))
            ));
        }
        if let Some(stage) = filter.stage {
            conds.push(format!(
                "s.stage = {}",
                bind(Bind::Text(stage.as_str().to_owned()))
            ));
        }
        if let Some(Keyset::After(at) | Keyset::Before(at)) = &filter.keyset {
            let op = if backwards { ">" } else { "<" };
            let ms = bind(Bind::Int(at.opened_at_ms));
            let id = bind(Bind::Text(at.case_id.clone()));
            conds.push(format!("(s.opened_at, s.case_id) {op} ({ms}, {id})"));
        }
        let limit = bind(Bind::Int(i64::from(limit)));
        let mut text = String::from(
            "SELECT s.doc AS doc, CAST(CASE WHEN c.case_id IS NULL THEN 0 ELSE 1 END AS BIGINT) AS held \
             FROM case_summaries s LEFT JOIN cases c ON c.case_id = s.case_id",
        );
        if !conds.is_empty() {
            text.push_str(" WHERE ");
            text.push_str(&conds.join(" AND "));
        }
        text.push_str(&format!(
            " ORDER BY s.opened_at {order}, s.case_id {order} LIMIT {limit}"
        ));
        // Built only from static fragments and placeholder numbers; every value is bound.
        let mut q = sqlx::query(sqlx::AssertSqlSafe(text));
        for value in values {
            q = match value {
                Bind::Text(t) => q.bind(t),
                Bind::Int(i) => q.bind(i),
            };
        }
        let rows = q.fetch_all(self.db.pool()).await?;
        let mut found = rows
            .iter()
            .map(|r| {
                Ok(SummaryRow {
                    summary: parse_summary(&r.try_get::<String, _>("doc")?)?,
                    held_here: r.try_get::<i64, _>("held")? != 0,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        if backwards {
            found.reverse();
        }
        Ok(found)
    }
}

/// What the upsert of a summary needs of the version held.
struct HeldSummary {
    version: i64,
    origin: String,
    case_day: i64,
}

enum Bind {
    Text(String),
    Int(i64),
}

fn parse_summary(doc: &str) -> Result<CaseSummary, StoreError> {
    serde_json::from_str(doc).map_err(|e| StoreError::Corrupt(format!("stored summary: {e}")))
}
