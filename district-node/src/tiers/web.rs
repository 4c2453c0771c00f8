//! The pages of the tree of centres: `/policy/tiers` (every centre with its kind, address,
//! contact, status, review marks and active agents, the warning under two, and the form to add
//! one) and `/policy/tiers/{code}` (edit, move, retire one centre). Forms post, then 303 back
//! with a notice; a refusal shows the page again with the message beside the field, status 422,
//! nothing saved. The rules are [`super::authoring`]'s.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use bangban_domain::station::{StationCode, Tier};
use bangban_domain::topology::edit::EditError;
use bangban_domain::topology::{CentreKind, Topology};
use bangban_kit::access::Access;
use bangban_kit::web::i18n::{Lang, Tr};
use bangban_kit::web::pages::{
    Chrome, UserView, csrf_refused, error_page, internal_error, with_lang,
};
use bangban_kit::web::session::{WebUser, check_form};
use serde::Deserialize;
use time::Date;

use super::authoring::{
    self, CentreEdit, CentreStatus, DraftCentre, MoveInput, NewCentre, TierError,
};
use crate::admin::{Admin, Frame, MANAGE, today};
use crate::agents::Registry;

pub fn routes(admin: Admin) -> Router {
    Router::new()
        .route("/policy/tiers", get(list_page).post(add))
        .route("/policy/tiers/{code}", get(centre_page).post(update))
        .route("/policy/tiers/{code}/move", post(move_centre))
        .route("/policy/tiers/{code}/retire", post(retire))
        .with_state(admin)
}

pub fn access() -> Vec<Access> {
    vec![
        Access::get("/policy/tiers", MANAGE),
        Access::post("/policy/tiers", MANAGE),
        Access::get("/policy/tiers/{code}", MANAGE),
        Access::post("/policy/tiers/{code}", MANAGE),
        Access::post("/policy/tiers/{code}/move", MANAGE),
        Access::post("/policy/tiers/{code}/retire", MANAGE),
    ]
}

/// One centre as the list shows it.
pub struct TierRow {
    pub code: String,
    pub name: String,
    /// `district`, `town` or `village` (the row's class).
    pub tier: &'static str,
    pub kind: &'static str,
    pub address: String,
    pub contact: String,
    pub status: &'static str,
    /// `ok`, `hint` or `warn`.
    pub status_class: &'static str,
    pub period: String,
    /// The move link, e.g. "→ 410402002201".
    pub link: String,
    pub review: &'static str,
    pub agents: usize,
    pub understaffed: bool,
}

fn tier_key(tier: Tier) -> &'static str {
    match tier {
        Tier::District => "district",
        Tier::Town => "town",
        Tier::Village => "village",
    }
}

fn kind_label(t: Tr, kind: Option<&str>) -> &'static str {
    match kind.and_then(CentreKind::parse) {
        Some(k) => t.pick(k.label_zh(), k.label_en()),
        None => "",
    }
}

fn status_label(t: Tr, s: CentreStatus) -> (&'static str, &'static str) {
    match s {
        CentreStatus::Active => (t.pick("在用", "active"), "ok"),
        CentreStatus::Planned => (t.pick("待启用", "planned"), "hint"),
        CentreStatus::Retired => (t.pick("已撤销", "retired"), "warn"),
    }
}

fn row(t: Tr, c: &DraftCentre) -> TierRow {
    let (status, status_class) = status_label(t, c.status);
    let period = match &c.valid_until {
        Some(until) => format!("{} — {until}", c.valid_from),
        None => format!("{} {}", c.valid_from, t.pick("起", "onwards")),
    };
    let link = match (c.predecessor, c.successor) {
        (_, Some(next)) => format!("{} {next}", t.pick("调整隶属后新代码", "moved to")),
        (Some(prev), None) => format!("{} {prev}", t.pick("原代码", "was")),
        (None, None) => String::new(),
    };
    TierRow {
        code: c.code.to_string(),
        name: c.name.clone(),
        tier: tier_key(c.tier),
        // Not recorded yet: the kind the code's range suggests.
        kind: match c.kind {
            Some(_) => kind_label(t, c.kind),
            None => kind_label(t, CentreKind::from_code(c.code).map(CentreKind::as_str)),
        },
        address: c.address.clone().unwrap_or_default(),
        contact: c.contact.clone().unwrap_or_default(),
        status,
        status_class,
        period,
        link,
        review: if c.placeholder {
            t.pick("占位待核实", "placeholder")
        } else if c.name_unconfirmed {
            t.pick("名称待核实", "name unconfirmed")
        } else {
            ""
        },
        agents: c.active_agents,
        understaffed: c.understaffed,
    }
}

/// `(value, label, selected)` options of the kind select, the first "from the code".
fn kind_options(
    t: Tr,
    tier: Option<Tier>,
    chosen: &str,
) -> Vec<(&'static str, &'static str, bool)> {
    let mut options = vec![(
        "",
        t.pick("按代码自动判断", "from the code"),
        chosen.is_empty(),
    )];
    options.extend(
        CentreKind::ALL
            .into_iter()
            .filter(|k| tier.is_none_or(|t| k.tier() == t))
            .map(|k| {
                (
                    k.as_str(),
                    t.pick(k.label_zh(), k.label_en()),
                    k.as_str() == chosen,
                )
            }),
    );
    options
}

/// `(code, label, selected)` of the parents a centre may be added or moved under on `on`.
fn parent_options(
    t: Tr,
    tree: &Topology,
    on: Date,
    with_district: bool,
    except: Option<StationCode>,
    chosen: &str,
) -> Vec<(String, String, bool)> {
    tree.stations()
        .filter(|s| s.tier != Tier::Village && s.is_active(on))
        .filter(|s| with_district || s.tier != Tier::District)
        .filter(|s| Some(s.code) != except)
        .map(|s| {
            let code = s.code.to_string();
            let label = match s.tier {
                Tier::District => format!(
                    "{} {}（{}）",
                    code,
                    s.name,
                    t.pick("新增镇（街道）", "add a town-level unit")
                ),
                _ => format!("{code} {}", s.name),
            };
            let selected = code == chosen;
            (code, label, selected)
        })
        .collect()
}

fn notice(t: Tr, done: Option<&str>) -> Option<&'static str> {
    Some(match done? {
        "added" => t.pick(
            "已新增中心（保存在草稿中，发布后生效）。",
            "Centre added (in the draft; in force once published).",
        ),
        "updated" => t.pick("已保存。", "Saved."),
        "moved" => t.pick(
            "已调整隶属：原代码已撤销，新代码已建立。",
            "Moved: the old code is retired and the new one created.",
        ),
        "retired" => t.pick("已撤销该中心。", "Centre retired."),
        _ => return None,
    })
}

#[derive(Debug, Default, Deserialize)]
pub struct DoneQuery {
    #[serde(default)]
    done: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "policy/tiers.html")]
struct TiersPage {
    t: Tr,
    centre: Option<String>,
    user: Option<UserView>,
    exposed_plain_http: bool,
    csrf: String,
    notice: Option<&'static str>,
    revision: i64,
    rows: Vec<TierRow>,
    understaffed: usize,
    review: usize,
    parents: Vec<(String, String, bool)>,
    kinds: Vec<(&'static str, &'static str, bool)>,
    typed: NewCentre,
    field: &'static str,
    error: String,
}

/// The add form as posted.
#[derive(Debug, Default, Deserialize)]
pub struct AddForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    revision: String,
    #[serde(flatten)]
    centre: NewCentre,
}

async fn render_list(
    admin: &Admin,
    frame: Frame,
    notice: Option<&'static str>,
    typed: Option<NewCentre>,
    refusal: Option<(&'static str, String)>,
) -> Response {
    let t = frame.t;
    let lang = t.lang;
    let draft = match admin.drafts.topology().await {
        Ok(d) => d,
        Err(e) => return internal_error(&e, lang),
    };
    let counts = match Registry::new(admin.db.clone()).active_counts().await {
        Ok(c) => c,
        Err(e) => return internal_error(&e, lang),
    };
    let today = today();
    let centres = authoring::centres(&draft.doc, &counts, today);
    let typed = typed.unwrap_or_default();
    let (field, error) = refusal.unwrap_or(("", String::new()));
    let status = if error.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = TiersPage {
        understaffed: centres.iter().filter(|c| c.understaffed).count(),
        review: centres
            .iter()
            .filter(|c| c.placeholder || c.name_unconfirmed)
            .count(),
        rows: centres.iter().map(|c| row(t, c)).collect(),
        parents: parent_options(t, &draft.doc, today, true, None, typed.parent.trim()),
        kinds: kind_options(t, None, typed.kind.trim()),
        revision: draft.revision,
        typed,
        field,
        error,
        notice,
        t,
        centre: frame.centre,
        user: frame.user,
        exposed_plain_http: frame.exposed_plain_http,
        csrf: frame.csrf,
    };
    (status, page).into_response()
}

/// `GET /policy/tiers`.
async fn list_page(
    State(admin): State<Admin>,
    lang: Lang,
    chrome: Chrome,
    user: WebUser,
    headers: HeaderMap,
    query: Result<Query<DoneQuery>, QueryRejection>,
) -> Response {
    let frame = Frame::new(lang, &chrome, &user);
    let done = query.ok().and_then(|Query(q)| q.done);
    let res = render_list(
        &admin,
        frame,
        notice(Tr::new(lang), done.as_deref()),
        None,
        None,
    )
    .await;
    with_lang(lang, &headers, res)
}

fn message(t: Tr, e: &TierError) -> String {
    let (zh, en) = e.message();
    t.pick(&zh, &en).to_owned()
}

fn revision(text: &str) -> Option<i64> {
    text.trim().parse().ok()
}

/// `POST /policy/tiers`: adds a centre, then 303 to the list.
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
    let actor = user.operator.username.as_str();
    match authoring::add(
        &admin.drafts,
        &form.centre,
        revision(&form.revision),
        actor,
        today(),
    )
    .await
    {
        Ok(code) => Redirect::to(&format!("/policy/tiers?done=added#c-{code}")).into_response(),
        Err(e) if e.is_internal() => internal_error(&e, lang),
        Err(e) => {
            let refusal = (e.field(), message(frame.t, &e));
            render_list(&admin, frame, None, Some(form.centre), Some(refusal)).await
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "policy/tier.html")]
struct CentrePage {
    t: Tr,
    centre: Option<String>,
    user: Option<UserView>,
    exposed_plain_http: bool,
    csrf: String,
    notice: Option<&'static str>,
    revision: i64,
    row: TierRow,
    tier_label: &'static str,
    parent: String,
    is_district: bool,
    /// Retired (or planned-and-linked): only the details may change.
    retired: bool,
    movable: bool,
    /// A town with villages still in use: retiring it is refused until they go.
    active_children: usize,
    edit: EditTyped,
    kinds: Vec<(&'static str, &'static str, bool)>,
    towns: Vec<(String, String, bool)>,
    moving: MoveInput,
    retire_date: String,
    /// Which form was refused (`edit`, `move`, `retire`), its field and message.
    form: &'static str,
    field: &'static str,
    error: String,
}

/// The edit form's values as the page shows them.
#[derive(Default)]
pub struct EditTyped {
    name: String,
    address: String,
    contact: String,
    placeholder: bool,
    name_unconfirmed: bool,
}

/// The edit form as posted (check boxes send `on` when ticked).
#[derive(Debug, Default, Deserialize)]
pub struct EditForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    revision: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    contact: String,
    #[serde(default)]
    placeholder: Option<String>,
    #[serde(default)]
    name_unconfirmed: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct MoveForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    revision: String,
    #[serde(flatten)]
    moving: MoveInput,
}

#[derive(Debug, Default, Deserialize)]
pub struct RetireForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    revision: String,
    #[serde(default)]
    date: String,
}

/// What a refused form of the centre page brings back.
#[derive(Default)]
struct Refused {
    form: &'static str,
    field: &'static str,
    error: String,
    edit: Option<EditForm>,
    moving: Option<MoveInput>,
    retire_date: Option<String>,
}

async fn render_centre(
    admin: &Admin,
    frame: Frame,
    code: StationCode,
    notice: Option<&'static str>,
    refused: Refused,
) -> Response {
    let t = frame.t;
    let lang = t.lang;
    let draft = match admin.drafts.topology().await {
        Ok(d) => d,
        Err(e) => return internal_error(&e, lang),
    };
    let counts = match Registry::new(admin.db.clone()).active_counts().await {
        Ok(c) => c,
        Err(e) => return internal_error(&e, lang),
    };
    let today = today();
    let tree = &draft.doc;
    let Some(info) = tree.get(code) else {
        return error_page(
            StatusCode::NOT_FOUND,
            lang,
            t.pick("未找到该中心。", "No such centre.").to_owned(),
        );
    };
    let centres = authoring::centres(tree, &counts, today);
    let Some(c) = centres.iter().find(|c| c.code == code) else {
        return internal_error(&"centre listed but not shown", lang);
    };
    let parent = tree
        .parent_of(code)
        .and_then(|p| tree.get(p))
        .map(|p| format!("{} {}", p.code, p.name))
        .unwrap_or_default();
    let active_children = tree
        .children_of(code)
        .into_iter()
        .filter(|ch| {
            tree.get(*ch)
                .is_some_and(|s| s.valid_until.is_none_or(|u| u >= today))
        })
        .count();
    let edit = match &refused.edit {
        Some(f) => EditTyped {
            name: f.name.chars().take(100).collect(),
            address: f.address.chars().take(200).collect(),
            contact: f.contact.chars().take(100).collect(),
            placeholder: f.placeholder.is_some(),
            name_unconfirmed: f.name_unconfirmed.is_some(),
        },
        None => EditTyped {
            name: info.name.clone(),
            address: info.address.clone().unwrap_or_default(),
            contact: info.contact.clone().unwrap_or_default(),
            placeholder: info.placeholder,
            name_unconfirmed: info.name_unconfirmed,
        },
    };
    let chosen_kind = match &refused.edit {
        Some(f) => f.kind.trim().to_owned(),
        None => info.kind.map(|k| k.as_str().to_owned()).unwrap_or_default(),
    };
    let moving = refused.moving.unwrap_or_else(|| MoveInput {
        date: today.to_string(),
        ..MoveInput::default()
    });
    let first_day = today.next_day().unwrap_or(today);
    let status = if refused.error.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = CentrePage {
        tier_label: match info.tier {
            Tier::District => t.pick("区", "district"),
            Tier::Town => t.pick("镇（街道）级", "town level"),
            Tier::Village => t.pick("村（社区）级", "village level"),
        },
        is_district: info.tier == Tier::District,
        retired: info.valid_until.is_some(),
        movable: info.tier == Tier::Village && info.valid_until.is_none(),
        active_children,
        parent,
        kinds: kind_options(t, Some(info.tier), &chosen_kind),
        towns: parent_options(
            t,
            tree,
            first_day,
            false,
            code.parent(),
            moving.parent.trim(),
        ),
        row: row(t, c),
        edit,
        moving,
        retire_date: refused.retire_date.unwrap_or_else(|| today.to_string()),
        form: refused.form,
        field: refused.field,
        error: refused.error,
        revision: draft.revision,
        notice,
        t,
        centre: frame.centre,
        user: frame.user,
        exposed_plain_http: frame.exposed_plain_http,
        csrf: frame.csrf,
    };
    (status, page).into_response()
}

fn no_such_centre(lang: Lang) -> Response {
    error_page(
        StatusCode::NOT_FOUND,
        lang,
        Tr::new(lang)
            .pick("未找到该中心。", "No such centre.")
            .to_owned(),
    )
}

/// `GET /policy/tiers/{code}`.
async fn centre_page(
    State(admin): State<Admin>,
    lang: Lang,
    chrome: Chrome,
    user: WebUser,
    headers: HeaderMap,
    Path(code): Path<String>,
    query: Result<Query<DoneQuery>, QueryRejection>,
) -> Response {
    let Ok(code) = StationCode::parse(&code) else {
        return no_such_centre(lang);
    };
    let frame = Frame::new(lang, &chrome, &user);
    let done = query.ok().and_then(|Query(q)| q.done);
    let res = render_centre(
        &admin,
        frame,
        code,
        notice(Tr::new(lang), done.as_deref()),
        Refused::default(),
    )
    .await;
    with_lang(lang, &headers, res)
}

/// The answer to a posted form of the centre page: 303 on success, the page with the refusal.
async fn answer(
    admin: &Admin,
    frame: Frame,
    code: StationCode,
    result: Result<(StationCode, &'static str), TierError>,
    mut refused: Refused,
) -> Response {
    let lang = frame.t.lang;
    match result {
        Ok((code, done)) => {
            Redirect::to(&format!("/policy/tiers/{code}?done={done}")).into_response()
        }
        Err(TierError::Edit(EditError::Unknown(c))) if c == code => error_page(
            StatusCode::NOT_FOUND,
            lang,
            frame.t.pick("未找到该中心。", "No such centre.").to_owned(),
        ),
        Err(e) if e.is_internal() => internal_error(&e, lang),
        Err(e) => {
            refused.field = e.field();
            refused.error = message(frame.t, &e);
            render_centre(admin, frame, code, None, refused).await
        }
    }
}

/// `POST /policy/tiers/{code}`: name, kind, address, contact, review marks.
async fn update(
    State(admin): State<Admin>,
    lang: Lang,
    chrome: Chrome,
    user: WebUser,
    headers: HeaderMap,
    Path(code): Path<String>,
    form: Result<axum::Form<EditForm>, FormRejection>,
) -> Response {
    let form = form.map(|axum::Form(f)| f).unwrap_or_default();
    if !check_form(&headers, &user, &form.csrf) {
        return csrf_refused(lang);
    }
    let Ok(code) = StationCode::parse(&code) else {
        return no_such_centre(lang);
    };
    let input = CentreEdit {
        name: form.name.clone(),
        kind: form.kind.clone(),
        address: form.address.clone(),
        contact: form.contact.clone(),
        placeholder: form.placeholder.is_some(),
        name_unconfirmed: form.name_unconfirmed.is_some(),
    };
    let actor = user.operator.username.as_str();
    let result = authoring::update(&admin.drafts, code, &input, revision(&form.revision), actor)
        .await
        .map(|()| (code, "updated"));
    let frame = Frame::new(lang, &chrome, &user);
    let refused = Refused {
        form: "edit",
        edit: Some(form),
        ..Refused::default()
    };
    answer(&admin, frame, code, result, refused).await
}

/// `POST /policy/tiers/{code}/move`: the old code retires, a new one starts under the new town.
async fn move_centre(
    State(admin): State<Admin>,
    lang: Lang,
    chrome: Chrome,
    user: WebUser,
    headers: HeaderMap,
    Path(code): Path<String>,
    form: Result<axum::Form<MoveForm>, FormRejection>,
) -> Response {
    let form = form.map(|axum::Form(f)| f).unwrap_or_default();
    if !check_form(&headers, &user, &form.csrf) {
        return csrf_refused(lang);
    }
    let Ok(code) = StationCode::parse(&code) else {
        return no_such_centre(lang);
    };
    let actor = user.operator.username.as_str();
    let result = authoring::move_centre(
        &admin.drafts,
        code,
        &form.moving,
        revision(&form.revision),
        actor,
        today(),
    )
    .await
    .map(|new| (new, "moved"));
    let frame = Frame::new(lang, &chrome, &user);
    let refused = Refused {
        form: "move",
        moving: Some(form.moving),
        ..Refused::default()
    };
    answer(&admin, frame, code, result, refused).await
}

/// `POST /policy/tiers/{code}/retire`.
async fn retire(
    State(admin): State<Admin>,
    lang: Lang,
    chrome: Chrome,
    user: WebUser,
    headers: HeaderMap,
    Path(code): Path<String>,
    form: Result<axum::Form<RetireForm>, FormRejection>,
) -> Response {
    let form = form.map(|axum::Form(f)| f).unwrap_or_default();
    if !check_form(&headers, &user, &form.csrf) {
        return csrf_refused(lang);
    }
    let Ok(code) = StationCode::parse(&code) else {
        return no_such_centre(lang);
    };
    let actor = user.operator.username.as_str();
    let result = authoring::retire(
        &admin.drafts,
        code,
        &form.date,
        revision(&form.revision),
        actor,
        today(),
    )
    .await
    .map(|()| (code, "retired"));
    let frame = Frame::new(lang, &chrome, &user);
    let refused = Refused {
        form: "retire",
        retire_date: Some(form.date.chars().take(20).collect()),
        ..Refused::default()
    };
    answer(&admin, frame, code, result, refused).await
}
