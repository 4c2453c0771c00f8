//! The parent's side of reconciliation, on the inter-node listener behind the direct-child gate
//! (`crate::sync::server`): the caller is the child its certificate names, and it only ever
//! sees digests and logs of its own subtree.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use bangban_domain::station::StationCode;
use bangban_domain::wire::PulledEvent;

use super::wire::{self, CompareAnswer, CompareRequest, Lane, Level, RunReport};
use crate::http::{ApiJson, CaseIdPath, Problem};
use crate::store::digests::{Digest, DigestSide};
use crate::sync::server::{Child, SyncServer};

/// The whole span of days a root or month comparison covers.
pub(crate) const ALL_DAYS: (i64, i64) = (0, 99_999_999);

/// This node's digests of one lane of `child`'s subtree (or, with [`DigestSide::Up`], of what
/// it shares with its parent) at one level, by key.
pub(crate) async fn digests_at(
    store: &crate::store::CaseStore,
    lane: Lane,
    side: DigestSide,
    level: Level,
    within: Option<i64>,
) -> Result<BTreeMap<String, Digest>, crate::store::StoreError> {
    let by = |m: BTreeMap<i64, Digest>| -> BTreeMap<String, Digest> {
        m.into_iter().map(|(k, d)| (k.to_string(), d)).collect()
    };
    Ok(match level {
        Level::Root => store
            .lane_digests_by(lane, side, ALL_DAYS, |_| 0)
            .await?
            .into_values()
            .map(|d| ("all".to_owned(), d))
            .collect(),
        Level::Months => by(store
            .lane_digests_by(lane, side, ALL_DAYS, |d| d / 100)
            .await?),
        Level::Days => {
            let m = within.unwrap_or_default();
            by(store
                .lane_digests_by(lane, side, (m * 100, m * 100 + 99), |d| d)
                .await?)
        }
        Level::Cases => store
            .lane_case_digests(lane, side, within.unwrap_or_default())
            .await?
            .into_iter()
            .map(|c| (c.case_id, c.digest))
            .collect(),
    })
}

fn refused(child: StationCode, err: &wire::RequestError) -> Problem {
    tracing::warn!(peer = %child, error = %err, "refused a reconciliation request");
    metrics::counter!("bangban_reconcile_refused_total", "code" => err.code()).increment(1);
    Problem::new(
        StatusCode::BAD_REQUEST,
        err.code(),
        err.message_zh(),
        err.to_string(),
    )
}

/// Compares the child's digests of one level of one lane (events or summaries) with this
/// node's digests of the child's subtree, and answers with this node's digests of the entries
/// that differ. Forged ranges, malformed
/// digests and cases of another subtree are refused whole, logged, and change nothing.
#[utoipa::path(
    post,
    path = "/v1/reconcile",
    tag = "sync",
    request_body = CompareRequest,
    responses(
        (status = OK, description = "不一致的项（上级的摘要）；一致时为空。The entries that differ, with this node's digests; empty when both agree.", body = CompareAnswer),
        (status = BAD_REQUEST, description = "范围或摘要不合法。A forged range or a malformed digest.", body = Problem, content_type = "application/problem+json"),
        (status = FORBIDDEN, description = "请求了辖区以外的办件。A case outside the caller's subtree.", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn compare(
    State(state): State<Arc<SyncServer>>,
    Extension(Child(child)): Extension<Child>,
    ApiJson(req): ApiJson<CompareRequest>,
) -> Result<Json<CompareAnswer>, Problem> {
    let theirs = wire::check(&req).map_err(|e| refused(child, &e))?;
    let mine = digests_at(
        &state.store,
        req.lane,
        DigestSide::Child(child),
        req.level,
        req.within,
    )
    .await?;
    if req.level == Level::Cases {
        let unknown_here: Vec<String> = theirs
            .keys()
            .filter(|k| !mine.contains_key(*k))
            .cloned()
            .collect();
        let outside = state
            .store
            .lane_cases_outside(req.lane, child, &unknown_here)
            .await?;
        if let Some(case) = outside.first() {
            tracing::warn!(peer = %child, case_id = %case, "reconciliation named a case outside the caller's subtree");
            metrics::counter!("bangban_reconcile_refused_total", "code" => "sync.outside_subtree")
                .increment(1);
            return Err(Problem::new(
                StatusCode::FORBIDDEN,
                "sync.outside_subtree",
                "比对中含有不属于贵站辖区的办件".to_owned(),
                "the request names a case outside your subtree".to_owned(),
            ));
        }
    }
    metrics::counter!("bangban_reconcile_requests_total", "lane" => req.lane.as_str()).increment(1);
    Ok(Json(CompareAnswer {
        differ: wire::differing(&mine, &theirs),
    }))
}

/// The whole log of one case of the caller's subtree, with this node's positions: events at or
/// below the caller's pull cursor should be there already; later ones are still on their way.
#[utoipa::path(
    get,
    path = "/v1/reconcile/cases/{case_id}",
    tag = "sync",
    params(("case_id" = String, Path, description = "办件标识（UUID）。The case's id (UUID).")),
    responses(
        (status = OK, description = "该办件的全部记录及其位置。The case's events with their positions, oldest first.", body = Vec<PulledEvent>),
        (status = BAD_REQUEST, description = "办件编号格式有误。Malformed case id.", body = Problem, content_type = "application/problem+json"),
        (status = FORBIDDEN, description = "不属于调用方辖区。Outside the caller's subtree.", body = Problem, content_type = "application/problem+json"),
        (status = NOT_FOUND, description = "没有该办件。No such case here.", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn case_log(
    State(state): State<Arc<SyncServer>>,
    Extension(Child(child)): Extension<Child>,
    CaseIdPath(case_id): CaseIdPath,
) -> Result<Json<Vec<PulledEvent>>, Problem> {
    let events = crate::sync::server::subtree_log(&state, child, case_id).await?;
    Ok(Json(
        events
            .into_iter()
            .map(|e| PulledEvent {
                seq: e.seq,
                event: e.event,
            })
            .collect(),
    ))
}

/// Records what a child's run found (the parent's view of its children's reconciliation), and
/// forgets the request it answers.
#[utoipa::path(
    post,
    path = "/v1/reconcile/report",
    tag = "sync",
    request_body = RunReport,
    responses(
        (status = NO_CONTENT, description = "已记录。Recorded."),
        (status = BAD_REQUEST, description = "报告不合法。A malformed report.", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn report(
    State(state): State<Arc<SyncServer>>,
    Extension(Child(child)): Extension<Child>,
    ApiJson(report): ApiJson<RunReport>,
) -> Result<StatusCode, Problem> {
    let mut run = report.run;
    let counts = [
        run.summaries_sent,
        run.requests,
        run.bytes,
        run.cases_checked,
        run.sent_up,
        run.fetched_down,
        run.unrepairable,
    ];
    if counts.iter().any(|n| *n < 0) || run.finished_at_ms < run.started_at_ms {
        tracing::warn!(peer = %child, "refused a malformed reconciliation report");
        return Err(Problem::bad_request(
            "reconcile.report",
            "对账报告中的数字不合法",
            "the report's counts or times are malformed",
        ));
    }
    run.peer = child.to_string();
    run.detail = run.detail.chars().take(500).collect();
    state.store.record_run(&run, &[]).await?;
    if let Some(at) = report.requested_at_ms {
        state.store.clear_reconcile_request(child, at).await?;
    }
    tracing::info!(peer = %child, ok = run.ok, sent_up = run.sent_up, fetched_down = run.fetched_down, unrepairable = run.unrepairable, "a child reported a reconciliation");
    Ok(StatusCode::NO_CONTENT)
}
