//! Builders for the case state machine tests: the real station codes of 新华区, one constructor per
//! payload, and a [`Script`] that appends events to one case the way a node would, checking on
//! every step that a refused event leaves the state alone and that the log folds to the state.

use bangban_domain::case::{CaseState, Stage, TransitionError, fold};
use bangban_domain::event::{
    Applicant, Application, CaseId, CaseNumber, CaseResult, CaseType, Channel, CheckOverride,
    Comment, Consultation, Delegation, Delivery, Escalation, Evaluation, Event, EventBody, EventId,
    EventKind, HandlingStart, Handover, HandoverMethod, ItemRef, MaterialVerdict, Note,
    OneTimeNotice, Outcome, PreReview, Return, Satisfaction, Supplement, Suspension, Termination,
    TerminationReason, Verdict, Visit, VisitKind, WindowAssist,
};
use bangban_domain::ident::{CreditCode, MobileNumber, ResidentId};
use bangban_domain::station::{StationCode, Tier};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

// ---------------------------------------------------------------------------------------------
// Stations: the real codes of 新华区 (Xinhua District, Pingdingshan).
// ---------------------------------------------------------------------------------------------

pub fn code(s: &str) -> StationCode {
    StationCode::parse(s).unwrap()
}
/// 新华区
pub fn district() -> StationCode {
    code("410402000000")
}
/// 曙光街街道
pub fn town() -> StationCode {
    code("410402001000")
}
/// The origin village/community of most cases here.
pub fn village() -> StationCode {
    code("410402001001")
}
/// Another community of the same town.
pub fn sibling() -> StationCode {
    code("410402001002")
}
/// Another town of the district, and one of its villages.
pub fn other_town() -> StationCode {
    code("410402002000")
}
pub fn other_town_village() -> StationCode {
    code("410402002001")
}
/// A neighbouring district (卫东区).
pub fn other_district() -> StationCode {
    code("410403000000")
}

// ---------------------------------------------------------------------------------------------
// Personal data used in applications. Valid by their check characters.
// ---------------------------------------------------------------------------------------------

pub const PERSON_NAME: &str = "王秀英";
pub const PERSON_ID: &str = "11010519491231002X";
pub const PERSON_PHONE: &str = "13812345678";
pub const CREDIT_CODE: &str = "91350100M000100Y43";
/// [`CREDIT_CODE`] with its check character changed: fails the GB 32100 check.
pub const BAD_CHECK_CREDIT_CODE: &str = "91350100M000100Y44";

pub fn phone() -> MobileNumber {
    MobileNumber::parse(PERSON_PHONE).unwrap()
}

pub fn person() -> Applicant {
    Applicant::Person {
        name: PERSON_NAME.into(),
        id_number: ResidentId::parse(PERSON_ID).unwrap(),
        phone: phone(),
    }
}

pub fn company(credit_code: &str, check_override: Option<CheckOverride>) -> Applicant {
    Applicant::Company {
        name: "平顶山市新华区示例商贸有限公司".to_owned(),
        credit_code: CreditCode::parse_with_override(credit_code).unwrap(),
        check_override,
        legal_representative: "李建国".into(),
        contact_name: "赵敏".into(),
        contact_phone: MobileNumber::parse("13998765432").unwrap(),
    }
}

pub fn supervisor_override() -> CheckOverride {
    CheckOverride {
        supervisor: "张主任".to_owned(),
        reason: "营业执照原件核验无误，代码为早期赋码".to_owned(),
    }
}

// ---------------------------------------------------------------------------------------------
// Items and payloads, one constructor per event kind.
// ---------------------------------------------------------------------------------------------

/// A pending (承诺件) item with a promised time limit in working days.
pub fn promised_item(days: u32) -> ItemRef {
    ItemRef {
        code: "11410402MB1234567X4000117001".to_owned(),
        name: "食品经营许可（新办）".to_owned(),
        case_type: CaseType::Promised,
        promised_days: days,
    }
}

/// An immediate (即办件) item.
pub fn immediate_item() -> ItemRef {
    ItemRef {
        code: "11410402MB1234567X4000117002".to_owned(),
        name: "居民身份证挂失申报".to_owned(),
        case_type: CaseType::Immediate,
        promised_days: 0,
    }
}

pub fn item(case_type: CaseType) -> ItemRef {
    match case_type {
        CaseType::Immediate => immediate_item(),
        CaseType::Promised => promised_item(5),
    }
}

pub fn case_no(station: StationCode) -> CaseNumber {
    CaseNumber::new(station, START.date(), 1).unwrap()
}

pub fn consultation(station: StationCode) -> EventBody {
    EventBody::ConsultationRecorded(Consultation {
        policy_bundle: None,
        case_no: case_no(station),
        channel: Channel::Window,
        topic: "开办小餐馆需要哪些材料".to_owned(),
        item: Some(promised_item(5)),
        answer: Some("需营业执照、场所证明、健康证明".to_owned()),
    })
}

pub fn application(station: StationCode, item: ItemRef, applicant: Applicant) -> EventBody {
    EventBody::ApplicationReceived(Application {
        policy_bundle: None,
        case_no: case_no(station),
        channel: Channel::Window,
        item,
        applicant,
    })
}

pub fn review(verdicts: &[Verdict]) -> EventBody {
    EventBody::PreReviewed(PreReview {
        materials: verdicts
            .iter()
            .enumerate()
            .map(|(i, v)| MaterialVerdict {
                name: format!("材料{}", i + 1),
                verdict: *v,
                remark: None,
            })
            .collect(),
    })
}

pub fn complete_review() -> EventBody {
    review(&[Verdict::Conforming, Verdict::Conforming])
}

pub fn incomplete_review() -> EventBody {
    review(&[
        Verdict::Conforming,
        Verdict::Missing,
        Verdict::NeedsCorrection,
    ])
}

pub fn notice() -> EventBody {
    EventBody::OneTimeNoticeIssued(OneTimeNotice {
        notice_no: "GZ-2026-0001".to_owned(),
        note: None,
    })
}

pub fn supplement() -> EventBody {
    EventBody::SupplementReceived(Supplement {
        materials: vec!["材料2".to_owned(), "材料3".to_owned()],
        collected_at_home: true,
    })
}

pub fn courier() -> Delivery {
    Delivery::Courier {
        recipient: PERSON_NAME.into(),
        address: "新华区曙光街1号院3号楼2单元501".into(),
        phone: phone(),
    }
}

pub fn delegation(delivery: Delivery) -> EventBody {
    EventBody::DelegationSigned(Delegation {
        agreement_no: "WT-2026-0001".to_owned(),
        agent_name: "陈代办".to_owned(),
        delivery,
    })
}

pub fn window() -> EventBody {
    EventBody::AssistedAtWindow(WindowAssist {
        window: "综合受理3号窗口".to_owned(),
        note: None,
    })
}

pub fn handling() -> EventBody {
    EventBody::HandlingStarted(HandlingStart {
        department: "区市场监督管理局".to_owned(),
        note: None,
    })
}

pub fn suspend() -> EventBody {
    EventBody::Suspended(Suspension {
        reason: "需现场核查经营场所".to_owned(),
        procedure: Some("现场勘验".to_owned()),
    })
}

pub fn resume() -> EventBody {
    EventBody::Resumed(Note::default())
}

pub fn escalate(to_tier: Tier) -> EventBody {
    EventBody::Escalated(Escalation {
        to_tier,
        reason: "本级无办理权限，上报代办".to_owned(),
    })
}

pub fn accept() -> EventBody {
    EventBody::AcceptedUpstream(Note::default())
}

pub fn return_to(to: StationCode) -> EventBody {
    EventBody::ReturnedDown(Return {
        to,
        reason: "结果已出，退回发起站点交付".to_owned(),
    })
}

pub fn result() -> EventBody {
    EventBody::ResultReady(CaseResult {
        outcome: Outcome::Approved,
        certificate_no: Some("JY14104020012345".to_owned()),
        explanation: None,
    })
}

pub fn handover(method: HandoverMethod) -> EventBody {
    EventBody::HandedOver(Handover {
        method,
        received_by: PERSON_NAME.into(),
    })
}

pub fn courier_handover() -> EventBody {
    handover(HandoverMethod::Courier {
        tracking_no: Some("SF1234567890".to_owned()),
    })
}

pub fn complete() -> EventBody {
    EventBody::Completed(Note::default())
}

pub fn terminate(reason: TerminationReason) -> EventBody {
    EventBody::Terminated(Termination {
        reason,
        written_reason: "委托人书面申请终止代办".to_owned(),
    })
}

pub fn visit(kind: VisitKind) -> EventBody {
    EventBody::VisitRecorded(Visit { kind, note: None })
}

pub fn evaluate(level: Satisfaction) -> EventBody {
    EventBody::Evaluated(Evaluation {
        level,
        comment: Some("服务热情".to_owned()),
    })
}

/// A photo of a material, as an operator adds it.
pub fn attachment(material: &str) -> EventBody {
    EventBody::AttachmentAdded(bangban_domain::event::Attachment {
        sha256: bangban_domain::attachment::ContentHash::from_digest(&[0x5a; 32]),
        media_type: bangban_domain::attachment::MediaType::Jpeg,
        size: 52_000,
        file_name: format!("{material}.jpg"),
        material: Some(material.to_owned()),
        stripped: true,
    })
}

pub fn comment(text: &str) -> EventBody {
    EventBody::Commented(Comment {
        text: text.to_owned(),
    })
}

/// A well-formed payload of `kind`: what the holder `holder` of a case would send. Creation
/// events carry a case number of `author`; escalations go one tier up from `holder`; returns go
/// to `return_target`.
pub fn sample_body(
    kind: EventKind,
    author: StationCode,
    holder: StationCode,
    return_target: StationCode,
    case_type: CaseType,
) -> EventBody {
    match kind {
        EventKind::ConsultationRecorded => consultation(author),
        EventKind::ApplicationReceived => application(author, item(case_type), person()),
        EventKind::PreReviewed => complete_review(),
        EventKind::OneTimeNoticeIssued => notice(),
        EventKind::SupplementReceived => supplement(),
        EventKind::DelegationSigned => delegation(courier()),
        EventKind::AssistedAtWindow => window(),
        EventKind::HandlingStarted => handling(),
        EventKind::Suspended => suspend(),
        EventKind::Resumed => resume(),
        EventKind::Escalated => escalate(holder.tier().parent_tier().unwrap_or(Tier::District)),
        EventKind::AcceptedUpstream => accept(),
        EventKind::ReturnedDown => return_to(return_target),
        EventKind::ResultReady => result(),
        EventKind::HandedOver => courier_handover(),
        EventKind::Completed => complete(),
        EventKind::Terminated => terminate(TerminationReason::ClientWithdrew),
        EventKind::VisitRecorded => visit(VisitKind::OnSite),
        EventKind::Evaluated => evaluate(Satisfaction::VerySatisfied),
        EventKind::Commented => comment("已电话告知申请人办理进度"),
        EventKind::AttachmentAdded => attachment("户口簿"),
    }
}

// ---------------------------------------------------------------------------------------------
// Events and scripts
// ---------------------------------------------------------------------------------------------

/// Monday 2 March 2026, 09:00 in China: a plain working week.
pub const START: OffsetDateTime = datetime!(2026-03-02 09:00 +8);

/// A deterministic UUIDv7 for the `n`-th event written at `at`.
pub fn event_id(at: OffsetDateTime, n: u64) -> EventId {
    let millis = u64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(0);
    let mut counter = [0u8; 10];
    counter[2..].copy_from_slice(&n.to_be_bytes());
    EventId::from_uuid(uuid::Builder::from_unix_timestamp_millis(millis, &counter).into_uuid())
}

pub fn new_case_id(n: u64) -> CaseId {
    CaseId::from_uuid(
        uuid::Builder::from_unix_timestamp_millis(1_772_413_200_000, &{
            let mut b = [0u8; 10];
            b[2..].copy_from_slice(&n.to_be_bytes());
            b
        })
        .into_uuid(),
    )
}

pub fn make_event(
    case_id: CaseId,
    author: StationCode,
    at: OffsetDateTime,
    n: u64,
    body: EventBody,
) -> Event {
    Event {
        event_id: event_id(at, n),
        case_id,
        author,
        actor: Some(format!("agent-{author}")),
        occurred_at: at,
        body,
    }
}

/// One case written event by event, ten minutes apart unless told otherwise.
#[derive(Clone, Debug)]
pub struct Script {
    pub case_id: CaseId,
    pub now: OffsetDateTime,
    /// The accepted events, in order.
    pub log: Vec<Event>,
    pub state: CaseState,
    written: u64,
}

impl Script {
    /// Opens a case; panics if the first event is refused.
    pub fn open(author: StationCode, body: EventBody) -> Script {
        let case_id = new_case_id(1);
        let first = make_event(case_id, author, START, 0, body);
        let state =
            CaseState::open(&first).unwrap_or_else(|e| panic!("opening event refused: {e}"));
        Script {
            case_id,
            now: START,
            log: vec![first],
            state,
            written: 1,
        }
    }

    /// An application of a person at `origin`.
    pub fn application(origin: StationCode, case_type: CaseType) -> Script {
        Script::open(origin, application(origin, item(case_type), person()))
    }

    /// The next event of this case, ten minutes after the last one.
    pub fn next_event(&mut self, author: StationCode, body: EventBody) -> Event {
        self.now += Duration::minutes(10);
        self.written += 1;
        make_event(self.case_id, author, self.now, self.written, body)
    }

    /// Applies `ev`, checking the invariants every step must keep.
    pub fn apply_event(&mut self, ev: Event) -> Result<(), TransitionError> {
        let before = self.state.clone();
        let checked = self.state.check(&ev);
        assert_eq!(self.state, before, "check() changed the state");
        let applied = self.state.apply(&ev);
        assert_eq!(checked, applied, "check() and apply() disagree on {ev:?}");
        match applied {
            Ok(()) => {
                self.log.push(ev);
                assert_eq!(
                    fold(&self.log).as_ref(),
                    Ok(&self.state),
                    "the log does not fold to the incremental state"
                );
                Ok(())
            }
            Err(e) => {
                assert_eq!(self.state, before, "a refused event changed the state");
                Err(e)
            }
        }
    }

    pub fn apply(&mut self, author: StationCode, body: EventBody) -> Result<(), TransitionError> {
        let ev = self.next_event(author, body);
        self.apply_event(ev)
    }

    /// Applies an event that must be accepted; returns the new state for checks.
    #[track_caller]
    pub fn ok(&mut self, author: StationCode, body: EventBody) -> &CaseState {
        let kind = body.kind();
        let stage = self.state.stage;
        if let Err(e) = self.apply(author, body) {
            panic!("{kind} by {author} at {stage} refused: {e:?}");
        }
        &self.state
    }

    /// Applies an event that must be refused; returns the error.
    #[track_caller]
    pub fn refused(&mut self, author: StationCode, body: EventBody) -> TransitionError {
        let kind = body.kind();
        let stage = self.state.stage;
        match self.apply(author, body) {
            Ok(()) => panic!("{kind} by {author} at {stage} was accepted"),
            Err(e) => e,
        }
    }

    pub fn holder(&self) -> StationCode {
        self.state.holder
    }

    /// Where a return may go in the table: the last earlier holder, else the origin.
    pub fn return_target(&self) -> StationCode {
        self.state
            .chain
            .last()
            .copied()
            .unwrap_or(self.state.origin)
    }

    /// A well-formed event of `kind` for this case's current position, as its holder writes it.
    pub fn sample(&self, kind: EventKind, case_type: CaseType) -> EventBody {
        sample_body(
            kind,
            self.state.holder,
            self.state.holder,
            self.return_target(),
            case_type,
        )
    }
}

/// A case from [`village`] brought to `stage` by its ordinary path. `case_type` chooses the item
/// where the path allows both; `AtWindow` is always immediate, the delegation stages promised.
///
/// `Escalated`, `InProgress` and `ResultReady` are at the town, after the village escalated, so
/// that a return has somewhere to go; `HandedOver` and `Completed` are back at the village.
pub fn case_at(stage: Stage, case_type: CaseType) -> Script {
    let v = village();
    let t = town();
    if stage == Stage::Consultation {
        return Script::open(v, consultation(v));
    }
    let case_type = match stage {
        Stage::AtWindow => CaseType::Immediate,
        Stage::Delegated
        | Stage::InProgress
        | Stage::Escalated
        | Stage::ResultReady
        | Stage::HandedOver
        | Stage::Completed => CaseType::Promised,
        _ => case_type,
    };
    let mut s = Script::application(v, case_type);
    let steps: Vec<(StationCode, EventBody)> = match stage {
        Stage::Consultation | Stage::Received => vec![],
        Stage::Incomplete => vec![(v, incomplete_review())],
        Stage::AwaitingSupplement => vec![(v, incomplete_review()), (v, notice())],
        Stage::Reviewed => vec![(v, complete_review())],
        Stage::AtWindow => vec![(v, complete_review()), (v, window())],
        Stage::Delegated => vec![(v, complete_review()), (v, delegation(courier()))],
        Stage::Escalated => vec![
            (v, complete_review()),
            (v, delegation(courier())),
            (v, handling()),
            (v, escalate(Tier::Town)),
        ],
        Stage::InProgress => vec![
            (v, complete_review()),
            (v, delegation(courier())),
            (v, handling()),
            (v, escalate(Tier::Town)),
            (t, accept()),
        ],
        Stage::ResultReady => vec![
            (v, complete_review()),
            (v, delegation(courier())),
            (v, handling()),
            (v, escalate(Tier::Town)),
            (t, accept()),
            (t, result()),
        ],
        Stage::HandedOver | Stage::Completed => {
            let mut steps = vec![
                (v, complete_review()),
                (v, delegation(courier())),
                (v, handling()),
                (v, escalate(Tier::Town)),
                (t, accept()),
                (t, result()),
                (t, return_to(v)),
                (v, courier_handover()),
            ];
            if stage == Stage::Completed {
                steps.push((v, complete()));
            }
            steps
        }
        Stage::Terminated => vec![(v, terminate(TerminationReason::Other))],
    };
    for (author, body) in steps {
        s.ok(author, body);
    }
    assert_eq!(s.state.stage, stage);
    s
}
