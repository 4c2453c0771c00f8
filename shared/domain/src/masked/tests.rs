#![allow(clippy::unwrap_used)]

use serde_json::{Value, json};
use time::macros::{date, datetime};
use uuid::Uuid;

use super::*;
use crate::event::{
    CaseType, MaterialVerdict, Outcome, Satisfaction, TerminationReason, Verdict, VisitKind,
};
use crate::ident::{CreditCode, MobileNumber, ResidentId, mask_name};

/// The masking the operator API did before views were typed: by JSON key name, at any depth.
/// Kept here as the reference the typed views must match exactly.
fn mask_by_key_name(value: &mut Value) {
    fn middle(value: &str, head: usize, tail: usize) -> String {
        let chars: Vec<char> = value.chars().collect();
        if chars.len() <= head + tail {
            return "*".repeat(chars.len());
        }
        let mut out: String = chars[..head].iter().collect();
        out.push_str(&"*".repeat(chars.len() - head - tail));
        out.extend(&chars[chars.len() - tail..]);
        out
    }
    fn field(key: &str, value: &str) -> Option<String> {
        match key {
            "id_number" | "credit_code" => Some(middle(value, 4, 4)),
            "phone" | "contact_phone" => Some(middle(value, 3, 4)),
            "address" => Some(format!("{}****", value.chars().take(6).collect::<String>())),
            "recipient" | "received_by" | "contact_name" | "legal_representative" => {
                Some(mask_name(value))
            }
            _ => None,
        }
    }
    match value {
        Value::Object(map) => {
            let is_person = map.get("type").and_then(Value::as_str) == Some("person");
            for (key, v) in map.iter_mut() {
                if let Value::String(s) = v {
                    if let Some(masked) = field(key, s) {
                        *s = masked;
                    } else if is_person && key == "name" {
                        *s = mask_name(s);
                    }
                } else {
                    mask_by_key_name(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(mask_by_key_name),
        _ => {}
    }
}

const VILLAGE: &str = "410402001001";

fn event(body: EventBody) -> Event {
    Event {
        event_id: EventId::from_uuid(Uuid::now_v7()),
        case_id: CaseId::from_uuid(Uuid::now_v7()),
        author: StationCode::parse(VILLAGE).unwrap(),
        actor: Some("zhangsan".to_owned()),
        occurred_at: datetime!(2026-01-05 09:30 +08:00),
        body,
    }
}

fn item() -> ItemRef {
    ItemRef {
        code: "410402-SCJG-001".to_owned(),
        name: "食品经营许可证核发".to_owned(),
        case_type: CaseType::Promised,
        promised_days: 5,
    }
}

fn case_no() -> CaseNumber {
    CaseNumber::new(
        StationCode::parse(VILLAGE).unwrap(),
        date!(2026 - 01 - 05),
        1,
    )
    .unwrap()
}

fn application(applicant: Applicant) -> EventBody {
    EventBody::ApplicationReceived(Application {
        policy_bundle: None,
        case_no: case_no(),
        channel: Channel::Window,
        item: item(),
        applicant,
    })
}

/// One event of every kind, with personal data wherever a payload can carry it.
fn every_kind() -> Vec<Event> {
    let courier = Delivery::Courier {
        recipient: "李四".into(),
        address: "河南省平顶山市新华区曙光街1号".into(),
        phone: MobileNumber::parse("13900001111").unwrap(),
    };
    let note = Note {
        note: Some("备注".to_owned()),
    };
    let mut events: Vec<Event> = [
        EventBody::ConsultationRecorded(Consultation {
            policy_bundle: None,
            case_no: case_no(),
            channel: Channel::Phone,
            topic: "咨询".to_owned(),
            item: Some(item()),
            answer: Some("答复".to_owned()),
        }),
        application(Applicant::Person {
            name: "张三丰".into(),
            id_number: ResidentId::parse("11010519491231002X").unwrap(),
            phone: MobileNumber::parse("13812345678").unwrap(),
        }),
        application(Applicant::Company {
            name: "平顶山市新华区示例商贸有限公司".to_owned(),
            credit_code: CreditCode::parse_with_override("91350100M000100Y44").unwrap(),
            check_override: Some(CheckOverride {
                supervisor: "张主任".to_owned(),
                reason: "原件核验无误".to_owned(),
            }),
            legal_representative: "李建国".into(),
            contact_name: "赵敏".into(),
            contact_phone: MobileNumber::parse("13998765432").unwrap(),
        }),
        EventBody::PreReviewed(PreReview {
            materials: vec![MaterialVerdict {
                name: "居民身份证".to_owned(),
                verdict: Verdict::Missing,
                remark: Some("原件".to_owned()),
            }],
        }),
        EventBody::OneTimeNoticeIssued(OneTimeNotice {
            notice_no: "GZ-1".to_owned(),
            note: None,
        }),
        EventBody::SupplementReceived(Supplement {
            materials: vec!["居民身份证".to_owned()],
            collected_at_home: true,
        }),
        EventBody::DelegationSigned(Delegation {
            agreement_no: "WT-1".to_owned(),
            agent_name: "陈代办".to_owned(),
            delivery: courier,
        }),
        EventBody::DelegationSigned(Delegation {
            agreement_no: "WT-2".to_owned(),
            agent_name: "陈代办".to_owned(),
            delivery: Delivery::HallPickup,
        }),
        EventBody::AssistedAtWindow(WindowAssist {
            window: "医保窗口".to_owned(),
            note: None,
        }),
        EventBody::HandlingStarted(HandlingStart {
            department: "市场监管局".to_owned(),
            note: None,
        }),
        EventBody::Suspended(Suspension {
            reason: "现场勘验".to_owned(),
            procedure: Some("现场勘验".to_owned()),
        }),
        EventBody::Resumed(note.clone()),
        EventBody::Escalated(Escalation {
            to_tier: crate::station::Tier::Town,
            reason: "需上级办理".to_owned(),
        }),
        EventBody::AcceptedUpstream(Note::default()),
        EventBody::ReturnedDown(Return {
            to: StationCode::parse(VILLAGE).unwrap(),
            reason: "退回".to_owned(),
        }),
        EventBody::ResultReady(CaseResult {
            outcome: Outcome::Approved,
            certificate_no: Some("JY1410402".to_owned()),
            explanation: None,
        }),
        EventBody::HandedOver(Handover {
            method: HandoverMethod::Courier {
                tracking_no: Some("SF123".to_owned()),
            },
            received_by: "王五".into(),
        }),
        EventBody::HandedOver(Handover {
            method: HandoverMethod::Pickup,
            received_by: "欧阳娜娜".into(),
        }),
        EventBody::Completed(note),
        EventBody::Terminated(Termination {
            reason: TerminationReason::ClientWithdrew,
            written_reason: "书面申请撤回".to_owned(),
        }),
        EventBody::VisitRecorded(Visit {
            kind: VisitKind::HomeVisit,
            note: None,
        }),
        EventBody::Evaluated(Evaluation {
            level: Satisfaction::VerySatisfied,
            comment: None,
        }),
        EventBody::Commented(Comment {
            text: "已电话联系".to_owned(),
        }),
        EventBody::AttachmentAdded(Attachment {
            sha256: crate::attachment::ContentHash::from_digest(&[7; 32]),
            media_type: crate::attachment::MediaType::Jpeg,
            size: 1234,
            file_name: "户口簿.jpg".to_owned(),
            material: Some("户口簿".to_owned()),
            stripped: true,
        }),
    ]
    .into_iter()
    .map(event)
    .collect();
    events[0].actor = None;
    events
}

#[test]
fn views_mask_exactly_what_the_key_name_masking_did() {
    let events = every_kind();
    let kinds: std::collections::HashSet<_> = events.iter().map(Event::kind).collect();
    assert_eq!(
        kinds.len(),
        crate::event::EventKind::ALL.len(),
        "every kind"
    );
    for ev in &events {
        let mut expected = serde_json::to_value(ev).unwrap();
        mask_by_key_name(&mut expected);
        expected["kind_label"] = json!(ev.kind().label_zh());
        let view = serde_json::to_value(EventView::from(ev)).unwrap();
        assert_eq!(view, expected, "{}", ev.kind());
    }
}

#[test]
fn views_show_no_personal_data() {
    let text = serde_json::to_string(&every_kind().iter().map(EventView::from).collect::<Vec<_>>())
        .unwrap();
    for secret in [
        "11010519491231002X",
        "13812345678",
        "张三丰",
        "曙光街1号",
        "13900001111",
        "李四",
        "91350100M000100Y44",
        "李建国",
        "赵敏",
        "13998765432",
        "王五",
        "欧阳娜娜",
    ] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }
    let person = EventView::from(&every_kind()[1]);
    let v = serde_json::to_value(&person).unwrap();
    assert_eq!(v["payload"]["applicant"]["name"], "张**");
    assert_eq!(v["payload"]["applicant"]["id_number"], "1101**********002X");
    assert_eq!(v["payload"]["applicant"]["phone"], "138****5678");
    assert_eq!(
        v["payload"]["item"]["name"], "食品经营许可证核发",
        "item names are not personal"
    );
}

#[test]
fn person_names_and_addresses_mask_themselves_and_debug_masked() {
    let name = crate::ident::PersonName::from("张三丰");
    assert_eq!(name.masked(), "张**");
    assert_eq!(format!("{name:?}"), "PersonName(\"张**\")");
    let address = crate::ident::Address::from("河南省平顶山市新华区曙光街1号");
    assert_eq!(address.masked(), "河南省平顶山****");
    assert!(!format!("{address:?}").contains("河南"));
    // On the wire both are plain strings.
    assert_eq!(serde_json::to_value(&name).unwrap(), json!("张三丰"));
    let back: crate::ident::Address = serde_json::from_value(json!("新华区")).unwrap();
    assert_eq!(back.as_str(), "新华区");
}
