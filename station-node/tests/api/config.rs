//! The real binary refuses bad settings at start, naming the setting, and exits with status 2.

use std::process::Command;

use crate::helpers::write_config;

fn check_config(file: &std::path::Path, env: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_station-node"));
    cmd.arg("--config").arg(file).arg("check-config");
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

#[test]
fn a_good_config_is_accepted_and_summarised() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_config(dir.path(), "");
    let (code, out, err) = check_config(&file, &[]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("410402001001"), "{out}");
    assert!(out.contains("parent none"), "{out}");
}

#[test]
fn bad_settings_are_refused_with_the_setting_named() {
    let dir = tempfile::tempdir().unwrap();
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);
    let cases: &[Case] = &[
        ("[http]\nlisten_on = \"x\"\n", &[], "listen_on"),
        ("", &[("BANGBAN_DATABSE__PATH", "x.sqlite")], "databse"),
        ("", &[("BANGBAN_NODE__CODE", "41040200100")], "node.code"),
        ("", &[("BANGBAN_NODE__CODE", "410402000000")], "district"),
        (
            "",
            &[("BANGBAN_DATABASE__PATH", "/no/such/folder/s.sqlite")],
            "database.path",
        ),
        ("[parent]\nurl = \"town-node:9443\"\n", &[], "parent.url"),
        // Several parent URLs (replicas): every one https, none twice.
        (
            "[parent]\nurl = [\"https://127.0.0.1:9443\", \"http://127.0.0.1:9444\"]\n",
            &[],
            "parent.url",
        ),
        (
            "",
            &[(
                "BANGBAN_PARENT__URL",
                "https://127.0.0.1:9443, 127.0.0.1:9444",
            )],
            "parent.url",
        ),
        (
            "",
            &[(
                "BANGBAN_PARENT__URL",
                "https://127.0.0.1:9443 https://127.0.0.1:9443/",
            )],
            "listed twice",
        ),
        // A parent is dialled over mutual TLS only.
        ("[parent]\nurl = \"https://127.0.0.1:9443\"\n", &[], "tls"),
        ("[tls]\ncert = \"node.pem\"\n", &[], "tls"),
        // A village serves no children.
        (
            "[internode]\nlisten = \"127.0.0.1:9999\"\n",
            &[],
            "internode.listen",
        ),
        (
            "",
            &[("BANGBAN_JOBS__RECONCILE", "every hour")],
            "jobs.reconcile",
        ),
        (
            "",
            &[("BANGBAN_POLICY__CALENDAR", "/no/calendar.json")],
            "policy.calendar",
        ),
        ("", &[("BANGBAN_LOG__FORMAT", "xml")], "format"),
        ("", &[("BANGBAN_HTTP__LISTEN", "localhost")], "listen"),
        // Listener bounds.
        (
            "",
            &[("BANGBAN_HTTP__MAX_CONNECTIONS", "0")],
            "http.max_connections",
        ),
        (
            "[http]\nheader_read_timeout_secs = 0\n",
            &[],
            "http.header_read_timeout_secs",
        ),
        (
            "",
            &[("BANGBAN_HTTP__BODY_READ_TIMEOUT_SECS", "86400")],
            "http.body_read_timeout_secs",
        ),
        (
            "",
            &[("BANGBAN_HTTP__IDLE_TIMEOUT_SECS", "0")],
            "http.idle_timeout_secs",
        ),
        (
            "",
            &[("BANGBAN_INTERNODE__HANDSHAKE_TIMEOUT_SECS", "0")],
            "internode.handshake_timeout_secs",
        ),
        (
            "[internode]\nmax_connections = 10\nmax_long_polls = 11\n",
            &[],
            "internode.max_long_polls",
        ),
        (
            "",
            &[("BANGBAN_INTERNODE__MAX_LONG_POLLS", "0")],
            "internode.max_long_polls",
        ),
        // HTTPS on the UI listener (http.tls).
        (
            "[http]
tls = \"on\"\n",
            &[],
            "tls",
        ),
        ("", &[("BANGBAN_HTTP__TLS", "node")], "http.tls"),
        (
            "[http]
tls = \"files\"\n",
            &[],
            "http.tls_cert",
        ),
        (
            "[http]
tls = \"files\"\ntls_cert = \"ui.pem\"\n",
            &[],
            "http.tls_key",
        ),
        (
            "[http]
tls = \"files\"\ntls_cert = \"no.pem\"\ntls_key = \"no.key\"\n",
            &[],
            "http.tls_cert",
        ),
        // A certificate that would not be served is not silently ignored.
        (
            "[http]
tls_cert = \"ui.pem\"\n",
            &[],
            "http.tls_cert",
        ),
        (
            "",
            &[("BANGBAN_HTTP__HANDSHAKE_TIMEOUT_SECS", "0")],
            "http.handshake_timeout_secs",
        ),
        // How the link to the parent waits and retries.
        (
            "",
            &[("BANGBAN_PARENT__PULL_WAIT_SECS", "0")],
            "parent.pull_wait_secs",
        ),
        (
            "",
            &[("BANGBAN_PARENT__PULL_WAIT_SECS", "31")],
            "parent.pull_wait_secs",
        ),
        (
            "",
            &[("BANGBAN_PARENT__RETRY_BASE_MS", "5")],
            "parent.retry_base_ms",
        ),
        (
            "",
            &[
                ("BANGBAN_PARENT__RETRY_BASE_MS", "500"),
                ("BANGBAN_PARENT__RETRY_CAP_MS", "100"),
            ],
            "parent.retry_cap_ms",
        ),
        // Pinned policy keys (the lines land in [policy]).
        (
            "pinned_keys = [\"not base64!\"]\n",
            &[],
            "policy.pinned_keys",
        ),
        ("pinned_keys = [\"AAAA\"]\n", &[], "policy.pinned_keys"),
        (
            "pinned_keys = [\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\", \"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"]\n",
            &[],
            "policy.pinned_keys",
        ),
        (
            "pinned_keys = [\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\", \"AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\", \"AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=\"]\n",
            &[],
            "policy.pinned_keys",
        ),
    ];
    for (extra, env, needle) in cases {
        let file = write_config(dir.path(), extra);
        let (code, _, err) = check_config(&file, env);
        assert_eq!(code, 2, "{extra} {env:?} should be refused: {err}");
        assert!(
            err.contains(needle),
            "message for {extra} {env:?} names `{needle}`: {err}"
        );
    }
}

#[test]
fn listener_bounds_have_defaults_and_can_be_set() {
    use bangban_kit::serve::{ListenerLimits, NodeLimits};
    use std::time::Duration;

    let dir = tempfile::tempdir().unwrap();
    let file = write_config(dir.path(), "");
    let config = crate::helpers::load(&file);
    assert_eq!(config.limits, NodeLimits::default());
    assert_eq!(
        config.limits.ui.header_read_timeout,
        Duration::from_secs(10)
    );

    let file = write_config(
        dir.path(),
        "[http]\nmax_connections = 300\nheader_read_timeout_secs = 5\n\
         body_read_timeout_secs = 20\nidle_timeout_secs = 90\nhandshake_timeout_secs = 4\n\
         [internode]\nmax_connections = 40\nhandshake_timeout_secs = 3\nmax_long_polls = 8\n",
    );
    let config = crate::helpers::load(&file);
    assert_eq!(
        config.limits.ui,
        ListenerLimits {
            max_connections: 300,
            header_read_timeout: Duration::from_secs(5),
            body_read_timeout: Duration::from_secs(20),
            idle_timeout: Duration::from_secs(90),
            handshake_timeout: Duration::from_secs(4),
            ..ListenerLimits::ui()
        }
    );
    assert_eq!(config.limits.internode.max_connections, 40);
    assert_eq!(
        config.limits.internode.handshake_timeout,
        Duration::from_secs(3)
    );
    assert_eq!(config.limits.max_long_polls, 8);
}

#[test]
fn several_parent_urls_come_from_an_array_or_one_variable() {
    let dir = tempfile::tempdir().unwrap();
    let tls = crate::https::node_files(dir.path(), &crate::https::district_ca());
    let both = "parent https://127.0.0.1:9443/ then https://127.0.0.1:9444/;";
    let file = write_config(
        dir.path(),
        &format!("{tls}[parent]\nurl = [\"https://127.0.0.1:9443\", \"https://127.0.0.1:9444\"]\n"),
    );
    let (code, out, err) = check_config(&file, &[]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(both), "{out}");
    let file = write_config(dir.path(), &tls);
    for list in [
        "https://127.0.0.1:9443,https://127.0.0.1:9444",
        " https://127.0.0.1:9443  https://127.0.0.1:9444\n",
    ] {
        let (code, out, err) = check_config(&file, &[("BANGBAN_PARENT__URL", list)]);
        assert_eq!(code, 0, "{list:?}: {err}");
        assert!(out.contains(both), "{list:?}: {out}");
    }
}

#[test]
fn parent_link_waits_have_defaults_and_can_be_set() {
    use std::time::Duration;

    let dir = tempfile::tempdir().unwrap();
    let file = write_config(dir.path(), "");
    let config = crate::helpers::load(&file);
    assert_eq!(config.link.pull_wait_secs, 25);
    assert_eq!(config.link.backoff_base, Duration::from_millis(200));
    assert_eq!(config.link.backoff_cap, Duration::from_secs(30));

    let file = write_config(
        dir.path(),
        "[parent]\npull_wait_secs = 2\nretry_base_ms = 50\nretry_cap_ms = 1000\n",
    );
    let config = crate::helpers::load(&file);
    assert_eq!(config.link.pull_wait_secs, 2);
    assert_eq!(config.link.backoff_base, Duration::from_millis(50));
    assert_eq!(config.link.backoff_cap, Duration::from_secs(1));
}

#[test]
fn a_missing_config_file_is_refused() {
    let (code, _, err) = check_config(std::path::Path::new("/no/such/station.toml"), &[]);
    assert_eq!(code, 2);
    assert!(err.contains("/no/such/station.toml"), "{err}");
}

#[test]
fn one_or_two_pinned_policy_keys_are_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let config = crate::helpers::load(&write_config(dir.path(), ""));
    assert!(config.pinned_keys.is_empty());
    let (old, new) = (
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=",
    );
    let file = write_config(
        dir.path(),
        &format!("pinned_keys = [\"{old}\", \" {new}\\n\"]\n"),
    );
    let config = crate::helpers::load(&file);
    let pinned: Vec<String> = config.pinned_keys.iter().map(|k| k.to_base64()).collect();
    assert_eq!(pinned, [old, new]);
    let (code, _, err) = check_config(&file, &[]);
    assert_eq!(code, 0, "{err}");
}
