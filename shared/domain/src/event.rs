//! The case as an append-only log: the event envelope, one payload type per lifecycle step, and
//! the checks a single event can pass on its own (required text, sane lengths).
//!
//! Whether an event may follow the case's current state is decided in [`crate::case`]; this module
//! never looks at other events. Personal data in payloads prints masked in `Debug`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::Bilingual;
use crate::ident::{Address, CreditCode, MobileNumber, PersonName, ResidentId};
use crate::station::{StationCode, StationCodeError, Tier};

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            pub fn from_uuid(uuid: Uuid) -> Self {
                $name(uuid)
            }
            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map($name)
            }
        }
    };
}

uuid_id!(
    /// An event's identity: a UUIDv7 made by the node that wrote it. Storing the same id twice is
    /// a no-op everywhere, so every transfer can be retried blindly.
    EventId
);
uuid_id!(
    /// A case's identity for life, from its origin station to the district and back.
    CaseId
);

#[cfg(feature = "openapi")]
string_schema!(
    EventId,
    "记录编号（UUIDv7）。An event's id (UUIDv7, hyphenated).",
    Some(UUID_PATTERN),
    "0190a5c2-7f3e-7a4b-9c1d-2e3f4a5b6c7d"
);
#[cfg(feature = "openapi")]
string_schema!(
    CaseId,
    "办件标识（UUID）。A case's id (UUID, hyphenated).",
    Some(UUID_PATTERN),
    "0190a5c2-7f3e-7a4b-9c1d-2e3f4a5b6c7d"
);
#[cfg(feature = "openapi")]
const UUID_PATTERN: &str = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$";
#[cfg(feature = "openapi")]
string_schema!(
    CaseNumber,
    "办件编号：站点代码-年月日-序号。The case number <station code>-<yyyymmdd>-<seq>.",
    Some("^[0-9]{12}-[0-9]{8}-[0-9]{4,5}$"),
    "410402001001-20260105-0001"
);

/// The human case number `<station code>-<yyyymmdd>-<seq>`, given by the origin at intake.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CaseNumber {
    station: StationCode,
    date: Date,
    seq: u32,
}

impl CaseNumber {
    /// The largest daily sequence number; more cases than this in a day at one station is a bug.
    pub const MAX_SEQ: u32 = 99_999;

    pub fn new(station: StationCode, date: Date, seq: u32) -> Result<Self, CaseNumberError> {
        if seq == 0 || seq > Self::MAX_SEQ {
            return Err(CaseNumberError::Sequence);
        }
        Ok(CaseNumber { station, date, seq })
    }

    pub fn parse(s: &str) -> Result<Self, CaseNumberError> {
        let mut parts = s.split('-');
        let (Some(code), Some(day), Some(seq), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(CaseNumberError::Shape);
        };
        let station = StationCode::parse(code).map_err(CaseNumberError::Station)?;
        if day.len() != 8 || !day.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CaseNumberError::Date);
        }
        let (y, m, d) = (
            day[0..4]
                .parse::<i32>()
                .map_err(|_| CaseNumberError::Date)?,
            day[4..6].parse::<u8>().map_err(|_| CaseNumberError::Date)?,
            day[6..8].parse::<u8>().map_err(|_| CaseNumberError::Date)?,
        );
        let month = time::Month::try_from(m).map_err(|_| CaseNumberError::Date)?;
        let date = Date::from_calendar_date(y, month, d).map_err(|_| CaseNumberError::Date)?;
        if seq.len() < 4 || !seq.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CaseNumberError::Sequence);
        }
        let seq = seq.parse::<u32>().map_err(|_| CaseNumberError::Sequence)?;
        CaseNumber::new(station, date, seq)
    }

    pub fn station(&self) -> StationCode {
        self.station
    }
    pub fn date(&self) -> Date {
        self.date
    }
    pub fn seq(&self) -> u32 {
        self.seq
    }
}

impl fmt::Display for CaseNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}-{:04}{:02}{:02}-{:04}",
            self.station,
            self.date.year(),
            u8::from(self.date.month()),
            self.date.day(),
            self.seq
        )
    }
}

impl FromStr for CaseNumber {
    type Err = CaseNumberError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CaseNumber::parse(s)
    }
}

impl Serialize for CaseNumber {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for CaseNumber {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        CaseNumber::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaseNumberError {
    #[error("case number must look like <station code>-<yyyymmdd>-<seq>")]
    Shape,
    #[error("case number: {0}")]
    Station(StationCodeError),
    #[error("case number: the date part is not a real date")]
    Date,
    #[error("case number: the sequence must be 4 or more digits, from 0001 to 99999")]
    Sequence,
}

impl Bilingual for CaseNumberError {
    fn code(&self) -> &'static str {
        match self {
            CaseNumberError::Shape => "case_number.shape",
            CaseNumberError::Station(_) => "case_number.station",
            CaseNumberError::Date => "case_number.date",
            CaseNumberError::Sequence => "case_number.sequence",
        }
    }
    fn message_zh(&self) -> String {
        match self {
            CaseNumberError::Shape => "办件编号格式应为：站点代码-年月日-序号".to_owned(),
            CaseNumberError::Station(e) => format!("办件编号中的站点代码有误：{}", e.message_zh()),
            CaseNumberError::Date => "办件编号中的日期不是有效日期".to_owned(),
            CaseNumberError::Sequence => "办件编号中的序号应为4位以上数字（0001–99999）".to_owned(),
        }
    }
}

/// One entry of a case's log: who (station and person), when, and what.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Event {
    pub event_id: EventId,
    pub case_id: CaseId,
    /// The station that wrote the event (on the wire, checked against the peer certificate).
    pub author: StationCode,
    /// The operator or agent account that acted, when a person did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub occurred_at: OffsetDateTime,
    #[serde(flatten)]
    pub body: EventBody,
}

/// What happened, one variant per step of the lifecycle (see DESIGN.md, "The case lifecycle").
/// On the wire: `"kind": "<snake_case name>", "payload": {...}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", content = "payload", rename_all = "snake_case")]
pub enum EventBody {
    ConsultationRecorded(Consultation),
    ApplicationReceived(Application),
    PreReviewed(PreReview),
    OneTimeNoticeIssued(OneTimeNotice),
    SupplementReceived(Supplement),
    DelegationSigned(Delegation),
    AssistedAtWindow(WindowAssist),
    HandlingStarted(HandlingStart),
    Suspended(Suspension),
    Resumed(Note),
    Escalated(Escalation),
    AcceptedUpstream(Note),
    ReturnedDown(Return),
    ResultReady(CaseResult),
    HandedOver(Handover),
    Completed(Note),
    Terminated(Termination),
    VisitRecorded(Visit),
    Evaluated(Evaluation),
    Commented(Comment),
}

/// The kind of an event without its payload: for tables, errors and labels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    ConsultationRecorded,
    ApplicationReceived,
    PreReviewed,
    OneTimeNoticeIssued,
    SupplementReceived,
    DelegationSigned,
    AssistedAtWindow,
    HandlingStarted,
    Suspended,
    Resumed,
    Escalated,
    AcceptedUpstream,
    ReturnedDown,
    ResultReady,
    HandedOver,
    Completed,
    Terminated,
    VisitRecorded,
    Evaluated,
    Commented,
}

impl EventKind {
    pub const ALL: [EventKind; 20] = [
        EventKind::ConsultationRecorded,
        EventKind::ApplicationReceived,
        EventKind::PreReviewed,
        EventKind::OneTimeNoticeIssued,
        EventKind::SupplementReceived,
        EventKind::DelegationSigned,
        EventKind::AssistedAtWindow,
        EventKind::HandlingStarted,
        EventKind::Suspended,
        EventKind::Resumed,
        EventKind::Escalated,
        EventKind::AcceptedUpstream,
        EventKind::ReturnedDown,
        EventKind::ResultReady,
        EventKind::HandedOver,
        EventKind::Completed,
        EventKind::Terminated,
        EventKind::VisitRecorded,
        EventKind::Evaluated,
        EventKind::Commented,
    ];

    /// The wire name, as stored in the `kind` column.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::ConsultationRecorded => "consultation_recorded",
            EventKind::ApplicationReceived => "application_received",
            EventKind::PreReviewed => "pre_reviewed",
            EventKind::OneTimeNoticeIssued => "one_time_notice_issued",
            EventKind::SupplementReceived => "supplement_received",
            EventKind::DelegationSigned => "delegation_signed",
            EventKind::AssistedAtWindow => "assisted_at_window",
            EventKind::HandlingStarted => "handling_started",
            EventKind::Suspended => "suspended",
            EventKind::Resumed => "resumed",
            EventKind::Escalated => "escalated",
            EventKind::AcceptedUpstream => "accepted_upstream",
            EventKind::ReturnedDown => "returned_down",
            EventKind::ResultReady => "result_ready",
            EventKind::HandedOver => "handed_over",
            EventKind::Completed => "completed",
            EventKind::Terminated => "terminated",
            EventKind::VisitRecorded => "visit_recorded",
            EventKind::Evaluated => "evaluated",
            EventKind::Commented => "commented",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            EventKind::ConsultationRecorded => "咨询登记",
            EventKind::ApplicationReceived => "申请受理登记",
            EventKind::PreReviewed => "材料预审",
            EventKind::OneTimeNoticeIssued => "出具一次性告知单",
            EventKind::SupplementReceived => "收到补正材料",
            EventKind::DelegationSigned => "签订代办委托书",
            EventKind::AssistedAtWindow => "陪同窗口办理",
            EventKind::HandlingStarted => "开始办理",
            EventKind::Suspended => "中止办理",
            EventKind::Resumed => "恢复办理",
            EventKind::Escalated => "上报上级",
            EventKind::AcceptedUpstream => "上级接收",
            EventKind::ReturnedDown => "退回下级",
            EventKind::ResultReady => "办理结果已出",
            EventKind::HandedOver => "结果交付",
            EventKind::Completed => "办结",
            EventKind::Terminated => "终止服务",
            EventKind::VisitRecorded => "登记跑动",
            EventKind::Evaluated => "服务评价",
            EventKind::Commented => "备注",
        }
    }

    /// Whether the event changes the case's state, and so may only come from the holder.
    /// Visits, evaluations and comments may come from any station in the case's chain.
    pub fn changes_state(self) -> bool {
        !matches!(
            self,
            EventKind::VisitRecorded | EventKind::Evaluated | EventKind::Commented
        )
    }

    /// Whether the event can open a case.
    pub fn opens_case(self) -> bool {
        matches!(
            self,
            EventKind::ConsultationRecorded | EventKind::ApplicationReceived
        )
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EventKind {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EventKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or(())
    }
}

impl EventBody {
    pub fn kind(&self) -> EventKind {
        match self {
            EventBody::ConsultationRecorded(_) => EventKind::ConsultationRecorded,
            EventBody::ApplicationReceived(_) => EventKind::ApplicationReceived,
            EventBody::PreReviewed(_) => EventKind::PreReviewed,
            EventBody::OneTimeNoticeIssued(_) => EventKind::OneTimeNoticeIssued,
            EventBody::SupplementReceived(_) => EventKind::SupplementReceived,
            EventBody::DelegationSigned(_) => EventKind::DelegationSigned,
            EventBody::AssistedAtWindow(_) => EventKind::AssistedAtWindow,
            EventBody::HandlingStarted(_) => EventKind::HandlingStarted,
            EventBody::Suspended(_) => EventKind::Suspended,
            EventBody::Resumed(_) => EventKind::Resumed,
            EventBody::Escalated(_) => EventKind::Escalated,
            EventBody::AcceptedUpstream(_) => EventKind::AcceptedUpstream,
            EventBody::ReturnedDown(_) => EventKind::ReturnedDown,
            EventBody::ResultReady(_) => EventKind::ResultReady,
            EventBody::HandedOver(_) => EventKind::HandedOver,
            EventBody::Completed(_) => EventKind::Completed,
            EventBody::Terminated(_) => EventKind::Terminated,
            EventBody::VisitRecorded(_) => EventKind::VisitRecorded,
            EventBody::Evaluated(_) => EventKind::Evaluated,
            EventBody::Commented(_) => EventKind::Commented,
        }
    }
}

/// How an application reached the centre (申请渠道).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// At the assisted-handling window.
    Window,
    /// Through an agent (e.g. a home visit).
    Agent,
    Online,
    Phone,
}

impl Channel {
    pub fn label_zh(self) -> &'static str {
        match self {
            Channel::Window => "帮办代办窗口",
            Channel::Agent => "帮办代办员",
            Channel::Online => "网上申请",
            Channel::Phone => "电话申请",
        }
    }
}

/// Immediate items are done on the spot; promised items run to a promised time limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CaseType {
    /// 即办件
    Immediate,
    /// 承诺件
    Promised,
}

/// The catalogue item a case is for, as it stood at intake (the log is self-contained even when
/// the catalogue changes later).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ItemRef {
    pub code: String,
    pub name: String,
    pub case_type: CaseType,
    /// The promised time limit in working days (0 for immediate items).
    pub promised_days: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Consultation {
    pub case_no: CaseNumber,
    pub channel: Channel,
    pub topic: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item: Option<ItemRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Application {
    pub case_no: CaseNumber,
    pub channel: Channel,
    pub item: ItemRef,
    pub applicant: Applicant,
}

/// A supervisor's acceptance of an identifier that fails its check character (some real credit
/// codes do). Recorded with the case.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CheckOverride {
    pub supervisor: String,
    pub reason: String,
}

/// Who applies: a person or a company (法人).
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Applicant {
    Person {
        name: PersonName,
        id_number: ResidentId,
        phone: MobileNumber,
    },
    Company {
        name: String,
        // Read leniently: the override travels with the code and Event::validate requires it.
        #[serde(with = "crate::ident::credit_code_overridable")]
        credit_code: CreditCode,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        check_override: Option<CheckOverride>,
        legal_representative: PersonName,
        contact_name: PersonName,
        contact_phone: MobileNumber,
    },
}

impl Applicant {
    /// The name as lists show it: a person's masked, a company's in full (public record).
    pub fn display_name(&self) -> String {
        match self {
            Applicant::Person { name, .. } => name.masked(),
            Applicant::Company { name, .. } => name.clone(),
        }
    }
}

// INVARIANT: personal data never reaches logs, so Debug prints masked values only.
impl fmt::Debug for Applicant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Applicant::Person {
                name,
                id_number,
                phone,
            } => f
                .debug_struct("Person")
                .field("name", &name.masked())
                .field("id_number", id_number)
                .field("phone", phone)
                .finish(),
            Applicant::Company {
                name,
                credit_code,
                check_override,
                legal_representative,
                contact_name,
                contact_phone,
            } => f
                .debug_struct("Company")
                .field("name", name)
                .field("credit_code", &credit_code.masked())
                .field("check_override", &check_override.is_some())
                .field("legal_representative", &legal_representative.masked())
                .field("contact_name", &contact_name.masked())
                .field("contact_phone", contact_phone)
                .finish(),
        }
    }
}

/// The verdict on one material at pre-review.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// 符合要求
    Conforming,
    /// 缺少
    Missing,
    /// 需补正
    NeedsCorrection,
}

impl Verdict {
    pub fn label_zh(self) -> &'static str {
        match self {
            Verdict::Conforming => "符合要求",
            Verdict::Missing => "缺少",
            Verdict::NeedsCorrection => "需补正",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MaterialVerdict {
    pub name: String,
    pub verdict: Verdict,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remark: Option<String>,
}

/// The check of the applicant's materials against the item's list (预审).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PreReview {
    pub materials: Vec<MaterialVerdict>,
}

impl PreReview {
    /// Complete when every material conforms.
    pub fn is_complete(&self) -> bool {
        self.materials
            .iter()
            .all(|m| m.verdict == Verdict::Conforming)
    }
}

/// The one-time notice (一次性告知单): everything missing, told at once. The list itself is the
/// last pre-review's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct OneTimeNotice {
    pub notice_no: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Supplement {
    pub materials: Vec<String>,
    /// Whether the agent collected the materials at the applicant's home.
    #[serde(default)]
    pub collected_at_home: bool,
}

/// How the result reaches the applicant, as agreed in the delegation agreement.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "method", rename_all = "snake_case", deny_unknown_fields)]
pub enum Delivery {
    /// 大厅自取
    HallPickup,
    /// 免费邮寄
    Courier {
        recipient: PersonName,
        address: Address,
        phone: MobileNumber,
    },
}

impl fmt::Debug for Delivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Delivery::HallPickup => f.write_str("HallPickup"),
            Delivery::Courier {
                recipient, phone, ..
            } => f
                .debug_struct("Courier")
                .field("recipient", &recipient.masked())
                .field("address", &"***")
                .field("phone", phone)
                .finish(),
        }
    }
}

/// The signed delegation agreement (代办服务委托书): materials handed over, the agent acts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Delegation {
    pub agreement_no: String,
    pub agent_name: String,
    pub delivery: Delivery,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct WindowAssist {
    pub window: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct HandlingStart {
    pub department: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A suspension (中止) or other special procedure that stops the clock.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Suspension {
    pub reason: String,
    /// The special procedure's type, e.g. 现场勘验, 专家评审, 听证.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub procedure: Option<String>,
}

/// A free-text note, for events that need nothing else.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Note {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Handing the case up to a higher tier of the origin's chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Escalation {
    pub to_tier: Tier,
    pub reason: String,
}

/// Handing the case back down to a station that held it before.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Return {
    pub to: StationCode,
    pub reason: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// 准予/办结
    Approved,
    /// 不予许可
    Rejected,
    Other,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CaseResult {
    pub outcome: Outcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_no: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explanation: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "method", rename_all = "snake_case", deny_unknown_fields)]
pub enum HandoverMethod {
    /// 自取
    Pickup,
    /// 邮寄
    Courier {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tracking_no: Option<String>,
    },
    /// 送达上门
    HomeDelivery,
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Handover {
    pub method: HandoverMethod,
    pub received_by: PersonName,
}

impl fmt::Debug for Handover {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handover")
            .field("method", &self.method)
            .field("received_by", &self.received_by.masked())
            .finish()
    }
}

/// The four termination grounds of the service notice (帮办代办服务告知书).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TerminationReason {
    /// (1) the client asked in writing
    ClientWithdrew,
    /// (2) false materials, or the application fails legal conditions or standards
    FalseOrNonConforming,
    /// (3) the matter cannot be completed; the client is told in writing with the reason
    CannotComplete,
    /// (4) other causes
    Other,
}

impl TerminationReason {
    pub fn label_zh(self) -> &'static str {
        match self {
            TerminationReason::ClientWithdrew => "委托人书面要求终止",
            TerminationReason::FalseOrNonConforming => "提供虚假材料或不符合法定条件、标准",
            TerminationReason::CannotComplete => "事项无法办理",
            TerminationReason::Other => "其他原因",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Termination {
    pub reason: TerminationReason,
    /// The written reason given to the client; always required.
    pub written_reason: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum VisitKind {
    /// The applicant came to the centre (跑动).
    OnSite,
    /// The agent went to the applicant (上门服务).
    HomeVisit,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Visit {
    pub kind: VisitKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The five levels of 好差评.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Satisfaction {
    VeryDissatisfied,
    Dissatisfied,
    BasicallySatisfied,
    Satisfied,
    VerySatisfied,
}

impl Satisfaction {
    pub fn label_zh(self) -> &'static str {
        match self {
            Satisfaction::VerySatisfied => "非常满意",
            Satisfaction::Satisfied => "满意",
            Satisfaction::BasicallySatisfied => "基本满意",
            Satisfaction::Dissatisfied => "不满意",
            Satisfaction::VeryDissatisfied => "非常不满意",
        }
    }
    /// Good = top two levels.
    pub fn is_good(self) -> bool {
        self >= Satisfaction::Satisfied
    }
    /// Bad = bottom two levels; a bad rating must be followed up.
    pub fn is_bad(self) -> bool {
        self <= Satisfaction::Dissatisfied
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Evaluation {
    pub level: Satisfaction,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Comment {
    pub text: String,
}

/// Why an event is malformed on its own, whatever the case's state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    #[error("field `{field}` must not be empty")]
    Empty { field: &'static str },
    #[error("field `{field}` is longer than {max} characters")]
    TooLong { field: &'static str, max: usize },
    #[error("field `{field}` must list at least one entry")]
    NoEntries { field: &'static str },
    #[error("the credit code fails its check character; a supervisor override is required")]
    CreditCodeNeedsOverride,
    #[error("the case number belongs to station {case_no_station}, not to the author {author}")]
    CaseNumberStation {
        case_no_station: StationCode,
        author: StationCode,
    },
    #[error("an immediate item must have a promised time limit of 0 working days")]
    ImmediateWithDays,
    #[error("promised time limit of {0} working days is beyond the allowed maximum")]
    DaysTooLarge(u32),
}

impl Bilingual for EventError {
    fn code(&self) -> &'static str {
        match self {
            EventError::Empty { .. } => "event.empty_field",
            EventError::TooLong { .. } => "event.too_long",
            EventError::NoEntries { .. } => "event.no_entries",
            EventError::CreditCodeNeedsOverride => "event.credit_code_override",
            EventError::CaseNumberStation { .. } => "event.case_number_station",
            EventError::ImmediateWithDays => "event.immediate_with_days",
            EventError::DaysTooLarge(_) => "event.days_too_large",
        }
    }
    fn message_zh(&self) -> String {
        match self {
            EventError::Empty { field } => format!("“{}”不能为空", field_zh(field)),
            EventError::TooLong { field, max } => {
                format!("“{}”不能超过 {max} 个字", field_zh(field))
            }
            EventError::NoEntries { field } => format!("“{}”至少要填写一项", field_zh(field)),
            EventError::CreditCodeNeedsOverride => {
                "统一社会信用代码校验位不符，需经负责人确认后方可登记".to_owned()
            }
            EventError::CaseNumberStation {
                case_no_station,
                author,
            } => format!("办件编号属于站点 {case_no_station}，与登记站点 {author} 不符"),
            EventError::ImmediateWithDays => "即办件的承诺时限应为 0 个工作日".to_owned(),
            EventError::DaysTooLarge(d) => format!("承诺时限 {d} 个工作日超出允许范围"),
        }
    }
}

fn field_zh(field: &str) -> &'static str {
    match field {
        "topic" => "咨询事项",
        "answer" => "答复内容",
        "item.code" => "事项编码",
        "item.name" => "事项名称",
        "applicant.name" => "申请人姓名/名称",
        "applicant.legal_representative" => "法定代表人",
        "applicant.contact_name" => "联系人",
        "check_override.supervisor" => "确认负责人",
        "check_override.reason" => "确认理由",
        "materials" => "材料",
        "materials.name" => "材料名称",
        "notice_no" => "告知单编号",
        "agreement_no" => "委托书编号",
        "agent_name" => "代办员姓名",
        "delivery.recipient" => "收件人",
        "delivery.address" => "收件地址",
        "window" => "窗口",
        "department" => "承办部门",
        "reason" => "原因",
        "written_reason" => "书面理由",
        "received_by" => "签收人",
        "text" => "内容",
        "actor" => "经办人",
        "remark" => "材料备注",
        "note" => "备注",
        "procedure" => "特别程序",
        "certificate_no" => "证照编号",
        "explanation" => "结果说明",
        "tracking_no" => "快递单号",
        "comment" => "评价意见",
        _ => "字段",
    }
}

/// The longest free text accepted in any field.
pub const MAX_TEXT: usize = 2_000;
/// The longest name, number or code accepted.
pub const MAX_SHORT: usize = 200;
/// The longest promised time limit, in working days (about four years).
pub const MAX_PROMISED_DAYS: u32 = 1_000;

fn required(field: &'static str, value: &str, max: usize) -> Result<(), EventError> {
    if value.trim().is_empty() {
        return Err(EventError::Empty { field });
    }
    optional(field, Some(value), max)
}

fn optional(field: &'static str, value: Option<&str>, max: usize) -> Result<(), EventError> {
    match value {
        Some(v) if v.chars().count() > max => Err(EventError::TooLong { field, max }),
        _ => Ok(()),
    }
}

impl ItemRef {
    fn validate(&self) -> Result<(), EventError> {
        required("item.code", &self.code, MAX_SHORT)?;
        required("item.name", &self.name, MAX_SHORT)?;
        if self.case_type == CaseType::Immediate && self.promised_days != 0 {
            return Err(EventError::ImmediateWithDays);
        }
        if self.promised_days > MAX_PROMISED_DAYS {
            return Err(EventError::DaysTooLarge(self.promised_days));
        }
        Ok(())
    }
}

impl Event {
    /// Checks what one event can be checked for alone. The state machine checks the rest.
    pub fn validate(&self) -> Result<(), EventError> {
        // An actor, when given, names a person: a blank one is a bug in the caller, not "nobody".
        if let Some(actor) = &self.actor {
            required("actor", actor, MAX_SHORT)?;
        }
        match &self.body {
            EventBody::ConsultationRecorded(c) => {
                self.check_case_no(&c.case_no)?;
                required("topic", &c.topic, MAX_TEXT)?;
                optional("answer", c.answer.as_deref(), MAX_TEXT)?;
                if let Some(item) = &c.item {
                    item.validate()?;
                }
            }
            EventBody::ApplicationReceived(a) => {
                self.check_case_no(&a.case_no)?;
                a.item.validate()?;
                match &a.applicant {
                    Applicant::Person { name, .. } => {
                        required("applicant.name", name.as_str(), MAX_SHORT)?
                    }
                    Applicant::Company {
                        name,
                        credit_code,
                        check_override,
                        legal_representative,
                        contact_name,
                        ..
                    } => {
                        required("applicant.name", name, MAX_SHORT)?;
                        required(
                            "applicant.legal_representative",
                            legal_representative.as_str(),
                            MAX_SHORT,
                        )?;
                        required("applicant.contact_name", contact_name.as_str(), MAX_SHORT)?;
                        match check_override {
                            Some(o) => {
                                required("check_override.supervisor", &o.supervisor, MAX_SHORT)?;
                                required("check_override.reason", &o.reason, MAX_TEXT)?;
                            }
                            None if credit_code.check_overridden() => {
                                return Err(EventError::CreditCodeNeedsOverride);
                            }
                            None => {}
                        }
                    }
                }
            }
            EventBody::PreReviewed(r) => {
                if r.materials.is_empty() {
                    return Err(EventError::NoEntries { field: "materials" });
                }
                for m in &r.materials {
                    required("materials.name", &m.name, MAX_SHORT)?;
                    optional("remark", m.remark.as_deref(), MAX_TEXT)?;
                }
            }
            EventBody::OneTimeNoticeIssued(n) => {
                required("notice_no", &n.notice_no, MAX_SHORT)?;
                optional("note", n.note.as_deref(), MAX_TEXT)?;
            }
            EventBody::SupplementReceived(s) => {
                if s.materials.is_empty() {
                    return Err(EventError::NoEntries { field: "materials" });
                }
                for m in &s.materials {
                    required("materials.name", m, MAX_SHORT)?;
                }
            }
            EventBody::DelegationSigned(d) => {
                required("agreement_no", &d.agreement_no, MAX_SHORT)?;
                required("agent_name", &d.agent_name, MAX_SHORT)?;
                if let Delivery::Courier {
                    recipient, address, ..
                } = &d.delivery
                {
                    required("delivery.recipient", recipient.as_str(), MAX_SHORT)?;
                    required("delivery.address", address.as_str(), MAX_TEXT)?;
                }
            }
            EventBody::AssistedAtWindow(w) => {
                required("window", &w.window, MAX_SHORT)?;
                optional("note", w.note.as_deref(), MAX_TEXT)?;
            }
            EventBody::HandlingStarted(h) => {
                required("department", &h.department, MAX_SHORT)?;
                optional("note", h.note.as_deref(), MAX_TEXT)?;
            }
            EventBody::Suspended(s) => {
                required("reason", &s.reason, MAX_TEXT)?;
                optional("procedure", s.procedure.as_deref(), MAX_SHORT)?;
            }
            EventBody::Resumed(n) | EventBody::AcceptedUpstream(n) | EventBody::Completed(n) => {
                optional("note", n.note.as_deref(), MAX_TEXT)?;
            }
            EventBody::Escalated(e) => required("reason", &e.reason, MAX_TEXT)?,
            EventBody::ReturnedDown(r) => required("reason", &r.reason, MAX_TEXT)?,
            EventBody::ResultReady(r) => {
                optional("certificate_no", r.certificate_no.as_deref(), MAX_SHORT)?;
                optional("explanation", r.explanation.as_deref(), MAX_TEXT)?;
            }
            EventBody::HandedOver(h) => {
                required("received_by", h.received_by.as_str(), MAX_SHORT)?;
                if let HandoverMethod::Courier { tracking_no } = &h.method {
                    optional("tracking_no", tracking_no.as_deref(), MAX_SHORT)?;
                }
            }
            EventBody::Terminated(t) => required("written_reason", &t.written_reason, MAX_TEXT)?,
            EventBody::VisitRecorded(v) => optional("note", v.note.as_deref(), MAX_TEXT)?,
            EventBody::Evaluated(e) => optional("comment", e.comment.as_deref(), MAX_TEXT)?,
            EventBody::Commented(c) => required("text", &c.text, MAX_TEXT)?,
        }
        Ok(())
    }

    fn check_case_no(&self, case_no: &CaseNumber) -> Result<(), EventError> {
        if case_no.station() != self.author {
            return Err(EventError::CaseNumberStation {
                case_no_station: case_no.station(),
                author: self.author,
            });
        }
        Ok(())
    }

    pub fn kind(&self) -> EventKind {
        self.body.kind()
    }
}
