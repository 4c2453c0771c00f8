//! The intake service: taking a case in, appending its next step and building the view an
//! operator sees, once, for every front end (the JSON API today, the web UI next). A handler
//! only parses, calls and renders; the rules live here and in the state machine.
//!
//! Personal data is masked in every view: the applicant by name only, identifiers and phones
//! in events by type (`crate::api::mask`).

use bangban_domain::Bilingual;
use bangban_domain::calendar::Deadline;
use bangban_domain::case::{CaseState, TransitionError};
use bangban_domain::catalogue::CatalogueItem;
use bangban_domain::event::{
    Applicant, Application, CaseId, CaseNumber, Channel, Consultation, Event, EventBody, EventId,
};
use bangban_domain::station::StationCode;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::api::mask::mask_json;
use crate::policy::{Policy, PolicyHandle};
use crate::store::{Appended, CaseStore, StoreError};

/// `POST /api/v1/cases`: a new consultation or application taken in at this centre.
#[derive(Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum NewCase {
    Application {
        channel: Channel,
        item_code: String,
        /// Checked field by field so that a bad ID number or phone gets its own Chinese message.
        applicant: Value,
        /// Optional client-made id (UUID) so that a retried request does not open two cases.
        #[serde(default)]
        case_id: Option<Uuid>,
    },
    Consultation {
        channel: Channel,
        topic: String,
        #[serde(default)]
        item_code: Option<String>,
        #[serde(default)]
        answer: Option<String>,
        #[serde(default)]
        case_id: Option<Uuid>,
    },
}

/// `POST /api/v1/cases/{id}/events`: the next step, as `{"kind": …, "payload": {…}}`.
#[derive(Debug, Deserialize)]
pub struct NewEvent {
    /// Optional client-made id (UUIDv7) so that a retried request is stored once.
    #[serde(default)]
    pub event_id: Option<Uuid>,
    #[serde(flatten)]
    pub body: EventBody,
}

/// A case as the operator API shows it; personal data masked.
#[derive(Debug, Serialize)]
pub struct CaseView {
    pub case_id: String,
    pub case_no: String,
    pub origin: String,
    pub holder: String,
    pub held_here: bool,
    pub stage: String,
    pub stage_label: &'static str,
    pub suspended: bool,
    pub item: Option<Value>,
    pub applicant: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub opened_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub accepted_at: Option<OffsetDateTime>,
    pub due: Option<Value>,
    pub overdue: bool,
    pub visits: u32,
    pub escalations: u32,
    pub events: Vec<Value>,
}

/// Why the intake service refused or failed. Each maps to one problem document
/// (`From<IntakeError> for Problem`).
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    #[error("no service item {0} in the catalogue")]
    UnknownItem(String),
    #[error("item {code} cannot be taken in at a {tier} centre")]
    ItemNotAtThisTier {
        code: String,
        name: String,
        tier: bangban_domain::station::Tier,
    },
    /// A field the operator typed does not check (an ID number, a phone, the applicant).
    #[error("{message_en}")]
    Invalid {
        code: &'static str,
        message_zh: String,
        message_en: String,
    },
    #[error("no such case")]
    CaseNotFound,
    #[error("open new cases with POST /api/v1/cases")]
    OpensCase,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl IntakeError {
    fn invalid(e: &dyn Bilingual) -> IntakeError {
        IntakeError::Invalid {
            code: e.code(),
            message_zh: e.message_zh(),
            message_en: e.message_en(),
        }
    }
}

impl From<IntakeError> for crate::http::Problem {
    fn from(err: IntakeError) -> Self {
        use crate::http::Problem;
        use axum::http::StatusCode;
        let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
        match err {
            IntakeError::UnknownItem(code) => Problem::new(
                unprocessable,
                "item.unknown",
                format!("事项目录中没有编码为 {code} 的事项"),
                format!("no service item {code} in the catalogue"),
            ),
            IntakeError::ItemNotAtThisTier { code, name, tier } => Problem::new(
                unprocessable,
                "item.not_at_this_tier",
                format!("事项“{name}”不在本级受理范围内"),
                format!("item {code} cannot be taken in at a {tier} centre"),
            ),
            IntakeError::Invalid {
                code,
                message_zh,
                message_en,
            } => Problem::new(unprocessable, code, message_zh, message_en),
            IntakeError::CaseNotFound => Problem::not_found("该办件", "case"),
            IntakeError::OpensCase => Problem::new(
                unprocessable,
                "case.already_open",
                "新办件请通过“新建办件”登记".to_owned(),
                "open new cases with POST /api/v1/cases".to_owned(),
            ),
            IntakeError::Store(e) => e.into(),
        }
    }
}

/// A case taken in, or found already taken in (a retried request with the same case id).
#[derive(Debug)]
pub struct Opened {
    pub view: CaseView,
    /// `false` when the case existed before this request.
    pub created: bool,
}

/// The intake service of one node.
#[derive(Clone)]
pub struct Intake {
    pub me: StationCode,
    pub store: CaseStore,
    pub policy: PolicyHandle,
}

impl Intake {
    fn event(&self, actor: &str, case_id: CaseId, id: Option<Uuid>, body: EventBody) -> Event {
        Event {
            event_id: EventId::from_uuid(id.unwrap_or_else(Uuid::now_v7)),
            case_id,
            author: self.me,
            actor: Some(actor.to_owned()),
            occurred_at: OffsetDateTime::now_utc(),
            body,
        }
    }

    /// The service items this centre may take in, under the policy in force.
    pub fn items(&self) -> Vec<CatalogueItem> {
        let policy = self.policy.current();
        policy
            .catalogue
            .for_intake(self.me.tier())
            .cloned()
            .collect()
    }

    fn intake_item<'a>(
        &self,
        policy: &'a Policy,
        code: &str,
    ) -> Result<&'a CatalogueItem, IntakeError> {
        let item = policy
            .catalogue
            .get(code)
            .ok_or_else(|| IntakeError::UnknownItem(code.to_owned()))?;
        if !item.intake_tiers.contains(&self.me.tier()) {
            return Err(IntakeError::ItemNotAtThisTier {
                code: item.code.clone(),
                name: item.name.clone(),
                tier: self.me.tier(),
            });
        }
        Ok(item)
    }

    /// Takes a consultation or an application in at this centre, by operator `actor`. The
    /// request is checked in full before a case number is taken, so a refused request never
    /// uses one up; a retry with the same case id answers with the case as it is.
    pub async fn open_case(&self, actor: &str, new: NewCase) -> Result<Opened, IntakeError> {
        let now = OffsetDateTime::now_utc();
        // One snapshot of the policy for the whole request (see crate::policy).
        let policy = self.policy.current();
        let provisional = CaseNumber::new(self.me, bangban_domain::calendar::local_date(now), 1)
            .map_err(|e| IntakeError::Store(StoreError::Corrupt(e.to_string())))?;
        let (case_id, mut body) = match new {
            NewCase::Application {
                channel,
                item_code,
                applicant,
                case_id,
            } => {
                let item = self.intake_item(&policy, &item_code)?;
                let applicant = parse_applicant(applicant)?;
                (
                    case_id,
                    EventBody::ApplicationReceived(Application {
                        case_no: provisional,
                        channel,
                        item: item.item_ref(),
                        applicant,
                    }),
                )
            }
            NewCase::Consultation {
                channel,
                topic,
                item_code,
                answer,
                case_id,
            } => {
                let item = match item_code.as_deref() {
                    Some(code) => Some(self.intake_item(&policy, code)?.item_ref()),
                    None => None,
                };
                (
                    case_id,
                    EventBody::ConsultationRecorded(Consultation {
                        case_no: provisional,
                        channel,
                        topic,
                        item,
                        answer,
                    }),
                )
            }
        };
        let case_id = CaseId::from_uuid(case_id.unwrap_or_else(Uuid::now_v7));
        if !self.store.events(case_id).await?.is_empty() {
            return Ok(Opened {
                view: self.case_view(case_id).await?,
                created: false,
            });
        }
        self.event(actor, case_id, None, body.clone())
            .validate()
            .map_err(|e| IntakeError::invalid(&e))?;
        let case_no = self.store.next_case_number(self.me, now).await?;
        match &mut body {
            EventBody::ApplicationReceived(a) => a.case_no = case_no,
            EventBody::ConsultationRecorded(c) => c.case_no = case_no,
            _ => {}
        }
        let ev = self.event(actor, case_id, None, body);
        match self.store.append(&ev, now).await {
            Ok(_) => {}
            // The same case id opened concurrently: answer with the case as it is.
            Err(StoreError::Transition(TransitionError::AlreadyOpen { .. })) => {}
            Err(e) => return Err(e.into()),
        }
        tracing::info!(case_id = %case_id, operator = actor, "case opened");
        Ok(Opened {
            view: self.case_view(case_id).await?,
            created: true,
        })
    }

    /// Appends the next step of a case by operator `actor`. A retry with the same event id is
    /// answered with the case as it is (the first one's time and actor stand).
    pub async fn append_step(
        &self,
        actor: &str,
        case_id: CaseId,
        new: NewEvent,
    ) -> Result<CaseView, IntakeError> {
        if new.body.kind().opens_case() {
            return Err(IntakeError::OpensCase);
        }
        let history = self.store.events(case_id).await?;
        if history.is_empty() {
            return Err(IntakeError::CaseNotFound);
        }
        if let Some(id) = new.event_id
            && let Some(stored) = history.iter().find(|e| e.event_id.as_uuid() == id)
        {
            if stored.body == new.body && stored.author == self.me {
                return self.case_view(case_id).await;
            }
            return Err(StoreError::EventIdReused(stored.event_id).into());
        }
        let ev = self.event(actor, case_id, new.event_id, new.body);
        if let Appended::Stored { .. } = self.store.append(&ev, OffsetDateTime::now_utc()).await? {
            tracing::info!(case_id = %case_id, kind = %ev.kind(), operator = actor, "event appended");
        }
        self.case_view(case_id).await
    }

    /// The case as an operator sees it; personal data masked.
    pub async fn case_view(&self, case_id: CaseId) -> Result<CaseView, IntakeError> {
        let (state, events) = self
            .store
            .case(case_id)
            .await?
            .ok_or(IntakeError::CaseNotFound)?;
        Ok(self.view(&state, &events))
    }

    fn view(&self, state: &CaseState, events: &[Event]) -> CaseView {
        let now = OffsetDateTime::now_utc();
        let deadline = state
            .deadline(&self.policy.current().calendar)
            .and_then(Result::ok);
        let due = deadline.as_ref().map(|d| match d {
            Deadline::Due { date, provisional } => serde_json::json!({
                "state": "due", "date": date.to_string(), "provisional": provisional
            }),
            Deadline::Paused { counted, remaining } => serde_json::json!({
                "state": "paused", "counted": counted, "remaining": remaining
            }),
        });
        let events = events
            .iter()
            .map(|ev| {
                let mut v = serde_json::to_value(ev).unwrap_or(Value::Null);
                mask_json(&mut v);
                if let Value::Object(map) = &mut v {
                    map.insert("kind_label".into(), Value::from(ev.kind().label_zh()));
                }
                v
            })
            .collect();
        CaseView {
            case_id: state.case_id.to_string(),
            case_no: state.case_no.to_string(),
            origin: state.origin.to_string(),
            holder: state.holder.to_string(),
            held_here: state.holder == self.me,
            stage: state.stage.as_str().to_owned(),
            stage_label: state.stage.label_zh(),
            suspended: state.is_suspended(),
            item: state
                .item
                .as_ref()
                .and_then(|i| serde_json::to_value(i).ok()),
            applicant: state.applicant.as_ref().map(Applicant::display_name),
            opened_at: state.opened_at,
            accepted_at: state.accepted_at,
            due,
            overdue: state.stage.is_open() && deadline.is_some_and(|d| d.is_overdue(now)),
            visits: state.visits,
            escalations: state.escalations,
            events,
        }
    }
}

/// Reads an applicant, turning identifier errors into their own bilingual problems (serde would
/// only give an English message naming no field).
pub fn parse_applicant(raw: Value) -> Result<Applicant, IntakeError> {
    use bangban_domain::ident::{CreditCode, MobileNumber, ResidentId};
    let invalid = |e: &dyn Bilingual| IntakeError::invalid(e);
    let text = |key: &str| raw.get(key).and_then(Value::as_str).unwrap_or_default();
    match raw.get("type").and_then(Value::as_str) {
        Some("person") => {
            ResidentId::parse(text("id_number")).map_err(|e| invalid(&e))?;
            MobileNumber::parse(text("phone")).map_err(|e| invalid(&e))?;
        }
        Some("company") => {
            let overridden = raw.get("check_override").is_some_and(|v| !v.is_null());
            if overridden {
                CreditCode::parse_with_override(text("credit_code")).map_err(|e| invalid(&e))?;
            } else {
                CreditCode::parse(text("credit_code")).map_err(|e| invalid(&e))?;
            }
            MobileNumber::parse(text("contact_phone")).map_err(|e| invalid(&e))?;
        }
        _ => {
            return Err(IntakeError::Invalid {
                code: "applicant.type",
                message_zh: "申请人类型应为 person（自然人）或 company（法人）".to_owned(),
                message_en: "applicant.type must be `person` or `company`".to_owned(),
            });
        }
    }
    serde_json::from_value(raw).map_err(|e| IntakeError::Invalid {
        code: "applicant.fields",
        message_zh: format!("申请人信息不完整或有误：{e}"),
        message_en: format!("the applicant does not fit: {e}"),
    })
}
