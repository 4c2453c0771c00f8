//! Deadlines: where a case stands against its time limit, counted in working days with its
//! suspensions (the counting rules are in the parent module's documentation).

use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

use super::{CHINA_OFFSET, CalendarError, MAX_WORKING_DAYS, WorkingCalendar, iso_date, local_date};

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
