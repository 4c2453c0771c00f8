//! The operator API on a village station: login, cases, events, refusals with bilingual
//! problems, masking, the OpenAPI document.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, USER, add_operator, spawn_app_in, write_config};

pub(crate) struct Session {
    pub(crate) app: TestApp,
    _dir: tempfile::TempDir,
    pub(crate) token: String,
    pub(crate) http: reqwest::Client,
}

impl Session {
    pub(crate) async fn start() -> Session {
        let dir = tempfile::tempdir().unwrap();
        write_config(dir.path(), "");
        add_operator(dir.path()).await;
        let app = spawn_app_in(dir.path()).await;
        let http = reqwest::Client::new();
        let res = http
            .post(format!("{}/api/v1/login", app.url))
            .json(&json!({"username": USER, "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let token = res.json::<Value>().await.unwrap()["token"]
            .as_str()
            .unwrap()
            .to_owned();
        Session {
            app,
            _dir: dir,
            token,
            http,
        }
    }

    pub(crate) async fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let url = format!("{}{path}", self.app.url);
        let mut req = match method {
            "GET" => self.http.get(url),
            _ => self.http.post(url),
        }
        .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.unwrap();
        let status = res.status();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    pub(crate) async fn append(&self, id: &str, body: Value) -> (StatusCode, Value) {
        self.call("POST", &format!("/api/v1/cases/{id}/events"), Some(body))
            .await
    }

    pub(crate) async fn open(&self, item: &str) -> Value {
        let (status, body) = self
            .call(
                "POST",
                "/api/v1/cases",
                Some(json!({"kind": "application", "channel": "window", "item_code": item,
                    "applicant": {"type": "person", "name": "张三丰", "id_number": "11010519491231002X", "phone": "13812345678"}})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body
    }
}

#[tokio::test]
async fn an_immediate_item_goes_from_intake_to_completion() {
    let s = Session::start().await;
    let case = s.open("410402-YB-001").await;
    let id = case["case_id"].as_str().unwrap();
    assert_eq!(case["stage"], "received");
    assert_eq!(case["stage_label"], "已受理待预审");
    assert!(
        case["case_no"]
            .as_str()
            .unwrap()
            .starts_with("410402001001-")
    );
    for (kind, payload, stage) in [
        (
            "pre_reviewed",
            json!({"materials": [{"name": "居民身份证", "verdict": "conforming"}]}),
            "reviewed",
        ),
        (
            "assisted_at_window",
            json!({"window": "医保窗口"}),
            "at_window",
        ),
        ("completed", json!({}), "completed"),
    ] {
        let (status, body) = s
            .append(id, json!({"kind": kind, "payload": payload}))
            .await;
        assert_eq!(status, 200, "{kind}: {body}");
        assert_eq!(body["stage"], stage);
    }
    let (status, list) = s.call("GET", "/api/v1/cases?stage=completed", None).await;
    assert_eq!(status, 200);
    assert_eq!(list["cases"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn personal_data_is_masked_in_case_views_and_lists() {
    let s = Session::start().await;
    let case = s.open("410402-SCJG-001").await;
    let (_, list) = s.call("GET", "/api/v1/cases", None).await;
    for text in [case.to_string(), list.to_string()] {
        for secret in ["11010519491231002X", "13812345678", "张三丰"] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
    }
    assert_eq!(case["applicant"], "张**");
}

#[tokio::test]
async fn an_illegal_step_is_refused_naming_state_and_event_and_changes_nothing() {
    let s = Session::start().await;
    let case = s.open("410402-SCJG-001").await;
    let id = case["case_id"].as_str().unwrap();
    let (status, body) = s
        .append(id, json!({"kind": "completed", "payload": {}}))
        .await;
    assert_eq!(status, 422);
    assert_eq!(body["code"], "case.illegal_transition");
    let zh = body["message_zh"].as_str().unwrap();
    assert!(zh.contains("已受理待预审") && zh.contains("办结"), "{zh}");
    let (_, after) = s.call("GET", &format!("/api/v1/cases/{id}"), None).await;
    assert_eq!(after["events"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn retried_event_with_the_same_id_is_stored_once() {
    let s = Session::start().await;
    let case = s.open("410402-SCJG-001").await;
    let id = case["case_id"].as_str().unwrap();
    let event_id = uuid::Uuid::now_v7();
    let body =
        json!({"event_id": event_id, "kind": "commented", "payload": {"text": "已电话联系"}});
    for _ in 0..3 {
        let (status, _) = s.append(id, body.clone()).await;
        assert_eq!(status, 200);
    }
    let (_, after) = s.call("GET", &format!("/api/v1/cases/{id}"), None).await;
    assert_eq!(after["events"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn bad_requests_get_bilingual_problems() {
    let s = Session::start().await;
    // A wrong check digit in the ID number: the identifier's own Chinese message.
    let (status, body) = s
        .call("POST", "/api/v1/cases", Some(json!({"kind": "application", "channel": "window",
            "item_code": "410402-SCJG-001",
            "applicant": {"type": "person", "name": "张三", "id_number": "110105194912310021", "phone": "13812345678"}})))
        .await;
    assert_eq!(status, 422);
    assert!(
        body["message_zh"].as_str().unwrap().contains("身份证"),
        "{body}"
    );
    // An item not in the catalogue, and one a village may not take in.
    let (status, body) = s
        .call("POST", "/api/v1/cases", Some(json!({"kind": "consultation", "channel": "phone", "topic": "咨询", "item_code": "NOPE"})))
        .await;
    assert_eq!(status, 422);
    assert_eq!(body["code"], "item.unknown");
    // Unknown and malformed case ids.
    let (status, _) = s
        .call(
            "GET",
            &format!("/api/v1/cases/{}", uuid::Uuid::now_v7()),
            None,
        )
        .await;
    assert_eq!(status, 404);
    let (status, body) = s.call("GET", "/api/v1/cases/not-a-uuid", None).await;
    assert_eq!(status, 400);
    assert!(!body["message_zh"].as_str().unwrap().is_empty());
    // An unknown event kind.
    let case = s.open("410402-SCJG-001").await;
    let id = case["case_id"].as_str().unwrap();
    let (status, _) = s
        .append(id, json!({"kind": "teleported", "payload": {}}))
        .await;
    assert_eq!(status, 422);
    // Malformed JSON.
    let res = s
        .http
        .post(format!("{}/api/v1/cases", s.app.url))
        .bearer_auth(&s.token)
        .header("content-type", "application/json")
        .body("{\"kind\":")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    // An unknown stage filter.
    let (status, _) = s.call("GET", "/api/v1/cases?stage=flying", None).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn the_api_needs_a_login() {
    let s = Session::start().await;
    let res = s
        .http
        .get(format!("{}/api/v1/cases", s.app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let res = s
        .http
        .get(format!("{}/api/v1/cases", s.app.url))
        .bearer_auth("forged-token")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let res = s
        .http
        .post(format!("{}/api/v1/login", s.app.url))
        .json(&json!({"username": USER, "password": "wrong-password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
}

#[tokio::test]
async fn the_openapi_document_describes_every_operator_route() {
    let s = Session::start().await;
    let res = s
        .http
        .get(format!("{}/api/v1/openapi.json", s.app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let doc: Value = res.json().await.unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    for path in [
        "/api/v1/login",
        "/api/v1/logout",
        "/api/v1/cases",
        "/api/v1/cases/{case_id}",
        "/api/v1/cases/{case_id}/events",
        "/api/v1/items",
        "/healthz",
        "/readyz",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} is documented");
    }
    let (status, items) = s.call("GET", "/api/v1/items", None).await;
    assert_eq!(status, 200);
    assert!(items["items"].as_array().unwrap().iter().all(|i| {
        i["intake_tiers"]
            .as_array()
            .unwrap()
            .contains(&json!("village"))
    }));
}

#[tokio::test]
async fn refused_and_retried_intakes_use_no_case_number() {
    let s = Session::start().await;
    // Refused: an empty applicant name.
    let (status, body) = s
        .call("POST", "/api/v1/cases", Some(json!({"kind": "application", "channel": "window",
            "item_code": "410402-SCJG-001",
            "applicant": {"type": "person", "name": " ", "id_number": "11010519491231002X", "phone": "13812345678"}})))
        .await;
    assert_eq!(status, 422);
    assert_eq!(body["code"], "event.empty_field");
    // Retried with the same client-made case id: one case, one number.
    let case_id = uuid::Uuid::now_v7();
    let request = json!({"kind": "consultation", "channel": "phone", "topic": "食品经营许可需要哪些材料", "case_id": case_id});
    let (first, opened) = s.call("POST", "/api/v1/cases", Some(request.clone())).await;
    assert_eq!(first, StatusCode::CREATED);
    let (again, same) = s.call("POST", "/api/v1/cases", Some(request)).await;
    assert_eq!(again, StatusCode::OK);
    assert_eq!(same["case_no"], opened["case_no"]);
    assert!(
        opened["case_no"].as_str().unwrap().ends_with("-0001"),
        "{opened}"
    );
    let next = s.open("410402-SCJG-001").await;
    assert!(
        next["case_no"].as_str().unwrap().ends_with("-0002"),
        "{next}"
    );
}
