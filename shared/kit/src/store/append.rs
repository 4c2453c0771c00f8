//! Appending events: the one append lock, the stored state, every check an event passes
//! before anything of it is written, and the open transaction a caller may hold.

use bangban_domain::calendar::Deadline;
use bangban_domain::case::{CaseState, fold};
use bangban_domain::event::Event;
use sqlx::{AnyConnection, Row};
use time::OffsetDateTime;

use super::*;
use crate::db::Backend;

/// An open append transaction (see [`CaseStore::begin_append`]). Dropping it rolls back.
pub struct AppendTx<'s> {
    store: &'s CaseStore,
    tx: sqlx::Transaction<'static, sqlx::Any>,
    last_seq: Option<i64>,
    /// What the appends of this transaction leave for its commit (see [`Deferred`]).
    deferred: Deferred,
}

/// What an append transaction keeps in memory between its appends. Every statement is a round
/// trip to the database's thread, and a batch from a child carries whole logs, so:
/// - `cases`: the state and `shared_up` of each case appended to, as written: the next event of
///   the case starts from it instead of reading and parsing the row again. An entry leaves
///   while its case is being appended to, so after a refused event the row is the only truth;
/// - `stages` and `digests`: the changes of the stage counts and of the day digests, sums that
///   many events touch, written once each by [`AppendTx::commit`] (additions and XORs commute,
///   so the order of events does not matter; nothing reads them inside the transaction).
#[derive(Default)]
pub(super) struct Deferred {
    pub(super) cases: std::collections::HashMap<String, (CaseState, bool)>,
    /// Event ids known not to be stored (one look-up for a whole batch, see
    /// [`CaseStore::append_batch`]); an id leaves as its event is appended.
    absent: std::collections::HashSet<String>,
    stages: std::collections::BTreeMap<String, i64>,
    digests: std::collections::BTreeMap<(&'static str, String, i64), (i64, i64)>,
}

impl Deferred {
    fn stage(&mut self, stage: &str, delta: i64) {
        *self.stages.entry(stage.to_owned()).or_default() += delta;
    }

    /// Adds `n` events whose hashes XOR to `x` to the day row of `scope`.
    pub(super) fn digest(&mut self, scope: &'static str, origin: &str, day: i64, n: i64, x: i64) {
        let e = self
            .digests
            .entry((scope, origin.to_owned(), day))
            .or_default();
        e.0 += n;
        e.1 ^= x;
    }

    async fn flush(&mut self, conn: &mut AnyConnection) -> Result<(), StoreError> {
        for (stage, delta) in std::mem::take(&mut self.stages) {
            if delta != 0 {
                count_stage(&mut *conn, &stage, delta).await?;
            }
        }
        for ((scope, origin, day), (n, x)) in std::mem::take(&mut self.digests) {
            digests::add_to_scope(&mut *conn, scope, &origin, day, n, x).await?;
        }
        Ok(())
    }
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
            .append_in(&mut self.tx, ev, admission, now, &mut self.deferred)
            .await?;
        if let Appended::Stored { seq, .. } = &outcome {
            self.last_seq = Some(*seq);
        }
        Ok(outcome)
    }

    /// Looks up in one query which of `events` are stored already; the others skip their own
    /// look-up when appended in this transaction.
    pub(crate) async fn note_absent(&mut self, events: &[Event]) -> Result<(), StoreError> {
        for chunk in events.chunks(500) {
            let placeholders: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "SELECT event_id FROM case_events WHERE event_id IN ({})",
                placeholders.join(", ")
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for ev in chunk {
                q = q.bind(ev.event_id.to_string());
            }
            let stored: std::collections::HashSet<String> = q
                .fetch_all(&mut *self.tx)
                .await?
                .iter()
                .map(|r| r.try_get::<String, _>("event_id"))
                .collect::<Result<_, _>>()?;
            for ev in chunk {
                let id = ev.event_id.to_string();
                if !stored.contains(&id) {
                    self.deferred.absent.insert(id);
                }
            }
        }
        Ok(())
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
    pub async fn commit(mut self) -> Result<(), StoreError> {
        self.deferred.flush(&mut self.tx).await?;
        self.tx.commit().await?;
        if let Some(seq) = self.last_seq {
            self.store.changes.send_replace(seq);
        }
        Ok(())
    }
}

impl CaseStore {
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
        tx.note_absent(events).await?;
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
            deferred: Deferred::default(),
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
        deferred: &mut Deferred,
    ) -> Result<Appended, StoreError> {
        let event_id = ev.event_id.to_string();
        let case_id = ev.case_id.to_string();

        // Idempotency before legality: a replay of a stored event is accepted even if the case
        // has moved on since.
        let known_absent = deferred.absent.remove(&event_id);
        if known_absent {
            // Looked up with its batch: not stored.
        } else if let Some(row) = sqlx::query("SELECT doc FROM case_events WHERE event_id = $1")
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
        self.admit_author(admission, ev)?;
        let (current, shared_up) = match deferred.cases.remove(&case_id) {
            Some((state, shared)) => (Some(state), Some(shared)),
            None => (self.current_state(&mut *conn, &case_id).await?, None),
        };
        let is_new = current.is_none();
        // What the stage count and the search terms compare against.
        let before = current
            .as_ref()
            .map(|s| (s.stage, s.item.clone(), s.applicant.clone()));
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
        self.admit_origin(admission, ev, state.origin)?;

        let due = match state.deadline(&self.policy.current().calendar) {
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
        // The digests reconciliation compares (see `digests`): the case's own, in its row.
        let hash = digests::event_hash(&ev.event_id);
        let day = digests::case_day(&state.case_no);
        if is_new {
            sqlx::query(
                "INSERT INTO cases (case_id, case_no, origin, holder, stage, item_code, item_name, \
                 applicant_display, suspended, opened_at, accepted_at, due_date, closed_at, visits, \
                 version, updated_at, state_doc, search_version, case_day, ev_n, ev_x) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, \
                 $17, $18, $19, 1, $20)",
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
            .bind(search::SEARCH_VERSION)
            .bind(day)
            .bind(hash)
            .execute(&mut *conn)
            .await?;
        } else {
            sqlx::query(concat!(
                "UPDATE cases SET holder = $2, stage = $3, item_code = $4, item_name = $5, \
                 applicant_display = $6, suspended = $7, accepted_at = $8, due_date = $9, \
                 closed_at = $10, visits = $11, version = $12, updated_at = $13, state_doc = $14, \
                 ev_n = ev_n + 1, ev_x = ",
                digests::xor_sql!("ev_x", "$15"),
                " WHERE case_id = $1"
            ))
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
            .bind(hash)
            .execute(&mut *conn)
            .await?;
        }

        // The row's companions, in the same transaction: its search terms and the stage counts.
        let terms_changed = match &before {
            None => true,
            Some((_, item, applicant)) => *item != state.item || *applicant != state.applicant,
        };
        if terms_changed {
            let salt = self.search_salt(&mut *conn).await?;
            let terms = search::terms_of(&state, &salt)?;
            CaseStore::write_terms(
                &mut *conn,
                &case_id,
                to_ms(state.opened_at),
                &terms,
                !is_new,
            )
            .await?;
        }
        match &before {
            None => deferred.stage(state.stage.as_str(), 1),
            Some((stage, _, _)) if *stage != state.stage => {
                deferred.stage(stage.as_str(), -1);
                deferred.stage(state.stage.as_str(), 1);
            }
            Some(_) => {}
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
        self.project_attachment(&mut *conn, ev).await?;
        let origin = state.origin.to_string();
        deferred.digest("all", &origin, day, 1, hash);
        let shared = self
            .queue_upward(
                &mut *conn,
                ev,
                &state,
                (is_new, shared_up),
                (now_ms, day, hash),
                deferred,
            )
            .await?;
        deferred.cases.insert(case_id, (state.clone(), shared));
        self.summarise(&mut *conn, &state, now_ms).await?;
        Ok(Appended::Stored {
            seq,
            state: Box::new(state),
        })
    }

    /// Who may send an event, by its author (checked before the fold): a child only what was
    /// written in its subtree; a parent relays what was written above this node, never what was
    /// written in its subtree (those events went up from here, and a parent cannot forge them).
    fn admit_author(&self, admission: Admission, ev: &Event) -> Result<(), StoreError> {
        within_child_subtree(admission, ev.author, ev)?;
        if admission == Admission::FromParent
            && self
                .uplink
                .is_some_and(|me| me.is_same_or_ancestor_of(&ev.author))
        {
            return Err(StoreError::ForgedAuthor {
                event_id: ev.event_id,
                author: ev.author,
            });
        }
        Ok(())
    }

    /// Who may send an event, by the origin of its case (checked after the fold): a child only
    /// cases born in its subtree, a parent only cases born in this node's subtree.
    fn admit_origin(
        &self,
        admission: Admission,
        ev: &Event,
        origin: StationCode,
    ) -> Result<(), StoreError> {
        within_child_subtree(admission, origin, ev)?;
        if matches!(admission, Admission::FromParent | Admission::Recovered)
            && self
                .uplink
                .is_some_and(|me| !me.is_same_or_ancestor_of(&origin))
        {
            return Err(StoreError::OutsideSubtree {
                peer: self.uplink.unwrap_or(origin),
                case_id: ev.case_id,
            });
        }
        Ok(())
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
}

/// Adds `delta` to the number of cases at `stage` (`case_stage_counts`).
async fn count_stage(conn: &mut AnyConnection, stage: &str, delta: i64) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO case_stage_counts (stage, n) VALUES ($1, $2) \
         ON CONFLICT (stage) DO UPDATE SET n = case_stage_counts.n + $2",
    )
    .bind(stage)
    .bind(delta)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A child may send only what concerns its own subtree: `station` (the event's author, or its
/// case's origin) must be the child or below it.
fn within_child_subtree(
    admission: Admission,
    station: StationCode,
    ev: &Event,
) -> Result<(), StoreError> {
    match admission {
        Admission::FromChild(peer) if !peer.is_same_or_ancestor_of(&station) => {
            Err(StoreError::OutsideSubtree {
                peer,
                case_id: ev.case_id,
            })
        }
        _ => Ok(()),
    }
}
