//! Alerts at a running station: a case delegated a month ago is overdue once the node's own
//! `deadline-scan` job has run; the start page lists it with its case linked and an
//! acknowledge button (CSRF-checked, recording who), and the API lists and acknowledges it:
//! 401 without a token, 403 for a role that does not watch alerts, 404 for an unknown alert.

use bangban_domain::event::*;
use bangban_domain::ident::{MobileNumber, ResidentId};
use bangban_domain::station::StationCode;
use reqwest::StatusCode;
use reqwest::header::{COOKIE, SET_COOKIE};
use serde_json::{Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::helpers::{
    PASSWORD, USER, add_account, add_operator, browser, csrf_of, load, location, spawn_app_in,
    write_config,
};

const VILLAGE: &str = "410402001001";

/// A case of this village taken in, reviewed and delegated 30 days ago (5 promised working
/// days): overdue today. Returns its id and number.
async fn overdue_case(store: &bangban_kit::store::CaseStore) -> (CaseId, CaseNumber) {
    let village = StationCode::parse(VILLAGE).unwrap();
    let at = OffsetDateTime::now_utc() - time::Duration::days(30);
    let case_id = CaseId::from_uuid(Uuid::now_v7());
    let case_no = CaseNumber::new(village, bangban_domain::calendar::local_date(at), 1).unwrap();
    let event = |minutes: i64, body: EventBody| Event {
        event_id: EventId::from_uuid(Uuid::now_v7()),
        case_id,
        author: village,
        actor: Some(USER.into()),
        occurred_at: at + time::Duration::minutes(minutes),
        body,
    };
    for ev in [
        event(
            0,
            EventBody::ApplicationReceived(Application {
                policy_bundle: None,
                case_no,
                channel: Channel::Window,
                item: ItemRef {
                    code: "410402-JY-001".into(),
                    name: "食品经营许可".into(),
                    case_type: CaseType::Promised,
                    promised_days: 5,
                },
                applicant: Applicant::Person {
                    name: "张三".into(),
                    id_number: ResidentId::parse("11010519491231002X").unwrap(),
                    phone: MobileNumber::parse("13812345678").unwrap(),
                },
            }),
        ),
        event(
            10,
            EventBody::PreReviewed(PreReview {
                materials: vec![MaterialVerdict {
                    name: "营业执照".into(),
                    verdict: Verdict::Conforming,
                    remark: None,
                }],
            }),
        ),
        event(
            20,
            EventBody::DelegationSigned(Delegation {
                agreement_no: "WT-0001".into(),
                agent_name: "李四".into(),
                delivery: Delivery::HallPickup,
            }),
        ),
    ] {
        store.append(&ev, OffsetDateTime::now_utc()).await.unwrap();
    }
    (case_id, case_no)
}

async fn api_token(http: &reqwest::Client, base: &str, username: &str) -> String {
    let login: Value = http
        .post(format!("{base}/api/v1/login"))
        .json(&json!({"username": username, "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    login["token"].as_str().unwrap().to_owned()
}

async fn web_cookie(http: &reqwest::Client, base: &str, username: &str) -> String {
    let res = http
        .post(format!("{base}/login"))
        .header("sec-fetch-site", "same-origin")
        .form(&[("username", username), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    res.headers()[SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn an_overdue_case_is_listed_and_acknowledged_by_those_who_watch_alerts() {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), "");
    add_operator(dir.path()).await;
    add_account(
        dir.path(),
        "zhanzhang",
        bangban_kit::auth::Role::StationAdmin,
    )
    .await;
    // The case, then the node's own job, as `station-node job run deadline-scan` runs it.
    let config = load(&dir.path().join("station.toml"));
    let db = station_node::open_db(&config).await.unwrap();
    let (case_id, case_no) = overdue_case(&station_node::case_store(&config, db.clone())).await;
    let status = station_node::jobs(&config, db.clone())
        .unwrap()
        .run_now("deadline-scan")
        .await
        .unwrap();
    assert_eq!(
        status.last_detail.as_deref(),
        Some("0 near-due, 1 overdue; 1 raised, 0 cleared"),
        "{status:?}"
    );
    db.close().await;

    let app = spawn_app_in(dir.path()).await;
    let base = app.url.clone();
    let http = browser();

    // The operator's start page: the alert, its case linked, an acknowledge button.
    let cookie = web_cookie(&http, &base, USER).await;
    let page = http
        .get(format!("{base}/start"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("id=\"alerts\""), "{page}");
    assert!(page.contains("已超期"), "{page}");
    assert!(
        page.contains(&format!(
            "<a href=\"/cases/{case_id}\" class=\"mono\">{case_no}</a>"
        )),
        "{page}"
    );
    let start = page.find("action=\"/alerts/").unwrap() + "action=\"/alerts/".len();
    let alert_id = page[start..].split('/').next().unwrap().to_owned();
    let csrf = csrf_of(&page[page.find("id=\"alerts\"").unwrap()..]);
    // Without the session's CSRF token nothing is recorded.
    let forged = http
        .post(format!("{base}/alerts/{alert_id}/ack"))
        .header(COOKIE, &cookie)
        .header("sec-fetch-site", "same-origin")
        .form(&[("csrf", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let unknown = http
        .post(format!("{base}/alerts/{}/ack", Uuid::now_v7()))
        .header(COOKIE, &cookie)
        .header("sec-fetch-site", "same-origin")
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    let acked = http
        .post(format!("{base}/alerts/{alert_id}/ack"))
        .header(COOKIE, &cookie)
        .header("sec-fetch-site", "same-origin")
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(acked.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&acked), "/start#alerts");
    let page = http
        .get(format!("{base}/start"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains(&format!("已确认：{USER} ")), "{page}");
    assert!(!page.contains("action=\"/alerts/"), "{page}");

    // The station administrator handles no case: no alerts on its start page.
    let admin_cookie = web_cookie(&http, &base, "zhanzhang").await;
    let page = http
        .get(format!("{base}/start"))
        .header(COOKIE, &admin_cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("您好"), "{page}");
    assert!(!page.contains("id=\"alerts\""), "{page}");

    // The API: 401 without a token, 403 for the administrator.
    let list = format!("{base}/api/v1/alerts");
    let ack = format!("{base}/api/v1/alerts/{alert_id}/ack");
    let res = http.get(&list).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    assert_eq!(
        http.post(&ack).send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    let admin = api_token(&http, &base, "zhanzhang").await;
    for req in [http.get(&list), http.post(&ack)] {
        let res = req.bearer_auth(&admin).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
    }

    // The operator lists it, acknowledged by the web page, and acknowledging again is fine.
    let operator = api_token(&http, &base, USER).await;
    let listed: Value = http
        .get(&list)
        .bearer_auth(&operator)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let alerts = listed["alerts"].as_array().unwrap();
    assert_eq!(alerts.len(), 1, "{listed}");
    let alert = &alerts[0];
    assert_eq!(alert["id"], alert_id.as_str());
    assert_eq!(alert["kind"], "overdue");
    assert_eq!(alert["case_no"], case_no.to_string());
    assert_eq!(alert["case_id"], case_id.to_string());
    assert_eq!(alert["centre"], VILLAGE);
    assert_eq!(alert["acked_by"], USER);
    let again = http.post(&ack).bearer_auth(&operator).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::OK);
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["acked_by"], USER);
    assert_eq!(again["acked_at_ms"], alert["acked_at_ms"]);

    // Unknown and malformed alert ids, and a bad limit.
    let res = http
        .post(format!("{base}/api/v1/alerts/{}/ack", Uuid::now_v7()))
        .bearer_auth(&operator)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let problem: Value = res.json().await.unwrap();
    assert_eq!(problem["code"], "not_found");
    assert!(problem["message_zh"].as_str().unwrap().contains("预警"));
    let res = http
        .post(format!("{base}/api/v1/alerts/not-an-id/ack"))
        .bearer_auth(&operator)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let res = http
        .get(format!("{list}?limit=5000"))
        .bearer_auth(&operator)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    app.stop().await;
}
