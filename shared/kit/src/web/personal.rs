//! Audited access to a case's full personal data, and the trail of those views.
//!
//! `GET /cases/{case_id}/personal` is the only page that shows an applicant's name, ID number,
//! phones and address in full, to the roles that serve the applicant. The view is recorded by
//! the store before any of it is rendered (`CaseStore::reveal_personal_data`): if the record
//! cannot be written, the page shows nothing. The page is `Cache-Control: no-store`, so no copy
//! stays in the browser's cache. `GET /audit/personal-data` lists the views for those who
//! supervise. This module must never log a value it shows.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bangban_domain::account::Username;
use bangban_domain::event::{Applicant, CaseId, Delivery};
use serde::Deserialize;
use time::OffsetDateTime;

use super::Web;
use super::i18n::{Lang, Tr};
use super::pages::{UserView, error_page, internal_error, with_lang};
use super::session::WebUser;
use crate::store::PersonalViewFilter;

/// Views per page of the trail.
const PAGE: u32 = 50;

/// `2026-11-28 09:30:05` in China time (seconds: several views a minute are told apart).
fn china_time(t: OffsetDateTime) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    t.to_offset(time::macros::offset!(+8))
        .format(&format)
        .unwrap_or_default()
}

#[derive(Template, WebTemplate)]
#[template(path = "personal.html")]
struct PersonalPage {
    t: Tr,
    centre: Option<String>,
    user: Option<UserView>,
    exposed_plain_http: bool,
    case_id: String,
    case_no: String,
    /// `(label, value)` of the applicant, in full.
    applicant: Vec<(&'static str, String)>,
    /// How the result is delivered, and `(label, value)` of a courier's recipient.
    delivery: Option<&'static str>,
    recipient: Vec<(&'static str, String)>,
    viewed_at: String,
}

fn applicant_rows(t: Tr, applicant: &Applicant) -> Vec<(&'static str, String)> {
    match applicant {
        Applicant::Person {
            name,
            id_number,
            phone,
        } => vec![
            (t.s("personal.name"), name.as_str().to_owned()),
            (t.s("personal.id_number"), id_number.as_str().to_owned()),
            (t.s("personal.phone"), phone.as_str().to_owned()),
        ],
        Applicant::Company {
            name,
            credit_code,
            legal_representative,
            contact_name,
            contact_phone,
            ..
        } => vec![
            (t.s("personal.company"), name.clone()),
            (t.s("personal.credit_code"), credit_code.as_str().to_owned()),
            (
                t.s("personal.legal_rep"),
                legal_representative.as_str().to_owned(),
            ),
            (t.s("personal.contact"), contact_name.as_str().to_owned()),
            (
                t.s("personal.contact_phone"),
                contact_phone.as_str().to_owned(),
            ),
        ],
    }
}

/// `GET /cases/{case_id}/personal`: the applicant's full personal data, recorded first.
pub async fn show(
    State(web): State<Web>,
    lang: Lang,
    user: WebUser,
    headers: HeaderMap,
    Path(raw): Path<String>,
) -> Response {
    let t = Tr::new(lang);
    let not_found = || {
        error_page(
            StatusCode::NOT_FOUND,
            lang,
            t.s("case.not_found").to_owned(),
        )
    };
    let Ok(case_id) = raw.parse::<CaseId>() else {
        return not_found();
    };
    let now = OffsetDateTime::now_utc();
    // INVARIANT: nothing below runs unless the view was recorded.
    let state = match web
        .store
        .reveal_personal_data(case_id, user.operator.username.as_str(), now)
        .await
    {
        Ok(Some(state)) => state,
        Ok(None) => return not_found(),
        Err(e) => return no_store(internal_error(&e, lang)),
    };
    let (delivery, recipient) = match &state.delivery {
        None => (None, Vec::new()),
        Some(Delivery::HallPickup) => (Some(t.s("personal.pickup")), Vec::new()),
        Some(Delivery::Courier {
            recipient,
            address,
            phone,
        }) => (
            Some(t.s("personal.courier")),
            vec![
                (t.s("personal.recipient"), recipient.as_str().to_owned()),
                (t.s("personal.address"), address.as_str().to_owned()),
                (t.s("personal.phone"), phone.as_str().to_owned()),
            ],
        ),
    };
    let page = PersonalPage {
        t,
        centre: Some(web.name.clone()),
        user: Some(UserView::from(&user)),
        exposed_plain_http: web.exposed_plain_http,
        case_id: case_id.to_string(),
        case_no: state.case_no.to_string(),
        applicant: state
            .applicant
            .as_ref()
            .map(|a| applicant_rows(t, a))
            .unwrap_or_default(),
        delivery,
        recipient,
        viewed_at: china_time(now),
    };
    no_store(with_lang(lang, &headers, page.into_response()))
}

/// Marks a response as never to be stored by the browser or anything between.
fn no_store(mut res: Response) -> Response {
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    res
}

// ---------------------------------------------------------------------------------------------
// The trail
// ---------------------------------------------------------------------------------------------

/// One row of the trail.
pub struct ViewRow {
    pub when: String,
    pub viewer: String,
    pub case_id: String,
    pub case_no: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "audit.html")]
struct AuditPage {
    t: Tr,
    centre: Option<String>,
    user: Option<UserView>,
    exposed_plain_http: bool,
    operator: String,
    case_no: String,
    error: Option<&'static str>,
    rows: Vec<ViewRow>,
    page: u32,
    prev_link: Option<String>,
    next_link: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct AuditQuery {
    #[serde(default)]
    operator: String,
    #[serde(default)]
    case_no: String,
    #[serde(default)]
    page: Option<u32>,
}

fn audit_link(operator: &str, case_no: &str, page: u32) -> String {
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    if !operator.is_empty() {
        out.append_pair("operator", operator);
    }
    if !case_no.is_empty() {
        out.append_pair("case_no", case_no);
    }
    out.append_pair("page", &page.to_string());
    format!("/audit/personal-data?{}", out.finish())
}

/// `GET /audit/personal-data`: the views, newest first, 50 a page, by viewer or case number. A
/// bad filter is shown and ignored, never a 500.
pub async fn trail(
    State(web): State<Web>,
    lang: Lang,
    user: WebUser,
    headers: HeaderMap,
    query: Result<Query<AuditQuery>, QueryRejection>,
) -> Response {
    let t = Tr::new(lang);
    let (query, mut error) = match query {
        Ok(Query(q)) => (q, None),
        Err(_) => (AuditQuery::default(), Some(t.s("audit.bad_filter"))),
    };
    let operator = match query.operator.trim() {
        "" => None,
        typed => match Username::parse(typed) {
            Ok(name) => Some(name.into_string()),
            Err(_) => {
                error = Some(t.s("audit.bad_filter"));
                None
            }
        },
    };
    let case_no = match query.case_no.trim() {
        "" => None,
        typed if typed.len() <= 32 && typed.bytes().all(|b| b.is_ascii_digit() || b == b'-') => {
            Some(typed.to_owned())
        }
        _ => {
            error = Some(t.s("audit.bad_filter"));
            None
        }
    };
    let page = query.page.unwrap_or(1).clamp(1, 10_000);
    let filter = PersonalViewFilter {
        operator: operator.clone(),
        case_no: case_no.clone(),
        limit: PAGE + 1,
        offset: (page - 1) * PAGE,
    };
    let mut found = match web.store.personal_data_views(&filter).await {
        Ok(found) => found,
        Err(e) => return internal_error(&e, lang),
    };
    let names = match web.auth.list_operators().await {
        Ok(ops) => ops
            .into_iter()
            .map(|op| (op.username.into_string(), op.display_name))
            .collect::<std::collections::HashMap<_, _>>(),
        Err(e) => return internal_error(&e, lang),
    };
    let more = found.len() > PAGE as usize;
    found.truncate(PAGE as usize);
    let operator = operator.unwrap_or_default();
    let case_no = case_no.unwrap_or_default();
    let rows = found
        .into_iter()
        .map(|v| ViewRow {
            when: china_time(v.at),
            viewer: match names.get(&v.operator) {
                Some(name) => format!("{name}（{}）", v.operator),
                None => v.operator,
            },
            case_id: v.case_id,
            case_no: v.case_no,
        })
        .collect();
    let view = AuditPage {
        t,
        centre: Some(web.name.clone()),
        user: Some(UserView::from(&user)),
        exposed_plain_http: web.exposed_plain_http,
        error,
        rows,
        page,
        prev_link: (page > 1).then(|| audit_link(&operator, &case_no, page - 1)),
        next_link: more.then(|| audit_link(&operator, &case_no, page + 1)),
        operator,
        case_no,
    };
    with_lang(lang, &headers, view.into_response())
}
