//! The operator API both nodes serve on their UI listener (JSON over HTTP, bearer tokens from
//! `POST /api/v1/login`): create, read, list cases and append events; the shared state machine
//! decides. Its OpenAPI document is generated from the routes ([`openapi`]) and served at
//! `/api/v1/openapi.json`.
//!
//! Personal data is masked in every answer; handlers never build SQL.

pub mod cases;
pub mod summaries;

use std::sync::Arc;

use axum::Router;
use axum::extract::FromRef;
use axum::http::StatusCode;
use axum::response::Response;
use utoipa::openapi::path::{HttpMethod, OperationBuilder};
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::tag::TagBuilder;
use utoipa::openapi::{ContentBuilder, InfoBuilder, ObjectBuilder, OpenApi, RefOr, Type};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::AuthStore;
use crate::openapi::Rendered;

/// What the operator API handlers share.
pub struct NodeApi {
    pub name: String,
    pub auth: AuthStore,
    /// Taking cases in, their steps and views (with the store and the policy in force).
    pub intake: crate::intake::Intake,
    /// This node's document: [`openapi`] with what its crate's parts add, rendered once.
    pub openapi: Arc<Rendered>,
}

impl FromRef<Arc<NodeApi>> for AuthStore {
    fn from_ref(api: &Arc<NodeApi>) -> AuthStore {
        api.auth.clone()
    }
}

/// What each route of this API needs (see `crate::access`).
pub fn access() -> Vec<crate::access::Access> {
    use crate::access::{Access, Rule::*};
    use bangban_domain::account::Permission::*;
    vec![
        // Login and logout check their own credentials.
        Access::post("/api/v1/login", Public),
        Access::post("/api/v1/logout", Public),
        Access::get("/api/v1/openapi.json", Public),
        Access::post("/api/v1/cases", Needs(HandleCases)),
        Access::get("/api/v1/cases", Needs(ViewCases)),
        Access::get("/api/v1/cases/{case_id}", Needs(ViewCases)),
        Access::post("/api/v1/cases/{case_id}/events", Needs(HandleCases)),
        Access::get("/api/v1/items", Needs(ViewCases)),
        // Alerts (crate::alerts::api).
        Access::get("/api/v1/alerts", Needs(WatchAlerts)),
        Access::post("/api/v1/alerts/{alert_id}/ack", Needs(WatchAlerts)),
        // Case summaries of the subtree (no personal data).
        Access::get("/api/v1/summaries", Needs(ViewCases)),
    ]
}

/// `/api/v1/…`: login, cases, items, the OpenAPI document.
pub fn routes(state: Arc<NodeApi>) -> Router {
    router().with_state(state).into()
}

/// The operator API's routes with their documentation, before they get their state.
pub fn router() -> OpenApiRouter<Arc<NodeApi>> {
    OpenApiRouter::new()
        .merge(crate::auth::auth_router())
        .merge(cases::router())
        .merge(crate::alerts::api::router())
        .merge(summaries::router())
        .routes(routes!(openapi_json))
}

/// The path of the Prometheus metrics, which the node mounts beside this API (see
/// `crate::node`); documented here with the rest of the UI listener.
pub const METRICS_PATH: &str = "/metrics";

/// The OpenAPI document of everything the UI listener serves: this API, the health endpoints
/// and the metrics.
pub fn openapi() -> OpenApi {
    openapi_with(Vec::new())
}

/// As [`openapi`], with the documentation of the routes a node crate adds (`node::Parts::ui_api`),
/// which get the same problem and 401 responses.
pub fn openapi_with(own: Vec<OpenApi>) -> OpenApi {
    let mut doc = router().into_openapi();
    doc.merge(crate::http::health_router().into_openapi());
    for part in own {
        doc.merge(part);
    }
    doc.paths.add_path_operation(
        METRICS_PATH,
        vec![HttpMethod::Get],
        OperationBuilder::new()
            .tag("health")
            .summary(Some("Prometheus metrics"))
            .description(Some(
                "运行指标（Prometheus 文本格式）。The node's metrics in the Prometheus text format.",
            ))
            .response(
                "200",
                ResponseBuilder::new()
                    .description("Metrics")
                    .content(
                        "text/plain; version=0.0.4",
                        ContentBuilder::new()
                            .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                            .build(),
                    ),
            ),
    );
    doc.info = InfoBuilder::new()
        .title("Bangban operator API")
        .version("1.0.0")
        .description(Some(
            "帮办代办系统各节点（区级与站点）界面端口上的 JSON 接口。\n\n\
             The JSON API of every Bangban node's UI listener (district and stations). Log in \
             with `POST /api/v1/login` and send the token as `Authorization: Bearer <token>`. \
             Errors are `application/problem+json` with `code`, `message_zh` and `message_en`. \
             Personal data (ID numbers, phones, addresses, person names) is masked in every \
             answer. The inter-node API (`/v1/…`) is served on a separate mutual-TLS listener \
             and has its own document there (`/v1/openapi.json`).",
        ))
        .build();
    doc.tags = Some(vec![
        TagBuilder::new()
            .name("auth")
            .description(Some("登录与退出。Login and logout."))
            .build(),
        TagBuilder::new()
            .name("cases")
            .description(Some("办件与事项。Cases and service items."))
            .build(),
        TagBuilder::new()
            .name("alerts")
            .description(Some(
                "办件到期预警与上下级链路告警。Deadline alerts and link alarms.",
            ))
            .build(),
        TagBuilder::new()
            .name("health")
            .description(Some("健康检查与运行指标。Health and metrics."))
            .build(),
        TagBuilder::new()
            .name("meta")
            .description(Some("本文档。This document."))
            .build(),
    ]);
    doc.components
        .get_or_insert_with(Default::default)
        .add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "登录后获得的令牌。The token from `POST /api/v1/login`.",
                    ))
                    .build(),
            ),
        );
    crate::openapi::with_problems(&mut doc, &[]);
    // Every operation that needs a token may be refused without one.
    crate::openapi::each_operation(&mut doc, |op| {
        if op.security.as_ref().is_some_and(|s| !s.is_empty()) {
            op.responses
                .responses
                .entry(StatusCode::UNAUTHORIZED.as_str().to_owned())
                .or_insert_with(|| {
                    RefOr::T(crate::openapi::problem_response(
                        "未登录或令牌无效。No token, or the token is not valid.",
                    ))
                });
        }
    });
    doc
}

/// This document.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "meta",
    responses((status = OK, description = "OpenAPI 3.1 文档。This OpenAPI 3.1 document.", body = Object, content_type = "application/json")),
)]
async fn openapi_json(axum::extract::State(api): axum::extract::State<Arc<NodeApi>>) -> Response {
    use axum::response::IntoResponse;
    (&*api.openapi).into_response()
}
