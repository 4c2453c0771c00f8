//! Real answers of a running station validate against the schemas its own OpenAPI document
//! (`/api/v1/openapi.json`) declares for that operation, status and content type: case views,
//! lists, problems, the login, health.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::cases::Session;
use crate::helpers::{PASSWORD, USER};

/// The station's operator document, as served.
async fn document(s: &Session) -> Value {
    let res = s
        .http
        .get(format!("{}/api/v1/openapi.json", s.app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/json");
    res.json().await.unwrap()
}

/// The schema `doc` declares for `method path` answering `status` with `content_type`: the
/// listed status, or else `default`; a response given by `$ref` is followed.
fn declared_schema(
    doc: &Value,
    method: &str,
    path: &str,
    status: u16,
    content_type: &str,
) -> Value {
    let responses = &doc["paths"][path][method]["responses"];
    assert!(responses.is_object(), "{method} {path} is not documented");
    let mut response = match &responses[status.to_string()] {
        Value::Null => &responses["default"],
        listed => listed,
    };
    if let Some(reference) = response["$ref"].as_str() {
        let name = reference.strip_prefix("#/components/responses/").unwrap();
        response = &doc["components"]["responses"][name];
    }
    let schema = &response["content"][content_type]["schema"];
    assert!(
        schema.is_object(),
        "{method} {path} {status} {content_type} is not documented: {response}"
    );
    schema.clone()
}

/// Validates `body` against `schema`, resolving `#/components/schemas/…` in `doc`. OpenAPI 3.1
/// schemas are JSON Schema 2020-12; formats (date-time, uuid, date) are checked too.
fn check(doc: &Value, schema: &Value, body: &Value) -> Result<(), String> {
    let mut root = schema.clone();
    root["components"] = doc["components"].clone();
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .build(&root)
        .map_err(|e| format!("the schema does not build: {e}"))?;
    let errors: Vec<String> = validator
        .iter_errors(body)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("; "))
    }
}

/// A real answer, checked against what the document declares for it.
struct Answer {
    method: &'static str,
    path: &'static str,
    status: StatusCode,
    content_type: String,
    body: Value,
}

impl Answer {
    async fn get(
        s: &Session,
        method: &'static str,
        path: &'static str,
        url: &str,
        body: Option<Value>,
    ) -> Answer {
        let url = format!("{}{url}", s.app.url);
        let mut req = match method {
            "get" => s.http.get(url),
            _ => s.http.post(url),
        }
        .bearer_auth(&s.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.unwrap();
        let status = res.status();
        let content_type = res.headers()["content-type"].to_str().unwrap().to_owned();
        Answer {
            method,
            path,
            status,
            content_type,
            body: res.json().await.unwrap(),
        }
    }

    fn validate(&self, doc: &Value) {
        let schema = declared_schema(
            doc,
            self.method,
            self.path,
            self.status.as_u16(),
            &self.content_type,
        );
        if let Err(e) = check(doc, &schema, &self.body) {
            panic!(
                "{} {} {}: {e}\n{}",
                self.method, self.path, self.status, self.body
            );
        }
    }
}

#[tokio::test]
async fn real_answers_validate_against_their_documented_schemas() {
    let s = Session::start().await;
    let doc = document(&s).await;

    // Case views: a person's application taken through a courier delegation (masked recipient,
    // address and phone), and a company's application.
    let opened = s.open("410402-SCJG-001").await;
    let id = opened["case_id"].as_str().unwrap().to_owned();
    let steps = [
        json!({"kind": "pre_reviewed", "payload": {"materials": [{"name": "营业执照", "verdict": "conforming"}]}}),
        json!({"kind": "delegation_signed", "payload": {"agreement_no": "WT-1", "agent_name": "陈代办",
            "delivery": {"method": "courier", "recipient": "李四", "address": "河南省平顶山市新华区曙光街1号", "phone": "13900001111"}}}),
        json!({"kind": "commented", "payload": {"text": "已电话联系"}}),
    ];
    let events_url = format!("/api/v1/cases/{id}/events");
    let mut answers = Vec::new();
    for step in steps {
        let answer = Answer::get(
            &s,
            "post",
            "/api/v1/cases/{case_id}/events",
            &events_url,
            Some(step),
        )
        .await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        answers.push(answer);
    }
    let company = Answer::get(
        &s,
        "post",
        "/api/v1/cases",
        "/api/v1/cases",
        Some(
            json!({"kind": "application", "channel": "agent", "item_code": "410402-SCJG-001",
            "applicant": {"type": "company", "name": "平顶山市新华区示例商贸有限公司",
                "credit_code": "91350100M000100Y43", "legal_representative": "李建国",
                "contact_name": "赵敏", "contact_phone": "13998765432"}}),
        ),
    )
    .await;
    assert_eq!(company.status, 201, "{}", company.body);
    answers.push(company);
    let consultation = Answer::get(
        &s,
        "post",
        "/api/v1/cases",
        "/api/v1/cases",
        Some(json!({"kind": "consultation", "channel": "phone", "topic": "食品经营许可需要哪些材料"})),
    )
    .await;
    assert_eq!(consultation.status, 201, "{}", consultation.body);
    answers.push(consultation);
    let view = Answer::get(
        &s,
        "get",
        "/api/v1/cases/{case_id}",
        &format!("/api/v1/cases/{id}"),
        None,
    )
    .await;
    assert_eq!(view.status, 200);
    assert_eq!(view.body["events"].as_array().unwrap().len(), 4);
    assert_eq!(
        view.body["events"][2]["payload"]["delivery"]["recipient"],
        "李*"
    );
    answers.push(view);

    // Lists.
    let list = Answer::get(&s, "get", "/api/v1/cases", "/api/v1/cases", None).await;
    assert_eq!(list.body["cases"].as_array().unwrap().len(), 3);
    answers.push(list);
    answers.push(Answer::get(&s, "get", "/api/v1/items", "/api/v1/items", None).await);
    answers.push(Answer::get(&s, "get", "/api/v1/alerts", "/api/v1/alerts", None).await);

    // Problems: a malformed id, an unknown case, an illegal step, a bad identifier, a bad query.
    for (method, path, url, body, status) in [
        (
            "get",
            "/api/v1/cases/{case_id}",
            "/api/v1/cases/not-a-uuid",
            None,
            400,
        ),
        (
            "get",
            "/api/v1/cases/{case_id}",
            "/api/v1/cases/0190a5c2-7f3e-7a4b-9c1d-2e3f4a5b6c7d",
            None,
            404,
        ),
        (
            "post",
            "/api/v1/cases/{case_id}/events",
            &events_url,
            Some(json!({"kind": "completed", "payload": {}})),
            422,
        ),
        (
            "post",
            "/api/v1/cases",
            "/api/v1/cases",
            Some(json!({"kind": "application", "channel": "window",
            "item_code": "410402-SCJG-001", "applicant": {"type": "person", "name": "张三",
            "id_number": "110105194912310021", "phone": "13812345678"}})),
            422,
        ),
        (
            "post",
            "/api/v1/alerts/{alert_id}/ack",
            "/api/v1/alerts/0190a5c2-7f3e-7a4b-9c1d-2e3f4a5b6c7d/ack",
            None,
            404,
        ),
        (
            "post",
            "/api/v1/alerts/{alert_id}/ack",
            "/api/v1/alerts/not-a-uuid/ack",
            None,
            400,
        ),
        (
            "get",
            "/api/v1/cases",
            "/api/v1/cases?stage=flying",
            None,
            400,
        ),
    ] {
        let answer = Answer::get(&s, method, path, url, body).await;
        assert_eq!(answer.status.as_u16(), status, "{}", answer.body);
        assert_eq!(answer.content_type, "application/problem+json");
        answers.push(answer);
    }

    // The login, a refusal without a token, health.
    let login = s
        .http
        .post(format!("{}/api/v1/login", s.app.url))
        .json(&json!({"username": USER, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    answers.push(Answer {
        method: "post",
        path: "/api/v1/login",
        status: login.status(),
        content_type: login.headers()["content-type"].to_str().unwrap().to_owned(),
        body: login.json().await.unwrap(),
    });
    let refused = s
        .http
        .get(format!("{}/api/v1/cases", s.app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    answers.push(Answer {
        method: "get",
        path: "/api/v1/cases",
        status: refused.status(),
        content_type: refused.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned(),
        body: refused.json().await.unwrap(),
    });
    answers.push(Answer::get(&s, "get", "/healthz", "/healthz", None).await);
    answers.push(Answer::get(&s, "get", "/readyz", "/readyz", None).await);

    for answer in &answers {
        answer.validate(&doc);
    }
}

#[tokio::test]
async fn the_schemas_refuse_answers_that_do_not_fit() {
    let s = Session::start().await;
    let doc = document(&s).await;
    let case = s.open("410402-SCJG-001").await;
    let view = declared_schema(
        &doc,
        "get",
        "/api/v1/cases/{case_id}",
        200,
        "application/json",
    );
    check(&doc, &view, &case).unwrap();
    for (pointer, bad) in [
        ("/stage", json!("flying")),
        ("/case_id", json!("not-a-uuid")),
        ("/origin", json!("4104")),
        ("/events/0/kind", json!("teleported")),
        ("/events/0/payload/applicant/type", json!("robot")),
        ("/opened_at", json!("yesterday")),
        ("/visits", json!(-1)),
    ] {
        let mut tampered = case.clone();
        *tampered.pointer_mut(pointer).unwrap() = bad;
        assert!(check(&doc, &view, &tampered).is_err(), "{pointer} accepted");
    }
    let mut missing = case.clone();
    missing.as_object_mut().unwrap().remove("events");
    assert!(
        check(&doc, &view, &missing).is_err(),
        "events may not be left out"
    );

    let problem = declared_schema(
        &doc,
        "get",
        "/api/v1/cases/{case_id}",
        404,
        "application/problem+json",
    );
    let (_, found) = s
        .call(
            "GET",
            "/api/v1/cases/0190a5c2-7f3e-7a4b-9c1d-2e3f4a5b6c7d",
            None,
        )
        .await;
    check(&doc, &problem, &found).unwrap();
    let mut no_code = found.clone();
    no_code.as_object_mut().unwrap().remove("code");
    assert!(check(&doc, &problem, &no_code).is_err());
}

#[tokio::test]
async fn every_documented_operation_is_routed_on_a_running_station() {
    let s = Session::start().await;
    let doc = document(&s).await;
    for (path, item) in doc["paths"].as_object().unwrap() {
        let url = format!(
            "{}{}",
            s.app.url,
            path.replace("{case_id}", "0190a5c2-7f3e-7a4b-9c1d-2e3f4a5b6c7d")
        );
        for method in item.as_object().unwrap().keys() {
            let req = match method.as_str() {
                "get" => s.http.get(&url),
                "post" => s.http.post(&url).json(&json!({})),
                other => panic!("{other} {path}: an unexpected method"),
            };
            let res = req.bearer_auth(&s.token).send().await.unwrap();
            let status = res.status();
            assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
            let body: Value = res.json().await.unwrap_or(Value::Null);
            assert_ne!(
                body["code"], "route.not_found",
                "{method} {path} is not routed"
            );
        }
    }
}

#[tokio::test]
async fn the_item_list_documents_the_catalogue_marks_and_how_to_obtain_each_material() {
    let s = Session::start().await;
    let doc = document(&s).await;
    let schemas = &doc["components"]["schemas"];
    assert!(
        schemas["Material"]["properties"]["how_to_obtain"].is_object(),
        "{}",
        schemas["Material"]
    );
    assert!(schemas["ItemList"]["properties"]["sample"].is_object());
    let schema = declared_schema(&doc, "get", "/api/v1/items", 200, "application/json");
    let (status, items) = s.call("GET", "/api/v1/items", None).await;
    assert_eq!(status, 200);
    check(&doc, &schema, &items).unwrap();
    // The shipped catalogue is sample data, and says how to obtain every material.
    assert_eq!(items["sample"], true);
    assert!(items["note"].as_str().unwrap().contains("示例"));
    assert!(items["items"].as_array().unwrap().len() >= 15);
    for item in items["items"].as_array().unwrap() {
        for m in item["materials"].as_array().unwrap() {
            assert!(!m["how_to_obtain"].as_str().unwrap().is_empty(), "{m}");
        }
    }
    for (pointer, bad) in [
        ("/sample", json!("yes")),
        ("/published", json!("someday")),
        ("/items/0/materials/0/how_to_obtain", json!(5)),
        ("/items/0/materials/0/necessity", json!("required")),
    ] {
        let mut tampered = items.clone();
        *tampered.pointer_mut(pointer).unwrap() = bad;
        assert!(
            check(&doc, &schema, &tampered).is_err(),
            "{pointer} accepted"
        );
    }
}
