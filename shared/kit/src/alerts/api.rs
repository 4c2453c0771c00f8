//! The alerts of the operator API: the open alerts of this node and its subtree, and their
//! acknowledgement. Who may: operators and agents of the node, district administrators and
//! inspectors (`Permission::WatchAlerts`).

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRequestParts, Query, State};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::store::{Alert, AlertStore};
use crate::api::NodeApi;
use crate::auth::CurrentOperator;
use crate::http::Problem;
use crate::store::to_ms;

type ApiState = State<Arc<NodeApi>>;

/// The alert routes, documented.
pub fn router() -> OpenApiRouter<Arc<NodeApi>> {
    OpenApiRouter::new()
        .routes(routes!(list_alerts))
        .routes(routes!(ack_alert))
}

/// An alert with the name of its centre.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AlertView {
    #[serde(flatten)]
    pub alert: Alert,
    /// The centre's name from the district tree, when the tree lists it.
    pub centre_name: Option<String>,
}

/// The open alerts, newest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AlertList {
    pub alerts: Vec<AlertView>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct AlertQuery {
    /// 最多返回条数（1–1000，默认 200）。At most this many (1 to 1000, 200 by default).
    limit: Option<u32>,
}

/// The name of station `code` in the district tree of the policy in force.
pub fn centre_name(policy: &crate::policy::PolicyHandle, code: &str) -> Option<String> {
    let station = bangban_domain::station::StationCode::parse(code).ok()?;
    let in_force = policy.current();
    Some(in_force.topology.as_ref()?.get(station)?.name.clone())
}

fn view(api: &NodeApi, alert: Alert) -> AlertView {
    AlertView {
        centre_name: centre_name(&api.intake.policy, &alert.centre),
        alert,
    }
}

fn alerts(api: &NodeApi) -> AlertStore {
    AlertStore::new(api.intake.store.db().clone())
}

/// The open alerts of this centre and its subtree, newest first: deadlines (`near_due`,
/// `overdue`) of cases held here or below, escalations stuck on their way up
/// (`stuck_in_transit`) and silent children (`child_silent`). An acknowledged alert stays
/// listed until its cause is gone.
#[utoipa::path(
    get,
    path = "/api/v1/alerts",
    tag = "alerts",
    security(("bearer" = [])),
    params(AlertQuery),
    responses(
        (status = OK, description = "未消除的预警。The open alerts.", body = AlertList),
        (status = BAD_REQUEST, description = "查询参数有误。Bad query parameters.", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn list_alerts(
    State(api): ApiState,
    _op: CurrentOperator,
    query: Result<Query<AlertQuery>, QueryRejection>,
) -> Result<Json<AlertList>, Problem> {
    let Query(q) = query?;
    let limit = match q.limit {
        None => 200,
        Some(n @ 1..=1000) => n,
        Some(_) => {
            return Err(Problem::bad_request(
                "alerts.limit",
                "limit 须在 1 到 1000 之间",
                "limit must be between 1 and 1000",
            ));
        }
    };
    let open = alerts(&api).open(limit).await?;
    Ok(Json(AlertList {
        alerts: open.into_iter().map(|a| view(&api, a)).collect(),
    }))
}

/// An alert id in the path; a malformed one is a 400 problem.
pub struct AlertIdPath(pub Uuid);

impl<S: Send + Sync> FromRequestParts<S> for AlertIdPath {
    type Rejection = Problem;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        let malformed =
            || Problem::bad_request("alerts.id", "预警编号格式有误", "malformed alert id");
        let axum::extract::Path(raw) =
            axum::extract::Path::<String>::from_request_parts(parts, state)
                .await
                .map_err(|_| malformed())?;
        Uuid::parse_str(&raw)
            .map(AlertIdPath)
            .map_err(|_| malformed())
    }
}

/// Acknowledges an alert: records who and when. Acknowledging again changes nothing (the first
/// acknowledgement stays) and answers the alert as it is. The alert stays open until its cause
/// is gone.
#[utoipa::path(
    post,
    path = "/api/v1/alerts/{alert_id}/ack",
    tag = "alerts",
    security(("bearer" = [])),
    params(("alert_id" = String, Path, description = "预警标识（UUID）。The alert's id (UUID).")),
    responses(
        (status = OK, description = "已确认的预警。The alert, acknowledged.", body = AlertView),
        (status = BAD_REQUEST, description = "预警编号格式有误。Malformed alert id.", body = Problem, content_type = "application/problem+json"),
        (status = NOT_FOUND, description = "没有该预警。No such alert.", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn ack_alert(
    State(api): ApiState,
    op: CurrentOperator,
    AlertIdPath(id): AlertIdPath,
) -> Result<Json<AlertView>, Problem> {
    let acked = alerts(&api)
        .ack(id, op.0.username.as_str(), to_ms(OffsetDateTime::now_utc()))
        .await?
        .ok_or_else(|| Problem::not_found("该预警", "alert"))?;
    tracing::info!(operator = %op.0.username, alert_id = %id, kind = %acked.kind, "alert acknowledged");
    Ok(Json(view(&api, acked)))
}
