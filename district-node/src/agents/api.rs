//! `/api/v1/policy/agents`: the registry as JSON for district administrators (resident ID and
//! phone masked), filing an agent and changing their status, through [`super::Registry`].
//! Refusals are problem documents naming the field (`field`) in Chinese and English.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use bangban_kit::access::Access;
use bangban_kit::auth::CurrentOperator;
use bangban_kit::http::{ApiJson, Problem};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{AgentInput, Filed, Registry, RegistryError, role_str, status_str};
use crate::admin::{Admin, MANAGE, today};
use crate::drafts::DraftError;

pub fn routes(admin: Admin) -> OpenApiRouter {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(set_status))
        .with_state(admin)
}

pub fn access() -> Vec<Access> {
    vec![
        Access::get("/api/v1/policy/agents", MANAGE),
        Access::post("/api/v1/policy/agents", MANAGE),
        Access::post("/api/v1/policy/agents/{id}/status", MANAGE),
    ]
}

/// One agent as listed: resident ID and phone masked.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AgentEntry {
    /// The stable id of the record.
    pub id: String,
    pub name: String,
    /// Masked, e.g. `110105********002X`.
    pub id_number: String,
    /// Masked, e.g. `138****5678`.
    pub phone: String,
    pub centre: String,
    /// `assisting_agent`, `chief_representative` or `hall_guide`.
    pub role: &'static str,
    pub badge_no: String,
    pub filed_on: String,
    /// `active`, `suspended` or `left`.
    pub status: &'static str,
    pub status_on: Option<String>,
    pub status_reason: Option<String>,
    pub training: Vec<TrainingEntry>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TrainingEntry {
    pub date: String,
    pub course: String,
    pub hours: f64,
}

impl From<&Filed> for AgentEntry {
    fn from(f: &Filed) -> AgentEntry {
        let a = &f.agent;
        AgentEntry {
            id: f.id.clone(),
            name: a.name.as_str().to_owned(),
            id_number: a.id_number.masked(),
            phone: a.phone.masked(),
            centre: a.centre.to_string(),
            role: role_str(a.role),
            badge_no: a.badge_no.clone(),
            filed_on: a.filed_on.to_string(),
            status: status_str(a.status),
            status_on: f.status_on.map(|d| d.to_string()),
            status_reason: f.status_reason.clone(),
            training: a
                .training
                .iter()
                .map(|t| TrainingEntry {
                    date: t.date.to_string(),
                    course: t.course.clone(),
                    hours: f64::from(t.half_hours) / 2.0,
                })
                .collect(),
        }
    }
}

/// A status change.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct StatusInput {
    /// `active`, `suspended` or `left`.
    #[serde(default)]
    pub status: String,
    /// `YYYY-MM-DD`, not in the future; blank or absent: today.
    #[serde(default)]
    pub on: String,
    /// Required for `suspended` and `left`.
    #[serde(default)]
    pub reason: String,
}

fn problem(e: RegistryError) -> Problem {
    match e {
        RegistryError::Invalid {
            field,
            code,
            zh,
            en,
        } => Problem::new(StatusCode::UNPROCESSABLE_ENTITY, code, zh, en).with("field", field),
        RegistryError::NotFound => Problem::not_found("该人员", "the agent"),
        RegistryError::Draft(d @ DraftError::Conflict { .. }) => {
            let (zh, en) = d.message();
            Problem::new(StatusCode::CONFLICT, "draft.conflict", zh, en)
        }
        other => Problem::internal(&other),
    }
}

/// Every agent on file, resident ID and phone masked.
#[utoipa::path(
    get,
    path = "/api/v1/policy/agents",
    tag = "policy",
    security(("bearer" = [])),
    responses(
        (status = OK, description = "帮办代办员名册（身份证号码、手机号码已脱敏）。The registry, masked.", body = [AgentEntry]),
        (status = FORBIDDEN, description = "仅区级管理员。District administrators only.", body = Problem),
    ),
)]
async fn list(
    State(admin): State<Admin>,
    _op: CurrentOperator,
) -> Result<Json<Vec<AgentEntry>>, Problem> {
    let all = Registry::new(admin.db.clone())
        .list()
        .await
        .map_err(problem)?;
    Ok(Json(all.iter().map(AgentEntry::from).collect()))
}

/// Files an agent (active).
#[utoipa::path(
    post,
    path = "/api/v1/policy/agents",
    tag = "policy",
    security(("bearer" = [])),
    request_body = AgentInput,
    responses(
        (status = CREATED, description = "已登记。Filed.", body = AgentEntry),
        (status = UNPROCESSABLE_ENTITY, description = "输入有误（身份证校验码、手机号码、中心、重复工牌编号、备案日期等），未保存；`field` 指明字段。Refused, nothing saved; `field` names the field.", body = Problem),
    ),
)]
async fn create(
    State(admin): State<Admin>,
    CurrentOperator(op): CurrentOperator,
    ApiJson(input): ApiJson<AgentInput>,
) -> Result<(StatusCode, Json<AgentEntry>), Problem> {
    let registry = Registry::new(admin.db.clone());
    let id = registry
        .add(&input, op.username.as_str(), today())
        .await
        .map_err(problem)?;
    let filed = registry.get(&id).await.map_err(problem)?;
    Ok((StatusCode::CREATED, Json(AgentEntry::from(&filed))))
}

/// Changes an agent's status (active, suspended, left) on a date, for a reason.
#[utoipa::path(
    post,
    path = "/api/v1/policy/agents/{id}/status",
    tag = "policy",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "人员记录编号。The agent's record id.")),
    request_body = StatusInput,
    responses(
        (status = OK, description = "已变更。Changed.", body = AgentEntry),
        (status = NOT_FOUND, description = "无此人员。No such agent.", body = Problem),
        (status = UNPROCESSABLE_ENTITY, description = "输入有误，未保存。Refused, nothing saved.", body = Problem),
    ),
)]
async fn set_status(
    State(admin): State<Admin>,
    CurrentOperator(op): CurrentOperator,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<StatusInput>,
) -> Result<Json<AgentEntry>, Problem> {
    let registry = Registry::new(admin.db.clone());
    let today = today();
    let on = if input.on.trim().is_empty() {
        today.to_string()
    } else {
        input.on.clone()
    };
    registry
        .set_status(
            &id,
            &input.status,
            &on,
            &input.reason,
            op.username.as_str(),
            today,
        )
        .await
        .map_err(problem)?;
    let filed = registry.get(&id).await.map_err(problem)?;
    Ok(Json(AgentEntry::from(&filed)))
}
