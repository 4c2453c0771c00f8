//! The fault test (issue 10, point 6): the demo's tree (a district, two towns, two villages
//! under each) as real processes, with a fault-injecting proxy on every link. A workload takes
//! hundreds of cases through their whole lives at the nodes that hold them while a fault task
//! drops, delays, cuts and black-holes the links and SIGKILLs random nodes. Once the faults stop
//! the tree must converge, and a checker reading every node's database proves that nothing
//! acknowledged was lost, nothing was stored twice, no case went where it should not, and every
//! node holding a case agrees on it.
//!
//! The run is seeded: `BANGBAN_FAULT_SEED=<n>` replays a schedule (the seed is printed first);
//! `BANGBAN_FAULT_LONG=1` runs the long version (1,000 faults).
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bangban_tests::faults::{Dir, Fault, Proxy, Rng, Tally};
use bangban_tests::tree::{DistrictDb, Tree};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const DISTRICT: &str = "410402000000";
const TOWNS: [&str; 2] = ["410402001000", "410402100000"];
/// The demo's villages, each with its town.
const VILLAGES: [(&str, &str); 4] = [
    ("410402001001", "410402001000"),
    ("410402001002", "410402001000"),
    ("410402100200", "410402100000"),
    ("410402100201", "410402100000"),
];
/// Parents before children, as the tree starts them.
const CODES: [&str; 7] = [
    DISTRICT,
    "410402001000",
    "410402100000",
    "410402001001",
    "410402001002",
    "410402100200",
    "410402100201",
];

/// Short waits on every link, so that a healed link is used again within a second or two.
const PARENT_LINK: &str = "pull_wait_secs = 2\nretry_base_ms = 50\nretry_cap_ms = 1000\n";

/// The longest a case may take to reach the node it was sent to. Faults last at most 3 s, a
/// killed node is back within 3 s and a link retries at least every second, so a case still in
/// transit after this is stuck, not slow.
/// (Generous: the whole test suite may be running beside it on two cores.)
const ARRIVAL_LIMIT: Duration = Duration::from_secs(45);

/// How big a run is.
#[derive(Debug, Clone)]
struct Params {
    cases: usize,
    faults: usize,
    kills: usize,
    tasks: usize,
    /// The pause between two actions of the fault schedule, in milliseconds (a range).
    gap_ms: (u64, u64),
    /// How long the workload may take before the run fails as stuck.
    workload_limit: Duration,
    /// How long the tree may take to converge once the faults stop.
    converge_limit: Duration,
}

impl Params {
    fn short() -> Params {
        Params {
            cases: 200,
            faults: 20,
            kills: 4,
            tasks: 8,
            gap_ms: (300, 1200),
            // A stuck detector, not a speed target: alone it takes about 25 s.
            workload_limit: Duration::from_secs(240),
            converge_limit: Duration::from_secs(30),
        }
    }

    fn long() -> Params {
        Params {
            cases: 2000,
            faults: 1000,
            kills: 100,
            tasks: 8,
            gap_ms: (150, 650),
            workload_limit: Duration::from_secs(1800),
            converge_limit: Duration::from_secs(60),
        }
    }
}

/// The seed of this run: `BANGBAN_FAULT_SEED` (decimal, or hex with `0x`), else a fresh one.
fn seed() -> u64 {
    if let Ok(s) = std::env::var("BANGBAN_FAULT_SEED") {
        let s = s.trim();
        let parsed = match s.strip_prefix("0x") {
            Some(hex) => u64::from_str_radix(hex, 16),
            None => s.parse(),
        };
        return parsed.unwrap_or_else(|_| panic!("BANGBAN_FAULT_SEED={s} is not a number"));
    }
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos(),
    );
    h.write_u32(std::process::id());
    h.finish()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_faulty_tree_loses_and_duplicates_nothing() {
    let long = std::env::var("BANGBAN_FAULT_LONG").is_ok_and(|v| v == "1");
    let params = if long {
        Params::long()
    } else {
        Params::short()
    };
    run(seed(), params, DistrictDb::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_faulty_tree_with_the_district_on_postgres_loses_and_duplicates_nothing() {
    // A smaller run: the point is the district's store on PostgreSQL under the same faults.
    let params = Params {
        cases: 80,
        faults: 10,
        kills: 3,
        ..Params::short()
    };
    run(seed(), params, DistrictDb::Postgres).await;
}

// ---------------------------------------------------------------------------------------------
// The fault schedule
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum Action {
    /// A fault on the link of `child` to its parent, for `hold`.
    Fault {
        child: &'static str,
        fault: Fault,
        hold: Duration,
    },
    /// SIGKILL `node`, and start it again after `down`.
    Kill { node: &'static str, down: Duration },
}

/// The whole schedule, drawn from the seed alone: the pause before each action, and the action.
fn schedule(rng: &mut Rng, p: &Params) -> Vec<(Duration, Action)> {
    let children: Vec<&'static str> = CODES[1..].to_vec();
    let total = p.faults + p.kills;
    let mut kills_left = p.kills;
    let mut out = Vec::with_capacity(total);
    for i in 0..total {
        let gap = Duration::from_millis(rng.range(p.gap_ms.0, p.gap_ms.1));
        // Kills spread evenly at random through the schedule.
        let kill = rng.below((total - i) as u64) < kills_left as u64;
        let action = if kill {
            kills_left -= 1;
            Action::Kill {
                node: CODES[rng.below(CODES.len() as u64) as usize],
                down: Duration::from_millis(rng.range(200, 2500)),
            }
        } else {
            let child = *rng.pick(&children);
            let (fault, hold) = match rng.below(4) {
                0 => (Fault::Drop, rng.range(200, 1500)),
                1 => (
                    Fault::Delay(Duration::from_millis(rng.range(20, 400))),
                    rng.range(500, 3000),
                ),
                2 => {
                    // A small budget cuts the TLS handshake, a larger one a request or its answer.
                    let after = if rng.chance(30) {
                        rng.range(1, 600)
                    } else {
                        rng.range(600, 8000)
                    };
                    let dir = if rng.chance(50) { Dir::Up } else { Dir::Down };
                    (Fault::Cut { after, dir }, rng.range(300, 2500))
                }
                _ => (Fault::BlackHole, rng.range(300, 2500)),
            };
            Action::Fault {
                child,
                fault,
                hold: Duration::from_millis(hold),
            }
        };
        out.push((gap, action));
    }
    out
}

/// Runs the schedule against the tree and its proxies, until its end or until `stop` (the
/// workload failed); returns the tree (every node running again, every link healed) and how
/// many nodes it killed.
async fn inject(
    mut tree: Tree,
    proxies: Arc<BTreeMap<String, Arc<Proxy>>>,
    plan: Vec<(Duration, Action)>,
    stop: Arc<AtomicBool>,
) -> (Tree, usize) {
    let mut kills = 0;
    let mut down: Vec<(Instant, &'static str)> = Vec::new();
    for (gap, action) in plan {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let at = Instant::now() + gap;
        // Nodes due back come back during the pause.
        loop {
            let next_revival = down.iter().map(|(t, _)| *t).min();
            match next_revival {
                Some(t) if t <= at => {
                    tokio::time::sleep_until(t.into()).await;
                    revive_due(&mut tree, &mut down).await;
                }
                _ => break,
            }
        }
        tokio::time::sleep_until(at.into()).await;
        match action {
            Action::Fault { child, fault, hold } => {
                let proxy = proxies[child].clone();
                tokio::spawn(async move {
                    let n = proxy.inject(fault);
                    tokio::time::sleep(hold).await;
                    proxy.end(n);
                });
            }
            Action::Kill { node, down: for_ } => {
                if down.iter().any(|(_, c)| *c == node) {
                    continue; // already down
                }
                tree.node(node).node.kill();
                kills += 1;
                down.push((Instant::now() + for_, node));
            }
        }
    }
    for proxy in proxies.values() {
        proxy.heal();
    }
    for (t, _) in down.iter_mut() {
        *t = Instant::now();
    }
    revive_due(&mut tree, &mut down).await;
    (tree, kills)
}

async fn revive_due(tree: &mut Tree, down: &mut Vec<(Instant, &'static str)>) {
    let now = Instant::now();
    let due: Vec<&'static str> = down
        .iter()
        .filter(|(t, _)| *t <= now)
        .map(|(_, c)| *c)
        .collect();
    down.retain(|(t, _)| *t > now);
    for code in due {
        let node = &mut tree.node(code).node;
        node.spawn();
        node.wait_ready(Duration::from_secs(30)).await;
    }
}

// ---------------------------------------------------------------------------------------------
// The workload
// ---------------------------------------------------------------------------------------------

/// The way a case goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    /// Handled where it was taken in.
    Local,
    /// A village's case escalated to its town and returned.
    ToTown,
    /// Escalated to the district and returned to the origin.
    ToDistrict,
    /// A village's case escalated to its town, which escalates it on to the district; the
    /// district returns it to the town, the town to the village.
    ViaTown,
}

#[derive(Debug, Clone)]
struct Plan {
    origin: &'static str,
    town: &'static str,
    route: Route,
    /// The town comments on the case while the district holds it.
    comment: bool,
}

impl Plan {
    fn draw(rng: &mut Rng) -> Plan {
        if rng.chance(20) {
            let town = *rng.pick(&TOWNS);
            let route = if rng.chance(30) {
                Route::Local
            } else {
                Route::ToDistrict
            };
            return Plan {
                origin: town,
                town,
                route,
                comment: false,
            };
        }
        let (village, town) = *rng.pick(&VILLAGES);
        let route = match rng.below(100) {
            0..15 => Route::Local,
            15..45 => Route::ToTown,
            45..85 => Route::ToDistrict,
            _ => Route::ViaTown,
        };
        Plan {
            origin: village,
            town,
            route,
            comment: rng.chance(30),
        }
    }

    /// The nodes that must hold the case: its origin and every ancestor up to the highest
    /// holder it reached.
    fn holders(&self) -> BTreeSet<String> {
        let mut h = BTreeSet::from([self.origin.to_owned()]);
        if self.route != Route::Local {
            h.insert(self.town.to_owned());
        }
        if matches!(self.route, Route::ToDistrict | Route::ViaTown) {
            h.insert(DISTRICT.to_owned());
        }
        h
    }
}

/// What the workload did to one case.
#[derive(Debug, Clone)]
struct Record {
    holders: BTreeSet<String>,
    origin: String,
    /// Events some node acknowledged (answered 200/201 with them).
    acked: BTreeSet<String>,
    /// Events sent at least once (a superset of `acked` until the case is done).
    attempted: BTreeSet<String>,
    done: bool,
}

type Ledger = Arc<Mutex<BTreeMap<String, Record>>>;

/// The operator API of every node, with one session each, re-opened after a restart if need be.
#[derive(Clone)]
struct Operators {
    http: reqwest::Client,
    ui: Arc<BTreeMap<String, String>>,
    tokens: Arc<Mutex<BTreeMap<String, String>>>,
    ledger: Ledger,
    deadline: Instant,
}

impl Operators {
    fn token(&self, code: &str) -> String {
        self.tokens.lock().unwrap()[code].clone()
    }

    async fn relogin(&self, code: &str) -> Result<(), String> {
        let res = self
            .http
            .post(format!("{}/api/v1/login", self.ui[code]))
            .json(&json!({"username": "operator", "password": bangban_tests::PASSWORD}))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if res.status() != 200 {
            return Err(format!("login at {code}: {}", res.status()));
        }
        let body: Value = res.json().await.map_err(|e| e.to_string())?;
        let token = body["token"].as_str().ok_or("no token")?.to_owned();
        self.tokens.lock().unwrap().insert(code.to_owned(), token);
        Ok(())
    }

    /// One request, retried (same body) through restarts and dropped connections until the
    /// node answers with something other than an error of its own, or the run's deadline.
    async fn call(
        &self,
        code: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(u16, Value), String> {
        let mut last = String::new();
        while Instant::now() < self.deadline {
            let url = format!("{}{path}", self.ui[code]);
            let req = match body {
                Some(b) => self.http.post(url).json(b),
                None => self.http.get(url),
            };
            match req.bearer_auth(self.token(code)).send().await {
                Ok(res) if res.status() == 401 => {
                    if let Err(e) = self.relogin(code).await {
                        last = e;
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
                Ok(res) if res.status().is_server_error() => {
                    last = format!("{} {}", res.status(), res.text().await.unwrap_or_default());
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Ok(res) => {
                    let status = res.status().as_u16();
                    match res.json::<Value>().await {
                        Ok(v) => return Ok((status, v)),
                        // The node died while answering: ask again.
                        Err(e) => last = e.to_string(),
                    }
                }
                Err(e) => {
                    // Down (killed) or cut off mid-answer: the same request again, soon.
                    last = e.to_string();
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
        Err(format!(
            "{code} {path}: no answer before the deadline; last: {last}"
        ))
    }

    /// Opens the case `id` at `code` (a client-made id: a retry answers with the case).
    async fn open(&self, code: &str, id: &str) -> Result<(), String> {
        let body = json!({
            "case_id": id,
            "kind": "application",
            "channel": "window",
            "item_code": "410402-SCJG-001",
            "applicant": {"type": "person", "name": "张三", "id_number": "11010519491231002X", "phone": "13812345678"}
        });
        let (status, view) = self.call(code, "/api/v1/cases", Some(&body)).await?;
        if status != 201 && status != 200 {
            return Err(format!("opening {id} at {code}: {status} {view}"));
        }
        let first = view["events"][0]["event_id"]
            .as_str()
            .ok_or_else(|| format!("opening {id} at {code}: no event in {view}"))?
            .to_owned();
        let mut ledger = self.ledger.lock().unwrap();
        let record = ledger.get_mut(id).unwrap();
        record.attempted.insert(first.clone());
        record.acked.insert(first);
        Ok(())
    }

    /// Appends a step at `code` with a client-made event id, retried with that id until the
    /// node acknowledges it.
    async fn step(&self, code: &str, id: &str, kind: &str, payload: Value) -> Result<(), String> {
        let event_id = uuid::Uuid::now_v7().to_string();
        self.ledger
            .lock()
            .unwrap()
            .get_mut(id)
            .unwrap()
            .attempted
            .insert(event_id.clone());
        let body = json!({"event_id": event_id, "kind": kind, "payload": payload});
        let (status, view) = self
            .call(code, &format!("/api/v1/cases/{id}/events"), Some(&body))
            .await?;
        if status != 200 {
            return Err(format!("{kind} on {id} at {code}: {status} {view}"));
        }
        let stored = view["events"]
            .as_array()
            .is_some_and(|evs| evs.iter().any(|e| e["event_id"] == event_id.as_str()));
        if !stored {
            return Err(format!(
                "{kind} on {id} at {code} answered 200 without the event: {view}"
            ));
        }
        self.ledger
            .lock()
            .unwrap()
            .get_mut(id)
            .unwrap()
            .acked
            .insert(event_id);
        Ok(())
    }

    /// Waits until `code` shows the case held by `holder` at `stage`: a case in transit longer
    /// than [`ARRIVAL_LIMIT`] is stuck.
    async fn arrive(&self, code: &str, id: &str, holder: &str, stage: &str) -> Result<(), String> {
        let mut last = Value::Null;
        let limit = (Instant::now() + ARRIVAL_LIMIT).min(self.deadline);
        while Instant::now() < limit {
            let (status, view) = self
                .call(code, &format!("/api/v1/cases/{id}"), None)
                .await?;
            if status == 200 && view["holder"] == holder && view["stage"] == stage {
                return Ok(());
            }
            last = view;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err(format!(
            "case {id} never reached {holder}/{stage} as seen at {code}; last seen: {last}"
        ))
    }
}

/// Takes one case through its whole life.
async fn live(ops: &Operators, id: &str, plan: &Plan) -> Result<(), String> {
    let (o, t, d) = (plan.origin, plan.town, DISTRICT);
    ops.open(o, id).await?;
    ops.step(
        o,
        id,
        "pre_reviewed",
        json!({"materials": [{"name": "营业执照", "verdict": "conforming"}]}),
    )
    .await?;
    ops.step(
        o,
        id,
        "delegation_signed",
        json!({"agreement_no": "WT-1", "agent_name": "李四", "delivery": {"method": "hall_pickup"}}),
    )
    .await?;
    let result = json!({"outcome": "approved", "certificate_no": "JY14104020001"});
    let back = |to: &str| json!({"to": to, "reason": "结果已出，请发起站点交付"});
    let up = |tier: &str| json!({"to_tier": tier, "reason": "须上级部门审批"});
    match plan.route {
        Route::Local => {
            ops.step(
                o,
                id,
                "handling_started",
                json!({"department": "市场监管局"}),
            )
            .await?;
            ops.step(o, id, "result_ready", result).await?;
        }
        Route::ToTown => {
            ops.step(o, id, "escalated", up("town")).await?;
            ops.arrive(t, id, t, "escalated").await?;
            ops.step(t, id, "accepted_upstream", json!({})).await?;
            ops.step(t, id, "result_ready", result).await?;
            ops.step(t, id, "returned_down", back(o)).await?;
            ops.arrive(o, id, o, "result_ready").await?;
        }
        Route::ToDistrict => {
            ops.step(o, id, "escalated", up("district")).await?;
            ops.arrive(d, id, d, "escalated").await?;
            ops.step(d, id, "accepted_upstream", json!({})).await?;
            if plan.comment {
                ops.arrive(t, id, d, "in_progress").await?;
                ops.step(t, id, "commented", json!({"text": "街道已电话告知申请人"}))
                    .await?;
            }
            ops.step(d, id, "result_ready", result).await?;
            ops.step(d, id, "returned_down", back(o)).await?;
            ops.arrive(o, id, o, "result_ready").await?;
        }
        Route::ViaTown => {
            ops.step(o, id, "escalated", up("town")).await?;
            ops.arrive(t, id, t, "escalated").await?;
            ops.step(t, id, "accepted_upstream", json!({})).await?;
            ops.step(t, id, "escalated", up("district")).await?;
            ops.arrive(d, id, d, "escalated").await?;
            ops.step(d, id, "accepted_upstream", json!({})).await?;
            if plan.comment {
                // The village adds a note while the district holds its case.
                ops.arrive(o, id, d, "in_progress").await?;
                ops.step(o, id, "commented", json!({"text": "申请人补充了联系电话"}))
                    .await?;
            }
            ops.step(d, id, "result_ready", result).await?;
            ops.step(d, id, "returned_down", back(t)).await?;
            ops.arrive(t, id, t, "result_ready").await?;
            ops.step(t, id, "returned_down", back(o)).await?;
            ops.arrive(o, id, o, "result_ready").await?;
        }
    }
    ops.step(
        o,
        id,
        "handed_over",
        json!({"method": {"method": "pickup"}, "received_by": "张三"}),
    )
    .await?;
    ops.step(o, id, "completed", json!({})).await?;
    ops.ledger.lock().unwrap().get_mut(id).unwrap().done = true;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The checker
// ---------------------------------------------------------------------------------------------

/// A case as one node stores it: `(stage, holder, version)`.
type Row = (String, String, i64);

/// What one node's database holds.
#[derive(Debug, Default)]
struct Held {
    /// Event ids by case.
    events: BTreeMap<String, Vec<String>>,
    cases: BTreeMap<String, Row>,
    outbox: i64,
    dead_letters: i64,
}

/// Reads a node's SQLite database, read-only, while the node runs.
async fn read_node(path: &std::path::Path) -> Result<Held, String> {
    use sqlx::ConnectOptions;
    let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(path)
        .read_only(true)
        .connect()
        .await
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let mut held = Held::default();
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT case_id, event_id FROM case_events ORDER BY seq")
            .fetch_all(&mut conn)
            .await
            .map_err(|e| e.to_string())?;
    for (case, event) in rows {
        held.events.entry(case).or_default().push(event);
    }
    let rows: Vec<(String, String, String, i64)> =
        sqlx::query_as("SELECT case_id, stage, holder, version FROM cases")
            .fetch_all(&mut conn)
            .await
            .map_err(|e| e.to_string())?;
    for (case, stage, holder, version) in rows {
        held.cases.insert(case, (stage, holder, version));
    }
    held.outbox = sqlx::query_scalar("SELECT COUNT(*) FROM outbox")
        .fetch_one(&mut conn)
        .await
        .map_err(|e| e.to_string())?;
    held.dead_letters = sqlx::query_scalar("SELECT COUNT(*) FROM dead_letters")
        .fetch_one(&mut conn)
        .await
        .map_err(|e| e.to_string())?;
    Ok(held)
}

/// Reads the district's database when it is on PostgreSQL.
async fn read_postgres(url: &str) -> Result<Held, String> {
    let db = bangban_kit::db::Db::connect(url)
        .await
        .map_err(|e| e.to_string())?;
    let pool = db.pool();
    let mut held = Held::default();
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT case_id, event_id FROM case_events ORDER BY seq")
            .fetch_all(pool)
            .await
            .map_err(|e| e.to_string())?;
    for (case, event) in rows {
        held.events.entry(case).or_default().push(event);
    }
    let rows: Vec<(String, String, String, i64)> =
        sqlx::query_as("SELECT case_id, stage, holder, version FROM cases")
            .fetch_all(pool)
            .await
            .map_err(|e| e.to_string())?;
    for (case, stage, holder, version) in rows {
        held.cases.insert(case, (stage, holder, version));
    }
    held.outbox = sqlx::query_scalar("SELECT COUNT(*) FROM outbox")
        .fetch_one(pool)
        .await
        .map_err(|e| e.to_string())?;
    held.dead_letters = sqlx::query_scalar("SELECT COUNT(*) FROM dead_letters")
        .fetch_one(pool)
        .await
        .map_err(|e| e.to_string())?;
    db.close().await;
    Ok(held)
}

/// What the checker found.
#[derive(Debug, Default)]
struct Report {
    problems: Vec<String>,
    /// Acknowledged events missing from a node that should hold them.
    lost: usize,
    /// Events stored more than once on one node, or a step stored under an id the workload
    /// never sent.
    duplicated: usize,
    /// Events or cases on a node that should not hold them.
    misplaced: usize,
    /// Cases whose nodes disagree (events, stage, holder or version).
    diverged: usize,
    /// Per node: cases, events, outbox, dead letters.
    per_node: BTreeMap<String, (usize, usize, i64, i64)>,
}

impl Report {
    fn problem(&mut self, p: String) {
        if self.problems.len() < 40 {
            self.problems.push(p);
        }
    }

    fn ok(&self) -> bool {
        self.lost == 0
            && self.duplicated == 0
            && self.misplaced == 0
            && self.diverged == 0
            && self.problems.is_empty()
    }
}

fn check(held: &BTreeMap<String, Held>, ledger: &BTreeMap<String, Record>) -> Report {
    let mut r = Report::default();
    for (code, h) in held {
        let events = h.events.values().map(Vec::len).sum();
        r.per_node.insert(
            code.clone(),
            (h.cases.len(), events, h.outbox, h.dead_letters),
        );
        if h.outbox != 0 {
            r.problem(format!("{code}: {} events still in the outbox", h.outbox));
        }
        if h.dead_letters != 0 {
            r.problem(format!("{code}: {} dead letters", h.dead_letters));
        }
        for (case, ids) in &h.events {
            let unique: BTreeSet<&String> = ids.iter().collect();
            if unique.len() != ids.len() {
                r.duplicated += ids.len() - unique.len();
                r.problem(format!("{code}: case {case} stores an event twice"));
            }
            let Some(record) = ledger.get(case) else {
                r.misplaced += ids.len();
                r.problem(format!(
                    "{code}: case {case} that the workload never opened"
                ));
                continue;
            };
            if !record.holders.contains(code) {
                r.misplaced += ids.len();
                r.problem(format!(
                    "{code}: holds case {case} of {} (only {:?} should)",
                    record.origin, record.holders
                ));
            }
            for id in ids {
                if !record.attempted.contains(id) {
                    r.duplicated += 1;
                    r.problem(format!(
                        "{code}: case {case} has event {id} that the workload never sent"
                    ));
                }
            }
        }
        for case in h.cases.keys() {
            if !h.events.contains_key(case) {
                r.problem(format!("{code}: case {case} has a row but no events"));
            }
        }
    }
    for (case, record) in ledger {
        let mut reference: Option<(&String, BTreeSet<&String>, &Row)> = None;
        for code in &record.holders {
            let h = &held[code];
            let ids: BTreeSet<&String> = h
                .events
                .get(case)
                .map(|v| v.iter().collect())
                .unwrap_or_default();
            let missing = record.acked.iter().filter(|id| !ids.contains(id)).count();
            if missing > 0 {
                r.lost += missing;
                r.problem(format!(
                    "{code}: case {case} lacks {missing} acknowledged events of {}",
                    record.acked.len()
                ));
            }
            let Some(row) = h.cases.get(case) else {
                r.problem(format!("{code}: case {case} has no row in cases"));
                continue;
            };
            match &reference {
                None => reference = Some((code, ids, row)),
                Some((first, first_ids, first_row)) => {
                    if *first_ids != ids || *first_row != row {
                        r.diverged += 1;
                        r.problem(format!(
                            "case {case}: {first} has {} events {first_row:?}, {code} has {} {row:?}",
                            first_ids.len(),
                            ids.len()
                        ));
                    }
                }
            }
            if record.done {
                let want = (
                    "completed".to_owned(),
                    record.origin.clone(),
                    record.acked.len() as i64,
                );
                if *row != want {
                    r.diverged += 1;
                    r.problem(format!("{code}: case {case} is {row:?}, expected {want:?}"));
                }
            }
        }
    }
    r
}

// ---------------------------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------------------------

fn port_of(url: &str) -> SocketAddr {
    url.trim_start_matches("https://").parse().unwrap()
}

async fn run(seed: u64, p: Params, district_db: DistrictDb) {
    // First, so that a failing run can always be replayed.
    println!(
        "fault test seed {seed} (replay: BANGBAN_FAULT_SEED={seed}); {} cases, {} faults, {} kills, district on {district_db:?}",
        p.cases, p.faults, p.kills
    );
    let started = Instant::now();
    let mut rng = Rng::new(seed);
    let plan = schedule(&mut rng.fork(), &p);
    let mut case_rng = rng.fork();

    let root = tempfile::tempdir().unwrap();
    let mut proxies: BTreeMap<String, Arc<Proxy>> = BTreeMap::new();
    let tree = Tree::start_linked(
        root.path(),
        &CODES,
        district_db,
        "",
        PARENT_LINK,
        |child, parent| {
            let proxy = Arc::new(Proxy::start(port_of(parent)).unwrap());
            let url = proxy.url();
            proxies.insert(child.to_owned(), proxy);
            url
        },
    )
    .await;
    let proxies = Arc::new(proxies);
    let district_url = district_url(&tree.root.join(DISTRICT).join("node.toml"));

    let mut tokens = BTreeMap::new();
    for code in CODES {
        tokens.insert(code.to_owned(), tree.login(code).await);
    }
    let ledger: Ledger = Arc::new(Mutex::new(BTreeMap::new()));
    let ops = Operators {
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap(),
        ui: Arc::new(
            tree.nodes
                .iter()
                .map(|(c, n)| (c.clone(), n.ui.clone()))
                .collect(),
        ),
        tokens: Arc::new(Mutex::new(tokens)),
        ledger: ledger.clone(),
        deadline: Instant::now() + p.workload_limit,
    };

    // The cases, drawn up front; the workload goes on past them until the schedule is over,
    // so that faults always meet traffic.
    let schedule_over = Arc::new(AtomicBool::new(false));
    let next = Arc::new(AtomicUsize::new(0));
    let plans: Arc<Mutex<Vec<Plan>>> = Arc::new(Mutex::new(Vec::new()));
    let draw = Arc::new(Mutex::new(case_rng.fork()));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..p.tasks {
        let (ops, next, over, plans, draw) = (
            ops.clone(),
            next.clone(),
            schedule_over.clone(),
            plans.clone(),
            draw.clone(),
        );
        let cases = p.cases;
        workers.spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= cases && over.load(Ordering::SeqCst) {
                    return Ok::<(), String>(());
                }
                if i > 0 && i % 500 == 0 {
                    println!("{i} cases begun");
                }
                let plan = {
                    let mut plans = plans.lock().unwrap();
                    let mut draw = draw.lock().unwrap();
                    while plans.len() <= i {
                        plans.push(Plan::draw(&mut draw));
                    }
                    plans[i].clone()
                };
                let id = uuid::Uuid::now_v7().to_string();
                ops.ledger.lock().unwrap().insert(
                    id.clone(),
                    Record {
                        holders: plan.holders(),
                        origin: plan.origin.to_owned(),
                        acked: BTreeSet::new(),
                        attempted: BTreeSet::new(),
                        done: false,
                    },
                );
                live(&ops, &id, &plan)
                    .await
                    .map_err(|e| format!("case {i} ({plan:?}): {e}"))?;
            }
        });
    }
    let injector = {
        let proxies = proxies.clone();
        let over = schedule_over.clone();
        tokio::spawn(async move {
            let out = inject(tree, proxies, plan, over.clone()).await;
            over.store(true, Ordering::SeqCst);
            out
        })
    };
    let mut failure = None;
    while let Some(done) = workers.join_next().await {
        match done.unwrap() {
            Ok(()) => {}
            Err(e) => {
                failure.get_or_insert(e);
                // Stop the others at their next case.
                next.store(usize::MAX / 2, Ordering::SeqCst);
                schedule_over.store(true, Ordering::SeqCst);
            }
        }
    }
    let (tree, kills) = injector.await.unwrap();
    let workload_secs = started.elapsed().as_secs_f64();
    let mut tally = Tally::default();
    for proxy in proxies.values() {
        tally.add(&proxy.tally());
    }
    println!("workload done in {workload_secs:.1} s; {tally}; kills {kills}");

    // The faults have stopped: every node runs and every link passes. The tree converges on its
    // own: pushes retried with backoff, pulls resumed from their cursors.
    //
    // Reconciliation runs every 5 s on every station of the test tree beside the link (see
    // `tree::node_config`); once the tree has converged, `station-node reconcile --now` on every
    // station (towns first) must find the digests of both sides of every link equal.
    let ledger_now = || ledger.lock().unwrap().clone();
    let converge_started = Instant::now();
    let report = loop {
        let held = read_all(&tree, district_db, &district_url).await;
        let report = match held {
            Ok(held) => check(&held, &ledger_now()),
            Err(e) => Report {
                problems: vec![e],
                ..Report::default()
            },
        };
        if (report.ok() && failure.is_none()) || converge_started.elapsed() > p.converge_limit {
            break report;
        }
        if failure.is_some() {
            // The workload already failed: one look at the databases for the report.
            break report;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    if report.ok() && failure.is_none() {
        let stations = TOWNS.iter().chain(VILLAGES.iter().map(|(v, _)| v));
        for code in stations {
            let config = tree.root.join(code).join("node.toml");
            let out = bangban_tests::run(
                "station-node",
                &[
                    "reconcile",
                    "--now",
                    "--config",
                    &config.display().to_string(),
                ],
            );
            let last = out.lines().last().unwrap_or_default().to_owned();
            println!("reconcile {code}: {last}");
            assert!(last.contains("no difference"), "{code}: {out}");
        }
    }
    let ledger = ledger_now();
    let acked: usize = ledger.values().map(|r| r.acked.len()).sum();
    let done = ledger.values().filter(|r| r.done).count();
    println!(
        "converged: {} after {:.1} s; cases {} ({done} completed), acknowledged events {acked}",
        report.ok(),
        converge_started.elapsed().as_secs_f64(),
        ledger.len()
    );
    for (code, (cases, events, outbox, dead)) in &report.per_node {
        println!("  {code}: cases {cases}, events {events}, outbox {outbox}, dead letters {dead}");
    }
    println!(
        "faults injected by kind: {:?}; kills {kills}; lost = {}, duplicated = {}, misplaced = {}, diverged = {}; total {:.1} s",
        tally.injected,
        report.lost,
        report.duplicated,
        report.misplaced,
        report.diverged,
        started.elapsed().as_secs_f64()
    );
    if let Some(e) = failure {
        panic!(
            "seed {seed}: the workload failed: {e}\nchecker: {:#?}\n{}",
            report.problems,
            logs_tail(&tree)
        );
    }
    assert!(
        report.ok(),
        "seed {seed}: the tree did not converge within {:?}: {:#?}\n{}",
        p.converge_limit,
        report.problems,
        logs_tail(&tree)
    );
    assert!(
        tally.faults() as usize >= p.faults.min(1),
        "the schedule injected faults"
    );
    assert!(kills > 0 || p.kills == 0, "the schedule killed nodes");
    assert!(ledger.len() >= p.cases, "the workload took every case in");
    assert_eq!(done, ledger.len(), "every case was completed");
}

async fn read_all(
    tree: &Tree,
    district_db: DistrictDb,
    district_url: &str,
) -> Result<BTreeMap<String, Held>, String> {
    let mut held = BTreeMap::new();
    for code in CODES {
        let h = if code == DISTRICT && district_db == DistrictDb::Postgres {
            read_postgres(district_url).await?
        } else {
            read_node(&tree.root.join(code).join("node.sqlite")).await?
        };
        held.insert(code.to_owned(), h);
    }
    Ok(held)
}

/// The district's database URL, from its config.
fn district_url(config: &std::path::Path) -> String {
    let text = std::fs::read_to_string(config).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("url = \""))
        .map(|u| u.trim_end_matches('"').to_owned())
        .unwrap_or_default()
}

/// The last lines of every node's log, for a failure message.
fn logs_tail(tree: &Tree) -> String {
    let mut out = String::new();
    for (code, n) in &tree.nodes {
        let log = n.node.log();
        let lines: Vec<&str> = log.lines().collect();
        let tail = lines[lines.len().saturating_sub(15)..].join("\n");
        out.push_str(&format!(
            "--- {code} (log in {})\n{tail}\n",
            n.node.dir.display()
        ));
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The proxy itself, against an echo server
// ---------------------------------------------------------------------------------------------

/// A loopback echo server; returns its address.
async fn echo_server() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                while let Ok(n) = s.read(&mut buf).await {
                    if n == 0 || s.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    addr
}

/// Sends `msg` through `addr` and reads what comes back until EOF or `within`.
async fn exchange(addr: SocketAddr, msg: &[u8], within: Duration) -> (Vec<u8>, bool) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let _ = s.write_all(msg).await;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (got, true),
            Ok(Ok(n)) => {
                got.extend_from_slice(&buf[..n]);
                if got.len() >= msg.len() {
                    return (got, false);
                }
            }
            Err(_) => return (got, false),
        }
    }
}

#[tokio::test]
async fn the_proxy_passes_drops_cuts_delays_and_black_holes() {
    let proxy = Proxy::start(echo_server().await).unwrap();
    let addr = proxy.addr();
    let msg = b"0123456789abcdefghij";

    let (got, _) = exchange(addr, msg, Duration::from_secs(5)).await;
    assert_eq!(got, msg, "pass-through");

    proxy.inject(Fault::Drop);
    let (got, closed) = exchange(addr, msg, Duration::from_secs(5)).await;
    assert!(
        got.is_empty() && closed,
        "a dropped connection carries nothing"
    );

    // The answer cut after 7 bytes: the client gets those, then the connection ends.
    let n = proxy.inject(Fault::Cut {
        after: 7,
        dir: Dir::Down,
    });
    let (got, closed) = exchange(addr, msg, Duration::from_secs(5)).await;
    assert_eq!(got, &msg[..7], "only the first 7 bytes came back");
    assert!(closed);
    proxy.end(n);
    // A fault that was replaced is not ended by its late end.
    let first = proxy.inject(Fault::Delay(Duration::from_millis(1)));
    proxy.inject(Fault::BlackHole);
    proxy.end(first);
    assert_eq!(proxy.fault(), Fault::BlackHole);
    proxy.heal();

    proxy.inject(Fault::Delay(Duration::from_millis(300)));
    let t = Instant::now();
    let (got, _) = exchange(addr, msg, Duration::from_secs(5)).await;
    assert_eq!(got, msg);
    assert!(
        t.elapsed() >= Duration::from_millis(600),
        "delayed both ways"
    );

    // A black hole: nothing comes back, until the fault ends and the connection is closed.
    proxy.inject(Fault::BlackHole);
    let waiting = tokio::spawn(exchange(addr, msg, Duration::from_secs(10)));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!waiting.is_finished(), "a black hole never answers");
    proxy.heal();
    let (got, closed) = waiting.await.unwrap();
    assert!(got.is_empty() && closed, "closed when the black hole ends");

    // An open connection is dropped when the fault starts.
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(b"x").await.unwrap();
    let mut one = [0u8; 1];
    s.read_exact(&mut one).await.unwrap();
    proxy.inject(Fault::Drop);
    let mut rest = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut rest)).await;
    assert!(
        matches!(read, Ok(Ok(0)) | Ok(Err(_))),
        "the open connection ends"
    );

    let tally = proxy.tally();
    assert_eq!(tally.injected["drop"], 2);
    assert_eq!(tally.injected["cut"], 1);
    assert_eq!(tally.injected["delay"], 2);
    assert_eq!(tally.injected["black-hole"], 2);
    assert_eq!(tally.cut, 1);
    // At least: an earlier connection may still be closing when a fault starts.
    assert!(tally.dropped >= 2, "{tally}");
    assert!(tally.held >= 1, "{tally}");
    assert!(tally.delayed_chunks >= 2);
}

#[test]
fn the_same_seed_gives_the_same_schedule() {
    let p = Params::short();
    let a = format!("{:?}", schedule(&mut Rng::new(7), &p));
    let b = format!("{:?}", schedule(&mut Rng::new(7), &p));
    let c = format!("{:?}", schedule(&mut Rng::new(8), &p));
    assert_eq!(a, b);
    assert_ne!(a, c);
    let plan = schedule(&mut Rng::new(7), &p);
    let kills = plan
        .iter()
        .filter(|(_, a)| matches!(a, Action::Kill { .. }))
        .count();
    assert_eq!(kills, p.kills);
    assert_eq!(plan.len(), p.faults + p.kills);
}
