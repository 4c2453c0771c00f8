//! The generated OpenAPI documents against the routes the code registers: for both APIs, every
//! registered route and method is documented, and every documented operation is registered.
//! (Real responses are validated against the schemas in station-node's API tests.)
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use bangban_kit::{api, http, sync};
use serde_json::Value;

/// `(path, METHOD)` of every route a router registers, read from the router itself. axum lists
/// each route's path and its `Allow` header in `Debug`; the automatic `HEAD` of a `GET` is left
/// out, as documents do not list it.
fn registered<S>(router: &axum::Router<S>) -> BTreeSet<(String, String)> {
    let text = format!("{router:?}");
    // Only the routes proper, not the fallback router that follows them.
    let routes = text.split("fallback_router:").next().unwrap();
    let node = routes.rsplit("Node { paths: {").next().unwrap();
    let mut found = BTreeSet::new();
    for entry in node.split("RouteId(").skip(1) {
        let (id, rest) = entry.split_once("): \"").unwrap();
        let path = rest.split('"').next().unwrap();
        let route = routes
            .split(&format!("RouteId({id}): MethodRouter("))
            .nth(1)
            .unwrap_or_else(|| panic!("route {id} ({path}) has no method router: {routes}"));
        let allow = route
            .split("allow_header: Bytes(b\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        for method in allow.split(',').filter(|m| *m != "HEAD") {
            found.insert((path.to_owned(), method.to_owned()));
        }
    }
    assert!(!found.is_empty(), "no routes read from {text}");
    found
}

/// `(path, METHOD)` of every operation in a document.
fn documented(doc: &utoipa::openapi::OpenApi) -> BTreeSet<(String, String)> {
    let doc: Value = serde_json::to_value(doc).unwrap();
    let mut found = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            found.insert((path.clone(), method.to_uppercase()));
        }
    }
    found
}

fn pairs(list: &[(&str, &str)]) -> BTreeSet<(String, String)> {
    list.iter()
        .map(|(p, m)| ((*p).to_owned(), (*m).to_owned()))
        .collect()
}

#[test]
fn the_route_reader_reads_a_known_router() {
    let router: axum::Router = axum::Router::new()
        .route("/a", axum::routing::get(|| async {}).post(|| async {}))
        .route("/b/{id}", axum::routing::post(|| async {}))
        .fallback(|| async {});
    assert_eq!(
        registered(&router),
        pairs(&[("/a", "GET"), ("/a", "POST"), ("/b/{id}", "POST")])
    );
}

#[test]
fn every_operator_route_is_documented_and_every_documented_operation_is_routed() {
    let mut routed = registered(&api::router().split_for_parts().0);
    routed.extend(registered(&http::health_router().split_for_parts().0));
    // Mounted by the node beside the API (crate::node), at this path.
    routed.insert((api::METRICS_PATH.to_owned(), "GET".to_owned()));
    let doc = api::openapi();
    assert_eq!(routed, documented(&doc));
    // What the operator API is known to serve, so that an empty reading cannot pass.
    for expected in pairs(&[
        ("/api/v1/login", "POST"),
        ("/api/v1/logout", "POST"),
        ("/api/v1/cases", "GET"),
        ("/api/v1/cases", "POST"),
        ("/api/v1/cases/{case_id}", "GET"),
        ("/api/v1/cases/{case_id}/events", "POST"),
        ("/api/v1/items", "GET"),
        ("/api/v1/openapi.json", "GET"),
        ("/healthz", "GET"),
        ("/readyz", "GET"),
        ("/metrics", "GET"),
    ]) {
        assert!(routed.contains(&expected), "{expected:?}");
    }
}

#[test]
fn every_internode_route_is_documented_and_every_documented_operation_is_routed() {
    let mut routed = registered(&sync::server::router().split_for_parts().0);
    routed.extend(registered(&http::health_router().split_for_parts().0));
    // Mounted by the node crates (node::Parts::internode_routes) on the same listener.
    routed.extend(registered(
        &bangban_kit::policy::serve::router().split_for_parts().0,
    ));
    routed.extend(registered(
        &bangban_kit::policy::files::router().split_for_parts().0,
    ));
    assert_eq!(routed, documented(&sync::server::openapi()));
    for expected in pairs(&[
        ("/v1/events", "POST"),
        ("/v1/events", "GET"),
        ("/v1/cases/{case_id}/events", "GET"),
        ("/v1/policy/bundle", "GET"),
        ("/v1/policy/rosters", "GET"),
        ("/v1/policy/files/{sha256}", "GET"),
        ("/v1/openapi.json", "GET"),
        ("/healthz", "GET"),
        ("/readyz", "GET"),
    ]) {
        assert!(routed.contains(&expected), "{expected:?}");
    }
}

/// The operations of a document, as JSON.
fn operations(doc: &Value) -> Vec<(String, &Value)> {
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            ops.push((format!("{} {path}", method.to_uppercase()), op));
        }
    }
    ops
}

#[test]
fn every_operator_operation_documents_its_problems_and_its_security() {
    let doc = serde_json::to_value(api::openapi()).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let bearer = &doc["components"]["securitySchemes"]["bearer"];
    assert_eq!(
        (&bearer["type"], &bearer["scheme"]),
        (&"http".into(), &"bearer".into())
    );
    assert_eq!(
        doc["components"]["responses"]["Problem"]["content"]["application/problem+json"]["schema"]
            ["$ref"],
        "#/components/schemas/Problem"
    );
    let open = [
        "POST /api/v1/login",
        "GET /api/v1/openapi.json",
        "GET /healthz",
        "GET /readyz",
        "GET /metrics",
    ];
    for (name, op) in operations(&doc) {
        assert!(
            op["responses"]["default"].is_object(),
            "{name}: no default problem"
        );
        let secured = op["security"] == serde_json::json!([{"bearer": []}]);
        assert_eq!(secured, !open.contains(&name.as_str()), "{name}: security");
        if secured {
            assert!(
                op["responses"]["401"]["content"]["application/problem+json"].is_object(),
                "{name}: 401 problem"
            );
        }
        for (status, response) in op["responses"].as_object().unwrap() {
            // Every error is a problem document, but for /readyz's 503, which is its report.
            if status.starts_with('4') || (status.starts_with('5') && name != "GET /readyz") {
                assert!(
                    response["content"]["application/problem+json"].is_object(),
                    "{name} {status} is a problem document"
                );
            }
        }
    }
}

#[test]
fn every_internode_operation_documents_the_refusal_of_a_non_child() {
    let doc = serde_json::to_value(sync::server::openapi()).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let description = doc["info"]["description"].as_str().unwrap();
    assert!(description.contains("mutual-TLS") && description.contains("direct child"));
    for (name, op) in operations(&doc) {
        assert!(op["responses"]["default"].is_object(), "{name}");
        assert!(
            op["responses"]["403"]["content"]["application/problem+json"].is_object(),
            "{name}: 403 for a caller that is not a direct child"
        );
        assert!(op.get("security").is_none(), "{name}: no token on mTLS");
    }
}
