//! The record of published bundles (`policy::published`) on SQLite and on PostgreSQL: numbers
//! only grow, a bundle and its rosters are recorded together or not at all, what does not
//! verify is refused, and the district puts the latest in force on itself.

use bangban_domain::agent::Agent;
use bangban_domain::calendar::WorkingCalendar;
use bangban_domain::catalogue::Catalogue;
use bangban_domain::station::StationCode;
use bangban_domain::topology::Topology;
use bangban_kit::db::Db;
use bangban_kit::policy::bundle::{BundleError, BundlePayload, SigningKey};
use bangban_kit::policy::roster::verify_roster;
use bangban_kit::policy::{Policy, PolicyHandle};
use district_node::policy::published::{Published, PublishedError, put_in_force, sign_rosters};
use time::{Duration, OffsetDateTime};

const DISTRICT: &str = "410402000000";
const TOWN: &str = "410402001000";
const VILLAGE: &str = "410402001001";

fn deploy(path: &str) -> String {
    std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../deploy")
            .join(path),
    )
    .unwrap()
}

fn code(s: &str) -> StationCode {
    StationCode::parse(s).unwrap()
}

fn tree() -> Topology {
    Topology::from_json(&deploy("topology/xinhua.json")).unwrap()
}

fn bundle(key: &SigningKey, number: u64) -> (BundlePayload, Vec<u8>) {
    let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
    let payload = BundlePayload {
        district: code(DISTRICT),
        number,
        issued_at: now - Duration::minutes(1),
        expires_at: now + Duration::days(30),
        topology: tree(),
        catalogue: Catalogue::from_json(&deploy("policy/catalogue.json")).unwrap(),
        calendar: WorkingCalendar::from_json(&deploy("policy/calendar.json")).unwrap(),
    };
    let envelope = key.sign_envelope(&payload.to_bytes().unwrap());
    (payload, envelope)
}

fn agent(centre: &str, badge: &str, id: &str) -> Agent {
    serde_json::from_value(serde_json::json!({
        "name": "王芳", "id_number": id, "phone": "13812345678", "centre": centre,
        "role": "assisting_agent", "badge_no": badge, "filed_on": "2026-03-01",
        "status": "active",
    }))
    .unwrap()
}

async fn sqlite_db(dir: &std::path::Path) -> Db {
    let db = Db::connect(&bangban_kit::db::sqlite_url(&dir.join("d.sqlite")))
        .await
        .unwrap();
    db.migrate_with(&[&district_node::MIGRATIONS])
        .await
        .unwrap();
    db
}

async fn postgres_db() -> Db {
    let admin = std::env::var("PG_TEST_URL")
        .expect("PG_TEST_URL is not set: run ./scripts/test.sh, which starts a PostgreSQL server");
    let name = format!("bangban_published_{}", uuid::Uuid::now_v7().simple());
    let admin_db = Db::connect(&admin).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(admin_db.pool())
        .await
        .unwrap();
    admin_db.close().await;
    let mut url = url::Url::parse(&admin).unwrap();
    url.set_path(&format!("/{name}"));
    let db = Db::connect(url.as_str()).await.unwrap();
    db.migrate_with(&[&district_node::MIGRATIONS])
        .await
        .unwrap();
    db
}

async fn rosters_count(db: &Db) -> i64 {
    use sqlx::Row as _;
    sqlx::query("SELECT COUNT(*) AS n FROM policy_rosters")
        .fetch_one(db.pool())
        .await
        .unwrap()
        .try_get("n")
        .unwrap()
}

async fn contract(db: Db) {
    let key = SigningKey::generate().unwrap();
    let published = Published::new(db.clone()).with_keys(vec![key.public_key()]);
    assert!(published.latest().await.unwrap().is_none());
    assert_eq!(published.last_number().await.unwrap(), None);

    let agents = [
        agent(VILLAGE, "B1", "11010519491231002X"),
        agent(TOWN, "B2", "110105195001010039"),
    ];
    let (p1, b1) = bundle(&key, 1);
    let rosters = sign_rosters(&key, &tree(), 1, p1.issued_at, p1.expires_at, &agents).unwrap();
    // One roster per town and village of the tree, empty ones included; none for the district.
    let stations = tree().stations().count();
    assert_eq!(rosters.len(), stations - 1);
    assert!(rosters.iter().all(|(s, _)| *s != code(DISTRICT)));
    let village = &rosters.iter().find(|(s, _)| *s == code(VILLAGE)).unwrap().1;
    let verified = verify_roster(
        village,
        &[key.public_key()],
        code(DISTRICT),
        code(VILLAGE),
        1,
    )
    .unwrap();
    assert_eq!(verified.agents.len(), 1);
    assert_eq!(verified.agents[0].badge_no, "B1");
    let sibling = &rosters
        .iter()
        .find(|(s, _)| *s == code("410402001002"))
        .unwrap()
        .1;
    let empty = verify_roster(
        sibling,
        &[key.public_key()],
        code(DISTRICT),
        code("410402001002"),
        1,
    )
    .unwrap();
    assert!(empty.agents.is_empty());

    assert_eq!(
        published
            .record(&b1, &rosters, "张三", "首次发布")
            .await
            .unwrap(),
        1
    );
    let latest = published.latest().await.unwrap().unwrap();
    assert_eq!(latest.number, 1);
    assert_eq!(latest.envelope, b1, "the exact bytes");
    assert_eq!(latest.published_by, "张三");
    assert_eq!(latest.summary, "首次发布");
    assert_eq!(latest.expires_at, p1.expires_at);
    let set = published.rosters(1).await.unwrap();
    assert_eq!(set.envelope_of(code(VILLAGE)).unwrap(), *village);
    let recorded = rosters_count(&db).await;
    assert_eq!(recorded, i64::try_from(rosters.len()).unwrap());

    // The same number again, or a lower one: refused, nothing added.
    let (_, again) = bundle(&key, 1);
    assert!(matches!(
        published.record(&again, &[], "张三", "").await,
        Err(PublishedError::NotNewer { number: 1, last: 1 })
    ));
    // A tampered bundle: refused.
    let (_, mut b2) = bundle(&key, 2);
    let at = b2.len() / 2;
    b2[at] = if b2[at] == b'A' { b'B' } else { b'A' };
    assert!(matches!(
        published.record(&b2, &[], "张三", "").await,
        Err(PublishedError::Bundle(_))
    ));
    // A roster of another number: the whole record is refused, the bundle too.
    let (p2, b2) = bundle(&key, 2);
    let stale = sign_rosters(&key, &tree(), 1, p2.issued_at, p2.expires_at, &agents).unwrap();
    assert!(matches!(
        published.record(&b2, &stale, "张三", "").await,
        Err(PublishedError::Roster {
            error: BundleError::RosterNumber { .. },
            ..
        })
    ));
    assert_eq!(published.last_number().await.unwrap(), Some(1));
    assert_eq!(rosters_count(&db).await, recorded);

    // The district puts the latest in force on itself, once.
    let handle = PolicyHandle::new(Policy::default());
    let me = code(DISTRICT);
    let pinned = [key.public_key()];
    assert_eq!(
        put_in_force(&published, &handle, me, &pinned)
            .await
            .unwrap(),
        Some(1)
    );
    assert_eq!(handle.current().bundle, Some(1));
    assert_eq!(
        put_in_force(&published, &handle, me, &pinned)
            .await
            .unwrap(),
        None
    );
    assert_eq!(handle.report().expires_at, Some(p1.expires_at));

    // Bundle 2, recorded by a process that does not check (no keys), signed by a stranger:
    // the district refuses it and stays on 1.
    let stranger = SigningKey::generate().unwrap();
    let (_, b2) = bundle(&stranger, 2);
    Published::new(db.clone())
        .record(&b2, &[], "某人", "")
        .await
        .unwrap();
    assert!(
        put_in_force(&published, &handle, me, &pinned)
            .await
            .is_err()
    );
    assert_eq!(handle.current().bundle, Some(1));
    assert_eq!(
        handle.report().last_refusal.unwrap().code,
        "policy_bundle.unknown_key"
    );

    let history = published.history(10).await.unwrap();
    assert_eq!(
        history.iter().map(|b| b.number).collect::<Vec<_>>(),
        vec![2, 1]
    );
    db.close().await;
}

#[tokio::test]
async fn published_bundles_keep_their_contract_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    contract(sqlite_db(dir.path()).await).await;
}

#[tokio::test]
async fn published_bundles_keep_their_contract_on_postgres() {
    contract(postgres_db().await).await;
}
