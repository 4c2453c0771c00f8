//! The operator API both nodes serve on their UI listener (JSON over HTTP, bearer tokens from
//! `POST /api/v1/login`): create, read, list cases and append events; the shared state machine
//! decides. Documented in `openapi.json`, served at `/api/v1/openapi.json`.
//!
//! Personal data is masked in every answer; handlers never build SQL.

pub mod cases;

use std::sync::Arc;

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use axum::extract::FromRef;

use crate::auth::AuthStore;

/// What the operator API handlers share.
pub struct NodeApi {
    pub name: String,
    pub auth: AuthStore,
    /// Taking cases in, their steps and views (with the store and the policy in force).
    pub intake: crate::intake::Intake,
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
