//! Case endpoints of the operator API: create, list, read, append an event; the service items a
//! centre may take in.

use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use bangban_domain::catalogue::CatalogueItem;
use serde::{Deserialize, Serialize};

pub use crate::intake::{CaseView, NewCase, NewEvent};

use super::NodeApi;
use crate::auth::CurrentOperator;
use crate::http::{ApiJson, CaseIdPath, Problem};
use crate::store::{CaseFilter, CaseSummary};

type ApiState = State<Arc<NodeApi>>;

pub fn routes() -> Router<Arc<NodeApi>> {
    Router::new()
        .route("/api/v1/cases", post(create_case).get(list_cases))
        .route("/api/v1/cases/{case_id}", get(read_case))
        .route("/api/v1/cases/{case_id}/events", post(append_event))
        .route("/api/v1/items", get(list_items))
}

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

async fn read_case(
    State(api): ApiState,
    _op: CurrentOperator,
    CaseIdPath(case_id): CaseIdPath,
) -> Result<Json<CaseView>, Problem> {
    Ok(Json(api.intake.case_view(case_id).await?))
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
        limit: q.limit,
        offset: q.offset,
    };
    let cases = api.intake.store.list(&filter).await?;
    Ok(Json(CaseList { cases }))
}

#[derive(Debug, Serialize)]
struct ItemList {
    items: Vec<CatalogueItem>,
}

async fn list_items(State(api): ApiState, _op: CurrentOperator) -> Json<ItemList> {
    Json(ItemList {
        items: api.intake.items(),
    })
}
