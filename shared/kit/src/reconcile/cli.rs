//! `reconcile`: the last runs, one run now with its progress on the terminal, or a parent's
//! request to its children and their reports as they arrive.

use std::time::Duration;

use bangban_domain::station::StationCode;
use time::OffsetDateTime;

use crate::cli::ReconcileArgs;
use crate::store::{CaseStore, RunRow};

/// This node's link to its parent, when it has one: the mTLS client and the parent's URLs.
pub type Uplink = (reqwest::Client, std::sync::Arc<crate::sync::ParentUrls>);

fn line(run: &RunRow) -> String {
    let at = OffsetDateTime::from_unix_timestamp(run.finished_at_ms / 1000)
        .map(crate::web::pages::china_time)
        .unwrap_or_default();
    format!(
        "{at}  {:<12} {}  {} request(s), {} bytes, {} case(s) differed, {} up, {} down, {} summaries up, {} unrepairable: {}",
        run.peer,
        if run.ok { "ok    " } else { "FAILED" },
        run.requests,
        run.bytes,
        run.cases_checked,
        run.sent_up,
        run.fetched_down,
        run.summaries_sent,
        run.unrepairable,
        run.detail
    )
}

/// The (station, day) pairs with gaps listed at most.
const GAPS_LISTED: u32 = 100;

/// Prints the gaps in the case numbers of `me`'s subtree over the last days, or that there are
/// none.
async fn print_gaps(store: &CaseStore, me: StationCode) -> anyhow::Result<()> {
    let days = crate::node::GAP_DAYS;
    let (from, to) = crate::store::recent_days(OffsetDateTime::now_utc(), days);
    let gaps = store.number_gaps(me, from, to, GAPS_LISTED).await?;
    if gaps.is_empty() {
        println!("case numbers of the last {days} days: no gaps");
        return Ok(());
    }
    println!(
        "case numbers of the last {days} days: gaps (held neither as a summary nor as a case)"
    );
    for gap in &gaps {
        let listed: Vec<String> = gap.missing.iter().map(|n| format!("{n:04}")).collect();
        let more = if gap.missing_total > i64::try_from(listed.len()).unwrap_or(i64::MAX) {
            " …"
        } else {
            ""
        };
        println!(
            "  {} {}: {} missing: {}{more}",
            gap.station,
            gap.day,
            gap.missing_total,
            listed.join(", ")
        );
    }
    if gaps.len() == GAPS_LISTED as usize {
        println!("  (the first {GAPS_LISTED} station-days only)");
    }
    Ok(())
}

/// Runs `reconcile …` for node `me`.
pub async fn command(
    store: CaseStore,
    me: StationCode,
    uplink: Option<Uplink>,
    args: ReconcileArgs,
) -> anyhow::Result<()> {
    let asks_children = args.child.is_some() || args.children || uplink.is_none();
    if !args.now {
        let runs = store.reconcile_runs(None, 0, 20).await?;
        if runs.is_empty() {
            println!("no reconciliation recorded yet");
        }
        for (_, run) in runs.iter().rev() {
            println!("{}", line(run));
        }
        print_gaps(&store, me).await?;
        return Ok(());
    }
    if !asks_children {
        let Some((client, parent)) = uplink else {
            anyhow::bail!("this node has no parent to reconcile with");
        };
        let mut progress = |p: &str| println!("{p}");
        // Each URL in turn, as the link itself does, until one answers.
        let mut outcome = None;
        for url in parent.urls() {
            match super::run_once(&store, &client, url, me, None, &mut progress).await {
                Ok(o) => {
                    outcome = Some(o);
                    break;
                }
                Err(e) if crate::sync::Failover::is_transport_failure(&e) => {
                    println!("{url}: {e}; trying the next parent URL");
                }
                Err(e) => return Err(e.into()),
            }
        }
        let outcome = outcome
            .ok_or_else(|| anyhow::anyhow!("no parent URL answered; nothing was compared"))?;
        println!("{}", line(&outcome.run));
        for r in &outcome.repairs {
            match r.event_id {
                Some(event) => println!("  {} case {} event {event}", r.direction, r.case_id),
                None => println!("  {} case {} summary", r.direction, r.case_id),
            }
        }
        return Ok(());
    }
    let policy = store.policy().current();
    let Some(topology) = policy.topology.as_ref() else {
        anyhow::bail!("this node has no district tree, so no children");
    };
    let today = bangban_domain::calendar::local_date(OffsetDateTime::now_utc());
    let children: Vec<StationCode> = match &args.child {
        Some(code) => {
            let code =
                StationCode::parse(code).map_err(|e| anyhow::anyhow!("--child {code}: {e}"))?;
            if !topology.is_direct_child(me, code) {
                anyhow::bail!("{code} is not a direct child of {me}");
            }
            vec![code]
        }
        None => topology
            .children_of(me)
            .into_iter()
            .filter(|c| topology.is_active(*c, today))
            .collect(),
    };
    if children.is_empty() {
        anyhow::bail!("{me} has no active children");
    }
    let after = store
        .reconcile_runs(None, 0, 1)
        .await?
        .first()
        .map_or(0, |(id, _)| *id);
    for child in &children {
        store
            .request_reconcile(*child, OffsetDateTime::now_utc())
            .await?;
    }
    println!(
        "asked {} child(ren) to reconcile at their next contact; waiting up to {} s",
        children.len(),
        args.wait
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(args.wait);
    let mut waiting: Vec<StationCode> = children.clone();
    let mut failed = 0;
    while !waiting.is_empty() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let mut still = Vec::new();
        for child in waiting {
            match store
                .reconcile_runs(Some(&child.to_string()), after, 1)
                .await?
                .first()
            {
                Some((_, run)) => {
                    failed += usize::from(!run.ok || run.unrepairable > 0);
                    println!("{}", line(run));
                }
                None => still.push(child),
            }
        }
        waiting = still;
    }
    for child in &waiting {
        println!(
            "{child}: no report within {} s (the request stays until it comes)",
            args.wait
        );
    }
    if !waiting.is_empty() || failed > 0 {
        anyhow::bail!(
            "{} child(ren) did not report, {} reported a failure or unrepairable differences",
            waiting.len(),
            failed
        );
    }
    Ok(())
}
