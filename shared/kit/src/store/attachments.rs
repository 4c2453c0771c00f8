//! The `attachments` table: the projection of a case's `attachment_added` events, written in
//! the transaction that stores the event, so every node that has the log has the rows. The same
//! file on one case is one row (a replay or a second upload changes nothing).

use bangban_domain::attachment::{ContentHash, MediaType};
use bangban_domain::event::{CaseId, Event, EventBody};
use sqlx::{AnyConnection, Row};

use super::*;

/// One attachment of a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentRow {
    pub case_id: CaseId,
    pub sha256: ContentHash,
    pub media_type: MediaType,
    pub size: u64,
    pub file_name: String,
    pub material: Option<String>,
    /// The station where it was uploaded.
    pub station: StationCode,
    /// The account that uploaded it.
    pub uploaded_by: Option<String>,
    pub uploaded_at: OffsetDateTime,
    pub stripped: bool,
}

const COLUMNS: &str = "case_id, sha256, media_type, size, file_name, material, station, \
                       uploaded_by, uploaded_at, stripped";

fn row(r: &sqlx::any::AnyRow) -> Result<AttachmentRow, StoreError> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("stored attachment: bad {what}"));
    let text = |name: &str| r.try_get::<String, _>(name);
    Ok(AttachmentRow {
        case_id: text("case_id")?.parse().map_err(|_| corrupt("case id"))?,
        sha256: ContentHash::parse(&text("sha256")?).map_err(|_| corrupt("hash"))?,
        media_type: MediaType::parse(&text("media_type")?).ok_or_else(|| corrupt("type"))?,
        size: u64::try_from(r.try_get::<i64, _>("size")?).map_err(|_| corrupt("size"))?,
        file_name: text("file_name")?,
        material: r.try_get("material")?,
        station: StationCode::parse(&text("station")?).map_err(|_| corrupt("station"))?,
        uploaded_by: r.try_get("uploaded_by")?,
        uploaded_at: OffsetDateTime::from_unix_timestamp_nanos(
            i128::from(r.try_get::<i64, _>("uploaded_at")?) * 1_000_000,
        )
        .map_err(|_| corrupt("time"))?,
        stripped: r.try_get::<i64, _>("stripped")? != 0,
    })
}

impl CaseStore {
    /// The attachments of a case, oldest first.
    pub async fn case_attachments(
        &self,
        case_id: CaseId,
    ) -> Result<Vec<AttachmentRow>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM attachments WHERE case_id = $1 ORDER BY uploaded_at, sha256"
        )))
        .bind(case_id.to_string())
        .fetch_all(self.db.pool())
        .await?;
        rows.iter().map(row).collect()
    }

    /// One attachment of a case, when that file belongs to that case.
    pub async fn case_attachment(
        &self,
        case_id: CaseId,
        sha256: &ContentHash,
    ) -> Result<Option<AttachmentRow>, StoreError> {
        let found = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM attachments WHERE case_id = $1 AND sha256 = $2"
        )))
        .bind(case_id.to_string())
        .bind(sha256.as_str())
        .fetch_optional(self.db.pool())
        .await?;
        found.as_ref().map(row).transpose()
    }

    /// The size of attachment `sha256` when it belongs to a case that originated in `subtree`
    /// (what a child may fetch), `None` otherwise.
    pub async fn attachment_size_in_subtree(
        &self,
        sha256: &ContentHash,
        subtree: StationCode,
    ) -> Result<Option<u64>, StoreError> {
        let found = sqlx::query(
            "SELECT a.size AS size FROM attachments a JOIN cases c ON c.case_id = a.case_id \
             WHERE a.sha256 = $1 AND c.origin LIKE $2 LIMIT 1",
        )
        .bind(sha256.as_str())
        .bind(subtree_pattern(&subtree))
        .fetch_optional(self.db.pool())
        .await?;
        found
            .map(|r| {
                u64::try_from(r.try_get::<i64, _>("size")?)
                    .map_err(|_| StoreError::Corrupt("stored attachment: bad size".into()))
            })
            .transpose()
    }

    /// Attachments added above this node (by its parent or higher) to cases of its subtree,
    /// newest first, at most `limit`: the files this node fetches from its parent. Empty on a
    /// node without a parent.
    pub async fn attachments_from_above(
        &self,
        limit: u32,
    ) -> Result<Vec<(ContentHash, u64)>, StoreError> {
        let Some(me) = self.uplink else {
            return Ok(Vec::new());
        };
        let rows = sqlx::query(
            "SELECT sha256, MAX(size) AS size, MAX(uploaded_at) AS latest FROM attachments \
             WHERE station NOT LIKE $1 GROUP BY sha256 ORDER BY latest DESC LIMIT $2",
        )
        .bind(subtree_pattern(&me))
        .bind(i64::from(limit))
        .fetch_all(self.db.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let corrupt = || StoreError::Corrupt("stored attachment: bad row".into());
                let hash = ContentHash::parse(&r.try_get::<String, _>("sha256")?)
                    .map_err(|_| corrupt())?;
                let size = u64::try_from(r.try_get::<i64, _>("size")?).map_err(|_| corrupt())?;
                Ok((hash, size))
            })
            .collect()
    }

    /// Writes the row of an `attachment_added` event (other events: nothing).
    pub(super) async fn project_attachment(
        &self,
        conn: &mut AnyConnection,
        ev: &Event,
    ) -> Result<(), StoreError> {
        let EventBody::AttachmentAdded(a) = &ev.body else {
            return Ok(());
        };
        sqlx::query(
            "INSERT INTO attachments (case_id, sha256, media_type, size, file_name, material, \
             station, uploaded_by, uploaded_at, stripped, event_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
             ON CONFLICT (case_id, sha256) DO NOTHING",
        )
        .bind(ev.case_id.to_string())
        .bind(a.sha256.as_str())
        .bind(a.media_type.as_str())
        .bind(i64::try_from(a.size).unwrap_or(i64::MAX))
        .bind(a.file_name.as_str())
        .bind(a.material.as_deref())
        .bind(ev.author.to_string())
        .bind(ev.actor.as_deref())
        .bind(to_ms(ev.occurred_at))
        .bind(i64::from(a.stripped))
        .bind(ev.event_id.to_string())
        .execute(&mut *conn)
        .await?;
        Ok(())
    }
}
