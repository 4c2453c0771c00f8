//! station-node settings: the common sections from `bangban_kit::node` plus the SQLite file and
//! the parent link. Checked once at start; the rest of the node works on [`Config`].

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bangban_domain::station::{StationCode, Tier};
use bangban_kit::config::{LogSettings, SettingsError, base_dir, check_file_to_create, load};
use bangban_kit::https::UiTls;
use bangban_kit::node::{
    AttachmentSettings, EventSettings, HttpSettings, InternodeSettings, JobSchedules, JobSettings,
    NodeSettings, PolicySettings, TlsFiles, TlsSettings, node_limits,
};
use bangban_kit::policy::Policy;
use bangban_kit::policy::bundle::PublicKey;
use bangban_kit::serve::NodeLimits;
use bangban_kit::store::AppendLimits;
use bangban_kit::sync::ParentUrls;
use bangban_kit::sync::client::LinkOptions;
use serde::Deserialize;

const DEFAULTS: &str = include_str!("defaults.toml");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub node: NodeSettings,
    pub http: HttpSettings,
    pub database: DatabaseSettings,
    pub parent: ParentSettings,
    pub internode: InternodeSettings,
    pub events: EventSettings,
    pub attachments: AttachmentSettings,
    pub tls: TlsSettings,
    pub policy: PolicySettings,
    pub log: LogSettings,
    pub jobs: JobSettings,
    pub alerts: bangban_kit::alerts::AlertSettings,
}

/// `[database]`: the station's SQLite file (created when missing).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    pub path: PathBuf,
}

/// `[parent]`: the inter-node address of this station's parent (a town's, or the district's).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParentSettings {
    pub url: ParentUrlSetting,
    /// Seconds a pull waits at the parent for new events (long-poll; the parent allows 30).
    pub pull_wait_secs: u64,
    /// The first wait after a failed exchange with the parent, in milliseconds; it doubles
    /// with each failure up to `retry_cap_ms` (each wait jittered).
    pub retry_base_ms: u64,
    pub retry_cap_ms: u64,
}

impl ParentSettings {
    /// How the link to the parent behaves, checked: tests and the fault test shorten the waits.
    fn link(&self) -> Result<LinkOptions, SettingsError> {
        let max_wait = bangban_kit::sync::server::MAX_WAIT.as_secs();
        if !(1..=max_wait).contains(&self.pull_wait_secs) {
            return Err(SettingsError::invalid(
                "parent.pull_wait_secs",
                format!(
                    "give a number of seconds from 1 to {max_wait} (the parent waits no longer)"
                ),
            ));
        }
        if !(10..=60_000).contains(&self.retry_base_ms) {
            return Err(SettingsError::invalid(
                "parent.retry_base_ms",
                "give a number of milliseconds from 10 to 60000",
            ));
        }
        if !(self.retry_base_ms..=3_600_000).contains(&self.retry_cap_ms) {
            return Err(SettingsError::invalid(
                "parent.retry_cap_ms",
                "give a number of milliseconds from parent.retry_base_ms to 3600000",
            ));
        }
        Ok(LinkOptions {
            pull_wait_secs: self.pull_wait_secs,
            backoff_base: std::time::Duration::from_millis(self.retry_base_ms),
            backoff_cap: std::time::Duration::from_millis(self.retry_cap_ms),
            ..LinkOptions::default()
        })
    }
}

/// `parent.url`: one URL, several in one string (separated by commas or whitespace, as
/// `BANGBAN_PARENT__URL` gives them), or a TOML array: the replicas of the parent, tried in
/// turn (see `bangban_kit::sync::ParentUrls`). Empty: no parent.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum ParentUrlSetting {
    One(String),
    Many(Vec<String>),
}

impl ParentUrlSetting {
    fn items(&self) -> &[String] {
        match self {
            ParentUrlSetting::One(one) => std::slice::from_ref(one),
            ParentUrlSetting::Many(many) => many,
        }
    }
}

/// Checked settings, ready to run on.
#[derive(Debug, Clone)]
pub struct Config {
    pub code: StationCode,
    pub name: String,
    pub http: HttpSettings,
    pub database_path: PathBuf,
    /// The parent's URLs (several when the parent runs as replicas) and the one in use; shared
    /// by everything that dials the parent. `None`: standalone.
    pub parent: Option<Arc<ParentUrls>>,
    /// How the link to the parent waits and retries (`[parent]`).
    pub link: LinkOptions,
    /// Where a town's children dial it.
    pub internode_listen: Option<std::net::SocketAddr>,
    pub tls: Option<TlsFiles>,
    /// Whether the UI/API listener serves HTTPS, and with which certificate (`http.tls`).
    pub ui_tls: UiTls,
    pub event_limits: AppendLimits,
    /// Where attachments are kept and how large one may be.
    pub attachments: bangban_kit::attachments::Attachments,
    /// The calendar, the catalogue and the district tree read from the policy files.
    pub policy: Policy,
    /// The district's policy keys that signed bundles must verify against (`policy.pinned_keys`;
    /// two while the district rotates its key). Empty: the station runs on its policy files
    /// and pulls no bundle.
    pub pinned_keys: Vec<PublicKey>,
    /// How often the station asks its parent for a newer bundle (`policy.pull_secs`).
    pub policy_pull: std::time::Duration,
    pub log: LogSettings,
    pub jobs: JobSchedules,
    /// When deadline alerts and link alarms are raised (`[alerts]`).
    pub alerts: bangban_kit::alerts::AlertPolicy,
    /// The config file the settings came from (the policy is read again from it on SIGHUP).
    pub source: Option<std::path::PathBuf>,
    /// The bounds of the UI/API and inter-node listeners.
    pub limits: NodeLimits,
}

impl Settings {
    pub fn load(file: Option<&Path>) -> Result<Settings, SettingsError> {
        load(DEFAULTS, file)
    }

    /// Checks every setting; relative paths are taken from the config file's folder.
    pub fn check(self, file: Option<&Path>) -> Result<Config, SettingsError> {
        let base = base_dir(file);
        let code = self.node.station_code()?;
        if code.tier() == Tier::District {
            return Err(SettingsError::invalid(
                "node.code",
                format!("{code} is a district code; run district-node for the district"),
            ));
        }
        self.node.validate_name()?;
        self.http.validate()?;
        self.log.validate()?;
        let database_path =
            check_file_to_create("database.path", &self.database.path, base.as_deref())?;
        let parent = ParentUrls::parse(self.parent.url.items())
            .map_err(|e| SettingsError::invalid("parent.url", e.to_string()))?
            .map(Arc::new);
        let link = self.parent.link()?;
        let jobs = self.jobs.check()?;
        let alerts = self.alerts.check()?;
        let internode_listen = self.internode.check()?;
        let limits = node_limits(&self.http, &self.internode);
        if internode_listen.is_some() && code.tier() != Tier::Town {
            return Err(SettingsError::invalid(
                "internode.listen",
                "only a town serves children; a village has none",
            ));
        }
        let tls = self.tls.check(base.as_deref())?;
        let ui_tls = self.http.check_tls(base.as_deref(), tls.as_ref())?;
        let event_limits = self.events.limits()?;
        let attachments = self
            .attachments
            .check(base.as_deref(), Some(&database_path))?;
        if tls.is_none() && (parent.is_some() || internode_listen.is_some()) {
            return Err(SettingsError::invalid(
                "tls",
                "parent.url and internode.listen need tls.cert, tls.key and tls.ca",
            ));
        }
        let calendar = self.policy.load_calendar(base.as_deref())?;
        let topology = self.policy.load_topology(base.as_deref())?;
        if internode_listen.is_some() && topology.is_none() {
            return Err(SettingsError::invalid(
                "policy.topology",
                "a town that serves children needs the district tree to know them",
            ));
        }
        if let Some(t) = &topology
            && t.get(code).is_none()
        {
            return Err(SettingsError::invalid(
                "node.code",
                format!("{code} is not in the district tree of policy.topology"),
            ));
        }
        let catalogue = self.policy.load_catalogue(base.as_deref())?;
        let pinned_keys = self.policy.check_pinned_keys()?;
        if !(1..=86_400).contains(&self.policy.pull_secs) {
            return Err(SettingsError::invalid(
                "policy.pull_secs",
                "give a number of seconds from 1 to 86400",
            ));
        }
        let policy_pull = std::time::Duration::from_secs(self.policy.pull_secs);
        Ok(Config {
            code,
            name: self.node.name,
            http: self.http,
            database_path,
            parent,
            link,
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
            policy_pull,
            log: self.log,
            jobs,
            alerts,
            source: file.map(Path::to_path_buf),
            limits,
        })
    }
}
