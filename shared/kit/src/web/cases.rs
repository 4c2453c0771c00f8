//! Finding work: the case list (search, stage filter, pages) and a case's page with its log,
//! both read-only and masked, through the same store and intake service as the JSON API.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use bangban_domain::account::Permission;
use bangban_domain::calendar::Deadline;
use bangban_domain::case::Stage;
use bangban_domain::event::{CaseId, EventKind};
use serde::Deserialize;

use super::Web;
use super::i18n::{Lang, Tr};
use super::pages::{UserView, china_time, error_page, internal_error, with_lang};
use super::session::WebUser;
use super::steps::{self, Offers, Sticky};
use crate::store::{CaseFilter, DueFilter, Keyset, ListCursor};

/// Cases per page.
const PAGE: u32 = 20;

fn china_time_ms(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .map(china_time)
        .unwrap_or_default()
}

/// One row of the list.
pub struct Row {
    pub case_id: String,
    pub case_no: String,
    pub item: String,
    pub applicant: String,
    pub stage: &'static str,
    pub suspended: bool,
    pub opened: String,
    pub due: String,
    /// `error` when overdue, `warn` when due within two working days (open cases only).
    pub due_class: &'static str,
    pub holder: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "cases.html")]
struct CasesPage {
    t: Tr,
    centre: Option<String>,
    user: Option<UserView>,
    exposed_plain_http: bool,
    q: String,
    stage_options: Vec<(&'static str, &'static str, bool)>,
    due_options: Vec<(&'static str, &'static str, bool)>,
    held_here: bool,
    error: Option<&'static str>,
    rows: Vec<Row>,
    page: u32,
    prev_link: Option<String>,
    next_link: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    stage: String,
    #[serde(default)]
    due: String,
    #[serde(default)]
    held_here: Option<String>,
    #[serde(default)]
    page: Option<u32>,
    /// The next page: the rows after this one (a `ListCursor`).
    #[serde(default)]
    after: Option<String>,
    /// The previous page: the rows before this one.
    #[serde(default)]
    before: Option<String>,
}

/// The due filter's values in the query string, with their labels.
const DUE_OPTIONS: [(&str, &str); 2] = [("soon", "cases.due_soon"), ("overdue", "cases.overdue")];

/// The filters of a list, for the links to its other pages.
struct Filters<'a> {
    q: &'a str,
    stage: Option<Stage>,
    due: Option<&'static str>,
    held_here: bool,
}

impl Filters<'_> {
    /// A query string for page `page` of the same search, next to the row `keyset` names.
    fn link(&self, page: u32, keyset: Option<(&str, ListCursor)>) -> String {
        let mut out = url::form_urlencoded::Serializer::new(String::new());
        if !self.q.is_empty() {
            out.append_pair("q", self.q);
        }
        if let Some(s) = self.stage {
            out.append_pair("stage", s.as_str());
        }
        if let Some(d) = self.due {
            out.append_pair("due", d);
        }
        if self.held_here {
            out.append_pair("held_here", "1");
        }
        if let Some((side, at)) = keyset {
            out.append_pair(side, &at.to_string());
        }
        out.append_pair("page", &page.to_string());
        format!("/cases?{}", out.finish())
    }
}

/// `GET /cases`: newest first, 20 a page, pages linked by keyset (`after`/`before` a row); a
/// bad filter is shown and ignored, never a 500.
pub async fn list(
    State(web): State<Web>,
    lang: Lang,
    user: WebUser,
    headers: HeaderMap,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Response {
    let t = Tr::new(lang);
    let (query, mut error) = match query {
        Ok(Query(q)) => (q, None),
        Err(_) => (ListQuery::default(), Some(t.s("cases.bad_stage"))),
    };
    let stage = match query.stage.as_str() {
        "" => None,
        s => match Stage::parse(s) {
            Some(stage) => Some(stage),
            None => {
                error = Some(t.s("cases.bad_stage"));
                None
            }
        },
    };
    let due = match query.due.as_str() {
        "" => None,
        d => match DUE_OPTIONS.into_iter().find(|(value, _)| *value == d) {
            Some((value, _)) => Some(value),
            None => {
                error = Some(t.s("cases.bad_filter"));
                None
            }
        },
    };
    let after = query.after.as_deref().map(ListCursor::parse);
    let before = query.before.as_deref().map(ListCursor::parse);
    if matches!(after, Some(None)) || matches!(before, Some(None)) {
        error = Some(t.s("cases.bad_filter"));
    }
    let keyset = match (after.flatten(), before.flatten()) {
        (Some(after), _) => Some(Keyset::After(after)),
        (None, Some(before)) => Some(Keyset::Before(before)),
        (None, None) => None,
    };
    let paging_back = matches!(keyset, Some(Keyset::Before(_)));
    let q: String = query.q.trim().chars().take(64).collect();
    let held_here = query.held_here.is_some();
    let page = query.page.unwrap_or(1).clamp(1, 10_000);
    // Today in China time, and the second working day after it (as on the start page).
    let today = bangban_domain::calendar::local_date(time::OffsetDateTime::now_utc());
    let due_filter = due.map(|d| match d {
        "overdue" => DueFilter::Overdue {
            today: today.to_string(),
        },
        _ => DueFilter::Soon {
            today: today.to_string(),
            by: web
                .store
                .policy()
                .current()
                .calendar
                .working_day_after(today, 2)
                .to_string(),
        },
    });
    let filter = CaseFilter {
        subtree: None,
        holder: held_here.then_some(web.me),
        stage: stage.map(|s| s.as_str().to_owned()),
        search: (!q.is_empty()).then(|| q.clone()),
        due: due_filter,
        // A page number without a row to start from (typed by hand) still works, by offset.
        offset: if keyset.is_none() {
            (page - 1) * PAGE
        } else {
            0
        },
        keyset,
        // One more than a page, to know whether there is a page beyond it.
        limit: PAGE + 1,
    };
    let mut found = match web.store.list(&filter).await {
        Ok(found) => found,
        Err(e) => return internal_error(&e, lang),
    };
    let more = found.len() > PAGE as usize;
    if more {
        // The extra row lies beyond the page: the oldest, or the newest when paging back.
        if paging_back {
            found.remove(0);
        } else {
            found.truncate(PAGE as usize);
        }
    }
    // Paging back onto the newest rows is the first page, whatever the link said.
    let page = if paging_back && !more { 1 } else { page };
    let filters = Filters {
        q: &q,
        stage,
        due,
        held_here,
    };
    let prev_link = match found.first() {
        _ if page <= 1 => None,
        _ if page == 2 => Some(filters.link(1, None)),
        Some(first) => Some(filters.link(page - 1, Some(("before", ListCursor::of(first))))),
        None => Some(filters.link(1, None)),
    };
    let next_link = match found.last() {
        Some(last) if more || paging_back => {
            Some(filters.link(page + 1, Some(("after", ListCursor::of(last)))))
        }
        _ => None,
    };
    // Due dates compare as ISO dates: overdue before today, near due up to two working days on.
    let today_date = bangban_domain::calendar::local_date(time::OffsetDateTime::now_utc());
    let today = today_date.to_string();
    let soon = web
        .store
        .policy()
        .current()
        .calendar
        .working_day_after(today_date, 2)
        .to_string();
    let rows = found
        .into_iter()
        .map(|c| Row {
            due_class: match (&c.due_date, Stage::parse(&c.stage)) {
                (Some(due), Some(stage)) if stage.is_open() && !c.suspended => {
                    if due.as_str() < today.as_str() {
                        "error"
                    } else if due.as_str() <= soon.as_str() {
                        "warn"
                    } else {
                        ""
                    }
                }
                _ => "",
            },
            stage: Stage::parse(&c.stage).map_or("?", |s| t.stage(s)),
            case_id: c.case_id,
            case_no: c.case_no,
            item: c.item_name.unwrap_or_default(),
            applicant: c.applicant.unwrap_or_default(),
            suspended: c.suspended,
            opened: china_time_ms(c.opened_at_ms),
            due: c.due_date.unwrap_or_default(),
            holder: c.holder,
        })
        .collect();
    let page_view = CasesPage {
        t,
        centre: Some(web.name.clone()),
        user: Some(UserView::from(&user)),
        exposed_plain_http: web.exposed_plain_http,
        stage_options: Stage::ALL
            .into_iter()
            .map(|s| (s.as_str(), t.stage(s), Some(s) == stage))
            .collect(),
        due_options: DUE_OPTIONS
            .into_iter()
            .map(|(value, label)| (value, t.s(label), Some(value) == due))
            .collect(),
        held_here,
        error,
        rows,
        page,
        prev_link,
        next_link,
        q,
    };
    with_lang(lang, &headers, page_view.into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "case.html")]
struct CasePage {
    t: Tr,
    centre: Option<String>,
    user: Option<UserView>,
    exposed_plain_http: bool,
    v: crate::intake::CaseView,
    stage: &'static str,
    item: String,
    applicant: String,
    channel: &'static str,
    opened: String,
    due: String,
    /// The case is still open (not completed or terminated).
    open: bool,
    /// Near due (within two working days) or overdue: the due date is highlighted.
    due_class: &'static str,
    termination: String,
    evaluations: Vec<&'static str>,
    log: Vec<(String, &'static str, String)>,
    /// The printable forms of the case so far: (path, label).
    prints: Vec<(String, &'static str)>,
    o: Offers,
    sticky: Sticky,
    /// The session's CSRF token, for the step forms.
    csrf: String,
    /// The case's attachments and the upload form (`attachments.html`).
    files: super::attachments::AttachmentsView,
}

/// `GET /cases/{case_id}`: the case, its log and the steps it allows now; personal data masked.
pub async fn show(
    State(web): State<Web>,
    lang: Lang,
    user: WebUser,
    headers: HeaderMap,
    Path(raw): Path<String>,
) -> Response {
    // A page answers a page, never the API's problem document.
    let Ok(case_id) = raw.parse::<CaseId>() else {
        return error_page(
            StatusCode::NOT_FOUND,
            lang,
            Tr::new(lang).s("case.not_found").to_owned(),
        );
    };
    render(&web, lang, &user, &headers, case_id, Sticky::default()).await
}

/// The case page; with a refused form (`sticky`) it answers 422 and shows the form again.
pub async fn render(
    web: &Web,
    lang: Lang,
    user: &WebUser,
    headers: &HeaderMap,
    case_id: CaseId,
    sticky: Sticky,
) -> Response {
    let t = Tr::new(lang);
    let intake = web.intake();
    let (state, events) = match web.store.case(case_id).await {
        Ok(Some(found)) => found,
        Ok(None) => {
            return error_page(
                StatusCode::NOT_FOUND,
                lang,
                t.s("case.not_found").to_owned(),
            );
        }
        Err(e) => return internal_error(&e, lang),
    };
    let v = intake.view(&state, &events);
    let policy = web.store.policy().current();
    let item = state
        .item
        .as_ref()
        .and_then(|i| policy.catalogue.get(&i.code));
    let kinds: Vec<EventKind> = events.iter().map(|e| e.kind()).collect();
    let may_handle = user.operator.role.may(Permission::HandleCases);
    let mut o = steps::offers(
        t,
        web.me,
        may_handle,
        &user.operator.display_name,
        &state,
        &kinds,
        item,
    );
    sticky.apply_to(&mut o.pre_review);
    o.agents = steps::agent_options(t, web.me, policy.agents.as_deref());
    let today = bangban_domain::calendar::local_date(time::OffsetDateTime::now_utc());
    let (due, due_class) = match &v.due {
        Some(Deadline::Due { date, provisional }) => {
            let mut due = date.to_string();
            if *provisional {
                due.push_str(t.s("case.provisional"));
            }
            let soon = *date <= policy.calendar.working_day_after(today, 2);
            let class = if v.overdue {
                "error"
            } else if soon && state.stage.is_open() {
                "warn"
            } else {
                ""
            };
            (due, class)
        }
        Some(Deadline::Paused { .. }) => (t.s("case.paused").to_owned(), ""),
        None => (String::new(), ""),
    };
    let log = v
        .events
        .iter()
        .map(|e| {
            let by = match &e.actor {
                Some(actor) => format!("{} · {actor}", e.author),
                None => e.author.to_string(),
            };
            // The view carries the Chinese label; the kind, for the English one, is its tag.
            let step = match lang {
                Lang::Zh => e.kind_label,
                Lang::En => serde_json::to_value(&e.body)
                    .ok()
                    .and_then(|v| v.get("kind")?.as_str()?.parse::<EventKind>().ok())
                    .map_or(e.kind_label, EventKind::label_en),
            };
            (china_time(e.occurred_at), step, by)
        })
        .collect();
    let mut prints = Vec::new();
    if user.operator.role.may(Permission::ViewPersonalData) {
        for (kind, form, key) in [
            (
                EventKind::OneTimeNoticeIssued,
                "one-time-notice",
                "print.one_time_notice",
            ),
            (
                EventKind::DelegationSigned,
                "delegation",
                "print.delegation",
            ),
            (
                EventKind::DelegationSigned,
                "service-notice",
                "print.service_notice",
            ),
            (EventKind::Terminated, "termination", "print.termination"),
        ] {
            if kinds.contains(&kind) {
                prints.push((format!("/cases/{case_id}/print/{form}"), t.s(key)));
            }
        }
    }
    let refused = !sticky.kind.is_empty();
    let page = CasePage {
        t,
        centre: Some(web.name.clone()),
        user: Some(UserView::from(user)),
        exposed_plain_http: web.exposed_plain_http,
        stage: t.stage(v.stage),
        item: v
            .item
            .as_ref()
            .map(|i| format!("{}（{}）", i.name, i.code))
            .unwrap_or_default(),
        applicant: v.applicant.clone().unwrap_or_default(),
        channel: super::intake::channel_label(t, state.channel),
        opened: china_time(v.opened_at),
        due,
        due_class,
        open: state.stage.is_open(),
        termination: state
            .termination
            .map(|r| super::forms::termination_label(t, r).to_owned())
            .unwrap_or_default(),
        evaluations: state
            .evaluations
            .iter()
            .map(|l| super::forms::satisfaction_label(t, *l))
            .collect(),
        log,
        prints,
        o,
        sticky,
        csrf: user.csrf.clone(),
        files: super::attachments::view(web, user, &state).await,
        v,
    };
    let status = if refused {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    with_lang(lang, headers, (status, page).into_response())
}
