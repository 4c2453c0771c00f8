//! The refusal matrix: every kind of caller that must not get in, against every endpoint of a
//! town's inter-node listener. Each is refused (a closed handshake or a 403 problem), the table
//! is printed, and the town's database is unchanged. The real child is the control row: the same
//! requests from it succeed, so the matrix can fail.

use std::sync::Arc;

use bangban_kit::db::Db;
use bangban_kit::sync::client::push_once;
use bangban_kit::tls::{NodeCredentials, https_client};
use district_node::ca::{Ca, identity_uri, new_node_key_and_cert_for_hosts};
use rcgen::{
    CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use sqlx::Row;

use crate::support::*;

/// Credentials for `station` from `ca`, valid from `issued_at` for `days`.
fn creds_at(ca: &Ca, station: &str, issued_at: time::OffsetDateTime, days: u32) -> NodeCredentials {
    let (cert, key) =
        new_node_key_and_cert_for_hosts(ca, code(station), &["127.0.0.1"], issued_at, days)
            .unwrap();
    NodeCredentials::from_pem(cert.as_bytes(), key.as_bytes(), ca.cert_pem().as_bytes()).unwrap()
}

/// A certificate signed by the real district CA whose identity names `uri` (e.g. the wrong tier
/// for the code): only the identity check can refuse it.
fn creds_with_uri(ca: &Ca, uri: &str) -> NodeCredentials {
    let mut ca_params = CertificateParams::default();
    let mut ca_name = DistinguishedName::new();
    ca_name.push(DnType::CommonName, format!("Bangban CA {DISTRICT}"));
    ca_params.distinguished_name = ca_name;
    ca_params.is_ca = IsCa::Ca(rcgen::BasicConstraints::Constrained(0));
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let issuer = Issuer::new(ca_params, KeyPair::from_pem(ca.key_pem()).unwrap());

    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::default();
    params.subject_alt_names = vec![SanType::URI(uri.try_into().unwrap())];
    params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    params.not_before = now() - time::Duration::hours(1);
    params.not_after = now() + time::Duration::days(30);
    let cert = params.signed_by(&key, &issuer).unwrap();
    NodeCredentials::from_pem(
        cert.pem().as_bytes(),
        key.serialize_pem().as_bytes(),
        ca.cert_pem().as_bytes(),
    )
    .unwrap()
}

/// A client that trusts the district CA and presents no certificate.
fn anonymous(ca: &Ca) -> reqwest::Client {
    let roots = bangban_kit::tls::parse_ca_roots(ca.cert_pem().as_bytes(), "ca").unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_protocol_versions(&[&rustls::version::TLS13])
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    reqwest::Client::builder()
        .tls_backend_preconfigured(config)
        .build()
        .unwrap()
}

/// Counts of every table a refused call could have touched.
async fn fingerprint(db: &Db) -> Vec<i64> {
    let mut out = Vec::new();
    for table in ["cases", "case_events", "cursors", "outbox", "dead_letters"] {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
            .fetch_one(db.pool())
            .await
            .unwrap();
        out.push(row.try_get::<i64, _>(0).unwrap());
    }
    let row = sqlx::query("SELECT COALESCE(MAX(updated_at), 0) FROM cases")
        .fetch_one(db.pool())
        .await
        .unwrap();
    out.push(row.try_get::<i64, _>(0).unwrap());
    out
}

/// What one call got: the status, or `closed` when the TLS handshake refused it.
async fn call(
    client: &reqwest::Client,
    method: &str,
    url: String,
    body: &serde_json::Value,
) -> (String, Option<String>) {
    let request = match method {
        "POST" => client.post(url).json(body),
        _ => client.get(url),
    };
    // Longer than the server's 10 s handshake deadline, so that a refusal by a stalled handshake
    // on a loaded machine still shows as closed rather than as a hang.
    match tokio::time::timeout(std::time::Duration::from_secs(15), request.send()).await {
        Err(_) => ("timeout".into(), None),
        Ok(Err(_)) => ("closed".into(), None),
        Ok(Ok(res)) => {
            let status = res.status().as_u16().to_string();
            let kind = res
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            (status, kind)
        }
    }
}

pub async fn the_refusal_matrix(db: Db) {
    let ca = district_ca();
    let parent = Parent::start(&ca, db.clone(), tolerance(300)).await;
    let town = code(TOWN);

    // The real village pushes one escalated case, so every endpoint has something to give.
    let child = Child::new(&ca, tolerance(300)).await;
    let case = new_case(1);
    let log = case.escalated();
    append_all(&child.store, &log).await;
    push_once(&child.store, &child.client, &parent.server.url(), 500)
        .await
        .unwrap();

    let foreign_ca = Ca::generate(code(DISTRICT), now(), 365).unwrap();
    let client = |creds: NodeCredentials| https_client(&creds, Vec::new(), town).unwrap();
    let day = time::Duration::days(1);
    let callers: Vec<(&str, reqwest::Client)> = vec![
        ("no certificate", anonymous(&ca)),
        (
            "foreign CA, copied identity",
            client(creds(&foreign_ca, VILLAGE, &ca)),
        ),
        (
            "expired",
            client(creds_at(&ca, VILLAGE, now() - 60 * day, 30)),
        ),
        (
            "not yet valid",
            client(creds_at(&ca, VILLAGE, now() + 10 * day, 30)),
        ),
        (
            "wrong tier in the identity",
            client(creds_with_uri(
                &ca,
                &format!("bangban://{DISTRICT}/town/{VILLAGE}"),
            )),
        ),
        (
            "another district's identity",
            client(creds_with_uri(&ca, &identity_uri(code("410403001001")))),
        ),
        (
            "sibling town posing as the parent",
            client(creds(&ca, OTHER_TOWN, &ca)),
        ),
        (
            "the parent itself (parents never dial)",
            client(creds(&ca, DISTRICT, &ca)),
        ),
        (
            "non-child (another town's village)",
            client(creds(&ca, OTHER_TOWN_VILLAGE, &ca)),
        ),
        ("retired station", client(creds(&ca, RETIRED, &ca))),
    ];

    let base = format!("https://127.0.0.1:{}", parent.server.addr.port());
    let endpoints = [
        ("POST", "/v1/events".to_owned()),
        ("GET", "/v1/events?after=0&wait=0".to_owned()),
        ("GET", format!("/v1/cases/{}/events", case.case_id)),
        ("GET", "/healthz".to_owned()),
        ("GET", "/readyz".to_owned()),
    ];
    let body = serde_json::json!({ "events": log });

    let before = fingerprint(&db).await;
    let mut table = format!("{:<42}", "caller");
    for (method, path) in &endpoints {
        let path = path.split('?').next().unwrap_or_default();
        table.push_str(&format!(
            " | {:<14}",
            format!("{method} {}", &path[..path.len().min(9)])
        ));
    }
    table.push('\n');
    let mut admitted = Vec::new();
    for (name, client) in &callers {
        table.push_str(&format!("{name:<42}"));
        for (method, path) in &endpoints {
            let (status, kind) = call(client, method, format!("{base}{path}"), &body).await;
            // A caller that got no answer at all ("timeout") did not get in either: seen once
            // on a loaded CI machine, where one refused handshake was only logged when the
            // client gave up. The fingerprint below still proves nothing changed.
            let refused = status == "closed"
                || status == "timeout"
                || (status == "403" && kind.as_deref() == Some("application/problem+json"));
            if !refused {
                admitted.push(format!("{name}: {method} {path} -> {status} {kind:?}"));
            }
            table.push_str(&format!(" | {status:<14}"));
        }
        table.push('\n');
    }
    // The control row: the real child gets every answer.
    table.push_str(&format!("{:<42}", "control: the town's own village"));
    for (method, path) in &endpoints {
        let (status, _) = call(&child.client, method, format!("{base}{path}"), &body).await;
        assert_eq!(status, "200", "the village itself: {method} {path}");
        table.push_str(&format!(" | {status:<14}"));
    }
    println!("{table}");
    assert!(
        admitted.is_empty(),
        "admitted:\n{}\n{table}",
        admitted.join("\n")
    );
    // The control row only replayed stored events: nothing at all changed.
    assert_eq!(
        fingerprint(&db).await,
        before,
        "the town's database is unchanged"
    );
}
