//! Helpers for cross-tier tests: real node binaries started as child processes on loopback, each
//! with its own folder, config and SQLite file, waited on through their readiness endpoints.
//!
//! A node is killed when its handle drops, so a failing test never leaves processes behind.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The folder holding the workspace's built binaries: next to this executable, whether it is a
/// test (`target/<profile>/deps/<test>`) or a binary such as the benchmark
/// (`target/<profile>/<bin>`).
pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("executable path");
    let dir = exe.parent().expect("executable folder");
    if dir.file_name().is_some_and(|n| n == "deps") {
        dir.parent().expect("target folder").to_path_buf()
    } else {
        dir.to_path_buf()
    }
}

/// The path of a workspace binary, built by `cargo test --workspace` / `cargo nextest run`.
pub fn binary(name: &str) -> PathBuf {
    let path = bin_dir().join(name);
    assert!(
        path.is_file(),
        "{} is missing: build the workspace first (cargo build --workspace)",
        path.display()
    );
    path
}

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// A free loopback port (bound then released; good enough on a test machine).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Which binary a node runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    District,
    Station,
}

impl Kind {
    fn binary(self) -> &'static str {
        match self {
            Kind::District => "district-node",
            Kind::Station => "station-node",
        }
    }
}

/// A node process.
pub struct Node {
    pub kind: Kind,
    pub dir: PathBuf,
    pub config: PathBuf,
    pub ui_url: String,
    child: Option<Child>,
}

impl Node {
    /// Writes `config_toml` into `dir` and starts the node's `serve`.
    pub fn start(kind: Kind, dir: &Path, port: u16, config_toml: &str) -> Node {
        std::fs::create_dir_all(dir).expect("node folder");
        let config = dir.join("node.toml");
        std::fs::write(&config, config_toml).expect("node config");
        let mut node = Node {
            kind,
            dir: dir.to_path_buf(),
            config,
            ui_url: format!("http://127.0.0.1:{port}"),
            child: None,
        };
        node.spawn();
        node
    }

    /// Starts (or restarts) the process on the same folder and config.
    pub fn spawn(&mut self) {
        // Appended to, so that a restarted node's log follows what it said before it died.
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("node.log"))
            .expect("log file");
        let child = without_test_settings(&mut Command::new(binary(self.kind.binary())))
            .arg("--config")
            .arg(&self.config)
            .arg("serve")
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start node");
        self.child = Some(child);
    }

    /// Waits until `/readyz` answers 200, or panics with the node's log.
    pub async fn wait_ready(&mut self, timeout: Duration) {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                panic!("{:?} node exited with {status}:\n{}", self.kind, self.log());
            }
            if let Ok(res) = client.get(format!("{}/readyz", self.ui_url)).send().await
                && res.status() == 200
            {
                return;
            }
            if Instant::now() > deadline {
                panic!(
                    "{:?} node not ready in {timeout:?}:\n{}",
                    self.kind,
                    self.log()
                );
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// The process id while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The node's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("node.log")).unwrap_or_default()
    }

    /// Asks the node to stop (SIGTERM) and waits for it.
    pub fn stop(&mut self) -> Option<std::process::ExitStatus> {
        let mut child = self.child.take()?;
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        child.wait().ok()
    }

    /// Kills the node with SIGKILL, as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Removes the test's own `BANGBAN_FAULT_*` variables (the fault test's seed and length) from a
/// node's environment: a node reads every `BANGBAN_` variable as a setting and refuses unknown ones.
fn without_test_settings(cmd: &mut Command) -> &mut Command {
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("BANGBAN_FAULT_") {
            cmd.env_remove(name);
        }
    }
    cmd
}

/// Runs a workspace binary to completion, panicking with its output on failure.
pub fn run(bin: &str, args: &[&str]) -> String {
    let out = without_test_settings(&mut Command::new(binary(bin)))
        .args(args)
        .output()
        .expect("run binary");
    assert!(
        out.status.success(),
        "{bin} {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The password of the operator [`add_operator`] creates.
pub const PASSWORD: &str = "test-password-2026";

/// Adds the operator tests log in as (`operator`, [`PASSWORD`]) with the node's own
/// `user add`, before the node starts.
pub fn add_operator(bin: &str, config: &Path) {
    let config = config.display().to_string();
    run(
        bin,
        &[
            "--config",
            &config,
            "user",
            "add",
            "--username",
            "operator",
            "--display-name",
            "测试员",
            "--password",
            PASSWORD,
        ],
    );
}

/// Logs the [`add_operator`] operator in at the node whose UI/API is `ui`; its bearer token.
pub async fn login(http: &reqwest::Client, ui: &str) -> String {
    let res = http
        .post(format!("{ui}/api/v1/login"))
        .json(&serde_json::json!({"username": "operator", "password": PASSWORD}))
        .send()
        .await
        .expect("login");
    assert_eq!(res.status(), 200, "login at {ui}");
    let body: serde_json::Value = res.json().await.expect("login body");
    body["token"].as_str().expect("token").to_owned()
}

/// Creates a district CA in `dir` with the real `district-node ca init`.
pub fn ca_init(dir: &Path) {
    run(
        "district-node",
        &[
            "ca",
            "init",
            "--dir",
            &dir.display().to_string(),
            "--district",
            "410402000000",
        ],
    );
}

/// Issues `station` a certificate from the CA in `ca` into `out` (`ca issue`), with `extra`
/// arguments such as `--host`.
pub fn ca_issue(ca: &Path, station: &str, out: &Path, extra: &[&str]) {
    let ca = ca.display().to_string();
    let out = out.display().to_string();
    let mut args = vec![
        "ca",
        "issue",
        "--dir",
        &ca,
        "--station",
        station,
        "--out",
        &out,
    ];
    args.extend_from_slice(extra);
    run("district-node", &args);
}

/// A page of the web UI at `ui`, signed in as the tree's operator: its status and text.
pub async fn web_page(ui: &str, path: &str) -> (u16, String) {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("web UI");
    let res = http
        .post(format!("{ui}/login"))
        .header("sec-fetch-site", "same-origin")
        .form(&[("username", "operator"), ("password", PASSWORD)])
        .send()
        .await
        .expect("web UI");
    let cookie = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("bangban_session="))
        .expect("web UI")
        .split(';')
        .next()
        .expect("web UI")
        .to_owned();
    let res = http
        .get(format!("{ui}{path}"))
        .header("cookie", cookie)
        .send()
        .await
        .expect("web UI");
    (res.status().as_u16(), res.text().await.expect("web UI"))
}

pub mod bench;
pub mod faults;
pub mod tree;
