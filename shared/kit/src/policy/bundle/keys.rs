//! The district's Ed25519 policy key and the pinned public keys; DSSE signing.
//!
//! SECURITY-CRITICAL: the private key is never printed (its `Debug` shows the key id only).

use aws_lc_rs::digest;
use aws_lc_rs::signature::{self, Ed25519KeyPair, KeyPair as _, UnparsedPublicKey};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

use super::{Envelope, EnvelopeSignature, PAYLOAD_TYPE};
// ---------------------------------------------------------------------------------------------
// Keys
// ---------------------------------------------------------------------------------------------

/// A pinned Ed25519 public key (32 raw bytes).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublicKey(pub(crate) [u8; 32]);

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

    pub(crate) fn verifies(&self, message: &[u8], sig: &[u8]) -> bool {
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
        self.sign_envelope_as(PAYLOAD_TYPE, payload)
    }

    /// Signs `payload` into a DSSE envelope of `payload_type` (a roster is one, see
    /// [`crate::policy::roster`]), returned as its JSON bytes.
    pub fn sign_envelope_as(&self, payload_type: &str, payload: &[u8]) -> Vec<u8> {
        let sig = self.pair.sign(&pae(payload_type, payload));
        let envelope = Envelope {
            payload_type: payload_type.to_owned(),
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
