//! The web UI of a station through a real listener, as a browser would use it without
//! JavaScript: cookies by hand, forms as `application/x-www-form-urlencoded`, no redirects
//! followed.

use reqwest::header::{COOKIE, SET_COOKIE};
use reqwest::{Client, Response, StatusCode};

use crate::helpers::{PASSWORD, USER, add_operator, spawn_app_in, write_config};
use crate::helpers::{browser, csrf_of, hidden, location};

/// The `bangban_session` value a response sets, with the cookie's attributes.
fn session_set(res: &Response) -> Option<String> {
    res.headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|v| v.starts_with("bangban_session="))
}

fn session_value(set_cookie: &str) -> String {
    set_cookie["bangban_session=".len()..]
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

async fn log_in(http: &Client, base: &str, password: &str, extra_cookie: Option<&str>) -> Response {
    let mut req = http
        .post(format!("{base}/login"))
        .header("sec-fetch-site", "same-origin")
        .form(&[
            ("username", USER),
            ("password", password),
            ("next", "/start"),
        ]);
    if let Some(c) = extra_cookie {
        req = req.header(COOKIE, c);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn an_operator_logs_in_sees_the_start_page_and_logs_out() {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), "");
    add_operator(dir.path()).await;
    let app = spawn_app_in(dir.path()).await;
    let base = &app.url;
    let http = browser();

    // The node's address opens the login page, in Chinese.
    let res = http.get(format!("{base}/")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/login");
    let res = http.get(format!("{base}/start")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/login?next=/start");
    let html = http
        .get(format!("{base}/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("<html lang=\"zh-CN\">"), "{html}");
    assert!(html.contains("工作人员登录"), "{html}");

    // A wrong password: the page again, the username kept, the reason in Chinese.
    let res = log_in(&http, base, "wrong-password-1", None).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(session_set(&res).is_none());
    let html = res.text().await.unwrap();
    assert!(html.contains("用户名或密码错误"), "{html}");
    assert!(html.contains(&format!("value=\"{USER}\"")), "{html}");

    // The right one: a fresh session in an HttpOnly, SameSite=Lax cookie, whatever came in.
    let planted =
        "bangban_session=0000000000000000000000000000000000000000000000000000000000000000";
    let res = log_in(&http, base, PASSWORD, Some(planted)).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/start");
    let set = session_set(&res).unwrap();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Lax"),
        "{set}"
    );
    let token = session_value(&set);
    assert_eq!(token.len(), 64);
    assert!(!planted.ends_with(&token), "a new id at login");
    let cookie = format!("bangban_session={token}");

    let res = get_with(&http, format!("{base}/start"), &cookie).await;
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert!(html.contains("王芳"), "{html}");
    assert!(html.contains("410402001001"), "{html}");
    assert!(
        html.contains("本中心没有上级节点"),
        "a station without a parent says so: {html}"
    );
    let csrf = csrf_of(&html);
    assert_eq!(csrf.len(), 64);
    assert_ne!(csrf, token, "the form token is not the session token");

    // Logging out needs the form's token and a same-site request.
    let logout = |site: &'static str, csrf: String| {
        http.post(format!("{base}/logout"))
            .header(COOKIE, &cookie)
            .header("sec-fetch-site", site)
            .form(&[("csrf", csrf)])
            .send()
    };
    let res = logout("same-origin", String::new()).await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(res.text().await.unwrap().contains("页面已过期或来源不明"));
    let res = logout("cross-site", csrf.clone()).await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let still = get_with(&http, format!("{base}/start"), &cookie).await;
    assert_eq!(
        still.status(),
        StatusCode::OK,
        "a refused form changed nothing"
    );

    let res = logout("same-origin", csrf).await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/login?bye=1");
    assert!(session_set(&res).unwrap().contains("Max-Age=0"));
    // The old cookie is dead: back to the login page, told why.
    let res = get_with(&http, format!("{base}/start"), &cookie).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/login?next=/start&expired=1");
    app.stop().await;
}

#[tokio::test]
async fn english_is_one_click_away_and_remembered_per_browser() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app_in(dir.path()).await;
    let http = browser();
    let res = http
        .get(format!("{}/login?lang=en", app.url))
        .send()
        .await
        .unwrap();
    let lang_cookie = res
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|v| v.starts_with("bangban_lang=en"))
        .expect("the choice is remembered");
    let html = res.text().await.unwrap();
    assert!(
        html.contains("<html lang=\"en\">") && html.contains("Staff login"),
        "{html}"
    );
    let cookie = lang_cookie.split(';').next().unwrap();
    let html = html_of(&http, format!("{}/login", app.url), cookie).await;
    assert!(html.contains("Staff login"), "{html}");
    // Another browser still gets Chinese: the language is never set for the process.
    let html = http
        .get(format!("{}/login", app.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("工作人员登录"), "{html}");
    app.stop().await;
}

#[tokio::test]
async fn a_login_form_from_another_site_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), "");
    add_operator(dir.path()).await;
    let app = spawn_app_in(dir.path()).await;
    let res = browser()
        .post(format!("{}/login", app.url))
        .header("sec-fetch-site", "cross-site")
        .form(&[("username", USER), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(session_set(&res).is_none());
    app.stop().await;
}

#[tokio::test]
async fn cases_are_found_by_number_and_item_and_shown_masked() {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), "");
    add_operator(dir.path()).await;
    let app = spawn_app_in(dir.path()).await;
    let base = &app.url;
    let http = browser();
    // Two applications through the JSON API, then the browser looks for them.
    let login: serde_json::Value = http
        .post(format!("{base}/api/v1/login"))
        .json(&serde_json::json!({"username": USER, "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["token"].as_str().unwrap();
    let items: serde_json::Value = http
        .get(format!("{base}/api/v1/items"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let item = &items["items"][0];
    let mut numbers = Vec::new();
    for (name, id) in [
        ("张三丰", "11010519491231002X"),
        ("李四", "110105194912310038"),
    ] {
        let case: serde_json::Value = http
            .post(format!("{base}/api/v1/cases"))
            .bearer_auth(token)
            .json(
                &serde_json::json!({"kind": "application", "channel": "window",
                "item_code": item["code"], "applicant": {"type": "person", "name": name,
                "id_number": id, "phone": "13812345678"}}),
            )
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(case["case_no"].is_string(), "{case}");
        numbers.push((
            case["case_id"].as_str().unwrap().to_owned(),
            case["case_no"].as_str().unwrap().to_owned(),
        ));
    }
    let cookie = session_value(&session_set(&log_in(&http, base, PASSWORD, None).await).unwrap());
    let cookie = format!("bangban_session={cookie}");
    let page = |path: String| {
        let (http, cookie) = (http.clone(), cookie.clone());
        async move {
            let res = get_with(&http, format!("{base}{path}"), cookie).await;
            (res.status(), res.text().await.unwrap())
        }
    };

    // The start page counts them as today's new cases.
    let (_, html) = page("/start".into()).await;
    assert!(html.contains("id=\"new-today\">2<"), "{html}");
    assert!(html.contains("id=\"overdue\">0<"), "{html}");

    let (status, html) = page("/cases".into()).await;
    assert_eq!(status, StatusCode::OK);
    for (_, no) in &numbers {
        assert!(html.contains(no.as_str()), "{no} listed: {html}");
    }
    assert!(
        html.contains("张**") && !html.contains("张三丰"),
        "names are masked in lists"
    );
    // By one case number: only that case.
    let (_, html) = page(format!("/cases?q={}", numbers[1].1)).await;
    assert!(
        html.contains(numbers[1].1.as_str()) && !html.contains(numbers[0].1.as_str()),
        "{html}"
    );
    // By the item's name, and by a stage with no case.
    let name = item["name"].as_str().unwrap();
    let (_, html) = page(format!("/cases?q={}", url_encode(name))).await;
    assert_eq!(html.matches("<td><a href=\"/cases/").count(), 2, "{html}");
    let (_, html) = page("/cases?stage=completed".into()).await;
    assert!(html.contains("没有符合条件的办件"), "{html}");
    // A stage that does not exist is shown as such, never a 500.
    let (status, html) = page("/cases?stage=bogus&page=abc".into()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("没有这个办件状态"), "{html}");

    // The case's page: its log, the applicant masked, the ID number nowhere.
    let (status, html) = page(format!("/cases/{}", numbers[0].0)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("申请受理登记") || html.contains("受理"),
        "{html}"
    );
    assert!(html.contains("张**"), "{html}");
    assert!(
        !html.contains("11010519491231002X") && !html.contains("13812345678"),
        "{html}"
    );
    let (_, html) = page(format!("/cases/{}?lang=en", numbers[0].0)).await;
    assert!(
        html.contains("Application taken in"),
        "the log in English: {html}"
    );
    let (status, _) = page("/cases/0192f0c1-0000-7000-8000-000000000000".into()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // A mangled address is a page too, not the API's JSON.
    let (status, html) = page("/cases/not-a-case".into()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(html.contains("没有这个办件"), "{html}");
    app.stop().await;
}

#[tokio::test]
async fn a_case_is_found_by_the_full_id_number_and_listed_masked() {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), "");
    add_operator(dir.path()).await;
    let app = spawn_app_in(dir.path()).await;
    let base = &app.url;
    let http = browser();
    let login: serde_json::Value = http
        .post(format!("{base}/api/v1/login"))
        .json(&serde_json::json!({"username": USER, "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["token"].as_str().unwrap();
    let items: serde_json::Value = http
        .get(format!("{base}/api/v1/items"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let item = &items["items"][0];
    // 22 applicants: one page of 20 and a second of 2; the first is the one looked for.
    let mut cases = Vec::new();
    for n in 0..22 {
        let (name, id) = if n == 0 {
            ("欧阳娜娜".to_owned(), "11010519491231002X".to_owned())
        } else {
            let first17 = format!("410402199001{:02}{:03}", n % 28 + 1, n);
            let check = bangban_domain::ident::ResidentId::check_char(&first17).unwrap();
            (format!("李{n}"), format!("{first17}{check}"))
        };
        let case: serde_json::Value = http
            .post(format!("{base}/api/v1/cases"))
            .bearer_auth(token)
            .json(
                &serde_json::json!({"kind": "application", "channel": "window",
                "item_code": item["code"], "applicant": {"type": "person", "name": name,
                "id_number": id, "phone": "13812345678"}}),
            )
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        cases.push(case["case_id"].as_str().unwrap().to_owned());
    }
    let cookie = session_value(&session_set(&log_in(&http, base, PASSWORD, None).await).unwrap());
    let cookie = format!("bangban_session={cookie}");
    let page = |path: String| {
        let (http, cookie) = (http.clone(), cookie.clone());
        async move {
            let res = get_with(&http, format!("{base}{path}"), cookie).await;
            (res.status(), res.text().await.unwrap())
        }
    };
    let rows = |html: &str| html.matches("<td><a href=\"/cases/").count();

    // The full ID number, typed with a space and a lower-case check letter: that case only,
    // its applicant masked; the number is on the page only where the operator typed it.
    let (status, html) = page("/cases?q=110105194912310%2002x".into()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(rows(&html), 1, "{html}");
    assert!(html.contains(&format!("/cases/{}", cases[0])), "{html}");
    assert!(html.contains("<td>欧***</td>"), "{html}");
    assert!(
        !html.contains("欧阳娜娜") && !html.contains("娜娜"),
        "{html}"
    );
    assert!(!html.contains("11010519491231002X"), "{html}");
    assert!(!html.contains("13812345678"), "{html}");
    // Its last 4 characters find it too; another valid ID number finds nothing.
    let (_, html) = page("/cases?q=002X".into()).await;
    assert_eq!(rows(&html), 1, "{html}");
    let (_, html) = page("/cases?q=110105194912310038".into()).await;
    assert_eq!(rows(&html), 0, "{html}");
    assert!(html.contains("没有符合条件的办件"), "{html}");

    // Pages follow each other by keyset links, back and forth, without repeats.
    let (_, first) = page("/cases".into()).await;
    assert_eq!(rows(&first), 20);
    let next = hidden_link(&first, "next").expect("a next page");
    assert!(next.contains("after=") && next.contains("page=2"), "{next}");
    let (_, second) = page(next).await;
    assert_eq!(rows(&second), 2, "{second}");
    assert!(hidden_link(&second, "next").is_none(), "{second}");
    for id in &cases {
        let shown = first.contains(&format!("/cases/{id}\"")) as usize
            + second.contains(&format!("/cases/{id}\"")) as usize;
        assert_eq!(shown, 1, "{id} on exactly one page");
    }
    let prev = hidden_link(&second, "prev").expect("a previous page");
    let (_, again) = page(prev).await;
    assert_eq!(rows(&again), 20);
    // The due filter: nothing is due yet; a value it does not know is said and ignored.
    let (_, html) = page("/cases?due=overdue".into()).await;
    assert_eq!(rows(&html), 0, "{html}");
    let (status, html) = page("/cases?due=someday&after=garbage".into()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("查询条件有误"), "{html}");
    assert_eq!(rows(&html), 20, "{html}");
    app.stop().await;
}

/// The `href` of the pager's link with `rel` (`next`, `prev`), HTML entities undone.
fn hidden_link(html: &str, rel: &str) -> Option<String> {
    let end = html.find(&format!("\" rel=\"{rel}\""))?;
    let start = html[..end].rfind("href=\"")? + "href=\"".len();
    let href = &html[start..end];
    Some(
        href.replace("&#38;", "&")
            .replace("&amp;", "&")
            .replace("&#61;", "="),
    )
}

/// Percent-encodes a query value.
fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[tokio::test]
async fn a_consultation_is_logged_from_its_form_once_even_when_sent_twice() {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), "");
    add_operator(dir.path()).await;
    crate::helpers::add_account(dir.path(), "inspector", bangban_kit::auth::Role::Inspector).await;
    let app = spawn_app_in(dir.path()).await;
    let base = &app.url;
    let http = browser();
    let cookie = format!(
        "bangban_session={}",
        session_value(&session_set(&log_in(&http, base, PASSWORD, None).await).unwrap())
    );
    let html = html_of(&http, format!("{base}/cases/new/consultation"), &cookie).await;
    let (csrf, case_id) = (hidden(&html, "csrf"), hidden(&html, "case_id"));
    let post = |topic: &'static str| {
        http.post(format!("{base}/cases/new/consultation"))
            .header(COOKIE, &cookie)
            .header("sec-fetch-site", "same-origin")
            .form(&[
                ("csrf", csrf.as_str()),
                ("case_id", case_id.as_str()),
                ("channel", "phone"),
                ("topic", topic),
                ("item_code", ""),
                ("answer", "带身份证和户口本到社区办理"),
            ])
            .send()
    };
    let cases = || async {
        let html = html_of(&http, format!("{base}/cases"), &cookie).await;
        html.matches("<td><a href=\"/cases/").count()
    };

    // An empty question: the form again, the answer kept, the reason beside the field.
    let res = post("   ").await.unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(html.contains("id=\"topic-error\""), "{html}");
    assert!(
        html.contains("带身份证和户口本到社区办理"),
        "what was typed stays: {html}"
    );
    assert_eq!(cases().await, 0, "nothing saved");

    // Then right, twice (a double click): one case, and both answers lead to it.
    let first = post("老年人优待证怎么办理？").await.unwrap();
    assert_eq!(first.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&first), format!("/cases/{case_id}"));
    let again = post("老年人优待证怎么办理？").await.unwrap();
    assert_eq!(location(&again), format!("/cases/{case_id}"));
    assert_eq!(cases().await, 1);
    let html = html_of(&http, format!("{base}/cases/{case_id}"), &cookie).await;
    assert!(html.contains("咨询登记"), "{html}");

    // An inspector reads cases but cannot log one.
    let res = http
        .post(format!("{base}/login"))
        .header("sec-fetch-site", "same-origin")
        .form(&[("username", "inspector"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    let inspector = format!(
        "bangban_session={}",
        session_value(&session_set(&res).unwrap())
    );
    let res = get_with(&http, format!("{base}/cases/new/consultation"), &inspector).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let html = html_of(&http, format!("{base}/cases"), &inspector).await;
    assert!(
        !html.contains("/cases/new/consultation"),
        "not offered: {html}"
    );
    app.stop().await;
}

/// A GET with a cookie, as the browser sends it.
async fn get_with(http: &Client, url: String, cookie: impl AsRef<str>) -> Response {
    http.get(url)
        .header(COOKIE, cookie.as_ref())
        .send()
        .await
        .unwrap()
}

/// The page a GET with a cookie answers.
async fn html_of(http: &Client, url: String, cookie: impl AsRef<str>) -> String {
    get_with(http, url, cookie).await.text().await.unwrap()
}
