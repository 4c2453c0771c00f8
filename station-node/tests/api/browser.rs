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

async fn log_in_as(page: &WebDriver, base: &str, username: &str) -> WebDriverResult<()> {
    page.goto(format!("{base}/login")).await?;
    page.find(By::Id("username"))
        .await?
        .send_keys(username)
        .await?;
    page.find(By::Id("password"))
        .await?
        .send_keys(PASSWORD)
        .await?;
    page.find(By::Css("form[action='/login'] button"))
        .await?
        .click()
        .await?;
    wait_for_path(page, "/start").await
}

/// Sets a `<select>` or text input by id, as a user choosing or typing would.
async fn set(page: &WebDriver, id: &str, value: &str) -> WebDriverResult<()> {
    let el = page.find(By::Id(id)).await?;
    if el.tag_name().await? == "select" {
        page.execute(
            "document.getElementById(arguments[0]).value = arguments[1];",
            vec![json!(id), json!(value)],
        )
        .await?;
    } else {
        el.clear().await?;
        el.send_keys(value).await?;
    }
    Ok(())
}

async fn click(page: &WebDriver, css: &str) -> WebDriverResult<()> {
    page.find(By::Css(css)).await?.click().await
}

/// Saves the step form `kind` of the case page and waits for the page to come back.
async fn save_step(page: &WebDriver, kind: &str) -> WebDriverResult<()> {
    let before = page.find(By::Css("html")).await?;
    click(page, &format!("#f-{kind} button[type=submit]")).await?;
    // Wait until the old document is gone (the 303 or the refusal replaced it).
    let started = Instant::now();
    while before.tag_name().await.is_ok() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{kind} never answered"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

async fn stage(page: &WebDriver) -> WebDriverResult<String> {
    page.find(By::Id("stage")).await?.text().await
}

/// Pages of a PDF made by Chromium: its page objects (`/Type /Page`, not `/Pages`).
fn pdf_pages(pdf: &[u8]) -> usize {
    let needle = b"/Type /Page";
    pdf.windows(needle.len() + 1)
        .filter(|w| &w[..needle.len()] == needle && w[needle.len()] != b's')
        .count()
}

fn save_artefact(name: &str, bytes: &[u8]) {
    std::fs::write(shots().join(name), bytes).unwrap();
}

/// The whole local lifecycle at a village desk, in Chinese at 1366×768: an application with a
/// mistyped ID number refused beside the field; pre-review against the item's checklist; the
/// one-time notice printed (two copies on one A4 page, checked on the W3C print endpoint's
/// PDF); the supplement; a second pre-review; the delegation with a courier address forgotten
/// and then given; the service notice printed; escalation to the town. Then a termination with
/// its printed notice, and an inspector who can read the case but not change it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_case_goes_from_intake_to_escalation_and_another_is_terminated() {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), "");
    add_operator(dir.path()).await;
    crate::helpers::add_account(dir.path(), "jiancha", bangban_kit::auth::Role::Inspector).await;
    let app = spawn_app_in(dir.path()).await;
    let base = app.url.clone();
    let driver = start_driver().await;
    let page = browser(&driver).await;
    let result = async {
        log_in_as(&page, &base, USER).await?;

        // The application, with one digit of the ID number wrong.
        page.goto(format!("{base}/cases/new/application")).await?;
        set(&page, "item_code", "410402-SCJG-001").await?;
        set(&page, "name", "张三丰").await?;
        set(&page, "id_number", "110105194912310021").await?;
        set(&page, "phone", "13812345678").await?;
        shot(&page, "application").await;
        click(&page, "form.apply button[type=submit]").await?;
        let error = page.find(By::Id("id_number-error")).await?.text().await?;
        assert!(error.contains("身份证"), "{error}");
        // What was typed is still there.
        let name = page.find(By::Id("name")).await?.value().await?;
        assert_eq!(name.as_deref(), Some("张三丰"));
        shot(&page, "application-refused").await;
        set(&page, "id_number", "11010519491231002X").await?;
        click(&page, "form.apply button[type=submit]").await?;
        wait_for_text(&page, "材料预审").await?;
        let case_path = page.current_url().await?.path().to_owned();
        assert_eq!(stage(&page).await?, "已受理待预审");
        // The trip of the applicant who came in is counted.
        assert_eq!(page.find(By::Id("visits")).await?.text().await?, "1");
        // Lists and the case page show the name masked.
        let applicant = page.find(By::Id("applicant")).await?.text().await?;
        assert!(!applicant.contains("三丰"), "{applicant}");

        // Pre-review: the item's checklist; a material left without a verdict is refused.
        click(&page, "input[name='m0.verdict'][value=conforming]").await?;
        click(&page, "input[name='m1.verdict'][value=missing]").await?;
        click(&page, "input[name='m3.verdict'][value=not_submitted]").await?;
        save_step(&page, "pre_reviewed").await?;
        wait_for_text(&page, "请为这项材料选择预审结果").await?;
        shot(&page, "pre-review-refused").await;
        click(&page, "input[name='m2.verdict'][value=needs_correction]").await?;
        page.find(By::Css("input[name='m2.remark']"))
            .await?
            .send_keys("复印件不清晰")
            .await?;
        save_step(&page, "pre_reviewed").await?;
        assert_eq!(stage(&page).await?, "材料不全");

        // The one-time notice, then its print: two copies on one A4 page.
        save_step(&page, "one_time_notice_issued").await?;
        assert_eq!(stage(&page).await?, "待补正材料");
        shot(&page, "case-awaiting-supplement").await;
        // The start page counts it among the cases awaiting materials, and leads to them.
        page.goto(format!("{base}/start")).await?;
        assert_eq!(page.find(By::Id("awaiting")).await?.text().await?, "1");
        shot(&page, "start-awaiting").await;
        click(&page, "a.tile[href*=awaiting_supplement]").await?;
        wait_for_path(&page, "/cases").await?;
        page.find(By::Css(format!("a[href='{case_path}']"))).await?;
        page.goto(format!("{base}{case_path}")).await?;
        let notice = page
            .find(By::Css("#prints a[href$='/print/one-time-notice']"))
            .await?
            .attr("href")
            .await?
            .unwrap();
        page.goto(format!("{base}{notice}")).await?;
        let copies = page.find_all(By::Css("section.sheet.half")).await?;
        assert_eq!(copies.len(), 2, "two copies");
        let text = page.find(By::Css("body")).await?.text().await?;
        for expected in ["一次性告知单", "申请人留存联", "受理机关留存联", "食品经营许可申请书", "营业执照"] {
            assert!(text.contains(expected), "{expected} in {text}");
        }
        assert!(text.contains("张三丰"), "the notice names the applicant in full");
        shot(&page, "one-time-notice").await;
        let pdf = page
            .print_page(thirtyfour::common::print::PrintParameters::default())
            .await?;
        save_artefact("one-time-notice.pdf", &pdf);
        assert!(pdf.starts_with(b"%PDF"), "a PDF");
        assert_eq!(pdf_pages(&pdf), 1, "both copies fit on one A4 page");

        // The supplement brings the case back to pre-review; then everything conforms.
        page.goto(format!("{base}{case_path}")).await?;
        save_step(&page, "supplement_received").await?;
        assert_eq!(stage(&page).await?, "已受理待预审");
        assert_eq!(page.find(By::Id("visits")).await?.text().await?, "2");
        for i in 0..3 {
            click(&page, &format!("input[name='m{i}.verdict'][value=conforming]")).await?;
        }
        click(&page, "input[name='m3.verdict'][value=not_submitted]").await?;
        save_step(&page, "pre_reviewed").await?;
        assert_eq!(stage(&page).await?, "材料齐全");

        // The delegation: the courier chosen, the address forgotten.
        click(&page, "#delivery-courier").await?;
        set(&page, "recipient", "张三丰").await?;
        set(&page, "phone", "13812345678").await?;
        click(&page, "input[name=ack]").await?;
        save_step(&page, "delegation_signed").await?;
        wait_for_text(&page, "此项必须填写").await?;
        shot(&page, "delegation-refused").await;
        set(&page, "address", "河南省平顶山市新华区曙光街1号").await?;
        save_step(&page, "delegation_signed").await?;
        assert_eq!(stage(&page).await?, "已签委托");
        let prints = page.find(By::Id("prints")).await?.text().await?;
        assert!(prints.contains("代办服务委托书") && prints.contains("帮办代办服务告知书"), "{prints}");
        for form in ["delegation", "service-notice"] {
            page.goto(format!("{base}{case_path}/print/{form}")).await?;
            shot(&page, form).await;
            let pdf = page
                .print_page(thirtyfour::common::print::PrintParameters::default())
                .await?;
            save_artefact(&format!("{form}.pdf"), &pdf);
            assert_eq!(pdf_pages(&pdf), 1, "{form} fits on one A4 page");
        }
        let text = page.find(By::Css("body")).await?.text().await?;
        assert!(text.contains("委托人职责"), "{text}");

        // Escalation to the town: the village no longer holds the case.
        page.goto(format!("{base}{case_path}")).await?;
        page.execute("document.querySelector('#f-escalated').closest('details').open = true;", Vec::new()).await?;
        set(&page, "to_tier", "town").await?;
        set(&page, "escalate_reason", "需到镇便民服务中心现场核验").await?;
        save_step(&page, "escalated").await?;
        assert_eq!(stage(&page).await?, "已上报待接收");
        let steps = page.find(By::Id("steps")).await?.text().await?;
        assert!(steps.contains("其他站点承办"), "{steps}");
        shot(&page, "case-escalated").await;

        // A second case, terminated with its written reason, and the printed notice.
        page.goto(format!("{base}/cases/new/application")).await?;
        set(&page, "item_code", "410402-SCJG-001").await?;
        set(&page, "name", "李四").await?;
        set(&page, "id_number", "11010519491231002X").await?;
        set(&page, "phone", "13912345678").await?;
        // The session expires while the form is open: after logging in again, the operator is
        // back on the form with what they typed.
        page.delete_cookie("bangban_session").await?;
        page.add_cookie(thirtyfour::Cookie::new("bangban_session", "expired-session"))
            .await?;
        click(&page, "form.apply button[type=submit]").await?;
        wait_for_path(&page, "/login").await?;
        wait_for_text(&page, "登录已失效").await?;
        page.find(By::Id("username")).await?.send_keys(USER).await?;
        page.find(By::Id("password")).await?.send_keys(PASSWORD).await?;
        click(&page, "form[action='/login'] button").await?;
        wait_for_path(&page, "/cases/new/application").await?;
        page.find(By::Id("draft-restored")).await?;
        assert_eq!(page.find(By::Id("name")).await?.value().await?.as_deref(), Some("李四"));
        assert_eq!(
            page.find(By::Id("item_code")).await?.value().await?.as_deref(),
            Some("410402-SCJG-001")
        );
        shot(&page, "application-restored").await;
        click(&page, "form.apply button[type=submit]").await?;
        wait_for_text(&page, "材料预审").await?;
        let second = page.current_url().await?.path().to_owned();
        page.execute("document.querySelector('#f-terminated').closest('details').open = true;", Vec::new()).await?;
        click(&page, "#f-terminated input[name=reason][value=client_withdrew]").await?;
        // Blanks pass the browser's own check; the server refuses them.
        set(&page, "written_reason", "   ").await?;
        save_step(&page, "terminated").await?;
        wait_for_text(&page, "此项必须填写").await?;
        page.execute("document.querySelector('#f-terminated').closest('details').open = true;", Vec::new()).await?;
        set(&page, "written_reason", "委托人书面申请撤回").await?;
        save_step(&page, "terminated").await?;
        assert_eq!(stage(&page).await?, "已终止");
        page.goto(format!("{base}{second}/print/termination")).await?;
        let text = page.find(By::Css("body")).await?.text().await?;
        assert!(text.contains("终止代办服务告知书") && text.contains("委托人书面申请撤回"), "{text}");
        shot(&page, "termination-notice").await;
        let pdf = page
            .print_page(thirtyfour::common::print::PrintParameters::default())
            .await?;
        save_artefact("termination-notice.pdf", &pdf);
        assert_eq!(pdf_pages(&pdf), 1, "the termination notice fits on one A4 page");
        // The same case in English.
        page.goto(format!("{base}{second}?lang=en")).await?;
        assert_eq!(stage(&page).await?, "Terminated");
        let text = page.find(By::Css("main")).await?.text().await?;
        assert!(text.contains("Termination ground") && text.contains("The client asked in writing"), "{text}");
        shot(&page, "case-terminated-en").await;
        page.goto(format!("{base}{second}?lang=zh")).await?;

        // The inspector reads the case and has no form, and a forged step is refused.
        page.goto(format!("{base}/start")).await?;
        page.find(By::Css("form[action='/logout'] button")).await?.click().await?;
        wait_for_path(&page, "/login").await?;
        log_in_as(&page, &base, "jiancha").await?;
        page.goto(format!("{base}{second}")).await?;
        let steps = page.find(By::Id("steps")).await?.text().await?;
        assert!(steps.contains("只能查看"), "{steps}");
        assert!(page.find_all(By::Css("#steps form")).await?.is_empty());
        shot(&page, "case-inspector").await;
        let status = page
            .execute(
                "const csrf = document.querySelector(\"form[action='/logout'] input[name=csrf]\").value;
                 return fetch(location.pathname + '/steps', {method: 'POST',
                   headers: {'Content-Type': 'application/x-www-form-urlencoded'},
                   body: 'csrf=' + encodeURIComponent(csrf) + '&kind=commented&text=x&event_id=0190a5b4-0000-7000-8000-000000000001'})
                   .then(r => r.status);",
                Vec::new(),
            )
            .await?
            .json()
            .clone();
        assert_eq!(status, json!(403));
        Ok::<(), WebDriverError>(())
    }
    .await;
    page.quit().await.unwrap();
    result.unwrap();
    app.stop().await;
}
