//! Agents filed through the registry's API and a bundle published on the district's screen
//! reach a village through its town.

use super::*;

/// The value of the first hidden field `name` of a page.
fn hidden(html: &str, name: &str) -> String {
    let needle = format!("name=\"{name}\" value=\"");
    let at = html
        .find(&needle)
        .unwrap_or_else(|| panic!("no {name}: {html}"))
        + needle.len();
    html[at..].split('"').next().unwrap().to_owned()
}

async fn published_from_the_screen(district_db: DistrictDb) {
    let root = tempfile::tempdir().unwrap();
    let (key, public) = keygen(&root.path().join("key"));
    let mut tree = Tree::start_with(
        root.path(),
        &[DISTRICT, TOWN, VILLAGE],
        district_db,
        &pins(&[&public]),
    )
    .await;
    // The district signs with its key and has an administrator.
    {
        let district = &mut tree.node(DISTRICT).node;
        district.stop();
        let mut config = std::fs::read_to_string(&district.config).unwrap();
        config.push_str(&format!("\n[publish]\nkey = \"{}\"\n", key.display()));
        std::fs::write(&district.config, config).unwrap();
        let config = district.config.display().to_string();
        run(
            "district-node",
            &[
                "--config",
                &config,
                "user",
                "add",
                "--username",
                "policyadmin",
                "--display-name",
                "区级管理员",
                "--role",
                "district_admin",
                "--password",
                bangban_tests::PASSWORD,
            ],
        );
        district.spawn();
        district.wait_ready(Duration::from_secs(30)).await;
    }
    let ui = tree.nodes[DISTRICT].node.ui_url.clone();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let token: Value = http
        .post(format!("{ui}/api/v1/login"))
        .json(&json!({"username": "policyadmin", "password": bangban_tests::PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["token"].as_str().unwrap().to_owned();
    // Two agents filed at the village through the registry's API.
    for n in [1, 2] {
        let res = http
            .post(format!("{ui}/api/v1/policy/agents"))
            .bearer_auth(&token)
            .json(&json!({
                "name": format!("代办员{n}"), "id_number": resident_id(n),
                "phone": "13812345678", "centre": VILLAGE, "role": "assisting_agent",
                "badge_no": format!("WEB-{n:03}"), "filed_on": "2026-03-01",
            }))
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success(), "{}", res.text().await.unwrap());
    }
    // The publish screen, as a browser uses it.
    let res = http
        .post(format!("{ui}/login"))
        .header("sec-fetch-site", "same-origin")
        .form(&[
            ("username", "policyadmin"),
            ("password", bangban_tests::PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let cookie = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
        .find(|v| v.starts_with("bangban_session="))
        .unwrap();
    let page = http
        .get(format!("{ui}/policy/publish"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("WEB-001 代办员1"), "{page}");
    let res = http
        .post(format!("{ui}/policy/publish"))
        .header("cookie", &cookie)
        .header("sec-fetch-site", "same-origin")
        .form(&[
            ("csrf", hidden(&page, "csrf").as_str()),
            ("seen", hidden(&page, "seen").as_str()),
            ("summary", "登记第一批帮办代办员"),
            ("expires_days", "90"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());

    // In force on the district at once, and at the village (through its town) within a pull,
    // with its own two agents.
    let district = policy_line(&ui).await;
    assert!(
        district["detail"]
            .as_str()
            .unwrap()
            .contains("bundle 1 in force"),
        "{district}"
    );
    let village = wait_policy(&tree.nodes[VILLAGE].node, Duration::from_secs(15), |d| {
        d.contains("bundle 1 in force")
    })
    .await;
    assert!(village.contains("2 agent(s) of this centre"), "{village}");
    let town = wait_policy(&tree.nodes[TOWN].node, Duration::from_secs(5), |d| {
        d.contains("bundle 1 in force")
    })
    .await;
    assert!(town.contains("0 agent(s) of this centre"), "{town}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bundle_published_on_the_district_screen_reaches_a_village_on_sqlite() {
    published_from_the_screen(DistrictDb::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bundle_published_on_the_district_screen_reaches_a_village_on_postgresql() {
    published_from_the_screen(DistrictDb::Postgres).await;
}
