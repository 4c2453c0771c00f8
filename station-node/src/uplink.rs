//! The station's link to its parent, as parts of the node: a forwarder that pushes the outbox
//! up and a puller that long-polls the subtree's events down, both over mTLS to the parent the
//! topology names (see `bangban_kit::sync::client`), at the URL in use among the parent's
//! (`bangban_kit::sync::ParentUrls`). Only stations dial a parent; the district has none.

use std::sync::Arc;

use bangban_domain::station::StationCode;
use bangban_kit::node::Parts;
use bangban_kit::store::CaseStore;
use bangban_kit::sync::client::{LinkOptions, run_forwarder, run_puller};
use bangban_kit::sync::{LinkStatus, ParentUrls};
use bangban_kit::tls::NodeCredentials;

/// The forwarder and the puller of station `me` towards `parent` (its URLs, shared with the
/// other parts that dial it), and the link's status for `/readyz` and `/metrics`.
pub fn parts(
    me: StationCode,
    store: &CaseStore,
    credentials: Option<&NodeCredentials>,
    parent: Arc<ParentUrls>,
    options: LinkOptions,
) -> anyhow::Result<Parts> {
    let credentials =
        credentials.ok_or_else(|| anyhow::anyhow!("parent.url needs the [tls] files"))?;
    let parent_code = me
        .parent()
        .ok_or_else(|| anyhow::anyhow!("parent.url is set, but {me} has no parent"))?;
    // The client accepts only the parent's own certificate (bangban_kit::tls::ParentVerifier).
    let client = bangban_kit::tls::https_client(credentials, Vec::new(), parent_code)?;
    let urls: Vec<String> = parent.urls().iter().map(ToString::to_string).collect();
    tracing::info!(parent = %parent.current(), urls = ?urls, "linking to the parent");
    let status = LinkStatus::new();
    let forwarder = {
        let (store, client, parent, options, status) = (
            store.clone(),
            client.clone(),
            parent.clone(),
            options.clone(),
            status.clone(),
        );
        move |stop: bangban_kit::node::Stop| async move {
            run_forwarder(store, client, parent, options, status, stop.receiver()).await;
            Ok(())
        }
    };
    let puller = {
        let (store, client, parent, status) = (
            store.clone(),
            client.clone(),
            parent.clone(),
            status.clone(),
        );
        move |stop: bangban_kit::node::Stop| async move {
            run_puller(store, client, parent, options, status, stop.receiver()).await;
            Ok(())
        }
    };
    // A reconciliation the parent asks for (a header of a pull) runs at once.
    let reconciler = {
        let (store, parent, status) = (store.clone(), parent.clone(), status.clone());
        move |stop: bangban_kit::node::Stop| async move {
            loop {
                let at = tokio::select! {
                    at = status.reconcile_wanted() => at,
                    () = stop.clone().stopped() => break,
                };
                tracing::info!(
                    requested_at_ms = at,
                    "the parent asked for a reconciliation"
                );
                let mut progress = |p: &str| tracing::debug!("{p}");
                let url = parent.current().clone();
                let run = bangban_kit::reconcile::run_once(
                    &store,
                    &client,
                    &url,
                    me,
                    Some(at),
                    &mut progress,
                );
                tokio::select! {
                    r = run => if let Err(e) = r {
                        tracing::warn!(error = %e, "the reconciliation the parent asked for failed");
                    },
                    () = stop.clone().stopped() => break,
                }
            }
            Ok(())
        }
    };
    Ok(Parts::new()
        .uplink(parent, status)
        .task("forwarder", forwarder)
        .task("puller", puller)
        .task("reconciler", reconciler))
}

/// The mTLS client of station `me` towards its parent, from the `[tls]` files (for the jobs,
/// which may run in a `job run` process of their own).
pub fn client(
    me: StationCode,
    tls: Option<&bangban_kit::node::TlsFiles>,
) -> anyhow::Result<reqwest::Client> {
    bangban_kit::tls::install_crypto_provider();
    let credentials = bangban_kit::node::load_credentials(tls)?
        .ok_or_else(|| anyhow::anyhow!("parent.url needs the [tls] files"))?;
    let parent_code = me
        .parent()
        .ok_or_else(|| anyhow::anyhow!("parent.url is set, but {me} has no parent"))?;
    Ok(bangban_kit::tls::https_client(
        &credentials,
        Vec::new(),
        parent_code,
    )?)
}
