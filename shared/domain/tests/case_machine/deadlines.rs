//! Deadlines on the district's calendar.

use super::*;

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
