//! The `alerts` and `child_links` tables, and the reads of the case tables the alert jobs need.
//! Portable SQL over `sqlx::Any`, as the case store. Never changes a case.

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;
use uuid::Uuid;

use super::AlertKind;
use crate::db::Db;
use crate::store::StoreError;

/// One alert, as the API and the start page read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Alert {
    /// The alert's id (UUID).
    pub id: String,
    pub kind: AlertKind,
    /// The case, for deadline alerts and for an escalation stuck at this node.
    pub case_id: Option<String>,
    pub case_no: Option<String>,
    /// The station concerned: the case's holder, this node for its own stuck escalation, or the
    /// child a link alarm is about.
    pub centre: String,
    /// The case's due date (`YYYY-MM-DD`), for deadline alerts.
    pub due_date: Option<String>,
    /// Link alarms: since when (unix milliseconds): the escalation was queued, the child's
    /// oldest queued record, or its last contact.
    pub since_ms: Option<i64>,
    /// What was found, in English (the page words it from the other fields).
    pub detail: String,
    pub raised_at_ms: i64,
    /// When its cause went (`None`: still open).
    pub cleared_at_ms: Option<i64>,
    pub acked_at_ms: Option<i64>,
    /// The username of who acknowledged it.
    pub acked_by: Option<String>,
}

/// An alert a job wants open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAlert {
    pub kind: AlertKind,
    pub case_id: Option<String>,
    pub case_no: Option<String>,
    pub centre: String,
    pub due_date: Option<String>,
    pub since_ms: Option<i64>,
    pub detail: String,
}

impl NewAlert {
    /// What the alert is about: its case, or else its station.
    pub fn subject(&self) -> &str {
        self.case_id.as_deref().unwrap_or(&self.centre)
    }
}

/// Which open alerts of a kind a job owns: those about a case, or those about a station.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Cases,
    Stations,
}

/// What one [`AlertStore::reconcile`] changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reconciled {
    pub raised: u64,
    pub cleared: u64,
    /// Open alerts wanted, those raised now included.
    pub open: u64,
}

impl std::ops::AddAssign for Reconciled {
    fn add_assign(&mut self, other: Reconciled) {
        self.raised += other.raised;
        self.cleared += other.cleared;
        self.open += other.open;
    }
}

/// An open case with a running clock, as the deadline scan reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueRow {
    pub case_id: String,
    pub case_no: String,
    pub holder: String,
    /// `YYYY-MM-DD`.
    pub due_date: String,
    pub stage: String,
}

/// What a child reports of its outbox with each pull (headers `bangban-outbox-len`,
/// `bangban-outbox-oldest-ms`, `bangban-stuck-escalations`); `None`: not reported.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboxReport {
    /// Events waiting for the parent.
    pub len: Option<i64>,
    /// When the oldest of them was queued (unix milliseconds).
    pub oldest_ms: Option<i64>,
    /// Escalation events among them queued longer than the child's transit alarm.
    pub stuck_escalations: Option<i64>,
}

/// A direct child's last pull, and what it reported then.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildLink {
    pub station: String,
    pub last_contact_ms: i64,
    pub report: OutboxReport,
}

/// An escalation event waiting in this node's outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StuckEscalation {
    pub case_id: String,
    pub case_no: String,
    pub enqueued_at_ms: i64,
}

/// The queries that list open cases with a running clock due by `$1`, each as
/// `(case_id, case_no, holder, due_date, stage)`. The deadline scan reads them all, the first
/// row of a case winning: a second source (e.g. summaries of cases not held here) is one more
/// query here.
// INVARIANT: the `cases` query repeats the WHERE terms of the partial index `cases_open_due`.
const DUE_SOURCES: &[&str] = &[
    "SELECT case_id, case_no, holder, due_date, stage FROM cases \
     WHERE stage NOT IN ('completed', 'terminated') AND due_date IS NOT NULL \
     AND suspended = 0 AND due_date <= $1 ORDER BY due_date, case_id",
];

const ALERT_COLUMNS: &str = "id, kind, case_id, case_no, centre, due_date, since_ms, detail, \
                             raised_at, cleared_at, acked_at, acked_by";

/// The alerts of one node's database.
#[derive(Clone)]
pub struct AlertStore {
    db: Db,
}

fn alert_of(row: &AnyRow) -> Result<Alert, StoreError> {
    let kind: String = row.try_get("kind")?;
    Ok(Alert {
        id: row.try_get("id")?,
        kind: AlertKind::parse(&kind)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown alert kind `{kind}`")))?,
        case_id: row.try_get("case_id")?,
        case_no: row.try_get("case_no")?,
        centre: row.try_get("centre")?,
        due_date: row.try_get("due_date")?,
        since_ms: row.try_get("since_ms")?,
        detail: row.try_get("detail")?,
        raised_at_ms: row.try_get("raised_at")?,
        cleared_at_ms: row.try_get("cleared_at")?,
        acked_at_ms: row.try_get("acked_at")?,
        acked_by: row.try_get("acked_by")?,
    })
}

impl AlertStore {
    pub fn new(db: Db) -> AlertStore {
        AlertStore { db }
    }

    /// Makes the open alerts of `kind` in `scope` exactly `wanted`: each wanted alert not open
    /// yet is raised; each open one no longer wanted, or wanted with another due date (the due
    /// date moved), is cleared first (and raised anew when still wanted). An alert that is
    /// already open stays as it is, acknowledgement included.
    pub async fn reconcile(
        &self,
        kind: AlertKind,
        scope: Scope,
        wanted: &[NewAlert],
        now_ms: i64,
    ) -> Result<Reconciled, StoreError> {
        let mut tx = self.db.pool().begin().await?;
        let open = sqlx::query(match scope {
            Scope::Cases => {
                "SELECT id, subject, due_date FROM alerts \
                 WHERE kind = $1 AND cleared_at IS NULL AND case_id IS NOT NULL"
            }
            Scope::Stations => {
                "SELECT id, subject, due_date FROM alerts \
                 WHERE kind = $1 AND cleared_at IS NULL AND case_id IS NULL"
            }
        })
        .bind(kind.as_str())
        .fetch_all(&mut *tx)
        .await?;
        let by_subject: HashMap<&str, &NewAlert> = wanted
            .iter()
            .filter(|a| a.kind == kind && (a.case_id.is_some() == (scope == Scope::Cases)))
            .map(|a| (a.subject(), a))
            .collect();
        let mut done = Reconciled {
            open: u64::try_from(by_subject.len()).unwrap_or(u64::MAX),
            ..Reconciled::default()
        };
        let mut kept: HashSet<String> = HashSet::new();
        for row in &open {
            let id: String = row.try_get("id")?;
            let subject: String = row.try_get("subject")?;
            let due: Option<String> = row.try_get("due_date")?;
            match by_subject.get(subject.as_str()) {
                Some(a) if a.due_date == due => {
                    kept.insert(subject);
                }
                _ => {
                    done.cleared += sqlx::query(
                        "UPDATE alerts SET cleared_at = $1 WHERE id = $2 AND cleared_at IS NULL",
                    )
                    .bind(now_ms)
                    .bind(&id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                }
            }
        }
        for (subject, a) in &by_subject {
            if kept.contains(*subject) {
                continue;
            }
            done.raised += sqlx::query(
                "INSERT INTO alerts (id, kind, subject, case_id, case_no, centre, due_date, \
                 since_ms, detail, raised_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
                 ON CONFLICT (kind, subject) WHERE cleared_at IS NULL DO NOTHING",
            )
            .bind(Uuid::now_v7().to_string())
            .bind(kind.as_str())
            .bind(*subject)
            .bind(a.case_id.clone())
            .bind(a.case_no.clone())
            .bind(&a.centre)
            .bind(a.due_date.clone())
            .bind(a.since_ms)
            .bind(&a.detail)
            .bind(now_ms)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        }
        tx.commit().await?;
        Ok(done)
    }

    /// Open alerts, newest first, at most `limit`.
    pub async fn open(&self, limit: u32) -> Result<Vec<Alert>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ALERT_COLUMNS} FROM alerts WHERE cleared_at IS NULL \
             ORDER BY raised_at DESC, id DESC LIMIT $1"
        )))
        .bind(i64::from(limit))
        .fetch_all(self.db.pool())
        .await?;
        rows.iter().map(alert_of).collect()
    }

    /// One alert, open or cleared.
    pub async fn get(&self, id: Uuid) -> Result<Option<Alert>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ALERT_COLUMNS} FROM alerts WHERE id = $1"
        )))
        .bind(id.to_string())
        .fetch_optional(self.db.pool())
        .await?;
        row.as_ref().map(alert_of).transpose()
    }

    /// Records that `by` acknowledged the alert (the first acknowledgement stays); `None` when
    /// there is no such alert.
    pub async fn ack(&self, id: Uuid, by: &str, now_ms: i64) -> Result<Option<Alert>, StoreError> {
        sqlx::query(
            "UPDATE alerts SET acked_at = $1, acked_by = $2 WHERE id = $3 AND acked_at IS NULL",
        )
        .bind(now_ms)
        .bind(by)
        .bind(id.to_string())
        .execute(self.db.pool())
        .await?;
        self.get(id).await
    }

    /// Open alerts by kind (kinds without one are absent).
    pub async fn open_counts(&self) -> Result<Vec<(String, i64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT kind, COUNT(*) AS n FROM alerts WHERE cleared_at IS NULL GROUP BY kind",
        )
        .fetch_all(self.db.pool())
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("kind")?, r.try_get("n")?)))
            .collect()
    }

    /// Removes alerts cleared before `before_ms`.
    pub async fn purge_cleared(&self, before_ms: i64) -> Result<u64, StoreError> {
        Ok(
            sqlx::query("DELETE FROM alerts WHERE cleared_at IS NOT NULL AND cleared_at < $1")
                .bind(before_ms)
                .execute(self.db.pool())
                .await?
                .rows_affected(),
        )
    }

    /// Open cases with a running clock due on or before `by` (`YYYY-MM-DD`), from every
    /// source of [`DUE_SOURCES`], each case once.
    pub async fn due_rows(&self, by: &str) -> Result<Vec<DueRow>, StoreError> {
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for sql in DUE_SOURCES {
            let rows = sqlx::query(sqlx::AssertSqlSafe(*sql))
                .bind(by)
                .fetch_all(self.db.pool())
                .await?;
            for r in &rows {
                let row = DueRow {
                    case_id: r.try_get("case_id")?,
                    case_no: r.try_get("case_no")?,
                    holder: r.try_get("holder")?,
                    due_date: r.try_get("due_date")?,
                    stage: r.try_get("stage")?,
                };
                if seen.insert(row.case_id.clone()) {
                    out.push(row);
                }
            }
        }
        Ok(out)
    }

    /// Escalation events queued for the parent before `before_ms` and still waiting, the
    /// oldest of each case.
    pub async fn stuck_escalations(
        &self,
        before_ms: i64,
    ) -> Result<Vec<StuckEscalation>, StoreError> {
        let rows = sqlx::query(
            "SELECT e.case_id AS case_id, c.case_no AS case_no, o.enqueued_at AS enqueued_at \
             FROM outbox o JOIN case_events e ON e.event_id = o.event_id \
             JOIN cases c ON c.case_id = e.case_id \
             WHERE e.kind = 'escalated' AND o.enqueued_at < $1 ORDER BY o.seq",
        )
        .bind(before_ms)
        .fetch_all(self.db.pool())
        .await?;
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for r in &rows {
            let stuck = StuckEscalation {
                case_id: r.try_get("case_id")?,
                case_no: r.try_get("case_no")?,
                enqueued_at_ms: r.try_get("enqueued_at")?,
            };
            if seen.insert(stuck.case_id.clone()) {
                out.push(stuck);
            }
        }
        Ok(out)
    }

    /// What this node reports of its outbox to its parent: escalations queued before
    /// `stuck_before_ms` count as stuck.
    pub async fn outbox_report(&self, stuck_before_ms: i64) -> Result<OutboxReport, StoreError> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n, MIN(o.enqueued_at) AS oldest, \
             COALESCE(SUM(CASE WHEN e.kind = 'escalated' AND o.enqueued_at < $1 \
             THEN 1 ELSE 0 END), 0) AS stuck \
             FROM outbox o JOIN case_events e ON e.event_id = o.event_id",
        )
        .bind(stuck_before_ms)
        .fetch_one(self.db.pool())
        .await?;
        Ok(OutboxReport {
            len: Some(row.try_get("n")?),
            oldest_ms: row.try_get("oldest")?,
            stuck_escalations: Some(row.try_get("stuck")?),
        })
    }

    /// Records a direct child's pull at `now_ms` with what it reported (a field not reported is
    /// stored as unknown: the report is a snapshot).
    pub async fn record_contact(
        &self,
        station: &str,
        now_ms: i64,
        report: &OutboxReport,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO child_links (station, last_contact_ms, outbox_len, outbox_oldest_ms, \
             stuck_escalations) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (station) DO UPDATE SET last_contact_ms = excluded.last_contact_ms, \
             outbox_len = excluded.outbox_len, outbox_oldest_ms = excluded.outbox_oldest_ms, \
             stuck_escalations = excluded.stuck_escalations",
        )
        .bind(station)
        .bind(now_ms)
        .bind(report.len)
        .bind(report.oldest_ms)
        .bind(report.stuck_escalations)
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    /// Every child that ever pulled, by station code.
    pub async fn child_links(&self) -> Result<Vec<ChildLink>, StoreError> {
        let rows = sqlx::query(
            "SELECT station, last_contact_ms, outbox_len, outbox_oldest_ms, stuck_escalations \
             FROM child_links ORDER BY station",
        )
        .fetch_all(self.db.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ChildLink {
                    station: r.try_get("station")?,
                    last_contact_ms: r.try_get("last_contact_ms")?,
                    report: OutboxReport {
                        len: r.try_get("outbox_len")?,
                        oldest_ms: r.try_get("outbox_oldest_ms")?,
                        stuck_escalations: r.try_get("stuck_escalations")?,
                    },
                })
            })
            .collect()
    }
}
