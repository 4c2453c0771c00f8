//! Verifying a bundle's envelope and payload against the pinned keys.
//!
//! SECURITY-CRITICAL: nothing from the payload is read before a signature has verified.

use bangban_domain::calendar::WorkingCalendar;
use bangban_domain::catalogue::Catalogue;
use bangban_domain::station::StationCode;
use bangban_domain::topology::Topology;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use time::OffsetDateTime;

use super::{
    BundleError, Envelope, EnvelopeSignature, MAX_CLOCK_AHEAD, MAX_ENVELOPE_BYTES, MAX_PINNED_KEYS,
    MAX_SIGNATURES, PAYLOAD_TYPE, PublicKey, RawPayload, VerifiedBundle, pae,
};
use crate::policy::Policy;
// ---------------------------------------------------------------------------------------------
// Verification
// ---------------------------------------------------------------------------------------------

/// Verifies a bundle for `district` against the pinned keys (one, or two during a rotation):
/// some signature must verify under some pinned key; the payload must parse and pass the
/// domain's validators; the district must match; the number must be above `last_number` (the
/// bundle in force, if any); the bundle must not have expired at `now`, nor be issued more than
/// [`MAX_CLOCK_AHEAD`] after it.
///
/// An equal number is refused here ([`BundleError::NotNewer`]); [`receive`] first treats the
/// very bytes of the bundle in force as already applied.
pub fn verify(
    envelope: &[u8],
    pinned: &[PublicKey],
    district: StationCode,
    last_number: Option<u64>,
    now: OffsetDateTime,
) -> Result<VerifiedBundle, BundleError> {
    let bundle = verify_content(envelope, pinned, district, now)?;
    if let Some(last) = last_number
        && bundle.number <= last
    {
        return Err(BundleError::NotNewer {
            number: bundle.number,
            last,
        });
    }
    if bundle.is_expired(now) {
        return Err(BundleError::Expired {
            expires_at: bundle.expires_at,
        });
    }
    Ok(bundle)
}

/// Everything [`verify`] checks but the number and the expiry.
pub(super) fn verify_content(
    envelope: &[u8],
    pinned: &[PublicKey],
    district: StationCode,
    now: OffsetDateTime,
) -> Result<VerifiedBundle, BundleError> {
    let (payload, keyid) = open_envelope(envelope, PAYLOAD_TYPE, pinned)?;

    // Only now, with the signature checked, is the payload read.
    let raw: RawPayload =
        serde_json::from_slice(&payload).map_err(|e| BundleError::Payload(e.to_string()))?;
    let got = StationCode::parse(&raw.district).map_err(|_| BundleError::District(raw.district))?;
    if got != district {
        return Err(BundleError::WrongDistrict {
            expected: district,
            got,
        });
    }
    if raw.expires_at <= raw.issued_at {
        return Err(BundleError::InvertedPeriod {
            issued_at: raw.issued_at,
            expires_at: raw.expires_at,
        });
    }
    // A `now` at the end of time has nothing after it (and must not overflow).
    if now
        .checked_add(MAX_CLOCK_AHEAD)
        .is_some_and(|limit| raw.issued_at > limit)
    {
        return Err(BundleError::FromTheFuture {
            issued_at: raw.issued_at,
            now,
        });
    }
    let topology = Topology::from_json(&raw.topology.to_string()).map_err(BundleError::Topology)?;
    if topology.district() != got {
        return Err(BundleError::TreeDistrict {
            bundle: got,
            tree: topology.district(),
        });
    }
    let catalogue =
        Catalogue::from_json(&raw.catalogue.to_string()).map_err(BundleError::Catalogue)?;
    let calendar =
        WorkingCalendar::from_json(&raw.calendar.to_string()).map_err(BundleError::Calendar)?;
    Ok(VerifiedBundle {
        district: got,
        number: raw.number,
        issued_at: raw.issued_at,
        expires_at: raw.expires_at,
        keyid,
        policy: Policy {
            calendar,
            catalogue,
            topology: Some(topology),
            agents: None,
        },
        envelope: envelope.to_vec(),
    })
}

/// Checks an envelope of `payload_type` against the pinned keys; returns its payload bytes
/// (not read yet) and the id of the key whose signature verified.
pub(crate) fn open_envelope(
    envelope: &[u8],
    payload_type: &str,
    pinned: &[PublicKey],
) -> Result<(Vec<u8>, String), BundleError> {
    if pinned.is_empty() {
        return Err(BundleError::NoPinnedKeys);
    }
    if pinned.len() > MAX_PINNED_KEYS {
        return Err(BundleError::TooManyPinnedKeys(pinned.len()));
    }
    if envelope.len() > MAX_ENVELOPE_BYTES {
        return Err(BundleError::TooLarge {
            size: envelope.len(),
            max: MAX_ENVELOPE_BYTES,
        });
    }
    let parsed: Envelope =
        serde_json::from_slice(envelope).map_err(|e| BundleError::Envelope(e.to_string()))?;
    if parsed.payload_type != payload_type {
        return Err(BundleError::PayloadType(parsed.payload_type));
    }
    if parsed.signatures.len() > MAX_SIGNATURES {
        return Err(BundleError::TooManySignatures(parsed.signatures.len()));
    }
    let payload = B64
        .decode(parsed.payload.as_bytes())
        .map_err(|_| BundleError::Base64("payload"))?;
    let message = pae(payload_type, &payload);
    let keyid = check_signatures(&parsed.signatures, pinned, &message)?;

    Ok((payload, keyid))
}

/// The id of the first pinned key with a valid signature. A signature's `keyid` is only a
/// hint: an empty one is tried against every pinned key.
fn check_signatures(
    signatures: &[EnvelopeSignature],
    pinned: &[PublicKey],
    message: &[u8],
) -> Result<String, BundleError> {
    let ids: Vec<String> = pinned.iter().map(PublicKey::keyid).collect();
    let mut tried = false;
    for s in signatures {
        let Ok(sig) = B64.decode(s.sig.as_bytes()) else {
            return Err(BundleError::Base64("signature"));
        };
        for (key, id) in pinned.iter().zip(&ids) {
            if !s.keyid.is_empty() && s.keyid != *id {
                continue;
            }
            tried = true;
            if key.verifies(message, &sig) {
                return Ok(id.clone());
            }
        }
    }
    Err(if tried {
        BundleError::BadSignature
    } else {
        BundleError::UnknownKey
    })
}

/// What a bundle says about itself, read WITHOUT checking its signature: for the district's own
/// records and listings only, never to put anything in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BundleHead {
    pub district: StationCode,
    pub number: u64,
    pub issued_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

/// Reads a bundle's head without verifying it (see [`BundleHead`]).
pub fn peek(envelope: &[u8]) -> Result<BundleHead, BundleError> {
    if envelope.len() > MAX_ENVELOPE_BYTES {
        return Err(BundleError::TooLarge {
            size: envelope.len(),
            max: MAX_ENVELOPE_BYTES,
        });
    }
    let parsed: Envelope =
        serde_json::from_slice(envelope).map_err(|e| BundleError::Envelope(e.to_string()))?;
    if parsed.payload_type != PAYLOAD_TYPE {
        return Err(BundleError::PayloadType(parsed.payload_type));
    }
    let payload = B64
        .decode(parsed.payload.as_bytes())
        .map_err(|_| BundleError::Base64("payload"))?;
    let raw: RawPayload =
        serde_json::from_slice(&payload).map_err(|e| BundleError::Payload(e.to_string()))?;
    let district =
        StationCode::parse(&raw.district).map_err(|_| BundleError::District(raw.district))?;
    Ok(BundleHead {
        district,
        number: raw.number,
        issued_at: raw.issued_at,
        expires_at: raw.expires_at,
    })
}
