//! The scheduled jobs from the outside: the CLI lists and runs them (an unknown name is refused
//! with the known ones), bad schedules are refused at start, and a running node reports each
//! job's next run in /readyz and /metrics and runs it on its schedule.

use std::process::Command;

use crate::helpers::{add_operator, spawn_app_in, write_config};

fn station(dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_station-node"));
    cmd.arg("--config").arg(dir.join("station.toml")).args(args);
    cmd.env("RUST_LOG", "warn");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn jobs_are_listed_and_run_on_demand_and_an_unknown_one_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), "");
    add_operator(dir.path()).await;

    let (code, out, err) = station(dir.path(), &["job", "list"], &[]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("purge-sessions") && out.contains("purge-login-audit"),
        "{out}"
    );
    assert!(out.contains("+08:00"), "next runs in China time: {out}");

    let (code, out, err) = station(dir.path(), &["job", "run", "purge-login-audit"], &[]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("purge-login-audit: 0 login record(s) older than 180 days removed"),
        "{out}"
    );
    let (code, out, err) = station(dir.path(), &["job", "run", "purge-sessions"], &[]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("0 expired session(s) removed"), "{out}");
    // From the command line it only reads the counts: the gauges live in the running node.
    let (code, out, err) = station(dir.path(), &["job", "run", "refresh-gauges"], &[]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(
            "refresh-gauges: 0 case(s), 0 event(s), 0 queued for the parent, 0 dead letter(s)"
        ),
        "{out}"
    );

    let (code, _, err) = station(dir.path(), &["job", "run", "purge-everything"], &[]);
    assert_eq!(code, 1);
    assert!(
        err.contains(
            "no job named `purge-everything`; the jobs are: purge-sessions, purge-login-audit, \
             refresh-gauges, deadline-scan, link-watchdog"
        ),
        "{err}"
    );
}

#[test]
fn bad_job_settings_are_refused_with_the_setting_named() {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), "");
    for (key, value, named) in [
        (
            "BANGBAN_JOBS__PURGE_SESSIONS",
            "every minute",
            "jobs.purge_sessions",
        ),
        (
            "BANGBAN_JOBS__PURGE_LOGIN_AUDIT",
            "0 0 3 * *",
            "jobs.purge_login_audit",
        ),
        (
            "BANGBAN_JOBS__REFRESH_GAUGES",
            "every minute",
            "jobs.refresh_gauges",
        ),
        (
            "BANGBAN_JOBS__DEADLINE_SCAN",
            "every ten minutes",
            "jobs.deadline_scan",
        ),
        ("BANGBAN_JOBS__LINK_WATCHDOG", "* * *", "jobs.link_watchdog"),
        (
            "BANGBAN_ALERTS__NEAR_DUE_WORKING_DAYS",
            "99",
            "alerts.near_due_working_days",
        ),
        (
            "BANGBAN_ALERTS__TRANSIT_ALARM_MINS",
            "0",
            "alerts.transit_alarm_mins",
        ),
        (
            "BANGBAN_JOBS__LOGIN_AUDIT_RETENTION_DAYS",
            "5",
            "jobs.login_audit_retention_days",
        ),
    ] {
        let (code, _, err) = station(dir.path(), &["check-config"], &[(key, value)]);
        assert_eq!(code, 2, "{key}={value}: {err}");
        assert!(err.contains(named), "{key}={value}: {err}");
    }
}

#[tokio::test]
async fn a_running_node_runs_its_jobs_and_reports_them() {
    let dir = tempfile::tempdir().unwrap();
    // Every second, so that the test sees a scheduled run.
    write_config(dir.path(), "[jobs]\npurge_sessions = \"* * * * * *\"\n");
    let app = spawn_app_in(dir.path()).await;
    let client = reqwest::Client::new();
    let mut seen = None;
    for _ in 0..40 {
        let ready: serde_json::Value = client
            .get(format!("{}/readyz", app.url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let check = ready["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "purge-sessions")
            .cloned()
            .unwrap();
        if check["detail"].as_str().unwrap().contains("last run") {
            seen = Some(check);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let check = seen.expect("purge-sessions ran on its schedule");
    assert_eq!(check["ok"], true);
    assert_eq!(check["required"], false);
    assert!(
        check["detail"]
            .as_str()
            .unwrap()
            .contains("expired session(s) removed")
    );
    let metrics = client
        .get(format!("{}/metrics", app.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(
            "bangban_job_last_success{station=\"410402001001\",job=\"purge-sessions\"} 1"
        ),
        "{metrics}"
    );
    assert!(
        metrics.contains(
            "bangban_job_next_run_ms{station=\"410402001001\",job=\"purge-login-audit\"}"
        ),
        "{metrics}"
    );
    app.stop().await;
}
