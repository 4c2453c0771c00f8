//! Putting a signed bundle and this station's own roster in force together (one install
//! through the [`PolicyHandle`]), keeping both in the node's data folder, and restoring them at
//! start. A town also keeps its villages' rosters here, verbatim, to relay them: it verifies
//! them but never installs them.
//!
//! INVARIANT: on any refusal nothing is kept and nothing is put in force; the rosters' file is
//! written before the bundle's, and a kept roster is used only with the bundle of its number.

use std::path::PathBuf;

use bangban_domain::station::StationCode;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use time::OffsetDateTime;

use super::PolicyHandle;
use super::bundle::{BundleError, BundleStore, PublicKey, Received, Restored, verify};
use super::roster::{RosterSet, RosterStore, VerifiedRoster, verify_roster};

/// Where a node keeps its last good bundle and the rosters that go with it.
#[derive(Debug, Clone)]
pub struct Kept {
    pub bundles: BundleStore,
    pub rosters: RosterStore,
}

impl Kept {
    /// Both files in the node's data folder `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Kept {
        let dir = dir.into();
        Kept {
            bundles: BundleStore::new(dir.clone()),
            rosters: RosterStore::new(dir),
        }
    }

    /// The bundle in force, as its exact envelope bytes, with its number: what this node
    /// relays to its children. `None` while it runs on its policy files.
    pub fn in_force(&self, handle: &PolicyHandle) -> Option<(u64, Vec<u8>)> {
        let number = handle.current().bundle?;
        let bytes = self.bundles.read().ok().flatten()?;
        Some((number, bytes))
    }
}

/// What [`receive_set`] did.
#[derive(Debug, Clone)]
pub struct ReceivedSet {
    pub received: Received,
    /// How many agents this station's own roster lists (`None`: the set had no roster for it).
    pub agents: Option<usize>,
    /// The children's rosters kept to relay.
    pub relayed: usize,
    /// The children's rosters that did not verify, dropped (the rest applies).
    pub dropped: Vec<(StationCode, BundleError)>,
}

/// Takes a bundle and the rosters that go with it from the parent. The bundle is verified as
/// in [`super::bundle::receive`]; this station's roster (if the set has one) must verify for
/// `me`, the district and the bundle's number, or the whole set is refused; a child's roster
/// that does not verify is dropped and reported. Then the rosters, the bundle, and the policy
/// with this station's agents are kept and put in force.
pub fn receive_set(
    envelope: &[u8],
    rosters: Option<&RosterSet>,
    me: StationCode,
    pinned: &[PublicKey],
    handle: &PolicyHandle,
    kept: &Kept,
    now: OffsetDateTime,
) -> Result<ReceivedSet, BundleError> {
    let district = me.district();
    let last = handle.current().bundle;
    if let Some(number) = last {
        let bytes = kept
            .bundles
            .read()
            .map_err(|e| BundleError::Store(e.to_string()))?;
        if bytes.as_deref() == Some(envelope) {
            return Ok(ReceivedSet {
                received: Received::AlreadyInForce { number },
                agents: None,
                relayed: 0,
                dropped: Vec::new(),
            });
        }
    }
    let mut bundle = verify(envelope, pinned, district, last, now).map_err(|e| match e {
        BundleError::NotNewer { number, last } if number == last => {
            BundleError::NumberReused { number }
        }
        e => e,
    })?;
    let number = bundle.number;
    let mut own: Option<VerifiedRoster> = None;
    let mut children = Vec::new();
    let mut dropped = Vec::new();
    for entry in rosters.map(|s| s.rosters.as_slice()).unwrap_or_default() {
        let decoded = B64
            .decode(entry.envelope.as_bytes())
            .map_err(|_| BundleError::Base64("roster"));
        if entry.station == me {
            own = Some(verify_roster(&decoded?, pinned, district, me, number)?);
            continue;
        }
        let is_child = bundle
            .policy
            .topology
            .as_ref()
            .is_some_and(|t| t.is_direct_child(me, entry.station));
        if !is_child {
            // Not for this subtree: nothing to relay it to.
            continue;
        }
        match decoded
            .and_then(|bytes| verify_roster(&bytes, pinned, district, entry.station, number))
        {
            Ok(roster) => children.push(roster),
            Err(e) => dropped.push((entry.station, e)),
        }
    }
    let agents = own.as_ref().map(|r| r.agents.len());
    let relayed = children.len();
    let mut keep: Vec<VerifiedRoster> = own.iter().cloned().collect();
    keep.extend(children);
    kept.rosters
        .save(&RosterSet::from_verified(number, &keep))
        .map_err(|e| BundleError::Store(e.to_string()))?;
    kept.bundles
        .save(&bundle)
        .map_err(|e| BundleError::Store(e.to_string()))?;
    let expires_at = bundle.expires_at;
    bundle.policy.agents = own.map(|r| r.agents);
    let generation = handle.install(bundle.policy, number)?;
    handle.note_good(Some(expires_at));
    Ok(ReceivedSet {
        received: Received::Applied { number, generation },
        agents,
        relayed,
        dropped,
    })
}

/// What [`restore_set`] put in force at start.
#[derive(Debug, Clone)]
pub struct RestoredSet {
    pub restored: Restored,
    /// How many agents this station's kept roster lists (`None`: none kept for this bundle).
    pub agents: Option<usize>,
    /// Why the kept roster was not used, when one was kept but did not verify.
    pub roster_refused: Option<BundleError>,
}

/// At start: puts the kept bundle in force, verified again (an expired one too), with this
/// station's kept roster when it verifies for that bundle's number. `Ok(None)` when no bundle
/// is kept; on an error nothing is put in force.
pub fn restore_set(
    me: StationCode,
    pinned: &[PublicKey],
    handle: &PolicyHandle,
    kept: &Kept,
    now: OffsetDateTime,
) -> Result<Option<RestoredSet>, BundleError> {
    let district = me.district();
    let Some(mut bundle) = kept.bundles.load(pinned, district, now)? else {
        return Ok(None);
    };
    let number = bundle.number;
    let own = kept
        .rosters
        .read()
        .filter(|set| set.number == number)
        .and_then(|set| set.envelope_of(me))
        .map(|bytes| verify_roster(&bytes, pinned, district, me, number));
    let (agents, roster_refused) = match own {
        Some(Ok(roster)) => (Some(roster.agents), None),
        Some(Err(e)) => (None, Some(e)),
        None => (None, None),
    };
    let restored = Restored {
        number,
        expires_at: bundle.expires_at,
        expired: bundle.is_expired(now),
    };
    let count = agents.as_ref().map(Vec::len);
    bundle.policy.agents = agents;
    handle.install(bundle.policy, number)?;
    handle.note_good(Some(bundle.expires_at));
    Ok(Some(RestoredSet {
        restored,
        agents: count,
        roster_refused,
    }))
}

#[cfg(test)]
mod tests;
