//! Attachments travel up with an escalation, by hash, before the events that name them: the
//! child offers the hashes of the attachments in the batch it is about to push
//! (`POST /v1/attachments/offer`), the parent answers which it lacks and how much of each it
//! already holds, and the child sends only those, from there, in pieces
//! (`PUT /v1/attachments/{sha256}?offset=&size=`). The parent keeps every piece that arrived, so
//! a transfer that broke off resumes where it stopped, and takes a file only once it hashes to
//! its name. Nothing already at the parent is sent again.
//!
//! Files added above a node (the town scans the approval) come down the other way: after each
//! pull the child fetches what it lacks (`GET /v1/attachments/{sha256}?offset=`), again only
//! files of cases born in its subtree, resuming a part it holds.
//!
//! The routes sit in the sync router, behind its direct-child gate; the caller is who its
//! certificate says. A file the child does not hold, or one the parent refuses for good, is
//! logged and left: the events still go up (the parent lists the file as not received), so one
//! bad file never blocks the link.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use bangban_domain::attachment::{ContentHash, MAX_ATTACHMENT_BYTES};
use bangban_domain::event::{Event, EventBody};
use bangban_domain::wire::{
    AttachmentOffer, AttachmentWants, BlobProgress, OfferedBlob, WantedBlob,
};
use serde::Deserialize;
use url::Url;

use super::blobs::{PartialError, Progress};
use crate::http::{ApiJson, Problem};
use crate::store::CaseStore;
use crate::sync::client::{LinkError, endpoint, refused};
use crate::sync::server::SyncServer;

/// The most attachments one offer may name.
pub const MAX_OFFER: usize = 1_000;
/// The largest piece sent in one request: well inside the inter-node body limit, and the most a
/// broken connection can cost.
pub const PIECE: usize = 4 * 1024 * 1024;

fn not_kept() -> Problem {
    Problem::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "attachment.not_kept",
        "本节点未启用附件存储".to_owned(),
        "this node keeps no attachments".to_owned(),
    )
}

fn bad_size(size: u64) -> Problem {
    Problem::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "attachment.size",
        format!("附件大小 {size} 字节为空或超出上限"),
        format!("an attachment of {size} bytes is empty or larger than any node accepts"),
    )
}

/// Answers which of the offered attachments this node lacks, with the bytes it already holds of
/// each (0, or where a broken transfer stopped).
#[utoipa::path(
    post,
    path = "/v1/attachments/offer",
    tag = "attachments",
    request_body = AttachmentOffer,
    responses(
        (status = OK, description = "本节点缺少的附件。The attachments this node lacks.", body = AttachmentWants),
        (status = UNPROCESSABLE_ENTITY, description = "附件大小不合理或数量过多。A size out of range, or too many.", body = Problem, content_type = "application/problem+json"),
        (status = SERVICE_UNAVAILABLE, description = "本节点未启用附件存储。This node keeps no attachments.", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn offer(
    State(state): State<Arc<SyncServer>>,
    ApiJson(offer): ApiJson<AttachmentOffer>,
) -> Result<Json<AttachmentWants>, Problem> {
    let kept = state.store.attachments().ok_or_else(not_kept)?;
    if offer.blobs.len() > MAX_OFFER {
        return Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "attachment.offer_too_large",
            format!("一次最多提供 {MAX_OFFER} 个附件"),
            format!("at most {MAX_OFFER} attachments per offer"),
        ));
    }
    let mut missing = Vec::new();
    for blob in offer.blobs {
        if blob.size == 0 || blob.size > MAX_ATTACHMENT_BYTES {
            return Err(bad_size(blob.size));
        }
        if kept.blobs().has(&blob.sha256).await {
            continue;
        }
        let have = kept
            .blobs()
            .partial_len(&blob.sha256)
            .await
            .map_err(|e| Problem::internal(&e))?
            .min(blob.size);
        missing.push(WantedBlob {
            sha256: blob.sha256,
            have,
        });
    }
    Ok(Json(AttachmentWants { missing }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct PieceQuery {
    /// Where this piece starts: the bytes the parent already holds.
    offset: u64,
    /// The whole file's size.
    size: u64,
}

/// Stores a piece of an attachment at `offset`, which must be where the bytes held so far end.
/// Once all `size` bytes are in, the file must hash to `sha256`: it is then kept, otherwise
/// thrown away.
#[utoipa::path(
    put,
    path = "/v1/attachments/{sha256}",
    tag = "attachments",
    params(
        ("sha256" = ContentHash, Path, description = "附件内容的 SHA-256。The SHA-256 of the file."),
        PieceQuery,
    ),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "从 offset 起的一段字节。The bytes from `offset` on."),
    responses(
        (status = OK, description = "已保存的进度。What is held now.", body = BlobProgress),
        (status = BAD_REQUEST, description = "摘要或参数格式有误。A malformed hash or query.", body = Problem, content_type = "application/problem+json"),
        (status = CONFLICT, description = "offset 与已收到的字节数不符（见 `have`），或同一文件正在传输。The offset is not where the held bytes end (see `have`), or the file is being sent already.", body = Problem, content_type = "application/problem+json"),
        (status = UNPROCESSABLE_ENTITY, description = "内容与摘要不符或超出大小。The bytes do not hash to the name, or exceed the size.", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn put_piece(
    State(state): State<Arc<SyncServer>>,
    Path(raw): Path<String>,
    query: Result<Query<PieceQuery>, QueryRejection>,
    body: Body,
) -> Result<Json<BlobProgress>, Problem> {
    let kept = state.store.attachments().ok_or_else(not_kept)?;
    let hash = ContentHash::parse(&raw).map_err(|_| {
        Problem::bad_request(
            "attachment.hash",
            "附件摘要应为64位小写十六进制（SHA-256）",
            "the attachment's name must be its SHA-256, 64 lowercase hex digits",
        )
    })?;
    let Query(q) = query?;
    if q.size == 0 || q.size > MAX_ATTACHMENT_BYTES {
        return Err(bad_size(q.size));
    }
    match kept
        .blobs()
        .append_partial(&hash, q.offset, q.size, body)
        .await
    {
        Ok(Progress::Complete) => {
            tracing::info!(sha256 = %hash, size = q.size, "attachment received from a child");
            Ok(Json(BlobProgress {
                have: q.size,
                complete: true,
            }))
        }
        Ok(Progress::Partial(have)) => Ok(Json(BlobProgress {
            have,
            complete: false,
        })),
        Err(PartialError::Offset { have }) => Err(Problem::new(
            StatusCode::CONFLICT,
            "attachment.offset",
            format!("本节点已收到 {have} 字节，请从该位置续传"),
            format!("{have} bytes are held here: resume from there"),
        )
        .with("have", have)),
        Err(PartialError::Busy) => Err(Problem::new(
            StatusCode::CONFLICT,
            "attachment.busy",
            "该附件正在传输中，请稍后重试".to_owned(),
            "this file is being sent already; retry later".to_owned(),
        )),
        Err(PartialError::TooLong) => Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "attachment.too_long",
            "收到的字节数超过声明的大小，已丢弃".to_owned(),
            "more bytes than the announced size; discarded".to_owned(),
        )),
        Err(PartialError::Mismatch) => {
            tracing::warn!(sha256 = %hash, "a child sent bytes that do not hash to their name");
            Err(Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "attachment.hash_mismatch",
                "附件内容与其摘要不符，已丢弃".to_owned(),
                "the bytes do not hash to the name they were sent under; discarded".to_owned(),
            ))
        }
        Err(PartialError::Io(e)) => Err(Problem::internal(&e)),
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct FetchQuery {
    /// Send the bytes from here on (what the child already holds).
    #[serde(default)]
    offset: u64,
}

/// The bytes of an attachment of a case in the caller's subtree, from `offset` on: how a child
/// gets the files added above it (children always dial; a parent never pushes down).
#[utoipa::path(
    get,
    path = "/v1/attachments/{sha256}",
    tag = "attachments",
    params(
        ("sha256" = ContentHash, Path, description = "附件内容的 SHA-256。The SHA-256 of the file."),
        FetchQuery,
    ),
    responses(
        (status = OK, description = "从 offset 起的字节。The bytes from `offset` on.", body = Vec<u8>, content_type = "application/octet-stream"),
        (status = BAD_REQUEST, description = "摘要或参数格式有误。A malformed hash or query.", body = Problem, content_type = "application/problem+json"),
        (status = NOT_FOUND, description = "本节点没有贵站辖区办件的该附件。No such file of a case in your subtree here.", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn get_blob(
    State(state): State<Arc<SyncServer>>,
    crate::tls::Peer(peer): crate::tls::Peer,
    Path(raw): Path<String>,
    query: Result<Query<FetchQuery>, QueryRejection>,
) -> Result<axum::response::Response, Problem> {
    use axum::response::IntoResponse;
    let kept = state.store.attachments().ok_or_else(not_kept)?;
    let hash = ContentHash::parse(&raw).map_err(|_| {
        Problem::bad_request(
            "attachment.hash",
            "附件摘要应为64位小写十六进制（SHA-256）",
            "the attachment's name must be its SHA-256, 64 lowercase hex digits",
        )
    })?;
    let Query(q) = query?;
    let not_found = || Problem::not_found("该附件", "attachment");
    // Only files of cases born in the caller's subtree: a child learns nothing of others.
    if state
        .store
        .attachment_size_in_subtree(&hash, peer.station)
        .await?
        .is_none()
    {
        return Err(not_found());
    }
    let bytes = kept
        .blobs()
        .read(&hash)
        .await
        .map_err(|e| Problem::internal(&e))?
        .ok_or_else(not_found)?;
    let from = usize::try_from(q.offset)
        .unwrap_or(usize::MAX)
        .min(bytes.len());
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/octet-stream")],
        bytes[from..].to_vec(),
    )
        .into_response())
}

/// What one round of [`fetch_from_parent`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Fetched {
    /// Files now held in full.
    pub completed: usize,
    /// Bytes received.
    pub bytes: u64,
    /// Files the parent does not hold either (yet).
    pub not_at_parent: usize,
}

/// How many files added above are looked at per round.
const FETCH_LOOK: u32 = 200;

/// Fetches from the parent the files added above this node to cases of its subtree that it
/// does not hold yet, resuming a part already held. Run after every pull, so a failed fetch is
/// tried again at the next one.
pub async fn fetch_from_parent(
    store: &CaseStore,
    client: &reqwest::Client,
    parent: &Url,
) -> Result<Fetched, LinkError> {
    let mut done = Fetched::default();
    let Some(kept) = store.attachments() else {
        return Ok(done);
    };
    for (hash, size) in store.attachments_from_above(FETCH_LOOK).await? {
        if kept.blobs().has(&hash).await {
            continue;
        }
        let from = kept.blobs().partial_len(&hash).await.map_err(to_store)?;
        let mut url = endpoint(parent, &format!("/v1/attachments/{hash}"));
        url.query_pairs_mut()
            .append_pair("offset", &from.to_string());
        let res = client
            .get(url)
            .timeout(Duration::from_secs(120))
            .send()
            .await?;
        if res.status() == reqwest::StatusCode::NOT_FOUND {
            done.not_at_parent += 1;
            continue;
        }
        if !res.status().is_success() {
            return Err(refused(res).await);
        }
        let bytes = res.bytes().await?;
        let n = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
        if from.saturating_add(n) > size {
            tracing::warn!(sha256 = %hash, "the parent sent more bytes than the file has");
            continue;
        }
        match kept
            .blobs()
            .append_partial(&hash, from, size, Body::from(bytes))
            .await
        {
            Ok(Progress::Complete) => {
                done.completed += 1;
                done.bytes += n;
                tracing::info!(sha256 = %hash, size, "attachment received from the parent");
            }
            Ok(Progress::Partial(_)) => done.bytes += n,
            Err(PartialError::Io(e)) => return Err(to_store(e)),
            Err(e) => {
                tracing::warn!(sha256 = %hash, error = %e, "an attachment from the parent was not kept")
            }
        }
    }
    Ok(done)
}

/// What one round of [`send_attachments`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sent {
    /// Attachments offered to the parent.
    pub offered: usize,
    /// Attachments the parent lacked and now holds.
    pub completed: usize,
    /// Bytes sent.
    pub bytes: u64,
    /// Attachments left out: not held here, or refused by the parent for good (logged).
    pub skipped: usize,
}

/// The attachments the events name, once each, in a stable order.
fn named(events: &[Event]) -> Vec<OfferedBlob> {
    let mut out = BTreeMap::new();
    for ev in events {
        if let EventBody::AttachmentAdded(a) = &ev.body {
            out.entry(a.sha256.clone()).or_insert(a.size);
        }
    }
    out.into_iter()
        .map(|(sha256, size)| OfferedBlob { sha256, size })
        .collect()
}

/// Sends the parent the attachments named by `events` that it lacks (see the module). Call it
/// before pushing the events. A transport failure or a parent that is not ready fails the
/// round (the push is retried); a file the parent refuses for good is skipped and logged.
pub async fn send_attachments(
    store: &CaseStore,
    client: &reqwest::Client,
    parent: &Url,
    events: &[Event],
) -> Result<Sent, LinkError> {
    let mut sent = Sent::default();
    let blobs = named(events);
    if blobs.is_empty() {
        return Ok(sent);
    }
    let Some(kept) = store.attachments() else {
        tracing::warn!(
            count = blobs.len(),
            "events name attachments but this node keeps none"
        );
        sent.skipped = blobs.len();
        return Ok(sent);
    };
    let mut offered = Vec::with_capacity(blobs.len());
    for blob in blobs {
        if kept.blobs().has(&blob.sha256).await {
            offered.push(blob);
        } else {
            tracing::warn!(sha256 = %blob.sha256, "an attachment to send up is not held here");
            sent.skipped += 1;
        }
    }
    if offered.is_empty() {
        return Ok(sent);
    }
    sent.offered = offered.len();
    let sizes: BTreeMap<ContentHash, u64> =
        offered.iter().map(|b| (b.sha256.clone(), b.size)).collect();
    let res = client
        .post(endpoint(parent, "/v1/attachments/offer"))
        .timeout(Duration::from_secs(60))
        .json(&AttachmentOffer { blobs: offered })
        .send()
        .await?;
    if !res.status().is_success() {
        let err = refused(res).await;
        // A parent that keeps no attachments would refuse every offer: the events still go.
        if let LinkError::Refused {
            code: Some(code), ..
        } = &err
            && code == "attachment.not_kept"
        {
            tracing::warn!(
                count = sent.offered,
                "the parent keeps no attachments; events go up without them"
            );
            sent.skipped += sent.offered;
            sent.offered = 0;
            return Ok(sent);
        }
        return Err(err);
    }
    let wants: AttachmentWants = res.json().await?;
    for want in wants.missing {
        let Some(&size) = sizes.get(&want.sha256) else {
            continue; // the parent asked for something not offered: ignore it
        };
        let Some(bytes) = kept.blobs().read(&want.sha256).await.map_err(to_store)? else {
            sent.skipped += 1;
            continue;
        };
        if u64::try_from(bytes.len()).ok() != Some(size) {
            tracing::error!(sha256 = %want.sha256, "a held attachment has another size than its event says");
            sent.skipped += 1;
            continue;
        }
        match send_one(client, parent, &want.sha256, &bytes, want.have).await {
            Ok(n) => {
                sent.bytes += n;
                sent.completed += 1;
            }
            Err(e @ LinkError::Refused { status, .. })
                if (400..500).contains(&status)
                    && status != 408
                    && status != 409
                    && status != 429 =>
            {
                tracing::error!(sha256 = %want.sha256, error = %e, "the parent refused an attachment; the events go up without it");
                sent.skipped += 1;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(sent)
}

fn to_store(e: std::io::Error) -> LinkError {
    LinkError::Store(crate::store::StoreError::Corrupt(format!(
        "cannot read an attachment: {e}"
    )))
}

/// Sends `bytes` from `from` on, in pieces; returns how many bytes went.
async fn send_one(
    client: &reqwest::Client,
    parent: &Url,
    hash: &ContentHash,
    bytes: &[u8],
    from: u64,
) -> Result<u64, LinkError> {
    let size = bytes.len();
    let mut offset = usize::try_from(from).unwrap_or(size).min(size);
    let mut sent = 0u64;
    let url = endpoint(parent, &format!("/v1/attachments/{hash}"));
    // At least one request: a part already whole at the parent (a crash before it was put in
    // place) is completed by an empty piece at its end.
    loop {
        let end = offset.saturating_add(PIECE).min(size);
        let mut piece_url = url.clone();
        piece_url
            .query_pairs_mut()
            .append_pair("offset", &offset.to_string())
            .append_pair("size", &size.to_string());
        let res = client
            .put(piece_url)
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .timeout(Duration::from_secs(120))
            .body(bytes[offset..end].to_vec())
            .send()
            .await?;
        if !res.status().is_success() {
            return Err(refused(res).await);
        }
        let progress: BlobProgress = res.json().await?;
        sent += u64::try_from(end - offset).unwrap_or(u64::MAX);
        if progress.complete {
            return Ok(sent);
        }
        let next = usize::try_from(progress.have).unwrap_or(size).min(size);
        if next <= offset && end > offset || next >= size {
            // The parent kept nothing of a piece, or has it all without taking it: try again
            // on the next round rather than loop here.
            return Err(LinkError::Refused {
                status: 502,
                body: format!("the parent holds {next} of {size} bytes after a piece"),
                code: None,
                event_id: None,
            });
        }
        if next < end {
            tracing::info!(sha256 = %hash, have = next, "resuming an attachment transfer");
        }
        offset = next;
    }
}
