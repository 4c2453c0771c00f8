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

mod keys;
mod store;
mod verify;

use bangban_domain::Bilingual;
use bangban_domain::calendar::{CalendarError, WorkingCalendar};
use bangban_domain::catalogue::{Catalogue, CatalogueError};
use bangban_domain::station::StationCode;
use bangban_domain::topology::{Topology, TopologyError};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

pub use keys::{KeyError, PublicKey, SigningKey, pae};
pub use store::{BundleStore, Received, Restored, receive, restore, write_atomically};
pub(crate) use verify::open_envelope;
use verify::verify_content;
pub use verify::{BundleHead, peek, verify};

use super::Policy;
#[cfg(test)]
use super::PolicyHandle;

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
// Envelope and payload
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Envelope {
    pub(crate) payload_type: String,
    pub(crate) payload: String,
    pub(crate) signatures: Vec<EnvelopeSignature>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EnvelopeSignature {
    /// A hint only (DSSE): may be empty, and is not trusted.
    #[serde(default)]
    pub(crate) keyid: String,
    pub(crate) sig: String,
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
    #[error("the roster is for station {got}, not {expected}")]
    RosterStation {
        expected: StationCode,
        got: StationCode,
    },
    #[error("the roster goes with bundle {got}, not with bundle {expected}")]
    RosterNumber { expected: u64, got: u64 },
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
            BundleError::RosterStation { .. } => "policy_bundle.roster_station",
            BundleError::RosterNumber { .. } => "policy_bundle.roster_number",
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
            BundleError::RosterStation { expected, got } => {
                format!("代办员名册属于站点 {got}，不是本站 {expected}")
            }
            BundleError::RosterNumber { expected, got } => {
                format!("代办员名册对应 {got} 号政策包，不是 {expected} 号")
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

#[cfg(test)]
mod tests;
