//! The district CA: what it issues, what it refuses, and its files.
#![allow(clippy::unwrap_used)]

use bangban_kit::tls::{NodeCredentials, PeerIdentity, parse_certs};
use district_node::ca::{
    CA_CERT_FILE, CA_KEY_FILE, Ca, NodePublicKey, PkiError, identity_uri, new_node_key_and_cert,
};
use rcgen::{CertificateParams, KeyPair, PublicKeyData, SanType};
use rustls::pki_types::CertificateSigningRequestDer;
use time::Duration;
use x509_parser::extensions::GeneralName;

const DISTRICT: &str = "410402000000";
const TOWN: &str = "410402001000";
const VILLAGE: &str = "410402001001";

fn code(s: &str) -> bangban_domain::station::StationCode {
    bangban_domain::station::StationCode::parse(s).unwrap()
}

fn now() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc()
}

/// A fresh CA for the test district (with the crypto provider installed, as `main` does).
fn district_ca() -> Ca {
    bangban_kit::tls::install_crypto_provider();
    Ca::generate(code(DISTRICT), now(), 365).unwrap()
}

#[test]
fn identity_uri_names_district_tier_and_station() {
    assert_eq!(
        identity_uri(code(VILLAGE)),
        "bangban://410402000000/village/410402001001"
    );
    assert_eq!(
        identity_uri(code(TOWN)),
        "bangban://410402000000/town/410402001000"
    );
    assert_eq!(
        identity_uri(code(DISTRICT)),
        "bangban://410402000000/district/410402000000"
    );
}

#[test]
fn issued_certificates_parse_back_to_their_station() {
    let ca = district_ca();
    for station in [DISTRICT, TOWN, VILLAGE] {
        let (cert_pem, key_pem) = new_node_key_and_cert(&ca, code(station), now(), 30).unwrap();
        let chain = parse_certs(cert_pem.as_bytes(), "issued").unwrap();
        let identity = PeerIdentity::from_certificate(&chain[0], code(DISTRICT)).unwrap();
        assert_eq!(identity.station, code(station));

        let creds = NodeCredentials::from_pem(
            cert_pem.as_bytes(),
            key_pem.as_bytes(),
            ca.cert_pem().as_bytes(),
        )
        .unwrap();
        assert_eq!(
            creds.own_identity(code(DISTRICT)).unwrap().station,
            code(station)
        );

        let (_, x509) = x509_parser::parse_x509_certificate(&chain[0]).unwrap();
        let cn = x509.subject().iter_common_name().next().unwrap();
        assert_eq!(cn.as_str().unwrap(), station);
        assert!(!x509.is_ca());
        let eku = x509.extended_key_usage().unwrap().unwrap().value;
        assert!(eku.server_auth && eku.client_auth);
        let names = &x509
            .subject_alternative_name()
            .unwrap()
            .unwrap()
            .value
            .general_names;
        let uri = identity_uri(code(station));
        // The identity is the only name: no loopback names unless --host asks for them.
        assert_eq!(names, &[GeneralName::URI(&uri)], "{names:?}");
    }
}

#[test]
fn serials_differ_even_for_the_same_key() {
    let ca = district_ca();
    let key = KeyPair::generate().unwrap();
    let serial = |pem: String| {
        let chain = parse_certs(pem.as_bytes(), "issued").unwrap();
        let (_, x509) = x509_parser::parse_x509_certificate(&chain[0]).unwrap();
        x509.raw_serial().to_vec()
    };
    let first = serial(ca.issue_node(code(TOWN), &key, now(), 30).unwrap());
    let second = serial(ca.issue_node(code(TOWN), &key, now(), 30).unwrap());
    assert_ne!(first, second);
}

#[test]
fn station_of_another_district_is_refused() {
    let ca = district_ca();
    let err = new_node_key_and_cert(&ca, code("410403001001"), now(), 30).unwrap_err();
    assert!(
        matches!(err, PkiError::OtherDistrict { station, ca_district }
            if station == code("410403001001") && ca_district == code(DISTRICT)),
        "{err}"
    );
}

#[test]
fn ca_must_belong_to_a_district_code() {
    let err = Ca::generate(code(TOWN), now(), 365).unwrap_err();
    assert!(matches!(err, PkiError::NotADistrict { .. }), "{err}");
}

#[test]
fn validity_is_bounded_and_never_outlives_the_ca() {
    let ca = district_ca();
    let key = KeyPair::generate().unwrap();
    assert!(matches!(
        ca.issue_node(code(TOWN), &key, now(), 0),
        Err(PkiError::Validity { days: 0 })
    ));

    let pem = ca.issue_node(code(TOWN), &key, now(), 3650).unwrap();
    let chain = parse_certs(pem.as_bytes(), "issued").unwrap();
    let (_, x509) = x509_parser::parse_x509_certificate(&chain[0]).unwrap();
    assert_eq!(x509.validity().not_after.to_datetime(), ca.not_after());

    let later = ca.not_after() + Duration::days(1);
    assert!(matches!(
        ca.issue_node(code(TOWN), &key, later, 30),
        Err(PkiError::CaExpired { .. })
    ));
}

#[test]
fn ca_save_load_round_trip_and_refuse_overwrite() {
    let ca = district_ca();
    let dir = tempfile::tempdir().unwrap();
    let ca_dir = dir.path().join("ca");
    ca.save(&ca_dir).unwrap();

    let loaded = Ca::load(&ca_dir).unwrap();
    assert_eq!(loaded.district(), code(DISTRICT));
    assert_eq!(loaded.cert_pem(), ca.cert_pem());
    assert_eq!(loaded.key_pem(), ca.key_pem());
    assert_eq!(loaded.not_after(), ca.not_after());

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(ca_dir.join(CA_KEY_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    let other = district_ca();
    let err = other.save(&ca_dir).unwrap_err();
    assert!(matches!(err, PkiError::AlreadyExists { .. }), "{err}");
    assert_eq!(
        Ca::load(&ca_dir).unwrap().cert_pem(),
        ca.cert_pem(),
        "untouched"
    );

    other.save_overwriting(&ca_dir).unwrap();
    assert_eq!(Ca::load(&ca_dir).unwrap().cert_pem(), other.cert_pem());
}

#[test]
fn ca_load_refuses_a_key_of_another_ca() {
    let dir = tempfile::tempdir().unwrap();
    let ca = district_ca();
    ca.save(dir.path()).unwrap();
    let other = district_ca();
    std::fs::write(dir.path().join(CA_KEY_FILE), other.key_pem()).unwrap();

    let err = Ca::load(dir.path()).unwrap_err();
    assert!(matches!(err, PkiError::BadFile { .. }), "{err}");
    assert!(err.to_string().contains(CA_KEY_FILE), "{err}");
}

#[test]
fn ca_load_names_a_missing_or_garbage_file() {
    let dir = tempfile::tempdir().unwrap();
    let err = Ca::load(dir.path()).unwrap_err();
    assert!(err.to_string().contains(CA_CERT_FILE), "{err}");

    let ca = district_ca();
    ca.save(dir.path()).unwrap();
    std::fs::write(dir.path().join(CA_CERT_FILE), "garbage").unwrap();
    let err = Ca::load(dir.path()).unwrap_err();
    assert!(err.to_string().contains(CA_CERT_FILE), "{err}");

    // A node certificate is not a CA.
    let (node_cert, _) = new_node_key_and_cert(&ca, code(TOWN), now(), 30).unwrap();
    std::fs::write(dir.path().join(CA_CERT_FILE), node_cert).unwrap();
    let err = Ca::load(dir.path()).unwrap_err();
    assert!(err.to_string().contains("not a CA"), "{err}");
}

#[test]
fn csr_gets_the_identity_the_ca_decides_and_keeps_the_station_key() {
    let ca = district_ca();
    // The station makes its key and asks for more than it may have: the CA ignores the ask.
    let station_key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec!["evil.example".to_owned()]).unwrap();
    params.subject_alt_names.push(SanType::URI(
        identity_uri(code(DISTRICT)).try_into().unwrap(),
    ));
    let csr = params.serialize_request(&station_key).unwrap();

    let pem = ca
        .issue_from_csr(code(VILLAGE), csr.der(), now(), 30)
        .unwrap();
    let chain = parse_certs(pem.as_bytes(), "issued").unwrap();
    let identity = PeerIdentity::from_certificate(&chain[0], code(DISTRICT)).unwrap();
    assert_eq!(identity.station, code(VILLAGE));
    let (_, x509) = x509_parser::parse_x509_certificate(&chain[0]).unwrap();
    assert_eq!(
        x509.public_key().subject_public_key.data.as_ref(),
        station_key.public_key_raw()
    );
    let names = &x509
        .subject_alternative_name()
        .unwrap()
        .unwrap()
        .value
        .general_names;
    assert!(!names.contains(&GeneralName::DNSName("evil.example")));

    // The station's own key works with the issued certificate.
    NodeCredentials::from_pem(
        pem.as_bytes(),
        station_key.serialize_pem().as_bytes(),
        ca.cert_pem().as_bytes(),
    )
    .unwrap();
}

#[test]
fn csr_with_a_bad_signature_is_refused() {
    let ca = district_ca();
    let key = KeyPair::generate().unwrap();
    let csr = CertificateParams::new(Vec::<String>::new())
        .unwrap()
        .serialize_request(&key)
        .unwrap();
    let mut der = csr.der().as_ref().to_vec();
    let last = der.len() - 1;
    der[last] ^= 0x01;
    let err = ca
        .issue_from_csr(
            code(VILLAGE),
            &CertificateSigningRequestDer::from(der),
            now(),
            30,
        )
        .unwrap_err();
    assert!(matches!(err, PkiError::InvalidCsr(_)), "{err}");

    let err = ca
        .issue_from_csr(
            code(VILLAGE),
            &CertificateSigningRequestDer::from(vec![1, 2, 3]),
            now(),
            30,
        )
        .unwrap_err();
    assert!(matches!(err, PkiError::InvalidCsr(_)), "{err}");
}

#[test]
fn public_key_pem_round_trips_and_unknown_keys_are_refused() {
    let ca = district_ca();
    for alg in [
        &rcgen::PKCS_ECDSA_P256_SHA256,
        &rcgen::PKCS_ECDSA_P384_SHA384,
        &rcgen::PKCS_ED25519,
    ] {
        let key = KeyPair::generate_for(alg).unwrap();
        let public = NodePublicKey::from_pem(&key.public_key_pem()).unwrap();
        assert_eq!(public.der_bytes(), key.public_key_raw());
        let pem = ca.issue_node(code(TOWN), &public, now(), 30).unwrap();
        NodeCredentials::from_pem(
            pem.as_bytes(),
            key.serialize_pem().as_bytes(),
            ca.cert_pem().as_bytes(),
        )
        .unwrap();
    }
    assert!(matches!(
        NodePublicKey::from_spki_der(&[0x30, 0x00]),
        Err(PkiError::UnsupportedKey(_))
    ));
}
