//! Transfer between tiers. Children always dial their parent: a child pushes its outbox up
//! (`POST /v1/events`) and long-polls the events of its subtree down (`GET /v1/events`). Both
//! directions are idempotent by event id, so every call can be retried blindly. Case summaries
//! go up on their own (`POST /v1/summaries`, see [`summaries`]), idempotent by version.
//!
//! This module never decides whether an event is legal: the store folds it through the shared
//! state machine. It never trusts a body for identity: the caller's station comes from its
//! verified certificate (see `crate::tls`).

pub mod client;
mod parents;
pub mod server;
pub mod summaries;

pub use parents::{Failover, ParentUrls, ParentUrlsError};

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use time::OffsetDateTime;

/// The name under which the cursor of the pull from the parent is saved.
pub const PARENT_CURSOR: &str = "parent";

/// The link to the parent as the node shows it (`/readyz`, `/metrics`, the start page): the
/// parent's URLs with the one in use, and how the exchanges went.
#[derive(Debug, Clone)]
pub struct Uplink {
    pub parents: Arc<ParentUrls>,
    pub status: Arc<LinkStatus>,
}

/// What the node knows about its link to the parent, for `/readyz` and `/metrics`.
#[derive(Debug, Default)]
pub struct LinkStatus {
    /// Unix milliseconds of the last successful exchange with the parent (0: never).
    last_ok_ms: AtomicI64,
    /// Unix milliseconds of the last failed exchange (0: never).
    last_error_ms: AtomicI64,
    pushed: AtomicI64,
    pulled: AtomicI64,
    /// What went wrong last, for `/readyz`: an unreachable parent and a parent that refuses a
    /// batch need different fixes.
    last_error: std::sync::Mutex<Option<String>>,
    /// The parent's latest request for a reconciliation (unix milliseconds at the parent; 0:
    /// none), and the wake-up of whoever runs it.
    reconcile_asked: AtomicI64,
    reconcile_wanted: tokio::sync::Notify,
}

impl LinkStatus {
    pub fn new() -> Arc<Self> {
        Arc::new(LinkStatus::default())
    }

    pub fn ok(&self, now: OffsetDateTime) {
        self.last_ok_ms
            .store(crate::store::to_ms(now), Ordering::Relaxed);
    }

    pub fn failed(&self, now: OffsetDateTime, error: &dyn std::fmt::Display) {
        self.last_error_ms
            .store(crate::store::to_ms(now), Ordering::Relaxed);
        if let Ok(mut last) = self.last_error.lock() {
            *last = Some(error.to_string().chars().take(300).collect());
        }
    }

    /// The last error, if the last exchange failed.
    pub fn last_error(&self) -> Option<String> {
        if self.reachable() {
            return None;
        }
        self.last_error.lock().ok().and_then(|e| e.clone())
    }

    /// The parent asked for a reconciliation at `at`: wakes [`LinkStatus::reconcile_wanted`]
    /// once per request, however many pulls carry it.
    pub fn reconcile_requested(&self, at: i64) {
        if self.reconcile_asked.swap(at, Ordering::Relaxed) != at {
            self.reconcile_wanted.notify_one();
        }
    }

    /// Waits for the parent's next request for a reconciliation, and returns its time.
    pub async fn reconcile_wanted(&self) -> i64 {
        self.reconcile_wanted.notified().await;
        self.reconcile_asked.load(Ordering::Relaxed)
    }

    pub fn add_pushed(&self, n: usize) {
        self.pushed
            .fetch_add(i64::try_from(n).unwrap_or(i64::MAX), Ordering::Relaxed);
    }

    pub fn add_pulled(&self, n: usize) {
        self.pulled
            .fetch_add(i64::try_from(n).unwrap_or(i64::MAX), Ordering::Relaxed);
    }

    /// Whether the last exchange succeeded (and there was one).
    pub fn reachable(&self) -> bool {
        let ok = self.last_ok_ms.load(Ordering::Relaxed);
        ok > 0 && ok >= self.last_error_ms.load(Ordering::Relaxed)
    }

    pub fn last_ok_ms(&self) -> i64 {
        self.last_ok_ms.load(Ordering::Relaxed)
    }

    pub fn pushed(&self) -> i64 {
        self.pushed.load(Ordering::Relaxed)
    }

    pub fn pulled(&self) -> i64 {
        self.pulled.load(Ordering::Relaxed)
    }
}

/// Exponential backoff with full jitter: attempt 0 waits up to `base`, each failure doubles
/// the ceiling up to `cap`. Jitter spreads 78 stations that lost the same link.
pub fn backoff(
    attempt: u32,
    base: std::time::Duration,
    cap: std::time::Duration,
) -> std::time::Duration {
    let ceiling = base
        .saturating_mul(2u32.saturating_pow(attempt.min(16)))
        .min(cap);
    let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX).max(1);
    std::time::Duration::from_nanos(random_u64() % nanos)
}

/// A random number from the standard library's per-process hasher keys: enough for jitter,
/// never for secrets.
fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn backoff_stays_under_its_ceiling_and_the_cap() {
        let base = Duration::from_millis(100);
        let cap = Duration::from_secs(30);
        for attempt in 0..40 {
            let ceiling = (base * 2u32.pow(attempt.min(16))).min(cap);
            for _ in 0..20 {
                assert!(backoff(attempt, base, cap) <= ceiling);
            }
        }
    }

    #[test]
    fn backoff_is_jittered() {
        let waits: std::collections::HashSet<_> = (0..50)
            .map(|_| backoff(10, Duration::from_millis(100), Duration::from_secs(30)))
            .collect();
        assert!(waits.len() > 10, "jitter spreads retries: {waits:?}");
    }
}
