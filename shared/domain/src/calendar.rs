//! The working calendar and the promised-deadline clock.
//!
//! Owns which local dates (China Standard Time, +08:00) are working days, and how many working
//! days a case has used. The holiday table is policy data the district edits every November
//! (`deploy/policy/calendar.json`): this module must never hard-code a holiday, read a file or
//! look at the system clock — callers pass the calendar and "now" in.
//!
//! # Counting rules (a decision; other modules rely on them)
//!
//! * A working day is Monday–Friday unless listed as a day off, plus every listed make-up
//!   working day (调休). For a year the calendar does not cover, only the weekend rule applies.
//! * Administrative Licensing Law: the day a period starts is not counted. A deadline of `n`
//!   working days from acceptance is the `n`-th working day strictly after the acceptance date,
//!   and the case is due by the **end** of that day (the next day 00:00 +08:00 is overdue).
//!   `n = 0` (an immediate item, 即办件) is due by the end of the acceptance day itself.
//! * Suspensions (中止, special procedures) stop the clock. A suspension from local date `s` to
//!   resumption local date `r` covers the dates in `(s, r]`: the suspension day still counts (the
//!   clock ran for part of it) and the resumption day does not (the clock restarts the next day,
//!   symmetric with acceptance). Suspending and resuming on the same day therefore costs nothing.
//! * An open suspension covers every date after `s`. If fewer than `n` working days were counted
//!   before it, the deadline is [`Deadline::Paused`]; otherwise it is an ordinary
//!   [`Deadline::Due`] (the due date fell before or on the suspension day).
//! * A [`Deadline::Due`] is `provisional` when its counting depended on a date in a year the
//!   calendar does not cover (dates skipped because a suspension covered them do not count):
//!   the UI warns that next year's holiday notice is not loaded yet.

use std::collections::BTreeSet;
use std::ops::Bound;

use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime, UtcOffset, Weekday, macros::offset};

use crate::Bilingual;

/// China Standard Time. Every calendar date in Bangban is a local date in this offset.
pub const CHINA_OFFSET: UtcOffset = offset!(+8);

/// The largest promised or statutory time limit [`deadline`] accepts, in working days (about
/// fourteen years). Anything above is a data-entry error, not a time limit.
pub const MAX_WORKING_DAYS: u32 = 3650;

/// The local date (in [`CHINA_OFFSET`]) of an instant, whatever offset it carries.
pub fn local_date(at: OffsetDateTime) -> Date {
    // Only instants at the very edge of the representable range fail to convert; their own
    // date is then the best answer and avoids a panic.
    at.checked_to_offset(CHINA_OFFSET)
        .map_or_else(|| at.date(), OffsetDateTime::date)
}

// ---------------------------------------------------------------------------------------------
// Policy data, shaped like the State Council notice.
// ---------------------------------------------------------------------------------------------

/// The holiday arrangements of one or more years, as edited by the district.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalendarSpec {
    /// One entry per year; a year may appear once.
    pub years: Vec<YearSpec>,
}

/// One year's arrangement, from one State Council notice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct YearSpec {
    /// The calendar year the arrangement covers.
    pub year: i32,
    /// Where the data comes from (the notice's title and date), shown to supervisors.
    pub source: String,
    /// The holidays of the year.
    pub holidays: Vec<HolidaySpec>,
}

/// One holiday: a contiguous run of days off and the make-up working days that pay for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HolidaySpec {
    /// The holiday's name as in the notice, e.g. `春节`.
    pub name: String,
    /// Inclusive first and last day off, as `"YYYY-MM-DD"`.
    #[serde(with = "iso_date_pair")]
    pub off: [Date; 2],
    /// Make-up working days (调休上班), each a Saturday or Sunday, as `"YYYY-MM-DD"`.
    #[serde(with = "iso_date_vec")]
    pub makeup: Vec<Date>,
}

/// Serde helper: a [`Date`] as a `"YYYY-MM-DD"` string (time's own serde impl without the
/// `serde-human-readable` feature writes a tuple). Use with `#[serde(with = "...::iso_date")]`.
pub mod iso_date {
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _, ser::Error as _};
    use time::{Date, format_description::StaticFormatDescription, macros::format_description};

    const FORMAT: StaticFormatDescription = format_description!("[year]-[month]-[day]");

    /// Writes `date` as `"YYYY-MM-DD"`.
    pub fn serialize<S: Serializer>(date: &Date, serializer: S) -> Result<S::Ok, S::Error> {
        let text = date.format(FORMAT).map_err(S::Error::custom)?;
        serializer.serialize_str(&text)
    }

    /// Reads a `"YYYY-MM-DD"` string.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Date, D::Error> {
        let text = String::deserialize(deserializer)?;
        Date::parse(&text, FORMAT)
            .map_err(|e| D::Error::custom(format!("invalid date {text:?} (want YYYY-MM-DD): {e}")))
    }
}

/// A [`Date`] that (de)serialises through [`iso_date`], for sequences of dates.
#[derive(Serialize, Deserialize)]
#[serde(transparent)]
struct IsoDate(#[serde(with = "iso_date")] Date);

mod iso_date_pair {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use time::Date;

    use super::IsoDate;

    pub fn serialize<S: Serializer>(dates: &[Date; 2], serializer: S) -> Result<S::Ok, S::Error> {
        [IsoDate(dates[0]), IsoDate(dates[1])].serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<[Date; 2], D::Error> {
        let [first, last] = <[IsoDate; 2]>::deserialize(deserializer)?;
        Ok([first.0, last.0])
    }
}

mod iso_date_vec {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::Date;

    use super::IsoDate;

    pub fn serialize<S: Serializer>(dates: &[Date], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(dates.iter().copied().map(IsoDate))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<Date>, D::Error> {
        let dates = Vec::<IsoDate>::deserialize(deserializer)?;
        Ok(dates.into_iter().map(|d| d.0).collect())
    }
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/// Why a calendar could not be built or a deadline could not be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    /// The calendar data is not valid JSON of the expected shape.
    #[error("calendar data cannot be read: {detail}")]
    Parse { detail: String },
    /// A holiday's first day off is after its last day off.
    #[error("{year} {name}: first day off {first} is after last day off {last}")]
    InvertedRange {
        year: i32,
        name: String,
        first: Date,
        last: Date,
    },
    /// A holiday lists a date outside the year it belongs to.
    #[error("{year} {name}: {date} is not in {year}")]
    OutsideYear { year: i32, name: String, date: Date },
    /// A date is both a day off and a make-up working day.
    #[error("{date} is listed both as a day off and as a make-up working day")]
    Conflict { date: Date },
    /// The same year appears twice.
    #[error("the year {year} is listed twice")]
    DuplicateYear { year: i32 },
    /// A make-up working day falls on Monday–Friday, where it changes nothing: the data is
    /// probably mistyped.
    #[error("make-up working day {date} is a {weekday}, already a working day; check the data")]
    MakeupOnWeekday { date: Date, weekday: Weekday },
    /// A suspension resumes before it starts.
    #[error("suspension #{} resumes at {until} before it starts at {from}", .index + 1)]
    SuspensionInverted {
        index: usize,
        from: OffsetDateTime,
        until: OffsetDateTime,
    },
    /// Two suspensions overlap (or one starts while another is still open).
    #[error("suspensions #{} and #{} overlap", .first + 1, .second + 1)]
    SuspensionsOverlap { first: usize, second: usize },
    /// A suspension starts before the case was accepted.
    #[error("suspension #{} starts at {from}, before acceptance at {accepted}", .index + 1)]
    SuspensionBeforeAcceptance {
        index: usize,
        from: OffsetDateTime,
        accepted: OffsetDateTime,
    },
    /// The time limit is larger than any real one.
    #[error("time limit of {requested} working days exceeds the maximum of {max}")]
    TooManyWorkingDays { requested: u32, max: u32 },
    /// The deadline falls beyond the last representable date.
    #[error("the deadline falls beyond the representable date range")]
    OutOfRange,
}

impl Bilingual for CalendarError {
    fn code(&self) -> &'static str {
        match self {
            Self::Parse { .. } => "calendar.parse",
            Self::InvertedRange { .. } => "calendar.inverted_range",
            Self::OutsideYear { .. } => "calendar.outside_year",
            Self::Conflict { .. } => "calendar.conflict",
            Self::DuplicateYear { .. } => "calendar.duplicate_year",
            Self::MakeupOnWeekday { .. } => "calendar.makeup_on_weekday",
            Self::SuspensionInverted { .. } => "calendar.suspension_inverted",
            Self::SuspensionsOverlap { .. } => "calendar.suspensions_overlap",
            Self::SuspensionBeforeAcceptance { .. } => "calendar.suspension_before_acceptance",
            Self::TooManyWorkingDays { .. } => "calendar.too_many_working_days",
            Self::OutOfRange => "calendar.out_of_range",
        }
    }

    fn message_zh(&self) -> String {
        match self {
            Self::Parse { detail } => format!("节假日日历数据无法读取：{detail}"),
            Self::InvertedRange {
                year,
                name,
                first,
                last,
            } => format!("{year}年“{name}”的放假起始日 {first} 晚于结束日 {last}"),
            Self::OutsideYear { year, name, date } => {
                format!("{year}年“{name}”中的日期 {date} 不属于{year}年")
            }
            Self::Conflict { date } => format!("{date} 既被列为放假日，又被列为调休上班日"),
            Self::DuplicateYear { year } => format!("{year}年的节假日安排重复出现"),
            Self::MakeupOnWeekday { date, weekday } => format!(
                "调休上班日 {date} 是{}，本就是工作日，请核对数据",
                weekday_zh(*weekday)
            ),
            Self::SuspensionInverted { index, from, until } => format!(
                "第{}次中止的恢复时间 {} 早于中止时间 {}",
                index + 1,
                show_instant(*until),
                show_instant(*from)
            ),
            Self::SuspensionsOverlap { first, second } => {
                format!("第{}次与第{}次中止的时间段重叠", first + 1, second + 1)
            }
            Self::SuspensionBeforeAcceptance {
                index,
                from,
                accepted,
            } => format!(
                "第{}次中止时间 {} 早于受理时间 {}",
                index + 1,
                show_instant(*from),
                show_instant(*accepted)
            ),
            Self::TooManyWorkingDays { requested, max } => {
                format!("办理时限 {requested} 个工作日超过上限 {max} 个工作日")
            }
            Self::OutOfRange => "办结期限超出可计算的日期范围".to_owned(),
        }
    }
}

fn weekday_zh(weekday: Weekday) -> &'static str {
    match weekday {
        Weekday::Monday => "星期一",
        Weekday::Tuesday => "星期二",
        Weekday::Wednesday => "星期三",
        Weekday::Thursday => "星期四",
        Weekday::Friday => "星期五",
        Weekday::Saturday => "星期六",
        Weekday::Sunday => "星期日",
    }
}

/// An instant as local China time to the minute, for operator messages.
fn show_instant(at: OffsetDateTime) -> String {
    let local = at.checked_to_offset(CHINA_OFFSET).unwrap_or(at);
    format!("{} {:02}:{:02}", local.date(), local.hour(), local.minute())
}

// ---------------------------------------------------------------------------------------------
// The calendar
// ---------------------------------------------------------------------------------------------

/// A validated working calendar. Build it from policy data with [`WorkingCalendar::from_spec`]
/// (or deserialise it: the JSON shape is [`CalendarSpec`], validated on the way in).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "CalendarSpec", into = "CalendarSpec")]
pub struct WorkingCalendar {
    spec: CalendarSpec,
    years: BTreeSet<i32>,
    // INVARIANT: `off` and `makeup` are disjoint, every make-up day is a Saturday or Sunday, and
    // every date lies in a year of `years`.
    off: BTreeSet<Date>,
    makeup: BTreeSet<Date>,
}

impl WorkingCalendar {
    /// A calendar that covers no year: weekends only, every deadline provisional.
    pub fn empty() -> Self {
        Self::default()
    }

    /// Validates the policy data and builds the calendar.
    ///
    /// Refuses: a year listed twice; a day-off range whose first day is after its last; a date
    /// outside its year; a date both off and a make-up day; a make-up day on Monday–Friday.
    pub fn from_spec(spec: &CalendarSpec) -> Result<Self, CalendarError> {
        let mut years = BTreeSet::new();
        let mut off = BTreeSet::new();
        let mut makeup = BTreeSet::new();
        for year in &spec.years {
            if !years.insert(year.year) {
                return Err(CalendarError::DuplicateYear { year: year.year });
            }
            for holiday in &year.holidays {
                let [first, last] = holiday.off;
                let outside = |date: Date| CalendarError::OutsideYear {
                    year: year.year,
                    name: holiday.name.clone(),
                    date,
                };
                if let Some(&date) = holiday
                    .off
                    .iter()
                    .chain(&holiday.makeup)
                    .find(|d| d.year() != year.year)
                {
                    return Err(outside(date));
                }
                if first > last {
                    return Err(CalendarError::InvertedRange {
                        year: year.year,
                        name: holiday.name.clone(),
                        first,
                        last,
                    });
                }
                // Both ends are in the same year, so this walks at most 366 days.
                let mut day = first;
                loop {
                    off.insert(day);
                    match day.next_day() {
                        Some(next) if next <= last => day = next,
                        _ => break,
                    }
                }
                for &date in &holiday.makeup {
                    if is_weekday(date) {
                        return Err(CalendarError::MakeupOnWeekday {
                            date,
                            weekday: date.weekday(),
                        });
                    }
                    makeup.insert(date);
                }
            }
        }
        if let Some(&date) = off.intersection(&makeup).next() {
            return Err(CalendarError::Conflict { date });
        }
        Ok(Self {
            spec: spec.clone(),
            years,
            off,
            makeup,
        })
    }

    /// Parses and validates calendar JSON (the shape of `deploy/policy/calendar.json`).
    pub fn from_json(json: &str) -> Result<Self, CalendarError> {
        let spec: CalendarSpec = serde_json::from_str(json).map_err(|e| CalendarError::Parse {
            detail: e.to_string(),
        })?;
        Self::from_spec(&spec)
    }

    /// The policy data this calendar was built from.
    pub fn spec(&self) -> &CalendarSpec {
        &self.spec
    }

    /// Whether `date` is a working day: Monday–Friday unless listed as a day off, plus every
    /// listed make-up day. Outside the covered years only the weekend rule applies.
    pub fn is_working_day(&self, date: Date) -> bool {
        if is_weekday(date) {
            !self.off.contains(&date)
        } else {
            self.makeup.contains(&date)
        }
    }

    /// Whether the calendar has the holiday arrangement for the year of `date`.
    pub fn covers(&self, date: Date) -> bool {
        self.years.contains(&date.year())
    }

    /// The years the calendar has arrangements for, ascending.
    pub fn covered_years(&self) -> impl Iterator<Item = i32> + '_ {
        self.years.iter().copied()
    }

    /// The `n`-th working day strictly after `start` (the start day is not counted); `start`
    /// itself when `n = 0`. Suspensions are not considered: see [`deadline`].
    ///
    /// Saturates at [`Date::MAX`] if the count runs past the last representable date.
    pub fn working_day_after(&self, start: Date, n: u32) -> Date {
        let mut day = start;
        let mut counted = 0;
        while counted < n {
            match day.next_day() {
                Some(next) => day = next,
                None => return Date::MAX,
            }
            if self.is_working_day(day) {
                counted += 1;
            }
        }
        day
    }

    /// Number of working days in `(from, to]`, computed without walking the days.
    fn count_working_days(&self, from: Date, to: Date) -> i64 {
        if from >= to {
            return 0;
        }
        let range = (Bound::Excluded(from), Bound::Included(to));
        let off_weekdays = self.off.range(range).filter(|d| is_weekday(**d)).count();
        // By the invariant every make-up day is a weekend day.
        let makeup = self.makeup.range(range).count();
        weekdays_up_to(to) - weekdays_up_to(from) - count_i64(off_weekdays) + count_i64(makeup)
    }
}

impl TryFrom<CalendarSpec> for WorkingCalendar {
    type Error = CalendarError;

    fn try_from(spec: CalendarSpec) -> Result<Self, Self::Error> {
        Self::from_spec(&spec)
    }
}

impl From<WorkingCalendar> for CalendarSpec {
    fn from(calendar: WorkingCalendar) -> Self {
        calendar.spec
    }
}

/// Signed working days from `from` to `to`: the number of working days in `(from, to]` when
/// `to >= from`, and minus the number in `(to, from]` otherwise.
///
/// The inverse of [`WorkingCalendar::working_day_after`]: for `n > 0`,
/// `working_days_between(cal, d, cal.working_day_after(d, n)) == n`. With `from` the due date
/// and `to` the completion (or today's) date, a positive result is how many working days late
/// a case is; zero or negative means on time. Suspensions are not considered.
pub fn working_days_between(cal: &WorkingCalendar, from: Date, to: Date) -> i64 {
    if from <= to {
        cal.count_working_days(from, to)
    } else {
        -cal.count_working_days(to, from)
    }
}

fn is_weekday(date: Date) -> bool {
    !matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday)
}

/// Number of Monday–Friday days up to and including `date`, from an arbitrary fixed origin.
/// Only differences are meaningful.
fn weekdays_up_to(date: Date) -> i64 {
    let julian = i64::from(date.to_julian_day());
    let from_monday = i64::from(date.weekday().number_days_from_monday());
    // `julian - from_monday` is a Monday; every Monday has the same remainder modulo 7.
    let weeks = (julian - from_monday).div_euclid(7);
    weeks * 5 + (from_monday + 1).min(5)
}

fn count_i64(count: usize) -> i64 {
    i64::try_from(count).unwrap_or(i64::MAX)
}

// ---------------------------------------------------------------------------------------------
// Deadlines
// ---------------------------------------------------------------------------------------------

/// A period during which the clock stops (中止 or another special procedure).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suspension {
    /// When the case was suspended.
    pub from: OffsetDateTime,
    /// When it resumed (续办); `None` while it is still suspended.
    pub until: Option<OffsetDateTime>,
}

/// Where a case stands against its time limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Deadline {
    /// Due by the end of `date` (local). `provisional` when the counting used a year the
    /// calendar does not cover: show that next year's holiday notice is not loaded yet.
    Due {
        #[serde(with = "iso_date")]
        date: Date,
        provisional: bool,
    },
    /// The clock is stopped by an open suspension, with `counted` working days used and
    /// `remaining` still to run once the case resumes.
    Paused { counted: u32, remaining: u32 },
}

impl Deadline {
    /// The due date, if the clock is running.
    pub fn due_date(&self) -> Option<Date> {
        match self {
            Self::Due { date, .. } => Some(*date),
            Self::Paused { .. } => None,
        }
    }

    /// The first instant at which the case is overdue: the day after the due date, 00:00
    /// +08:00 (the deadline is the end of the due day). `None` while paused, or if the due date
    /// is the last representable date.
    pub fn due_instant(&self) -> Option<OffsetDateTime> {
        let next = self.due_date()?.next_day()?;
        Some(next.midnight().assume_offset(CHINA_OFFSET))
    }

    /// Whether the case is overdue at `now`. Never true while paused.
    pub fn is_overdue(&self, now: OffsetDateTime) -> bool {
        self.due_instant().is_some_and(|due| now >= due)
    }
}

/// Computes the deadline of a case accepted at `accepted` with a time limit of `working_days`,
/// given its suspensions in any order. See the module documentation for the counting rules.
///
/// Errors: a suspension resuming before it starts, overlapping suspensions (including any
/// suspension after an open one), a suspension starting before acceptance, a time limit above
/// [`MAX_WORKING_DAYS`], or a due date beyond the representable range.
pub fn deadline(
    cal: &WorkingCalendar,
    accepted: OffsetDateTime,
    working_days: u32,
    suspensions: &[Suspension],
) -> Result<Deadline, CalendarError> {
    if working_days > MAX_WORKING_DAYS {
        return Err(CalendarError::TooManyWorkingDays {
            requested: working_days,
            max: MAX_WORKING_DAYS,
        });
    }
    let spans = local_spans(accepted, suspensions)?;

    let mut day = local_date(accepted);
    let mut counted = 0;
    let mut provisional = false;
    let mut next_span = 0;
    while counted < working_days {
        let next = day.next_day().ok_or(CalendarError::OutOfRange)?;
        // Forget the spans that ended before `next`.
        while spans
            .get(next_span)
            .is_some_and(|span| span.until.is_some_and(|until| until < next))
        {
            next_span += 1;
        }
        if let Some(span) = spans.get(next_span)
            && span.from < next
        {
            // `next` is in (from, until]: the clock is stopped.
            match span.until {
                None => {
                    return Ok(Deadline::Paused {
                        counted,
                        remaining: working_days - counted,
                    });
                }
                Some(until) => {
                    // Resume counting after the resumption day; `until >= next > day`.
                    day = until;
                    continue;
                }
            }
        }
        day = next;
        provisional |= !cal.covers(day);
        if cal.is_working_day(day) {
            counted += 1;
        }
    }
    Ok(Deadline::Due {
        date: day,
        provisional,
    })
}

/// A suspension as local dates: it covers the dates in `(from, until]`, or after `from` if open.
struct LocalSpan {
    from: Date,
    until: Option<Date>,
}

/// Checks the suspensions and returns them as local date spans in chronological order.
fn local_spans(
    accepted: OffsetDateTime,
    suspensions: &[Suspension],
) -> Result<Vec<LocalSpan>, CalendarError> {
    for (index, suspension) in suspensions.iter().enumerate() {
        if let Some(until) = suspension.until
            && until < suspension.from
        {
            return Err(CalendarError::SuspensionInverted {
                index,
                from: suspension.from,
                until,
            });
        }
        if suspension.from < accepted {
            return Err(CalendarError::SuspensionBeforeAcceptance {
                index,
                from: suspension.from,
                accepted,
            });
        }
    }
    let mut order: Vec<usize> = (0..suspensions.len()).collect();
    // Zero-length suspensions sort before longer ones starting at the same instant, so the
    // overlap check does not depend on the caller's order.
    order.sort_by_key(|&i| {
        let s = &suspensions[i];
        (s.from, s.until.is_none(), s.until)
    });
    for pair in order.windows(2) {
        let (a, b) = (&suspensions[pair[0]], &suspensions[pair[1]]);
        // Touching (one resumes at the instant the next starts) is fine.
        if a.until.is_none_or(|until| b.from < until) {
            return Err(CalendarError::SuspensionsOverlap {
                first: pair[0].min(pair[1]),
                second: pair[0].max(pair[1]),
            });
        }
    }
    // INVARIANT: the instants are ordered and disjoint, so the local dates are non-decreasing.
    Ok(order
        .into_iter()
        .map(|i| LocalSpan {
            from: local_date(suspensions[i].from),
            until: suspensions[i].until.map(local_date),
        })
        .collect())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::{date, datetime};

    const CALENDAR_JSON: &str = include_str!("../../../deploy/policy/calendar.json");

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
}
