//! The parts of a node's start-up both binaries share: the common settings sections, loading the
//! working calendar, the readiness checks, and serving a router until shutdown.
//!
//! Node-specific settings (the station's SQLite path, the district's database URL, the parent
//! link) stay in each node crate.

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use bangban_domain::calendar::WorkingCalendar;
use bangban_domain::catalogue::Catalogue;
use bangban_domain::station::StationCode;
use bangban_domain::topology::Topology;
use serde::Deserialize;
use tokio::net::TcpListener;

use crate::config::{SettingsError, check_existing_file};
use crate::http::{Check, Readiness};
use crate::serve::{DEFAULT_MAX_LONG_POLLS, ListenerLimits, NodeLimits, PlainTcp};
use crate::store::CaseStore;

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
        Ok(())
    }

    /// The listener's bounds; call after [`HttpSettings::validate`].
    pub fn limits(&self) -> ListenerLimits {
        ListenerLimits {
            max_connections: self.max_connections,
            header_read_timeout: Duration::from_secs(self.header_read_timeout_secs),
            body_read_timeout: Duration::from_secs(self.body_read_timeout_secs),
            idle_timeout: Duration::from_secs(self.idle_timeout_secs),
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
}

/// Checked `[jobs]` settings.
#[derive(Debug, Clone)]
pub struct JobSchedules {
    pub reconcile: cron::Schedule,
    pub purge_sessions: cron::Schedule,
    pub purge_login_audit: cron::Schedule,
    pub login_audit_retention: time::Duration,
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
#[derive(Debug, Clone, Deserialize, Default)]
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

/// Readiness of a node whose only hard dependency so far is its database.
pub struct StoreReadiness {
    pub store: CaseStore,
}

impl Readiness for StoreReadiness {
    async fn checks(&self) -> Vec<Check> {
        let db = match self.store.db().ping().await {
            Ok(()) => Check {
                name: "database",
                ok: true,
                required: true,
                detail: format!("{:?} open", self.store.db().backend()),
            },
            Err(e) => Check {
                name: "database",
                ok: false,
                required: true,
                detail: e.to_string(),
            },
        };
        vec![db]
    }
}

/// Serves `router` on `listener` within `limits` until `shutdown` completes, then drains open
/// requests. Requests carry `ConnectInfo<SocketAddr>`: the login audit and throttle read the
/// peer address from the connection, never from headers.
pub async fn serve_router(
    listener: TcpListener,
    router: Router,
    limits: ListenerLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    crate::serve::serve(listener, PlainTcp, router, limits, shutdown).await
}

/// The shared readiness handle type.
pub type SharedReadiness = Arc<StoreReadiness>;

/// Everything a node runs, assembled by the node binary from its checked settings.
pub struct NodeRuntime {
    pub me: StationCode,
    pub name: String,
    pub store: CaseStore,
    pub auth: crate::auth::AuthStore,
    pub catalogue: Arc<Catalogue>,
    /// Present on nodes that serve children or dial a parent.
    pub credentials: Option<crate::tls::NodeCredentials>,
    /// The mTLS listener children dial, with the topology that says who they are.
    pub internode: Option<(TcpListener, Arc<Topology>)>,
    /// The parent's inter-node URL, with how to behave on that link.
    pub parent: Option<(url::Url, crate::sync::client::LinkOptions)>,
    pub body_limit_bytes: usize,
    /// The bounds of both listeners.
    pub limits: NodeLimits,
    /// The scheduled jobs (see `crate::jobs::standard_jobs`).
    pub jobs: crate::jobs::Jobs,
}

/// Readiness of a running node: its database (required), its certificate (required when it
/// has one) and its parent link (reported, never required: a station keeps taking in cases
/// while the link is down).
pub struct NodeReadiness {
    pub store: CaseStore,
    pub certificate: Option<String>,
    pub link: Option<(url::Url, Arc<crate::sync::LinkStatus>)>,
    pub jobs: crate::jobs::Jobs,
}

/// An instant in China time for people (`2026-11-28 03:30:00`).
fn show_ms(ms: i64) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .map(|t| t.to_offset(time::macros::offset!(+8)))
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_else(|| ms.to_string())
}

impl Readiness for NodeReadiness {
    async fn checks(&self) -> Vec<Check> {
        let mut checks = StoreReadiness {
            store: self.store.clone(),
        }
        .checks()
        .await;
        if let Some(cert) = &self.certificate {
            checks.push(Check {
                name: "certificate",
                ok: true,
                required: true,
                detail: cert.clone(),
            });
        }
        // A failing job never makes a node unready either; it is reported.
        for (name, job) in self.jobs.status() {
            let next = job.next_run_ms.map_or("none".to_owned(), show_ms);
            checks.push(Check {
                name,
                ok: job.last_ok != Some(false),
                required: false,
                detail: match (job.last_started_ms, job.last_ok, &job.last_detail) {
                    (Some(at), Some(ok), Some(detail)) => format!(
                        "job: last run {} ({}, {} ms): {detail}; next run {next}",
                        show_ms(at),
                        if ok { "ok" } else { "failed" },
                        job.last_duration_ms.unwrap_or_default()
                    ),
                    _ => format!("job: not run since start; next run {next}"),
                },
            });
        }
        // Dead letters never make a node unready (the rest flows on), but a person must look.
        match self.store.dead_letter_counts().await {
            Ok(counts) => checks.push(Check {
                name: "dead_letters",
                ok: counts.total() == 0,
                required: false,
                detail: format!(
                    "{} event(s) refused by the parent and {} pulled event(s) refused here wait \
                     for a decision (dead-letters list)",
                    counts.up, counts.down
                ),
            }),
            Err(e) => checks.push(Check {
                name: "dead_letters",
                ok: false,
                required: false,
                detail: e.to_string(),
            }),
        }
        if let Some((url, status)) = &self.link {
            let queued = self.store.outbox_len().await.unwrap_or(-1);
            checks.push(Check {
                name: "parent",
                ok: status.reachable(),
                required: false,
                detail: format!(
                    "{url} {}; {queued} event(s) queued for it",
                    match (status.reachable(), status.last_error()) {
                        (true, _) => "reachable".to_owned(),
                        (false, Some(e)) => format!("failing: {e}"),
                        (false, None) => "not reached yet".to_owned(),
                    }
                ),
            });
        }
        checks
    }
}

/// `/metrics` in the Prometheus text format: cases by stage, events stored, the outbox and the
/// parent link. Counts only: never a case number or a name.
async fn metrics(readiness: Arc<NodeReadiness>, me: StationCode) -> axum::response::Response {
    use axum::response::IntoResponse;
    use std::fmt::Write;
    let store = &readiness.store;
    let mut out = String::new();
    let station = format!("station=\"{me}\"");
    let _ = writeln!(
        out,
        "# HELP bangban_cases Cases stored at this node, by stage."
    );
    let _ = writeln!(out, "# TYPE bangban_cases gauge");
    for (stage, n) in store.stage_counts().await.unwrap_or_default() {
        let _ = writeln!(out, "bangban_cases{{{station},stage=\"{stage}\"}} {n}");
    }
    let gauges = [
        (
            "bangban_events",
            "Events stored at this node.",
            store.event_count().await,
        ),
        (
            "bangban_outbox",
            "Events waiting to be pushed to the parent.",
            store.outbox_len().await,
        ),
        (
            "bangban_last_seq",
            "Local sequence number of the last stored event.",
            store.last_seq().await,
        ),
    ];
    for (name, help, value) in gauges {
        if let Ok(v) = value {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} gauge\n{name}{{{station}}} {v}"
            );
        }
    }
    if let Ok(counts) = store.dead_letter_counts().await {
        let _ = writeln!(
            out,
            "# HELP bangban_dead_letters Events set aside, waiting for a decision, by direction.\n# TYPE bangban_dead_letters gauge\nbangban_dead_letters{{{station},direction=\"up\"}} {}\nbangban_dead_letters{{{station},direction=\"down\"}} {}",
            counts.up, counts.down
        );
    }
    let jobs = readiness.jobs.status();
    type Reading = fn(&crate::jobs::JobStatus) -> Option<i64>;
    let families: [(&str, &str, &str, Reading); 5] = [
        (
            "bangban_job_last_run_ms",
            "gauge",
            "Unix milliseconds the job last started.",
            |j| j.last_started_ms,
        ),
        (
            "bangban_job_last_success",
            "gauge",
            "Whether the job's last run succeeded (1) or failed (0).",
            |j| j.last_ok.map(i64::from),
        ),
        (
            "bangban_job_next_run_ms",
            "gauge",
            "Unix milliseconds of the job's next scheduled run.",
            |j| j.next_run_ms,
        ),
        (
            "bangban_job_runs_total",
            "counter",
            "Runs of the job since start.",
            |j| i64::try_from(j.runs).ok(),
        ),
        (
            "bangban_job_failures_total",
            "counter",
            "Failed runs of the job since start.",
            |j| i64::try_from(j.failures).ok(),
        ),
    ];
    for (name, kind, help, value) in families {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for (job, status) in &jobs {
            if let Some(v) = value(status) {
                let _ = writeln!(out, "{name}{{{station},job=\"{job}\"}} {v}");
            }
        }
    }
    if let Some((_, link)) = &readiness.link {
        let _ = writeln!(
            out,
            "# HELP bangban_parent_reachable Whether the last exchange with the parent succeeded.\n# TYPE bangban_parent_reachable gauge\nbangban_parent_reachable{{{station}}} {}",
            i32::from(link.reachable())
        );
        let _ = writeln!(
            out,
            "# HELP bangban_parent_last_ok_ms Unix milliseconds of the last successful exchange with the parent.\n# TYPE bangban_parent_last_ok_ms gauge\nbangban_parent_last_ok_ms{{{station}}} {}",
            link.last_ok_ms()
        );
        let _ = writeln!(
            out,
            "# HELP bangban_pushed_total Events pushed to the parent since start.\n# TYPE bangban_pushed_total counter\nbangban_pushed_total{{{station}}} {}",
            link.pushed()
        );
        let _ = writeln!(
            out,
            "# HELP bangban_pulled_total Events pulled from the parent since start.\n# TYPE bangban_pulled_total counter\nbangban_pulled_total{{{station}}} {}",
            link.pulled()
        );
    }
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        out,
    )
        .into_response()
}

/// Runs a node until `shutdown` completes: the UI/API listener, the inter-node listener when it
/// serves children, and the forwarder and puller when it has a parent. Returns after every part
/// has stopped; logs which part ended.
pub async fn run(
    rt: NodeRuntime,
    ui_listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    use axum::extract::DefaultBodyLimit;
    use tokio::sync::watch;

    let (stop_tx, stop_rx) = watch::channel(false);
    let stop_tx = Arc::new(stop_tx);
    tokio::spawn({
        let stop_tx = stop_tx.clone();
        async move {
            shutdown.await;
            let _ = stop_tx.send(true);
        }
    });
    let stopped = |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };

    let link = rt.parent.as_ref().map(|_| crate::sync::LinkStatus::new());
    let certificate = match &rt.credentials {
        Some(creds) => {
            let id = creds
                .own_identity(rt.me.district())
                .map_err(|e| anyhow::anyhow!("tls.cert: {e}"))?;
            anyhow::ensure!(
                id.station == rt.me,
                "tls.cert: the certificate is for station {}, but node.code is {}",
                id.station,
                rt.me
            );
            Some(format!(
                "loaded, identity {}",
                crate::pki::identity_uri(id.station)
            ))
        }
        None => None,
    };
    let readiness = Arc::new(NodeReadiness {
        store: rt.store.clone(),
        certificate,
        link: rt
            .parent
            .as_ref()
            .zip(link.clone())
            .map(|((url, _), status)| (url.clone(), status)),
        jobs: rt.jobs.clone(),
    });
    let api = Arc::new(crate::api::NodeApi {
        me: rt.me,
        name: rt.name.clone(),
        store: rt.store.clone(),
        auth: rt.auth.clone(),
        catalogue: rt.catalogue.clone(),
    });
    let metrics_state = readiness.clone();
    let internode_readiness = readiness.clone();
    let me = rt.me;
    let ui = Router::new()
        .route(
            "/metrics",
            axum::routing::get(move || metrics(metrics_state.clone(), me)),
        )
        .merge(crate::http::health_routes(readiness))
        .merge(crate::api::routes(api))
        .fallback(crate::http::fallback)
        .layer(DefaultBodyLimit::max(rt.body_limit_bytes))
        .layer(axum::middleware::from_fn_with_state(
            rt.body_limit_bytes,
            crate::http::refuse_oversized,
        ))
        .layer(crate::http::trace_layer());

    let mut tasks = tokio::task::JoinSet::new();
    tracing::info!(
        code = %rt.me,
        tier = rt.me.tier().as_str(),
        listen = %ui_listener.local_addr()?,
        "UI/API listener ready"
    );
    tasks.spawn({
        let stop = stopped(stop_rx.clone());
        let limits = rt.limits.ui;
        async move {
            serve_router(ui_listener, ui, limits, stop).await?;
            Ok::<_, anyhow::Error>("UI/API listener")
        }
    });

    if let Some((listener, topology)) = rt.internode {
        let creds = rt
            .credentials
            .as_ref()
            .ok_or_else(|| anyhow::anyhow!("internode.listen needs the [tls] files"))?;
        let config = crate::tls::server_config(creds, Vec::new())?;
        let sync = Arc::new(crate::sync::server::SyncServer {
            store: rt.store.clone(),
            me: rt.me,
            topology,
        });
        // The long-poll cap wraps the router; a caller that is not a direct child is refused
        // inside at once, so its slot frees at once.
        let app =
            crate::sync::server::routes(sync, crate::http::health_routes(internode_readiness))
                .layer(axum::middleware::from_fn_with_state(
                    crate::serve::LongPollSlots::new(rt.limits.max_long_polls),
                    crate::serve::limit_long_polls,
                ))
                .layer(crate::http::trace_layer());
        tracing::info!(listen = %listener.local_addr()?, "inter-node (mTLS) listener ready");
        let district = rt.me.district();
        let stop = stopped(stop_rx.clone());
        let limits = rt.limits.internode;
        tasks.spawn(async move {
            crate::tls::serve_mtls_with(listener, config, district, app, limits, stop).await?;
            Ok("inter-node listener")
        });
    }

    if !rt.jobs.names().is_empty() {
        let jobs = rt.jobs.clone();
        tracing::info!(jobs = ?jobs.names(), "job runner ready");
        let stop = stop_rx.clone();
        tasks.spawn(async move {
            jobs.run(stop).await;
            Ok("job runner")
        });
    }

    if let (Some((parent, options)), Some(status)) = (rt.parent, link) {
        let creds = rt
            .credentials
            .as_ref()
            .ok_or_else(|| anyhow::anyhow!("parent.url needs the [tls] files"))?;
        let parent_code = rt
            .me
            .parent()
            .ok_or_else(|| anyhow::anyhow!("parent.url is set, but {} has no parent", rt.me))?;
        let client = crate::tls::https_client(creds, Vec::new(), parent_code)?;
        tracing::info!(parent = %parent, "linking to the parent");
        let forwarder = crate::sync::client::run_forwarder(
            rt.store.clone(),
            client.clone(),
            parent.clone(),
            options.clone(),
            status.clone(),
            stop_rx.clone(),
        );
        tasks.spawn(async move {
            forwarder.await;
            Ok("forwarder")
        });
        let puller = crate::sync::client::run_puller(
            rt.store.clone(),
            client,
            parent,
            options,
            status,
            stop_rx.clone(),
        );
        tasks.spawn(async move {
            puller.await;
            Ok("puller")
        });
    }

    let mut result = Ok(());
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(Ok(part)) => tracing::info!(part, "stopped"),
            Ok(Err(e)) => {
                tracing::error!(error = format!("{e:#}"), "a part of the node failed");
                if result.is_ok() {
                    result = Err(e);
                }
                // One part failing stops the others: a half-running node is worse than none.
                let _ = stop_tx.send(true);
            }
            Err(e) => tracing::error!(error = %e, "a task of the node panicked"),
        }
    }
    rt.store.db().close().await;
    result
}

/// Loads the node's TLS files, when it has them.
pub fn load_credentials(
    tls: Option<&TlsFiles>,
) -> anyhow::Result<Option<crate::tls::NodeCredentials>> {
    Ok(match tls {
        Some(t) => Some(crate::tls::NodeCredentials::load(&t.cert, &t.key, &t.ca)?),
        None => None,
    })
}

/// Binds the inter-node listener, when the node serves children.
pub async fn bind_internode(addr: Option<SocketAddr>) -> anyhow::Result<Option<TcpListener>> {
    match addr {
        Some(addr) => Ok(Some(crate::cli::bind("internode.listen", addr).await?)),
        None => Ok(None),
    }
}

/// Pairs the inter-node listener with the topology that names the children it serves.
pub fn children(
    listener: Option<TcpListener>,
    topology: Option<&Topology>,
) -> anyhow::Result<Option<(TcpListener, Arc<Topology>)>> {
    match (listener, topology) {
        (Some(listener), Some(topology)) => Ok(Some((listener, Arc::new(topology.clone())))),
        (Some(_), None) => anyhow::bail!("policy.topology is required to serve children"),
        (None, _) => Ok(None),
    }
}
