//! The child's side of the link: the forwarder pushes the outbox to the parent, the puller
//! long-polls the parent for the events of this node's subtree. Both resume from the database
//! after a restart (the outbox rows and the saved cursor) and retry with jittered backoff.

use std::sync::Arc;
use std::time::Duration;

use bangban_domain::wire::{PullPage, PushBatch, PushOutcome};
use time::OffsetDateTime;
use tokio::sync::watch;
use url::Url;

use super::{LinkStatus, PARENT_CURSOR, backoff};
use crate::store::{Admission, CaseStore, StoreError};

/// Why one exchange with the parent failed.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("cannot reach the parent: {0}")]
    Transport(#[from] reqwest::Error),
    #[error("the parent answered {status}: {body}")]
    Refused { status: u16, body: String },
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
}

impl Default for LinkOptions {
    fn default() -> Self {
        LinkOptions {
            batch: 500,
            pull_wait_secs: 25,
            backoff_base: Duration::from_millis(200),
            backoff_cap: Duration::from_secs(30),
            idle_check: Duration::from_secs(5),
        }
    }
}

fn endpoint(parent: &Url, path: &str) -> Url {
    let mut url = parent.clone();
    url.set_path(path);
    url.set_query(None);
    url
}

async fn refused(res: reqwest::Response) -> LinkError {
    let status = res.status().as_u16();
    let body = res.text().await.unwrap_or_default();
    LinkError::Refused {
        status,
        body: body.chars().take(500).collect(),
    }
}

/// Pushes one batch of the outbox. Returns how many events left the outbox. The rows are
/// deleted only after the parent answered that it committed them.
pub async fn push_once(
    store: &CaseStore,
    client: &reqwest::Client,
    parent: &Url,
    batch: u32,
) -> Result<usize, LinkError> {
    let queued = store.outbox_peek(batch).await?;
    let Some(&(last, _)) = queued.last() else {
        return Ok(0);
    };
    let body = PushBatch {
        events: queued.into_iter().map(|(_, ev)| ev).collect(),
    };
    let res = client
        .post(endpoint(parent, "/v1/events"))
        .timeout(Duration::from_secs(60))
        .json(&body)
        .send()
        .await?;
    if !res.status().is_success() {
        return Err(refused(res).await);
    }
    let _outcome: PushOutcome = res.json().await?;
    store.outbox_ack(last).await?;
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
    let after = store.cursor(PARENT_CURSOR).await?;
    let mut url = endpoint(parent, "/v1/events");
    url.query_pairs_mut()
        .append_pair("after", &after.to_string())
        .append_pair("limit", &options.batch.to_string())
        .append_pair("wait", &options.pull_wait_secs.to_string());
    let res = client
        .get(url)
        .timeout(Duration::from_secs(options.pull_wait_secs + 15))
        .send()
        .await?;
    if !res.status().is_success() {
        return Err(refused(res).await);
    }
    let page: PullPage = res.json().await?;
    if page.next == after && page.events.is_empty() {
        return Ok(0);
    }
    let events: Vec<_> = page.events.into_iter().map(|p| p.event).collect();
    store
        .append_batch(
            &events,
            Admission::FromParent,
            Some((PARENT_CURSOR, page.next)),
            OffsetDateTime::now_utc(),
        )
        .await?;
    Ok(events.len())
}

/// Pushes the outbox until `shutdown` turns true: at once when events are stored, every
/// `idle_check` otherwise, with backoff after failures. A batch in flight at shutdown is
/// abandoned; its rows stay queued and go with the next start.
pub async fn run_forwarder(
    store: CaseStore,
    client: reqwest::Client,
    parent: Url,
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
            r = push_once(&store, &client, &parent, options.batch) => r,
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

/// Long-polls the parent until `shutdown` turns true, with backoff after failures.
pub async fn run_puller(
    store: CaseStore,
    client: reqwest::Client,
    parent: Url,
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
            r = pull_once(&store, &client, &parent, &options) => r,
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
