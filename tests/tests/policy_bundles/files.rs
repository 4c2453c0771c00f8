//! The catalogue's blank forms and samples reach the village through its town, byte for byte,
//! and wrong bytes are never kept.

use super::*;

/// The reference of a PDF named `name` with `bytes`.
fn file_ref(bytes: &[u8], name: &str) -> FileRef {
    FileRef {
        sha256: bangban_kit::attachments::blobs::sha256(bytes),
        name: name.to_owned(),
        media_type: MediaType::Pdf,
        size: bytes.len() as u64,
    }
}

/// `catalogue` with `form` as the blank form of the first material of item `ITEM`.
fn with_blank_form(mut catalogue: Catalogue, form: &FileRef) -> Catalogue {
    let item = catalogue.items.iter_mut().find(|i| i.code == ITEM).unwrap();
    item.materials[0].blank_form = Some(form.clone());
    catalogue
}

/// `GET ui path` in the browser session `(http, cookie)`.
async fn ui_get(session: &(reqwest::Client, String), ui: &str, path: &str) -> reqwest::Response {
    session
        .0
        .get(format!("{ui}{path}"))
        .header("cookie", &session.1)
        .send()
        .await
        .unwrap()
}

/// Waits until `pred` holds for the policy line of `node`, without giving up on a line that
/// names files missing on the way.
async fn wait_files(node: &Node, pred: impl Fn(&str) -> bool) -> String {
    wait_policy(node, Duration::from_secs(20), pred).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blank_form_at_the_district_reaches_the_village_through_its_town_byte_for_byte() {
    let root = tempfile::tempdir().unwrap();
    let (key, public) = keygen(&root.path().join("key"));
    let mut tree = Tree::start_with(
        root.path(),
        &[DISTRICT, TOWN, VILLAGE],
        DistrictDb::Sqlite,
        &pins(&[&public]),
    )
    .await;
    // The district's blob store holds the form, as the catalogue page's upload leaves it, and a
    // file the catalogue does not name (a case's attachment, say).
    let form_bytes = b"%PDF-1.4\n% blank application form\n1 0 obj <<>> endobj\n%%EOF\n".to_vec();
    let district_blobs = BlobStore::new(tree.nodes[DISTRICT].node.dir.join("attachments"));
    let (hash, _) = district_blobs.put(form_bytes.clone()).await.unwrap();
    let secret = b"%PDF-1.4\n% someone's ID card\n".to_vec();
    let (secret_hash, _) = district_blobs.put(secret.clone()).await.unwrap();
    let form = file_ref(&form_bytes, "食品经营许可申请书（空白）.pdf");
    assert_eq!(form.sha256, hash);
    let catalogue = with_blank_form(policy("个体工商户登记").1, &form);
    let path = root.path().join("catalogue-files.json");
    std::fs::write(&path, serde_json::to_string(&catalogue).unwrap()).unwrap();
    publish(&tree, &key, 1, &path, None);

    // The village applies the bundle, then fetches the file through its town.
    let village = &tree.nodes[VILLAGE].node;
    let detail = wait_files(village, |d| {
        d.contains("bundle 1 in force") && !d.contains("files missing")
    })
    .await;
    assert!(!detail.contains("last refusal"), "{detail}");
    let village_blobs = BlobStore::new(village.dir.join("attachments"));
    assert_eq!(
        village_blobs.read(&hash).await.unwrap(),
        Some(form_bytes.clone())
    );
    let town_blobs = BlobStore::new(tree.nodes[TOWN].node.dir.join("attachments"));
    assert_eq!(
        town_blobs.read(&hash).await.unwrap(),
        Some(form_bytes.clone()),
        "the town keeps what it serves its villages"
    );

    // The application form links the blank form; the link gives the exact bytes.
    let ui = village.ui_url.clone();
    let session = ui_session(&ui).await;
    let page = ui_get(&session, &ui, "/cases/new/application")
        .await
        .text()
        .await
        .unwrap();
    let href = format!("/catalogue/files/{hash}");
    assert!(page.contains(&format!("href=\"{href}\"")), "{page}");
    assert!(page.contains("空白表格"), "{page}");
    let res = ui_get(&session, &ui, &href).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/pdf");
    assert_eq!(res.headers()["etag"], format!("\"{hash}\"").as_str());
    let disposition = res.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(disposition.contains("filename*=UTF-8''"), "{disposition}");
    assert_eq!(res.bytes().await.unwrap().as_ref(), form_bytes.as_slice());
    // The pre-review checklist of a case of the item links it too.
    let case_id = tree.open_application(VILLAGE).await;
    let case_page = ui_get(&session, &ui, &format!("/cases/{case_id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(case_page.contains("id=\"f-pre_reviewed\""), "{case_page}");
    assert!(
        case_page.contains(&format!("href=\"{href}\"")),
        "{case_page}"
    );
    // Signed out, nothing.
    let res = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(format!("{ui}{href}"))
        .send()
        .await
        .unwrap();
    assert_ne!(res.status(), 200);
    // A blob the village holds but the catalogue does not name is not served.
    let (held, _) = village_blobs.put(secret.clone()).await.unwrap();
    let res = ui_get(&session, &ui, &format!("/catalogue/files/{held}")).await;
    assert_eq!(res.status(), 404);
    let res = ui_get(&session, &ui, "/catalogue/files/not-a-hash").await;
    assert_eq!(res.status(), 404);

    // Inter-node: the district and the town serve only the hashes the catalogue names.
    let from_town = tree.peer_client(VILLAGE, TOWN);
    let town_api = tree.nodes[TOWN].api.clone().unwrap();
    let res = from_town
        .get(format!("{town_api}/v1/policy/files/{held}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let from_district = tree.peer_client(TOWN, DISTRICT);
    let district_api = tree.nodes[DISTRICT].api.clone().unwrap();
    let res = from_district
        .get(format!("{district_api}/v1/policy/files/{secret_hash}"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        404,
        "a blob of the district's store not named"
    );
    let res = from_district
        .get(format!("{district_api}/v1/policy/files/{hash}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["etag"], format!("\"{hash}\"").as_str());
    assert_eq!(res.bytes().await.unwrap().as_ref(), form_bytes.as_slice());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_catalogue_file_of_the_wrong_bytes_or_size_is_refused_and_never_kept() {
    let root = tempfile::tempdir().unwrap();
    let (village, key, offer, _stop) = village_under_test_parent(root.path()).await;
    let form_bytes = b"%PDF-1.4\n% the real blank form\n%%EOF\n".to_vec();
    let form = file_ref(&form_bytes, "申请书.pdf");
    let hash = form.sha256.to_string();
    let mut tampered = form_bytes.clone();
    tampered[12] ^= 0x20;
    {
        let mut o = offer.lock().unwrap();
        o.files.insert(hash.clone(), tampered);
        let (envelope, rosters) = signed_catalogue(
            &key,
            2,
            OffsetDateTime::now_utc(),
            30,
            with_blank_form(policy("政策包 2").1, &form),
            VILLAGE,
        );
        o.bundle = Some((2, envelope));
        o.rosters = Some(rosters);
    }
    // The bundle goes in force at once; the file does not follow.
    let detail = wait_files(&village, |d| {
        d.contains("bundle 2 in force") && d.contains("1 files missing")
    })
    .await;
    assert!(!detail.contains("last refusal"), "{detail}");
    let deadline = Instant::now() + Duration::from_secs(15);
    while !village
        .log()
        .contains("catalogue file from the parent refused")
    {
        assert!(Instant::now() < deadline, "{}", village.log());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let blobs = BlobStore::new(village.dir.join("attachments"));
    assert!(
        !blobs.has(&form.sha256).await,
        "tampered bytes are never kept"
    );
    // The operators see that it has not arrived yet.
    let session = ui_session(&village.ui_url).await;
    let res = ui_get(
        &session,
        &village.ui_url,
        &format!("/catalogue/files/{hash}"),
    )
    .await;
    assert_eq!(res.status(), 503);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("尚未从上级下载，请稍后再试")
    );

    // The right bytes and one more: refused for their size.
    let mut longer = form_bytes.clone();
    longer.push(b'\n');
    offer.lock().unwrap().files.insert(hash.clone(), longer);
    let deadline = Instant::now() + Duration::from_secs(15);
    while !village.log().contains("bytes where the catalogue names") {
        assert!(Instant::now() < deadline, "{}", village.log());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!blobs.has(&form.sha256).await);

    // The right bytes at the next pull: kept, and the line no longer names files missing.
    offer
        .lock()
        .unwrap()
        .files
        .insert(hash.clone(), form_bytes.clone());
    wait_files(&village, |d| !d.contains("files missing")).await;
    assert_eq!(
        blobs.read(&form.sha256).await.unwrap(),
        Some(form_bytes.clone())
    );
    let res = ui_get(
        &session,
        &village.ui_url,
        &format!("/catalogue/files/{hash}"),
    )
    .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.bytes().await.unwrap().as_ref(), form_bytes.as_slice());
}
