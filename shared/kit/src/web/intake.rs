//! Taking cases in from the browser, through the intake service (`crate::intake`) that the JSON
//! API uses too: the form only parses, calls and renders. Each form carries a case id made when
//! it was opened, so a double click or a resent form opens one case, not two.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use bangban_domain::event::Channel;
use serde::Deserialize;
use uuid::Uuid;

use super::Web;
use super::i18n::{Lang, Tr};
use super::pages::{UserView, csrf_refused, internal_error, with_lang};
use super::session::{WebUser, check_form};
use crate::intake::{IntakeError, NewCase};

pub(super) const CHANNELS: [(&str, Channel); 4] = [
    ("window", Channel::Window),
    ("phone", Channel::Phone),
    ("online", Channel::Online),
    ("agent", Channel::Agent),
];

pub(super) fn channel_label(t: Tr, channel: Channel) -> &'static str {
    match (t.lang, channel) {
        (Lang::Zh, c) => c.label_zh(),
        (Lang::En, Channel::Window) => "At the window",
        (Lang::En, Channel::Phone) => "By phone",
        (Lang::En, Channel::Online) => "Online",
        (Lang::En, Channel::Agent) => "Through an agent",
    }
}

/// What the consultation form holds, typed in or to be shown again.
#[derive(Debug, Default, Deserialize)]
pub struct ConsultForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    case_id: String,
    #[serde(default)]
    channel: String,
    #[serde(default)]
    topic: String,
    #[serde(default)]
    item_code: String,
    #[serde(default)]
    answer: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "consult.html")]
struct ConsultPage {
    t: Tr,
    centre: Option<String>,
    user: Option<UserView>,
    exposed_plain_http: bool,
    case_id: String,
    channels: Vec<(&'static str, &'static str, bool)>,
    topic: String,
    items: Vec<(String, String, bool)>,
    answer: String,
    error: Option<String>,
    /// The field the error is about (`topic`, `item`, `answer`), or empty.
    field: &'static str,
    field_error: String,
}

fn consult_page(
    web: &Web,
    t: Tr,
    user: &WebUser,
    form: ConsultForm,
    error: Option<(Option<&'static str>, String)>,
) -> ConsultPage {
    let case_id = match form.case_id.parse::<Uuid>() {
        Ok(id) => id.to_string(),
        Err(_) => Uuid::now_v7().to_string(),
    };
    let (field, message) = match error {
        Some((field, message)) => (field, Some(message)),
        None => (None, None),
    };
    let field = match field {
        Some(f) if f.starts_with("item") => "item",
        Some("topic") => "topic",
        Some("answer") => "answer",
        _ => "",
    };
    ConsultPage {
        t,
        centre: Some(web.name.clone()),
        user: Some(UserView::from(user)),
        exposed_plain_http: web.exposed_plain_http,
        case_id,
        channels: CHANNELS
            .iter()
            .map(|(value, c)| (*value, channel_label(t, *c), form.channel == *value))
            .collect(),
        items: web
            .intake()
            .items()
            .into_iter()
            .map(|i| {
                let selected = i.code == form.item_code;
                (i.code, i.name, selected)
            })
            .collect(),
        topic: form.topic,
        answer: form.answer,
        field_error: if field.is_empty() {
            String::new()
        } else {
            message.clone().unwrap_or_default()
        },
        error: message,
        field,
    }
}

/// `GET /cases/new/consultation`: a blank form with a fresh case id.
pub async fn consult_form(
    State(web): State<Web>,
    lang: Lang,
    user: WebUser,
    headers: HeaderMap,
) -> Response {
    let page = consult_page(&web, Tr::new(lang), &user, ConsultForm::default(), None);
    with_lang(lang, &headers, page.into_response())
}

/// `POST /cases/new/consultation`: the consultation is taken in, then 303 to its page. A
/// refusal shows the form again with what was typed and the reason beside the field; nothing is
/// saved then.
pub async fn consult_submit(
    State(web): State<Web>,
    lang: Lang,
    user: WebUser,
    headers: HeaderMap,
    form: Result<axum::Form<ConsultForm>, FormRejection>,
) -> Response {
    let t = Tr::new(lang);
    let form = form.map(|axum::Form(f)| f).unwrap_or_default();
    if !check_form(&headers, &user, &form.csrf) {
        return csrf_refused(lang);
    }
    let refuse = |form: ConsultForm, field: Option<&'static str>, message: String| {
        let page = consult_page(&web, t, &user, form, Some((field, message)));
        (StatusCode::UNPROCESSABLE_ENTITY, page).into_response()
    };
    let Some(channel) = CHANNELS
        .iter()
        .find(|(value, _)| *value == form.channel)
        .map(|(_, c)| *c)
    else {
        let message = t.s("consult.bad_channel").to_owned();
        return refuse(form, None, message);
    };
    let Ok(case_id) = form.case_id.parse::<Uuid>() else {
        // Only a tampered form lacks its id: give a fresh form, keep what was typed.
        return refuse(form, None, t.s("error.csrf").to_owned());
    };
    let optional = |s: &str| {
        let s = s.trim();
        (!s.is_empty()).then(|| s.to_owned())
    };
    let new = NewCase::Consultation {
        channel,
        topic: form.topic.trim().to_owned(),
        item_code: optional(&form.item_code),
        answer: optional(&form.answer),
        case_id: Some(case_id),
    };
    match web
        .intake()
        .open_case(user.operator.username.as_str(), new)
        .await
    {
        Ok(opened) => Redirect::to(&format!("/cases/{}", opened.view.case_id)).into_response(),
        Err(IntakeError::Store(e)) if !e.is_client_error() => internal_error(&e, lang),
        Err(e) => {
            let field = e.field();
            let problem = crate::http::Problem::from(e);
            let message = t.pick(&problem.message_zh, &problem.message_en).to_owned();
            refuse(form, field, message)
        }
    }
}
