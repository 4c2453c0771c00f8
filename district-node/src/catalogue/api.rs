//! The draft catalogue over JSON: `GET`/`POST /api/v1/policy/catalogue`, `GET`/`PUT
//! /api/v1/policy/catalogue/{code}` (district administrators). A refused item is a 422
//! problem document naming the `field` (and the `material`'s index) in both languages; nothing
//! is saved. The same [`Items`] as the pages do the work.

use axum::Json;
use axum::extract::{FromRef, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bangban_domain::Bilingual;
use bangban_domain::catalogue::{CatalogueItem, ItemInput, MaterialInput};
use bangban_kit::access::Access;
use bangban_kit::auth::{AuthStore, CurrentOperator};
use bangban_kit::http::{ApiJson, Problem};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{EditError, Items};
use crate::admin::MANAGE;
use crate::drafts::DraftError;

/// What the handlers share.
#[derive(Clone)]
pub struct CatalogueApi {
    pub items: Items,
    pub auth: AuthStore,
}

impl FromRef<CatalogueApi> for AuthStore {
    fn from_ref(api: &CatalogueApi) -> AuthStore {
        api.auth.clone()
    }
}

pub fn routes(api: CatalogueApi) -> OpenApiRouter {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get_item, update))
        .with_state(api)
}

pub fn access() -> Vec<Access> {
    let put = |path| Access {
        method: axum::http::Method::PUT,
        path,
        rule: MANAGE,
    };
    vec![
        Access::get("/api/v1/policy/catalogue", MANAGE),
        Access::post("/api/v1/policy/catalogue", MANAGE),
        Access::get("/api/v1/policy/catalogue/{code}", MANAGE),
        put("/api/v1/policy/catalogue/{code}"),
    ]
}

/// The draft catalogue's items.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ItemList {
    /// The draft's revision (it grows with every saved change).
    pub revision: i64,
    pub items: Vec<CatalogueItem>,
}

/// One material as a client sends it.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MaterialBody {
    pub name: String,
    /// 1 required, 2 optional, 3 accepted now and supplied later.
    pub necessity: i64,
    #[serde(default)]
    pub original: bool,
    /// Copies; absent: one.
    #[serde(default)]
    pub count: Option<i64>,
    #[serde(default)]
    pub how_to_obtain: Option<String>,
}

/// An item as a client sends it. Numbers are checked here (a negative limit is named, not a
/// parse error); each material keeps the blank form and sample of the stored material of the
/// same name (files are uploaded on the item's page).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemBody {
    pub code: String,
    pub name: String,
    pub department: String,
    #[serde(default)]
    pub co_departments: Vec<String>,
    /// `licence`, `payment`, `confirmation`, `award`, `ruling`, `other_power`,
    /// `public_service` (or the national code `01` … `21`).
    #[serde(default)]
    pub item_type: Option<String>,
    /// `immediate` or `promised`.
    pub case_type: String,
    #[serde(default)]
    pub statutory_days: i64,
    #[serde(default)]
    pub promised_days: i64,
    #[serde(default)]
    pub max_visits: Option<i64>,
    #[serde(default)]
    pub fees: Option<String>,
    /// `district`, `town` or `village`.
    pub handling_tier: String,
    pub intake_tiers: Vec<String>,
    #[serde(default = "yes")]
    pub proxy_allowed: bool,
    #[serde(default)]
    pub courier_delivery: bool,
    pub materials: Vec<MaterialBody>,
}

fn yes() -> bool {
    true
}

impl ItemBody {
    fn input(self) -> ItemInput {
        ItemInput {
            code: self.code,
            name: self.name,
            department: self.department,
            co_departments: self.co_departments.join("\n"),
            item_type: self.item_type.unwrap_or_default(),
            case_type: self.case_type,
            statutory_days: self.statutory_days.to_string(),
            promised_days: self.promised_days.to_string(),
            max_visits: self.max_visits.map(|v| v.to_string()).unwrap_or_default(),
            fees: self.fees.unwrap_or_default(),
            handling_tier: self.handling_tier,
            intake_tiers: self.intake_tiers,
            proxy_allowed: self.proxy_allowed,
            courier_delivery: self.courier_delivery,
            materials: self
                .materials
                .into_iter()
                .map(|m| MaterialInput {
                    name: m.name,
                    necessity: m.necessity.to_string(),
                    original: m.original,
                    count: m.count.map(|c| c.to_string()).unwrap_or_default(),
                    how_to_obtain: m.how_to_obtain.unwrap_or_default(),
                })
                .collect(),
        }
    }
}

/// An edit's refusal as a problem document.
fn problem(e: EditError) -> Problem {
    match e {
        EditError::Invalid(err) => {
            let mut p = Problem::from_domain(StatusCode::UNPROCESSABLE_ENTITY, &err)
                .with("field", err.field.as_str());
            if let Some(i) = err.material {
                p = p.with("material", i);
            }
            p
        }
        EditError::NotFound(_) => Problem::not_found("该事项", "the item"),
        EditError::Draft(d @ DraftError::Conflict { .. }) => {
            let (zh, en) = d.message();
            Problem::new(StatusCode::CONFLICT, "catalogue.conflict", zh, en)
        }
        EditError::Upload(u) if u.is_client_error() => Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            u.code(),
            u.message_zh(),
            u.message_en(),
        ),
        other => Problem::internal(&other),
    }
}

/// The draft catalogue's items, in their order.
#[utoipa::path(
    get,
    path = "/api/v1/policy/catalogue",
    tag = "policy",
    security(("bearer" = [])),
    responses((status = OK, description = "草稿事项目录。The draft catalogue's items.", body = ItemList)),
)]
async fn list(State(api): State<CatalogueApi>, _op: CurrentOperator) -> Response {
    match api.items.read().await {
        Ok(d) => Json(ItemList {
            revision: d.revision,
            items: d.doc.items,
        })
        .into_response(),
        Err(e) => problem(e).into_response(),
    }
}

/// Adds an item to the draft catalogue.
#[utoipa::path(
    post,
    path = "/api/v1/policy/catalogue",
    tag = "policy",
    security(("bearer" = [])),
    request_body = ItemBody,
    responses(
        (status = CREATED, description = "已新增。Added.", body = CatalogueItem),
        (status = UNPROCESSABLE_ENTITY, description = "事项有误：`field`（及 `material`）指明字段。A field is wrong: `field` (and `material`) name it.", body = Problem, content_type = "application/problem+json"),
        (status = CONFLICT, description = "他人刚刚修改了目录。Someone changed the catalogue meanwhile.", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn create(
    State(api): State<CatalogueApi>,
    CurrentOperator(op): CurrentOperator,
    ApiJson(body): ApiJson<ItemBody>,
) -> Response {
    let item = match body.input().to_item() {
        Ok(item) => item,
        Err(e) => return problem(EditError::Invalid(e)).into_response(),
    };
    match api
        .items
        .create(item.clone(), None, op.username.as_str())
        .await
    {
        Ok(_) => (StatusCode::CREATED, Json(item)).into_response(),
        Err(e) => problem(e).into_response(),
    }
}

/// One item of the draft catalogue.
#[utoipa::path(
    get,
    path = "/api/v1/policy/catalogue/{code}",
    tag = "policy",
    security(("bearer" = [])),
    params(("code" = String, Path, description = "事项编码。The item's code.")),
    responses(
        (status = OK, description = "事项。The item.", body = CatalogueItem),
        (status = NOT_FOUND, description = "无此事项。No such item.", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn get_item(
    State(api): State<CatalogueApi>,
    _op: CurrentOperator,
    Path(code): Path<String>,
) -> Response {
    match api.items.read().await {
        Ok(d) => match d.doc.get(&code) {
            Some(item) => Json(item.clone()).into_response(),
            None => problem(EditError::NotFound(code)).into_response(),
        },
        Err(e) => problem(e).into_response(),
    }
}

/// Replaces an item of the draft catalogue (its code stays).
#[utoipa::path(
    put,
    path = "/api/v1/policy/catalogue/{code}",
    tag = "policy",
    security(("bearer" = [])),
    params(("code" = String, Path, description = "事项编码。The item's code.")),
    request_body = ItemBody,
    responses(
        (status = OK, description = "已保存。Saved.", body = CatalogueItem),
        (status = NOT_FOUND, description = "无此事项。No such item.", body = Problem, content_type = "application/problem+json"),
        (status = UNPROCESSABLE_ENTITY, description = "事项有误：`field`（及 `material`）指明字段。A field is wrong: `field` (and `material`) name it.", body = Problem, content_type = "application/problem+json"),
        (status = CONFLICT, description = "他人刚刚修改了目录。Someone changed the catalogue meanwhile.", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn update(
    State(api): State<CatalogueApi>,
    CurrentOperator(op): CurrentOperator,
    Path(code): Path<String>,
    ApiJson(body): ApiJson<ItemBody>,
) -> Response {
    let item = match body.input().to_item() {
        Ok(item) => item,
        Err(e) => return problem(EditError::Invalid(e)).into_response(),
    };
    match api
        .items
        .update(&code, item, &[], None, op.username.as_str())
        .await
    {
        Ok(_) => match api.items.read().await {
            Ok(d) => match d.doc.get(&code) {
                Some(item) => Json(item.clone()).into_response(),
                None => problem(EditError::NotFound(code)).into_response(),
            },
            Err(e) => problem(e).into_response(),
        },
        Err(e) => problem(e).into_response(),
    }
}
