//! A bundle and this station's roster go in force together, or nothing does; a town keeps its
//! villages' rosters without installing them; the kept pair comes back at start.
#![allow(clippy::unwrap_used)]

use bangban_domain::agent::Agent;
use bangban_domain::calendar::WorkingCalendar;
use bangban_domain::catalogue::Catalogue;
use bangban_domain::topology::Topology;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use super::*;
use crate::policy::Policy;
use crate::policy::bundle::{BundlePayload, SigningKey};
use crate::policy::roster::{RosterEntry, RosterPayload};

const NOW: OffsetDateTime = datetime!(2026-03-02 09:00 +08:00);
const TOWN: &str = "410402001000";
const VILLAGE: &str = "410402001001";
const SIBLING: &str = "410402001002";

fn code(s: &str) -> StationCode {
    StationCode::parse(s).unwrap()
}

fn bundle(key: &SigningKey, number: u64) -> Vec<u8> {
    let payload = BundlePayload {
        district: code("410402000000"),
        number,
        issued_at: NOW - Duration::days(1),
        expires_at: NOW + Duration::days(30),
        topology: Topology::from_json(include_str!("../../../../../deploy/topology/xinhua.json"))
            .unwrap(),
        catalogue: Catalogue::from_json(include_str!(
            "../../../../../deploy/policy/catalogue.json"
        ))
        .unwrap(),
        calendar: WorkingCalendar::from_json(include_str!(
            "../../../../../deploy/policy/calendar.json"
        ))
        .unwrap(),
    };
    key.sign_envelope(&payload.to_bytes().unwrap())
}

fn agent(centre: &str, badge: &str) -> Agent {
    serde_json::from_value(serde_json::json!({
        "name": "王芳", "id_number": "11010519491231002X", "phone": "13812345678",
        "centre": centre, "role": "assisting_agent", "badge_no": badge,
        "filed_on": "2026-03-01", "status": "active",
    }))
    .unwrap()
}

/// A roster filed under `under`, claiming `station`, for bundle `number`.
fn roster(key: &SigningKey, under: &str, station: &str, number: u64, agents: usize) -> RosterEntry {
    let payload = RosterPayload {
        district: code("410402000000"),
        station: code(station),
        number,
        issued_at: NOW - Duration::days(1),
        expires_at: NOW + Duration::days(30),
        agents: (0..agents)
            .map(|i| agent(station, &format!("B{i}")))
            .collect(),
    };
    RosterEntry::new(code(under), &payload.sign(key).unwrap())
}

#[test]
fn a_town_installs_its_own_agents_and_keeps_its_villages_rosters_verbatim() {
    let dir = tempfile::tempdir().unwrap();
    let kept = Kept::new(dir.path());
    let key = SigningKey::generate().unwrap();
    let handle = PolicyHandle::new(Policy::default());
    let set = RosterSet {
        number: 1,
        rosters: vec![
            roster(&key, TOWN, TOWN, 1, 2),
            roster(&key, VILLAGE, VILLAGE, 1, 3),
            // Filed under the sibling's code, but the sibling's roster claims the village.
            roster(&key, SIBLING, VILLAGE, 1, 1),
        ],
    };
    let got = receive_set(
        &bundle(&key, 1),
        Some(&set),
        code(TOWN),
        &[key.public_key()],
        &handle,
        &kept,
        NOW,
    )
    .unwrap();
    assert!(matches!(got.received, Received::Applied { number: 1, .. }));
    assert_eq!(got.agents, Some(2));
    assert_eq!(got.relayed, 1);
    assert_eq!(got.dropped.len(), 1);
    assert_eq!(got.dropped[0].0, code(SIBLING));
    let in_force = handle.current();
    assert_eq!(in_force.bundle, Some(1));
    let agents = in_force.agents.as_ref().unwrap();
    assert_eq!(agents.len(), 2);
    assert!(
        agents.iter().all(|a| a.centre == code(TOWN)),
        "own agents only"
    );
    let relayed = kept.rosters.read().unwrap();
    assert_eq!(
        relayed.envelope_of(code(VILLAGE)),
        set.envelope_of(code(VILLAGE))
    );
    assert!(relayed.envelope_of(code(SIBLING)).is_none());

    // At start, the pair comes back.
    let again = PolicyHandle::new(Policy::default());
    let restored = restore_set(code(TOWN), &[key.public_key()], &again, &kept, NOW)
        .unwrap()
        .unwrap();
    assert_eq!(restored.restored.number, 1);
    assert_eq!(restored.agents, Some(2));
    assert_eq!(again.current().agents.as_ref().unwrap().len(), 2);
}

#[test]
fn a_bad_own_roster_refuses_the_whole_set_and_nothing_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let kept = Kept::new(dir.path());
    let key = SigningKey::generate().unwrap();
    let handle = PolicyHandle::new(Policy::default());
    let pinned = [key.public_key()];
    for (entry, code_) in [
        (
            roster(&key, VILLAGE, SIBLING, 1, 1),
            "policy_bundle.roster_station",
        ),
        (
            roster(&key, VILLAGE, VILLAGE, 2, 1),
            "policy_bundle.roster_number",
        ),
        (
            roster(&SigningKey::generate().unwrap(), VILLAGE, VILLAGE, 1, 1),
            "policy_bundle.unknown_key",
        ),
    ] {
        let set = RosterSet {
            number: 1,
            rosters: vec![entry],
        };
        let e = receive_set(
            &bundle(&key, 1),
            Some(&set),
            code(VILLAGE),
            &pinned,
            &handle,
            &kept,
            NOW,
        )
        .unwrap_err();
        use bangban_domain::Bilingual as _;
        assert_eq!(e.code(), code_);
        assert_eq!(handle.current().bundle, None, "nothing in force");
        assert!(kept.bundles.read().unwrap().is_none(), "nothing kept");
        assert!(kept.rosters.read().is_none());
    }
}

#[test]
fn a_kept_roster_of_another_number_is_not_restored() {
    let dir = tempfile::tempdir().unwrap();
    let kept = Kept::new(dir.path());
    let key = SigningKey::generate().unwrap();
    let pinned = [key.public_key()];
    let handle = PolicyHandle::new(Policy::default());
    let set = RosterSet {
        number: 1,
        rosters: vec![roster(&key, VILLAGE, VILLAGE, 1, 2)],
    };
    receive_set(
        &bundle(&key, 1),
        Some(&set),
        code(VILLAGE),
        &pinned,
        &handle,
        &kept,
        NOW,
    )
    .unwrap();
    // A crash between the two files: the bundle file is newer than the rosters' file.
    std::fs::write(kept.bundles.path(), bundle(&key, 2)).unwrap();
    let again = PolicyHandle::new(Policy::default());
    let restored = restore_set(code(VILLAGE), &pinned, &again, &kept, NOW)
        .unwrap()
        .unwrap();
    assert_eq!(restored.restored.number, 2);
    assert_eq!(restored.agents, None);
    assert!(again.current().agents.is_none());
}
