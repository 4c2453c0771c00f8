//! What reconciliation reads and writes in the store (the protocol is `crate::reconcile`): a
//! case's log with local positions, where the events a parent lacks stand (queued, set aside),
//! putting them back in the outbox in log order, storing what the parent gives back, and the
//! record of runs, repairs and a parent's requests.

use std::collections::HashSet;

use bangban_domain::event::{CaseId, Event, EventId};
use bangban_domain::station::StationCode;
use sqlx::Row;

use super::*;

/// An event of a case's log with its local position.
#[derive(Debug, Clone)]
pub struct LoggedEvent {
    pub seq: i64,
    pub event: Event,
}

/// One finished reconciliation, as recorded.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct RunRow {
    /// `parent` at a child (its own runs); the child's station code at a parent (its reports).
    pub peer: String,
    pub started_at_ms: i64,
    pub finished_at_ms: i64,
    pub ok: bool,
    pub requests: i64,
    /// Request and answer bodies, both ways.
    pub bytes: i64,
    pub cases_checked: i64,
    /// Events the parent lacked, queued for it again.
    pub sent_up: i64,
    /// Events this node lacked, stored from the parent.
    pub fetched_down: i64,
    /// Differences neither side can repair (an event refused, the parent lacks an event
    /// written above this node, or the parent holds a summary this node lacks).
    pub unrepairable: i64,
    /// Case summaries the parent lacked or held in another version, queued for it again (the
    /// summaries lane; absent in reports of children from before it).
    #[serde(default)]
    pub summaries_sent: i64,
    pub detail: String,
}

/// One discrepancy found by a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepairRow {
    /// Which comparison found it: events (`event_id` set) or summaries (no event).
    pub lane: super::digests::Lane,
    pub case_id: CaseId,
    pub event_id: Option<EventId>,
    /// `up`, `down` or `unrepairable`.
    pub direction: &'static str,
}

impl CaseStore {
    /// A case's log with local positions, oldest first, and its origin; `None` if not stored.
    pub async fn case_log(
        &self,
        case_id: CaseId,
    ) -> Result<Option<(StationCode, Vec<LoggedEvent>)>, StoreError> {
        let id = case_id.to_string();
        let Some(origin) = sqlx::query("SELECT origin FROM cases WHERE case_id = $1")
            .bind(&id)
            .fetch_optional(self.db.pool())
            .await?
        else {
            return Ok(None);
        };
        let origin: String = origin.try_get("origin")?;
        let origin = StationCode::parse(&origin)
            .map_err(|_| StoreError::Corrupt(format!("origin {origin} of case {id}")))?;
        let rows = sqlx::query("SELECT seq, doc FROM case_events WHERE case_id = $1 ORDER BY seq")
            .bind(&id)
            .fetch_all(self.db.pool())
            .await?;
        let events = seq_and_events(&rows)?
            .into_iter()
            .map(|(seq, event)| LoggedEvent { seq, event })
            .collect();
        Ok(Some((origin, events)))
    }

    /// Of `ids`, those waiting in the outbox and those set aside upward (dead letters that
    /// wait for a decision).
    pub async fn upward_state(
        &self,
        ids: &[EventId],
    ) -> Result<(HashSet<EventId>, HashSet<EventId>), StoreError> {
        let mut queued = HashSet::new();
        let mut dead = HashSet::new();
        for chunk in ids.chunks(300) {
            let placeholders: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let list = placeholders.join(", ");
            for (sql, into) in [
                (
                    format!("SELECT event_id FROM outbox WHERE event_id IN ({list})"),
                    &mut queued,
                ),
                (
                    format!(
                        "SELECT event_id FROM dead_letters WHERE direction = 'up' \
                         AND resolved_at IS NULL AND event_id IN ({list})"
                    ),
                    &mut dead,
                ),
            ] {
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                for id in chunk {
                    q = q.bind(id.to_string());
                }
                for r in q.fetch_all(self.db.pool()).await? {
                    let id: String = r.try_get("event_id")?;
                    if let Ok(id) = id.parse() {
                        into.insert(id);
                    }
                }
            }
        }
        Ok((queued, dead))
    }

    /// Queues again for the parent the events of one case it lacks, with those of the case
    /// already queued, all in log order: the parent needs a case's log from its beginning, so
    /// an event must never overtake an earlier one of its case. Returns how many rows are queued.
    pub async fn requeue_case(
        &self,
        case_id: CaseId,
        lacking: &[EventId],
        now: time::OffsetDateTime,
    ) -> Result<u64, StoreError> {
        let lacking: HashSet<String> = lacking.iter().map(ToString::to_string).collect();
        let mut tx = self.db.pool().begin().await?;
        let rows = sqlx::query(
            "SELECT e.event_id AS event_id, o.event_id AS queued FROM case_events e \
             LEFT JOIN outbox o ON o.event_id = e.event_id WHERE e.case_id = $1 ORDER BY e.seq",
        )
        .bind(case_id.to_string())
        .fetch_all(&mut *tx)
        .await?;
        let mut order = Vec::new();
        for r in &rows {
            let id: String = r.try_get("event_id")?;
            let queued: Option<String> = r.try_get("queued")?;
            if queued.is_some() || lacking.contains(&id) {
                order.push(id);
            }
        }
        let mut n = 0;
        for id in &order {
            sqlx::query("DELETE FROM outbox WHERE event_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        for id in &order {
            n += sqlx::query("INSERT INTO outbox (event_id, enqueued_at) VALUES ($1, $2)")
                .bind(id)
                .bind(to_ms(now))
                .execute(&mut *tx)
                .await?
                .rows_affected();
        }
        tx.commit().await?;
        self.changes.send_modify(|_| {});
        Ok(n)
    }

    /// Stores, in order, the events of one case that the parent gave back
    /// ([`Admission::Recovered`]). Returns the events refused, with why; the others are stored
    /// (or were already).
    pub async fn apply_recovered(
        &self,
        events: &[Event],
        now: time::OffsetDateTime,
    ) -> Result<Vec<(EventId, String)>, StoreError> {
        let mut refused = Vec::new();
        let mut stored = Vec::new();
        let mut tx = self.begin_append().await?;
        for ev in events {
            match tx.append(ev, Admission::Recovered, now).await {
                Ok(_) => stored.push(ev.event_id.to_string()),
                Err(e) if e.is_client_error() => refused.push((ev.event_id, e.to_string())),
                Err(e) => return Err(e),
            }
        }
        // The parent holds these: they need not go up again (storing them may have queued
        // them, as for any case held above), and their case is shared with it.
        for id in &stored {
            sqlx::query("DELETE FROM outbox WHERE event_id = $1")
                .bind(id)
                .execute(tx.conn())
                .await?;
        }
        let mut cases: Vec<String> = events.iter().map(|e| e.case_id.to_string()).collect();
        cases.dedup();
        if self.uplink.is_some() {
            for case_id in cases {
                let row = sqlx::query(
                    "UPDATE cases SET shared_up = 1 WHERE case_id = $1 AND shared_up = 0 \
                     RETURNING origin, case_day, ev_n, ev_x",
                )
                .bind(&case_id)
                .fetch_optional(tx.conn())
                .await?;
                if let Some(r) = row {
                    super::digests::add_to_scope(
                        tx.conn(),
                        "up",
                        &r.try_get::<String, _>("origin")?,
                        r.try_get("case_day")?,
                        r.try_get("ev_n")?,
                        r.try_get("ev_x")?,
                    )
                    .await?;
                }
            }
        }
        tx.commit().await?;
        Ok(refused)
    }

    /// Records a finished run and what it found.
    pub async fn record_run(&self, run: &RunRow, repairs: &[RepairRow]) -> Result<i64, StoreError> {
        let mut tx = self.db.pool().begin().await?;
        let id: i64 = sqlx::query(
            "INSERT INTO reconcile_runs (peer, started_at, finished_at, ok, requests, bytes, \
             cases_checked, sent_up, fetched_down, unrepairable, detail, summaries_sent) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
        )
        .bind(&run.peer)
        .bind(run.started_at_ms)
        .bind(run.finished_at_ms)
        .bind(i64::from(run.ok))
        .bind(run.requests)
        .bind(run.bytes)
        .bind(run.cases_checked)
        .bind(run.sent_up)
        .bind(run.fetched_down)
        .bind(run.unrepairable)
        .bind(&run.detail)
        .bind(run.summaries_sent)
        .fetch_one(&mut *tx)
        .await?
        .try_get("id")?;
        for r in repairs {
            sqlx::query(
                "INSERT INTO reconcile_repairs (run_id, case_id, event_id, direction, found_at, \
                 lane) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(id)
            .bind(r.case_id.to_string())
            .bind(r.event_id.map(|e| e.to_string()))
            .bind(r.direction)
            .bind(run.finished_at_ms)
            .bind(r.lane.as_str())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(id)
    }

    /// The last runs recorded for `peer` (all peers when `None`), newest first, with their ids.
    pub async fn reconcile_runs(
        &self,
        peer: Option<&str>,
        after_id: i64,
        limit: u32,
    ) -> Result<Vec<(i64, RunRow)>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, peer, started_at, finished_at, ok, requests, bytes, cases_checked, \
             sent_up, fetched_down, unrepairable, detail, summaries_sent FROM reconcile_runs \
             WHERE ($1 = '' OR peer = $1) AND id > $2 ORDER BY id DESC LIMIT $3",
        )
        .bind(peer.unwrap_or(""))
        .bind(after_id)
        .bind(i64::from(limit))
        .fetch_all(self.db.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("id")?,
                    RunRow {
                        peer: r.try_get("peer")?,
                        started_at_ms: r.try_get("started_at")?,
                        finished_at_ms: r.try_get("finished_at")?,
                        ok: r.try_get::<i64, _>("ok")? != 0,
                        requests: r.try_get("requests")?,
                        bytes: r.try_get("bytes")?,
                        cases_checked: r.try_get("cases_checked")?,
                        sent_up: r.try_get("sent_up")?,
                        fetched_down: r.try_get("fetched_down")?,
                        unrepairable: r.try_get("unrepairable")?,
                        summaries_sent: r.try_get("summaries_sent")?,
                        detail: r.try_get("detail")?,
                    },
                ))
            })
            .collect()
    }

    /// The discrepancies recorded by one run.
    pub async fn reconcile_repairs(&self, run_id: i64) -> Result<Vec<RepairRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT case_id, event_id, direction, lane FROM reconcile_repairs WHERE run_id = $1 \
             ORDER BY id",
        )
        .bind(run_id)
        .fetch_all(self.db.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let case_id: String = r.try_get("case_id")?;
                let event_id: Option<String> = r.try_get("event_id")?;
                let direction: String = r.try_get("direction")?;
                let lane: String = r.try_get("lane")?;
                Ok(RepairRow {
                    lane: if lane == "summaries" {
                        super::digests::Lane::Summaries
                    } else {
                        super::digests::Lane::Events
                    },
                    case_id: case_id
                        .parse()
                        .map_err(|_| StoreError::Corrupt(format!("case id {case_id}")))?,
                    event_id: event_id.and_then(|e| e.parse().ok()),
                    direction: match direction.as_str() {
                        "up" => "up",
                        "down" => "down",
                        _ => "unrepairable",
                    },
                })
            })
            .collect()
    }

    /// Asks `child` to reconcile at its next contact (kept until its report arrives).
    pub async fn request_reconcile(
        &self,
        child: StationCode,
        now: time::OffsetDateTime,
    ) -> Result<i64, StoreError> {
        let at = to_ms(now);
        sqlx::query(
            "INSERT INTO reconcile_requests (station, requested_at) VALUES ($1, $2) \
             ON CONFLICT (station) DO UPDATE SET requested_at = $2",
        )
        .bind(child.to_string())
        .bind(at)
        .execute(self.db.pool())
        .await?;
        Ok(at)
    }

    /// When `child` was asked to reconcile, if it still is.
    pub async fn reconcile_requested(&self, child: StationCode) -> Result<Option<i64>, StoreError> {
        let row = sqlx::query("SELECT requested_at FROM reconcile_requests WHERE station = $1")
            .bind(child.to_string())
            .fetch_optional(self.db.pool())
            .await?;
        Ok(match row {
            Some(r) => Some(r.try_get("requested_at")?),
            None => None,
        })
    }

    /// Forgets the request of `child` made at or before `up_to` (a later one stays).
    pub async fn clear_reconcile_request(
        &self,
        child: StationCode,
        up_to: i64,
    ) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM reconcile_requests WHERE station = $1 AND requested_at <= $2")
            .bind(child.to_string())
            .bind(up_to)
            .execute(self.db.pool())
            .await?;
        Ok(())
    }
}
