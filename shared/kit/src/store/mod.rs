//! The case store: append-only case event logs with a projection for lists, on SQLite or
//! PostgreSQL through one implementation.
//!
//! Every append applies the event to the case's stored state with the shared state machine
//! before writing, inside one transaction, so an illegal event changes nothing. Storing an event
//! id twice is a no-op, so any transfer may be retried blindly. Handlers never build SQL: they
//! call this module.
//!
//! - `append`: the append lock, the checks, the stored state, [`AppendTx`];
//! - `cases`: a case's log and state, lists, counts;
//! - `outbox`: what waits for the parent; `cursors`: what a child pulls, and pull positions;
//! - `personal`: audited reads of a case's full personal data, and their trail;
//! - `attachments`: the rows of the cases' attachments (the blobs are `crate::attachments`);
//! - `numbering`: human case numbers; `dead_letters`: events set aside; `error`: [`StoreError`];
//! - `search`: what a case is found by;
//! - `summaries`: case summaries (no personal data) written with each event of this node's own
//!   cases or received from children, and the queue of those waiting for the parent.
//!
//! # Lists at a million cases
//!
//! Lists read newest first and page by keyset ([`ListCursor`]: the last row's `opened_at` and
//! `case_id`), each filter with an index in that order, so a deep page costs what the first one
//! does. The start page's tiles count open cases only, through partial indexes over open cases;
//! the count per stage is kept in `case_stage_counts` by every write of a case row.
//!
//! # Search, and where personal data may be
//!
//! Decision: a case is found through `case_terms`, one row per term, written in the same
//! transaction as the case's row by the one place that writes case rows (`append_in`, which
//! both local steps and synced events pass through); rows stored before terms existed are
//! filled when the database is opened (`Db::migrate`). A case's terms are its number (also
//! without the station code), its item's code and name, the applicant's name as lists show it
//! (`张*` for a person, a company's in full), the last 4 characters of the applicant's
//! identifier (resident ID number or credit code), and two keyed digests: of the full
//! identifier and of a person's full name. A typed search finds every case with a term that
//! starts with it (`%` and `_` are plain characters), or whose digest equals that of the typed
//! text, so typing a full ID number or a full name finds the case without either being stored
//! in a column a list could read. The digests are argon2id at minimum cost keyed with a random
//! per-database secret (`node_secrets.search_salt`), made when first needed and never synced:
//! each node computes its own. The key lives in the same database, so the digests keep
//! personal data out of lists and logs, not from whoever holds the file (which holds the
//! events in full anyway).

use std::sync::Arc;

use bangban_domain::case::CaseState;
use bangban_domain::event::Event;
use bangban_domain::station::StationCode;
use serde::Serialize;
use sqlx::{AnyConnection, Row};
use time::{Date, OffsetDateTime};

use crate::db::Db;
use crate::policy::PolicyHandle;

mod append;
mod attachments;
mod cases;
mod cursors;
mod dead_letters;
pub mod digests;
mod error;
mod numbering;
mod outbox;
mod personal;
mod reconcile;
mod search;
mod summaries;

pub use append::AppendTx;
pub use attachments::AttachmentRow;
pub use cases::DayCounts;
pub use dead_letters::{DeadLetter, DeadLetterCounts, DeadLetterError, Direction, PullApplied};
pub use error::StoreError;
pub use numbering::{GAP_NUMBERS_LISTED, NumberGap, recent_days};
pub use outbox::Queued;
pub use personal::{PersonalDataView, PersonalViewFilter};
pub use reconcile::{LoggedEvent, RepairRow, RunRow};
pub use summaries::{SummaryCounts, SummaryFilter, SummaryRow};

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
    /// Fetched from the parent by reconciliation: as [`Admission::FromParent`], and events
    /// written in this node's subtree are admitted too. Those are this node's own events that it
    /// no longer has (it was restored from an older backup); only its parent, whose certificate
    /// vouches for it, can give them back.
    Recovered,
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
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CaseSummary {
    pub case_id: String,
    /// `<station code>-<yyyymmdd>-<seq>`
    pub case_no: String,
    /// The station where the applicant came.
    pub origin: String,
    /// The station that holds the case now.
    pub holder: String,
    #[schema(value_type = bangban_domain::case::Stage)]
    pub stage: String,
    pub item_code: Option<String>,
    pub item_name: Option<String>,
    /// The applicant's name, a person's masked.
    pub applicant: Option<String>,
    pub suspended: bool,
    /// When the case was opened, in milliseconds since the Unix epoch.
    pub opened_at_ms: i64,
    /// The promised deadline (`YYYY-MM-DD`), when the clock runs.
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
    /// Only cases found by this text (see the module doc: number, item, the applicant's
    /// masked name or full name, the last 4 characters or the whole of the identifier).
    pub search: Option<String>,
    /// Only open cases with a due date in this window.
    pub due: Option<DueFilter>,
    /// Only cases after (older than) or before (newer than) this row of an earlier page.
    pub keyset: Option<Keyset>,
    pub limit: u32,
    pub offset: u32,
}

/// Which open cases a list shows by their due date (dates are local `YYYY-MM-DD`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DueFilter {
    /// Due before `today`.
    Overdue { today: String },
    /// Due from `today` up to and including `by` (the start page's "due soon").
    Soon { today: String, by: String },
}

/// Where a page starts, relative to a row of the page next to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Keyset {
    /// The rows after this one (the next page).
    After(ListCursor),
    /// The rows before this one (the previous page); still returned newest first.
    Before(ListCursor),
}

/// A row's place in a list (newest first): `<opened_at ms>.<case_id>` in links.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListCursor {
    pub opened_at_ms: i64,
    pub case_id: String,
}

impl ListCursor {
    /// The place of a listed row.
    pub fn of(row: &CaseSummary) -> ListCursor {
        ListCursor {
            opened_at_ms: row.opened_at_ms,
            case_id: row.case_id.clone(),
        }
    }

    /// Reads the form [`ListCursor`]'s `Display` writes; `None` for anything else.
    pub fn parse(text: &str) -> Option<ListCursor> {
        let (ms, id) = text.split_once('.')?;
        if ms.is_empty() || !ms.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let case_id = id.parse::<bangban_domain::event::CaseId>().ok()?;
        Some(ListCursor {
            opened_at_ms: ms.parse().ok()?,
            case_id: case_id.to_string(),
        })
    }
}

impl std::fmt::Display for ListCursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.opened_at_ms, self.case_id)
    }
}

/// Cases and their events, over one database.
#[derive(Clone)]
pub struct CaseStore {
    db: Db,
    /// The policy in force (the calendar computes due dates).
    policy: PolicyHandle,
    /// This node's code, when it has a parent to push to: events of cases escalated above it are
    /// then queued in the outbox in the same transaction as they are stored.
    uplink: Option<StationCode>,
    /// This node's code, when it summarises its own cases: the summary of every case whose
    /// origin it is, written with each event of the case (see `summaries`).
    me: Option<StationCode>,
    /// Summaries stored and refused since start, for `/metrics`.
    summary_counts: Arc<SummaryCounts>,
    /// The local sequence number of the last stored event; wakes long-polls and the forwarder.
    changes: Arc<tokio::sync::watch::Sender<i64>>,
    limits: AppendLimits,
    /// Where this node keeps attachments; `None`: it takes none (uploads are refused).
    attachments: Option<crate::attachments::Attachments>,
    /// The key of the search digests, read from the database on first use.
    salt: Arc<tokio::sync::OnceCell<Arc<[u8]>>>,
    /// Up to how many matching terms a search reads by key and sorts (see [`CaseStore::list`]).
    few_matches: i64,
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
    format!("{}%", code.subtree_prefix())
}

impl CaseStore {
    /// A store over `db` that works by `policy` (a [`PolicyHandle`], or just a calendar).
    pub fn new(db: Db, policy: impl Into<PolicyHandle>) -> Self {
        CaseStore {
            db,
            policy: policy.into(),
            uplink: None,
            me: None,
            summary_counts: Arc::default(),
            changes: Arc::new(tokio::sync::watch::channel(0).0),
            limits: AppendLimits::default(),
            attachments: None,
            salt: Arc::new(tokio::sync::OnceCell::new()),
            few_matches: 2_000,
        }
    }

    /// Keeps attachments (uploads, and blobs received from children) as `attachments` says.
    pub fn with_attachments(mut self, attachments: crate::attachments::Attachments) -> Self {
        self.attachments = Some(attachments);
        self
    }

    /// This node's attachments, when it keeps any.
    pub fn attachments(&self) -> Option<&crate::attachments::Attachments> {
        self.attachments.as_ref()
    }

    /// Sets up to how many matching terms a search reads by key and sorts before it reads the
    /// cases in order instead (default 2,000, see BENCHMARKS.md). Both ways find the same
    /// cases; tests set it to take one or the other.
    pub fn with_few_matches(mut self, few_matches: i64) -> Self {
        self.few_matches = few_matches;
        self
    }

    /// Sets the limits every append checks.
    pub fn with_limits(mut self, limits: AppendLimits) -> Self {
        self.limits = limits;
        self
    }

    pub fn limits(&self) -> AppendLimits {
        self.limits
    }

    /// Queues, for the parent, the events of cases escalated above `me` (see [`CaseStore`]),
    /// and the summaries of `me`'s own cases and of those its children send.
    pub fn with_uplink(mut self, me: StationCode) -> Self {
        self.uplink = Some(me);
        self.me = Some(me);
        self
    }

    /// Writes the summary of every case whose origin is `me` with each of its events (a node
    /// with a parent does so from [`CaseStore::with_uplink`] on).
    pub fn of_station(mut self, me: StationCode) -> Self {
        self.me = Some(me);
        self
    }

    /// This node's code, when it summarises its own cases.
    pub fn me(&self) -> Option<StationCode> {
        self.me
    }

    /// A receiver that changes whenever events are stored.
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<i64> {
        self.changes.subscribe()
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The policy this store works by.
    pub fn policy(&self) -> &PolicyHandle {
        &self.policy
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

/// Writes the search terms of cases stored before they existed; see `search::fill_pending`.
pub(crate) async fn fill_search_terms(db: &Db) -> Result<u64, StoreError> {
    search::fill_pending(db).await
}

pub(crate) async fn fill_digests(db: &Db) -> Result<u64, StoreError> {
    digests::fill_pending(db).await
}

/// Writes the `sum` digests of summaries stored before they existed; see
/// `digests::fill_summaries`.
pub(crate) async fn fill_summary_digests(db: &Db) -> Result<u64, StoreError> {
    digests::fill_summaries(db).await
}

fn date_string(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}
