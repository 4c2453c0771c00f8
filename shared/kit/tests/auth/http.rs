//! The login API through a real axum router on a port-0 listener.

use std::net::SocketAddr;

use axum::routing::get;
use axum::{Json, Router};
use bangban_kit::auth::{AuthStore, CurrentOperator, LoginOutcome, Operator, Role, auth_routes};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::*;

/// Serves the auth routes and one protected route; returns the base URL.
async fn spawn_app(store: AuthStore) -> String {
    async fn me(CurrentOperator(op): CurrentOperator) -> Json<Operator> {
        Json(op)
    }
    let app = Router::new()
        .merge(auth_routes())
        .route("/api/v1/me", get(me))
        .with_state(store);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    format!("http://{addr}")
}

/// Asserts a problem+json answer with `status` and `code`, and returns its body.
async fn problem(res: reqwest::Response, status: StatusCode, code: &str) -> Value {
    assert_eq!(res.status(), status);
    assert_eq!(
        res.headers()["content-type"].to_str().unwrap(),
        "application/problem+json"
    );
    let challenge = res
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned());
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["status"], status.as_u16());
    assert!(!body["message_zh"].as_str().unwrap().is_empty());
    assert!(!body["message_en"].as_str().unwrap().is_empty());
    if status == StatusCode::UNAUTHORIZED {
        assert!(
            challenge.as_deref().unwrap_or("").starts_with("Bearer"),
            "a 401 carries WWW-Authenticate: Bearer, got {challenge:?}"
        );
    }
    body
}

pub async fn login_logout_and_bearer_auth_over_http(store: AuthStore) {
    create(&store, "zhangsan", Role::StationOperator).await;
    let base = spawn_app(store.clone()).await;
    let http = reqwest::Client::new();
    let login = format!("{base}/api/v1/login");
    let me = format!("{base}/api/v1/me");

    // Good credentials: 200 with a token.
    let res = http
        .post(&login)
        .json(&json!({"username": "zhangsan", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    let token = body["token"].as_str().unwrap().to_owned();
    assert_eq!(token.len(), 64);
    assert_eq!(body["username"], "zhangsan");
    assert_eq!(body["display_name"], "zhangsan 测试");
    assert_eq!(body["role"], "station_operator");
    let expires = body["expires_at"].as_str().unwrap();
    time::OffsetDateTime::parse(expires, &time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|e| panic!("expires_at {expires} is not RFC 3339: {e}"));

    // The token opens protected routes.
    let res = http.get(&me).bearer_auth(&token).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let who: Value = res.json().await.unwrap();
    assert_eq!(who["username"], "zhangsan");
    assert!(who.get("password_hash").is_none());

    // Bad credentials: 401 problem+json in both languages.
    let res = http
        .post(&login)
        .json(&json!({"username": "zhangsan", "password": "Wrong-password-1"}))
        .send()
        .await
        .unwrap();
    let body = problem(res, StatusCode::UNAUTHORIZED, "auth.invalid_credentials").await;
    assert_eq!(body["message_zh"], "用户名或密码错误");
    assert!(!body.to_string().contains("Wrong-password-1"));

    // No bearer, another scheme, a bad bearer.
    let res = http.get(&me).send().await.unwrap();
    problem(res, StatusCode::UNAUTHORIZED, "auth.missing_token").await;
    let res = http
        .get(&me)
        .basic_auth("zhangsan", Some(PASSWORD))
        .send()
        .await
        .unwrap();
    problem(res, StatusCode::UNAUTHORIZED, "auth.missing_token").await;
    let res = http.get(&me).bearer_auth("f00").send().await.unwrap();
    let body = problem(res, StatusCode::UNAUTHORIZED, "auth.invalid_token").await;
    assert_eq!(body["message_zh"], "登录已失效，请重新登录");

    // Malformed JSON: 400 problem.
    let res = http
        .post(&login)
        .header("content-type", "application/json")
        .body("{\"username\": \"zhangsan\", ")
        .send()
        .await
        .unwrap();
    problem(res, StatusCode::BAD_REQUEST, "request.json_syntax").await;

    // Logout ends the session; a second logout is harmless.
    let logout = format!("{base}/api/v1/logout");
    let res = http.post(&logout).bearer_auth(&token).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = http.post(&logout).bearer_auth(&token).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = http.get(&me).bearer_auth(&token).send().await.unwrap();
    problem(res, StatusCode::UNAUTHORIZED, "auth.invalid_token").await;
    let res = http.post(&logout).send().await.unwrap();
    problem(res, StatusCode::UNAUTHORIZED, "auth.missing_token").await;

    // The audit trail has the client's address from the connection.
    let audit = store.login_attempts(10).await.unwrap();
    assert_eq!(audit.len(), 2);
    assert_eq!(audit[1].outcome, LoginOutcome::Ok);
    assert_eq!(audit[0].outcome, LoginOutcome::WrongPassword);
    assert!(audit.iter().all(|a| a.peer.as_deref() == Some("127.0.0.1")));

    // Failures past the allowance make this address wait: 429 with Retry-After, even for the
    // right password.
    for _ in 0..5 {
        let _ = http
            .post(&login)
            .json(&json!({"username": "zhangsan", "password": "Wrong-password-1"}))
            .send()
            .await
            .unwrap();
    }
    let res = http
        .post(&login)
        .json(&json!({"username": "zhangsan", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    let retry: i64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=15 * 60).contains(&retry), "{retry}");
    let body = problem(res, StatusCode::TOO_MANY_REQUESTS, "auth.throttled").await;
    assert!(body["message_zh"].as_str().unwrap().contains("后重试"));
    assert_eq!(
        store.login_attempts(1).await.unwrap()[0].outcome,
        LoginOutcome::Throttled
    );
}

pub async fn busy_and_throttled_logins_answer_problems_with_retry_after(store: AuthStore) {
    // One hashing thread, no waiting for it, and a hash slow enough for requests to overlap.
    let slow = argon2::Params::new(32 * 1024, 3, 1, None).unwrap();
    let store = AuthStore::with_argon2_params(store.db().clone(), slow)
        .with_hash_limits(1, std::time::Duration::ZERO);
    create(&store, "lisi", Role::Agent).await;
    let base = spawn_app(store.clone()).await;
    let login = format!("{base}/api/v1/login");
    let http = reqwest::Client::new();
    // Make the dummy hash first, so that it is not what the requests queue behind.
    let _ = http
        .post(&login)
        .json(&json!({"username": "lisi", "password": PASSWORD}))
        .send()
        .await
        .unwrap();

    // Each from its own loopback address, so that only the hashing bound can refuse them.
    let requests = (0..8u8).map(|i| {
        let http = reqwest::Client::builder()
            .local_address(std::net::IpAddr::from([127, 0, 0, 10 + i]))
            .build()
            .unwrap();
        let login = login.clone();
        tokio::spawn(async move {
            http.post(&login)
                .json(&json!({"username": "lisi", "password": PASSWORD}))
                .send()
                .await
                .unwrap()
        })
    });
    let mut busy = 0;
    for request in requests.collect::<Vec<_>>() {
        let res = request.await.unwrap();
        if res.status() == StatusCode::SERVICE_UNAVAILABLE {
            assert_eq!(res.headers()["retry-after"], "1");
            problem(res, StatusCode::SERVICE_UNAVAILABLE, "auth.busy").await;
            busy += 1;
        } else {
            assert_eq!(res.status(), StatusCode::OK);
        }
    }
    assert!(
        busy >= 1,
        "no login was refused while the only hashing thread was taken"
    );
}
