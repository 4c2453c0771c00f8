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

/// Peak and current resident memory of a process, in KiB, from `/proc/<pid>/status`.
fn memory_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |name: &str| -> u64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in {status}"))
    };
    (field("VmHWM:"), field("VmRSS:"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn six_hundred_parallel_logins_keep_the_node_under_100_mb() {
    const PASSWORD: &str = "Correct-horse-2026";
    let root = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = format!(
        "[node]\ncode = \"410402001001\"\nname = \"第1社区\"\n\
         [http]\nlisten = \"127.0.0.1:{port}\"\n"
    );
    std::fs::write(root.path().join("node.toml"), &config).unwrap();
    // The account is made by the real command, at the real argon2 cost.
    bangban_tests::run(
        "station-node",
        &[
            "--config",
            &root.path().join("node.toml").display().to_string(),
            "user",
            "add",
            "--username",
            "wangfang",
            "--display-name",
            "王芳",
            "--password",
            PASSWORD,
        ],
    );
    let mut station = Node::start(Kind::Station, root.path(), port, &config);
    station.wait_ready(Duration::from_secs(20)).await;
    let pid = station.pid().unwrap();

    // Half with the right password, half for users that do not exist; each from its own
    // loopback address, so that throttling lets every one of them reach the password check.
    // Plain HTTP/1.1 over raw sockets: 600 HTTP clients would cost the test more than the node.
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let started = std::time::Instant::now();
    let logins = (0..600u16).map(|i| {
        let [hi, lo] = i.to_be_bytes();
        let from = std::net::SocketAddr::from(([127, 1, hi, lo], 0));
        let body = if i % 2 == 0 {
            serde_json::json!({"username": "wangfang", "password": PASSWORD})
        } else {
            serde_json::json!({"username": format!("ghost{i}"), "password": PASSWORD})
        }
        .to_string();
        tokio::spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let socket = tokio::net::TcpSocket::new_v4().unwrap();
            socket.bind(from).unwrap();
            let mut stream = socket.connect(addr).await.unwrap();
            let request = format!(
                "POST /api/v1/login HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
                 Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
            stream.write_all(request.as_bytes()).await.unwrap();
            let mut response = String::new();
            tokio::time::timeout(
                Duration::from_secs(60),
                stream.read_to_string(&mut response),
            )
            .await
            .expect("an answer within a minute")
            .unwrap();
            let (head, body) = response.split_once("\r\n\r\n").unwrap();
            let status: u16 = head[9..12].parse().unwrap();
            let content_type = head.lines().find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("content-type: ")
                    .map(str::to_owned)
            });
            let body: serde_json::Value = serde_json::from_str(body).unwrap();
            (status, content_type, body)
        })
    });
    let mut by_status = std::collections::BTreeMap::<u16, usize>::new();
    for login in logins.collect::<Vec<_>>() {
        let (status, content_type, body) = login.await.unwrap();
        *by_status.entry(status).or_default() += 1;
        match status {
            200 => assert_eq!(body["username"], "wangfang"),
            401 => assert_eq!(body["code"], "auth.invalid_credentials"),
            503 => {
                assert_eq!(content_type.as_deref(), Some("application/problem+json"));
                assert_eq!(body["code"], "auth.busy");
                assert!(!body["message_zh"].as_str().unwrap().is_empty());
            }
            other => panic!("unexpected status {other}: {body}"),
        }
    }
    let (peak, now) = memory_kib(pid);
    eprintln!(
        "600 logins in {:?}: {by_status:?}; peak RSS {peak} KiB, now {now} KiB",
        started.elapsed()
    );
    assert!(
        by_status.get(&200).copied().unwrap_or(0) > 0,
        "no login got through: {by_status:?}"
    );
    assert!(
        peak < 100 * 1024,
        "peak RSS {peak} KiB (now {now} KiB) after 600 parallel logins {by_status:?}"
    );
    // The node still answers.
    let res = reqwest::get(format!("{}/healthz", station.ui_url))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    station.stop();
}
