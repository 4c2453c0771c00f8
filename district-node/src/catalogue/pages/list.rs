//! The catalogue's list page (`/policy/catalogue`): every item with its limits, tiers and proxy
//! mark, and a search box.

use super::*;

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

pub(super) fn notice(t: Tr, done: Option<&str>) -> Option<&'static str> {
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
pub(super) async fn list(
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
