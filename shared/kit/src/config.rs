//! Layered settings: built-in defaults, then a TOML file, then `BANGBAN_`-prefixed environment
//! variables (`__` separates nesting levels, e.g. `BANGBAN_HTTP__LISTEN`).
//!
//! Everything is checked at start-up so that a node never runs on a setting it misunderstood:
//! unknown keys, bad paths, bad URLs and bad cron expressions are refused with the setting's name.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::Deserialize;
use serde::de::DeserializeOwned;

/// The environment prefix; `BANGBAN_LOG__LEVEL=debug` sets `log.level`.
pub const ENV_PREFIX: &str = "BANGBAN";

/// A setting that could not be accepted, named by its dotted key.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("cannot read settings: {0}")]
    Load(String),
    #[error("setting `{key}`: {problem}")]
    Invalid { key: String, problem: String },
}

impl SettingsError {
    pub fn invalid(key: &str, problem: impl Into<String>) -> Self {
        SettingsError::Invalid {
            key: key.to_owned(),
            problem: problem.into(),
        }
    }
}

/// Loads settings of type `T` from `defaults` (TOML text compiled into the binary), the optional
/// file, then the environment. `T` should use `#[serde(deny_unknown_fields)]` on every level so
/// that a misspelt key is refused rather than silently ignored.
pub fn load<T: DeserializeOwned>(defaults: &str, file: Option<&Path>) -> Result<T, SettingsError> {
    load_with_env(defaults, file, std::env::vars())
}

/// As [`load`], with the environment given explicitly (tests pass their own).
pub fn load_with_env<T: DeserializeOwned>(
    defaults: &str,
    file: Option<&Path>,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<T, SettingsError> {
    use config::{Config, File, FileFormat};

    let mut builder =
        Config::builder().add_source(File::from_str(defaults, FileFormat::Toml).required(true));
    if let Some(path) = file {
        if !path.is_file() {
            return Err(SettingsError::Load(format!(
                "config file {} does not exist or is not a file",
                path.display()
            )));
        }
        builder = builder.add_source(File::from(path).format(FileFormat::Toml).required(true));
    }
    let env_map: config::Map<String, String> = env
        .into_iter()
        .filter(|(k, _)| k.starts_with(&format!("{ENV_PREFIX}_")))
        .collect();
    builder = builder.add_source(
        config::Environment::with_prefix(ENV_PREFIX)
            .prefix_separator("_")
            .separator("__")
            .source(Some(env_map)),
    );
    let cfg = builder
        .build()
        .map_err(|e| SettingsError::Load(e.to_string()))?;
    cfg.try_deserialize()
        .map_err(|e| SettingsError::Load(e.to_string()))
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines for a terminal or journald.
    #[default]
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// `[log]`: level filter (overridden by `RUST_LOG` when set) and format.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    pub level: String,
    pub format: LogFormat,
}

impl LogSettings {
    pub fn validate(&self) -> Result<(), SettingsError> {
        tracing_subscriber::EnvFilter::try_new(&self.level)
            .map(|_| ())
            .map_err(|e| SettingsError::invalid("log.level", format!("not a log filter: {e}")))
    }
}

/// Checks a cron expression (seconds field first, as the `cron` crate reads it).
pub fn check_cron(key: &str, expr: &str) -> Result<cron::Schedule, SettingsError> {
    cron::Schedule::from_str(expr).map_err(|e| {
        SettingsError::invalid(
            key,
            format!(
                "`{expr}` is not a cron expression (sec min hour day month weekday [year]): {e}"
            ),
        )
    })
}

/// Checks an absolute `http(s)` URL, such as a parent node's address.
pub fn check_url(key: &str, value: &str) -> Result<url::Url, SettingsError> {
    let url = url::Url::parse(value)
        .map_err(|e| SettingsError::invalid(key, format!("`{value}` is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(SettingsError::invalid(
            key,
            format!("`{value}` must be an http:// or https:// URL with a host"),
        ));
    }
    Ok(url)
}

/// Resolves `value` against `base` (the config file's folder) when relative, and checks that
/// the folder that will hold it exists, so that a typo fails at start and not at first write.
pub fn check_file_to_create(
    key: &str,
    value: &Path,
    base: Option<&Path>,
) -> Result<PathBuf, SettingsError> {
    if value.as_os_str().is_empty() {
        return Err(SettingsError::invalid(key, "the path is empty"));
    }
    let path = resolve(value, base);
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| Path::new("."));
    if !parent.is_dir() {
        return Err(SettingsError::invalid(
            key,
            format!("folder {} does not exist", parent.display()),
        ));
    }
    if path.is_dir() {
        return Err(SettingsError::invalid(
            key,
            format!("{} is a folder, expected a file", path.display()),
        ));
    }
    Ok(path)
}

/// Resolves `value` against `base` when relative and checks that the file exists.
pub fn check_existing_file(
    key: &str,
    value: &Path,
    base: Option<&Path>,
) -> Result<PathBuf, SettingsError> {
    let path = resolve(value, base);
    if !path.is_file() {
        return Err(SettingsError::invalid(
            key,
            format!("file {} does not exist", path.display()),
        ));
    }
    Ok(path)
}

fn resolve(value: &Path, base: Option<&Path>) -> PathBuf {
    match base {
        Some(base) if value.is_relative() => base.join(value),
        _ => value.to_path_buf(),
    }
}

/// The folder relative paths in a config file are resolved against: the file's own folder.
pub fn base_dir(file: Option<&Path>) -> Option<PathBuf> {
    file.and_then(|f| f.parent()).map(|p| {
        if p.as_os_str().is_empty() {
            Path::new(".").to_path_buf()
        } else {
            p.to_path_buf()
        }
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Demo {
        http: Http,
        log: LogSettings,
    }
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Http {
        listen: std::net::SocketAddr,
        body_limit: usize,
    }

    const DEFAULTS: &str = r#"
        [http]
        listen = "127.0.0.1:8080"
        body_limit = 1024
        [log]
        level = "info"
        format = "text"
    "#;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn layers_apply_in_order_defaults_file_env() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("node.toml");
        std::fs::write(
            &file,
            "[http]\nlisten = \"127.0.0.1:9000\"\n[log]\nformat = \"json\"\n",
        )
        .unwrap();
        let s: Demo = load_with_env(
            DEFAULTS,
            Some(&file),
            env(&[("BANGBAN_HTTP__LISTEN", "127.0.0.1:9100"), ("OTHER", "x")]),
        )
        .unwrap();
        assert_eq!(s.http.listen.port(), 9100, "env wins over file");
        assert_eq!(s.http.body_limit, 1024, "default kept");
        assert_eq!(s.log.format, LogFormat::Json, "file wins over default");
    }

    #[test]
    fn numbers_from_the_environment_are_parsed() {
        let s: Demo =
            load_with_env(DEFAULTS, None, env(&[("BANGBAN_HTTP__BODY_LIMIT", "4096")])).unwrap();
        assert_eq!(s.http.body_limit, 4096);
    }

    #[test]
    fn unknown_key_in_file_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("node.toml");
        std::fs::write(&file, "[http]\nlisten_addr = \"127.0.0.1:9000\"\n").unwrap();
        let err = load_with_env::<Demo>(DEFAULTS, Some(&file), env(&[])).unwrap_err();
        assert!(err.to_string().contains("listen_addr"), "{err}");
    }

    #[test]
    fn unknown_key_in_environment_is_refused_by_name() {
        let err = load_with_env::<Demo>(DEFAULTS, None, env(&[("BANGBAN_HTTP__LISTN", "x")]))
            .unwrap_err();
        assert!(err.to_string().contains("listn"), "{err}");
    }

    #[test]
    fn missing_file_is_refused() {
        let err = load_with_env::<Demo>(DEFAULTS, Some(Path::new("/nonexistent/x.toml")), env(&[]))
            .unwrap_err();
        assert!(err.to_string().contains("/nonexistent/x.toml"), "{err}");
    }

    #[test]
    fn bad_listen_address_is_refused() {
        let err = load_with_env::<Demo>(
            DEFAULTS,
            None,
            env(&[("BANGBAN_HTTP__LISTEN", "not-an-address")]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("listen"), "{err}");
    }

    #[test]
    fn cron_url_and_path_checks_name_the_setting() {
        assert!(check_cron("jobs.reconcile", "0 */10 * * * *").is_ok());
        let e = check_cron("jobs.reconcile", "every ten minutes").unwrap_err();
        assert!(e.to_string().starts_with("setting `jobs.reconcile`"), "{e}");

        assert!(check_url("parent.url", "https://127.0.0.1:9443").is_ok());
        for bad in ["127.0.0.1:9443", "ftp://x", "https//x"] {
            let e = check_url("parent.url", bad).unwrap_err();
            assert!(e.to_string().contains("parent.url"), "{e}");
        }

        let dir = tempfile::tempdir().unwrap();
        let ok =
            check_file_to_create("database.path", Path::new("a.sqlite"), Some(dir.path())).unwrap();
        assert_eq!(ok, dir.path().join("a.sqlite"));
        let e = check_file_to_create("database.path", Path::new("/no/such/dir/a.sqlite"), None)
            .unwrap_err();
        assert!(e.to_string().contains("database.path"), "{e}");
        let e = check_file_to_create("database.path", dir.path(), None).unwrap_err();
        assert!(e.to_string().contains("folder"), "{e}");
    }

    #[test]
    fn bad_log_level_is_refused() {
        let s = LogSettings {
            level: "loud=[".into(),
            format: LogFormat::Text,
        };
        assert!(s.validate().unwrap_err().to_string().contains("log.level"));
    }
}
