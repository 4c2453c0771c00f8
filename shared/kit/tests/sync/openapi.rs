//! Real answers of the inter-node API, over mutual TLS, validate against the schemas of the
//! document the parent serves to its children (`/v1/openapi.json`); a station that is not a
//! direct child gets a 403 problem for the document too.

use bangban_domain::wire::PushBatch;
use bangban_kit::tls::https_client;
use serde_json::{Value, json};

use crate::support::*;

/// Validates `body` against the schema the document declares for `method path` answering
/// `status` with `content_type` (the listed status, or `default`), resolving `$ref`s into the
/// document's components. OpenAPI 3.1 schemas are JSON Schema 2020-12.
fn validate(doc: &Value, method: &str, path: &str, status: u16, content_type: &str, body: &Value) {
    let responses = &doc["paths"][path][method]["responses"];
    let mut response = match &responses[status.to_string()] {
        Value::Null => &responses["default"],
        listed => listed,
    };
    if let Some(name) = response["$ref"]
        .as_str()
        .and_then(|r| r.strip_prefix("#/components/responses/"))
    {
        response = &doc["components"]["responses"][name];
    }
    let mut schema = response["content"][content_type]["schema"].clone();
    assert!(
        schema.is_object(),
        "{method} {path} {status} {content_type} is not documented"
    );
    schema["components"] = doc["components"].clone();
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .build(&schema)
        .unwrap();
    let errors: Vec<String> = validator
        .iter_errors(body)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{method} {path} {status}: {errors:?}\n{body}"
    );
}

async fn get(client: &reqwest::Client, url: String) -> (u16, String, Value) {
    let res = client.get(url).send().await.unwrap();
    let status = res.status().as_u16();
    let content_type = res.headers()["content-type"].to_str().unwrap().to_owned();
    (status, content_type, res.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_internode_answers_validate_against_their_documented_schemas() {
    let (db, _guard) = crate::databases::sqlite_db().await;
    let ca = district_ca();
    let parent = Parent::start(&ca, db, tolerance(300)).await;
    let child = Child::new(&ca, tolerance(300)).await;
    let base = parent.server.url();

    let (status, content_type, doc) = get(&child.client, format!("{base}v1/openapi.json")).await;
    assert_eq!((status, content_type.as_str()), (200, "application/json"));
    assert_eq!(doc["info"]["title"], "Bangban inter-node API");

    // A push, a pull, one case's log.
    let case = new_case(1);
    let log = case.escalated();
    let res = child
        .client
        .post(format!("{base}v1/events"))
        .json(&PushBatch {
            events: log.clone(),
        })
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let outcome: Value = res.json().await.unwrap();
    assert_eq!(outcome, json!({"stored": 4, "duplicates": 0}));
    validate(
        &doc,
        "post",
        "/v1/events",
        200,
        "application/json",
        &outcome,
    );

    // The child pulls what its parent wrote, not its own events.
    append_all(&parent.store, &[case.accepted(4)]).await;
    let (status, content_type, page) = get(&child.client, format!("{base}v1/events?after=0")).await;
    assert_eq!(status, 200);
    assert_eq!(page["events"].as_array().unwrap().len(), 1, "{page}");
    validate(&doc, "get", "/v1/events", status, &content_type, &page);

    let case_id = log[0].case_id;
    let (status, content_type, events) =
        get(&child.client, format!("{base}v1/cases/{case_id}/events")).await;
    assert_eq!(status, 200);
    validate(
        &doc,
        "get",
        "/v1/cases/{case_id}/events",
        status,
        &content_type,
        &events,
    );

    // A summary push: the request fits its schema, and so do the answer and a refusal.
    let other = new_case(2);
    append_all(&child.store, &[other.application()]).await;
    let summaries = json!({ "summaries": child.store.summary_outbox_peek(10).await.unwrap() });
    let mut request = doc["paths"]["/v1/summaries"]["post"]["requestBody"]["content"]
        ["application/json"]["schema"]
        .clone();
    request["components"] = doc["components"].clone();
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .build(&request)
        .unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&summaries)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?}\n{summaries}");
    for (body, status) in [
        (summaries.clone(), 200),
        (json!({"summaries": [{"applicant": "张三"}]}), 422),
    ] {
        let res = child
            .client
            .post(format!("{base}v1/summaries"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), status);
        let content_type = res.headers()["content-type"].to_str().unwrap().to_owned();
        let answer: Value = res.json().await.unwrap();
        validate(
            &doc,
            "post",
            "/v1/summaries",
            status,
            &content_type,
            &answer,
        );
    }

    // Problems: a malformed id, a bad cursor, a station that is not a direct child.
    let (status, content_type, problem) =
        get(&child.client, format!("{base}v1/cases/not-a-uuid/events")).await;
    assert_eq!(
        (status, content_type.as_str()),
        (400, "application/problem+json")
    );
    validate(
        &doc,
        "get",
        "/v1/cases/{case_id}/events",
        status,
        &content_type,
        &problem,
    );
    let (status, content_type, problem) =
        get(&child.client, format!("{base}v1/events?after=-1")).await;
    assert_eq!(
        (status, content_type.as_str()),
        (400, "application/problem+json")
    );
    validate(&doc, "get", "/v1/events", status, &content_type, &problem);
    let stranger =
        https_client(&creds(&ca, OTHER_TOWN_VILLAGE, &ca), Vec::new(), code(TOWN)).unwrap();
    let (status, content_type, problem) = get(&stranger, format!("{base}v1/openapi.json")).await;
    assert_eq!(
        (status, content_type.as_str()),
        (403, "application/problem+json")
    );
    validate(
        &doc,
        "get",
        "/v1/openapi.json",
        status,
        &content_type,
        &problem,
    );

    // Health, for the direct child.
    for path in ["/healthz", "/readyz"] {
        let (status, content_type, body) =
            get(&child.client, format!("{base}{}", &path[1..])).await;
        assert_eq!(status, 200, "{path}: {body}");
        validate(&doc, "get", path, status, &content_type, &body);
    }
}
