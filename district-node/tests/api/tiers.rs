//! The district's own parts: its tables next to kit's, and `GET /api/v1/tiers`.

use std::path::Path;

use bangban_kit::auth::{AuthStore, NewOperator, Role};
use serde_json::{Value, json};

const PASSWORD: &str = "district-admin-2026";

fn write_config(dir: &Path) -> std::path::PathBuf {
    let deploy = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy");
    let file = dir.join("district.toml");
    std::fs::write(
        &file,
        format!(
            "[node]\ncode = \"410402000000\"\nname = \"新华区政务服务中心\"\n\
             [database]\nurl = \"sqlite://district.sqlite\"\n\
             [policy]\ntopology = \"{}\"\n",
            deploy.join("topology/xinhua.json").display()
        ),
    )
    .unwrap();
    file
}

#[tokio::test]
async fn the_district_lists_the_tree_in_force_and_keeps_its_own_migrations() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_config(dir.path());
    let config = district_node::Settings::load(Some(&file))
        .unwrap()
        .check(Some(&file))
        .unwrap();
    let db = district_node::open_db(&config).await.unwrap();
    // The district's bookkeeping is its own, beside kit's.
    for table in ["_sqlx_migrations", "_district_migrations"] {
        sqlx::query(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
            .fetch_one(db.pool())
            .await
            .unwrap_or_else(|e| panic!("{table}: {e}"));
    }
    AuthStore::new(db.clone())
        .create_operator(
            NewOperator {
                username: "admin".into(),
                display_name: "区管理员".into(),
                role: Role::DistrictAdmin,
                password: PASSWORD.into(),
            },
            time::OffsetDateTime::now_utc(),
        )
        .await
        .unwrap();
    db.close().await;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(district_node::serve(config, listener, async move {
        let _ = rx.await;
    }));
    let http = reqwest::Client::new();
    let res = http
        .get(format!("{base}/api/v1/tiers"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401, "the tree is for logged-in operators");
    let login: Value = http
        .post(format!("{base}/api/v1/login"))
        .json(&json!({"username": "admin", "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["token"].as_str().unwrap();
    let res = http
        .get(format!("{base}/api/v1/tiers"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let tiers: Value = res.json().await.unwrap();
    let centres = tiers["centres"].as_array().unwrap();
    // The real district: 1 + 11 + 66.
    assert_eq!(
        (tiers["towns"].as_u64(), tiers["villages"].as_u64()),
        (Some(11), Some(66))
    );
    assert_eq!(centres.len(), 78);
    assert_eq!(centres[0]["code"], "410402000000");
    assert_eq!(centres[0]["tier"], "district");
    assert_eq!(centres[0]["parent"], Value::Null);
    assert_eq!(tiers["generation"], 1);
    let village = centres
        .iter()
        .find(|c| c["code"] == "410402001001")
        .unwrap();
    assert_eq!(village["parent"], "410402001000");
    assert_eq!(village["tier"], "village");
    // Codes in order: each town comes right before its own villages.
    let codes: Vec<&str> = centres
        .iter()
        .map(|c| c["code"].as_str().unwrap())
        .collect();
    assert!(codes.windows(2).all(|w| w[0] < w[1]), "{codes:?}");
    // The district's own route joins the node's OpenAPI document, with the shared responses.
    let doc: Value = http
        .get(format!("{base}/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let tiers_op = &doc["paths"]["/api/v1/tiers"]["get"];
    assert!(tiers_op["responses"]["200"].is_object(), "{tiers_op}");
    assert!(tiers_op["responses"]["401"].is_object(), "{tiers_op}");
    assert!(doc["components"]["schemas"]["Tiers"].is_object());
    assert!(
        doc["paths"]["/api/v1/cases"].is_object(),
        "kit's routes are there too"
    );
    tx.send(()).unwrap();
    task.await.unwrap().unwrap();
}
