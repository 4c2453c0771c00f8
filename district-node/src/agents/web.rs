//! The registry's pages: `/policy/agents` (the agents, filtered by centre and status, resident ID
//! and phone masked; the form to file one) and `/policy/agents/{id}` (edit, change status, add
//! a training record). Forms post, then 303 back with a notice; a refusal shows the page again
//! with the message beside the field, status 422, nothing saved. No page shows a full resident
//! ID or phone number.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use bangban_domain::agent::AgentStatus;
use bangban_domain::station::{StationCode, Tier};
use bangban_domain::topology::Topology;
use bangban_kit::access::Access;
use bangban_kit::web::i18n::{Lang, Tr};
use bangban_kit::web::pages::{
    Chrome, UserView, csrf_refused, error_page, internal_error, with_lang,
};
use bangban_kit::web::session::{WebUser, check_form};
use serde::Deserialize;

use super::{
    AgentInput, Filed, ROLES, Registry, RegistryError, STATUSES, parse_status, role_en, role_str,
    status_label, status_str,
};
use crate::admin::{Admin, Frame, MANAGE, today};

pub fn routes(admin: Admin) -> Router {
    Router::new()
        .route("/policy/agents", get(list_page).post(add))
        .route("/policy/agents/{id}", get(agent_page).post(update))
        .route("/policy/agents/{id}/status", post(set_status))
        .route("/policy/agents/{id}/training", post(add_training))
        .with_state(admin)
}

pub fn access() -> Vec<Access> {
    vec![
        Access::get("/policy/agents", MANAGE),
        Access::post("/policy/agents", MANAGE),
        Access::get("/policy/agents/{id}", MANAGE),
        Access::post("/policy/agents/{id}", MANAGE),
        Access::post("/policy/agents/{id}/status", MANAGE),
        Access::post("/policy/agents/{id}/training", MANAGE),
    ]
}

/// One agent as the list shows them: resident ID and phone masked.
pub struct AgentRow {
    pub id: String,
    pub badge_no: String,
    pub name: String,
    pub id_number: String,
    pub phone: String,
    pub centre: String,
    /// The agent's centre is not in use today (retired or moved): file them elsewhere or mark
    /// them as left.
    pub centre_retired: bool,
    pub role: &'static str,
    pub filed_on: String,
    pub training: String,
    pub status: &'static str,
    /// `ok` or `warn`.
    pub status_class: &'static str,
    pub status_note: String,
}

fn centre_name(tree: &Topology, code: StationCode) -> String {
    match tree.get(code) {
        Some(s) => format!("{} {}", s.code, s.name),
        None => code.to_string(),
    }
}

fn status_text(t: Tr, s: AgentStatus) -> &'static str {
    let (zh, en) = status_label(s);
    t.pick(zh, en)
}

fn row(t: Tr, tree: &Topology, f: &Filed) -> AgentRow {
    let a = &f.agent;
    let hours: f64 = a
        .training
        .iter()
        .map(|tr| f64::from(tr.half_hours) / 2.0)
        .sum();
    AgentRow {
        id: f.id.clone(),
        badge_no: a.badge_no.clone(),
        name: a.name.as_str().to_owned(),
        id_number: a.id_number.masked(),
        phone: a.phone.masked(),
        centre: centre_name(tree, a.centre),
        centre_retired: a.is_active() && !tree.is_active(a.centre, today()),
        role: t.pick(a.role.label_zh(), role_en(a.role)),
        filed_on: a.filed_on.to_string(),
        training: if a.training.is_empty() {
            t.pick("未培训", "none").to_owned()
        } else {
            format!(
                "{} {} / {hours} {}",
                a.training.len(),
                t.pick("次", "courses"),
                t.pick("学时", "h")
            )
        },
        status: status_text(t, a.status),
        status_class: if a.is_active() { "ok" } else { "warn" },
        status_note: match (f.status_on, &f.status_reason) {
            (Some(on), Some(r)) => format!("{on} {r}"),
            (Some(on), None) => on.to_string(),
            _ => String::new(),
        },
    }
}

/// `(code, label, selected)` of the centres in use today (an agent is filed at one of them).
fn centre_options(tree: &Topology, chosen: &str) -> Vec<(String, String, bool)> {
    let today = today();
    tree.stations()
        .filter(|s| s.is_active(today))
        .map(|s| {
            let code = s.code.to_string();
            let indent = if s.tier == Tier::Village { "└ " } else { "" };
            let label = format!("{indent}{code} {}", s.name);
            let selected = code == chosen;
            (code, label, selected)
        })
        .collect()
}

fn role_options(t: Tr, chosen: &str) -> Vec<(&'static str, &'static str, bool)> {
    ROLES
        .into_iter()
        .map(|r| {
            (
                role_str(r),
                t.pick(r.label_zh(), role_en(r)),
                role_str(r) == chosen,
            )
        })
        .collect()
}

fn status_options(t: Tr, chosen: &str) -> Vec<(&'static str, &'static str, bool)> {
    STATUSES
        .into_iter()
        .map(|s| (status_str(s), status_text(t, s), status_str(s) == chosen))
        .collect()
}

fn notice(t: Tr, done: Option<&str>) -> Option<&'static str> {
    Some(match done? {
        "added" => t.pick("已登记该帮办代办员。", "Agent filed."),
        "updated" => t.pick("已保存。", "Saved."),
        "status" => t.pick("已更新在岗状态。", "Status changed."),
        "training" => t.pick("已添加培训记录。", "Training recorded."),
        _ => return None,
    })
}

fn message(t: Tr, e: &RegistryError) -> (&'static str, String) {
    match e {
        RegistryError::Invalid { field, zh, en, .. } => (field, t.pick(zh, en).to_owned()),
        RegistryError::Draft(d) => {
            let (zh, en) = d.message();
            ("", t.pick(&zh, &en).to_owned())
        }
        other => ("", other.to_string()),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    centre: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    done: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "policy/agents.html")]
struct AgentsPage {
    t: Tr,
    centre: Option<String>,
    user: Option<UserView>,
    exposed_plain_http: bool,
    csrf: String,
    notice: Option<&'static str>,
    filter_centres: Vec<(String, String, bool)>,
    filter_statuses: Vec<(&'static str, &'static str, bool)>,
    total: usize,
    rows: Vec<AgentRow>,
    centres: Vec<(String, String, bool)>,
    roles: Vec<(&'static str, &'static str, bool)>,
    typed: AgentInput,
    field: &'static str,
    error: String,
}

/// The add form as posted.
#[derive(Debug, Default, Deserialize)]
pub struct AddForm {
    #[serde(default)]
    csrf: String,
    #[serde(flatten)]
    agent: AgentInput,
}

async fn render_list(
    admin: &Admin,
    frame: Frame,
    query: ListQuery,
    typed: Option<AgentInput>,
    refusal: Option<(&'static str, String)>,
) -> Response {
    let t = frame.t;
    let lang = t.lang;
    let tree = match admin.drafts.topology().await {
        Ok(d) => d.doc,
        Err(e) => return internal_error(&e, lang),
    };
    let all = match Registry::new(admin.db.clone()).list().await {
        Ok(a) => a,
        Err(e) => return internal_error(&e, lang),
    };
    let filter_centre = query
        .centre
        .unwrap_or_default()
        .trim()
        .chars()
        .take(12)
        .collect::<String>();
    let filter_status = query
        .status
        .unwrap_or_default()
        .trim()
        .chars()
        .take(12)
        .collect::<String>();
    let centre = StationCode::parse(&filter_centre).ok();
    let status = parse_status(&filter_status);
    let rows = all
        .iter()
        .filter(|f| centre.is_none_or(|c| f.agent.centre == c))
        .filter(|f| status.is_none_or(|s| f.agent.status == s))
        .map(|f| row(t, &tree, f))
        .collect();
    let mut typed = typed.unwrap_or_default();
    if typed.filed_on.is_empty() {
        typed.filed_on = today().to_string();
    }
    if typed.centre.is_empty() {
        typed.centre = filter_centre.clone();
    }
    let (field, error) = refusal.unwrap_or(("", String::new()));
    let http = if error.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let mut filter_centres = vec![(
        String::new(),
        t.pick("全部中心", "All centres").to_owned(),
        centre.is_none(),
    )];
    filter_centres.extend(tree.stations().map(|s| {
        let code = s.code.to_string();
        let indent = if s.tier == Tier::Village { "└ " } else { "" };
        let selected = code == filter_centre;
        (code.clone(), format!("{indent}{code} {}", s.name), selected)
    }));
    let mut filter_statuses = vec![("", t.pick("全部状态", "All statuses"), status.is_none())];
    filter_statuses.extend(status_options(t, &filter_status));
    let page = AgentsPage {
        total: all.len(),
        rows,
        centres: centre_options(&tree, typed.centre.trim()),
        roles: role_options(t, typed.role.trim()),
        filter_centres,
        filter_statuses,
        typed,
        field,
        error,
        notice: notice(t, query.done.as_deref()),
        t,
        centre: frame.centre,
        user: frame.user,
        exposed_plain_http: frame.exposed_plain_http,
        csrf: frame.csrf,
    };
    (http, page).into_response()
}

/// `GET /policy/agents[?centre=…&status=…]`.
async fn list_page(
    State(admin): State<Admin>,
    lang: Lang,
    chrome: Chrome,
    user: WebUser,
    headers: HeaderMap,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Response {
    let frame = Frame::new(lang, &chrome, &user);
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let res = render_list(&admin, frame, query, None, None).await;
    with_lang(lang, &headers, res)
}

/// `POST /policy/agents`: files an agent, then 303 to their page.
async fn add(
    State(admin): State<Admin>,
    lang: Lang,
    chrome: Chrome,
    user: WebUser,
    headers: HeaderMap,
    form: Result<axum::Form<AddForm>, FormRejection>,
) -> Response {
    let form = form.map(|axum::Form(f)| f).unwrap_or_default();
    if !check_form(&headers, &user, &form.csrf) {
        return csrf_refused(lang);
    }
    let frame = Frame::new(lang, &chrome, &user);
    let registry = Registry::new(admin.db.clone());
    match registry
        .add(&form.agent, user.operator.username.as_str(), today())
        .await
    {
        Ok(id) => Redirect::to(&format!("/policy/agents/{id}?done=added")).into_response(),
        Err(e) if e.is_internal() => internal_error(&e, lang),
        Err(e) => {
            let refusal = message(frame.t, &e);
            // Never send a typed resident ID back in full: the field is typed again.
            let mut typed = form.agent;
            typed.id_number = String::new();
            let typed = Some(typed);
            let res = render_list(&admin, frame, ListQuery::default(), typed, Some(refusal)).await;
            with_lang(lang, &headers, res)
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "policy/agent.html")]
struct AgentPage {
    t: Tr,
    centre: Option<String>,
    user: Option<UserView>,
    exposed_plain_http: bool,
    csrf: String,
    notice: Option<&'static str>,
    id: String,
    row: AgentRow,
    edit: AgentInput,
    centres: Vec<(String, String, bool)>,
    roles: Vec<(&'static str, &'static str, bool)>,
    statuses: Vec<(&'static str, &'static str, bool)>,
    status_on: String,
    reason: String,
    training: Vec<(String, String, String)>,
    training_date: String,
    course: String,
    hours: String,
    /// Which form was refused (`edit`, `status`, `training`), its field and message.
    form: &'static str,
    field: &'static str,
    error: String,
}

/// What a refused form of the agent page brings back.
#[derive(Default)]
struct Refused {
    form: &'static str,
    field: &'static str,
    error: String,
    edit: Option<AgentInput>,
    status: Option<StatusForm>,
    training: Option<TrainingForm>,
}

async fn render_agent(
    admin: &Admin,
    frame: Frame,
    id: &str,
    notice: Option<&'static str>,
    refused: Refused,
) -> Response {
    let t = frame.t;
    let lang = t.lang;
    let tree = match admin.drafts.topology().await {
        Ok(d) => d.doc,
        Err(e) => return internal_error(&e, lang),
    };
    let filed = match Registry::new(admin.db.clone()).get(id).await {
        Ok(f) => f,
        Err(RegistryError::NotFound) => {
            return error_page(
                StatusCode::NOT_FOUND,
                lang,
                t.pick("未找到该人员。", "No such agent.").to_owned(),
            );
        }
        Err(e) => return internal_error(&e, lang),
    };
    let a = &filed.agent;
    let edit = refused.edit.unwrap_or_else(|| AgentInput {
        name: a.name.as_str().to_owned(),
        id_number: String::new(),
        phone: String::new(),
        centre: a.centre.to_string(),
        role: role_str(a.role).to_owned(),
        badge_no: a.badge_no.clone(),
        filed_on: a.filed_on.to_string(),
    });
    let next_status = match a.status {
        AgentStatus::Active => "suspended",
        _ => "active",
    };
    let status_form = refused.status.unwrap_or_default();
    let training_form = refused.training.unwrap_or_default();
    let mut centres = centre_options(&tree, edit.centre.trim());
    if !centres.iter().any(|(c, _, _)| *c == a.centre.to_string()) {
        // A centre retired since: still shown, so the page says where the agent was filed.
        centres.insert(
            0,
            (
                a.centre.to_string(),
                centre_name(&tree, a.centre),
                edit.centre.trim() == a.centre.to_string(),
            ),
        );
    }
    let http = if refused.error.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = AgentPage {
        id: filed.id.clone(),
        row: row(t, &tree, &filed),
        centres,
        roles: role_options(t, edit.role.trim()),
        statuses: status_options(
            t,
            if status_form.status.is_empty() {
                next_status
            } else {
                status_form.status.trim()
            },
        ),
        status_on: if status_form.status_on.is_empty() {
            today().to_string()
        } else {
            status_form.status_on.chars().take(20).collect()
        },
        reason: status_form.reason.chars().take(200).collect(),
        training: a
            .training
            .iter()
            .map(|tr| {
                (
                    tr.date.to_string(),
                    tr.course.clone(),
                    format!("{}", f64::from(tr.half_hours) / 2.0),
                )
            })
            .collect(),
        training_date: if training_form.date.is_empty() {
            today().to_string()
        } else {
            training_form.date.chars().take(20).collect()
        },
        course: training_form.course.chars().take(100).collect(),
        hours: training_form.hours.chars().take(10).collect(),
        edit,
        form: refused.form,
        field: refused.field,
        error: refused.error,
        notice,
        t,
        centre: frame.centre,
        user: frame.user,
        exposed_plain_http: frame.exposed_plain_http,
        csrf: frame.csrf,
    };
    (http, page).into_response()
}

#[derive(Debug, Default, Deserialize)]
pub struct DoneQuery {
    #[serde(default)]
    done: Option<String>,
}

/// `GET /policy/agents/{id}`.
async fn agent_page(
    State(admin): State<Admin>,
    lang: Lang,
    chrome: Chrome,
    user: WebUser,
    headers: HeaderMap,
    Path(id): Path<String>,
    query: Result<Query<DoneQuery>, QueryRejection>,
) -> Response {
    let frame = Frame::new(lang, &chrome, &user);
    let done = query.ok().and_then(|Query(q)| q.done);
    let res = render_agent(
        &admin,
        frame,
        &id,
        notice(Tr::new(lang), done.as_deref()),
        Refused::default(),
    )
    .await;
    with_lang(lang, &headers, res)
}

/// The answer to a posted form of the agent page.
async fn answer(
    admin: &Admin,
    frame: Frame,
    id: &str,
    result: Result<(), RegistryError>,
    done: &str,
    mut refused: Refused,
) -> Response {
    let lang = frame.t.lang;
    match result {
        Ok(()) => Redirect::to(&format!("/policy/agents/{id}?done={done}")).into_response(),
        Err(RegistryError::NotFound) => error_page(
            StatusCode::NOT_FOUND,
            lang,
            frame.t.pick("未找到该人员。", "No such agent.").to_owned(),
        ),
        Err(e) if e.is_internal() => internal_error(&e, lang),
        Err(e) => {
            let (field, error) = message(frame.t, &e);
            refused.field = field;
            refused.error = error;
            render_agent(admin, frame, id, None, refused).await
        }
    }
}

/// The edit form as posted.
#[derive(Debug, Default, Deserialize)]
pub struct EditForm {
    #[serde(default)]
    csrf: String,
    #[serde(flatten)]
    agent: AgentInput,
}

/// `POST /policy/agents/{id}`: name, identifiers (blank keeps them), centre, role, badge, filing.
async fn update(
    State(admin): State<Admin>,
    lang: Lang,
    chrome: Chrome,
    user: WebUser,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Result<axum::Form<EditForm>, FormRejection>,
) -> Response {
    let form = form.map(|axum::Form(f)| f).unwrap_or_default();
    if !check_form(&headers, &user, &form.csrf) {
        return csrf_refused(lang);
    }
    let registry = Registry::new(admin.db.clone());
    let result = registry
        .update(&id, &form.agent, user.operator.username.as_str(), today())
        .await;
    let mut typed = form.agent;
    typed.id_number = String::new();
    let refused = Refused {
        form: "edit",
        edit: Some(typed),
        ..Refused::default()
    };
    let frame = Frame::new(lang, &chrome, &user);
    answer(&admin, frame, &id, result, "updated", refused).await
}

/// The status form as posted.
#[derive(Debug, Default, Deserialize)]
pub struct StatusForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    status_on: String,
    #[serde(default)]
    reason: String,
}

/// `POST /policy/agents/{id}/status`: active, suspended or left, on a date, for a reason.
async fn set_status(
    State(admin): State<Admin>,
    lang: Lang,
    chrome: Chrome,
    user: WebUser,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Result<axum::Form<StatusForm>, FormRejection>,
) -> Response {
    let form = form.map(|axum::Form(f)| f).unwrap_or_default();
    if !check_form(&headers, &user, &form.csrf) {
        return csrf_refused(lang);
    }
    let registry = Registry::new(admin.db.clone());
    let result = registry
        .set_status(
            &id,
            &form.status,
            &form.status_on,
            &form.reason,
            user.operator.username.as_str(),
            today(),
        )
        .await;
    let refused = Refused {
        form: "status",
        status: Some(form),
        ..Refused::default()
    };
    let frame = Frame::new(lang, &chrome, &user);
    answer(&admin, frame, &id, result, "status", refused).await
}

/// The training form as posted.
#[derive(Debug, Default, Deserialize)]
pub struct TrainingForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    date: String,
    #[serde(default)]
    course: String,
    #[serde(default)]
    hours: String,
}

/// `POST /policy/agents/{id}/training`: a course attended (date, course, hours).
async fn add_training(
    State(admin): State<Admin>,
    lang: Lang,
    chrome: Chrome,
    user: WebUser,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Result<axum::Form<TrainingForm>, FormRejection>,
) -> Response {
    let form = form.map(|axum::Form(f)| f).unwrap_or_default();
    if !check_form(&headers, &user, &form.csrf) {
        return csrf_refused(lang);
    }
    let registry = Registry::new(admin.db.clone());
    let result = registry
        .add_training(
            &id,
            &form.date,
            &form.course,
            &form.hours,
            user.operator.username.as_str(),
            today(),
        )
        .await;
    let refused = Refused {
        form: "training",
        training: Some(form),
        ..Refused::default()
    };
    let frame = Frame::new(lang, &chrome, &user);
    answer(&admin, frame, &id, result, "training", refused).await
}
