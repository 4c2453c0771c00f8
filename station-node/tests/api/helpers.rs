use std::path::Path;

use station_node::{Config, Settings};
use tokio::sync::oneshot;

/// A running node on a port-0 listener; shuts down when dropped.
pub struct TestApp {
    pub url: String,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl TestApp {
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

pub fn write_config(dir: &Path, extra: &str) -> std::path::PathBuf {
    let file = dir.join("station.toml");
    let deploy = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy");
    let calendar = deploy.join("policy/calendar.json");
    let catalogue = deploy.join("policy/catalogue.json");
    std::fs::write(
        &file,
        format!(
            "[node]\ncode = \"410402001001\"\nname = \"曙光街第1社区\"\n\
             [database]\npath = \"station.sqlite\"\n\
             [policy]\ncalendar = \"{}\"\ncatalogue = \"{}\"\n{extra}",
            calendar.display(),
            catalogue.display()
        ),
    )
    .unwrap();
    file
}

pub fn load(file: &Path) -> Config {
    Settings::load(Some(file))
        .unwrap()
        .check(Some(file))
        .unwrap()
}

pub const USER: &str = "wangfang";
pub const PASSWORD: &str = "correct-horse-2026";

/// Creates the test operator in the node's database (cheap argon2 parameters: tests only).
pub async fn add_operator(dir: &Path) {
    add_account(dir, USER, bangban_kit::auth::Role::StationOperator).await;
}

/// Creates an account with `role` and the test password (cheap argon2 parameters: tests only).
pub async fn add_account(dir: &Path, username: &str, role: bangban_kit::auth::Role) {
    let config = load(&dir.join("station.toml"));
    let db = station_node::open_db(&config).await.unwrap();
    let auth = bangban_kit::auth::AuthStore::with_argon2_params(
        db.clone(),
        argon2::Params::new(1024, 1, 1, None).unwrap(),
    );
    auth.create_operator(
        bangban_kit::auth::NewOperator {
            username: username.into(),
            display_name: "王芳".into(),
            role,
            password: PASSWORD.into(),
        },
        time::OffsetDateTime::now_utc(),
    )
    .await
    .unwrap();
    db.close().await;
}

/// Starts a node whose config and database live in `dir` (reusing what is there).
pub async fn spawn_app_in(dir: &Path) -> TestApp {
    let file = dir.join("station.toml");
    if !file.exists() {
        write_config(dir, "");
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    spawn_app_on(dir, listener).await
}

/// Starts a node whose config and database live in `dir` on `listener` (which may listen on
/// every interface); its URL names 127.0.0.1 and the scheme `http.tls` gives.
pub async fn spawn_app_on(dir: &Path, listener: tokio::net::TcpListener) -> TestApp {
    let config = load(&dir.join("station.toml"));
    let url = format!(
        "{}://127.0.0.1:{}",
        config.ui_tls.scheme(),
        listener.local_addr().unwrap().port()
    );
    let (tx, rx) = oneshot::channel();
    let task = tokio::spawn(station_node::serve(config, listener, async move {
        let _ = rx.await;
    }));
    TestApp {
        url,
        shutdown: Some(tx),
        task: Some(task),
    }
}

/// A client that behaves like a browser without JavaScript at the web UI: it follows no
/// redirects (the tests read each 303), cookies are sent by hand.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The value of the first hidden field `name` in a page.
pub fn hidden(html: &str, name: &str) -> String {
    let needle = format!("name=\"{name}\" value=\"");
    let at = html.find(&needle).unwrap() + needle.len();
    html[at..].split('"').next().unwrap().to_owned()
}

/// The first CSRF token of a page.
pub fn csrf_of(html: &str) -> String {
    hidden(html, "csrf")
}

/// Where a redirect sends the browser.
pub fn location(res: &reqwest::Response) -> &str {
    res.headers()[reqwest::header::LOCATION].to_str().unwrap()
}
