use crate::helpers::{TestApp, spawn_app_in};

async fn spawn_app() -> (TestApp, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    (spawn_app_in(dir.path()).await, dir)
}

#[tokio::test]
async fn healthz_answers_ok() {
    let (app, _dir) = spawn_app().await;
    let res = reqwest::get(format!("{}/healthz", app.url)).await.unwrap();
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    app.stop().await;
}

#[tokio::test]
async fn readyz_reports_the_database_and_the_file_exists() {
    let (app, dir) = spawn_app().await;
    let res = reqwest::get(format!("{}/readyz", app.url)).await.unwrap();
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["ready"], true);
    let db = body["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "database")
        .unwrap();
    assert_eq!(db["ok"], true);
    assert!(dir.path().join("station.sqlite").is_file());
    app.stop().await;
}

#[tokio::test]
async fn unknown_route_is_a_bilingual_problem() {
    let (app, _dir) = spawn_app().await;
    let res = reqwest::get(format!("{}/no/such/page", app.url))
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(
        res.headers()["content-type"].to_str().unwrap(),
        "application/problem+json"
    );
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["status"], 404);
    assert!(!body["message_zh"].as_str().unwrap().is_empty());
    assert!(!body["message_en"].as_str().unwrap().is_empty());
    app.stop().await;
}

#[tokio::test]
async fn shuts_down_gracefully_and_restarts_on_the_same_file() {
    let (app, dir) = spawn_app().await;
    app.stop().await;
    let app = spawn_app_in(dir.path()).await;
    let res = reqwest::get(format!("{}/readyz", app.url)).await.unwrap();
    assert_eq!(res.status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn metrics_are_prometheus_text_without_personal_data() {
    let (app, _dir) = spawn_app().await;
    let res = reqwest::get(format!("{}/metrics", app.url)).await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = res.text().await.unwrap();
    assert!(
        text.contains("bangban_events{station=\"410402001001\"} 0"),
        "{text}"
    );
    assert!(text.contains("# TYPE bangban_outbox gauge"), "{text}");
    app.stop().await;
}
