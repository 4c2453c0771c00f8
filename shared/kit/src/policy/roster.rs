//! Agent rosters: each centre's agents from the district's registry, as a second DSSE document
//! signed by the same policy key as the bundle of the same number. A station installs only its
//! own roster, together with the bundle (one atomic install); a town keeps and relays its
//! villages' rosters verbatim and never installs them (it can read them: they are signed, not
//! encrypted).
//!
//! SECURITY-CRITICAL: a roster is read only after its signature verified against a pinned key,
//! and only for the station, district and bundle number the caller expects.

use std::path::PathBuf;

use bangban_domain::agent::Agent;
use bangban_domain::station::StationCode;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::bundle::{BundleError, PublicKey, SigningKey, open_envelope, write_atomically};

/// The DSSE payload type of a roster.
pub const ROSTER_PAYLOAD_TYPE: &str = "application/vnd.bangban.agents+json";
/// The file the rosters of the last good bundle are kept in, next to the bundle's file.
pub const ROSTERS_FILE: &str = "policy-rosters.json";

/// What a roster carries.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RosterPayload {
    pub district: StationCode,
    pub station: StationCode,
    /// The number of the bundle this roster goes with.
    pub number: u64,
    #[serde(with = "time::serde::rfc3339")]
    pub issued_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    pub agents: Vec<Agent>,
}

impl RosterPayload {
    /// Signs the roster into its envelope bytes.
    pub fn sign(&self, key: &SigningKey) -> Result<Vec<u8>, BundleError> {
        let bytes =
            serde_json::to_vec_pretty(self).map_err(|e| BundleError::Payload(e.to_string()))?;
        Ok(key.sign_envelope_as(ROSTER_PAYLOAD_TYPE, &bytes))
    }
}

/// A roster whose signature, district, station and number have been checked.
#[derive(Debug, Clone)]
pub struct VerifiedRoster {
    pub station: StationCode,
    pub number: u64,
    pub agents: Vec<Agent>,
    /// The exact envelope bytes, to keep and to relay verbatim.
    pub envelope: Vec<u8>,
}

/// Verifies a roster for `station` of `district` that goes with bundle `number`. Every agent
/// must be of `station` and pass the registry's validators.
pub fn verify_roster(
    envelope: &[u8],
    pinned: &[PublicKey],
    district: StationCode,
    station: StationCode,
    number: u64,
) -> Result<VerifiedRoster, BundleError> {
    let (payload, _keyid) = open_envelope(envelope, ROSTER_PAYLOAD_TYPE, pinned)?;
    // Only now, with the signature checked, is the payload read.
    let roster: RosterPayload =
        serde_json::from_slice(&payload).map_err(|e| BundleError::Payload(e.to_string()))?;
    if roster.district != district {
        return Err(BundleError::WrongDistrict {
            expected: district,
            got: roster.district,
        });
    }
    if roster.station != station {
        return Err(BundleError::RosterStation {
            expected: station,
            got: roster.station,
        });
    }
    if roster.number != number {
        return Err(BundleError::RosterNumber {
            expected: number,
            got: roster.number,
        });
    }
    for agent in &roster.agents {
        if agent.centre != station {
            return Err(BundleError::RosterStation {
                expected: station,
                got: agent.centre,
            });
        }
        agent
            .validate()
            .map_err(|e| BundleError::Payload(e.to_string()))?;
    }
    Ok(VerifiedRoster {
        station,
        number,
        agents: roster.agents,
        envelope: envelope.to_vec(),
    })
}

/// One station's roster as it travels and is kept: the station and the exact envelope bytes
/// (standard base64).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RosterEntry {
    /// The station's 12-digit code. 站点代码。
    #[schema(value_type = String, example = "410402001001")]
    pub station: StationCode,
    /// The signed roster envelope, base64. 签名名册信封（base64）。
    pub envelope: String,
}

impl RosterEntry {
    /// The entry of `station`'s roster envelope bytes.
    pub fn new(station: StationCode, envelope: &[u8]) -> RosterEntry {
        RosterEntry {
            station,
            envelope: B64.encode(envelope),
        }
    }
}

/// The rosters that go with bundle `number`: the caller's own and, for a town, its villages'.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RosterSet {
    /// The bundle number the rosters go with. 对应的政策包编号。
    pub number: u64,
    pub rosters: Vec<RosterEntry>,
}

impl RosterSet {
    /// The envelope bytes of `station`'s roster, if the set has one that decodes.
    pub fn envelope_of(&self, station: StationCode) -> Option<Vec<u8>> {
        self.rosters
            .iter()
            .find(|r| r.station == station)
            .and_then(|r| B64.decode(r.envelope.as_bytes()).ok())
    }

    /// The rosters of `stations` only (what one caller may have).
    pub fn only(&self, stations: impl Fn(StationCode) -> bool) -> RosterSet {
        RosterSet {
            number: self.number,
            rosters: self
                .rosters
                .iter()
                .filter(|r| stations(r.station))
                .cloned()
                .collect(),
        }
    }

    pub fn from_verified(number: u64, rosters: &[VerifiedRoster]) -> RosterSet {
        RosterSet {
            number,
            rosters: rosters
                .iter()
                .map(|r| RosterEntry::new(r.station, &r.envelope))
                .collect(),
        }
    }
}

/// The rosters of the last good bundle, kept in one file of the node's data folder.
#[derive(Debug, Clone)]
pub struct RosterStore {
    dir: PathBuf,
}

impl RosterStore {
    pub fn new(dir: impl Into<PathBuf>) -> RosterStore {
        RosterStore { dir: dir.into() }
    }

    pub fn path(&self) -> PathBuf {
        self.dir.join(ROSTERS_FILE)
    }

    /// The kept set; `None` when there is none (or it no longer reads: it is checked again
    /// against the bundle whenever it is used).
    pub fn read(&self) -> Option<RosterSet> {
        let bytes = std::fs::read(self.path()).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Keeps `set` atomically (see [`write_atomically`]).
    pub fn save(&self, set: &RosterSet) -> std::io::Result<()> {
        let bytes = serde_json::to_vec(set).map_err(std::io::Error::other)?;
        write_atomically(&self.path(), &bytes)
    }
}
