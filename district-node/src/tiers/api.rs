//! `/api/v1/policy/tiers`: the draft tree as JSON for district administrators, and the same
//! changes as the pages (add, update, move, retire) through [`super::authoring`]. Refusals are
//! problem documents naming the field (`field`) in Chinese and English; nothing is saved.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use bangban_domain::station::StationCode;
use bangban_domain::topology::edit::EditError;
use bangban_kit::access::Access;
use bangban_kit::auth::CurrentOperator;
use bangban_kit::http::{ApiJson, Problem};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::authoring::{self, CentreEdit, DraftCentre, MoveInput, NewCentre, TierError};
use crate::admin::{Admin, MANAGE, today};
use crate::agents::Registry;

pub fn routes(admin: Admin) -> OpenApiRouter {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(update))
        .routes(routes!(move_centre))
        .routes(routes!(retire))
        .with_state(admin)
}

pub fn access() -> Vec<Access> {
    vec![
        Access::get("/api/v1/policy/tiers", MANAGE),
        Access::post("/api/v1/policy/tiers", MANAGE),
        Access::post("/api/v1/policy/tiers/{code}", MANAGE),
        Access::post("/api/v1/policy/tiers/{code}/move", MANAGE),
        Access::post("/api/v1/policy/tiers/{code}/retire", MANAGE),
    ]
}

/// The draft tree with its revision.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DraftTiers {
    /// The draft's revision (grows with every saved change of the tree).
    pub revision: i64,
    /// The district first, then each town followed by its villages, by code.
    pub centres: Vec<DraftCentre>,
}

/// What a change answers: the centre's code (a move's new code).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Saved {
    #[schema(value_type = String, example = "410402001001")]
    pub code: StationCode,
}

/// The end of a centre's use.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct RetireInput {
    /// The last day in use, `YYYY-MM-DD`; blank or absent: today.
    #[serde(default)]
    pub date: String,
}

/// A refusal as a problem document; `path` is the centre the route names (its absence is 404).
fn problem(e: TierError, path: Option<StationCode>) -> Problem {
    if e.is_internal() {
        return Problem::internal(&e);
    }
    let (zh, en) = e.message();
    let status = match &e {
        TierError::Edit(EditError::Unknown(c)) if Some(*c) == path => StatusCode::NOT_FOUND,
        TierError::Draft(_) => StatusCode::CONFLICT,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    let p = Problem::new(status, e.code(), zh, en);
    match e.field() {
        "" => p,
        field => p.with("field", field),
    }
}

fn path_code(text: &str) -> Result<StationCode, Problem> {
    StationCode::parse(text)
        .map_err(|e| Problem::from_domain(StatusCode::BAD_REQUEST, &e).with("field", "code"))
}

/// The draft tree with each centre's active agents.
#[utoipa::path(
    get,
    path = "/api/v1/policy/tiers",
    tag = "policy",
    security(("bearer" = [])),
    responses(
        (status = OK, description = "草稿中的中心设置及各中心在岗帮办代办员人数。The draft tree with each centre's active agents.", body = DraftTiers),
        (status = FORBIDDEN, description = "仅区级管理员。District administrators only.", body = Problem),
    ),
)]
async fn list(
    State(admin): State<Admin>,
    _op: CurrentOperator,
) -> Result<Json<DraftTiers>, Problem> {
    let draft = admin
        .drafts
        .topology()
        .await
        .map_err(|e| Problem::internal(&e))?;
    let counts = Registry::new(admin.db.clone())
        .active_counts()
        .await
        .map_err(|e| Problem::internal(&e))?;
    Ok(Json(DraftTiers {
        revision: draft.revision,
        centres: authoring::centres(&draft.doc, &counts, today()),
    }))
}

/// Adds a town- or village-level centre to the draft tree.
#[utoipa::path(
    post,
    path = "/api/v1/policy/tiers",
    tag = "policy",
    security(("bearer" = [])),
    request_body = NewCentre,
    responses(
        (status = CREATED, description = "已新增。Added.", body = Saved),
        (status = UNPROCESSABLE_ENTITY, description = "输入有误（`field` 指明字段），未保存。Refused, nothing saved; `field` names the field.", body = Problem),
        (status = CONFLICT, description = "他人已修改草稿。Someone else changed the draft.", body = Problem),
    ),
)]
async fn create(
    State(admin): State<Admin>,
    CurrentOperator(op): CurrentOperator,
    ApiJson(input): ApiJson<NewCentre>,
) -> Result<(StatusCode, Json<Saved>), Problem> {
    let code = authoring::add(&admin.drafts, &input, None, op.username.as_str(), today())
        .await
        .map_err(|e| problem(e, None))?;
    Ok((StatusCode::CREATED, Json(Saved { code })))
}

/// Renames a centre or changes its kind, address, contact or review marks.
#[utoipa::path(
    post,
    path = "/api/v1/policy/tiers/{code}",
    tag = "policy",
    security(("bearer" = [])),
    params(("code" = String, Path, description = "中心代码（12位）。The centre's 12-digit code.")),
    request_body = CentreEdit,
    responses(
        (status = OK, description = "已保存。Saved.", body = Saved),
        (status = NOT_FOUND, description = "无此中心。No such centre.", body = Problem),
        (status = UNPROCESSABLE_ENTITY, description = "输入有误，未保存。Refused, nothing saved.", body = Problem),
    ),
)]
async fn update(
    State(admin): State<Admin>,
    CurrentOperator(op): CurrentOperator,
    Path(code): Path<String>,
    ApiJson(input): ApiJson<CentreEdit>,
) -> Result<Json<Saved>, Problem> {
    let code = path_code(&code)?;
    authoring::update(&admin.drafts, code, &input, None, op.username.as_str())
        .await
        .map_err(|e| problem(e, Some(code)))?;
    Ok(Json(Saved { code }))
}

/// Moves a village-level centre under another town: its code is retired on `date` and a new
/// code under the new town starts the next day, the two linked.
#[utoipa::path(
    post,
    path = "/api/v1/policy/tiers/{code}/move",
    tag = "policy",
    security(("bearer" = [])),
    params(("code" = String, Path, description = "要调整隶属的中心代码。The centre to move.")),
    request_body = MoveInput,
    responses(
        (status = OK, description = "已调整：返回新代码。Moved: the new code.", body = Saved),
        (status = NOT_FOUND, description = "无此中心。No such centre.", body = Problem),
        (status = UNPROCESSABLE_ENTITY, description = "不能调整到村（社区）之下、其自身之下或已撤销的上级之下等。Refused (under a village, a cycle, a retired parent…).", body = Problem),
    ),
)]
async fn move_centre(
    State(admin): State<Admin>,
    CurrentOperator(op): CurrentOperator,
    Path(code): Path<String>,
    ApiJson(input): ApiJson<MoveInput>,
) -> Result<Json<Saved>, Problem> {
    let code = path_code(&code)?;
    let new = authoring::move_centre(
        &admin.drafts,
        code,
        &input,
        None,
        op.username.as_str(),
        today(),
    )
    .await
    .map_err(|e| problem(e, Some(code)))?;
    Ok(Json(Saved { code: new }))
}

/// Retires a centre: its code stays in the history and its link is refused after `date`.
#[utoipa::path(
    post,
    path = "/api/v1/policy/tiers/{code}/retire",
    tag = "policy",
    security(("bearer" = [])),
    params(("code" = String, Path, description = "要撤销的中心代码。The centre to retire.")),
    request_body = RetireInput,
    responses(
        (status = OK, description = "已撤销。Retired.", body = Saved),
        (status = NOT_FOUND, description = "无此中心。No such centre.", body = Problem),
        (status = UNPROCESSABLE_ENTITY, description = "区本级、已撤销或仍有在用村（社区）的镇（街道）不能撤销。Refused.", body = Problem),
    ),
)]
async fn retire(
    State(admin): State<Admin>,
    CurrentOperator(op): CurrentOperator,
    Path(code): Path<String>,
    ApiJson(input): ApiJson<RetireInput>,
) -> Result<Json<Saved>, Problem> {
    let code = path_code(&code)?;
    authoring::retire(
        &admin.drafts,
        code,
        &input.date,
        None,
        op.username.as_str(),
        today(),
    )
    .await
    .map_err(|e| problem(e, Some(code)))?;
    Ok(Json(Saved { code }))
}
