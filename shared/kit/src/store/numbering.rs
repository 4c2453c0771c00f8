//! Human case numbers: `<station>-<yyyymmdd>-<seq>`, counted per station and local day, never
//! reused.

use bangban_domain::calendar::local_date;
use bangban_domain::event::CaseNumber;
use bangban_domain::station::StationCode;
use sqlx::Row;
use time::OffsetDateTime;

use super::*;

impl CaseStore {
    /// The next human case number of `station` for the local date of `now`. Numbers are never
    /// reused, even when the case that took one is not stored.
    pub async fn next_case_number(
        &self,
        station: StationCode,
        now: OffsetDateTime,
    ) -> Result<CaseNumber, StoreError> {
        let day = local_date(now);
        let row = sqlx::query(
            "INSERT INTO case_numbers (station, day, last_seq) VALUES ($1, $2, 1) \
             ON CONFLICT (station, day) DO UPDATE SET last_seq = case_numbers.last_seq + 1 \
             RETURNING last_seq",
        )
        .bind(station.to_string())
        .bind(date_string(day))
        .fetch_one(self.db.pool())
        .await?;
        let seq: i64 = row.try_get("last_seq")?;
        let seq = u32::try_from(seq).map_err(|_| StoreError::Corrupt("case number".into()))?;
        CaseNumber::new(station, day, seq).map_err(|e| StoreError::Corrupt(e.to_string()))
    }
}
