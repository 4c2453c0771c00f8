//! `GET /api/v1/summaries`: the case summaries this node holds (its own cases and those of its
//! subtree that its children sent up), newest first, by centre and stage. Summaries carry no
//! personal data, so they are shown as they are.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use bangban_domain::case::Stage;
use bangban_domain::station::StationCode;
use bangban_domain::summary::CaseSummary;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::NodeApi;
use crate::auth::CurrentOperator;
use crate::http::Problem;
use crate::store::{Keyset, ListCursor, SummaryFilter};

/// The summary routes, documented.
pub fn router() -> OpenApiRouter<Arc<NodeApi>> {
    OpenApiRouter::new().routes(routes!(list_summaries))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct SummaryQuery {
    /// 只列出该站点（含其下级）受理的办件。Only cases taken in at this centre or below it
    /// (a station code of this node's subtree).
    centre: Option<String>,
    /// 只列出该状态的办件。Only cases at this stage.
    #[param(value_type = Option<Stage>)]
    stage: Option<String>,
    /// At most this many (1 to 500, 50 by default).
    #[serde(default)]
    limit: u32,
    /// The next page: the rows after this cursor (`next` of the previous page).
    after: Option<String>,
}

/// A page of case summaries, newest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SummaryList {
    pub summaries: Vec<CaseSummary>,
    /// The cursor of the next page (`after=`), when the page was full.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// Parses a centre of `me`'s subtree, for the list's filter.
pub fn centre_in_subtree(me: StationCode, text: &str) -> Result<StationCode, Problem> {
    let code = StationCode::parse(text.trim()).map_err(|e| {
        Problem::bad_request(
            "summary.centre",
            format!(
                "站点代码有误：{}",
                bangban_domain::Bilingual::message_zh(&e)
            ),
            format!("bad station code: {e}"),
        )
    })?;
    if !me.is_same_or_ancestor_of(&code) {
        return Err(Problem::bad_request(
            "summary.centre",
            format!("站点 {code} 不在本站辖区内"),
            format!("station {code} is outside this node's subtree"),
        ));
    }
    Ok(code)
}

/// The summaries of the cases of this node's subtree, newest first: its own cases and those its
/// children sent up. No personal data.
#[utoipa::path(
    get,
    path = "/api/v1/summaries",
    tag = "cases",
    security(("bearer" = [])),
    params(SummaryQuery),
    responses(
        (status = OK, description = "办件摘要列表。The case summaries.", body = SummaryList),
        (status = BAD_REQUEST, description = "查询参数有误（站点、状态、游标）。Bad query parameters (centre, stage, cursor).", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn list_summaries(
    State(api): State<Arc<NodeApi>>,
    _op: CurrentOperator,
    query: Result<Query<SummaryQuery>, QueryRejection>,
) -> Result<Json<SummaryList>, Problem> {
    let Query(q) = query?;
    let stage = match q.stage.as_deref() {
        None | Some("") => None,
        Some(s) => Some(Stage::parse(s).ok_or_else(|| {
            Problem::bad_request(
                "case.stage",
                format!("没有“{s}”这个办件状态"),
                format!("unknown stage `{s}`"),
            )
        })?),
    };
    let centre = match q.centre.as_deref() {
        None | Some("") => None,
        Some(c) => Some(centre_in_subtree(api.intake.me, c)?),
    };
    let keyset = match q.after.as_deref() {
        None | Some("") => None,
        Some(a) => Some(Keyset::After(ListCursor::parse(a).ok_or_else(|| {
            Problem::bad_request("summary.cursor", "游标格式有误", "malformed cursor")
        })?)),
    };
    let limit = if q.limit == 0 { 50 } else { q.limit.min(500) };
    let rows = api
        .intake
        .store
        .summaries(&SummaryFilter {
            subtree: centre,
            stage,
            keyset,
            limit,
        })
        .await?;
    let next = (rows.len() == limit as usize)
        .then(|| rows.last().map(|r| r.cursor().to_string()))
        .flatten();
    Ok(Json(SummaryList {
        summaries: rows.into_iter().map(|r| r.summary).collect(),
        next,
    }))
}
