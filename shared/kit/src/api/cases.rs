//! Case endpoints of the operator API: create, list, read, append an event; the service items a
//! centre may take in. Each handler carries its OpenAPI description (`#[utoipa::path]`), and
//! [`router`] registers it with that description, so the document cannot miss a route.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use bangban_domain::catalogue::CatalogueItem;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use crate::intake::{CaseView, NewCase, NewEvent};

use super::NodeApi;
use crate::auth::CurrentOperator;
use crate::http::{ApiJson, CaseIdPath, Problem};
use crate::store::{CaseFilter, CaseSummary};
use bangban_domain::case::Stage;

type ApiState = State<Arc<NodeApi>>;

/// The case and item routes, documented.
pub fn router() -> OpenApiRouter<Arc<NodeApi>> {
    OpenApiRouter::new()
        .routes(routes!(create_case, list_cases))
        .routes(routes!(read_case))
        .routes(routes!(append_event))
        .routes(routes!(list_items))
}

/// Takes in an application or records a consultation. The node gives the case number
/// `<station code>-<yyyymmdd>-<seq>`; a client-made `case_id` makes the request safe to retry.
/// A refused request never uses up a case number.
#[utoipa::path(
    post,
    path = "/api/v1/cases",
    tag = "cases",
    security(("bearer" = [])),
    request_body = NewCase,
    responses(
        (status = CREATED, description = "已登记。Opened.", body = CaseView),
        (status = OK, description = "该 `case_id` 已登记过（重试）：返回办件现状。A case with this `case_id` was already opened (a retried request): the case as it is.", body = CaseView),
        (status = UNPROCESSABLE_ENTITY, description = "请求不符合要求（事项、申请人、证件号码等）。The request does not check (item, applicant, an identifier …).", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn create_case(
    State(api): ApiState,
    op: CurrentOperator,
    ApiJson(new): ApiJson<NewCase>,
) -> Result<(StatusCode, Json<CaseView>), Problem> {
    let opened = api.intake.open_case(op.0.username.as_str(), new).await?;
    let status = if opened.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(opened.view)))
}

/// Appends the next step of a case; the shared state machine decides whether it may follow. A
/// client-made `event_id` makes the request safe to retry.
#[utoipa::path(
    post,
    path = "/api/v1/cases/{case_id}/events",
    tag = "cases",
    security(("bearer" = [])),
    params(("case_id" = String, Path, description = "办件标识（UUID）。The case's id (UUID).")),
    request_body = NewEvent,
    responses(
        (status = OK, description = "办件现状。The case after the step.", body = CaseView),
        (status = BAD_REQUEST, description = "办件编号格式有误。Malformed case id.", body = Problem, content_type = "application/problem+json"),
        (status = NOT_FOUND, description = "没有该办件。No such case.", body = Problem, content_type = "application/problem+json"),
        (status = UNPROCESSABLE_ENTITY, description = "该步骤不能接在当前状态之后，或内容有误。The step cannot follow the case's state, or does not check.", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn append_event(
    State(api): ApiState,
    op: CurrentOperator,
    CaseIdPath(case_id): CaseIdPath,
    ApiJson(new): ApiJson<NewEvent>,
) -> Result<Json<CaseView>, Problem> {
    let view = api
        .intake
        .append_step(op.0.username.as_str(), case_id, new)
        .await?;
    Ok(Json(view))
}

/// One case with its log, personal data masked.
#[utoipa::path(
    get,
    path = "/api/v1/cases/{case_id}",
    tag = "cases",
    security(("bearer" = [])),
    params(("case_id" = String, Path, description = "办件标识（UUID）。The case's id (UUID).")),
    responses(
        (status = OK, description = "办件。The case.", body = CaseView),
        (status = BAD_REQUEST, description = "办件编号格式有误。Malformed case id.", body = Problem, content_type = "application/problem+json"),
        (status = NOT_FOUND, description = "没有该办件。No such case.", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn read_case(
    State(api): ApiState,
    _op: CurrentOperator,
    CaseIdPath(case_id): CaseIdPath,
) -> Result<Json<CaseView>, Problem> {
    Ok(Json(api.intake.case_view(case_id).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    /// 只列出该状态的办件。Only cases at this stage.
    #[param(value_type = Option<Stage>)]
    stage: Option<String>,
    /// `true`: only cases this centre holds now.
    #[serde(default)]
    held_here: bool,
    /// At most this many (0: the store's default).
    #[serde(default)]
    limit: u32,
    #[serde(default)]
    offset: u32,
}

/// A page of cases, newest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CaseList {
    pub cases: Vec<CaseSummary>,
}

/// Cases stored at this node, newest first, personal data masked.
#[utoipa::path(
    get,
    path = "/api/v1/cases",
    tag = "cases",
    security(("bearer" = [])),
    params(ListQuery),
    responses(
        (status = OK, description = "办件列表。The cases.", body = CaseList),
        (status = BAD_REQUEST, description = "查询参数有误。Bad query parameters.", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn list_cases(
    State(api): ApiState,
    _op: CurrentOperator,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<CaseList>, Problem> {
    let Query(q) = query?;
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
        holder: q.held_here.then_some(api.intake.me),
        stage: q.stage,
        search: None,
        due: None,
        keyset: None,
        limit: q.limit,
        offset: q.offset,
    };
    let cases = api.intake.store.list(&filter).await?;
    Ok(Json(CaseList { cases }))
}

/// The service items of the catalogue in force, with the catalogue's edition and whether it is
/// sample data (then an operator should be told it is not the district's official catalogue).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ItemList {
    /// The catalogue's edition, when it names one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The day the district published it, `YYYY-MM-DD`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = Date)]
    pub published: Option<String>,
    /// Demonstration data, not the district's official catalogue.
    pub sample: bool,
    /// The catalogue's note (for a sample: what it is and is not).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub items: Vec<CatalogueItem>,
}

/// The service items this centre may take in, under the policy in force.
#[utoipa::path(
    get,
    path = "/api/v1/items",
    tag = "cases",
    security(("bearer" = [])),
    responses((status = OK, description = "可受理的事项。The items this centre may take in.", body = ItemList)),
)]
async fn list_items(State(api): ApiState, _op: CurrentOperator) -> Json<ItemList> {
    let catalogue = api.intake.catalogue();
    Json(ItemList {
        version: catalogue.version,
        published: catalogue.published.map(|d| d.to_string()),
        sample: catalogue.sample,
        note: catalogue.note,
        items: catalogue.items,
    })
}
