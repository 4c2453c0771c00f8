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
    let calendar = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/policy/calendar.json");
    std::fs::write(
        &file,
        format!(
            "[node]\ncode = \"410402001001\"\nname = \"曙光街第1社区\"\n\
             [database]\npath = \"station.sqlite\"\n\
             [policy]\ncalendar = \"{}\"\n{extra}",
            calendar.display()
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

/// Starts a node whose config and database live in `dir` (reusing what is there).
pub async fn spawn_app_in(dir: &Path) -> TestApp {
    let file = dir.join("station.toml");
    if !file.exists() {
        write_config(dir, "");
    }
    let config = load(&file);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
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
