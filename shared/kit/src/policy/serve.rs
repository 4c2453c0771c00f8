//! The inter-node routes that carry the signed policy down the tree: the bundle in force as its
//! exact envelope bytes, and the rosters of the caller's subtree. The district serves what it
//! recorded, a town what it keeps (see [`super::apply::Kept`]); both mount these routes with
//! `node::Parts::internode_routes`, behind the direct-child gate.
//!
//! It never changes a byte of what it serves: the children verify the signatures themselves.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bangban_domain::station::StationCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::roster::RosterSet;
use crate::http::Problem;
use crate::tls::Peer;

/// The bundle's path on the inter-node listener.
pub const BUNDLE_PATH: &str = "/v1/policy/bundle";
/// The rosters' path on the inter-node listener.
pub const ROSTERS_PATH: &str = "/v1/policy/rosters";
/// The media type of a served envelope.
pub const ENVELOPE_MEDIA_TYPE: &str = "application/vnd.dsse.envelope.v1+json";

/// A boxed answer of a [`BundleSource`]; the error is for the log only.
pub type SourceFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, String>> + Send + 'a>>;

/// Where a node finds what it serves.
pub trait BundleSource: Send + Sync {
    /// The latest bundle to serve, with its number; `None` while there is none.
    fn latest(&self) -> SourceFuture<'_, Option<(u64, Vec<u8>)>>;
    /// The rosters that go with bundle `number` for `caller` (a direct child) and the stations
    /// under it.
    fn rosters(&self, number: u64, caller: StationCode) -> SourceFuture<'_, RosterSet>;
}

type Source = Arc<dyn BundleSource>;

/// The routes, with their state.
pub fn routes(source: Source) -> axum::Router {
    let (router, _doc) = router().with_state(source).split_for_parts();
    router
}

/// The routes with their documentation, before they get their state.
pub fn router() -> OpenApiRouter<Source> {
    OpenApiRouter::new()
        .routes(routes!(bundle))
        .routes(routes!(rosters))
}

/// The documentation of these routes, for the inter-node OpenAPI document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    router().into_openapi()
}

/// Whether `caller`'s subtree holds `station`: the caller itself or a station under it.
pub fn in_subtree(caller: StationCode, station: StationCode) -> bool {
    station == caller || station.parent() == Some(caller)
}

fn etag(number: u64) -> String {
    format!("\"{number}\"")
}

fn unavailable(e: &str) -> Response {
    tracing::error!(error = e, "the policy bundle could not be read");
    Problem::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "policy_bundle.unavailable",
        "暂时无法读取政策包，请稍后重试".to_owned(),
        "the policy bundle cannot be read now; try again later".to_owned(),
    )
    .into_response()
}

fn none_yet() -> Response {
    Problem::new(
        StatusCode::NOT_FOUND,
        "policy_bundle.none",
        "本节点尚无签名政策包".to_owned(),
        "this node has no signed policy bundle yet".to_owned(),
    )
    .into_response()
}

/// The latest signed policy bundle, as its exact envelope bytes. The ETag is its number; a
/// child that sends it back in `If-None-Match` gets 304 while it is still the latest.
#[utoipa::path(
    get,
    path = "/v1/policy/bundle",
    tag = "policy",
    params(("If-None-Match" = Option<String>, Header, description = "在用政策包编号（带引号）。The number of the bundle the caller has, quoted, as in the ETag.")),
    responses(
        (status = OK, description = "签名政策包（DSSE 信封，原样字节）。The signed bundle: its DSSE envelope, byte for byte.", body = Object, content_type = "application/vnd.dsse.envelope.v1+json", headers(("ETag" = String, description = "政策包编号。The bundle's number, quoted."))),
        (status = NOT_MODIFIED, description = "调用方已有最新政策包。The caller has the latest bundle."),
        (status = NOT_FOUND, description = "尚无签名政策包。No signed bundle yet.", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn bundle(State(source): State<Source>, _peer: Peer, headers: HeaderMap) -> Response {
    let (number, bytes) = match source.latest().await {
        Ok(Some(latest)) => latest,
        Ok(None) => return none_yet(),
        Err(e) => return unavailable(&e),
    };
    let tag = etag(number);
    let unchanged = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == tag));
    let tag = HeaderValue::from_str(&tag).unwrap_or(HeaderValue::from_static("\"0\""));
    if unchanged {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, tag)]).into_response();
    }
    (
        StatusCode::OK,
        [
            (header::ETAG, tag),
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(ENVELOPE_MEDIA_TYPE),
            ),
        ],
        bytes,
    )
        .into_response()
}

/// The signed rosters of the caller's subtree (its own and, for a town, its villages') that go
/// with the latest bundle, each as its exact envelope bytes in base64.
#[utoipa::path(
    get,
    path = "/v1/policy/rosters",
    tag = "policy",
    responses(
        (status = OK, description = "调用方及其下级的代办员名册。The rosters of the caller's subtree.", body = RosterSet),
        (status = NOT_FOUND, description = "尚无签名政策包。No signed bundle yet.", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn rosters(State(source): State<Source>, Peer(peer): Peer) -> Response {
    let number = match source.latest().await {
        Ok(Some((number, _))) => number,
        Ok(None) => return none_yet(),
        Err(e) => return unavailable(&e),
    };
    match source.rosters(number, peer.station).await {
        Ok(set) => Json(set.only(|s| in_subtree(peer.station, s))).into_response(),
        Err(e) => unavailable(&e),
    }
}
