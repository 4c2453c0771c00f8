//! The `link-watchdog` job, and the outbox report a child sends its parent with every pull.
//!
//! At a child: an escalation event waiting in the outbox longer than `[alerts]
//! transit_alarm_mins` raises `stuck_in_transit` for its case, cleared once the parent has
//! acknowledged it (the outbox row is gone). At a parent: each pull of a direct child records
//! the contact and the child's report (`child_links`); a child that reports stuck escalations
//! raises `stuck_in_transit` for that child, and an active direct child that pulled at least
//! once but not within the limit raises `child_silent`. Both clear once the cause is gone.
//!
//! The report's headers are untrusted input: each is read on its own, and a value that does not
//! check is logged and ignored (never a refused pull).

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use bangban_domain::calendar::local_date;
use bangban_domain::station::StationCode;
use time::OffsetDateTime;

use super::store::{AlertStore, NewAlert, OutboxReport, Reconciled, Scope};
use super::{AlertKind, AlertPolicy};
use crate::store::{CaseStore, to_ms};

/// Events waiting for the parent.
pub const OUTBOX_LEN: &str = "bangban-outbox-len";
/// When the oldest of them was queued, unix milliseconds (absent when none waits).
pub const OUTBOX_OLDEST_MS: &str = "bangban-outbox-oldest-ms";
/// Escalation events among them queued longer than the child's transit alarm.
pub const STUCK_ESCALATIONS: &str = "bangban-stuck-escalations";

/// How far ahead of the parent's clock a reported instant may be before it is taken as wrong.
const CLOCK_SLACK_MS: i64 = 24 * 3600 * 1000;

/// The request headers that carry `report`.
pub fn report_headers(report: &OutboxReport) -> Vec<(HeaderName, HeaderValue)> {
    [
        (OUTBOX_LEN, report.len),
        (OUTBOX_OLDEST_MS, report.oldest_ms),
        (STUCK_ESCALATIONS, report.stuck_escalations),
    ]
    .into_iter()
    .filter_map(|(name, value)| {
        Some((
            HeaderName::from_static(name),
            HeaderValue::from(value.filter(|v| *v >= 0)?),
        ))
    })
    .collect()
}

/// A count or an instant as a header carries it: 1 to 15 ASCII digits (below 2^53, so it also
/// reads exactly as a metric), nothing else.
fn number(headers: &HeaderMap, name: &'static str) -> Result<Option<i64>, &'static str> {
    let mut values = headers.get_all(name).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(name);
    }
    let bytes = value.as_bytes();
    if bytes.is_empty() || bytes.len() > 15 || !bytes.iter().all(u8::is_ascii_digit) {
        return Err(name);
    }
    std::str::from_utf8(bytes)
        .ok()
        .and_then(|s| s.parse::<i64>().ok())
        .map(Some)
        .ok_or(name)
}

/// Reads a child's report from its pull's headers, as of the parent's clock `now_ms`. Returns
/// the report (a header absent or not valid reads as `None`) and the names of the headers that
/// did not check.
pub fn report_from_headers(headers: &HeaderMap, now_ms: i64) -> (OutboxReport, Vec<&'static str>) {
    let mut bad = Vec::new();
    let mut read = |name| {
        number(headers, name).unwrap_or_else(|e| {
            bad.push(e);
            None
        })
    };
    let mut report = OutboxReport {
        len: read(OUTBOX_LEN),
        oldest_ms: read(OUTBOX_OLDEST_MS),
        stuck_escalations: read(STUCK_ESCALATIONS),
    };
    if report
        .oldest_ms
        .is_some_and(|at| at > now_ms.saturating_add(CLOCK_SLACK_MS))
    {
        bad.push(OUTBOX_OLDEST_MS);
        report.oldest_ms = None;
    }
    if let (Some(stuck), Some(len)) = (report.stuck_escalations, report.len)
        && stuck > len
    {
        bad.push(STUCK_ESCALATIONS);
        report.stuck_escalations = None;
    }
    (report, bad)
}

/// What one watchdog run found and changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WatchOutcome {
    /// Cases whose escalation waits in this node's outbox.
    pub stuck_here: u64,
    /// Children that report stuck escalations.
    pub stuck_children: u64,
    pub silent_children: u64,
    pub changes: Reconciled,
}

impl std::fmt::Display for WatchOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} escalation(s) stuck here, {} child(ren) reporting stuck escalations, {} silent \
             child(ren); {} raised, {} cleared",
            self.stuck_here,
            self.stuck_children,
            self.silent_children,
            self.changes.raised,
            self.changes.cleared
        )
    }
}

/// Runs the watchdog once as of `now`.
pub async fn link_watchdog(
    store: &CaseStore,
    me: StationCode,
    policy: AlertPolicy,
    now: OffsetDateTime,
) -> anyhow::Result<WatchOutcome> {
    let alerts = AlertStore::new(store.db().clone());
    let cutoff = to_ms(now - policy.transit_alarm);
    let minutes = policy.transit_alarm.whole_minutes();

    let here: Vec<NewAlert> = alerts
        .stuck_escalations(cutoff)
        .await?
        .into_iter()
        .map(|s| NewAlert {
            kind: AlertKind::StuckInTransit,
            case_id: Some(s.case_id),
            case_no: Some(s.case_no),
            centre: me.to_string(),
            due_date: None,
            since_ms: Some(s.enqueued_at_ms),
            detail: format!(
                "the escalation has waited for the parent's acknowledgement for more than \
                 {minutes} min"
            ),
        })
        .collect();

    let in_force = store.policy().current();
    let today = local_date(now);
    let mut stuck_children = Vec::new();
    let mut silent = Vec::new();
    for link in alerts.child_links().await? {
        let Ok(station) = StationCode::parse(&link.station) else {
            continue;
        };
        let watched = in_force
            .topology
            .as_ref()
            .is_some_and(|t| t.is_direct_child(me, station) && t.is_active(station, today));
        if !watched {
            continue; // no longer a child of this node, or retired: its alarms clear
        }
        if link.last_contact_ms < cutoff {
            silent.push(NewAlert {
                kind: AlertKind::ChildSilent,
                case_id: None,
                case_no: None,
                centre: link.station.clone(),
                due_date: None,
                since_ms: Some(link.last_contact_ms),
                detail: format!("no pull from the child for more than {minutes} min"),
            });
        }
        if let Some(n) = link.report.stuck_escalations.filter(|n| *n > 0) {
            stuck_children.push(NewAlert {
                kind: AlertKind::StuckInTransit,
                case_id: None,
                case_no: None,
                centre: link.station,
                due_date: None,
                since_ms: link.report.oldest_ms,
                detail: format!(
                    "the child reports {n} escalation(s) waiting to be sent for longer than \
                     its transit alarm"
                ),
            });
        }
    }

    let now_ms = to_ms(now);
    let mut outcome = WatchOutcome {
        stuck_here: u64::try_from(here.len()).unwrap_or(u64::MAX),
        stuck_children: u64::try_from(stuck_children.len()).unwrap_or(u64::MAX),
        silent_children: u64::try_from(silent.len()).unwrap_or(u64::MAX),
        changes: Reconciled::default(),
    };
    outcome.changes += alerts
        .reconcile(AlertKind::StuckInTransit, Scope::Cases, &here, now_ms)
        .await?;
    outcome.changes += alerts
        .reconcile(
            AlertKind::StuckInTransit,
            Scope::Stations,
            &stuck_children,
            now_ms,
        )
        .await?;
    outcome.changes += alerts
        .reconcile(AlertKind::ChildSilent, Scope::Stations, &silent, now_ms)
        .await?;
    Ok(outcome)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &[u8])]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_bytes(v).unwrap());
        }
        h
    }

    const NOW: i64 = 1_790_000_000_000;

    #[test]
    fn a_report_reads_back_from_its_headers() {
        let report = OutboxReport {
            len: Some(12),
            oldest_ms: Some(NOW - 60_000),
            stuck_escalations: Some(1),
        };
        let mut h = HeaderMap::new();
        for (name, value) in report_headers(&report) {
            h.insert(name, value);
        }
        assert_eq!(report_from_headers(&h, NOW), (report, vec![]));
        // An empty outbox has no oldest record: the header is left out.
        let empty = OutboxReport {
            len: Some(0),
            oldest_ms: None,
            stuck_escalations: Some(0),
        };
        assert_eq!(report_headers(&empty).len(), 2);
    }

    #[test]
    fn bad_values_are_ignored_each_on_its_own() {
        for bad in [
            &b"-1"[..],
            b"",
            b"1e3",
            b" 5",
            b"12345678901234567890",
            b"0x10",
            "五".as_bytes(),
            b"\xff",
        ] {
            let (report, refused) = report_from_headers(
                &headers(&[(OUTBOX_LEN, bad), (STUCK_ESCALATIONS, b"0")]),
                NOW,
            );
            assert_eq!(report.len, None, "{bad:?}");
            assert_eq!(report.stuck_escalations, Some(0), "{bad:?}");
            assert_eq!(refused, vec![OUTBOX_LEN], "{bad:?}");
        }
        // Twice the same header, an instant a year ahead, more stuck than queued.
        let (report, refused) = report_from_headers(
            &headers(&[
                (OUTBOX_LEN, b"1"),
                (OUTBOX_LEN, b"2"),
                (
                    OUTBOX_OLDEST_MS,
                    (NOW + 365 * 86_400_000).to_string().as_bytes(),
                ),
                (STUCK_ESCALATIONS, b"3"),
            ]),
            NOW,
        );
        let only_stuck = OutboxReport {
            stuck_escalations: Some(3),
            ..OutboxReport::default()
        };
        assert_eq!(report, only_stuck);
        assert_eq!(refused, vec![OUTBOX_LEN, OUTBOX_OLDEST_MS]);
        let (report, refused) = report_from_headers(
            &headers(&[(OUTBOX_LEN, b"1"), (STUCK_ESCALATIONS, b"3")]),
            NOW,
        );
        assert_eq!((report.len, report.stuck_escalations), (Some(1), None));
        assert_eq!(refused, vec![STUCK_ESCALATIONS]);
        // No headers at all (an older child): nothing reported, nothing wrong.
        assert_eq!(
            report_from_headers(&HeaderMap::new(), NOW),
            (OutboxReport::default(), vec![])
        );
    }
}
