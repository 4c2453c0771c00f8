//! `district-node policy keygen|publish`, the real binary, checked with the stations' verifier.

use std::path::{Path, PathBuf};
use std::process::Command;

use bangban_domain::station::StationCode;
use bangban_kit::policy::bundle::{BundleError, PublicKey, verify};

fn deploy(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../deploy")
        .join(file)
}

fn run(args: &[&std::ffi::OsStr]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_district-node"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn publish(key: &Path, number: &str, topology: &Path, out: &Path) -> (i32, String, String) {
    let (cat, cal) = (
        deploy("policy/catalogue.json"),
        deploy("policy/calendar.json"),
    );
    run(&[
        "policy".as_ref(),
        "publish".as_ref(),
        "--key".as_ref(),
        key.as_os_str(),
        "--number".as_ref(),
        number.as_ref(),
        "--expires-days".as_ref(),
        "30".as_ref(),
        "--topology".as_ref(),
        topology.as_os_str(),
        "--catalogue".as_ref(),
        cat.as_os_str(),
        "--calendar".as_ref(),
        cal.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
    ])
}

fn keygen(dir: &Path) -> (i32, String, String) {
    run(&[
        "policy".as_ref(),
        "keygen".as_ref(),
        "--dir".as_ref(),
        dir.as_os_str(),
    ])
}

#[test]
fn keygen_and_publish_make_a_bundle_the_stations_verify() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    let (code, out, err) = keygen(&keys);
    assert_eq!(code, 0, "{err}");
    let public =
        PublicKey::parse(&std::fs::read_to_string(keys.join("policy.pub")).unwrap()).unwrap();
    assert!(out.contains(&public.to_base64()), "{out}");
    assert!(out.contains(&public.keyid()), "{out}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(keys.join("policy.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "the private key is the owner's only");
    }
    // A second keygen never replaces the key.
    let before = std::fs::read(keys.join("policy.key")).unwrap();
    let (code, _, err) = keygen(&keys);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("exists already"), "{err}");
    assert_eq!(std::fs::read(keys.join("policy.key")).unwrap(), before);

    let bundle = dir.path().join("bundle-1.json");
    let key = keys.join("policy.key");
    let (code, out, err) = publish(&key, "1", &deploy("topology/xinhua.json"), &bundle);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("policy bundle 1 for district 410402000000"),
        "{out}"
    );
    let district = StationCode::parse("410402000000").unwrap();
    let now = time::OffsetDateTime::now_utc();
    let envelope = std::fs::read(&bundle).unwrap();
    let verified = verify(&envelope, &[public], district, None, now).unwrap();
    assert_eq!(verified.number, 1);
    assert!(verified.expires_at > now + time::Duration::days(29));
    assert!(verified.policy.catalogue.get("410402-SCJG-001").is_some());
    // The stations' checks: an unpinned key refuses it, a replay is not newer.
    let other = dir.path().join("other");
    assert_eq!(keygen(&other).0, 0);
    let other =
        PublicKey::parse(&std::fs::read_to_string(other.join("policy.pub")).unwrap()).unwrap();
    assert_eq!(
        verify(&envelope, &[other], district, None, now).map(|b| b.number),
        Err(BundleError::UnknownKey)
    );
    assert!(verify(&envelope, &[other, public], district, None, now).is_ok());
    assert_eq!(
        verify(&envelope, &[public], district, Some(1), now).map(|b| b.number),
        Err(BundleError::NotNewer { number: 1, last: 1 })
    );

    // A bundle is immutable: the same --out is refused, and the file is unchanged.
    let (code, _, err) = publish(&key, "2", &deploy("topology/xinhua.json"), &bundle);
    assert_eq!(code, 2, "{err}");
    assert_eq!(std::fs::read(&bundle).unwrap(), envelope);
}

#[test]
fn publish_refuses_bad_input_with_exit_code_2_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(keygen(dir.path()).0, 0);
    let key = dir.path().join("policy.key");
    let bad_tree = dir.path().join("bad-tree.json");
    std::fs::write(&bad_tree, r#"{"district": {"code": "4104"}}"#).unwrap();
    let not_a_key = dir.path().join("not-a-key");
    std::fs::write(&not_a_key, "hello").unwrap();
    let xinhua = deploy("topology/xinhua.json");
    let out = dir.path().join("bundle.json");
    for (key, number, topology, needle) in [
        (&key, "1", &bad_tree, "--topology"),
        (&key, "0", &xinhua, "--number"),
        (&not_a_key, "1", &xinhua, "not-a-key"),
        (&dir.path().join("missing.key"), "1", &xinhua, "missing.key"),
        (&key, "1", &dir.path().join("missing.json"), "--topology"),
    ] {
        let (code, _, err) = publish(key, number, topology, &out);
        assert_eq!(code, 2, "{needle}: {err}");
        assert!(err.contains(needle), "{needle}: {err}");
        assert!(!out.exists(), "{needle}: nothing is written");
    }
    // Not a number at all: clap refuses it, also with 2.
    let (code, _, _) = publish(&key, "-3", &xinhua, &out);
    assert_eq!(code, 2);
    assert!(!out.exists());
}
