//! The application form and the case page's step forms through a real listener, as a browser
//! without JavaScript uses them: bad input is refused beside its field with nothing saved, no
//! input gives a 500, a resent form is stored once, a stale step is refused by the state
//! machine, and a form without its CSRF token does nothing.

use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, USER, add_operator, spawn_app_in, write_config};
use crate::helpers::{browser, hidden};

struct Desk {
    http: Client,
    base: String,
    cookie: String,
    csrf: String,
    token: String,
}

impl Desk {
    async fn open(base: &str) -> Desk {
        Desk::open_as(base, USER).await
    }

    async fn open_as(base: &str, username: &str) -> Desk {
        let http = browser();
        let res = http
            .post(format!("{base}/login"))
            .header("sec-fetch-site", "same-origin")
            .form(&[("username", username), ("password", PASSWORD)])
            .send()
            .await
            .unwrap();
        let set = res
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .find(|v| v.starts_with("bangban_session="))
            .unwrap();
        let cookie = set.split(';').next().unwrap().to_owned();
        let html = http
            .get(format!("{base}/start"))
            .header(COOKIE, &cookie)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let csrf = hidden(&html, "csrf");
        let login: Value = http
            .post(format!("{base}/api/v1/login"))
            .json(&json!({"username": username, "password": PASSWORD}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        Desk {
            http,
            base: base.to_owned(),
            cookie,
            csrf,
            token: login["token"].as_str().unwrap().to_owned(),
        }
    }

    async fn get(&self, path: &str) -> String {
        self.http
            .get(format!("{}{path}", self.base))
            .header(COOKIE, &self.cookie)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
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
        let status = res.status();
        let location = res
            .headers()
            .get(LOCATION)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (status, location, res.text().await.unwrap())
    }

    /// The case as the JSON API reports it.
    async fn case(&self, case_id: &str) -> Value {
        self.http
            .get(format!("{}/api/v1/cases/{case_id}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    async fn events(&self, case_id: &str) -> usize {
        self.case(case_id).await["events"].as_array().unwrap().len()
    }

    async fn cases(&self) -> usize {
        let list: Value = self
            .http
            .get(format!("{}/api/v1/cases", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        list["cases"].as_array().map_or(0, Vec::len)
    }
}

async fn send(desk: &Desk, fields: Vec<(&'static str, String)>) -> (StatusCode, String, String) {
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    desk.post("/cases/new/application", &fields).await
}

#[tokio::test]
async fn the_application_form_refuses_bad_identifiers_beside_the_field_and_saves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), "");
    add_operator(dir.path()).await;
    let app = spawn_app_in(dir.path()).await;
    let desk = Desk::open(&app.url).await;
    let html = desk.get("/cases/new/application").await;
    assert!(html.contains("示例目录"), "the sample catalogue is marked");
    let (case_id, visit_id) = (hidden(&html, "case_id"), hidden(&html, "visit_id"));
    let person = |id: &'static str, phone: &'static str| {
        vec![
            ("case_id", case_id.clone()),
            ("visit_id", visit_id.clone()),
            ("channel", "window".to_owned()),
            ("item_code", "410402-SCJG-001".to_owned()),
            ("applicant_type", "person".to_owned()),
            ("name", "张三丰".to_owned()),
            ("id_number", id.to_owned()),
            ("phone", phone.to_owned()),
            ("trip", "on".to_owned()),
        ]
    };
    for (fields, error_id) in [
        (
            person("110105194912310021", "13812345678"),
            "id_number-error",
        ),
        (person("11010519491231002X", "1381234567"), "phone-error"),
        (
            vec![
                ("case_id", case_id.clone()),
                ("visit_id", visit_id.clone()),
                ("channel", "window".to_owned()),
                ("item_code", "410402-SCJG-001".to_owned()),
                ("applicant_type", "company".to_owned()),
                ("company_name", "平顶山市某某餐饮有限公司".to_owned()),
                ("credit_code", "91410402MA00000000".to_owned()),
                ("legal_representative", "王五".to_owned()),
                ("contact_name", "赵六".to_owned()),
                ("contact_phone", "13812345678".to_owned()),
            ],
            "credit_code-error",
        ),
        (
            person("11010519491231002X", "13812345678")[..4].to_vec(),
            "item_code-error",
        ),
    ] {
        let mut fields = fields;
        if error_id == "item_code-error" {
            fields[3].1 = String::new();
        }
        let (status, _, html) = send(&desk, fields).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{error_id}: {html}"
        );
        assert!(
            html.contains(&format!("id=\"{error_id}\"")),
            "{error_id}: {html}"
        );
        assert_eq!(desk.cases().await, 0, "{error_id}: nothing saved");
    }
    // Any junk in any field: a page, never a 500.
    for junk in [
        "",
        "\u{0}",
        "'; DROP TABLE cases; --",
        &"长".repeat(5000),
        "<script>",
    ] {
        let mut fields = person("11010519491231002X", "13812345678");
        for field in fields.iter_mut().skip(2) {
            field.1 = junk.to_owned();
        }
        let (status, _, _) = send(&desk, fields).await;
        assert!(status.is_client_error(), "{junk:?} gave {status}");
    }

    // Right: one case (a resend answers with the same), its trip counted once.
    let (status, location, _) = send(&desk, person("11010519491231002X", "13812345678")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location, format!("/cases/{case_id}"));
    let (_, again, _) = send(&desk, person("11010519491231002X", "13812345678")).await;
    assert_eq!(again, location);
    assert_eq!(desk.cases().await, 1);
    let case = desk.case(&case_id).await;
    assert_eq!(case["visits"], 1, "{case}");
    assert_eq!(case["stage"], "received");
    app.stop().await;
}

#[tokio::test]
async fn step_forms_refuse_bad_input_and_stale_steps_and_store_a_resend_once() {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), "");
    add_operator(dir.path()).await;
    crate::helpers::add_account(dir.path(), "jiancha", bangban_kit::auth::Role::Inspector).await;
    let app = spawn_app_in(dir.path()).await;
    let desk = Desk::open(&app.url).await;
    let html = desk.get("/cases/new/application").await;
    let case_id = hidden(&html, "case_id");
    let (status, _, _) = desk
        .post(
            "/cases/new/application",
            &[
                ("case_id", case_id.as_str()),
                ("visit_id", hidden(&html, "visit_id").as_str()),
                ("channel", "window"),
                ("item_code", "410402-SCJG-001"),
                ("applicant_type", "person"),
                ("name", "张三丰"),
                ("id_number", "11010519491231002X"),
                ("phone", "13812345678"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let steps = format!("/cases/{case_id}/steps");
    let page = desk.get(&format!("/cases/{case_id}")).await;
    // The item's checklist is offered, with how to obtain each material.
    assert!(
        page.contains("食品经营许可申请书") && page.contains("获取方式"),
        "{page}"
    );
    let event_id = hidden(&page, "event_id");
    let before = desk.events(&case_id).await;

    // A material without a verdict: refused beside it, nothing saved.
    let review = |verdict: &'static str| {
        vec![
            ("kind", "pre_reviewed"),
            ("event_id", event_id.as_str()),
            ("m0.name", "食品经营许可申请书"),
            ("m0.verdict", "conforming"),
            ("m1.name", "营业执照"),
            ("m1.verdict", verdict),
            ("m1.remark", "请携带原件"),
        ]
    };
    let (status, _, html) = desk.post(&steps, &review("")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("请为这项材料选择预审结果"), "{html}");
    assert!(html.contains("请携带原件"), "what was typed stays");
    assert_eq!(desk.events(&case_id).await, before);

    // A step the stage does not allow: the state machine's reason, nothing saved.
    let stale = [
        ("kind", "handed_over"),
        ("event_id", "0190a5b4-0000-7000-8000-0000000000aa"),
        ("method", "pickup"),
        ("received_by", "张三丰"),
    ];
    let (status, _, html) = desk.post(&steps, &stale).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("不能进行"), "{html}");
    assert_eq!(desk.events(&case_id).await, before);

    // Unknown kinds, missing ids and junk of every kind: a page, never a 500, nothing saved.
    let kinds = [
        "pre_reviewed",
        "one_time_notice_issued",
        "supplement_received",
        "delegation_signed",
        "assisted_at_window",
        "handling_started",
        "suspended",
        "resumed",
        "escalated",
        "accepted_upstream",
        "returned_down",
        "result_ready",
        "handed_over",
        "completed",
        "terminated",
        "visit_recorded",
        "evaluated",
        "commented",
        "application_received",
        "nonsense",
    ];
    for kind in kinds {
        for junk in ["", "  ", "\u{0}", "x", &"长".repeat(3000)] {
            let fields = [
                ("kind", kind),
                ("event_id", junk),
                ("m0.name", junk),
                ("m0.verdict", junk),
                ("notice_no", junk),
                ("materials", junk),
                ("delivery", junk),
                ("to_tier", junk),
                ("to", junk),
                ("outcome", junk),
                ("method", junk),
                ("reason", junk),
                ("written_reason", junk),
                ("visit_kind", junk),
                ("level", junk),
                ("text", junk),
            ];
            let (status, _, _) = desk.post(&steps, &fields).await;
            assert!(
                status.is_client_error(),
                "{kind} with {junk:?} gave {status}"
            );
        }
    }
    assert_eq!(desk.events(&case_id).await, before, "nothing saved");

    // Without its CSRF token the form does nothing.
    let res = desk
        .http
        .post(format!("{}{steps}", desk.base))
        .header(COOKIE, &desk.cookie)
        .header("sec-fetch-site", "same-origin")
        .form(&review("missing"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(desk.events(&case_id).await, before);

    // Right, and sent twice: stored once, and the case moves on.
    for _ in 0..2 {
        let (status, location, _) = desk.post(&steps, &review("missing")).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert_eq!(location, format!("/cases/{case_id}#log"));
    }
    assert_eq!(desk.events(&case_id).await, before + 1);
    assert_eq!(desk.case(&case_id).await["stage"], "incomplete");
    let page = desk.get(&format!("/cases/{case_id}")).await;
    assert!(
        page.contains("f-one_time_notice_issued"),
        "the notice is next"
    );

    // The notice, printed: the applicant in full, and the view is on the audit trail.
    let notice_id = hidden(&page, "event_id");
    let notice = [
        ("kind", "one_time_notice_issued"),
        ("event_id", notice_id.as_str()),
        ("notice_no", "TEST-G1"),
    ];
    let (status, _, _) = desk.post(&steps, &notice).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let case_no = desk.case(&case_id).await["case_no"]
        .as_str()
        .unwrap()
        .to_owned();
    let print = desk
        .get(&format!("/cases/{case_id}/print/one-time-notice"))
        .await;
    assert!(
        print.contains("张三丰") && print.contains("TEST-G1"),
        "{print}"
    );
    assert_eq!(
        print.matches("class=\"sheet half\"").count(),
        2,
        "two copies"
    );
    let inspector = Desk::open_as(&app.url, "jiancha").await;
    let trail = inspector.get("/audit/personal-data").await;
    assert!(
        trail.contains(&case_no),
        "the print is on the trail: {trail}"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_case_due_within_two_working_days_is_highlighted_in_the_list_and_on_its_page() {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), "");
    add_operator(dir.path()).await;
    let app = spawn_app_in(dir.path()).await;
    let desk = Desk::open(&app.url).await;
    // Company formation is promised in one working day.
    let api = |path: String, body: Value| {
        desk.http
            .post(format!("{}{path}", desk.base))
            .bearer_auth(&desk.token)
            .json(&body)
            .send()
    };
    let case: Value = api(
        "/api/v1/cases".into(),
        json!({"kind": "application", "channel": "window", "item_code": "410402-SCJG-003",
               "applicant": {"type": "person", "name": "张三", "id_number": "11010519491231002X",
                             "phone": "13812345678"}}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let id = case["case_id"].as_str().unwrap().to_owned();
    let list = desk.get("/cases").await;
    assert!(
        !list.contains("class=\"due"),
        "no due date before acceptance"
    );
    let res = api(
        format!("/api/v1/cases/{id}/events"),
        json!({"kind": "pre_reviewed", "payload": {"materials": [
            {"name": "公司登记（备案）申请书", "verdict": "conforming"}]}}),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let list = desk.get("/cases").await;
    assert!(list.contains("class=\"due warn\""), "{list}");
    let page = desk.get(&format!("/cases/{id}")).await;
    assert!(page.contains("id=\"due\" class=\"warn\""), "{page}");
    assert!(page.contains("临近办理时限"), "{page}");
    app.stop().await;
}

#[tokio::test]
async fn the_start_page_asks_for_next_years_calendar_when_it_is_due() {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), "");
    add_operator(dir.path()).await;
    let app = spawn_app_in(dir.path()).await;
    let desk = Desk::open(&app.url).await;
    let calendar = bangban_domain::calendar::WorkingCalendar::from_json(include_str!(
        "../../../deploy/policy/calendar.json"
    ))
    .unwrap();
    let today = bangban_domain::calendar::local_date(time::OffsetDateTime::now_utc());
    let start = desk.get("/start").await;
    match calendar.missing_year(today) {
        Some(year) => {
            assert!(start.contains("id=\"calendar-missing\""), "{start}");
            assert!(start.contains(&format!("{year} 年")), "{start}");
        }
        None => assert!(!start.contains("calendar-missing"), "{start}"),
    }
    // The rules in force are named: here the node's own files, no district bundle yet.
    assert!(
        start.contains("id=\"policy\"") && start.contains("本地配置文件"),
        "{start}"
    );
    app.stop().await;
}
