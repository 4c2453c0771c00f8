//! The web UI across real processes: a village escalates a case to the district; the district
//! hall's agent accepts it, records the result and returns it, all through the district's own
//! web pages (on SQLite and on PostgreSQL); the village hands the result over, completes the
//! case and records a bad rating through its pages, and the follow-up is asked for until it is
//! written. Forms are posted as a browser without JavaScript posts them.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use bangban_tests::PASSWORD;
use bangban_tests::tree::{DISTRICT, DistrictDb, TOWN, Tree, VILLAGE};
use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};

const SYNC: Duration = Duration::from_secs(20);

/// A signed-in browser at one node's web UI.
struct Browser {
    http: reqwest::Client,
    ui: String,
    cookie: String,
}

impl Browser {
    async fn log_in(ui: &str) -> Browser {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let res = http
            .post(format!("{ui}/login"))
            .header("sec-fetch-site", "same-origin")
            .form(&[("username", "operator"), ("password", PASSWORD)])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "login at {ui}");
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
        Browser {
            http,
            ui: ui.to_owned(),
            cookie,
        }
    }

    async fn page(&self, path: &str) -> String {
        let res = self
            .http
            .get(format!("{}{path}", self.ui))
            .header(COOKIE, &self.cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        res.text().await.unwrap()
    }

    /// Sends the step form `kind` of the case page with `fields`, as the page rendered it (its
    /// CSRF token and event id); panics unless the step is stored.
    async fn step(&self, case_id: &str, kind: &str, fields: &[(&str, &str)]) {
        let page = self.page(&format!("/cases/{case_id}")).await;
        let form_at = page
            .find(&format!("id=\"f-{kind}\""))
            .unwrap_or_else(|| panic!("the page offers no {kind} form"));
        let form = &page[form_at..];
        let hidden = |name: &str| {
            let needle = format!("name=\"{name}\" value=\"");
            let at = form.find(&needle).unwrap() + needle.len();
            form[at..].split('"').next().unwrap().to_owned()
        };
        let (csrf, event_id) = (hidden("csrf"), hidden("event_id"));
        let form_kind = hidden("kind");
        let mut all = vec![
            ("csrf", csrf.as_str()),
            ("kind", form_kind.as_str()),
            ("event_id", event_id.as_str()),
        ];
        all.extend_from_slice(fields);
        let res = self
            .http
            .post(format!("{}/cases/{case_id}/steps", self.ui))
            .header(COOKIE, &self.cookie)
            .header("sec-fetch-site", "same-origin")
            .form(&all)
            .send()
            .await
            .unwrap();
        let status = res.status();
        let location = res
            .headers()
            .get(LOCATION)
            .map(|l| l.to_str().unwrap().to_owned());
        let body = res.text().await.unwrap();
        assert_eq!(status, StatusCode::SEE_OTHER, "{kind}: {body}");
        assert_eq!(
            location.as_deref(),
            Some(format!("/cases/{case_id}#log").as_str())
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_district_hall_works_an_escalated_case_in_its_web_ui_on_sqlite() {
    escalated_case_through_the_web_ui(DistrictDb::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_district_hall_works_an_escalated_case_in_its_web_ui_on_postgres() {
    escalated_case_through_the_web_ui(DistrictDb::Postgres).await;
}

async fn escalated_case_through_the_web_ui(district_db: DistrictDb) {
    let root = tempfile::tempdir().unwrap();
    let mut tree = Tree::start_on(root.path(), &[DISTRICT, TOWN, VILLAGE], district_db).await;
    let id = tree.escalated_case(VILLAGE).await;
    tree.wait_case(DISTRICT, &id, SYNC, |c| c["stage"] == "escalated")
        .await;

    // The district hall: its own start page, then the case, accepted and worked in the UI.
    let hall = Browser::log_in(&tree.node(DISTRICT).ui.clone()).await;
    let start = hall.page("/start").await;
    assert!(start.contains("id=\"away\""), "the district's start page");
    let page = hall.page(&format!("/cases/{id}")).await;
    assert!(page.contains("已上报待接收"), "{page}");
    assert!(
        !page.contains("11010519491231002X"),
        "masked on the case page"
    );
    hall.step(&id, "accepted_upstream", &[("note", "区级窗口接件")])
        .await;
    hall.step(
        &id,
        "result_ready",
        &[("outcome", "approved"), ("certificate_no", "JY14104020001")],
    )
    .await;
    // The return goes to the origin village (the town is offered too).
    let page = hall.page(&format!("/cases/{id}")).await;
    assert!(page.contains(&format!("value=\"{VILLAGE}\"")), "{page}");
    hall.step(
        &id,
        "returned_down",
        &[("to", VILLAGE), ("reason", "结果已出，请发起站点交付")],
    )
    .await;
    let page = hall.page(&format!("/cases/{id}")).await;
    assert!(
        page.contains("其他站点承办"),
        "the district holds it no more"
    );

    // The village: hand-over with the applicant's trip, completion, a bad rating.
    tree.wait_case(VILLAGE, &id, SYNC, |c| {
        c["holder"] == VILLAGE && c["stage"] == "result_ready"
    })
    .await;
    let desk = Browser::log_in(&tree.node(VILLAGE).ui.clone()).await;
    let visits_before = tree
        .api(VILLAGE, "GET", &format!("/api/v1/cases/{id}"), None)
        .await
        .1["visits"]
        .as_u64()
        .unwrap();
    // The form carries its trip id; the step itself takes it from the page.
    let page = desk.page(&format!("/cases/{id}")).await;
    let form = &page[page.find("id=\"f-handed_over\"").unwrap()..];
    let needle = "name=\"visit_id\" value=\"";
    let at = form.find(needle).unwrap() + needle.len();
    let visit_id = form[at..].split('"').next().unwrap().to_owned();
    desk.step(
        &id,
        "handed_over",
        &[
            ("method", "pickup"),
            ("received_by", "张三"),
            ("trip", "on_site"),
            ("visit_id", &visit_id),
        ],
    )
    .await;
    desk.step(&id, "completed", &[]).await;
    desk.step(
        &id,
        "evaluated",
        &[("level", "dissatisfied"), ("comment", "等待时间太长")],
    )
    .await;
    let page = desk.page(&format!("/cases/{id}")).await;
    assert!(
        page.contains("f-follow_up") && page.contains("待回访"),
        "{page}"
    );
    desk.step(
        &id,
        "follow_up",
        &[("text", "已电话回访，说明上级审批所需时间")],
    )
    .await;
    let page = desk.page(&format!("/cases/{id}")).await;
    assert!(!page.contains("f-follow_up"), "followed up");
    let (_, case) = tree
        .api(VILLAGE, "GET", &format!("/api/v1/cases/{id}"), None)
        .await;
    assert_eq!(case["stage"], "completed", "{case}");
    assert_eq!(case["visits"].as_u64().unwrap(), visits_before + 1);
    // The log reaches the district, rating and follow-up included.
    tree.wait_case(DISTRICT, &id, SYNC, |c| {
        c["events"]
            .as_array()
            .is_some_and(|e| e.iter().any(|e| e["kind"] == "commented"))
    })
    .await;
}
