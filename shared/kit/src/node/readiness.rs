//! What `/readyz` reports for a node: its database (required), its certificate (required when
//! it has one), its parent link, its jobs and its dead letters (reported, never required: a
//! station keeps taking in cases while the link is down).

use std::sync::Arc;

use url::Url;

use crate::http::{Check, Readiness};
use crate::store::CaseStore;

/// Readiness of a node whose only hard dependency so far is its database.
pub struct StoreReadiness {
    pub store: CaseStore,
}

impl Readiness for StoreReadiness {
    async fn checks(&self) -> Vec<Check> {
        let db = match self.store.db().ping().await {
            Ok(()) => Check {
                name: "database",
                ok: true,
                required: true,
                detail: format!("{:?} open", self.store.db().backend()),
            },
            Err(e) => Check {
                name: "database",
                ok: false,
                required: true,
                detail: e.to_string(),
            },
        };
        vec![db]
    }
}

/// The shared readiness handle type.
pub type SharedReadiness = Arc<StoreReadiness>;

/// Readiness of a running node: its database (required), its certificate (required when it
/// has one) and its parent link (reported, never required: a station keeps taking in cases
/// while the link is down).
pub struct NodeReadiness {
    pub store: CaseStore,
    pub certificate: Option<String>,
    pub link: Option<crate::sync::Uplink>,
    pub jobs: crate::jobs::Jobs,
    /// The lines the node crate's parts add.
    pub extra: Vec<super::CheckFn>,
}

/// An instant in China time for people (`2026-11-28 03:30:00`).
fn show_ms(ms: i64) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .map(|t| t.to_offset(time::macros::offset!(+8)))
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_else(|| ms.to_string())
}

impl Readiness for NodeReadiness {
    async fn checks(&self) -> Vec<Check> {
        let mut checks = StoreReadiness {
            store: self.store.clone(),
        }
        .checks()
        .await;
        if let Some(cert) = &self.certificate {
            checks.push(Check {
                name: "certificate",
                ok: true,
                required: true,
                detail: cert.clone(),
            });
        }
        // A failing job never makes a node unready either; it is reported.
        for (name, job) in self.jobs.status() {
            let next = job.next_run_ms.map_or("none".to_owned(), show_ms);
            checks.push(Check {
                name,
                ok: job.last_ok != Some(false),
                required: false,
                detail: match (job.last_started_ms, job.last_ok, &job.last_detail) {
                    (Some(at), Some(ok), Some(detail)) => format!(
                        "job: last run {} ({}, {} ms): {detail}; next run {next}",
                        show_ms(at),
                        if ok { "ok" } else { "failed" },
                        job.last_duration_ms.unwrap_or_default()
                    ),
                    _ => format!("job: not run since start; next run {next}"),
                },
            });
        }
        // Dead letters never make a node unready (the rest flows on), but a person must look.
        match self.store.dead_letter_counts().await {
            Ok(counts) => checks.push(Check {
                name: "dead_letters",
                ok: counts.total() == 0,
                required: false,
                detail: format!(
                    "{} event(s) refused by the parent and {} pulled event(s) refused here wait \
                     for a decision (dead-letters list)",
                    counts.up, counts.down
                ),
            }),
            Err(e) => checks.push(Check {
                name: "dead_letters",
                ok: false,
                required: false,
                detail: e.to_string(),
            }),
        }
        if let Some(crate::sync::Uplink { parents, status }) = &self.link {
            let queued = self.store.outbox_len().await.unwrap_or(-1);
            let url = parents.current();
            let mut detail = format!(
                "{url} {}; {queued} event(s) queued for it",
                match (status.reachable(), status.last_error()) {
                    (true, _) => "reachable".to_owned(),
                    (false, Some(e)) => format!("failing: {e}"),
                    (false, None) => "not reached yet".to_owned(),
                }
            );
            // Replicas of the parent: which is in use among them, and how often it changed.
            if parents.urls().len() > 1 {
                let all: Vec<String> = parents.urls().iter().map(Url::to_string).collect();
                detail.push_str(&format!(
                    "; in use of {} parent URLs ({}), {} switch(es) since start",
                    all.len(),
                    all.join(", "),
                    parents.switches()
                ));
            }
            checks.push(Check {
                name: "parent",
                ok: status.reachable(),
                required: false,
                detail,
            });
        }
        for part in &self.extra {
            checks.extend(part().await);
        }
        checks
    }
}
