//! SECURITY-CRITICAL. Mutual TLS between Bangban nodes, done once and only here: loading the
//! node's certificate, key and the district CA; the rustls server and client configurations; the
//! inter-node server that turns the *verified* peer certificate into a [`PeerIdentity`]; and the
//! [`Peer`] extractor handlers use.
//!
//! A caller's identity comes only from its verified certificate, never from a header, a body or a
//! path. This module must never accept a connection without a verified client certificate, and
//! never do a TLS handshake in the accept loop (one stalled client would block everyone).
//! Whether a verified peer may make a given call (direct children only) is the caller's decision,
//! taken with the topology; [`forbidden_peer`] is how it says no.
//!
//! The operator UI's HTTPS (server-only TLS, no client certificate) is `crate::https`, not here.
//!
//! Longer than our ~600 lines on purpose: every trust decision of the inter-node link (load,
//! verify, identify) stays in this one security-critical file, so that a review reads it whole.

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{Extensions, StatusCode};
use bangban_domain::station::{StationCode, Tier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::ClientCertVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use crate::http::Problem;

/// The URI scheme of a node identity.
pub const IDENTITY_SCHEME: &str = "bangban";

/// The identity a node's certificate carries, e.g.
/// `bangban://410402000000/village/410402001001`. The district's CA (`district-node ca`) writes
/// it; [`PeerIdentity`] reads it.
pub fn identity_uri(station: StationCode) -> String {
    format!(
        "{IDENTITY_SCHEME}://{}/{}/{}",
        station.district(),
        station.tier().as_str(),
        station
    )
}
use crate::serve::{Handshake, ListenerLimits};

/// The only application protocol spoken between nodes.
pub const ALPN_HTTP11: &[u8] = b"http/1.1";
/// How long a node waits for its parent to accept a TCP connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

// ---------------------------------------------------------------------------------------------
// Crypto provider
// ---------------------------------------------------------------------------------------------

/// Installs aws-lc-rs as the process's default rustls crypto provider. Idempotent.
///
/// Every `main` must call it before anything touches TLS (and every test at its start): the
/// configurations here name aws-lc-rs explicitly, but other rustls users in the process (reqwest
/// internals, sqlx) fall back on the process default.
pub fn install_crypto_provider() {
    // Err means a provider is already installed: by an earlier call, which is the point.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

pub(crate) fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

// ---------------------------------------------------------------------------------------------
// Loading PEM files
// ---------------------------------------------------------------------------------------------

/// Why TLS material could not be loaded or a configuration built. File errors name the file.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{file}: {source}")]
    Read {
        file: String,
        source: std::io::Error,
    },
    #[error("{file}: {reason}")]
    Pem { file: String, reason: String },
    #[error("the client certificate verifier cannot be built: {0}")]
    Verifier(#[from] rustls::server::VerifierBuilderError),
    #[error("the TLS configuration was refused: {0}")]
    Config(#[from] rustls::Error),
    #[error("the HTTPS client cannot be built: {0}")]
    Client(#[from] reqwest::Error),
}

fn read_file(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        file: path.display().to_string(),
        source,
    })
}

fn pem_error(file: &str, reason: impl Into<String>) -> TlsError {
    TlsError::Pem {
        file: file.to_owned(),
        reason: reason.into(),
    }
}

/// Reads a certificate chain (leaf first) from a PEM file.
pub fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    parse_certs(&read_file(path)?, &path.display().to_string())
}

/// Parses a PEM certificate chain; `file` names its origin in errors. Every certificate must
/// parse as X.509, and there must be at least one.
pub fn parse_certs(pem: &[u8], file: &str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_error(file, format!("not a PEM certificate file: {e}")))?;
    if certs.is_empty() {
        return Err(pem_error(file, "no certificate found (expected PEM)"));
    }
    for (i, cert) in certs.iter().enumerate() {
        x509_parser::parse_x509_certificate(cert)
            .map_err(|e| pem_error(file, format!("certificate {} is not X.509: {e}", i + 1)))?;
    }
    Ok(certs)
}

/// Reads a private key (PKCS#8, SEC1 or PKCS#1) from a PEM file.
pub fn load_private_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    parse_private_key(&read_file(path)?, &path.display().to_string())
}

/// Parses a PEM private key and checks that rustls can sign with it.
pub fn parse_private_key(pem: &[u8], file: &str) -> Result<PrivateKeyDer<'static>, TlsError> {
    let key = PrivateKeyDer::from_pem_slice(pem)
        .map_err(|e| pem_error(file, format!("no usable PEM private key: {e}")))?;
    provider()
        .key_provider
        .load_private_key(key.clone_key())
        .map_err(|e| pem_error(file, format!("unusable private key: {e}")))?;
    Ok(key)
}

/// Reads the district CA certificate(s) every peer must chain to.
pub fn load_ca_roots(path: &Path) -> Result<RootCertStore, TlsError> {
    parse_ca_roots(&read_file(path)?, &path.display().to_string())
}

/// Parses PEM CA certificates into a root store; each one must be usable as a trust anchor.
pub fn parse_ca_roots(pem: &[u8], file: &str) -> Result<RootCertStore, TlsError> {
    let mut roots = RootCertStore::empty();
    for (i, cert) in parse_certs(pem, file)?.into_iter().enumerate() {
        roots
            .add(cert)
            .map_err(|e| pem_error(file, format!("certificate {} is not a CA: {e}", i + 1)))?;
    }
    Ok(roots)
}

/// Reads certificate revocation lists from a PEM file (`-----BEGIN X509 CRL-----`).
pub fn load_crls(path: &Path) -> Result<Vec<CertificateRevocationListDer<'static>>, TlsError> {
    let file = path.display().to_string();
    CertificateRevocationListDer::pem_slice_iter(&read_file(path)?)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_error(&file, format!("not a PEM CRL file: {e}")))
}

/// What a node presents and trusts: its certificate chain and key, and the district CA.
pub struct NodeCredentials {
    pub cert_chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
    pub ca_roots: Arc<RootCertStore>,
}

impl NodeCredentials {
    /// Reads the node's certificate, key and the CA from PEM files; errors name the file.
    pub fn load(cert: &Path, key: &Path, ca: &Path) -> Result<NodeCredentials, TlsError> {
        Ok(NodeCredentials {
            cert_chain: load_certs(cert)?,
            key: load_private_key(key)?,
            ca_roots: Arc::new(load_ca_roots(ca)?),
        })
    }

    /// The same from PEM text held in memory.
    pub fn from_pem(
        cert_pem: &[u8],
        key_pem: &[u8],
        ca_pem: &[u8],
    ) -> Result<NodeCredentials, TlsError> {
        Ok(NodeCredentials {
            cert_chain: parse_certs(cert_pem, "node certificate")?,
            key: parse_private_key(key_pem, "node key")?,
            ca_roots: Arc::new(parse_ca_roots(ca_pem, "CA certificate")?),
        })
    }

    /// The identity in this node's own certificate, to check against its configured code at
    /// start-up.
    pub fn own_identity(&self, district: StationCode) -> Result<PeerIdentity, IdentityError> {
        PeerIdentity::from_peer_certificates(Some(&self.cert_chain), district)
    }
}

impl Clone for NodeCredentials {
    fn clone(&self) -> Self {
        NodeCredentials {
            cert_chain: self.cert_chain.clone(),
            key: self.key.clone_key(),
            ca_roots: self.ca_roots.clone(),
        }
    }
}

impl std::fmt::Debug for NodeCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeCredentials")
            .field("cert_chain", &self.cert_chain.len())
            .field("key", &"<secret>")
            .field("ca_roots", &self.ca_roots.len())
            .finish()
    }
}

// ---------------------------------------------------------------------------------------------
// rustls configurations
// ---------------------------------------------------------------------------------------------

/// The inter-node server configuration: TLS 1.3, a client certificate is REQUIRED and must chain
/// to the district CA and not be revoked by `crls` (empty: no revocation check yet).
pub fn server_config(
    creds: &NodeCredentials,
    crls: Vec<CertificateRevocationListDer<'static>>,
) -> Result<Arc<ServerConfig>, TlsError> {
    let provider = provider();
    let verifier: Arc<dyn ClientCertVerifier> =
        WebPkiClientVerifier::builder_with_provider(creds.ca_roots.clone(), provider.clone())
            .with_crls(crls)
            .build()?;
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_client_cert_verifier(verifier)
        .with_single_cert(creds.cert_chain.clone(), creds.key.clone_key())?;
    config.alpn_protocols = vec![ALPN_HTTP11.to_vec()];
    Ok(Arc::new(config))
}

/// The configuration a node dials its parent with: TLS 1.3, trusting only the district CA (and
/// applying `crls`), presenting the node's own certificate, and accepting only a server whose
/// certificate carries exactly the identity of `parent`.
///
/// Chaining to the district CA and naming the dialled host is not enough: every node holds a
/// certificate of that CA, so a sibling's certificate on the parent's address would pass, and it
/// would receive this node's outbox (personal data) and could inject events.
pub fn client_config(
    creds: &NodeCredentials,
    crls: Vec<CertificateRevocationListDer<'static>>,
    parent: StationCode,
) -> Result<Arc<ClientConfig>, TlsError> {
    let provider = provider();
    let webpki = rustls::client::WebPkiServerVerifier::builder_with_provider(
        creds.ca_roots.clone(),
        provider.clone(),
    )
    .with_crls(crls)
    .build()?;
    let verifier = Arc::new(ParentVerifier { webpki, parent });
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_client_auth_cert(creds.cert_chain.clone(), creds.key.clone_key())?;
    config.alpn_protocols = vec![ALPN_HTTP11.to_vec()];
    Ok(Arc::new(config))
}

/// The server certificate carries another identity than the parent's.
#[derive(Debug, thiserror::Error)]
#[error("the server presents the identity of station {found}, not of the parent {expected}")]
pub struct NotTheParent {
    pub found: String,
    pub expected: StationCode,
}

/// SECURITY-CRITICAL: the full WebPKI check (chain to the district CA, validity, revocation,
/// the dialled host name) and then the parent's exact `bangban://` identity.
#[derive(Debug)]
struct ParentVerifier {
    webpki: Arc<rustls::client::WebPkiServerVerifier>,
    parent: StationCode,
}

impl rustls::client::danger::ServerCertVerifier for ParentVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &rustls::pki_types::ServerName<'_>,
        ocsp_response: &[u8],
        now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        let verified = self.webpki.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        )?;
        let found = match PeerIdentity::from_certificate(end_entity, self.parent.district()) {
            Ok(id) if id.station == self.parent => return Ok(verified),
            Ok(id) => id.station.to_string(),
            Err(e) => e.to_string(),
        };
        let err = NotTheParent {
            found,
            expected: self.parent,
        };
        tracing::warn!(server = ?server_name, error = %err, "the parent's address presents another node's certificate; refused");
        Err(rustls::Error::InvalidCertificate(
            rustls::CertificateError::Other(rustls::OtherError(Arc::new(err))),
        ))
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}

/// An HTTPS client for calls to the parent `parent`, over [`client_config`]. Connecting times
/// out after [`CONNECT_TIMEOUT`]; there is no overall request timeout, because pulls are long
/// polls: set one per request where it fits.
pub fn https_client(
    creds: &NodeCredentials,
    crls: Vec<CertificateRevocationListDer<'static>>,
    parent: StationCode,
) -> Result<reqwest::Client, TlsError> {
    let config = client_config(creds, crls, parent)?;
    Ok(reqwest::Client::builder()
        .tls_backend_preconfigured(ClientConfig::clone(&config))
        .https_only(true)
        .http1_only()
        .connect_timeout(CONNECT_TIMEOUT)
        .pool_idle_timeout(Duration::from_secs(60))
        .build()?)
}

// ---------------------------------------------------------------------------------------------
// Peer identity
// ---------------------------------------------------------------------------------------------

/// The station on the other end of a verified mTLS connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerIdentity {
    pub station: StationCode,
}

/// Why a certificate does not carry a usable Bangban identity.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    #[error("no client certificate was presented")]
    NoCertificate,
    #[error("the certificate cannot be parsed: {0}")]
    Unparseable(String),
    #[error("the certificate carries no {IDENTITY_SCHEME}:// identity")]
    NoIdentity,
    #[error("the certificate carries {0} {IDENTITY_SCHEME}:// identities; exactly one is allowed")]
    MultipleIdentities(usize),
    #[error("malformed identity {uri:?}: {reason}")]
    Malformed { uri: String, reason: String },
    #[error("identity {uri} belongs to district {found}, not to this district {expected}")]
    OtherDistrict {
        uri: String,
        found: StationCode,
        expected: StationCode,
    },
    #[error("identity {uri} names tier {named}, but {station} is a {} code", station.tier())]
    TierMismatch {
        uri: String,
        named: Tier,
        station: StationCode,
    },
}

impl PeerIdentity {
    /// The identity in the leaf (first) certificate of a verified chain, as rustls reports it.
    pub fn from_peer_certificates(
        certs: Option<&[CertificateDer<'_>]>,
        district: StationCode,
    ) -> Result<PeerIdentity, IdentityError> {
        let leaf = certs
            .and_then(|c| c.first())
            .ok_or(IdentityError::NoCertificate)?;
        PeerIdentity::from_certificate(leaf, district)
    }

    /// The identity in `cert`: exactly one `bangban://` SAN URI naming a station of `district`.
    ///
    /// INVARIANT: call this only on a certificate whose chain rustls has verified; it reads the
    /// names, it does not check the signature.
    pub fn from_certificate(
        cert: &CertificateDer<'_>,
        district: StationCode,
    ) -> Result<PeerIdentity, IdentityError> {
        let (_, cert) = x509_parser::parse_x509_certificate(cert)
            .map_err(|e| IdentityError::Unparseable(e.to_string()))?;
        let san = cert
            .subject_alternative_name()
            .map_err(|e| IdentityError::Unparseable(e.to_string()))?;
        let uris: Vec<&str> = san
            .iter()
            .flat_map(|ext| ext.value.general_names.iter())
            .filter_map(|name| match name {
                x509_parser::extensions::GeneralName::URI(uri) => Some(*uri),
                _ => None,
            })
            .filter(|uri| has_identity_scheme(uri))
            .collect();
        match uris.as_slice() {
            [] => Err(IdentityError::NoIdentity),
            [uri] => Ok(PeerIdentity {
                station: PeerIdentity::parse_uri(uri, district)?,
            }),
            more => Err(IdentityError::MultipleIdentities(more.len())),
        }
    }

    /// Parses `bangban://<district>/<tier>/<station>`, which must belong to `district` and whose
    /// tier must be the station code's own.
    pub fn parse_uri(uri: &str, district: StationCode) -> Result<StationCode, IdentityError> {
        let malformed = |reason: &str| IdentityError::Malformed {
            uri: uri.to_owned(),
            reason: reason.to_owned(),
        };
        let rest = uri
            .strip_prefix(IDENTITY_SCHEME)
            .and_then(|r| r.strip_prefix("://"))
            .ok_or_else(|| malformed("it does not start with bangban://"))?;
        let parts: Vec<&str> = rest.split('/').collect();
        let [district_part, tier_part, station_part] = parts.as_slice() else {
            return Err(malformed("expected <district>/<tier>/<station>"));
        };
        let named_district = StationCode::parse(district_part)
            .map_err(|e| malformed(&format!("district code: {e}")))?;
        let named_tier: Tier = tier_part.parse().map_err(|_| malformed("unknown tier"))?;
        let station = StationCode::parse(station_part)
            .map_err(|e| malformed(&format!("station code: {e}")))?;
        if named_district.tier() != Tier::District {
            return Err(malformed("the district part is not a district code"));
        }
        for found in [named_district, station.district()] {
            if found != district {
                return Err(IdentityError::OtherDistrict {
                    uri: uri.to_owned(),
                    found,
                    expected: district,
                });
            }
        }
        if named_tier != station.tier() {
            return Err(IdentityError::TierMismatch {
                uri: uri.to_owned(),
                named: named_tier,
                station,
            });
        }
        Ok(station)
    }

    /// The tier of the peer's station.
    pub fn tier(&self) -> Tier {
        self.station.tier()
    }
}

fn has_identity_scheme(uri: &str) -> bool {
    uri.split_once(':')
        .is_some_and(|(scheme, _)| scheme.eq_ignore_ascii_case(IDENTITY_SCHEME))
}

/// The verified calling station, for handlers on the inter-node router. Without one (a route
/// mounted outside [`serve_mtls`]) the request is refused with 401.
#[derive(Clone, Debug)]
pub struct Peer(pub PeerIdentity);

impl<S: Send + Sync> FromRequestParts<S> for Peer {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<PeerIdentity>()
            .cloned()
            .map(Peer)
            .ok_or_else(|| {
                Problem::new(
                    StatusCode::UNAUTHORIZED,
                    "peer.unauthenticated",
                    "调用方未通过节点证书认证".to_owned(),
                    "the caller is not authenticated by a node certificate".to_owned(),
                )
            })
    }
}

/// Refuses a verified peer that may not make this call (e.g. not a direct child): logs it and
/// returns a 403 problem.
pub fn forbidden_peer(peer: &PeerIdentity, why_en: &str) -> Problem {
    tracing::warn!(peer = %peer.station, reason = why_en, "inter-node call refused");
    Problem::new(
        StatusCode::FORBIDDEN,
        "peer.forbidden",
        format!("本节点不接受站点 {} 的此项调用", peer.station),
        format!("station {} may not make this call: {why_en}", peer.station),
    )
}

// ---------------------------------------------------------------------------------------------
// The inter-node server
// ---------------------------------------------------------------------------------------------

/// Serves `app` over mutual TLS on `listener` until `shutdown` completes, with the default
/// inter-node limits ([`ListenerLimits::internode`]). See [`serve_mtls_with`].
pub async fn serve_mtls(
    listener: TcpListener,
    config: Arc<ServerConfig>,
    district: StationCode,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_mtls_with(
        listener,
        config,
        district,
        app,
        ListenerLimits::internode(),
        shutdown,
    )
    .await
}

/// Serves `app` over mutual TLS on `listener` until `shutdown` completes, within `limits`.
///
/// The accept loop only accepts TCP; each connection's handshake (bounded by
/// `limits.handshake_timeout`) and requests run in their own task (the loop is
/// [`crate::serve::serve`], shared with the UI listener). A peer whose verified certificate
/// carries no valid identity of `district` is logged and disconnected before any request is
/// read. Every request carries the [`PeerIdentity`] (read it with [`Peer`]) and the peer's
/// `ConnectInfo<SocketAddr>` as extensions.
pub async fn serve_mtls_with(
    listener: TcpListener,
    config: Arc<ServerConfig>,
    district: StationCode,
    app: Router,
    limits: ListenerLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let handshake = MutualTls {
        acceptor: TlsAcceptor::from(config),
        district,
    };
    crate::serve::serve(listener, handshake, app, limits, shutdown).await
}

/// The mTLS handshake: a verified client certificate that names a station of `district`.
struct MutualTls {
    acceptor: TlsAcceptor,
    district: StationCode,
}

impl Handshake for MutualTls {
    type Io = TlsStream<TcpStream>;

    async fn handshake(
        &self,
        tcp: TcpStream,
        addr: SocketAddr,
    ) -> Option<(TlsStream<TcpStream>, Extensions)> {
        let tls = match self.acceptor.accept(tcp).await {
            Ok(tls) => tls,
            Err(e) => {
                tracing::warn!(peer = %addr, error = %e, "mTLS handshake refused");
                return None;
            }
        };
        let identity = match PeerIdentity::from_peer_certificates(
            tls.get_ref().1.peer_certificates(),
            self.district,
        ) {
            Ok(identity) => identity,
            Err(e) => {
                tracing::warn!(peer = %addr, reason = %e, "peer certificate refused");
                return None;
            }
        };
        tracing::debug!(peer = %addr, station = %identity.station, "peer connected");
        let mut extensions = Extensions::new();
        extensions.insert(identity);
        Some((tls, extensions))
    }
}
