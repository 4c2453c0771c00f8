//! A district node for page tests: its config, database and policy key in a temporary folder,
//! the real node on a port-0 listener, accounts made in its database, and a browser-like client
//! that logs in through the login form.

use std::path::{Path, PathBuf};

use bangban_kit::auth::{AuthStore, NewOperator, Role};
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Client, StatusCode};

pub const PASSWORD: &str = "district-admin-2026";

pub struct District {
    pub base: String,
    pub config: district_node::Config,
    pub http: Client,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    _dir: tempfile::TempDir,
}

/// The config of a district whose tree, catalogue and calendar are the deploy files, with a
/// policy key made for the test, on `database_url` (`sqlite://district.sqlite` by default).
fn write_config(dir: &Path, database_url: &str) -> PathBuf {
    let deploy = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy");
    district_node::policy::keygen(&dir.join("keys")).unwrap();
    let file = dir.join("district.toml");
    std::fs::write(
        &file,
        format!(
            "[node]\ncode = \"410402000000\"\nname = \"新华区政务服务中心\"\n\
             [database]\nurl = \"{database_url}\"\n\
             [policy]\ntopology = \"{}\"\ncatalogue = \"{}\"\ncalendar = \"{}\"\n\
             [publish]\nkey = \"keys/policy.key\"\n",
            deploy.join("topology/xinhua.json").display(),
            deploy.join("policy/catalogue.json").display(),
            deploy.join("policy/calendar.json").display(),
        ),
    )
    .unwrap();
    file
}

impl District {
    /// Starts a district on SQLite, or on `database_url` when given.
    pub async fn start(database_url: Option<&str>) -> District {
        bangban_kit::tls::install_crypto_provider();
        let dir = tempfile::tempdir().unwrap();
        let file = write_config(
            dir.path(),
            database_url.unwrap_or("sqlite://district.sqlite"),
        );
        let config = district_node::Settings::load(Some(&file))
            .unwrap()
            .check(Some(&file))
            .unwrap();
        let Running { base, stop, task } = serve_config(&file, &[]).await;
        let http = Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        // Ready once the health route answers.
        for _ in 0..200 {
            if http.get(format!("{base}/healthz")).send().await.is_ok() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        District {
            base,
            config,
            http,
            stop: Some(stop),
            task: Some(task),
            _dir: dir,
        }
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
    }

    /// The node's database, opened again (as the node opened it).
    pub async fn db(&self) -> bangban_kit::db::Db {
        district_node::open_db(&self.config).await.unwrap()
    }

    /// Creates an account (cheap argon2 parameters: tests only).
    pub async fn add_account(&self, username: &str, role: Role) {
        let auth = AuthStore::with_argon2_params(
            self.db().await,
            argon2::Params::new(1024, 1, 1, None).unwrap(),
        );
        auth.create_operator(
            NewOperator {
                username: username.into(),
                display_name: "李管理".into(),
                role,
                password: PASSWORD.into(),
            },
            time::OffsetDateTime::now_utc(),
        )
        .await
        .unwrap();
    }

    /// Logs in through the login form; the session cookie.
    pub async fn login(&self, username: &str) -> String {
        let res = self
            .http
            .post(format!("{}/login", self.base))
            .header("sec-fetch-site", "same-origin")
            .form(&[("username", username), ("password", PASSWORD)])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "login of {username}");
        res.headers()
            .get_all(SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
            .find(|v| v.starts_with("bangban_session="))
            .unwrap()
    }

    pub async fn get(&self, path: &str, cookie: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.base))
            .header(COOKIE, cookie)
            .send()
            .await
            .unwrap()
    }

    /// A page's HTML; asserts status 200.
    pub async fn page(&self, path: &str, cookie: &str) -> String {
        let res = self.get(path, cookie).await;
        assert_eq!(res.status(), StatusCode::OK, "GET {path}");
        res.text().await.unwrap()
    }

    /// Posts a form as the browser would (same site, with the session cookie).
    pub async fn post(&self, path: &str, cookie: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.http
            .post(format!("{}{path}", self.base))
            .header(COOKIE, cookie)
            .header("sec-fetch-site", "same-origin")
            .form(form)
            .send()
            .await
            .unwrap()
    }
}

/// A district node started from a config file (see [`serve_config`]).
pub struct Running {
    pub base: String,
    pub stop: tokio::sync::oneshot::Sender<()>,
    pub task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

/// Opens the database of the district configured in `file`, adds `accounts` (password
/// [`PASSWORD`]), and starts the node on a port-0 listener.
pub async fn serve_config(file: &Path, accounts: &[(&str, Role)]) -> Running {
    bangban_kit::tls::install_crypto_provider();
    let config = district_node::Settings::load(Some(file))
        .unwrap()
        .check(Some(file))
        .unwrap();
    let db = district_node::open_db(&config).await.unwrap();
    let auth =
        AuthStore::with_argon2_params(db.clone(), argon2::Params::new(1024, 1, 1, None).unwrap());
    for (username, role) in accounts {
        auth.create_operator(
            NewOperator {
                username: (*username).into(),
                display_name: "区管理员".into(),
                role: *role,
                password: PASSWORD.into(),
            },
            time::OffsetDateTime::now_utc(),
        )
        .await
        .unwrap();
    }
    db.close().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(district_node::serve(config, listener, async move {
        let _ = rx.await;
    }));
    Running { base, stop, task }
}

/// The value of the first hidden field `name` in a page.
pub fn hidden(html: &str, name: &str) -> String {
    let needle = format!("name=\"{name}\" value=\"");
    let at = html
        .find(&needle)
        .unwrap_or_else(|| panic!("no {name} in the page"))
        + needle.len();
    html[at..].split('"').next().unwrap().to_owned()
}

/// Where a redirect sends the browser.
pub fn location(res: &reqwest::Response) -> String {
    res.headers()[LOCATION].to_str().unwrap().to_owned()
}
