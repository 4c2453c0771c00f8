//! The child's side of the link: the forwarder pushes the outbox to the parent, the puller
//! long-polls the parent for the events of this node's subtree. Both resume from the database
//! after a restart (the outbox rows and the saved cursor) and retry with jittered backoff.

use std::sync::Arc;
use std::time::Duration;

use bangban_domain::event::EventId;
use bangban_domain::wire::{PullPage, PushBatch, PushOutcome};
use time::OffsetDateTime;
use tokio::sync::watch;
use url::Url;

use super::{LinkStatus, PARENT_CURSOR, ParentUrls, backoff};
use crate::store::{CaseStore, StoreError};

/// Why one exchange with the parent failed.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("cannot reach the parent: {0}")]
    Transport(#[from] reqwest::Error),
    #[error("the parent answered {status}: {body}")]
    Refused {
        status: u16,
        body: String,
        /// The problem's `code`, when the body is a problem document.
        code: Option<String>,
        /// The one event the refusal is about, when it names one.
        event_id: Option<EventId>,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// How a link behaves; tests shorten the waits.
#[derive(Debug, Clone)]
pub struct LinkOptions {
    pub batch: u32,
    /// Seconds a pull waits at the parent for new events.
    pub pull_wait_secs: u64,
    pub backoff_base: Duration,
    pub backoff_cap: Duration,
    /// How often an idle forwarder looks at the outbox even without a wake-up.
    pub idle_check: Duration,
    /// How long an escalation may wait in the outbox before the pulls report it stuck
    /// (`[alerts] transit_alarm_mins`).
    pub transit_alarm: Duration,
}

impl Default for LinkOptions {
    fn default() -> Self {
        LinkOptions {
            batch: 500,
            pull_wait_secs: 25,
            backoff_base: Duration::from_millis(200),
            backoff_cap: Duration::from_secs(30),
            idle_check: Duration::from_secs(5),
            transit_alarm: Duration::from_secs(30 * 60),
        }
    }
}

pub(crate) fn endpoint(parent: &Url, path: &str) -> Url {
    let mut url = parent.clone();
    url.set_path(path);
    url.set_query(None);
    url
}

pub(crate) async fn refused(res: reqwest::Response) -> LinkError {
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
    LinkError::Refused {
        status,
        code: member("code"),
        event_id: member("event_id").and_then(|id| id.parse().ok()),
        body: body.chars().take(500).collect(),
    }
}

/// How often the parent may refuse one event with a permanent error before it is set aside as
/// a dead letter. A few tries ride out a refusal that a moment fixes (a parent that is being
/// reconfigured), without letting one event block the link for long.
pub const MAX_REFUSALS: i64 = 3;

/// Whether a refusal is permanent and about one event: a 4xx naming the event. 408 and 429
/// are about timing, and a refusal that names no event is about the link (a missing
/// certificate, a topology that does not list this node): neither is the event's fault.
fn refused_event(err: &LinkError) -> Option<(EventId, &str)> {
    match err {
        LinkError::Refused {
            status,
            code,
            event_id: Some(id),
            ..
        } if (400..500).contains(status) && *status != 408 && *status != 429 => {
            Some((*id, code.as_deref().unwrap_or("refused")))
        }
        _ => None,
    }
}

/// Pushes one batch of the outbox. Returns how many events left the outbox. The rows are
/// deleted only after the parent answered that it committed them. An event the parent refuses
/// for good is counted, and set aside as a dead letter at [`MAX_REFUSALS`].
pub async fn push_once(
    store: &CaseStore,
    client: &reqwest::Client,
    parent: &Url,
    batch: u32,
) -> Result<usize, LinkError> {
    let queued = store.outbox_peek(batch).await?;
    if queued.is_empty() {
        return Ok(0);
    }
    let body = PushBatch {
        events: queued.into_iter().map(|q| q.event).collect(),
    };
    // Attachments first: the parent holds a file before it learns of it from the log.
    crate::attachments::transfer::send_attachments(store, client, parent, &body.events).await?;
    let res = client
        .post(endpoint(parent, "/v1/events"))
        .timeout(Duration::from_secs(60))
        .json(&body)
        .send()
        .await?;
    if !res.status().is_success() {
        let err = refused(res).await;
        if let Some((event_id, code)) = refused_event(&err) {
            let reason = err.to_string();
            let attempts = store.outbox_refused(event_id, &reason).await?;
            if attempts >= MAX_REFUSALS {
                store
                    .outbox_dead_letter(event_id, code, &reason, OffsetDateTime::now_utc())
                    .await?;
            }
        }
        return Err(err);
    }
    let _outcome: PushOutcome = res.json().await?;
    let ids: Vec<EventId> = body.events.iter().map(|e| e.event_id).collect();
    store.outbox_ack(&ids).await?;
    Ok(body.events.len())
}

/// Pulls once (waiting up to `wait_secs` at the parent) and stores what came, with the cursor,
/// in one transaction. Returns how many events came.
pub async fn pull_once(
    store: &CaseStore,
    client: &reqwest::Client,
    parent: &Url,
    options: &LinkOptions,
) -> Result<usize, LinkError> {
    pull_once_noting(store, client, parent, options, None).await
}

/// As [`pull_once`], telling `status` when the parent asks for a reconciliation
/// (`crate::reconcile::REQUEST_HEADER`).
pub async fn pull_once_noting(
    store: &CaseStore,
    client: &reqwest::Client,
    parent: &Url,
    options: &LinkOptions,
    status: Option<&LinkStatus>,
) -> Result<usize, LinkError> {
    let after = store.cursor(PARENT_CURSOR).await?;
    let mut url = endpoint(parent, "/v1/events");
    url.query_pairs_mut()
        .append_pair("after", &after.to_string())
        .append_pair("limit", &options.batch.to_string())
        .append_pair("wait", &options.pull_wait_secs.to_string());
    let mut req = client
        .get(url)
        .timeout(Duration::from_secs(options.pull_wait_secs + 15));
    // The parent's link watchdog reads this node's outbox state from every pull.
    for (name, value) in outbox_report(store, options.transit_alarm).await {
        req = req.header(name, value);
    }
    let res = req.send().await?;
    if !res.status().is_success() {
        return Err(refused(res).await);
    }
    if let Some(status) = status {
        let asked = res
            .headers()
            .get(crate::reconcile::REQUEST_HEADER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<i64>().ok());
        if let Some(at) = asked {
            status.reconcile_requested(at);
        }
    }
    let page: PullPage = res.json().await?;
    if page.next == after && page.events.is_empty() {
        fetch_attachments(store, client, parent).await;
        return Ok(0);
    }
    let events: Vec<_> = page.events.into_iter().map(|p| p.event).collect();
    // Refused events are set aside as dead letters in the same transaction: one event the
    // store cannot apply must not stop the downward link.
    store
        .apply_pulled(
            &events,
            (PARENT_CURSOR, page.next),
            OffsetDateTime::now_utc(),
        )
        .await?;
    fetch_attachments(store, client, parent).await;
    Ok(events.len())
}

/// The headers reporting this node's outbox to the parent; none when it cannot be read (the
/// pull goes on without them).
async fn outbox_report(
    store: &CaseStore,
    transit_alarm: Duration,
) -> Vec<(reqwest::header::HeaderName, reqwest::header::HeaderValue)> {
    let stuck_before = OffsetDateTime::now_utc()
        - time::Duration::try_from(transit_alarm).unwrap_or(time::Duration::MAX);
    let alerts = crate::alerts::AlertStore::new(store.db().clone());
    match alerts
        .outbox_report(crate::store::to_ms(stuck_before))
        .await
    {
        Ok(report) => crate::alerts::watchdog::report_headers(&report),
        Err(e) => {
            tracing::warn!(error = %e, "the outbox report for the parent could not be read");
            Vec::new()
        }
    }
}

/// Fetches the files added above that this node lacks. The pulled events are committed
/// whatever happens here; a failure is logged and the fetch tried again after the next pull.
async fn fetch_attachments(store: &CaseStore, client: &reqwest::Client, parent: &Url) {
    if let Err(e) = crate::attachments::transfer::fetch_from_parent(store, client, parent).await {
        tracing::warn!(error = %e, "fetching attachments from the parent failed; tried again after the next pull");
    }
}

/// Pushes the outbox until `shutdown` turns true: at once when events are stored, every
/// `idle_check` otherwise, with backoff after failures (once every URL of `parents` failed).
/// A batch in flight at shutdown is abandoned; its rows stay queued and go with the next start.
pub async fn run_forwarder(
    store: CaseStore,
    client: reqwest::Client,
    parents: Arc<ParentUrls>,
    options: LinkOptions,
    status: Arc<LinkStatus>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut changes = store.subscribe();
    let mut failures = 0u32;
    loop {
        if *shutdown.borrow() {
            break;
        }
        changes.borrow_and_update();
        let result = tokio::select! {
            r = parents.exchange(|parent| {
                let (store, client) = (&store, &client);
                async move { push_once(store, client, &parent, options.batch).await }
            }) => r,
            _ = shutdown.changed() => break,
        };
        let wait = match result {
            Ok(n) => {
                status.ok(OffsetDateTime::now_utc());
                status.add_pushed(n);
                if failures > 0 {
                    tracing::info!(after_failures = failures, "parent reachable again");
                }
                failures = 0;
                if n > 0 {
                    continue; // more may be queued
                }
                None
            }
            Err(e) => {
                status.failed(OffsetDateTime::now_utc(), &e);
                let wait = backoff(failures, options.backoff_base, options.backoff_cap);
                failures = failures.saturating_add(1);
                tracing::warn!(error = %e, retry_in_ms = wait.as_millis() as u64, "push to parent failed");
                Some(wait)
            }
        };
        tokio::select! {
            _ = shutdown.changed() => break,
            _ = async {
                match wait {
                    Some(w) => tokio::time::sleep(w).await,
                    None => {
                        let _ = tokio::time::timeout(options.idle_check, changes.changed()).await;
                    }
                }
            } => {}
        }
    }
    tracing::info!("forwarder stopped");
}

/// Long-polls the parent until `shutdown` turns true, with backoff after failures (once every
/// URL of `parents` failed).
pub async fn run_puller(
    store: CaseStore,
    client: reqwest::Client,
    parents: Arc<ParentUrls>,
    options: LinkOptions,
    status: Arc<LinkStatus>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut failures = 0u32;
    loop {
        if *shutdown.borrow() {
            break;
        }
        let result = tokio::select! {
            r = parents.exchange(|parent| {
                let (store, client, options, status) = (&store, &client, &options, &status);
                async move {
                    pull_once_noting(store, client, &parent, options, Some(status.as_ref())).await
                }
            }) => r,
            _ = shutdown.changed() => break,
        };
        match result {
            Ok(n) => {
                status.ok(OffsetDateTime::now_utc());
                status.add_pulled(n);
                failures = 0;
            }
            Err(e) => {
                status.failed(OffsetDateTime::now_utc(), &e);
                let wait = backoff(failures, options.backoff_base, options.backoff_cap);
                failures = failures.saturating_add(1);
                tracing::warn!(error = %e, retry_in_ms = wait.as_millis() as u64, "pull from parent failed");
                tokio::select! {
                    _ = shutdown.changed() => break,
                    _ = tokio::time::sleep(wait) => {}
                }
            }
        }
    }
    tracing::info!("puller stopped");
}
