//! The working calendar as the district authors it: a year added, replaced and removed through
//! the drafts on SQLite and PostgreSQL with one audit line each; and the pages and the JSON API
//! through the real node, as a district administrator's browser without JavaScript uses them.

use std::path::Path;

use bangban_domain::calendar::notice::parse_year;
use bangban_kit::auth::Role;
use district_node::calendar::{YearRefusal, change_year};
use district_node::drafts::{DraftError, Drafts};
use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use serde_json::{Value, json};

const PASSWORD: &str = "district-admin-2026";
const SPRING_2027: &str = "春节 2月5日至13日 1月31日、2月20日上班";

#[tokio::test]
async fn a_year_is_added_replaced_and_removed_with_its_audit_on_both_backends() {
    let backends = super::Backends::new().await;
    for db in backends.dbs.clone() {
        let backend = db.backend();
        let drafts = Drafts::new(db);
        drafts.seed(&super::drafts::files()).await.unwrap();
        let y2027 = parse_year("2027", "", SPRING_2027).unwrap();
        let rev = change_year(&drafts, "admin", None, 2027, Some(y2027.clone()), false)
            .await
            .unwrap();
        let draft = drafts.calendar().await.unwrap();
        assert_eq!(draft.revision, rev);
        assert_eq!(
            draft.doc.covered_years().collect::<Vec<_>>(),
            vec![2026, 2027],
            "{backend:?}"
        );
        assert!(
            draft
                .doc
                .is_working_day(time::macros::date!(2027 - 02 - 20))
        );
        assert!(
            !draft
                .doc
                .is_working_day(time::macros::date!(2027 - 02 - 08))
        );
        // Adding it again is refused; nothing changes.
        let again = change_year(&drafts, "admin", None, 2027, Some(y2027), false).await;
        assert!(matches!(again, Err(YearRefusal::Exists(2027))), "{again:?}");
        // A stale revision is refused; nothing changes.
        let stale = parse_year("2027", "", "春节 2月5日至12日").unwrap();
        let conflict = change_year(&drafts, "other", Some(rev - 1), 2027, Some(stale), true).await;
        assert!(
            matches!(
                conflict,
                Err(YearRefusal::Draft(DraftError::Conflict { .. }))
            ),
            "{conflict:?}"
        );
        assert_eq!(drafts.calendar().await.unwrap().revision, rev);
        // Replaced, then removed: one audit line each, the subject the year, before and after
        // that year's days only.
        let replaced = parse_year("2027", "", "春节 2月5日至12日").unwrap();
        change_year(&drafts, "admin", Some(rev), 2027, Some(replaced), true)
            .await
            .unwrap();
        change_year(&drafts, "admin", None, 2027, None, false)
            .await
            .unwrap();
        let missing = change_year(&drafts, "admin", None, 2027, None, false).await;
        assert!(matches!(missing, Err(YearRefusal::Missing(2027))));
        let audit = drafts.audit(Some("calendar"), 10).await.unwrap();
        let lines: Vec<(&str, &str)> = audit
            .iter()
            .map(|a| (a.action.as_str(), a.subject.as_str()))
            .collect();
        assert_eq!(
            lines,
            vec![
                ("calendar.year", "2027"),
                ("calendar.year", "2027"),
                ("calendar.year", "2027"),
                ("draft.seed", "calendar"),
            ],
            "{backend:?}"
        );
        let (removed, edited, added) = (&audit[0], &audit[1], &audit[2]);
        assert!(added.before.is_none());
        assert_eq!(
            added.after.as_ref().unwrap()["春节"],
            "2027-02-05 至 2027-02-13 上班 2027-01-31 2027-02-20"
        );
        assert_eq!(
            edited.after.as_ref().unwrap()["春节"],
            "2027-02-05 至 2027-02-12"
        );
        assert!(removed.after.is_none() && removed.before.is_some());
        assert!(
            !added.after.as_ref().unwrap().to_string().contains("2026"),
            "only that year's days"
        );
        assert_eq!(
            drafts
                .calendar()
                .await
                .unwrap()
                .doc
                .covered_years()
                .collect::<Vec<_>>(),
            vec![2026]
        );
    }
    backends.finish().await;
}

// ---------------------------------------------------------------------------------------------
// Through the real node
// ---------------------------------------------------------------------------------------------

fn write_config(dir: &Path, url: &str) -> std::path::PathBuf {
    let deploy = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy");
    let file = dir.join("district.toml");
    std::fs::write(
        &file,
        format!(
            "[node]\ncode = \"410402000000\"\nname = \"新华区政务服务中心\"\n\
             [database]\nurl = \"{url}\"\n\
             [policy]\ntopology = \"{}\"\ncalendar = \"{}\"\n",
            deploy.join("topology/xinhua.json").display(),
            deploy.join("policy/calendar.json").display()
        ),
    )
    .unwrap();
    file
}

struct Node {
    base: String,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

/// Opens the district's database, adds a district administrator and a station operator, and
/// starts the node on a port-0 listener.
async fn start(dir: &Path, url: &str) -> Node {
    let file = write_config(dir, url);
    let r = super::web::serve_config(
        &file,
        &[
            ("admin", Role::DistrictAdmin),
            ("wangfang", Role::StationOperator),
        ],
    )
    .await;
    Node {
        base: r.base,
        stop: r.stop,
        task: r.task,
    }
}

/// A signed-in browser (no redirects followed, cookie by hand) with its CSRF token, and an API
/// token.
struct Browser {
    http: reqwest::Client,
    base: String,
    cookie: String,
    csrf: String,
    token: String,
}

impl Browser {
    async fn login(base: &str, username: &str) -> Browser {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let res = http
            .post(format!("{base}/login"))
            .header("sec-fetch-site", "same-origin")
            .form(&[("username", username), ("password", PASSWORD)])
            .send()
            .await
            .unwrap();
        let cookie = res
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .find(|v| v.starts_with("bangban_session="))
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        let mut b = Browser {
            http,
            base: base.to_owned(),
            cookie,
            csrf: String::new(),
            token: String::new(),
        };
        let (_, start) = b.get("/start").await;
        b.csrf = hidden(&start, "csrf");
        let login: Value = b
            .http
            .post(format!("{base}/api/v1/login"))
            .json(&json!({"username": username, "password": PASSWORD}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        b.token = login["token"].as_str().unwrap().to_owned();
        b
    }

    async fn get(&self, path: &str) -> (StatusCode, String) {
        let res = self
            .http
            .get(format!("{}{path}", self.base))
            .header(COOKIE, &self.cookie)
            .send()
            .await
            .unwrap();
        (res.status(), res.text().await.unwrap())
    }

    async fn post(&self, path: &str, form: &[(&str, &str)]) -> (StatusCode, String, String) {
        let mut fields = vec![("csrf", self.csrf.as_str())];
        fields.extend_from_slice(form);
        let res = self
            .http
            .post(format!("{}{path}", self.base))
            .header(COOKIE, &self.cookie)
            .header("sec-fetch-site", "same-origin")
            .form(&fields)
            .send()
            .await
            .unwrap();
        let location = res
            .headers()
            .get(LOCATION)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (res.status(), location, res.text().await.unwrap())
    }

    async fn api(&self, method: &str, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let url = format!("{}{path}", self.base);
        let mut req = match method {
            "PUT" => self.http.put(url),
            _ => self.http.get(url),
        }
        .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.unwrap();
        let status = res.status();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    async fn years(&self) -> Vec<i64> {
        let (status, draft) = self.api("GET", "/api/v1/policy/calendar", None).await;
        assert_eq!(status, StatusCode::OK, "{draft}");
        draft["years"]
            .as_array()
            .unwrap()
            .iter()
            .map(|y| y["year"].as_i64().unwrap())
            .collect()
    }
}

fn hidden(html: &str, name: &str) -> String {
    let needle = format!("name=\"{name}\" value=\"");
    let at = html
        .find(&needle)
        .unwrap_or_else(|| panic!("no {name}: {html}"))
        + needle.len();
    html[at..].split('"').next().unwrap().to_owned()
}

/// The page flow: add 2027 with 春节 and its make-up days, a bad line refused with the line
/// named and nothing saved, the audit shows the year, a removal confirmed; the API; a station
/// operator gets 403 everywhere.
async fn page_flow(base: &str) {
    let admin = Browser::login(base, "admin").await;
    let (status, page) = admin.get("/policy/calendar").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("2026年工作日历"), "{page}");
    assert!(page.contains("国务院办公厅关于2026年部分节假日安排的通知"));
    // Feb 14 2026 is a make-up working day of the Spring Festival.
    assert!(
        page.contains("class=\"makeup\" title=\"春节调休上班\">14<"),
        "{page}"
    );
    assert_eq!(admin.years().await, vec![2026]);

    let (status, form) = admin.get("/policy/calendar/edit?year=2027").await;
    assert_eq!(status, StatusCode::OK);
    let revision = hidden(&form, "revision");
    let add = |holidays: &'static str| {
        vec![
            ("mode", "add"),
            ("revision", ""),
            ("year", "2027"),
            ("source", ""),
            ("holidays", holidays),
        ]
    };
    // A bad second line: refused beside the field, naming the line; nothing saved; typed kept.
    let bad = "春节 2月5日至13日 1月31日、2月20日上班\n国庆节 十月一日至七日";
    let (status, _, html) = admin.post("/policy/calendar/edit", &add(bad)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    assert!(html.contains("id=\"holidays-error\""), "{html}");
    assert!(html.contains("第2行"), "{html}");
    assert!(html.contains("十月一日至七日"), "what was typed stays");
    assert!(html.contains("aria-invalid=\"true\""));
    assert_eq!(admin.years().await, vec![2026], "nothing saved");
    // A make-up day on a Friday, a bad year: refused too.
    let (status, _, html) = admin
        .post(
            "/policy/calendar/edit",
            &add("春节 2月5日至13日 2月19日上班"),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("星期五"), "{html}");
    let mut wrong_year = add(SPRING_2027);
    wrong_year[2].1 = "二〇二七";
    let (status, _, html) = admin.post("/policy/calendar/edit", &wrong_year).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("id=\"year-error\""), "{html}");
    assert_eq!(admin.years().await, vec![2026]);

    // Right: saved, 303 to the calendar, the year shown with its days.
    let (status, location, _) = admin.post("/policy/calendar/edit", &add(SPRING_2027)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location, "/policy/calendar?saved=2027#y2027");
    let (_, page) = admin.get("/policy/calendar?saved=2027").await;
    assert!(page.contains("2027年工作日历") && page.contains("id=\"notice\""));
    assert!(page.contains("class=\"makeup\" title=\"春节调休上班\">20<"));
    assert!(page.contains("class=\"off\" title=\"春节\">8<"));
    assert_eq!(admin.years().await, vec![2026, 2027]);
    // Adding it again: refused beside the year.
    let (status, _, html) = admin.post("/policy/calendar/edit", &add(SPRING_2027)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("id=\"year-error\"") && html.contains("已存在"));
    // Editing from a page read before the save: refused as a conflict, nothing saved.
    let stale = [
        ("mode", "edit"),
        ("revision", revision.as_str()),
        ("year", "2027"),
        ("source", ""),
        ("holidays", "春节 2月5日至12日"),
    ];
    let (status, _, html) = admin.post("/policy/calendar/edit", &stale).await;
    assert_eq!(status, StatusCode::CONFLICT, "{html}");
    assert!(html.contains("请刷新页面"), "{html}");

    // The audit shows the year, field by field.
    let (_, audit) = admin.get("/policy/audit?section=calendar").await;
    assert!(
        audit.contains("calendar.year") && audit.contains("2027"),
        "{audit}"
    );
    assert!(audit.contains("2027-02-05 至 2027-02-13"), "{audit}");

    // The JSON API: a bad year refused with the holiday named, a good one saved.
    let (status, problem) = admin
        .api(
            "PUT",
            "/api/v1/policy/calendar/2028",
            Some(json!({"holidays": [
                {"name": "元旦", "off": ["2028-01-01", "2028-01-03"], "makeup": []},
                {"name": "春节", "off": ["2028-01-25", "2028-02-01"], "makeup": ["2028-01-21"]}
            ]})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["code"], "calendar.makeup_on_weekday");
    assert_eq!(
        (problem["field"].clone(), problem["holiday"].clone()),
        (json!("holidays"), json!(2))
    );
    assert!(
        problem["message_zh"]
            .as_str()
            .unwrap()
            .starts_with("第2个节假日")
    );
    let (status, problem) = admin
        .api(
            "PUT",
            "/api/v1/policy/calendar/1899",
            Some(json!({"holidays": []})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["field"], "year");
    let (status, answer) = admin
        .api(
            "PUT",
            "/api/v1/policy/calendar/2028",
            Some(json!({"source": "测试通知", "holidays": [
                {"name": "元旦", "off": ["2028-01-01", "2028-01-03"], "makeup": []}
            ]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["year"], 2028);
    assert_eq!(admin.years().await, vec![2026, 2027, 2028]);

    // Removing asks first; then the year is gone.
    let (status, confirm) = admin.get("/policy/calendar/remove?year=2027").await;
    assert_eq!(status, StatusCode::OK);
    assert!(confirm.contains("id=\"confirm-remove\""), "{confirm}");
    assert_eq!(
        admin.years().await,
        vec![2026, 2027, 2028],
        "asking removes nothing"
    );
    let rev = hidden(&confirm, "revision");
    let (status, location, _) = admin
        .post(
            "/policy/calendar/remove",
            &[("revision", rev.as_str()), ("year", "2027")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location, "/policy/calendar?removed=2027");
    assert_eq!(admin.years().await, vec![2026, 2028]);

    // Junk never gives a 500.
    for junk in ["", "\u{0}", "<script>", &"长".repeat(5000)] {
        let fields = [
            ("mode", junk),
            ("revision", junk),
            ("year", junk),
            ("holidays", junk),
        ];
        let (status, _, _) = admin.post("/policy/calendar/edit", &fields).await;
        assert!(status.is_client_error(), "{junk:?}: {status}");
    }

    // A station operator may do none of it.
    let operator = Browser::login(base, "wangfang").await;
    for path in [
        "/policy/calendar",
        "/policy/calendar/edit",
        "/policy/calendar/remove?year=2026",
    ] {
        assert_eq!(operator.get(path).await.0, StatusCode::FORBIDDEN, "{path}");
    }
    let (status, _, _) = operator
        .post("/policy/calendar/edit", &add(SPRING_2027))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = operator.api("GET", "/api/v1/policy/calendar", None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = operator
        .api(
            "PUT",
            "/api/v1/policy/calendar/2029",
            Some(json!({"holidays": []})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(admin.years().await, vec![2026, 2028]);
}

#[tokio::test]
async fn the_calendar_pages_add_check_and_remove_a_year_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let node = start(dir.path(), "sqlite://district.sqlite").await;
    page_flow(&node.base).await;
    node.stop.send(()).unwrap();
    node.task.await.unwrap().unwrap();
}

#[tokio::test]
async fn the_calendar_pages_add_check_and_remove_a_year_on_postgresql() {
    let admin_url = std::env::var("PG_TEST_URL").expect("PG_TEST_URL: a real PostgreSQL server");
    let name = format!("bangban_cal_{}", uuid::Uuid::now_v7().simple());
    let admin = bangban_kit::db::Db::connect(&admin_url).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(admin.pool())
        .await
        .unwrap();
    let mut url = url::Url::parse(&admin_url).unwrap();
    url.set_path(&format!("/{name}"));
    let dir = tempfile::tempdir().unwrap();
    let node = start(dir.path(), url.as_str()).await;
    page_flow(&node.base).await;
    node.stop.send(()).unwrap();
    node.task.await.unwrap().unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .execute(admin.pool())
    .await
    .unwrap();
    admin.close().await;
}
