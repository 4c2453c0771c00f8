//! Case summaries up the tree: a child pushes the summaries queued in its summary outbox
//! (`POST /v1/summaries`), the parent stores those newer than what it holds and, with a parent of
//! its own, queues them again (the relay), so that the district ends with the summary of every
//! case of every centre. Full case logs go up only with an escalation; summaries carry no
//! personal data, and a summary that does is refused before it is parsed.
//!
//! The parent answers only after committing, and storing a version it holds already changes
//! nothing, so a push can be retried blindly. A refused batch stores nothing.

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use axum::{Extension, Json};
use bangban_domain::Bilingual;
use bangban_domain::event::CaseId;
use bangban_domain::station::StationCode;
use bangban_domain::summary::{MAX_SUMMARY_BATCH, SummaryBatch, SummaryOutcome, personal_data_key};
use time::OffsetDateTime;
use url::Url;

use super::client::{LinkError, endpoint};
use super::server::{Child, SyncServer};
use crate::http::{ApiJson, Problem};
use crate::store::CaseStore;

/// The case a refusal names, and its position in the batch.
fn about(problem: Problem, summaries: Option<&serde_json::Value>, index: usize) -> Problem {
    let case_id = summaries
        .and_then(|s| s.get(index))
        .and_then(|s| s.get("case_id"))
        .and_then(|id| id.as_str())
        .map(str::to_owned);
    let problem = problem.with("summary_index", index);
    match case_id {
        Some(id) => problem.with("case_id", id),
        None => problem,
    }
}

/// The index of the summary a JSON path such as `summaries[3].applicant` is inside.
fn index_in_path(path: &str) -> Option<usize> {
    let rest = path.strip_prefix("summaries[")?;
    rest.split(']').next()?.parse().ok()
}

/// Stores summaries of cases in the caller's subtree, each only if newer than the one held, in
/// one transaction; answered only once committed. A summary with a personal-data key anywhere,
/// or of a case outside the caller's subtree, refuses the whole batch: nothing is stored.
#[utoipa::path(
    post,
    path = "/v1/summaries",
    tag = "sync",
    request_body = SummaryBatch,
    responses(
        (status = OK, description = "已提交。Committed.", body = SummaryOutcome),
        (status = BAD_REQUEST, description = "请求体不是 JSON。The body is not JSON.", body = Problem, content_type = "application/problem+json"),
        (status = FORBIDDEN, description = "某份摘要的受理站点不在调用方辖区内（见 `case_id`）。A summary's origin is outside the caller's subtree (see `case_id`).", body = Problem, content_type = "application/problem+json"),
        (status = PAYLOAD_TOO_LARGE, description = "批次过大。Too many summaries.", body = Problem, content_type = "application/problem+json"),
        (status = UNPROCESSABLE_ENTITY, description = "某份摘要含个人信息字段（`sync.summary_personal_data`，见 `key`）或不符合要求。A summary carries a personal-data key (`sync.summary_personal_data`, see `key`) or does not check.", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn push_summaries(
    axum::extract::State(state): axum::extract::State<Arc<SyncServer>>,
    Extension(Child(child)): Extension<Child>,
    body: Result<ApiJson<serde_json::Value>, Problem>,
) -> Result<Json<SummaryOutcome>, Problem> {
    let counts = state.store.summary_counts();
    let raw = match body {
        Ok(ApiJson(raw)) => raw,
        Err(problem) => {
            counts.add_refused(1);
            tracing::warn!(peer = %child, code = %problem.code, "refused a summary push that is not JSON");
            return Err(problem);
        }
    };
    let listed = raw.get("summaries").and_then(|s| s.as_array());
    let n = listed.map_or(1, Vec::len);
    if n > MAX_SUMMARY_BATCH {
        counts.add_refused(n);
        tracing::warn!(peer = %child, summaries = n, "refused a summary batch over the limit");
        return Err(Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "sync.batch_too_large",
            format!("一次最多提交 {MAX_SUMMARY_BATCH} 份办件摘要"),
            format!("at most {MAX_SUMMARY_BATCH} summaries per batch"),
        ));
    }
    // Personal data first, before anything else is looked at: such a summary must be refused
    // as what it is, whatever else is wrong with it.
    if let Some(key) = personal_data_key(&raw) {
        counts.add_refused(n);
        tracing::warn!(peer = %child, key = %key, "refused summaries carrying a personal-data key");
        let problem = Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "sync.summary_personal_data",
            format!("办件摘要不得包含个人信息，但含有字段“{key}”；本批未保存"),
            format!(
                "summaries must carry no personal data, but `{key}` is present; nothing was stored"
            ),
        )
        .with("key", key.clone());
        let raw_list = raw.get("summaries");
        return Err(match index_in_path(&key) {
            Some(i) => about(problem, raw_list, i),
            None => problem,
        });
    }
    let batch: SummaryBatch = match serde_json::from_value::<SummaryBatch>(raw.clone()) {
        Ok(batch) => batch,
        Err(e) => {
            counts.add_refused(n);
            tracing::warn!(peer = %child, error = %e, "refused summaries that do not parse");
            return Err(Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "sync.summary_invalid",
                format!("办件摘要格式不符：{e}；本批未保存"),
                format!("the summaries do not parse: {e}; nothing was stored"),
            ));
        }
    };
    let raw_list = raw.get("summaries");
    for (i, summary) in batch.summaries.iter().enumerate() {
        if !child.is_same_or_ancestor_of(&summary.origin) {
            counts.add_refused(n);
            tracing::warn!(peer = %child, case_id = %summary.case_id, origin = %summary.origin,
                "refused a summary of a case outside the child's subtree");
            return Err(about(
                Problem::new(
                    StatusCode::FORBIDDEN,
                    "sync.outside_subtree",
                    format!(
                        "办件 {} 的受理站点 {} 不在贵站辖区内；本批未保存",
                        summary.case_no, summary.origin
                    ),
                    format!(
                        "case {} was taken in at {}, outside your subtree; nothing was stored",
                        summary.case_no, summary.origin
                    ),
                ),
                raw_list,
                i,
            ));
        }
        if let Err(e) = summary.check() {
            counts.add_refused(n);
            tracing::warn!(peer = %child, case_id = %summary.case_id, error = %e, "refused an inconsistent summary");
            return Err(about(
                Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    e.code(),
                    format!("{}；本批未保存", e.message_zh()),
                    format!("{}; nothing was stored", e.message_en()),
                ),
                raw_list,
                i,
            ));
        }
    }
    let outcome = state
        .store
        .store_summaries(&batch.summaries, OffsetDateTime::now_utc())
        .await?;
    tracing::debug!(peer = %child, stored = outcome.stored, unchanged = outcome.unchanged, "summaries committed");
    Ok(Json(outcome))
}

/// What one drain of the summary outbox did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SummariesPushed {
    /// Summaries the parent acknowledged (stored or already held).
    pub sent: usize,
    /// Of those, the ones it stored now.
    pub stored: u32,
    /// Summaries the parent refused for good, dropped from the queue (still held here, and
    /// queued again with the case's next event).
    pub dropped: usize,
}

/// A refusal of the parent, and the case it names when it is about one summary for good: a 4xx
/// naming its case. 408 and 429 are about timing, and a refusal that names no case is about the
/// link. Read whole, unlike the error's body (cut for the logs), so the case is always found.
async fn refusal(res: reqwest::Response) -> (LinkError, Option<CaseId>) {
    let status = res.status().as_u16();
    let body = res.text().await.unwrap_or_default();
    let problem: Option<serde_json::Value> = serde_json::from_str(&body).ok();
    let member = |name: &str| {
        problem
            .as_ref()
            .and_then(|p| p.get(name))
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    };
    let for_good = (400..500).contains(&status) && status != 408 && status != 429;
    let case_id = member("case_id")
        .and_then(|id| id.parse().ok())
        .filter(|_| for_good);
    let err = LinkError::Refused {
        status,
        code: member("code"),
        event_id: None,
        body: body.chars().take(500).collect(),
    };
    (err, case_id)
}

/// Pushes the whole summary outbox to `parent`, `batch` at a time. Rows leave the outbox only
/// once the parent has acknowledged their version. A summary the parent refuses for good is
/// dropped from the queue (and logged) so that the others flow on; any other failure stops the
/// drain and is returned, the rest staying queued for the next run.
pub async fn push_summaries_once(
    store: &CaseStore,
    client: &reqwest::Client,
    parent: &Url,
    batch: u32,
) -> Result<SummariesPushed, LinkError> {
    let batch = batch.clamp(1, u32::try_from(MAX_SUMMARY_BATCH).unwrap_or(500));
    let mut done = SummariesPushed::default();
    // Rounds are bounded: summaries queued while the drain runs wait for the next run, at
    // worst, rather than keeping it going for ever on a busy node.
    let queued = u64::try_from(store.summary_outbox_len().await?).unwrap_or(0);
    let rounds = queued / u64::from(batch) + 2;
    for _ in 0..rounds {
        let summaries = store.summary_outbox_peek(batch).await?;
        if summaries.is_empty() {
            break;
        }
        let body = SummaryBatch { summaries };
        let res = client
            .post(endpoint(parent, "/v1/summaries"))
            .timeout(Duration::from_secs(60))
            .json(&body)
            .send()
            .await?;
        if !res.status().is_success() {
            let (err, case_id) = refusal(res).await;
            let Some(case_id) = case_id else {
                return Err(err);
            };
            let Some(summary) = body.summaries.iter().find(|s| s.case_id == case_id) else {
                return Err(err);
            };
            tracing::warn!(case_id = %case_id, error = %err,
                "the parent refused a case summary; dropped from the queue");
            store
                .summary_outbox_ack(&[(case_id, summary.version)])
                .await?;
            done.dropped += 1;
            continue;
        }
        let outcome: SummaryOutcome = res.json().await?;
        let acked: Vec<(CaseId, u64)> = body
            .summaries
            .iter()
            .map(|s| (s.case_id, s.version))
            .collect();
        store.summary_outbox_ack(&acked).await?;
        done.sent += acked.len();
        done.stored += outcome.stored;
    }
    Ok(done)
}

/// The `summary-push` job's body: drains the summary outbox to the parent and reports what it
/// did.
pub async fn summary_push_job(
    store: &CaseStore,
    client: &reqwest::Client,
    parent: &Url,
    me: StationCode,
) -> anyhow::Result<String> {
    let done = push_summaries_once(store, client, parent, 200).await?;
    let left = store.summary_outbox_len().await?;
    tracing::debug!(station = %me, sent = done.sent, "summaries pushed");
    Ok(format!(
        "{} summary(ies) sent ({} new at the parent), {} dropped as refused, {} still queued",
        done.sent, done.stored, done.dropped, left
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_index_of_a_path_is_read() {
        assert_eq!(index_in_path("summaries[3].applicant"), Some(3));
        assert_eq!(index_in_path("summaries[12]"), Some(12));
        assert_eq!(index_in_path("applicant"), None);
        assert_eq!(index_in_path("summaries[x].a"), None);
    }
}
