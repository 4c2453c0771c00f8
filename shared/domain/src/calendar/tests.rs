use super::*;
use proptest::prelude::*;
use time::macros::{date, datetime};

const CALENDAR_JSON: &str = include_str!("../../../../deploy/policy/calendar.json");

fn cal() -> WorkingCalendar {
    WorkingCalendar::from_json(CALENDAR_JSON).unwrap()
}

/// Accepted at 10:00 local time on `d`.
fn at(d: Date) -> OffsetDateTime {
    d.with_hms(10, 0, 0).unwrap().assume_offset(CHINA_OFFSET)
}

fn due(d: Date) -> Deadline {
    Deadline::Due {
        date: d,
        provisional: false,
    }
}

fn suspended(from: OffsetDateTime, until: Option<OffsetDateTime>) -> Suspension {
    Suspension { from, until }
}

// --- the data file ---

#[test]
fn policy_file_covers_2026_with_seven_holidays() {
    let cal = cal();
    assert_eq!(cal.covered_years().collect::<Vec<_>>(), vec![2026]);
    assert_eq!(cal.spec().years[0].holidays.len(), 7);
    assert!(cal.covers(date!(2026 - 06 - 01)));
    assert!(!cal.covers(date!(2027 - 01 - 01)));
}

#[test]
fn working_days_of_2026_follow_the_notice() {
    let cal = cal();
    // Days off on weekdays, make-up days on weekends.
    for d in [
        date!(2026 - 01 - 01),
        date!(2026 - 02 - 16),
        date!(2026 - 02 - 23),
        date!(2026 - 04 - 06),
        date!(2026 - 05 - 05),
        date!(2026 - 06 - 19),
        date!(2026 - 09 - 25),
        date!(2026 - 10 - 07),
    ] {
        assert!(!cal.is_working_day(d), "{d} is a day off");
    }
    for d in [
        date!(2026 - 01 - 04),
        date!(2026 - 02 - 14),
        date!(2026 - 02 - 28),
        date!(2026 - 05 - 09),
        date!(2026 - 09 - 20),
        date!(2026 - 10 - 10),
    ] {
        assert!(cal.is_working_day(d), "{d} is a make-up day");
    }
    assert!(cal.is_working_day(date!(2026 - 03 - 10)));
    assert!(!cal.is_working_day(date!(2026 - 03 - 14)));
    // 2026: 261 weekdays, 19 of them off, 6 make-up days.
    assert_eq!(
        working_days_between(&cal, date!(2025 - 12 - 31), date!(2026 - 12 - 31)),
        261 - 19 + 6
    );
}

#[test]
fn spec_round_trips_with_string_dates() {
    let cal = cal();
    let json = serde_json::to_string(&cal).unwrap();
    assert!(
        json.contains(r#""off":["2026-02-15","2026-02-23"]"#),
        "{json}"
    );
    assert!(
        json.contains(r#""makeup":["2026-09-20","2026-10-10"]"#),
        "{json}"
    );
    let back: WorkingCalendar = serde_json::from_str(&json).unwrap();
    assert_eq!(back, cal);
}

#[test]
fn unknown_fields_and_bad_dates_are_refused() {
    let extra = r#"{"years": [], "comment": "x"}"#;
    assert_eq!(
        WorkingCalendar::from_json(extra).unwrap_err().code(),
        "calendar.parse"
    );
    let bad = r#"{"years": [{"year": 2026, "source": "s", "holidays": [
            {"name": "x", "off": ["2026-1-1", "2026-01-02"], "makeup": []}]}]}"#;
    assert_eq!(
        WorkingCalendar::from_json(bad).unwrap_err().code(),
        "calendar.parse"
    );
    // Deserialising a calendar validates it.
    let inverted = r#"{"years": [{"year": 2026, "source": "s", "holidays": [
            {"name": "x", "off": ["2026-01-03", "2026-01-02"], "makeup": []}]}]}"#;
    assert!(serde_json::from_str::<WorkingCalendar>(inverted).is_err());
}

// --- local dates and due instants ---

#[test]
fn local_date_at_2330_utc_is_the_next_day() {
    assert_eq!(
        local_date(datetime!(2025-12-31 23:30 UTC)),
        date!(2026 - 01 - 01)
    );
    assert_eq!(
        local_date(datetime!(2026-01-01 15:59 UTC)),
        date!(2026 - 01 - 01)
    );
}

#[test]
fn due_at_the_end_of_the_due_day() {
    let d = due(date!(2026 - 03 - 16));
    assert_eq!(d.due_instant(), Some(datetime!(2026-03-17 00:00 +8)));
    assert!(!d.is_overdue(datetime!(2026-03-16 15:59:59 UTC)));
    assert!(d.is_overdue(datetime!(2026-03-16 16:00 UTC)));
    let paused = Deadline::Paused {
        counted: 1,
        remaining: 2,
    };
    assert_eq!(paused.due_instant(), None);
    assert!(!paused.is_overdue(datetime!(2100-01-01 00:00 UTC)));
    let last = due(Date::MAX);
    assert_eq!(last.due_instant(), None);
}

#[test]
fn deadline_serialises_with_a_state_tag() {
    let json = serde_json::to_string(&due(date!(2026 - 03 - 16))).unwrap();
    assert_eq!(
        json,
        r#"{"state":"due","date":"2026-03-16","provisional":false}"#
    );
    let back: Deadline = serde_json::from_str(&json).unwrap();
    assert_eq!(back, due(date!(2026 - 03 - 16)));
}

// --- counting without suspensions ---

#[test]
fn ordinary_week() {
    let cal = cal();
    // Accepted Mon 03-09: Tue 10 (1), Wed 11 (2), Thu 12 (3), Fri 13 (4), Mon 16 (5).
    assert_eq!(
        deadline(&cal, at(date!(2026 - 03 - 09)), 5, &[]),
        Ok(due(date!(2026 - 03 - 16)))
    );
    // Accepted Fri 03-13: the weekend is skipped, Mon 16 (1).
    assert_eq!(
        deadline(&cal, at(date!(2026 - 03 - 13)), 1, &[]),
        Ok(due(date!(2026 - 03 - 16)))
    );
}

#[test]
fn crossing_new_year_counts_the_sunday_makeup_day() {
    let cal = cal();
    // Accepted Wed 2025-12-31 (not counted, and 2025 is never examined): Jan 1–3 off,
    // Sun Jan 4 make-up (1), Mon 5 (2), Tue 6 (3).
    assert_eq!(
        deadline(&cal, at(date!(2025 - 12 - 31)), 1, &[]),
        Ok(due(date!(2026 - 01 - 04)))
    );
    assert_eq!(
        deadline(&cal, at(date!(2025 - 12 - 31)), 3, &[]),
        Ok(due(date!(2026 - 01 - 06)))
    );
}

#[test]
fn crossing_spring_festival() {
    let cal = cal();
    // Accepted Thu 02-12: Fri 13 (1), Sat 14 make-up (2), Feb 15–23 off, Tue 24 (3),
    // Wed 25 (4), Thu 26 (5).
    assert_eq!(
        deadline(&cal, at(date!(2026 - 02 - 12)), 5, &[]),
        Ok(due(date!(2026 - 02 - 26)))
    );
    // … Fri 27 (6), Sat 28 make-up (7).
    assert_eq!(
        deadline(&cal, at(date!(2026 - 02 - 12)), 7, &[]),
        Ok(due(date!(2026 - 02 - 28)))
    );
}

#[test]
fn crossing_national_day() {
    let cal = cal();
    // Accepted Mon 09-28: Tue 29 (1), Wed 30 (2), Oct 1–7 off, Thu Oct 8 (3).
    assert_eq!(
        deadline(&cal, at(date!(2026 - 09 - 28)), 3, &[]),
        Ok(due(date!(2026 - 10 - 08)))
    );
    // … Fri Oct 9 (4), Sat Oct 10 make-up (5).
    assert_eq!(
        deadline(&cal, at(date!(2026 - 09 - 28)), 5, &[]),
        Ok(due(date!(2026 - 10 - 10)))
    );
    // Accepted Thu 09-17: Fri 18 (1), Sun 20 make-up (2), Mon 21 (3).
    assert_eq!(
        deadline(&cal, at(date!(2026 - 09 - 17)), 3, &[]),
        Ok(due(date!(2026 - 09 - 21)))
    );
}

#[test]
fn acceptance_on_a_weekend_or_holiday() {
    let cal = cal();
    // Accepted Sat 03-14: Mon 16 (1).
    assert_eq!(
        deadline(&cal, at(date!(2026 - 03 - 14)), 1, &[]),
        Ok(due(date!(2026 - 03 - 16)))
    );
    // Accepted Sat 10-03 (National Day): Oct 4–7 off, Thu Oct 8 (1).
    assert_eq!(
        deadline(&cal, at(date!(2026 - 10 - 03)), 1, &[]),
        Ok(due(date!(2026 - 10 - 08)))
    );
    // Accepted on the make-up Sat 02-14 itself: it is not counted; Feb 15–23 off, Tue 24 (1).
    assert_eq!(
        deadline(&cal, at(date!(2026 - 02 - 14)), 1, &[]),
        Ok(due(date!(2026 - 02 - 24)))
    );
}

#[test]
fn zero_days_is_due_on_the_acceptance_day() {
    let cal = cal();
    assert_eq!(
        deadline(&cal, at(date!(2026 - 03 - 14)), 0, &[]),
        Ok(due(date!(2026 - 03 - 14)))
    );
    assert_eq!(
        cal.working_day_after(date!(2026 - 03 - 14), 0),
        date!(2026 - 03 - 14)
    );
}

#[test]
fn acceptance_late_at_night_utc_counts_from_the_local_date() {
    let cal = cal();
    // Thu 03-12 16:30 UTC is Fri 03-13 00:30 in China: Mon 16 (1), not Fri 13.
    assert_eq!(
        deadline(&cal, datetime!(2026-03-12 16:30 UTC), 1, &[]),
        Ok(due(date!(2026 - 03 - 16)))
    );
}

#[test]
fn crossing_into_an_uncovered_year_is_provisional() {
    let cal = cal();
    // Accepted Wed 2026-12-30: Thu 31 (1), Fri 2027-01-01 (2: weekend rule only — the
    // real 2027 notice will make it a day off), Mon Jan 4 (3).
    assert_eq!(
        deadline(&cal, at(date!(2026 - 12 - 30)), 3, &[]),
        Ok(Deadline::Due {
            date: date!(2027 - 01 - 04),
            provisional: true
        })
    );
    // Accepted Tue 2025-12-30: Wed 2025-12-31 (1, uncovered), Sun Jan 4 (2).
    assert_eq!(
        deadline(&cal, at(date!(2025 - 12 - 30)), 2, &[]),
        Ok(Deadline::Due {
            date: date!(2026 - 01 - 04),
            provisional: true
        })
    );
    // The empty calendar makes every count provisional.
    assert_eq!(
        deadline(&WorkingCalendar::empty(), at(date!(2026 - 03 - 09)), 1, &[]),
        Ok(Deadline::Due {
            date: date!(2026 - 03 - 10),
            provisional: true
        })
    );
}

// --- suspensions ---

#[test]
fn closed_suspension_spanning_spring_festival() {
    let cal = cal();
    // Without it, accepted Mon 02-09 + 5: Tue 10, Wed 11, Thu 12, Fri 13, Sat 14 make-up.
    assert_eq!(
        deadline(&cal, at(date!(2026 - 02 - 09)), 5, &[]),
        Ok(due(date!(2026 - 02 - 14)))
    );
    // Suspended Wed 02-11 15:00, resumed Wed 02-25 09:00: Tue 10 (1), Wed 11 (2, the
    // suspension day counts), Feb 12–25 stopped (the resumption day does not count),
    // Thu 26 (3), Fri 27 (4), Sat 28 make-up (5).
    let s = suspended(
        datetime!(2026-02-11 15:00 +8),
        Some(datetime!(2026-02-25 09:00 +8)),
    );
    assert_eq!(
        deadline(&cal, at(date!(2026 - 02 - 09)), 5, &[s]),
        Ok(due(date!(2026 - 02 - 28)))
    );
}

#[test]
fn same_day_suspension_costs_nothing() {
    let cal = cal();
    let s = suspended(
        datetime!(2026-03-10 09:00 +8),
        Some(datetime!(2026-03-10 16:00 +8)),
    );
    assert_eq!(
        deadline(&cal, at(date!(2026 - 03 - 09)), 5, &[s]),
        Ok(due(date!(2026 - 03 - 16)))
    );
    // Two touching suspensions on the same day are fine too.
    let t = suspended(datetime!(2026-03-10 16:00 +8), None);
    assert_eq!(
        deadline(&cal, at(date!(2026 - 03 - 09)), 5, &[t, s]),
        Ok(Deadline::Paused {
            counted: 1,
            remaining: 4
        })
    );
}

#[test]
fn open_suspension_pauses_the_clock() {
    let cal = cal();
    // Accepted Mon 03-09, suspended Wed 03-11: Tue 10 (1), Wed 11 (2), then stopped.
    let s = suspended(datetime!(2026-03-11 14:00 +8), None);
    assert_eq!(
        deadline(&cal, at(date!(2026 - 03 - 09)), 5, &[s]),
        Ok(Deadline::Paused {
            counted: 2,
            remaining: 3
        })
    );
    // Suspended on the acceptance day: nothing counted.
    let s = suspended(datetime!(2026-03-09 15:00 +8), None);
    assert_eq!(
        deadline(&cal, at(date!(2026 - 03 - 09)), 5, &[s]),
        Ok(Deadline::Paused {
            counted: 0,
            remaining: 5
        })
    );
}

#[test]
fn open_suspension_after_the_due_date_keeps_it() {
    let cal = cal();
    // Due Wed 03-11 (Tue 10, Wed 11); suspending on the due day or later changes nothing.
    for from in [
        datetime!(2026-03-11 17:00 +8),
        datetime!(2026-03-20 09:00 +8),
    ] {
        assert_eq!(
            deadline(&cal, at(date!(2026 - 03 - 09)), 2, &[suspended(from, None)]),
            Ok(due(date!(2026 - 03 - 11)))
        );
    }
}

#[test]
fn resumption_then_open_suspension() {
    let cal = cal();
    // Accepted Mon 03-09 + 10. Suspended Tue 10 → resumed Thu 12: Tue 10 (1), Wed 11 and
    // Thu 12 stopped, Fri 13 (2), Mon 16 (3), Tue 17 (4, suspended again that day), stop.
    let a = suspended(
        datetime!(2026-03-10 11:00 +8),
        Some(datetime!(2026-03-12 11:00 +8)),
    );
    let b = suspended(datetime!(2026-03-17 11:00 +8), None);
    assert_eq!(
        deadline(&cal, at(date!(2026 - 03 - 09)), 10, &[b, a]),
        Ok(Deadline::Paused {
            counted: 4,
            remaining: 6
        })
    );
}

mod errors;
mod properties;

#[test]
fn next_years_arrangement_is_asked_for_from_november_on() {
    let cal = cal();
    // 2026 is covered; 2027 is not yet.
    assert_eq!(cal.missing_year(date!(2026 - 06 - 30)), None);
    assert_eq!(cal.missing_year(date!(2026 - 10 - 31)), None);
    assert_eq!(cal.missing_year(date!(2026 - 11 - 01)), Some(2027));
    assert_eq!(cal.missing_year(date!(2026 - 12 - 31)), Some(2027));
    // A year not covered at all is missing from its first day.
    assert_eq!(cal.missing_year(date!(2027 - 01 - 01)), Some(2027));
    assert_eq!(
        WorkingCalendar::empty().missing_year(date!(2026 - 03 - 01)),
        Some(2026)
    );
}
