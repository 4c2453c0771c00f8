//! One payload type per lifecycle step, with the values they carry. Personal data prints
//! masked in `Debug`.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::CaseNumber;
use crate::attachment::{ContentHash, MediaType};
use crate::ident::{Address, CreditCode, MobileNumber, PersonName, ResidentId};
use crate::station::{StationCode, Tier};

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
    /// The number of the district's policy bundle in force at intake, when the centre works by
    /// one: the rules the case was taken in under.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_bundle: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Application {
    pub case_no: CaseNumber,
    pub channel: Channel,
    pub item: ItemRef,
    pub applicant: Applicant,
    /// The number of the district's policy bundle in force at intake, when the centre works by
    /// one: the rules the pre-review can be replayed against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_bundle: Option<u64>,
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

/// A scan or photo of a material, added to the case (上传材料附件). The bytes travel apart,
/// named by their hash; the log records what they are. Adding one changes no state, so any
/// station on the case's path may do it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Attachment {
    /// The SHA-256 of the stored bytes (after metadata was stripped).
    pub sha256: ContentHash,
    pub media_type: MediaType,
    /// The stored size in bytes.
    pub size: u64,
    /// The file name as uploaded, made safe (see `attachment::sanitize_file_name`).
    pub file_name: String,
    /// The material of the item's list it belongs to, when the operator chose one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub material: Option<String>,
    /// Whether metadata (EXIF, XMP, text chunks) was removed before storing (images; a PDF is
    /// stored as it came).
    #[serde(default)]
    pub stripped: bool,
}
