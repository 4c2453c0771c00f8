//! The case state machine: a pure fold from a case's events to its state, and the check that
//! refuses an event the current state does not allow, naming the state and the event.
//!
//! INVARIANT: only the holder appends state-changing events; visits, evaluations, comments and
//! attachments may come from any station on the path from the origin up to the district.
//!
//! Longer than our ~600 lines: the fold is one `match` over every (event, stage) pair, which
//! reads best whole; its tests are in their own files.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::Bilingual;
use crate::calendar::{self, CalendarError, Deadline, WorkingCalendar};
use crate::event::{
    Applicant, CaseId, CaseNumber, CaseType, Channel, Delivery, Event, EventBody, EventError,
    EventKind, ItemRef, Outcome, PreReview, Satisfaction, TerminationReason, VisitKind,
};
use crate::station::{StationCode, Tier};

/// Where a case stands in its lifecycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// A question answered; may become an application.
    Consultation,
    /// An application taken in, awaiting pre-review.
    Received,
    /// Pre-reviewed with materials missing or to correct; the one-time notice is due.
    Incomplete,
    /// One-time notice issued; waiting for the applicant's materials.
    AwaitingSupplement,
    /// Materials complete: to the window (immediate item) or to a delegation (promised item).
    Reviewed,
    /// The agent accompanied the applicant to the window (帮办).
    AtWindow,
    /// Delegation agreement signed (代办); handling not yet started.
    Delegated,
    /// Being handled by the holder.
    InProgress,
    /// Handed up; the higher tier has not yet accepted it.
    Escalated,
    /// The result is out, not yet with the applicant.
    ResultReady,
    /// The result reached the applicant.
    HandedOver,
    Completed,
    Terminated,
}

impl Stage {
    pub const ALL: [Stage; 13] = [
        Stage::Consultation,
        Stage::Received,
        Stage::Incomplete,
        Stage::AwaitingSupplement,
        Stage::Reviewed,
        Stage::AtWindow,
        Stage::Delegated,
        Stage::InProgress,
        Stage::Escalated,
        Stage::ResultReady,
        Stage::HandedOver,
        Stage::Completed,
        Stage::Terminated,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Consultation => "consultation",
            Stage::Received => "received",
            Stage::Incomplete => "incomplete",
            Stage::AwaitingSupplement => "awaiting_supplement",
            Stage::Reviewed => "reviewed",
            Stage::AtWindow => "at_window",
            Stage::Delegated => "delegated",
            Stage::InProgress => "in_progress",
            Stage::Escalated => "escalated",
            Stage::ResultReady => "result_ready",
            Stage::HandedOver => "handed_over",
            Stage::Completed => "completed",
            Stage::Terminated => "terminated",
        }
    }

    pub fn parse(s: &str) -> Option<Stage> {
        Stage::ALL.into_iter().find(|st| st.as_str() == s)
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Stage::Consultation => "咨询",
            Stage::Received => "已受理待预审",
            Stage::Incomplete => "材料不全",
            Stage::AwaitingSupplement => "待补正材料",
            Stage::Reviewed => "材料齐全",
            Stage::AtWindow => "陪同窗口办理",
            Stage::Delegated => "已签委托",
            Stage::InProgress => "办理中",
            Stage::Escalated => "已上报待接收",
            Stage::ResultReady => "结果已出",
            Stage::HandedOver => "已交付",
            Stage::Completed => "已办结",
            Stage::Terminated => "已终止",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            Stage::Consultation => "Consultation",
            Stage::Received => "Received, awaiting pre-review",
            Stage::Incomplete => "Materials incomplete",
            Stage::AwaitingSupplement => "Awaiting supplement",
            Stage::Reviewed => "Materials complete",
            Stage::AtWindow => "Assisted at the window",
            Stage::Delegated => "Delegated",
            Stage::InProgress => "In progress",
            Stage::Escalated => "Escalated, awaiting acceptance",
            Stage::ResultReady => "Result ready",
            Stage::HandedOver => "Handed over",
            Stage::Completed => "Completed",
            Stage::Terminated => "Terminated",
        }
    }

    /// Open until completed or terminated.
    pub fn is_open(self) -> bool {
        !matches!(self, Stage::Completed | Stage::Terminated)
    }
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why an event cannot be appended to a case.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error("event `{kind}` is not allowed when the case is `{stage}`")]
    Illegal { stage: Stage, kind: EventKind },
    #[error("event `{kind}` is not allowed while the case is suspended")]
    WhileSuspended { kind: EventKind },
    #[error("a case must begin with a consultation or an application, not `{kind}`")]
    MustOpen { kind: EventKind },
    #[error("event `{kind}` can only open a case; this case is already open")]
    AlreadyOpen { kind: EventKind },
    #[error("station {author} is not the holder of this case ({holder} is)")]
    NotHolder {
        author: StationCode,
        holder: StationCode,
    },
    #[error("station {author} is not on this case's path from its origin station")]
    OutsideChain {
        author: StationCode,
        origin: StationCode,
    },
    #[error("the event belongs to another case")]
    OtherCase,
    #[error("a case needs at least one event")]
    NoEvents,
    #[error("cannot escalate from a {from} station to the {to} tier")]
    EscalationTier { from: Tier, to: Tier },
    #[error("cannot return the case to {to}: it did not hold the case before")]
    ReturnTarget { to: StationCode },
    #[error("event `{kind}` does not fit a {case_type:?} item")]
    CaseType {
        kind: EventKind,
        case_type: CaseType,
    },
    #[error(transparent)]
    Invalid(#[from] EventError),
}

impl Bilingual for TransitionError {
    fn code(&self) -> &'static str {
        match self {
            TransitionError::Illegal { .. } => "case.illegal_transition",
            TransitionError::WhileSuspended { .. } => "case.suspended",
            TransitionError::MustOpen { .. } => "case.must_open",
            TransitionError::AlreadyOpen { .. } => "case.already_open",
            TransitionError::NotHolder { .. } => "case.not_holder",
            TransitionError::OutsideChain { .. } => "case.outside_chain",
            TransitionError::OtherCase => "case.other_case",
            TransitionError::NoEvents => "case.no_events",
            TransitionError::EscalationTier { .. } => "case.escalation_tier",
            TransitionError::ReturnTarget { .. } => "case.return_target",
            TransitionError::CaseType { .. } => "case.case_type",
            TransitionError::Invalid(e) => e.code(),
        }
    }

    fn message_zh(&self) -> String {
        match self {
            TransitionError::Illegal { stage, kind } => format!(
                "办件当前状态为“{}”，不能进行“{}”",
                stage.label_zh(),
                kind.label_zh()
            ),
            TransitionError::WhileSuspended { kind } => {
                format!("办件已中止，不能进行“{}”，请先恢复办理", kind.label_zh())
            }
            TransitionError::MustOpen { kind } => format!(
                "新办件须从“咨询登记”或“申请受理登记”开始，不能从“{}”开始",
                kind.label_zh()
            ),
            TransitionError::AlreadyOpen { kind } => {
                format!("该办件已存在，不能再次进行“{}”", kind.label_zh())
            }
            TransitionError::NotHolder { author, holder } => format!(
                "本站（{author}）不是该办件的当前承办站点（当前为 {holder}），不能变更办件状态"
            ),
            TransitionError::OutsideChain { author, .. } => {
                format!("站点 {author} 不在该办件的上报链路上，无权查看或登记")
            }
            TransitionError::OtherCase => "该事件不属于此办件".to_owned(),
            TransitionError::NoEvents => "办件没有任何记录".to_owned(),
            TransitionError::EscalationTier { from, to } => format!(
                "不能从{}站点上报到{}层级，只能上报到更高层级",
                from.label_zh(),
                to.label_zh()
            ),
            TransitionError::ReturnTarget { to } => {
                format!("不能退回站点 {to}：该站点此前未承办此办件")
            }
            TransitionError::CaseType { kind, case_type } => format!(
                "“{}”不适用于{}",
                kind.label_zh(),
                match case_type {
                    CaseType::Immediate => "即办件",
                    CaseType::Promised => "承诺件",
                }
            ),
            TransitionError::Invalid(e) => e.message_zh(),
        }
    }
}

/// A case as its events leave it.
///
/// Its `Serialize` leaves personal data out (for views and logs); [`CaseState::to_stored`] and
/// [`CaseState::from_stored`] keep everything, for the store's snapshot beside the log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CaseState {
    pub case_id: CaseId,
    pub case_no: CaseNumber,
    /// Where the applicant came; the case belongs to this station's subtree for life.
    pub origin: StationCode,
    /// The one station that may change the case's state.
    pub holder: StationCode,
    /// Earlier holders still below the current one, oldest first: where a return may go.
    pub chain: Vec<StationCode>,
    pub stage: Stage,
    pub channel: Channel,
    pub item: Option<ItemRef>,
    #[serde(skip)]
    pub applicant: Option<Applicant>,
    pub opened_at: OffsetDateTime,
    /// When the materials were first found complete: the clock starts here.
    pub accepted_at: Option<OffsetDateTime>,
    /// Every stop of the clock, the last one open while suspended.
    #[serde(skip)]
    pub suspensions: Vec<calendar::Suspension>,
    pub last_review: Option<PreReview>,
    /// Personal data (recipient, address, phone): never serialised with the state.
    #[serde(skip)]
    pub delivery: Option<Delivery>,
    pub termination: Option<TerminationReason>,
    pub closed_at: Option<OffsetDateTime>,
    /// Trips the applicant made to a centre (goal: at most one).
    pub visits: u32,
    pub home_visits: u32,
    pub one_time_notices: u32,
    pub escalations: u32,
    pub evaluations: Vec<Satisfaction>,
    /// Whether a comment was recorded after the last evaluation: how a bad rating is followed
    /// up (差评回访).
    #[serde(default)]
    pub followed_up: bool,
    /// The agent named on the delegation agreement (代办), once one is signed.
    #[serde(default)]
    pub agent: Option<String>,
    /// Whether the agent accompanied the applicant to the window (帮办).
    #[serde(default)]
    pub assisted: bool,
    /// The result's outcome, once it is out.
    #[serde(default)]
    pub outcome: Option<Outcome>,
    /// Events folded so far.
    pub version: u64,
    pub last_event_at: OffsetDateTime,
}

impl CaseState {
    /// Opens a case from its first event.
    pub fn open(first: &Event) -> Result<CaseState, TransitionError> {
        first.validate()?;
        let (case_no, channel, item, applicant, stage) = match &first.body {
            EventBody::ConsultationRecorded(c) => (
                c.case_no,
                c.channel,
                c.item.clone(),
                None,
                Stage::Consultation,
            ),
            EventBody::ApplicationReceived(a) => (
                a.case_no,
                a.channel,
                Some(a.item.clone()),
                Some(a.applicant.clone()),
                Stage::Received,
            ),
            _ => return Err(TransitionError::MustOpen { kind: first.kind() }),
        };
        Ok(CaseState {
            case_id: first.case_id,
            case_no,
            origin: first.author,
            holder: first.author,
            chain: Vec::new(),
            stage,
            channel,
            item,
            applicant,
            opened_at: first.occurred_at,
            accepted_at: None,
            suspensions: Vec::new(),
            last_review: None,
            delivery: None,
            termination: None,
            closed_at: None,
            visits: 0,
            home_visits: 0,
            one_time_notices: 0,
            escalations: 0,
            evaluations: Vec::new(),
            followed_up: false,
            agent: None,
            assisted: false,
            outcome: None,
            version: 1,
            last_event_at: first.occurred_at,
        })
    }

    /// Whether the clock is stopped.
    pub fn is_suspended(&self) -> bool {
        self.suspensions.last().is_some_and(|s| s.until.is_none())
    }

    /// Whether `station` is on the path from the origin to the district (and so may read the
    /// case and add visits, evaluations and comments).
    pub fn in_chain(&self, station: &StationCode) -> bool {
        station.is_same_or_ancestor_of(&self.origin)
    }

    fn case_type(&self) -> Option<CaseType> {
        self.item.as_ref().map(|i| i.case_type)
    }

    /// Checks that `ev` may follow, without changing anything.
    pub fn check(&self, ev: &Event) -> Result<(), TransitionError> {
        self.clone().apply(ev)
    }

    /// Applies `ev` if the state allows it; on error the state is unchanged.
    pub fn apply(&mut self, ev: &Event) -> Result<(), TransitionError> {
        let next = self.next(ev)?;
        *self = next;
        Ok(())
    }

    fn next(&self, ev: &Event) -> Result<CaseState, TransitionError> {
        use Stage as S;
        ev.validate()?;
        let kind = ev.kind();
        if ev.case_id != self.case_id {
            return Err(TransitionError::OtherCase);
        }
        // Stations off the origin's path learn nothing about the case, not even its holder.
        if !self.in_chain(&ev.author) {
            return Err(TransitionError::OutsideChain {
                author: ev.author,
                origin: self.origin,
            });
        }
        if kind.changes_state() && ev.author != self.holder {
            return Err(TransitionError::NotHolder {
                author: ev.author,
                holder: self.holder,
            });
        }
        let illegal = || TransitionError::Illegal {
            stage: self.stage,
            kind,
        };
        if self.is_suspended()
            && !matches!(
                kind,
                EventKind::Resumed
                    | EventKind::Terminated
                    | EventKind::VisitRecorded
                    | EventKind::Commented
                    | EventKind::AttachmentAdded
            )
        {
            return Err(TransitionError::WhileSuspended { kind });
        }

        let mut s = self.clone();
        s.version += 1;
        s.last_event_at = s.last_event_at.max(ev.occurred_at);
        match (&ev.body, self.stage) {
            (EventBody::ConsultationRecorded(_), _) => {
                return Err(TransitionError::AlreadyOpen { kind });
            }
            (EventBody::ApplicationReceived(a), S::Consultation) => {
                // The consultation becomes an application; the case keeps its number.
                s.channel = a.channel;
                s.item = Some(a.item.clone());
                s.applicant = Some(a.applicant.clone());
                s.stage = S::Received;
            }
            (EventBody::ApplicationReceived(_), _) => {
                return Err(TransitionError::AlreadyOpen { kind });
            }
            (EventBody::PreReviewed(r), S::Received) => {
                if r.is_complete() {
                    s.accepted_at.get_or_insert(ev.occurred_at);
                    s.stage = S::Reviewed;
                } else {
                    s.stage = S::Incomplete;
                }
                s.last_review = Some(r.clone());
            }
            (EventBody::OneTimeNoticeIssued(_), S::Incomplete) => {
                s.one_time_notices += 1;
                s.stage = S::AwaitingSupplement;
            }
            (EventBody::SupplementReceived(_), S::AwaitingSupplement) => {
                s.stage = S::Received;
            }
            (EventBody::AssistedAtWindow(_), S::Reviewed) => {
                if self.case_type() != Some(CaseType::Immediate) {
                    return Err(TransitionError::CaseType {
                        kind,
                        case_type: CaseType::Promised,
                    });
                }
                s.assisted = true;
                s.stage = S::AtWindow;
            }
            (EventBody::DelegationSigned(d), S::Reviewed) => {
                if self.case_type() != Some(CaseType::Promised) {
                    return Err(TransitionError::CaseType {
                        kind,
                        case_type: CaseType::Immediate,
                    });
                }
                s.delivery = Some(d.delivery.clone());
                s.agent = Some(d.agent_name.trim().to_owned());
                s.stage = S::Delegated;
            }
            (EventBody::HandlingStarted(_), S::Delegated) => s.stage = S::InProgress,
            (EventBody::Suspended(_), S::Delegated | S::InProgress) => {
                // Clocks of different nodes may disagree (the holder that suspends need not be
                // the one that accepted or resumed): a suspension never starts before the case
                // was accepted nor before the previous one ended, or the deadline of an accepted
                // log could not be computed at all.
                let from = [
                    self.accepted_at,
                    self.suspensions.last().and_then(|last| last.until),
                ]
                .into_iter()
                .flatten()
                .fold(ev.occurred_at, OffsetDateTime::max);
                s.suspensions
                    .push(calendar::Suspension { from, until: None });
            }
            (EventBody::Resumed(_), _) if self.is_suspended() => {
                if let Some(last) = s.suspensions.last_mut() {
                    // Clocks of different nodes may disagree; a resumption never precedes its
                    // suspension.
                    last.until = Some(ev.occurred_at.max(last.from));
                }
            }
            (EventBody::Escalated(e), S::Delegated | S::InProgress) => {
                let from = self.holder.tier();
                let target = self
                    .holder
                    .ancestor_at(e.to_tier)
                    .filter(|t| *t != self.holder)
                    .ok_or(TransitionError::EscalationTier {
                        from,
                        to: e.to_tier,
                    })?;
                s.chain.push(self.holder);
                s.holder = target;
                s.escalations += 1;
                s.stage = S::Escalated;
            }
            (EventBody::AcceptedUpstream(_), S::Escalated) => s.stage = S::InProgress,
            (EventBody::ReturnedDown(r), S::Escalated | S::InProgress | S::ResultReady) => {
                let pos = self
                    .chain
                    .iter()
                    .position(|c| *c == r.to)
                    .ok_or(TransitionError::ReturnTarget { to: r.to })?;
                s.chain.truncate(pos);
                s.holder = r.to;
                if self.stage != S::ResultReady {
                    s.stage = S::InProgress;
                }
            }
            (EventBody::ResultReady(r), S::InProgress) => {
                s.outcome = Some(r.outcome);
                s.stage = S::ResultReady;
            }
            (EventBody::HandedOver(_), S::ResultReady) => s.stage = S::HandedOver,
            (EventBody::Completed(_), S::HandedOver | S::AtWindow | S::Consultation) => {
                s.stage = S::Completed;
                s.closed_at = Some(ev.occurred_at);
            }
            (EventBody::Terminated(t), stage) if stage.is_open() => {
                if let Some(last) = s.suspensions.last_mut()
                    && last.until.is_none()
                {
                    last.until = Some(ev.occurred_at.max(last.from));
                }
                s.termination = Some(t.reason);
                s.stage = S::Terminated;
                s.closed_at = Some(ev.occurred_at);
            }
            (EventBody::VisitRecorded(v), _) => match v.kind {
                VisitKind::OnSite => s.visits += 1,
                VisitKind::HomeVisit => s.home_visits += 1,
            },
            (EventBody::Evaluated(e), S::Completed | S::Terminated) => {
                s.evaluations.push(e.level);
                s.followed_up = false;
            }
            (EventBody::Commented(_), _) => s.followed_up = !s.evaluations.is_empty(),
            (EventBody::AttachmentAdded(_), _) => {}
            _ => return Err(illegal()),
        }
        Ok(s)
    }

    /// The promised deadline, once the case is accepted and its item has a time limit.
    pub fn deadline(&self, cal: &WorkingCalendar) -> Option<Result<Deadline, CalendarError>> {
        let accepted = self.accepted_at?;
        let item = self.item.as_ref()?;
        Some(calendar::deadline(
            cal,
            accepted,
            item.promised_days,
            &self.suspensions,
        ))
    }
}

/// The version of the stored snapshot's layout; a snapshot of another version is ignored and the
/// state folded from the log again. 2: the agent, window assistance, outcome and follow-up are
/// folded too (case summaries carry them).
pub const STORED_STATE_FORMAT: u32 = 2;

/// The snapshot as it is written: the public state with the personal fields beside it.
#[derive(Serialize)]
struct StoredStateRef<'a> {
    format: u32,
    #[serde(flatten)]
    state: &'a CaseState,
    applicant: &'a Option<Applicant>,
    suspensions: &'a [calendar::Suspension],
    delivery: &'a Option<Delivery>,
}

/// The snapshot as it is read back.
#[derive(Deserialize)]
struct StoredState {
    format: u32,
    #[serde(flatten)]
    state: CaseState,
    applicant: Option<Applicant>,
    suspensions: Vec<calendar::Suspension>,
    delivery: Option<Delivery>,
}

/// Why a stored snapshot cannot be used (the caller folds the log instead).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoredStateError {
    #[error("the snapshot has format {found}, this build reads {STORED_STATE_FORMAT}")]
    Format { found: u32 },
    #[error("the snapshot cannot be read: {0}")]
    Unreadable(String),
}

impl CaseState {
    /// The whole state, personal data included, as JSON: what the store keeps beside the log so
    /// that an append applies one event instead of folding the whole log again. Never sent to a
    /// peer or shown: it holds personal data.
    pub fn to_stored(&self) -> String {
        let stored = StoredStateRef {
            format: STORED_STATE_FORMAT,
            state: self,
            applicant: &self.applicant,
            suspensions: &self.suspensions,
            delivery: &self.delivery,
        };
        // Every field is plain data with infallible serialisation.
        serde_json::to_string(&stored).unwrap_or_default()
    }

    /// Reads a snapshot written by [`CaseState::to_stored`].
    pub fn from_stored(json: &str) -> Result<CaseState, StoredStateError> {
        let stored: StoredState =
            serde_json::from_str(json).map_err(|e| StoredStateError::Unreadable(e.to_string()))?;
        if stored.format != STORED_STATE_FORMAT {
            return Err(StoredStateError::Format {
                found: stored.format,
            });
        }
        let mut state = stored.state;
        state.applicant = stored.applicant;
        state.suspensions = stored.suspensions;
        state.delivery = stored.delivery;
        Ok(state)
    }
}

/// Folds a case's whole log, checking every step. The first event must open the case.
pub fn fold(events: &[Event]) -> Result<CaseState, TransitionError> {
    let Some((first, rest)) = events.split_first() else {
        return Err(TransitionError::NoEvents);
    };
    let mut state = CaseState::open(first)?;
    for ev in rest {
        state.apply(ev)?;
    }
    Ok(state)
}
