//! The catalogue's pages: the list of items with a search box (`/policy/catalogue`), the form of
//! a new item (`/policy/catalogue/new`) and of an existing one (`/policy/catalogue/{code}`),
//! with its materials as rows that are added, removed and reordered without JavaScript (a few
//! empty rows, "more rows", a remove box and an order number per row), the blank forms and
//! samples of its materials, and its removal. A refused form shows the page again with what was
//! typed and the message beside the field, status 422, nothing saved.

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
// The list
// ---------------------------------------------------------------------------------------------

/// One item of the list, ready to show.
pub struct ListRow {
    pub code: String,
    pub name: String,
    pub department: String,
    pub item_type: &'static str,
    pub immediate: bool,
    pub statutory: String,
    pub promised: String,
    pub intake: String,
    pub handling: &'static str,
    pub proxy_allowed: bool,
    pub materials: usize,
}

#[derive(Template, WebTemplate)]
#[template(path = "policy/catalogue.html")]
struct ListPage {
    t: Tr,
    centre: Option<String>,
    user: Option<UserView>,
    exposed_plain_http: bool,
    q: String,
    total: usize,
    rows: Vec<ListRow>,
    notice: Option<&'static str>,
    updated: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    done: Option<String>,
}

fn notice(t: Tr, done: Option<&str>) -> Option<&'static str> {
    match done? {
        "added" => Some(t.pick("事项已新增。", "The item was added.")),
        "saved" => Some(t.pick("修改已保存。", "The changes were saved.")),
        "removed" => Some(t.pick(
            "事项已删除；删除前的内容保留在修改记录中。",
            "The item was removed; what it was stays in the change log.",
        )),
        "file" => Some(t.pick("文件已上传。", "The file was uploaded.")),
        "detached" => Some(t.pick("文件已移除。", "The file was taken off.")),
        _ => None,
    }
}

/// `GET /policy/catalogue[?q=…]`: the items, filtered by code, name or department.
async fn list(
    State(items): State<Items>,
    lang: Lang,
    chrome: Chrome,
    user: WebUser,
    headers: HeaderMap,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Response {
    let frame = Frame::new(lang, &chrome, &user);
    let t = frame.t;
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let q: String = query.q.trim().chars().take(100).collect();
    let draft = match items.read().await {
        Ok(d) => d,
        Err(e) => return internal_error(&e, lang),
    };
    let needle = q.to_lowercase();
    let rows = draft
        .doc
        .items
        .iter()
        .filter(|i| {
            needle.is_empty()
                || i.code.to_lowercase().contains(&needle)
                || i.name.to_lowercase().contains(&needle)
                || i.department.contains(&q)
                || i.co_departments.iter().any(|d| d.contains(&q))
        })
        .map(|i| list_row(t, i))
        .collect();
    let page = ListPage {
        q,
        total: draft.doc.items.len(),
        rows,
        notice: notice(t, query.done.as_deref()),
        updated: format!(
            "{} · {}",
            bangban_kit::web::pages::china_time(draft.updated_at),
            draft.updated_by
        ),
        t,
        centre: frame.centre,
        user: frame.user,
        exposed_plain_http: frame.exposed_plain_http,
    };
    with_lang(lang, &headers, page.into_response())
}

fn list_row(t: Tr, i: &CatalogueItem) -> ListRow {
    let days = |d: u32| {
        if d == 0 {
            "—".to_owned()
        } else {
            d.to_string()
        }
    };
    ListRow {
        code: i.code.clone(),
        name: i.name.clone(),
        department: i.department.clone(),
        item_type: i
            .item_type
            .map_or("—", |ty| t.pick(ty.label_zh(), ty.label_en())),
        immediate: i.case_type == CaseType::Immediate,
        statutory: days(i.statutory_days),
        promised: days(i.promised_days),
        intake: i
            .intake_tiers
            .iter()
            .map(|tier| tier_short(t, *tier))
            .collect::<Vec<_>>()
            .join(t.pick("、", ", ")),
        handling: tier_short(t, i.handling_tier),
        proxy_allowed: i.proxy_allowed,
        materials: i.materials.len(),
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
        Err(EditError::NotFound(_)) => not_found(lang),
        Err(e) => match refusal_of(t, &e) {
            Some(mut refusal) => {
                refusal.field = "remove";
                let res = refuse_on_item(
                    &items,
                    frame,
                    &code,
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

/// The material index and kind a files form names.
fn file_target(t: Tr, material: &str, kind: &str) -> Result<(usize, FileKind), Refusal> {
    let material = material.trim().parse::<usize>().map_err(|_| Refusal {
        field: "material",
        row: None,
        message: t
            .pick(
                "请选择该事项的一项材料",
                "Choose one of the item's materials",
            )
            .to_owned(),
    })?;
    let kind = FileKind::parse(kind.trim()).ok_or_else(|| Refusal {
        field: "kind",
        row: None,
        message: t
            .pick(
                "请选择“空白表格”或“示范样表”",
                "Choose blank form or sample",
            )
            .to_owned(),
    })?;
    Ok((material, kind))
}

/// What the upload form sent.
#[derive(Default)]
struct Posted {
    csrf: String,
    material: String,
    kind: String,
    file_name: String,
    bytes: Option<Vec<u8>>,
}

async fn read_multipart(mut form: Multipart) -> Result<Posted, StatusCode> {
    let mut posted = Posted::default();
    loop {
        let field = match form.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => return Ok(posted),
            Err(e) => return Err(e.status()),
        };
        let name = field.name().unwrap_or_default().to_owned();
        if name == "file" {
            posted.file_name = field.file_name().unwrap_or_default().to_owned();
            let bytes = field.bytes().await.map_err(|e| e.status())?;
            posted.bytes = Some(bytes.to_vec());
            continue;
        }
        let text = field.text().await.map_err(|e| e.status())?;
        let text: String = text.chars().take(200).collect();
        match name.as_str() {
            "csrf" => posted.csrf = text,
            "material" => posted.material = text,
            "kind" => posted.kind = text,
            _ => {}
        }
    }
}

/// `POST /policy/catalogue/{code}/files` (multipart: `csrf`, `material`, `kind`, `file`): the
/// file becomes the material's blank form or sample; 303 back to the item.
async fn upload(
    State(items): State<Items>,
    lang: Lang,
    chrome: Chrome,
    user: WebUser,
    headers: HeaderMap,
    Path(code): Path<String>,
    form: Multipart,
) -> Response {
    let frame = Frame::new(lang, &chrome, &user);
    let t = frame.t;
    let posted = match read_multipart(form).await {
        Ok(p) => p,
        Err(status) => {
            let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
                use bangban_domain::Bilingual;
                let e = bangban_kit::attachments::UploadError::TooLarge {
                    max_kib: items.files.max_bytes() / 1024,
                };
                t.pick(&e.message_zh(), &e.message_en()).to_owned()
            } else {
                t.pick(
                    "上传的表单无法读取，请重试。",
                    "The upload could not be read; try again.",
                )
                .to_owned()
            };
            let refusal = Refusal {
                field: "file",
                row: None,
                message,
            };
            let res = refuse_on_item(&items, frame, &code, refusal, status).await;
            return with_lang(lang, &headers, res);
        }
    };
    if !check_form(&headers, &user, &posted.csrf) {
        return csrf_refused(lang);
    }
    let target = file_target(t, &posted.material, &posted.kind);
    let (material, kind) = match target {
        Ok(x) => x,
        Err(refusal) => {
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
    };
    let Some(bytes) = posted.bytes.filter(|_| !posted.file_name.is_empty()) else {
        let refusal = Refusal {
            field: "file",
            row: None,
            message: t
                .pick("请选择要上传的文件", "Choose a file to upload")
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
    };
    match items
        .attach(
            &code,
            material,
            kind,
            &posted.file_name,
            bytes,
            user.operator.username.as_str(),
        )
        .await
    {
        Ok(_) => Redirect::to(&format!("/policy/catalogue/{code}?done=file#files")).into_response(),
        Err(EditError::NotFound(_)) => not_found(lang),
        Err(e) => match refusal_of(t, &e) {
            Some(mut refusal) => {
                if refusal.field == "form" {
                    refusal.field = "file";
                }
                let res = refuse_on_item(
                    &items,
                    frame,
                    &code,
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

/// `POST /policy/catalogue/{code}/detach` (`material`, `kind`): takes the file off the material.
async fn detach(
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
    let (material, kind) = match file_target(t, &form.material, &form.kind) {
        Ok(x) => x,
        Err(refusal) => {
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
    };
    match items
        .detach(&code, material, kind, user.operator.username.as_str())
        .await
    {
        Ok(()) => {
            Redirect::to(&format!("/policy/catalogue/{code}?done=detached#files")).into_response()
        }
        Err(EditError::NotFound(_)) => not_found(lang),
        Err(e) => match refusal_of(t, &e) {
            Some(mut refusal) => {
                refusal.field = "file";
                let res = refuse_on_item(
                    &items,
                    frame,
                    &code,
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

/// `GET /policy/catalogue/{code}/files/{sha256}`: a blank form or sample the item names, with
/// its stored type, under its safe name, never sniffed.
async fn download(
    State(items): State<Items>,
    lang: Lang,
    Path((code, raw_hash)): Path<(String, String)>,
) -> Response {
    let Ok(hash) = ContentHash::parse(&raw_hash) else {
        return not_found(lang);
    };
    let (file, bytes) = match items.file(&code, &hash).await {
        Ok(Some(found)) => found,
        Ok(None) => return not_found(lang),
        Err(e) => return internal_error(&e, lang),
    };
    let mut res = bytes.into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(file.media_type.as_str()),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        bangban_kit::web::attachments::content_disposition(&file.name, file.media_type.extension()),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox",
        ),
    );
    res
}
