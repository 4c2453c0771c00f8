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

mod deadline;
pub mod notice;

pub use deadline::*;

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

    /// The year whose holiday arrangement is due and missing on `today`: next year, from
    /// November on (the State Council publishes it in late October or November), or this year
    /// when even that is missing. Due dates past the calendar's end count weekends only.
    pub fn missing_year(&self, today: Date) -> Option<i32> {
        let year = today.year();
        if !self.years.contains(&year) {
            return Some(year);
        }
        (u8::from(today.month()) >= 11 && !self.years.contains(&(year + 1))).then_some(year + 1)
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
