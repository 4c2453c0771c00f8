//! Loading TLS material from files: every error names the file.

use std::path::Path;

use bangban_kit::tls::{
    NodeCredentials, TlsError, load_ca_roots, load_certs, load_private_key, server_config,
};
use district_node::ca::new_node_key_and_cert;

use crate::support::*;

/// Writes a CA and a town's certificate and key into `dir`: `(cert, key, ca)` paths.
fn write_node_files(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf, std::path::PathBuf) {
    let ca = district_ca();
    let (cert, key) = new_node_key_and_cert(&ca, code(TOWN), now(), 30).unwrap();
    let paths = (
        dir.join("node.pem"),
        dir.join("node.key"),
        dir.join("ca.pem"),
    );
    std::fs::write(&paths.0, cert).unwrap();
    std::fs::write(&paths.1, key).unwrap();
    std::fs::write(&paths.2, ca.cert_pem()).unwrap();
    paths
}

fn assert_names(err: &TlsError, path: &Path) {
    let shown = path.display().to_string();
    assert!(
        err.to_string().contains(&shown),
        "{err} does not name {shown}"
    );
}

#[test]
fn valid_files_make_a_server_config() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key, ca) = write_node_files(dir.path());
    let creds = NodeCredentials::load(&cert, &key, &ca).unwrap();
    let config = server_config(&creds, Vec::new()).unwrap();
    assert_eq!(config.alpn_protocols, vec![b"http/1.1".to_vec()]);
    assert_eq!(
        creds.own_identity(code(DISTRICT)).unwrap().station,
        code(TOWN)
    );
}

#[test]
fn missing_files_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key, ca) = write_node_files(dir.path());
    let missing = dir.path().join("missing.pem");

    for (c, k, a) in [
        (&missing, &key, &ca),
        (&cert, &missing, &ca),
        (&cert, &key, &missing),
    ] {
        let err = NodeCredentials::load(c, k, a).unwrap_err();
        assert!(matches!(err, TlsError::Read { .. }), "{err}");
        assert_names(&err, &missing);
    }
}

#[test]
fn garbage_files_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key, ca) = write_node_files(dir.path());
    let garbage = dir.path().join("garbage.pem");

    for content in [
        "garbage".as_bytes(),
        b"",
        b"-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n",
        b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    ] {
        std::fs::write(&garbage, content).unwrap();
        for (c, k, a) in [
            (&garbage, &key, &ca),
            (&cert, &garbage, &ca),
            (&cert, &key, &garbage),
        ] {
            let err = NodeCredentials::load(c, k, a).unwrap_err();
            assert!(matches!(err, TlsError::Pem { .. }), "{err}");
            assert_names(&err, &garbage);
        }
    }

    // A key file where a certificate belongs, and the other way round.
    let err = load_certs(&key).unwrap_err();
    assert_names(&err, &key);
    let err = load_private_key(&cert).unwrap_err();
    assert_names(&err, &cert);
    let err = load_ca_roots(&key).unwrap_err();
    assert_names(&err, &key);
}

#[test]
fn key_of_another_certificate_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, _, ca) = write_node_files(dir.path());
    let other = dir.path().join("other");
    std::fs::create_dir(&other).unwrap();
    let (_, other_key, _) = write_node_files(&other);

    let creds = NodeCredentials::load(&cert, &other_key, &ca).unwrap();
    assert!(server_config(&creds, Vec::new()).is_err());
}
