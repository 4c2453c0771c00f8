#![allow(clippy::unwrap_used)]
use super::*;
use time::macros::date;

const Y2026: &str = "元旦 1月1日至3日 1月4日上班\n\
    春节：2月15日（农历腊月二十八）至23日（农历正月初七）放假调休，共9天。2月14日（周六）、2月28日（周六）上班。\n\
    清明节 2026-04-04 至 2026-04-06\n\
    劳动节 5/1 ~ 5/5 上班 5/9\n\
    端午节 6-19 至 6-21\n\
    中秋节 2026年9月25日至2026年9月27日\n\
    # 国庆节与中秋节相连\n\
    七、国庆节 10月1日至7日 9月20日、10月10日上班";

#[test]
fn the_2026_notice_reads_as_typed_and_matches_the_shipped_calendar() {
    let spec = parse_year("2026", "", Y2026).unwrap();
    let shipped: super::super::CalendarSpec =
        serde_json::from_str(include_str!("../../../../../deploy/policy/calendar.json")).unwrap();
    assert_eq!(spec.holidays, shipped.years[0].holidays);
    assert_eq!(spec.source, default_source(2026));
    // Written back and read again: the same year.
    let again = parse_year("2026", &spec.source, &format_holidays(&spec)).unwrap();
    assert_eq!(again, spec);
    let days = year_days(&spec);
    assert_eq!(
        days["春节"],
        "2026-02-15 至 2026-02-23 上班 2026-02-14 2026-02-28"
    );
}

fn refused(year: &str, text: &str) -> NoticeError {
    parse_year(year, "", text).unwrap_err()
}

#[test]
fn a_bad_year_is_refused_on_the_year_field() {
    for y in ["", "二〇二七", "1999", "2101", "20270"] {
        let e = refused(y, "春节 2027-02-06 至 2027-02-14");
        assert_eq!((e.field(), e.code()), ("year", "calendar.year"), "{y}");
    }
    let long = "长".repeat(MAX_SOURCE + 1);
    let e = parse_year("2027", &long, "春节 2月6日至14日").unwrap_err();
    assert_eq!(e.field(), "source");
}

#[test]
fn an_unreadable_line_is_named() {
    let e = refused("2027", "元旦 1月1日\n\n春节 二月六日到十四日");
    assert_eq!(e.code(), "calendar.unreadable_line");
    assert_eq!(e.at(), Some(At::Line(3)), "blank lines count");
    assert!(e.message_zh().contains("二月六日"), "{}", e.message_zh());
    assert_eq!(refused("2027", "春节 放假").code(), "calendar.no_day_off");
    let e = refused("2027", "元旦 1月1日\n春节 2月6日 到 到 2月14日");
    assert_eq!(e.at(), Some(At::Line(2)));
    assert_eq!(e.code(), "calendar.unreadable_line");
    assert!(e.message_zh().starts_with("第2行"), "{}", e.message_zh());
    let e = refused("2027", "春节 2月6日至14日 加班");
    assert_eq!(e.code(), "calendar.unreadable_line");
    assert!(e.message_zh().contains("加班"));
    let e = refused("2027", "春节 2月6日至");
    assert_eq!(e.code(), "calendar.unreadable_line");
    let e = refused("2027", "2月6日至14日");
    assert_eq!(e.code(), "calendar.no_name");
    let e = refused("2027", "# only a comment\n");
    assert_eq!(e.code(), "calendar.no_holidays");
}

#[test]
fn an_impossible_date_is_named() {
    let e = refused("2027", "元旦 1月1日\n春节 2月30日");
    assert_eq!(e.code(), "calendar.bad_date");
    assert_eq!(e.at(), Some(At::Line(2)));
    assert!(e.message_zh().contains("2月30日"));
    assert_eq!(refused("2027", "春节 13-01").code(), "calendar.bad_date");
    assert_eq!(refused("2027", "春节 23日").code(), "calendar.bad_date");
}

#[test]
fn a_date_outside_the_year_is_refused() {
    let e = refused("2027", "春节 2026-02-15 至 2026-02-23");
    assert_eq!(
        e,
        NoticeError::OutsideYear {
            at: At::Line(1),
            date: date!(2026 - 02 - 15),
            year: 2027
        }
    );
    let e = refused("2027", "元旦 1月1日 2026-12-27 上班");
    assert_eq!(e.code(), "calendar.outside_year");
}

#[test]
fn an_inverted_period_is_refused() {
    let e = refused("2027", "春节 2月14日至2月6日");
    assert_eq!(e.code(), "calendar.inverted_range");
}

#[test]
fn a_period_of_weekend_days_only_is_refused_but_weekends_inside_a_period_are_fine() {
    // 2027-01-02 and 03 are Saturday and Sunday.
    let e = refused("2027", "元旦 1月2日至3日");
    assert_eq!(e.code(), "calendar.weekend_only");
    assert!(e.message_zh().contains("都是周六或周日"));
    assert!(parse_year("2027", "", "元旦 1月1日至3日").is_ok());
}

#[test]
fn a_make_up_day_on_a_weekday_is_refused() {
    // 2027-02-05 is a Friday.
    let e = refused("2027", "春节 2月6日至14日 2月5日上班");
    assert_eq!(
        e,
        NoticeError::MakeupOnWeekday {
            at: At::Line(1),
            date: date!(2027 - 02 - 05),
            weekday: Weekday::Friday
        }
    );
    assert!(e.message_zh().contains("星期五"));
}

#[test]
fn the_same_date_off_and_at_work_is_refused() {
    // 2027-02-06 is a Saturday: a make-up day of one holiday, a day off of another.
    let e = refused("2027", "春节 2月6日至14日\n某节 2月1日 2月6日上班");
    assert_eq!(e.code(), "calendar.conflict");
    assert_eq!(e.at(), Some(At::Line(2)));
    let e = refused("2027", "春节 2月6日至14日 2月6日上班");
    assert_eq!(e.code(), "calendar.conflict");
    let e = refused("2027", "春节 2月6日至14日\n另一节 2月8日");
    assert_eq!(e.code(), "calendar.off_twice");
    let e = refused("2027", "春节 2月6日至14日\n春节 10月1日");
    assert_eq!(e.code(), "calendar.duplicate_name");
}

#[test]
fn json_years_are_checked_by_holiday_number() {
    let mut spec = parse_year("2027", "", "元旦 1月1日\n春节 2月6日至14日").unwrap();
    assert!(check_year(&spec).is_ok());
    spec.holidays[1].makeup.push(date!(2027 - 02 - 05));
    let e = check_year(&spec).unwrap_err();
    assert_eq!(e.at(), Some(At::Holiday(2)));
    assert!(e.message_zh().starts_with("第2个节假日"));
    assert!(e.to_string().starts_with("holiday 2"));
}

#[test]
fn no_input_panics() {
    for junk in [
        "\u{0}",
        "春节 9999999999-1-1",
        "春节 1-1-1-1",
        "春节 ---",
        "春节 0-0",
        "（（（",
        "春节 1月1日 至 至",
        &"长".repeat(10_000),
        "春节 2月29日",
    ] {
        let _ = parse_year("2027", "", junk);
    }
}
