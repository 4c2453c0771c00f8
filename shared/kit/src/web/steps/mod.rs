//! The steps of a case after intake, done from the case page: pre-review against the item's
//! material list, the one-time notice, the supplement, assisting at the window or signing the
//! delegation, handling, suspension and resumption, escalation and return, the result, its
//! handover, completion, termination, trips, evaluation and follow-up.
//!
//! The case page offers only the steps the case's stage allows ([`Offers`]); the state machine
//! in the domain still decides (a stale page gets its refusal beside the form). Every form posts
//! to `POST /cases/{case_id}/steps` with its `kind` and an event id made when the page was
//! rendered, so a resent form is stored once; success answers 303 to the case page, a refusal
//! shows the page again with what was typed and the reason beside the field, and saves nothing.

pub mod words;

use axum::extract::rejection::FormRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use bangban_domain::case::{CaseState, Stage};
use bangban_domain::catalogue::CatalogueItem;
use bangban_domain::event::{
    CaseId, CaseResult, CaseType, Comment, Delegation, Delivery, Escalation, Evaluation, EventBody,
    EventKind, HandlingStart, Handover, HandoverMethod, MaterialVerdict, Note, OneTimeNotice,
    Outcome, PreReview, Return, Satisfaction, Supplement, Suspension, Termination,
    TerminationReason, Verdict, Visit, VisitKind, WindowAssist,
};
use bangban_domain::ident::{Address, MobileNumber, PersonName};
use bangban_domain::station::{StationCode, Tier};
use uuid::Uuid;

use super::Web;
use super::i18n::{Lang, Tr};
use super::pages::{csrf_refused, error_page, internal_error};
use super::session::{WebUser, check_form};
use crate::intake::{IntakeError, NewEvent};
use crate::store::StoreError;

/// The fields of a posted step form, as sent (`application/x-www-form-urlencoded` pairs).
#[derive(Debug, Default, Clone)]
pub struct Posted {
    pairs: Vec<(String, String)>,
}

impl Posted {
    /// The first value of `name`, trimmed; empty when absent.
    pub fn get(&self, name: &str) -> &str {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.trim())
    }

    /// Every non-empty value of `name` (checkboxes).
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.pairs
            .iter()
            .filter(|(k, v)| k == name && !v.trim().is_empty())
            .map(|(_, v)| v.trim())
            .collect()
    }

    fn opt(&self, name: &str) -> Option<String> {
        let v = self.get(name);
        (!v.is_empty()).then(|| v.to_owned())
    }

    fn req(&self, name: &'static str) -> Result<String, Refusal> {
        self.opt(name).ok_or(Refusal::Field(name, "step.required"))
    }

    fn checked(&self, name: &str) -> bool {
        matches!(self.get(name), "on" | "true" | "1" | "yes")
    }
}

/// A refused form, as the page shows it again: what was typed, and the reason beside its field.
#[derive(Debug, Default, Clone)]
pub struct Sticky {
    /// The step the form was for (`pre_reviewed` …); empty when nothing was refused.
    pub kind: String,
    posted: Posted,
    /// The input the message is about, or empty for the form as a whole.
    pub field: String,
    pub message: String,
    /// The message at the top of the steps: the step's name and the message.
    pub summary: String,
}

impl Sticky {
    /// What was typed into `name` of the `kind` form, or `default` when that form was not sent.
    pub fn val<'a>(&'a self, kind: &str, name: &str, default: &'a str) -> &'a str {
        if self.kind == kind {
            self.posted.get(name)
        } else {
            default
        }
    }

    /// Whether `value` was chosen for `name` in the `kind` form, else `default`.
    pub fn chose(
        &self,
        kind: &str,
        name: &str,
        value: &str,
        default: impl std::borrow::Borrow<bool>,
    ) -> bool {
        if self.kind == kind {
            self.posted.all(name).contains(&value)
        } else {
            *default.borrow()
        }
    }

    /// The message when it is about `name` of the `kind` form.
    pub fn err(&self, kind: &str, name: &str) -> &str {
        if self.kind == kind && self.field == name {
            &self.message
        } else {
            ""
        }
    }

    /// The message when it is about the `kind` form as a whole (no one field).
    pub fn form_err(&self, kind: &str) -> &str {
        if self.kind == kind && self.field.is_empty() {
            &self.message
        } else {
            ""
        }
    }

    /// Whether the `kind` form was refused (its `<details>` opens again).
    pub fn open(&self, kind: &str) -> bool {
        self.kind == kind
    }

    /// The event id the `kind` form carries: the refused form's own, or a fresh one, so that
    /// each form on the page has its own and a resent form is stored once.
    pub fn id(&self, kind: &str) -> String {
        self.sent(kind, "event_id")
    }

    /// The id of the trip recorded with the `kind` step, the same way.
    pub fn visit_id(&self, kind: &str) -> String {
        self.sent(kind, "visit_id")
    }

    fn sent(&self, kind: &str, name: &str) -> String {
        let sent = self.posted.get(name);
        if self.kind == kind && sent.parse::<Uuid>().is_ok() {
            sent.to_owned()
        } else {
            Uuid::now_v7().to_string()
        }
    }
}

impl Sticky {
    /// Puts a refused pre-review's choices back into its rows.
    pub fn apply_to(&self, rows: &mut [MaterialRow]) {
        if self.kind != EventKind::PreReviewed.as_str() {
            return;
        }
        for (i, row) in rows.iter_mut().enumerate() {
            row.last = match self.posted.get(&format!("m{i}.verdict")) {
                "conforming" => "conforming",
                "missing" => "missing",
                "needs_correction" => "needs_correction",
                "not_submitted" => "not_submitted",
                _ => "",
            };
            row.last_remark = self.posted.get(&format!("m{i}.remark")).to_owned();
            if self.field == format!("m{i}.verdict") {
                row.error = self.message.clone();
            }
        }
    }
}

/// One material of the item at pre-review.
#[derive(Debug, Clone)]
pub struct MaterialRow {
    pub name: String,
    /// Required, optional, or accepted now and supplied later.
    pub necessity: &'static str,
    /// Original or copy.
    pub form: &'static str,
    pub how_to_obtain: String,
    /// The verdict of the last pre-review, if any (`conforming` …).
    pub last: &'static str,
    pub last_remark: String,
    /// Optional: may be left out of the review (not submitted, does not hold the case up).
    pub optional: bool,
    /// Why the refused form was refused at this material.
    pub error: String,
    /// The links to its blank form and its sample (`/catalogue/files/…`), or empty.
    pub blank_form: String,
    pub sample: String,
}

/// The steps the case page offers, and the defaults their forms start with.
#[derive(Debug, Default)]
pub struct Offers {
    /// The signed-in operator may handle cases here (otherwise no form is shown at all).
    pub may_act: bool,
    pub pre_review: Vec<MaterialRow>,
    pub offer_pre_review: bool,
    pub notice: bool,
    pub notice_no: String,
    pub supplement: Vec<String>,
    pub window: bool,
    pub delegation: bool,
    pub agreement_no: String,
    pub agent_name: String,
    /// The centre's active agents to pick from when a signed roster is in force (`None`: the
    /// agent's name is typed).
    pub agents: Option<Vec<AgentOption>>,
    pub handling: bool,
    pub department: String,
    pub suspend: bool,
    pub resume: bool,
    /// Tiers the case may be escalated to: (value, label).
    pub escalate: Vec<(&'static str, &'static str)>,
    pub accept_upstream: bool,
    /// Stations the case may be returned to: (code, label).
    pub return_to: Vec<(String, String)>,
    pub result: bool,
    pub handover: bool,
    pub complete: bool,
    pub terminate: bool,
    pub evaluate: bool,
    /// The last evaluation was bad and has no follow-up yet.
    pub follow_up: bool,
    pub visit: bool,
    pub courier_allowed: bool,
}

/// One active agent of the centre, as the delegation form offers them.
#[derive(Debug, Clone)]
pub struct AgentOption {
    pub name: String,
    /// The role and the badge number, in the page's language.
    pub label: String,
}

/// The active agents of `me` in the roster in force, for the delegation form; `None` when no
/// roster is in force.
pub fn agent_options(
    t: Tr,
    me: StationCode,
    agents: Option<&[bangban_domain::agent::Agent]>,
) -> Option<Vec<AgentOption>> {
    use bangban_domain::agent::AgentRole;
    let agents = agents?;
    Some(
        agents
            .iter()
            .filter(|a| a.centre == me && a.is_active())
            .map(|a| AgentOption {
                name: a.name.as_str().to_owned(),
                label: format!(
                    "{}，{} {}",
                    t.s(match a.role {
                        AgentRole::AssistingAgent => "agent.role.assisting_agent",
                        AgentRole::ChiefRepresentative => "agent.role.chief_representative",
                        AgentRole::HallGuide => "agent.role.hall_guide",
                    }),
                    t.s("agent.badge"),
                    a.badge_no
                ),
            })
            .collect(),
    )
}

fn necessity_key(necessity: u8) -> &'static str {
    match necessity {
        1 => "step.necessity_required",
        2 => "step.necessity_optional",
        _ => "step.necessity_later",
    }
}

fn verdict_value(v: Verdict) -> &'static str {
    match v {
        Verdict::Conforming => "conforming",
        Verdict::Missing => "missing",
        Verdict::NeedsCorrection => "needs_correction",
    }
}

/// The materials to review: the item's list in the catalogue in force, with the last review's
/// verdicts; the last review's own list when the item has left the catalogue.
fn material_rows(t: Tr, state: &CaseState, item: Option<&CatalogueItem>) -> Vec<MaterialRow> {
    use super::catalogue_files::href;
    let last = |name: &str| {
        state
            .last_review
            .as_ref()
            .and_then(|r| r.materials.iter().find(|m| m.name == name))
    };
    match item {
        Some(item) if !item.materials.is_empty() => item
            .materials
            .iter()
            .map(|m| MaterialRow {
                name: m.name.clone(),
                necessity: t.s(necessity_key(m.necessity)),
                form: t.s(if m.original {
                    "step.original"
                } else {
                    "step.copy"
                }),
                how_to_obtain: m.how_to_obtain.clone().unwrap_or_default(),
                last: last(&m.name).map_or("", |v| verdict_value(v.verdict)),
                last_remark: last(&m.name)
                    .and_then(|v| v.remark.clone())
                    .unwrap_or_default(),
                optional: m.necessity != 1,
                error: String::new(),
                blank_form: m.blank_form.as_ref().map(href).unwrap_or_default(),
                sample: m.sample.as_ref().map(href).unwrap_or_default(),
            })
            .collect(),
        _ => state
            .last_review
            .iter()
            .flat_map(|r| r.materials.iter())
            .map(|m| MaterialRow {
                name: m.name.clone(),
                necessity: t.s("step.necessity_required"),
                form: "",
                how_to_obtain: String::new(),
                last: verdict_value(m.verdict),
                last_remark: m.remark.clone().unwrap_or_default(),
                optional: false,
                error: String::new(),
                blank_form: String::new(),
                sample: String::new(),
            })
            .collect(),
    }
}

/// What the case page offers `me` for `state`. `kinds` is the case's log, oldest first.
pub fn offers(
    t: Tr,
    me: StationCode,
    may_handle: bool,
    agent_name: &str,
    state: &CaseState,
    kinds: &[EventKind],
    item: Option<&CatalogueItem>,
) -> Offers {
    use Stage as S;
    let mut o = Offers {
        may_act: may_handle,
        agent_name: agent_name.to_owned(),
        ..Offers::default()
    };
    if !may_handle {
        return o;
    }
    let held = state.holder == me;
    let suspended = state.is_suspended();
    let active = held && !suspended;
    let immediate = state.item.as_ref().map(|i| i.case_type) == Some(CaseType::Immediate);
    o.visit = true;
    o.evaluate = matches!(state.stage, S::Completed | S::Terminated);
    // A bad rating is followed up: offered until a comment follows the last evaluation.
    let last_eval = kinds.iter().rposition(|k| *k == EventKind::Evaluated);
    o.follow_up = state.evaluations.last().is_some_and(|l| l.is_bad())
        && last_eval.is_some_and(|i| !kinds[i..].contains(&EventKind::Commented));
    o.resume = held && suspended;
    o.terminate = held && state.stage.is_open();
    if !active {
        return o;
    }
    o.offer_pre_review = state.stage == S::Received;
    if o.offer_pre_review {
        o.pre_review = material_rows(t, state, item);
    }
    o.notice = state.stage == S::Incomplete;
    o.notice_no = format!("{}-G{}", state.case_no, state.one_time_notices + 1);
    if state.stage == S::AwaitingSupplement {
        o.supplement = state
            .last_review
            .iter()
            .flat_map(|r| r.materials.iter())
            .filter(|m| m.verdict != Verdict::Conforming)
            .map(|m| m.name.clone())
            .collect();
    }
    o.window = state.stage == S::Reviewed && immediate;
    o.delegation = state.stage == S::Reviewed && !immediate;
    o.agreement_no = format!("{}-W", state.case_no);
    o.courier_allowed = item.is_none_or(|i| i.courier_delivery);
    o.handling = state.stage == S::Delegated;
    o.department = item.map(|i| i.department.clone()).unwrap_or_default();
    o.suspend = matches!(state.stage, S::Delegated | S::InProgress);
    if matches!(state.stage, S::Delegated | S::InProgress) {
        let mut tier = state.holder.tier().parent_tier();
        while let Some(up) = tier {
            o.escalate.push((up.as_str(), tier_label(t, up)));
            tier = up.parent_tier();
        }
    }
    o.accept_upstream = state.stage == S::Escalated;
    if matches!(state.stage, S::Escalated | S::InProgress | S::ResultReady) {
        o.return_to = state
            .chain
            .iter()
            .map(|c| (c.to_string(), format!("{}（{c}）", tier_label(t, c.tier()))))
            .collect();
    }
    o.result = state.stage == S::InProgress;
    o.handover = state.stage == S::ResultReady;
    o.complete = matches!(state.stage, S::HandedOver | S::AtWindow | S::Consultation);
    o
}

pub fn tier_label(t: Tr, tier: Tier) -> &'static str {
    t.s(match tier {
        Tier::District => "tier.district",
        Tier::Town => "tier.town",
        Tier::Village => "tier.village",
    })
}

/// Why a form was refused before it reached the intake service.
#[derive(Debug)]
enum Refusal {
    /// The input named, with the message key.
    Field(&'static str, &'static str),
    /// Material `i` of the pre-review, with the message key.
    Material(usize, &'static str),
    /// The form as a whole, with the message key.
    Form(&'static str),
}

/// Reads the posted form of `kind` into the event body it stands for.
fn body_of(kind: EventKind, f: &Posted) -> Result<EventBody, Refusal> {
    use EventKind as K;
    let note = || Note {
        note: f.opt("note"),
    };
    Ok(match kind {
        K::PreReviewed => {
            let mut materials = Vec::new();
            for i in 0.. {
                let name = f.get(&format!("m{i}.name"));
                if name.is_empty() {
                    break;
                }
                let verdict = match f.get(&format!("m{i}.verdict")) {
                    "conforming" => Verdict::Conforming,
                    "missing" => Verdict::Missing,
                    "needs_correction" => Verdict::NeedsCorrection,
                    // An optional material not submitted does not hold the case up.
                    "not_submitted" => continue,
                    _ => return Err(Refusal::Material(i, "step.verdict_missing")),
                };
                materials.push(MaterialVerdict {
                    name: name.to_owned(),
                    verdict,
                    remark: f.opt(&format!("m{i}.remark")),
                });
            }
            if materials.is_empty() {
                return Err(Refusal::Form("step.no_materials"));
            }
            EventBody::PreReviewed(PreReview { materials })
        }
        K::OneTimeNoticeIssued => EventBody::OneTimeNoticeIssued(OneTimeNotice {
            notice_no: f.req("notice_no")?,
            note: f.opt("note"),
        }),
        K::SupplementReceived => {
            let materials: Vec<String> =
                f.all("materials").into_iter().map(str::to_owned).collect();
            if materials.is_empty() {
                return Err(Refusal::Field("materials", "step.pick_materials"));
            }
            EventBody::SupplementReceived(Supplement {
                materials,
                collected_at_home: f.checked("collected_at_home"),
            })
        }
        K::AssistedAtWindow => EventBody::AssistedAtWindow(WindowAssist {
            window: f.req("window")?,
            note: f.opt("note"),
        }),
        K::DelegationSigned => {
            let delivery = match f.get("delivery") {
                "hall_pickup" => Delivery::HallPickup,
                "courier" => Delivery::Courier {
                    recipient: PersonName::new(f.req("recipient")?),
                    address: Address::new(f.req("address")?),
                    phone: MobileNumber::parse(f.get("phone"))
                        .map_err(|_| Refusal::Field("phone", "step.bad_phone"))?,
                },
                _ => return Err(Refusal::Field("delivery", "step.pick_delivery")),
            };
            // The service notice is handed over with the agreement and acknowledged.
            if !f.checked("ack") {
                return Err(Refusal::Field("ack", "step.ack_missing"));
            }
            EventBody::DelegationSigned(Delegation {
                agreement_no: f.req("agreement_no")?,
                agent_name: f.req("agent_name")?,
                delivery,
            })
        }
        K::HandlingStarted => EventBody::HandlingStarted(HandlingStart {
            department: f.req("department")?,
            note: f.opt("note"),
        }),
        K::Suspended => EventBody::Suspended(Suspension {
            reason: f.req("reason")?,
            procedure: f.opt("procedure"),
        }),
        K::Resumed => EventBody::Resumed(note()),
        K::Escalated => EventBody::Escalated(Escalation {
            to_tier: Tier::ALL
                .into_iter()
                .find(|t| t.as_str() == f.get("to_tier"))
                .ok_or(Refusal::Field("to_tier", "step.pick_tier"))?,
            reason: f.req("reason")?,
        }),
        K::AcceptedUpstream => EventBody::AcceptedUpstream(note()),
        K::ReturnedDown => EventBody::ReturnedDown(Return {
            to: f
                .get("to")
                .parse()
                .map_err(|_| Refusal::Field("to", "step.pick_station"))?,
            reason: f.req("reason")?,
        }),
        K::ResultReady => EventBody::ResultReady(CaseResult {
            outcome: match f.get("outcome") {
                "approved" => Outcome::Approved,
                "rejected" => Outcome::Rejected,
                "other" => Outcome::Other,
                _ => return Err(Refusal::Field("outcome", "step.pick_outcome")),
            },
            certificate_no: f.opt("certificate_no"),
            explanation: f.opt("explanation"),
        }),
        K::HandedOver => EventBody::HandedOver(Handover {
            method: match f.get("method") {
                "pickup" => HandoverMethod::Pickup,
                "courier" => HandoverMethod::Courier {
                    tracking_no: f.opt("tracking_no"),
                },
                "home_delivery" => HandoverMethod::HomeDelivery,
                _ => return Err(Refusal::Field("method", "step.pick_method")),
            },
            received_by: PersonName::new(f.req("received_by")?),
        }),
        K::Completed => EventBody::Completed(note()),
        K::Terminated => EventBody::Terminated(Termination {
            reason: match f.get("reason") {
                "client_withdrew" => TerminationReason::ClientWithdrew,
                "false_or_non_conforming" => TerminationReason::FalseOrNonConforming,
                "cannot_complete" => TerminationReason::CannotComplete,
                "other" => TerminationReason::Other,
                _ => return Err(Refusal::Field("reason", "step.pick_reason")),
            },
            written_reason: f.req("written_reason")?,
        }),
        K::VisitRecorded => EventBody::VisitRecorded(Visit {
            kind: match f.get("visit_kind") {
                "on_site" => VisitKind::OnSite,
                "home_visit" => VisitKind::HomeVisit,
                _ => return Err(Refusal::Field("visit_kind", "step.pick_visit")),
            },
            note: f.opt("note"),
        }),
        K::Evaluated => EventBody::Evaluated(Evaluation {
            level: match f.get("level") {
                "very_satisfied" => Satisfaction::VerySatisfied,
                "satisfied" => Satisfaction::Satisfied,
                "basically_satisfied" => Satisfaction::BasicallySatisfied,
                "dissatisfied" => Satisfaction::Dissatisfied,
                "very_dissatisfied" => Satisfaction::VeryDissatisfied,
                _ => return Err(Refusal::Field("level", "step.pick_level")),
            },
            comment: f.opt("comment"),
        }),
        K::Commented => EventBody::Commented(Comment {
            text: f.req("text")?,
        }),
        K::ConsultationRecorded | K::ApplicationReceived | K::AttachmentAdded => {
            return Err(Refusal::Form("step.unknown"));
        }
    })
}

/// The input a domain refusal is about, from the event's field name (`delivery.recipient` is the
/// form's `recipient`).
fn input_of(field: &str) -> String {
    match field {
        "materials.name" | "materials" => "materials".to_owned(),
        f => f.rsplit('.').next().unwrap_or(f).to_owned(),
    }
}

/// The field of a refusal the intake service gave, when it names one.
fn field_of(e: &IntakeError) -> Option<&'static str> {
    use bangban_domain::case::TransitionError;
    match e {
        IntakeError::Store(StoreError::Transition(TransitionError::Invalid(ev))) => ev.field(),
        other => other.field(),
    }
}

/// `POST /cases/{case_id}/steps`: the next step of the case, from its form on the case page.
pub async fn submit(
    State(web): State<Web>,
    lang: Lang,
    user: WebUser,
    headers: HeaderMap,
    Path(raw): Path<String>,
    form: Result<axum::Form<Vec<(String, String)>>, FormRejection>,
) -> Response {
    let t = Tr::new(lang);
    let posted = Posted {
        pairs: form.map(|axum::Form(p)| p).unwrap_or_default(),
    };
    if !check_form(&headers, &user, posted.get("csrf")) {
        return csrf_refused(lang);
    }
    let Ok(case_id) = raw.parse::<CaseId>() else {
        return error_page(
            StatusCode::NOT_FOUND,
            lang,
            t.s("case.not_found").to_owned(),
        );
    };
    let kind_name = posted.get("kind").to_owned();
    // The message on top names the step; the one beside the field says what is wrong there.
    // Only the kinds a step form sends get past `body_of`; the rest are refused there.
    let kind = kind_name.parse::<EventKind>().ok();
    let step_label = kind.map(|k| t.pick(k.label_zh(), k.label_en()));
    let refuse = |field: &str, message: String| Sticky {
        kind: kind_name.clone(),
        posted: posted.clone(),
        field: field.to_owned(),
        summary: match step_label {
            Some(step) => format!("{step}：{message}"),
            None => message.clone(),
        },
        message,
    };
    let Some(kind) = kind else {
        let sticky = refuse("", t.s("step.unknown").to_owned());
        return super::cases::render(&web, lang, &user, &headers, case_id, sticky).await;
    };
    let body = match body_of(kind, &posted) {
        Ok(body) => body,
        Err(Refusal::Field(field, key)) => {
            let sticky = refuse(field, t.s(key).to_owned());
            return super::cases::render(&web, lang, &user, &headers, case_id, sticky).await;
        }
        Err(Refusal::Material(i, key)) => {
            let sticky = refuse(&format!("m{i}.verdict"), t.s(key).to_owned());
            return super::cases::render(&web, lang, &user, &headers, case_id, sticky).await;
        }
        Err(Refusal::Form(key)) => {
            let sticky = refuse("", t.s(key).to_owned());
            return super::cases::render(&web, lang, &user, &headers, case_id, sticky).await;
        }
    };
    let Ok(event_id) = posted.get("event_id").parse::<Uuid>() else {
        // Only a tampered form lacks its id.
        let sticky = refuse("", t.s("error.csrf").to_owned());
        return super::cases::render(&web, lang, &user, &headers, case_id, sticky).await;
    };
    // Trips that come with the step (the applicant came to hand materials in, or to fetch the
    // result): recorded after it, each with its own id from the form, so a resend adds none.
    let trip = match (&body, posted.get("trip")) {
        (_, "on_site") => Some(VisitKind::OnSite),
        (EventBody::SupplementReceived(s), _) if s.collected_at_home => Some(VisitKind::HomeVisit),
        _ => None,
    };
    let intake = web.intake();
    let actor = user.operator.username.as_str();
    let step = NewEvent {
        event_id: Some(event_id),
        body,
    };
    match intake.append_step(actor, case_id, step).await {
        Ok(_) => {}
        Err(IntakeError::CaseNotFound) => {
            return error_page(
                StatusCode::NOT_FOUND,
                lang,
                t.s("case.not_found").to_owned(),
            );
        }
        Err(IntakeError::Store(e)) if !e.is_client_error() => return internal_error(&e, lang),
        Err(e) => {
            let field = field_of(&e).map(input_of).unwrap_or_default();
            let problem = crate::http::Problem::from(e);
            let message = t.pick(&problem.message_zh, &problem.message_en).to_owned();
            let sticky = refuse(&field, message);
            return super::cases::render(&web, lang, &user, &headers, case_id, sticky).await;
        }
    }
    if let Some(kind) = trip
        && let Ok(visit_id) = posted.get("visit_id").parse::<Uuid>()
    {
        let visit = NewEvent {
            event_id: Some(visit_id),
            body: EventBody::VisitRecorded(Visit { kind, note: None }),
        };
        if let Err(e) = intake.append_step(actor, case_id, visit).await {
            // The step stands; the trip can be recorded by hand from the case page.
            tracing::warn!(case_id = %case_id, error = %e, "trip not recorded with its step");
        }
    }
    Redirect::to(&format!("/cases/{case_id}#log")).into_response()
}
