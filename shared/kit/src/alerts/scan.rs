//! The `deadline-scan` job: over the open cases with a running clock that this node knows in its
//! subtree (held here or by a station below), near-due when the due date is at most
//! `[alerts] near_due_working_days` working days after today by the policy's working calendar,
//! overdue once past. Each node scans what it knows, so the holder and its ancestors both raise
//! the alert. A case that closed, was suspended, moved out of the subtree or whose due date moved
//! has its alert cleared.

use bangban_domain::calendar::local_date;
use bangban_domain::station::StationCode;
use time::{Date, OffsetDateTime};

use super::store::{AlertStore, NewAlert, Reconciled, Scope};
use super::{AlertKind, AlertPolicy};
use crate::store::{CaseStore, to_ms};

/// How long cleared alerts are kept before the scan removes them.
pub const CLEARED_RETENTION: time::Duration = time::Duration::days(180);

/// What one scan found and changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScanOutcome {
    pub near_due: u64,
    pub overdue: u64,
    pub changes: Reconciled,
}

impl std::fmt::Display for ScanOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} near-due, {} overdue; {} raised, {} cleared",
            self.near_due, self.overdue, self.changes.raised, self.changes.cleared
        )
    }
}

fn parse_date(text: &str) -> Option<Date> {
    Date::parse(
        text,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .ok()
}

/// Runs one scan as of `now` (today is its date in China time).
pub async fn deadline_scan(
    store: &CaseStore,
    me: StationCode,
    policy: AlertPolicy,
    now: OffsetDateTime,
) -> anyhow::Result<ScanOutcome> {
    let alerts = AlertStore::new(store.db().clone());
    let today = local_date(now);
    let in_force = store.policy().current();
    let horizon = in_force
        .calendar
        .working_day_after(today, policy.near_due_working_days);
    let mut near = Vec::new();
    let mut overdue = Vec::new();
    for row in alerts.due_rows(&horizon.to_string()).await? {
        let Ok(holder) = StationCode::parse(&row.holder) else {
            tracing::warn!(case_id = %row.case_id, "a case's holder is not a station code; not scanned");
            continue;
        };
        if !me.is_same_or_ancestor_of(&holder) {
            continue; // held above this node: the holder and its ancestors raise it
        }
        let Some(due) = parse_date(&row.due_date) else {
            tracing::warn!(case_id = %row.case_id, "a case's due date does not read; not scanned");
            continue;
        };
        let (kind, detail) = if due < today {
            (AlertKind::Overdue, format!("due {due}, past"))
        } else if due <= horizon {
            (AlertKind::NearDue, format!("due {due}"))
        } else {
            continue;
        };
        let alert = NewAlert {
            kind,
            case_id: Some(row.case_id),
            case_no: Some(row.case_no),
            centre: row.holder,
            due_date: Some(row.due_date),
            since_ms: None,
            detail,
        };
        match kind {
            AlertKind::Overdue => overdue.push(alert),
            _ => near.push(alert),
        }
    }
    let now_ms = to_ms(now);
    let mut outcome = ScanOutcome {
        near_due: u64::try_from(near.len()).unwrap_or(u64::MAX),
        overdue: u64::try_from(overdue.len()).unwrap_or(u64::MAX),
        changes: Reconciled::default(),
    };
    outcome.changes += alerts
        .reconcile(AlertKind::NearDue, Scope::Cases, &near, now_ms)
        .await?;
    outcome.changes += alerts
        .reconcile(AlertKind::Overdue, Scope::Cases, &overdue, now_ms)
        .await?;
    let purged = alerts.purge_cleared(to_ms(now - CLEARED_RETENTION)).await?;
    if purged > 0 {
        tracing::info!(purged, "old cleared alerts removed");
    }
    Ok(outcome)
}
