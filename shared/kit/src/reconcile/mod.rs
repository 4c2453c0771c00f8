//! Reconciliation between a child and its parent: both sides keep digests of the events they
//! should share (`crate::store::digests`), the child sends its digests level by level (all,
//! months, days of a differing month, cases of a differing day) and descends only into what
//! differs, so a check that finds nothing costs one small request whatever the size of the
//! logs. For each differing case the child reads the parent's log ([`server::case_log`]) and
//! repairs through the normal idempotent paths: what the parent lacks goes back in the outbox,
//! what this node lacks is stored. Events still in transit (queued here, or beyond this node's
//! pull cursor at the parent) are left to the link and not counted. Everything found is
//! recorded (`reconcile_runs`, `reconcile_repairs`), counted in metrics and reported to the
//! parent.
//!
//! A second lane compares the case summaries the same way (`sum` digests, one hash per case's
//! id and version): every summary a child holds (its own and those its children sent) should
//! be at the parent. One that the parent lacks or holds in another version is queued again in
//! `summary_outbox` for the `summary-push` job (the parent keeps the newer); one the parent
//! holds and the child lacks cannot be repaired from below (summaries only flow up) and is
//! recorded as such. Each run checks the events, then the summaries: a run that finds nothing
//! costs one request per lane.
//!
//! Children dial parents, here too: a parent that wants a child reconciled now records a
//! request ([`CaseStore::request_reconcile`]), which the child sees in the
//! [`REQUEST_HEADER`] of its next pull.

pub mod cli;
pub mod server;
pub mod wire;

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use bangban_domain::event::{CaseId, EventId};
use bangban_domain::station::StationCode;
use bangban_domain::wire::PulledEvent;
use serde::Serialize;
use serde::de::DeserializeOwned;
use time::OffsetDateTime;
use url::Url;

use crate::store::digests::{Digest, DigestSide};
use crate::store::{CaseStore, RepairRow, RunRow, to_ms};
use crate::sync::PARENT_CURSOR;
use crate::sync::client::{LinkError, endpoint, refused};
use wire::{CompareAnswer, CompareRequest, DigestEntry, Lane, Level, RunReport};

/// The response header of a pull that asks the child to reconcile now: the request's time
/// (unix milliseconds at the parent).
pub const REQUEST_HEADER: &str = "bangban-reconcile";

/// What one run found and did.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Its id in `reconcile_runs`.
    pub run_id: i64,
    pub run: RunRow,
    pub repairs: Vec<RepairRow>,
}

/// Counts the bytes and requests of one run.
struct Session<'a> {
    client: &'a reqwest::Client,
    parent: &'a Url,
    requests: i64,
    bytes: i64,
}

impl Session<'_> {
    async fn post<B: Serialize, R: DeserializeOwned>(
        &mut self,
        path: &str,
        body: &B,
    ) -> Result<R, LinkError> {
        let body = serde_json::to_vec(body).map_err(|e| LinkError::Refused {
            status: 0,
            body: e.to_string(),
            code: None,
            event_id: None,
        })?;
        self.requests += 1;
        self.bytes += i64::try_from(body.len()).unwrap_or(i64::MAX);
        let res = self
            .client
            .post(endpoint(self.parent, path))
            .timeout(Duration::from_secs(60))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await?;
        self.read(res).await
    }

    /// GETs `path`; `None` on 404.
    async fn get<R: DeserializeOwned>(&mut self, path: &str) -> Result<Option<R>, LinkError> {
        self.requests += 1;
        let res = self
            .client
            .get(endpoint(self.parent, path))
            .timeout(Duration::from_secs(60))
            .send()
            .await?;
        if res.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        self.read(res).await.map(Some)
    }

    async fn read<R: DeserializeOwned>(&mut self, res: reqwest::Response) -> Result<R, LinkError> {
        if !res.status().is_success() {
            return Err(refused(res).await);
        }
        let bytes = res.bytes().await?;
        self.bytes += i64::try_from(bytes.len()).unwrap_or(i64::MAX);
        serde_json::from_slice(&bytes).map_err(|e| LinkError::Refused {
            status: 200,
            body: format!("the parent's answer is not what was asked for: {e}"),
            code: None,
            event_id: None,
        })
    }

    async fn compare(
        &mut self,
        lane: Lane,
        level: Level,
        within: Option<i64>,
        mine: &BTreeMap<String, Digest>,
    ) -> Result<Vec<DigestEntry>, LinkError> {
        let req = CompareRequest {
            lane,
            level,
            within,
            digests: mine
                .iter()
                .map(|(k, d)| DigestEntry::of(k.clone(), *d))
                .collect(),
        };
        let answer: CompareAnswer = self.post("/v1/reconcile", &req).await?;
        Ok(answer.differ)
    }
}

/// What the repairs of one run add up to.
#[derive(Default)]
struct Tally {
    cases: i64,
    sent_up: i64,
    fetched_down: i64,
    /// Of both lanes.
    unrepairable: i64,
    summaries_sent: i64,
    summaries_unrepairable: i64,
    repairs: Vec<RepairRow>,
}

impl Tally {
    fn found(&mut self, case_id: CaseId, event_id: Option<EventId>, direction: &'static str) {
        match direction {
            "up" => self.sent_up += 1,
            "down" => self.fetched_down += 1,
            _ => self.unrepairable += 1,
        }
        self.repairs.push(RepairRow {
            lane: Lane::Events,
            case_id,
            event_id,
            direction,
        });
    }

    fn found_summary(&mut self, case_id: CaseId, direction: &'static str) {
        if direction == "up" {
            self.summaries_sent += 1;
        } else {
            self.unrepairable += 1;
            self.summaries_unrepairable += 1;
        }
        self.repairs.push(RepairRow {
            lane: Lane::Summaries,
            case_id,
            event_id: None,
            direction,
        });
    }
}

/// Runs one reconciliation of this node (`me`) with its parent, telling `progress` what it
/// does, then records it and reports it to the parent. A run that fails part-way is recorded as
/// failed; what it repaired before stays repaired.
pub async fn run_once(
    store: &CaseStore,
    client: &reqwest::Client,
    parent: &Url,
    me: StationCode,
    requested_at_ms: Option<i64>,
    progress: &mut (dyn FnMut(&str) + Send),
) -> Result<Outcome, LinkError> {
    let started = OffsetDateTime::now_utc();
    let mut session = Session {
        client,
        parent,
        requests: 0,
        bytes: 0,
    };
    let mut tally = Tally::default();
    let mut result = descend(store, &mut session, me, Lane::Events, &mut tally, progress).await;
    if result.is_ok() {
        result = descend(
            store,
            &mut session,
            me,
            Lane::Summaries,
            &mut tally,
            progress,
        )
        .await;
    }
    let finished = OffsetDateTime::now_utc();
    let (ok, detail) = match &result {
        Ok(()) if tally.repairs.is_empty() => (true, "no difference".to_owned()),
        Ok(()) => (
            true,
            format!(
                "{} case(s) differed: {} event(s) sent up, {} fetched, {} unrepairable; \
                 summaries: {} re-sent, {} unrepairable",
                tally.cases,
                tally.sent_up,
                tally.fetched_down,
                tally.unrepairable - tally.summaries_unrepairable,
                tally.summaries_sent,
                tally.summaries_unrepairable
            ),
        ),
        Err(e) => (false, e.to_string().chars().take(500).collect()),
    };
    let run = RunRow {
        peer: "parent".to_owned(),
        started_at_ms: to_ms(started),
        finished_at_ms: to_ms(finished),
        ok,
        requests: session.requests,
        bytes: session.bytes,
        cases_checked: tally.cases,
        sent_up: tally.sent_up,
        fetched_down: tally.fetched_down,
        unrepairable: tally.unrepairable,
        summaries_sent: tally.summaries_sent,
        detail,
    };
    let run_id = store.record_run(&run, &tally.repairs).await?;
    for (lane, direction, n) in [
        ("events", "up", tally.sent_up),
        ("events", "down", tally.fetched_down),
        (
            "events",
            "unrepairable",
            tally.unrepairable - tally.summaries_unrepairable,
        ),
        ("summaries", "up", tally.summaries_sent),
        ("summaries", "unrepairable", tally.summaries_unrepairable),
    ] {
        metrics::counter!("bangban_reconcile_discrepancies_total", "lane" => lane, "direction" => direction)
            .increment(u64::try_from(n).unwrap_or_default());
    }
    metrics::counter!("bangban_reconcile_runs_total", "outcome" => if ok { "ok" } else { "failed" })
        .increment(1);
    metrics::gauge!("bangban_reconcile_last_run_timestamp_seconds")
        .set(finished.unix_timestamp() as f64);
    if !tally.repairs.is_empty() {
        tracing::warn!(
            cases = tally.cases,
            sent_up = tally.sent_up,
            fetched_down = tally.fetched_down,
            unrepairable = tally.unrepairable,
            summaries_sent = tally.summaries_sent,
            "reconciliation found differences with the parent"
        );
    }
    result?;
    // The parent's record; the run stands whether or not the report arrives.
    let report = RunReport {
        requested_at_ms,
        run: run.clone(),
    };
    match client
        .post(endpoint(parent, "/v1/reconcile/report"))
        .timeout(Duration::from_secs(30))
        .json(&report)
        .send()
        .await
    {
        Ok(res) if res.status().is_success() => {}
        Ok(res) => {
            tracing::warn!(status = %res.status(), "the parent refused the reconciliation report")
        }
        Err(e) => tracing::warn!(error = %e, "the reconciliation report did not reach the parent"),
    }
    Ok(Outcome {
        run_id,
        run,
        repairs: tally.repairs,
    })
}

/// Compares one lane level by level, descending only into what differs, and repairs what it
/// finds at the level of cases.
async fn descend(
    store: &CaseStore,
    session: &mut Session<'_>,
    me: StationCode,
    lane: Lane,
    tally: &mut Tally,
    progress: &mut (dyn FnMut(&str) + Send),
) -> Result<(), LinkError> {
    use server::digests_at;
    let side = DigestSide::Up;
    let (zh, en) = match lane {
        Lane::Events => ("条记录", "events"),
        Lane::Summaries => ("份办件摘要", "case summaries"),
    };
    let root = digests_at(store, lane, side, Level::Root, None).await?;
    let total = root.get("all").copied().unwrap_or_default();
    progress(&format!(
        "比对全部 {} {zh} / comparing all {} {en}",
        total.n, total.n
    ));
    if session
        .compare(lane, Level::Root, None, &root)
        .await?
        .is_empty()
    {
        progress("一致 / no difference");
        return Ok(());
    }
    let months = digests_at(store, lane, side, Level::Months, None).await?;
    let months = session.compare(lane, Level::Months, None, &months).await?;
    progress(&format!(
        "{} 个月份不一致 / {} month(s) differ",
        months.len(),
        months.len()
    ));
    for m in months {
        let month: i64 = m.key.parse().unwrap_or_default();
        let days = digests_at(store, lane, side, Level::Days, Some(month)).await?;
        let days = session
            .compare(lane, Level::Days, Some(month), &days)
            .await?;
        progress(&format!(
            "{month}: {} 天不一致 / {} day(s) differ",
            days.len(),
            days.len()
        ));
        for d in days {
            let day: i64 = d.key.parse().unwrap_or_default();
            let mine = digests_at(store, lane, side, Level::Cases, Some(day)).await?;
            let cases = session
                .compare(lane, Level::Cases, Some(day), &mine)
                .await?;
            progress(&format!(
                "{day}: {} 件不一致 / {} case(s) differ",
                cases.len(),
                cases.len()
            ));
            match lane {
                Lane::Events => {
                    for c in cases {
                        let Ok(case_id) = c.key.parse::<CaseId>() else {
                            continue;
                        };
                        repair_case(store, session, me, case_id, tally).await?;
                    }
                }
                Lane::Summaries => repair_summaries(store, &mine, cases, tally).await?,
            }
        }
    }
    match lane {
        Lane::Events => progress(&format!(
            "上报 {} 条，补收 {} 条，无法修复 {} 条 / {} sent up, {} fetched, {} unrepairable",
            tally.sent_up,
            tally.fetched_down,
            tally.unrepairable,
            tally.sent_up,
            tally.fetched_down,
            tally.unrepairable
        )),
        Lane::Summaries => progress(&format!(
            "重新上报摘要 {} 份，无法修复 {} 份 / {} summaries re-sent, {} unrepairable",
            tally.summaries_sent,
            tally.summaries_unrepairable,
            tally.summaries_sent,
            tally.summaries_unrepairable
        )),
    }
    Ok(())
}

/// Repairs the summaries of one day that differ: those this node holds are queued again for
/// the parent (which keeps the newer version), unless they wait in the queue already (in
/// transit, not counted); those only the parent holds cannot come from below.
async fn repair_summaries(
    store: &CaseStore,
    mine: &BTreeMap<String, Digest>,
    differ: Vec<DigestEntry>,
    tally: &mut Tally,
) -> Result<(), LinkError> {
    let mut resend = Vec::new();
    for c in differ {
        let Ok(case_id) = c.key.parse::<CaseId>() else {
            continue;
        };
        if mine.contains_key(&c.key) {
            resend.push((case_id, c.key));
        } else {
            tracing::warn!(case_id = %case_id, "the parent holds a case summary this node lacks");
            tally.found_summary(case_id, "unrepairable");
        }
    }
    let keys: Vec<String> = resend.iter().map(|(_, k)| k.clone()).collect();
    let queued: HashSet<String> = store
        .requeue_summaries(&keys, OffsetDateTime::now_utc())
        .await?
        .into_iter()
        .collect();
    for (case_id, key) in resend {
        if queued.contains(&key) {
            tally.found_summary(case_id, "up");
        }
    }
    Ok(())
}

/// Brings one case's log to the same events on both sides.
async fn repair_case(
    store: &CaseStore,
    session: &mut Session<'_>,
    me: StationCode,
    case_id: CaseId,
    tally: &mut Tally,
) -> Result<(), LinkError> {
    tally.cases += 1;
    let theirs: Vec<PulledEvent> = session
        .get(&format!("/v1/reconcile/cases/{case_id}"))
        .await?
        .unwrap_or_default();
    let mine = store
        .case_log(case_id)
        .await?
        .map(|(_, events)| events)
        .unwrap_or_default();
    let their_ids: HashSet<EventId> = theirs.iter().map(|p| p.event.event_id).collect();
    let my_ids: HashSet<EventId> = mine.iter().map(|e| e.event.event_id).collect();

    // What this node lacks: stored now; counted unless it is simply not pulled yet.
    let cursor = store.cursor(PARENT_CURSOR).await?;
    let lacking_here: Vec<_> = theirs
        .iter()
        .filter(|p| !my_ids.contains(&p.event.event_id))
        .collect();
    if !lacking_here.is_empty() {
        let events: Vec<_> = lacking_here.iter().map(|p| p.event.clone()).collect();
        let refused: HashSet<EventId> = store
            .apply_recovered(&events, OffsetDateTime::now_utc())
            .await?
            .into_iter()
            .map(|(id, why)| {
                tracing::warn!(case_id = %case_id, event_id = %id, reason = %why, "an event of the parent's log is refused here");
                id
            })
            .collect();
        for p in lacking_here {
            let id = p.event.event_id;
            if refused.contains(&id) {
                tally.found(case_id, Some(id), "unrepairable");
            } else if p.seq <= cursor || me.is_same_or_ancestor_of(&p.event.author) {
                tally.found(case_id, Some(id), "down");
            }
        }
    }

    // What the parent lacks: queued again, unless it is queued already or set aside.
    let lacking_there: Vec<_> = mine
        .iter()
        .filter(|e| !their_ids.contains(&e.event.event_id))
        .collect();
    if lacking_there.is_empty() {
        return Ok(());
    }
    let ids: Vec<EventId> = lacking_there.iter().map(|e| e.event.event_id).collect();
    let (queued, dead) = store.upward_state(&ids).await?;
    let mut requeue = Vec::new();
    for e in lacking_there {
        let id = e.event.event_id;
        if queued.contains(&id) {
            continue; // in transit
        }
        if dead.contains(&id) || !me.is_same_or_ancestor_of(&e.event.author) {
            // Set aside for a person to decide, or written above this node: the parent must
            // have had it, and no child may send what it did not write.
            tally.found(case_id, Some(id), "unrepairable");
        } else {
            tally.found(case_id, Some(id), "up");
            requeue.push(id);
        }
    }
    if !requeue.is_empty() {
        store
            .requeue_case(case_id, &requeue, OffsetDateTime::now_utc())
            .await?;
    }
    Ok(())
}
