//! SECURITY-CRITICAL. The district's certificate authority: it makes the CA, keeps its files, and
//! issues node certificates whose only identity is the SAN URI `bangban://<district>/<tier>/<station>`.
//!
//! It issues; it never decides whether a peer may call (that is [`bangban_kit::tls`] and the topology).
//! It must never need a node's private key: [`Ca::issue_node`] takes a public key and
//! [`Ca::issue_from_csr`] a signed request, so a station can keep the key it made itself.

use std::fs;
use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use bangban_domain::station::{StationCode, Tier};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, PublicKeyData, SanType, SerialNumber, SignatureAlgorithm,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, CertificateSigningRequestDer, SubjectPublicKeyInfoDer};
use time::{Duration, OffsetDateTime};
use x509_parser::oid_registry::{
    OID_EC_P256, OID_KEY_TYPE_EC_PUBLIC_KEY, OID_NIST_EC_P384, OID_SIG_ECDSA_WITH_SHA256,
    OID_SIG_ECDSA_WITH_SHA384, OID_SIG_ED25519,
};
use x509_parser::prelude::FromDer;

/// The CA certificate's file name inside a CA directory.
pub const CA_CERT_FILE: &str = "ca.pem";
/// The CA private key's file name inside a CA directory (mode 0600 on unix).
pub const CA_KEY_FILE: &str = "ca.key";
/// The longest validity this CA signs, for the CA itself and for nodes.
pub const MAX_VALID_DAYS: u32 = 36_500;
/// Certificates start this long before `now`, so that a station whose clock runs a little behind
/// the district's still accepts a certificate issued a moment ago.
const BACKDATE: Duration = Duration::hours(1);
const CA_CN_PREFIX: &str = "Bangban CA ";

pub use bangban_kit::tls::{IDENTITY_SCHEME, identity_uri};

/// Why the CA refused to do something.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    #[error("{code} is not a district code (it names a {tier}); a CA belongs to a district")]
    NotADistrict { code: StationCode, tier: Tier },
    #[error("station {station} belongs to district {}, not to this CA's district {ca_district}", station.district())]
    OtherDistrict {
        station: StationCode,
        ca_district: StationCode,
    },
    #[error("a validity of {days} days is out of range (1..={MAX_VALID_DAYS})")]
    Validity { days: u32 },
    #[error("the CA certificate expired at {not_after}; make a new CA")]
    CaExpired { not_after: OffsetDateTime },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {reason}", path.display())]
    BadFile { path: PathBuf, reason: String },
    #[error("{}: a CA already exists there; refusing to overwrite it", path.display())]
    AlreadyExists { path: PathBuf },
    #[error("unsupported public key: {0} (use ECDSA P-256, ECDSA P-384 or Ed25519)")]
    UnsupportedKey(String),
    #[error("invalid certificate signing request: {0}")]
    InvalidCsr(String),
    #[error("cannot make the certificate: {0}")]
    Rcgen(#[from] rcgen::Error),
    #[error("the system has no secure random numbers")]
    Random,
}

/// The district's certificate authority: an ECDSA P-256 key and its self-signed certificate.
///
/// INVARIANT: `issuer` signs with the key whose certificate is `cert_pem`, under exactly the
/// subject name that certificate carries (checked by [`Ca::load`]), so every issued certificate
/// chains to `cert_pem`.
pub struct Ca {
    district: StationCode,
    cert_pem: String,
    key_pem: String,
    not_after: OffsetDateTime,
    issuer: Issuer<'static, KeyPair>,
}

impl std::fmt::Debug for Ca {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ca")
            .field("district", &self.district)
            .field("not_after", &self.not_after)
            .field("key_pem", &"<secret>")
            .finish_non_exhaustive()
    }
}

impl Ca {
    /// Makes a new CA for `district`, valid from shortly before `now` for `valid_days`.
    pub fn generate(
        district: StationCode,
        now: OffsetDateTime,
        valid_days: u32,
    ) -> Result<Ca, PkiError> {
        if district.tier() != Tier::District {
            return Err(PkiError::NotADistrict {
                code: district,
                tier: district.tier(),
            });
        }
        let now = whole_seconds(now);
        let mut params = ca_params(district);
        params.not_before = now - BACKDATE;
        params.not_after = now + validity(valid_days)?;
        params.serial_number = Some(random_serial()?);
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
        let cert = params.self_signed(&key)?;
        let not_after = params.not_after;
        let key_pem = key.serialize_pem();
        Ok(Ca {
            district,
            cert_pem: cert.pem(),
            key_pem,
            not_after,
            issuer: Issuer::new(params, key),
        })
    }

    /// Reads `ca.pem` and `ca.key` from `dir`, checking that they belong together.
    pub fn load(dir: &Path) -> Result<Ca, PkiError> {
        let cert_path = dir.join(CA_CERT_FILE);
        let key_path = dir.join(CA_KEY_FILE);
        let cert_pem = read_text(&cert_path)?;
        let key_pem = read_text(&key_path)?;
        Ca::from_pem_named(cert_pem, key_pem, &cert_path, &key_path)
    }

    /// A CA from its certificate and key in PEM, e.g. as kept in a database.
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<Ca, PkiError> {
        Ca::from_pem_named(
            cert_pem.to_owned(),
            key_pem.to_owned(),
            Path::new("CA certificate"),
            Path::new("CA key"),
        )
    }

    fn from_pem_named(
        cert_pem: String,
        key_pem: String,
        cert_path: &Path,
        key_path: &Path,
    ) -> Result<Ca, PkiError> {
        let bad_cert = |reason: String| PkiError::BadFile {
            path: cert_path.to_owned(),
            reason,
        };
        let key = KeyPair::from_pem(&key_pem).map_err(|e| PkiError::BadFile {
            path: key_path.to_owned(),
            reason: format!("not a private key in PEM: {e}"),
        })?;
        let der = CertificateDer::from_pem_slice(cert_pem.as_bytes())
            .map_err(|e| bad_cert(format!("not a certificate in PEM: {e}")))?;
        let (_, cert) = x509_parser::parse_x509_certificate(&der)
            .map_err(|e| bad_cert(format!("cannot parse the certificate: {e}")))?;
        if !cert.is_ca() {
            return Err(bad_cert("not a CA certificate".to_owned()));
        }
        let district = cert
            .subject()
            .iter_common_name()
            .next()
            .and_then(|cn| cn.as_str().ok())
            .and_then(|cn| cn.strip_prefix(CA_CN_PREFIX))
            .and_then(|code| StationCode::parse(code).ok())
            .filter(|code| code.tier() == Tier::District)
            .ok_or_else(|| {
                bad_cert(format!("its name is not \"{CA_CN_PREFIX}<district code>\""))
            })?;
        if cert.public_key().subject_public_key.data.as_ref() != key.public_key_raw() {
            return Err(PkiError::BadFile {
                path: key_path.to_owned(),
                reason: format!("this key does not belong to {}", cert_path.display()),
            });
        }
        let not_after = cert.validity().not_after.to_datetime();
        let issuer = Issuer::new(ca_params(district), key);

        // The subject name is rebuilt from the district code, not copied from the file: make
        // sure it is byte for byte the name in the certificate, or nothing would chain.
        let probe = CertificateParams::default().signed_by(issuer.key(), &issuer)?;
        let (_, probe) = x509_parser::parse_x509_certificate(probe.der())
            .map_err(|e| bad_cert(format!("cannot check the issuer name: {e}")))?;
        if probe.issuer().as_raw() != cert.subject().as_raw() {
            return Err(bad_cert(
                "its subject name is not the one this CA writes; it was not made by Bangban"
                    .to_owned(),
            ));
        }
        Ok(Ca {
            district,
            cert_pem,
            key_pem,
            not_after,
            issuer,
        })
    }

    /// Writes `ca.pem` and `ca.key` (mode 0600) into `dir`, creating it if needed. Refuses if
    /// either file already exists.
    pub fn save(&self, dir: &Path) -> Result<(), PkiError> {
        self.write_files(dir, false)
    }

    /// Like [`Ca::save`], but replaces an existing CA. Every certificate the old CA issued stops
    /// being trusted once the nodes load the new `ca.pem`.
    pub fn save_overwriting(&self, dir: &Path) -> Result<(), PkiError> {
        self.write_files(dir, true)
    }

    fn write_files(&self, dir: &Path, overwrite: bool) -> Result<(), PkiError> {
        fs::create_dir_all(dir).map_err(|source| PkiError::Io {
            path: dir.to_owned(),
            source,
        })?;
        let cert_path = dir.join(CA_CERT_FILE);
        let key_path = dir.join(CA_KEY_FILE);
        if !overwrite {
            for path in [&cert_path, &key_path] {
                if path.exists() {
                    return Err(PkiError::AlreadyExists { path: path.clone() });
                }
            }
        }
        write_atomically(&key_path, self.key_pem.as_bytes(), true)?;
        write_atomically(&cert_path, self.cert_pem.as_bytes(), false)?;
        Ok(())
    }

    /// The district this CA belongs to.
    pub fn district(&self) -> StationCode {
        self.district
    }

    /// The CA certificate in PEM: what every node trusts.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The CA private key in PEM (PKCS#8). Secret: never log it.
    pub fn key_pem(&self) -> &str {
        &self.key_pem
    }

    /// When the CA certificate expires.
    pub fn not_after(&self) -> OffsetDateTime {
        self.not_after
    }

    /// Issues a certificate for `station`'s public key, with its identity as the only name: it
    /// can dial a parent but cannot serve children (see [`Ca::issue_node_for_hosts`]). Returns
    /// the certificate in PEM.
    pub fn issue_node(
        &self,
        station: StationCode,
        public_key: &impl PublicKeyData,
        now: OffsetDateTime,
        valid_days: u32,
    ) -> Result<String, PkiError> {
        self.issue_node_for_hosts(station, public_key, &[], now, valid_days)
    }

    /// Like [`Ca::issue_node`], with the DNS names or IP addresses the node's inter-node listener
    /// is reached at (a parent dialled by its children at `10.1.2.3` needs it here). No name is
    /// added by default, not even `localhost`: a certificate that names loopback would let any
    /// node pass for a parent dialled on loopback.
    pub fn issue_node_for_hosts(
        &self,
        station: StationCode,
        public_key: &impl PublicKeyData,
        hosts: &[&str],
        now: OffsetDateTime,
        valid_days: u32,
    ) -> Result<String, PkiError> {
        if station.district() != self.district {
            return Err(PkiError::OtherDistrict {
                station,
                ca_district: self.district,
            });
        }
        let now = whole_seconds(now);
        if now >= self.not_after {
            return Err(PkiError::CaExpired {
                not_after: self.not_after,
            });
        }

        let mut params = CertificateParams::default();
        let mut name = DistinguishedName::new();
        name.push(DnType::CommonName, station.to_string());
        params.distinguished_name = name;
        params.subject_alt_names = vec![SanType::URI(identity_uri(station).try_into()?)];
        for host in hosts {
            let san = match host.parse::<IpAddr>() {
                Ok(ip) => SanType::IpAddress(ip),
                Err(_) => SanType::DnsName((*host).try_into()?),
            };
            if !params.subject_alt_names.contains(&san) {
                params.subject_alt_names.push(san);
            }
        }
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        params.use_authority_key_identifier_extension = true;
        // Random, so that a renewal with the same key gets its own serial for revocation.
        params.serial_number = Some(random_serial()?);
        params.not_before = now - BACKDATE;
        params.not_after = (now + validity(valid_days)?).min(self.not_after);

        Ok(params.signed_by(public_key, &self.issuer)?.pem())
    }

    /// Issues a certificate for `station` from a PKCS#10 request the station signed with its own
    /// key. Only the request's public key is used, after checking its signature (proof that the
    /// requester holds the key); its subject and requested extensions are ignored, because the
    /// identity is decided here (by the enrollment token), never by the requester.
    pub fn issue_from_csr(
        &self,
        station: StationCode,
        csr: &CertificateSigningRequestDer<'_>,
        now: OffsetDateTime,
        valid_days: u32,
    ) -> Result<String, PkiError> {
        let public_key = verified_csr_public_key(csr)?;
        self.issue_node(station, &public_key, now, valid_days)
    }
}

/// Makes a key pair for `station` here and issues its certificate: `(cert_pem, key_pem)`.
///
/// For `district-node ca issue` and tests until enrollment exists; a station that can make its
/// own key should send a CSR instead (see [`Ca::issue_from_csr`]).
pub fn new_node_key_and_cert(
    ca: &Ca,
    station: StationCode,
    now: OffsetDateTime,
    valid_days: u32,
) -> Result<(String, String), PkiError> {
    new_node_key_and_cert_for_hosts(ca, station, &[], now, valid_days)
}

/// As [`new_node_key_and_cert`], naming the extra hosts (DNS names or IP addresses) the node's
/// inter-node listener is reached at.
pub fn new_node_key_and_cert_for_hosts(
    ca: &Ca,
    station: StationCode,
    hosts: &[&str],
    now: OffsetDateTime,
    valid_days: u32,
) -> Result<(String, String), PkiError> {
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    let cert_pem = ca.issue_node_for_hosts(station, &key, hosts, now, valid_days)?;
    Ok((cert_pem, key.serialize_pem()))
}

/// A node's public key, as it arrives from outside (a CSR or a `PUBLIC KEY` PEM).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodePublicKey {
    alg: &'static SignatureAlgorithm,
    raw: Vec<u8>,
}

impl NodePublicKey {
    /// From a DER `SubjectPublicKeyInfo`.
    pub fn from_spki_der(spki: &[u8]) -> Result<NodePublicKey, PkiError> {
        let (rest, spki) = x509_parser::x509::SubjectPublicKeyInfo::from_der(spki)
            .map_err(|e| PkiError::UnsupportedKey(format!("cannot parse the public key: {e}")))?;
        if !rest.is_empty() {
            return Err(PkiError::UnsupportedKey(
                "trailing bytes after the public key".to_owned(),
            ));
        }
        NodePublicKey::from_parsed(&spki)
    }

    /// From a `-----BEGIN PUBLIC KEY-----` PEM.
    pub fn from_pem(pem: &str) -> Result<NodePublicKey, PkiError> {
        let der = SubjectPublicKeyInfoDer::from_pem_slice(pem.as_bytes())
            .map_err(|e| PkiError::UnsupportedKey(format!("not a public key in PEM: {e}")))?;
        NodePublicKey::from_spki_der(&der)
    }

    fn from_parsed(spki: &x509_parser::x509::SubjectPublicKeyInfo<'_>) -> Result<Self, PkiError> {
        let alg = &spki.algorithm;
        let alg: &'static SignatureAlgorithm = if alg.algorithm == OID_KEY_TYPE_EC_PUBLIC_KEY {
            let curve = alg
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .ok_or_else(|| PkiError::UnsupportedKey("EC key without a curve".to_owned()))?;
            if curve == OID_EC_P256 {
                &rcgen::PKCS_ECDSA_P256_SHA256
            } else if curve == OID_NIST_EC_P384 {
                &rcgen::PKCS_ECDSA_P384_SHA384
            } else {
                return Err(PkiError::UnsupportedKey(format!("EC curve {curve}")));
            }
        } else if alg.algorithm == OID_SIG_ED25519 {
            &rcgen::PKCS_ED25519
        } else {
            return Err(PkiError::UnsupportedKey(format!(
                "key algorithm {}",
                alg.algorithm
            )));
        };
        Ok(NodePublicKey {
            alg,
            raw: spki.subject_public_key.data.to_vec(),
        })
    }
}

impl PublicKeyData for NodePublicKey {
    fn der_bytes(&self) -> &[u8] {
        &self.raw
    }

    fn algorithm(&self) -> &'static SignatureAlgorithm {
        self.alg
    }
}

/// The public key of a CSR whose signature verifies under that same key.
fn verified_csr_public_key(
    csr: &CertificateSigningRequestDer<'_>,
) -> Result<NodePublicKey, PkiError> {
    use rustls::pki_types::alg_id;
    use x509_parser::certification_request::X509CertificationRequest;

    let (rest, req) = X509CertificationRequest::from_der(csr.as_ref())
        .map_err(|e| PkiError::InvalidCsr(format!("cannot parse it: {e}")))?;
    if !rest.is_empty() {
        return Err(PkiError::InvalidCsr("trailing bytes".to_owned()));
    }
    let info = &req.certification_request_info;
    let key = NodePublicKey::from_parsed(&info.subject_pki)?;

    let sig_oid = &req.signature_algorithm.algorithm;
    let (key_alg, sig_alg) = if key.alg == &rcgen::PKCS_ED25519 && *sig_oid == OID_SIG_ED25519 {
        (alg_id::ED25519, alg_id::ED25519)
    } else if key.alg == &rcgen::PKCS_ECDSA_P256_SHA256 && *sig_oid == OID_SIG_ECDSA_WITH_SHA256 {
        (alg_id::ECDSA_P256, alg_id::ECDSA_SHA256)
    } else if key.alg == &rcgen::PKCS_ECDSA_P384_SHA384 && *sig_oid == OID_SIG_ECDSA_WITH_SHA384 {
        (alg_id::ECDSA_P384, alg_id::ECDSA_SHA384)
    } else {
        return Err(PkiError::InvalidCsr(format!(
            "signature algorithm {sig_oid} does not fit its key"
        )));
    };
    let verifier = rustls::crypto::aws_lc_rs::default_provider()
        .signature_verification_algorithms
        .all
        .iter()
        .find(|a| a.public_key_alg_id() == key_alg && a.signature_alg_id() == sig_alg)
        .copied()
        .ok_or_else(|| PkiError::InvalidCsr("no verifier for its algorithm".to_owned()))?;
    verifier
        .verify_signature(&key.raw, info.raw, &req.signature_value.data)
        .map_err(|_| PkiError::InvalidCsr("its signature does not verify".to_owned()))?;
    Ok(key)
}

/// What the CA's certificate says about itself; rebuilt identically by [`Ca::load`].
fn ca_params(district: StationCode) -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, format!("{CA_CN_PREFIX}{district}"));
    params.distinguished_name = name;
    // No intermediates: the district CA signs node certificates directly.
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params
}

/// Certificates record whole seconds; dropping the rest keeps [`Ca::not_after`] equal to what
/// the certificate says.
fn whole_seconds(t: OffsetDateTime) -> OffsetDateTime {
    t - Duration::nanoseconds(i64::from(t.nanosecond()))
}

fn validity(days: u32) -> Result<Duration, PkiError> {
    if days == 0 || days > MAX_VALID_DAYS {
        return Err(PkiError::Validity { days });
    }
    Ok(Duration::days(i64::from(days)))
}

/// A positive 128-bit serial number from the system's secure random source.
fn random_serial() -> Result<SerialNumber, PkiError> {
    let mut bytes = [0u8; 16];
    rustls::crypto::aws_lc_rs::default_provider()
        .secure_random
        .fill(&mut bytes)
        .map_err(|_| PkiError::Random)?;
    // Positive and without a leading zero byte, so the encoding keeps all 16 bytes.
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    Ok(SerialNumber::from_slice(&bytes))
}

fn read_text(path: &Path) -> Result<String, PkiError> {
    fs::read_to_string(path).map_err(|source| PkiError::Io {
        path: path.to_owned(),
        source,
    })
}

/// Writes `bytes` to a temporary sibling and renames it over `path`, so a crash never leaves a
/// half-written CA file. A secret file is created with mode 0600 on unix.
fn write_atomically(path: &Path, bytes: &[u8], secret: bool) -> Result<(), PkiError> {
    let io_err = |source| PkiError::Io {
        path: path.to_owned(),
        source,
    };
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let _ = fs::remove_file(&tmp);
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(if secret { 0o600 } else { 0o644 });
    }
    #[cfg(not(unix))]
    let _ = secret;
    let mut file = options.open(&tmp).map_err(io_err)?;
    file.write_all(bytes).map_err(io_err)?;
    file.sync_all().map_err(io_err)?;
    drop(file);
    fs::rename(&tmp, path).map_err(io_err)
}
