//! The web UI both nodes serve on their UI listener, next to the JSON API: server-rendered pages
//! (askama templates, compiled and checked with the crate, in `templates/`), no JavaScript
//! needed, Chinese by default with an English switch per request.
//!
//! - `i18n`: the two message sets and the per-request language;
//! - `session`: the session cookie, the signed-in operator, CSRF checks;
//! - `pages`: login, logout, the start page, errors;
//! - `accounts`: an administrator's accounts page; `personal`: a case's full personal data,
//!   each view recorded first, and the trail of those views.
//!
//! The pages call the same services as the JSON API (`crate::intake`, `crate::auth`, the store);
//! they never decide a rule themselves.

pub mod accounts;
pub mod alerts;
pub mod apply;
pub mod attachments;
pub mod cases;
pub mod catalogue_files;
pub mod forms;
pub mod i18n;
pub mod intake;
pub mod pages;
pub mod personal;
pub mod session;
pub mod steps;
pub mod summaries;

use axum::Router;
use axum::extract::FromRef;
use axum::routing::{get, post};
use bangban_domain::station::StationCode;

use crate::auth::AuthStore;
use crate::store::CaseStore;

/// What the pages share.
#[derive(Clone)]
pub struct Web {
    pub me: StationCode,
    /// The centre's name, in the page header.
    pub name: String,
    pub auth: AuthStore,
    pub store: CaseStore,
    /// The link to the parent, when the node has one.
    pub uplink: Option<crate::sync::Uplink>,
    /// The UI is served in plain HTTP on an address other machines reach: every page warns.
    pub exposed_plain_http: bool,
    /// Cookies get `Secure` (the UI is served over HTTPS).
    pub secure_cookies: bool,
    /// The node's scheduled jobs, whose last runs the start page shows.
    pub jobs: crate::jobs::Jobs,
}

impl Web {
    /// The intake service over this node's store and the policy in force.
    pub fn intake(&self) -> crate::intake::Intake {
        crate::intake::Intake {
            me: self.me,
            store: self.store.clone(),
            policy: self.store.policy().clone(),
        }
    }
}

impl FromRef<Web> for AuthStore {
    fn from_ref(web: &Web) -> AuthStore {
        web.auth.clone()
    }
}

/// What each page needs (see `crate::access`).
pub fn access() -> Vec<crate::access::Access> {
    use crate::access::{Access, Rule::*};
    use bangban_domain::account::Permission::*;
    vec![
        Access::public_get("/"),
        Access::public_get("/login"),
        Access::post("/login", Public),
        Access::post("/logout", Needs(SignedIn)),
        Access::get("/start", Needs(SignedIn)),
        Access::get("/cases", Needs(ViewCases)),
        Access::get("/cases/{case_id}", Needs(ViewCases)),
        Access::post("/cases/{case_id}/steps", Needs(HandleCases)),
        Access::get("/cases/{case_id}/print/{form}", Needs(ViewPersonalData)),
        // Attachments: uploading handles the case; opening a file is an audited view of personal
        // data (see web/attachments.rs).
        Access::post("/cases/{case_id}/attachments", Needs(HandleCases)),
        Access::get(
            "/cases/{case_id}/attachments/{sha256}",
            Needs(ViewPersonalData),
        ),
        // The catalogue's blank forms and samples (web/catalogue_files.rs).
        Access::get("/catalogue/files/{sha256}", Needs(ViewCases)),
        Access::get("/cases/new/application", Needs(HandleCases)),
        Access::post("/cases/new/application", Needs(HandleCases)),
        Access::get("/cases/new/consultation", Needs(HandleCases)),
        Access::post("/cases/new/consultation", Needs(HandleCases)),
        Access::public_get("/static/app.css"),
        Access::public_get("/static/print.css"),
        Access::public_get("/static/app.js"),
        // Station admin: accounts, full personal data (each view audited), the audit trail.
        Access::get("/accounts", Needs(ManageAccounts)),
        Access::post("/accounts", Needs(ManageAccounts)),
        Access::post("/accounts/{username}/disable", Needs(ManageAccounts)),
        Access::post("/accounts/{username}/enable", Needs(ManageAccounts)),
        Access::post("/accounts/{username}/password", Needs(ManageAccounts)),
        Access::post("/accounts/{username}/role", Needs(ManageAccounts)),
        Access::get("/cases/{case_id}/personal", Needs(ViewPersonalData)),
        Access::get("/audit/personal-data", Needs(ViewAudit)),
        // Alerts on the start page (web/alerts.rs).
        Access::post("/alerts/{alert_id}/ack", Needs(WatchAlerts)),
        // Case summaries of the subtree (no personal data).
        Access::get("/summaries", Needs(ViewCases)),
    ]
}

/// The largest attachment upload request this node lets in (see `attachments::refuse_oversized`).
pub fn upload_limit(web: &Web) -> usize {
    web.store
        .attachments()
        .map_or(0, crate::attachments::Attachments::max_request_bytes)
}

/// `/` (to the login or the start page), `/login`, `/logout`, `/start`, `/static/…`.
pub fn routes(web: Web) -> Router {
    let upload_limit = upload_limit(&web);
    Router::new()
        .route("/", get(pages::index))
        .route("/login", get(pages::login_page).post(pages::login_submit))
        .route("/logout", axum::routing::post(pages::logout))
        .route("/start", get(pages::start))
        .route("/cases", get(cases::list))
        .route("/cases/{case_id}", get(cases::show))
        .route("/cases/{case_id}/steps", axum::routing::post(steps::submit))
        .route("/cases/{case_id}/print/{form}", get(forms::print))
        .route(
            "/cases/{case_id}/attachments",
            axum::routing::post(attachments::upload)
                .layer(axum::extract::DefaultBodyLimit::max(upload_limit)),
        )
        .route(
            "/cases/{case_id}/attachments/{sha256}",
            get(attachments::download),
        )
        .route("/catalogue/files/{sha256}", get(catalogue_files::download))
        .route(
            "/cases/new/application",
            get(apply::application_form).post(apply::application_submit),
        )
        .route(
            "/cases/new/consultation",
            get(intake::consult_form).post(intake::consult_submit),
        )
        .route("/static/app.css", get(pages::stylesheet))
        .route("/static/print.css", get(pages::print_stylesheet))
        .route("/static/app.js", get(pages::script))
        // Station admin: accounts, full personal data (each view audited), the audit trail.
        .route("/accounts", get(accounts::page).post(accounts::create))
        .route("/accounts/{username}/disable", post(accounts::disable))
        .route("/accounts/{username}/enable", post(accounts::enable))
        .route("/accounts/{username}/password", post(accounts::password))
        .route("/accounts/{username}/role", post(accounts::role))
        .route("/cases/{case_id}/personal", get(personal::show))
        .route("/audit/personal-data", get(personal::trail))
        // Alerts on the start page (web/alerts.rs).
        .route("/alerts/{alert_id}/ack", post(alerts::ack))
        // Case summaries of the subtree (no personal data).
        .route("/summaries", get(summaries::list))
        .with_state(web)
}
