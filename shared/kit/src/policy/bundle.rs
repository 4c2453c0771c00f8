//! Signed policy bundles: the district's tree, catalogue and calendar as one numbered, immutable
//! document, signed with the district's Ed25519 policy key, verified by the stations against the
//! keys pinned in their settings, kept on disk as the last good bundle and put in force through
//! the [`PolicyHandle`].
//!
//! Format. The payload is JSON bytes (see [`BundlePayload`]); the envelope is DSSE's
//! (<https://github.com/secure-systems-lab/dsse/blob/master/protocol.md>):
//! `{"payloadType": PAYLOAD_TYPE, "payload": base64(bytes), "signatures": [{"keyid", "sig"}]}`,
//! each signature Ed25519 over `PAE(payloadType, payload)`, base64 standard and padded (stricter
//! than DSSE, which also allows URL-safe or unpadded). There is no canonical JSON: the exact
//! payload bytes are signed, and the exact envelope bytes are relayed and kept.
//!
//! Keys. The private key is a PKCS#8 (v2) document in PEM (`-----BEGIN PRIVATE KEY-----`; raw
//! DER is read too); the public key is the standard base64 of its 32 raw bytes, the form pinned
//! in a station's settings. A key's id is the lowercase hex of SHA-256 of those 32 bytes.
//!
//! SECURITY-CRITICAL: nothing from a bundle is used before its signature has verified against a
//! pinned key, and no input, however malformed, may panic here.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use aws_lc_rs::digest;
use aws_lc_rs::signature::{self, Ed25519KeyPair, KeyPair as _, UnparsedPublicKey};
use bangban_domain::Bilingual;
use bangban_domain::calendar::{CalendarError, WorkingCalendar};
use bangban_domain::catalogue::{Catalogue, CatalogueError};
use bangban_domain::station::StationCode;
use bangban_domain::topology::{Topology, TopologyError};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use super::{Policy, PolicyHandle};

/// The DSSE payload type of a policy bundle.
pub const PAYLOAD_TYPE: &str = "application/vnd.bangban.policy+json";
/// The largest envelope a station reads (the shipped policy is well under 1 MiB).
pub const MAX_ENVELOPE_BYTES: usize = 16 * 1024 * 1024;
/// At most this many keys are pinned: the key in use and the next one (rotation).
pub const MAX_PINNED_KEYS: usize = 2;
/// At most this many signatures are looked at (each costs a verification).
pub const MAX_SIGNATURES: usize = 8;
/// How far a bundle's time of issue may lie ahead of the station's clock (clocks drift).
pub const MAX_CLOCK_AHEAD: Duration = Duration::hours(1);
/// The file the last good bundle is kept in, in the node's data folder.
pub const BUNDLE_FILE: &str = "policy-bundle.json";

// ---------------------------------------------------------------------------------------------
// Keys
// ---------------------------------------------------------------------------------------------

/// A pinned Ed25519 public key (32 raw bytes).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublicKey([u8; 32]);

impl PublicKey {
    /// Reads the standard base64 of the 32 raw bytes (surrounding whitespace ignored), the form
    /// of `policy.pub` and of a station's pinned keys.
    pub fn parse(text: &str) -> Result<PublicKey, KeyError> {
        let raw = B64
            .decode(text.trim().as_bytes())
            .map_err(|_| KeyError::PublicNotBase64)?;
        let raw: [u8; 32] = raw
            .try_into()
            .map_err(|v: Vec<u8>| KeyError::PublicLength(v.len()))?;
        Ok(PublicKey(raw))
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The standard base64 of the raw key, as pinned.
    pub fn to_base64(&self) -> String {
        B64.encode(self.0)
    }

    /// The key id: lowercase hex of SHA-256 of the raw key.
    pub fn keyid(&self) -> String {
        hex(digest::digest(&digest::SHA256, &self.0).as_ref())
    }

    fn verifies(&self, message: &[u8], sig: &[u8]) -> bool {
        UnparsedPublicKey::new(&signature::ED25519, &self.0)
            .verify(message, sig)
            .is_ok()
    }
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PublicKey({})", self.keyid())
    }
}

impl std::str::FromStr for PublicKey {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PublicKey::parse(s)
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Why a key file or a pinned key was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("the public key is not base64")]
    PublicNotBase64,
    #[error("the public key has {0} bytes; an Ed25519 key has 32")]
    PublicLength(usize),
    #[error("the private key is not a PEM \"PRIVATE KEY\" block nor DER")]
    PrivateNotPem,
    #[error("the private key is not an Ed25519 PKCS#8 key: {0}")]
    PrivateRejected(String),
    #[error("no Ed25519 key could be generated")]
    Generate,
}

const PEM_BEGIN: &str = "-----BEGIN PRIVATE KEY-----";
const PEM_END: &str = "-----END PRIVATE KEY-----";

/// The district's Ed25519 policy key. Never leaves the district; never printed.
pub struct SigningKey {
    pair: Ed25519KeyPair,
    pkcs8: Vec<u8>,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({})", self.public_key().keyid())
    }
}

impl SigningKey {
    /// A new random key.
    pub fn generate() -> Result<SigningKey, KeyError> {
        let pkcs8 = Ed25519KeyPair::generate()
            .and_then(|pair| pair.to_pkcs8())
            .map_err(|_| KeyError::Generate)?;
        SigningKey::from_der(pkcs8.as_ref())
    }

    /// Reads a PKCS#8 key: PEM (`PRIVATE KEY`) or raw DER.
    pub fn from_pkcs8(bytes: &[u8]) -> Result<SigningKey, KeyError> {
        match std::str::from_utf8(bytes) {
            Ok(text) if text.trim_start().starts_with("-----BEGIN") => {
                let body = text
                    .trim()
                    .strip_prefix(PEM_BEGIN)
                    .and_then(|rest| rest.strip_suffix(PEM_END))
                    .ok_or(KeyError::PrivateNotPem)?;
                let b64: String = body.chars().filter(|c| !c.is_whitespace()).collect();
                let der = B64.decode(b64).map_err(|_| KeyError::PrivateNotPem)?;
                SigningKey::from_der(&der)
            }
            _ => SigningKey::from_der(bytes),
        }
    }

    fn from_der(der: &[u8]) -> Result<SigningKey, KeyError> {
        let pair = Ed25519KeyPair::from_pkcs8(der)
            .map_err(|e| KeyError::PrivateRejected(e.to_string()))?;
        Ok(SigningKey {
            pair,
            pkcs8: der.to_vec(),
        })
    }

    /// The key as a PEM PKCS#8 document (for `policy.key`).
    pub fn to_pem(&self) -> String {
        let b64 = B64.encode(&self.pkcs8);
        let mut pem = String::from(PEM_BEGIN);
        pem.push('\n');
        for line in b64.as_bytes().chunks(64) {
            pem.push_str(&String::from_utf8_lossy(line));
            pem.push('\n');
        }
        pem.push_str(PEM_END);
        pem.push('\n');
        pem
    }

    pub fn public_key(&self) -> PublicKey {
        let mut raw = [0u8; 32];
        let public = self.pair.public_key().as_ref();
        if public.len() == 32 {
            raw.copy_from_slice(public);
        }
        PublicKey(raw)
    }

    /// Signs `payload` (the exact bytes) into a DSSE envelope, returned as its JSON bytes.
    pub fn sign_envelope(&self, payload: &[u8]) -> Vec<u8> {
        let sig = self.pair.sign(&pae(PAYLOAD_TYPE, payload));
        let envelope = Envelope {
            payload_type: PAYLOAD_TYPE.to_owned(),
            payload: B64.encode(payload),
            signatures: vec![EnvelopeSignature {
                keyid: self.public_key().keyid(),
                sig: B64.encode(sig.as_ref()),
            }],
        };
        // Serialising a struct of strings cannot fail; fall back to nothing rather than panic.
        serde_json::to_vec(&envelope).unwrap_or_default()
    }
}

/// DSSE's pre-authentication encoding: `"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`,
/// lengths as ASCII decimal byte counts.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + payload_type.len() + 32);
    out.extend_from_slice(b"DSSEv1 ");
    out.extend_from_slice(payload_type.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload_type.as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload);
    out
}

// ---------------------------------------------------------------------------------------------
// Envelope and payload
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Envelope {
    payload_type: String,
    payload: String,
    signatures: Vec<EnvelopeSignature>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct EnvelopeSignature {
    /// A hint only (DSSE): may be empty, and is not trusted.
    #[serde(default)]
    keyid: String,
    sig: String,
}

/// What a bundle carries, as the district publishes it. The tree, the catalogue and the
/// calendar have the JSON shapes of their policy files.
#[derive(Debug, Clone, Serialize)]
pub struct BundlePayload {
    pub district: StationCode,
    /// Grows by at least one with every bundle the district publishes.
    pub number: u64,
    #[serde(with = "time::serde::rfc3339")]
    pub issued_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    pub topology: Topology,
    pub catalogue: Catalogue,
    pub calendar: WorkingCalendar,
}

impl BundlePayload {
    /// The payload bytes to sign (pretty JSON, so that a person can read a kept bundle).
    pub fn to_bytes(&self) -> Result<Vec<u8>, BundleError> {
        serde_json::to_vec_pretty(self).map_err(|e| BundleError::Payload(e.to_string()))
    }
}

/// The payload as read: the three documents are parsed again by the domain's own validators.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPayload {
    district: String,
    number: u64,
    #[serde(with = "time::serde::rfc3339")]
    issued_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    expires_at: OffsetDateTime,
    topology: serde_json::Value,
    catalogue: serde_json::Value,
    calendar: serde_json::Value,
}

/// A bundle whose signature, content, district, number and dates have been checked.
#[derive(Debug, Clone)]
pub struct VerifiedBundle {
    pub district: StationCode,
    pub number: u64,
    pub issued_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    /// The id of the pinned key whose signature verified.
    pub keyid: String,
    pub policy: Policy,
    /// The exact envelope bytes, to keep and to relay verbatim.
    pub envelope: Vec<u8>,
}

impl VerifiedBundle {
    pub fn is_expired(&self, now: OffsetDateTime) -> bool {
        self.expires_at <= now
    }
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/// Why a bundle was refused. The station keeps the policy in force and reports the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BundleError {
    #[error("the bundle has {size} bytes, over the limit of {max}")]
    TooLarge { size: usize, max: usize },
    #[error("the bundle is not a DSSE envelope: {0}")]
    Envelope(String),
    #[error("the bundle's payload type is {0:?}, not {PAYLOAD_TYPE}")]
    PayloadType(String),
    #[error("the bundle's {0} is not valid base64")]
    Base64(&'static str),
    #[error("no policy key is pinned, so no bundle can be verified")]
    NoPinnedKeys,
    #[error("{0} policy keys are pinned; at most {MAX_PINNED_KEYS} are allowed")]
    TooManyPinnedKeys(usize),
    #[error("the bundle has {0} signatures; at most {MAX_SIGNATURES} are read")]
    TooManySignatures(usize),
    #[error("the bundle is not signed by a pinned key")]
    UnknownKey,
    #[error("the bundle's signature does not verify (tampered with, or a wrong key)")]
    BadSignature,
    #[error("the bundle's payload is not valid JSON of the expected shape: {0}")]
    Payload(String),
    #[error("the bundle's district {0:?} is not a district code")]
    District(String),
    #[error("the bundle's district tree: {0}")]
    Topology(TopologyError),
    #[error("the bundle's catalogue: {0}")]
    Catalogue(CatalogueError),
    #[error("the bundle's calendar: {0}")]
    Calendar(CalendarError),
    #[error("the bundle is for district {bundle} but its tree is district {tree}'s")]
    TreeDistrict {
        bundle: StationCode,
        tree: StationCode,
    },
    #[error("the bundle is for district {got}, not {expected}")]
    WrongDistrict {
        expected: StationCode,
        got: StationCode,
    },
    #[error("bundle {number} is not newer than bundle {last}, which is in force")]
    NotNewer { number: u64, last: u64 },
    #[error("bundle {number} differs from the bundle of the same number in force")]
    NumberReused { number: u64 },
    #[error("the bundle expired at {expires_at}")]
    Expired { expires_at: OffsetDateTime },
    #[error("the bundle expires ({expires_at}) before it is issued ({issued_at})")]
    InvertedPeriod {
        issued_at: OffsetDateTime,
        expires_at: OffsetDateTime,
    },
    #[error("the bundle is issued at {issued_at}, ahead of this node's clock ({now})")]
    FromTheFuture {
        issued_at: OffsetDateTime,
        now: OffsetDateTime,
    },
    #[error("the last good bundle could not be kept: {0}")]
    Store(String),
}

impl Bilingual for BundleError {
    fn code(&self) -> &'static str {
        match self {
            BundleError::TooLarge { .. } => "policy_bundle.too_large",
            BundleError::Envelope(_) => "policy_bundle.envelope",
            BundleError::PayloadType(_) => "policy_bundle.payload_type",
            BundleError::Base64(_) => "policy_bundle.base64",
            BundleError::NoPinnedKeys => "policy_bundle.no_pinned_keys",
            BundleError::TooManyPinnedKeys(_) => "policy_bundle.too_many_pinned_keys",
            BundleError::TooManySignatures(_) => "policy_bundle.too_many_signatures",
            BundleError::UnknownKey => "policy_bundle.unknown_key",
            BundleError::BadSignature => "policy_bundle.bad_signature",
            BundleError::Payload(_) => "policy_bundle.payload",
            BundleError::District(_) => "policy_bundle.district",
            BundleError::Topology(_) => "policy_bundle.topology",
            BundleError::Catalogue(_) => "policy_bundle.catalogue",
            BundleError::Calendar(_) => "policy_bundle.calendar",
            BundleError::TreeDistrict { .. } => "policy_bundle.tree_district",
            BundleError::WrongDistrict { .. } => "policy_bundle.wrong_district",
            BundleError::NotNewer { .. } => "policy_bundle.not_newer",
            BundleError::NumberReused { .. } => "policy_bundle.number_reused",
            BundleError::Expired { .. } => "policy_bundle.expired",
            BundleError::InvertedPeriod { .. } => "policy_bundle.inverted_period",
            BundleError::FromTheFuture { .. } => "policy_bundle.from_the_future",
            BundleError::Store(_) => "policy_bundle.store",
        }
    }

    fn message_zh(&self) -> String {
        match self {
            BundleError::TooLarge { size, max } => {
                format!("政策包过大：{size} 字节，上限 {max} 字节")
            }
            BundleError::Envelope(e) => format!("政策包不是有效的签名信封：{e}"),
            BundleError::PayloadType(t) => {
                format!("政策包的内容类型为 {t:?}，应为 {PAYLOAD_TYPE}")
            }
            BundleError::Base64(what) => format!("政策包的 {what} 不是有效的 base64"),
            BundleError::NoPinnedKeys => "未配置区政策公钥，无法验证政策包".to_owned(),
            BundleError::TooManyPinnedKeys(n) => {
                format!("配置了 {n} 个政策公钥，最多 {MAX_PINNED_KEYS} 个")
            }
            BundleError::TooManySignatures(n) => {
                format!("政策包有 {n} 个签名，最多读取 {MAX_SIGNATURES} 个")
            }
            BundleError::UnknownKey => "政策包不是由已配置的区政策密钥签名的".to_owned(),
            BundleError::BadSignature => "政策包签名验证失败（内容被改动或密钥不符）".to_owned(),
            BundleError::Payload(e) => format!("政策包内容格式有误：{e}"),
            BundleError::District(c) => format!("政策包的区县代码 {c:?} 无效"),
            BundleError::Topology(e) => format!("政策包中的中心树有误：{e}"),
            BundleError::Catalogue(e) => format!("政策包中的{}", e.message_zh()),
            BundleError::Calendar(e) => format!("政策包中的工作日历有误：{e}"),
            BundleError::TreeDistrict { bundle, tree } => {
                format!("政策包属于 {bundle}，但其中心树属于 {tree}")
            }
            BundleError::WrongDistrict { expected, got } => {
                format!("政策包属于 {got}，不是本区 {expected}")
            }
            BundleError::NotNewer { number, last } => {
                format!("政策包 {number} 号不比在用的 {last} 号新")
            }
            BundleError::NumberReused { number } => {
                format!("政策包 {number} 号与在用的同号政策包内容不同")
            }
            BundleError::Expired { expires_at } => {
                format!("政策包已于 {expires_at} 过期")
            }
            BundleError::InvertedPeriod {
                issued_at,
                expires_at,
            } => format!("政策包的到期时间（{expires_at}）早于发布时间（{issued_at}）"),
            BundleError::FromTheFuture { issued_at, now } => {
                format!("政策包的发布时间 {issued_at} 晚于本机时间 {now}")
            }
            BundleError::Store(e) => format!("无法保存政策包：{e}"),
        }
    }
}

/// A refused bundle is the sender's problem (422, the reason in both languages); a bundle that
/// could not be kept is this node's (500, no paths or OS errors shown).
impl From<BundleError> for crate::http::Problem {
    fn from(e: BundleError) -> Self {
        use axum::http::StatusCode;
        match e {
            BundleError::Store(_) => {
                tracing::error!(error = %e, "policy bundle not kept");
                crate::http::Problem::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    e.code(),
                    "无法保存政策包，在用的政策不变".to_owned(),
                    "the policy bundle could not be kept; the policy in force is unchanged"
                        .to_owned(),
                )
            }
            e => crate::http::Problem::from_domain(StatusCode::UNPROCESSABLE_ENTITY, &e),
        }
    }
}

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
fn verify_content(
    envelope: &[u8],
    pinned: &[PublicKey],
    district: StationCode,
    now: OffsetDateTime,
) -> Result<VerifiedBundle, BundleError> {
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
    if parsed.payload_type != PAYLOAD_TYPE {
        return Err(BundleError::PayloadType(parsed.payload_type));
    }
    if parsed.signatures.len() > MAX_SIGNATURES {
        return Err(BundleError::TooManySignatures(parsed.signatures.len()));
    }
    let payload = B64
        .decode(parsed.payload.as_bytes())
        .map_err(|_| BundleError::Base64("payload"))?;
    let message = pae(&parsed.payload_type, &payload);
    let keyid = check_signatures(&parsed.signatures, pinned, &message)?;

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

// ---------------------------------------------------------------------------------------------
// The last good bundle, and putting a bundle in force
// ---------------------------------------------------------------------------------------------

/// The last good bundle, kept as its exact envelope bytes in one file of the node's data folder.
#[derive(Debug, Clone)]
pub struct BundleStore {
    dir: PathBuf,
}

impl BundleStore {
    pub fn new(dir: impl Into<PathBuf>) -> BundleStore {
        BundleStore { dir: dir.into() }
    }

    pub fn path(&self) -> PathBuf {
        self.dir.join(BUNDLE_FILE)
    }

    /// The kept envelope bytes, if any.
    pub fn read(&self) -> std::io::Result<Option<Vec<u8>>> {
        match std::fs::read(self.path()) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Keeps `bundle`'s envelope atomically: a temporary file, written and synced, renamed over
    /// the kept one, then the folder synced. A crash leaves the old bundle or the new, whole.
    pub fn save(&self, bundle: &VerifiedBundle) -> std::io::Result<()> {
        write_atomically(&self.path(), &bundle.envelope)
    }

    /// Loads and verifies again the kept bundle (at start). An expired bundle still loads:
    /// offline, the last good bundle is better than none; the caller reports its expiry.
    pub fn load(
        &self,
        pinned: &[PublicKey],
        district: StationCode,
        now: OffsetDateTime,
    ) -> Result<Option<VerifiedBundle>, BundleError> {
        match self.read() {
            Ok(None) => Ok(None),
            Ok(Some(bytes)) => verify_content(&bytes, pinned, district, now).map(Some),
            Err(e) => Err(BundleError::Store(format!(
                "{}: {e}",
                self.path().display()
            ))),
        }
    }
}

/// Writes `bytes` to `path` through a synced temporary file in the same folder and a rename.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let written = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written?;
    // The rename is durable once the folder is synced (not possible on every platform).
    if let Ok(d) = std::fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// What [`receive`] did with a bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Received {
    /// The bundle is now in force, at this policy generation.
    Applied { number: u64, generation: u64 },
    /// The very bytes of the bundle in force: nothing to do.
    AlreadyInForce { number: u64 },
}

/// Takes a bundle from the parent: verifies it against the bundle in force, keeps it as the
/// last good bundle, then puts it in force. On any error the policy in force and the kept
/// bundle stay as they were.
pub fn receive(
    envelope: &[u8],
    pinned: &[PublicKey],
    district: StationCode,
    handle: &PolicyHandle,
    store: &BundleStore,
    now: OffsetDateTime,
) -> Result<Received, BundleError> {
    let last = handle.current().bundle;
    if let Some(number) = last {
        let kept = store
            .read()
            .map_err(|e| BundleError::Store(e.to_string()))?;
        if kept.as_deref() == Some(envelope) {
            return Ok(Received::AlreadyInForce { number });
        }
    }
    let bundle = verify(envelope, pinned, district, last, now).map_err(|e| match e {
        BundleError::NotNewer { number, last } if number == last => {
            BundleError::NumberReused { number }
        }
        e => e,
    })?;
    store
        .save(&bundle)
        .map_err(|e| BundleError::Store(e.to_string()))?;
    let number = bundle.number;
    let generation = handle.install(bundle.policy, number)?;
    Ok(Received::Applied { number, generation })
}

/// The bundle [`restore`] put in force at start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Restored {
    pub number: u64,
    pub expires_at: OffsetDateTime,
    /// Past its expiry: still in force (better than none while offline), to be reported.
    pub expired: bool,
}

/// At start: puts the kept last good bundle in force, verified again (an expired one too, see
/// [`BundleStore::load`]). `Ok(None)` when none is kept; on an error nothing is put in force.
pub fn restore(
    store: &BundleStore,
    pinned: &[PublicKey],
    district: StationCode,
    handle: &PolicyHandle,
    now: OffsetDateTime,
) -> Result<Option<Restored>, BundleError> {
    let Some(bundle) = store.load(pinned, district, now)? else {
        return Ok(None);
    };
    let restored = Restored {
        number: bundle.number,
        expires_at: bundle.expires_at,
        expired: bundle.is_expired(now),
    };
    handle.install(bundle.policy, bundle.number)?;
    Ok(Some(restored))
}

#[cfg(test)]
mod tests;
