//! Refusals.

use super::*;

#[test]
fn every_event_kind_is_allowed_exactly_where_the_lifecycle_says() {
    let mut mismatches = Vec::new();
    for stage in Stage::ALL {
        let mut allowed = HashSet::new();
        for kind in EventKind::ALL {
            let case_type = fitting_type(kind);
            let mut s = case_at(stage, case_type);
            let author = fitting_author(&s, kind);
            let body = s.sample(kind, case_type);
            match s.apply(author, body) {
                Ok(()) => {
                    allowed.insert(kind);
                }
                Err(TransitionError::Illegal { stage: st, kind: k }) => {
                    assert_eq!((st, k), (stage, kind), "Illegal names the state and event");
                }
                Err(TransitionError::AlreadyOpen { kind: k }) => {
                    assert!(kind.opens_case() && k == kind, "{kind} at {stage}");
                }
                Err(other) => panic!("{kind} at {stage}: unexpected {other:?}"),
            }
        }
        let got = kinds(&allowed);
        let want = expected_allowed(stage);
        if got != want {
            mismatches.push(format!("{stage}: allowed {got:?}, expected {want:?}"));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[test]
fn an_illegal_event_names_state_and_event_in_both_languages() {
    for stage in Stage::ALL {
        for kind in EventKind::ALL {
            if expected_allowed(stage).contains(&kind) || kind.opens_case() {
                continue;
            }
            let case_type = fitting_type(kind);
            let mut s = case_at(stage, case_type);
            let author = fitting_author(&s, kind);
            let body = s.sample(kind, case_type);
            let err = s.refused(author, body);
            assert_eq!(err, TransitionError::Illegal { stage, kind });
            assert_eq!(err.code(), "case.illegal_transition");
            let en = err.to_string();
            assert!(
                en.contains(stage.as_str()) && en.contains(kind.as_str()),
                "{en}"
            );
            let zh = err.message_zh();
            assert!(
                zh.contains(stage.label_zh()) && zh.contains(kind.label_zh()),
                "{zh}"
            );
        }
    }
}

#[test]
fn a_creation_event_on_an_open_case_is_refused() {
    let v = village();
    for stage in Stage::ALL {
        let mut s = case_at(stage, CaseType::Promised);
        let holder = s.holder();
        assert_eq!(
            s.refused(holder, consultation(holder)),
            TransitionError::AlreadyOpen {
                kind: EventKind::ConsultationRecorded
            },
            "at {stage}"
        );
        if stage != Stage::Consultation && holder == v {
            assert_eq!(
                s.refused(v, application(v, promised_item(5), person())),
                TransitionError::AlreadyOpen {
                    kind: EventKind::ApplicationReceived
                },
                "at {stage}"
            );
        }
    }
    let err = TransitionError::AlreadyOpen {
        kind: EventKind::ApplicationReceived,
    };
    assert_eq!(err.code(), "case.already_open");
    assert!(err.message_zh().contains("申请受理登记"));
}

#[test]
fn a_first_event_that_is_not_a_creation_is_refused() {
    let v = village();
    let case_id = new_case_id(7);
    for kind in EventKind::ALL {
        let body = sample_body(kind, v, v, v, CaseType::Promised);
        let ev = make_event(case_id, v, START, 1, body);
        let opened = CaseState::open(&ev);
        let folded = fold(std::slice::from_ref(&ev));
        assert_eq!(opened, folded, "open and fold agree on {kind}");
        if kind.opens_case() {
            assert!(opened.is_ok(), "{kind} opens a case");
        } else {
            let err = opened.unwrap_err();
            assert_eq!(err, TransitionError::MustOpen { kind });
            assert_eq!(err.code(), "case.must_open");
            assert!(err.message_zh().contains(kind.label_zh()));
        }
    }
    assert_eq!(fold(&[]), Err(TransitionError::NoEvents));
    assert!(!TransitionError::NoEvents.message_zh().is_empty());
}

#[test]
fn an_event_of_another_case_is_refused() {
    let v = village();
    let mut s = case_at(Stage::Received, CaseType::Promised);
    let mut ev = s.next_event(v, complete_review());
    ev.case_id = new_case_id(99);
    let before = s.state.clone();
    assert_eq!(s.apply_event(ev.clone()), Err(TransitionError::OtherCase));
    assert_eq!(s.state, before);
    // Not even a comment from the holder.
    let mut c = s.next_event(v, comment("串号"));
    c.case_id = new_case_id(99);
    assert_eq!(s.apply_event(c), Err(TransitionError::OtherCase));
    // fold refuses a log that mixes cases.
    let mut log = s.log.clone();
    log.push(ev);
    assert_eq!(fold(&log), Err(TransitionError::OtherCase));
    assert_eq!(TransitionError::OtherCase.code(), "case.other_case");
    assert!(!TransitionError::OtherCase.message_zh().is_empty());
}

#[test]
fn while_suspended_only_resume_terminate_visit_comment_and_attachment_are_allowed() {
    let allowed_while_suspended = [
        EventKind::Resumed,
        EventKind::Terminated,
        EventKind::VisitRecorded,
        EventKind::Commented,
        EventKind::AttachmentAdded,
    ];
    for stage in [Stage::Delegated, Stage::InProgress] {
        for kind in EventKind::ALL {
            let mut s = case_at(stage, CaseType::Promised);
            let holder = s.holder();
            s.ok(holder, suspend());
            assert!(s.state.is_suspended());
            let author = fitting_author(&s, kind);
            let body = s.sample(kind, CaseType::Promised);
            let outcome = s.apply(author, body);
            if allowed_while_suspended.contains(&kind) {
                assert_eq!(outcome, Ok(()), "{kind} while suspended at {stage}");
            } else {
                let err = outcome.unwrap_err();
                assert_eq!(err, TransitionError::WhileSuspended { kind }, "at {stage}");
                assert_eq!(err.code(), "case.suspended");
                assert!(err.message_zh().contains(kind.label_zh()));
                assert!(s.state.is_suspended());
                assert_eq!(s.state.stage, stage);
            }
        }
    }
}

#[test]
fn terminating_a_suspended_case_stops_the_clock_for_good() {
    let v = village();
    let mut s = case_at(Stage::Delegated, CaseType::Promised);
    s.ok(v, suspend());
    s.ok(v, terminate(TerminationReason::CannotComplete));
    assert_eq!(s.state.stage, Stage::Terminated);
    assert!(!s.state.is_suspended());
    assert_eq!(s.state.suspensions[0].until, Some(s.now));
    assert!(matches!(
        s.state.deadline(&calendar()),
        Some(Ok(Deadline::Due { .. }))
    ));
}

#[test]
fn resuming_a_case_that_is_not_suspended_is_refused() {
    let v = village();
    let mut s = case_at(Stage::Delegated, CaseType::Promised);
    assert_eq!(
        s.refused(v, resume()),
        TransitionError::Illegal {
            stage: Stage::Delegated,
            kind: EventKind::Resumed
        }
    );
    s.ok(v, suspend());
    s.ok(v, resume());
    assert_eq!(
        s.refused(v, resume()),
        TransitionError::Illegal {
            stage: Stage::Delegated,
            kind: EventKind::Resumed
        }
    );
    // Suspending twice in a row is refused too.
    s.ok(v, suspend());
    assert_eq!(
        s.refused(v, suspend()),
        TransitionError::WhileSuspended {
            kind: EventKind::Suspended
        }
    );
}

#[test]
fn a_case_can_be_terminated_from_every_open_stage_for_each_of_the_four_reasons() {
    let reasons = [
        TerminationReason::ClientWithdrew,
        TerminationReason::FalseOrNonConforming,
        TerminationReason::CannotComplete,
        TerminationReason::Other,
    ];
    for stage in Stage::ALL.into_iter().filter(|s| s.is_open()) {
        for reason in reasons {
            let mut s = case_at(stage, CaseType::Promised);
            let (holder, chain, accepted) =
                (s.holder(), s.state.chain.clone(), s.state.accepted_at);
            s.ok(holder, terminate(reason));
            let st = &s.state;
            assert_eq!(st.stage, Stage::Terminated, "from {stage}");
            assert_eq!(st.termination, Some(reason));
            assert_eq!(st.closed_at, Some(s.now));
            assert_eq!((st.holder, &st.chain), (holder, &chain));
            assert_eq!(st.accepted_at, accepted);
            assert!(!reason.label_zh().is_empty());
            // Closed for good: no second termination, no completion.
            assert_eq!(
                s.refused(holder, terminate(reason)),
                TransitionError::Illegal {
                    stage: Stage::Terminated,
                    kind: EventKind::Terminated
                }
            );
            assert_eq!(
                s.refused(holder, complete()),
                TransitionError::Illegal {
                    stage: Stage::Terminated,
                    kind: EventKind::Completed
                }
            );
        }
    }
}

#[test]
fn a_case_can_be_terminated_only_by_its_holder() {
    let (v, t) = (village(), town());
    let mut s = case_at(Stage::Escalated, CaseType::Promised);
    // The applicant withdraws at the village, but the town holds the case now.
    assert_eq!(
        s.refused(v, terminate(TerminationReason::ClientWithdrew)),
        TransitionError::NotHolder {
            author: v,
            holder: t
        }
    );
    s.ok(t, terminate(TerminationReason::ClientWithdrew));
}

#[test]
fn evaluation_comes_only_after_completion_or_termination() {
    let v = village();
    for stage in Stage::ALL {
        let mut s = case_at(stage, CaseType::Promised);
        let outcome = s.apply(v, evaluate(Satisfaction::Dissatisfied));
        if stage.is_open() {
            assert_eq!(
                outcome,
                Err(TransitionError::Illegal {
                    stage,
                    kind: EventKind::Evaluated
                })
            );
            assert!(s.state.evaluations.is_empty());
        } else {
            assert_eq!(outcome, Ok(()), "at {stage}");
            assert_eq!(s.state.evaluations, vec![Satisfaction::Dissatisfied]);
            assert!(Satisfaction::Dissatisfied.is_bad());
        }
    }
}

#[test]
fn an_immediate_item_goes_to_the_window_and_cannot_be_delegated() {
    let v = village();
    let mut s = case_at(Stage::Reviewed, CaseType::Immediate);
    let err = s.refused(v, delegation(courier()));
    assert_eq!(
        err,
        TransitionError::CaseType {
            kind: EventKind::DelegationSigned,
            case_type: CaseType::Immediate
        }
    );
    assert_eq!(err.code(), "case.case_type");
    assert!(err.message_zh().contains("即办件"));
    assert!(
        err.message_zh()
            .contains(EventKind::DelegationSigned.label_zh())
    );
    assert_eq!(s.state.stage, Stage::Reviewed);
    assert_eq!(s.state.delivery, None);
    s.ok(v, window());
    // No escalation, suspension or result of its own: done on the spot.
    for body in [escalate(Tier::Town), suspend(), result()] {
        let kind = body.kind();
        assert_eq!(
            s.refused(v, body),
            TransitionError::Illegal {
                stage: Stage::AtWindow,
                kind
            }
        );
    }
}

#[test]
fn a_promised_item_is_delegated_and_cannot_be_done_at_the_window() {
    let v = village();
    let mut s = case_at(Stage::Reviewed, CaseType::Promised);
    let err = s.refused(v, window());
    assert_eq!(
        err,
        TransitionError::CaseType {
            kind: EventKind::AssistedAtWindow,
            case_type: CaseType::Promised
        }
    );
    assert!(err.message_zh().contains("承诺件"));
    assert_eq!(
        s.refused(v, complete()),
        TransitionError::Illegal {
            stage: Stage::Reviewed,
            kind: EventKind::Completed
        }
    );
    s.ok(v, delegation(courier()));
    assert_eq!(s.state.stage, Stage::Delegated);
}

// --- The holder rule ---------------------------------------------------------------------------

#[test]
fn village_cannot_change_a_case_it_escalated() {
    let (v, t) = (village(), town());
    let mut s = case_at(Stage::Escalated, CaseType::Promised);
    for body in [
        accept(),
        handling(),
        suspend(),
        result(),
        escalate(Tier::District),
        return_to(v),
        courier_handover(),
        complete(),
        terminate(TerminationReason::Other),
    ] {
        let err = s.refused(v, body);
        assert_eq!(
            err,
            TransitionError::NotHolder {
                author: v,
                holder: t
            }
        );
        assert_eq!(err.code(), "case.not_holder");
        assert!(err.message_zh().contains("410402001000"));
    }
    // It still follows the case.
    s.ok(v, comment("已告知申请人案件已上报街道"));
    s.ok(v, visit(VisitKind::OnSite));
}

#[test]
fn upper_tiers_cannot_change_a_case_the_village_holds() {
    let (v, t, d) = (village(), town(), district());
    let mut s = case_at(Stage::Received, CaseType::Promised);
    for author in [t, d] {
        assert_eq!(
            s.refused(author, complete_review()),
            TransitionError::NotHolder { author, holder: v }
        );
        assert_eq!(
            s.refused(author, terminate(TerminationReason::Other)),
            TransitionError::NotHolder { author, holder: v }
        );
    }
    // After a return, the district that held the case above is no longer the holder.
    let mut s = case_at(Stage::InProgress, CaseType::Promised);
    s.ok(t, escalate(Tier::District));
    s.ok(d, accept());
    s.ok(d, return_to(v));
    for author in [t, d] {
        assert_eq!(
            s.refused(author, result()),
            TransitionError::NotHolder { author, holder: v }
        );
    }
}

#[test]
fn anyone_on_the_origins_path_may_comment_and_record_visits() {
    let (v, t, d) = (village(), town(), district());
    for stage in Stage::ALL {
        let mut s = case_at(stage, CaseType::Promised);
        let visits = s.state.visits;
        for author in [v, t, d] {
            s.ok(author, comment("跟踪办理进度"));
            s.ok(author, visit(VisitKind::OnSite));
            s.ok(author, visit(VisitKind::HomeVisit));
        }
        assert_eq!(s.state.visits, visits + 3, "at {stage}");
        assert_eq!(s.state.stage, stage, "comments and visits change no stage");
    }
}

#[test]
fn sibling_village_cannot_read_or_comment_on_the_case() {
    let (v, sib) = (village(), sibling());
    for stage in Stage::ALL {
        let mut s = case_at(stage, CaseType::Promised);
        for body in [
            comment("隔壁社区"),
            visit(VisitKind::OnSite),
            evaluate(Satisfaction::VeryDissatisfied),
        ] {
            let err = s.refused(sib, body);
            assert_eq!(
                err,
                TransitionError::OutsideChain {
                    author: sib,
                    origin: v
                },
                "at {stage}"
            );
            assert_eq!(err.code(), "case.outside_chain");
            assert!(err.message_zh().contains("410402001002"));
        }
        // A state change from a sibling is refused the same way: it learns nothing about the
        // case, not even who holds it.
        assert_eq!(
            s.refused(sib, terminate(TerminationReason::Other)),
            TransitionError::OutsideChain {
                author: sib,
                origin: v
            }
        );
    }
}

#[test]
fn another_town_or_district_cannot_comment() {
    let v = village();
    let mut s = case_at(Stage::InProgress, CaseType::Promised);
    for outsider in [other_town(), other_town_village(), other_district()] {
        assert_eq!(
            s.refused(outsider, comment("越权")),
            TransitionError::OutsideChain {
                author: outsider,
                origin: v
            }
        );
    }
}

#[test]
fn villages_cannot_comment_on_their_towns_own_case() {
    let t = town();
    let mut s = Script::application(t, CaseType::Promised);
    for below in [village(), sibling()] {
        assert_eq!(
            s.refused(below, comment("下级")),
            TransitionError::OutsideChain {
                author: below,
                origin: t
            }
        );
    }
    s.ok(district(), comment("区级关注"));
}

// --- Escalation and return --------------------------------------------------------------------

#[test]
fn escalating_to_the_same_or_a_lower_tier_is_refused() {
    let (v, t, d) = (village(), town(), district());
    // A village holder.
    let mut s = case_at(Stage::Delegated, CaseType::Promised);
    let err = s.refused(v, escalate(Tier::Village));
    assert_eq!(
        err,
        TransitionError::EscalationTier {
            from: Tier::Village,
            to: Tier::Village
        }
    );
    assert_eq!(err.code(), "case.escalation_tier");
    assert!(err.message_zh().contains("村社区"));
    // A town holder.
    let mut s = case_at(Stage::InProgress, CaseType::Promised);
    for to in [Tier::Town, Tier::Village] {
        assert_eq!(
            s.refused(t, escalate(to)),
            TransitionError::EscalationTier {
                from: Tier::Town,
                to
            }
        );
    }
    assert_eq!(s.state.escalations, 1);
    assert_eq!(s.holder(), t);
    // A district holder has nowhere to go.
    s.ok(t, escalate(Tier::District));
    s.ok(d, accept());
    for to in Tier::ALL {
        assert_eq!(
            s.refused(d, escalate(to)),
            TransitionError::EscalationTier {
                from: Tier::District,
                to
            }
        );
    }
    // The district hall's own case cannot be escalated either.
    let mut s = Script::application(d, CaseType::Promised);
    s.ok(d, complete_review());
    s.ok(d, delegation(Delivery::HallPickup));
    assert_eq!(
        s.refused(d, escalate(Tier::District)),
        TransitionError::EscalationTier {
            from: Tier::District,
            to: Tier::District
        }
    );
}

#[test]
fn escalation_needs_a_delegated_case() {
    let v = village();
    for stage in [
        Stage::Received,
        Stage::Incomplete,
        Stage::AwaitingSupplement,
        Stage::Reviewed,
    ] {
        let mut s = case_at(stage, CaseType::Promised);
        assert_eq!(
            s.refused(v, escalate(Tier::Town)),
            TransitionError::Illegal {
                stage,
                kind: EventKind::Escalated
            }
        );
    }
}

#[test]
fn returning_to_a_station_that_never_held_the_case_is_refused() {
    let (v, t, d) = (village(), town(), district());
    let mut s = case_at(Stage::InProgress, CaseType::Promised);
    s.ok(t, escalate(Tier::District));
    s.ok(d, accept());
    for to in [
        d,
        sibling(),
        other_town(),
        other_town_village(),
        other_district(),
    ] {
        let err = s.refused(d, return_to(to));
        assert_eq!(err, TransitionError::ReturnTarget { to });
        assert_eq!(err.code(), "case.return_target");
        assert!(err.message_zh().contains(&to.to_string()));
    }
    // After returning to the town, the district is no longer in the chain below the holder.
    s.ok(d, return_to(t));
    assert_eq!(s.state.chain, vec![v]);
    assert_eq!(
        s.refused(t, return_to(d)),
        TransitionError::ReturnTarget { to: d }
    );
    // The origin holding its case has nowhere to return it to.
    s.ok(t, return_to(v));
    assert_eq!(
        s.refused(v, return_to(v)),
        TransitionError::ReturnTarget { to: v }
    );
}
