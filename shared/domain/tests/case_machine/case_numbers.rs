//! Case numbers.

use super::*;

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
