//! The catalogue's editor (`district_node::catalogue`): items added, changed and removed whole
//! with their audit lines on SQLite and PostgreSQL; the pages driven like a browser without
//! JavaScript on the real node (SQLite and PostgreSQL); the JSON API's field-level refusals.

use std::path::Path;

use bangban_domain::calendar::WorkingCalendar;
use bangban_domain::catalogue::{
    Catalogue, CatalogueItem, ItemField, ItemInput, ItemProblem, MaterialInput,
};
use bangban_kit::attachments::Attachments;
use bangban_kit::auth::Role;
use bangban_kit::policy::Policy;
use district_node::catalogue::{EditError, FileKind, Items};
use district_node::drafts::{DraftError, Drafts};
use reqwest::header::{COOKIE, SET_COOKIE};
use serde_json::{Value, json};

const PASSWORD: &str = "district-admin-2026";

fn files() -> Policy {
    let read = |f: &str| std::fs::read_to_string(format!("../deploy/{f}")).unwrap();
    Policy {
        calendar: WorkingCalendar::from_json(&read("policy/calendar.json")).unwrap(),
        catalogue: Catalogue::from_json(&read("policy/catalogue.json")).unwrap(),
        topology: None,
        agents: None,
    }
}

/// A small valid PDF (a PDF is stored as it came).
fn pdf() -> Vec<u8> {
    b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n".to_vec()
}

fn new_item(code: &str) -> CatalogueItem {
    ItemInput {
        code: code.into(),
        name: "居家养老服务补贴申请".into(),
        department: "新华区民政局".into(),
        item_type: "payment".into(),
        case_type: "promised".into(),
        statutory_days: "20".into(),
        promised_days: "10".into(),
        max_visits: "1".into(),
        handling_tier: "district".into(),
        intake_tiers: vec!["town".into(), "village".into()],
        proxy_allowed: true,
        materials: vec![
            MaterialInput {
                name: "申请表".into(),
                necessity: "1".into(),
                original: true,
                ..MaterialInput::default()
            },
            MaterialInput {
                name: "居民身份证".into(),
                necessity: "1".into(),
                ..MaterialInput::default()
            },
        ],
        ..ItemInput::default()
    }
    .to_item()
    .unwrap()
}

#[tokio::test]
async fn items_are_added_changed_and_removed_whole_with_their_audit_on_both_backends() {
    let backends = super::Backends::new().await;
    let dir = tempfile::tempdir().unwrap();
    for db in backends.dbs.clone() {
        let backend = db.backend();
        let drafts = Drafts::new(db);
        drafts.seed(&files()).await.unwrap();
        let items = Items {
            drafts: drafts.clone(),
            files: Attachments::new(dir.path().join("blobs"), 1024 * 1024),
        };
        let start = items.read().await.unwrap();
        let audit_len = || async { drafts.audit(Some("catalogue"), 100).await.unwrap().len() };
        let seeded = audit_len().await;

        // Added, with one audit line naming the item.
        let item = new_item("410402-MZ-101");
        items
            .create(item.clone(), Some(start.revision), "admin")
            .await
            .unwrap();
        let after = items.read().await.unwrap();
        assert_eq!(after.doc.get("410402-MZ-101"), Some(&item), "{backend:?}");
        let line = &drafts.audit(Some("catalogue"), 1).await.unwrap()[0];
        assert_eq!(
            (
                line.action.as_str(),
                line.subject.as_str(),
                line.actor.as_str()
            ),
            ("item.add", "410402-MZ-101", "admin")
        );
        assert!(line.before.is_none());
        assert_eq!(line.after.as_ref().unwrap()["name"], "居家养老服务补贴申请");

        // A duplicate code, a promised limit above the statutory one: refused by field,
        // nothing saved, no audit line.
        let err = items
            .create(new_item("410402-MZ-101"), None, "admin")
            .await
            .unwrap_err();
        assert!(
            matches!(&err, EditError::Invalid(e) if e.field == ItemField::Code && e.problem == ItemProblem::DuplicateCode),
            "{err}"
        );
        let mut too_long = item.clone();
        too_long.promised_days = 30;
        let err = items
            .update("410402-MZ-101", too_long, &[], None, "admin")
            .await
            .unwrap_err();
        assert!(
            matches!(&err, EditError::Invalid(e) if e.field == ItemField::PromisedDays),
            "{err}"
        );
        let mut below = item.clone();
        below.handling_tier = bangban_domain::station::Tier::Village;
        let err = items
            .update("410402-MZ-101", below, &[], None, "admin")
            .await
            .unwrap_err();
        assert!(
            matches!(&err, EditError::Invalid(e) if e.field == ItemField::HandlingTier && e.problem == ItemProblem::HandlingBelowIntake),
            "{err}"
        );
        assert_eq!(items.read().await.unwrap().revision, after.revision);
        assert_eq!(audit_len().await, seeded + 1, "{backend:?}");

        // A file on a material; a renamed material keeps it; a stale page is refused.
        let file = items
            .attach(
                "410402-MZ-101",
                0,
                FileKind::BlankForm,
                "../申请表 (空白).exe",
                pdf(),
                "admin",
            )
            .await
            .unwrap();
        assert_eq!(file.name, "申请表 (空白).pdf");
        assert_eq!(file.size, pdf().len() as u64);
        let (found, bytes) = items
            .file("410402-MZ-101", &file.sha256)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((found, bytes), (file.clone(), pdf()));
        let stale = items.read().await.unwrap().revision - 1;
        let mut renamed = item.clone();
        renamed.materials[0].name = "居家养老服务补贴申请表".into();
        let err = items
            .update("410402-MZ-101", renamed.clone(), &[], Some(stale), "other")
            .await
            .unwrap_err();
        assert!(
            matches!(err, EditError::Draft(DraftError::Conflict { ref by, .. }) if by == "admin"),
            "{err}"
        );
        items
            .update(
                "410402-MZ-101",
                renamed,
                &[Some("申请表".into()), None],
                None,
                "admin",
            )
            .await
            .unwrap();
        let kept = items.read().await.unwrap().doc;
        let kept = kept.get("410402-MZ-101").unwrap();
        assert_eq!(kept.materials[0].name, "居家养老服务补贴申请表");
        assert_eq!(kept.materials[0].blank_form.as_ref(), Some(&file));
        // A file the item does not name is not served, even when the blob is here.
        let other = bangban_domain::attachment::ContentHash::parse(&"0".repeat(64)).unwrap();
        assert!(items.file("410402-MZ-101", &other).await.unwrap().is_none());
        assert!(
            items
                .file("410402-SCJG-001", &file.sha256)
                .await
                .unwrap()
                .is_none()
        );

        // Removed: the item is gone, its last state stays in the audit.
        items.remove("410402-MZ-101", None, "admin").await.unwrap();
        assert!(
            items
                .read()
                .await
                .unwrap()
                .doc
                .get("410402-MZ-101")
                .is_none()
        );
        let line = &drafts.audit(Some("catalogue"), 1).await.unwrap()[0];
        assert_eq!(line.action, "item.remove");
        assert_eq!(
            line.before.as_ref().unwrap()["materials"][0]["blank_form"]["sha256"],
            file.sha256.as_str()
        );
        assert!(line.after.is_none());
        assert!(matches!(
            items.remove("410402-MZ-101", None, "admin").await,
            Err(EditError::NotFound(_))
        ));
        // The draft is valid throughout: what a bundle would carry.
        Catalogue::from_json(&serde_json::to_string(&items.read().await.unwrap().doc).unwrap())
            .unwrap();
    }
    backends.finish().await;
}

// ---------------------------------------------------------------------------------------------
// The pages, on the real node
// ---------------------------------------------------------------------------------------------

struct Node {
    base: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Node {
    async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        self.task.await.unwrap().unwrap();
    }
}

/// A district on `database_url` with a district administrator and a station operator.
async fn start(dir: &Path, database_url: &str) -> Node {
    let file = dir.join("district.toml");
    std::fs::write(
        &file,
        format!(
            "[node]\ncode = \"410402000000\"\nname = \"新华区政务服务中心\"\n\
             [database]\nurl = \"{database_url}\"\n\
             [attachments]\ndir = \"{}\"\n\
             [policy]\ncatalogue = \"{}\"\n",
            dir.join("files").display(),
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../deploy/policy/catalogue.json")
                .display()
        ),
    )
    .unwrap();
    let r = super::web::serve_config(
        &file,
        &[
            ("admin", Role::DistrictAdmin),
            ("clerk", Role::StationOperator),
        ],
    )
    .await;
    Node {
        base: r.base,
        stop: Some(r.stop),
        task: r.task,
    }
}

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Logs in through the page; the session cookie.
async fn log_in(http: &reqwest::Client, base: &str, username: &str) -> String {
    let res = http
        .post(format!("{base}/login"))
        .header("sec-fetch-site", "same-origin")
        .form(&[
            ("username", username),
            ("password", PASSWORD),
            ("next", "/start"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let set = res
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|v| v.starts_with("bangban_session="))
        .unwrap();
    set.split(';').next().unwrap().to_owned()
}

const BOUNDARY: &str = "----bangban-catalogue-boundary-2b9d";

/// A browser's multipart body: the text fields, then the file.
fn multipart(fields: &[(&str, &str)], file_name: &str, bytes: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body
}

fn hidden(html: &str, name: &str) -> String {
    let needle = format!("name=\"{name}\" value=\"");
    let at = html.find(&needle).unwrap_or_else(|| panic!("no {name}")) + needle.len();
    html[at..].split('"').next().unwrap().to_owned()
}

async fn page(http: &reqwest::Client, url: String, cookie: &str) -> (u16, String) {
    let res = http.get(url).header(COOKIE, cookie).send().await.unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

async fn post_form<T: serde::Serialize + ?Sized>(
    http: &reqwest::Client,
    url: String,
    cookie: &str,
    form: &T,
) -> reqwest::Response {
    http.post(url)
        .header(COOKIE, cookie)
        .header("sec-fetch-site", "same-origin")
        .form(form)
        .send()
        .await
        .unwrap()
}

/// The new item's form with three materials (sent out of order, plus an empty and a removed
/// row).
fn item_form(csrf: &str, revision: &str) -> Vec<(&'static str, String)> {
    let fixed: Vec<(&'static str, &'static str)> = vec![
        ("code", "410402-MZ-201"),
        ("name", "困难群众价格临时补贴申领"),
        ("department", "新华区民政局"),
        ("co_departments", "新华区财政局\n新华区发展和改革委员会"),
        ("item_type", "payment"),
        ("case_type", "promised"),
        ("statutory_days", "20"),
        ("promised_days", "10"),
        ("max_visits", "1"),
        ("fees", ""),
        ("handling_tier", "district"),
        ("intake", "town"),
        ("intake", "village"),
        ("proxy_allowed", "1"),
        // Rows sent out of order: the order numbers decide.
        ("m0_order", "2"),
        ("m0_name", "居民身份证"),
        ("m0_necessity", "1"),
        ("m0_original", "1"),
        ("m0_count", ""),
        ("m0_how", "申请人本人持有"),
        ("m1_order", "1"),
        ("m1_name", "补贴申请表"),
        ("m1_necessity", "1"),
        ("m1_original", "1"),
        ("m1_count", "1"),
        ("m1_how", "在村（社区）党群服务中心领取"),
        ("m2_order", "3"),
        ("m2_name", "低保证或特困供养证"),
        ("m2_necessity", "3"),
        ("m2_original", "0"),
        ("m2_count", "2"),
        ("m2_how", "民政部门核发；可先受理后补交"),
        // An empty row and a removed row are not saved.
        ("m3_order", ""),
        ("m3_name", ""),
        ("m3_necessity", "1"),
        ("m4_order", "4"),
        ("m4_name", "不要的材料"),
        ("m4_necessity", "2"),
        ("m4_remove", "1"),
        ("action", "save"),
    ];
    [("csrf", csrf.to_owned()), ("revision", revision.to_owned())]
        .into_iter()
        .chain(fixed.into_iter().map(|(k, v)| (k, v.to_owned())))
        .collect()
}

/// `form` with `key` set to `value`.
fn with(form: &[(&'static str, String)], key: &str, value: &str) -> Vec<(&'static str, String)> {
    form.iter()
        .map(|(k, v)| {
            (
                *k,
                if *k == key {
                    value.to_owned()
                } else {
                    v.clone()
                },
            )
        })
        .collect()
}

/// A material row's field (`m0_name` …).
fn is_row(key: &str) -> bool {
    key.strip_prefix('m')
        .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
}

async fn catalogue_pages_flow(database_url: &str, dir: &Path) {
    let node = start(dir, database_url).await;
    let base = node.base.clone();
    let http = browser();
    let admin = log_in(&http, &base, "admin").await;

    // The list: every shipped item, searchable.
    let (status, html) = page(&http, format!("{base}/policy/catalogue"), &admin).await;
    assert_eq!(status, 200);
    assert!(html.contains("410402-SCJG-001") && html.contains("食品经营许可证核发"));
    let (_, html) = page(&http, format!("{base}/policy/catalogue?q=居住证"), &admin).await;
    assert!(
        html.contains("居住证申领") && !html.contains("食品经营许可证核发"),
        "{html}"
    );

    // A new item with three materials.
    let (status, html) = page(&http, format!("{base}/policy/catalogue/new"), &admin).await;
    assert_eq!(status, 200);
    let csrf = hidden(&html, "csrf");
    let revision = hidden(&html, "revision");
    let form = item_form(&csrf, &revision);

    // Refused first: a negative limit. The message is beside the field, what was typed is
    // kept, nothing is saved.
    let res = post_form(
        &http,
        format!("{base}/policy/catalogue/new"),
        &admin,
        &with(&form, "statutory_days", "-5"),
    )
    .await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert!(
        html.contains(r#"id="statutory_days" name="statutory_days" value="-5""#)
            && html.contains("aria-invalid=\"true\" aria-describedby=\"statutory_days-error\""),
        "{html}"
    );
    assert!(
        html.contains(r#"<span class="field-error" id="statutory_days-error" role="alert">法定时限须为不小于 0 的整数</span>"#),
        "{html}"
    );
    assert!(html.contains("value=\"困难群众价格临时补贴申领\""));
    assert!(html.contains("低保证或特困供养证") && !html.contains("不要的材料"));
    // A handling tier below an intake tier; a material's bad count, beside its row.
    let res = post_form(
        &http,
        format!("{base}/policy/catalogue/new"),
        &admin,
        &with(&form, "handling_tier", "village"),
    )
    .await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert!(html.contains("id=\"handling_tier-error\""), "{html}");
    let res = post_form(
        &http,
        format!("{base}/policy/catalogue/new"),
        &admin,
        &with(&form, "m2_count", "0"),
    )
    .await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert!(html.contains("第3行：份数须在 1 到 99 之间"), "{html}");
    // "More rows" saves nothing and keeps what was typed.
    let res = post_form(
        &http,
        format!("{base}/policy/catalogue/new"),
        &admin,
        &with(&form, "action", "more"),
    )
    .await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("name=\"m7_name\""),
        "three rows typed, five more"
    );
    let (_, list) = page(&http, format!("{base}/policy/catalogue"), &admin).await;
    assert!(!list.contains("410402-MZ-201"), "nothing saved");

    // Saved.
    let res = post_form(&http, format!("{base}/policy/catalogue/new"), &admin, &form).await;
    assert_eq!(res.status(), 303);
    assert_eq!(
        res.headers()["location"],
        "/policy/catalogue/410402-MZ-201?done=added"
    );
    let (status, html) = page(
        &http,
        format!("{base}/policy/catalogue/410402-MZ-201"),
        &admin,
    )
    .await;
    assert_eq!(status, 200);
    let first = html.find("补贴申请表").unwrap();
    let second = html.find("居民身份证").unwrap();
    assert!(first < second, "rows in the order typed");
    assert!(!html.contains("不要的材料"));

    // The same code again is refused beside the code.
    let res = post_form(&http, format!("{base}/policy/catalogue/new"), &admin, &form).await;
    assert_eq!(res.status(), 422);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("该事项编码已被其他事项使用")
    );

    // Edit the limits.
    let csrf = hidden(&html, "csrf");
    let revision = hidden(&html, "revision");
    let mut edit: Vec<(String, String)> = vec![
        ("csrf".into(), csrf.clone()),
        ("revision".into(), revision.clone()),
    ];
    for (k, v) in &form {
        if !["csrf", "revision", "code"].contains(k) && !is_row(k) {
            edit.push(((*k).into(), v.clone()));
        }
    }
    for (i, (name, how)) in [
        ("补贴申请表", "窗口领取"),
        ("居民身份证", "本人持有"),
        ("低保证或特困供养证", "民政部门核发"),
    ]
    .iter()
    .enumerate()
    {
        edit.push((format!("m{i}_order"), (i + 1).to_string()));
        edit.push((format!("m{i}_name"), (*name).into()));
        edit.push((format!("m{i}_orig"), (*name).into()));
        edit.push((
            format!("m{i}_necessity"),
            if i == 2 { "3" } else { "1" }.into(),
        ));
        edit.push((format!("m{i}_how"), (*how).into()));
    }
    let set = |edit: &mut Vec<(String, String)>, key: &str, value: &str| {
        for (k, v) in edit.iter_mut() {
            if k == key {
                *v = value.into();
            }
        }
    };
    set(&mut edit, "promised_days", "25");
    let res = http
        .post(format!("{base}/policy/catalogue/410402-MZ-201"))
        .header(COOKIE, &admin)
        .header("sec-fetch-site", "same-origin")
        .form(&edit)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert!(html.contains("承诺时限不能超过法定时限"), "{html}");
    assert!(html.contains(r#"name="promised_days" value="25""#));
    set(&mut edit, "statutory_days", "30");
    set(&mut edit, "promised_days", "15");
    let res = http
        .post(format!("{base}/policy/catalogue/410402-MZ-201"))
        .header(COOKIE, &admin)
        .header("sec-fetch-site", "same-origin")
        .form(&edit)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    // Sent again from the same (now stale) page: refused, someone saved since.
    let res = http
        .post(format!("{base}/policy/catalogue/410402-MZ-201"))
        .header(COOKIE, &admin)
        .header("sec-fetch-site", "same-origin")
        .form(&edit)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("id=\"form-error\""));

    // Upload a blank form for the first material, then download it.
    let upload = |material: &str, kind: &str, name: &str, bytes: &[u8]| {
        http.post(format!("{base}/policy/catalogue/410402-MZ-201/files"))
            .header(COOKIE, &admin)
            .header("sec-fetch-site", "same-origin")
            .header(
                "content-type",
                format!("multipart/form-data; boundary={BOUNDARY}"),
            )
            .body(multipart(
                &[("csrf", &csrf), ("material", material), ("kind", kind)],
                name,
                bytes,
            ))
            .send()
    };
    let res = upload("0", "blank_form", "补贴申请表.pdf", &pdf())
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    // Not a PDF, JPEG or PNG: refused beside the upload form.
    let res = upload("1", "sample", "样表.pdf", b"MZ\x90\x00 not a form")
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("id=\"file-error\""));
    let (_, html) = page(
        &http,
        format!("{base}/policy/catalogue/410402-MZ-201"),
        &admin,
    )
    .await;
    let href_at = html.find("/policy/catalogue/410402-MZ-201/files/").unwrap();
    let href = html[href_at..].split('"').next().unwrap().to_owned();
    let res = http
        .get(format!("{base}{href}"))
        .header(COOKIE, &admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/pdf");
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    assert_eq!(res.bytes().await.unwrap().to_vec(), pdf());
    assert!(html.contains("法定时限") && html.contains(r#"name="statutory_days" value="30""#));

    // The audit shows the change field by field.
    let (_, audit) = page(
        &http,
        format!("{base}/policy/audit?section=catalogue"),
        &admin,
    )
    .await;
    assert!(
        audit.contains("item.add") && audit.contains("item.update"),
        "{audit}"
    );
    assert!(audit.contains("法定时限：20 → 30"), "{audit}");
    assert!(audit.contains("承诺时限：10 → 15"), "{audit}");
    assert!(audit.contains("材料 #1.空白表格.名称：— → "), "{audit}");

    // A station operator may neither read nor change the catalogue.
    let clerk = log_in(&http, &base, "clerk").await;
    let (status, _) = page(&http, format!("{base}/policy/catalogue"), &clerk).await;
    assert_eq!(status, 403);
    let res = post_form(
        &http,
        format!("{base}/policy/catalogue/410402-MZ-201/remove"),
        &clerk,
        &[("csrf", "x"), ("confirm", "1")],
    )
    .await;
    assert_eq!(res.status(), 403);
    let res = http
        .get(format!("{base}{href}"))
        .header(COOKIE, &clerk)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);

    // Removal needs the box ticked; then the item is gone and the audit keeps it.
    let res = post_form(
        &http,
        format!("{base}/policy/catalogue/410402-MZ-201/remove"),
        &admin,
        &[("csrf", csrf.as_str())],
    )
    .await;
    assert_eq!(res.status(), 422);
    let res = post_form(
        &http,
        format!("{base}/policy/catalogue/410402-MZ-201/remove"),
        &admin,
        &[("csrf", csrf.as_str()), ("confirm", "1")],
    )
    .await;
    assert_eq!(res.status(), 303);
    let (status, _) = page(
        &http,
        format!("{base}/policy/catalogue/410402-MZ-201"),
        &admin,
    )
    .await;
    assert_eq!(status, 404);
    let (_, audit) = page(
        &http,
        format!("{base}/policy/audit?section=catalogue"),
        &admin,
    )
    .await;
    assert!(audit.contains("item.remove"));
    node.stop().await;
}

#[tokio::test]
async fn an_item_is_authored_through_the_pages_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    catalogue_pages_flow("sqlite://district.sqlite", dir.path()).await;
}

#[tokio::test]
async fn an_item_is_authored_through_the_pages_on_postgres() {
    let admin_url = std::env::var("PG_TEST_URL").expect("PG_TEST_URL is not set");
    let name = format!("bangban_cat_{}", uuid::Uuid::now_v7().simple());
    let admin_db = bangban_kit::db::Db::connect(&admin_url).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(admin_db.pool())
        .await
        .unwrap();
    let mut url = url::Url::parse(&admin_url).unwrap();
    url.set_path(&format!("/{name}"));
    let dir = tempfile::tempdir().unwrap();
    catalogue_pages_flow(url.as_str(), dir.path()).await;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE {name} WITH (FORCE)"
    )))
    .execute(admin_db.pool())
    .await
    .unwrap();
}

#[tokio::test]
async fn the_json_api_names_the_refused_field_and_saves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let node = start(dir.path(), "sqlite://district.sqlite").await;
    let base = node.base.clone();
    let http = reqwest::Client::new();
    let token = |user: &'static str| {
        let http = http.clone();
        let base = base.clone();
        async move {
            let login: Value = http
                .post(format!("{base}/api/v1/login"))
                .json(&json!({"username": user, "password": PASSWORD}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            login["token"].as_str().unwrap().to_owned()
        }
    };
    let admin = token("admin").await;
    let body = json!({
        "code": "410402-YB-101", "name": "城乡居民医保转移接续", "department": "新华区医疗保障局",
        "item_type": "public_service", "case_type": "promised",
        "statutory_days": 15, "promised_days": 5, "max_visits": 1,
        "handling_tier": "district", "intake_tiers": ["district", "town", "village"],
        "materials": [{"name": "居民身份证", "necessity": 1, "how_to_obtain": "本人持有"}]
    });
    let url = format!("{base}/api/v1/policy/catalogue");
    for (field, value, want, material) in [
        ("statutory_days", json!(-1), "statutory_days", None),
        ("promised_days", json!(20), "promised_days", None),
        (
            "intake_tiers",
            json!(["district", "province"]),
            "intake_tiers",
            None,
        ),
        ("handling_tier", json!("town"), "handling_tier", None),
        ("max_visits", json!(0), "max_visits", None),
        (
            "materials",
            json!([{"name": "申请表", "necessity": 1}, {"name": "申请表", "necessity": 2}]),
            "materials.name",
            Some(1),
        ),
    ] {
        let mut bad = body.clone();
        bad[field] = value;
        let res = http
            .post(&url)
            .bearer_auth(&admin)
            .json(&bad)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 422, "{field}");
        assert_eq!(
            res.headers()["content-type"],
            "application/problem+json",
            "{field}"
        );
        let p: Value = res.json().await.unwrap();
        assert_eq!(p["field"], want, "{p}");
        assert_eq!(p["material"].as_u64(), material.map(|m: u64| m), "{p}");
        assert!(
            p["message_zh"].as_str().unwrap().contains("410402-YB-101"),
            "{p}"
        );
        assert!(!p["message_en"].as_str().unwrap().is_empty());
    }
    let list: Value = http
        .get(&url)
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let count = list["items"].as_array().unwrap().len();
    assert!(
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["code"] != "410402-YB-101")
    );

    let res = http
        .post(&url)
        .bearer_auth(&admin)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let item_url = format!("{url}/410402-YB-101");
    let got: Value = http
        .get(&item_url)
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(got["promised_days"], 5);
    let mut changed = body.clone();
    changed["promised_days"] = json!(3);
    let res = http
        .put(&item_url)
        .bearer_auth(&admin)
        .json(&changed)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap()["promised_days"], 3);
    changed["code"] = json!("410402-YB-102");
    let res = http
        .put(&item_url)
        .bearer_auth(&admin)
        .json(&changed)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    assert_eq!(res.json::<Value>().await.unwrap()["field"], "code");
    let res = http
        .get(format!("{url}/NOPE"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let list: Value = http
        .get(&url)
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), count + 1);

    // A station operator is refused every route.
    let clerk = token("clerk").await;
    let res = http.get(&url).bearer_auth(&clerk).send().await.unwrap();
    assert_eq!(res.status(), 403);
    let res = http
        .put(&item_url)
        .bearer_auth(&clerk)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    // The routes are in the OpenAPI document.
    let doc: Value = http
        .get(format!("{base}/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["paths"]["/api/v1/policy/catalogue/{code}"]["put"].is_object());
    node.stop().await;
}
