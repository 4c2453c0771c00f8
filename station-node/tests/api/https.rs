//! HTTPS on the UI listener (`http.tls`), on real TLS over loopback with certificates made here:
//! the node's own from the district CA, or one an office CA issued. Over TLS every answer carries
//! HSTS and every cookie is `Secure`; plain HTTP gets neither, and on a network address every
//! page says it is unencrypted.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bangban_domain::station::StationCode;
use district_node::ca::{Ca, new_node_key_and_cert_for_hosts};
use reqwest::header::{COOKIE, SET_COOKIE, STRICT_TRANSPORT_SECURITY};
use reqwest::{Client, Response, StatusCode};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::helpers::{PASSWORD, USER, add_operator, spawn_app_on, write_config};

const VILLAGE: &str = "410402001001";
/// The Chinese banner of a UI served in plain HTTP on a network address.
const BANNER: &str = "未加密的 HTTP";

fn now() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc()
}

pub(crate) fn district_ca() -> Ca {
    bangban_kit::tls::install_crypto_provider();
    Ca::generate(StationCode::parse("410402000000").unwrap(), now(), 365).unwrap()
}

/// Writes the node's own certificate (for 127.0.0.1), key and the district CA under `dir/tls`;
/// returns the `[tls]` section naming them.
pub(crate) fn node_files(dir: &Path, ca: &Ca) -> String {
    let (cert, key) = new_node_key_and_cert_for_hosts(
        ca,
        StationCode::parse(VILLAGE).unwrap(),
        &["127.0.0.1"],
        now(),
        30,
    )
    .unwrap();
    std::fs::create_dir_all(dir.join("tls")).unwrap();
    std::fs::write(dir.join("tls/node.pem"), cert).unwrap();
    std::fs::write(dir.join("tls/node.key"), key).unwrap();
    std::fs::write(dir.join("tls/ca.pem"), ca.cert_pem()).unwrap();
    "[tls]\ncert = \"tls/node.pem\"\nkey = \"tls/node.key\"\nca = \"tls/ca.pem\"\n".to_owned()
}

/// A certificate for 127.0.0.1 from the office's own CA (nothing to do with the district's).
struct Office {
    ca_pem: String,
    chain_pem: String,
    key_pem: String,
}

fn office_certificate() -> Office {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
        KeyPair, KeyUsagePurpose, SanType,
    };
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::default();
    ca.distinguished_name
        .push(DnType::CommonName, "新华区政务服务中心办公网 CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_pem = ca.self_signed(&ca_key).unwrap().pem();
    let issuer = Issuer::new(ca, ca_key);
    let key = KeyPair::generate().unwrap();
    let mut leaf = CertificateParams::new(vec!["bangban.office.example".to_owned()]).unwrap();
    leaf.subject_alt_names
        .push(SanType::IpAddress("127.0.0.1".parse().unwrap()));
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let cert = leaf.signed_by(&key, &issuer).unwrap();
    Office {
        chain_pem: format!("{}{ca_pem}", cert.pem()),
        ca_pem,
        key_pem: key.serialize_pem(),
    }
}

/// A browser that trusts only the CA in `ca_pem` and follows no redirects.
fn browser_trusting(ca_pem: &str) -> Client {
    let roots = bangban_kit::tls::parse_ca_roots(ca_pem.as_bytes(), "ca").unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    Client::builder()
        .tls_backend_preconfigured(config)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

fn plain_browser() -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

fn set_cookie(res: &Response, name: &str) -> Option<String> {
    res.headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|v| v.starts_with(&format!("{name}=")))
}

fn hsts(res: &Response) -> Option<String> {
    res.headers()
        .get(STRICT_TRANSPORT_SECURITY)
        .map(|v| v.to_str().unwrap().to_owned())
}

async fn log_in(http: &Client, base: &str) -> Response {
    http.post(format!("{base}/login"))
        .header("sec-fetch-site", "same-origin")
        .form(&[
            ("username", USER),
            ("password", PASSWORD),
            ("next", "/start"),
        ])
        .send()
        .await
        .unwrap()
}

/// The session cookie to send back, from a login's answer.
fn session_of(res: &Response) -> String {
    let set = set_cookie(res, "bangban_session").unwrap();
    set.split(';').next().unwrap().to_owned()
}

/// What a plain-HTTP client gets from `port`: everything it can read before the server closes.
async fn plain_http_answer(port: u16) -> Vec<u8> {
    let mut tcp = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    tcp.write_all(b"GET /login HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(15), tcp.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "the TLS port closes the connection");
    answer
}

#[tokio::test]
async fn a_node_serves_its_ui_over_https_with_its_own_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let ca = district_ca();
    let tls = node_files(dir.path(), &ca);
    write_config(dir.path(), &format!("[http]\ntls = \"node\"\n{tls}"));
    add_operator(dir.path()).await;
    // On every interface: with TLS that is what it is for, and no page warns.
    let listener = TcpListener::bind("0.0.0.0:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let app = spawn_app_on(dir.path(), listener).await;
    let base = &app.url;
    assert!(base.starts_with("https://127.0.0.1:"), "{base}");
    let http = browser_trusting(ca.cert_pem());

    let res = http.get(format!("{base}/login")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(hsts(&res).as_deref(), Some("max-age=31536000"));
    let html = res.text().await.unwrap();
    assert!(html.contains("工作人员登录"), "{html}");
    assert!(!html.contains(BANNER), "no warning over HTTPS: {html}");

    // The language cookie is Secure too.
    let res = http
        .get(format!("{base}/login?lang=en"))
        .send()
        .await
        .unwrap();
    let lang = set_cookie(&res, "bangban_lang").unwrap();
    assert!(lang.contains("; Secure"), "{lang}");

    let res = log_in(&http, base).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(hsts(&res).as_deref(), Some("max-age=31536000"));
    let set = set_cookie(&res, "bangban_session").unwrap();
    for attribute in ["; Secure", "; HttpOnly", "; SameSite=Lax"] {
        assert!(set.contains(attribute), "{attribute} in {set}");
    }
    let res = http
        .get(format!("{base}/start"))
        .header(COOKIE, session_of(&res))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(hsts(&res).is_some());
    let html = res.text().await.unwrap();
    assert!(html.contains("王芳") && !html.contains(BANNER), "{html}");

    // Every answer of the listener, not only the pages.
    for path in ["/healthz", "/api/v1/items", "/no/such/page"] {
        let res = http.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(
            hsts(&res).as_deref(),
            Some("max-age=31536000"),
            "{path}: {}",
            res.status()
        );
    }

    // A browser that does not trust the district CA gets no page.
    let stranger = browser_trusting(&office_certificate().ca_pem);
    assert!(stranger.get(format!("{base}/login")).send().await.is_err());

    // Plain HTTP on the TLS port: no answer in plain text.
    // At most a TLS alert record (content type 21), then the connection closes.
    let answer = plain_http_answer(port).await;
    assert!(
        answer.first().is_none_or(|b| *b == 21) && !answer.windows(5).any(|w| w == b"HTTP/"),
        "{answer:?}"
    );
    assert!(
        plain_browser()
            .get(format!("http://127.0.0.1:{port}/login"))
            .send()
            .await
            .is_err()
    );
    // And the node still serves HTTPS after it.
    let res = http.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    app.stop().await;
}

#[tokio::test]
async fn an_office_certificate_is_served_with_tls_files() {
    let dir = tempfile::tempdir().unwrap();
    let office = office_certificate();
    std::fs::write(dir.path().join("ui.pem"), &office.chain_pem).unwrap();
    std::fs::write(dir.path().join("ui.key"), &office.key_pem).unwrap();
    write_config(
        dir.path(),
        "[http]\ntls = \"files\"\ntls_cert = \"ui.pem\"\ntls_key = \"ui.key\"\n",
    );
    add_operator(dir.path()).await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let app = spawn_app_on(dir.path(), listener).await;
    let base = &app.url;

    let http = browser_trusting(&office.ca_pem);
    let res = http.get(format!("{base}/login")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(hsts(&res).as_deref(), Some("max-age=31536000"));
    let res = log_in(&http, base).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let set = set_cookie(&res, "bangban_session").unwrap();
    assert!(set.contains("; Secure"), "{set}");

    // It is the office's certificate: a browser trusting only the district CA refuses it.
    let district_only = browser_trusting(district_ca().cert_pem());
    assert!(
        district_only
            .get(format!("{base}/login"))
            .send()
            .await
            .is_err()
    );
    app.stop().await;
}

fn check_config(file: &Path) -> (i32, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_station-node"))
        .arg("--config")
        .arg(file)
        .arg("check-config")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn a_key_that_is_not_the_certificates_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let office = office_certificate();
    let other = office_certificate();
    std::fs::write(dir.path().join("ui.pem"), &office.chain_pem).unwrap();
    std::fs::write(dir.path().join("ui.key"), &other.key_pem).unwrap();
    let file = write_config(
        dir.path(),
        "[http]\ntls = \"files\"\ntls_cert = \"ui.pem\"\ntls_key = \"ui.key\"\n",
    );
    let err = station_node::Settings::load(Some(&file))
        .unwrap()
        .check(Some(&file))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("http.tls_key") && err.contains("does not belong to the certificate"),
        "{err}"
    );
    let (code, out) = check_config(&file);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("http.tls_key"), "{out}");

    // The right key: accepted, and the summary says https.
    std::fs::write(dir.path().join("ui.key"), &office.key_pem).unwrap();
    let (code, out) = check_config(&file);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("listens on https://127.0.0.1:8180"), "{out}");

    // A file that is not a key at all.
    std::fs::write(dir.path().join("ui.key"), &office.chain_pem).unwrap();
    let (code, out) = check_config(&file);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("http.tls_key"), "{out}");
}

#[tokio::test]
async fn plain_http_on_loopback_has_no_hsts_no_secure_cookie_and_no_banner() {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), "");
    add_operator(dir.path()).await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let app = spawn_app_on(dir.path(), listener).await;
    let base = &app.url;
    assert!(base.starts_with("http://"), "{base}");
    let http = plain_browser();

    let res = http
        .get(format!("{base}/login?lang=en"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(hsts(&res), None);
    let lang = set_cookie(&res, "bangban_lang").unwrap();
    assert!(!lang.contains("Secure"), "{lang}");
    let html = res.text().await.unwrap();
    assert!(!html.contains("unencrypted HTTP"), "{html}");

    let res = log_in(&http, base).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(hsts(&res), None);
    let set = set_cookie(&res, "bangban_session").unwrap();
    assert!(
        set.contains("HttpOnly") && !set.contains("Secure"),
        "a Secure cookie would never come back over http: {set}"
    );
    let html = http
        .get(format!("{base}/start"))
        .header(COOKIE, session_of(&res))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("王芳") && !html.contains(BANNER), "{html}");
    app.stop().await;
}

#[tokio::test]
async fn plain_http_on_every_interface_says_so_on_every_page() {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), "");
    add_operator(dir.path()).await;
    // Listening on 0.0.0.0; the test only ever connects to 127.0.0.1.
    let listener = TcpListener::bind("0.0.0.0:0").await.unwrap();
    let app = spawn_app_on(dir.path(), listener).await;
    let base = &app.url;
    let http = plain_browser();

    let res = http.get(format!("{base}/login")).send().await.unwrap();
    assert_eq!(hsts(&res), None);
    let html = res.text().await.unwrap();
    assert!(html.contains(BANNER), "{html}");
    let html = http
        .get(format!("{base}/login?lang=en"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("unencrypted HTTP"), "{html}");

    let res = log_in(&http, base).await;
    let cookie = session_of(&res);
    for page in ["/start", "/cases", "/cases/new/consultation"] {
        let res = http
            .get(format!("{base}{page}"))
            .header(COOKIE, &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{page}");
        let html = res.text().await.unwrap();
        assert!(html.contains(BANNER), "{page}: {html}");
    }
    app.stop().await;
}

/// The real binary, in plain HTTP on every interface, warns at start with the address and the
/// setting that fixes it.
#[tokio::test]
async fn the_binary_warns_loudly_when_plain_http_listens_on_the_network() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_config(
        dir.path(),
        "[http]\nlisten = \"0.0.0.0:0\"\n[log]\nformat = \"json\"\n",
    );
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_station-node"))
        .arg("--config")
        .arg(&file)
        .arg("serve")
        .env_remove("RUST_LOG")
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let warning = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if line.contains("PLAIN HTTP") || line.contains("UI/API listener ready") {
                return line;
            }
        }
        panic!("the node ended without a word about its listener");
    })
    .await
    .expect("the node starts within a minute");
    child.kill().await.unwrap();
    assert!(warning.contains("\"level\":\"WARN\""), "{warning}");
    assert!(warning.contains("0.0.0.0:"), "{warning}");
    assert!(warning.contains("http.tls"), "{warning}");
}
