//! Dead letters: events set aside so that one bad event does not stop a link.
//!
//! - Up: an event the parent refuses with a permanent error (4xx naming the event) is retried a
//!   few times (`outbox.attempts`), then moved here; the events queued behind it flow on.
//! - Down: a pulled event this node's store refuses is set aside here in the same transaction
//!   that stores the rest of the page and moves the cursor; the downward link keeps flowing.
//!
//! Nothing is dropped silently: each dead letter keeps the whole event and the refusal, shows in
//! `/readyz` and `/metrics`, and waits for a person to retry it (after fixing the cause) or to
//! discard it with a written reason (`station-node dead-letters …`).

use bangban_domain::event::{Event, EventId};
use sqlx::{AnyConnection, Row};
use time::OffsetDateTime;

use super::{Admission, Appended, CaseStore, StoreError, parse_doc, to_ms};

/// Which link a dead letter was refused on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Pushed to the parent, which refused it.
    Up,
    /// Pulled from the parent, refused here.
    Down,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Up => "up",
            Direction::Down => "down",
        }
    }

    fn parse(s: &str) -> Result<Direction, StoreError> {
        match s {
            "up" => Ok(Direction::Up),
            "down" => Ok(Direction::Down),
            other => Err(StoreError::Corrupt(format!(
                "dead letter direction {other}"
            ))),
        }
    }
}

/// One event set aside, with why.
#[derive(Debug, Clone)]
pub struct DeadLetter {
    pub id: i64,
    pub direction: Direction,
    pub event: Event,
    /// The refusal's stable code (e.g. `case.transition`).
    pub code: String,
    pub reason: String,
    pub attempts: i64,
    pub created_at_ms: i64,
    pub resolved_at_ms: Option<i64>,
    /// `retried` or `discarded`, once resolved.
    pub resolution: Option<String>,
    /// Why it was discarded.
    pub note: Option<String>,
}

/// Dead letters still waiting for a decision, per direction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeadLetterCounts {
    pub up: i64,
    pub down: i64,
}

impl DeadLetterCounts {
    pub fn total(&self) -> i64 {
        self.up + self.down
    }
}

/// What storing a pulled page did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PullApplied {
    pub stored: usize,
    pub duplicates: usize,
    /// Events refused here and set aside as dead letters.
    pub set_aside: usize,
}

/// Why a dead letter cannot be retried or discarded.
#[derive(Debug, thiserror::Error)]
pub enum DeadLetterError {
    #[error("no dead letter {0}")]
    Unknown(i64),
    #[error("dead letter {id} was already {resolution}")]
    Resolved { id: i64, resolution: String },
    #[error("say why the event is discarded (a note is required)")]
    NoteRequired,
    #[error("the event is still refused: {0}")]
    StillRefused(StoreError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for DeadLetterError {
    fn from(e: sqlx::Error) -> Self {
        DeadLetterError::Store(StoreError::Db(e))
    }
}

const COLUMNS: &str = "id, direction, doc, code, reason, attempts, created_at, resolved_at, \
                       resolution, note";

impl CaseStore {
    /// Records that the parent refused a queued event; returns how often it has been refused.
    pub async fn outbox_refused(&self, event: EventId, error: &str) -> Result<i64, StoreError> {
        let row = sqlx::query(
            "UPDATE outbox SET attempts = attempts + 1, last_error = $2 WHERE event_id = $1 \
             RETURNING attempts",
        )
        .bind(event.to_string())
        .bind(truncate(error))
        .fetch_optional(self.db.pool())
        .await?;
        Ok(match row {
            Some(r) => r.try_get("attempts")?,
            None => 0,
        })
    }

    /// Moves a queued event that the parent refused for good from the outbox to the dead
    /// letters, in one transaction. `false` when it was not queued (any more).
    pub async fn outbox_dead_letter(
        &self,
        event: EventId,
        code: &str,
        reason: &str,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let Some(row) = sqlx::query(
            "SELECT o.attempts AS attempts, e.doc AS doc FROM outbox o \
             JOIN case_events e ON e.event_id = o.event_id WHERE o.event_id = $1",
        )
        .bind(event.to_string())
        .fetch_optional(&mut *tx)
        .await?
        else {
            return Ok(false);
        };
        let ev = parse_doc(&row.try_get::<String, _>("doc")?)?;
        let attempts: i64 = row.try_get("attempts")?;
        insert(&mut tx, Direction::Up, &ev, code, reason, attempts, now).await?;
        sqlx::query("DELETE FROM outbox WHERE event_id = $1")
            .bind(event.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        tracing::warn!(event_id = %event, case_id = %ev.case_id, code, reason, "event refused by the parent set aside as a dead letter");
        Ok(true)
    }

    /// Stores a page pulled from the parent with its cursor, in one transaction. An event the
    /// store refuses (a client error: the state machine, the subtree, a forged author, the
    /// clock) is set aside as a dead letter in the same transaction instead of refusing the
    /// page, so that the link keeps flowing. A database failure still refuses the whole page.
    pub async fn apply_pulled(
        &self,
        events: &[Event],
        cursor: (&str, i64),
        now: OffsetDateTime,
    ) -> Result<PullApplied, StoreError> {
        let mut tx = self.begin_append().await?;
        tx.note_absent(events).await?;
        let mut applied = PullApplied::default();
        for ev in events {
            match tx.append(ev, Admission::FromParent, now).await {
                Ok(Appended::Stored { .. }) => applied.stored += 1,
                Ok(Appended::Duplicate) => applied.duplicates += 1,
                Err(e) if e.is_client_error() => {
                    use bangban_domain::Bilingual;
                    tracing::warn!(event_id = %ev.event_id, case_id = %ev.case_id, error = %e, "event pulled from the parent refused; set aside as a dead letter");
                    insert(
                        tx.conn(),
                        Direction::Down,
                        ev,
                        e.code(),
                        &e.to_string(),
                        1,
                        now,
                    )
                    .await?;
                    applied.set_aside += 1;
                }
                Err(e) => return Err(e),
            }
        }
        tx.save_cursor(cursor.0, cursor.1, now).await?;
        tx.commit().await?;
        Ok(applied)
    }

    /// Dead letters, oldest first; only those waiting for a decision unless `all`.
    pub async fn dead_letters(&self, all: bool, limit: u32) -> Result<Vec<DeadLetter>, StoreError> {
        let sql = if all {
            format!("SELECT {COLUMNS} FROM dead_letters ORDER BY id LIMIT $1")
        } else {
            format!(
                "SELECT {COLUMNS} FROM dead_letters WHERE resolved_at IS NULL ORDER BY id LIMIT $1"
            )
        };
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(i64::from(limit))
            .fetch_all(self.db.pool())
            .await?;
        rows.iter().map(from_row).collect()
    }

    /// One dead letter.
    pub async fn dead_letter(&self, id: i64) -> Result<Option<DeadLetter>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM dead_letters WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(self.db.pool())
            .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// How many dead letters wait for a decision.
    pub async fn dead_letter_counts(&self) -> Result<DeadLetterCounts, StoreError> {
        let rows = sqlx::query(
            "SELECT direction, COUNT(*) AS n FROM dead_letters WHERE resolved_at IS NULL \
             GROUP BY direction",
        )
        .fetch_all(self.db.pool())
        .await?;
        let mut counts = DeadLetterCounts::default();
        for r in &rows {
            let n: i64 = r.try_get("n")?;
            match Direction::parse(&r.try_get::<String, _>("direction")?)? {
                Direction::Up => counts.up = n,
                Direction::Down => counts.down = n,
            }
        }
        Ok(counts)
    }

    /// Tries a dead letter again, once its cause is fixed: an upward one goes back into the
    /// outbox (the forwarder sends it next); a downward one is stored now, or stays a dead letter
    /// with the store's refusal.
    pub async fn retry_dead_letter(
        &self,
        id: i64,
        now: OffsetDateTime,
    ) -> Result<DeadLetter, DeadLetterError> {
        let letter = self.open_dead_letter(id).await?;
        let mut tx = self.begin_append().await?;
        match letter.direction {
            Direction::Up => {
                sqlx::query(
                    "INSERT INTO outbox (event_id, enqueued_at) VALUES ($1, $2) \
                     ON CONFLICT (event_id) DO NOTHING",
                )
                .bind(letter.event.event_id.to_string())
                .bind(to_ms(now))
                .execute(tx.conn())
                .await?;
            }
            Direction::Down => match tx.append(&letter.event, Admission::FromParent, now).await {
                Ok(_) => {}
                Err(e) if e.is_client_error() => return Err(DeadLetterError::StillRefused(e)),
                Err(e) => return Err(e.into()),
            },
        }
        resolve(tx.conn(), id, "retried", None, now).await?;
        tx.commit().await?;
        // Wake the forwarder for an upward retry.
        self.changes.send_modify(|_| {});
        tracing::info!(id, event_id = %letter.event.event_id, direction = letter.direction.as_str(), "dead letter retried");
        Ok(self.open_or_resolved(id).await?)
    }

    /// Gives up on a dead letter for good, with a written reason.
    pub async fn discard_dead_letter(
        &self,
        id: i64,
        note: &str,
        now: OffsetDateTime,
    ) -> Result<DeadLetter, DeadLetterError> {
        let note = note.trim();
        if note.is_empty() {
            return Err(DeadLetterError::NoteRequired);
        }
        let letter = self.open_dead_letter(id).await?;
        let mut tx = self.db.pool().begin().await?;
        resolve(&mut tx, id, "discarded", Some(note), now).await?;
        tx.commit().await?;
        tracing::warn!(id, event_id = %letter.event.event_id, note, "dead letter discarded");
        Ok(self.open_or_resolved(id).await?)
    }

    async fn open_dead_letter(&self, id: i64) -> Result<DeadLetter, DeadLetterError> {
        let letter = self
            .dead_letter(id)
            .await?
            .ok_or(DeadLetterError::Unknown(id))?;
        if let Some(resolution) = letter.resolution.clone() {
            return Err(DeadLetterError::Resolved { id, resolution });
        }
        Ok(letter)
    }

    async fn open_or_resolved(&self, id: i64) -> Result<DeadLetter, StoreError> {
        self.dead_letter(id)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("dead letter {id} vanished")))
    }
}

async fn insert(
    conn: &mut AnyConnection,
    direction: Direction,
    ev: &Event,
    code: &str,
    reason: &str,
    attempts: i64,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    let doc = serde_json::to_string(ev).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    sqlx::query(
        "INSERT INTO dead_letters (direction, event_id, case_id, kind, doc, code, reason, \
         attempts, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(direction.as_str())
    .bind(ev.event_id.to_string())
    .bind(ev.case_id.to_string())
    .bind(ev.kind().as_str())
    .bind(doc)
    .bind(code)
    .bind(truncate(reason))
    .bind(attempts)
    .bind(to_ms(now))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn resolve(
    conn: &mut AnyConnection,
    id: i64,
    resolution: &str,
    note: Option<&str>,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE dead_letters SET resolved_at = $2, resolution = $3, note = $4 \
         WHERE id = $1 AND resolved_at IS NULL",
    )
    .bind(id)
    .bind(to_ms(now))
    .bind(resolution)
    .bind(note.map(str::to_owned))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

fn from_row(r: &sqlx::any::AnyRow) -> Result<DeadLetter, StoreError> {
    Ok(DeadLetter {
        id: r.try_get("id")?,
        direction: Direction::parse(&r.try_get::<String, _>("direction")?)?,
        event: parse_doc(&r.try_get::<String, _>("doc")?)?,
        code: r.try_get("code")?,
        reason: r.try_get("reason")?,
        attempts: r.try_get("attempts")?,
        created_at_ms: r.try_get("created_at")?,
        resolved_at_ms: r.try_get("resolved_at")?,
        resolution: r.try_get("resolution")?,
        note: r.try_get("note")?,
    })
}

/// Errors are kept for operators, not as evidence: a bounded length is enough.
fn truncate(s: &str) -> String {
    s.chars().take(1000).collect()
}
