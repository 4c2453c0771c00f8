//! district-node settings: the common sections from `bangban_kit::node` plus the database URL,
//! which selects SQLite (the embedded default) or PostgreSQL (production, several replicas).

use std::path::{Path, PathBuf};

use bangban_domain::station::{StationCode, Tier};
use bangban_kit::config::{LogSettings, SettingsError, base_dir, check_file_to_create, load};
use bangban_kit::db::{Backend, sqlite_url};
use bangban_kit::https::UiTls;
use bangban_kit::node::{
    AttachmentSettings, EventSettings, HttpSettings, InternodeSettings, JobSchedules, JobSettings,
    NodeSettings, PolicySettings, TlsFiles, TlsSettings, node_limits,
};
use bangban_kit::policy::Policy;
use bangban_kit::serve::NodeLimits;
use bangban_kit::store::AppendLimits;
use serde::Deserialize;

const DEFAULTS: &str = include_str!("defaults.toml");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub node: NodeSettings,
    pub http: HttpSettings,
    pub database: DatabaseSettings,
    pub internode: InternodeSettings,
    pub events: EventSettings,
    pub attachments: AttachmentSettings,
    pub tls: TlsSettings,
    pub policy: PolicySettings,
    pub log: LogSettings,
    pub jobs: JobSettings,
    pub alerts: bangban_kit::alerts::AlertSettings,
    pub publish: PublishSettings,
}

/// `[publish]`: how the district signs the bundles its administrators publish from the web UI.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishSettings {
    /// The policy private key (`policy keygen`'s `policy.key`, PKCS#8 PEM), relative to the
    /// config file's folder; empty: the publish screen cannot publish.
    pub key: String,
    /// The validity the publish screen offers by default, in days.
    pub expires_days: u32,
}

/// `[database]`: `sqlite://FILE` (relative to the config file's folder) or `postgres://…`.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    pub url: String,
}

// The URL may hold a password: never print it.
impl std::fmt::Debug for DatabaseSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseSettings")
            .field("url", &redact_url(&self.url))
            .finish()
    }
}

/// Checked settings, ready to run on.
#[derive(Clone)]
pub struct Config {
    pub code: StationCode,
    pub name: String,
    pub http: HttpSettings,
    /// The URL sqlx connects to (for SQLite, an absolute file URL).
    pub database_url: String,
    pub backend: Backend,
    /// Where the towns dial the district.
    pub internode_listen: Option<std::net::SocketAddr>,
    pub tls: Option<TlsFiles>,
    /// Whether the UI/API listener serves HTTPS, and with which certificate (`http.tls`).
    pub ui_tls: UiTls,
    pub event_limits: AppendLimits,
    /// Where attachments are kept and how large one may be.
    pub attachments: bangban_kit::attachments::Attachments,
    /// The calendar, the catalogue and the district tree read from the policy files.
    pub policy: Policy,
    /// The district's own policy public key(s) (`policy.pinned_keys`): the recorded bundles are
    /// verified with them before the district puts one in force on itself. Empty: the district
    /// serves the recorded bundles but runs on its policy files.
    pub pinned_keys: Vec<bangban_kit::policy::bundle::PublicKey>,
    /// How often the district looks for a bundle recorded by another process
    /// (`policy.pull_secs`).
    pub policy_watch: std::time::Duration,
    /// The policy signing key (`publish.key`), read and checked at start.
    pub signing_key: Option<std::sync::Arc<bangban_kit::policy::bundle::SigningKey>>,
    /// The validity the publish screen offers by default (`publish.expires_days`).
    pub publish_expires_days: u32,
    pub log: LogSettings,
    pub jobs: JobSchedules,
    /// When deadline alerts and link alarms are raised (`[alerts]`).
    pub alerts: bangban_kit::alerts::AlertPolicy,
    /// The config file the settings came from (the policy is read again from it on SIGHUP).
    pub source: Option<std::path::PathBuf>,
    /// The bounds of the UI/API and inter-node listeners.
    pub limits: NodeLimits,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("code", &self.code)
            .field("name", &self.name)
            .field("http", &self.http)
            .field("database_url", &redact_url(&self.database_url))
            .finish_non_exhaustive()
    }
}

/// The database URL with any credentials replaced, for logs and messages. A URL that does not
/// even parse loses everything between the scheme and the last `@`.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        Ok(_) => url.to_owned(),
        Err(_) => match (url.find("://"), url.rfind('@')) {
            (Some(scheme_end), Some(at)) if at > scheme_end => {
                format!("{}***{}", &url[..scheme_end + 3], &url[at..])
            }
            _ => url.to_owned(),
        },
    }
}

impl Settings {
    pub fn load(file: Option<&Path>) -> Result<Settings, SettingsError> {
        load(DEFAULTS, file)
    }

    /// Checks every setting; relative paths are taken from the config file's folder.
    pub fn check(self, file: Option<&Path>) -> Result<Config, SettingsError> {
        let base = base_dir(file);
        let code = self.node.station_code()?;
        if code.tier() != Tier::District {
            return Err(SettingsError::invalid(
                "node.code",
                format!("{code} is not a district code (it must end in 000000)"),
            ));
        }
        self.node.validate_name()?;
        self.http.validate()?;
        self.log.validate()?;
        let (database_url, backend) = check_database_url(&self.database.url, base.as_deref())?;
        let jobs = self.jobs.check()?;
        let alerts = self.alerts.check()?;
        let internode_listen = self.internode.check()?;
        let limits = node_limits(&self.http, &self.internode);
        let tls = self.tls.check(base.as_deref())?;
        let ui_tls = self.http.check_tls(base.as_deref(), tls.as_ref())?;
        let event_limits = self.events.limits()?;
        let sqlite_file = (backend == Backend::Sqlite)
            .then(|| {
                database_url
                    .trim_start_matches("sqlite://")
                    .split('?')
                    .next()
            })
            .flatten()
            .map(PathBuf::from);
        let attachments = self
            .attachments
            .check(base.as_deref(), sqlite_file.as_deref())?;
        if internode_listen.is_some() && tls.is_none() {
            return Err(SettingsError::invalid(
                "tls",
                "internode.listen needs tls.cert, tls.key and tls.ca",
            ));
        }
        let calendar = self.policy.load_calendar(base.as_deref())?;
        let topology = self.policy.load_topology(base.as_deref())?;
        match &topology {
            None if internode_listen.is_some() => {
                return Err(SettingsError::invalid(
                    "policy.topology",
                    "the district needs its tree to know its towns",
                ));
            }
            Some(t) if t.district() != code => {
                return Err(SettingsError::invalid(
                    "policy.topology",
                    format!("the tree is of district {}, not {code}", t.district()),
                ));
            }
            _ => {}
        }
        let catalogue = self.policy.load_catalogue(base.as_deref())?;
        let mut pinned_keys = self.policy.check_pinned_keys()?;
        let signing_key = self.publish.check_key(base.as_deref(), &mut pinned_keys)?;
        if !(1..=crate::policy::MAX_EXPIRES_DAYS).contains(&self.publish.expires_days) {
            return Err(SettingsError::invalid(
                "publish.expires_days",
                format!(
                    "give a number of days from 1 to {}",
                    crate::policy::MAX_EXPIRES_DAYS
                ),
            ));
        }
        if !(1..=86_400).contains(&self.policy.pull_secs) {
            return Err(SettingsError::invalid(
                "policy.pull_secs",
                "give a number of seconds from 1 to 86400",
            ));
        }
        let policy_watch = std::time::Duration::from_secs(self.policy.pull_secs);
        Ok(Config {
            code,
            name: self.node.name,
            http: self.http,
            database_url,
            backend,
            internode_listen,
            tls,
            ui_tls,
            event_limits,
            attachments,
            policy: Policy {
                calendar,
                catalogue,
                topology,
                agents: None,
            },
            pinned_keys,
            policy_watch,
            signing_key,
            publish_expires_days: self.publish.expires_days,
            log: self.log,
            jobs,
            alerts,
            source: file.map(Path::to_path_buf),
            limits,
        })
    }
}

impl PublishSettings {
    /// Reads the signing key, if one is set. Its public half is what the district verifies its
    /// own bundles with: pinned here when `policy.pinned_keys` is empty; otherwise it must be
    /// among them (during a rotation the district pins the old key and the new one).
    fn check_key(
        &self,
        base: Option<&Path>,
        pinned: &mut Vec<bangban_kit::policy::bundle::PublicKey>,
    ) -> Result<Option<std::sync::Arc<bangban_kit::policy::bundle::SigningKey>>, SettingsError>
    {
        const KEY: &str = "publish.key";
        if self.key.trim().is_empty() {
            return Ok(None);
        }
        let path = match base {
            Some(dir) => dir.join(self.key.trim()),
            None => PathBuf::from(self.key.trim()),
        };
        let bytes = std::fs::read(&path)
            .map_err(|e| SettingsError::invalid(KEY, format!("{}: {e}", path.display())))?;
        let key = bangban_kit::policy::bundle::SigningKey::from_pkcs8(&bytes)
            .map_err(|e| SettingsError::invalid(KEY, format!("{}: {e}", path.display())))?;
        let public = key.public_key();
        if pinned.is_empty() {
            pinned.push(public);
        } else if !pinned.contains(&public) {
            return Err(SettingsError::invalid(
                KEY,
                format!(
                    "its public key {} is not among policy.pinned_keys: the district could not \
                     verify what it signs",
                    public.to_base64()
                ),
            ));
        }
        Ok(Some(std::sync::Arc::new(key)))
    }
}

fn check_database_url(raw: &str, base: Option<&Path>) -> Result<(String, Backend), SettingsError> {
    const KEY: &str = "database.url";
    match Backend::from_url(raw) {
        Some(Backend::Sqlite) => {
            let path = raw
                .trim_start_matches("sqlite://")
                .trim_start_matches("sqlite:");
            let path = path.split('?').next().unwrap_or_default();
            let path = check_file_to_create(KEY, &PathBuf::from(path), base)?;
            Ok((sqlite_url(&path), Backend::Sqlite))
        }
        Some(Backend::Postgres) => {
            let url = url::Url::parse(raw).map_err(|e| {
                SettingsError::invalid(KEY, format!("`{}` is not a URL: {e}", redact_url(raw)))
            })?;
            if url.host().is_none() || url.path().trim_start_matches('/').is_empty() {
                return Err(SettingsError::invalid(
                    KEY,
                    "a PostgreSQL URL needs a host and a database name: postgres://user:password@host/dbname",
                ));
            }
            Ok((raw.to_owned(), Backend::Postgres))
        }
        None => Err(SettingsError::invalid(
            KEY,
            format!(
                "`{}` must start with sqlite:// or postgres://",
                redact_url(raw)
            ),
        )),
    }
}
