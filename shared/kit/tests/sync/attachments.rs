//! Attachments travel with an escalation over the real mTLS link: the village's push offers the
//! hashes its batch names, the town answers which it lacks, and only those bytes go, in pieces,
//! resuming where a broken transfer stopped. Nothing the town holds is sent twice.

use std::sync::atomic::Ordering;

use bangban_domain::attachment::ContentHash;
use bangban_kit::attachments::transfer::{PIECE, Sent, send_attachments};
use bangban_kit::attachments::{Added, Upload, add_to_case, sha256};
use bangban_kit::db::Db;
use bangban_kit::intake::Intake;
use bangban_kit::sync::client::push_once;
use serde_json::Value;

use crate::support::*;

fn intake(child: &Child) -> Intake {
    Intake {
        me: code(VILLAGE),
        store: child.store.clone(),
        policy: child.store.policy().clone(),
    }
}

/// A scanned PDF of `len` bytes after its header.
fn scan(tag: &str, len: usize) -> Vec<u8> {
    let mut bytes = format!("%PDF-1.7 {tag}\n").into_bytes();
    bytes.extend((0..len).map(|i| (i % 253) as u8));
    bytes
}

async fn add(child: &Child, case: &CaseBuilder, name: &str, bytes: &[u8]) -> ContentHash {
    let added = add_to_case(
        &intake(child),
        "operator1",
        case.case_id,
        Upload {
            file_name: name.to_owned(),
            material: None,
            bytes: bytes.to_vec(),
        },
    )
    .await
    .unwrap();
    match added {
        Added::New(a) => a.sha256,
        other => panic!("{other:?}"),
    }
}

async fn held_at_parent(parent: &Parent, hash: &ContentHash) -> Option<Vec<u8>> {
    parent
        .store
        .attachments()
        .unwrap()
        .blobs()
        .read(hash)
        .await
        .unwrap()
}

pub async fn escalated_attachments_reach_the_parent_once_and_a_broken_transfer_resumes(db: Db) {
    let ca = district_ca();
    let parent = Parent::start(&ca, db, tolerance(86_400)).await;
    let child = Child::new(&ca, tolerance(86_400)).await;
    let url = parent.server.url();

    // Two files on a case, before it is escalated: nothing goes up yet.
    let case = new_case(1);
    let steps = case.escalated();
    append_all(&child.store, &steps[..3]).await;
    let small = scan("户口簿", 300_000);
    // Larger than one piece: it goes in two requests.
    let large = scan("身份证", PIECE + 700_000);
    let small_hash = add(&child, &case, "户口簿.pdf", &small).await;
    let large_hash = add(&child, &case, "身份证.pdf", &large).await;
    assert_eq!(child.store.outbox_len().await.unwrap(), 0);
    append_all(&child.store, &steps[3..]).await;
    assert_eq!(child.store.outbox_len().await.unwrap(), 6);

    let pushed = push_once(&child.store, &child.client, &url, 500)
        .await
        .unwrap();
    assert_eq!(pushed, 6);
    assert_eq!(parent.pieces.load(Ordering::SeqCst), 3);
    assert_eq!(
        parent.piece_bytes.load(Ordering::SeqCst),
        small.len() + large.len()
    );
    for (hash, bytes) in [(&small_hash, &small), (&large_hash, &large)] {
        let held = held_at_parent(&parent, hash).await.unwrap();
        assert_eq!(&sha256(&held), hash);
        assert_eq!(&held, bytes);
    }
    let rows = parent.store.case_attachments(case.case_id).await.unwrap();
    let mut names: Vec<_> = rows.iter().map(|r| r.file_name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["户口簿.pdf", "身份证.pdf"]);
    assert!(rows.iter().all(|r| r.station == code(VILLAGE)));

    // Offered again (a retried push, a later batch of the same case): not one byte goes.
    let events = child.store.events(case.case_id).await.unwrap();
    let sent = send_attachments(&child.store, &child.client, &url, &events)
        .await
        .unwrap();
    assert_eq!(
        sent,
        Sent {
            offered: 2,
            completed: 0,
            bytes: 0,
            skipped: 0
        }
    );
    append_all(&child.store, &[case.comment(VILLAGE, 4, "材料已上传")]).await;
    assert_eq!(
        push_once(&child.store, &child.client, &url, 500)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        parent.pieces.load(Ordering::SeqCst),
        3,
        "no bytes sent twice"
    );

    // A transfer that broke off after its first megabyte resumes there.
    let second = new_case(2);
    let steps = second.escalated();
    append_all(&child.store, &steps[..3]).await;
    let big = scan("营业执照", 2_500_000);
    let big_hash = add(&child, &second, "营业执照.pdf", &big).await;
    append_all(&child.store, &steps[3..]).await;
    let broke_at = 1_000_000;
    let mut piece_url = url.join(&format!("v1/attachments/{big_hash}")).unwrap();
    piece_url
        .query_pairs_mut()
        .append_pair("offset", "0")
        .append_pair("size", &big.len().to_string());
    let res = child
        .client
        .put(piece_url)
        .body(big[..broke_at].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let progress: Value = res.json().await.unwrap();
    assert_eq!(progress["have"], broke_at);
    assert_eq!(progress["complete"], false);
    assert!(
        held_at_parent(&parent, &big_hash).await.is_none(),
        "half a file is never kept"
    );
    let before = parent.piece_bytes.load(Ordering::SeqCst);
    push_once(&child.store, &child.client, &url, 500)
        .await
        .unwrap();
    assert_eq!(
        parent.piece_bytes.load(Ordering::SeqCst) - before,
        big.len() - broke_at,
        "only the rest was sent"
    );
    assert_eq!(held_at_parent(&parent, &big_hash).await.unwrap(), big);
    assert_eq!(
        parent
            .store
            .case_attachments(second.case_id)
            .await
            .unwrap()
            .len(),
        1
    );
}

pub async fn the_parent_keeps_only_bytes_that_hash_to_their_name(db: Db) {
    let ca = district_ca();
    let parent = Parent::start(&ca, db, tolerance(86_400)).await;
    let child = Child::new(&ca, tolerance(86_400)).await;
    let url = parent.server.url();
    let claimed = sha256(b"what the name promises");
    let put = |hash: String, offset: usize, size: usize, body: Vec<u8>| {
        let mut piece_url = url.join(&format!("v1/attachments/{hash}")).unwrap();
        piece_url
            .query_pairs_mut()
            .append_pair("offset", &offset.to_string())
            .append_pair("size", &size.to_string());
        child.client.put(piece_url).body(body).send()
    };
    let res = put(claimed.to_string(), 0, 9, b"forgeries".to_vec())
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let problem: Value = res.json().await.unwrap();
    assert_eq!(problem["code"], "attachment.hash_mismatch");
    assert!(problem["message_zh"].as_str().unwrap().contains("不符"));
    assert!(held_at_parent(&parent, &claimed).await.is_none());
    // A piece at the wrong offset says where to resume.
    let real = b"what the name promises".to_vec();
    let res = put(claimed.to_string(), 0, real.len(), real[..5].to_vec())
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = put(claimed.to_string(), 2, real.len(), real[2..].to_vec())
        .await
        .unwrap();
    assert_eq!(res.status(), 409);
    let problem: Value = res.json().await.unwrap();
    assert_eq!(problem["have"], 5);
    let res = put(claimed.to_string(), 5, real.len(), real[5..].to_vec())
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(held_at_parent(&parent, &claimed).await.unwrap(), real);
    // Names that are not hashes never reach the disk.
    for bad in ["..%2F..%2Fetc", "ABC", &"a".repeat(63)] {
        let res = put(bad.to_owned(), 0, 3, b"abc".to_vec()).await.unwrap();
        assert_eq!(res.status(), 400, "{bad}");
    }
    // An offer names what is missing, with what is held of it.
    let res = child
        .client
        .post(url.join("v1/attachments/offer").unwrap())
        .json(&serde_json::json!({"blobs": [
            {"sha256": claimed.to_string(), "size": real.len()},
            {"sha256": sha256(b"never sent").to_string(), "size": 10},
        ]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let wants: Value = res.json().await.unwrap();
    assert_eq!(
        wants,
        serde_json::json!({"missing": [{"sha256": sha256(b"never sent").to_string(), "have": 0}]})
    );

    // Behind the same gate as the events: another town's village gets 403 and leaves nothing.
    let stranger = bangban_kit::tls::https_client(
        &creds(&ca, OTHER_TOWN_VILLAGE, &ca),
        Vec::new(),
        code(TOWN),
    )
    .unwrap();
    let planted = b"planted by a stranger".to_vec();
    let planted_hash = sha256(&planted);
    let mut piece_url = url.join(&format!("v1/attachments/{planted_hash}")).unwrap();
    piece_url
        .query_pairs_mut()
        .append_pair("offset", "0")
        .append_pair("size", &planted.len().to_string());
    let res = stranger.put(piece_url).body(planted).send().await.unwrap();
    assert_eq!(res.status(), 403);
    let res = stranger
        .post(url.join("v1/attachments/offer").unwrap())
        .json(&serde_json::json!({"blobs": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert!(held_at_parent(&parent, &planted_hash).await.is_none());
}

/// A file the town adds to an escalated case comes down to the village after its next pull,
/// resuming a part the village already holds; a sibling village cannot fetch it.
pub async fn files_added_above_come_down_after_the_pull(db: Db) {
    let ca = district_ca();
    let parent = Parent::start(&ca, db, tolerance(86_400)).await;
    let child = Child::new(&ca, tolerance(86_400)).await;
    let url = parent.server.url();
    let quick = bangban_kit::sync::client::LinkOptions {
        pull_wait_secs: 0,
        ..Default::default()
    };
    let case = new_case(1);
    let steps = case.escalated();
    append_all(&child.store, &steps[..3]).await;
    let own = scan("户口簿", 10_000);
    let own_hash = add(&child, &case, "户口簿.pdf", &own).await;
    append_all(&child.store, &steps[3..]).await;
    push_once(&child.store, &child.client, &url, 500)
        .await
        .unwrap();

    // The town scans the approval onto the case.
    let town = Intake {
        me: code(TOWN),
        store: parent.store.clone(),
        policy: parent.store.policy().clone(),
    };
    let approval = scan("批复", 3_000_000);
    let approval_hash = match add_to_case(
        &town,
        "town-operator",
        case.case_id,
        Upload {
            file_name: "批复.pdf".into(),
            material: None,
            bytes: approval.clone(),
        },
    )
    .await
    .unwrap()
    {
        Added::New(a) => a.sha256,
        other => panic!("{other:?}"),
    };

    // A sibling village (a direct child too) may not fetch a file of another village's case.
    let sibling =
        bangban_kit::tls::https_client(&creds(&ca, SIBLING, &ca), Vec::new(), code(TOWN)).unwrap();
    let res = sibling
        .get(
            url.join(&format!("v1/attachments/{approval_hash}"))
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);

    // The village already holds the first megabyte (a fetch that broke off).
    let kept = child.store.attachments().unwrap().blobs().clone();
    kept.append_partial(
        &approval_hash,
        0,
        approval.len() as u64,
        axum::body::Body::from(approval[..1_000_000].to_vec()),
    )
    .await
    .unwrap();
    let pulled = bangban_kit::sync::client::pull_once(&child.store, &child.client, &url, &quick)
        .await
        .unwrap();
    assert_eq!(pulled, 1, "the town's attachment_added event");
    assert_eq!(
        kept.read(&approval_hash).await.unwrap(),
        Some(approval.clone())
    );
    let rows = child.store.case_attachments(case.case_id).await.unwrap();
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(
        rows.iter()
            .any(|r| r.sha256 == approval_hash && r.station == code(TOWN))
    );
    assert!(kept.has(&own_hash).await);
    // Nothing left to fetch: a further round asks for nothing.
    let again =
        bangban_kit::attachments::transfer::fetch_from_parent(&child.store, &child.client, &url)
            .await
            .unwrap();
    assert_eq!(
        again,
        bangban_kit::attachments::transfer::Fetched::default()
    );
}
