//! Properties of random logs.

use super::*;

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
                        EventKind::Terminated
                            | EventKind::VisitRecorded
                            | EventKind::Commented
                            | EventKind::AttachmentAdded
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
            4 => EventKind::Commented,
            5 => EventKind::AttachmentAdded,
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
