//! The case state machine and the event model through the public API: the lifecycle of
//! DESIGN.md with the real codes of 新华区, every refusal with its typed error, single-event
//! validation, the wire shape, case numbers, deadlines on the district's calendar, and properties
//! of random logs.

#![allow(clippy::unwrap_used)]

mod support;

use std::collections::HashSet;

use bangban_domain::Bilingual;
use bangban_domain::calendar::{Deadline, WorkingCalendar};
use bangban_domain::case::{CaseState, Stage, TransitionError, fold};
use bangban_domain::event::{
    Applicant, Application, CaseNumber, CaseNumberError, CaseResult, CaseType, Channel,
    CheckOverride, Comment, Consultation, Delegation, Delivery, Escalation, Evaluation, Event,
    EventBody, EventError, EventKind, HandlingStart, Handover, HandoverMethod, MAX_PROMISED_DAYS,
    MAX_SHORT, MAX_TEXT, MaterialVerdict, Note, OneTimeNotice, PreReview, Return, Satisfaction,
    Supplement, Suspension, Termination, TerminationReason, Verdict, Visit, VisitKind,
    WindowAssist,
};
use bangban_domain::station::{StationCode, StationCodeError, Tier};
use proptest::prelude::*;
use serde_json::{Value, json};
use support::*;
use time::macros::{date, datetime};
use time::{Duration, OffsetDateTime};

const CALENDAR_JSON: &str = include_str!("../../../deploy/policy/calendar.json");

fn calendar() -> WorkingCalendar {
    WorkingCalendar::from_json(CALENDAR_JSON).unwrap()
}

/// The kinds DESIGN.md's lifecycle allows at each stage (not suspended), for an item of the
/// fitting type (the window for an immediate item, a delegation for a promised one) and a case
/// that has an earlier holder to return to where a return is allowed.
fn expected_allowed(stage: Stage) -> Vec<EventKind> {
    use EventKind as K;
    // Anyone on the origin's path may record a visit or a comment at any time.
    let mut allowed = match stage {
        // A consultation becomes an application, or is simply answered and done.
        Stage::Consultation => vec![K::ApplicationReceived, K::Completed],
        Stage::Received => vec![K::PreReviewed],
        Stage::Incomplete => vec![K::OneTimeNoticeIssued],
        Stage::AwaitingSupplement => vec![K::SupplementReceived],
        Stage::Reviewed => vec![K::AssistedAtWindow, K::DelegationSigned],
        Stage::AtWindow => vec![K::Completed],
        Stage::Delegated => vec![K::HandlingStarted, K::Suspended, K::Escalated],
        Stage::InProgress => vec![K::Suspended, K::Escalated, K::ReturnedDown, K::ResultReady],
        Stage::Escalated => vec![K::AcceptedUpstream, K::ReturnedDown],
        Stage::ResultReady => vec![K::ReturnedDown, K::HandedOver],
        Stage::HandedOver => vec![K::Completed],
        Stage::Completed | Stage::Terminated => vec![K::Evaluated],
    };
    if stage.is_open() {
        allowed.push(K::Terminated);
    }
    allowed.extend([K::VisitRecorded, K::Commented]);
    // In the order of EventKind::ALL, for readable diffs.
    EventKind::ALL
        .into_iter()
        .filter(|k| allowed.contains(k))
        .collect()
}

fn kinds(set: &HashSet<EventKind>) -> Vec<EventKind> {
    EventKind::ALL
        .into_iter()
        .filter(|k| set.contains(k))
        .collect()
}

/// The item type that fits `kind` at the Reviewed stage.
fn fitting_type(kind: EventKind) -> CaseType {
    if kind == EventKind::AssistedAtWindow {
        CaseType::Immediate
    } else {
        CaseType::Promised
    }
}

/// Who would send `kind`: the holder for a state change, the origin for anything else.
fn fitting_author(s: &Script, kind: EventKind) -> StationCode {
    if kind.changes_state() {
        s.holder()
    } else {
        s.state.origin
    }
}

// =============================================================================================
// 1. Happy paths
// =============================================================================================

#[test]
fn consultation_becomes_an_application_and_completes_at_the_window() {
    let v = village();
    let mut s = Script::open(v, consultation(v));
    let opened = s.now;
    assert_eq!(s.state.stage, Stage::Consultation);
    assert_eq!(s.state.origin, v);
    assert_eq!(s.holder(), v);
    assert!(s.state.chain.is_empty());
    assert_eq!(s.state.case_no.to_string(), "410402001001-20260302-0001");
    assert_eq!(s.state.opened_at, opened);
    assert!(s.state.applicant.is_none());
    assert_eq!(s.state.item, Some(promised_item(5)));
    assert_eq!(s.state.accepted_at, None);
    assert_eq!(s.state.version, 1);

    s.ok(v, visit(VisitKind::OnSite));
    assert_eq!(s.state.visits, 1);
    assert_eq!(s.state.stage, Stage::Consultation);

    // The consultation becomes an application: same case, same number, the item as applied.
    let st = s.ok(v, application(v, immediate_item(), person())).clone();
    assert_eq!(st.stage, Stage::Received);
    assert_eq!(st.case_no.to_string(), "410402001001-20260302-0001");
    assert_eq!(st.item, Some(immediate_item()));
    assert_eq!(st.applicant, Some(person()));
    assert_eq!(st.opened_at, opened);
    assert_eq!(st.accepted_at, None);

    s.ok(v, complete_review());
    let accepted = s.now;
    assert_eq!(s.state.stage, Stage::Reviewed);
    assert_eq!(s.state.accepted_at, Some(accepted));

    s.ok(v, window());
    assert_eq!(s.state.stage, Stage::AtWindow);
    assert_eq!(s.state.closed_at, None);

    let st = s.ok(v, complete()).clone();
    assert_eq!(st.stage, Stage::Completed);
    assert!(!st.stage.is_open());
    assert_eq!(st.closed_at, Some(s.now));
    assert_eq!(st.holder, v);
    assert!(st.chain.is_empty());
    assert_eq!(st.visits, 1, "one trip: the goal of 最多跑一次");
    assert_eq!(st.escalations, 0);
    assert_eq!(st.one_time_notices, 0);
    assert_eq!(st.accepted_at, Some(accepted));
    assert_eq!(st.version, 6);
    assert_eq!(st.last_event_at, s.now);
    // An immediate item is due on the day it is accepted.
    assert_eq!(
        st.deadline(&calendar()),
        Some(Ok(Deadline::Due {
            date: date!(2026 - 03 - 02),
            provisional: false
        }))
    );
}

#[test]
fn a_consultation_is_completed_once_answered() {
    let t = town();
    let mut s = Script::open(t, consultation(t));
    assert_eq!(s.state.origin, t);
    s.ok(t, complete());
    assert_eq!(s.state.stage, Stage::Completed);
    assert_eq!(s.state.closed_at, Some(s.now));
    // Never accepted: no clock ran.
    assert_eq!(s.state.accepted_at, None);
    assert_eq!(s.state.deadline(&calendar()), None);
    s.ok(t, evaluate(Satisfaction::Satisfied));
    assert_eq!(s.state.evaluations, vec![Satisfaction::Satisfied]);
}

#[test]
fn incomplete_materials_get_one_notice_then_the_immediate_item_is_done_at_the_window() {
    let v = village();
    let mut s = Script::application(v, CaseType::Immediate);
    s.ok(v, visit(VisitKind::OnSite));

    let st = s.ok(v, incomplete_review()).clone();
    assert_eq!(st.stage, Stage::Incomplete);
    assert_eq!(
        st.accepted_at, None,
        "the clock starts only with complete materials"
    );
    let review = st.last_review.unwrap();
    assert!(!review.is_complete());
    assert_eq!(review.materials.len(), 3);

    s.ok(v, notice());
    assert_eq!(s.state.stage, Stage::AwaitingSupplement);
    assert_eq!(s.state.one_time_notices, 1);

    // The agent collects the missing materials at the applicant's home.
    s.ok(v, visit(VisitKind::HomeVisit));
    s.ok(v, supplement());
    assert_eq!(s.state.stage, Stage::Received);
    assert_eq!(s.state.accepted_at, None);

    s.ok(v, complete_review());
    let accepted = s.now;
    assert_eq!(s.state.stage, Stage::Reviewed);
    assert_eq!(s.state.accepted_at, Some(accepted));
    assert!(s.state.last_review.as_ref().unwrap().is_complete());

    s.ok(v, window());
    assert_eq!(s.state.stage, Stage::AtWindow);
    s.ok(v, complete());
    let st = &s.state;
    assert_eq!(st.stage, Stage::Completed);
    assert_eq!(st.closed_at, Some(s.now));
    assert_eq!(st.accepted_at, Some(accepted));
    assert_eq!(st.one_time_notices, 1);
    assert_eq!(st.visits, 1);
    assert_eq!(st.home_visits, 1);
    assert_eq!(st.escalations, 0);
    assert_eq!(st.holder, v);
    assert!(st.chain.is_empty());
}

#[test]
fn every_round_of_missing_materials_issues_its_own_notice() {
    let v = village();
    let mut s = Script::application(v, CaseType::Promised);
    for round in 1..=3 {
        s.ok(v, incomplete_review());
        s.ok(v, notice());
        assert_eq!(s.state.one_time_notices, round);
        s.ok(v, supplement());
    }
    s.ok(v, complete_review());
    assert_eq!(s.state.accepted_at, Some(s.now));
    assert_eq!(s.state.one_time_notices, 3);
}

#[test]
fn promised_item_travels_up_to_the_district_and_back_to_the_origin_village() {
    let (v, t, d) = (village(), town(), district());
    let mut s = Script::open(v, application(v, promised_item(20), person()));
    let check = |s: &Script, stage: Stage, holder: StationCode, chain: &[StationCode]| {
        assert_eq!(s.state.stage, stage, "stage");
        assert_eq!(s.state.holder, holder, "holder at {stage}");
        assert_eq!(s.state.chain, chain, "chain at {stage}");
        assert_eq!(s.state.origin, v, "the origin never changes");
        assert_eq!(
            s.state.closed_at.is_some(),
            !stage.is_open(),
            "closed_at at {stage}"
        );
        assert_eq!(s.state.version, s.log.len() as u64);
    };
    check(&s, Stage::Received, v, &[]);
    assert_eq!(s.state.visits, 0);

    s.ok(v, visit(VisitKind::OnSite));
    assert_eq!(s.state.visits, 1);

    s.ok(v, complete_review());
    let accepted = s.now;
    check(&s, Stage::Reviewed, v, &[]);
    assert_eq!(s.state.accepted_at, Some(accepted));

    s.ok(v, delegation(courier()));
    check(&s, Stage::Delegated, v, &[]);
    assert_eq!(s.state.delivery, Some(courier()));

    s.ok(v, handling());
    check(&s, Stage::InProgress, v, &[]);

    s.ok(v, suspend());
    let suspended = s.now;
    check(&s, Stage::InProgress, v, &[]);
    assert!(s.state.is_suspended());
    assert!(matches!(
        s.state.deadline(&calendar()),
        Some(Ok(Deadline::Paused { .. }))
    ));

    s.ok(v, resume());
    check(&s, Stage::InProgress, v, &[]);
    assert!(!s.state.is_suspended());
    assert_eq!(s.state.suspensions.len(), 1);
    assert_eq!(s.state.suspensions[0].from, suspended);
    assert_eq!(s.state.suspensions[0].until, Some(s.now));

    s.ok(v, escalate(Tier::Town));
    check(&s, Stage::Escalated, t, &[v]);
    assert_eq!(s.state.escalations, 1);

    s.ok(t, accept());
    check(&s, Stage::InProgress, t, &[v]);

    s.ok(t, escalate(Tier::District));
    check(&s, Stage::Escalated, d, &[v, t]);
    assert_eq!(s.state.escalations, 2);

    s.ok(d, accept());
    check(&s, Stage::InProgress, d, &[v, t]);

    // The earlier holders may still follow the case.
    s.ok(t, comment("街道已电话催办"));
    s.ok(v, comment("申请人来电询问进度"));
    check(&s, Stage::InProgress, d, &[v, t]);

    s.ok(d, result());
    check(&s, Stage::ResultReady, d, &[v, t]);
    assert_eq!(s.state.closed_at, None);

    // Straight back to the origin, which delivers the result.
    s.ok(d, return_to(v));
    check(&s, Stage::ResultReady, v, &[]);

    s.ok(v, courier_handover());
    check(&s, Stage::HandedOver, v, &[]);

    s.ok(v, complete());
    check(&s, Stage::Completed, v, &[]);
    assert_eq!(s.state.closed_at, Some(s.now));

    s.ok(v, evaluate(Satisfaction::VerySatisfied));
    s.ok(d, evaluate(Satisfaction::Satisfied));
    let st = &s.state;
    check(&s, Stage::Completed, v, &[]);
    assert_eq!(
        st.evaluations,
        vec![Satisfaction::VerySatisfied, Satisfaction::Satisfied]
    );
    assert_eq!(st.visits, 1);
    assert_eq!(st.escalations, 2);
    assert_eq!(st.one_time_notices, 0);
    assert_eq!(st.accepted_at, Some(accepted));
    assert_eq!(st.termination, None);
    assert!(st.deadline(&calendar()).unwrap().is_ok());
}

#[test]
fn results_may_return_down_one_tier_at_a_time() {
    let (v, t, d) = (village(), town(), district());
    let mut s = case_at(Stage::InProgress, CaseType::Promised);
    s.ok(t, escalate(Tier::District));
    s.ok(d, accept());
    s.ok(d, result());
    s.ok(d, return_to(t));
    assert_eq!(s.state.stage, Stage::ResultReady);
    assert_eq!((s.holder(), s.state.chain.clone()), (t, vec![v]));
    s.ok(t, return_to(v));
    assert_eq!((s.holder(), s.state.chain.clone()), (v, vec![]));
    s.ok(v, handover(HandoverMethod::Pickup));
    s.ok(v, complete());
    assert_eq!(s.state.stage, Stage::Completed);
}

#[test]
fn an_upper_tier_may_send_a_case_back_before_accepting_it() {
    let (v, t) = (village(), town());
    let mut s = case_at(Stage::Escalated, CaseType::Promised);
    s.ok(t, return_to(v));
    assert_eq!(s.state.stage, Stage::InProgress);
    assert_eq!(s.holder(), v);
    assert!(s.state.chain.is_empty());
    // And the village may try again.
    s.ok(v, escalate(Tier::Town));
    assert_eq!(s.state.escalations, 2);
    assert_eq!(s.state.chain, vec![v]);
}

#[test]
fn a_returned_case_in_progress_is_handled_again_below() {
    let (v, t) = (village(), town());
    let mut s = case_at(Stage::InProgress, CaseType::Promised);
    s.ok(t, return_to(v));
    assert_eq!(s.state.stage, Stage::InProgress);
    assert_eq!(s.holder(), v);
    s.ok(v, result());
    s.ok(v, handover(HandoverMethod::HomeDelivery));
    s.ok(v, complete());
}

#[test]
fn village_may_escalate_straight_to_the_district() {
    let (v, t, d) = (village(), town(), district());
    let mut s = case_at(Stage::Delegated, CaseType::Promised);
    s.ok(v, escalate(Tier::District));
    assert_eq!(s.holder(), d);
    assert_eq!(s.state.chain, vec![v]);
    s.ok(d, accept());
    // The town never held it, so it is no place to return to, but it may still comment.
    assert_eq!(
        s.refused(d, return_to(t)),
        TransitionError::ReturnTarget { to: t }
    );
    s.ok(t, comment("街道知悉"));
    s.ok(d, return_to(v));
    assert_eq!(s.holder(), v);
}

#[test]
fn a_case_born_at_the_town_goes_up_to_the_district_and_back() {
    let (t, d) = (town(), district());
    let mut s = Script::application(t, CaseType::Promised);
    s.ok(t, complete_review());
    s.ok(t, delegation(Delivery::HallPickup));
    s.ok(t, escalate(Tier::District));
    assert_eq!((s.holder(), s.state.chain.clone()), (d, vec![t]));
    s.ok(d, accept());
    s.ok(d, result());
    s.ok(d, return_to(t));
    s.ok(t, handover(HandoverMethod::Pickup));
    s.ok(t, complete());
    assert_eq!(s.state.origin, t);
    assert_eq!(s.state.delivery, Some(Delivery::HallPickup));
}

// =============================================================================================
// 2. Refusals
// =============================================================================================

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
fn while_suspended_only_resume_terminate_visit_and_comment_are_allowed() {
    let allowed_while_suspended = [
        EventKind::Resumed,
        EventKind::Terminated,
        EventKind::VisitRecorded,
        EventKind::Commented,
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

// =============================================================================================
// 3. Event validation
// =============================================================================================

/// An event of the origin village's case with `body`, for validation on its own.
fn lone(body: EventBody) -> Event {
    make_event(new_case_id(3), village(), START, 1, body)
}

/// Every required text field, as (field name, max length, body with that field set to `text`).
fn required_fields(text: &str) -> Vec<(&'static str, usize, EventBody)> {
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
                    name: t.clone(),
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
            company_with(|_, rep, _, _| *rep = t.clone()),
        ),
        (
            "applicant.contact_name",
            MAX_SHORT,
            company_with(|_, _, contact, _| *contact = t.clone()),
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
                recipient: t.clone(),
                address: "新华区曙光街1号".to_owned(),
                phone: phone(),
            }),
        ),
        (
            "delivery.address",
            MAX_TEXT,
            delegation(Delivery::Courier {
                recipient: PERSON_NAME.to_owned(),
                address: t.clone(),
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
                received_by: t.clone(),
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
fn optional_fields(text: &str) -> Vec<(&'static str, usize, EventBody)> {
    let v = village();
    let t = Some(text.to_owned());
    let note = || Note { note: t.clone() };
    vec![
        (
            "answer",
            MAX_TEXT,
            EventBody::ConsultationRecorded(Consultation {
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

/// A company application with one of its fields edited.
fn company_with(
    edit: impl FnOnce(&mut String, &mut String, &mut String, &mut Option<CheckOverride>),
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

// =============================================================================================
// 4. Serde: the wire shape
// =============================================================================================

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
    use bangban_domain::case::StoredStateError;
    let s = Script::application(village(), CaseType::Promised);
    let other = s
        .state
        .to_stored()
        .replacen("\"format\":1", "\"format\":99", 1);
    assert_eq!(
        CaseState::from_stored(&other),
        Err(StoredStateError::Format { found: 99 })
    );
    assert!(matches!(
        CaseState::from_stored("{\"format\":1}"),
        Err(StoredStateError::Unreadable(_))
    ));
}

// =============================================================================================
// 5. Case numbers
// =============================================================================================

#[test]
fn case_numbers_round_trip_through_text_and_json() {
    for text in [
        "410402001001-20260302-0001",
        "410402001000-20261231-0042",
        "410402000000-20240229-9999",
        "410402001002-20260101-12345",
        "410402001001-20260302-99999",
    ] {
        let n = CaseNumber::parse(text).unwrap();
        assert_eq!(n.to_string(), text);
        assert_eq!(text.parse::<CaseNumber>(), Ok(n));
        let json = serde_json::to_value(n).unwrap();
        assert_eq!(json, json!(text));
        assert_eq!(serde_json::from_value::<CaseNumber>(json).unwrap(), n);
    }
    let n = CaseNumber::parse("410402001001-20260302-0007").unwrap();
    assert_eq!(n.station(), village());
    assert_eq!(n.date(), date!(2026 - 03 - 02));
    assert_eq!(n.seq(), 7);
    assert_eq!(
        CaseNumber::new(village(), date!(2026 - 03 - 02), 7)
            .unwrap()
            .to_string(),
        "410402001001-20260302-0007"
    );
    // Numbers sort by station, then day, then sequence.
    let a = CaseNumber::parse("410402001001-20260302-0009").unwrap();
    let b = CaseNumber::parse("410402001001-20260302-0010").unwrap();
    let c = CaseNumber::parse("410402001001-20260303-0001").unwrap();
    assert!(a < b && b < c);
}

#[test]
fn case_numbers_of_the_wrong_shape_are_refused() {
    for text in [
        "",
        "410402001001",
        "410402001001-20260302",
        "410402001001-20260302-0001-1",
        "410402001001_20260302_0001",
        "410402001001--20260302-0001",
        " 410402001001-20260302-0001",
        "410402001001-2026-03-02-0001",
    ] {
        let err = CaseNumber::parse(text).unwrap_err();
        assert!(
            matches!(
                err,
                CaseNumberError::Shape | CaseNumberError::Station(_) | CaseNumberError::Date
            ),
            "{text:?}: {err:?}"
        );
    }
    assert_eq!(CaseNumber::parse(""), Err(CaseNumberError::Shape));
    assert_eq!(
        CaseNumber::parse("410402001001-20260302-0001-1"),
        Err(CaseNumberError::Shape)
    );
    assert_eq!(
        CaseNumber::parse("410400000000-20260302-0001"),
        Err(CaseNumberError::Station(StationCodeError::NotCountyLevel {
            county: 410_400
        }))
    );
    let err = CaseNumber::parse("41040200100X-20260302-0001").unwrap_err();
    assert_eq!(err.code(), "case_number.station");
    assert!(!err.message_zh().is_empty());
    assert_eq!(CaseNumberError::Shape.code(), "case_number.shape");
    assert!(
        CaseNumberError::Shape
            .message_zh()
            .contains("站点代码-年月日-序号")
    );
}

#[test]
fn case_numbers_carry_real_dates() {
    for day in [
        "20260230",
        "20250229",
        "20261301",
        "20260001",
        "20260100",
        "20260132",
        "2026031",
        "202603011",
        "2026O301",
        "２0260301",
    ] {
        let text = format!("410402001001-{day}-0001");
        assert_eq!(
            CaseNumber::parse(&text),
            Err(CaseNumberError::Date),
            "{text}"
        );
    }
    assert_eq!(CaseNumberError::Date.code(), "case_number.date");
    assert!(CaseNumberError::Date.message_zh().contains("日期"));
    // Leap days are real.
    assert!(CaseNumber::parse("410402001001-20240229-0001").is_ok());
    assert!(CaseNumber::parse("410402001001-20000229-0001").is_ok());
}

#[test]
fn case_number_sequences_run_from_0001_to_99999() {
    for seq in [
        "0000",
        "001",
        "1",
        "",
        "100000",
        "00a1",
        "+001",
        "-001",
        "１２３４",
    ] {
        let text = format!("410402001001-20260302-{seq}");
        let err = CaseNumber::parse(&text).unwrap_err();
        assert!(
            matches!(err, CaseNumberError::Sequence | CaseNumberError::Shape),
            "{text}: {err:?}"
        );
    }
    assert_eq!(
        CaseNumber::parse("410402001001-20260302-0000"),
        Err(CaseNumberError::Sequence)
    );
    assert_eq!(
        CaseNumber::parse("410402001001-20260302-100000"),
        Err(CaseNumberError::Sequence)
    );
    let d = date!(2026 - 03 - 02);
    assert_eq!(
        CaseNumber::new(village(), d, 0),
        Err(CaseNumberError::Sequence)
    );
    assert_eq!(
        CaseNumber::new(village(), d, CaseNumber::MAX_SEQ + 1),
        Err(CaseNumberError::Sequence)
    );
    assert!(CaseNumber::new(village(), d, CaseNumber::MAX_SEQ).is_ok());
    assert_eq!(CaseNumberError::Sequence.code(), "case_number.sequence");
    assert!(serde_json::from_value::<CaseNumber>(json!("410402001001-20260302-0000")).is_err());
    assert!(serde_json::from_value::<CaseNumber>(json!(1)).is_err());
}

// =============================================================================================
// 6. Deadlines on the district's calendar
// =============================================================================================

/// A promised case of `days` working days, accepted at `accepted`.
fn accepted_case(days: u32, accepted: OffsetDateTime) -> Script {
    let v = village();
    let mut s = Script::open(v, application(v, promised_item(days), person()));
    s.now = accepted - Duration::minutes(10);
    s.ok(v, complete_review());
    assert_eq!(s.state.accepted_at, Some(accepted));
    s
}

#[test]
fn a_promised_item_accepted_before_the_spring_festival_waits_out_the_holiday() {
    let cal = calendar();
    // Tuesday 10 February 2026; 春节 is 15–23 February, with Saturday 14 February a make-up
    // working day. 11, 12, 13, 14 (make-up) count, then nothing until Tuesday the 24th.
    let s = accepted_case(5, datetime!(2026-02-10 15:00 +8));
    assert_eq!(
        s.state.deadline(&cal),
        Some(Ok(Deadline::Due {
            date: date!(2026 - 02 - 24),
            provisional: false
        }))
    );
    // With weekends only the same count ends on Tuesday the 17th, in the middle of the holiday.
    assert_eq!(
        s.state.deadline(&WorkingCalendar::empty()),
        Some(Ok(Deadline::Due {
            date: date!(2026 - 02 - 17),
            provisional: true
        }))
    );
    // Twenty working days run past the second make-up Saturday (28 February).
    let s = accepted_case(20, datetime!(2026-02-10 15:00 +8));
    let due = s.state.deadline(&cal).unwrap().unwrap().due_date().unwrap();
    // 11,12,13,14 | 24,25,26,27,28(Sat) | 2,3,4,5,6 | 9,10,11,12,13 | 16 March.
    assert_eq!(due, date!(2026 - 03 - 16));
    // The accepted instant is read in China time: 23:30 UTC on the 9th is the 10th in Beijing.
    let s = accepted_case(5, datetime!(2026-02-09 23:30 UTC));
    assert_eq!(
        s.state.deadline(&cal).unwrap().unwrap().due_date(),
        Some(date!(2026 - 02 - 24))
    );
}

#[test]
fn suspension_time_is_not_counted() {
    let cal = calendar();
    let v = village();
    let mut s = accepted_case(5, datetime!(2026-02-10 15:00 +8));
    s.ok(v, delegation(courier()));
    s.ok(v, handling());
    // Suspended on Wednesday the 11th (which still counts), resumed on Friday the 13th (which
    // does not): the 12th and 13th are not counted.
    s.now = datetime!(2026-02-11 09:50 +8);
    s.ok(v, suspend());
    assert_eq!(
        s.state.deadline(&cal),
        Some(Ok(Deadline::Paused {
            counted: 1,
            remaining: 4
        }))
    );
    s.now = datetime!(2026-02-13 16:50 +8);
    s.ok(v, resume());
    // 11 | 14 (make-up) | 24, 25, 26.
    assert_eq!(
        s.state.deadline(&cal),
        Some(Ok(Deadline::Due {
            date: date!(2026 - 02 - 26),
            provisional: false
        }))
    );
    // A second suspension adds up: 25 February to 2 March covers 26, 27, 28 (make-up) and 2.
    s.now = datetime!(2026-02-25 10:50 +8);
    s.ok(v, suspend());
    s.now = datetime!(2026-03-02 08:50 +8);
    s.ok(v, resume());
    // 11 | 14 | 24, 25 | 3 March.
    assert_eq!(
        s.state.deadline(&cal).unwrap().unwrap().due_date(),
        Some(date!(2026 - 03 - 03))
    );
    // The same log folded from scratch gives the same deadline.
    assert_eq!(fold(&s.log).unwrap().deadline(&cal), s.state.deadline(&cal));
}

#[test]
fn no_deadline_before_the_materials_are_complete() {
    let cal = calendar();
    for stage in [
        Stage::Received,
        Stage::Incomplete,
        Stage::AwaitingSupplement,
    ] {
        assert_eq!(
            case_at(stage, CaseType::Promised).state.deadline(&cal),
            None
        );
    }
    assert_eq!(
        case_at(Stage::Consultation, CaseType::Promised)
            .state
            .deadline(&cal),
        None
    );
    assert!(matches!(
        case_at(Stage::Reviewed, CaseType::Promised)
            .state
            .deadline(&cal),
        Some(Ok(Deadline::Due { .. }))
    ));
}

#[test]
fn a_suspension_stamped_before_acceptance_by_a_skewed_clock_still_has_a_deadline() {
    // The town's clock runs behind the village's: it suspends the case at a time that reads
    // earlier than the village's acceptance. The log is accepted, so it must have a deadline.
    let cal = calendar();
    let (v, t) = (village(), town());
    let mut s = case_at(Stage::InProgress, CaseType::Promised);
    let accepted = s.state.accepted_at.unwrap();
    s.now = accepted - Duration::hours(2);
    s.ok(t, suspend());
    assert!(matches!(
        s.state.deadline(&cal),
        Some(Ok(Deadline::Paused { counted: 0, .. }))
    ));
    s.ok(t, resume());
    assert!(matches!(
        s.state.deadline(&cal),
        Some(Ok(Deadline::Due { .. }))
    ));
    // And a suspension that reads earlier than the previous resumption.
    s.now += Duration::days(3);
    s.ok(t, suspend());
    s.now += Duration::hours(5);
    s.ok(t, resume());
    s.now -= Duration::hours(3);
    s.ok(t, suspend());
    assert!(matches!(
        s.state.deadline(&cal),
        Some(Ok(Deadline::Paused { .. }))
    ));
    s.ok(t, resume());
    s.ok(t, return_to(v));
    assert!(s.state.deadline(&cal).unwrap().is_ok());
    assert_eq!(fold(&s.log).unwrap().deadline(&cal), s.state.deadline(&cal));
}

// =============================================================================================
// 7. Properties of random logs
// =============================================================================================

/// One random step: mostly a plausible event for the current stage from the right station,
/// sometimes anything from anyone, now and then a broken one.
#[derive(Clone, Debug)]
struct Step {
    plausible: bool,
    pick: usize,
    who: usize,
    tier: usize,
    target: usize,
    complete: bool,
    on_site: bool,
    reason: usize,
    level: usize,
    minutes: i64,
    flaw: u8,
}

fn step() -> impl Strategy<Value = Step> {
    (
        0u8..10,
        any::<usize>(),
        0usize..16,
        0usize..3,
        0usize..8,
        any::<bool>(),
        any::<bool>(),
        0usize..4,
        0usize..5,
        // Clocks of different nodes disagree: time sometimes runs backwards.
        -600i64..900,
        0u8..25,
    )
        .prop_map(
            |(p, pick, who, tier, target, complete, on_site, reason, level, minutes, flaw)| Step {
                plausible: p < 8,
                pick,
                who,
                tier,
                target,
                complete,
                on_site,
                reason,
                level,
                minutes,
                flaw,
            },
        )
}

/// How a random case opens: where, and with what.
#[derive(Clone, Debug)]
struct Opening {
    origin: usize,
    consultation: bool,
    immediate: bool,
    days: u32,
}

fn opening() -> impl Strategy<Value = Opening> {
    (0usize..4, any::<bool>(), any::<bool>(), 1u32..60).prop_map(
        |(origin, consultation, immediate, days)| Opening {
            origin,
            consultation,
            immediate,
            days,
        },
    )
}

fn stations() -> [StationCode; 7] {
    [
        village(),
        town(),
        district(),
        sibling(),
        other_town(),
        other_town_village(),
        other_district(),
    ]
}

fn random_event(
    state: &CaseState,
    step: &Step,
    at: OffsetDateTime,
    n: u64,
    case_type: CaseType,
) -> Event {
    let all = stations();
    let kind = if step.plausible {
        // Mostly move the case on, so that random logs reach the deep stages; now and then
        // terminate, visit or comment.
        let progress: Vec<EventKind> = if state.is_suspended() {
            vec![EventKind::Resumed]
        } else {
            expected_allowed(state.stage)
                .into_iter()
                .filter(|k| {
                    !matches!(
                        k,
                        EventKind::Terminated | EventKind::VisitRecorded | EventKind::Commented
                    )
                })
                // Weighted towards the long way round: up the tiers and back.
                .flat_map(|k| {
                    let weight = match k {
                        EventKind::Escalated | EventKind::ApplicationReceived => 4,
                        EventKind::Suspended | EventKind::ReturnedDown => 2,
                        _ => 1,
                    };
                    std::iter::repeat_n(k, weight)
                })
                .collect()
        };
        match step.pick % 40 {
            0 if state.stage.is_open() => EventKind::Terminated,
            1..=3 => EventKind::VisitRecorded,
            4 | 5 => EventKind::Commented,
            _ if progress.is_empty() => EventKind::Commented,
            _ => progress[(step.pick / 40) % progress.len()],
        }
    } else {
        EventKind::ALL[step.pick % EventKind::ALL.len()]
    };
    let author = if step.plausible && step.who < 12 {
        if kind.changes_state() {
            state.holder
        } else {
            // Someone on the origin's path.
            let path: Vec<StationCode> = all
                .into_iter()
                .filter(|s| s.is_same_or_ancestor_of(&state.origin))
                .collect();
            path[step.who % path.len()]
        }
    } else {
        all[step.who % all.len()]
    };
    let target = if step.target < 4 && !state.chain.is_empty() {
        state.chain[step.target % state.chain.len()]
    } else {
        all[step.target % all.len()]
    };
    let body = match kind {
        EventKind::PreReviewed if !step.complete => incomplete_review(),
        EventKind::Escalated => escalate(Tier::ALL[step.tier]),
        EventKind::ReturnedDown => return_to(target),
        EventKind::VisitRecorded if !step.on_site => visit(VisitKind::HomeVisit),
        EventKind::Terminated => terminate(
            [
                TerminationReason::ClientWithdrew,
                TerminationReason::FalseOrNonConforming,
                TerminationReason::CannotComplete,
                TerminationReason::Other,
            ][step.reason],
        ),
        EventKind::Evaluated => evaluate(
            [
                Satisfaction::VeryDissatisfied,
                Satisfaction::Dissatisfied,
                Satisfaction::BasicallySatisfied,
                Satisfaction::Satisfied,
                Satisfaction::VerySatisfied,
            ][step.level],
        ),
        // Creation events carry the author's own case number, as a real node would.
        _ => sample_body(kind, author, state.holder, target, case_type),
    };
    let mut ev = make_event(state.case_id, author, at, n, body);
    match step.flaw {
        0 => ev.case_id = new_case_id(1_000),
        1 => ev.body = comment("\u{3000}"),
        2 => ev.actor = Some(String::new()),
        _ => {}
    }
    ev
}

fn check_invariants(state: &CaseState) -> Result<(), TestCaseError> {
    let origin = state.origin;
    prop_assert!(
        state.holder.is_same_or_ancestor_of(&origin),
        "holder {} is not on the path of origin {}",
        state.holder,
        origin
    );
    for pair in state.chain.windows(2) {
        prop_assert!(pair[0].tier() < pair[1].tier(), "chain {:?}", state.chain);
    }
    for member in &state.chain {
        prop_assert!(member.is_same_or_ancestor_of(&origin));
    }
    if let Some(last) = state.chain.last() {
        prop_assert!(last.tier() < state.holder.tier());
        prop_assert_eq!(state.chain[0], origin, "the first holder is the origin");
    } else {
        prop_assert_eq!(
            state.holder,
            origin,
            "no earlier holder: the origin holds it"
        );
    }
    prop_assert!(state.escalations as usize >= state.chain.len());
    prop_assert_eq!(state.closed_at.is_some(), !state.stage.is_open());
    prop_assert_eq!(
        state.termination.is_some(),
        state.stage == Stage::Terminated
    );
    prop_assert!(state.evaluations.is_empty() || !state.stage.is_open());
    if state.is_suspended() {
        prop_assert!(matches!(state.stage, Stage::Delegated | Stage::InProgress));
    }
    // Only the last suspension may be open, and none ends before it starts.
    for (i, s) in state.suspensions.iter().enumerate() {
        prop_assert!(s.until.is_some() || i + 1 == state.suspensions.len());
        if let Some(until) = s.until {
            prop_assert!(until >= s.from);
        }
    }
    if matches!(
        state.stage,
        Stage::Reviewed
            | Stage::AtWindow
            | Stage::Delegated
            | Stage::InProgress
            | Stage::Escalated
            | Stage::ResultReady
            | Stage::HandedOver
    ) {
        prop_assert!(
            state.accepted_at.is_some(),
            "at {} without acceptance",
            state.stage
        );
    }
    prop_assert!(state.last_event_at >= state.opened_at);
    Ok(())
}

fn run_random_log(open: &Opening, steps: &[Step]) -> Result<(), TestCaseError> {
    let cal = calendar();
    let origin = [village(), town(), district(), sibling()][open.origin];
    let case_type = if open.immediate {
        CaseType::Immediate
    } else {
        CaseType::Promised
    };
    let item = match case_type {
        CaseType::Immediate => immediate_item(),
        CaseType::Promised => promised_item(open.days),
    };
    let first_body = if open.consultation {
        consultation(origin)
    } else {
        application(origin, item, person())
    };
    let first = make_event(new_case_id(2), origin, START, 0, first_body);
    let mut state = CaseState::open(&first).unwrap();
    let mut accepted = vec![first];
    let mut on_site = 0u32;
    let mut at = START;
    for (i, step) in steps.iter().enumerate() {
        at += Duration::minutes(step.minutes);
        let ev = random_event(&state, step, at, i as u64 + 1, case_type);
        let before = state.clone();
        let checked = state.check(&ev);
        prop_assert_eq!(&state, &before, "check() changed the state");
        let applied = state.apply(&ev);
        prop_assert_eq!(&checked, &applied);
        match applied {
            Ok(()) => {
                if matches!(
                    &ev.body,
                    EventBody::VisitRecorded(Visit {
                        kind: VisitKind::OnSite,
                        ..
                    })
                ) {
                    on_site += 1;
                }
                accepted.push(ev);
                prop_assert_eq!(state.version, accepted.len() as u64);
            }
            Err(_) => prop_assert_eq!(&state, &before, "a refused event changed the state"),
        }
        check_invariants(&state)?;
        prop_assert_eq!(state.visits, on_site);
        // Any accepted log has a computable deadline (or none yet).
        if let Some(deadline) = state.deadline(&cal) {
            prop_assert!(
                deadline.is_ok(),
                "{:?} for {:?}",
                deadline,
                state.suspensions
            );
        }
    }
    // The store's snapshot gives back the very same state, personal data included.
    prop_assert_eq!(
        CaseState::from_stored(&state.to_stored()),
        Ok(state.clone())
    );
    prop_assert_eq!(fold(&accepted), Ok(state));
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_logs_keep_every_invariant(
        open in opening(),
        steps in prop::collection::vec(step(), 0..60),
    ) {
        run_random_log(&open, &steps)?;
    }

    #[test]
    fn arbitrary_events_never_panic(
        open in opening(),
        steps in prop::collection::vec(step(), 0..30),
        from_anyone in prop::collection::vec((0usize..20, 0usize..7, any::<bool>()), 0..30),
    ) {
        // Any kind from any station at any point: only typed errors, never a panic.
        let origin = [village(), town(), district(), sibling()][open.origin];
        let first = make_event(new_case_id(2), origin, START, 0, consultation(origin));
        let mut state = CaseState::open(&first).unwrap();
        let mut at = START;
        for (i, (step, (k, who, immediate))) in steps.iter().zip(&from_anyone).enumerate() {
            at += Duration::minutes(step.minutes);
            let kind = EventKind::ALL[*k];
            let author = stations()[*who];
            let case_type = if *immediate { CaseType::Immediate } else { CaseType::Promised };
            let body = sample_body(kind, author, state.holder, stations()[step.target % 7], case_type);
            let ev = make_event(state.case_id, author, at, i as u64 + 1, body);
            let _ = state.apply(&ev);
            check_invariants(&state)?;
        }
    }
}
