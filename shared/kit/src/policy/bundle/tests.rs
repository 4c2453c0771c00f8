use proptest::prelude::*;
use time::macros::datetime;

use super::*;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

const TOPOLOGY: &str = include_str!("../../../../../deploy/topology/xinhua.json");
const CATALOGUE: &str = include_str!("../../../../../deploy/policy/catalogue.json");
const CALENDAR: &str = include_str!("../../../../../deploy/policy/calendar.json");

/// The station's clock in these tests.
const NOW: OffsetDateTime = datetime!(2026-03-02 09:00 +08:00);

fn district() -> StationCode {
    StationCode::parse("410402000000").expect("code")
}

/// The shipped policy as a payload.
fn shipped(number: u64) -> BundlePayload {
    BundlePayload {
        district: district(),
        number,
        issued_at: NOW - Duration::days(1),
        expires_at: NOW + Duration::days(30),
        topology: Topology::from_json(TOPOLOGY).expect("topology"),
        catalogue: Catalogue::from_json(CATALOGUE).expect("catalogue"),
        calendar: WorkingCalendar::from_json(CALENDAR).expect("calendar"),
    }
}

/// A small policy (the district alone, no items, no holidays): small enough to change every
/// byte of its envelope in turn.
fn small(number: u64) -> BundlePayload {
    let topology = r#"{"district": {"code": "410402000000", "name": "新华区",
        "valid_from": "2022-01-01", "valid_until": null}, "source": "test", "stations": []}"#;
    BundlePayload {
        topology: Topology::from_json(topology).expect("topology"),
        catalogue: Catalogue::default(),
        calendar: WorkingCalendar::empty(),
        ..shipped(number)
    }
}

fn sign(key: &SigningKey, payload: &BundlePayload) -> Vec<u8> {
    key.sign_envelope(&payload.to_bytes().expect("payload"))
}

/// An envelope over arbitrary payload bytes, properly signed.
fn sign_raw(key: &SigningKey, payload: &str) -> Vec<u8> {
    key.sign_envelope(payload.as_bytes())
}

fn key() -> SigningKey {
    SigningKey::generate().expect("key")
}

#[test]
fn a_signed_bundle_verifies_and_carries_the_shipped_policy() {
    let key = key();
    let envelope = sign(&key, &shipped(7));
    let bundle =
        verify(&envelope, &[key.public_key()], district(), Some(6), NOW).expect("verifies");
    assert_eq!(bundle.number, 7);
    assert_eq!(bundle.district, district());
    assert_eq!(bundle.keyid, key.public_key().keyid());
    assert_eq!(bundle.envelope, envelope, "the exact bytes are kept");
    assert!(bundle.policy.catalogue.get("410402-SCJG-001").is_some());
    assert_eq!(
        bundle.policy.topology.as_ref().map(Topology::district),
        Some(district())
    );
    assert_eq!(bundle.policy.calendar, shipped(7).calendar);
    // The envelope has DSSE's shape.
    let json: serde_json::Value = serde_json::from_slice(&envelope).expect("json");
    assert_eq!(json["payloadType"], PAYLOAD_TYPE);
    assert_eq!(json["signatures"][0]["keyid"], key.public_key().keyid());
}

#[test]
fn pae_is_dsse_v1() {
    assert_eq!(
        pae("http://example.com/HelloWorld", b"hello world"),
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec()
    );
    assert_eq!(pae("", b""), b"DSSEv1 0  0 ".to_vec());
}

#[test]
fn keyid_is_the_hex_sha256_of_the_raw_key() {
    let key = PublicKey([0u8; 32]);
    // sha256 of 32 zero bytes
    assert_eq!(
        key.keyid(),
        "66687aadf862bd776c8fc18b8e9f8e20089714856ee233b3902a591d0d5f2925"
    );
}

#[test]
fn one_byte_changed_anywhere_is_refused() {
    let key = key();
    let pinned = [key.public_key()];
    let envelope = sign(&key, &small(3));
    verify(&envelope, &pinned, district(), None, NOW).expect("the original verifies");
    for i in 0..envelope.len() {
        for flip in [0x01u8, 0x20, 0x80] {
            let mut changed = envelope.clone();
            changed[i] ^= flip;
            assert!(
                verify(&changed, &pinned, district(), None, NOW).is_err(),
                "byte {i} ^ {flip:#x} still verifies"
            );
        }
    }
}

#[test]
fn a_byte_changed_in_the_shipped_bundle_is_refused() {
    let key = key();
    let pinned = [key.public_key()];
    let envelope = sign(&key, &shipped(3));
    for i in (0..envelope.len()).step_by(97) {
        let mut changed = envelope.clone();
        changed[i] ^= 0x01;
        assert!(
            verify(&changed, &pinned, district(), None, NOW).is_err(),
            "byte {i}"
        );
    }
}

#[test]
fn an_older_or_equal_number_is_refused() {
    let key = key();
    let pinned = [key.public_key()];
    let envelope = sign(&key, &small(5));
    assert_eq!(
        verify(&envelope, &pinned, district(), Some(6), NOW).map(|b| b.number),
        Err(BundleError::NotNewer { number: 5, last: 6 })
    );
    assert_eq!(
        verify(&envelope, &pinned, district(), Some(5), NOW).map(|b| b.number),
        Err(BundleError::NotNewer { number: 5, last: 5 })
    );
    assert_eq!(
        verify(&envelope, &pinned, district(), Some(4), NOW).map(|b| b.number),
        Ok(5)
    );
}

#[test]
fn an_expired_bundle_is_refused() {
    let key = key();
    let payload = BundlePayload {
        issued_at: NOW - Duration::days(40),
        expires_at: NOW - Duration::seconds(1),
        ..small(2)
    };
    let err = verify(
        &sign(&key, &payload),
        &[key.public_key()],
        district(),
        None,
        NOW,
    )
    .expect_err("expired");
    assert_eq!(
        err,
        BundleError::Expired {
            expires_at: payload.expires_at
        }
    );
    assert_eq!(err.code(), "policy_bundle.expired");
    assert!(err.message_zh().contains("过期"), "{}", err.message_zh());
}

#[test]
fn a_bundle_issued_far_ahead_of_the_clock_or_ending_before_it_starts_is_refused() {
    let key = key();
    let pinned = [key.public_key()];
    let ahead = BundlePayload {
        issued_at: NOW + Duration::days(2),
        expires_at: NOW + Duration::days(30),
        ..small(2)
    };
    assert!(matches!(
        verify(&sign(&key, &ahead), &pinned, district(), None, NOW),
        Err(BundleError::FromTheFuture { .. })
    ));
    let slightly_ahead = BundlePayload {
        issued_at: NOW + Duration::minutes(5),
        ..small(2)
    };
    assert!(verify(&sign(&key, &slightly_ahead), &pinned, district(), None, NOW).is_ok());
    let inverted = BundlePayload {
        issued_at: NOW,
        expires_at: NOW - Duration::days(1),
        ..small(2)
    };
    assert!(matches!(
        verify(&sign(&key, &inverted), &pinned, district(), None, NOW),
        Err(BundleError::InvertedPeriod { .. })
    ));
}

#[test]
fn a_bundle_for_another_district_is_refused() {
    let key = key();
    let other = StationCode::parse("410403000000").expect("code");
    assert_eq!(
        verify(
            &sign(&key, &small(1)),
            &[key.public_key()],
            other,
            None,
            NOW
        )
        .map(|b| b.number),
        Err(BundleError::WrongDistrict {
            expected: other,
            got: district()
        })
    );
    // A payload that claims another district than its own tree's.
    let lying = BundlePayload {
        district: other,
        ..small(1)
    };
    assert_eq!(
        verify(&sign(&key, &lying), &[key.public_key()], other, None, NOW).map(|b| b.number),
        Err(BundleError::TreeDistrict {
            bundle: other,
            tree: district()
        })
    );
}

#[test]
fn a_bundle_signed_by_an_unpinned_key_is_refused() {
    let (signer, pinned) = (key(), key());
    let envelope = sign(&signer, &small(1));
    assert_eq!(
        verify(&envelope, &[pinned.public_key()], district(), None, NOW).map(|b| b.number),
        Err(BundleError::UnknownKey)
    );
    assert_eq!(
        verify(&envelope, &[], district(), None, NOW).map(|b| b.number),
        Err(BundleError::NoPinnedKeys)
    );
    // A signature that names a pinned key but is not its signature.
    let mut json: serde_json::Value = serde_json::from_slice(&envelope).expect("json");
    json["signatures"][0]["keyid"] = pinned.public_key().keyid().into();
    let forged = serde_json::to_vec(&json).expect("json");
    assert_eq!(
        verify(&forged, &[pinned.public_key()], district(), None, NOW).map(|b| b.number),
        Err(BundleError::BadSignature)
    );
    // Without a key id hint, every pinned key is tried.
    json["signatures"][0]["keyid"] = "".into();
    let hintless = serde_json::to_vec(&json).expect("json");
    assert_eq!(
        verify(&hintless, &[pinned.public_key()], district(), None, NOW).map(|b| b.number),
        Err(BundleError::BadSignature)
    );
    assert_eq!(
        verify(
            &hintless,
            &[pinned.public_key(), signer.public_key()],
            district(),
            None,
            NOW
        )
        .map(|b| b.number),
        Ok(1)
    );
}

#[test]
fn with_the_old_and_the_new_key_pinned_both_verify() {
    let (old, new) = (key(), key());
    let pinned = [old.public_key(), new.public_key()];
    let by_old = verify(&sign(&old, &small(1)), &pinned, district(), None, NOW).expect("old");
    let by_new = verify(&sign(&new, &small(2)), &pinned, district(), Some(1), NOW).expect("new");
    assert_eq!(by_old.keyid, old.public_key().keyid());
    assert_eq!(by_new.keyid, new.public_key().keyid());
    let third = key();
    assert_eq!(
        verify(
            &sign(&third, &small(3)),
            &[old.public_key(), new.public_key(), third.public_key()],
            district(),
            None,
            NOW
        )
        .map(|b| b.number),
        Err(BundleError::TooManyPinnedKeys(3))
    );
}

#[test]
fn malformed_envelopes_and_payloads_are_refused_with_their_reason() {
    let key = key();
    let pinned = [key.public_key()];
    let check = |bytes: &[u8]| verify(bytes, &pinned, district(), None, NOW).map(|b| b.number);
    assert!(matches!(check(b"not json"), Err(BundleError::Envelope(_))));
    assert!(matches!(check(b""), Err(BundleError::Envelope(_))));
    assert!(matches!(check(b"{}"), Err(BundleError::Envelope(_))));
    let other_type = r#"{"payloadType":"text/plain","payload":"","signatures":[]}"#;
    assert!(matches!(
        check(other_type.as_bytes()),
        Err(BundleError::PayloadType(t)) if t == "text/plain"
    ));
    let bad_payload =
        format!(r#"{{"payloadType":"{PAYLOAD_TYPE}","payload":"@@@","signatures":[]}}"#);
    assert_eq!(
        check(bad_payload.as_bytes()),
        Err(BundleError::Base64("payload"))
    );
    let bad_sig = format!(
        r#"{{"payloadType":"{PAYLOAD_TYPE}","payload":"","signatures":[{{"keyid":"","sig":"!"}}]}}"#
    );
    assert_eq!(
        check(bad_sig.as_bytes()),
        Err(BundleError::Base64("signature"))
    );
    let unsigned = format!(r#"{{"payloadType":"{PAYLOAD_TYPE}","payload":"","signatures":[]}}"#);
    assert_eq!(check(unsigned.as_bytes()), Err(BundleError::UnknownKey));

    // Signed, but the payload is not a policy.
    assert!(matches!(
        check(&sign_raw(&key, "not json")),
        Err(BundleError::Payload(_))
    ));
    let mut good: serde_json::Value =
        serde_json::from_slice(&small(1).to_bytes().expect("payload")).expect("json");
    good["catalogue"] = serde_json::json!({"items": [{"code": ""}]});
    assert!(matches!(
        check(&sign_raw(&key, &good.to_string())),
        Err(BundleError::Catalogue(_))
    ));
    let mut bad_tree = good.clone();
    bad_tree["catalogue"] = serde_json::json!({"items": []});
    bad_tree["topology"]["district"]["code"] = "410402001000".into();
    assert!(matches!(
        check(&sign_raw(&key, &bad_tree.to_string())),
        Err(BundleError::Topology(_))
    ));
    let mut bad_calendar = bad_tree.clone();
    bad_calendar["topology"]["district"]["code"] = "410402000000".into();
    bad_calendar["calendar"] = serde_json::json!({"years": [{"year": 2026, "source": "x",
        "holidays": [{"name": "x", "off": ["2026-01-05", "2026-01-01"], "makeup": []}]}]});
    assert!(matches!(
        check(&sign_raw(&key, &bad_calendar.to_string())),
        Err(BundleError::Calendar(_))
    ));
    let mut extra = bad_calendar.clone();
    extra["calendar"] = serde_json::json!({"years": []});
    assert_eq!(check(&sign_raw(&key, &extra.to_string())), Ok(1));
    extra["surprise"] = true.into();
    assert!(matches!(
        check(&sign_raw(&key, &extra.to_string())),
        Err(BundleError::Payload(_))
    ));
    let mut bad_district = extra.clone();
    bad_district.as_object_mut().map(|o| o.remove("surprise"));
    bad_district["district"] = "41040".into();
    assert!(matches!(
        check(&sign_raw(&key, &bad_district.to_string())),
        Err(BundleError::District(_))
    ));
}

#[test]
fn every_error_has_a_code_and_both_messages() {
    let errors = [
        BundleError::UnknownKey,
        BundleError::BadSignature,
        BundleError::Base64("payload"),
        BundleError::NotNewer { number: 1, last: 2 },
        BundleError::Catalogue(CatalogueError::Duplicate("X".into())),
    ];
    for e in errors {
        let problem = crate::http::Problem::from(e.clone());
        assert_eq!(problem.status, 422);
        assert!(e.code().starts_with("policy_bundle."));
        let json = serde_json::to_value(&problem).expect("json");
        assert_eq!(json["code"], e.code());
        assert_ne!(json["message_zh"], json["message_en"]);
        assert!(!e.message_zh().is_empty());
    }
}

#[test]
fn a_bundle_that_could_not_be_kept_hides_the_cause() {
    let problem = crate::http::Problem::from(BundleError::Store(
        "/var/lib/bangban/policy-bundle.json: Permission denied".into(),
    ));
    assert_eq!(problem.status, 500);
    assert_eq!(problem.code, "policy_bundle.store");
    assert!(
        !problem.message_en.contains("/var/lib"),
        "{}",
        problem.message_en
    );
    assert!(
        !problem.message_zh.contains("Permission"),
        "{}",
        problem.message_zh
    );
}

#[test]
fn the_end_of_time_does_not_overflow() {
    let key = key();
    let envelope = sign(&key, &small(1));
    let end = time::PrimitiveDateTime::MAX.assume_utc();
    // Expired by then, and refused as such: no panic on the way.
    assert!(matches!(
        verify(&envelope, &[key.public_key()], district(), None, end),
        Err(BundleError::Expired { .. })
    ));
}

#[test]
fn keys_round_trip_through_their_files() {
    let key = key();
    let pem = key.to_pem();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
    let again = SigningKey::from_pkcs8(pem.as_bytes()).expect("pem");
    assert_eq!(again.public_key(), key.public_key());
    let der = B64
        .decode(
            pem.lines()
                .filter(|l| !l.starts_with("-----"))
                .collect::<String>(),
        )
        .expect("base64");
    assert_eq!(
        SigningKey::from_pkcs8(&der).expect("der").public_key(),
        key.public_key()
    );
    let public = key.public_key().to_base64();
    assert_eq!(
        PublicKey::parse(&format!("  {public}\n")),
        Ok(key.public_key())
    );
    assert_eq!(
        PublicKey::parse("not base64!"),
        Err(KeyError::PublicNotBase64)
    );
    assert_eq!(PublicKey::parse("AAAA"), Err(KeyError::PublicLength(3)));
    assert!(matches!(
        SigningKey::from_pkcs8(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"),
        Err(KeyError::PrivateRejected(_))
    ));
    assert_eq!(
        SigningKey::from_pkcs8(b"-----BEGIN CERTIFICATE-----\nAAAA\n").map(|k| k.public_key()),
        Err(KeyError::PrivateNotPem)
    );
    assert!(SigningKey::from_pkcs8(b"").is_err());
}

#[test]
fn the_store_keeps_the_last_good_bundle_whole_and_reloads_it() {
    let dir = tempfile::tempdir().expect("dir");
    let store = BundleStore::new(dir.path());
    let key = key();
    let pinned = [key.public_key()];
    assert_eq!(
        store.load(&pinned, district(), NOW).map(|b| b.is_some()),
        Ok(false)
    );

    let first = verify(&sign(&key, &small(1)), &pinned, district(), None, NOW).expect("1");
    store.save(&first).expect("save");
    let second = verify(&sign(&key, &small(2)), &pinned, district(), Some(1), NOW).expect("2");
    store.save(&second).expect("save");
    assert_eq!(std::fs::read(store.path()).expect("read"), second.envelope);
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, [BUNDLE_FILE], "no temporary file is left");

    let loaded = store
        .load(&pinned, district(), NOW)
        .expect("loads")
        .expect("kept");
    assert_eq!(loaded.number, 2);
    assert_eq!(loaded.envelope, second.envelope);

    // Offline past its expiry, the last good bundle still loads, and says it has expired.
    let later = NOW + Duration::days(365);
    let stale = store
        .load(&pinned, district(), later)
        .expect("loads")
        .expect("kept");
    assert!(stale.is_expired(later));

    // A kept file changed on disk is refused, not trusted.
    let mut tampered = second.envelope.clone();
    let last = tampered.len() - 3;
    tampered[last] ^= 0x01;
    std::fs::write(store.path(), &tampered).expect("write");
    assert!(store.load(&pinned, district(), NOW).is_err());
    assert!(
        store
            .load(&[super::tests::key().public_key()], district(), NOW)
            .is_err()
    );
}

#[test]
fn receive_applies_a_newer_bundle_and_keeps_the_old_one_on_refusal() {
    let dir = tempfile::tempdir().expect("dir");
    let store = BundleStore::new(dir.path());
    let handle = PolicyHandle::new(Policy::default());
    let key = key();
    let pinned = [key.public_key()];
    let take = |bytes: &[u8]| receive(bytes, &pinned, district(), &handle, &store, NOW);

    let first = sign(&key, &shipped(1));
    assert_eq!(
        take(&first),
        Ok(Received::Applied {
            number: 1,
            generation: 2
        })
    );
    let now_in_force = handle.current();
    assert_eq!(now_in_force.bundle, Some(1));
    assert!(now_in_force.catalogue.get("410402-SCJG-001").is_some());
    assert_eq!(take(&first), Ok(Received::AlreadyInForce { number: 1 }));

    // Refused: same number, other bytes; tampered; older. Nothing changes.
    let reused = sign(&key, &small(1));
    assert_eq!(take(&reused), Err(BundleError::NumberReused { number: 1 }));
    let mut tampered = sign(&key, &small(2));
    let middle = tampered.len() / 2;
    tampered[middle] ^= 0x01;
    assert!(take(&tampered).is_err());
    assert_eq!(handle.current().generation, 2);
    assert_eq!(handle.current().bundle, Some(1));
    assert_eq!(store.read().expect("read"), Some(first.clone()));

    let second = sign(&key, &small(2));
    assert_eq!(
        take(&second),
        Ok(Received::Applied {
            number: 2,
            generation: 3
        })
    );
    assert_eq!(
        take(&first),
        Err(BundleError::NotNewer { number: 1, last: 2 })
    );
    assert_eq!(store.read().expect("read"), Some(second));
    assert!(handle.current().catalogue.items.is_empty());
}

#[test]
fn a_restarted_station_comes_up_on_its_last_good_bundle() {
    let dir = tempfile::tempdir().expect("dir");
    let key = key();
    let pinned = [key.public_key()];
    {
        let handle = PolicyHandle::new(Policy::default());
        let store = BundleStore::new(dir.path());
        assert_eq!(restore(&store, &pinned, district(), &handle, NOW), Ok(None));
        assert_eq!(
            handle.current().bundle,
            None,
            "nothing kept, nothing changed"
        );
        let taken = receive(
            &sign(&key, &shipped(4)),
            &pinned,
            district(),
            &handle,
            &store,
            NOW,
        );
        assert!(matches!(taken, Ok(Received::Applied { number: 4, .. })));
    }
    // Restarted (a new handle on the policy files), offline, a month and a half later.
    let later = NOW + Duration::days(45);
    let handle = PolicyHandle::new(Policy::default());
    let store = BundleStore::new(dir.path());
    let restored = restore(&store, &pinned, district(), &handle, later)
        .expect("restores")
        .expect("kept");
    assert_eq!(restored.number, 4);
    assert!(restored.expired, "past its expiry, and says so");
    let in_force = handle.current();
    assert_eq!(in_force.bundle, Some(4));
    assert!(in_force.catalogue.get("410402-SCJG-001").is_some());
    // Pinned keys that no longer include the signer: the kept bundle is not trusted.
    let fresh = PolicyHandle::new(Policy::default());
    assert_eq!(
        restore(
            &store,
            &[super::tests::key().public_key()],
            district(),
            &fresh,
            NOW
        ),
        Err(BundleError::UnknownKey)
    );
    assert_eq!(fresh.current().bundle, None);
}

#[test]
fn install_never_goes_back() {
    let handle = PolicyHandle::new(Policy::default());
    assert_eq!(handle.install(Policy::default(), 4), Ok(2));
    assert_eq!(
        handle.install(Policy::default(), 4),
        Err(BundleError::NotNewer { number: 4, last: 4 })
    );
    assert_eq!(handle.current().bundle, Some(4));
    assert_eq!(handle.install(Policy::default(), 9), Ok(3));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_verify(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let key = PublicKey([7u8; 32]);
        prop_assert!(verify(&bytes, &[key], district(), None, NOW).is_err());
    }

    #[test]
    fn arbitrary_envelope_shaped_json_never_verifies(
        payload in ".{0,200}",
        sig in "[A-Za-z0-9+/=]{0,100}",
        keyid in "[0-9a-f]{0,64}",
    ) {
        let key = PublicKey([7u8; 32]);
        let envelope = serde_json::json!({
            "payloadType": PAYLOAD_TYPE,
            "payload": B64.encode(payload.as_bytes()),
            "signatures": [{"keyid": keyid, "sig": sig}],
        });
        let bytes = serde_json::to_vec(&envelope).expect("json");
        prop_assert!(verify(&bytes, &[key], district(), None, NOW).is_err());
    }
}

/// One signed envelope for the mutation property (signing per case would be slow for nothing).
fn mutation_fixture() -> &'static (Vec<u8>, PublicKey) {
    static FIXTURE: std::sync::OnceLock<(Vec<u8>, PublicKey)> = std::sync::OnceLock::new();
    FIXTURE.get_or_init(|| {
        let key = key();
        (sign(&key, &small(1)), key.public_key())
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn mutated_valid_envelopes_never_verify(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 1..4),
        cut in proptest::option::of(any::<prop::sample::Index>()),
    ) {
        let (envelope, key) = mutation_fixture();
        prop_assert!(verify(envelope, &[*key], district(), None, NOW).is_ok());
        let mut changed = envelope.clone();
        // Distinct positions, each changed: a byte xor'd twice would cancel out.
        let mut seen = std::collections::BTreeSet::new();
        for (at, flip) in edits {
            let i = at.index(changed.len());
            if seen.insert(i) {
                changed[i] ^= flip;
            }
        }
        if let Some(cut) = cut {
            changed.truncate(cut.index(changed.len()));
        }
        prop_assert!(verify(&changed, &[*key], district(), None, NOW).is_err());
    }
}
