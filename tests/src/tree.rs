//! A small real tree for cross-tier tests: a district, towns and villages, each a separate
//! process with its own folder, SQLite file and certificate from a CA made for the test, on
//! loopback ports. Nodes are driven through their operator API with a logged-in client.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::{Kind, Node, free_port, workspace};

pub use crate::PASSWORD;
pub const DISTRICT: &str = "410402000000";
pub const TOWN: &str = "410402001000";
pub const VILLAGE: &str = "410402001001";
pub const SIBLING: &str = "410402001002";

/// One node of the tree and how to reach it.
pub struct TreeNode {
    pub code: String,
    pub node: Node,
    pub ui: String,
    /// `https://127.0.0.1:PORT` of its inter-node listener, when it serves children.
    pub api: Option<String>,
    pub tls_dir: PathBuf,
    token: Option<String>,
}

/// A running tree.
pub struct Tree {
    pub root: PathBuf,
    pub nodes: BTreeMap<String, TreeNode>,
    http: reqwest::Client,
}

fn parent_of(code: &str) -> Option<String> {
    let c = bangban_domain::station::StationCode::parse(code).ok()?;
    c.parent().map(|p| p.to_string())
}

/// Where the district node keeps its data (stations are always on SQLite).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DistrictDb {
    Sqlite,
    /// A fresh database on the PostgreSQL server of `PG_TEST_URL` (scripts/test.sh starts one;
    /// the cluster and its databases are removed when the test command ends).
    Postgres,
}

/// Creates a fresh database on the test server and returns its URL.
pub async fn fresh_postgres_database() -> String {
    let admin_url = std::env::var("PG_TEST_URL").expect(
        "PG_TEST_URL is not set: the PostgreSQL half of the cross-tier tests needs a real \
         server. Run ./scripts/test.sh, which starts one",
    );
    let admin = bangban_kit::db::Db::connect(&admin_url)
        .await
        .unwrap_or_else(|e| panic!("cannot reach PostgreSQL at PG_TEST_URL: {e}"));
    let name = format!("bangban_tree_{}", uuid::Uuid::now_v7().simple());
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(admin.pool())
        .await
        .expect("create the test database");
    admin.close().await;
    let mut url = url::Url::parse(&admin_url).expect("PG_TEST_URL");
    url.set_path(&format!("/{name}"));
    url.to_string()
}

impl Tree {
    /// Writes configs, a CA, certificates and one operator per node, then starts the nodes in
    /// `codes` (parents before children) and waits until each is ready. The district is on
    /// SQLite.
    pub async fn start(root: &Path, codes: &[&str]) -> Tree {
        Tree::start_on(root, codes, DistrictDb::Sqlite).await
    }

    /// As [`Tree::start`], with the district's database on `district_db`.
    pub async fn start_on(root: &Path, codes: &[&str], district_db: DistrictDb) -> Tree {
        Tree::start_with(root, codes, district_db, "").await
    }

    /// As [`Tree::start_on`], with `policy_extra` (lines such as `pinned_keys = [...]`) added
    /// to every node's `[policy]` section.
    pub async fn start_with(
        root: &Path,
        codes: &[&str],
        district_db: DistrictDb,
        policy_extra: &str,
    ) -> Tree {
        Tree::start_linked(root, codes, district_db, policy_extra, "", |_, parent| {
            parent.to_owned()
        })
        .await
    }

    /// As [`Tree::start_with`], with each child dialling `via(child code, parent's inter-node
    /// URL)` instead of its parent directly (a proxy in between), and `parent_extra` (lines such
    /// as `retry_cap_ms = 500`) added to every child's `[parent]` section.
    pub async fn start_linked(
        root: &Path,
        codes: &[&str],
        district_db: DistrictDb,
        policy_extra: &str,
        parent_extra: &str,
        mut via: impl FnMut(&str, &str) -> String,
    ) -> Tree {
        let district_url = match district_db {
            DistrictDb::Sqlite => "sqlite://node.sqlite".to_owned(),
            DistrictDb::Postgres => fresh_postgres_database().await,
        };
        let ca_dir = root.join("ca");
        crate::ca_init(&ca_dir);
        let mut tree = Tree {
            root: root.to_path_buf(),
            nodes: BTreeMap::new(),
            http: reqwest::Client::new(),
        };
        for code in codes {
            let dir = root.join(code);
            let tls_dir = dir.join("tls");
            let tier = bangban_domain::station::StationCode::parse(code)
                .expect("code")
                .tier();
            // A parent's certificate names the address its children dial; a village's names none.
            let hosts: &[&str] = match tier {
                bangban_domain::station::Tier::Village => &[],
                _ => &["--host", "127.0.0.1"],
            };
            crate::ca_issue(&ca_dir, code, &tls_dir, hosts);
            let ui_port = free_port();
            let api_port = (tier != bangban_domain::station::Tier::Village).then(free_port);
            let parent_api = parent_of(code)
                .and_then(|p| tree.nodes.get(&p))
                .and_then(|p| p.api.clone())
                .map(|api| via(code, &api));
            let config = node_config(
                code,
                ui_port,
                api_port,
                parent_api.as_deref(),
                parent_extra,
                &district_url,
            ) + policy_extra;
            std::fs::create_dir_all(&dir).expect("node folder");
            std::fs::write(dir.join("node.toml"), &config).expect("config");
            let kind = if tier == bangban_domain::station::Tier::District {
                Kind::District
            } else {
                Kind::Station
            };
            let bin = if kind == Kind::District {
                "district-node"
            } else {
                "station-node"
            };
            crate::add_operator(bin, &dir.join("node.toml"));
            let mut node = Node::start(kind, &dir, ui_port, &config);
            node.wait_ready(Duration::from_secs(30)).await;
            tree.nodes.insert(
                code.to_string(),
                TreeNode {
                    code: code.to_string(),
                    node,
                    ui: format!("http://127.0.0.1:{ui_port}"),
                    api: api_port.map(|p| format!("https://127.0.0.1:{p}")),
                    tls_dir,
                    token: None,
                },
            );
        }
        tree
    }

    /// A tree with no node yet, for tests that start their nodes themselves (such as two
    /// replicas of the district) and then [`Tree::adopt`] them.
    pub fn empty(root: &Path) -> Tree {
        Tree {
            root: root.to_path_buf(),
            nodes: BTreeMap::new(),
            http: reqwest::Client::new(),
        }
    }

    /// Adds a running node of station `code` under `key` (its code, or another name for a
    /// second replica of the same station), so the tree's helpers drive it as `key`.
    pub fn adopt(
        &mut self,
        key: &str,
        code: &str,
        node: Node,
        api: Option<String>,
        tls_dir: PathBuf,
    ) {
        let ui = node.ui_url.clone();
        self.nodes.insert(
            key.to_owned(),
            TreeNode {
                code: code.to_owned(),
                node,
                ui,
                api,
                tls_dir,
                token: None,
            },
        );
    }

    pub fn node(&mut self, code: &str) -> &mut TreeNode {
        self.nodes.get_mut(code).expect("node in tree")
    }

    /// A new operator session at `code` (its bearer token), e.g. one per concurrent operator.
    pub async fn login(&self, code: &str) -> String {
        let ui = &self.nodes.get(code).expect("node in tree").ui;
        crate::login(&self.http, ui).await
    }

    async fn token(&mut self, code: &str) -> String {
        if let Some(t) = &self.node(code).token {
            return t.clone();
        }
        let token = self.login(code).await;
        self.node(code).token = Some(token.clone());
        token
    }

    /// Calls the operator API of `code`; returns status and JSON body.
    pub async fn api(
        &mut self,
        code: &str,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let token = self.token(code).await;
        let ui = self.node(code).ui.clone();
        let mut req = match method {
            "GET" => self.http.get(format!("{ui}{path}")),
            _ => self.http.post(format!("{ui}{path}")),
        }
        .bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("api call");
        let status = res.status().as_u16();
        let body = res.json().await.unwrap_or(Value::Null);
        (status, body)
    }

    /// Opens an application at `code` for an item handled at the district; returns its id.
    pub async fn open_application(&mut self, code: &str) -> String {
        let (status, body) = self
            .api(
                code,
                "POST",
                "/api/v1/cases",
                Some(json!({
                    "kind": "application",
                    "channel": "window",
                    "item_code": "410402-SCJG-001",
                    "applicant": {"type": "person", "name": "张三", "id_number": "11010519491231002X", "phone": "13812345678"}
                })),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        body["case_id"].as_str().expect("case id").to_owned()
    }

    /// Appends an event at `code` and returns the case view (panics unless 200).
    pub async fn step(&mut self, code: &str, case_id: &str, kind: &str, payload: Value) -> Value {
        let (status, body) = self
            .api(
                code,
                "POST",
                &format!("/api/v1/cases/{case_id}/events"),
                Some(json!({"kind": kind, "payload": payload})),
            )
            .await;
        assert_eq!(status, 200, "{kind} at {code}: {body}");
        body
    }

    /// Takes a new application at `code` through a complete pre-review and a signed delegation;
    /// returns the case id.
    pub async fn delegated_case(&mut self, code: &str) -> String {
        let id = self.open_application(code).await;
        self.step(
            code,
            &id,
            "pre_reviewed",
            json!({"materials": [{"name": "营业执照", "verdict": "conforming"}]}),
        )
        .await;
        self.step(code, &id, "delegation_signed", json!({"agreement_no": "WT-1", "agent_name": "李四", "delivery": {"method": "hall_pickup"}})).await;
        id
    }

    /// Escalates a case held at `code` to `tier` (`town` or `district`).
    pub async fn escalate(&mut self, code: &str, id: &str, tier: &str) -> Value {
        self.step(
            code,
            id,
            "escalated",
            json!({"to_tier": tier, "reason": "须上级部门审批"}),
        )
        .await
    }

    /// A new delegated case at `code`, escalated to the district; returns the case id.
    pub async fn escalated_case(&mut self, code: &str) -> String {
        let id = self.delegated_case(code).await;
        self.escalate(code, &id, "district").await;
        id
    }

    /// Waits until the case at `code` satisfies `pred`, or panics with what it last saw.
    pub async fn wait_case(
        &mut self,
        code: &str,
        case_id: &str,
        timeout: Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let (status, body) = self
                .api(code, "GET", &format!("/api/v1/cases/{case_id}"), None)
                .await;
            if status == 200 && pred(&body) {
                return body;
            }
            if Instant::now() > deadline {
                panic!(
                    "case {case_id} at {code} did not get there in {timeout:?}: {status} {body}\nlog:\n{}",
                    self.node(code).node.log()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Clients presenting certificates for `codes` from a CA made just for them (not the tree's)
    /// while trusting this tree's CA and dialling `server`: strangers that reach the handshake.
    pub fn strangers(&self, root: &Path, codes: &[&str], server: &str) -> Vec<reqwest::Client> {
        let trusted = std::fs::read(self.root.join("ca").join("ca.pem")).expect("tree CA");
        let ca = root.join("ca");
        crate::ca_init(&ca);
        codes
            .iter()
            .map(|code| {
                let dir = root.join(code);
                crate::ca_issue(&ca, code, &dir, &[]);
                bangban_kit::tls::install_crypto_provider();
                let creds = bangban_kit::tls::NodeCredentials::from_pem(
                    &std::fs::read(dir.join("node.pem")).expect("cert"),
                    &std::fs::read(dir.join("node.key")).expect("key"),
                    &trusted,
                )
                .expect("credentials");
                bangban_kit::tls::https_client(&creds, Vec::new(), code_of(server)).expect("client")
            })
            .collect()
    }

    /// The Prometheus text of `code`'s `/metrics`, once its database gauges have been read
    /// after this call: a scrape never reads the database, and the tree's nodes run
    /// `refresh-gauges` every second, so the counts are never older than the call.
    pub async fn metrics(&mut self, code: &str) -> String {
        let since = time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000;
        let refreshed =
            format!("bangban_job_last_run_ms{{station=\"{code}\",job=\"refresh-gauges\"}} ");
        let ui = self.node(code).ui.clone();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let text = self
                .http
                .get(format!("{ui}/metrics"))
                .send()
                .await
                .expect("metrics")
                .text()
                .await
                .expect("metrics text");
            let fresh = text
                .lines()
                .find_map(|l| l.strip_prefix(&refreshed))
                .and_then(|at| at.parse::<i128>().ok())
                .is_some_and(|at| at >= since);
            if fresh {
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "{code} did not refresh its gauges: {text}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// A client presenting the certificate of `code` (from this tree's CA) to the inter-node API
    /// of `server` (the only identity it accepts from the other end).
    pub fn peer_client(&self, code: &str, server: &str) -> reqwest::Client {
        let dir = &self.nodes.get(code).expect("node").tls_dir;
        bangban_kit::tls::install_crypto_provider();
        let creds = bangban_kit::tls::NodeCredentials::load(
            &dir.join("node.pem"),
            &dir.join("node.key"),
            &dir.join("ca.pem"),
        )
        .expect("credentials");
        bangban_kit::tls::https_client(&creds, Vec::new(), code_of(server)).expect("client")
    }
}

impl Tree {
    /// Sends `raw` (a request head and as much of its body as the test wants) to the inter-node
    /// listener of `server` over mutual TLS as `code`, and returns what the server answered
    /// within five seconds, as text. For requests a well-behaved client cannot send, such as a
    /// body that announces more than the limit and stops.
    pub async fn raw_internode(&self, code: &str, server: &str, raw: &[u8]) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let dir = &self.nodes.get(code).expect("node").tls_dir;
        bangban_kit::tls::install_crypto_provider();
        let creds = bangban_kit::tls::NodeCredentials::load(
            &dir.join("node.pem"),
            &dir.join("node.key"),
            &dir.join("ca.pem"),
        )
        .expect("credentials");
        let config = bangban_kit::tls::client_config(&creds, Vec::new(), code_of(server))
            .expect("client config");
        let api = self
            .nodes
            .get(server)
            .expect("server")
            .api
            .clone()
            .expect("api");
        let addr = api.trim_start_matches("https://");
        let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let name = rustls_name("127.0.0.1");
        let mut tls = tokio_rustls::TlsConnector::from(config)
            .connect(name, tcp)
            .await
            .expect("handshake");
        tls.write_all(raw).await.expect("write the request");
        tls.flush().await.expect("flush");
        let mut answer = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), tls.read_to_end(&mut answer)).await;
        String::from_utf8_lossy(&answer).into_owned()
    }
}

fn rustls_name(host: &str) -> tokio_rustls::rustls::pki_types::ServerName<'static> {
    tokio_rustls::rustls::pki_types::ServerName::try_from(host.to_owned()).expect("server name")
}

fn code_of(code: &str) -> bangban_domain::station::StationCode {
    bangban_domain::station::StationCode::parse(code).expect("station code")
}

/// The config of node `code` in a test tree: its UI and inter-node ports, its parent's
/// inter-node URL, the district's database URL (used by the district only).
pub fn node_config(
    code: &str,
    ui: u16,
    api: Option<u16>,
    parent_api: Option<&str>,
    parent_extra: &str,
    district_url: &str,
) -> String {
    let ws = workspace();
    let is_district = code == DISTRICT;
    let mut c = format!(
        "[node]\ncode = \"{code}\"\nname = \"测试站点 {code}\"\n[http]\nlisten = \"127.0.0.1:{ui}\"\n"
    );
    if is_district {
        c.push_str(&format!("[database]\nurl = \"{district_url}\"\n"));
    } else {
        c.push_str("[database]\npath = \"node.sqlite\"\n");
        if let Some(p) = parent_api {
            c.push_str(&format!("[parent]\nurl = \"{p}\"\n{parent_extra}"));
        }
    }
    if let Some(a) = api {
        c.push_str(&format!("[internode]\nlisten = \"127.0.0.1:{a}\"\n"));
    }
    c.push_str("[tls]\ncert = \"tls/node.pem\"\nkey = \"tls/node.key\"\nca = \"tls/ca.pem\"\n");
    // Every second, so that `Tree::metrics` waits little for a fresh reading; reconciliation
    // every 5 seconds, so that every cross-tier test runs it beside its own traffic.
    // (The [policy] section comes last: `Tree::start_with` appends to it.)
    c.push_str("[jobs]\nrefresh_gauges = \"* * * * * *\"\nreconcile = \"*/5 * * * * *\"\n");
    c.push_str(&format!(
        "[policy]\ncalendar = \"{}\"\ntopology = \"{}\"\ncatalogue = \"{}\"\n",
        ws.join("deploy/policy/calendar.json").display(),
        ws.join("deploy/topology/xinhua.json").display(),
        ws.join("deploy/policy/catalogue.json").display()
    ));
    c
}
