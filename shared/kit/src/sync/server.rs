//! The inter-node API a parent serves its direct children (district → towns, town → villages),
//! mounted on the mTLS listener only. The caller is the station its certificate names; a
//! station that is not a direct child in the topology is refused with 403 before any handler.
//! Its OpenAPI document is generated from the routes ([`openapi`]) and served, behind the same
//! gate, at `/v1/openapi.json`.

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use axum::extract::rejection::QueryRejection;
use axum::extract::{DefaultBodyLimit, Query, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json, Router};
use bangban_domain::event::Event;
use bangban_domain::station::StationCode;
use bangban_domain::wire::{MAX_BATCH, PullPage, PulledEvent, PushBatch, PushOutcome};
use serde::Deserialize;
use time::OffsetDateTime;
use utoipa::openapi::tag::TagBuilder;
use utoipa::openapi::{InfoBuilder, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::{ApiJson, CaseIdPath, Problem};
use crate::store::{Admission, Appended, CaseStore, StoreError};
use crate::tls::{Peer, forbidden_peer};

/// The largest push body accepted (a full batch of large events fits well inside).
pub const MAX_PUSH_BYTES: usize = 16 * 1024 * 1024;
/// The longest a pull may wait for new events.
pub const MAX_WAIT: Duration = Duration::from_secs(30);

/// What the inter-node handlers share.
pub struct SyncServer {
    pub store: CaseStore,
    pub me: StationCode,
    /// The policy in force: its district tree says who the direct children are.
    pub policy: crate::policy::PolicyHandle,
}

/// The calling child, once authorised.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Child(pub(crate) StationCode);

/// The inter-node listener's routes: `/v1/…` for children, and `extra`: the node's `/healthz`
/// and `/readyz`, and the inter-node routes its crate adds (`node::Parts::internode_routes`).
/// Every route, these included, answers direct children only: a node has no business asking
/// another node's state unless it is linked to it.
pub fn routes(state: Arc<SyncServer>, extra: Router) -> Router {
    Router::from(router().with_state(state.clone()))
        .merge(extra)
        .route_layer(middleware::from_fn_with_state(state, require_direct_child))
        .layer(DefaultBodyLimit::max(MAX_PUSH_BYTES))
        .layer(middleware::from_fn_with_state(
            MAX_PUSH_BYTES,
            crate::http::refuse_oversized,
        ))
        .fallback(crate::http::fallback)
}

/// The inter-node routes with their documentation, before they get their state.
pub fn router() -> OpenApiRouter<Arc<SyncServer>> {
    OpenApiRouter::new()
        .routes(routes!(push, pull))
        .routes(routes!(case_events))
        .routes(routes!(crate::reconcile::server::compare))
        .routes(routes!(crate::reconcile::server::case_log))
        .routes(routes!(crate::reconcile::server::report))
        .routes(routes!(crate::sync::summaries::push_summaries))
        .routes(routes!(crate::attachments::transfer::offer))
        .routes(routes!(
            crate::attachments::transfer::put_piece,
            crate::attachments::transfer::get_blob
        ))
        .routes(routes!(openapi_json))
}

/// The OpenAPI document of everything the inter-node listener serves: these routes and the
/// node's health endpoints.
pub fn openapi() -> OpenApi {
    let mut doc = router().into_openapi();
    doc.merge(crate::http::health_router().into_openapi());
    doc.merge(crate::policy::serve::openapi());
    doc.merge(crate::policy::files::openapi());
    doc.info = InfoBuilder::new()
        .title("Bangban inter-node API")
        .version("1.0.0")
        .description(Some(
            "上下级节点之间的接口：仅在双向 TLS 端口上提供，仅对直属下级开放。\n\n\
             The API a parent serves its direct children (district → towns, town → villages), \
             on the mutual-TLS listener only. The caller is identified by its client \
             certificate alone (SAN URI `bangban://<district>/<tier>/<station code>`, issued by \
             the district's CA); there is no token. A connection without a valid certificate is \
             refused during the TLS handshake; a station that is not a direct child of this node \
             in the policy's district tree gets 403 on every route, health included. Errors are \
             `application/problem+json`.",
        ))
        .build();
    doc.tags = Some(vec![
        TagBuilder::new()
            .name("sync")
            .description(Some("办件记录的上传与下拉。Events up and down the tree."))
            .build(),
        TagBuilder::new()
            .name("attachments")
            .description(Some(
                "附件随上报按内容摘要传输，只传上级缺少的部分。Attachments by hash: only what the parent lacks.",
            ))
            .build(),
        TagBuilder::new()
            .name("policy")
            .description(Some(
                "区政策包与代办员名册（签名原样下发）。The district's signed policy bundle and agent rosters, relayed verbatim.",
            ))
            .build(),
        TagBuilder::new()
            .name("health")
            .description(Some("健康检查。Health."))
            .build(),
        TagBuilder::new()
            .name("meta")
            .description(Some("本文档。This document."))
            .build(),
    ]);
    crate::openapi::with_problems(
        &mut doc,
        &[(
            StatusCode::FORBIDDEN,
            "调用方不是本节点的直属下级（或已撤销）。The caller is not an active direct child of this node.",
        )],
    );
    doc
}

static OPENAPI: LazyLock<crate::openapi::Rendered> =
    LazyLock::new(|| crate::openapi::Rendered::new(&openapi()));

/// This document.
#[utoipa::path(
    get,
    path = "/v1/openapi.json",
    tag = "meta",
    responses((status = OK, description = "OpenAPI 3.1 文档。This OpenAPI 3.1 document.", body = Object, content_type = "application/json")),
)]
async fn openapi_json() -> Response {
    (&*OPENAPI).into_response()
}

// SECURITY-CRITICAL: the only gate between a verified certificate and the inter-node handlers.
async fn require_direct_child(
    State(state): State<Arc<SyncServer>>,
    Peer(peer): Peer,
    mut req: Request,
    next: Next,
) -> Response {
    let policy = state.policy.current();
    let Some(topology) = policy.topology.as_ref() else {
        return forbidden_peer(&peer, "this node has no district tree, so no children")
            .into_response();
    };
    if !topology.is_direct_child(state.me, peer.station) {
        return forbidden_peer(&peer, "not a direct child of this node in the topology")
            .into_response();
    }
    let today = bangban_domain::calendar::local_date(OffsetDateTime::now_utc());
    if !topology.is_active(peer.station, today) {
        return forbidden_peer(
            &peer,
            "the station is retired (or not yet open) in the topology",
        )
        .into_response();
    }
    req.extensions_mut().insert(Child(peer.station));
    next.run(req).await
}

/// The problem for a refused push. A refusal of one event (the state machine, the subtree, the
/// clock …) names it in `event_id` and `event_index`: the child retries that event a few times
/// and then sets it aside, so that the events behind it flow on. A refusal without `event_id`
/// is about the link, and the child keeps retrying the whole batch.
fn store_problem(child: StationCode, events: &[Event], err: StoreError) -> Problem {
    if err.is_client_error() {
        tracing::warn!(peer = %child, error = %err, "refused events from a child");
    }
    let index = match &err {
        StoreError::InBatch { index, .. } => Some(*index),
        _ => None,
    };
    let problem = Problem::from(err);
    match index {
        Some(index) => match events.get(index) {
            Some(ev) => problem
                .with("event_id", ev.event_id.to_string())
                .with("event_index", index),
            None => problem,
        },
        None => problem,
    }
}

/// Stores a batch of events from the child, in order, in one transaction; answered only once
/// committed. Events stored before are counted as duplicates, so a batch can be retried
/// blindly. A refusal of one event names it in `event_id` and `event_index`.
#[utoipa::path(
    post,
    path = "/v1/events",
    tag = "sync",
    request_body = PushBatch,
    responses(
        (status = OK, description = "已提交。Committed.", body = PushOutcome),
        (status = PAYLOAD_TOO_LARGE, description = "批次过大。Too many events or too many bytes.", body = Problem, content_type = "application/problem+json"),
        (status = UNPROCESSABLE_ENTITY, description = "某条记录被拒绝（见 `event_id`）。An event was refused (see `event_id`, `event_index`).", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn push(
    State(state): State<Arc<SyncServer>>,
    Extension(Child(child)): Extension<Child>,
    ApiJson(batch): ApiJson<PushBatch>,
) -> Result<Json<PushOutcome>, Problem> {
    if batch.events.len() > MAX_BATCH {
        return Err(Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "sync.batch_too_large",
            format!("一次最多提交 {MAX_BATCH} 条记录"),
            format!("at most {MAX_BATCH} events per batch"),
        ));
    }
    let outcomes = state
        .store
        .append_batch(
            &batch.events,
            Admission::FromChild(child),
            None,
            OffsetDateTime::now_utc(),
        )
        .await
        .map_err(|e| store_problem(child, &batch.events, e))?;
    let stored = outcomes
        .iter()
        .filter(|o| matches!(o, Appended::Stored { .. }))
        .count();
    let outcome = PushOutcome {
        stored: u32::try_from(stored).unwrap_or(u32::MAX),
        duplicates: u32::try_from(outcomes.len() - stored).unwrap_or(u32::MAX),
    };
    tracing::debug!(peer = %child, stored = outcome.stored, duplicates = outcome.duplicates, "batch committed");
    Ok(Json(outcome))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct PullQuery {
    /// The cursor: events after this position in this node's log (0: from the start).
    #[serde(default)]
    after: i64,
    /// At most this many events (1 to 1000, 500 by default).
    limit: Option<u32>,
    /// Seconds to wait for new events when there are none (long-poll).
    #[serde(default)]
    wait: u64,
}

/// The events of cases in the caller's subtree after the cursor, oldest first. With `wait`, an
/// empty answer waits up to that many seconds (at most 30) for new events (long-poll).
#[utoipa::path(
    get,
    path = "/v1/events",
    tag = "sync",
    params(
        PullQuery,
        ("bangban-outbox-len" = Option<i64>, Header, description = "下级待上传记录数。Events waiting in the child's outbox."),
        ("bangban-outbox-oldest-ms" = Option<i64>, Header, description = "其中最早一条的排队时间（Unix 毫秒）。When the oldest of them was queued (Unix ms)."),
        ("bangban-stuck-escalations" = Option<i64>, Header, description = "其中滞留超时的上报记录数。Escalations among them waiting longer than the child's transit alarm. Values that do not check are ignored."),
    ),
    responses(
        (status = OK, description = "一页记录。A page of events.", body = PullPage),
        (status = BAD_REQUEST, description = "查询参数有误。Bad query parameters.", body = Problem, content_type = "application/problem+json"),
        (status = SERVICE_UNAVAILABLE, description = "等待中的请求已满。Too many long polls at once.", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn pull(
    State(state): State<Arc<SyncServer>>,
    Extension(Child(child)): Extension<Child>,
    headers: axum::http::HeaderMap,
    query: Result<Query<PullQuery>, QueryRejection>,
) -> Result<Response, Problem> {
    record_contact(&state, child, &headers).await;
    let Query(q) = query?;
    if q.after < 0 {
        return Err(Problem::bad_request(
            "sync.cursor",
            "游标不能为负数",
            "the cursor cannot be negative",
        ));
    }
    let limit = q
        .limit
        .unwrap_or(500)
        .clamp(1, u32::try_from(MAX_BATCH).unwrap_or(1000));
    let wait = Duration::from_secs(q.wait).min(MAX_WAIT);
    let mut deadline = tokio::time::Instant::now() + wait;
    // Subscribe before reading, so an event stored between the read and the wait wakes us.
    let mut changes = state.store.subscribe();
    // Replicas of this node on one PostgreSQL database store events this process is not told
    // of: a wait there looks again every second (a delay, never a loss: the cursor is shared).
    let recheck = (state.store.db().backend() == crate::db::Backend::Postgres)
        .then_some(Duration::from_secs(1));
    loop {
        changes.borrow_and_update();
        let events = state
            .store
            .events_for_subtree(child, q.after, limit)
            .await?;
        if !events.is_empty() || tokio::time::Instant::now() >= deadline {
            let next = events.last().map_or(q.after, |(seq, _)| *seq);
            let page = Json(PullPage {
                events: events
                    .into_iter()
                    .map(|(seq, event)| PulledEvent { seq, event })
                    .collect(),
                next,
            });
            // A reconciliation the parent asked for (crate::reconcile) rides on the answer.
            return Ok(match state.store.reconcile_requested(child).await? {
                Some(at) => {
                    ([(crate::reconcile::REQUEST_HEADER, at.to_string())], page).into_response()
                }
                None => page.into_response(),
            });
        }
        // Wake at least every few seconds: a reconciliation request (written by the CLI, maybe
        // in another process) should not wait for the whole long poll; and on PostgreSQL every
        // second, for events stored through a replica.
        let step = recheck.unwrap_or(REQUEST_CHECK).min(REQUEST_CHECK);
        let wake = deadline.min(tokio::time::Instant::now() + step);
        if tokio::time::timeout_at(wake, changes.changed())
            .await
            .is_err()
            && wake < deadline
            && state.store.reconcile_requested(child).await?.is_some()
        {
            deadline = tokio::time::Instant::now();
        }
        // Woken, or time to look again (past the deadline: answer with what there is).
    }
}

/// How often a waiting pull looks for a reconciliation request of its caller.
const REQUEST_CHECK: Duration = Duration::from_secs(3);

/// Records the child's pull and the outbox state it reports (see `crate::alerts::watchdog`).
/// Never refuses the pull: a header that does not check is logged and ignored, and a failed
/// write is logged (the next pull records again).
async fn record_contact(state: &SyncServer, child: StationCode, headers: &axum::http::HeaderMap) {
    let now = crate::store::to_ms(OffsetDateTime::now_utc());
    let (report, bad) = crate::alerts::watchdog::report_from_headers(headers, now);
    if !bad.is_empty() {
        tracing::warn!(peer = %child, headers = ?bad, "ignored outbox report headers that do not check");
    }
    let alerts = crate::alerts::AlertStore::new(state.store.db().clone());
    if let Err(e) = alerts
        .record_contact(&child.to_string(), now, &report)
        .await
    {
        tracing::warn!(peer = %child, error = %e, "the child's contact could not be recorded");
    }
}

/// The whole log of one case of the caller's subtree (for reconciliation).
#[utoipa::path(
    get,
    path = "/v1/cases/{case_id}/events",
    tag = "sync",
    params(("case_id" = String, Path, description = "办件标识（UUID）。The case's id (UUID).")),
    responses(
        (status = OK, description = "该办件的全部记录。The case's events, oldest first.", body = Vec<Event>),
        (status = BAD_REQUEST, description = "办件编号格式有误。Malformed case id.", body = Problem, content_type = "application/problem+json"),
        (status = NOT_FOUND, description = "没有该办件。No such case.", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn case_events(
    State(state): State<Arc<SyncServer>>,
    Extension(Child(child)): Extension<Child>,
    CaseIdPath(case_id): CaseIdPath,
) -> Result<Json<Vec<Event>>, Problem> {
    let events = subtree_log(&state, child, case_id).await?;
    Ok(Json(events.into_iter().map(|e| e.event).collect()))
}

/// The log of `case_id` with this node's positions, if the case is in `child`'s subtree: 404
/// for a case not held here, 403 (logged) for one outside the subtree.
pub(crate) async fn subtree_log(
    state: &SyncServer,
    child: StationCode,
    case_id: bangban_domain::event::CaseId,
) -> Result<Vec<crate::store::LoggedEvent>, Problem> {
    let (origin, events) = state
        .store
        .case_log(case_id)
        .await?
        .ok_or_else(|| Problem::not_found("该办件", "case"))?;
    if !child.is_same_or_ancestor_of(&origin) {
        tracing::warn!(peer = %child, case_id = %case_id, "child asked for a case outside its subtree");
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            "sync.outside_subtree",
            "该办件不属于贵站辖区，无权查看".to_owned(),
            "this case is outside your subtree".to_owned(),
        ));
    }
    Ok(events)
}
