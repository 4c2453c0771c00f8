//! The pages: login, logout, the start page, and the error page. A handler parses, calls a
//! service and renders; every form posts and answers with a 303 redirect, so it works without
//! JavaScript and a reload never posts twice.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use bangban_domain::account::Permission;
use bangban_domain::case::Stage;
use bangban_domain::station::Tier;
use serde::Deserialize;
use time::OffsetDateTime;

use super::Web;
use super::i18n::{LANG_COOKIE, Lang, Tr};
use super::session::{
    SESSION_COOKIE, WebUser, check_form, cleared_session_cookie, cookie, safe_next, same_site,
    session_cookie,
};
use crate::auth::PeerAddr;

/// Who is signed in, as the page header shows it.
pub struct UserView {
    pub display_name: String,
    pub username: String,
    pub csrf: String,
    /// The role may take cases in (the pages offer it only then).
    pub may_handle: bool,
    /// The role manages accounts (the header links to `/accounts`), reads the audit (links to
    /// `/audit/personal-data`), opens full personal data (the case page links to it).
    pub may_manage_accounts: bool,
    pub may_view_audit: bool,
    /// Shows the district's policy pages in the menu (they exist only on the district node).
    pub may_manage_policy: bool,
    pub may_view_personal: bool,
}

impl From<&WebUser> for UserView {
    fn from(u: &WebUser) -> UserView {
        UserView {
            display_name: u.operator.display_name.clone(),
            username: u.operator.username.as_str().to_owned(),
            csrf: u.csrf.clone(),
            may_handle: u
                .operator
                .role
                .may(bangban_domain::account::Permission::HandleCases),
            may_manage_accounts: u.operator.role.may(Permission::ManageAccounts),
            may_view_audit: u.operator.role.may(Permission::ViewAudit),
            may_manage_policy: u.operator.role.may(Permission::ManagePolicy),
            may_view_personal: u.operator.role.may(Permission::ViewPersonalData),
        }
    }
}

/// What the frame of every page shows besides the user: the centre's name and the plain-HTTP
/// warning. The node puts it on every request of the UI listener, so that the pages a node crate
/// adds draw the same frame (`{% extends "base.html" %}`) as kit's own.
#[derive(Debug, Clone, Default)]
pub struct Chrome {
    pub centre: String,
    pub exposed_plain_http: bool,
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Chrome {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<Chrome>()
            .cloned()
            .unwrap_or_default())
    }
}

/// `2026-11-28 09:30` in China time, as pages show instants.
pub fn china_time(t: time::OffsetDateTime) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]");
    t.to_offset(time::macros::offset!(+8))
        .format(&format)
        .unwrap_or_default()
}

/// Remembers a language chosen with `?lang=` for the next requests.
pub fn with_lang(lang: Lang, headers: &HeaderMap, mut res: Response) -> Response {
    if cookie(headers, LANG_COOKIE) != Some(lang.code()) {
        let value = format!("{LANG_COOKIE}={}; Path=/; SameSite=Lax", lang.code());
        if let Ok(v) = header::HeaderValue::from_str(&value) {
            res.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    res
}

// ---------------------------------------------------------------------------------------------
// The address of the node, and login
// ---------------------------------------------------------------------------------------------

/// `/`: the start page when signed in, else the login page.
pub async fn index(headers: HeaderMap) -> Redirect {
    if cookie(&headers, SESSION_COOKIE).is_some() {
        Redirect::to("/start")
    } else {
        Redirect::to("/login")
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "login.html")]
struct LoginPage {
    t: Tr,
    centre: Option<String>,
    user: Option<UserView>,
    exposed_plain_http: bool,
    next: String,
    username: String,
    notice: Option<&'static str>,
    error: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
    #[serde(default)]
    expired: Option<String>,
    #[serde(default)]
    bye: Option<String>,
}

/// `GET /login`.
pub async fn login_page(
    State(web): State<Web>,
    lang: Lang,
    headers: HeaderMap,
    query: Result<Query<LoginQuery>, QueryRejection>,
) -> Response {
    let t = Tr::new(lang);
    let q = query.ok().map(|Query(q)| q);
    let notice = match &q {
        Some(q) if q.expired.is_some() => Some(t.s("login.expired")),
        Some(q) if q.bye.is_some() => Some(t.s("login.logged_out")),
        _ => None,
    };
    let page = LoginPage {
        t,
        centre: Some(web.name.clone()),
        user: None,
        exposed_plain_http: web.exposed_plain_http,
        next: safe_next(q.as_ref().and_then(|q| q.next.as_deref())).to_owned(),
        username: String::new(),
        notice,
        error: None,
    };
    with_lang(lang, &headers, page.into_response())
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: Option<String>,
}

/// `POST /login`: a new session (a new token, whatever cookie came in), then 303 to where the
/// operator was going. A refusal shows the login page again with the username kept.
pub async fn login_submit(
    State(web): State<Web>,
    lang: Lang,
    PeerAddr(peer): PeerAddr,
    headers: HeaderMap,
    form: Result<axum::Form<LoginForm>, FormRejection>,
) -> Response {
    let t = Tr::new(lang);
    let form = form.map(|axum::Form(f)| f).unwrap_or_else(|_| LoginForm {
        username: String::new(),
        password: String::new(),
        next: None,
    });
    let next = safe_next(form.next.as_deref()).to_owned();
    let page = |status: StatusCode, error: String| {
        let page = LoginPage {
            t,
            centre: Some(web.name.clone()),
            user: None,
            exposed_plain_http: web.exposed_plain_http,
            next: next.clone(),
            username: form.username.chars().take(32).collect(),
            notice: None,
            error: Some(error),
        };
        (status, page).into_response()
    };
    // A login form posted from another site could sign a victim into the attacker's account.
    if !same_site(&headers) {
        return page(StatusCode::FORBIDDEN, t.s("error.csrf").to_owned());
    }
    if form.username.trim().is_empty() || form.password.is_empty() {
        return page(
            StatusCode::UNPROCESSABLE_ENTITY,
            t.s("login.missing").to_owned(),
        );
    }
    let login = web
        .auth
        .login(
            form.username.trim(),
            &form.password,
            peer.map(|ip| ip.to_string()),
            OffsetDateTime::now_utc(),
        )
        .await;
    match login {
        Ok(session) => {
            tracing::info!(operator = %session.operator.username, "signed in to the web UI");
            let mut res = Redirect::to(&next).into_response();
            res.headers_mut().insert(
                header::SET_COOKIE,
                session_cookie(session.token.expose(), web.secure_cookies),
            );
            res
        }
        Err(e) if e.is_internal() => internal_error(&e, lang).into_response(),
        Err(e) => {
            let rejection = crate::auth::AuthRejection::from(e);
            let problem = rejection.problem();
            let mut res = page(
                problem.status(),
                t.pick(&problem.message_zh, &problem.message_en).to_owned(),
            );
            if let Some(secs) = rejection.retry_after_secs() {
                res.headers_mut()
                    .insert(header::RETRY_AFTER, header::HeaderValue::from(secs));
            }
            res
        }
    }
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /logout`: ends the session and clears the cookie.
pub async fn logout(
    State(web): State<Web>,
    lang: Lang,
    user: WebUser,
    headers: HeaderMap,
    form: Result<axum::Form<CsrfForm>, FormRejection>,
) -> Response {
    let token = form.map(|axum::Form(f)| f.csrf).unwrap_or_default();
    if !check_form(&headers, &user, &token) {
        return csrf_refused(lang);
    }
    if let Err(e) = web.auth.logout(user.token()).await {
        return internal_error(&e, lang).into_response();
    }
    tracing::info!(operator = %user.operator.username, "signed out of the web UI");
    let mut res = Redirect::to("/login?bye=1").into_response();
    res.headers_mut()
        .insert(header::SET_COOKIE, cleared_session_cookie());
    res
}

// ---------------------------------------------------------------------------------------------
// The start page
// ---------------------------------------------------------------------------------------------

/// The state of the link to the parent, as the start page shows it.
pub enum LinkView {
    None,
    Ok,
    Down,
    Never,
}

#[derive(Template, WebTemplate)]
#[template(path = "start.html")]
struct StartPage {
    t: Tr,
    centre: Option<String>,
    user: Option<UserView>,
    exposed_plain_http: bool,
    node_name: String,
    node_code: String,
    tier_key: &'static str,
    /// The signed policy bundle in force, or `None` while the node works by its own files.
    policy_bundle: Option<u64>,
    /// When the policy in force was put in force (China time).
    policy_since: String,
    /// Why the last bundle offered was refused, in the request's language (the policy in force
    /// stays), and whether the bundle in force has expired.
    policy_refusal: Option<String>,
    policy_expired: bool,
    link: LinkView,
    /// The parent URL in use, the parent's other URLs (comma-separated, empty with one) and
    /// how often the link switched between them since start.
    parent_url: Option<(String, String, u64)>,
    day: crate::store::DayCounts,
    soon: String,
    outbox: i64,
    /// When the oldest of them was queued (China time) and how many minutes ago, if any wait;
    /// `outbox_stale` once that is longer than [`STALE_OUTBOX_MINUTES`].
    outbox_oldest: Option<(String, i64)>,
    outbox_stale: bool,
    dead_letters: i64,
    stages: Vec<(&'static str, i64)>,
    /// Cases whose one-time notice is out, waiting for the applicant's materials.
    awaiting: i64,
    /// The year whose holiday arrangement the calendar in force lacks, when it is due.
    missing_year: Option<i32>,
    /// The flag links to the calendar page: on the district, for those who edit the policy.
    calendar_link: bool,
    /// The scheduled jobs and their last runs.
    jobs: Vec<JobRow>,
    /// This node's last reconciliation with its parent, whoever ran it (the job, the command
    /// line, the parent's request): when (China time), whether it succeeded, what it found.
    last_reconcile: Option<(String, bool, String)>,
    /// The open alerts of this centre and its subtree, newest first; `None` for a role that
    /// does not watch them (`Permission::WatchAlerts`).
    alerts: Option<Vec<super::alerts::AlertRow>>,
    /// A node with children links to the summaries of its subtree's cases (`/summaries`).
    summaries_link: bool,
}

/// One scheduled job as the start page lists it.
struct JobRow {
    name: &'static str,
    label: &'static str,
    /// When it last ran (China time), `None` if not since the node started.
    last: Option<String>,
    ok: Option<bool>,
    detail: String,
    next: String,
}

/// What a job does, in the page's language.
fn job_label(name: &str, t: &Tr) -> &'static str {
    match name {
        "reconcile" => t.pick("与上级对账", "reconciliation with the parent"),
        "summary-push" => t.pick("上报办件概要", "case summaries to the parent"),
        "deadline-scan" => t.pick("办理时限检查", "deadline scan"),
        "link-watchdog" => t.pick("链路监测", "link watchdog"),
        "purge-sessions" => t.pick("清理过期登录", "expired sessions"),
        "purge-login-audit" => t.pick("清理登录记录", "old login records"),
        "refresh-gauges" => t.pick("刷新监控指标", "metrics"),
        _ => t.pick("其他任务", "other job"),
    }
}

fn job_rows(jobs: &crate::jobs::Jobs, t: &Tr) -> Vec<JobRow> {
    let at = |ms: i64| {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
            .map(china_time)
            .unwrap_or_default()
    };
    jobs.status()
        .into_iter()
        .map(|(name, status)| JobRow {
            name,
            label: job_label(name, t),
            last: status.last_started_ms.map(at),
            ok: status.last_ok,
            detail: status
                .last_detail
                .unwrap_or_default()
                .chars()
                .take(160)
                .collect(),
            next: status.next_run_ms.map(at).unwrap_or_default(),
        })
        .collect()
}

/// How old the oldest record waiting for the parent may grow before the start page warns.
const STALE_OUTBOX_MINUTES: i64 = 10;

/// `GET /start`: the centre, its link to the parent, its cases by stage.
pub async fn start(
    State(web): State<Web>,
    lang: Lang,
    user: WebUser,
    headers: HeaderMap,
) -> Response {
    let t = Tr::new(lang);
    let counts = match web.store.stage_counts().await {
        Ok(c) => c,
        Err(e) => return internal_error(&e, lang).into_response(),
    };
    let awaiting = counts
        .iter()
        .find(|(s, _)| s == Stage::AwaitingSupplement.as_str())
        .map_or(0, |(_, n)| *n);
    let stages = Stage::ALL
        .into_iter()
        .filter_map(|stage| {
            let n = counts.iter().find(|(s, _)| s == stage.as_str())?.1;
            Some((t.stage(stage), n))
        })
        .collect();
    // Today in China time, and the second working day after it.
    let now = OffsetDateTime::now_utc();
    let outbox_oldest = web
        .store
        .outbox_oldest_ms()
        .await
        .ok()
        .flatten()
        .and_then(|ms| OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok())
        .map(|at| (china_time(at), (now - at).whole_minutes().max(0)));
    let today = bangban_domain::calendar::local_date(now);
    let day_start_ms = today
        .midnight()
        .assume_offset(time::macros::offset!(+8))
        .unix_timestamp()
        .saturating_mul(1000);
    let soon = web
        .store
        .policy()
        .current()
        .calendar
        .working_day_after(today, 2);
    let day = match web
        .store
        .day_counts(web.me, day_start_ms, &today.to_string(), &soon.to_string())
        .await
    {
        Ok(d) => d,
        Err(e) => return internal_error(&e, lang),
    };
    let link = match web.uplink.as_ref().map(|u| &u.status) {
        None => LinkView::None,
        Some(status) if status.reachable() => LinkView::Ok,
        Some(status) if status.last_ok_ms() == 0 => LinkView::Never,
        Some(_) => LinkView::Down,
    };
    // The parent URL in use, and the parent's other URLs (replicas) when it has several.
    let parent_url = web.uplink.as_ref().map(|u| {
        let in_use = u.parents.current();
        let others: Vec<String> = u
            .parents
            .urls()
            .iter()
            .filter(|url| *url != in_use)
            .map(ToString::to_string)
            .collect();
        (in_use.to_string(), others.join(", "), u.parents.switches())
    });
    let in_force = web.store.policy().current();
    let missing_year = in_force.calendar.missing_year(today);
    let policy_bundle = in_force.bundle;
    let report = web.store.policy().report();
    let policy_expired = report.expired(now);
    let policy_refusal = report.last_refusal.map(|r| match lang {
        Lang::Zh => r.message_zh,
        Lang::En => r.message_en,
    });
    let policy_since = {
        let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]");
        in_force
            .since
            .to_offset(time::macros::offset!(+8))
            .format(&format)
            .unwrap_or_default()
    };
    let calendar_link = web.me.tier() == bangban_domain::station::Tier::District
        && user
            .operator
            .role
            .may(bangban_domain::account::Permission::ManagePolicy);
    let alerts = if user.operator.role.may(Permission::WatchAlerts) {
        match super::alerts::rows(&web, t, now).await {
            Ok(rows) => Some(rows),
            Err(e) => return internal_error(&e, lang),
        }
    } else {
        None
    };
    let page = StartPage {
        jobs: job_rows(&web.jobs, &t),
        last_reconcile: match web.uplink {
            Some(_) => web
                .store
                .reconcile_runs(Some("parent"), 0, 1)
                .await
                .ok()
                .and_then(|runs| runs.into_iter().next())
                .map(|(_, run)| {
                    let at = OffsetDateTime::from_unix_timestamp_nanos(
                        i128::from(run.finished_at_ms) * 1_000_000,
                    )
                    .map(china_time)
                    .unwrap_or_default();
                    let detail = if run.ok && run.detail == "no difference" {
                        t.pick("与上级一致", "no difference").to_owned()
                    } else {
                        run.detail
                    };
                    (at, run.ok, detail)
                }),
            None => None,
        },
        alerts,
        missing_year,
        calendar_link,
        summaries_link: web.me.tier() != Tier::Village,
        awaiting,
        t,
        centre: Some(web.name.clone()),
        user: Some(UserView::from(&user)),
        exposed_plain_http: web.exposed_plain_http,
        node_name: web.name.clone(),
        node_code: web.me.to_string(),
        policy_bundle,
        policy_since,
        policy_refusal,
        policy_expired,
        tier_key: match web.me.tier() {
            Tier::District => "tier.district",
            Tier::Town => "tier.town",
            Tier::Village => "tier.village",
        },
        link,
        parent_url,
        day,
        soon: soon.to_string(),
        outbox: web.store.outbox_len().await.unwrap_or(-1),
        outbox_stale: outbox_oldest
            .as_ref()
            .is_some_and(|(_, minutes)| *minutes >= STALE_OUTBOX_MINUTES),
        outbox_oldest,
        dead_letters: web
            .store
            .dead_letter_counts()
            .await
            .map(|c| c.total())
            .unwrap_or(-1),
        stages,
    };
    with_lang(lang, &headers, page.into_response())
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

#[derive(Template, WebTemplate)]
#[template(path = "error.html")]
struct ErrorPage {
    t: Tr,
    centre: Option<String>,
    user: Option<UserView>,
    exposed_plain_http: bool,
    message: String,
}

pub fn error_page(status: StatusCode, lang: Lang, message: String) -> Response {
    let page = ErrorPage {
        t: Tr::new(lang),
        centre: None,
        user: None,
        exposed_plain_http: false,
        message,
    };
    (status, page).into_response()
}

/// A form without the session's CSRF token, or from another site: nothing was done.
pub fn csrf_refused(lang: Lang) -> Response {
    tracing::warn!("form refused: CSRF check failed");
    error_page(
        StatusCode::FORBIDDEN,
        lang,
        Tr::new(lang).s("error.csrf").to_owned(),
    )
}

/// A signed-in operator whose role may not open the page or send the form.
pub fn forbidden_page() -> Response {
    error_page(
        StatusCode::FORBIDDEN,
        Lang::Zh,
        Tr::new(Lang::Zh).s("error.forbidden").to_owned(),
    )
}

/// For failures that are ours: logged with their cause, shown without it.
pub fn internal_error(cause: &dyn std::fmt::Display, lang: Lang) -> Response {
    tracing::error!(error = %cause, "internal error in the web UI");
    error_page(
        StatusCode::INTERNAL_SERVER_ERROR,
        lang,
        Tr::new(lang).s("error.internal").to_owned(),
    )
}

/// `GET /static/app.css`.
pub async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../static/app.css"),
    )
}

/// `GET /static/print.css`: the printable forms' A4 layout.
pub async fn print_stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../static/print.css"),
    )
}

/// `GET /static/app.js`: the one small script (keeps a form's input across a login).
pub async fn script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../static/app.js"),
    )
}
