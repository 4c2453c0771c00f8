//! Happy paths.

use super::*;

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
