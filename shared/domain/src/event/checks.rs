//! The checks a single event can pass on its own: required text, sane lengths, coherent
//! values. Whether it may follow the case's state is decided in `crate::case`.

use super::{
    Applicant, CaseNumber, CaseType, Delivery, Event, EventBody, EventKind, HandoverMethod, ItemRef,
};
use crate::Bilingual;
use crate::station::StationCode;

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
    #[error("an attachment of {0} bytes is empty or larger than any node accepts")]
    AttachmentSize(u64),
}

impl EventError {
    /// The field the error is about, as named in the event (e.g. `topic`, `applicant.name`).
    pub fn field(&self) -> Option<&'static str> {
        match self {
            EventError::Empty { field }
            | EventError::TooLong { field, .. }
            | EventError::NoEntries { field } => Some(field),
            _ => None,
        }
    }
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
            EventError::AttachmentSize(_) => "event.attachment_size",
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
            EventError::AttachmentSize(n) => format!("附件大小 {n} 字节为空或超出上限"),
        }
    }

    fn message_en(&self) -> String {
        match self {
            EventError::Empty { field } => format!("{} must not be empty", field_en(field)),
            EventError::TooLong { field, max } => {
                format!("{} must be at most {max} characters", field_en(field))
            }
            EventError::NoEntries { field } => {
                format!("{} must list at least one entry", field_en(field))
            }
            other => other.to_string(),
        }
    }
}

/// The field's name in an English sentence, for the operator UI; the wire name otherwise.
fn field_en(field: &str) -> &str {
    match field {
        "topic" => "The question",
        "answer" => "The answer",
        "item.code" => "The item code",
        "item.name" => "The item name",
        "applicant.name" => "The applicant's name",
        "applicant.legal_representative" => "The legal representative",
        "applicant.contact_name" => "The contact person",
        "check_override.supervisor" => "The supervisor",
        "check_override.reason" => "The reason for the override",
        "materials" => "The materials",
        "materials.name" => "A material's name",
        "notice_no" => "The notice number",
        "agreement_no" => "The agreement number",
        "agent_name" => "The agent's name",
        "delivery.recipient" => "The recipient",
        "delivery.address" => "The address",
        "window" => "The window",
        "department" => "The department",
        "reason" => "The reason",
        "written_reason" => "The written reason",
        "received_by" => "Who received it",
        "text" => "The text",
        "actor" => "The operator",
        "remark" => "The remark",
        "note" => "The note",
        "procedure" => "The special procedure",
        "certificate_no" => "The certificate number",
        "explanation" => "The explanation",
        "tracking_no" => "The tracking number",
        "comment" => "The comment",
        other => other,
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
        "file_name" => "文件名",
        "material" => "所属材料",
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
            EventBody::AttachmentAdded(a) => {
                required("file_name", &a.file_name, crate::attachment::MAX_FILE_NAME)?;
                optional("material", a.material.as_deref(), MAX_SHORT)?;
                if a.size == 0 || a.size > crate::attachment::MAX_ATTACHMENT_BYTES {
                    return Err(EventError::AttachmentSize(a.size));
                }
            }
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
