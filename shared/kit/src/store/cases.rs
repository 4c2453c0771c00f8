//! Reading cases: a case's log and state, lists for the UI, and counts for metrics.

use bangban_domain::case::{CaseState, fold};
use bangban_domain::event::{CaseId, Event};
use sqlx::Row;

use super::*;

impl CaseStore {
    /// A case's events in the order they were stored here.
    pub async fn events(&self, case_id: CaseId) -> Result<Vec<Event>, StoreError> {
        let mut conn = self.db.pool().acquire().await?;
        load_events(&mut conn, &case_id.to_string()).await
    }

    /// A case's state, folded from its log; `None` for an unknown case.
    pub async fn case(
        &self,
        case_id: CaseId,
    ) -> Result<Option<(CaseState, Vec<Event>)>, StoreError> {
        let events = self.events(case_id).await?;
        if events.is_empty() {
            return Ok(None);
        }
        let state = fold(&events)
            .map_err(|e| StoreError::Corrupt(format!("case {case_id} no longer folds: {e}")))?;
        Ok(Some((state, events)))
    }

    /// Cases matching `filter`, newest first.
    pub async fn list(&self, filter: &CaseFilter) -> Result<Vec<CaseSummary>, StoreError> {
        // Built only from static fragments and placeholder numbers; every value is bound.
        let mut sql = String::from(
            "SELECT case_id, case_no, origin, holder, stage, item_code, item_name, \
             applicant_display, suspended, opened_at, due_date, visits FROM cases WHERE 1 = 1",
        );
        let mut n = 0;
        let mut next = || {
            n += 1;
            n
        };
        if filter.subtree.is_some() {
            sql.push_str(&format!(" AND origin LIKE ${}", next()));
        }
        if filter.holder.is_some() {
            sql.push_str(&format!(" AND holder = ${}", next()));
        }
        if filter.stage.is_some() {
            sql.push_str(&format!(" AND stage = ${}", next()));
        }
        if filter.search.is_some() {
            let n = next();
            sql.push_str(&format!(
                " AND (case_no LIKE ${n} ESCAPE '\\' OR item_code LIKE ${n} ESCAPE '\\' \
                 OR item_name LIKE ${n} ESCAPE '\\')"
            ));
        }
        sql.push_str(&format!(
            " ORDER BY opened_at DESC, case_id LIMIT ${} OFFSET ${}",
            next(),
            next()
        ));
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        if let Some(s) = &filter.subtree {
            q = q.bind(subtree_pattern(s));
        }
        if let Some(h) = &filter.holder {
            q = q.bind(h.to_string());
        }
        if let Some(st) = &filter.stage {
            q = q.bind(st.clone());
        }
        if let Some(text) = &filter.search {
            q = q.bind(contains_pattern(text));
        }
        let limit = if filter.limit == 0 {
            50
        } else {
            filter.limit.min(500)
        };
        q = q.bind(i64::from(limit)).bind(i64::from(filter.offset));
        let rows = q.fetch_all(self.db.pool()).await?;
        rows.iter()
            .map(|r| {
                Ok(CaseSummary {
                    case_id: r.try_get("case_id")?,
                    case_no: r.try_get("case_no")?,
                    origin: r.try_get("origin")?,
                    holder: r.try_get("holder")?,
                    stage: r.try_get("stage")?,
                    item_code: r.try_get("item_code")?,
                    item_name: r.try_get("item_name")?,
                    applicant: r.try_get("applicant_display")?,
                    suspended: r.try_get::<i64, _>("suspended")? != 0,
                    opened_at_ms: r.try_get("opened_at")?,
                    due_date: r.try_get("due_date")?,
                    visits: r.try_get("visits")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

    /// The day's work of station `me` (dates are local `YYYY-MM-DD`, compared as text): cases
    /// opened since `day_start_ms`, its open cases due by `soon` and already overdue (due
    /// before `today`), and its own cases held higher up (escalated, awaiting a result).
    pub async fn day_counts(
        &self,
        me: StationCode,
        day_start_ms: i64,
        today: &str,
        soon: &str,
    ) -> Result<DayCounts, StoreError> {
        let row = sqlx::query(
            "SELECT \
             COALESCE(SUM(CASE WHEN holder = $1 AND opened_at >= $2 THEN 1 ELSE 0 END), 0) AS new_today, \
             COALESCE(SUM(CASE WHEN holder = $1 AND stage NOT IN ('completed', 'terminated') \
                 AND due_date IS NOT NULL AND due_date >= $3 AND due_date <= $4 THEN 1 ELSE 0 END), 0) AS due_soon, \
             COALESCE(SUM(CASE WHEN holder = $1 AND stage NOT IN ('completed', 'terminated') \
                 AND due_date IS NOT NULL AND due_date < $3 THEN 1 ELSE 0 END), 0) AS overdue, \
             COALESCE(SUM(CASE WHEN origin = $1 AND holder <> $1 \
                 AND stage NOT IN ('completed', 'terminated') THEN 1 ELSE 0 END), 0) AS away \
             FROM cases",
        )
        .bind(me.to_string())
        .bind(day_start_ms)
        .bind(today)
        .bind(soon)
        .fetch_one(self.db.pool())
        .await?;
        Ok(DayCounts {
            new_today: row.try_get("new_today")?,
            due_soon: row.try_get("due_soon")?,
            overdue: row.try_get("overdue")?,
            away: row.try_get("away")?,
        })
    }

    /// How many cases are at each stage (for `/metrics`).
    pub async fn stage_counts(&self) -> Result<Vec<(String, i64)>, StoreError> {
        let rows =
            sqlx::query("SELECT stage, COUNT(*) AS n FROM cases GROUP BY stage ORDER BY stage")
                .fetch_all(self.db.pool())
                .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("stage")?, r.try_get("n")?)))
            .collect()
    }

    /// How many events are stored here (for status and tests).
    pub async fn event_count(&self) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM case_events")
            .fetch_one(self.db.pool())
            .await?;
        Ok(row.try_get("n")?)
    }
}

/// A `LIKE` pattern for "contains `text`", with `%`, `_` and `\` in it taken literally.
fn contains_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// The start page's counts for one station (see [`CaseStore::day_counts`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DayCounts {
    pub new_today: i64,
    pub due_soon: i64,
    pub overdue: i64,
    /// Its own cases held by a higher tier now.
    pub away: i64,
}
