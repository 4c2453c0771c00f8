//! The station's side of the signed policy: at start it puts its last good bundle (and its own
//! roster) back in force; then it asks its parent for a newer bundle every `policy.pull_secs`,
//! verifies it against `policy.pinned_keys` and puts it in force with its own roster in one
//! install. A town also relays what it keeps to its villages, byte for byte.
//!
//! Once a bundle is in force, the catalogue's files (blank forms, samples) it names and this
//! node lacks are fetched from the parent after each pull, checked against their references
//! (size and SHA-256) and kept in the node's blob store; a town serves them on to its villages.
//! A file that fails the check is never kept; a failed fetch never holds the bundle back.
//!
//! It must never put in force anything that did not verify: a refusal keeps the policy in force,
//! is logged at WARN with the reason, and shows on the start page, in `/readyz` and `/metrics`.
//! A station without pinned keys runs on its policy files and pulls nothing. Like the case link,
//! it asks the parent URL in use and moves to the next after a transport failure
//! (`bangban_kit::sync::ParentUrls`, shared with the forwarder and the puller).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bangban_domain::Bilingual as _;
use bangban_domain::station::StationCode;
use bangban_kit::attachments::blobs::BlobStore;
use bangban_kit::http::Check;
use bangban_kit::node::{Parts, Stop};
use bangban_kit::policy::PolicyHandle;
use bangban_kit::policy::apply::{Kept, receive_set, restore_set};
use bangban_kit::policy::bundle::{BundleError, MAX_ENVELOPE_BYTES, PublicKey, Received};
use bangban_kit::policy::files::{FileMismatch, FileSource, check, file_path, missing};
use bangban_kit::policy::roster::RosterSet;
use bangban_kit::policy::serve::{BUNDLE_PATH, BundleSource, ROSTERS_PATH, SourceFuture};
use bangban_kit::sync::{Failover, ParentUrls};
use time::OffsetDateTime;
use url::Url;

/// What the puller works with.
#[derive(Clone)]
pub struct Puller {
    pub me: StationCode,
    pub pinned: Vec<PublicKey>,
    pub policy: PolicyHandle,
    pub kept: Kept,
    pub client: reqwest::Client,
    /// The parent's URLs and the one in use.
    pub parents: Arc<ParentUrls>,
    /// Where the catalogue's files are kept (the node's attachments).
    pub blobs: BlobStore,
    /// The last bundle refused: offered again, it is not verified, logged or
    /// counted again.
    last_refused: Arc<std::sync::Mutex<Option<Vec<u8>>>>,
}

/// What one pull did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pulled {
    /// The parent has no bundle yet.
    NoneYet,
    /// The parent's latest is the bundle in force.
    Unchanged,
    /// A newer bundle is now in force.
    Applied { number: u64, agents: Option<usize> },
    /// The bundle was refused (again, or for this reason): the policy in force stays.
    Refused(String),
}

/// Why a pull could not ask (the link, not the bundle).
#[derive(Debug, thiserror::Error)]
pub enum PullError {
    #[error("cannot reach the parent: {0}")]
    Transport(#[from] reqwest::Error),
    #[error("the parent answered {0}")]
    Status(u16),
    #[error("the parent's bundle has more than {MAX_ENVELOPE_BYTES} bytes")]
    TooLarge,
    #[error("the parent's rosters are not a roster set: {0}")]
    Rosters(String),
    #[error("the bundle could not be kept: {0}")]
    Store(String),
}

impl Failover for PullError {
    fn is_transport_failure(&self) -> bool {
        match self {
            PullError::Transport(_) => true,
            PullError::Status(status) => *status >= 500,
            PullError::TooLarge | PullError::Rosters(_) | PullError::Store(_) => false,
        }
    }
}

/// Why one of the catalogue's files was not kept.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error(transparent)]
    Link(#[from] PullError),
    /// The parent's bytes are not the file the catalogue names: refused, not kept.
    #[error("refused: {0}")]
    Mismatch(#[from] FileMismatch),
    #[error("the file could not be kept: {0}")]
    Io(#[from] std::io::Error),
}

impl Failover for FileError {
    fn is_transport_failure(&self) -> bool {
        matches!(self, FileError::Link(e) if e.is_transport_failure())
    }
}

/// What one round of fetching the catalogue's files did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FilesFetched {
    /// Fetched, checked and kept.
    pub kept: usize,
    /// Fetched but refused (wrong size or hash).
    pub refused: usize,
    /// Not fetched (the link, or the parent does not hold it yet).
    pub failed: usize,
}

fn endpoint(parent: &Url, path: &str) -> Url {
    let mut url = parent.clone();
    url.set_path(path);
    url.set_query(None);
    url
}

fn number_of(etag: Option<&reqwest::header::HeaderValue>) -> Option<u64> {
    etag?.to_str().ok()?.trim_matches('"').parse().ok()
}

impl Puller {
    pub fn new(
        me: StationCode,
        pinned: Vec<PublicKey>,
        policy: PolicyHandle,
        kept: Kept,
        client: reqwest::Client,
        parents: Arc<ParentUrls>,
        blobs: BlobStore,
    ) -> Puller {
        Puller {
            me,
            pinned,
            policy,
            kept,
            client,
            parents,
            blobs,
            last_refused: Arc::default(),
        }
    }

    /// Reads a body of at most [`MAX_ENVELOPE_BYTES`].
    async fn body(mut res: reqwest::Response) -> Result<Vec<u8>, PullError> {
        let mut bytes = Vec::new();
        while let Some(chunk) = res.chunk().await? {
            if bytes.len() + chunk.len() > MAX_ENVELOPE_BYTES {
                return Err(PullError::TooLarge);
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(bytes)
    }

    /// Asks the parent once (the next of its URLs too, if the one in use does not answer) and
    /// applies what it offers.
    pub async fn pull_once(&self) -> Result<Pulled, PullError> {
        self.parents.exchange(|parent| self.pull_from(parent)).await
    }

    async fn pull_from(&self, parent: Url) -> Result<Pulled, PullError> {
        let mut req = self.client.get(endpoint(&parent, BUNDLE_PATH));
        if let Some(number) = self.policy.current().bundle {
            req = req.header(reqwest::header::IF_NONE_MATCH, format!("\"{number}\""));
        }
        let res = req.send().await?;
        match res.status().as_u16() {
            304 => {
                self.policy.note_good(None);
                return Ok(Pulled::Unchanged);
            }
            404 => return Ok(Pulled::NoneYet),
            200 => {}
            other => return Err(PullError::Status(other)),
        }
        let offered = number_of(res.headers().get(reqwest::header::ETAG));
        let envelope = Self::body(res).await?;
        if self.refused_before(&envelope) {
            return Ok(Pulled::Refused("refused before".to_owned()));
        }
        let rosters = self.rosters(&parent).await?;
        // Published between the two requests: ask again at the next pull.
        if let (Some(set), Some(number)) = (&rosters, offered)
            && set.number != number
        {
            return Ok(Pulled::Unchanged);
        }
        let now = OffsetDateTime::now_utc();
        match receive_set(
            &envelope,
            rosters.as_ref(),
            self.me,
            &self.pinned,
            &self.policy,
            &self.kept,
            now,
        ) {
            Ok(set) => {
                for (station, e) in &set.dropped {
                    tracing::warn!(%station, reason = e.code(), error = %e, "a child's roster was refused; it is not relayed");
                }
                match set.received {
                    Received::AlreadyInForce { .. } => {
                        self.policy.note_good(None);
                        Ok(Pulled::Unchanged)
                    }
                    Received::Applied { number, generation } => {
                        tracing::info!(
                            bundle = number,
                            generation,
                            agents = ?set.agents,
                            relayed_rosters = set.relayed,
                            "policy bundle verified and in force"
                        );
                        Ok(Pulled::Applied {
                            number,
                            agents: set.agents,
                        })
                    }
                }
            }
            Err(BundleError::Store(e)) => Err(PullError::Store(e)),
            Err(e) => {
                tracing::warn!(
                    reason = e.code(),
                    error = %e,
                    in_force = ?self.policy.current().bundle,
                    "policy bundle refused; the policy in force stays"
                );
                self.policy.note_refusal(&e, now);
                if let Ok(mut last) = self.last_refused.lock() {
                    *last = Some(envelope);
                }
                Ok(Pulled::Refused(e.to_string()))
            }
        }
    }

    /// Fetches every file the catalogue in force names and this node lacks; each is checked
    /// against its reference before it is kept. What fails is tried again at the next call.
    pub async fn fetch_files(&self) -> FilesFetched {
        let in_force = self.policy.current();
        let mut done = FilesFetched::default();
        for reference in missing(&in_force.catalogue, &self.blobs).await {
            match self.fetch_file(&reference).await {
                Ok(()) => {
                    tracing::info!(sha256 = %reference.sha256, size = reference.size, "catalogue file fetched and kept");
                    done.kept += 1;
                }
                Err(FileError::Mismatch(e)) => {
                    tracing::warn!(sha256 = %reference.sha256, error = %e, "catalogue file from the parent refused; not kept, tried again at the next pull");
                    done.refused += 1;
                }
                Err(e) => {
                    tracing::debug!(sha256 = %reference.sha256, error = %e, "catalogue file not fetched; tried again at the next pull");
                    done.failed += 1;
                }
            }
        }
        done
    }

    async fn fetch_file(
        &self,
        reference: &bangban_domain::catalogue::FileRef,
    ) -> Result<(), FileError> {
        self.parents
            .exchange(|parent| self.fetch_file_from(parent, reference))
            .await
    }

    async fn fetch_file_from(
        &self,
        parent: Url,
        reference: &bangban_domain::catalogue::FileRef,
    ) -> Result<(), FileError> {
        let mut res = self
            .client
            .get(endpoint(&parent, &file_path(&reference.sha256)))
            .send()
            .await
            .map_err(PullError::from)?;
        if res.status() != reqwest::StatusCode::OK {
            return Err(PullError::Status(res.status().as_u16()).into());
        }
        // Never more than the reference's size (and one byte to tell it was more).
        let limit = usize::try_from(reference.size)
            .unwrap_or(usize::MAX)
            .saturating_add(1);
        let mut bytes = Vec::new();
        while let Some(chunk) = res.chunk().await.map_err(PullError::from)? {
            if bytes.len() + chunk.len() > limit {
                let take = limit - bytes.len();
                bytes.extend_from_slice(&chunk[..take]);
                break;
            }
            bytes.extend_from_slice(&chunk);
        }
        check(reference, &bytes)?;
        self.blobs.put(bytes).await?;
        Ok(())
    }

    fn refused_before(&self, envelope: &[u8]) -> bool {
        self.last_refused
            .lock()
            .map(|last| last.as_deref() == Some(envelope))
            .unwrap_or(false)
    }

    async fn rosters(&self, parent: &Url) -> Result<Option<RosterSet>, PullError> {
        let res = self
            .client
            .get(endpoint(parent, ROSTERS_PATH))
            .send()
            .await?;
        match res.status().as_u16() {
            404 => Ok(None),
            200 => {
                let bytes = Self::body(res).await?;
                serde_json::from_slice(&bytes)
                    .map(Some)
                    .map_err(|e| PullError::Rosters(e.to_string()))
            }
            other => Err(PullError::Status(other)),
        }
    }

    /// Pulls after start and then every `every`, until the node stops. A failed pull is logged
    /// (the link's own status shows in `/readyz`) and tried again at the next tick.
    pub async fn run(self, every: Duration, stop: Stop) {
        let mut stopped = stop.receiver();
        loop {
            match self.pull_once().await {
                Ok(_) => {}
                Err(e) => tracing::debug!(error = %e, "policy pull failed; trying again later"),
            }
            // The policy is in force first; its files follow.
            self.fetch_files().await;
            tokio::select! {
                _ = stopped.wait_for(|s| *s) => return,
                () = tokio::time::sleep(every) => {}
            }
        }
    }
}

/// What a town relays: the bundle in force and the rosters it keeps.
struct KeptSource {
    kept: Kept,
    policy: PolicyHandle,
}

impl BundleSource for KeptSource {
    fn latest(&self) -> SourceFuture<'_, Option<(u64, Vec<u8>)>> {
        Box::pin(async move { Ok(self.kept.in_force(&self.policy)) })
    }

    fn rosters(&self, number: u64, _caller: StationCode) -> SourceFuture<'_, RosterSet> {
        Box::pin(async move {
            Ok(self
                .kept
                .rosters
                .read()
                .filter(|set| set.number == number)
                .unwrap_or(RosterSet {
                    number,
                    rosters: Vec::new(),
                }))
        })
    }
}

/// At start, before the node serves: puts the kept bundle and roster back in force. A kept
/// bundle that no longer verifies is logged and left aside (the policy files stay in force).
pub fn restore(me: StationCode, pinned: &[PublicKey], policy: &PolicyHandle, kept: &Kept) {
    let now = OffsetDateTime::now_utc();
    match restore_set(me, pinned, policy, kept, now) {
        Ok(None) => tracing::info!("no policy bundle kept yet: the policy files are in force"),
        Ok(Some(set)) => {
            if set.restored.expired {
                tracing::warn!(
                    bundle = set.restored.number,
                    expires_at = %set.restored.expires_at,
                    "the kept policy bundle has EXPIRED; it stays in force until a newer one arrives"
                );
            } else {
                tracing::info!(
                    bundle = set.restored.number,
                    expires_at = %set.restored.expires_at,
                    agents = ?set.agents,
                    "the last good policy bundle is in force"
                );
            }
            if let Some(e) = set.roster_refused {
                tracing::warn!(reason = e.code(), error = %e, "the kept roster was refused; no agents are in force");
            }
        }
        Err(e) => {
            tracing::warn!(
                reason = e.code(),
                error = %e,
                "the kept policy bundle was refused at start; the policy files are in force"
            );
            policy.note_refusal(&e, now);
        }
    }
}

/// The `/readyz` line of the policy: the bundle in force, since when, its expiry, the last
/// refusal. Never required: a station works on its last good bundle.
pub fn readiness(policy: &PolicyHandle, files_missing: usize) -> Check {
    let in_force = policy.current();
    let report = policy.report();
    let now = OffsetDateTime::now_utc();
    let show = |t: OffsetDateTime| {
        t.format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default()
    };
    let mut detail = match in_force.bundle {
        Some(n) => format!(
            "bundle {n} in force since {}; expires {}{}",
            show(in_force.since),
            report.expires_at.map_or("?".to_owned(), show),
            if report.expired(now) {
                " (EXPIRED)"
            } else {
                ""
            }
        ),
        None => format!(
            "policy files in force since {}; no bundle yet",
            show(in_force.since)
        ),
    };
    if let Some(agents) = &in_force.agents {
        detail.push_str(&format!("; {} agent(s) of this centre", agents.len()));
    }
    if files_missing > 0 {
        detail.push_str(&format!("; {files_missing} files missing"));
    }
    if let Some(r) = &report.last_refusal {
        detail.push_str(&format!(
            "; last refusal at {}: {} ({})",
            show(r.at),
            r.message_en,
            r.code
        ));
    }
    Check {
        name: "policy",
        ok: report.last_refusal.is_none() && !report.expired(now),
        required: false,
        detail,
    }
}

/// The policy parts of station `me`: the `/readyz` line, the puller (when it has a parent) and,
/// on a town that serves children, the relay routes. `data_dir` holds the kept files; `blobs`
/// the catalogue's files.
#[allow(clippy::too_many_arguments)]
pub fn parts(
    me: StationCode,
    pinned: Vec<PublicKey>,
    policy: PolicyHandle,
    data_dir: PathBuf,
    blobs: BlobStore,
    link: Option<(reqwest::Client, Arc<ParentUrls>)>,
    serves_children: bool,
    every: Duration,
) -> Parts {
    let kept = Kept::new(data_dir);
    let mut parts = Parts::new().readiness({
        let (policy, blobs) = (policy.clone(), blobs.clone());
        move || {
            let (policy, blobs) = (policy.clone(), blobs.clone());
            async move {
                let lacking = missing(&policy.current().catalogue, &blobs).await.len();
                vec![readiness(&policy, lacking)]
            }
        }
    });
    if serves_children {
        parts = parts.internode_routes(bangban_kit::policy::serve::routes(Arc::new(KeptSource {
            kept: kept.clone(),
            policy: policy.clone(),
        })));
        parts = parts.internode_routes(bangban_kit::policy::files::routes(FileSource {
            policy: policy.clone(),
            blobs: blobs.clone(),
        }));
    }
    if let Some((client, parent)) = link {
        let puller = Puller::new(me, pinned, policy, kept, client, parent, blobs);
        parts = parts.task("policy-puller", move |stop: Stop| async move {
            puller.run(every, stop).await;
            Ok(())
        });
    }
    parts
}
