//! The operator API both nodes serve on their UI listener (JSON over HTTP, bearer tokens from
//! `POST /api/v1/login`): create, read, list cases and append events; the shared state machine
//! decides. Documented in `openapi.json`, served at `/api/v1/openapi.json`.
//!
//! Personal data is masked in every answer; handlers never build SQL.

pub mod cases;
pub mod mask;

use std::sync::Arc;

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use bangban_domain::station::StationCode;

use axum::extract::FromRef;

use crate::auth::AuthStore;
use crate::store::CaseStore;

/// What the operator API handlers share.
pub struct NodeApi {
    pub me: StationCode,
    pub name: String,
    pub store: CaseStore,
    pub auth: AuthStore,
    /// The policy in force (the catalogue of items taken in; the calendar of due dates).
    pub policy: crate::policy::PolicyHandle,
}

impl FromRef<Arc<NodeApi>> for AuthStore {
    fn from_ref(api: &Arc<NodeApi>) -> AuthStore {
        api.auth.clone()
    }
}

/// The OpenAPI document of this API.
pub const OPENAPI: &str = include_str!("openapi.json");

/// `/api/v1/…`: login, cases, items, the OpenAPI document.
pub fn routes(state: Arc<NodeApi>) -> Router {
    Router::new()
        .merge(crate::auth::auth_routes())
        .merge(cases::routes())
        .route(
            "/api/v1/openapi.json",
            get(|| async {
                ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
            }),
        )
        .with_state(state)
}
