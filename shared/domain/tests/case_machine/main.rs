//! The case state machine and the event model through the public API: the lifecycle of
//! DESIGN.md with the real codes of 新华区, every refusal with its typed error, single-event
//! validation, the wire shape, case numbers, deadlines on the district's calendar, and properties
//! of random logs.

#![allow(clippy::unwrap_used)]

#[path = "../support/mod.rs"]
mod support;

use std::collections::HashSet;

use bangban_domain::Bilingual;
use bangban_domain::calendar::{Deadline, WorkingCalendar};
use bangban_domain::case::{CaseState, Stage, TransitionError, fold};
use bangban_domain::event::{
    Applicant, Application, CaseNumber, CaseNumberError, CaseResult, CaseType, Channel,
    CheckOverride, Comment, Consultation, Delegation, Delivery, Escalation, Evaluation, Event,
    EventBody, EventError, EventKind, HandlingStart, Handover, HandoverMethod, MAX_PROMISED_DAYS,
    MAX_SHORT, MAX_TEXT, MaterialVerdict, Note, OneTimeNotice, PreReview, Return, Satisfaction,
    Supplement, Suspension, Termination, TerminationReason, Verdict, Visit, VisitKind,
    WindowAssist,
};
use bangban_domain::ident::PersonName;
use bangban_domain::station::{StationCode, StationCodeError, Tier};
use proptest::prelude::*;
use serde_json::{Value, json};
use support::*;
use time::macros::{date, datetime};
use time::{Duration, OffsetDateTime};

const CALENDAR_JSON: &str = include_str!("../../../../deploy/policy/calendar.json");

fn calendar() -> WorkingCalendar {
    WorkingCalendar::from_json(CALENDAR_JSON).unwrap()
}

/// The kinds DESIGN.md's lifecycle allows at each stage (not suspended), for an item of the
/// fitting type (the window for an immediate item, a delegation for a promised one) and a case
/// that has an earlier holder to return to where a return is allowed.
fn expected_allowed(stage: Stage) -> Vec<EventKind> {
    use EventKind as K;
    // Anyone on the origin's path may record a visit or a comment at any time.
    let mut allowed = match stage {
        // A consultation becomes an application, or is simply answered and done.
        Stage::Consultation => vec![K::ApplicationReceived, K::Completed],
        Stage::Received => vec![K::PreReviewed],
        Stage::Incomplete => vec![K::OneTimeNoticeIssued],
        Stage::AwaitingSupplement => vec![K::SupplementReceived],
        Stage::Reviewed => vec![K::AssistedAtWindow, K::DelegationSigned],
        Stage::AtWindow => vec![K::Completed],
        Stage::Delegated => vec![K::HandlingStarted, K::Suspended, K::Escalated],
        Stage::InProgress => vec![K::Suspended, K::Escalated, K::ReturnedDown, K::ResultReady],
        Stage::Escalated => vec![K::AcceptedUpstream, K::ReturnedDown],
        Stage::ResultReady => vec![K::ReturnedDown, K::HandedOver],
        Stage::HandedOver => vec![K::Completed],
        Stage::Completed | Stage::Terminated => vec![K::Evaluated],
    };
    if stage.is_open() {
        allowed.push(K::Terminated);
    }
    allowed.extend([K::VisitRecorded, K::Commented, K::AttachmentAdded]);
    // In the order of EventKind::ALL, for readable diffs.
    EventKind::ALL
        .into_iter()
        .filter(|k| allowed.contains(k))
        .collect()
}

fn kinds(set: &HashSet<EventKind>) -> Vec<EventKind> {
    EventKind::ALL
        .into_iter()
        .filter(|k| set.contains(k))
        .collect()
}

/// The item type that fits `kind` at the Reviewed stage.
fn fitting_type(kind: EventKind) -> CaseType {
    if kind == EventKind::AssistedAtWindow {
        CaseType::Immediate
    } else {
        CaseType::Promised
    }
}

/// Who would send `kind`: the holder for a state change, the origin for anything else.
fn fitting_author(s: &Script, kind: EventKind) -> StationCode {
    if kind.changes_state() {
        s.holder()
    } else {
        s.state.origin
    }
}

/// An event of the origin village's case with `body`, for validation on its own.
fn lone(body: EventBody) -> Event {
    make_event(new_case_id(3), village(), START, 1, body)
}

mod case_numbers;
mod deadlines;
mod happy_paths;
mod properties;
mod refusals;
mod validation;
mod wire;
