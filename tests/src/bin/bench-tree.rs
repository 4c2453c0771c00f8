//! Round-trip latency and footprint on a real tree (district, town, village; release binaries,
//! real mTLS on loopback). Cases go one at a time, so there is no backlog.
//!
//!   cargo build --release -p district-node -p station-node -p bangban-tests
//!   target/release/bench-tree [CASES]        (default 1000)
//!
//! Prints p50/p99 of "village escalates → the district sees it" and "district returns the
//! result → the village sees it", the idle RSS of each node and the binary sizes. "Sees" means
//! the node's own operator API (`GET /api/v1/cases/{id}`) answers with the new state; it is
//! polled every 0.5 ms, which bounds the measurement error.

use std::time::{Duration, Instant};

use bangban_tests::bin_dir;
use bangban_tests::tree::{DISTRICT, TOWN, Tree, VILLAGE};
use serde_json::json;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).map(str::to_owned))
        })
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

async fn visible(
    tree: &mut Tree,
    code: &str,
    id: &str,
    pred: impl Fn(&serde_json::Value) -> bool,
) -> Instant {
    loop {
        let (status, body) = tree
            .api(code, "GET", &format!("/api/v1/cases/{id}"), None)
            .await;
        if status == 200 && pred(&body) {
            return Instant::now();
        }
        tokio::time::sleep(Duration::from_micros(500)).await;
    }
}

/// Time from starting a station process (existing database, no parent) to its first 200 from
/// `/readyz`, polled every millisecond.
async fn time_to_ready(root: &std::path::Path) -> Duration {
    use bangban_tests::{Kind, Node, free_port};
    let dir = root.join("ready-probe");
    let port = free_port();
    let config = format!(
        "[node]\ncode = \"410402100200\"\nname = \"就绪测试\"\n[http]\nlisten = \"127.0.0.1:{port}\"\n"
    );
    // A first start creates and migrates the database; the measured start opens it.
    let mut node = Node::start(Kind::Station, &dir, port, &config);
    node.wait_ready(Duration::from_secs(30)).await;
    node.stop();
    let client = reqwest::Client::new();
    let t0 = Instant::now();
    node.spawn();
    loop {
        if let Ok(res) = client
            .get(format!("http://127.0.0.1:{port}/readyz"))
            .send()
            .await
            && res.status() == 200
        {
            let took = t0.elapsed();
            node.stop();
            return took;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let cases: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1000);
    let root = tempfile::tempdir().expect("temp dir");
    let mut tree = Tree::start(root.path(), &[DISTRICT, TOWN, VILLAGE]).await;
    // Idle footprint, before any traffic.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle: Vec<(String, u64)> = [DISTRICT, TOWN, VILLAGE]
        .iter()
        .map(|c| (c.to_string(), tree.node(c).node.pid().map_or(0, rss_kib)))
        .collect();

    let mut up = Vec::with_capacity(cases);
    let mut down = Vec::with_capacity(cases);
    for i in 0..cases {
        let id = tree.delegated_case(VILLAGE).await;
        let t0 = Instant::now();
        tree.escalate(VILLAGE, &id, "district").await;
        let seen = visible(&mut tree, DISTRICT, &id, |c| c["stage"] == "escalated").await;
        up.push(seen - t0);

        tree.step(DISTRICT, &id, "accepted_upstream", json!({}))
            .await;
        tree.step(
            DISTRICT,
            &id,
            "result_ready",
            json!({"outcome": "approved"}),
        )
        .await;
        let t1 = Instant::now();
        tree.step(
            DISTRICT,
            &id,
            "returned_down",
            json!({"to": VILLAGE, "reason": "结果已出"}),
        )
        .await;
        let seen = visible(&mut tree, VILLAGE, &id, |c| c["holder"] == VILLAGE).await;
        down.push(seen - t1);
        if (i + 1) % 100 == 0 {
            eprintln!("{} cases", i + 1);
        }
    }
    up.sort();
    down.sort();
    let busy: Vec<(String, u64)> = [DISTRICT, TOWN, VILLAGE]
        .iter()
        .map(|c| (c.to_string(), tree.node(c).node.pid().map_or(0, rss_kib)))
        .collect();

    println!("cases: {cases} (sequential, no backlog)");
    println!(
        "village -> district visible: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        percentile(&up, 0.50).as_secs_f64() * 1e3,
        percentile(&up, 0.99).as_secs_f64() * 1e3,
        up.last().copied().unwrap_or_default().as_secs_f64() * 1e3
    );
    println!(
        "district result -> village visible: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        percentile(&down, 0.50).as_secs_f64() * 1e3,
        percentile(&down, 0.99).as_secs_f64() * 1e3,
        down.last().copied().unwrap_or_default().as_secs_f64() * 1e3
    );
    for ((code, idle), (_, busy)) in idle.iter().zip(&busy) {
        println!(
            "RSS {code}: idle {:.1} MiB, after the run {:.1} MiB",
            *idle as f64 / 1024.0,
            *busy as f64 / 1024.0
        );
    }
    let mut ready: Vec<Duration> = Vec::new();
    for _ in 0..5 {
        let probe = tempfile::tempdir().expect("temp dir");
        ready.push(time_to_ready(probe.path()).await);
    }
    ready.sort();
    println!(
        "station start to ready: median {:.0} ms, worst {:.0} ms (5 starts)",
        ready[2].as_secs_f64() * 1e3,
        ready[4].as_secs_f64() * 1e3
    );
    for bin in ["district-node", "station-node"] {
        let size = std::fs::metadata(bin_dir().join(bin))
            .map(|m| m.len())
            .unwrap_or(0);
        println!("binary {bin}: {:.1} MiB", size as f64 / 1024.0 / 1024.0);
    }
}
