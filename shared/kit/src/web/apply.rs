//! Taking an application in from the browser (申请受理登记), for a person or a company, through
//! the intake service the JSON API uses too. The resident ID, the credit code and the phones are
//! checked on the server with their check digits; a refusal shows the form again with what was
//! typed and the reason beside the field, and saves nothing. The form carries a case id (and the
//! id of the trip it records) made when it was opened, so a resent form opens one case.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use bangban_domain::event::{CaseId, CheckOverride, EventBody, Visit, VisitKind};
use serde::Deserialize;
use uuid::Uuid;

use super::Web;
use super::i18n::{Lang, Tr};
use super::intake::{CHANNELS, channel_label};
use super::pages::{UserView, csrf_refused, internal_error, with_lang};
use super::session::{WebUser, check_form};
use crate::intake::{ApplicantInput, IntakeError, NewCase, NewEvent};

/// What the application form holds, typed in or to be shown again.
#[derive(Debug, Default, Deserialize)]
pub struct ApplyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    case_id: String,
    #[serde(default)]
    visit_id: String,
    #[serde(default)]
    channel: String,
    #[serde(default)]
    item_code: String,
    #[serde(default)]
    applicant_type: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    id_number: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    company_name: String,
    #[serde(default)]
    credit_code: String,
    #[serde(default)]
    legal_representative: String,
    #[serde(default)]
    contact_name: String,
    #[serde(default)]
    contact_phone: String,
    #[serde(default)]
    override_supervisor: String,
    #[serde(default)]
    override_reason: String,
    /// `on` when the applicant came in person (one trip is counted).
    #[serde(default)]
    trip: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "apply.html")]
struct ApplyPage {
    t: Tr,
    centre: Option<String>,
    user: Option<UserView>,
    exposed_plain_http: bool,
    f: ApplyForm,
    channels: Vec<(&'static str, &'static str, bool)>,
    /// (code, name, case type label, selected).
    items: Vec<(String, String, &'static str, bool)>,
    company: bool,
    trip: bool,
    /// The catalogue is sample data: its note, shown above the item list.
    sample: Option<String>,
    /// The materials with a blank form or a sample: (item, material, blank form link, sample
    /// link), a link empty when there is none.
    files: Vec<(String, String, String, String)>,
    error: Option<String>,
    /// The input the error is about, or empty.
    field: String,
}

impl ApplyPage {
    /// The message when it is about `name`.
    fn err(&self, name: &str) -> &str {
        match &self.error {
            Some(message) if self.field == name => message,
            _ => "",
        }
    }
}

fn fresh_or(id: &str) -> String {
    match id.parse::<Uuid>() {
        Ok(id) => id.to_string(),
        Err(_) => Uuid::now_v7().to_string(),
    }
}

fn apply_page(
    web: &Web,
    t: Tr,
    user: &WebUser,
    mut f: ApplyForm,
    error: Option<(String, String)>,
    fresh: bool,
) -> ApplyPage {
    f.case_id = fresh_or(&f.case_id);
    f.visit_id = fresh_or(&f.visit_id);
    let (field, error) = match error {
        Some((field, message)) => (field, Some(message)),
        None => (String::new(), None),
    };
    let catalogue = web.intake().catalogue();
    let sample = catalogue
        .sample
        .then(|| catalogue.note.clone().unwrap_or_default());
    let files = catalogue
        .items
        .iter()
        .flat_map(|i| i.materials.iter().map(move |m| (i, m)))
        .filter(|(_, m)| m.blank_form.is_some() || m.sample.is_some())
        .map(|(i, m)| {
            let link = |f: &Option<bangban_domain::catalogue::FileRef>| {
                f.as_ref()
                    .map(super::catalogue_files::href)
                    .unwrap_or_default()
            };
            (
                i.name.clone(),
                m.name.clone(),
                link(&m.blank_form),
                link(&m.sample),
            )
        })
        .collect();
    let items = catalogue
        .items
        .into_iter()
        .map(|i| {
            let selected = i.code == f.item_code;
            let kind = t.s(match i.case_type {
                bangban_domain::event::CaseType::Immediate => "apply.immediate",
                bangban_domain::event::CaseType::Promised => "apply.promised",
            });
            (i.code, i.name, kind, selected)
        })
        .collect();
    ApplyPage {
        t,
        centre: Some(web.name.clone()),
        user: Some(UserView::from(user)),
        exposed_plain_http: web.exposed_plain_http,
        channels: CHANNELS
            .iter()
            .map(|(value, c)| {
                let chosen = f.channel == *value || (f.channel.is_empty() && *value == "window");
                (*value, channel_label(t, *c), chosen)
            })
            .collect(),
        items,
        company: f.applicant_type == "company",
        sample,
        files,
        trip: fresh || f.trip == "on",
        f,
        error,
        field,
    }
}

/// `GET /cases/new/application`: a blank form with a fresh case id.
pub async fn application_form(
    State(web): State<Web>,
    lang: Lang,
    user: WebUser,
    headers: HeaderMap,
) -> Response {
    let page = apply_page(&web, Tr::new(lang), &user, ApplyForm::default(), None, true);
    with_lang(lang, &headers, page.into_response())
}

/// The input of the form an intake refusal is about.
fn input_of(field: Option<&str>, company: bool) -> String {
    match field {
        Some("applicant.name") if company => "company_name",
        Some("applicant.name") => "name",
        Some("applicant.type") => "applicant_type",
        Some("check_override.supervisor") => "override_supervisor",
        Some("check_override.reason") => "override_reason",
        Some(f) if f.starts_with("item") => "item_code",
        Some(f) => f.strip_prefix("applicant.").unwrap_or(f),
        None => "",
    }
    .to_owned()
}

/// `POST /cases/new/application`: the application is taken in, then 303 to its case page, where
/// the item's material checklist waits for the pre-review.
pub async fn application_submit(
    State(web): State<Web>,
    lang: Lang,
    user: WebUser,
    headers: HeaderMap,
    form: Result<axum::Form<ApplyForm>, FormRejection>,
) -> Response {
    let t = Tr::new(lang);
    let form = form.map(|axum::Form(f)| f).unwrap_or_default();
    if !check_form(&headers, &user, &form.csrf) {
        return csrf_refused(lang);
    }
    let refuse = |form: ApplyForm, field: &str, message: String| {
        let error = Some((field.to_owned(), message));
        let page = apply_page(&web, t, &user, form, error, false);
        (StatusCode::UNPROCESSABLE_ENTITY, page).into_response()
    };
    let Some(channel) = CHANNELS
        .iter()
        .find(|(value, _)| *value == form.channel)
        .map(|(_, c)| *c)
    else {
        let message = t.s("consult.bad_channel").to_owned();
        return refuse(form, "channel", message);
    };
    if form.item_code.trim().is_empty() {
        let message = t.s("apply.pick_item").to_owned();
        return refuse(form, "item_code", message);
    }
    let (Ok(case_id), Ok(visit_id)) = (form.case_id.parse::<Uuid>(), form.visit_id.parse::<Uuid>())
    else {
        // Only a tampered form lacks its ids: give fresh ones, keep what was typed.
        return refuse(form, "", t.s("error.csrf").to_owned());
    };
    let company = form.applicant_type == "company";
    let text = |s: &str| Some(s.trim().to_owned());
    let applicant = match form.applicant_type.as_str() {
        "person" => ApplicantInput {
            kind: Some("person".to_owned()),
            name: text(&form.name),
            id_number: text(&form.id_number),
            phone: text(&form.phone),
            ..ApplicantInput::default()
        },
        "company" => ApplicantInput {
            kind: Some("company".to_owned()),
            name: text(&form.company_name),
            credit_code: text(&form.credit_code),
            check_override: (!form.override_supervisor.trim().is_empty()
                || !form.override_reason.trim().is_empty())
            .then(|| CheckOverride {
                supervisor: form.override_supervisor.trim().to_owned(),
                reason: form.override_reason.trim().to_owned(),
            }),
            legal_representative: text(&form.legal_representative),
            contact_name: text(&form.contact_name),
            contact_phone: text(&form.contact_phone),
            ..ApplicantInput::default()
        },
        _ => {
            let message = t.s("apply.pick_type").to_owned();
            return refuse(form, "applicant_type", message);
        }
    };
    let new = NewCase::Application {
        channel,
        item_code: form.item_code.trim().to_owned(),
        applicant: Box::new(applicant),
        case_id: Some(case_id),
    };
    let actor = user.operator.username.as_str();
    let intake = web.intake();
    let opened = match intake.open_case(actor, new).await {
        Ok(opened) => opened,
        Err(IntakeError::Store(e)) if !e.is_client_error() => return internal_error(&e, lang),
        Err(e) => {
            let mut field = input_of(e.field(), company);
            if field.is_empty()
                && let IntakeError::Invalid { code, .. } = &e
                && code.contains("credit_code")
            {
                field = "credit_code".to_owned();
            }
            let problem = crate::http::Problem::from(e);
            let message = t.pick(&problem.message_zh, &problem.message_en).to_owned();
            return refuse(form, &field, message);
        }
    };
    if form.trip == "on" {
        let visit = NewEvent {
            event_id: Some(visit_id),
            body: EventBody::VisitRecorded(Visit {
                kind: VisitKind::OnSite,
                note: None,
            }),
        };
        if let Err(e) = intake.append_step(actor, opened.view.case_id, visit).await {
            // The application stands; the trip can be recorded from the case page.
            tracing::warn!(case_id = %opened.view.case_id, error = %e, "trip not recorded with the application");
        }
    }
    let case_id: CaseId = opened.view.case_id;
    Redirect::to(&format!("/cases/{case_id}")).into_response()
}
