//! A child whose parent has several URLs (replicas), over real mutual TLS on loopback: a dead
//! URL or a 5xx moves the link to the next URL at once and it stays there; a refusal (4xx) is
//! an answer and moves nothing.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use bangban_kit::db::Db;
use bangban_kit::sync::ParentUrls;
use bangban_kit::sync::client::{LinkError, LinkOptions, pull_once, push_once};

use crate::support::*;

fn quick() -> LinkOptions {
    LinkOptions {
        pull_wait_secs: 0,
        ..LinkOptions::default()
    }
}

/// A loopback URL nobody listens on (bound, then released).
async fn dead_url() -> url::Url {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    url::Url::parse(&format!("https://127.0.0.1:{port}/")).unwrap()
}

fn parents(urls: &[&url::Url]) -> ParentUrls {
    ParentUrls::new(urls.iter().map(|u| (*u).clone()).collect()).unwrap()
}

/// A server with the parent's own certificate that answers every request with `status` and a
/// problem document, counting the requests.
async fn answering(ca: &district_node::ca::Ca, status: u16, hits: Arc<AtomicUsize>) -> Server {
    let router = Router::new().fallback(move || {
        let hits = hits.clone();
        async move {
            hits.fetch_add(1, Ordering::SeqCst);
            (
                axum::http::StatusCode::from_u16(status).unwrap(),
                [("content-type", "application/problem+json")],
                r#"{"code":"test.answer","title":"answered"}"#,
            )
        }
    });
    Server::spawn(&creds(ca, TOWN, ca), router).await
}

async fn push(child: &Child, urls: &ParentUrls) -> Result<usize, LinkError> {
    urls.exchange(|url| async move { push_once(&child.store, &child.client, &url, 500).await })
        .await
}

async fn pull(child: &Child, urls: &ParentUrls) -> Result<usize, LinkError> {
    urls.exchange(|url| async move { pull_once(&child.store, &child.client, &url, &quick()).await })
        .await
}

/// The first URL refuses connections: the push goes to the second at once, and the second
/// stays in use for the pull that follows.
pub async fn a_dead_first_url_is_passed_over_at_once_and_the_next_stays_in_use(db: Db) {
    let ca = district_ca();
    let parent = Parent::start(&ca, db, tolerance(300)).await;
    let child = Child::new(&ca, tolerance(300)).await;
    let case = new_case(1);
    append_all(&child.store, &case.escalated()).await;
    let dead = dead_url().await;
    let live = parent.server.url();
    let urls = parents(&[&dead, &live]);
    assert_eq!(urls.current(), &dead);

    assert_eq!(push(&child, &urls).await.unwrap(), 4);
    assert_eq!(urls.current(), &live);
    assert_eq!(urls.switches(), 1);
    assert_eq!(child.store.outbox_len().await.unwrap(), 0);
    let (_, events) = parent.store.case(case.case_id).await.unwrap().unwrap();
    assert_eq!(events.len(), 4);

    // The parent answers; the pull goes straight to the URL in use.
    append_all(&parent.store, &[case.accepted(10)]).await;
    assert_eq!(pull(&child, &urls).await.unwrap(), 1);
    assert_eq!(urls.switches(), 1, "the dead URL was not tried again");
    assert_eq!(child.store.events(case.case_id).await.unwrap().len(), 5);

    // Every URL down: each is tried once, the push fails as a transport failure and the
    // outbox is kept for the next try.
    drop(parent);
    append_all(&child.store, &[case.comment(VILLAGE, 20, "补充说明")]).await;
    let err = push(&child, &urls).await.unwrap_err();
    assert!(matches!(err, LinkError::Transport(_)), "{err}");
    assert_eq!(urls.switches(), 2);
    assert_eq!(child.store.outbox_len().await.unwrap(), 1);
}

/// The first URL answers 4xx: that is the parent's answer, not a dead replica. No switch, and
/// the second URL gets nothing.
pub async fn a_refusal_does_not_move_the_link(db: Db) {
    let ca = district_ca();
    let parent = Parent::start(&ca, db, tolerance(300)).await;
    let child = Child::new(&ca, tolerance(300)).await;
    let hits = Arc::new(AtomicUsize::new(0));
    let refusing = answering(&ca, 403, hits.clone()).await;
    let case = new_case(1);
    append_all(&child.store, &case.escalated()).await;
    let urls = parents(&[&refusing.url(), &parent.server.url()]);

    let err = push(&child, &urls).await.unwrap_err();
    assert!(
        matches!(err, LinkError::Refused { status: 403, .. }),
        "{err}"
    );
    let err = pull(&child, &urls).await.unwrap_err();
    assert!(
        matches!(err, LinkError::Refused { status: 403, .. }),
        "{err}"
    );
    assert_eq!(urls.current(), &refusing.url());
    assert_eq!(urls.switches(), 0);
    assert!(hits.load(Ordering::SeqCst) >= 2);
    assert!(parent.store.case(case.case_id).await.unwrap().is_none());
    assert_eq!(child.store.outbox_len().await.unwrap(), 4);
}

/// The first URL answers 503 (a replica that cannot serve): the next is tried at once.
pub async fn a_server_error_moves_the_link_to_the_next_url(db: Db) {
    let ca = district_ca();
    let parent = Parent::start(&ca, db, tolerance(300)).await;
    let child = Child::new(&ca, tolerance(300)).await;
    let hits = Arc::new(AtomicUsize::new(0));
    let failing = answering(&ca, 503, hits.clone()).await;
    let case = new_case(1);
    append_all(&child.store, &case.escalated()).await;
    let urls = parents(&[&failing.url(), &parent.server.url()]);

    assert_eq!(push(&child, &urls).await.unwrap(), 4);
    assert_eq!(urls.current(), &parent.server.url());
    assert_eq!(urls.switches(), 1);
    assert!(hits.load(Ordering::SeqCst) >= 1);
    assert!(parent.store.case(case.case_id).await.unwrap().is_some());
}

/// Two replicas of the parent on one database: the child uses the first until it stops, then
/// the second, and nothing is lost or stored twice.
pub async fn two_replicas_on_one_database_serve_one_link(db: Db) {
    let ca = district_ca();
    let first = Parent::start(&ca, db.clone(), tolerance(300)).await;
    let second = Parent::start(&ca, db, tolerance(300)).await;
    let child = Child::new(&ca, tolerance(300)).await;
    let urls = parents(&[&first.server.url(), &second.server.url()]);
    let one = new_case(1);
    append_all(&child.store, &one.escalated()).await;
    assert_eq!(push(&child, &urls).await.unwrap(), 4);
    assert_eq!(urls.switches(), 0);

    drop(first);
    let two = new_case(2);
    append_all(&child.store, &two.escalated()).await;
    assert_eq!(push(&child, &urls).await.unwrap(), 4);
    assert_eq!(urls.current(), &second.server.url());
    assert_eq!(urls.switches(), 1);
    for case in [&one, &two] {
        let (_, events) = second.store.case(case.case_id).await.unwrap().unwrap();
        assert_eq!(events.len(), 4);
    }
    // What the first replica stored comes down from the second: one cursor over one log.
    append_all(&second.store, &[one.accepted(10), two.accepted(11)]).await;
    assert_eq!(pull(&child, &urls).await.unwrap(), 2);
    assert_eq!(child.store.events(one.case_id).await.unwrap().len(), 5);
    assert_eq!(child.store.events(two.case_id).await.unwrap().len(), 5);
}
