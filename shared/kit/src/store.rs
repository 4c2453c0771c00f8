//! The case store: append-only case event logs with a projection for lists, on SQLite or
//! PostgreSQL through one implementation.
//!
//! Every append folds the case's log with the shared state machine before writing, inside one
//! transaction, so an illegal event changes nothing. Storing an event id twice is a no-op, so any
//! transfer may be retried blindly. Handlers never build SQL: they call this module.

use std::sync::Arc;

use bangban_domain::Bilingual;
use bangban_domain::calendar::{Deadline, WorkingCalendar, local_date};
use bangban_domain::case::{CaseState, TransitionError, fold};
use bangban_domain::event::{CaseId, CaseNumber, Event, EventId};
use bangban_domain::station::{StationCode, Tier};
use serde::Serialize;
use sqlx::{AnyConnection, Row};
use time::{Date, OffsetDateTime};

use crate::db::{Backend, Db};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Transition(#[from] TransitionError),
    #[error("event {0} was stored before with different content")]
    EventIdReused(EventId),
    #[error("no case {0}")]
    UnknownCase(CaseId),
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// Whether the caller is at fault (a 4xx), as opposed to the store (a 5xx).
    pub fn is_client_error(&self) -> bool {
        matches!(
            self,
            StoreError::Transition(_) | StoreError::EventIdReused(_) | StoreError::UnknownCase(_)
        )
    }
}

impl Bilingual for StoreError {
    fn code(&self) -> &'static str {
        match self {
            StoreError::Transition(e) => e.code(),
            StoreError::EventIdReused(_) => "event.id_reused",
            StoreError::UnknownCase(_) => "case.unknown",
            StoreError::Db(_) => "internal.database",
            StoreError::Corrupt(_) => "internal.corrupt",
        }
    }
    fn message_zh(&self) -> String {
        match self {
            StoreError::Transition(e) => e.message_zh(),
            StoreError::EventIdReused(id) => format!("事件编号 {id} 已被另一条内容不同的记录使用"),
            StoreError::UnknownCase(id) => format!("没有编号为 {id} 的办件"),
            StoreError::Db(_) | StoreError::Corrupt(_) => "数据库错误，请稍后重试".to_owned(),
        }
    }
}

/// The result of an append.
#[derive(Debug)]
pub enum Appended {
    /// Stored now, at this local sequence number; the case's new state.
    Stored { seq: i64, state: Box<CaseState> },
    /// The same event was stored before; nothing changed.
    Duplicate,
}

/// One row of a case list. Personal data is masked.
#[derive(Debug, Clone, Serialize)]
pub struct CaseSummary {
    pub case_id: String,
    pub case_no: String,
    pub origin: String,
    pub holder: String,
    pub stage: String,
    pub item_code: Option<String>,
    pub item_name: Option<String>,
    pub applicant: Option<String>,
    pub suspended: bool,
    pub opened_at_ms: i64,
    pub due_date: Option<String>,
    pub visits: i64,
}

/// Which cases a list shows.
#[derive(Debug, Clone, Default)]
pub struct CaseFilter {
    /// Only cases whose origin lies in this station's subtree (itself and its descendants).
    pub subtree: Option<StationCode>,
    /// Only cases this station holds.
    pub holder: Option<StationCode>,
    /// Only cases at this stage (`Stage::as_str`).
    pub stage: Option<String>,
    pub limit: u32,
    pub offset: u32,
}

/// Cases and their events, over one database.
#[derive(Clone)]
pub struct CaseStore {
    db: Db,
    calendar: Arc<WorkingCalendar>,
}

/// Milliseconds since the Unix epoch, the stored form of every instant.
pub fn to_ms(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// The `LIKE` pattern matching the codes of a station's subtree.
fn subtree_pattern(code: &StationCode) -> String {
    let s = code.to_string();
    match code.tier() {
        Tier::District => format!("{}%", &s[..6]),
        Tier::Town => format!("{}%", &s[..9]),
        Tier::Village => s,
    }
}

impl CaseStore {
    pub fn new(db: Db, calendar: Arc<WorkingCalendar>) -> Self {
        CaseStore { db, calendar }
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    pub fn calendar(&self) -> &WorkingCalendar {
        &self.calendar
    }

    /// Appends one event if the case's state allows it; a repeat of a stored event is a no-op.
    pub async fn append(&self, ev: &Event, now: OffsetDateTime) -> Result<Appended, StoreError> {
        let mut tx = match self.db.backend() {
            // Take the write lock first: a deferred transaction that reads and then writes can
            // fail outright under WAL instead of waiting for the busy timeout.
            Backend::Sqlite => self.db.pool().begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.db.pool().begin().await?,
        };
        let outcome = self.append_in(&mut tx, ev, now).await?;
        tx.commit().await?;
        Ok(outcome)
    }

    async fn append_in(
        &self,
        conn: &mut AnyConnection,
        ev: &Event,
        now: OffsetDateTime,
    ) -> Result<Appended, StoreError> {
        let event_id = ev.event_id.to_string();
        let case_id = ev.case_id.to_string();

        // Idempotency before legality: a replay of a stored event is accepted even if the case
        // has moved on since.
        if let Some(row) = sqlx::query("SELECT doc FROM case_events WHERE event_id = $1")
            .bind(&event_id)
            .fetch_optional(&mut *conn)
            .await?
        {
            let stored: Event = parse_doc(&row.try_get::<String, _>("doc")?)?;
            return if &stored == ev {
                Ok(Appended::Duplicate)
            } else {
                Err(StoreError::EventIdReused(ev.event_id))
            };
        }

        if self.db.backend() == Backend::Postgres {
            // Serialise appends to one case across connections (and replicas).
            sqlx::query("SELECT case_id FROM cases WHERE case_id = $1 FOR UPDATE")
                .bind(&case_id)
                .fetch_optional(&mut *conn)
                .await?;
        }
        let history = load_events(&mut *conn, &case_id).await?;
        let is_new = history.is_empty();
        let state = if is_new {
            CaseState::open(ev)?
        } else {
            let mut state = fold(&history)?;
            state.apply(ev)?;
            state
        };

        let due = match state.deadline(&self.calendar) {
            Some(Ok(Deadline::Due { date, .. })) => Some(date_string(date)),
            _ => None,
        };
        let now_ms = to_ms(now);
        let applicant = state.applicant.as_ref().map(|a| a.display_name());
        let (item_code, item_name) = state
            .item
            .as_ref()
            .map(|i| (Some(i.code.clone()), Some(i.name.clone())))
            .unwrap_or((None, None));
        let version = i64::try_from(state.version).unwrap_or(i64::MAX);
        if is_new {
            sqlx::query(
                "INSERT INTO cases (case_id, case_no, origin, holder, stage, item_code, item_name, \
                 applicant_display, suspended, opened_at, accepted_at, due_date, closed_at, visits, \
                 version, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
            )
            .bind(&case_id)
            .bind(state.case_no.to_string())
            .bind(state.origin.to_string())
            .bind(state.holder.to_string())
            .bind(state.stage.as_str())
            .bind(item_code)
            .bind(item_name)
            .bind(applicant)
            .bind(i64::from(state.is_suspended()))
            .bind(to_ms(state.opened_at))
            .bind(state.accepted_at.map(to_ms))
            .bind(due)
            .bind(state.closed_at.map(to_ms))
            .bind(i64::from(state.visits))
            .bind(version)
            .bind(now_ms)
            .execute(&mut *conn)
            .await?;
        } else {
            sqlx::query(
                "UPDATE cases SET holder = $2, stage = $3, item_code = $4, item_name = $5, \
                 applicant_display = $6, suspended = $7, accepted_at = $8, due_date = $9, \
                 closed_at = $10, visits = $11, version = $12, updated_at = $13 \
                 WHERE case_id = $1",
            )
            .bind(&case_id)
            .bind(state.holder.to_string())
            .bind(state.stage.as_str())
            .bind(item_code)
            .bind(item_name)
            .bind(applicant)
            .bind(i64::from(state.is_suspended()))
            .bind(state.accepted_at.map(to_ms))
            .bind(due)
            .bind(state.closed_at.map(to_ms))
            .bind(i64::from(state.visits))
            .bind(version)
            .bind(now_ms)
            .execute(&mut *conn)
            .await?;
        }

        let doc = serde_json::to_string(ev).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let row = sqlx::query(
            "INSERT INTO case_events (event_id, case_id, author, kind, occurred_at, stored_at, doc) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING seq",
        )
        .bind(&event_id)
        .bind(&case_id)
        .bind(ev.author.to_string())
        .bind(ev.kind().as_str())
        .bind(to_ms(ev.occurred_at))
        .bind(now_ms)
        .bind(doc)
        .fetch_one(&mut *conn)
        .await?;
        let seq: i64 = row.try_get("seq")?;
        Ok(Appended::Stored {
            seq,
            state: Box::new(state),
        })
    }

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

    /// How many events are stored here (for status and tests).
    pub async fn event_count(&self) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM case_events")
            .fetch_one(self.db.pool())
            .await?;
        Ok(row.try_get("n")?)
    }
}

async fn load_events(conn: &mut AnyConnection, case_id: &str) -> Result<Vec<Event>, StoreError> {
    let rows = sqlx::query("SELECT doc FROM case_events WHERE case_id = $1 ORDER BY seq")
        .bind(case_id)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|r| parse_doc(&r.try_get::<String, _>("doc")?))
        .collect()
}

fn parse_doc(doc: &str) -> Result<Event, StoreError> {
    serde_json::from_str(doc).map_err(|e| StoreError::Corrupt(format!("stored event: {e}")))
}

fn date_string(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}
