//! The tier and registry pages through the real district node (SQLite and PostgreSQL): a
//! district administrator adds a centre, files two agents and the warning goes; one leaves and
//! it comes back. A station operator is refused every page and route of it.

use std::path::Path;

use bangban_kit::auth::Role;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

use super::registry::resident_id;

const PASSWORD: &str = "district-admin-2026";
const WARNING: &str = "在岗帮办代办员不足2名";

fn write_config(dir: &Path, database_url: &str) -> std::path::PathBuf {
    let deploy = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy");
    let file = dir.join("district.toml");
    std::fs::write(
        &file,
        format!(
            "[node]\ncode = \"410402000000\"\nname = \"新华区政务服务中心\"\n\
             [database]\nurl = \"{database_url}\"\n\
             [policy]\ntopology = \"{}\"\n",
            deploy.join("topology/xinhua.json").display()
        ),
    )
    .unwrap();
    file
}

fn browser() -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn hidden(html: &str, name: &str) -> String {
    let needle = format!("name=\"{name}\" value=\"");
    let at = html.find(&needle).unwrap() + needle.len();
    html[at..].split('"').next().unwrap().to_owned()
}

async fn web_login(http: &Client, base: &str, user: &str) -> String {
    let res = http
        .post(format!("{base}/login"))
        .header("sec-fetch-site", "same-origin")
        .form(&[("username", user), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{user} logs in");
    res.headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
        .find(|v| v.starts_with("bangban_session="))
        .unwrap()
}

async fn page(http: &Client, url: String, cookie: &str) -> (StatusCode, String) {
    let res = http.get(url).header(COOKIE, cookie).send().await.unwrap();
    (res.status(), res.text().await.unwrap())
}

async fn post(
    http: &Client,
    url: String,
    cookie: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    http.post(url)
        .header(COOKIE, cookie)
        .header("sec-fetch-site", "same-origin")
        .form(form)
        .send()
        .await
        .unwrap()
}

fn location(res: &reqwest::Response) -> String {
    res.headers()[LOCATION].to_str().unwrap().to_owned()
}

/// Runs the flow against a node on `database_url`.
async fn flow(database_url: &str) {
    let dir = tempfile::tempdir().unwrap();
    let file = write_config(dir.path(), database_url);
    let r = super::web::serve_config(
        &file,
        &[
            ("admin", Role::DistrictAdmin),
            ("clerk", Role::StationOperator),
        ],
    )
    .await;
    let (base, tx, task) = (r.base, r.stop, r.task);
    let http = browser();
    let admin = web_login(&http, &base, "admin").await;

    // Add a community under 曙光街街道: the tree page shows it with the warning.
    let (status, html) = page(&http, format!("{base}/policy/tiers"), &admin).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("曙光街街道"), "the tree is listed");
    let (csrf, revision) = (hidden(&html, "csrf"), hidden(&html, "revision"));
    let res = post(
        &http,
        format!("{base}/policy/tiers"),
        &admin,
        &[
            ("csrf", &csrf),
            ("revision", &revision),
            ("parent", "410402001000"),
            ("code", ""),
            ("name", "测试新社区"),
            ("kind", "community"),
            ("address", "曙光街 8 号"),
            ("contact", "0375-7654321"),
            ("valid_from", ""),
        ],
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let to = location(&res);
    let code = to.rsplit("#c-").next().unwrap().to_owned();
    assert!(code.starts_with("410402001") && code.len() == 12, "{to}");
    let (_, html) = page(&http, format!("{base}/policy/tiers/{code}"), &admin).await;
    assert!(html.contains("测试新社区") && html.contains("曙光街 8 号"));
    assert!(html.contains(WARNING), "no agents yet: the warning shows");

    // Rename through the edit form; a form read before someone else's change is refused.
    let (csrf, current) = (hidden(&html, "csrf"), hidden(&html, "revision"));
    let stale = (current.parse::<i64>().unwrap() - 1).to_string();
    let rename = |revision: String| {
        vec![
            ("csrf", csrf.clone()),
            ("revision", revision),
            ("name", "测试新社区（更名）".to_owned()),
            ("kind", "community".to_owned()),
            ("address", "曙光街 9 号".to_owned()),
            ("contact", String::new()),
        ]
    };
    let form = rename(stale);
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let res = post(&http, format!("{base}/policy/tiers/{code}"), &admin, &form).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        res.text().await.unwrap().contains("请刷新页面后重新操作"),
        "a conflict is explained"
    );
    let form = rename(current);
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let res = post(&http, format!("{base}/policy/tiers/{code}"), &admin, &form).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, html) = page(&http, format!("{base}/policy/tiers/{code}"), &admin).await;
    assert!(html.contains("测试新社区（更名）") && html.contains("曙光街 9 号"));
    let (_, audit) = page(
        &http,
        format!("{base}/policy/audit?section=topology"),
        &admin,
    )
    .await;
    assert!(audit.contains("tier.update") && audit.contains("测试新社区 → 测试新社区（更名）"));

    // A refused move (under a village): 422, the message beside the field, nothing saved.
    let csrf = hidden(&html, "csrf");
    let res = post(
        &http,
        format!("{base}/policy/tiers/{code}/move"),
        &admin,
        &[
            ("csrf", &csrf),
            ("parent", "410402001001"),
            ("new_code", ""),
            ("date", ""),
        ],
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("id=\"move-parent-error\""),
        "beside the field"
    );
    assert!(html.contains("不能调整到村（社区）之下"));

    // A resident ID that fails its check digit is refused as at intake.
    let (_, html) = page(&http, format!("{base}/policy/agents?centre={code}"), &admin).await;
    let csrf = hidden(&html, "csrf");
    let good = resident_id(7);
    let bad = format!(
        "{}{}",
        &good[..17],
        if good.ends_with('1') { '2' } else { '1' }
    );
    let agent = |name: &'static str, id: String, badge: &'static str| {
        vec![
            ("csrf", csrf.clone()),
            ("name", name.to_owned()),
            ("id_number", id),
            ("phone", "13912345678".to_owned()),
            ("centre", code.clone()),
            ("role", "assisting_agent".to_owned()),
            ("badge_no", badge.to_owned()),
            ("filed_on", "2026-03-01".to_owned()),
        ]
    };
    let send = |form: Vec<(&'static str, String)>| {
        let (http, url, admin) = (http.clone(), format!("{base}/policy/agents"), admin.clone());
        async move {
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            post(&http, url, &admin, &form).await
        }
    };
    let res = send(agent("王芳", bad.clone(), "T-001")).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(html.contains("id=\"id_number-error\""), "beside the field");
    assert!(html.contains("aria-invalid=\"true\" aria-describedby=\"id_number-error\""));
    assert!(!html.contains(&bad), "a typed ID is not echoed back");
    assert!(html.contains("value=\"T-001\""), "what was typed is kept");

    // Two agents: the warning goes.
    let mut ids = Vec::new();
    for (name, n, badge) in [("王芳", 7, "T-001"), ("李娜", 8, "T-002")] {
        let res = send(agent(name, resident_id(n), badge)).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{name}");
        let to = location(&res);
        assert!(to.starts_with("/policy/agents/"), "{to}");
        ids.push(
            to.trim_start_matches("/policy/agents/")
                .split('?')
                .next()
                .unwrap()
                .to_owned(),
        );
    }
    let (_, html) = page(&http, format!("{base}/policy/tiers/{code}"), &admin).await;
    assert!(!html.contains(WARNING), "two active agents: no warning");
    // The list shows the ID and phone masked only.
    let (_, html) = page(&http, format!("{base}/policy/agents?centre={code}"), &admin).await;
    assert!(html.contains("王芳") && html.contains("李娜"));
    assert!(
        !html.contains(&resident_id(7)) && !html.contains("13912345678"),
        "masked"
    );
    assert!(html.contains("139****5678"));

    // A training record through the agent's page; hours out of range are refused beside them.
    let (_, html) = page(&http, format!("{base}/policy/agents/{}", ids[1]), &admin).await;
    let csrf = hidden(&html, "csrf");
    let url = format!("{base}/policy/agents/{}/training", ids[1]);
    let training = |hours: &'static str| {
        [
            ("csrf", csrf.clone()),
            ("date", "2026-03-10".to_owned()),
            ("course", "帮办代办服务规范".to_owned()),
            ("hours", hours.to_owned()),
        ]
    };
    let form = training("500");
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let res = post(&http, url.clone(), &admin, &form).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("id=\"hours-error\""));
    let form = training("1.5");
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let res = post(&http, url, &admin, &form).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, html) = page(&http, format!("{base}/policy/agents/{}", ids[1]), &admin).await;
    assert!(html.contains("帮办代办服务规范") && html.contains(">1.5<"));

    // One leaves: the warning comes back.
    let (_, html) = page(&http, format!("{base}/policy/agents/{}", ids[0]), &admin).await;
    let csrf = hidden(&html, "csrf");
    assert!(
        !html.contains(&resident_id(7)),
        "the agent's page shows the ID masked"
    );
    let res = post(
        &http,
        format!("{base}/policy/agents/{}/status", ids[0]),
        &admin,
        &[
            ("csrf", &csrf),
            ("status", "left"),
            ("status_on", ""),
            ("reason", "调离"),
        ],
    )
    .await;
    assert_eq!(
        res.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "a blank date is refused"
    );
    let today = bangban_domain::calendar::local_date(time::OffsetDateTime::now_utc()).to_string();
    let res = post(
        &http,
        format!("{base}/policy/agents/{}/status", ids[0]),
        &admin,
        &[
            ("csrf", &csrf),
            ("status", "left"),
            ("status_on", &today),
            ("reason", "调离"),
        ],
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, html) = page(&http, format!("{base}/policy/tiers/{code}"), &admin).await;
    assert!(
        html.contains(WARNING),
        "one active agent: the warning is back"
    );
    let (_, html) = page(&http, format!("{base}/policy/audit?section=agents"), &admin).await;
    assert!(html.contains("agent.status") && html.contains("T-001"));

    // The JSON API: masked list, a refusal as problem+json naming the field.
    let token = |user: &'static str| {
        let (http, base) = (http.clone(), base.clone());
        async move {
            let login: Value = http
                .post(format!("{base}/api/v1/login"))
                .json(&json!({"username": user, "password": PASSWORD}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            login["token"].as_str().unwrap().to_owned()
        }
    };
    let admin_token = token("admin").await;
    let agents: Value = http
        .get(format!("{base}/api/v1/policy/agents"))
        .bearer_auth(&admin_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(agents.as_array().unwrap().len(), 2);
    assert!(
        !agents.to_string().contains(&resident_id(8)),
        "masked: {agents}"
    );
    let res = http
        .post(format!("{base}/api/v1/policy/tiers/{code}/move"))
        .bearer_auth(&admin_token)
        .json(&json!({"parent": code}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let problem: Value = res.json().await.unwrap();
    assert_eq!(problem["field"], "parent");
    assert_eq!(problem["code"], "tier.cycle");
    assert!(problem["message_zh"].as_str().unwrap().contains("不能调整"));
    let tiers: Value = http
        .get(format!("{base}/api/v1/policy/tiers"))
        .bearer_auth(&admin_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let centre = tiers["centres"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == code.as_str())
        .unwrap();
    assert_eq!(
        (
            centre["active_agents"].as_u64(),
            centre["understaffed"].as_bool()
        ),
        (Some(1), Some(true))
    );

    // The routes are documented in the node's OpenAPI document.
    let doc: Value = http
        .get(format!("{base}/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for path in [
        "/api/v1/policy/tiers",
        "/api/v1/policy/tiers/{code}/move",
        "/api/v1/policy/agents",
    ] {
        assert!(
            doc["paths"][path]["post"]["responses"]["422"].is_object(),
            "{path}"
        );
    }

    // A station operator: every page and route refused.
    let clerk = web_login(&http, &base, "clerk").await;
    for path in [
        "/policy/tiers",
        "/policy/agents",
        &format!("/policy/tiers/{code}"),
    ] {
        let (status, _) = page(&http, format!("{base}{path}"), &clerk).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
    }
    let res = post(
        &http,
        format!("{base}/policy/agents"),
        &clerk,
        &[("name", "x")],
    )
    .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let clerk_token = token("clerk").await;
    for path in ["/api/v1/policy/agents", "/api/v1/policy/tiers"] {
        let res = http
            .get(format!("{base}{path}"))
            .bearer_auth(&clerk_token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{path}");
    }

    tx.send(()).unwrap();
    task.await.unwrap().unwrap();
}

#[tokio::test]
async fn an_admin_adds_a_centre_and_its_agents_and_the_warning_follows_on_sqlite() {
    flow("sqlite://district.sqlite").await;
}

#[tokio::test]
async fn an_admin_adds_a_centre_and_its_agents_and_the_warning_follows_on_postgres() {
    let admin = std::env::var("PG_TEST_URL").expect("PG_TEST_URL is not set");
    let name = format!("bangban_district_{}", uuid::Uuid::now_v7().simple());
    let admin_db = bangban_kit::db::Db::connect(&admin).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(admin_db.pool())
        .await
        .unwrap();
    let mut url = url::Url::parse(&admin).unwrap();
    url.set_path(&format!("/{name}"));
    flow(url.as_str()).await;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE {name} WITH (FORCE)"
    )))
    .execute(admin_db.pool())
    .await
    .unwrap();
}
