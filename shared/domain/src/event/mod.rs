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
use crate::station::{StationCode, StationCodeError};

mod checks;
mod payload;

pub use checks::*;
pub use payload::*;

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
    AttachmentAdded(Attachment),
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
    AttachmentAdded,
}

impl EventKind {
    pub const ALL: [EventKind; 21] = [
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
        EventKind::AttachmentAdded,
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
            EventKind::AttachmentAdded => "attachment_added",
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
            EventKind::AttachmentAdded => "上传材料附件",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            EventKind::ConsultationRecorded => "Consultation logged",
            EventKind::ApplicationReceived => "Application taken in",
            EventKind::PreReviewed => "Materials pre-reviewed",
            EventKind::OneTimeNoticeIssued => "One-time notice issued",
            EventKind::SupplementReceived => "Supplement received",
            EventKind::DelegationSigned => "Delegation agreement signed",
            EventKind::AssistedAtWindow => "Assisted at the window",
            EventKind::HandlingStarted => "Handling started",
            EventKind::Suspended => "Suspended",
            EventKind::Resumed => "Resumed",
            EventKind::Escalated => "Escalated",
            EventKind::AcceptedUpstream => "Accepted by the higher tier",
            EventKind::ReturnedDown => "Returned down",
            EventKind::ResultReady => "Result ready",
            EventKind::HandedOver => "Result handed over",
            EventKind::Completed => "Completed",
            EventKind::Terminated => "Service terminated",
            EventKind::VisitRecorded => "Trip recorded",
            EventKind::Evaluated => "Service rated",
            EventKind::Commented => "Note",
            EventKind::AttachmentAdded => "Attachment added",
        }
    }

    /// Whether the event changes the case's state, and so may only come from the holder.
    /// Visits, evaluations, comments and attachments may come from any station in the case's
    /// chain.
    pub fn changes_state(self) -> bool {
        !matches!(
            self,
            EventKind::VisitRecorded
                | EventKind::Evaluated
                | EventKind::Commented
                | EventKind::AttachmentAdded
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
            EventBody::AttachmentAdded(_) => EventKind::AttachmentAdded,
        }
    }
}
