//! The parts of a node's start-up both binaries share: the common settings sections, loading the
//! working calendar, the readiness checks, and serving a router until shutdown.
//!
//! Node-specific settings (the station's SQLite path, the district's database URL, the parent
//! link) stay in each node crate.

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use bangban_domain::calendar::WorkingCalendar;
use bangban_domain::station::StationCode;
use serde::Deserialize;
use tokio::net::TcpListener;

use crate::config::{SettingsError, check_existing_file};
use crate::http::{Check, Readiness};
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
}

impl HttpSettings {
    pub fn validate(&self) -> Result<(), SettingsError> {
        if !(1..=65_536).contains(&self.body_limit_kib) {
            return Err(SettingsError::invalid(
                "http.body_limit_kib",
                "must be between 1 and 65536 KiB",
            ));
        }
        Ok(())
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

/// Serves `router` on `listener` until `shutdown` completes, then drains open requests.
pub async fn serve_router(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router.into_make_service())
        .with_graceful_shutdown(shutdown)
        .await
}

/// The shared readiness handle type.
pub type SharedReadiness = Arc<StoreReadiness>;
