//! The outbox: events queued for the parent in the transaction that stores them, until the
//! parent acknowledges them.

use bangban_domain::case::CaseState;
use bangban_domain::event::{Event, EventId};
use sqlx::{AnyConnection, Row};

use super::*;

/// An event waiting in the outbox for the parent.
#[derive(Debug, Clone)]
pub struct Queued {
    /// Its position in the outbox.
    pub seq: i64,
    /// How often the parent refused it so far.
    pub attempts: i64,
    pub event: Event,
}

impl CaseStore {
    /// Queues events for the parent. A case is shared upward from the moment its holder is above
    /// this node; then its whole log so far goes up, and every later event written in this
    /// node's subtree follows. Events that came from above are never sent back up. `known`: the
    /// case's `shared_up` when the caller knows it; the event's time (unix ms), its case's day
    /// and its hash for the digests. Returns whether the case is shared now.
    pub(super) async fn queue_upward(
        &self,
        conn: &mut AnyConnection,
        ev: &Event,
        state: &CaseState,
        (is_new, known): (bool, Option<bool>),
        (now_ms, day, hash): (i64, i64, i64),
        deferred: &mut super::append::Deferred,
    ) -> Result<bool, StoreError> {
        let Some(me) = self.uplink else {
            return Ok(false);
        };
        let case_id = ev.case_id.to_string();
        let shared: i64 = if is_new {
            0
        } else if let Some(known) = known {
            i64::from(known)
        } else {
            sqlx::query("SELECT shared_up FROM cases WHERE case_id = $1")
                .bind(&case_id)
                .fetch_one(&mut *conn)
                .await?
                .try_get("shared_up")?
        };
        let origin = state.origin.to_string();
        if shared != 0 {
            // Every event of a shared case counts in what the parent should hold, wherever it
            // was written (see `digests`).
            deferred.digest("up", &origin, day, 1, hash);
            if me.is_same_or_ancestor_of(&ev.author) {
                sqlx::query(
                    "INSERT INTO outbox (event_id, enqueued_at) VALUES ($1, $2) \
                     ON CONFLICT (event_id) DO NOTHING",
                )
                .bind(ev.event_id.to_string())
                .bind(now_ms)
                .execute(&mut *conn)
                .await?;
            }
        } else if state.holder.tier() > me.tier() {
            let row = sqlx::query(
                "UPDATE cases SET shared_up = 1 WHERE case_id = $1 RETURNING ev_n, ev_x",
            )
            .bind(&case_id)
            .fetch_one(&mut *conn)
            .await?;
            // The whole log so far (this event included) now counts in what the parent holds.
            deferred.digest(
                "up",
                &origin,
                day,
                row.try_get("ev_n")?,
                row.try_get("ev_x")?,
            );
            sqlx::query(
                "INSERT INTO outbox (event_id, enqueued_at) \
                 SELECT event_id, $2 FROM case_events WHERE case_id = $1 ORDER BY seq \
                 ON CONFLICT (event_id) DO NOTHING",
            )
            .bind(&case_id)
            .bind(now_ms)
            .execute(&mut *conn)
            .await?;
            return Ok(true);
        }
        Ok(shared != 0)
    }

    /// Up to `limit` queued events for the parent, oldest first.
    pub async fn outbox_peek(&self, limit: u32) -> Result<Vec<Queued>, StoreError> {
        let rows = sqlx::query(
            "SELECT o.seq AS seq, o.attempts AS attempts, e.doc AS doc FROM outbox o \
             JOIN case_events e ON e.event_id = o.event_id ORDER BY o.seq LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(self.db.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Queued {
                    seq: r.try_get("seq")?,
                    attempts: r.try_get("attempts")?,
                    event: parse_doc(&r.try_get::<String, _>("doc")?)?,
                })
            })
            .collect()
    }

    /// Forgets the queued events the parent committed. Exactly these rows go: never "everything
    /// up to a position", which could take a row that was queued meanwhile.
    pub async fn outbox_ack(&self, events: &[EventId]) -> Result<u64, StoreError> {
        let mut done = 0;
        let mut tx = self.db.pool().begin().await?;
        for chunk in events.chunks(200) {
            let placeholders: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "DELETE FROM outbox WHERE event_id IN ({})",
                placeholders.join(", ")
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for id in chunk {
                q = q.bind(id.to_string());
            }
            done += q.execute(&mut *tx).await?.rows_affected();
        }
        tx.commit().await?;
        Ok(done)
    }

    /// When the oldest event still waiting for the parent was queued (unix milliseconds), if
    /// any waits: how long the station has been cut off, as far as the parent is concerned.
    pub async fn outbox_oldest_ms(&self) -> Result<Option<i64>, StoreError> {
        let row = sqlx::query("SELECT MIN(enqueued_at) AS oldest FROM outbox")
            .fetch_one(self.db.pool())
            .await?;
        Ok(row.try_get("oldest")?)
    }

    /// How many events wait for the parent.
    pub async fn outbox_len(&self) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM outbox")
            .fetch_one(self.db.pool())
            .await?;
        Ok(row.try_get("n")?)
    }
}
