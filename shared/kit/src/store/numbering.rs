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

/// The days (yyyymmdd) of the `days` local dates ending with that of `now`: the window that
/// the gap listing of `reconcile` and the `bangban_case_number_gaps` gauge read.
pub fn recent_days(now: OffsetDateTime, days: i64) -> (i64, i64) {
    let yyyymmdd = |d: time::Date| {
        i64::from(d.year()) * 10_000 + i64::from(u8::from(d.month())) * 100 + i64::from(d.day())
    };
    let today = local_date(now);
    let first = today
        .checked_sub(time::Duration::days((days - 1).max(0)))
        .unwrap_or(today);
    (yyyymmdd(first), yyyymmdd(today))
}

/// The most missing numbers one [`NumberGap`] lists (its `missing_total` counts them all).
pub const GAP_NUMBERS_LISTED: usize = 50;

/// Case numbers of one station and day that a parent should hold and does not: numbers below
/// the highest seen for that station and day, held neither as a summary nor as a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberGap {
    /// The station that numbered the cases.
    pub station: StationCode,
    /// yyyymmdd.
    pub day: i64,
    /// The missing sequence numbers, ascending, at most [`GAP_NUMBERS_LISTED`].
    pub missing: Vec<u32>,
    /// How many are missing.
    pub missing_total: i64,
}

// A case number is `<12-digit station>-<yyyymmdd>-<seq>` (`CaseNumber`): the station is its
// first 12 characters and the sequence number starts at character 23.
const NUMBERS_HELD: &str = "\
    SELECT substr(case_no, 1, 12) AS station, case_day, CAST(substr(case_no, 23) AS BIGINT) AS seq \
    FROM case_summaries WHERE case_day BETWEEN $1 AND $2 AND origin LIKE $3 \
    UNION \
    SELECT substr(case_no, 1, 12) AS station, case_day, CAST(substr(case_no, 23) AS BIGINT) AS seq \
    FROM cases WHERE case_day BETWEEN $1 AND $2 AND origin LIKE $3";

impl CaseStore {
    /// The gaps in the case numbers of `subtree`'s stations for the days `from_day` to
    /// `to_day` (yyyymmdd, inclusive), newest day first, at most `limit` (station, day) pairs.
    /// Stations number their cases per day without gaps, so a number below the highest seen
    /// that is held neither as a summary nor as a case was lost on the way (or is still on
    /// it). The last numbers of a day cannot be told apart from numbers never given: the
    /// reconciliation of summaries finds those.
    ///
    /// Bounded: one aggregate over the window (both tables are indexed by day and origin),
    /// then the numbers of at most `limit` days with a gap.
    pub async fn number_gaps(
        &self,
        subtree: StationCode,
        from_day: i64,
        to_day: i64,
        limit: u32,
    ) -> Result<Vec<NumberGap>, StoreError> {
        let sql = format!(
            "SELECT station, case_day, CAST(MAX(seq) AS BIGINT) AS top, \
             CAST(COUNT(*) AS BIGINT) AS held FROM ({NUMBERS_HELD}) t \
             GROUP BY station, case_day HAVING COUNT(*) < MAX(seq) \
             ORDER BY case_day DESC, station LIMIT $4"
        );
        // Built from constant text only; every value is bound.
        let groups = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(from_day)
            .bind(to_day)
            .bind(subtree_pattern(&subtree))
            .bind(i64::from(limit))
            .fetch_all(self.db.pool())
            .await?;
        let mut gaps = Vec::with_capacity(groups.len());
        for g in &groups {
            let station: String = g.try_get("station")?;
            let day: i64 = g.try_get("case_day")?;
            let top: i64 = g.try_get("top")?;
            let held: i64 = g.try_get("held")?;
            let code = StationCode::parse(&station)
                .map_err(|_| StoreError::Corrupt(format!("case number station {station}")))?;
            let prefix = format!("{station}-{day}-%");
            let rows = sqlx::query(
                "SELECT CAST(substr(case_no, 23) AS BIGINT) AS seq FROM case_summaries \
                 WHERE case_day = $1 AND case_no LIKE $2 \
                 UNION \
                 SELECT CAST(substr(case_no, 23) AS BIGINT) AS seq FROM cases \
                 WHERE case_day = $1 AND case_no LIKE $2",
            )
            .bind(day)
            .bind(&prefix)
            .fetch_all(self.db.pool())
            .await?;
            let mut seen = std::collections::HashSet::new();
            for r in &rows {
                seen.insert(r.try_get::<i64, _>("seq")?);
            }
            let missing: Vec<u32> = (1..top)
                .filter(|n| !seen.contains(n))
                .take(GAP_NUMBERS_LISTED)
                .filter_map(|n| u32::try_from(n).ok())
                .collect();
            gaps.push(NumberGap {
                station: code,
                day,
                missing,
                missing_total: top - held,
            });
        }
        Ok(gaps)
    }

    /// How many case numbers of `subtree`'s stations for the days `from_day` to `to_day` are
    /// missing (see [`CaseStore::number_gaps`]): one aggregate query.
    pub async fn number_gap_count(
        &self,
        subtree: StationCode,
        from_day: i64,
        to_day: i64,
    ) -> Result<i64, StoreError> {
        let sql = format!(
            "SELECT CAST(COALESCE(SUM(top - held), 0) AS BIGINT) AS n FROM (\
             SELECT MAX(seq) AS top, COUNT(*) AS held FROM ({NUMBERS_HELD}) t \
             GROUP BY station, case_day) g"
        );
        // Built from constant text only; every value is bound.
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(from_day)
            .bind(to_day)
            .bind(subtree_pattern(&subtree))
            .fetch_one(self.db.pool())
            .await?;
        Ok(row.try_get("n")?)
    }
}
