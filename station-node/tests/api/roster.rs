//! A station whose data folder holds a kept bundle and roster, signed with a test key its config
//! pins, comes up with its centre's agents in force: the delegation form offers exactly the
//! active ones, and a delegation naming anyone else (a suspended agent, another centre's, a
//! stranger) is refused, on the case page and through the JSON API, with nothing saved.

use std::path::Path;

use bangban_domain::agent::{Agent, AgentRole, AgentStatus};
use bangban_domain::calendar::WorkingCalendar;
use bangban_domain::catalogue::Catalogue;
use bangban_domain::ident::{MobileNumber, PersonName, ResidentId};
use bangban_domain::station::StationCode;
use bangban_domain::topology::Topology;
use bangban_kit::policy::apply::{Kept, receive_set};
use bangban_kit::policy::bundle::{BundlePayload, SigningKey};
use bangban_kit::policy::roster::{RosterEntry, RosterPayload, RosterSet};
use bangban_kit::policy::{Policy, PolicyHandle};
use reqwest::StatusCode;
use reqwest::header::{COOKIE, SET_COOKIE};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::date;

use crate::helpers::{PASSWORD, USER, add_operator, browser, hidden, spawn_app_in, write_config};

const ME: &str = "410402001001";
const ITEM: &str = "410402-SCJG-001";

fn agent(name: &str, centre: &str, badge: &str, id: &str, status: AgentStatus) -> Agent {
    Agent {
        name: PersonName::new(name),
        id_number: ResidentId::parse(id).unwrap(),
        phone: MobileNumber::parse("13812345678").unwrap(),
        centre: StationCode::parse(centre).unwrap(),
        role: AgentRole::AssistingAgent,
        badge_no: badge.to_owned(),
        filed_on: date!(2026 - 03 - 01),
        training: Vec::new(),
        status,
    }
}

/// Keeps bundle 1 and this station's roster in `dir`, as the puller would have, signed by a
/// fresh key; returns the public key to pin.
fn keep_signed_set(dir: &Path) -> String {
    let key = SigningKey::generate().unwrap();
    let deploy = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy");
    let read = |p: &str| std::fs::read_to_string(deploy.join(p)).unwrap();
    let topology = Topology::from_json(&read("topology/xinhua.json")).unwrap();
    let now = OffsetDateTime::now_utc();
    let payload = BundlePayload {
        district: topology.district(),
        number: 1,
        issued_at: now,
        expires_at: now + time::Duration::days(30),
        topology,
        catalogue: Catalogue::from_json(&read("policy/catalogue.json")).unwrap(),
        calendar: WorkingCalendar::from_json(&read("policy/calendar.json")).unwrap(),
    };
    let envelope = key.sign_envelope(&payload.to_bytes().unwrap());
    let mut chief = agent(
        "王芳",
        ME,
        "XH-001",
        "11010519491231002X",
        AgentStatus::Active,
    );
    chief.role = AgentRole::ChiefRepresentative;
    let agents = vec![
        chief,
        agent(
            "李娜",
            ME,
            "XH-002",
            "110105194912310046",
            AgentStatus::Active,
        ),
        agent(
            "张伟",
            ME,
            "XH-003",
            "110105194912310062",
            AgentStatus::Suspended,
        ),
        agent(
            "刘洋",
            ME,
            "XH-004",
            "110105194912310089",
            AgentStatus::Left,
        ),
    ];
    let me = StationCode::parse(ME).unwrap();
    let roster = RosterPayload {
        district: payload.district,
        station: me,
        number: 1,
        issued_at: payload.issued_at,
        expires_at: payload.expires_at,
        agents,
    }
    .sign(&key)
    .unwrap();
    let set = RosterSet {
        number: 1,
        rosters: vec![RosterEntry::new(me, &roster)],
    };
    let received = receive_set(
        &envelope,
        Some(&set),
        me,
        &[key.public_key()],
        &PolicyHandle::new(Policy::default()),
        &Kept::new(dir),
        now,
    )
    .unwrap();
    assert_eq!(received.agents, Some(4));
    key.public_key().to_base64()
}

/// A signed-in browser (cookie and CSRF token) and an API token.
struct Desk {
    http: reqwest::Client,
    base: String,
    cookie: String,
    csrf: String,
    token: String,
}

impl Desk {
    async fn open(base: &str) -> Desk {
        let http = browser();
        let res = http
            .post(format!("{base}/login"))
            .header("sec-fetch-site", "same-origin")
            .form(&[("username", USER), ("password", PASSWORD)])
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
        let mut desk = Desk {
            http,
            base: base.to_owned(),
            cookie,
            csrf: String::new(),
            token: String::new(),
        };
        desk.csrf = hidden(&desk.page("/start").await, "csrf");
        let login: Value = desk
            .http
            .post(format!("{base}/api/v1/login"))
            .json(&json!({"username": USER, "password": PASSWORD}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        desk.token = login["token"].as_str().unwrap().to_owned();
        desk
    }

    async fn page(&self, path: &str) -> String {
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

    async fn post(&self, path: &str, form: &[(&str, &str)]) -> (StatusCode, String) {
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
        (res.status(), res.text().await.unwrap())
    }

    async fn api(&self, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let url = format!("{}{path}", self.base);
        let req = match body {
            Some(b) => self.http.post(url).json(&b),
            None => self.http.get(url),
        };
        let res = req.bearer_auth(&self.token).send().await.unwrap();
        let status = res.status();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    /// A new case of the promised item, pre-reviewed complete: ready for its delegation.
    async fn reviewed_case(&self) -> String {
        let (status, case) = self
            .api(
                "/api/v1/cases",
                Some(
                    json!({"kind": "application", "channel": "window", "item_code": ITEM,
                    "applicant": {"type": "person", "name": "张三丰",
                        "id_number": "11010519491231002X", "phone": "13812345678"}}),
                ),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{case}");
        let id = case["case_id"].as_str().unwrap().to_owned();
        let materials: Vec<Value> = ["食品经营许可申请书", "营业执照", "法定代表人身份证明"]
            .iter()
            .map(|m| json!({"name": m, "verdict": "conforming"}))
            .collect();
        let (status, case) = self
            .api(
                &format!("/api/v1/cases/{id}/events"),
                Some(json!({"kind": "pre_reviewed", "payload": {"materials": materials}})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{case}");
        assert_eq!(case["stage"], "reviewed");
        id
    }

    async fn stage_and_events(&self, id: &str) -> (String, usize) {
        let (_, case) = self.api(&format!("/api/v1/cases/{id}"), None).await;
        (
            case["stage"].as_str().unwrap().to_owned(),
            case["events"].as_array().unwrap().len(),
        )
    }
}

/// The `<option>` values of the `agent_name` select of a page.
fn offered_agents(page: &str) -> Vec<String> {
    let start = page
        .find("<select id=\"agent_name\"")
        .expect("a select of agents");
    let end = start + page[start..].find("</select>").unwrap();
    page[start..end]
        .split("<option value=\"")
        .skip(1)
        .map(|o| o.split('"').next().unwrap().to_owned())
        .filter(|v| !v.is_empty())
        .collect()
}

#[tokio::test]
async fn a_delegation_names_an_active_agent_of_the_centre_when_a_roster_is_in_force() {
    let dir = tempfile::tempdir().unwrap();
    let public = keep_signed_set(dir.path());
    write_config(dir.path(), &format!("pinned_keys = [\"{public}\"]\n"));
    add_operator(dir.path()).await;
    let app = spawn_app_in(dir.path()).await;
    let desk = Desk::open(&app.url).await;

    // The case page offers exactly the centre's active agents, with role and badge.
    let id = desk.reviewed_case().await;
    let page = desk.page(&format!("/cases/{id}")).await;
    assert_eq!(offered_agents(&page), vec!["王芳", "李娜"], "{page}");
    assert!(page.contains("首席代表，工牌 XH-001"), "{page}");
    assert!(!page.contains("张伟") && !page.contains("刘洋"));

    // A suspended agent, an agent who left, or a stranger: refused beside the field, nothing
    // saved.
    let (stage, before) = desk.stage_and_events(&id).await;
    assert_eq!(stage, "reviewed");
    let steps = format!("/cases/{id}/steps");
    let delegation = |name: &'static str| {
        vec![
            ("kind", "delegation_signed"),
            ("event_id", "0190a5b4-0000-7000-8000-00000000d001"),
            ("agreement_no", "A-1"),
            ("agent_name", name),
            ("delivery", "hall_pickup"),
            ("ack", "on"),
        ]
    };
    for name in ["张伟", "刘洋", "赵六"] {
        let (status, html) = desk.post(&steps, &delegation(name)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{name}: {html}");
        assert!(html.contains("id=\"agent_name-error\""), "{name}: {html}");
        assert!(
            html.contains("不是本中心在岗的帮办代办员"),
            "{name}: {html}"
        );
        assert_eq!(desk.stage_and_events(&id).await, (stage.clone(), before));
    }

    // Through the JSON API: problem+json 422 naming the field, nothing saved.
    let api_delegation = |name: &str| {
        json!({"kind": "delegation_signed", "payload": {"agreement_no": "A-1", "agent_name": name,
            "delivery": {"method": "hall_pickup"}}})
    };
    for name in ["张伟", "赵六"] {
        let res = desk
            .http
            .post(format!("{}/api/v1/cases/{id}/events", desk.base))
            .bearer_auth(&desk.token)
            .json(&api_delegation(name))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            res.headers()[reqwest::header::CONTENT_TYPE],
            "application/problem+json"
        );
        let problem: Value = res.json().await.unwrap();
        assert_eq!(problem["code"], "delegation.agent_not_active", "{problem}");
        assert_eq!(problem["field"], "agent_name");
        assert!(
            problem["message_zh"]
                .as_str()
                .unwrap()
                .contains("不是本中心在岗的帮办代办员")
        );
        assert!(
            problem["message_en"]
                .as_str()
                .unwrap()
                .contains("not an active agent")
        );
        assert_eq!(desk.stage_and_events(&id).await, (stage.clone(), before));
    }

    // An active agent: recorded, from the case page.
    let mut right = delegation("李娜");
    right[1].1 = "0190a5b4-0000-7000-8000-00000000d002";
    let (status, html) = desk.post(&steps, &right).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
    let (stage, after) = desk.stage_and_events(&id).await;
    assert_eq!((stage.as_str(), after), ("delegated", before + 1));

    // And through the JSON API, on a second case.
    let second = desk.reviewed_case().await;
    let (status, case) = desk
        .api(
            &format!("/api/v1/cases/{second}/events"),
            Some(api_delegation("王芳")),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{case}");
    assert_eq!(case["stage"], "delegated");
    app.stop().await;
}

#[tokio::test]
async fn without_a_roster_the_agent_is_typed_and_any_name_stands() {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), "");
    add_operator(dir.path()).await;
    let app = spawn_app_in(dir.path()).await;
    let desk = Desk::open(&app.url).await;
    let id = desk.reviewed_case().await;
    let page = desk.page(&format!("/cases/{id}")).await;
    assert!(page.contains("<input id=\"agent_name\""), "{page}");
    assert!(!page.contains("<select id=\"agent_name\""));
    let (status, case) = desk
        .api(
            &format!("/api/v1/cases/{id}/events"),
            Some(
                json!({"kind": "delegation_signed", "payload": {"agreement_no": "A-1",
                "agent_name": "赵六", "delivery": {"method": "hall_pickup"}}}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{case}");
    assert_eq!(case["stage"], "delegated");
    app.stop().await;
}
