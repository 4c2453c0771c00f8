//! The catalogue's pages: the list of items with a search box (`/policy/catalogue`), the form of
//! a new item (`/policy/catalogue/new`) and of an existing one (`/policy/catalogue/{code}`),
//! with its materials as rows that are added, removed and reordered without JavaScript (a few
//! empty rows, "more rows", a remove box and an order number per row), the blank forms and
//! samples of its materials, and its removal. A refused form shows the page again with what was
//! typed and the message beside the field, status 422, nothing saved.

mod files;
mod list;

use files::{detach, download, upload};
use list::{list, notice};
use std::collections::BTreeMap;

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use bangban_domain::attachment::ContentHash;
use bangban_domain::catalogue::{CatalogueItem, ItemInput, ItemType, MaterialInput};
use bangban_domain::event::CaseType;
use bangban_domain::station::Tier;
use bangban_kit::access::Access;
use bangban_kit::attachments::size_label;
use bangban_kit::web::i18n::{Lang, Tr};
use bangban_kit::web::pages::{
    Chrome, UserView, csrf_refused, error_page, internal_error, with_lang,
};
use bangban_kit::web::session::{WebUser, check_form};
use serde::Deserialize;

use super::{EditError, FileKind, Items};
use crate::admin::{AuditRow, Frame, MANAGE, audit_rows};
use crate::drafts::DraftError;

/// Empty material rows offered below the typed ones, and how many "more rows" adds.
const BLANK_ROWS: usize = 3;
const MORE_ROWS: usize = 5;
/// The highest row number a form may send (the rest is ignored).
const MAX_ROWS: usize = 100;

pub fn routes(items: Items) -> Router {
    let upload_limit = items.files.max_request_bytes();
    Router::new()
        .route("/policy/catalogue", get(list))
        .route("/policy/catalogue/new", get(new_form).post(create))
        .route("/policy/catalogue/{code}", get(edit_form).post(update))
        .route("/policy/catalogue/{code}/remove", post(remove))
        .route(
            "/policy/catalogue/{code}/files",
            post(upload).layer(DefaultBodyLimit::max(upload_limit)),
        )
        .route("/policy/catalogue/{code}/detach", post(detach))
        .route("/policy/catalogue/{code}/files/{sha256}", get(download))
        .with_state(items)
}

pub fn access() -> Vec<Access> {
    vec![
        Access::get("/policy/catalogue", MANAGE),
        Access::get("/policy/catalogue/new", MANAGE),
        Access::post("/policy/catalogue/new", MANAGE),
        Access::get("/policy/catalogue/{code}", MANAGE),
        Access::post("/policy/catalogue/{code}", MANAGE),
        Access::post("/policy/catalogue/{code}/remove", MANAGE),
        Access::post("/policy/catalogue/{code}/files", MANAGE),
        Access::post("/policy/catalogue/{code}/detach", MANAGE),
        Access::get("/policy/catalogue/{code}/files/{sha256}", MANAGE),
    ]
}

fn tier_label(t: Tr, tier: Tier) -> &'static str {
    match tier {
        Tier::District => t.pick("区", "District"),
        Tier::Town => t.pick("乡镇（街道）", "Town"),
        Tier::Village => t.pick("村（社区）", "Village"),
    }
}

/// The short name of a tier, for the list's narrow column.
fn tier_short(t: Tr, tier: Tier) -> &'static str {
    match tier {
        Tier::District => t.pick("区", "District"),
        Tier::Town => t.pick("镇街", "Town"),
        Tier::Village => t.pick("村社", "Village"),
    }
}

fn necessity_label(t: Tr, n: u8) -> &'static str {
    match n {
        1 => t.pick("必需", "Required"),
        2 => t.pick("可选", "Optional"),
        _ => t.pick("容缺后补", "Supply later"),
    }
}

// ---------------------------------------------------------------------------------------------
// The item form
// ---------------------------------------------------------------------------------------------

/// One material row of the form, as typed.
#[derive(Debug, Clone, Default)]
pub struct RowView {
    pub order: String,
    pub name: String,
    /// `(value, label, selected)`.
    pub necessity: Vec<(&'static str, &'static str, bool)>,
    pub original: bool,
    pub count: String,
    pub how: String,
    /// The name of the stored material this row came from (its files follow it).
    pub orig: String,
    /// The refused field of this row (`materials.name` …) and the message.
    pub field: &'static str,
    pub error: String,
}

/// A file of a material, for the files section.
pub struct FileLink {
    pub href: String,
    pub name: String,
    pub media: &'static str,
    pub size: String,
}

/// A stored material and its files.
pub struct FileRow {
    pub index: usize,
    pub name: String,
    pub blank_form: Option<FileLink>,
    pub sample: Option<FileLink>,
}

#[derive(Template, WebTemplate)]
#[template(path = "policy/catalogue_item.html")]
struct ItemPage {
    t: Tr,
    centre: Option<String>,
    user: Option<UserView>,
    exposed_plain_http: bool,
    csrf: String,
    is_new: bool,
    /// Where the form posts.
    action: String,
    notice: Option<&'static str>,
    revision: i64,
    code: String,
    name: String,
    department: String,
    co_departments: String,
    item_types: Vec<(&'static str, &'static str, bool)>,
    immediate: bool,
    statutory_days: String,
    promised_days: String,
    max_visits: String,
    fees: String,
    handling: Vec<(&'static str, &'static str, bool)>,
    intake: Vec<(&'static str, &'static str, bool)>,
    proxy_allowed: bool,
    courier_delivery: bool,
    materials: Vec<RowView>,
    /// The refused field of the item (`code`, `promised_days`, `materials`, `form` …).
    field: &'static str,
    error: String,
    /// The stored materials with their files (an existing item only).
    files: Vec<FileRow>,
    file_field: &'static str,
    file_error: String,
    max_file: String,
    remove_error: String,
    /// The item's change log (named `rows` for `audit_table.html`).
    rows: Vec<AuditRow>,
}

/// What a refused form or an upload shows, and where.
#[derive(Default)]
struct Refusal {
    field: &'static str,
    /// The material row (display order) the field belongs to.
    row: Option<usize>,
    message: String,
}

/// The form as posted: the item as typed, its rows in their new order, and what was asked.
struct Typed {
    csrf: String,
    revision: Option<i64>,
    /// `more`: add empty rows and show the form again; anything else: save.
    action: String,
    input: ItemInput,
    rows: Vec<RowView>,
    /// Per row kept as a material: the stored material it came from.
    origins: Vec<Option<String>>,
}

fn necessity_options(t: Tr, chosen: &str) -> Vec<(&'static str, &'static str, bool)> {
    [("1", 1u8), ("2", 2), ("3", 3)]
        .into_iter()
        .map(|(v, n)| (v, necessity_label(t, n), v == chosen))
        .collect()
}

fn blank_row(t: Tr) -> RowView {
    RowView {
        necessity: necessity_options(t, "1"),
        ..RowView::default()
    }
}

/// Reads the posted pairs (repeated `intake`, rows `m{i}_…`).
fn parse_form(t: Tr, pairs: Vec<(String, String)>) -> Typed {
    let mut input = ItemInput::default();
    let mut csrf = String::new();
    let mut revision = None;
    let mut action = String::new();
    let mut rows: BTreeMap<usize, (RowView, bool, String)> = BTreeMap::new();
    for (key, value) in pairs {
        let value: String = value.chars().take(4000).collect();
        match key.as_str() {
            "csrf" => csrf = value,
            "revision" => revision = value.trim().parse().ok(),
            "action" => action = value,
            "code" => input.code = value,
            "name" => input.name = value,
            "department" => input.department = value,
            "co_departments" => input.co_departments = value,
            "item_type" => input.item_type = value,
            "case_type" => input.case_type = value,
            "statutory_days" => input.statutory_days = value,
            "promised_days" => input.promised_days = value,
            "max_visits" => input.max_visits = value,
            "fees" => input.fees = value,
            "handling_tier" => input.handling_tier = value,
            "intake" => input.intake_tiers.push(value),
            "proxy_allowed" => input.proxy_allowed = true,
            "courier_delivery" => input.courier_delivery = true,
            other => {
                let Some((i, part)) = other
                    .strip_prefix('m')
                    .and_then(|r| r.split_once('_'))
                    .and_then(|(i, part)| Some((i.parse::<usize>().ok()?, part)))
                else {
                    continue;
                };
                if i >= MAX_ROWS {
                    continue;
                }
                let (row, removed, necessity) = rows.entry(i).or_default();
                match part {
                    "order" => row.order = value,
                    "name" => row.name = value,
                    "necessity" => *necessity = value,
                    "original" => row.original = value == "1",
                    "count" => row.count = value,
                    "how" => row.how = value,
                    "orig" => row.orig = value,
                    "remove" => *removed = true,
                    _ => {}
                }
            }
        }
    }
    // Rows kept: not removed, not empty; in the order typed (ties and blanks keep their place).
    let mut kept: Vec<(u64, usize, RowView, String)> = rows
        .into_iter()
        .filter(|(_, (row, removed, _))| {
            let empty = row.name.trim().is_empty()
                && row.how.trim().is_empty()
                && row.count.trim().is_empty();
            !(*removed || empty)
        })
        .map(|(i, (row, _, necessity))| {
            let order = row.order.trim().parse::<u64>().unwrap_or(u64::MAX);
            (order, i, row, necessity)
        })
        .collect();
    kept.sort_by_key(|(order, i, _, _)| (*order, *i));
    let mut views = Vec::with_capacity(kept.len());
    let mut origins = Vec::with_capacity(kept.len());
    for (n, (_, _, mut row, necessity)) in kept.into_iter().enumerate() {
        input.materials.push(MaterialInput {
            name: row.name.clone(),
            necessity: necessity.clone(),
            original: row.original,
            count: row.count.clone(),
            how_to_obtain: row.how.clone(),
        });
        origins.push(Some(row.orig.clone()).filter(|o| !o.is_empty()));
        row.order = (n + 1).to_string();
        row.necessity = necessity_options(t, necessity.trim());
        views.push(row);
    }
    Typed {
        csrf,
        revision,
        action,
        input,
        rows: views,
        origins,
    }
}

/// The rows of a stored item.
fn rows_of(t: Tr, item: &CatalogueItem) -> Vec<RowView> {
    item.materials
        .iter()
        .enumerate()
        .map(|(i, m)| RowView {
            order: (i + 1).to_string(),
            name: m.name.clone(),
            necessity: necessity_options(t, &m.necessity.to_string()),
            original: m.original,
            count: m.count.map(|c| c.to_string()).unwrap_or_default(),
            how: m.how_to_obtain.clone().unwrap_or_default(),
            orig: m.name.clone(),
            field: "",
            error: String::new(),
        })
        .collect()
}

/// A new item's defaults: promised, taken in at every tier, handled by the district, proxy
/// allowed, one visit.
fn new_input() -> ItemInput {
    ItemInput {
        code: "410402-".into(),
        case_type: "promised".into(),
        statutory_days: "20".into(),
        promised_days: "10".into(),
        max_visits: "1".into(),
        handling_tier: "district".into(),
        intake_tiers: Tier::ALL.iter().map(|t| t.as_str().to_owned()).collect(),
        proxy_allowed: true,
        item_type: ItemType::PublicService.as_str().into(),
        ..ItemInput::default()
    }
}

/// Everything the item page needs besides the typed values.
struct Context<'a> {
    items: &'a Items,
    frame: Frame,
    /// The stored item (`None` for a new one).
    stored: Option<&'a CatalogueItem>,
    revision: i64,
    notice: Option<&'static str>,
}

/// Builds the page from what is typed, a refusal, and the stored item's files and history.
async fn render(
    cx: Context<'_>,
    input: &ItemInput,
    mut rows: Vec<RowView>,
    blank: usize,
    refusal: Refusal,
    status: StatusCode,
) -> Response {
    let t = cx.frame.t;
    let lang = t.lang;
    let (field, message) = match refusal.row {
        Some(r) if r < rows.len() => {
            rows[r].field = refusal.field;
            rows[r].error = refusal.message.clone();
            ("", String::new())
        }
        _ => (refusal.field, refusal.message.clone()),
    };
    for _ in 0..blank {
        rows.push(blank_row(t));
    }
    let (files, audit) = match cx.stored {
        Some(item) => {
            let entries = match cx.items.drafts.audit(Some("catalogue"), 500).await {
                Ok(a) => a,
                Err(e) => return internal_error(&e, lang),
            };
            let mine = entries
                .into_iter()
                .filter(|e| e.subject == item.code)
                .take(20)
                .collect();
            (file_rows(item), audit_rows(t, mine))
        }
        None => (Vec::new(), Vec::new()),
    };
    let (file_field, file_error, remove_error) = match field {
        "file" | "material" | "kind" => (field, message.clone(), String::new()),
        "remove" => ("", String::new(), message.clone()),
        _ => ("", String::new(), String::new()),
    };
    let page = ItemPage {
        csrf: cx.frame.csrf.clone(),
        is_new: cx.stored.is_none(),
        action: match cx.stored {
            Some(item) => format!("/policy/catalogue/{}", item.code),
            None => "/policy/catalogue/new".to_owned(),
        },
        notice: cx.notice,
        revision: cx.revision,
        code: input.code.chars().take(100).collect(),
        name: input.name.clone(),
        department: input.department.clone(),
        co_departments: input.co_departments.clone(),
        item_types: std::iter::once((
            "",
            t.pick("（未设置）", "(not set)"),
            input.item_type.is_empty(),
        ))
        .chain(ItemType::ALL.into_iter().map(|ty| {
            (
                ty.as_str(),
                t.pick(ty.label_zh(), ty.label_en()),
                ty.as_str() == input.item_type.trim(),
            )
        }))
        .collect(),
        immediate: input.case_type.trim() == "immediate",
        statutory_days: input.statutory_days.clone(),
        promised_days: input.promised_days.clone(),
        max_visits: input.max_visits.clone(),
        fees: input.fees.clone(),
        handling: Tier::ALL
            .into_iter()
            .map(|tier| {
                (
                    tier.as_str(),
                    tier_label(t, tier),
                    tier.as_str() == input.handling_tier.trim(),
                )
            })
            .collect(),
        intake: Tier::ALL
            .into_iter()
            .map(|tier| {
                (
                    tier.as_str(),
                    tier_label(t, tier),
                    input.intake_tiers.iter().any(|x| x.trim() == tier.as_str()),
                )
            })
            .collect(),
        proxy_allowed: input.proxy_allowed,
        courier_delivery: input.courier_delivery,
        materials: rows,
        field: if file_field.is_empty() && remove_error.is_empty() {
            field
        } else {
            ""
        },
        error: message,
        files,
        file_field,
        file_error,
        max_file: size_label(cx.items.files.max_bytes()),
        remove_error,
        rows: audit,
        t,
        centre: cx.frame.centre,
        user: cx.frame.user,
        exposed_plain_http: cx.frame.exposed_plain_http,
    };
    (status, page).into_response()
}

fn file_rows(item: &CatalogueItem) -> Vec<FileRow> {
    let link = |f: &bangban_domain::catalogue::FileRef| FileLink {
        href: format!("/policy/catalogue/{}/files/{}", item.code, f.sha256),
        name: f.name.clone(),
        media: f.media_type.label(),
        size: size_label(f.size),
    };
    item.materials
        .iter()
        .enumerate()
        .map(|(i, m)| FileRow {
            index: i,
            name: m.name.clone(),
            blank_form: m.blank_form.as_ref().map(link),
            sample: m.sample.as_ref().map(link),
        })
        .collect()
}

/// The message and place of an edit's refusal; `None` when it is ours (a 500).
fn refusal_of(t: Tr, e: &EditError) -> Option<Refusal> {
    match e {
        EditError::Invalid(err) => Some(Refusal {
            field: err.field.as_str(),
            row: err.material,
            message: t.pick(&err.problem_zh(), &err.problem_en()).to_owned(),
        }),
        EditError::Draft(d @ DraftError::Conflict { .. }) => {
            let (zh, en) = d.message();
            Some(Refusal {
                field: "form",
                row: None,
                message: t.pick(&zh, &en).to_owned(),
            })
        }
        EditError::NoMaterial(_) => Some(Refusal {
            field: "material",
            row: None,
            message: t
                .pick(
                    "请选择该事项的一项材料",
                    "Choose one of the item's materials",
                )
                .to_owned(),
        }),
        EditError::Upload(u) if u.is_client_error() => {
            use bangban_domain::Bilingual;
            Some(Refusal {
                field: "file",
                row: None,
                message: t.pick(&u.message_zh(), &u.message_en()).to_owned(),
            })
        }
        _ => None,
    }
}

fn not_found(lang: Lang) -> Response {
    error_page(
        StatusCode::NOT_FOUND,
        lang,
        Tr::new(lang)
            .pick(
                "事项目录中没有该事项。",
                "There is no such item in the catalogue.",
            )
            .to_owned(),
    )
}

#[derive(Debug, Default, Deserialize)]
pub struct DoneQuery {
    #[serde(default)]
    done: Option<String>,
}

/// `GET /policy/catalogue/new`.
async fn new_form(
    State(items): State<Items>,
    lang: Lang,
    chrome: Chrome,
    user: WebUser,
    headers: HeaderMap,
) -> Response {
    let frame = Frame::new(lang, &chrome, &user);
    let t = frame.t;
    let draft = match items.read().await {
        Ok(d) => d,
        Err(e) => return internal_error(&e, lang),
    };
    let cx = Context {
        items: &items,
        frame,
        stored: None,
        revision: draft.revision,
        notice: None,
    };
    let rows = vec![blank_row(t), blank_row(t)];
    let res = render(
        cx,
        &new_input(),
        rows,
        BLANK_ROWS - 2,
        Refusal::default(),
        StatusCode::OK,
    )
    .await;
    with_lang(lang, &headers, res)
}

/// `GET /policy/catalogue/{code}`.
async fn edit_form(
    State(items): State<Items>,
    lang: Lang,
    chrome: Chrome,
    user: WebUser,
    headers: HeaderMap,
    Path(code): Path<String>,
    query: Result<Query<DoneQuery>, QueryRejection>,
) -> Response {
    let frame = Frame::new(lang, &chrome, &user);
    let t = frame.t;
    let draft = match items.read().await {
        Ok(d) => d,
        Err(e) => return internal_error(&e, lang),
    };
    let Some(item) = draft.doc.get(&code) else {
        return not_found(lang);
    };
    let done = query.ok().and_then(|Query(q)| q.done);
    let cx = Context {
        items: &items,
        frame,
        stored: Some(item),
        revision: draft.revision,
        notice: notice(t, done.as_deref()),
    };
    let res = render(
        cx,
        &ItemInput::from_item(item),
        rows_of(t, item),
        BLANK_ROWS,
        Refusal::default(),
        StatusCode::OK,
    )
    .await;
    with_lang(lang, &headers, res)
}

type PostedForm = Result<axum::Form<Vec<(String, String)>>, FormRejection>;

/// `POST /policy/catalogue/new`: adds the item, then 303 to its page.
async fn create(
    State(items): State<Items>,
    lang: Lang,
    chrome: Chrome,
    user: WebUser,
    headers: HeaderMap,
    form: PostedForm,
) -> Response {
    submit(items, lang, chrome, user, headers, None, form).await
}

/// `POST /policy/catalogue/{code}`: saves the item, then 303 to its page.
async fn update(
    State(items): State<Items>,
    lang: Lang,
    chrome: Chrome,
    user: WebUser,
    headers: HeaderMap,
    Path(code): Path<String>,
    form: PostedForm,
) -> Response {
    submit(items, lang, chrome, user, headers, Some(code), form).await
}

async fn submit(
    items: Items,
    lang: Lang,
    chrome: Chrome,
    user: WebUser,
    headers: HeaderMap,
    code: Option<String>,
    form: PostedForm,
) -> Response {
    let frame = Frame::new(lang, &chrome, &user);
    let t = frame.t;
    let pairs = form.map(|axum::Form(p)| p).unwrap_or_default();
    let mut typed = parse_form(t, pairs);
    if !check_form(&headers, &user, &typed.csrf) {
        return csrf_refused(lang);
    }
    let draft = match items.read().await {
        Ok(d) => d,
        Err(e) => return internal_error(&e, lang),
    };
    let stored = match &code {
        Some(c) => match draft.doc.get(c) {
            Some(item) => Some(item.clone()),
            None => return not_found(lang),
        },
        None => None,
    };
    if let Some(item) = &stored {
        // The code of an existing item is not a field of its form.
        typed.input.code = item.code.clone();
    }
    let revision = typed.revision.unwrap_or(draft.revision);
    let cx = Context {
        items: &items,
        frame,
        stored: stored.as_ref(),
        revision,
        notice: None,
    };
    let blank = if typed.action == "more" {
        MORE_ROWS
    } else {
        BLANK_ROWS
    };
    if typed.action == "more" {
        // Nothing is saved: the same form with more empty rows.
        let res = render(
            cx,
            &typed.input,
            typed.rows,
            blank,
            Refusal::default(),
            StatusCode::OK,
        )
        .await;
        return with_lang(lang, &headers, res);
    }
    let actor = user.operator.username.as_str();
    let result = match typed.input.to_item().map_err(EditError::Invalid) {
        Err(e) => Err(e),
        Ok(item) => match &stored {
            Some(s) => {
                items
                    .update(&s.code, item, &typed.origins, Some(revision), actor)
                    .await
            }
            None => items.create(item, Some(revision), actor).await,
        },
    };
    match result {
        Ok(_) => {
            let (code, done) = match &stored {
                Some(s) => (s.code.clone(), "saved"),
                None => (typed.input.code.trim().to_owned(), "added"),
            };
            Redirect::to(&format!("/policy/catalogue/{code}?done={done}")).into_response()
        }
        Err(e) => match refusal_of(t, &e) {
            Some(refusal) => {
                let res = render(
                    cx,
                    &typed.input,
                    typed.rows,
                    blank,
                    refusal,
                    StatusCode::UNPROCESSABLE_ENTITY,
                )
                .await;
                with_lang(lang, &headers, res)
            }
            None => internal_error(&e, lang),
        },
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct SmallForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    confirm: Option<String>,
    #[serde(default)]
    revision: Option<String>,
    #[serde(default)]
    material: String,
    #[serde(default)]
    kind: String,
}

/// Shows the stored item's page again with a refusal (upload, detach, remove).
/// An edit of item `code` that failed: not found, or the item page again with the refusal
/// (placed by `place`) beside its form, or the error page.
async fn edit_failed(
    items: &Items,
    frame: Frame,
    headers: &HeaderMap,
    code: &str,
    e: EditError,
    place: impl FnOnce(&mut Refusal),
) -> Response {
    let lang = frame.t.lang;
    if let EditError::NotFound(_) = e {
        return not_found(lang);
    }
    match refusal_of(frame.t, &e) {
        Some(mut refusal) => {
            place(&mut refusal);
            let res = refuse_on_item(
                items,
                frame,
                code,
                refusal,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
            with_lang(lang, headers, res)
        }
        None => internal_error(&e, lang),
    }
}

async fn refuse_on_item(
    items: &Items,
    frame: Frame,
    code: &str,
    refusal: Refusal,
    status: StatusCode,
) -> Response {
    let lang = frame.t.lang;
    let t = frame.t;
    let draft = match items.read().await {
        Ok(d) => d,
        Err(e) => return internal_error(&e, lang),
    };
    let Some(item) = draft.doc.get(code) else {
        return not_found(lang);
    };
    let cx = Context {
        items,
        frame,
        stored: Some(item),
        revision: draft.revision,
        notice: None,
    };
    render(
        cx,
        &ItemInput::from_item(item),
        rows_of(t, item),
        BLANK_ROWS,
        refusal,
        status,
    )
    .await
}

/// `POST /policy/catalogue/{code}/remove` (with `confirm`): removes the item, then 303 to the
/// list.
async fn remove(
    State(items): State<Items>,
    lang: Lang,
    chrome: Chrome,
    user: WebUser,
    headers: HeaderMap,
    Path(code): Path<String>,
    form: Result<axum::Form<SmallForm>, FormRejection>,
) -> Response {
    let frame = Frame::new(lang, &chrome, &user);
    let t = frame.t;
    let form = form.map(|axum::Form(f)| f).unwrap_or_default();
    if !check_form(&headers, &user, &form.csrf) {
        return csrf_refused(lang);
    }
    if form.confirm.as_deref() != Some("1") {
        let refusal = Refusal {
            field: "remove",
            row: None,
            message: t
                .pick("请先勾选“确认删除”。", "Tick \"confirm removal\" first.")
                .to_owned(),
        };
        let res = refuse_on_item(
            &items,
            frame,
            &code,
            refusal,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        return with_lang(lang, &headers, res);
    }
    let revision = form.revision.and_then(|r| r.trim().parse().ok());
    match items
        .remove(&code, revision, user.operator.username.as_str())
        .await
    {
        Ok(_) => Redirect::to("/policy/catalogue?done=removed").into_response(),
        Err(e) => edit_failed(&items, frame, &headers, &code, e, |r| r.field = "remove").await,
    }
}
