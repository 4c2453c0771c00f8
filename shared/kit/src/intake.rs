//! The intake service: taking a case in, appending its next step and building the view an
//! operator sees, once, for every front end (the JSON API today, the web UI next). A handler
//! only parses, calls and renders; the rules live here and in the state machine.
//!
//! Personal data is masked in every view, by type: the applicant's masked name, and each
//! event as a [`bangban_domain::masked::EventView`].

use bangban_domain::Bilingual;
use bangban_domain::calendar::Deadline;
use bangban_domain::case::{CaseState, Stage, TransitionError};
use bangban_domain::catalogue::{Catalogue, CatalogueItem};
use bangban_domain::event::{
    Applicant, Application, CaseId, CaseNumber, Channel, CheckOverride, Consultation, Event,
    EventBody, EventId, ItemRef,
};
use bangban_domain::masked::EventView;
use bangban_domain::station::StationCode;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::policy::{Policy, PolicyHandle};
use crate::store::{Appended, CaseStore, StoreError};

/// `POST /api/v1/cases`: a new consultation or application taken in at this centre.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum NewCase {
    Application {
        channel: Channel,
        item_code: String,
        /// Checked field by field so that a bad ID number or phone gets its own Chinese message.
        #[schema(value_type = Applicant)]
        applicant: Box<ApplicantInput>,
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

/// The applicant of a new application as typed at the window: text, read leniently and checked
/// field by field by [`parse_applicant`] so that each bad identifier gets its own bilingual
/// message (serde would give one English message naming no field). Documented as the domain's
/// [`Applicant`], whose shape it must have.
#[derive(Default, Deserialize)]
pub struct ApplicantInput {
    /// `person` or `company`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub name: Option<String>,
    pub id_number: Option<String>,
    pub phone: Option<String>,
    pub credit_code: Option<String>,
    pub check_override: Option<CheckOverride>,
    pub legal_representative: Option<String>,
    pub contact_name: Option<String>,
    pub contact_phone: Option<String>,
    /// Members an applicant does not have; refused by [`parse_applicant`].
    #[serde(flatten)]
    pub unknown: std::collections::BTreeMap<String, serde::de::IgnoredAny>,
}

// INVARIANT: personal data never reaches logs, so Debug names the type only.
impl std::fmt::Debug for ApplicantInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApplicantInput")
            .field("type", &self.kind)
            .finish_non_exhaustive()
    }
}

/// `POST /api/v1/cases/{id}/events`: the next step, as `{"kind": …, "payload": {…}}`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewEvent {
    /// Optional client-made id (UUIDv7) so that a retried request is stored once.
    #[serde(default)]
    pub event_id: Option<Uuid>,
    #[serde(flatten)]
    pub body: EventBody,
}

/// A case as the operator API shows it; personal data masked.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CaseView {
    pub case_id: CaseId,
    pub case_no: CaseNumber,
    /// 受理站点。The station where the applicant came.
    pub origin: StationCode,
    /// 当前承办站点。The station that holds the case now.
    pub holder: StationCode,
    /// Whether this node holds the case (and so may append state changes).
    pub held_here: bool,
    pub stage: Stage,
    /// 办件状态的中文名称。The stage's name in Chinese.
    pub stage_label: &'static str,
    pub suspended: bool,
    /// The service item, as it stood at intake.
    pub item: Option<ItemRef>,
    /// 申请人（自然人姓名脱敏）。The applicant's name, a person's masked.
    pub applicant: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub opened_at: OffsetDateTime,
    /// When the materials were first found complete: the clock starts here.
    #[serde(with = "time::serde::rfc3339::option")]
    pub accepted_at: Option<OffsetDateTime>,
    /// 办理时限。The promised deadline, when the clock has started.
    pub due: Option<Deadline>,
    pub overdue: bool,
    /// 跑动次数。Trips the applicant made to a centre.
    pub visits: u32,
    pub escalations: u32,
    /// The case's log, oldest first, personal data masked.
    pub events: Vec<EventView>,
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
        /// The field it is about, when one is (`topic`, `applicant.id_number` …).
        field: Option<&'static str>,
        message_zh: String,
        message_en: String,
    },
    #[error("no such case")]
    CaseNotFound,
    #[error("open new cases with POST /api/v1/cases")]
    OpensCase,
    /// A delegation names someone who is not an active agent of this centre in the roster in
    /// force (only checked when a signed roster is in force).
    #[error("{name} is not an active agent of this centre")]
    NotAnActiveAgent { name: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl IntakeError {
    fn invalid(e: &dyn Bilingual) -> IntakeError {
        IntakeError::Invalid {
            code: e.code(),
            field: None,
            message_zh: e.message_zh(),
            message_en: e.message_en(),
        }
    }

    /// The field a refusal is about, for a form to show the message beside it.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            IntakeError::Invalid { field, .. } => *field,
            IntakeError::UnknownItem(_) | IntakeError::ItemNotAtThisTier { .. } => Some("item"),
            IntakeError::NotAnActiveAgent { .. } => Some("agent_name"),
            _ => None,
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
                ..
            } => Problem::new(unprocessable, code, message_zh, message_en),
            IntakeError::CaseNotFound => Problem::not_found("该办件", "case"),
            IntakeError::OpensCase => Problem::new(
                unprocessable,
                "case.already_open",
                "新办件请通过“新建办件”登记".to_owned(),
                "open new cases with POST /api/v1/cases".to_owned(),
            ),
            IntakeError::NotAnActiveAgent { name } => Problem::new(
                unprocessable,
                "delegation.agent_not_active",
                format!("“{name}”不是本中心在岗的帮办代办员，请从本中心名册中选择代办员"),
                format!("{name} is not an active agent of this centre; pick one from its roster"),
            )
            .with("field", "agent_name"),
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
        self.catalogue().items
    }

    /// The catalogue in force (its edition and sample marks) with only the items this centre
    /// may take in; read from one policy snapshot, so the marks and the items agree.
    pub fn catalogue(&self) -> Catalogue {
        self.policy.current().catalogue.for_tier(self.me.tier())
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
                let applicant = parse_applicant(*applicant)?;
                (
                    case_id,
                    EventBody::ApplicationReceived(Application {
                        policy_bundle: policy.bundle,
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
                        policy_bundle: policy.bundle,
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
            .map_err(|e| IntakeError::Invalid {
                code: e.code(),
                field: e.field(),
                message_zh: e.message_zh(),
                message_en: e.message_en(),
            })?;
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
        // An agent picked on a delegation must be an active agent of this centre, when the
        // district's signed roster is in force; without one (policy files) any name stands.
        if let EventBody::DelegationSigned(d) = &new.body
            && let Some(agents) = &self.policy.current().agents
            && !bangban_domain::agent::is_active_agent_of(agents, self.me, &d.agent_name)
        {
            return Err(IntakeError::NotAnActiveAgent {
                name: d.agent_name.trim().to_owned(),
            });
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

    /// The view of a case already read from the store.
    pub fn view(&self, state: &CaseState, events: &[Event]) -> CaseView {
        let now = OffsetDateTime::now_utc();
        let deadline = state
            .deadline(&self.policy.current().calendar)
            .and_then(Result::ok);
        CaseView {
            case_id: state.case_id,
            case_no: state.case_no,
            origin: state.origin,
            holder: state.holder,
            held_here: state.holder == self.me,
            stage: state.stage,
            stage_label: state.stage.label_zh(),
            suspended: state.is_suspended(),
            item: state.item.clone(),
            applicant: state.applicant.as_ref().map(Applicant::display_name),
            opened_at: state.opened_at,
            accepted_at: state.accepted_at,
            due: deadline,
            overdue: state.stage.is_open() && deadline.is_some_and(|d| d.is_overdue(now)),
            visits: state.visits,
            escalations: state.escalations,
            events: events.iter().map(EventView::from).collect(),
        }
    }
}

/// Reads an applicant, turning identifier errors into their own bilingual problems (serde would
/// only give an English message naming no field). The identifiers are checked first, then the
/// members the type needs and no others.
pub fn parse_applicant(raw: ApplicantInput) -> Result<Applicant, IntakeError> {
    use bangban_domain::ident::{CreditCode, MobileNumber, ResidentId};
    let invalid = |field: &'static str, e: &dyn Bilingual| match IntakeError::invalid(e) {
        IntakeError::Invalid {
            code,
            message_zh,
            message_en,
            ..
        } => IntakeError::Invalid {
            code,
            field: Some(field),
            message_zh,
            message_en,
        },
        other => other,
    };
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let applicant = match raw.kind.as_deref() {
        Some("person") => {
            let id_number = ResidentId::parse(&text(&raw.id_number))
                .map_err(|e| invalid("applicant.id_number", &e))?;
            let phone = MobileNumber::parse(&text(&raw.phone))
                .map_err(|e| invalid("applicant.phone", &e))?;
            let extra = [
                ("credit_code", raw.credit_code.is_some()),
                ("check_override", raw.check_override.is_some()),
                ("legal_representative", raw.legal_representative.is_some()),
                ("contact_name", raw.contact_name.is_some()),
                ("contact_phone", raw.contact_phone.is_some()),
            ];
            applicant_fields(&raw, &extra)?;
            Applicant::Person {
                name: required_member("name", raw.name)?.into(),
                id_number,
                phone,
            }
        }
        Some("company") => {
            let code = text(&raw.credit_code);
            let credit_code = if raw.check_override.is_some() {
                CreditCode::parse_with_override(&code)
            } else {
                CreditCode::parse(&code)
            }
            .map_err(|e| invalid("applicant.credit_code", &e))?;
            let contact_phone = MobileNumber::parse(&text(&raw.contact_phone))
                .map_err(|e| invalid("applicant.contact_phone", &e))?;
            let extra = [
                ("id_number", raw.id_number.is_some()),
                ("phone", raw.phone.is_some()),
            ];
            applicant_fields(&raw, &extra)?;
            Applicant::Company {
                name: required_member("name", raw.name)?,
                credit_code,
                check_override: raw.check_override,
                legal_representative: required_member(
                    "legal_representative",
                    raw.legal_representative,
                )?
                .into(),
                contact_name: required_member("contact_name", raw.contact_name)?.into(),
                contact_phone,
            }
        }
        _ => {
            return Err(IntakeError::Invalid {
                code: "applicant.type",
                field: Some("applicant.type"),
                message_zh: "申请人类型应为 person（自然人）或 company（法人）".to_owned(),
                message_en: "applicant.type must be `person` or `company`".to_owned(),
            });
        }
    };
    Ok(applicant)
}

/// The problem for an applicant whose members do not fit its type.
fn applicant_misfit(detail: &str) -> IntakeError {
    IntakeError::Invalid {
        code: "applicant.fields",
        field: None,
        message_zh: format!("申请人信息不完整或有误：{detail}"),
        message_en: format!("the applicant does not fit: {detail}"),
    }
}

/// Refuses members no applicant has, and members of the other type of applicant.
fn applicant_fields(raw: &ApplicantInput, other_type: &[(&str, bool)]) -> Result<(), IntakeError> {
    let unknown = raw.unknown.keys().map(String::as_str);
    let misplaced = other_type
        .iter()
        .filter(|(_, present)| *present)
        .map(|(name, _)| *name);
    match unknown.chain(misplaced).next() {
        Some(name) => Err(applicant_misfit(&format!("unknown field `{name}`"))),
        None => Ok(()),
    }
}

fn required_member(name: &str, value: Option<String>) -> Result<String, IntakeError> {
    value.ok_or_else(|| applicant_misfit(&format!("missing field `{name}`")))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::db::{Db, sqlite_url};
    use crate::policy::Policy;

    fn applicant() -> Box<ApplicantInput> {
        Box::new(ApplicantInput {
            kind: Some("person".into()),
            name: Some("张三".into()),
            id_number: Some("11010519491231002X".into()),
            phone: Some("13812345678".into()),
            ..ApplicantInput::default()
        })
    }

    /// A case records the number of the policy bundle in force when it was taken in, so its
    /// pre-review can be replayed against the rules then in force; without a bundle, none.
    #[tokio::test]
    async fn a_case_records_the_policy_bundle_it_was_taken_in_under() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::connect(&sqlite_url(&dir.path().join("v.sqlite")))
            .await
            .unwrap();
        db.migrate().await.unwrap();
        let policy = Policy {
            catalogue: bangban_domain::catalogue::Catalogue::from_json(include_str!(
                "../../../deploy/policy/catalogue.json"
            ))
            .unwrap(),
            calendar: bangban_domain::calendar::WorkingCalendar::from_json(include_str!(
                "../../../deploy/policy/calendar.json"
            ))
            .unwrap(),
            ..Policy::default()
        };
        let handle = PolicyHandle::new(policy.clone());
        let me: StationCode = "410402001001".parse().unwrap();
        let intake = Intake {
            me,
            store: CaseStore::new(db, handle.clone()),
            policy: handle.clone(),
        };
        let open = |intake: Intake| async move {
            let new = NewCase::Application {
                channel: Channel::Window,
                item_code: "410402-SCJG-001".into(),
                applicant: applicant(),
                case_id: None,
            };
            let opened = intake.open_case("wangfang", new).await.unwrap();
            let events = intake.store.events(opened.view.case_id).await.unwrap();
            match &events[0].body {
                EventBody::ApplicationReceived(a) => a.policy_bundle,
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(open(intake.clone()).await, None);
        handle.install(policy, 7).unwrap();
        assert_eq!(open(intake).await, Some(7));
    }
}
