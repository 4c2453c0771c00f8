//! Every text field of every event body, for the length and blank checks.

use super::*;

/// Every required text field, as (field name, max length, body with that field set to `text`).
pub(super) fn required_fields(text: &str) -> Vec<(&'static str, usize, EventBody)> {
    let v = village();
    let t = text.to_owned();
    let mut item_code = promised_item(5);
    item_code.code = t.clone();
    let mut item_name = promised_item(5);
    item_name.name = t.clone();
    vec![
        (
            "topic",
            MAX_TEXT,
            EventBody::ConsultationRecorded(Consultation {
                policy_bundle: None,
                case_no: case_no(v),
                channel: Channel::Phone,
                topic: t.clone(),
                item: None,
                answer: None,
            }),
        ),
        ("item.code", MAX_SHORT, application(v, item_code, person())),
        ("item.name", MAX_SHORT, application(v, item_name, person())),
        (
            "applicant.name",
            MAX_SHORT,
            application(
                v,
                promised_item(5),
                Applicant::Person {
                    name: t.clone().into(),
                    id_number: PERSON_ID.parse().unwrap(),
                    phone: phone(),
                },
            ),
        ),
        (
            "applicant.name",
            MAX_SHORT,
            company_with(|name, _, _, _| *name = t.clone()),
        ),
        (
            "applicant.legal_representative",
            MAX_SHORT,
            company_with(|_, rep, _, _| *rep = t.clone().into()),
        ),
        (
            "applicant.contact_name",
            MAX_SHORT,
            company_with(|_, _, contact, _| *contact = t.clone().into()),
        ),
        (
            "check_override.supervisor",
            MAX_SHORT,
            company_with(|_, _, _, o| {
                *o = Some(CheckOverride {
                    supervisor: t.clone(),
                    reason: "核验无误".to_owned(),
                });
            }),
        ),
        (
            "check_override.reason",
            MAX_TEXT,
            company_with(|_, _, _, o| {
                *o = Some(CheckOverride {
                    supervisor: "张主任".to_owned(),
                    reason: t.clone(),
                });
            }),
        ),
        (
            "materials.name",
            MAX_SHORT,
            EventBody::PreReviewed(PreReview {
                materials: vec![MaterialVerdict {
                    name: t.clone(),
                    verdict: Verdict::Conforming,
                    remark: None,
                }],
            }),
        ),
        (
            "notice_no",
            MAX_SHORT,
            EventBody::OneTimeNoticeIssued(OneTimeNotice {
                notice_no: t.clone(),
                note: None,
            }),
        ),
        (
            "materials.name",
            MAX_SHORT,
            EventBody::SupplementReceived(Supplement {
                materials: vec!["材料1".to_owned(), t.clone()],
                collected_at_home: false,
            }),
        ),
        (
            "agreement_no",
            MAX_SHORT,
            EventBody::DelegationSigned(Delegation {
                agreement_no: t.clone(),
                agent_name: "陈代办".to_owned(),
                delivery: Delivery::HallPickup,
            }),
        ),
        (
            "agent_name",
            MAX_SHORT,
            EventBody::DelegationSigned(Delegation {
                agreement_no: "WT-1".to_owned(),
                agent_name: t.clone(),
                delivery: Delivery::HallPickup,
            }),
        ),
        (
            "delivery.recipient",
            MAX_SHORT,
            delegation(Delivery::Courier {
                recipient: t.clone().into(),
                address: "新华区曙光街1号".into(),
                phone: phone(),
            }),
        ),
        (
            "delivery.address",
            MAX_TEXT,
            delegation(Delivery::Courier {
                recipient: PERSON_NAME.into(),
                address: t.clone().into(),
                phone: phone(),
            }),
        ),
        (
            "window",
            MAX_SHORT,
            EventBody::AssistedAtWindow(WindowAssist {
                window: t.clone(),
                note: None,
            }),
        ),
        (
            "department",
            MAX_SHORT,
            EventBody::HandlingStarted(HandlingStart {
                department: t.clone(),
                note: None,
            }),
        ),
        (
            "reason",
            MAX_TEXT,
            EventBody::Suspended(Suspension {
                reason: t.clone(),
                procedure: None,
            }),
        ),
        (
            "reason",
            MAX_TEXT,
            EventBody::Escalated(Escalation {
                to_tier: Tier::Town,
                reason: t.clone(),
            }),
        ),
        (
            "reason",
            MAX_TEXT,
            EventBody::ReturnedDown(Return {
                to: v,
                reason: t.clone(),
            }),
        ),
        (
            "received_by",
            MAX_SHORT,
            EventBody::HandedOver(Handover {
                method: HandoverMethod::Pickup,
                received_by: t.clone().into(),
            }),
        ),
        (
            "written_reason",
            MAX_TEXT,
            EventBody::Terminated(Termination {
                reason: TerminationReason::FalseOrNonConforming,
                written_reason: t.clone(),
            }),
        ),
        (
            "text",
            MAX_TEXT,
            EventBody::Commented(Comment { text: t.clone() }),
        ),
    ]
}

/// Every optional text field, as (field name, max length, body with that field set to `text`).
pub(super) fn optional_fields(text: &str) -> Vec<(&'static str, usize, EventBody)> {
    let v = village();
    let t = Some(text.to_owned());
    let note = || Note { note: t.clone() };
    vec![
        (
            "answer",
            MAX_TEXT,
            EventBody::ConsultationRecorded(Consultation {
                policy_bundle: None,
                case_no: case_no(v),
                channel: Channel::Online,
                topic: "办证咨询".to_owned(),
                item: None,
                answer: t.clone(),
            }),
        ),
        (
            "remark",
            MAX_TEXT,
            EventBody::PreReviewed(PreReview {
                materials: vec![MaterialVerdict {
                    name: "营业执照".to_owned(),
                    verdict: Verdict::NeedsCorrection,
                    remark: t.clone(),
                }],
            }),
        ),
        (
            "note",
            MAX_TEXT,
            EventBody::OneTimeNoticeIssued(OneTimeNotice {
                notice_no: "GZ-1".to_owned(),
                note: t.clone(),
            }),
        ),
        (
            "note",
            MAX_TEXT,
            EventBody::AssistedAtWindow(WindowAssist {
                window: "1号窗口".to_owned(),
                note: t.clone(),
            }),
        ),
        (
            "note",
            MAX_TEXT,
            EventBody::HandlingStarted(HandlingStart {
                department: "区民政局".to_owned(),
                note: t.clone(),
            }),
        ),
        (
            "procedure",
            MAX_SHORT,
            EventBody::Suspended(Suspension {
                reason: "听证".to_owned(),
                procedure: t.clone(),
            }),
        ),
        ("note", MAX_TEXT, EventBody::Resumed(note())),
        ("note", MAX_TEXT, EventBody::AcceptedUpstream(note())),
        ("note", MAX_TEXT, EventBody::Completed(note())),
        (
            "certificate_no",
            MAX_SHORT,
            EventBody::ResultReady(CaseResult {
                outcome: bangban_domain::event::Outcome::Approved,
                certificate_no: t.clone(),
                explanation: None,
            }),
        ),
        (
            "explanation",
            MAX_TEXT,
            EventBody::ResultReady(CaseResult {
                outcome: bangban_domain::event::Outcome::Rejected,
                certificate_no: None,
                explanation: t.clone(),
            }),
        ),
        (
            "tracking_no",
            MAX_SHORT,
            handover(HandoverMethod::Courier {
                tracking_no: t.clone(),
            }),
        ),
        (
            "note",
            MAX_TEXT,
            EventBody::VisitRecorded(Visit {
                kind: VisitKind::OnSite,
                note: t.clone(),
            }),
        ),
        (
            "comment",
            MAX_TEXT,
            EventBody::Evaluated(Evaluation {
                level: Satisfaction::BasicallySatisfied,
                comment: t.clone(),
            }),
        ),
    ]
}
