//! The web UI in a real headless Chromium, driven over WebDriver (chromedriver, started here on
//! a loopback port), at 1366×768 in Chinese: log in, a wrong password, the start page, the
//! case list and a case, a form whose CSRF token was removed, logout. Screenshots of each page
//! are saved under `target/ui-screenshots/` as artefacts.
//!
//! `scripts/test.sh` installs `chromium`, `chromium-driver` and `fonts-wqy-microhei` when they
//! are missing; without them this test fails and says so.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use thirtyfour::prelude::*;

use crate::helpers::{PASSWORD, USER, add_operator, spawn_app_in, write_config};

/// chromedriver on a free loopback port; killed on drop.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn find_program(names: &[&str]) -> PathBuf {
    for name in names {
        for dir in ["/usr/bin", "/usr/lib/chromium", "/usr/local/bin"] {
            let path = Path::new(dir).join(name);
            if path.is_file() {
                return path;
            }
        }
    }
    panic!(
        "{} not found: the browser tests need Debian's chromium and chromium-driver \
         (scripts/test.sh installs them)",
        names.join(" or ")
    );
}

async fn start_driver() -> Driver {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let child = Command::new(find_program(&["chromedriver"]))
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let url = format!("http://127.0.0.1:{port}");
    let driver = Driver { child, url };
    let started = Instant::now();
    loop {
        if let Ok(res) = reqwest::get(format!("{}/status", driver.url)).await
            && res.status().is_success()
        {
            return driver;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "chromedriver did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn browser(driver: &Driver) -> WebDriver {
    let mut caps = DesiredCapabilities::chrome();
    caps.set_binary(find_program(&["chromium"]).to_str().unwrap())
        .unwrap();
    for arg in [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1366,768",
        "--hide-scrollbars",
        "--lang=zh-CN",
    ] {
        caps.add_arg(arg).unwrap();
    }
    WebDriver::new(driver.url.as_str(), caps)
        .await
        .expect("a Chromium session")
}

fn shots() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/ui-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn shot(page: &WebDriver, name: &str) {
    page.screenshot(&shots().join(format!("{name}.png")))
        .await
        .unwrap();
}

async fn log_in(page: &WebDriver, password: &str) {
    let user = page.find(By::Id("username")).await.unwrap();
    user.clear().await.unwrap();
    user.send_keys(USER).await.unwrap();
    page.find(By::Id("password"))
        .await
        .unwrap()
        .send_keys(password)
        .await
        .unwrap();
    page.find(By::Css("form[action='/login'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// Waits (up to 10 s) until the browser has arrived at `path` after a form post.
async fn wait_for_path(page: &WebDriver, path: &str) -> WebDriverResult<()> {
    let started = Instant::now();
    while page.current_url().await?.path() != path {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "never reached {path}: at {}",
            page.current_url().await?
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

/// Waits (up to 10 s) until the page shows `text` after a form post.
async fn wait_for_text(page: &WebDriver, text: &str) -> WebDriverResult<()> {
    let started = Instant::now();
    while !page.source().await?.contains(text) {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the page never showed {text}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_works_through_the_ui_in_a_real_browser() {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), "");
    add_operator(dir.path()).await;
    let app = spawn_app_in(dir.path()).await;
    let base = app.url.clone();
    // A case to find, taken in through the API.
    let http = reqwest::Client::new();
    let login: Value = http
        .post(format!("{base}/api/v1/login"))
        .json(&json!({"username": USER, "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let case: Value = http
        .post(format!("{base}/api/v1/cases"))
        .bearer_auth(login["token"].as_str().unwrap())
        .json(&json!({"kind": "consultation", "channel": "window", "topic": "老年人优待证怎么办"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let case_no = case["case_no"].as_str().unwrap().to_owned();

    let driver = start_driver().await;
    let page = browser(&driver).await;
    let result = async {
        // The node's address opens the login page.
        page.goto(format!("{base}/")).await?;
        assert!(page.current_url().await?.path().ends_with("/login"));
        assert!(page.source().await?.contains("工作人员登录"));
        shot(&page, "login").await;

        log_in(&page, "wrong-password-1").await;
        let error = page.find(By::Id("login-error")).await?.text().await?;
        assert_eq!(error, "用户名或密码错误");
        shot(&page, "login-refused").await;

        log_in(&page, PASSWORD).await;
        wait_for_path(&page, "/start").await?;
        let heading = page.find(By::Css("h1")).await?.text().await?;
        assert!(heading.contains("王芳"), "{heading}");
        shot(&page, "start").await;

        page.find(By::LinkText("办件")).await?.click().await?;
        wait_for_path(&page, "/cases").await?;
        page.find(By::LinkText(&case_no)).await?.click().await?;
        let log = page.find(By::Id("log")).await?.text().await?;
        assert!(log.contains("咨询登记") || log.contains("咨询"), "{log}");
        shot(&page, "case").await;

        // A form whose CSRF token was taken out is refused, and the session stands.
        page.execute(
            "document.querySelector(\"form[action='/logout'] input[name=csrf]\").remove();",
            Vec::new(),
        )
        .await?;
        page.find(By::Css("form[action='/logout'] button"))
            .await?
            .click()
            .await?;
        wait_for_text(&page, "页面已过期或来源不明").await?;
        shot(&page, "csrf-refused").await;
        page.goto(format!("{base}/start")).await?;
        assert_eq!(page.current_url().await?.path(), "/start");

        // Logging out for real ends the session.
        page.find(By::Css("form[action='/logout'] button"))
            .await?
            .click()
            .await?;
        wait_for_path(&page, "/login").await?;
        let notice = page.find(By::Css("p.notice")).await?.text().await?;
        assert_eq!(notice, "您已安全退出。");
        shot(&page, "logged-out").await;
        page.goto(format!("{base}/start")).await?;
        assert!(page.current_url().await?.path().ends_with("/login"));
        Ok::<(), WebDriverError>(())
    }
    .await;
    page.quit().await.unwrap();
    result.unwrap();
    app.stop().await;
}
