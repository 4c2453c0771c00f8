//! Render time of the station's web UI with a million cases: the start page, the case list
//! (first page, deep pages, searches, filters) and case pages, served by a real station-node
//! process over HTTP on loopback to a browser-like client with a real session cookie.
//!
//!   cargo build --release -p station-node -p bangban-tests
//!   target/release/bench-web [CASES] [REQUESTS]      (defaults 1000000 and 300)
//!
//! The database is generated once through the store's own append path (batched transactions,
//! `synchronous = OFF` while generating) and cached as
//! `<target>/bench-web/station-<CASES>.sqlite`; later runs reuse it. Before timing, a few
//! cases are folded from their logs and compared with their stored rows.
//!
//! Longer than our ~600 lines: a benchmark binary cannot share the store tests' support modules,
//! so it carries its own generator; it is not library code.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bangban_domain::calendar::{WorkingCalendar, local_date};
use bangban_domain::event::*;
use bangban_domain::ident::{CreditCode, MobileNumber, ResidentId};
use bangban_domain::station::{StationCode, Tier};
use bangban_kit::db::{Db, sqlite_url};
use bangban_kit::store::{Admission, CaseStore};
use bangban_tests::{Kind, Node, free_port, workspace};
use sqlx::Row;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

const VILLAGE: &str = "410402001001";
const DISTRICT: &str = "410402000000";
const USER: &str = "bench";
const PASSWORD: &str = "bench-password-2026";
/// Cases per append transaction while generating.
const BATCH: usize = 1_000;
/// The span of time the cases were opened in, ending now.
const SPAN_DAYS: i64 = 3 * 365;

// ---------------------------------------------------------------------------------------------
// Generating the cases
// ---------------------------------------------------------------------------------------------

/// SplitMix64: a small deterministic generator, so every run builds the same data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// Surnames roughly by frequency (the first ones repeated), and given-name characters.
const SURNAMES: &[&str] = &[
    "王", "王", "王", "李", "李", "李", "张", "张", "张", "刘", "刘", "陈", "陈", "杨", "赵", "黄",
    "周", "吴", "徐", "孙", "胡", "朱", "高", "林", "何", "郭", "马", "罗", "梁", "宋", "郑", "谢",
    "韩", "唐", "冯", "于", "董", "萧", "程", "曹", "袁", "邓", "许", "傅", "沈", "曾", "彭", "吕",
    "苏", "卢", "蒋", "蔡", "贾", "丁", "魏", "薛", "叶", "阎", "余", "潘", "欧阳", "司马",
];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "秀", "英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟",
    "涛", "明", "超", "霞", "平", "刚", "桂", "兰", "华", "建", "国", "红", "玉", "文", "斌", "辉",
    "鹏", "宇", "浩", "凯", "晨", "欣", "怡", "梅", "琳", "雪", "飞", "波", "宁",
];
const COMPANY_WORDS: &[&str] = &[
    "曙光", "新华", "鹰城", "平安", "惠民", "兴业", "宏达", "聚源", "金桥", "和顺",
];
const COMPANY_KINDS: &[&str] = &[
    "商贸有限公司",
    "餐饮店",
    "便利店",
    "建材经营部",
    "物流有限公司",
    "农业专业合作社",
];

/// An item of the catalogue the village may take in.
struct Item(ItemRef);

fn catalogue() -> Vec<Item> {
    let text = std::fs::read_to_string(workspace().join("deploy/policy/catalogue.json")).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    doc["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| {
            i["intake_tiers"]
                .as_array()
                .is_some_and(|t| t.iter().any(|t| t == "village"))
        })
        .map(|i| {
            Item(ItemRef {
                code: i["code"].as_str().unwrap().into(),
                name: i["name"].as_str().unwrap().into(),
                case_type: if i["case_type"] == "immediate" {
                    CaseType::Immediate
                } else {
                    CaseType::Promised
                },
                promised_days: u32::try_from(i["promised_days"].as_u64().unwrap()).unwrap(),
            })
        })
        .collect()
}

fn applicant(rng: &mut Rng) -> Applicant {
    let phone = MobileNumber::parse(&format!("138{:08}", rng.below(100_000_000))).unwrap();
    if rng.below(10) == 0 {
        let first17 = format!(
            "92410402MA{}{:06}",
            ["4", "5", "6", "7"][rng.below(4) as usize],
            rng.below(1_000_000)
        );
        let check = CreditCode::check_char(&first17).unwrap();
        let code = CreditCode::parse(&format!("{first17}{check}")).unwrap();
        return Applicant::Company {
            name: format!(
                "平顶山市{}{}",
                rng.pick(COMPANY_WORDS),
                rng.pick(COMPANY_KINDS)
            ),
            credit_code: code,
            check_override: None,
            legal_representative: person_name(rng).into(),
            contact_name: person_name(rng).into(),
            contact_phone: phone,
        };
    }
    let born = Date::from_julian_day(
        Date::from_calendar_date(1940, time::Month::January, 1)
            .unwrap()
            .to_julian_day()
            + i32::try_from(rng.below(65 * 365)).unwrap(),
    )
    .unwrap();
    let first17 = format!(
        "410402{:04}{:02}{:02}{:03}",
        born.year(),
        u8::from(born.month()),
        born.day(),
        rng.below(1000)
    );
    let check = ResidentId::check_char(&first17).unwrap();
    Applicant::Person {
        name: person_name(rng).into(),
        id_number: ResidentId::parse(&format!("{first17}{check}")).unwrap(),
        phone,
    }
}

fn person_name(rng: &mut Rng) -> String {
    let mut name = rng.pick(SURNAMES).to_string();
    for _ in 0..=rng.below(2) {
        name.push_str(rng.pick::<&str>(GIVEN));
    }
    name
}

/// Builds the events of one case opened at `at` whose last event is no later than `now`.
struct CaseWriter<'a> {
    case_id: CaseId,
    case_no: CaseNumber,
    at: OffsetDateTime,
    now: OffsetDateTime,
    events: &'a mut Vec<Event>,
}

impl CaseWriter<'_> {
    fn push(&mut self, author: &str, minutes: i64, body: EventBody) {
        let at = (self.at + time::Duration::minutes(minutes)).min(self.now);
        self.events.push(Event {
            event_id: EventId::from_uuid(Uuid::now_v7()),
            case_id: self.case_id,
            author: StationCode::parse(author).unwrap(),
            actor: Some("operator1".into()),
            occurred_at: at,
            body,
        });
    }

    fn note(&mut self, author: &str, minutes: i64, make: fn(Note) -> EventBody) {
        self.push(author, minutes, make(Note { note: None }));
    }
}

fn review(complete: bool) -> EventBody {
    EventBody::PreReviewed(PreReview {
        materials: vec![MaterialVerdict {
            name: "申请书".into(),
            verdict: if complete {
                Verdict::Conforming
            } else {
                Verdict::Missing
            },
            remark: None,
        }],
    })
}

/// What happens to a case, by how long ago it was opened: old cases are closed, recent ones
/// spread over the open stages.
fn write_case(w: &mut CaseWriter<'_>, rng: &mut Rng, items: &[Item], days_ago: i64) {
    let item = rng.pick(items).0.clone();
    let v = VILLAGE;
    let d = DISTRICT;
    let roll = rng.below(100);
    if roll < 15 {
        // A consultation, answered.
        w.push(
            v,
            0,
            EventBody::ConsultationRecorded(Consultation {
                policy_bundle: None,
                case_no: w.case_no,
                channel: Channel::Phone,
                topic: format!("咨询{}所需材料", item.name),
                item: Some(item),
                answer: Some("已告知所需材料和办理地点".into()),
            }),
        );
        if days_ago > 0 || rng.below(2) == 0 {
            w.note(v, 5, EventBody::Completed);
        }
        return;
    }
    let applicant = applicant(rng);
    let received_by = match &applicant {
        Applicant::Person { name, .. } => name.clone(),
        Applicant::Company { contact_name, .. } => contact_name.clone(),
    };
    let immediate = item.case_type == CaseType::Immediate;
    w.push(
        v,
        0,
        EventBody::ApplicationReceived(Application {
            policy_bundle: None,
            case_no: w.case_no,
            channel: Channel::Window,
            item,
            applicant,
        }),
    );
    // How far the case got: closed when old, anywhere when recent.
    let open_share = match days_ago {
        0..=3 => 70,
        4..=20 => 30,
        21..=60 => 3,
        _ => 0,
    };
    let stop_early = rng.below(100) < open_share;
    let steps: u64 = if stop_early { rng.below(8) } else { 99 };
    if roll < 18 {
        w.push(
            v,
            30,
            EventBody::Terminated(Termination {
                reason: TerminationReason::ClientWithdrew,
                written_reason: "申请人书面撤回申请".into(),
            }),
        );
        return;
    }
    if steps == 0 {
        return;
    }
    if steps == 1 {
        w.push(v, 20, review(false));
        return;
    }
    w.push(v, 20, review(true));
    if immediate {
        if steps == 2 {
            return;
        }
        w.push(
            v,
            40,
            EventBody::AssistedAtWindow(WindowAssist {
                window: "3号窗口".into(),
                note: None,
            }),
        );
        w.note(v, 60, EventBody::Completed);
        return;
    }
    w.push(
        v,
        40,
        EventBody::DelegationSigned(Delegation {
            agreement_no: format!("WT-{}", w.case_no),
            agent_name: "代办员".into(),
            delivery: Delivery::HallPickup,
        }),
    );
    if steps == 2 {
        return;
    }
    if rng.below(4) == 0 {
        // Handled at the village itself.
        w.push(
            v,
            24 * 60,
            EventBody::HandlingStarted(HandlingStart {
                department: "社区服务站".into(),
                note: None,
            }),
        );
        if steps == 3 {
            return;
        }
    } else {
        w.push(
            v,
            60,
            EventBody::Escalated(Escalation {
                to_tier: Tier::District,
                reason: "须由区级部门审批".into(),
            }),
        );
        if steps == 3 {
            return;
        }
        w.note(d, 24 * 60, EventBody::AcceptedUpstream);
        if steps == 4 {
            return;
        }
    }
    let holder = w.events.last().map(|e| e.author.to_string()).unwrap();
    w.push(
        &holder,
        3 * 24 * 60,
        EventBody::ResultReady(CaseResult {
            outcome: Outcome::Approved,
            certificate_no: Some(format!("ZS{}", rng.below(1_000_000_000))),
            explanation: None,
        }),
    );
    if holder == DISTRICT {
        w.push(
            d,
            3 * 24 * 60 + 10,
            EventBody::ReturnedDown(Return {
                to: StationCode::parse(v).unwrap(),
                reason: "结果已出，退回发起站点交付".into(),
            }),
        );
    }
    if steps == 5 {
        return;
    }
    w.push(
        v,
        4 * 24 * 60,
        EventBody::HandedOver(Handover {
            method: HandoverMethod::Pickup,
            received_by,
        }),
    );
    if steps == 6 {
        return;
    }
    w.note(v, 4 * 24 * 60 + 5, EventBody::Completed);
}

/// Sets `synchronous` on every pooled connection (the pool has at most 4).
async fn set_synchronous(db: &Db, mode: &str) {
    let mut held = Vec::new();
    while let Ok(Ok(conn)) =
        tokio::time::timeout(Duration::from_millis(200), db.pool().acquire()).await
    {
        held.push(conn);
    }
    for conn in &mut held {
        sqlx::query(sqlx::AssertSqlSafe(format!("PRAGMA synchronous = {mode}")))
            .execute(&mut **conn)
            .await
            .unwrap();
    }
}

fn calendar() -> Arc<WorkingCalendar> {
    let text = std::fs::read_to_string(workspace().join("deploy/policy/calendar.json")).unwrap();
    Arc::new(WorkingCalendar::from_json(&text).unwrap())
}

/// Writes `cases` cases into a new database at `path`.
async fn generate(path: &Path, cases: u64) {
    let started = Instant::now();
    let _ = std::fs::remove_file(path);
    let db = Db::connect(&sqlite_url(path)).await.unwrap();
    db.migrate().await.unwrap();
    set_synchronous(&db, "OFF").await;
    let store = CaseStore::new(db.clone(), calendar());
    let items = catalogue();
    let village = StationCode::parse(VILLAGE).unwrap();
    let mut rng = Rng(2026);
    let now = OffsetDateTime::now_utc();
    // The newest case an hour ago, the oldest SPAN_DAYS before.
    let newest = now - time::Duration::hours(1);
    let span_ms = SPAN_DAYS * 86_400_000;
    let mut last_seq: BTreeMap<Date, u32> = BTreeMap::new();
    let mut events = Vec::new();
    let mut written = 0u64;
    while written < cases {
        events.clear();
        let batch = (cases - written).min(BATCH as u64);
        for i in written..written + batch {
            // Evenly spread, oldest first.
            let back_ms =
                span_ms - span_ms * i64::try_from(i).unwrap() / i64::try_from(cases).unwrap();
            let at = newest - time::Duration::milliseconds(back_ms);
            let day = local_date(at);
            let seq = last_seq.entry(day).or_insert(0);
            *seq += 1;
            let mut w = CaseWriter {
                case_id: CaseId::from_uuid(Uuid::now_v7()),
                case_no: CaseNumber::new(village, day, *seq).unwrap(),
                at,
                now,
                events: &mut events,
            };
            let days_ago = (now - at).whole_days();
            write_case(&mut w, &mut rng, &items, days_ago);
        }
        let mut tx = store.begin_append().await.unwrap();
        for ev in &events {
            tx.append(ev, Admission::Local, now).await.unwrap();
        }
        tx.commit().await.unwrap();
        written += batch;
        if written.is_multiple_of(50_000) || written == cases {
            println!(
                "  generated {written} cases in {:.0} s",
                started.elapsed().as_secs_f64()
            );
        }
    }
    // The numbering counter, as `next_case_number` would have left it.
    let mut tx = db.pool().begin().await.unwrap();
    for (day, seq) in last_seq {
        sqlx::query("INSERT INTO case_numbers (station, day, last_seq) VALUES ($1, $2, $3)")
            .bind(VILLAGE)
            .bind(day.to_string())
            .bind(i64::from(seq))
            .execute(&mut *tx)
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(db.pool())
        .await
        .unwrap();
    db.close().await;
}

// ---------------------------------------------------------------------------------------------
// Timing the pages
// ---------------------------------------------------------------------------------------------

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Percent-encodes a query value.
fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// GETs each path of `paths` in turn (`requests` in all, after a warm-up round), checking
/// each answer with `check`, and prints the figures.
async fn time_page(
    http: &reqwest::Client,
    base: &str,
    cookie: &str,
    what: &str,
    paths: &[String],
    requests: usize,
    check: impl Fn(&str) -> bool,
) {
    let mut took = Vec::with_capacity(requests);
    for i in 0..requests + paths.len().min(20) {
        let path = &paths[i % paths.len()];
        let t = Instant::now();
        let res = http
            .get(format!("{base}{path}"))
            .header("cookie", cookie)
            .send()
            .await
            .unwrap();
        let status = res.status();
        let body = res.text().await.unwrap();
        let elapsed = t.elapsed();
        assert!(
            status == 200 && check(&body),
            "{what}: {path} answered {status}:\n{body}"
        );
        if i >= paths.len().min(20) {
            took.push(elapsed);
        }
    }
    took.sort();
    println!(
        "  {what:<44} p50 {:>6.2} ms   p95 {:>6.2} ms   p99 {:>6.2} ms   max {:>6.2} ms",
        ms(percentile(&took, 0.5)),
        ms(percentile(&took, 0.95)),
        ms(percentile(&took, 0.99)),
        ms(took[took.len() - 1]),
    );
}

fn rows(html: &str) -> usize {
    html.matches("<td><a href=\"/cases/").count()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let cases: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let requests: usize = std::env::args()
        .nth(2)
        .and_then(|a| a.parse().ok())
        .unwrap_or(300);
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target"));
    let dir = target.join("bench-web");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("station-{cases}.sqlite"));
    if path.is_file() {
        println!("reusing {}", path.display());
    } else {
        println!("generating {cases} cases into {}", path.display());
        let partial = dir.join(format!("station-{cases}.partial.sqlite"));
        generate(&partial, cases).await;
        std::fs::rename(&partial, &path).unwrap();
    }
    let size = std::fs::metadata(&path).unwrap().len();
    println!("database: {:.2} GiB", size as f64 / f64::from(1u32 << 30));

    // Samples, and a check that cases fold from their logs to what their rows say.
    let db = Db::connect(&sqlite_url(&path)).await.unwrap();
    db.migrate().await.unwrap();
    let store = CaseStore::new(db.clone(), calendar());
    let total: i64 = sqlx::query("SELECT COUNT(*) AS n FROM cases")
        .fetch_one(db.pool())
        .await
        .unwrap()
        .try_get("n")
        .unwrap();
    assert_eq!(u64::try_from(total).unwrap(), cases);
    let mut rng = Rng(7);
    let max_rowid: i64 = sqlx::query("SELECT MAX(rowid) AS n FROM cases")
        .fetch_one(db.pool())
        .await
        .unwrap()
        .try_get("n")
        .unwrap();
    let mut sample = Vec::new();
    while sample.len() < 200 {
        let rowid = 1 + i64::try_from(rng.below(u64::try_from(max_rowid).unwrap())).unwrap();
        if let Some(row) = sqlx::query(
            "SELECT case_id, case_no, stage, holder, version, opened_at FROM cases WHERE rowid = $1",
        )
        .bind(rowid)
        .fetch_optional(db.pool())
        .await
        .unwrap()
        {
            sample.push((
                row.try_get::<String, _>("case_id").unwrap(),
                row.try_get::<String, _>("case_no").unwrap(),
                row.try_get::<String, _>("stage").unwrap(),
                row.try_get::<String, _>("holder").unwrap(),
                row.try_get::<i64, _>("version").unwrap(),
                row.try_get::<i64, _>("opened_at").unwrap(),
            ));
        }
    }
    let mut people = Vec::new();
    for (i, (id, _, stage, holder, version, _)) in sample.iter().enumerate() {
        let (state, events) = store.case(id.parse().unwrap()).await.unwrap().unwrap();
        if i < 10 {
            assert_eq!(state.stage.as_str(), stage, "case {id} folds to its row");
            assert_eq!(state.holder.to_string(), *holder);
            assert_eq!(i64::try_from(events.len()).unwrap(), *version);
        }
        if let Some(Applicant::Person {
            name, id_number, ..
        }) = &state.applicant
        {
            people.push((name.as_str().to_owned(), id_number.as_str().to_owned()));
        }
    }
    println!("10 sampled cases fold from their logs to their stored rows");
    // The items the cases of this file are for (the catalogue may have grown since it was made).
    let item_names: Vec<String> =
        sqlx::query("SELECT DISTINCT item_name FROM cases WHERE item_name IS NOT NULL")
            .fetch_all(db.pool())
            .await
            .unwrap()
            .iter()
            .map(|row| row.try_get::<String, _>("item_name").unwrap())
            .collect();
    let by_stage = store.stage_counts().await.unwrap();
    println!("stages: {by_stage:?}");
    // Rows deep in the list, for keyset links.
    let deep: Vec<String> = sample
        .iter()
        .map(|(id, _, _, _, _, opened)| format!("{opened}.{id}"))
        .collect();
    db.close().await;

    // The station, as it runs.
    let run_dir = tempfile::tempdir().unwrap();
    let ws = workspace();
    let port = free_port();
    let config = format!(
        "[node]\ncode = \"{VILLAGE}\"\nname = \"曙光街第1社区\"\n[http]\nlisten = \"127.0.0.1:{port}\"\n\
         [database]\npath = \"{}\"\n[policy]\ncalendar = \"{}\"\ncatalogue = \"{}\"\n",
        path.display(),
        ws.join("deploy/policy/calendar.json").display(),
        ws.join("deploy/policy/catalogue.json").display()
    );
    std::fs::write(run_dir.path().join("node.toml"), &config).unwrap();
    let config_path = run_dir.path().join("node.toml").display().to_string();
    // The operator is created once with the database; later runs find it there.
    let _ = std::process::Command::new(bangban_tests::binary("station-node"))
        .args([
            "--config",
            &config_path,
            "user",
            "add",
            "--username",
            USER,
            "--display-name",
            "压测员",
            "--password",
            PASSWORD,
        ])
        .output();
    let mut node = Node::start(Kind::Station, run_dir.path(), port, &config);
    node.wait_ready(Duration::from_secs(60)).await;
    let base = node.ui_url.clone();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let res = http
        .post(format!("{base}/login"))
        .header("sec-fetch-site", "same-origin")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(
            url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs([
                    ("username", USER),
                    ("password", PASSWORD),
                    ("next", "/start"),
                ])
                .finish(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303, "login: {}", res.text().await.unwrap());
    let cookie = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|v| v.starts_with("bangban_session="))
        .unwrap();
    let cookie = cookie.split(';').next().unwrap().to_owned();

    println!("{cases} cases, {requests} requests per page, one at a time:");
    let one = |p: &str| vec![p.to_owned()];
    let http = &http;
    let base = base.as_str();
    let cookie = cookie.as_str();
    time_page(
        http,
        base,
        cookie,
        "start page",
        &one("/start"),
        requests,
        |h| h.contains("id=\"new-today\""),
    )
    .await;
    time_page(
        http,
        base,
        cookie,
        "case list, first page",
        &one("/cases"),
        requests,
        |h| rows(h) == 20,
    )
    .await;
    let paths: Vec<String> = deep
        .iter()
        .map(|c| format!("/cases?after={}&page=2", enc(c)))
        .collect();
    time_page(
        http,
        base,
        cookie,
        "case list, deep page (keyset link)",
        &paths,
        requests,
        |h| rows(h) > 0,
    )
    .await;
    time_page(
        http,
        base,
        cookie,
        "case list, page 10,000 typed in (offset)",
        &one("/cases?page=10000"),
        requests.min(50),
        |h| rows(h) == 20 || cases < 200_020,
    )
    .await;
    let paths: Vec<String> = sample
        .iter()
        .map(|(_, no, ..)| format!("/cases?q={}", enc(no)))
        .collect();
    time_page(
        http,
        base,
        cookie,
        "search: case number",
        &paths,
        requests,
        |h| rows(h) == 1,
    )
    .await;
    let paths: Vec<String> = people
        .iter()
        .map(|(_, id)| format!("/cases?q={}", enc(id)))
        .collect();
    time_page(
        http,
        base,
        cookie,
        "search: full ID number",
        &paths,
        requests,
        |h| rows(h) >= 1,
    )
    .await;
    let paths: Vec<String> = people
        .iter()
        .map(|(_, id)| format!("/cases?q={}", enc(&id[14..])))
        .collect();
    time_page(
        http,
        base,
        cookie,
        "search: ID number's last 4",
        &paths,
        requests,
        |h| rows(h) >= 1,
    )
    .await;
    let paths: Vec<String> = people
        .iter()
        .map(|(name, _)| format!("/cases?q={}", enc(name)))
        .collect();
    time_page(
        http,
        base,
        cookie,
        "search: full name",
        &paths,
        requests,
        |h| rows(h) >= 1,
    )
    .await;
    let paths: Vec<String> = SURNAMES
        .iter()
        // As lists show a name: its first character, then stars (欧阳娜 → 欧**).
        .map(|s| {
            format!(
                "/cases?q={}",
                enc(&format!("{}*", s.chars().next().unwrap()))
            )
        })
        .collect();
    time_page(
        http,
        base,
        cookie,
        "search: masked name (张*)",
        &paths,
        requests,
        |h| rows(h) == 20,
    )
    .await;
    let paths: Vec<String> = item_names
        .iter()
        .map(|name| {
            format!(
                "/cases?q={}",
                enc(&name.chars().take(4).collect::<String>())
            )
        })
        .collect();
    time_page(
        http,
        base,
        cookie,
        "search: start of an item's name",
        &paths,
        requests,
        |h| rows(h) == 20,
    )
    .await;
    let paths: Vec<String> = SURNAMES
        .iter()
        .map(|s| format!("/cases?q={}&stage=in_progress&held_here=1", enc(s)))
        .collect();
    // Rare combinations: some surnames have no case at this stage; any answer counts.
    time_page(
        http,
        base,
        cookie,
        "search: surname + stage + held here",
        &paths,
        requests,
        |h| h.contains("id=\"q\""),
    )
    .await;
    time_page(
        http,
        base,
        cookie,
        "filter: overdue, held here",
        &one("/cases?due=overdue&held_here=1"),
        requests,
        |h| rows(h) > 0,
    )
    .await;
    let paths: Vec<String> = sample
        .iter()
        .map(|(id, ..)| format!("/cases/{id}"))
        .collect();
    time_page(http, base, cookie, "case page", &paths, requests, |h| {
        h.contains("<h1")
    })
    .await;
    node.stop();
}
