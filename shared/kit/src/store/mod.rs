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

mod dead_letters;
pub use dead_letters::{DeadLetter, DeadLetterCounts, DeadLetterError, Direction, PullApplied};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Transition(#[from] TransitionError),
    #[error("event {0} was stored before with different content")]
    EventIdReused(EventId),
    #[error("no case {0}")]
    UnknownCase(CaseId),
    #[error(
        "station {peer} may not send events of case {case_id}: the case is outside its subtree"
    )]
    OutsideSubtree { peer: StationCode, case_id: CaseId },
    #[error(
        "event {event_id} is dated {occurred_at}, more than {tolerance_secs} s ahead of this node's clock"
    )]
    FromTheFuture {
        event_id: EventId,
        occurred_at: OffsetDateTime,
        tolerance_secs: i64,
    },
    #[error("case {case_id} already has {max} events, the most a case may have")]
    CaseTooLong { case_id: CaseId, max: u64 },
    #[error(
        "the parent may not send event {event_id}: its author {author} lies in this node's subtree"
    )]
    ForgedAuthor {
        event_id: EventId,
        author: StationCode,
    },
    #[error("event {index} of the batch: {source}")]
    InBatch {
        index: usize,
        #[source]
        source: Box<StoreError>,
    },
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
            StoreError::Transition(_)
                | StoreError::EventIdReused(_)
                | StoreError::UnknownCase(_)
                | StoreError::OutsideSubtree { .. }
                | StoreError::FromTheFuture { .. }
                | StoreError::CaseTooLong { .. }
                | StoreError::ForgedAuthor { .. }
        ) || matches!(self, StoreError::InBatch { source, .. } if source.is_client_error())
    }
}

impl Bilingual for StoreError {
    fn code(&self) -> &'static str {
        match self {
            StoreError::Transition(e) => e.code(),
            StoreError::EventIdReused(_) => "event.id_reused",
            StoreError::UnknownCase(_) => "case.unknown",
            StoreError::OutsideSubtree { .. } => "sync.outside_subtree",
            StoreError::FromTheFuture { .. } => "event.from_the_future",
            StoreError::CaseTooLong { .. } => "case.too_many_events",
            StoreError::ForgedAuthor { .. } => "sync.forged_author",
            StoreError::InBatch { source, .. } => source.code(),
            StoreError::Db(_) => "internal.database",
            StoreError::Corrupt(_) => "internal.corrupt",
        }
    }
    fn message_zh(&self) -> String {
        match self {
            StoreError::Transition(e) => e.message_zh(),
            StoreError::EventIdReused(id) => format!("事件编号 {id} 已被另一条内容不同的记录使用"),
            StoreError::UnknownCase(id) => format!("没有编号为 {id} 的办件"),
            StoreError::OutsideSubtree { peer, .. } => {
                format!("站点 {peer} 无权提交不属于其辖区的办件记录")
            }
            StoreError::FromTheFuture { tolerance_secs, .. } => format!(
                "记录时间比本节点时钟超前 {tolerance_secs} 秒以上，请检查发送方电脑的系统时间"
            ),
            StoreError::CaseTooLong { max, .. } => {
                format!("该办件的记录已达上限（{max} 条），不能再添加")
            }
            StoreError::ForgedAuthor { author, .. } => {
                format!("上级节点不得下发本站辖区内站点（{author}）名义的记录")
            }
            StoreError::InBatch { index, source } => {
                format!("第 {} 条记录：{}", index + 1, source.message_zh())
            }
            StoreError::Db(_) | StoreError::Corrupt(_) => "数据库错误，请稍后重试".to_owned(),
        }
    }
}

/// Where a batch of events comes from, which decides what it may contain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Written on this node by its own operators.
    Local,
    /// Pushed by a direct child (identity from its certificate): every event must be authored in
    /// the child's subtree and belong to a case that originated there.
    FromChild(StationCode),
    /// Pulled from the parent: only cases that originated in this node's subtree.
    FromParent,
}

/// An open append transaction (see [`CaseStore::begin_append`]). Dropping it rolls back.
pub struct AppendTx<'s> {
    store: &'s CaseStore,
    tx: sqlx::Transaction<'static, sqlx::Any>,
    last_seq: Option<i64>,
}

impl AppendTx<'_> {
    /// Appends one event. A refusal (a client error) is decided before anything of the event is
    /// written, so the transaction may go on after one; after a database error, drop it.
    pub async fn append(
        &mut self,
        ev: &Event,
        admission: Admission,
        now: OffsetDateTime,
    ) -> Result<Appended, StoreError> {
        let outcome = self
            .store
            .append_in(&mut self.tx, ev, admission, now)
            .await?;
        if let Appended::Stored { seq, .. } = &outcome {
            self.last_seq = Some(*seq);
        }
        Ok(outcome)
    }

    /// Saves the position of a pull from `peer` with the events it brought.
    pub async fn save_cursor(
        &mut self,
        peer: &str,
        position: i64,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO cursors (peer, position, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (peer) DO UPDATE SET position = $2, updated_at = $3",
        )
        .bind(peer)
        .bind(position)
        .bind(to_ms(now))
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// The connection, for writes that belong with the appends (dead letters).
    pub(crate) fn conn(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }

    /// Commits, then wakes long-polls and the forwarder.
    pub async fn commit(self) -> Result<(), StoreError> {
        self.tx.commit().await?;
        if let Some(seq) = self.last_seq {
            self.store.changes.send_replace(seq);
        }
        Ok(())
    }
}

/// An event waiting in the outbox for the parent.
#[derive(Debug, Clone)]
pub struct Queued {
    /// Its position in the outbox.
    pub seq: i64,
    /// How often the parent refused it so far.
    pub attempts: i64,
    pub event: Event,
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
    /// This node's code, when it has a parent to push to: events of cases escalated above it are
    /// then queued in the outbox in the same transaction as they are stored.
    uplink: Option<StationCode>,
    /// The local sequence number of the last stored event; wakes long-polls and the forwarder.
    changes: Arc<tokio::sync::watch::Sender<i64>>,
    limits: AppendLimits,
}

/// What every append checks besides the state machine (`[events]` in the settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendLimits {
    /// The most events one case may have; a longer log is refused with a clear error.
    pub max_events_per_case: u64,
    /// How far ahead of this node's clock an event may be dated. An event from further in the
    /// future is refused (its author's clock is wrong); late events, such as an offline
    /// station's backlog, are always accepted.
    pub future_tolerance: time::Duration,
}

impl Default for AppendLimits {
    fn default() -> Self {
        AppendLimits {
            max_events_per_case: 10_000,
            future_tolerance: time::Duration::minutes(5),
        }
    }
}

/// The key of the PostgreSQL advisory lock that serialises appends across connections and
/// replicas (ASCII "bangbanA"). See [`CaseStore::append_batch`].
const APPEND_LOCK_KEY: i64 = 0x6261_6E67_6261_6E41;

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
        CaseStore {
            db,
            calendar,
            uplink: None,
            changes: Arc::new(tokio::sync::watch::channel(0).0),
            limits: AppendLimits::default(),
        }
    }

    /// Sets the limits every append checks.
    pub fn with_limits(mut self, limits: AppendLimits) -> Self {
        self.limits = limits;
        self
    }

    pub fn limits(&self) -> AppendLimits {
        self.limits
    }

    /// Queues, for the parent, the events of cases escalated above `me` (see [`CaseStore`]).
    pub fn with_uplink(mut self, me: StationCode) -> Self {
        self.uplink = Some(me);
        self
    }

    /// A receiver that changes whenever events are stored.
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<i64> {
        self.changes.subscribe()
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    pub fn calendar(&self) -> &WorkingCalendar {
        &self.calendar
    }

    /// Appends one event if the case's state allows it; a repeat of a stored event is a no-op.
    pub async fn append(&self, ev: &Event, now: OffsetDateTime) -> Result<Appended, StoreError> {
        let mut out = self
            .append_batch(std::slice::from_ref(ev), Admission::Local, None, now)
            .await
            .map_err(|e| match e {
                StoreError::InBatch { source, .. } => *source,
                other => other,
            })?;
        out.pop()
            .ok_or_else(|| StoreError::Corrupt("empty batch outcome".into()))
    }

    /// Appends a batch in one transaction, in order: either every event is stored (or found
    /// already stored) or nothing changes. `cursor`, when given, is saved in the same
    /// transaction, so a pull never acknowledges events it did not keep.
    pub async fn append_batch(
        &self,
        events: &[Event],
        admission: Admission,
        cursor: Option<(&str, i64)>,
        now: OffsetDateTime,
    ) -> Result<Vec<Appended>, StoreError> {
        let mut tx = self.begin_append().await?;
        let mut outcomes = Vec::with_capacity(events.len());
        for (index, ev) in events.iter().enumerate() {
            let outcome = tx
                .append(ev, admission, now)
                .await
                .map_err(|e| StoreError::InBatch {
                    index,
                    source: Box::new(e),
                })?;
            outcomes.push(outcome);
        }
        if let Some((peer, position)) = cursor {
            tx.save_cursor(peer, position, now).await?;
        }
        tx.commit().await?;
        Ok(outcomes)
    }

    /// Begins an append transaction that the caller holds: its appends commit together, and
    /// in `seq` order with every other append of the database (see [`CaseStore::begin_write`]).
    pub async fn begin_append(&self) -> Result<AppendTx<'_>, StoreError> {
        Ok(AppendTx {
            store: self,
            tx: self.begin_write().await?,
            last_seq: None,
        })
    }

    /// Begins a transaction that appends events, holding the database's one append lock until
    /// it ends.
    ///
    /// INVARIANT: events commit in the order of their local sequence numbers. A child's pull
    /// reads "every event after my cursor": were an event with a lower `seq` to commit after one
    /// with a higher `seq` had been served, the cursor would already have passed it and the child
    /// would never receive it. SQLite has one writer (`BEGIN IMMEDIATE` takes the write lock
    /// before the first read, so a read-then-write transaction waits instead of failing under
    /// WAL). PostgreSQL assigns `seq` at insert and commits concurrently, so every append takes
    /// one transaction-scoped advisory lock first: appends run one at a time on the database,
    /// across connections and across district replicas. The cost is that appends do not run in
    /// parallel, which they barely would anyway: each one is a few indexed statements.
    pub(crate) async fn begin_write(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Any>, StoreError> {
        Ok(match self.db.backend() {
            Backend::Sqlite => self.db.pool().begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => {
                let mut tx = self.db.pool().begin().await?;
                sqlx::query("SELECT 1 AS locked FROM pg_advisory_xact_lock($1)")
                    .bind(APPEND_LOCK_KEY)
                    .execute(&mut *tx)
                    .await?;
                tx
            }
        })
    }

    async fn append_in(
        &self,
        conn: &mut AnyConnection,
        ev: &Event,
        admission: Admission,
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

        if ev.occurred_at - now > self.limits.future_tolerance {
            return Err(StoreError::FromTheFuture {
                event_id: ev.event_id,
                occurred_at: ev.occurred_at,
                tolerance_secs: self.limits.future_tolerance.whole_seconds(),
            });
        }
        match admission {
            Admission::FromChild(peer) if !peer.is_same_or_ancestor_of(&ev.author) => {
                return Err(StoreError::OutsideSubtree {
                    peer,
                    case_id: ev.case_id,
                });
            }
            // A parent relays what was written above this node, never what was written in its
            // subtree: those events went up from here, and a parent cannot forge them.
            Admission::FromParent
                if self
                    .uplink
                    .is_some_and(|me| me.is_same_or_ancestor_of(&ev.author)) =>
            {
                return Err(StoreError::ForgedAuthor {
                    event_id: ev.event_id,
                    author: ev.author,
                });
            }
            _ => {}
        }
        let current = self.current_state(&mut *conn, &case_id).await?;
        let is_new = current.is_none();
        if is_new && admission != Admission::Local && !ev.kind().opens_case() {
            // The sender must send a case's log from its beginning.
            return Err(StoreError::UnknownCase(ev.case_id));
        }
        let state = match current {
            None => CaseState::open(ev)?,
            Some(mut state) => {
                if state.version >= self.limits.max_events_per_case {
                    return Err(StoreError::CaseTooLong {
                        case_id: ev.case_id,
                        max: self.limits.max_events_per_case,
                    });
                }
                state.apply(ev)?;
                state
            }
        };
        match admission {
            Admission::FromChild(peer) if !peer.is_same_or_ancestor_of(&state.origin) => {
                return Err(StoreError::OutsideSubtree {
                    peer,
                    case_id: ev.case_id,
                });
            }
            Admission::FromParent
                if self
                    .uplink
                    .is_some_and(|me| !me.is_same_or_ancestor_of(&state.origin)) =>
            {
                return Err(StoreError::OutsideSubtree {
                    peer: self.uplink.unwrap_or(state.origin),
                    case_id: ev.case_id,
                });
            }
            _ => {}
        }

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
                 version, updated_at, state_doc) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, \
                 $17)",
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
            .bind(state.to_stored())
            .execute(&mut *conn)
            .await?;
        } else {
            sqlx::query(
                "UPDATE cases SET holder = $2, stage = $3, item_code = $4, item_name = $5, \
                 applicant_display = $6, suspended = $7, accepted_at = $8, due_date = $9, \
                 closed_at = $10, visits = $11, version = $12, updated_at = $13, state_doc = $14 \
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
            .bind(state.to_stored())
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
        self.queue_upward(&mut *conn, ev, &state, is_new, now_ms)
            .await?;
        Ok(Appended::Stored {
            seq,
            state: Box::new(state),
        })
    }

    /// The case's state before the next event: its stored snapshot, or the fold of its log when
    /// the snapshot is missing (a case stored before snapshots existed) or cannot be used (another
    /// format). `None` for a case not stored here.
    async fn current_state(
        &self,
        conn: &mut AnyConnection,
        case_id: &str,
    ) -> Result<Option<CaseState>, StoreError> {
        let Some(row) = sqlx::query("SELECT state_doc, version FROM cases WHERE case_id = $1")
            .bind(case_id)
            .fetch_optional(&mut *conn)
            .await?
        else {
            return Ok(None);
        };
        let version: i64 = row.try_get("version")?;
        if let Some(doc) = row.try_get::<Option<String>, _>("state_doc")? {
            match CaseState::from_stored(&doc) {
                Ok(state) if i64::try_from(state.version).ok() == Some(version) => {
                    return Ok(Some(state));
                }
                Ok(_) => tracing::warn!(case_id, "stale state snapshot; folding the log"),
                Err(e) => {
                    tracing::warn!(case_id, error = %e, "unusable state snapshot; folding the log")
                }
            }
        }
        let history = load_events(&mut *conn, case_id).await?;
        if history.is_empty() {
            return Err(StoreError::Corrupt(format!("case {case_id} has no events")));
        }
        fold(&history)
            .map(Some)
            .map_err(|e| StoreError::Corrupt(format!("case {case_id} no longer folds: {e}")))
    }

    /// Queues events for the parent. A case is shared upward from the moment its holder is above
    /// this node; then its whole log so far goes up, and every later event written in this
    /// node's subtree follows. Events that came from above are never sent back up.
    async fn queue_upward(
        &self,
        conn: &mut AnyConnection,
        ev: &Event,
        state: &CaseState,
        is_new: bool,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let Some(me) = self.uplink else {
            return Ok(());
        };
        let case_id = ev.case_id.to_string();
        let shared: i64 = if is_new {
            0
        } else {
            sqlx::query("SELECT shared_up FROM cases WHERE case_id = $1")
                .bind(&case_id)
                .fetch_one(&mut *conn)
                .await?
                .try_get("shared_up")?
        };
        if shared != 0 {
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
            sqlx::query("UPDATE cases SET shared_up = 1 WHERE case_id = $1")
                .bind(&case_id)
                .execute(&mut *conn)
                .await?;
            sqlx::query(
                "INSERT INTO outbox (event_id, enqueued_at) \
                 SELECT event_id, $2 FROM case_events WHERE case_id = $1 ORDER BY seq \
                 ON CONFLICT (event_id) DO NOTHING",
            )
            .bind(&case_id)
            .bind(now_ms)
            .execute(&mut *conn)
            .await?;
        }
        Ok(())
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

    /// How many events wait for the parent.
    pub async fn outbox_len(&self) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM outbox")
            .fetch_one(self.db.pool())
            .await?;
        Ok(row.try_get("n")?)
    }

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

async fn load_events(conn: &mut AnyConnection, case_id: &str) -> Result<Vec<Event>, StoreError> {
    let rows = sqlx::query("SELECT doc FROM case_events WHERE case_id = $1 ORDER BY seq")
        .bind(case_id)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|r| parse_doc(&r.try_get::<String, _>("doc")?))
        .collect()
}

/// Rows of `(seq, doc)` as positions and events.
fn seq_and_events(rows: &[sqlx::any::AnyRow]) -> Result<Vec<(i64, Event)>, StoreError> {
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("seq")?,
                parse_doc(&r.try_get::<String, _>("doc")?)?,
            ))
        })
        .collect()
}

fn parse_doc(doc: &str) -> Result<Event, StoreError> {
    serde_json::from_str(doc).map_err(|e| StoreError::Corrupt(format!("stored event: {e}")))
}

fn date_string(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}
