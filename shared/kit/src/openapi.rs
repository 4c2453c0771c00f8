//! The OpenAPI documents of a node's two APIs, generated from the routes themselves: each API
//! registers its handlers through utoipa-axum, with their `#[utoipa::path]` description, and
//! this module adds what both documents share (the problem document, the health endpoints) and
//! serves a document as JSON. It never describes a route that the code does not register.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use utoipa::openapi::path::Operation;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr};

use crate::http::{PROBLEM_JSON, Problem};

/// The name of the problem document's schema and response in `components`.
const PROBLEM: &str = "Problem";

/// Adds what every operation of both APIs shares: the problem document's schema, and a
/// `default` response that is a problem (any error, e.g. a body over the limit or an internal
/// error) on each operation that does not list one. `extra` adds a response to every operation
/// that lacks that status, e.g. the operator API's 401 or the inter-node API's 403.
pub fn with_problems(doc: &mut OpenApi, extra: &[(StatusCode, &str)]) {
    let components = doc.components.get_or_insert_with(Default::default);
    components.schemas.insert(
        PROBLEM.to_owned(),
        <Problem as utoipa::PartialSchema>::schema(),
    );
    components.responses.insert(
        PROBLEM.to_owned(),
        RefOr::T(problem_response(
            "出错，详见问题说明。An error, described by a problem document.",
        )),
    );
    each_operation(doc, |operation| {
        let responses = &mut operation.responses.responses;
        for (status, description) in extra {
            responses
                .entry(status.as_str().to_owned())
                .or_insert_with(|| RefOr::T(problem_response(description)));
        }
        responses
            .entry("default".to_owned())
            .or_insert_with(|| RefOr::Ref(Ref::from_response_name(PROBLEM)));
    });
}

/// A response whose body is a problem document.
pub fn problem_response(description: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            PROBLEM_JSON,
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name(PROBLEM)))
                .build(),
        )
        .build()
}

/// Calls `f` on every operation of the document.
pub fn each_operation(doc: &mut OpenApi, mut f: impl FnMut(&mut Operation)) {
    for item in doc.paths.paths.values_mut() {
        [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.options,
            &mut item.head,
            &mut item.patch,
            &mut item.trace,
        ]
        .into_iter()
        .flatten()
        .for_each(&mut f);
    }
}

/// A document rendered once, as served.
pub struct Rendered(Result<String, String>);

impl Rendered {
    pub fn new(doc: &OpenApi) -> Rendered {
        Rendered(doc.to_pretty_json().map_err(|e| e.to_string()))
    }

    /// The JSON text of the document.
    pub fn json(&self) -> Result<&str, &str> {
        self.0.as_deref().map_err(String::as_str)
    }
}

impl IntoResponse for &Rendered {
    fn into_response(self) -> Response {
        match self.json() {
            Ok(json) => (
                [(header::CONTENT_TYPE, "application/json")],
                json.to_owned(),
            )
                .into_response(),
            Err(e) => Problem::internal(&format!("the OpenAPI document does not render: {e}"))
                .into_response(),
        }
    }
}
