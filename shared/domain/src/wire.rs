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
