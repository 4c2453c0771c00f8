//! The web UI of a station through a real listener, as a browser would use it without
//! JavaScript: cookies by hand, forms as `application/x-www-form-urlencoded`, no redirects
//! followed.

use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Client, Response, StatusCode};

use crate::helpers::{PASSWORD, USER, add_operator, spawn_app_in, write_config};

fn browser() -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn location(res: &Response) -> &str {
    res.headers()[LOCATION].to_str().unwrap()
}

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

/// The value of the first `name="csrf"` hidden field of a page.
fn csrf_of(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").unwrap() + "name=\"csrf\" value=\"".len();
    html[at..].split('"').next().unwrap().to_owned()
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

    let res = http
        .get(format!("{base}/start"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
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
    let still = http
        .get(format!("{base}/start"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
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
    let res = http
        .get(format!("{base}/start"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
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
    let html = http
        .get(format!("{}/login", app.url))
        .header(COOKIE, cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
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
