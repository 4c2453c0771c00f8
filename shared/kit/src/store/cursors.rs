//! What a child pulls: events after its cursor, and the cursor a pull saved here.

use bangban_domain::event::Event;
use bangban_domain::station::StationCode;
use sqlx::Row;

use super::*;

impl CaseStore {
    /// The saved position of a pull from `peer` (0 when never pulled).
    pub async fn cursor(&self, peer: &str) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT position FROM cursors WHERE peer = $1")
            .bind(peer)
            .fetch_optional(self.db.pool())
            .await?;
        Ok(match row {
            Some(r) => r.try_get("position")?,
            None => 0,
        })
    }

    /// Events stored here after local position `after`, of cases that originated in `subtree`,
    /// and not written inside `subtree` (the child has those already): what a child pulls.
    pub async fn events_for_subtree(
        &self,
        subtree: StationCode,
        after: i64,
        limit: u32,
    ) -> Result<Vec<(i64, Event)>, StoreError> {
        let pattern = subtree_pattern(&subtree);
        let rows = sqlx::query(
            "SELECT e.seq AS seq, e.doc AS doc FROM case_events e \
             JOIN cases c ON c.case_id = e.case_id \
             WHERE e.seq > $1 AND c.origin LIKE $2 AND e.author NOT LIKE $2 \
             ORDER BY e.seq LIMIT $3",
        )
        .bind(after)
        .bind(pattern)
        .bind(i64::from(limit))
        .fetch_all(self.db.pool())
        .await?;
        seq_and_events(&rows)
    }

    /// The highest local sequence number stored (0 when empty).
    pub async fn last_seq(&self) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT COALESCE(MAX(seq), 0) AS n FROM case_events")
            .fetch_one(self.db.pool())
            .await?;
        Ok(row.try_get("n")?)
    }
}
