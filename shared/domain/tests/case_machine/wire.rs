//! Serde: the wire shape.

use super::*;

/// One event of every kind, plus the variants of payloads that have them.
fn one_of_each() -> Vec<Event> {
    let v = village();
    let mut bodies: Vec<EventBody> = EventKind::ALL
        .into_iter()
        .map(|k| sample_body(k, v, v, town(), CaseType::Promised))
        .collect();
    bodies.extend([
        application(v, immediate_item(), company(CREDIT_CODE, None)),
        application(
            v,
            promised_item(5),
            company(BAD_CHECK_CREDIT_CODE, Some(supervisor_override())),
        ),
        delegation(Delivery::HallPickup),
        handover(HandoverMethod::Pickup),
        handover(HandoverMethod::HomeDelivery),
        handover(HandoverMethod::Courier { tracking_no: None }),
        EventBody::Completed(Note {
            note: Some("当场出证".to_owned()),
        }),
        visit(VisitKind::HomeVisit),
        incomplete_review(),
    ]);
    bodies
        .into_iter()
        .enumerate()
        .map(|(i, body)| make_event(new_case_id(5), v, START, i as u64, body))
        .collect()
}

#[test]
fn every_event_kind_round_trips_through_json() {
    let events = one_of_each();
    let seen: HashSet<EventKind> = events.iter().map(Event::kind).collect();
    assert_eq!(seen.len(), EventKind::ALL.len(), "every kind is covered");
    for ev in events {
        let text = serde_json::to_string(&ev).unwrap();
        let back: Event = serde_json::from_str(&text).unwrap();
        assert_eq!(back, ev, "{text}");
        assert_eq!(serde_json::to_string(&back).unwrap(), text, "stable");
        let value: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["kind"], json!(ev.kind().as_str()));
        assert_eq!(serde_json::to_value(ev.kind()).unwrap(), value["kind"]);
        assert!(value["payload"].is_object(), "{text}");
        // The overridden credit code keeps its flag through the wire.
        if let EventBody::ApplicationReceived(Application {
            applicant: Applicant::Company { credit_code, .. },
            ..
        }) = &back.body
        {
            assert_eq!(
                credit_code.check_overridden(),
                credit_code.as_str() == BAD_CHECK_CREDIT_CODE
            );
        }
    }
}

#[test]
fn the_wire_shape_is_the_documented_envelope() {
    let ev = make_event(
        new_case_id(6),
        village(),
        datetime!(2026-03-02 09:30:15 +8),
        1,
        comment("已电话回访"),
    );
    let value = serde_json::to_value(&ev).unwrap();
    let keys: HashSet<&str> = value
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let expected: HashSet<&str> = [
        "event_id",
        "case_id",
        "author",
        "actor",
        "occurred_at",
        "kind",
        "payload",
    ]
    .into_iter()
    .collect();
    assert_eq!(keys, expected);
    assert_eq!(
        value,
        json!({
            "event_id": ev.event_id.to_string(),
            "case_id": ev.case_id.to_string(),
            "author": "410402001001",
            "actor": "agent-410402001001",
            "occurred_at": "2026-03-02T09:30:15+08:00",
            "kind": "commented",
            "payload": { "text": "已电话回访" }
        })
    );
    // Event ids are UUIDv7, hyphenated on the wire.
    assert_eq!(ev.event_id.as_uuid().get_version_num(), 7);
    assert_eq!(value["event_id"].as_str().unwrap().len(), 36);
    // Without an actor the key is left out, and reading it back gives None.
    let mut anonymous = ev.clone();
    anonymous.actor = None;
    let value = serde_json::to_value(&anonymous).unwrap();
    assert!(value.get("actor").is_none());
    assert_eq!(serde_json::from_value::<Event>(value).unwrap(), anonymous);
}

/// A hand-written application from the wire, to be spoiled by the refusal tests.
fn wire_application() -> Value {
    json!({
        "event_id": "01964a3c-5b00-7000-8000-000000000001",
        "case_id": "01964a3c-5b00-7000-8000-0000000000aa",
        "author": "410402001001",
        "actor": "agent-01",
        "occurred_at": "2026-03-02T09:00:00+08:00",
        "kind": "application_received",
        "payload": {
            "case_no": "410402001001-20260302-0001",
            "channel": "window",
            "item": {
                "code": "11410402MB1234567X4000117001",
                "name": "食品经营许可（新办）",
                "case_type": "promised",
                "promised_days": 20
            },
            "applicant": {
                "type": "person",
                "name": PERSON_NAME,
                "id_number": PERSON_ID,
                "phone": PERSON_PHONE
            }
        }
    })
}

#[test]
fn a_hand_written_application_reads_as_expected() {
    let ev: Event = serde_json::from_value(wire_application()).unwrap();
    assert_eq!(ev.kind(), EventKind::ApplicationReceived);
    assert_eq!(ev.author, village());
    assert_eq!(ev.occurred_at, START);
    let EventBody::ApplicationReceived(a) = &ev.body else {
        panic!("wrong body")
    };
    assert_eq!(a.applicant, person());
    assert_eq!(a.item, promised_item(20));
    assert_eq!(a.case_no.seq(), 1);
    assert_eq!(CaseState::open(&ev).unwrap().stage, Stage::Received);
    // The phone tolerates the usual spellings and is stored as 11 digits.
    let mut spaced = wire_application();
    spaced["payload"]["applicant"]["phone"] = json!("+86 138-1234-5678");
    let ev: Event = serde_json::from_value(spaced).unwrap();
    assert_eq!(
        serde_json::to_value(&ev).unwrap()["payload"]["applicant"]["phone"],
        json!(PERSON_PHONE)
    );
}

#[test]
fn malformed_wire_events_are_refused_by_deserialization() {
    let spoil = |path: &[&str], value: Value| {
        let mut v = wire_application();
        let mut at = &mut v;
        for key in &path[..path.len() - 1] {
            at = &mut at[*key];
        }
        at[path[path.len() - 1]] = value;
        v
    };
    let cases: Vec<(&str, Value)> = vec![
        (
            "unknown kind",
            spoil(&["kind"], json!("application_teleported")),
        ),
        (
            "kind in CamelCase",
            spoil(&["kind"], json!("ApplicationReceived")),
        ),
        (
            "unknown payload field",
            spoil(&["payload", "priority"], json!("high")),
        ),
        (
            "unknown applicant field",
            spoil(&["payload", "applicant", "nickname"], json!("小王")),
        ),
        (
            "unknown item field",
            spoil(&["payload", "item", "fee"], json!(0)),
        ),
        (
            "unknown applicant type",
            spoil(&["payload", "applicant", "type"], json!("robot")),
        ),
        (
            "prefecture code as author",
            spoil(&["author"], json!("410400000000")),
        ),
        ("short author", spoil(&["author"], json!("4104020010"))),
        (
            "case number of a bad station",
            spoil(&["payload", "case_no"], json!("410400000000-20260302-0001")),
        ),
        (
            "case number on 30 February",
            spoil(&["payload", "case_no"], json!("410402001001-20260230-0001")),
        ),
        (
            "ID number with a wrong check character",
            spoil(
                &["payload", "applicant", "id_number"],
                json!("110105194912310021"),
            ),
        ),
        (
            "ID number too short",
            spoil(
                &["payload", "applicant", "id_number"],
                json!("11010519491231"),
            ),
        ),
        (
            "landline as mobile",
            spoil(&["payload", "applicant", "phone"], json!("03752345678")),
        ),
        (
            "foreign mobile",
            spoil(&["payload", "applicant", "phone"], json!("+44 7700 900123")),
        ),
        ("bad case id", spoil(&["case_id"], json!("not-a-uuid"))),
        (
            "time without offset",
            spoil(&["occurred_at"], json!("2026-03-02T09:00:00")),
        ),
        (
            "negative days",
            spoil(&["payload", "item", "promised_days"], json!(-1)),
        ),
        (
            "payload of another kind",
            spoil(&["kind"], json!("commented")),
        ),
        ("missing payload", {
            let mut v = wire_application();
            v.as_object_mut().unwrap().remove("payload");
            v
        }),
        ("missing author", {
            let mut v = wire_application();
            v.as_object_mut().unwrap().remove("author");
            v
        }),
    ];
    for (what, value) in cases {
        assert!(
            serde_json::from_value::<Event>(value.clone()).is_err(),
            "{what} was accepted: {value}"
        );
    }
    // A station code in a return payload is checked too.
    let mut ret = serde_json::to_value(lone(return_to(town()))).unwrap();
    assert!(serde_json::from_value::<Event>(ret.clone()).is_ok());
    ret["payload"]["to"] = json!("410402000001");
    assert!(serde_json::from_value::<Event>(ret.clone()).is_err());
    // And a delivery's phone.
    let mut del = serde_json::to_value(lone(delegation(courier()))).unwrap();
    assert!(serde_json::from_value::<Event>(del.clone()).is_ok());
    del["payload"]["delivery"]["phone"] = json!("1381234567");
    assert!(serde_json::from_value::<Event>(del).is_err());
}

#[test]
fn a_company_with_a_failing_credit_code_reads_but_does_not_validate_without_override() {
    let mut v = wire_application();
    v["payload"]["applicant"] = json!({
        "type": "company",
        "name": "平顶山市新华区示例商贸有限公司",
        "credit_code": BAD_CHECK_CREDIT_CODE,
        "legal_representative": "李建国",
        "contact_name": "赵敏",
        "contact_phone": "13998765432"
    });
    let ev: Event = serde_json::from_value(v.clone()).unwrap();
    assert_eq!(ev.validate(), Err(EventError::CreditCodeNeedsOverride));
    v["payload"]["applicant"]["check_override"] =
        json!({ "supervisor": "张主任", "reason": "原件核验无误" });
    let ev: Event = serde_json::from_value(v.clone()).unwrap();
    assert_eq!(ev.validate(), Ok(()));
    // A code that is not even made of the right symbols is refused on reading.
    v["payload"]["applicant"]["credit_code"] = json!("91350100M000100YI3");
    assert!(serde_json::from_value::<Event>(v).is_err());
}

#[test]
fn debug_of_an_event_never_shows_personal_data() {
    let v = village();
    let ev = lone(application(v, promised_item(5), person()));
    let debug = format!("{ev:?}");
    let pretty = format!("{ev:#?}");
    for text in [&debug, &pretty] {
        assert!(!text.contains(PERSON_ID), "{text}");
        assert!(!text.contains(PERSON_PHONE), "{text}");
        assert!(!text.contains(PERSON_NAME), "{text}");
        assert!(!text.contains("49123100"), "no long run of the ID: {text}");
    }
    assert!(debug.contains("王**"), "{debug}");
    assert!(debug.contains("138****5678"), "{debug}");

    // Nor does the state that carries the applicant and the delivery address.
    let mut s = Script::application(v, CaseType::Promised);
    s.ok(v, complete_review());
    s.ok(v, delegation(courier()));
    let debug = format!("{:?}", s.state);
    assert!(!debug.contains(PERSON_ID), "{debug}");
    assert!(!debug.contains(PERSON_PHONE), "{debug}");
    assert!(!debug.contains(PERSON_NAME), "{debug}");
    assert!(!debug.contains("曙光街1号院"), "{debug}");
    // Nor a courier handover's recipient, nor a company's contacts.
    let debug = format!("{:?}", lone(courier_handover()));
    assert!(!debug.contains(PERSON_NAME), "{debug}");
    let debug = format!("{:?}", company(CREDIT_CODE, Some(supervisor_override())));
    assert!(!debug.contains(CREDIT_CODE), "{debug}");
    assert!(!debug.contains("13998765432"), "{debug}");
    assert!(
        !debug.contains("李建国") && !debug.contains("赵敏"),
        "{debug}"
    );
}

#[test]
fn the_state_json_leaves_the_applicant_out() {
    let v = village();
    let s = Script::application(v, CaseType::Promised);
    let value = serde_json::to_value(&s.state).unwrap();
    assert!(value.get("applicant").is_none());
    assert!(!value.to_string().contains(PERSON_ID));
    assert_eq!(value["stage"], json!("received"));
    assert_eq!(value["origin"], json!("410402001001"));
    assert_eq!(value["case_no"], json!("410402001001-20260302-0001"));
}

#[test]
fn the_stored_snapshot_keeps_personal_data_and_suspensions() {
    let v = village();
    let mut s = Script::application(v, CaseType::Promised);
    s.ok(v, complete_review());
    s.ok(v, delegation(courier()));
    s.ok(v, handling());
    s.ok(v, suspend());
    let stored = s.state.to_stored();
    assert!(
        stored.contains(PERSON_ID),
        "the snapshot keeps the applicant"
    );
    let back = CaseState::from_stored(&stored).unwrap();
    assert_eq!(back, s.state);
    assert!(back.is_suspended());
    assert_eq!(back.delivery, Some(courier()));
    // The public form still leaves them out.
    assert!(!serde_json::to_string(&s.state).unwrap().contains(PERSON_ID));
}

#[test]
fn a_snapshot_of_another_format_or_garbage_is_not_used() {
    use bangban_domain::case::{STORED_STATE_FORMAT, StoredStateError};
    let s = Script::application(village(), CaseType::Promised);
    let other = s.state.to_stored().replacen(
        &format!("\"format\":{STORED_STATE_FORMAT}"),
        "\"format\":99",
        1,
    );
    assert_eq!(
        CaseState::from_stored(&other),
        Err(StoredStateError::Format { found: 99 })
    );
    assert!(matches!(
        CaseState::from_stored("{\"format\":1}"),
        Err(StoredStateError::Unreadable(_))
    ));
}
