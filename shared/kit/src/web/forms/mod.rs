//! The plan's printable forms, filled from the case: the delegation agreement (annex 1), the
//! service notice (annex 2), the one-time notice (annex 3, two copies on one A4 sheet, one for
//! the applicant and one for the centre) and the termination notice. Each is a page of its own
//! with no navigation, laid out for A4 by the browser's print.
//!
//! The forms carry the applicant's full name, identifier and phone (they are signed and handed
//! over), so only roles that may see full personal data open them, and each opening is written
//! to the personal-data audit (`personal_data_views`) before the page is made.

pub mod words;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use bangban_domain::case::CaseState;
use bangban_domain::event::{
    Applicant, CaseId, Delegation, Delivery, Event, EventBody, OneTimeNotice, Satisfaction,
    Termination, TerminationReason, Verdict,
};

use super::Web;
use super::i18n::{Lang, Tr};
use super::pages::{error_page, internal_error};
use super::session::WebUser;

/// The ground of a termination, as the forms and the case page name it.
pub fn termination_label(t: Tr, reason: TerminationReason) -> &'static str {
    t.s(match reason {
        TerminationReason::ClientWithdrew => "step.client_withdrew",
        TerminationReason::FalseOrNonConforming => "step.false_or_non_conforming",
        TerminationReason::CannotComplete => "step.cannot_complete",
        TerminationReason::Other => "step.other_reason",
    })
}

/// The number of the ground in the service notice's list (三、代办须知 1–4).
fn termination_clause(reason: TerminationReason) -> u8 {
    match reason {
        TerminationReason::ClientWithdrew => 1,
        TerminationReason::FalseOrNonConforming => 2,
        TerminationReason::CannotComplete => 3,
        TerminationReason::Other => 4,
    }
}

pub fn satisfaction_label(t: Tr, level: Satisfaction) -> &'static str {
    t.s(match level {
        Satisfaction::VerySatisfied => "step.very_satisfied",
        Satisfaction::Satisfied => "step.satisfied",
        Satisfaction::BasicallySatisfied => "step.basically_satisfied",
        Satisfaction::Dissatisfied => "step.dissatisfied",
        Satisfaction::VeryDissatisfied => "step.very_dissatisfied",
    })
}

/// `2026年12月4日`.
fn chinese_date(t: time::OffsetDateTime) -> String {
    let d = bangban_domain::calendar::local_date(t);
    format!("{}年{}月{}日", d.year(), u8::from(d.month()), d.day())
}

/// The client as the forms name them, in full.
struct Client {
    name: String,
    /// 身份证号, or 统一社会信用代码 for a company.
    id_label: &'static str,
    id: String,
    phone: String,
}

fn client(t: Tr, applicant: Option<&Applicant>) -> Client {
    match applicant {
        Some(Applicant::Person {
            name,
            id_number,
            phone,
        }) => Client {
            name: name.as_str().to_owned(),
            id_label: t.s("form.id_number"),
            id: id_number.as_str().to_owned(),
            phone: phone.as_str().to_owned(),
        },
        Some(Applicant::Company {
            name,
            credit_code,
            contact_name,
            contact_phone,
            ..
        }) => Client {
            name: format!(
                "{name}（{} {}）",
                t.s("form.contact"),
                contact_name.as_str()
            ),
            id_label: t.s("form.credit_code"),
            id: credit_code.as_str().to_owned(),
            phone: contact_phone.as_str().to_owned(),
        },
        None => Client {
            name: String::new(),
            id_label: t.s("form.id_number"),
            id: String::new(),
            phone: String::new(),
        },
    }
}

/// One row of a material table on the one-time notice.
struct MaterialLine {
    name: String,
    remark: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "print/one_time_notice.html")]
struct OneTimeNoticePage {
    t: Tr,
    /// The case page, for the link back.
    back: String,
    centre: String,
    case_no: String,
    notice_no: String,
    applicant: String,
    item: String,
    received: String,
    issued: String,
    conforming: Vec<MaterialLine>,
    to_supply: Vec<MaterialLine>,
    note: String,
    /// The two copies: (label) — the applicant's and the centre's.
    copies: [&'static str; 2],
}

#[derive(Template, WebTemplate)]
#[template(path = "print/delegation.html")]
struct DelegationPage {
    t: Tr,
    /// The case page, for the link back.
    back: String,
    centre: String,
    case_no: String,
    agreement_no: String,
    item: String,
    client_name: String,
    id_label: &'static str,
    client_id: String,
    client_phone: String,
    agent_name: String,
    hall_pickup: bool,
    recipient: String,
    address: String,
    recipient_phone: String,
    signed: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "print/service_notice.html")]
struct ServiceNoticePage {
    t: Tr,
    /// The case page, for the link back.
    back: String,
    centre: String,
    case_no: String,
    item: String,
    client_name: String,
    agent_name: String,
    signed: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "print/termination.html")]
struct TerminationPage {
    t: Tr,
    /// The case page, for the link back.
    back: String,
    centre: String,
    case_no: String,
    item: String,
    client_name: String,
    clause: u8,
    ground: &'static str,
    written_reason: String,
    ended: String,
}

/// The last event of the log that `pick` recognises, with the event.
fn last<'a, T>(
    events: &'a [Event],
    pick: impl Fn(&'a EventBody) -> Option<&'a T>,
) -> Option<(&'a Event, &'a T)> {
    events
        .iter()
        .rev()
        .find_map(|e| pick(&e.body).map(|b| (e, b)))
}

fn item_name(state: &CaseState) -> String {
    state
        .item
        .as_ref()
        .map(|i| format!("{}（{}）", i.name, i.code))
        .unwrap_or_default()
}

/// `GET /cases/{case_id}/print/{form}`: one of the four forms, filled in, ready to print.
pub async fn print(
    State(web): State<Web>,
    lang: Lang,
    user: WebUser,
    Path((raw, form)): Path<(String, String)>,
) -> Response {
    let t = Tr::new(lang);
    let not_found = |key: &str| error_page(StatusCode::NOT_FOUND, lang, t.s(key).to_owned());
    let Ok(case_id) = raw.parse::<CaseId>() else {
        return not_found("case.not_found");
    };
    if !matches!(
        form.as_str(),
        "one-time-notice" | "delegation" | "service-notice" | "termination"
    ) {
        return not_found("form.unknown");
    }
    // The form shows the applicant in full: the view is recorded before anything is read out.
    let actor = user.operator.username.as_str();
    let now = time::OffsetDateTime::now_utc();
    let state = match web.store.reveal_personal_data(case_id, actor, now).await {
        Ok(Some(state)) => state,
        Ok(None) => return not_found("case.not_found"),
        Err(e) => return internal_error(&e, lang),
    };
    let events = match web.store.events(case_id).await {
        Ok(events) => events,
        Err(e) => return internal_error(&e, lang),
    };
    let centre = web.name.clone();
    let case_no = state.case_no.to_string();
    let who = client(t, state.applicant.as_ref());
    let mut page = match form.as_str() {
        "one-time-notice" => {
            let Some((issued, notice)) = last(&events, |b| match b {
                EventBody::OneTimeNoticeIssued(n) => Some(n),
                _ => None,
            }) else {
                return not_found("form.not_yet");
            };
            one_time_notice(&web, t, &state, issued, notice, who.name).into_response()
        }
        "delegation" | "service-notice" => {
            let Some((signed, d)) = last(&events, |b| match b {
                EventBody::DelegationSigned(d) => Some(d),
                _ => None,
            }) else {
                return not_found("form.not_yet");
            };
            if form == "delegation" {
                delegation(t, centre, case_no, &state, signed, d, who).into_response()
            } else {
                ServiceNoticePage {
                    t,
                    back: format!("/cases/{case_id}"),
                    centre,
                    case_no,
                    item: item_name(&state),
                    client_name: who.name,
                    agent_name: d.agent_name.clone(),
                    signed: chinese_date(signed.occurred_at),
                }
                .into_response()
            }
        }
        "termination" => {
            let Some((ended, term)) = last(&events, |b| match b {
                EventBody::Terminated(x) => Some(x),
                _ => None,
            }) else {
                return not_found("form.not_yet");
            };
            termination(t, centre, case_no, &state, ended, term, who.name).into_response()
        }
        _ => return not_found("form.unknown"),
    };
    // The personal data itself is never logged; who printed which form of which case is.
    tracing::info!(
        case_id = %case_id,
        form = form.as_str(),
        operator = user.operator.username.as_str(),
        "form printed"
    );
    page.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    page
}

fn one_time_notice(
    web: &Web,
    t: Tr,
    state: &CaseState,
    issued: &Event,
    notice: &OneTimeNotice,
    applicant: String,
) -> OneTimeNoticePage {
    let policy = web.store.policy().current();
    let item = state
        .item
        .as_ref()
        .and_then(|i| policy.catalogue.get(&i.code));
    let how = |name: &str| {
        item.and_then(|i| i.materials.iter().find(|m| m.name == name))
            .and_then(|m| m.how_to_obtain.clone())
    };
    let mut conforming = Vec::new();
    let mut to_supply = Vec::new();
    for m in state.last_review.iter().flat_map(|r| r.materials.iter()) {
        let remark = m.remark.clone().unwrap_or_default();
        if m.verdict == Verdict::Conforming {
            conforming.push(MaterialLine {
                name: m.name.clone(),
                remark,
            });
        } else {
            let mut parts = vec![match m.verdict {
                Verdict::Missing => t.s("step.missing").to_owned(),
                _ => t.s("step.needs_correction").to_owned(),
            }];
            parts.extend((!remark.is_empty()).then_some(remark));
            if let Some(how) = how(&m.name) {
                parts.push(format!("{}：{how}", t.s("step.how_to_obtain")));
            }
            to_supply.push(MaterialLine {
                name: m.name.clone(),
                remark: parts.join("；"),
            });
        }
    }
    OneTimeNoticePage {
        t,
        back: format!("/cases/{}", state.case_id),
        centre: web.name.clone(),
        case_no: state.case_no.to_string(),
        notice_no: notice.notice_no.clone(),
        applicant,
        item: state
            .item
            .as_ref()
            .map(|i| i.name.clone())
            .unwrap_or_default(),
        received: chinese_date(state.opened_at),
        issued: chinese_date(issued.occurred_at),
        conforming,
        to_supply,
        note: notice.note.clone().unwrap_or_default(),
        copies: [t.s("form.copy_applicant"), t.s("form.copy_centre")],
    }
}

fn delegation(
    t: Tr,
    centre: String,
    case_no: String,
    state: &CaseState,
    signed: &Event,
    d: &Delegation,
    who: Client,
) -> DelegationPage {
    let (hall_pickup, recipient, address, recipient_phone) = match &d.delivery {
        Delivery::HallPickup => (true, String::new(), String::new(), String::new()),
        Delivery::Courier {
            recipient,
            address,
            phone,
        } => (
            false,
            recipient.as_str().to_owned(),
            address.as_str().to_owned(),
            phone.as_str().to_owned(),
        ),
    };
    DelegationPage {
        t,
        back: format!("/cases/{}", state.case_id),
        centre,
        case_no,
        agreement_no: d.agreement_no.clone(),
        item: item_name(state),
        client_name: who.name,
        id_label: who.id_label,
        client_id: who.id,
        client_phone: who.phone,
        agent_name: d.agent_name.clone(),
        hall_pickup,
        recipient,
        address,
        recipient_phone,
        signed: chinese_date(signed.occurred_at),
    }
}

fn termination(
    t: Tr,
    centre: String,
    case_no: String,
    state: &CaseState,
    ended: &Event,
    term: &Termination,
    client_name: String,
) -> TerminationPage {
    TerminationPage {
        t,
        back: format!("/cases/{}", state.case_id),
        centre,
        case_no,
        item: item_name(state),
        client_name,
        clause: termination_clause(term.reason),
        ground: termination_label(t, term.reason),
        written_reason: term.written_reason.clone(),
        ended: chinese_date(ended.occurred_at),
    }
}
