use super::*;

// --- properties ---

fn any_instant() -> impl Strategy<Value = OffsetDateTime> {
    // 2016-01-01 to 2036-12-31, in offsets from -12:00 to +14:00.
    (1_451_606_400_i64..2_114_380_800, -12_i8..=14).prop_map(|(ts, hours)| {
        OffsetDateTime::from_unix_timestamp(ts)
            .unwrap()
            .to_offset(UtcOffset::from_hms(hours, 0, 0).unwrap())
    })
}

fn any_suspension() -> impl Strategy<Value = Suspension> {
    (any_instant(), proptest::option::of(-86_400_i64..40_000_000)).prop_map(|(from, len)| {
        Suspension {
            from,
            until: len.map(|secs| from + time::Duration::seconds(secs)),
        }
    })
}

proptest! {
    #[test]
    fn due_date_is_monotonic_in_working_days(
        accepted in any_instant(), a in 0_u32..800, b in 0_u32..800,
    ) {
        let cal = cal();
        let (lo, hi) = (a.min(b), a.max(b));
        let lo = deadline(&cal, accepted, lo, &[]).unwrap().due_date().unwrap();
        let hi = deadline(&cal, accepted, hi, &[]).unwrap().due_date().unwrap();
        prop_assert!(lo <= hi);
    }

    #[test]
    fn closed_suspension_never_brings_the_due_date_forward(
        accepted in any_instant(),
        n in 0_u32..400,
        delay in 0_i64..40_000_000,
        len in 0_i64..40_000_000,
    ) {
        let cal = cal();
        let from = accepted + time::Duration::seconds(delay);
        let s = Suspension { from, until: Some(from + time::Duration::seconds(len)) };
        let plain = deadline(&cal, accepted, n, &[]).unwrap().due_date().unwrap();
        let with = deadline(&cal, accepted, n, &[s]).unwrap().due_date().unwrap();
        prop_assert!(with >= plain);
    }

    #[test]
    fn due_date_is_a_working_day(
        accepted in any_instant(), n in 1_u32..800, s in proptest::option::of(any_suspension()),
    ) {
        let cal = cal();
        let suspensions: Vec<_> = s.into_iter().collect();
        if let Ok(Deadline::Due { date, .. }) = deadline(&cal, accepted, n, &suspensions) {
            prop_assert!(cal.is_working_day(date));
            prop_assert!(date > local_date(accepted));
        }
    }

    #[test]
    fn without_suspensions_deadline_agrees_with_working_day_after(
        accepted in any_instant(), n in 0_u32..800,
    ) {
        let cal = cal();
        let start = local_date(accepted);
        let expected = cal.working_day_after(start, n);
        let Deadline::Due { date, provisional } = deadline(&cal, accepted, n, &[]).unwrap()
        else {
            return Err(TestCaseError::fail("paused without suspensions"));
        };
        prop_assert_eq!(date, expected);
        // The examined dates are (start, date].
        let first_examined = start.next_day().unwrap();
        let touches_other_years = first_examined.year() != 2026 || date.year() != 2026;
        prop_assert_eq!(provisional, n > 0 && touches_other_years);
        if n > 0 {
            prop_assert_eq!(working_days_between(&cal, start, date), i64::from(n));
        }
    }

    #[test]
    fn working_days_between_is_antisymmetric_and_additive(
        a in any_instant(), b in any_instant(), c in any_instant(),
    ) {
        let cal = cal();
        let (a, b, c) = (local_date(a), local_date(b), local_date(c));
        let ab = working_days_between(&cal, a, b);
        prop_assert_eq!(ab, -working_days_between(&cal, b, a));
        prop_assert_eq!(
            ab + working_days_between(&cal, b, c),
            working_days_between(&cal, a, c)
        );
    }

    #[test]
    fn deadline_never_panics(
        accepted in any_instant(),
        n in 0_u32..5000,
        suspensions in proptest::collection::vec(any_suspension(), 0..4),
    ) {
        let cal = cal();
        match deadline(&cal, accepted, n, &suspensions) {
            Ok(Deadline::Paused { counted, remaining }) => {
                prop_assert_eq!(counted + remaining, n);
                prop_assert!(remaining > 0);
            }
            Ok(Deadline::Due { date, .. }) => prop_assert!(date >= local_date(accepted)),
            Err(e) => prop_assert!(e.code().starts_with("calendar.")),
        }
    }
}
