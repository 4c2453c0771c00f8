//! Case endpoints of the operator API: create, list, read, append an event; the service items a
//! centre may take in.

use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use bangban_domain::calendar::Deadline;
use bangban_domain::case::CaseState;
use bangban_domain::catalogue::CatalogueItem;

use crate::policy::Policy;
use bangban_domain::event::{
    Applicant, Application, CaseId, Channel, Consultation, Event, EventBody, EventId,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

use super::NodeApi;
use super::mask::mask_json;
use crate::auth::CurrentOperator;
use crate::http::{ApiJson, Problem};
use crate::store::{Appended, CaseFilter, CaseSummary, StoreError};

type ApiState = State<Arc<NodeApi>>;

pub fn routes() -> Router<Arc<NodeApi>> {
    Router::new()
        .route("/api/v1/cases", post(create_case).get(list_cases))
        .route("/api/v1/cases/{case_id}", get(read_case))
        .route("/api/v1/cases/{case_id}/events", post(append_event))
        .route("/api/v1/items", get(list_items))
}

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

fn item_problem(code: &str) -> Problem {
    Problem::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "item.unknown",
        format!("事项目录中没有编码为 {code} 的事项"),
        format!("no service item {code} in the catalogue"),
    )
}

fn store_problem(err: StoreError) -> Problem {
    match &err {
        StoreError::UnknownCase(_) => Problem::not_found("该办件", "case"),
        e if e.is_client_error() => Problem::from_domain(StatusCode::UNPROCESSABLE_ENTITY, e),
        e => Problem::internal(e),
    }
}

fn new_event(
    api: &NodeApi,
    op: &CurrentOperator,
    case_id: CaseId,
    id: Option<Uuid>,
    body: EventBody,
) -> Event {
    Event {
        event_id: EventId::from_uuid(id.unwrap_or_else(Uuid::now_v7)),
        case_id,
        author: api.me,
        actor: Some(op.0.username.as_str().to_owned()),
        occurred_at: OffsetDateTime::now_utc(),
        body,
    }
}

async fn create_case(
    State(api): ApiState,
    op: CurrentOperator,
    ApiJson(new): ApiJson<NewCase>,
) -> Result<(StatusCode, Json<CaseView>), Problem> {
    let now = OffsetDateTime::now_utc();
    // One snapshot of the policy for the whole request (see crate::policy).
    let policy = api.policy.current();
    // Checked in full with a stand-in number first, so that a refused request never uses up a
    // case number.
    let provisional = bangban_domain::event::CaseNumber::new(
        api.me,
        bangban_domain::calendar::local_date(now),
        1,
    )
    .map_err(|e| Problem::internal(&e))?;
    let (case_id, mut body) = match new {
        NewCase::Application {
            channel,
            item_code,
            applicant,
            case_id,
        } => {
            let item = intake_item(&api, &policy, &item_code)?;
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
                Some(code) => Some(intake_item(&api, &policy, code)?.item_ref()),
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
    // A retried request with the same case id: answer with the case as it is.
    if !api
        .store
        .events(case_id)
        .await
        .map_err(store_problem)?
        .is_empty()
    {
        return Ok((StatusCode::OK, Json(load_view(&api, case_id).await?)));
    }
    new_event(&api, &op, case_id, None, body.clone())
        .validate()
        .map_err(|e| Problem::from_domain(StatusCode::UNPROCESSABLE_ENTITY, &e))?;
    let case_no = next_case_no(&api, now).await?;
    match &mut body {
        EventBody::ApplicationReceived(a) => a.case_no = case_no,
        EventBody::ConsultationRecorded(c) => c.case_no = case_no,
        _ => {}
    }
    let ev = new_event(&api, &op, case_id, None, body);
    match api.store.append(&ev, now).await {
        Ok(_) => {}
        // The same case id opened concurrently: answer with the case as it is.
        Err(StoreError::Transition(bangban_domain::case::TransitionError::AlreadyOpen {
            ..
        })) => {}
        Err(e) => return Err(store_problem(e)),
    }
    tracing::info!(case_id = %case_id, operator = %op.0.username, "case opened");
    let view = load_view(&api, case_id).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// Reads an applicant, turning identifier errors into their own bilingual problems (serde would
/// only give an English message naming no field).
fn parse_applicant(raw: Value) -> Result<Applicant, Problem> {
    use bangban_domain::ident::{CreditCode, MobileNumber, ResidentId};
    let invalid = |e: &dyn bangban_domain::Bilingual| {
        Problem::from_domain(StatusCode::UNPROCESSABLE_ENTITY, e)
    };
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
            return Err(Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "applicant.type",
                "申请人类型应为 person（自然人）或 company（法人）".to_owned(),
                "applicant.type must be `person` or `company`".to_owned(),
            ));
        }
    }
    serde_json::from_value(raw).map_err(|e| {
        Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "applicant.fields",
            format!("申请人信息不完整或有误：{e}"),
            format!("the applicant does not fit: {e}"),
        )
    })
}

/// Numbers are taken only once the request is known to be good, so a refused request does not
/// use one up.
async fn next_case_no(
    api: &NodeApi,
    now: OffsetDateTime,
) -> Result<bangban_domain::event::CaseNumber, Problem> {
    api.store
        .next_case_number(api.me, now)
        .await
        .map_err(store_problem)
}

fn intake_item<'a>(
    api: &NodeApi,
    policy: &'a Policy,
    code: &str,
) -> Result<&'a CatalogueItem, Problem> {
    let item = policy
        .catalogue
        .get(code)
        .ok_or_else(|| item_problem(code))?;
    if !item.intake_tiers.contains(&api.me.tier()) {
        return Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "item.not_at_this_tier",
            format!("事项“{}”不在本级受理范围内", item.name),
            format!(
                "item {} cannot be taken in at a {} centre",
                item.code,
                api.me.tier()
            ),
        ));
    }
    Ok(item)
}

async fn append_event(
    State(api): ApiState,
    op: CurrentOperator,
    Path(case_id): Path<String>,
    ApiJson(new): ApiJson<NewEvent>,
) -> Result<Json<CaseView>, Problem> {
    let case_id = parse_case_id(&case_id)?;
    if new.body.kind().opens_case() {
        return Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "case.already_open",
            "新办件请通过“新建办件”登记".to_owned(),
            "open new cases with POST /api/v1/cases".to_owned(),
        ));
    }
    let history = api.store.events(case_id).await.map_err(store_problem)?;
    if history.is_empty() {
        return Err(Problem::not_found("该办件", "case"));
    }
    // A retried request carries the same event id: the first one's time and actor stand.
    if let Some(id) = new.event_id
        && let Some(stored) = history.iter().find(|e| e.event_id.as_uuid() == id)
    {
        if stored.body == new.body && stored.author == api.me {
            return Ok(Json(load_view(&api, case_id).await?));
        }
        return Err(store_problem(StoreError::EventIdReused(stored.event_id)));
    }
    let ev = new_event(&api, &op, case_id, new.event_id, new.body);
    match api.store.append(&ev, OffsetDateTime::now_utc()).await {
        Ok(Appended::Stored { .. }) => {
            tracing::info!(case_id = %case_id, kind = %ev.kind(), operator = %op.0.username, "event appended");
        }
        Ok(Appended::Duplicate) => {}
        Err(e) => return Err(store_problem(e)),
    }
    Ok(Json(load_view(&api, case_id).await?))
}

fn parse_case_id(raw: &str) -> Result<CaseId, Problem> {
    raw.parse()
        .map_err(|_| Problem::bad_request("case.id", "办件编号格式有误", "malformed case id"))
}

async fn read_case(
    State(api): ApiState,
    _op: CurrentOperator,
    Path(case_id): Path<String>,
) -> Result<Json<CaseView>, Problem> {
    let case_id = parse_case_id(&case_id)?;
    Ok(Json(load_view(&api, case_id).await?))
}

async fn load_view(api: &NodeApi, case_id: CaseId) -> Result<CaseView, Problem> {
    let (state, events) = api
        .store
        .case(case_id)
        .await
        .map_err(store_problem)?
        .ok_or_else(|| Problem::not_found("该办件", "case"))?;
    Ok(view(api, &state, &events))
}

fn view(api: &NodeApi, state: &CaseState, events: &[Event]) -> CaseView {
    let now = OffsetDateTime::now_utc();
    let deadline = state
        .deadline(&api.policy.current().calendar)
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
        held_here: state.holder == api.me,
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    stage: Option<String>,
    /// `true`: only cases this centre holds now.
    #[serde(default)]
    held_here: bool,
    #[serde(default)]
    limit: u32,
    #[serde(default)]
    offset: u32,
}

#[derive(Debug, Serialize)]
struct CaseList {
    cases: Vec<CaseSummary>,
}

async fn list_cases(
    State(api): ApiState,
    _op: CurrentOperator,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<CaseList>, Problem> {
    let Query(q) = query.map_err(|r| {
        Problem::bad_request(
            "request.query",
            format!("查询参数有误：{}", r.body_text()),
            format!("bad query parameters: {}", r.body_text()),
        )
    })?;
    if let Some(stage) = &q.stage
        && bangban_domain::case::Stage::parse(stage).is_none()
    {
        return Err(Problem::bad_request(
            "case.stage",
            format!("没有“{stage}”这个办件状态"),
            format!("unknown stage `{stage}`"),
        ));
    }
    let filter = CaseFilter {
        subtree: None,
        holder: q.held_here.then_some(api.me),
        stage: q.stage,
        limit: q.limit,
        offset: q.offset,
    };
    let cases = api.store.list(&filter).await.map_err(store_problem)?;
    Ok(Json(CaseList { cases }))
}

async fn list_items(State(api): ApiState, _op: CurrentOperator) -> Json<Value> {
    let policy = api.policy.current();
    let items: Vec<&CatalogueItem> = policy.catalogue.for_intake(api.me.tier()).collect();
    Json(serde_json::json!({ "items": items }))
}
