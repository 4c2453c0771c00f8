//! Deadline alerts and link alarms (issue 10 points 1 and 4, issue 12 point 3): two jobs raise
//! and clear them, operators acknowledge them on the start page or through the API.
//!
//! - `store`: the `alerts` and `child_links` tables, and the reads the jobs need;
//! - `scan`: the `deadline-scan` job (near-due and overdue cases this node knows in its subtree);
//! - `watchdog`: the `link-watchdog` job (escalations stuck in the outbox, children that report
//!   stuck escalations or stopped pulling), and the outbox report a child sends with each pull;
//! - `api`: `GET /api/v1/alerts`, `POST /api/v1/alerts/{alert_id}/ack`.
//!
//! An alert is only ever raised and cleared by its job, from what the database says now: the
//! jobs are idempotent (raising an open alert again is a no-op, see [`store::AlertStore::reconcile`]),
//! so a missed tick is caught up by the next. This module never changes a case.

pub mod api;
pub mod scan;
pub mod store;
pub mod watchdog;

use serde::{Deserialize, Serialize};

use crate::config::SettingsError;
use crate::jobs::Jobs;
use crate::store::CaseStore;
use bangban_domain::station::StationCode;

pub use store::{Alert, AlertStore, ChildLink, NewAlert, OutboxReport};

/// What an alert is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// An open case due within `[alerts] near_due_working_days` working days.
    NearDue,
    /// An open case past its due date.
    Overdue,
    /// An escalation waiting to reach the parent longer than `[alerts] transit_alarm_mins`:
    /// at the child for one case, at the parent for a child that reports such escalations.
    StuckInTransit,
    /// A direct child that has not pulled for longer than `[alerts] transit_alarm_mins`.
    ChildSilent,
}

impl AlertKind {
    pub const ALL: [AlertKind; 4] = [
        AlertKind::NearDue,
        AlertKind::Overdue,
        AlertKind::StuckInTransit,
        AlertKind::ChildSilent,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::NearDue => "near_due",
            AlertKind::Overdue => "overdue",
            AlertKind::StuckInTransit => "stuck_in_transit",
            AlertKind::ChildSilent => "child_silent",
        }
    }

    pub fn parse(s: &str) -> Option<AlertKind> {
        AlertKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            AlertKind::NearDue => "近期到期",
            AlertKind::Overdue => "已超期",
            AlertKind::StuckInTransit => "上报滞留",
            AlertKind::ChildSilent => "下级失联",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            AlertKind::NearDue => "Due soon",
            AlertKind::Overdue => "Overdue",
            AlertKind::StuckInTransit => "Escalation stuck in transit",
            AlertKind::ChildSilent => "Child station silent",
        }
    }
}

impl std::fmt::Display for AlertKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `[alerts]`: when a case counts as near-due, and how long an escalation may wait in transit
/// (or a child stay silent) before the alarm.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertSettings {
    /// A case is near-due when its due date is at most this many working days after today.
    pub near_due_working_days: u32,
    /// Minutes an escalation may wait in the outbox, or a child go without pulling.
    pub transit_alarm_mins: u64,
}

/// The most working days ahead a near-due alert may look (six weeks).
pub const MAX_NEAR_DUE_WORKING_DAYS: u32 = 30;
/// The longest transit alarm threshold, in minutes (a week).
pub const MAX_TRANSIT_ALARM_MINS: u64 = 7 * 24 * 60;

/// Checked `[alerts]` settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlertPolicy {
    pub near_due_working_days: u32,
    pub transit_alarm: time::Duration,
}

impl Default for AlertPolicy {
    fn default() -> Self {
        AlertPolicy {
            near_due_working_days: 2,
            transit_alarm: time::Duration::minutes(30),
        }
    }
}

impl AlertSettings {
    pub fn check(&self) -> Result<AlertPolicy, SettingsError> {
        if !(0..=MAX_NEAR_DUE_WORKING_DAYS).contains(&self.near_due_working_days) {
            return Err(SettingsError::invalid(
                "alerts.near_due_working_days",
                format!("must be between 0 and {MAX_NEAR_DUE_WORKING_DAYS} working days"),
            ));
        }
        if !(1..=MAX_TRANSIT_ALARM_MINS).contains(&self.transit_alarm_mins) {
            return Err(SettingsError::invalid(
                "alerts.transit_alarm_mins",
                format!("must be between 1 and {MAX_TRANSIT_ALARM_MINS} minutes"),
            ));
        }
        Ok(AlertPolicy {
            near_due_working_days: self.near_due_working_days,
            transit_alarm: time::Duration::minutes(
                i64::try_from(self.transit_alarm_mins).unwrap_or(i64::MAX),
            ),
        })
    }
}

/// Registers `deadline-scan` and `link-watchdog` on the schedules of `[jobs]`.
pub fn add_jobs(
    jobs: &mut Jobs,
    me: StationCode,
    store: CaseStore,
    policy: AlertPolicy,
    schedules: &crate::node::JobSchedules,
) {
    let scan_store = store.clone();
    jobs.add(
        "deadline-scan",
        schedules.deadline_scan.clone(),
        move || {
            let store = scan_store.clone();
            async move {
                let done = scan::deadline_scan(&store, me, policy, time::OffsetDateTime::now_utc())
                    .await?;
                Ok(done.to_string())
            }
        },
    );
    jobs.add(
        "link-watchdog",
        schedules.link_watchdog.clone(),
        move || {
            let store = store.clone();
            async move {
                let done =
                    watchdog::link_watchdog(&store, me, policy, time::OffsetDateTime::now_utc())
                        .await?;
                Ok(done.to_string())
            }
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_read_back_and_bad_settings_name_the_setting() {
        for kind in AlertKind::ALL {
            assert_eq!(AlertKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(AlertKind::parse("late"), None);
        let bad = AlertSettings {
            near_due_working_days: 31,
            transit_alarm_mins: 30,
        };
        assert!(
            bad.check()
                .is_err_and(|e| e.to_string().contains("alerts.near_due_working_days"))
        );
        let bad = AlertSettings {
            near_due_working_days: 2,
            transit_alarm_mins: 0,
        };
        assert!(
            bad.check()
                .is_err_and(|e| e.to_string().contains("alerts.transit_alarm_mins"))
        );
        let ok = AlertSettings {
            near_due_working_days: 2,
            transit_alarm_mins: 30,
        };
        assert_eq!(ok.check().ok(), Some(AlertPolicy::default()));
    }
}
