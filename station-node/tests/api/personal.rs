//! Full personal data through a real listener: shown only to the roles that serve the applicant,
//! each view recorded before the page is sent, never cached; the trail read by those who
//! supervise.

use bangban_kit::auth::Role;
use reqwest::StatusCode;
use reqwest::header::CACHE_CONTROL;
use serde_json::{Value, json};

use crate::accounts::{count, get, html, web_login};
use crate::helpers::browser;
use crate::helpers::{PASSWORD, add_account, spawn_app_in, write_config};

const ID_NUMBER: &str = "11010519491231002X";
const PHONE: &str = "13812345678";
const ADDRESS: &str = "平顶山市新华区曙光街道幸福路88号";

fn views_sql() -> &'static str {
    "SELECT COUNT(*) FROM personal_data_views"
}

/// Opens an application with a courier delivery through the API, as `operator`; its id and
/// number.
async fn open_case(http: &reqwest::Client, base: &str, operator: &str) -> (String, String) {
    let login: Value = http
        .post(format!("{base}/api/v1/login"))
        .json(&json!({"username": operator, "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["token"].as_str().unwrap();
    let case: Value = http
        .post(format!("{base}/api/v1/cases"))
        .bearer_auth(token)
        .json(&json!({"kind": "application", "channel": "window", "item_code": "410402-SCJG-001",
            "applicant": {"type": "person", "name": "张三丰", "id_number": ID_NUMBER, "phone": PHONE}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = case["case_id"].as_str().unwrap().to_owned();
    for (kind, payload) in [
        (
            "pre_reviewed",
            json!({"materials": [{"name": "营业执照", "verdict": "conforming"}]}),
        ),
        (
            "delegation_signed",
            json!({"agreement_no": "WT-0001", "agent_name": "李四", "delivery":
                {"method": "courier", "recipient": "李小红", "address": ADDRESS, "phone": "13912341111"}}),
        ),
    ] {
        let res = http
            .post(format!("{base}/api/v1/cases/{id}/events"))
            .bearer_auth(token)
            .json(&json!({"kind": kind, "payload": payload}))
            .send()
            .await
            .unwrap();
        assert_eq!(
            res.status(),
            StatusCode::OK,
            "{kind}: {}",
            res.text().await.unwrap()
        );
    }
    (id, case["case_no"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn full_personal_data_is_shown_only_to_those_who_serve_the_applicant_and_each_view_is_recorded()
 {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), "");
    for role in Role::ALL {
        add_account(dir.path(), &role.as_str().replace('_', "-"), role).await;
    }
    let app = spawn_app_in(dir.path()).await;
    let base = app.url.clone();
    let http = browser();
    let (case_id, case_no) = open_case(&http, &base, "station-operator").await;
    let personal = format!("{base}/cases/{case_id}/personal");

    for role in Role::ALL {
        let user = role.as_str().replace('_', "-");
        let cookie = web_login(&http, &base, &user, PASSWORD).await.unwrap();
        // The case page stays masked for everybody; the link is there for those who may follow it.
        let case_page = html(&http, format!("{base}/cases/{case_id}"), &cookie).await;
        assert!(
            !case_page.contains(ID_NUMBER) && case_page.contains("张**"),
            "{role}"
        );
        let may = matches!(role, Role::StationOperator | Role::Agent);
        assert_eq!(case_page.contains("id=\"personal-link\""), may, "{role}");

        let before = count(dir.path(), views_sql()).await;
        let res = get(&http, personal.clone(), &cookie).await;
        if may {
            assert_eq!(res.status(), StatusCode::OK, "{role}");
            assert_eq!(res.headers()[CACHE_CONTROL], "no-store");
            let page = res.text().await.unwrap();
            for full in [
                ID_NUMBER,
                PHONE,
                "张三丰",
                ADDRESS,
                "李小红",
                "13912341111",
                &case_no,
            ] {
                assert!(page.contains(full), "{role} sees {full}: {page}");
            }
            assert!(page.contains("您的此次查看已记录"), "{page}");
            assert_eq!(count(dir.path(), views_sql()).await, before + 1, "{role}");
        } else {
            assert_eq!(res.status(), StatusCode::FORBIDDEN, "{role}");
            assert!(!res.text().await.unwrap().contains(ID_NUMBER));
            assert_eq!(count(dir.path(), views_sql()).await, before, "{role}");
        }
    }
    // Exactly one row per view, naming who, which case and its number.
    let operator = web_login(&http, &base, "station-operator", PASSWORD)
        .await
        .unwrap();
    let before = count(dir.path(), views_sql()).await;
    for _ in 0..3 {
        assert_eq!(
            get(&http, personal.clone(), &operator).await.status(),
            StatusCode::OK
        );
    }
    assert_eq!(count(dir.path(), views_sql()).await, before + 3);
    let mine = count(
        dir.path(),
        &format!(
            "SELECT COUNT(*) FROM personal_data_views WHERE operator = 'station-operator' \
             AND case_id = '{case_id}' AND case_no = '{case_no}'"
        ),
    )
    .await;
    assert_eq!(mine, 4);
    // An unknown or malformed case shows nothing and records nothing.
    let total = count(dir.path(), views_sql()).await;
    let unknown = "0190a0e4-0000-7000-8000-000000000000";
    for path in [
        format!("/cases/{unknown}/personal"),
        "/cases/nonsense/personal".into(),
    ] {
        let res = get(&http, format!("{base}{path}"), &operator).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{path}");
    }
    assert_eq!(count(dir.path(), views_sql()).await, total);
    app.stop().await;
}

#[tokio::test]
async fn the_inspector_reads_the_trail_newest_first_and_filters_it() {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), "");
    for (name, role) in [
        ("wangfang", Role::StationOperator),
        ("lisi", Role::Agent),
        ("ducha", Role::Inspector),
        ("zhanzhang", Role::StationAdmin),
    ] {
        add_account(dir.path(), name, role).await;
    }
    let app = spawn_app_in(dir.path()).await;
    let base = app.url.clone();
    let http = browser();
    let (first, first_no) = open_case(&http, &base, "wangfang").await;
    let (second, second_no) = open_case(&http, &base, "wangfang").await;
    let wang = web_login(&http, &base, "wangfang", PASSWORD).await.unwrap();
    let li = web_login(&http, &base, "lisi", PASSWORD).await.unwrap();
    for (cookie, case) in [(&wang, &first), (&li, &second), (&li, &first)] {
        let res = get(&http, format!("{base}/cases/{case}/personal"), cookie).await;
        assert_eq!(res.status(), StatusCode::OK);
    }

    let inspector = web_login(&http, &base, "ducha", PASSWORD).await.unwrap();
    let start = html(&http, format!("{base}/start"), &inspector).await;
    assert!(
        start.contains("href=\"/audit/personal-data\""),
        "the header links to the trail"
    );
    let trail = html(&http, format!("{base}/audit/personal-data"), &inspector).await;
    let rows: Vec<&str> = trail
        .split("id=\"views\"")
        .nth(1)
        .unwrap()
        .split("<tr>")
        .skip(2)
        .collect();
    assert_eq!(rows.len(), 3, "{trail}");
    // Newest first: lisi on the first case, lisi on the second, wangfang on the first.
    assert!(
        rows[0].contains("lisi") && rows[0].contains(&first_no),
        "{}",
        rows[0]
    );
    assert!(
        rows[1].contains("lisi") && rows[1].contains(&second_no),
        "{}",
        rows[1]
    );
    assert!(
        rows[2].contains("wangfang") && rows[2].contains(&first_no),
        "{}",
        rows[2]
    );
    assert!(
        !trail.contains(ID_NUMBER) && !trail.contains(PHONE),
        "the trail shows no data"
    );

    let by_wang = html(
        &http,
        format!("{base}/audit/personal-data?operator=WangFang"),
        &inspector,
    )
    .await;
    assert_eq!(
        by_wang.matches("<td><a href=\"/cases/").count(),
        1,
        "{by_wang}"
    );
    let of_second = html(
        &http,
        format!("{base}/audit/personal-data?case_no={second_no}"),
        &inspector,
    )
    .await;
    assert_eq!(
        of_second.matches("<td><a href=\"/cases/").count(),
        1,
        "{of_second}"
    );
    // A bad filter is said and ignored, never a 500.
    let res = get(
        &http,
        format!("{base}/audit/personal-data?case_no=%25&operator=x"),
        &inspector,
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let page = res.text().await.unwrap();
    assert!(page.contains("查询条件格式不正确"), "{page}");

    // The station administrator reads it too; those who read the data do not read the trail.
    let admin = web_login(&http, &base, "zhanzhang", PASSWORD)
        .await
        .unwrap();
    assert_eq!(
        get(&http, format!("{base}/audit/personal-data"), &admin)
            .await
            .status(),
        StatusCode::OK
    );
    for cookie in [&wang, &li] {
        assert_eq!(
            get(&http, format!("{base}/audit/personal-data"), cookie)
                .await
                .status(),
            StatusCode::FORBIDDEN
        );
    }
    app.stop().await;
}
