//! Wire types of the inter-node API (`/v1`): what a child pushes up and what it pulls down.
//!
//! Identity is never in these bodies: the caller is who its verified certificate says it is.

use serde::{Deserialize, Serialize};

use crate::event::Event;

/// The largest batch a node pushes or serves at once.
pub const MAX_BATCH: usize = 1_000;

/// `POST /v1/events`: events in the order they were stored at the sender.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PushBatch {
    pub events: Vec<Event>,
}

/// The answer to a push, sent only after the batch is committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushOutcome {
    /// Events stored now.
    pub stored: u32,
    /// Events that were already stored (replays); nothing changed for them.
    pub duplicates: u32,
}

/// One pulled event with its position in the parent's log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PulledEvent {
    pub seq: i64,
    pub event: Event,
}

/// `GET /v1/events?after=CURSOR`: events of cases in the caller's subtree after the cursor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PullPage {
    pub events: Vec<PulledEvent>,
    /// The cursor to ask from next time (unchanged when nothing new came).
    pub next: i64,
}

/// One attachment a child offers: its hash and size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct OfferedBlob {
    pub sha256: crate::attachment::ContentHash,
    /// The size in bytes.
    pub size: u64,
}

/// `POST /v1/attachments/offer`: the attachments named by the events a child is about to push.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AttachmentOffer {
    pub blobs: Vec<OfferedBlob>,
}

/// One attachment the parent lacks, and how much of it it already has (a transfer that broke
/// off resumes there).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WantedBlob {
    pub sha256: crate::attachment::ContentHash,
    /// Bytes already received: send from here.
    pub have: u64,
}

/// The answer to an offer: only what the parent lacks. An empty list: send nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AttachmentWants {
    pub missing: Vec<WantedBlob>,
}

/// The answer to a piece of an attachment (`PUT /v1/attachments/{sha256}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BlobProgress {
    /// Bytes stored so far.
    pub have: u64,
    /// Whether the whole file arrived and hashed to its name.
    pub complete: bool,
}
