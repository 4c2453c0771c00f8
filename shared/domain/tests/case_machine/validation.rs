//! Event validation.

use super::*;

mod fields;

use fields::{optional_fields, required_fields};

/// A company application with one of its fields edited.
fn company_with(
    edit: impl FnOnce(&mut String, &mut PersonName, &mut PersonName, &mut Option<CheckOverride>),
) -> EventBody {
    let mut applicant = company(CREDIT_CODE, None);
    if let Applicant::Company {
        name,
        legal_representative,
        contact_name,
        check_override,
        ..
    } = &mut applicant
    {
        edit(name, legal_representative, contact_name, check_override);
    }
    application(village(), promised_item(5), applicant)
}

#[test]
fn required_fields_must_not_be_empty_or_blank() {
    // Blank includes the ideographic space an IME types.
    for blank in ["", " ", " \t\n", "\u{3000}\u{3000}"] {
        for (field, _, body) in required_fields(blank) {
            let kind = body.kind();
            let err = lone(body).validate().unwrap_err();
            assert_eq!(
                err,
                EventError::Empty { field },
                "{kind}.{field} = {blank:?}"
            );
            assert_eq!(err.code(), "event.empty_field");
        }
    }
}

#[test]
fn required_fields_accept_exactly_the_maximum_length_and_no_more() {
    for (field, max, body) in required_fields(&"办".repeat(MAX_TEXT + 1)) {
        let kind = body.kind();
        // Lengths are counted in characters, not bytes: this is 3 bytes a character.
        let err = lone(body).validate().unwrap_err();
        assert_eq!(err, EventError::TooLong { field, max }, "{kind}.{field}");
        assert_eq!(err.code(), "event.too_long");
        assert!(err.message_zh().contains(&max.to_string()));
    }
    for max in [MAX_SHORT, MAX_TEXT] {
        for (field, m, body) in required_fields(&"办".repeat(max)) {
            if m == max {
                assert_eq!(lone(body).validate(), Ok(()), "{field} at {max}");
            }
        }
        for (field, m, body) in required_fields(&"办".repeat(max + 1)) {
            if m == max {
                assert_eq!(
                    lone(body).validate(),
                    Err(EventError::TooLong { field, max }),
                    "{field} at {max} + 1"
                );
            }
        }
    }
}

#[test]
fn optional_fields_may_be_absent_but_not_too_long() {
    for (field, max, body) in optional_fields(&"注".repeat(MAX_TEXT + 1)) {
        assert_eq!(
            lone(body).validate(),
            Err(EventError::TooLong { field, max }),
            "{field}"
        );
    }
    for (field, max, body) in optional_fields(&"注".repeat(MAX_SHORT + 1)) {
        let expected = if max == MAX_SHORT {
            Err(EventError::TooLong { field, max })
        } else {
            Ok(())
        };
        assert_eq!(lone(body).validate(), expected, "{field}");
    }
    for (field, _, body) in optional_fields(&"注".repeat(MAX_SHORT)) {
        assert_eq!(lone(body).validate(), Ok(()), "{field}");
    }
    for (field, _, body) in optional_fields("") {
        assert_eq!(lone(body).validate(), Ok(()), "{field}");
    }
}

#[test]
fn the_actor_when_given_is_a_real_name_of_sane_length() {
    let mut ev = lone(comment("备注"));
    ev.actor = None;
    assert_eq!(ev.validate(), Ok(()));
    ev.actor = Some("  ".to_owned());
    assert_eq!(ev.validate(), Err(EventError::Empty { field: "actor" }));
    ev.actor = Some("a".repeat(MAX_SHORT + 1));
    assert_eq!(
        ev.validate(),
        Err(EventError::TooLong {
            field: "actor",
            max: MAX_SHORT
        })
    );
}

#[test]
fn every_field_error_names_its_field_in_chinese() {
    let mut errors: Vec<EventError> = Vec::new();
    for (_, _, body) in required_fields("") {
        errors.push(lone(body).validate().unwrap_err());
    }
    for (field, _, body) in optional_fields(&"x".repeat(MAX_TEXT + 1)) {
        let err = lone(body).validate().unwrap_err();
        assert!(matches!(err, EventError::TooLong { field: f, .. } if f == field));
        errors.push(err);
    }
    let mut actor = lone(comment("x"));
    actor.actor = Some(String::new());
    errors.push(actor.validate().unwrap_err());
    errors.push(EventError::NoEntries { field: "materials" });
    for err in errors {
        let zh = err.message_zh();
        assert!(
            !zh.contains("“字段”"),
            "{err:?} has no Chinese field name: {zh}"
        );
        assert!(zh.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)));
        assert!(!err.to_string().is_empty());
    }
}

#[test]
fn material_lists_must_not_be_empty() {
    for body in [
        EventBody::PreReviewed(PreReview { materials: vec![] }),
        EventBody::SupplementReceived(Supplement {
            materials: vec![],
            collected_at_home: true,
        }),
    ] {
        let err = lone(body).validate().unwrap_err();
        assert_eq!(err, EventError::NoEntries { field: "materials" });
        assert_eq!(err.code(), "event.no_entries");
        assert!(err.message_zh().contains("材料"));
    }
}

#[test]
fn an_invalid_event_is_refused_by_the_state_machine_without_change() {
    let v = village();
    let mut s = case_at(Stage::Received, CaseType::Promised);
    let err = s.refused(v, EventBody::PreReviewed(PreReview { materials: vec![] }));
    assert_eq!(
        err,
        TransitionError::Invalid(EventError::NoEntries { field: "materials" })
    );
    assert_eq!(err.code(), "event.no_entries");
    assert_eq!(
        err.message_zh(),
        EventError::NoEntries { field: "materials" }.message_zh()
    );
    assert_eq!(s.state.stage, Stage::Received);
    // Also when opening a case.
    let bad = lone(comment(" "));
    assert_eq!(
        fold(&[bad]),
        Err(TransitionError::Invalid(EventError::Empty {
            field: "text"
        }))
    );
}

#[test]
fn a_case_number_of_another_station_is_refused() {
    let (v, sib) = (village(), sibling());
    for body in [
        application(sib, promised_item(5), person()),
        consultation(sib),
    ] {
        let ev = make_event(new_case_id(4), v, START, 1, body);
        let err = ev.validate().unwrap_err();
        assert_eq!(
            err,
            EventError::CaseNumberStation {
                case_no_station: sib,
                author: v
            }
        );
        assert_eq!(err.code(), "event.case_number_station");
        assert!(err.message_zh().contains("410402001002"));
        assert!(err.message_zh().contains("410402001001"));
        assert_eq!(CaseState::open(&ev), Err(TransitionError::Invalid(err)));
    }
}

#[test]
fn item_time_limits_must_fit_the_item_type() {
    let v = village();
    let mut immediate_with_days = immediate_item();
    immediate_with_days.promised_days = 1;
    let err = lone(application(v, immediate_with_days.clone(), person()))
        .validate()
        .unwrap_err();
    assert_eq!(err, EventError::ImmediateWithDays);
    assert_eq!(err.code(), "event.immediate_with_days");
    assert!(err.message_zh().contains("即办件"));
    // Also in a consultation's item.
    let mut c = consultation(v);
    if let EventBody::ConsultationRecorded(c) = &mut c {
        c.item = Some(immediate_with_days);
    }
    assert_eq!(lone(c).validate(), Err(EventError::ImmediateWithDays));

    assert_eq!(
        lone(application(v, promised_item(MAX_PROMISED_DAYS), person())).validate(),
        Ok(())
    );
    let err = lone(application(
        v,
        promised_item(MAX_PROMISED_DAYS + 1),
        person(),
    ))
    .validate()
    .unwrap_err();
    assert_eq!(err, EventError::DaysTooLarge(MAX_PROMISED_DAYS + 1));
    assert!(err.message_zh().contains("1001"));
}

#[test]
fn a_credit_code_failing_its_check_needs_a_supervisor_override() {
    let v = village();
    assert!(
        bangban_domain::ident::CreditCode::parse(BAD_CHECK_CREDIT_CODE).is_err(),
        "the test code must fail its check"
    );
    let without = lone(application(
        v,
        promised_item(5),
        company(BAD_CHECK_CREDIT_CODE, None),
    ));
    let err = without.validate().unwrap_err();
    assert_eq!(err, EventError::CreditCodeNeedsOverride);
    assert_eq!(err.code(), "event.credit_code_override");
    assert!(err.message_zh().contains("统一社会信用代码"));
    assert_eq!(
        CaseState::open(&without),
        Err(TransitionError::Invalid(
            EventError::CreditCodeNeedsOverride
        ))
    );

    let with = lone(application(
        v,
        promised_item(5),
        company(BAD_CHECK_CREDIT_CODE, Some(supervisor_override())),
    ));
    assert_eq!(with.validate(), Ok(()));
    let state = CaseState::open(&with).unwrap();
    assert_eq!(state.stage, Stage::Received);

    // A valid code needs no override (and an override recorded anyway does no harm).
    for o in [None, Some(supervisor_override())] {
        let ev = lone(application(v, promised_item(5), company(CREDIT_CODE, o)));
        assert_eq!(ev.validate(), Ok(()));
    }
}

#[test]
fn every_transition_error_speaks_chinese() {
    let errors = [
        TransitionError::Illegal {
            stage: Stage::Received,
            kind: EventKind::Completed,
        },
        TransitionError::WhileSuspended {
            kind: EventKind::Completed,
        },
        TransitionError::MustOpen {
            kind: EventKind::Commented,
        },
        TransitionError::AlreadyOpen {
            kind: EventKind::ConsultationRecorded,
        },
        TransitionError::NotHolder {
            author: village(),
            holder: town(),
        },
        TransitionError::OutsideChain {
            author: sibling(),
            origin: village(),
        },
        TransitionError::OtherCase,
        TransitionError::NoEvents,
        TransitionError::EscalationTier {
            from: Tier::Town,
            to: Tier::Village,
        },
        TransitionError::ReturnTarget { to: sibling() },
        TransitionError::CaseType {
            kind: EventKind::AssistedAtWindow,
            case_type: CaseType::Promised,
        },
        TransitionError::Invalid(EventError::CreditCodeNeedsOverride),
        TransitionError::Invalid(EventError::ImmediateWithDays),
        TransitionError::Invalid(EventError::DaysTooLarge(5000)),
    ];
    let mut codes = HashSet::new();
    for err in errors {
        let zh = err.message_zh();
        assert!(!zh.trim().is_empty(), "{err:?}");
        assert!(
            zh.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
            "{err:?}: {zh}"
        );
        assert!(!err.to_string().is_empty());
        assert_eq!(err.message_en(), err.to_string());
        assert!(
            codes.insert(err.code()),
            "codes are distinct: {}",
            err.code()
        );
    }
    for stage in Stage::ALL {
        assert!(!stage.label_zh().is_empty());
        assert_eq!(Stage::parse(stage.as_str()), Some(stage));
        assert_eq!(stage.to_string(), stage.as_str());
    }
    assert_eq!(Stage::parse("Completed"), None);
    for kind in EventKind::ALL {
        assert!(!kind.label_zh().is_empty());
        assert_eq!(kind.as_str().parse::<EventKind>(), Ok(kind));
    }
    assert_eq!("finished".parse::<EventKind>(), Err(()));
}
