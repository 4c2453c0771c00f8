//! Real node processes on loopback: they start, answer health checks, stop on SIGTERM, and the
//! shipped example configurations are accepted as they are.
#![allow(clippy::unwrap_used)]

use std::process::Command;
use std::time::Duration;

use bangban_tests::{Kind, Node, binary, free_port, workspace};

fn calendar() -> String {
    workspace()
        .join("deploy/policy/calendar.json")
        .display()
        .to_string()
}

#[tokio::test]
async fn district_and_station_processes_start_answer_health_and_stop_cleanly() {
    let root = tempfile::tempdir().unwrap();
    let (dport, sport) = (free_port(), free_port());
    let mut district = Node::start(
        Kind::District,
        &root.path().join("district"),
        dport,
        &format!(
            "[node]\ncode = \"410402000000\"\nname = \"新华区\"\n\
             [http]\nlisten = \"127.0.0.1:{dport}\"\n\
             [database]\nurl = \"sqlite://district.sqlite\"\n\
             [policy]\ncalendar = \"{}\"\n",
            calendar()
        ),
    );
    let mut station = Node::start(
        Kind::Station,
        &root.path().join("village"),
        sport,
        &format!(
            "[node]\ncode = \"410402001001\"\nname = \"第1社区\"\n\
             [http]\nlisten = \"127.0.0.1:{sport}\"\n\
             [policy]\ncalendar = \"{}\"\n",
            calendar()
        ),
    );
    district.wait_ready(Duration::from_secs(20)).await;
    station.wait_ready(Duration::from_secs(20)).await;

    for node in [&district, &station] {
        let res = reqwest::get(format!("{}/healthz", node.ui_url))
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    }
    assert!(root.path().join("district/district.sqlite").is_file());
    assert!(root.path().join("village/station.sqlite").is_file());

    for node in [&mut district, &mut station] {
        let status = node.stop().unwrap();
        assert!(
            status.success(),
            "clean exit on SIGTERM: {status}\n{}",
            node.log()
        );
        assert!(node.log().contains("SIGTERM"), "{}", node.log());
    }
}

#[test]
fn shipped_example_configs_are_accepted() {
    for (bin, file) in [
        ("station-node", "deploy/config/station.example.toml"),
        ("district-node", "deploy/config/district.example.toml"),
    ] {
        let out = Command::new(binary(bin))
            .arg("--config")
            .arg(workspace().join(file))
            .arg("check-config")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{file}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn migrate_creates_the_database_and_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("s.toml");
    std::fs::write(
        &config,
        "[node]\ncode = \"410402100200\"\nname = \"焦店镇某村\"\n[database]\npath = \"s.sqlite\"\n",
    )
    .unwrap();
    for _ in 0..2 {
        let out = Command::new(binary("station-node"))
            .arg("--config")
            .arg(&config)
            .arg("migrate")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(dir.path().join("s.sqlite").is_file());
}

#[tokio::test]
async fn logs_are_json_lines_on_request() {
    let root = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut station = Node::start(
        Kind::Station,
        root.path(),
        port,
        &format!(
            "[node]\ncode = \"410402001001\"\nname = \"第1社区\"\n\
             [http]\nlisten = \"127.0.0.1:{port}\"\n[log]\nformat = \"json\"\n"
        ),
    );
    station.wait_ready(Duration::from_secs(20)).await;
    station.stop();
    let log = station.log();
    let lines: Vec<&str> = log.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(!lines.is_empty());
    for line in lines {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
        assert!(
            v["level"].is_string() && v["timestamp"].is_string(),
            "{line}"
        );
    }
}

#[test]
fn issued_certificates_carry_the_identity_and_the_extra_hosts() {
    use x509_parser::prelude::*;
    let dir = tempfile::tempdir().unwrap();
    let ca_dir = dir.path().join("ca");
    let ca = ca_dir.display().to_string();
    let out = dir.path().join("town").display().to_string();
    bangban_tests::ca_init(&ca_dir);
    // A second init never replaces the CA.
    let again = Command::new(binary("district-node"))
        .args(["ca", "init", "--dir", &ca, "--district", "410402000000"])
        .output()
        .unwrap();
    assert!(!again.status.success());
    bangban_tests::ca_issue(
        &ca_dir,
        "410402001000",
        &dir.path().join("town"),
        &["--host", "10.9.8.7"],
    );
    let pem = std::fs::read(dir.path().join("town/node.pem")).unwrap();
    let (_, pem) = parse_x509_pem(&pem).unwrap();
    let cert = pem.parse_x509().unwrap();
    let san = cert.subject_alternative_name().unwrap().unwrap();
    let names: Vec<String> = san
        .value
        .general_names
        .iter()
        .map(|n| format!("{n}"))
        .collect();
    let all = names.join(" ");
    assert!(
        all.contains("bangban://410402000000/town/410402001000"),
        "{all}"
    );
    assert!(
        san.value
            .general_names
            .iter()
            .any(|n| matches!(n, GeneralName::IPAddress(ip) if *ip == [10, 9, 8, 7])),
        "{all}"
    );
    assert_eq!(
        names.len(),
        2,
        "the identity and the one host asked for: {all}"
    );
    assert!(
        !all.contains("localhost") && !all.contains("127.0.0.1"),
        "{all}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("town/node.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "the key is readable by its owner only");
    }
    // Another district's station is refused.
    let other = Command::new(binary("district-node"))
        .args([
            "ca",
            "issue",
            "--dir",
            &ca,
            "--station",
            "410403001000",
            "--out",
            &out,
        ])
        .output()
        .unwrap();
    assert!(!other.status.success());
}

#[test]
fn a_node_refuses_to_start_with_another_stations_certificate() {
    let dir = tempfile::tempdir().unwrap();
    bangban_tests::ca_init(&dir.path().join("ca"));
    // The sibling village's certificate, configured on this village.
    bangban_tests::ca_issue(
        &dir.path().join("ca"),
        "410402001002",
        &dir.path().join("tls"),
        &[],
    );
    let port = free_port();
    let config = dir.path().join("node.toml");
    std::fs::write(
        &config,
        format!(
            "[node]\ncode = \"410402001001\"\nname = \"第1社区\"\n\
             [http]\nlisten = \"127.0.0.1:{port}\"\n\
             [parent]\nurl = \"https://127.0.0.1:9\"\n\
             [tls]\ncert = \"tls/node.pem\"\nkey = \"tls/node.key\"\nca = \"tls/ca.pem\"\n"
        ),
    )
    .unwrap();
    let out = Command::new(binary("station-node"))
        .arg("--config")
        .arg(&config)
        .arg("serve")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("tls.cert") && err.contains("410402001002"),
        "{err}"
    );
}
