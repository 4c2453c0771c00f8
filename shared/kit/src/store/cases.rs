//! Reading cases: a case's log and state, lists for the UI, and counts for metrics.

use bangban_domain::case::{CaseState, fold};
use bangban_domain::event::{CaseId, Event};
use sqlx::Row;

use super::search;
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
    ///
    /// A search first counts, on the terms index alone, how many terms match (up to
    /// [`CaseStore::with_few_matches`], 2,000 by default). Few: the matching terms are sorted,
    /// on the index alone when no other filter applies, and only the page's cases read. Many:
    /// the list reads cases newest first and keeps those with a matching term, which soon fills
    /// a page. Either way a page costs about the same whatever the table's size.
    pub async fn list(&self, filter: &CaseFilter) -> Result<Vec<CaseSummary>, StoreError> {
        let mut sql = ListSql::default();
        let backwards = matches!(filter.keyset, Some(Keyset::Before(_)));
        let order = if backwards { "ASC" } else { "DESC" };
        let limit = if filter.limit == 0 {
            50
        } else {
            filter.limit.min(500)
        };
        let limit = sql.bind_int(i64::from(limit));
        let offset = sql.bind_int(i64::from(filter.offset));
        // `(opened_at, case_id)` beyond the keyset's row, for columns under `prefix`.
        let keyset = match &filter.keyset {
            Some(Keyset::After(at) | Keyset::Before(at)) => {
                let (ms, id) = (sql.bind_int(at.opened_at_ms), sql.bind_text(&at.case_id));
                let op = if backwards { ">" } else { "<" };
                Some(move |prefix: &str| {
                    format!("({prefix}opened_at, {prefix}case_id) {op} ({ms}, {id})")
                })
            }
            None => None,
        };
        let filtered = filter.subtree.is_some()
            || filter.holder.is_some()
            || filter.stage.is_some()
            || filter.due.is_some();
        let mut from = String::from("cases c");
        let mut conds: Vec<String> = Vec::new();
        // Whether the page was already cut (ordered, limited) inside `from`.
        let mut cut = false;
        if let Some(text) = &filter.search {
            let mut conn = self.db.pool().acquire().await?;
            let salt = self.search_salt(&mut conn).await?;
            let Some(lookup) = search::Lookup::new(text, &salt)? else {
                return Ok(Vec::new());
            };
            let row = sqlx::query(
                "SELECT COUNT(*) AS n FROM (SELECT 1 AS one FROM (\
                 SELECT case_id FROM case_terms WHERE term >= $1 AND term < $2 \
                 UNION ALL SELECT case_id FROM case_terms WHERE term = $3) u LIMIT $4) x",
            )
            .bind(&lookup.prefix)
            .bind(&lookup.prefix_end)
            .bind(&lookup.digest)
            .bind(self.few_matches)
            .fetch_one(&mut *conn)
            .await?;
            drop(conn);
            let few = row.try_get::<i64, _>("n")? < self.few_matches;
            let lo = sql.bind_text(&lookup.prefix);
            let hi = sql.bind_text(&lookup.prefix_end);
            let digest = sql.bind_text(&lookup.digest);
            if few {
                // The matching terms, sorted; then their cases by key (the CROSS JOIN keeps
                // SQLite from reordering the join into a scan of cases).
                let mut matches = format!(
                    "SELECT opened_at, case_id FROM (\
                     SELECT opened_at, case_id FROM case_terms WHERE term >= {lo} AND term < {hi} \
                     UNION SELECT opened_at, case_id FROM case_terms WHERE term = {digest}) u"
                );
                if !filtered {
                    // Nothing else to check: cut the page from the terms index alone.
                    if let Some(keyset) = &keyset {
                        matches.push_str(&format!(" WHERE {}", keyset("")));
                    }
                    matches.push_str(&format!(
                        " ORDER BY opened_at {order}, case_id {order} LIMIT {limit} OFFSET {offset}"
                    ));
                    cut = true;
                }
                from = format!("({matches}) m CROSS JOIN cases c");
                conds.push("c.case_id = m.case_id".into());
            } else {
                // Cases newest first, each checked against its own few terms.
                conds.push(format!(
                    "EXISTS (SELECT 1 FROM case_terms t WHERE t.case_id = c.case_id \
                     AND ((t.term >= {lo} AND t.term < {hi}) OR t.term = {digest}))"
                ));
            }
        }
        if let Some(s) = &filter.subtree {
            conds.push(format!(
                "c.origin LIKE {}",
                sql.bind_text(&subtree_pattern(s))
            ));
        }
        if let Some(h) = &filter.holder {
            conds.push(format!("c.holder = {}", sql.bind_text(&h.to_string())));
        }
        if let Some(st) = &filter.stage {
            conds.push(format!("c.stage = {}", sql.bind_text(st)));
        }
        match &filter.due {
            None => {}
            // INVARIANT: the terms of the partial index `cases_open_due`, word for word.
            Some(DueFilter::Overdue { today }) => conds.push(format!(
                "c.stage NOT IN ('completed', 'terminated') AND c.due_date IS NOT NULL \
                 AND c.due_date < {}",
                sql.bind_text(today)
            )),
            Some(DueFilter::Soon { today, by }) => conds.push(format!(
                "c.stage NOT IN ('completed', 'terminated') AND c.due_date IS NOT NULL \
                 AND c.due_date >= {} AND c.due_date <= {}",
                sql.bind_text(today),
                sql.bind_text(by)
            )),
        }
        if let Some(keyset) = &keyset
            && !cut
        {
            conds.push(keyset("c."));
        }
        let mut text = format!(
            "SELECT c.case_id, c.case_no, c.origin, c.holder, c.stage, c.item_code, c.item_name, \
             c.applicant_display, c.suspended, c.opened_at, c.due_date, c.visits FROM {from}"
        );
        if !conds.is_empty() {
            text.push_str(" WHERE ");
            text.push_str(&conds.join(" AND "));
        }
        text.push_str(&format!(" ORDER BY c.opened_at {order}, c.case_id {order}"));
        if !cut {
            text.push_str(&format!(" LIMIT {limit} OFFSET {offset}"));
        }
        // Built only from static fragments and placeholder numbers; every value is bound.
        let mut q = sqlx::query(sqlx::AssertSqlSafe(text));
        for value in sql.values {
            q = match value {
                Value::Text(t) => q.bind(t),
                Value::Int(i) => q.bind(i),
            };
        }
        let rows = q.fetch_all(self.db.pool()).await?;
        let mut found = rows
            .iter()
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
            .collect::<Result<Vec<_>, sqlx::Error>>()?;
        if backwards {
            found.reverse();
        }
        Ok(found)
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
        // Four counts, each a range of one index (the open-case ones of partial indexes,
        // whose terms they repeat word for word), never a scan of the table.
        let row = sqlx::query(
            "SELECT \
             (SELECT COUNT(*) FROM cases WHERE holder = $1 AND opened_at >= $2) AS new_today, \
             (SELECT COUNT(*) FROM cases WHERE holder = $1 \
                 AND stage NOT IN ('completed', 'terminated') AND due_date IS NOT NULL \
                 AND due_date >= $3 AND due_date <= $4) AS due_soon, \
             (SELECT COUNT(*) FROM cases WHERE holder = $1 \
                 AND stage NOT IN ('completed', 'terminated') AND due_date IS NOT NULL \
                 AND due_date < $3) AS overdue, \
             (SELECT COUNT(*) FROM cases WHERE origin = $1 AND holder <> $1 \
                 AND stage NOT IN ('completed', 'terminated')) AS away",
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

    /// How many cases are at each stage (for `/metrics` and the start page), as kept by every
    /// write of a case row.
    pub async fn stage_counts(&self) -> Result<Vec<(String, i64)>, StoreError> {
        let rows = sqlx::query("SELECT stage, n FROM case_stage_counts WHERE n > 0 ORDER BY stage")
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

/// A value bound to a list query.
enum Value {
    Text(String),
    Int(i64),
}

/// The values of a list query, numbered as they are added.
#[derive(Default)]
struct ListSql {
    values: Vec<Value>,
}

impl ListSql {
    fn bind_text(&mut self, value: &str) -> String {
        self.values.push(Value::Text(value.to_owned()));
        format!("${}", self.values.len())
    }

    fn bind_int(&mut self, value: i64) -> String {
        self.values.push(Value::Int(value));
        format!("${}", self.values.len())
    }
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
