//! The policy in force on a node: the working calendar, the catalogue of service items, the
//! district tree and, on a station, its own centre's agents. One [`PolicyHandle`] holds it; the
//! store, the operator API and the sync server all read it from there, and it can be replaced
//! while the node serves.
//!
//! INVARIANT: a request reads the policy once ([`PolicyHandle::current`]) and works on that
//! snapshot to its end, so it sees either the old policy or the new one, never a mix. A
//! replacement is one pointer swap: nothing restarts, no request waits on a reload.
//!
//! Where it comes from: the node's policy files at start, or the district's signed, numbered
//! bundles ([`bundle`]; the agents come in signed [`roster`]s), which travel down the tree
//! ([`serve`] on the parent, the station's puller) and go in force with their roster in one
//! install ([`apply`]). A node on the files reloads them on SIGHUP (a reload that does not check
//! leaves the policy in force untouched); a node running on a bundle ignores SIGHUP (logged):
//! only a newer bundle replaces a bundle, never the files.

pub mod apply;
pub mod bundle;
pub mod files;
pub mod roster;
pub mod serve;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, RwLock};

use bangban_domain::agent::Agent;
use bangban_domain::calendar::WorkingCalendar;
use bangban_domain::catalogue::Catalogue;
use bangban_domain::topology::Topology;
use time::OffsetDateTime;

/// One consistent set of policy data.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    pub calendar: WorkingCalendar,
    pub catalogue: Catalogue,
    /// The district tree; required on a node that serves children.
    pub topology: Option<Topology>,
    /// This centre's agents from the district's registry (its signed roster), when one is in
    /// force; `None` on a node that has received none (policy files, or the district itself,
    /// whose registry is its own table).
    pub agents: Option<Vec<Agent>>,
}

/// The policy in force, with when it was put in force, its generation (1 at start, +1 per
/// replacement) and the number of the signed bundle it came from (`None`: the policy files).
#[derive(Debug)]
pub struct InForce {
    pub policy: Policy,
    pub generation: u64,
    pub since: OffsetDateTime,
    pub bundle: Option<u64>,
}

impl std::ops::Deref for InForce {
    type Target = Policy;
    fn deref(&self) -> &Policy {
        &self.policy
    }
}

/// Why the last bundle offered to this node was refused, for the start page, `/readyz` and
/// `/metrics`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub at: OffsetDateTime,
    /// The reason's code (`policy_bundle.bad_signature`, …), the `reason` label in `/metrics`.
    pub code: &'static str,
    pub message_zh: String,
    pub message_en: String,
}

/// What a node reports about the signed bundles it was offered: the expiry of the bundle in
/// force, the last refusal (cleared once the parent offers a good bundle again) and how many
/// were refused since start, by reason.
#[derive(Debug, Clone, Default)]
pub struct BundleReport {
    pub expires_at: Option<OffsetDateTime>,
    pub last_refusal: Option<Refusal>,
    pub refusals: BTreeMap<&'static str, u64>,
}

impl BundleReport {
    /// Whether the bundle in force has expired at `now` (it stays in force: better than none).
    pub fn expired(&self, now: OffsetDateTime) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }
}

/// A shared, swappable handle on the policy in force. Cloning it shares it.
#[derive(Debug, Clone)]
pub struct PolicyHandle(Arc<RwLock<Arc<InForce>>>, Arc<Mutex<BundleReport>>);

impl PolicyHandle {
    pub fn new(policy: Policy) -> PolicyHandle {
        PolicyHandle(
            Arc::new(RwLock::new(Arc::new(InForce {
                policy,
                generation: 1,
                since: OffsetDateTime::now_utc(),
                bundle: None,
            }))),
            Arc::default(),
        )
    }

    /// What this node reports about its bundles.
    pub fn report(&self) -> BundleReport {
        self.report_mut().clone()
    }

    /// Notes a refused bundle (the policy in force stays).
    pub fn note_refusal(&self, error: &bundle::BundleError, now: OffsetDateTime) {
        use bangban_domain::Bilingual as _;
        let mut report = self.report_mut();
        *report.refusals.entry(error.code()).or_default() += 1;
        report.last_refusal = Some(Refusal {
            at: now,
            code: error.code(),
            message_zh: error.message_zh(),
            message_en: error.to_string(),
        });
    }

    /// Notes that the parent offers a good bundle (the one in force, or one just put in force
    /// expiring at `expires_at`): the last refusal is over.
    pub fn note_good(&self, expires_at: Option<OffsetDateTime>) {
        let mut report = self.report_mut();
        report.last_refusal = None;
        if expires_at.is_some() {
            report.expires_at = expires_at;
        }
    }

    fn report_mut(&self) -> std::sync::MutexGuard<'_, BundleReport> {
        match self.1.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// The policy in force now: a snapshot that stays the same for as long as it is held.
    pub fn current(&self) -> Arc<InForce> {
        match self.0.read() {
            Ok(guard) => guard.clone(),
            // A writer cannot panic while holding the lock (it only swaps a pointer); recover
            // the value anyway rather than fail every request.
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Puts `policy` in force at once; returns its generation. Requests already running keep
    /// their snapshot.
    pub fn replace(&self, policy: Policy) -> u64 {
        self.swap(policy, None)
    }

    /// Puts the policy of signed bundle `number` in force, unless a bundle of that number or a
    /// later one already is (checked under the lock, so two racing installs cannot go back);
    /// returns the new generation.
    pub fn install(&self, policy: Policy, number: u64) -> Result<u64, bundle::BundleError> {
        let mut guard = self.write();
        if let Some(last) = guard.bundle
            && number <= last
        {
            return Err(bundle::BundleError::NotNewer { number, last });
        }
        Ok(Self::put(&mut guard, policy, Some(number)))
    }

    fn swap(&self, policy: Policy, bundle: Option<u64>) -> u64 {
        Self::put(&mut self.write(), policy, bundle)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Arc<InForce>> {
        match self.0.write() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    fn put(guard: &mut Arc<InForce>, policy: Policy, bundle: Option<u64>) -> u64 {
        let generation = guard.generation + 1;
        *guard = Arc::new(InForce {
            policy,
            generation,
            since: OffsetDateTime::now_utc(),
            bundle,
        });
        generation
    }
}

impl From<Policy> for PolicyHandle {
    fn from(policy: Policy) -> Self {
        PolicyHandle::new(policy)
    }
}

/// A policy of just a calendar (no catalogue, no tree): enough for a store on its own.
impl From<Arc<WorkingCalendar>> for PolicyHandle {
    fn from(calendar: Arc<WorkingCalendar>) -> Self {
        PolicyHandle::new(Policy {
            calendar: WorkingCalendar::clone(&calendar),
            ..Policy::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_survives_a_replacement_and_generations_count_up() {
        let handle = PolicyHandle::new(Policy::default());
        let before = handle.current();
        assert_eq!(before.generation, 1);
        assert!(before.topology.is_none());
        let next = Policy {
            catalogue: Catalogue::from_json(include_str!(
                "../../../../deploy/policy/catalogue.json"
            ))
            .expect("catalogue"),
            ..Policy::default()
        };
        assert_eq!(handle.replace(next), 2);
        assert!(
            before.catalogue.get("410402-SCJG-001").is_none(),
            "the old snapshot is unchanged"
        );
        let after = handle.current();
        assert_eq!(after.generation, 2);
        assert!(after.catalogue.get("410402-SCJG-001").is_some());
        let shared = handle.clone();
        shared.replace(Policy::default());
        assert_eq!(handle.current().generation, 3, "clones share the policy");
    }
}
