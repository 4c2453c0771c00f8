//! SECURITY-CRITICAL. HTTPS on the operator UI/API listener: which certificate it serves
//! (`http.tls`: none, the node's own from the district CA, or one the office provides), the
//! server-only TLS handshake, and what a TLS listener adds to every response (HSTS, `Secure` on
//! every cookie). Also whether a plain-HTTP UI is exposed to the network (the start-up warning
//! and the banner on every page).
//!
//! This module never asks a browser for a client certificate (operators sign in with a
//! password; node identities live in `crate::tls`), and must never answer on a TLS port in
//! plain text.
//!
//! NOTE: the certificate is read once, at start. SIGHUP reloads the policy only; the node does
//! not reload its inter-node certificates either, so there is nothing to reuse yet. When reload
//! comes, do it once for both listeners (a rustls `ResolvesServerCert` swapped on SIGHUP, the
//! files checked as at start, the old certificate kept when the new one does not check).

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use axum::http::{Extensions, HeaderValue, header};
use axum::response::Response;
use rustls::ServerConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use crate::serve::Handshake;
use crate::tls::{ALPN_HTTP11, NodeCredentials, TlsError};

/// What the UI listener sends in `Strict-Transport-Security` when it serves HTTPS: one year, this
/// host only. Not `includeSubDomains`: the office's other machines under the same name (a
/// printer, a router page) may only speak HTTP, and HSTS would lock the operators out of them.
pub const HSTS: &str = "max-age=31536000";

/// The UI listener's TLS, from the checked `[http]` settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum UiTls {
    /// Plain HTTP: for loopback (a node that listens on the network in plain HTTP warns).
    #[default]
    Off,
    /// HTTPS with the node's own certificate and key (`[tls]`, issued by the district CA; the
    /// certificate must name the host operators type, `district-node ca issue --host`).
    Node,
    /// HTTPS with a certificate chain and key the office provides (PEM files).
    Files { cert: PathBuf, key: PathBuf },
}

impl UiTls {
    /// `https` or `http`.
    pub fn scheme(&self) -> &'static str {
        match self {
            UiTls::Off => "http",
            UiTls::Node | UiTls::Files { .. } => "https",
        }
    }
}

/// Why the UI's certificate cannot be served, with the setting to fix.
#[derive(Debug, thiserror::Error)]
#[error("setting `{key}`: {problem}")]
pub struct UiTlsError {
    pub key: &'static str,
    pub problem: String,
}

fn refused(key: &'static str, problem: impl Into<String>) -> UiTlsError {
    UiTlsError {
        key,
        problem: problem.into(),
    }
}

/// What the UI listener serves over TLS.
pub struct UiCertificate {
    pub config: Arc<ServerConfig>,
    /// What an administrator should hear at start (see [`certificate_warnings`]).
    pub warnings: Vec<String>,
}

/// The rustls configuration of the UI listener, or `None` for plain HTTP. `node` is the node's
/// own credentials (needed for [`UiTls::Node`]). The files are read now; a key that does not
/// belong to the certificate is refused.
pub fn server_config(
    tls: &UiTls,
    node: Option<&NodeCredentials>,
) -> Result<Option<UiCertificate>, UiTlsError> {
    let (chain, key, cert_setting, key_setting) = match tls {
        UiTls::Off => return Ok(None),
        UiTls::Node => {
            let node = node.ok_or_else(|| {
                refused(
                    "http.tls",
                    "\"node\" serves this node's own certificate: set tls.cert, tls.key and \
                     tls.ca, or use \"files\"",
                )
            })?;
            let (chain, key) = (node.cert_chain.clone(), node.key.clone_key());
            (chain, key, "tls.cert", "tls.key")
        }
        UiTls::Files { cert, key } => {
            let chain = crate::tls::load_certs(cert).map_err(|e| file_error("http.tls_cert", e))?;
            let key =
                crate::tls::load_private_key(key).map_err(|e| file_error("http.tls_key", e))?;
            (chain, key, "http.tls_cert", "http.tls_key")
        }
    };
    let warnings = match chain.first() {
        Some(leaf) => certificate_warnings(leaf, cert_setting, time::OffsetDateTime::now_utc()),
        None => Vec::new(),
    };
    let config = build(chain, key).map_err(|e| match e {
        rustls::Error::InconsistentKeys(_) => refused(
            key_setting,
            format!("the private key does not belong to the certificate of {cert_setting}"),
        ),
        other => refused(
            cert_setting,
            format!("the certificate cannot be served: {other}"),
        ),
    })?;
    Ok(Some(UiCertificate { config, warnings }))
}

/// What is wrong with the UI's certificate `leaf` (from `setting`) at `now` that the node can
/// still serve: no host name or IP address in it (every browser refuses it: a node certificate
/// issued without `--host`), or outside its validity. Empty when nothing is.
pub fn certificate_warnings(
    leaf: &CertificateDer<'_>,
    setting: &str,
    now: time::OffsetDateTime,
) -> Vec<String> {
    use x509_parser::extensions::GeneralName;
    let Ok((_, cert)) = x509_parser::parse_x509_certificate(leaf) else {
        return vec![format!("{setting}: the certificate cannot be read")];
    };
    let mut warnings = Vec::new();
    let names_a_host = cert
        .subject_alternative_name()
        .ok()
        .flatten()
        .is_some_and(|san| {
            san.value
                .general_names
                .iter()
                .any(|n| matches!(n, GeneralName::DNSName(_) | GeneralName::IPAddress(_)))
        });
    if !names_a_host {
        warnings.push(format!(
            "{setting}: the certificate names no host name or IP address, so browsers will \
             refuse it; issue one that names the address operators type (district-node ca \
             issue --host <address>)"
        ));
    }
    let now = now.unix_timestamp();
    let validity = cert.validity();
    if now > validity.not_after.timestamp() {
        warnings.push(format!(
            "{setting}: the certificate expired on {}; browsers will refuse it",
            validity.not_after
        ));
    } else if now < validity.not_before.timestamp() {
        warnings.push(format!(
            "{setting}: the certificate is valid only from {}; check this machine's clock",
            validity.not_before
        ));
    }
    warnings
}

fn file_error(key: &'static str, e: TlsError) -> UiTlsError {
    refused(key, e.to_string())
}

/// TLS 1.3 and 1.2 (older office browsers), no client certificate, HTTP/1.1 only.
fn build(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<ServerConfig>, rustls::Error> {
    let mut config = ServerConfig::builder_with_provider(crate::tls::provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    config.alpn_protocols = vec![ALPN_HTTP11.to_vec()];
    Ok(Arc::new(config))
}

/// The UI listener's handshake: server-only TLS. It runs in the connection's own task under the
/// listener's handshake deadline (see `crate::serve`), like the inter-node one.
pub struct ServerTls {
    acceptor: TlsAcceptor,
}

impl ServerTls {
    pub fn new(config: Arc<ServerConfig>) -> ServerTls {
        ServerTls {
            acceptor: TlsAcceptor::from(config),
        }
    }
}

impl Handshake for ServerTls {
    type Io = TlsStream<TcpStream>;

    async fn handshake(
        &self,
        tcp: TcpStream,
        peer: SocketAddr,
    ) -> Option<(TlsStream<TcpStream>, Extensions)> {
        match self.acceptor.accept(tcp).await {
            Ok(tls) => Some((tls, Extensions::new())),
            Err(e) => {
                // A browser that does not trust the certificate says so with an alert: worth an
                // administrator's look. Anything else (scanners, plain HTTP) is noise.
                let refused_by_browser = e
                    .get_ref()
                    .and_then(|inner| inner.downcast_ref::<rustls::Error>())
                    .is_some_and(|e| matches!(e, rustls::Error::AlertReceived(_)));
                if refused_by_browser {
                    tracing::info!(peer = %peer, error = %e, "a browser refused the UI certificate (does that machine trust the CA that issued it?)");
                } else {
                    tracing::debug!(peer = %peer, error = %e, "UI TLS handshake failed");
                }
                None
            }
        }
    }
}

/// What every response of a TLS UI listener carries: HSTS, and `Secure` on every cookie it sets
/// (the session's, the language's, and any a page adds later), so that no cookie of an HTTPS
/// UI can ever travel in plain text.
pub async fn https_response(mut res: Response) -> Response {
    let headers = res.headers_mut();
    headers.insert(
        header::STRICT_TRANSPORT_SECURITY,
        HeaderValue::from_static(HSTS),
    );
    let cookies: Vec<HeaderValue> = headers
        .get_all(header::SET_COOKIE)
        .iter()
        .cloned()
        .collect();
    if cookies.iter().any(|c| !is_secure(c)) {
        headers.remove(header::SET_COOKIE);
        for cookie in cookies {
            let cookie = if is_secure(&cookie) {
                cookie
            } else {
                let mut bytes = cookie.as_bytes().to_vec();
                bytes.extend_from_slice(b"; Secure");
                // Appending ASCII to a valid value keeps it valid; keep the original otherwise.
                HeaderValue::from_bytes(&bytes).unwrap_or(cookie)
            };
            headers.append(header::SET_COOKIE, cookie);
        }
    }
    res
}

fn is_secure(cookie: &HeaderValue) -> bool {
    cookie
        .as_bytes()
        .split(|b| *b == b';')
        .skip(1)
        .any(|attr| attr.trim_ascii().eq_ignore_ascii_case(b"secure"))
}

/// Whether a UI listening on `addr` without TLS can be reached from other machines: any
/// address but loopback (127.0.0.0/8, `::1`, and their IPv4-mapped forms). `0.0.0.0` and `::`
/// listen on every interface, so they count as exposed.
pub fn exposed_plain_http(addr: SocketAddr, tls: &UiTls) -> bool {
    *tls == UiTls::Off && !is_loopback(addr.ip())
}

fn is_loopback(ip: IpAddr) -> bool {
    ip.to_canonical().is_loopback()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn only_loopback_is_unexposed_plain_http() {
        for exposed in [
            "0.0.0.0:8180",
            "[::]:8180",
            "192.168.1.20:8180",
            "10.0.0.5:80",
            "[fe80::1]:8180",
        ] {
            assert!(exposed_plain_http(addr(exposed), &UiTls::Off), "{exposed}");
            assert!(
                !exposed_plain_http(addr(exposed), &UiTls::Node),
                "{exposed}"
            );
        }
        for local in [
            "127.0.0.1:8180",
            "127.8.0.1:8180",
            "[::1]:8180",
            "[::ffff:127.0.0.1]:8180",
        ] {
            assert!(!exposed_plain_http(addr(local), &UiTls::Off), "{local}");
        }
    }

    fn certificate(hosts: &[&str], not_after: time::OffsetDateTime) -> CertificateDer<'static> {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(
            hosts.iter().map(|h| (*h).to_owned()).collect::<Vec<_>>(),
        )
        .unwrap();
        params.not_before = not_after - time::Duration::days(30);
        params.not_after = not_after;
        params.self_signed(&key).unwrap().der().clone()
    }

    #[test]
    fn a_certificate_browsers_would_refuse_is_named_at_start() {
        let now = time::OffsetDateTime::now_utc();
        let later = now + time::Duration::days(10);
        let good = certificate(&["127.0.0.1", "bangban.office.example"], later);
        assert!(certificate_warnings(&good, "http.tls_cert", now).is_empty());

        let unnamed = certificate(&[], later);
        let warnings = certificate_warnings(&unnamed, "tls.cert", now);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].starts_with("tls.cert: "), "{warnings:?}");
        assert!(warnings[0].contains("--host"), "{warnings:?}");

        let expired = certificate(&["127.0.0.1"], now - time::Duration::days(1));
        let warnings = certificate_warnings(&expired, "http.tls_cert", now);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("expired"), "{warnings:?}");
    }

    fn set_cookies(res: &Response) -> Vec<String> {
        res.headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect()
    }

    #[tokio::test]
    async fn tls_responses_carry_hsts_and_only_secure_cookies() {
        let mut res = Response::new(axum::body::Body::empty());
        for c in [
            "bangban_session=abc; Path=/; HttpOnly; SameSite=Lax; Secure",
            "bangban_lang=en; Path=/; SameSite=Lax",
            "x=1; secure",
        ] {
            res.headers_mut()
                .append(header::SET_COOKIE, HeaderValue::from_static(c));
        }
        let res = https_response(res).await;
        assert_eq!(res.headers()[header::STRICT_TRANSPORT_SECURITY], HSTS);
        assert_eq!(
            set_cookies(&res),
            [
                "bangban_session=abc; Path=/; HttpOnly; SameSite=Lax; Secure",
                "bangban_lang=en; Path=/; SameSite=Lax; Secure",
                "x=1; secure",
            ]
        );
        // A cookie named "secure" is not the attribute.
        let mut res = Response::new(axum::body::Body::empty());
        res.headers_mut()
            .append(header::SET_COOKIE, HeaderValue::from_static("secure=1"));
        assert_eq!(
            set_cookies(&https_response(res).await),
            ["secure=1; Secure"]
        );
    }
}
