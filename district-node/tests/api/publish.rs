//! The publish screen through the real node: the difference since the last bundle, the
//! refusals (no summary, a stale page, a bad validity) that sign nothing, and a publication that
//! is recorded, audited and put in force on the district; on SQLite and PostgreSQL.

use bangban_kit::auth::Role;
use district_node::drafts::{Change, Drafts, Section};
use district_node::policy::published::Published;
use reqwest::StatusCode;

use super::web::{District, hidden, location};

async fn publish_flow(district: District) {
    district.add_account("admin", Role::DistrictAdmin).await;
    district.add_account("clerk", Role::StationOperator).await;
    let admin = district.login("admin").await;
    let clerk = district.login("clerk").await;

    // Only district administrators reach the policy pages.
    for path in ["/policy", "/policy/publish", "/policy/audit"] {
        assert_eq!(
            district.get(path, &clerk).await.status(),
            StatusCode::FORBIDDEN,
            "{path}"
        );
    }
    let hub = district.page("/policy", &admin).await;
    assert!(hub.contains("尚未发布政策包"), "{hub}");

    // Seeded from the files in force: nothing to show yet.
    let page = district.page("/policy/publish", &admin).await;
    assert!(page.contains("没有变化"), "{page}");
    assert!(page.contains("签名并发布第1号政策包"));

    // A draft change: the first item goes, the second gets a longer statutory limit.
    let db = district.db().await;
    let drafts = Drafts::new(db.clone());
    let draft = drafts.catalogue().await.unwrap();
    let mut next = draft.doc.clone();
    let removed = next.items.remove(0);
    next.items[0].statutory_days += 5;
    let changed = next.items[0].clone();
    let change = Change::of::<_, ()>(
        "catalogue",
        "item.remove",
        &removed.code,
        Some(&removed),
        None,
    );
    drafts
        .save(
            Section::Catalogue,
            &next,
            draft.revision,
            "admin",
            &[change],
        )
        .await
        .unwrap();
    // Two agents filed at a village.
    let registry = district_node::agents::Registry::new(db.clone());
    let village = "410402001001";
    for (n, name, badge) in [(7, "王芳", "XH-0007"), (8, "李娜", "XH-0008")] {
        let input = district_node::agents::AgentInput {
            name: name.into(),
            id_number: super::registry::resident_id(n),
            phone: format!("1381234{n:04}"),
            centre: village.into(),
            role: "assisting_agent".into(),
            badge_no: badge.into(),
            filed_on: "2026-03-01".into(),
        };
        registry
            .add(&input, "admin", time::macros::date!(2026 - 12 - 01))
            .await
            .unwrap();
    }
    let page = district.page("/policy/publish", &admin).await;
    assert!(page.contains("共4处变化"), "{page}");
    assert!(page.contains("XH-0007 王芳") && page.contains("帮办代办员"));
    assert!(
        !page.contains(&super::registry::resident_id(7)),
        "ID numbers are masked on the page"
    );
    assert!(page.contains(&removed.code) && page.contains("删除"));
    assert!(page.contains(&format!(
        "法定时限：{} → {}",
        changed.statutory_days - 5,
        changed.statutory_days
    )));
    let csrf = hidden(&page, "csrf");
    let seen = hidden(&page, "seen");
    let published = Published::new(db.clone());

    // Refusals sign nothing.
    let res = district
        .post(
            "/policy/publish",
            &admin,
            &[
                ("csrf", &csrf),
                ("seen", &seen),
                ("summary", " "),
                ("expires_days", "365"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = res.text().await.unwrap();
    assert!(body.contains("请填写发布说明"), "{body}");
    let res = district
        .post(
            "/policy/publish",
            &admin,
            &[
                ("csrf", &csrf),
                ("seen", &seen),
                ("summary", "调整时限"),
                ("expires_days", "-3"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("有效天数应为1至"));
    let res = district
        .post(
            "/policy/publish",
            &admin,
            &[
                ("csrf", &csrf),
                ("seen", "0:1"),
                ("summary", "调整时限"),
                ("expires_days", "365"),
            ],
        )
        .await;
    assert_eq!(
        res.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "a stale page"
    );
    assert!(res.text().await.unwrap().contains("打开本页后"));
    assert_eq!(published.last_number().await.unwrap(), None);

    // Published: recorded, in force here, audited, and the difference is gone.
    let res = district
        .post(
            "/policy/publish",
            &admin,
            &[
                ("csrf", &csrf),
                ("seen", &seen),
                ("summary", "调整市场监管事项时限"),
                ("expires_days", "180"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/policy/publish?done=1");
    assert_eq!(published.last_number().await.unwrap(), Some(1));
    let latest = published.latest().await.unwrap().unwrap();
    assert_eq!(latest.published_by, "admin");
    assert!(
        latest.summary.starts_with("调整市场监管事项时限"),
        "{}",
        latest.summary
    );
    let rosters = published.rosters(1).await.unwrap();
    assert_eq!(rosters.rosters.len(), 77, "one roster per town and village");
    let village: bangban_domain::station::StationCode = village.parse().unwrap();
    let roster = bangban_kit::policy::roster::verify_roster(
        &rosters.envelope_of(village).unwrap(),
        &district.config.pinned_keys,
        village.district(),
        village,
        1,
    )
    .unwrap();
    let names: Vec<String> = roster
        .agents
        .iter()
        .map(|a| a.name.as_str().to_owned())
        .collect();
    assert_eq!(names, ["王芳", "李娜"]);
    let page = district.page("/policy/publish?done=1", &admin).await;
    assert!(page.contains("第1号政策包已签名发布"), "{page}");
    assert!(page.contains("与第1号政策包相比的变化"));
    assert!(page.contains("没有变化"));
    let ready: serde_json::Value = district.get("/readyz", &admin).await.json().await.unwrap();
    assert!(ready.to_string().contains("bundle 1 in force"), "{ready}");
    let audit = district.page("/policy/audit?section=bundle", &admin).await;
    assert!(
        audit.contains("bundle.publish") && audit.contains("调整市场监管事项时限"),
        "{audit}"
    );
    db.close().await;
    district.stop().await;
}

#[tokio::test]
async fn publishing_from_the_screen_on_sqlite() {
    publish_flow(District::start(None).await).await;
}

#[tokio::test]
async fn publishing_from_the_screen_on_postgres() {
    let admin_url = std::env::var("PG_TEST_URL")
        .expect("PG_TEST_URL is not set: run ./scripts/test.sh, which starts a PostgreSQL server");
    let name = format!("bangban_publish_{}", uuid::Uuid::now_v7().simple());
    let admin_db = bangban_kit::db::Db::connect(&admin_url).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(admin_db.pool())
        .await
        .unwrap();
    let mut url = url::Url::parse(&admin_url).unwrap();
    url.set_path(&format!("/{name}"));
    publish_flow(District::start(Some(url.as_str())).await).await;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE {name} WITH (FORCE)"
    )))
    .execute(admin_db.pool())
    .await
    .unwrap();
}
