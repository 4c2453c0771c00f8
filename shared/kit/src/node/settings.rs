//! The settings sections both nodes share: `[node]`, `[http]`, `[internode]`, `[tls]`,
//! `[policy]`, `[events]` and `[jobs]`, each checked with the setting named on error.
//! Node-specific sections (the station's SQLite path, the district's database URL, the parent
//! link) stay in each node crate.
//!
//! Longer than our ~600 lines: one section per struct with its own checks, read top to bottom
//! like the example configs; splitting it would scatter the settings' documentation.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bangban_domain::calendar::WorkingCalendar;
use bangban_domain::catalogue::Catalogue;
use bangban_domain::station::StationCode;
use bangban_domain::topology::Topology;
use serde::Deserialize;

use crate::config::{SettingsError, check_existing_file};
use crate::https::UiTls;
use crate::policy::bundle::{MAX_PINNED_KEYS, PublicKey};
use crate::serve::{DEFAULT_MAX_LONG_POLLS, ListenerLimits, NodeLimits};

/// `[node]`: who this node is. The code is checked against the certificate once mTLS is on.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeSettings {
    /// The 12-digit statistical division code of this centre.
    pub code: String,
    /// The centre's name, for pages and logs.
    pub name: String,
}

impl NodeSettings {
    pub fn station_code(&self) -> Result<StationCode, SettingsError> {
        StationCode::parse(&self.code)
            .map_err(|e| SettingsError::invalid("node.code", e.to_string()))
    }

    pub fn validate_name(&self) -> Result<(), SettingsError> {
        if self.name.trim().is_empty() {
            return Err(SettingsError::invalid("node.name", "the name is empty"));
        }
        Ok(())
    }
}

/// `[http]`: the operator UI/API listener.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSettings {
    pub listen: SocketAddr,
    /// The largest request body accepted, in KiB.
    pub body_limit_kib: usize,
    /// Open connections at most; at the cap new ones wait in the kernel's backlog.
    #[serde(default = "ui_max_connections")]
    pub max_connections: usize,
    /// Seconds a client has to send a whole request head.
    #[serde(default = "ui_header_read_timeout")]
    pub header_read_timeout_secs: u64,
    /// Seconds a request's body has to arrive in full, counted from its head.
    #[serde(default = "ui_body_read_timeout")]
    pub body_read_timeout_secs: u64,
    /// Seconds a kept-alive connection may wait for its next request.
    #[serde(default = "ui_idle_timeout")]
    pub idle_timeout_secs: u64,
    /// Whether the listener serves HTTPS, and with which certificate (see [`UiTlsMode`]).
    #[serde(default)]
    pub tls: UiTlsMode,
    /// With `tls = "files"`: the certificate chain (PEM, leaf first) the office provides.
    #[serde(default)]
    pub tls_cert: Option<PathBuf>,
    /// With `tls = "files"`: its private key (PEM).
    #[serde(default)]
    pub tls_key: Option<PathBuf>,
    /// Seconds a client has to complete the TLS handshake (with `tls` on).
    #[serde(default = "ui_handshake_timeout")]
    pub handshake_timeout_secs: u64,
}

/// `http.tls`: how the UI/API listener speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum UiTlsMode {
    /// Plain HTTP, for loopback (behind a proxy, or the demo).
    #[default]
    Off,
    /// HTTPS with this node's own certificate (`[tls]`, from the district CA).
    Node,
    /// HTTPS with `http.tls_cert` and `http.tls_key`, files the office provides.
    Files,
}

fn ui_max_connections() -> usize {
    ListenerLimits::ui().max_connections
}
fn ui_header_read_timeout() -> u64 {
    ListenerLimits::ui().header_read_timeout.as_secs()
}
fn ui_body_read_timeout() -> u64 {
    ListenerLimits::ui().body_read_timeout.as_secs()
}
fn ui_idle_timeout() -> u64 {
    ListenerLimits::ui().idle_timeout.as_secs()
}
fn ui_handshake_timeout() -> u64 {
    ListenerLimits::ui().handshake_timeout.as_secs()
}

/// The largest connection cap accepted; each connection costs a file descriptor.
pub const MAX_CONNECTIONS_LIMIT: usize = 65_536;
/// The longest deadline accepted, in seconds.
pub const MAX_TIMEOUT_SECS: u64 = 3_600;

fn check_connections(key: &str, value: usize) -> Result<(), SettingsError> {
    if !(1..=MAX_CONNECTIONS_LIMIT).contains(&value) {
        return Err(SettingsError::invalid(
            key,
            format!("must be between 1 and {MAX_CONNECTIONS_LIMIT}"),
        ));
    }
    Ok(())
}

fn check_timeout(key: &str, secs: u64) -> Result<(), SettingsError> {
    if !(1..=MAX_TIMEOUT_SECS).contains(&secs) {
        return Err(SettingsError::invalid(
            key,
            format!("must be between 1 and {MAX_TIMEOUT_SECS} seconds"),
        ));
    }
    Ok(())
}

impl HttpSettings {
    pub fn validate(&self) -> Result<(), SettingsError> {
        if !(1..=65_536).contains(&self.body_limit_kib) {
            return Err(SettingsError::invalid(
                "http.body_limit_kib",
                "must be between 1 and 65536 KiB",
            ));
        }
        check_connections("http.max_connections", self.max_connections)?;
        check_timeout(
            "http.header_read_timeout_secs",
            self.header_read_timeout_secs,
        )?;
        check_timeout("http.body_read_timeout_secs", self.body_read_timeout_secs)?;
        check_timeout("http.idle_timeout_secs", self.idle_timeout_secs)?;
        check_timeout("http.handshake_timeout_secs", self.handshake_timeout_secs)?;
        Ok(())
    }

    /// Checks `http.tls` and its files against the node's own `[tls]` files; for `files`, reads
    /// them and refuses a key that does not belong to the certificate.
    pub fn check_tls(
        &self,
        base: Option<&Path>,
        node_tls: Option<&TlsFiles>,
    ) -> Result<UiTls, SettingsError> {
        let (cert, key) = (set(&self.tls_cert), set(&self.tls_key));
        let tls = match self.tls {
            UiTlsMode::Off | UiTlsMode::Node if cert.is_some() || key.is_some() => {
                let key = if cert.is_some() {
                    "http.tls_cert"
                } else {
                    "http.tls_key"
                };
                return Err(SettingsError::invalid(
                    key,
                    "is read only with http.tls = \"files\"",
                ));
            }
            UiTlsMode::Off => UiTls::Off,
            UiTlsMode::Node if node_tls.is_none() => {
                return Err(SettingsError::invalid(
                    "http.tls",
                    "\"node\" serves this node's own certificate: set tls.cert, tls.key and \
                     tls.ca, or use \"files\" with http.tls_cert and http.tls_key",
                ));
            }
            UiTlsMode::Node => UiTls::Node,
            UiTlsMode::Files => match (cert, key) {
                (Some(cert), Some(key)) => UiTls::Files {
                    cert: check_existing_file("http.tls_cert", cert, base)?,
                    key: check_existing_file("http.tls_key", key, base)?,
                },
                (None, _) => {
                    return Err(SettingsError::invalid(
                        "http.tls_cert",
                        "http.tls = \"files\" needs the certificate (PEM) and http.tls_key",
                    ));
                }
                (Some(_), None) => {
                    return Err(SettingsError::invalid(
                        "http.tls_key",
                        "http.tls = \"files\" needs the private key (PEM) of http.tls_cert",
                    ));
                }
            },
        };
        if let UiTls::Files { .. } = tls {
            crate::https::server_config(&tls, None)
                .map_err(|e| SettingsError::invalid(e.key, e.problem))?;
        }
        Ok(tls)
    }

    /// The listener's bounds; call after [`HttpSettings::validate`].
    pub fn limits(&self) -> ListenerLimits {
        ListenerLimits {
            max_connections: self.max_connections,
            header_read_timeout: Duration::from_secs(self.header_read_timeout_secs),
            body_read_timeout: Duration::from_secs(self.body_read_timeout_secs),
            idle_timeout: Duration::from_secs(self.idle_timeout_secs),
            handshake_timeout: Duration::from_secs(self.handshake_timeout_secs),
            ..ListenerLimits::ui()
        }
    }
}

/// `[jobs]`: when the scheduled jobs run (cron, seconds first, China time; name the days of the
/// week, see `crate::jobs`), and how long the login audit is kept.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobSettings {
    /// Cross-tier reconciliation (runs once the reconciliation issue lands).
    pub reconcile: String,
    /// Removing expired operator sessions.
    pub purge_sessions: String,
    /// Removing login-audit rows older than `login_audit_retention_days`.
    pub purge_login_audit: String,
    pub login_audit_retention_days: u32,
    /// Reading the database counts that `/metrics` shows (cases by stage, events, outbox, dead
    /// letters): a scrape never queries the database, so the gauges are as fresh as this job.
    pub refresh_gauges: String,
    /// The deadline scan: near-due and overdue alerts (see `crate::alerts::scan`).
    pub deadline_scan: String,
    /// The link watchdog: escalations stuck in transit, silent children (`crate::alerts::watchdog`).
    pub link_watchdog: String,
    /// Pushing the queued case summaries to the parent (stations with a parent only).
    pub summary_push: String,
}

/// Checked `[jobs]` settings.
#[derive(Debug, Clone)]
pub struct JobSchedules {
    pub reconcile: cron::Schedule,
    pub purge_sessions: cron::Schedule,
    pub purge_login_audit: cron::Schedule,
    pub login_audit_retention: time::Duration,
    pub refresh_gauges: cron::Schedule,
    pub deadline_scan: cron::Schedule,
    pub link_watchdog: cron::Schedule,
    pub summary_push: cron::Schedule,
}

impl JobSettings {
    pub fn check(&self) -> Result<JobSchedules, SettingsError> {
        use crate::config::check_cron;
        if !(30..=3650).contains(&self.login_audit_retention_days) {
            return Err(SettingsError::invalid(
                "jobs.login_audit_retention_days",
                "must be between 30 and 3650 days",
            ));
        }
        Ok(JobSchedules {
            reconcile: check_cron("jobs.reconcile", &self.reconcile)?,
            purge_sessions: check_cron("jobs.purge_sessions", &self.purge_sessions)?,
            purge_login_audit: check_cron("jobs.purge_login_audit", &self.purge_login_audit)?,
            login_audit_retention: time::Duration::days(i64::from(self.login_audit_retention_days)),
            refresh_gauges: check_cron("jobs.refresh_gauges", &self.refresh_gauges)?,
            deadline_scan: check_cron("jobs.deadline_scan", &self.deadline_scan)?,
            link_watchdog: check_cron("jobs.link_watchdog", &self.link_watchdog)?,
            summary_push: check_cron("jobs.summary_push", &self.summary_push)?,
        })
    }
}

/// `[events]`: what every stored event is checked against besides the state machine.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventSettings {
    /// The most events one case may have (a longer log is refused with a clear error).
    pub max_per_case: u64,
    /// How many seconds ahead of this node's clock an event may be dated; one dated further in
    /// the future is refused (its author's clock is wrong). Late events are always accepted.
    pub future_tolerance_secs: u64,
}

impl EventSettings {
    /// The checked limits.
    pub fn limits(&self) -> Result<crate::store::AppendLimits, SettingsError> {
        if !(10..=1_000_000).contains(&self.max_per_case) {
            return Err(SettingsError::invalid(
                "events.max_per_case",
                "must be between 10 and 1000000",
            ));
        }
        if !(1..=86_400).contains(&self.future_tolerance_secs) {
            return Err(SettingsError::invalid(
                "events.future_tolerance_secs",
                "must be between 1 and 86400 seconds",
            ));
        }
        Ok(crate::store::AppendLimits {
            max_events_per_case: self.max_per_case,
            future_tolerance: time::Duration::seconds(
                i64::try_from(self.future_tolerance_secs).unwrap_or(86_400),
            ),
        })
    }
}

/// `[policy]`: where this node reads the district's policy data until signed bundles arrive.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicySettings {
    /// The working calendar (JSON, see `deploy/policy/calendar.json`). Empty: weekends only,
    /// and every deadline is marked provisional.
    #[serde(default)]
    pub calendar: Option<PathBuf>,
    /// The district tree (JSON, see `deploy/topology/xinhua.json`): who is whose parent.
    /// Required on a node that serves children.
    #[serde(default)]
    pub topology: Option<PathBuf>,
    /// The catalogue of service items (JSON, see `deploy/policy/catalogue.json`). Empty: no
    /// items, so no applications can be taken in.
    #[serde(default)]
    pub catalogue: Option<PathBuf>,
    /// The district's policy keys a station verifies signed bundles with: the base64 of each
    /// Ed25519 public key, as `district-node policy keygen` prints it (its `policy.pub`). One
    /// key, or two while the district rotates its key.
    #[serde(default)]
    pub pinned_keys: Vec<String>,
    /// How often a station with pinned keys asks its parent for a newer bundle, in seconds.
    #[serde(default = "default_pull_secs")]
    pub pull_secs: u64,
}

fn default_pull_secs() -> u64 {
    60
}

fn read_policy_file(key: &str, path: &Path, base: Option<&Path>) -> Result<String, SettingsError> {
    let path = check_existing_file(key, path, base)?;
    std::fs::read_to_string(&path)
        .map_err(|e| SettingsError::invalid(key, format!("{}: {e}", path.display())))
}

fn set(path: &Option<PathBuf>) -> Option<&Path> {
    path.as_deref().filter(|p| !p.as_os_str().is_empty())
}

impl PolicySettings {
    /// Parses the pinned policy keys: each must be a base64 Ed25519 public key, at most
    /// [`MAX_PINNED_KEYS`](crate::policy::bundle::MAX_PINNED_KEYS) of them, none twice.
    pub fn check_pinned_keys(&self) -> Result<Vec<PublicKey>, SettingsError> {
        const KEY: &str = "policy.pinned_keys";
        if self.pinned_keys.len() > MAX_PINNED_KEYS {
            return Err(SettingsError::invalid(
                KEY,
                format!(
                    "{} keys are pinned; pin one, or two while the district rotates its key",
                    self.pinned_keys.len()
                ),
            ));
        }
        let mut keys: Vec<PublicKey> = Vec::with_capacity(self.pinned_keys.len());
        for (i, text) in self.pinned_keys.iter().enumerate() {
            let key = PublicKey::parse(text).map_err(|e| {
                SettingsError::invalid(
                    KEY,
                    format!(
                        "key {} is not a policy public key (the base64 of policy.pub): {e}",
                        i + 1
                    ),
                )
            })?;
            if keys.contains(&key) {
                return Err(SettingsError::invalid(
                    KEY,
                    format!("key {} is pinned twice", i + 1),
                ));
            }
            keys.push(key);
        }
        Ok(keys)
    }

    /// Reads and checks the topology file; `None` when not set.
    pub fn load_topology(&self, base: Option<&Path>) -> Result<Option<Topology>, SettingsError> {
        let Some(path) = set(&self.topology) else {
            return Ok(None);
        };
        let text = read_policy_file("policy.topology", path, base)?;
        Topology::from_json(&text)
            .map(Some)
            .map_err(|e| SettingsError::invalid("policy.topology", e.to_string()))
    }

    /// Reads and checks the catalogue; an empty one when not set.
    pub fn load_catalogue(&self, base: Option<&Path>) -> Result<Catalogue, SettingsError> {
        let Some(path) = set(&self.catalogue) else {
            tracing::warn!("policy.catalogue is not set: no service items can be taken in");
            return Ok(Catalogue::default());
        };
        let text = read_policy_file("policy.catalogue", path, base)?;
        Catalogue::from_json(&text)
            .map_err(|e| SettingsError::invalid("policy.catalogue", e.to_string()))
    }
}

/// `[tls]`: this node's certificate and key, and the district CA that every peer's certificate
/// must chain to. All three or none.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct TlsSettings {
    #[serde(default)]
    pub cert: Option<PathBuf>,
    #[serde(default)]
    pub key: Option<PathBuf>,
    #[serde(default)]
    pub ca: Option<PathBuf>,
}

/// Checked paths of a node's TLS files.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub ca: PathBuf,
}

impl TlsSettings {
    pub fn check(&self, base: Option<&Path>) -> Result<Option<TlsFiles>, SettingsError> {
        match (set(&self.cert), set(&self.key), set(&self.ca)) {
            (None, None, None) => Ok(None),
            (Some(cert), Some(key), Some(ca)) => Ok(Some(TlsFiles {
                cert: check_existing_file("tls.cert", cert, base)?,
                key: check_existing_file("tls.key", key, base)?,
                ca: check_existing_file("tls.ca", ca, base)?,
            })),
            _ => Err(SettingsError::invalid(
                "tls",
                "set all of tls.cert, tls.key and tls.ca, or none",
            )),
        }
    }
}

/// `[internode]`: the mutual-TLS listener this node's children dial (district and towns).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InternodeSettings {
    /// Empty: no children served.
    #[serde(default)]
    pub listen: String,
    /// Open connections at most; at the cap new ones wait in the kernel's backlog.
    #[serde(default = "internode_max_connections")]
    pub max_connections: usize,
    /// Seconds a client has to complete the TLS handshake.
    #[serde(default = "internode_handshake_timeout")]
    pub handshake_timeout_secs: u64,
    /// Seconds a client has to send a whole request head after the handshake.
    #[serde(default = "internode_header_read_timeout")]
    pub header_read_timeout_secs: u64,
    /// Seconds a request's body (a batch of pushed events) has to arrive in full.
    #[serde(default = "internode_body_read_timeout")]
    pub body_read_timeout_secs: u64,
    /// Seconds a kept-alive connection may wait for its next request. Keep it above the
    /// children's pool idle time (60 s).
    #[serde(default = "internode_idle_timeout")]
    pub idle_timeout_secs: u64,
    /// Pulls that may wait for new events at the same time (`GET /v1/events?wait=N`).
    #[serde(default = "internode_max_long_polls")]
    pub max_long_polls: usize,
}

fn internode_max_connections() -> usize {
    ListenerLimits::internode().max_connections
}
fn internode_handshake_timeout() -> u64 {
    ListenerLimits::internode().handshake_timeout.as_secs()
}
fn internode_header_read_timeout() -> u64 {
    ListenerLimits::internode().header_read_timeout.as_secs()
}
fn internode_body_read_timeout() -> u64 {
    ListenerLimits::internode().body_read_timeout.as_secs()
}
fn internode_idle_timeout() -> u64 {
    ListenerLimits::internode().idle_timeout.as_secs()
}
fn internode_max_long_polls() -> usize {
    DEFAULT_MAX_LONG_POLLS
}

impl Default for InternodeSettings {
    fn default() -> Self {
        InternodeSettings {
            listen: String::new(),
            max_connections: internode_max_connections(),
            handshake_timeout_secs: internode_handshake_timeout(),
            header_read_timeout_secs: internode_header_read_timeout(),
            body_read_timeout_secs: internode_body_read_timeout(),
            idle_timeout_secs: internode_idle_timeout(),
            max_long_polls: internode_max_long_polls(),
        }
    }
}

impl InternodeSettings {
    /// Checks the limits and the address; `None` when no children are served.
    pub fn check(&self) -> Result<Option<SocketAddr>, SettingsError> {
        check_connections("internode.max_connections", self.max_connections)?;
        check_timeout(
            "internode.handshake_timeout_secs",
            self.handshake_timeout_secs,
        )?;
        check_timeout(
            "internode.header_read_timeout_secs",
            self.header_read_timeout_secs,
        )?;
        check_timeout(
            "internode.body_read_timeout_secs",
            self.body_read_timeout_secs,
        )?;
        check_timeout("internode.idle_timeout_secs", self.idle_timeout_secs)?;
        if !(1..=self.max_connections).contains(&self.max_long_polls) {
            return Err(SettingsError::invalid(
                "internode.max_long_polls",
                format!(
                    "must be between 1 and internode.max_connections ({}): each waiting pull \
                     holds a connection",
                    self.max_connections
                ),
            ));
        }
        match self.listen.trim() {
            "" => Ok(None),
            addr => addr.parse().map(Some).map_err(|e| {
                SettingsError::invalid(
                    "internode.listen",
                    format!("`{addr}` is not an address such as 0.0.0.0:9443: {e}"),
                )
            }),
        }
    }

    /// The listener's bounds; call after [`InternodeSettings::check`].
    pub fn limits(&self) -> ListenerLimits {
        ListenerLimits {
            max_connections: self.max_connections,
            handshake_timeout: Duration::from_secs(self.handshake_timeout_secs),
            header_read_timeout: Duration::from_secs(self.header_read_timeout_secs),
            body_read_timeout: Duration::from_secs(self.body_read_timeout_secs),
            idle_timeout: Duration::from_secs(self.idle_timeout_secs),
            ..ListenerLimits::internode()
        }
    }
}

/// The bounds of both listeners from their checked settings.
pub fn node_limits(http: &HttpSettings, internode: &InternodeSettings) -> NodeLimits {
    NodeLimits {
        ui: http.limits(),
        internode: internode.limits(),
        max_long_polls: internode.max_long_polls,
    }
}

impl PolicySettings {
    /// Reads and checks the calendar file, naming the setting on failure.
    pub fn load_calendar(&self, base: Option<&Path>) -> Result<WorkingCalendar, SettingsError> {
        let Some(path) = self
            .calendar
            .as_deref()
            .filter(|p| !p.as_os_str().is_empty())
        else {
            tracing::warn!("policy.calendar is not set: deadlines count weekends only");
            return Ok(WorkingCalendar::empty());
        };
        let path = check_existing_file("policy.calendar", path, base)?;
        let text = std::fs::read_to_string(&path).map_err(|e| {
            SettingsError::invalid("policy.calendar", format!("{}: {e}", path.display()))
        })?;
        WorkingCalendar::from_json(&text).map_err(|e| {
            SettingsError::invalid("policy.calendar", format!("{}: {e}", path.display()))
        })
    }
}

/// `[attachments]`: where the node keeps the files of its cases' attachments, and how large one
/// may be.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttachmentSettings {
    /// The folder of the files (made at the first upload). Empty: `attachments` beside the
    /// SQLite database, or beside the config file when the database is PostgreSQL. Relative
    /// paths are taken from the config file's folder.
    #[serde(default)]
    pub dir: PathBuf,
    /// The largest attachment, in KiB (10240, i.e. 10 MiB, by default).
    #[serde(default = "default_attachment_kib")]
    pub max_size_kib: u64,
}

fn default_attachment_kib() -> u64 {
    crate::attachments::DEFAULT_MAX_BYTES / 1024
}

impl AttachmentSettings {
    /// The checked folder and limit. `database` is the SQLite file, when the node has one.
    pub fn check(
        &self,
        base: Option<&Path>,
        database: Option<&Path>,
    ) -> Result<crate::attachments::Attachments, SettingsError> {
        const KEY: &str = "attachments.dir";
        let max_kib = bangban_domain::attachment::MAX_ATTACHMENT_BYTES / 1024;
        if !(1..=max_kib).contains(&self.max_size_kib) {
            return Err(SettingsError::invalid(
                "attachments.max_size_kib",
                format!("must be between 1 and {max_kib} KiB"),
            ));
        }
        let dir = if self.dir.as_os_str().is_empty() {
            database
                .and_then(Path::parent)
                .map(Path::to_path_buf)
                .or_else(|| base.map(Path::to_path_buf))
                .unwrap_or_else(|| PathBuf::from("."))
                .join("attachments")
        } else if self.dir.is_absolute() {
            self.dir.clone()
        } else {
            base.map_or_else(|| self.dir.clone(), |b| b.join(&self.dir))
        };
        if dir.exists() && !dir.is_dir() {
            return Err(SettingsError::invalid(
                KEY,
                format!("{} exists and is not a folder", dir.display()),
            ));
        }
        Ok(crate::attachments::Attachments::new(
            dir,
            self.max_size_kib * 1024,
        ))
    }
}
