//! Reading the identity out of a (verified) certificate: exactly one well-formed `bangban://`
//! URI of this district, whose tier is the station's own.

use bangban_kit::tls::{IdentityError, PeerIdentity};
use rcgen::{CertificateParams, KeyPair, SanType};
use rustls::pki_types::CertificateDer;

use crate::support::*;

/// A self-signed certificate with these SANs; parsing does not verify, so it will do.
fn cert_with(sans: &[SanType]) -> CertificateDer<'static> {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.subject_alt_names = sans.to_vec();
    let key = KeyPair::generate().unwrap();
    params.self_signed(&key).unwrap().der().clone()
}

fn uri(s: &str) -> SanType {
    SanType::URI(s.try_into().unwrap())
}

fn identity_of(sans: &[SanType]) -> Result<PeerIdentity, IdentityError> {
    PeerIdentity::from_certificate(&cert_with(sans), code(DISTRICT))
}

#[test]
fn one_identity_among_other_names_is_read() {
    let identity = identity_of(&[
        SanType::DnsName("localhost".try_into().unwrap()),
        uri("https://example.invalid/"),
        uri("bangban://410402000000/village/410402001001"),
    ])
    .unwrap();
    assert_eq!(identity.station, code(VILLAGE));
    assert_eq!(identity.tier(), bangban_domain::station::Tier::Village);
}

#[test]
fn no_certificate_or_no_identity_is_refused() {
    assert_eq!(
        PeerIdentity::from_peer_certificates(None, code(DISTRICT)),
        Err(IdentityError::NoCertificate)
    );
    assert_eq!(
        PeerIdentity::from_peer_certificates(Some(&[]), code(DISTRICT)),
        Err(IdentityError::NoCertificate)
    );
    assert_eq!(identity_of(&[]), Err(IdentityError::NoIdentity));
    assert_eq!(
        identity_of(&[SanType::DnsName("localhost".try_into().unwrap())]),
        Err(IdentityError::NoIdentity)
    );
    assert!(matches!(
        PeerIdentity::from_certificate(
            &CertificateDer::from(vec![0x30, 0x03, 1, 2, 3]),
            code(DISTRICT)
        ),
        Err(IdentityError::Unparseable(_))
    ));
}

#[test]
fn two_identities_are_refused() {
    assert_eq!(
        identity_of(&[
            uri("bangban://410402000000/village/410402001001"),
            uri("bangban://410402000000/town/410402001000"),
        ]),
        Err(IdentityError::MultipleIdentities(2))
    );
    // A differently cased scheme still counts, and is then malformed.
    assert_eq!(
        identity_of(&[
            uri("bangban://410402000000/village/410402001001"),
            uri("BANGBAN://410402000000/town/410402001000"),
        ]),
        Err(IdentityError::MultipleIdentities(2))
    );
}

#[test]
fn identity_of_another_district_is_refused() {
    let err = identity_of(&[uri("bangban://410403000000/village/410403001001")]).unwrap_err();
    assert!(
        matches!(err, IdentityError::OtherDistrict { found, expected, .. }
            if found == code(OTHER_DISTRICT) && expected == code(DISTRICT)),
        "{err}"
    );
    // The district part and the station must agree too.
    let err = identity_of(&[uri("bangban://410402000000/village/410403001001")]).unwrap_err();
    assert!(matches!(err, IdentityError::OtherDistrict { .. }), "{err}");
}

#[test]
fn tier_must_be_the_stations_own() {
    let err = identity_of(&[uri("bangban://410402000000/town/410402001001")]).unwrap_err();
    assert!(
        matches!(err, IdentityError::TierMismatch { station, .. } if station == code(VILLAGE)),
        "{err}"
    );
    let err = identity_of(&[uri("bangban://410402000000/district/410402001000")]).unwrap_err();
    assert!(matches!(err, IdentityError::TierMismatch { .. }), "{err}");
}

#[test]
fn malformed_identities_are_refused() {
    for bad in [
        "bangban:410402000000/village/410402001001",
        "BANGBAN://410402000000/village/410402001001",
        "bangban://410402000000/village/410402001001/",
        "bangban://410402000000/village",
        "bangban://410402000000//410402001001",
        "bangban://410402000000/hamlet/410402001001",
        "bangban://410402000000/village/41040200100x",
        "bangban://410402001000/village/410402001001",
        "bangban://410402000000/village/410402001001?x=1",
    ] {
        let err = PeerIdentity::parse_uri(bad, code(DISTRICT)).unwrap_err();
        assert!(
            matches!(err, IdentityError::Malformed { .. }),
            "{bad}: {err}"
        );
    }
    assert_eq!(
        PeerIdentity::parse_uri(
            "bangban://410402000000/village/410402001001",
            code(DISTRICT)
        ),
        Ok(code(VILLAGE))
    );
}
