use super::*;

// --- errors ---

fn spec(holidays: Vec<HolidaySpec>) -> CalendarSpec {
    CalendarSpec {
        years: vec![YearSpec {
            year: 2026,
            source: "test".to_owned(),
            holidays,
        }],
    }
}

fn holiday(off: [Date; 2], makeup: Vec<Date>) -> HolidaySpec {
    HolidaySpec {
        name: "test".to_owned(),
        off,
        makeup,
    }
}

fn code_of(spec: &CalendarSpec) -> &'static str {
    WorkingCalendar::from_spec(spec).unwrap_err().code()
}

#[test]
fn invalid_specs_are_refused() {
    let inverted = spec(vec![holiday(
        [date!(2026 - 01 - 03), date!(2026 - 01 - 01)],
        vec![],
    )]);
    assert_eq!(code_of(&inverted), "calendar.inverted_range");

    let outside = spec(vec![holiday(
        [date!(2026 - 12 - 31), date!(2027 - 01 - 01)],
        vec![],
    )]);
    assert_eq!(code_of(&outside), "calendar.outside_year");
    let outside_makeup = spec(vec![holiday(
        [date!(2026 - 01 - 01), date!(2026 - 01 - 01)],
        vec![date!(2025 - 12 - 28)],
    )]);
    assert_eq!(code_of(&outside_makeup), "calendar.outside_year");

    // Sat 01-03 off in one holiday, make-up in another.
    let conflict = spec(vec![
        holiday([date!(2026 - 01 - 01), date!(2026 - 01 - 03)], vec![]),
        holiday(
            [date!(2026 - 02 - 16), date!(2026 - 02 - 16)],
            vec![date!(2026 - 01 - 03)],
        ),
    ]);
    assert_eq!(code_of(&conflict), "calendar.conflict");

    let mut twice = spec(vec![]);
    twice.years.push(twice.years[0].clone());
    assert_eq!(code_of(&twice), "calendar.duplicate_year");

    // Mon 01-05 is already a working day.
    let weekday = spec(vec![holiday(
        [date!(2026 - 01 - 01), date!(2026 - 01 - 02)],
        vec![date!(2026 - 01 - 05)],
    )]);
    let err = WorkingCalendar::from_spec(&weekday).unwrap_err();
    assert_eq!(err.code(), "calendar.makeup_on_weekday");
    assert!(err.message_zh().contains("星期一"), "{}", err.message_zh());
}

#[test]
fn invalid_suspensions_are_refused() {
    let cal = cal();
    let accepted = at(date!(2026 - 03 - 09));
    let inverted = suspended(
        datetime!(2026-03-11 10:00 +8),
        Some(datetime!(2026-03-10 10:00 +8)),
    );
    let err = deadline(&cal, accepted, 5, &[inverted]).unwrap_err();
    assert_eq!(err.code(), "calendar.suspension_inverted");
    assert!(err.message_zh().contains("2026-03-10 10:00"));

    let a = suspended(
        datetime!(2026-03-10 10:00 +8),
        Some(datetime!(2026-03-12 10:00 +8)),
    );
    let b = suspended(
        datetime!(2026-03-11 10:00 +8),
        Some(datetime!(2026-03-13 10:00 +8)),
    );
    assert_eq!(
        deadline(&cal, accepted, 5, &[b, a]),
        Err(CalendarError::SuspensionsOverlap {
            first: 0,
            second: 1
        })
    );
    // Anything after an open suspension overlaps it.
    let open = suspended(datetime!(2026-03-10 10:00 +8), None);
    let later = suspended(
        datetime!(2026-03-20 10:00 +8),
        Some(datetime!(2026-03-21 10:00 +8)),
    );
    assert_eq!(
        deadline(&cal, accepted, 5, &[open, later])
            .unwrap_err()
            .code(),
        "calendar.suspensions_overlap"
    );

    let early = suspended(datetime!(2026-03-09 09:00 +8), None);
    assert_eq!(
        deadline(&cal, accepted, 5, &[early]).unwrap_err().code(),
        "calendar.suspension_before_acceptance"
    );

    assert_eq!(
        deadline(&cal, accepted, MAX_WORKING_DAYS + 1, &[]),
        Err(CalendarError::TooManyWorkingDays {
            requested: MAX_WORKING_DAYS + 1,
            max: MAX_WORKING_DAYS
        })
    );
    assert!(deadline(&cal, accepted, MAX_WORKING_DAYS, &[]).is_ok());

    let edge = Date::MAX.midnight().assume_offset(CHINA_OFFSET);
    assert_eq!(deadline(&cal, edge, 1, &[]), Err(CalendarError::OutOfRange));
    assert_eq!(cal.working_day_after(Date::MAX, 1), Date::MAX);
}

#[test]
fn every_error_has_a_code_and_both_messages() {
    let t = datetime!(2026-03-09 10:00 +8);
    let errors = [
        CalendarError::Parse { detail: "x".into() },
        CalendarError::InvertedRange {
            year: 2026,
            name: "春节".into(),
            first: date!(2026 - 02 - 23),
            last: date!(2026 - 02 - 15),
        },
        CalendarError::OutsideYear {
            year: 2026,
            name: "元旦".into(),
            date: date!(2025 - 12 - 31),
        },
        CalendarError::Conflict {
            date: date!(2026 - 01 - 03),
        },
        CalendarError::DuplicateYear { year: 2026 },
        CalendarError::MakeupOnWeekday {
            date: date!(2026 - 01 - 05),
            weekday: Weekday::Monday,
        },
        CalendarError::SuspensionInverted {
            index: 0,
            from: t,
            until: t,
        },
        CalendarError::SuspensionsOverlap {
            first: 0,
            second: 1,
        },
        CalendarError::SuspensionBeforeAcceptance {
            index: 0,
            from: t,
            accepted: t,
        },
        CalendarError::TooManyWorkingDays {
            requested: 4000,
            max: MAX_WORKING_DAYS,
        },
        CalendarError::OutOfRange,
    ];
    let codes: BTreeSet<_> = errors.iter().map(Bilingual::code).collect();
    assert_eq!(codes.len(), errors.len());
    for e in &errors {
        assert!(e.code().starts_with("calendar."));
        assert!(!e.message_zh().is_empty());
        assert_eq!(e.message_en(), e.to_string());
    }
}

// --- working_days_between ---

#[test]
fn working_days_between_counts_days_late() {
    let cal = cal();
    // Due Thu 02-12, done Thu 02-26: Fri 13, Sat 14 make-up, Tue 24, Wed 25, Thu 26.
    assert_eq!(
        working_days_between(&cal, date!(2026 - 02 - 12), date!(2026 - 02 - 26)),
        5
    );
    assert_eq!(
        working_days_between(&cal, date!(2026 - 02 - 26), date!(2026 - 02 - 12)),
        -5
    );
    assert_eq!(
        working_days_between(&cal, date!(2026 - 02 - 16), date!(2026 - 02 - 16)),
        0
    );
    // Weekend to weekend across a week without holidays.
    assert_eq!(
        working_days_between(&cal, date!(2026 - 03 - 07), date!(2026 - 03 - 15)),
        5
    );
}
