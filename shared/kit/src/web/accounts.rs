//! The accounts page of an administrator (station or district): the node's accounts, a form to
//! open one, and per account: disable or enable, reset the password, change the role; the
//! account audit at the bottom. Every rule (who may give which role, the guard rails, the
//! password policy) is decided by `crate::auth`; a form only parses, calls and renders. A refused
//! form shows the page again with the reason beside the field, status 422, nothing saved.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use bangban_domain::Bilingual;
use serde::Deserialize;
use time::OffsetDateTime;

use super::Web;
use super::i18n::{Lang, Tr};
use super::pages::{UserView, china_time, csrf_refused, error_page, internal_error, with_lang};
use super::session::{WebUser, check_form};
use crate::auth::{AccountAction, AccountChange, Actor, AuthError, CLI_ACTOR, NewOperator, Role};

/// How many account changes the page shows.
const AUDIT_ROWS: u32 = 50;

fn role_label(t: Tr, role: Role) -> &'static str {
    t.pick(role.label_zh(), role.label_en())
}

/// The roles `admin` may give, in the order of [`Role::ALL`].
fn grantable(admin: Role) -> Vec<Role> {
    Role::ALL
        .into_iter()
        .filter(|r| *r != Role::DistrictAdmin || admin == Role::DistrictAdmin)
        .collect()
}

/// One account row.
pub struct AccountRow {
    pub username: String,
    pub display_name: String,
    pub role: &'static str,
    pub enabled: bool,
    pub last_login: String,
    /// The signed-in administrator's own account.
    pub is_self: bool,
    /// The administrator may change this account (a station administrator never a district
    /// administrator's).
    pub manageable: bool,
    /// `(value, label, selected)` for the role select.
    pub role_options: Vec<(&'static str, &'static str, bool)>,
    /// The form of this row that was refused (`status`, `role`, `password`), or empty.
    pub field: &'static str,
    pub field_error: String,
}

/// One row of the account audit.
pub struct AuditRow {
    pub when: String,
    pub actor: String,
    pub action: &'static str,
    pub target: String,
    pub detail: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "accounts.html")]
struct AccountsPage {
    t: Tr,
    centre: Option<String>,
    user: Option<UserView>,
    exposed_plain_http: bool,
    notice: Option<&'static str>,
    /// The session's CSRF token, for every form of the page.
    csrf: String,
    rows: Vec<AccountRow>,
    /// The create form: what was typed (never the password), the role select, the refused field.
    new_username: String,
    new_display_name: String,
    new_roles: Vec<(&'static str, &'static str, bool)>,
    new_field: &'static str,
    new_error: String,
    audit: Vec<AuditRow>,
}

/// What the create form holds.
#[derive(Default, Deserialize)]
pub struct CreateForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    password: String,
}

/// What a row's forms hold (each sends only its own field).
#[derive(Default, Deserialize)]
pub struct RowForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    password: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct DoneQuery {
    #[serde(default)]
    done: Option<String>,
}

/// A refusal and where the page shows it.
enum Refusal {
    /// Beside a field of the create form.
    Create(&'static str, String),
    /// Beside a form of one account's row.
    Row(String, &'static str, String),
}

/// The field of the create form an error is about.
fn create_field(e: &AuthError) -> &'static str {
    match e {
        AuthError::InvalidUsername | AuthError::DuplicateUsername(_) => "username",
        AuthError::InvalidDisplayName => "display_name",
        AuthError::PasswordTooShort
        | AuthError::PasswordTooLong
        | AuthError::PasswordAllDigits
        | AuthError::PasswordIsUsername => "password",
        _ => "role",
    }
}

fn message(t: Tr, e: &AuthError) -> String {
    t.pick(&e.message_zh(), &e.message_en()).to_owned()
}

/// Renders the page, with a refusal or a notice.
async fn render(
    web: &Web,
    t: Tr,
    user: &WebUser,
    typed: Option<&CreateForm>,
    refusal: Option<Refusal>,
    notice: Option<&'static str>,
) -> Response {
    let lang = t.lang;
    let accounts = match web.auth.accounts().await {
        Ok(a) => a,
        Err(e) => return internal_error(&e, lang),
    };
    let audit = match web.auth.account_audit(AUDIT_ROWS).await {
        Ok(a) => a,
        Err(e) => return internal_error(&e, lang),
    };
    let me = &user.operator;
    let (row_refusal, create_refusal) = match refusal {
        Some(Refusal::Row(name, field, message)) => (Some((name, field, message)), None),
        Some(Refusal::Create(field, message)) => (None, Some((field, message))),
        None => (None, None),
    };
    let refused = row_refusal.is_some() || create_refusal.is_some();
    let roles = grantable(me.role);
    let rows = accounts
        .into_iter()
        .map(|a| {
            let op = a.operator;
            let (field, field_error) = match &row_refusal {
                Some((name, field, message)) if name == op.username.as_str() => {
                    (*field, message.clone())
                }
                _ => ("", String::new()),
            };
            AccountRow {
                is_self: op.username == me.username,
                manageable: op.role != Role::DistrictAdmin || me.role == Role::DistrictAdmin,
                role_options: roles
                    .iter()
                    .map(|r| (r.as_str(), role_label(t, *r), *r == op.role))
                    .collect(),
                username: op.username.as_str().to_owned(),
                display_name: op.display_name,
                role: role_label(t, op.role),
                enabled: !op.disabled,
                last_login: a.last_login.map(china_time).unwrap_or_default(),
                field,
                field_error,
            }
        })
        .collect();
    let typed_role = typed.map(|f| f.role.as_str()).unwrap_or_default();
    let page = AccountsPage {
        t,
        centre: Some(web.name.clone()),
        user: Some(UserView::from(user)),
        exposed_plain_http: web.exposed_plain_http,
        notice,
        csrf: user.csrf.clone(),
        rows,
        new_username: typed
            .map(|f| f.username.chars().take(64).collect())
            .unwrap_or_default(),
        new_display_name: typed
            .map(|f| f.display_name.chars().take(128).collect())
            .unwrap_or_default(),
        new_roles: roles
            .iter()
            .map(|r| {
                let selected = if typed_role.is_empty() {
                    *r == Role::StationOperator
                } else {
                    r.as_str() == typed_role
                };
                (r.as_str(), role_label(t, *r), selected)
            })
            .collect(),
        new_field: create_refusal.as_ref().map_or("", |(f, _)| *f),
        new_error: create_refusal.map(|(_, m)| m).unwrap_or_default(),
        audit: audit
            .into_iter()
            .map(|e| AuditRow {
                when: china_time(e.at),
                actor: if e.actor == CLI_ACTOR {
                    t.s("accounts.cli").to_owned()
                } else {
                    e.actor
                },
                action: t.pick(e.action.label_zh(), e.action.label_en()),
                target: e.target,
                detail: match (e.action, e.detail) {
                    (AccountAction::Created | AccountAction::RoleChanged, Some(d)) => d
                        .split(" -> ")
                        .map(|r| Role::parse(r).map_or(r, |r| role_label(t, r)))
                        .collect::<Vec<_>>()
                        .join(" → "),
                    (_, d) => d.unwrap_or_default(),
                },
            })
            .collect(),
    };
    let status = if refused {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    (status, page).into_response()
}

/// `GET /accounts`.
pub async fn page(
    State(web): State<Web>,
    lang: Lang,
    user: WebUser,
    headers: HeaderMap,
    query: Result<Query<DoneQuery>, QueryRejection>,
) -> Response {
    let t = Tr::new(lang);
    let notice = query
        .ok()
        .and_then(|Query(q)| q.done)
        .map(|_| t.s("accounts.done"));
    let res = render(&web, t, &user, None, None, notice).await;
    with_lang(lang, &headers, res)
}

/// `POST /accounts`: opens an account, then 303 to the page.
pub async fn create(
    State(web): State<Web>,
    lang: Lang,
    user: WebUser,
    headers: HeaderMap,
    form: Result<axum::Form<CreateForm>, FormRejection>,
) -> Response {
    let t = Tr::new(lang);
    let form = form.map(|axum::Form(f)| f).unwrap_or_default();
    if !check_form(&headers, &user, &form.csrf) {
        return csrf_refused(lang);
    }
    let Some(role) = Role::parse(form.role.trim()) else {
        let e = AuthError::UnknownRole(form.role.chars().take(32).collect());
        let refusal = Refusal::Create("role", message(t, &e));
        return render(&web, t, &user, Some(&form), Some(refusal), None).await;
    };
    let new = NewOperator {
        username: form.username.clone(),
        display_name: form.display_name.clone(),
        role,
        password: form.password.clone(),
    };
    let now = OffsetDateTime::now_utc();
    match web
        .auth
        .create_operator_as(Actor::Admin(&user.operator), new, now)
        .await
    {
        Ok(_) => Redirect::to("/accounts?done=created").into_response(),
        Err(e) if e.is_internal() => internal_error(&e, lang),
        Err(e) => {
            let refusal = Refusal::Create(create_field(&e), message(t, &e));
            render(&web, t, &user, Some(&form), Some(refusal), None).await
        }
    }
}

/// What a row form asks for, and the field its refusal is shown beside.
type RowChange = (
    fn(&RowForm) -> Result<AccountChange, AuthError>,
    &'static str,
);

/// Applies the change a row form asks for, then 303 to the page.
async fn change(
    web: Web,
    lang: Lang,
    user: WebUser,
    headers: HeaderMap,
    username: String,
    form: Result<axum::Form<RowForm>, FormRejection>,
    (what, field): RowChange,
) -> Response {
    let t = Tr::new(lang);
    let form = form.map(|axum::Form(f)| f).unwrap_or_default();
    if !check_form(&headers, &user, &form.csrf) {
        return csrf_refused(lang);
    }
    let result = match what(&form) {
        Ok(change) => {
            web.auth
                .change_account(
                    Actor::Admin(&user.operator),
                    &username,
                    change,
                    OffsetDateTime::now_utc(),
                )
                .await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => Redirect::to("/accounts?done=changed").into_response(),
        Err(e) if e.is_internal() => internal_error(&e, lang),
        Err(AuthError::UnknownOperator(_)) => error_page(
            StatusCode::NOT_FOUND,
            lang,
            t.s("accounts.unknown").to_owned(),
        ),
        Err(e) => {
            let name: String = username.chars().take(64).collect();
            let refusal = Refusal::Row(name, field, message(t, &e));
            render(&web, t, &user, None, Some(refusal), None).await
        }
    }
}

/// `POST /accounts/{username}/disable`: the account is disabled and its sessions end.
pub async fn disable(
    State(web): State<Web>,
    lang: Lang,
    user: WebUser,
    headers: HeaderMap,
    Path(username): Path<String>,
    form: Result<axum::Form<RowForm>, FormRejection>,
) -> Response {
    let how: RowChange = (|_| Ok(AccountChange::Disable), "status");
    change(web, lang, user, headers, username, form, how).await
}

/// `POST /accounts/{username}/enable`.
pub async fn enable(
    State(web): State<Web>,
    lang: Lang,
    user: WebUser,
    headers: HeaderMap,
    Path(username): Path<String>,
    form: Result<axum::Form<RowForm>, FormRejection>,
) -> Response {
    let how: RowChange = (|_| Ok(AccountChange::Enable), "status");
    change(web, lang, user, headers, username, form, how).await
}

/// `POST /accounts/{username}/password`: the administrator sets a new password; the account's
/// sessions end.
pub async fn password(
    State(web): State<Web>,
    lang: Lang,
    user: WebUser,
    headers: HeaderMap,
    Path(username): Path<String>,
    form: Result<axum::Form<RowForm>, FormRejection>,
) -> Response {
    let how: RowChange = (
        |f| Ok(AccountChange::ResetPassword(f.password.clone())),
        "password",
    );
    change(web, lang, user, headers, username, form, how).await
}

/// `POST /accounts/{username}/role`.
pub async fn role(
    State(web): State<Web>,
    lang: Lang,
    user: WebUser,
    headers: HeaderMap,
    Path(username): Path<String>,
    form: Result<axum::Form<RowForm>, FormRejection>,
) -> Response {
    let how: RowChange = (
        |f| {
            Role::parse(f.role.trim())
                .map(AccountChange::ChangeRole)
                .ok_or_else(|| AuthError::UnknownRole(f.role.chars().take(32).collect()))
        },
        "role",
    );
    change(web, lang, user, headers, username, form, how).await
}
