//! Audited access to a case's full personal data: every view is written to
//! `personal_data_views` before the data leaves the store, and the trail is listed for those who
//! supervise. Lists and the case page never come here: they show masked data only.

use bangban_domain::case::CaseState;
use bangban_domain::event::CaseId;
use sqlx::Row;

use super::*;

/// One recorded view of a case's full personal data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PersonalDataView {
    pub id: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The username of who looked.
    pub operator: String,
    pub case_id: String,
    pub case_no: String,
}

/// Which recorded views a list shows, newest first.
#[derive(Debug, Clone, Default)]
pub struct PersonalViewFilter {
    /// Only the views of this username (exact).
    pub operator: Option<String>,
    /// Only the views of cases whose number starts with this (digits and `-` only; anything
    /// else matches nothing).
    pub case_no: Option<String>,
    pub limit: u32,
    pub offset: u32,
}

impl CaseStore {
    /// A case's state with its personal data, for `operator` to read in full, once the view is
    /// recorded; `None` for an unknown case (nothing is recorded then).
    ///
    /// INVARIANT: the state is returned only after the audit row is written (autocommit: the
    /// row is durable when the insert returns). If the write fails, the caller gets the error and
    /// no data, so no view ever goes unrecorded.
    pub async fn reveal_personal_data(
        &self,
        case_id: CaseId,
        operator: &str,
        now: OffsetDateTime,
    ) -> Result<Option<CaseState>, StoreError> {
        let Some((state, _)) = self.case(case_id).await? else {
            return Ok(None);
        };
        sqlx::query(
            "INSERT INTO personal_data_views (at, operator, case_id, case_no) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(to_ms(now))
        .bind(operator)
        .bind(case_id.to_string())
        .bind(state.case_no.to_string())
        .execute(self.db.pool())
        .await?;
        tracing::info!(%case_id, operator, "full personal data viewed");
        Ok(Some(state))
    }

    /// Recorded views matching `filter`, newest first.
    pub async fn personal_data_views(
        &self,
        filter: &PersonalViewFilter,
    ) -> Result<Vec<PersonalDataView>, StoreError> {
        if let Some(no) = &filter.case_no
            && !no.bytes().all(|b| b.is_ascii_digit() || b == b'-')
        {
            return Ok(Vec::new());
        }
        // Built only from static fragments and placeholder numbers; every value is bound.
        let mut sql = String::from(
            "SELECT id, at, operator, case_id, case_no FROM personal_data_views WHERE 1 = 1",
        );
        let mut n = 0;
        let mut next = || {
            n += 1;
            n
        };
        if filter.operator.is_some() {
            sql.push_str(&format!(" AND operator = ${}", next()));
        }
        if filter.case_no.is_some() {
            sql.push_str(&format!(" AND case_no LIKE ${}", next()));
        }
        sql.push_str(&format!(
            " ORDER BY id DESC LIMIT ${} OFFSET ${}",
            next(),
            next()
        ));
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        if let Some(op) = &filter.operator {
            query = query.bind(op.clone());
        }
        if let Some(no) = &filter.case_no {
            // Digits and '-' only (checked above): no LIKE wildcard can slip in.
            query = query.bind(format!("{no}%"));
        }
        let rows = query
            .bind(i64::from(filter.limit.min(1000)))
            .bind(i64::from(filter.offset))
            .fetch_all(self.db.pool())
            .await?;
        rows.iter()
            .map(|r| {
                let at: i64 = r.try_get("at")?;
                Ok(PersonalDataView {
                    id: r.try_get("id")?,
                    at: OffsetDateTime::from_unix_timestamp_nanos(i128::from(at) * 1_000_000)
                        .map_err(|_| StoreError::Corrupt(format!("instant {at}")))?,
                    operator: r.try_get("operator")?,
                    case_id: r.try_get("case_id")?,
                    case_no: r.try_get("case_no")?,
                })
            })
            .collect()
    }
}
