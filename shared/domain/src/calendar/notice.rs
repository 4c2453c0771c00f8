//! One year's holiday arrangement as a district clerk types it from the State Council notice:
//! one holiday per line, `名称 起始日 至 结束日 [上班 日期 …]`, e.g.
//! `春节 2月15日至23日 2月14日、2月28日上班` or `春节 2026-02-15 至 2026-02-23 上班 2026-02-14 2026-02-28`.
//! Owns reading that text into a [`YearSpec`], writing a year back as that text, and the checks
//! a year must pass before the district saves it (the page and the JSON API share them).
//!
//! Decision on weekends: a holiday's days off run as the notice writes them, so Saturdays and
//! Sundays inside a period are normal (the notice counts them). A period whose every day is a
//! Saturday or Sunday changes no working day and is refused as a probable typing error, like a
//! make-up working day on Monday–Friday.

use std::collections::{BTreeMap, BTreeSet};

use time::{Date, Month, Weekday};

use super::{HolidaySpec, YearSpec, weekday_zh};
use crate::Bilingual;

/// The first and last years the district may author.
pub const YEARS: std::ops::RangeInclusive<i32> = 2000..=2100;
/// The longest notice title kept as a year's source.
pub const MAX_SOURCE: usize = 200;
/// The longest holiday name.
pub const MAX_NAME: usize = 20;
/// The most holidays one year may list.
pub const MAX_HOLIDAYS: usize = 30;

/// Where in the input a problem is: a line of the typed text, or the n-th holiday of a JSON
/// request (both counted from 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum At {
    Line(usize),
    Holiday(usize),
}

impl At {
    fn zh(self) -> String {
        match self {
            At::Line(n) => format!("第{n}行"),
            At::Holiday(n) => format!("第{n}个节假日"),
        }
    }

    fn en(self) -> String {
        match self {
            At::Line(n) => format!("line {n}"),
            At::Holiday(n) => format!("holiday {n}"),
        }
    }
}

/// Why a year's arrangement is refused. Each names its form field ([`NoticeError::field`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoticeError {
    #[error("the year must be a number from {} to {}", YEARS.start(), YEARS.end())]
    Year,
    #[error("the source is longer than {MAX_SOURCE} characters")]
    SourceTooLong,
    #[error("list at least one holiday")]
    NoHolidays,
    #[error("more than {MAX_HOLIDAYS} holidays")]
    TooManyHolidays,
    #[error("{}: cannot read {text:?}; write `name first-day to last-day [上班 date …]`", at.en())]
    Unreadable { at: At, text: String },
    #[error("{}: {text:?} is not a date", at.en())]
    BadDate { at: At, text: String },
    #[error("{}: the holiday has no name", at.en())]
    NoName { at: At },
    #[error("{}: the holiday name is longer than {MAX_NAME} characters", at.en())]
    NameTooLong { at: At },
    #[error("{}: {name} is listed twice", at.en())]
    DuplicateName { at: At, name: String },
    #[error("{}: no day off", at.en())]
    NoDayOff { at: At },
    #[error("{}: {date} is not in {year}", at.en())]
    OutsideYear { at: At, date: Date, year: i32 },
    #[error("{}: the first day off {first} is after the last {last}", at.en())]
    Inverted { at: At, first: Date, last: Date },
    #[error("{}: every day off from {first} to {last} is a Saturday or Sunday; nothing changes", at.en())]
    WeekendOnly { at: At, first: Date, last: Date },
    #[error("{}: make-up working day {date} is a {weekday}, already a working day", at.en())]
    MakeupOnWeekday {
        at: At,
        date: Date,
        weekday: Weekday,
    },
    #[error("{}: {date} is both a day off and a make-up working day", at.en())]
    BothLists { at: At, date: Date },
    #[error("{}: {date} is already a day off of another holiday", at.en())]
    OffTwice { at: At, date: Date },
}

impl NoticeError {
    /// The form field the problem is about: `year`, `source` or `holidays`.
    pub fn field(&self) -> &'static str {
        match self {
            NoticeError::Year => "year",
            NoticeError::SourceTooLong => "source",
            _ => "holidays",
        }
    }

    /// The line (or holiday) the problem is on, when it is on one.
    pub fn at(&self) -> Option<At> {
        use NoticeError as E;
        match self {
            E::Year | E::SourceTooLong | E::NoHolidays | E::TooManyHolidays => None,
            E::Unreadable { at, .. }
            | E::BadDate { at, .. }
            | E::NoName { at }
            | E::NameTooLong { at }
            | E::DuplicateName { at, .. }
            | E::NoDayOff { at }
            | E::OutsideYear { at, .. }
            | E::Inverted { at, .. }
            | E::WeekendOnly { at, .. }
            | E::MakeupOnWeekday { at, .. }
            | E::BothLists { at, .. }
            | E::OffTwice { at, .. } => Some(*at),
        }
    }
}

impl Bilingual for NoticeError {
    fn code(&self) -> &'static str {
        use NoticeError as E;
        match self {
            E::Year => "calendar.year",
            E::SourceTooLong => "calendar.source_too_long",
            E::NoHolidays => "calendar.no_holidays",
            E::TooManyHolidays => "calendar.too_many_holidays",
            E::Unreadable { .. } => "calendar.unreadable_line",
            E::BadDate { .. } => "calendar.bad_date",
            E::NoName { .. } => "calendar.no_name",
            E::NameTooLong { .. } => "calendar.name_too_long",
            E::DuplicateName { .. } => "calendar.duplicate_name",
            E::NoDayOff { .. } => "calendar.no_day_off",
            E::OutsideYear { .. } => "calendar.outside_year",
            E::Inverted { .. } => "calendar.inverted_range",
            E::WeekendOnly { .. } => "calendar.weekend_only",
            E::MakeupOnWeekday { .. } => "calendar.makeup_on_weekday",
            E::BothLists { .. } => "calendar.conflict",
            E::OffTwice { .. } => "calendar.off_twice",
        }
    }

    fn message_zh(&self) -> String {
        use NoticeError as E;
        let line = |at: &At| at.zh();
        match self {
            E::Year => format!("年度应为 {} 至 {} 之间的数字", YEARS.start(), YEARS.end()),
            E::SourceTooLong => format!("文件名称不能超过 {MAX_SOURCE} 个字"),
            E::NoHolidays => "请至少填写一个节假日（每行一个）".to_owned(),
            E::TooManyHolidays => format!("一年最多填写 {MAX_HOLIDAYS} 个节假日"),
            E::Unreadable { at, text } => format!(
                "{}无法识别“{text}”：请按“名称 起始日 至 结束日 上班 日期…”填写，如“春节 2月15日至23日 2月14日、2月28日上班”",
                line(at)
            ),
            E::BadDate { at, text } => format!("{}的“{text}”不是有效日期", line(at)),
            E::NoName { at } => format!("{}缺少节日名称（如“春节”）", line(at)),
            E::NameTooLong { at } => format!("{}的节日名称不能超过 {MAX_NAME} 个字", line(at)),
            E::DuplicateName { at, name } => format!("{}：“{name}”重复填写", line(at)),
            E::NoDayOff { at } => format!("{}缺少放假日期", line(at)),
            E::OutsideYear { at, date, year } => {
                format!("{}的日期 {date} 不属于{year}年", line(at))
            }
            E::Inverted { at, first, last } => {
                format!("{}的放假起始日 {first} 晚于结束日 {last}", line(at))
            }
            E::WeekendOnly { at, first, last } => format!(
                "{}的放假日期 {first} 至 {last} 都是周六或周日，本就不上班，请核对",
                line(at)
            ),
            E::MakeupOnWeekday { at, date, weekday } => format!(
                "{}的调休上班日 {date} 是{}，本就是工作日；调休上班日应为周六或周日",
                line(at),
                weekday_zh(*weekday)
            ),
            E::BothLists { at, date } => {
                format!("{}：{date} 既是放假日又是调休上班日", line(at))
            }
            E::OffTwice { at, date } => {
                format!("{}：{date} 已在另一个节假日中放假", line(at))
            }
        }
    }
}

/// Reads a year's arrangement from the form: the year, the notice's title (optional: a default
/// names the notice) and the holidays, one per line. Blank lines and lines starting with `#`
/// are skipped. The result has passed [`check_year`].
pub fn parse_year(year: &str, source: &str, holidays: &str) -> Result<YearSpec, NoticeError> {
    let year: i32 = year.trim().parse().map_err(|_| NoticeError::Year)?;
    if !YEARS.contains(&year) {
        return Err(NoticeError::Year);
    }
    let source = match source.trim() {
        "" => default_source(year),
        s => s.to_owned(),
    };
    let mut parsed = Vec::new();
    let mut lines = Vec::new();
    for (i, text) in holidays.lines().enumerate() {
        let text = text.trim();
        if text.is_empty() || text.starts_with('#') {
            continue;
        }
        let at = At::Line(i + 1);
        parsed.push(parse_line(year, at, text)?);
        lines.push(at);
    }
    let spec = YearSpec {
        year,
        source,
        holidays: parsed,
    };
    check_with(&spec, |i| {
        lines.get(i).copied().unwrap_or(At::Holiday(i + 1))
    })?;
    Ok(spec)
}

/// The source a year gets when the clerk leaves it empty.
pub fn default_source(year: i32) -> String {
    format!("国务院办公厅关于{year}年部分节假日安排的通知")
}

/// Checks a year's arrangement (from the JSON API): see the module's rules.
pub fn check_year(spec: &YearSpec) -> Result<(), NoticeError> {
    check_with(spec, |i| At::Holiday(i + 1))
}

fn check_with(spec: &YearSpec, at: impl Fn(usize) -> At) -> Result<(), NoticeError> {
    if !YEARS.contains(&spec.year) {
        return Err(NoticeError::Year);
    }
    if spec.source.chars().count() > MAX_SOURCE {
        return Err(NoticeError::SourceTooLong);
    }
    if spec.holidays.is_empty() {
        return Err(NoticeError::NoHolidays);
    }
    if spec.holidays.len() > MAX_HOLIDAYS {
        return Err(NoticeError::TooManyHolidays);
    }
    let mut names = BTreeSet::new();
    let mut off = BTreeSet::new();
    let mut makeup = BTreeSet::new();
    for (i, h) in spec.holidays.iter().enumerate() {
        let at = at(i);
        let name = h.name.trim();
        if name.is_empty() {
            return Err(NoticeError::NoName { at });
        }
        if name.chars().count() > MAX_NAME {
            return Err(NoticeError::NameTooLong { at });
        }
        if !names.insert(name.to_owned()) {
            return Err(NoticeError::DuplicateName {
                at,
                name: name.to_owned(),
            });
        }
        if let Some(&date) = h
            .off
            .iter()
            .chain(&h.makeup)
            .find(|d| d.year() != spec.year)
        {
            return Err(NoticeError::OutsideYear {
                at,
                date,
                year: spec.year,
            });
        }
        let [first, last] = h.off;
        if first > last {
            return Err(NoticeError::Inverted { at, first, last });
        }
        let days = days_of(first, last);
        if days.iter().all(|d| !super::is_weekday(*d)) {
            return Err(NoticeError::WeekendOnly { at, first, last });
        }
        for &date in &h.makeup {
            if super::is_weekday(date) {
                return Err(NoticeError::MakeupOnWeekday {
                    at,
                    date,
                    weekday: date.weekday(),
                });
            }
        }
        for &date in &days {
            if makeup.contains(&date) || h.makeup.contains(&date) {
                return Err(NoticeError::BothLists { at, date });
            }
            if !off.insert(date) {
                return Err(NoticeError::OffTwice { at, date });
            }
        }
        for &date in &h.makeup {
            if off.contains(&date) {
                return Err(NoticeError::BothLists { at, date });
            }
            makeup.insert(date);
        }
    }
    Ok(())
}

/// The days from `first` to `last`, both included (both in one year: at most 366).
fn days_of(first: Date, last: Date) -> Vec<Date> {
    let mut days = Vec::new();
    let mut day = first;
    while day <= last {
        days.push(day);
        match day.next_day() {
            Some(next) => day = next,
            None => break,
        }
    }
    days
}

/// Writes a year's holidays back as the form's text, one line each.
pub fn format_holidays(spec: &YearSpec) -> String {
    spec.holidays
        .iter()
        .map(format_holiday)
        .collect::<Vec<_>>()
        .join("\n")
}

/// One holiday as a line: `春节 2026-02-15 至 2026-02-23 上班 2026-02-14 2026-02-28`.
pub fn format_holiday(h: &HolidaySpec) -> String {
    let [first, last] = h.off;
    let mut line = if first == last {
        format!("{} {first}", h.name)
    } else {
        format!("{} {first} 至 {last}", h.name)
    };
    if !h.makeup.is_empty() {
        line.push_str(" 上班");
        for d in &h.makeup {
            line.push_str(&format!(" {d}"));
        }
    }
    line
}

/// A year's days as the audit shows them: the source and each holiday by name, so that a
/// change reads field by field (`春节: … → …`).
pub fn year_days(spec: &YearSpec) -> BTreeMap<String, String> {
    let mut days = BTreeMap::new();
    days.insert("source".to_owned(), spec.source.clone());
    for h in &spec.holidays {
        let line = format_holiday(h);
        let rest = line
            .strip_prefix(h.name.as_str())
            .map_or(line.as_str(), str::trim);
        days.insert(h.name.clone(), rest.to_owned());
    }
    days
}

/// Words of the notice that carry no date and are skipped.
fn is_filler(token: &str) -> bool {
    matches!(
        token,
        "放假"
            | "调休"
            | "放假调休"
            | "休息"
            | "休假"
            | "上班"
            | "补班"
            | "调休上班"
            | "周六"
            | "周日"
            | "星期六"
            | "星期日"
            | "星期天"
            | "周末"
    ) || (token.starts_with('共') && token.ends_with('天'))
}

fn is_range(token: &str) -> bool {
    matches!(token, "至" | "到" | "~" | "～" | "—" | "–" | "--" | "——")
}

/// Reads one line: a name, the first day off, optionally a range marker and the last day off,
/// then the make-up working days; filler words of the notice are skipped.
fn parse_line(year: i32, at: At, text: &str) -> Result<HolidaySpec, NoticeError> {
    // Remarks in brackets (`（周六）`, `(农历腊月二十八)`) and punctuation go; range markers
    // become tokens of their own.
    let mut clean = String::with_capacity(text.len());
    let mut depth = 0usize;
    for c in text.chars() {
        match c {
            '(' | '（' | '[' | '【' => depth += 1,
            ')' | '）' | ']' | '】' => depth = depth.saturating_sub(1),
            _ if depth > 0 => {}
            '，' | ',' | '、' | '；' | ';' | '。' | '：' | ':' | '\t' | '\u{3000}' => {
                clean.push(' ')
            }
            '至' | '到' | '~' | '～' | '—' | '–' => {
                clean.push(' ');
                clean.push(c);
                clean.push(' ');
            }
            _ => clean.push(c),
        }
    }
    // Words of the notice typed against a date (`2月14日上班`) stand apart.
    for word in ["上班", "补班", "放假", "调休"] {
        clean = clean.replace(word, &format!(" {word} "));
    }
    let mut tokens: Vec<String> = clean.split_whitespace().map(str::to_owned).collect();
    // A name typed against its first date (`春节2月15日`): split it off.
    if let Some(first) = tokens.first().cloned()
        && !starts_with_digit(&first)
        && let Some(pos) = first.find(|c: char| c.is_ascii_digit())
    {
        tokens[0] = first[..pos].to_owned();
        tokens.insert(1, first[pos..].to_owned());
    }
    // Leading numbering of the notice (`一`, `1.`) is not a name.
    let mut iter = tokens.into_iter().peekable();
    while let Some(t) = iter.peek() {
        let numbering = t.chars().all(|c| "一二三四五六七八九十".contains(c))
            || (t.chars().all(|c| c.is_ascii_digit() || c == '.') && t.ends_with('.'));
        if numbering && !t.is_empty() {
            iter.next();
        } else {
            break;
        }
    }
    let mut name_parts = Vec::new();
    while let Some(t) = iter.peek() {
        if starts_with_digit(t) || is_range(t) {
            break;
        }
        if !is_filler(t) {
            if !name_parts.is_empty() {
                // One name only: a second word before the first date is not understood.
                return Err(NoticeError::Unreadable {
                    at,
                    text: t.clone(),
                });
            }
            name_parts.push(t.clone());
        }
        iter.next();
    }
    let name = name_parts.concat();
    if name.is_empty() {
        return Err(NoticeError::NoName { at });
    }
    let mut first: Option<Date> = None;
    let mut last: Option<Date> = None;
    let mut range_open = false;
    let mut makeup = Vec::new();
    for token in iter {
        if is_filler(&token) {
            continue;
        }
        if is_range(&token) {
            if first.is_none() || last.is_some() || range_open || !makeup.is_empty() {
                return Err(NoticeError::Unreadable { at, text: token });
            }
            range_open = true;
            continue;
        }
        if !starts_with_digit(&token) {
            return Err(NoticeError::Unreadable { at, text: token });
        }
        let prev = if range_open { first } else { None };
        let date = parse_date(&token, year, prev).ok_or_else(|| NoticeError::BadDate {
            at,
            text: token.clone(),
        })?;
        match (first, range_open) {
            (None, _) => first = Some(date),
            (Some(_), true) => {
                last = Some(date);
                range_open = false;
            }
            (Some(_), false) => makeup.push(date),
        }
    }
    if range_open {
        return Err(NoticeError::Unreadable {
            at,
            text: text.to_owned(),
        });
    }
    let first = first.ok_or(NoticeError::NoDayOff { at })?;
    let last = last.unwrap_or(first);
    Ok(HolidaySpec {
        name,
        off: [first, last],
        makeup,
    })
}

fn starts_with_digit(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_digit())
}

/// A date as typed: `2026-02-15`, `2026/2/15`, `2026.2.15`, `2026年2月15日`, `2-15`, `2月15日`,
/// or, after a range marker, a day alone (`23日`, in the month of `prev`).
fn parse_date(token: &str, year: i32, prev: Option<Date>) -> Option<Date> {
    let token = token.trim_end_matches(['日', '号']);
    let parts: Vec<&str> = token.split(['-', '/', '.', '年', '月']).collect();
    if parts
        .iter()
        .any(|p| p.is_empty() || !p.chars().all(|c| c.is_ascii_digit()) || p.len() > 4)
    {
        return None;
    }
    let num = |s: &str| s.parse::<i32>().ok();
    let (y, m, d) = match parts.as_slice() {
        [y, m, d] if y.len() == 4 => (num(y)?, num(m)?, num(d)?),
        [m, d] => (year, num(m)?, num(d)?),
        [d] => {
            let prev = prev?;
            (prev.year(), i32::from(u8::from(prev.month())), num(d)?)
        }
        _ => return None,
    };
    let month = Month::try_from(u8::try_from(m).ok()?).ok()?;
    Date::from_calendar_date(y, month, u8::try_from(d).ok()?).ok()
}

#[cfg(test)]
mod tests;
