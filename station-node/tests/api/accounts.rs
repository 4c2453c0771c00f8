//! The station administrator's accounts page through a real listener, as a browser without
//! JavaScript uses it: a new account that then logs in, refusals beside the field with nothing
//! saved, disabling that ends the other user's session at once, and the guard rails.

use bangban_kit::auth::Role;
use reqwest::header::{COOKIE, SET_COOKIE};
use reqwest::{Client, Response, StatusCode};
use sqlx::Row;

use crate::helpers::{PASSWORD, TestApp, add_account, load, spawn_app_in, write_config};
use crate::helpers::{browser, location};

pub(crate) const ADMIN: &str = "zhanzhang";

/// The value of the first `name="csrf"` hidden field of a page.
pub(crate) fn csrf_of(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").unwrap() + "name=\"csrf\" value=\"".len();
    html[at..].split('"').next().unwrap().to_owned()
}

/// Logs in through the login form; the session cookie (`bangban_session=…`), or `None` when
/// refused.
pub(crate) async fn web_login(
    http: &Client,
    base: &str,
    user: &str,
    password: &str,
) -> Option<String> {
    let res = http
        .post(format!("{base}/login"))
        .header("sec-fetch-site", "same-origin")
        .form(&[("username", user), ("password", password)])
        .send()
        .await
        .unwrap();
    if res.status() != StatusCode::SEE_OTHER {
        return None;
    }
    res.headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
        .find(|v| v.starts_with("bangban_session="))
}

pub(crate) async fn get(http: &Client, url: String, cookie: &str) -> Response {
    http.get(url).header(COOKIE, cookie).send().await.unwrap()
}

pub(crate) async fn html(http: &Client, url: String, cookie: &str) -> String {
    get(http, url, cookie).await.text().await.unwrap()
}

/// Posts a form the way the page's own form does (same site).
async fn post(http: &Client, url: String, cookie: &str, form: &[(&str, &str)]) -> Response {
    http.post(url)
        .header(COOKIE, cookie)
        .header("sec-fetch-site", "same-origin")
        .form(form)
        .send()
        .await
        .unwrap()
}

/// A number read from the node's database beside the running node (SQLite in WAL mode).
pub(crate) async fn count(dir: &std::path::Path, sql: &str) -> i64 {
    let config = load(&dir.join("station.toml"));
    let db = station_node::open_db(&config).await.unwrap();
    let n = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
        .fetch_one(db.pool())
        .await
        .unwrap()
        .try_get::<i64, _>(0)
        .unwrap();
    db.close().await;
    n
}

struct Station {
    app: TestApp,
    base: String,
    http: Client,
    dir: tempfile::TempDir,
    /// The station administrator's cookie and the CSRF token of its session.
    admin: String,
    csrf: String,
}

/// A station with a station administrator (signed in) and the given other accounts.
async fn station(others: &[(&str, Role)]) -> Station {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), "");
    add_account(dir.path(), ADMIN, Role::StationAdmin).await;
    for (name, role) in others {
        add_account(dir.path(), name, *role).await;
    }
    let app = spawn_app_in(dir.path()).await;
    let base = app.url.clone();
    let http = browser();
    let admin = web_login(&http, &base, ADMIN, PASSWORD).await.unwrap();
    let page = html(&http, format!("{base}/accounts"), &admin).await;
    let csrf = csrf_of(&page);
    Station {
        app,
        base,
        http,
        dir,
        admin,
        csrf,
    }
}

impl Station {
    async fn post(&self, path: &str, form: &[(&str, &str)]) -> Response {
        let mut with_csrf = vec![("csrf", self.csrf.as_str())];
        with_csrf.extend_from_slice(form);
        post(
            &self.http,
            format!("{}{path}", self.base),
            &self.admin,
            &with_csrf,
        )
        .await
    }

    async fn page(&self) -> String {
        html(&self.http, format!("{}/accounts", self.base), &self.admin).await
    }

    async fn accounts(&self) -> i64 {
        count(self.dir.path(), "SELECT COUNT(*) FROM operators").await
    }

    async fn audit_rows(&self) -> i64 {
        count(self.dir.path(), "SELECT COUNT(*) FROM account_audit").await
    }
}

#[tokio::test]
async fn a_station_admin_opens_an_account_that_can_then_log_in() {
    let s = station(&[]).await;
    let page = s.page().await;
    assert!(
        page.contains("账号管理") && page.contains("站点管理员"),
        "{page}"
    );
    assert!(
        page.contains("href=\"/accounts\""),
        "the header links to the page"
    );
    assert!(page.contains(&format!("{ADMIN} （本人）")), "{page}");

    let res = s
        .post(
            "/accounts",
            &[
                ("username", " LiuYang "),
                ("display_name", "刘洋"),
                ("role", "agent"),
                ("password", "Liu-yang-2026"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/accounts?done=created");

    // The new account logs in with its initial password, and the page shows it.
    let cookie = web_login(&s.http, &s.base, "liuyang", "Liu-yang-2026")
        .await
        .expect("the new account logs in");
    let start = html(&s.http, format!("{}/start", s.base), &cookie).await;
    assert!(start.contains("刘洋"), "{start}");
    assert!(
        !start.contains("href=\"/accounts\""),
        "an agent has no accounts link"
    );
    let page = html(
        &s.http,
        format!("{}/accounts?done=created", s.base),
        &s.admin,
    )
    .await;
    assert!(page.contains("已保存"), "{page}");
    let row = page.split("id=\"account-liuyang\"").nth(1).unwrap();
    let row = row.split("</tr>").next().unwrap();
    assert!(row.contains("刘洋") && row.contains("帮办代办员"), "{row}");
    assert!(
        row.contains("启用") && !row.contains("无记录"),
        "last login shown: {row}"
    );
    // The change is at the bottom, in the account audit.
    let audit = page.split("id=\"account-audit\"").nth(1).unwrap();
    assert!(
        audit.contains("开设账号") && audit.contains("liuyang"),
        "{audit}"
    );
    assert!(audit.contains(ADMIN), "{audit}");
    // Only the hash is stored.
    let stored = count(
        s.dir.path(),
        "SELECT COUNT(*) FROM operators WHERE username = 'liuyang' AND password_hash LIKE '$argon2id$%'",
    )
    .await;
    assert_eq!(stored, 1);
    s.app.stop().await;
}

#[tokio::test]
async fn bad_account_forms_are_refused_beside_the_field_and_save_nothing() {
    let s = station(&[("wangfang", Role::StationOperator)]).await;
    let accounts = s.accounts().await;
    let audit = s.audit_rows().await;
    let good = [
        ("username", "liuyang"),
        ("display_name", "刘洋"),
        ("role", "agent"),
        ("password", "Liu-yang-2026"),
    ];
    let with = |key: &str, value: &'static str| {
        good.iter()
            .map(|(k, v)| (*k, if *k == key { value } else { *v }))
            .collect::<Vec<_>>()
    };
    for (form, field, message) in [
        (
            with("username", "wangfang"),
            "username",
            "用户名 wangfang 已被使用",
        ),
        (
            with("username", "刘洋"),
            "username",
            "用户名须为 3–32 个字符",
        ),
        (
            with("password", "short1"),
            "password",
            "密码至少需要 8 个字符",
        ),
        (
            with("password", "1234567890"),
            "password",
            "密码不能全部是数字",
        ),
        (with("password", "liuyang"), "password", "密码至少需要"),
        (with("role", "root"), "role", "请选择一个有效的角色"),
        (
            with("display_name", "  "),
            "display_name",
            "姓名须为 1–64 个字符",
        ),
    ] {
        let res = s.post("/accounts", &form).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{form:?}");
        let page = res.text().await.unwrap();
        let beside = page
            .split(&format!("id=\"{field}-error\""))
            .nth(1)
            .unwrap_or_else(|| panic!("no message beside {field}: {page}"));
        assert!(
            beside.split("</span>").next().unwrap().contains(message),
            "{field}: {beside}"
        );
        // What was typed is kept, never the password.
        assert!(
            !page.contains("Liu-yang-2026"),
            "the password is not sent back"
        );
        if field != "username" {
            assert!(page.contains("value=\"liuyang\""), "{page}");
        }
    }
    // Without the session's token, or from another site: refused before anything.
    let res = post(&s.http, format!("{}/accounts", s.base), &s.admin, &good).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = s
        .http
        .post(format!("{}/accounts", s.base))
        .header(COOKIE, &s.admin)
        .header("sec-fetch-site", "cross-site")
        .form(&[
            ("csrf", s.csrf.as_str()),
            ("username", "liuyang"),
            ("display_name", "刘洋"),
            ("role", "agent"),
            ("password", "Liu-yang-2026"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // Nothing was saved.
    assert_eq!(s.accounts().await, accounts);
    assert_eq!(s.audit_rows().await, audit);
    assert!(
        web_login(&s.http, &s.base, "liuyang", "Liu-yang-2026")
            .await
            .is_none()
    );
    s.app.stop().await;
}

#[tokio::test]
async fn disabling_an_account_ends_its_sessions_at_once() {
    let s = station(&[("wangfang", Role::StationOperator)]).await;
    let theirs = web_login(&s.http, &s.base, "wangfang", PASSWORD)
        .await
        .unwrap();
    let bearer: serde_json::Value = s
        .http
        .post(format!("{}/api/v1/login", s.base))
        .json(&serde_json::json!({"username": "wangfang", "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = bearer["token"].as_str().unwrap().to_owned();
    assert_eq!(
        get(&s.http, format!("{}/start", s.base), &theirs)
            .await
            .status(),
        StatusCode::OK
    );

    let res = s.post("/accounts/wangfang/disable", &[]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    // The browser is sent to the login page, the API token is refused, a new login fails.
    let res = get(&s.http, format!("{}/start", s.base), &theirs).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/login?next=/start&expired=1");
    let res = s
        .http
        .get(format!("{}/api/v1/items", s.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(
        web_login(&s.http, &s.base, "wangfang", PASSWORD)
            .await
            .is_none()
    );
    let page = s.page().await;
    let row = page.split("id=\"account-wangfang\"").nth(1).unwrap();
    assert!(
        row.split("</tr>").next().unwrap().contains("已停用"),
        "{row}"
    );

    // Enabled again; then a new password set by the administrator replaces the old one.
    assert_eq!(
        s.post("/accounts/wangfang/enable", &[]).await.status(),
        StatusCode::SEE_OTHER
    );
    let again = web_login(&s.http, &s.base, "wangfang", PASSWORD)
        .await
        .unwrap();
    let res = s
        .post("/accounts/wangfang/password", &[("password", "1234")])
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = res.text().await.unwrap();
    let row = page.split("id=\"account-wangfang\"").nth(1).unwrap();
    assert!(
        row.contains("<details class=\"manage\" open>"),
        "the row's forms are open"
    );
    assert!(row.contains("密码至少需要 8 个字符"), "{row}");
    let res = s
        .post(
            "/accounts/wangfang/password",
            &[("password", "New-pass-2026")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        get(&s.http, format!("{}/start", s.base), &again)
            .await
            .status(),
        StatusCode::SEE_OTHER,
        "a reset ends the sessions too"
    );
    assert!(
        web_login(&s.http, &s.base, "wangfang", PASSWORD)
            .await
            .is_none()
    );
    assert!(
        web_login(&s.http, &s.base, "wangfang", "New-pass-2026")
            .await
            .is_some()
    );
    // And a new role takes effect on the next request.
    let res = s
        .post("/accounts/wangfang/role", &[("role", "inspector")])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let audit = s.page().await;
    let audit = audit.split("id=\"account-audit\"").nth(1).unwrap();
    for action in [
        "停用账号",
        "启用账号",
        "重置密码",
        "更改角色",
        "站点操作员 → 督查员",
    ] {
        assert!(audit.contains(action), "{action}: {audit}");
    }
    s.app.stop().await;
}

#[tokio::test]
async fn the_guard_rails_refuse_self_changes_and_district_admin_accounts() {
    let s = station(&[
        ("quzhang", Role::DistrictAdmin),
        ("wangfang", Role::StationOperator),
    ])
    .await;
    let accounts_audit = s.audit_rows().await;
    // Not themself.
    let res = s.post(&format!("/accounts/{ADMIN}/disable"), &[]).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("不能停用自己的账号"));
    let res = s
        .post(&format!("/accounts/{ADMIN}/role"), &[("role", "agent")])
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // No district administrator: not offered, not created, not given, not touched.
    let page = s.page().await;
    let create = page.split("id=\"new-account\"").nth(1).unwrap();
    assert!(!create.contains("value=\"district_admin\""), "{create}");
    let row = page.split("id=\"account-quzhang\"").nth(1).unwrap();
    let row = row.split("</tr>").next().unwrap();
    assert!(
        row.contains("区级管理员账号由区级管理员管理") && !row.contains("<form"),
        "{row}"
    );
    let res = s
        .post(
            "/accounts",
            &[
                ("username", "second"),
                ("display_name", "区管"),
                ("role", "district_admin"),
                ("password", "Liu-yang-2026"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = res.text().await.unwrap();
    let beside = page.split("id=\"role-error\"").nth(1).unwrap();
    assert!(beside.contains("站点管理员不能开设"), "{beside}");
    let res = s
        .post("/accounts/wangfang/role", &[("role", "district_admin")])
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    for (path, form) in [
        (
            "/accounts/quzhang/password",
            vec![("password", "Takeover-2026")],
        ),
        ("/accounts/quzhang/disable", vec![]),
        ("/accounts/quzhang/role", vec![("role", "agent")]),
    ] {
        let res = s.post(path, &form).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{path}");
    }
    // An unknown account.
    let res = s.post("/accounts/nobody/disable", &[]).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    // Nothing changed.
    assert_eq!(s.audit_rows().await, accounts_audit);
    assert!(
        web_login(&s.http, &s.base, "quzhang", PASSWORD)
            .await
            .is_some()
    );
    assert!(web_login(&s.http, &s.base, ADMIN, PASSWORD).await.is_some());
    assert_eq!(
        count(
            s.dir.path(),
            "SELECT COUNT(*) FROM operators WHERE role = 'district_admin'"
        )
        .await,
        1
    );
    s.app.stop().await;
}

#[tokio::test]
async fn an_operator_may_not_open_or_post_to_the_accounts_page() {
    let s = station(&[("wangfang", Role::StationOperator)]).await;
    let cookie = web_login(&s.http, &s.base, "wangfang", PASSWORD)
        .await
        .unwrap();
    let start = html(&s.http, format!("{}/start", s.base), &cookie).await;
    assert!(
        !start.contains("href=\"/accounts\""),
        "no link for an operator"
    );
    let csrf = csrf_of(&start);
    let res = get(&s.http, format!("{}/accounts", s.base), &cookie).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = post(
        &s.http,
        format!("{}/accounts", s.base),
        &cookie,
        &[
            ("csrf", csrf.as_str()),
            ("username", "mine"),
            ("display_name", "自建"),
            ("role", "station_admin"),
            ("password", "Liu-yang-2026"),
        ],
    )
    .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = post(
        &s.http,
        format!("{}/accounts/{ADMIN}/disable", s.base),
        &cookie,
        &[("csrf", csrf.as_str())],
    )
    .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        count(
            s.dir.path(),
            "SELECT COUNT(*) FROM operators WHERE username = 'mine'"
        )
        .await,
        0
    );
    assert!(web_login(&s.http, &s.base, ADMIN, PASSWORD).await.is_some());
    s.app.stop().await;
}
