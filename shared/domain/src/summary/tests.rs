use time::macros::{date, datetime};
use uuid::Uuid;

use super::*;
use crate::agent::{AgentRole, AgentStatus};
use crate::case::fold;
use crate::event::*;
use crate::ident::{Address, MobileNumber, PersonName, ResidentId};

const NAME: &str = "王秀英";
const ID: &str = "11010519491231002X";
const PHONE: &str = "13812345678";

fn village() -> StationCode {
    StationCode::parse("410402001001").unwrap()
}

fn ev(case_id: CaseId, minutes: i64, body: EventBody) -> Event {
    Event {
        event_id: EventId::from_uuid(Uuid::now_v7()),
        case_id,
        author: village(),
        actor: Some("operator1".into()),
        occurred_at: datetime!(2026-02-10 09:00 +8) + time::Duration::minutes(minutes),
        body,
    }
}

/// A promised case at the village: taken in, reviewed, delegated (courier to the applicant's
/// address), suspended for a week and resumed, then handled to the end, rated badly and followed
/// up.
fn handled_case() -> Vec<Event> {
    let id = CaseId::from_uuid(Uuid::now_v7());
    let no = CaseNumber::new(village(), date!(2026 - 02 - 10), 7).unwrap();
    let note = || Note { note: None };
    vec![
        ev(
            id,
            0,
            EventBody::ApplicationReceived(Application {
                case_no: no,
                channel: Channel::Window,
                item: ItemRef {
                    code: "410402-JY-001".into(),
                    name: "食品经营许可".into(),
                    case_type: CaseType::Promised,
                    promised_days: 5,
                },
                applicant: Applicant::Person {
                    name: PersonName::new(NAME),
                    id_number: ResidentId::parse(ID).unwrap(),
                    phone: MobileNumber::parse(PHONE).unwrap(),
                },
                policy_bundle: None,
            }),
        ),
        ev(
            id,
            5,
            EventBody::VisitRecorded(Visit {
                kind: VisitKind::OnSite,
                note: None,
            }),
        ),
        ev(
            id,
            10,
            EventBody::PreReviewed(PreReview {
                materials: vec![MaterialVerdict {
                    name: "营业执照".into(),
                    verdict: Verdict::Conforming,
                    remark: None,
                }],
            }),
        ),
        ev(
            id,
            20,
            EventBody::DelegationSigned(Delegation {
                agreement_no: "WT-0007".into(),
                agent_name: " 李四 ".into(),
                delivery: Delivery::Courier {
                    recipient: PersonName::new(NAME),
                    address: Address::new("新华区曙光街道幸福路1号"),
                    phone: MobileNumber::parse(PHONE).unwrap(),
                },
            }),
        ),
        ev(
            id,
            30,
            EventBody::HandlingStarted(HandlingStart {
                department: "区市场监管局".into(),
                note: None,
            }),
        ),
        // Suspended on Wednesday 11 February, resumed on Wednesday 18 February 2026.
        ev(
            id,
            60 * 24,
            EventBody::Suspended(Suspension {
                reason: "现场勘验".into(),
                procedure: Some("现场勘验".into()),
            }),
        ),
        ev(id, 60 * 24 * 8, EventBody::Resumed(note())),
        ev(
            id,
            60 * 24 * 8 + 10,
            EventBody::ResultReady(CaseResult {
                outcome: Outcome::Approved,
                certificate_no: Some("JY14104020001".into()),
                explanation: None,
            }),
        ),
        ev(
            id,
            60 * 24 * 8 + 20,
            EventBody::HandedOver(Handover {
                method: HandoverMethod::Courier { tracking_no: None },
                received_by: PersonName::new(NAME),
            }),
        ),
        ev(id, 60 * 24 * 8 + 30, EventBody::Completed(note())),
        ev(
            id,
            60 * 24 * 8 + 40,
            EventBody::Evaluated(Evaluation {
                level: Satisfaction::Dissatisfied,
                comment: Some(format!("{NAME} 觉得太慢")),
            }),
        ),
    ]
}

fn agent(name: &str, badge: &str, status: AgentStatus) -> Agent {
    Agent {
        name: PersonName::new(name),
        id_number: ResidentId::parse(ID).unwrap(),
        phone: MobileNumber::parse(PHONE).unwrap(),
        centre: village(),
        role: AgentRole::AssistingAgent,
        badge_no: badge.to_owned(),
        filed_on: date!(2026 - 01 - 05),
        training: Vec::new(),
        status,
    }
}

#[test]
fn a_summary_carries_the_inspection_facts_and_no_personal_data() {
    let mut log = handled_case();
    let state = fold(&log).unwrap();
    let cal = WorkingCalendar::empty();
    let roster = [
        agent("李四", "XH-009", AgentStatus::Left),
        agent("李四", "XH-010", AgentStatus::Active),
    ];
    let summary = CaseSummary::from_state(&state)
        .dated(&cal)
        .with_agent_from(&state, &roster);
    assert_eq!(summary.origin, village());
    assert_eq!(summary.stage, Stage::Completed);
    assert_eq!(summary.kind, CaseKind::Application);
    assert_eq!(summary.service, Some(Service::Delegated));
    assert_eq!(summary.item_code.as_deref(), Some("410402-JY-001"));
    assert_eq!(summary.visits, 1);
    assert_eq!(summary.outcome, Some(Outcome::Approved));
    assert_eq!(summary.evaluations, vec![Satisfaction::Dissatisfied]);
    assert_eq!(summary.bad_rating_followed_up, Some(false));
    assert_eq!(
        summary.agent_badge.as_deref(),
        Some("XH-010"),
        "the active one"
    );
    assert_eq!(summary.version, 11);
    assert!(!summary.suspended);
    assert_eq!(summary.suspensions.len(), 1);
    // Thursday 12 to Wednesday 18 February: five working days on a weekends-only calendar.
    assert_eq!(summary.suspended_working_days, Some(5));
    // Accepted Tuesday 10 February, 5 working days, plus the five suspended: 24 February.
    assert_eq!(summary.due_date, Some(date!(2026 - 02 - 24)));
    assert_eq!(
        summary.due_date,
        state.deadline(&cal).unwrap().unwrap().due_date()
    );

    let json = serde_json::to_string(&summary).unwrap();
    for personal in [NAME, ID, PHONE, "幸福路", "李四", "觉得太慢"] {
        assert!(!json.contains(personal), "{personal} in {json}");
    }
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(personal_data_key(&value), None, "{json}");
    assert_eq!(
        serde_json::from_value::<CaseSummary>(value).unwrap(),
        summary
    );
    summary.check().unwrap();

    // A note after the bad rating follows it up; a later good rating settles it too.
    log.push(ev(
        state.case_id,
        60 * 24 * 9,
        EventBody::Commented(Comment {
            text: "已电话回访".into(),
        }),
    ));
    let state = fold(&log).unwrap();
    assert_eq!(
        CaseSummary::from_state(&state).bad_rating_followed_up,
        Some(true)
    );
    log.push(ev(
        state.case_id,
        60 * 24 * 10,
        EventBody::Evaluated(Evaluation {
            level: Satisfaction::VeryDissatisfied,
            comment: None,
        }),
    ));
    assert_eq!(
        CaseSummary::from_state(&fold(&log).unwrap()).bad_rating_followed_up,
        Some(false),
        "a new bad rating needs its own follow-up"
    );
}

#[test]
fn a_consultation_is_summarised_without_service_or_ratings() {
    let id = CaseId::from_uuid(Uuid::now_v7());
    let state = fold(&[ev(
        id,
        0,
        EventBody::ConsultationRecorded(Consultation {
            case_no: CaseNumber::new(village(), date!(2026 - 02 - 10), 1).unwrap(),
            channel: Channel::Phone,
            topic: "如何办理食品经营许可".into(),
            item: None,
            answer: None,
            policy_bundle: None,
        }),
    )])
    .unwrap();
    let summary = CaseSummary::from_state(&state).dated(&WorkingCalendar::empty());
    assert_eq!(summary.kind, CaseKind::Consultation);
    assert_eq!(summary.service, None);
    assert_eq!(summary.bad_rating_followed_up, None);
    assert_eq!(summary.due_date, None);
    assert_eq!(summary.agent_badge, None);
    let json = serde_json::to_string(&summary).unwrap();
    assert!(!json.contains("如何办理"), "the topic is free text: {json}");
}

#[test]
fn personal_data_keys_are_found_anywhere_and_named_by_their_path() {
    let summary = CaseSummary::from_state(&fold(&handled_case()).unwrap());
    let clean = serde_json::json!({ "summaries": [summary.clone(), summary.clone()] });
    assert_eq!(personal_data_key(&clean), None);
    for (key, path) in [
        ("applicant", "summaries[1].applicant"),
        ("name", "summaries[1].name"),
        ("id_number", "summaries[1].id_number"),
        ("idNumber", "summaries[1].idNumber"),
        ("phone", "summaries[1].phone"),
        ("contact_phone", "summaries[1].contact_phone"),
        ("agent_name", "summaries[1].agent_name"),
        ("address", "summaries[1].address"),
        ("recipient", "summaries[1].recipient"),
        ("delivery", "summaries[1].delivery"),
        ("Contact", "summaries[1].Contact"),
    ] {
        let mut dirty = clean.clone();
        dirty["summaries"][1][key] = serde_json::json!("x");
        assert_eq!(personal_data_key(&dirty).as_deref(), Some(path), "{key}");
    }
    // Nested inside a value, and inside arrays of arrays.
    let mut nested = clean.clone();
    nested["summaries"][0]["suspensions"] =
        serde_json::json!([{"from": "x", "extra": [[{"mobile": 1}]]}]);
    assert_eq!(
        personal_data_key(&nested).as_deref(),
        Some("summaries[0].suspensions[0].extra[0][0].mobile")
    );
    // Things with names are not people.
    assert!(!is_personal_key("item_name"));
    assert!(!is_personal_key("case_no"));
    assert!(is_personal_key("legal_representative"));
}

#[test]
fn unknown_fields_and_inconsistent_summaries_are_refused() {
    let summary = CaseSummary::from_state(&fold(&handled_case()).unwrap());
    let mut value = serde_json::to_value(&summary).unwrap();
    value["notes"] = serde_json::json!("x");
    assert!(serde_json::from_value::<CaseSummary>(value).is_err());

    let mut other = summary.clone();
    other.origin = StationCode::parse("410402001002").unwrap();
    assert_eq!(other.check().unwrap_err().code(), "summary.case_number");

    let mut stray = summary.clone();
    stray.holder = StationCode::parse("410402002000").unwrap();
    assert_eq!(stray.check().unwrap_err().code(), "summary.holder");

    let mut zero = summary.clone();
    zero.version = 0;
    assert_eq!(zero.check().unwrap_err().code(), "summary.version");

    let mut long = summary;
    long.item_name = Some("长".repeat(201));
    let err = long.check().unwrap_err();
    assert_eq!(err.code(), "summary.too_long");
    assert!(err.message_zh().contains("item_name"));
}
