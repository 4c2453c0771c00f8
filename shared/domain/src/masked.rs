//! What an operator sees of a case's events: the wire shape of each event, with every piece of
//! personal data replaced by its masked form, chosen by type ([`PersonName`], [`Address`],
//! [`ResidentId`], [`MobileNumber`], [`CreditCode`]), never by a field's name.
//!
//! These views only serialize: nothing here is ever read back or sent between nodes, and the
//! wire format of [`Event`] is untouched.
//!
//! [`PersonName`]: crate::ident::PersonName
//! [`Address`]: crate::ident::Address
//! [`ResidentId`]: crate::ident::ResidentId
//! [`MobileNumber`]: crate::ident::MobileNumber
//! [`CreditCode`]: crate::ident::CreditCode

use serde::Serialize;
use time::OffsetDateTime;

use crate::event::{
    Applicant, Application, Attachment, CaseId, CaseNumber, CaseResult, Channel, CheckOverride,
    Comment, Consultation, Delegation, Delivery, Escalation, Evaluation, Event, EventBody, EventId,
    HandlingStart, Handover, HandoverMethod, ItemRef, Note, OneTimeNotice, PreReview, Return,
    Supplement, Suspension, Termination, Visit, WindowAssist,
};
use crate::station::StationCode;

/// One event of a case as the operator API shows it: the event's own JSON, personal data
/// masked, plus `kind_label`, the kind's name in Chinese.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EventView {
    pub event_id: EventId,
    pub case_id: CaseId,
    /// The station that wrote the event.
    pub author: StationCode,
    /// The operator or agent account that acted, when a person did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub occurred_at: OffsetDateTime,
    #[serde(flatten)]
    pub body: BodyView,
    /// 记录类型的中文名称。The kind's name in Chinese, e.g. `申请受理登记`.
    pub kind_label: &'static str,
}

impl From<&Event> for EventView {
    fn from(ev: &Event) -> Self {
        EventView {
            event_id: ev.event_id,
            case_id: ev.case_id,
            author: ev.author,
            actor: ev.actor.clone(),
            occurred_at: ev.occurred_at,
            body: BodyView::from(&ev.body),
            kind_label: ev.kind().label_zh(),
        }
    }
}

/// [`EventBody`] with personal data masked: `"kind": …, "payload": {…}` as on the wire. Payloads
/// without personal data are shown as they are.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", content = "payload", rename_all = "snake_case")]
pub enum BodyView {
    ConsultationRecorded(Consultation),
    ApplicationReceived(ApplicationView),
    PreReviewed(PreReview),
    OneTimeNoticeIssued(OneTimeNotice),
    SupplementReceived(Supplement),
    DelegationSigned(DelegationView),
    AssistedAtWindow(WindowAssist),
    HandlingStarted(HandlingStart),
    Suspended(Suspension),
    Resumed(Note),
    Escalated(Escalation),
    AcceptedUpstream(Note),
    ReturnedDown(Return),
    ResultReady(CaseResult),
    HandedOver(HandoverView),
    Completed(Note),
    Terminated(Termination),
    VisitRecorded(Visit),
    Evaluated(Evaluation),
    Commented(Comment),
    AttachmentAdded(Attachment),
}

impl From<&EventBody> for BodyView {
    fn from(body: &EventBody) -> Self {
        match body {
            EventBody::ConsultationRecorded(c) => BodyView::ConsultationRecorded(c.clone()),
            EventBody::ApplicationReceived(a) => BodyView::ApplicationReceived(a.into()),
            EventBody::PreReviewed(r) => BodyView::PreReviewed(r.clone()),
            EventBody::OneTimeNoticeIssued(n) => BodyView::OneTimeNoticeIssued(n.clone()),
            EventBody::SupplementReceived(s) => BodyView::SupplementReceived(s.clone()),
            EventBody::DelegationSigned(d) => BodyView::DelegationSigned(d.into()),
            EventBody::AssistedAtWindow(w) => BodyView::AssistedAtWindow(w.clone()),
            EventBody::HandlingStarted(h) => BodyView::HandlingStarted(h.clone()),
            EventBody::Suspended(s) => BodyView::Suspended(s.clone()),
            EventBody::Resumed(n) => BodyView::Resumed(n.clone()),
            EventBody::Escalated(e) => BodyView::Escalated(e.clone()),
            EventBody::AcceptedUpstream(n) => BodyView::AcceptedUpstream(n.clone()),
            EventBody::ReturnedDown(r) => BodyView::ReturnedDown(r.clone()),
            EventBody::ResultReady(r) => BodyView::ResultReady(r.clone()),
            EventBody::HandedOver(h) => BodyView::HandedOver(h.into()),
            EventBody::Completed(n) => BodyView::Completed(n.clone()),
            EventBody::Terminated(t) => BodyView::Terminated(t.clone()),
            EventBody::VisitRecorded(v) => BodyView::VisitRecorded(v.clone()),
            EventBody::Evaluated(e) => BodyView::Evaluated(e.clone()),
            EventBody::Commented(c) => BodyView::Commented(c.clone()),
            EventBody::AttachmentAdded(a) => BodyView::AttachmentAdded(a.clone()),
        }
    }
}

/// [`Application`] with the applicant masked.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApplicationView {
    pub case_no: CaseNumber,
    pub channel: Channel,
    pub item: ItemRef,
    pub applicant: ApplicantView,
    /// The policy bundle in force at intake (see [`Application::policy_bundle`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy_bundle: Option<u64>,
}

impl From<&Application> for ApplicationView {
    fn from(a: &Application) -> Self {
        ApplicationView {
            case_no: a.case_no,
            channel: a.channel,
            item: a.item.clone(),
            applicant: (&a.applicant).into(),
            policy_bundle: a.policy_bundle,
        }
    }
}

/// [`Applicant`] masked: a person's name, ID number and phone; a company's credit code, its
/// representative's and contact's names and the contact's phone. A company's own name is public
/// and shown in full.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ApplicantView {
    Person {
        /// 脱敏姓名。Masked, e.g. `张**`.
        name: String,
        /// 脱敏身份证号码。Masked, e.g. `1101**********002X`.
        id_number: String,
        /// 脱敏手机号码。Masked, e.g. `138****5678`.
        phone: String,
    },
    Company {
        name: String,
        /// 脱敏统一社会信用代码。Masked, e.g. `9135**********0Y43`.
        credit_code: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        check_override: Option<CheckOverride>,
        /// Masked.
        legal_representative: String,
        /// Masked.
        contact_name: String,
        /// Masked.
        contact_phone: String,
    },
}

impl From<&Applicant> for ApplicantView {
    fn from(a: &Applicant) -> Self {
        match a {
            Applicant::Person {
                name,
                id_number,
                phone,
            } => ApplicantView::Person {
                name: name.masked(),
                id_number: id_number.masked(),
                phone: phone.masked(),
            },
            Applicant::Company {
                name,
                credit_code,
                check_override,
                legal_representative,
                contact_name,
                contact_phone,
            } => ApplicantView::Company {
                name: name.clone(),
                credit_code: credit_code.masked(),
                check_override: check_override.clone(),
                legal_representative: legal_representative.masked(),
                contact_name: contact_name.masked(),
                contact_phone: contact_phone.masked(),
            },
        }
    }
}

/// [`Delegation`] with the courier delivery's recipient, address and phone masked.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DelegationView {
    pub agreement_no: String,
    pub agent_name: String,
    pub delivery: DeliveryView,
}

impl From<&Delegation> for DelegationView {
    fn from(d: &Delegation) -> Self {
        DelegationView {
            agreement_no: d.agreement_no.clone(),
            agent_name: d.agent_name.clone(),
            delivery: (&d.delivery).into(),
        }
    }
}

/// [`Delivery`] masked.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum DeliveryView {
    HallPickup,
    Courier {
        /// Masked, e.g. `李*`.
        recipient: String,
        /// Masked: the first six characters, then `****`.
        address: String,
        /// Masked, e.g. `139****1111`.
        phone: String,
    },
}

impl From<&Delivery> for DeliveryView {
    fn from(d: &Delivery) -> Self {
        match d {
            Delivery::HallPickup => DeliveryView::HallPickup,
            Delivery::Courier {
                recipient,
                address,
                phone,
            } => DeliveryView::Courier {
                recipient: recipient.masked(),
                address: address.masked(),
                phone: phone.masked(),
            },
        }
    }
}

/// [`Handover`] with who signed for the result masked.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HandoverView {
    pub method: HandoverMethod,
    /// Masked, e.g. `张*`.
    pub received_by: String,
}

impl From<&Handover> for HandoverView {
    fn from(h: &Handover) -> Self {
        HandoverView {
            method: h.method.clone(),
            received_by: h.received_by.masked(),
        }
    }
}

#[cfg(test)]
mod tests;
