//! 辖区办件 (`/summaries`): the summaries of every case of this node's subtree, newest first, by
//! centre and stage, for inspection at the district and the towns. Summaries carry no personal
//! data; a row links to the full case when this node holds it (an escalated case).

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use bangban_domain::case::Stage;
use bangban_domain::station::{StationCode, Tier};
use serde::Deserialize;

use super::Web;
use super::i18n::{Lang, Tr};
use super::pages::{UserView, internal_error, with_lang};
use super::session::WebUser;
use crate::store::{Keyset, ListCursor, SummaryFilter, SummaryRow};

/// Summaries per page.
const PAGE: u32 = 20;

/// One row of the list, formatted.
pub struct Row {
    pub case_id: String,
    pub case_no: String,
    /// Whether this node holds the full case (the number links to it).
    pub held_here: bool,
    pub centre: String,
    pub item: String,
    pub stage: &'static str,
    pub suspended: bool,
    pub opened: String,
    pub due: String,
    /// `error` when an open case is past its due date.
    pub due_class: &'static str,
    pub visits: u32,
}

#[derive(Template, WebTemplate)]
#[template(path = "summaries.html")]
struct SummariesPage {
    t: Tr,
    centre: Option<String>,
    user: Option<UserView>,
    exposed_plain_http: bool,
    /// (code, label, selected) of the centres of the subtree, tree order.
    centre_options: Vec<(String, String, bool)>,
    stage_options: Vec<(&'static str, &'static str, bool)>,
    centre_error: Option<&'static str>,
    stage_error: Option<&'static str>,
    rows: Vec<Row>,
    page: u32,
    prev_link: Option<String>,
    next_link: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct SummaryQuery {
    #[serde(default)]
    centre: String,
    #[serde(default)]
    stage: String,
    #[serde(default)]
    page: Option<u32>,
    #[serde(default)]
    after: Option<String>,
    #[serde(default)]
    before: Option<String>,
}

/// The list's filters, for the links to its other pages.
struct Filters {
    centre: Option<StationCode>,
    stage: Option<Stage>,
}

impl Filters {
    fn link(&self, page: u32, keyset: Option<(&str, ListCursor)>) -> String {
        let mut out = url::form_urlencoded::Serializer::new(String::new());
        if let Some(c) = self.centre {
            out.append_pair("centre", &c.to_string());
        }
        if let Some(s) = self.stage {
            out.append_pair("stage", s.as_str());
        }
        if let Some((side, at)) = keyset {
            out.append_pair(side, &at.to_string());
        }
        out.append_pair("page", &page.to_string());
        format!("/summaries?{}", out.finish())
    }
}

/// `GET /summaries`: newest first, 20 a page, paged by keyset. A bad filter is named beside
/// its field (422) and the list shown without it.
pub async fn list(
    State(web): State<Web>,
    lang: Lang,
    user: WebUser,
    headers: HeaderMap,
    query: Result<Query<SummaryQuery>, QueryRejection>,
) -> Response {
    let t = Tr::new(lang);
    let mut bad_query = false;
    let query = match query {
        Ok(Query(q)) => q,
        Err(_) => {
            bad_query = true;
            SummaryQuery::default()
        }
    };
    let policy = web.store.policy().current();
    let topology = policy.topology.as_ref();
    let name_of = |code: StationCode| {
        topology
            .and_then(|tree| tree.get(code))
            .map_or_else(|| code.to_string(), |info| info.name.clone())
    };
    let mut centre_error = None;
    let centre = match query.centre.trim() {
        "" => None,
        text => match StationCode::parse(text) {
            Ok(code) if web.me.is_same_or_ancestor_of(&code) => Some(code),
            _ => {
                centre_error = Some(t.s("summaries.bad_centre"));
                None
            }
        },
    };
    let mut stage_error = bad_query.then(|| t.s("cases.bad_filter"));
    let stage = match query.stage.as_str() {
        "" => None,
        s => Stage::parse(s).or_else(|| {
            stage_error = Some(t.s("cases.bad_stage"));
            None
        }),
    };
    let after = query.after.as_deref().map(ListCursor::parse);
    let before = query.before.as_deref().map(ListCursor::parse);
    if matches!(after, Some(None)) || matches!(before, Some(None)) {
        stage_error = Some(t.s("cases.bad_filter"));
    }
    let keyset = match (after.flatten(), before.flatten()) {
        (Some(after), _) => Some(Keyset::After(after)),
        (None, Some(before)) => Some(Keyset::Before(before)),
        (None, None) => None,
    };
    let paging_back = matches!(keyset, Some(Keyset::Before(_)));
    let page = if keyset.is_none() {
        1
    } else {
        query.page.unwrap_or(1).clamp(1, 100_000)
    };
    let mut found = match web
        .store
        .summaries(&SummaryFilter {
            subtree: centre,
            stage,
            keyset,
            // One more than a page, to know whether there is a page beyond it.
            limit: PAGE + 1,
        })
        .await
    {
        Ok(found) => found,
        Err(e) => return internal_error(&e, lang),
    };
    let more = found.len() > PAGE as usize;
    if more {
        if paging_back {
            found.remove(0);
        } else {
            found.truncate(PAGE as usize);
        }
    }
    let page = if paging_back && !more { 1 } else { page };
    let filters = Filters { centre, stage };
    let prev_link = match found.first() {
        _ if page <= 1 => None,
        _ if page == 2 => Some(filters.link(1, None)),
        Some(first) => Some(filters.link(page - 1, Some(("before", first.cursor())))),
        None => Some(filters.link(1, None)),
    };
    let next_link = match found.last() {
        Some(last) if more || paging_back => {
            Some(filters.link(page + 1, Some(("after", last.cursor()))))
        }
        _ => None,
    };
    let today = bangban_domain::calendar::local_date(time::OffsetDateTime::now_utc());
    let rows = found
        .into_iter()
        .map(|r| row(t, &r, today, &name_of))
        .collect();
    // The centres of the subtree in code order (a town's villages follow it), indented by tier.
    let codes = topology
        .map(|tree| tree.subtree(web.me))
        .filter(|codes| !codes.is_empty())
        .unwrap_or_else(|| vec![web.me]);
    let centre_options = codes
        .into_iter()
        .map(|code| {
            let indent = match code.tier() {
                Tier::District => "",
                Tier::Town if web.me.tier() == Tier::District => "　",
                Tier::Town => "",
                Tier::Village if web.me.tier() == Tier::District => "　　",
                Tier::Village if web.me.tier() == Tier::Town => "　",
                Tier::Village => "",
            };
            (
                code.to_string(),
                format!("{indent}{}（{code}）", name_of(code)),
                Some(code) == centre,
            )
        })
        .collect();
    let refused = centre_error.is_some() || stage_error.is_some();
    let view = SummariesPage {
        t,
        centre: Some(web.name.clone()),
        user: Some(UserView::from(&user)),
        exposed_plain_http: web.exposed_plain_http,
        centre_options,
        stage_options: Stage::ALL
            .into_iter()
            .map(|s| (s.as_str(), t.stage(s), Some(s) == stage))
            .collect(),
        centre_error,
        stage_error,
        rows,
        page,
        prev_link,
        next_link,
    };
    let status = if refused {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    with_lang(lang, &headers, (status, view).into_response())
}

fn row(t: Tr, r: &SummaryRow, today: time::Date, name_of: &impl Fn(StationCode) -> String) -> Row {
    let s = &r.summary;
    let overdue = s.is_open() && !s.suspended && s.due_date.is_some_and(|due| due < today);
    Row {
        case_id: s.case_id.to_string(),
        case_no: s.case_no.to_string(),
        held_here: r.held_here,
        centre: name_of(s.origin),
        item: s.item_name.clone().unwrap_or_default(),
        stage: t.stage(s.stage),
        suspended: s.suspended,
        opened: super::pages::china_time(s.opened_at),
        due: s.due_date.map(|d| d.to_string()).unwrap_or_default(),
        due_class: if overdue { "error" } else { "" },
        visits: s.visits,
    }
}
