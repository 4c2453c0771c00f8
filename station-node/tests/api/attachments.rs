//! Attachments through a running station, as a browser uploads them: a multipart form with the
//! session's CSRF token, real JPEGs and PNGs made here with EXIF (GPS, a camera name, Orientation
//! 6), XMP and text chunks, the stored bytes read back from the blob folder, and the refusals.

use std::path::{Path, PathBuf};

use bangban_kit::auth::Role;
use reqwest::header::{
    CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE,
};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, add_account, spawn_app_in, write_config};
use crate::helpers::{browser, csrf_of};

const OPERATOR: &str = "operator";
const INSPECTOR: &str = "inspector";
/// 食品经营许可证核发: a village takes it in; its list names 营业执照 among others.
const ITEM: &str = "410402-SCJG-001";

async fn sign_in(http: &Client, base: &str, user: &str) -> (String, String) {
    let res = http
        .post(format!("{base}/login"))
        .header("sec-fetch-site", "same-origin")
        .form(&[("username", user), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    let cookie = res.headers()[SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let login: Value = http
        .post(format!("{base}/api/v1/login"))
        .json(&json!({"username": user, "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (cookie, login["token"].as_str().unwrap().to_owned())
}

async fn open_case(http: &Client, base: &str, bearer: &str) -> String {
    let case: Value = http
        .post(format!("{base}/api/v1/cases"))
        .bearer_auth(bearer)
        .json(&json!({"kind": "application", "channel": "window", "item_code": ITEM,
            "applicant": {"type": "person", "name": "张三丰", "id_number": "11010519491231002X", "phone": "13812345678"}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    case["case_id"].as_str().unwrap().to_owned()
}

async fn page(http: &Client, url: String, cookie: &str) -> String {
    http.get(url)
        .header(COOKIE, cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

const BOUNDARY: &str = "----bangban-test-boundary-7f3e";

/// A browser's multipart body: the token, the material, the file.
fn multipart(csrf: &str, material: &str, file_name: &str, bytes: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, value) in [("csrf", csrf), ("material", material)] {
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
             Content-Type: image/jpeg\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body
}

async fn upload(
    http: &Client,
    base: &str,
    case_id: &str,
    cookie: &str,
    body: Vec<u8>,
) -> reqwest::Response {
    http.post(format!("{base}/cases/{case_id}/attachments"))
        .header(COOKIE, cookie)
        .header("sec-fetch-site", "same-origin")
        .header(
            CONTENT_TYPE,
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(body)
        .send()
        .await
        .unwrap()
}

/// A big-endian TIFF/Exif block: IFD0 with Make = "SecretCam", Orientation = 6 and a GPS IFD
/// (latitude N 33° 44' 5").
fn exif_with_gps() -> Vec<u8> {
    let mut t = b"MM\0\x2a".to_vec();
    t.extend_from_slice(&8u32.to_be_bytes());
    // IFD0 at 8: three entries, ends at 8 + 2 + 36 + 4 = 50.
    t.extend_from_slice(&3u16.to_be_bytes());
    let entry = |t: &mut Vec<u8>, tag: u16, kind: u16, count: u32, value: [u8; 4]| {
        t.extend_from_slice(&tag.to_be_bytes());
        t.extend_from_slice(&kind.to_be_bytes());
        t.extend_from_slice(&count.to_be_bytes());
        t.extend_from_slice(&value);
    };
    entry(&mut t, 0x010F, 2, 10, 50u32.to_be_bytes());
    entry(&mut t, 0x0112, 3, 1, [0, 6, 0, 0]);
    entry(&mut t, 0x8825, 4, 1, 60u32.to_be_bytes());
    t.extend_from_slice(&0u32.to_be_bytes());
    t.extend_from_slice(b"SecretCam\0");
    // GPS IFD at 60: two entries, ends at 60 + 2 + 24 + 4 = 90; the rationals at 90.
    t.extend_from_slice(&2u16.to_be_bytes());
    entry(&mut t, 0x0001, 2, 2, *b"N\0\0\0");
    entry(&mut t, 0x0002, 5, 3, 90u32.to_be_bytes());
    t.extend_from_slice(&0u32.to_be_bytes());
    for v in [33u32, 44, 5] {
        t.extend_from_slice(&v.to_be_bytes());
        t.extend_from_slice(&1u32.to_be_bytes());
    }
    let mut payload = b"Exif\0\0".to_vec();
    payload.extend_from_slice(&t);
    payload
}

fn segment(marker: u8, payload: &[u8]) -> Vec<u8> {
    let mut s = vec![0xFF, marker];
    s.extend_from_slice(&u16::try_from(payload.len() + 2).unwrap().to_be_bytes());
    s.extend_from_slice(payload);
    s
}

const WIDTH: u32 = 24;
const HEIGHT: u32 = 16;

fn pixels() -> Vec<u8> {
    (0..WIDTH * HEIGHT)
        .flat_map(|i| [(i * 7 % 256) as u8, (i * 3 % 256) as u8, 128])
        .collect()
}

/// A real JPEG from a phone: EXIF with GPS and Orientation 6, XMP, IPTC and a comment.
fn phone_photo() -> Vec<u8> {
    let mut plain = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut plain, 85)
        .encode(&pixels(), WIDTH, HEIGHT, image::ExtendedColorType::Rgb8)
        .unwrap();
    let mut photo = plain[..2].to_vec();
    photo.extend_from_slice(&segment(0xE1, &exif_with_gps()));
    photo.extend_from_slice(&segment(
        0xE1,
        b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta><exif:GPSLatitude>33,44.08N</exif:GPSLatitude>XmpSecret</x:xmpmeta>",
    ));
    photo.extend_from_slice(&segment(0xED, b"Photoshop 3.0\08BIMIptcSecret"));
    photo.extend_from_slice(&segment(0xFE, b"CommentSecret"));
    photo.extend_from_slice(&plain[2..]);
    photo
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut c = u32::try_from(data.len()).unwrap().to_be_bytes().to_vec();
    c.extend_from_slice(kind);
    c.extend_from_slice(data);
    let mut covered = kind.to_vec();
    covered.extend_from_slice(data);
    c.extend_from_slice(&crc32(&covered).to_be_bytes());
    c
}

/// A real PNG with a text chunk, a time stamp and EXIF, all with valid CRCs.
fn screenshot() -> Vec<u8> {
    use image::ImageEncoder;
    let mut plain = Vec::new();
    image::codecs::png::PngEncoder::new(&mut plain)
        .write_image(&pixels(), WIDTH, HEIGHT, image::ExtendedColorType::Rgb8)
        .unwrap();
    // The signature (8) and IHDR (25), then the metadata, then the rest.
    let mut png = plain[..33].to_vec();
    png.extend_from_slice(&png_chunk(b"tEXt", b"Comment\0TextSecret"));
    png.extend_from_slice(&png_chunk(b"tIME", &[7, 234, 11, 28, 9, 30, 0]));
    png.extend_from_slice(&png_chunk(b"eXIf", &exif_with_gps()[6..]));
    png.extend_from_slice(&plain[33..]);
    png
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The APP1 segments of a JPEG, before its first scan.
fn app1_segments(jpeg: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut pos = 2;
    while pos + 4 <= jpeg.len() && jpeg[pos] == 0xFF && jpeg[pos + 1] != 0xDA {
        let len = usize::from(u16::from_be_bytes([jpeg[pos + 2], jpeg[pos + 3]]));
        if jpeg[pos + 1] == 0xE1 {
            out.push(jpeg[pos + 4..pos + 2 + len].to_vec());
        }
        pos += 2 + len;
    }
    out
}

fn stored_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(stored_files(&path));
        } else {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// The `href`s of the case page's attachment links.
fn links(html: &str, case_id: &str) -> Vec<String> {
    let prefix = format!("href=\"/cases/{case_id}/attachments/");
    html.match_indices(&prefix)
        .map(|(at, _)| html[at + 6..].split('"').next().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_phone_photo_is_stored_without_its_gps_and_still_shows_upright() {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), "");
    add_account(dir.path(), OPERATOR, Role::StationOperator).await;
    add_account(dir.path(), INSPECTOR, Role::Inspector).await;
    let app = spawn_app_in(dir.path()).await;
    let base = app.url.clone();
    let http = browser();
    let (cookie, bearer) = sign_in(&http, &base, OPERATOR).await;
    let case_id = open_case(&http, &base, &bearer).await;

    let html = page(&http, format!("{base}/cases/{case_id}"), &cookie).await;
    assert!(html.contains("id=\"attachments\""), "{html}");
    assert!(html.contains("暂无附件"), "{html}");
    assert!(html.contains("enctype=\"multipart/form-data\""), "{html}");
    assert!(
        html.contains("<option value=\"营业执照\">营业执照</option>"),
        "{html}"
    );
    assert!(html.contains("10 MiB"), "{html}");
    let csrf = csrf_of(&html);

    let photo = phone_photo();
    assert!(contains(&photo, b"SecretCam") && contains(&photo, b"XmpSecret"));
    let res = upload(
        &http,
        &base,
        &case_id,
        &cookie,
        multipart(&csrf, "营业执照", "营业执照 正本.JPG", &photo),
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        res.headers()[LOCATION].to_str().unwrap(),
        format!("/cases/{case_id}#attachments")
    );

    // Stored once, content-addressed, beside the database.
    let blobs = dir.path().join("attachments");
    let files = stored_files(&blobs);
    assert_eq!(files.len(), 1, "{files:?}");
    let stored = std::fs::read(&files[0]).unwrap();
    let hash = files[0].file_name().unwrap().to_str().unwrap().to_owned();
    assert_eq!(bangban_kit::attachments::sha256(&stored).as_str(), hash);
    for secret in [
        &b"SecretCam"[..],
        b"XmpSecret",
        b"IptcSecret",
        b"CommentSecret",
        b"http://ns.adobe.com",
        b"GPSLatitude",
        &[0x88, 0x25],
    ] {
        assert!(
            !contains(&stored, secret),
            "{}",
            String::from_utf8_lossy(secret)
        );
    }
    // Exactly one Exif segment is left: Orientation = 6, and nothing else.
    let app1 = app1_segments(&stored);
    assert_eq!(app1.len(), 1, "{app1:?}");
    assert!(app1[0].starts_with(b"Exif\0\0MM\0\x2a\0\0\0\x08\0\x01"));
    assert!(contains(&app1[0], &[0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6]));
    let decoded = image::load_from_memory(&stored).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (WIDTH, HEIGHT));
    // The pixels were not re-encoded: the scan is the original's, byte for byte.
    let scan = |j: &[u8]| j[j.windows(2).position(|w| w == [0xFF, 0xDA]).unwrap()..].to_vec();
    assert_eq!(scan(&stored), scan(&photo));

    // The list names it, and its link serves exactly the stored bytes, safely.
    let html = page(&http, format!("{base}/cases/{case_id}"), &cookie).await;
    assert!(html.contains("营业执照 正本.jpg"), "{html}");
    assert!(html.contains(">JPEG<"), "{html}");
    assert_eq!(
        links(&html, &case_id),
        vec![format!("/cases/{case_id}/attachments/{hash}")]
    );
    let res = http
        .get(format!("{base}/cases/{case_id}/attachments/{hash}"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let h = res.headers();
    assert_eq!(h[CONTENT_TYPE], "image/jpeg");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h[CACHE_CONTROL], "private, no-store");
    let disposition = h[CONTENT_DISPOSITION].to_str().unwrap().to_owned();
    assert!(
        disposition.starts_with("inline; filename=\""),
        "{disposition}"
    );
    assert!(disposition.ends_with(".jpg"), "{disposition}");
    assert_eq!(res.bytes().await.unwrap().to_vec(), stored);

    // The log records it, with the hash, and the API shows it.
    let view: Value = http
        .get(format!("{base}/api/v1/cases/{case_id}"))
        .bearer_auth(&bearer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let added: Vec<&Value> = view["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "attachment_added")
        .collect();
    assert_eq!(added.len(), 1, "{view}");
    assert_eq!(added[0]["payload"]["sha256"], hash.as_str());
    assert_eq!(added[0]["payload"]["material"], "营业执照");
    assert_eq!(added[0]["payload"]["stripped"], true);
    assert_eq!(added[0]["kind_label"], "上传材料附件");

    // The same photo again: nothing new, on this case or in the folder.
    let res = upload(
        &http,
        &base,
        &case_id,
        &cookie,
        multipart(&csrf, "", "again.jpg", &photo),
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let html = page(&http, format!("{base}/cases/{case_id}"), &cookie).await;
    assert_eq!(links(&html, &case_id).len(), 1);
    // On another case: a second row there, still one file.
    let other = open_case(&http, &base, &bearer).await;
    let res = upload(
        &http,
        &base,
        &other,
        &cookie,
        multipart(&csrf, "营业执照", "photo.jpg", &photo),
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(stored_files(&blobs).len(), 1);
    let html = page(&http, format!("{base}/cases/{other}"), &cookie).await;
    assert_eq!(links(&html, &other).len(), 1);

    // A PNG loses its text, time and EXIF chunks and still decodes.
    let png = screenshot();
    image::load_from_memory(&png).unwrap();
    let res = upload(
        &http,
        &base,
        &case_id,
        &cookie,
        multipart(&csrf, "经营场所平面图", "平面图.png", &png),
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let files = stored_files(&blobs);
    assert_eq!(files.len(), 2);
    let stored_png = files
        .iter()
        .map(|f| std::fs::read(f).unwrap())
        .find(|b| b.starts_with(b"\x89PNG"))
        .unwrap();
    for gone in [&b"tEXt"[..], b"tIME", b"eXIf", b"TextSecret", b"SecretCam"] {
        assert!(
            !contains(&stored_png, gone),
            "{}",
            String::from_utf8_lossy(gone)
        );
    }
    let decoded = image::load_from_memory(&stored_png).unwrap();
    assert_eq!(decoded.to_rgb8().into_raw(), pixels());

    // An inspector sees the list without links, and cannot open a file.
    let (inspector, _) = sign_in(&http, &base, INSPECTOR).await;
    let html = page(&http, format!("{base}/cases/{case_id}"), &inspector).await;
    assert!(html.contains("营业执照 正本.jpg"), "{html}");
    assert!(links(&html, &case_id).is_empty(), "{html}");
    assert!(!html.contains("id=\"f-attachment\""), "{html}");
    let res = http
        .get(format!("{base}/cases/{case_id}/attachments/{hash}"))
        .header(COOKIE, &inspector)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    // A file is served only for a case it belongs to.
    let third = open_case(&http, &base, &bearer).await;
    let res = http
        .get(format!("{base}/cases/{third}/attachments/{hash}"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    for bad in ["../../station.sqlite", "ABC", &hash.to_uppercase()] {
        let res = http
            .get(format!("{base}/cases/{case_id}/attachments/{bad}"))
            .header(COOKIE, &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{bad}");
    }
    app.stop().await;
}

#[tokio::test]
async fn wrong_types_sizes_and_forms_are_refused_with_a_clear_message_and_nothing_stored() {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), "[attachments]\nmax_size_kib = 64\n");
    add_account(dir.path(), OPERATOR, Role::StationOperator).await;
    let app = spawn_app_in(dir.path()).await;
    let base = app.url.clone();
    let http = browser();
    let (cookie, bearer) = sign_in(&http, &base, OPERATOR).await;
    let case_id = open_case(&http, &base, &bearer).await;
    let html = page(&http, format!("{base}/cases/{case_id}"), &cookie).await;
    assert!(html.contains("64 KiB"), "{html}");
    let csrf = csrf_of(&html);

    let gif = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;".to_vec();
    let mut big_pdf = b"%PDF-1.7\n".to_vec();
    big_pdf.resize(100 * 1024, b' ');
    let mut truncated = phone_photo();
    truncated.truncate(40);
    let refusals: [(&str, Vec<u8>, &str, &str, &str); 5] = [
        (
            "zh",
            gif.clone(),
            "照片.jpg",
            "仅接受 JPEG、PNG 图片或 PDF 文件",
            "营业执照",
        ),
        (
            "en",
            gif,
            "photo.jpg",
            "only JPEG, PNG and PDF files are accepted",
            "",
        ),
        ("zh", Vec::new(), "空.pdf", "文件为空", ""),
        (
            "en",
            big_pdf,
            "scan.pdf",
            "an attachment may be at most 64 KiB",
            "",
        ),
        ("zh", truncated, "坏.jpg", "该 JPEG 文件已损坏", ""),
    ];
    for (lang, bytes, name, message, material) in refusals {
        let res = upload(
            &http,
            &base,
            &case_id,
            &format!("{cookie}; bangban_lang={lang}"),
            multipart(&csrf, material, name, &bytes),
        )
        .await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{name}");
        let html = res.text().await.unwrap();
        assert!(html.contains(message), "{name}: {html}");
        assert!(html.contains("id=\"attachment-error\""), "{html}");
        // The form is there again, the material still chosen.
        assert!(html.contains("id=\"f-attachment\""), "{html}");
        if !material.is_empty() {
            assert!(
                html.contains(&format!("<option value=\"{material}\" selected>")),
                "{html}"
            );
        }
    }
    // A material that is not on the item's list.
    let res = upload(
        &http,
        &base,
        &case_id,
        &cookie,
        multipart(&csrf, "别的材料", "a.pdf", b"%PDF-1.7 x"),
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("不在该事项的材料清单中"));
    // A body far over the limit is refused from its head, with a page that says why.
    let mut huge = b"%PDF-1.7\n".to_vec();
    huge.resize(400 * 1024, b' ');
    let res = upload(
        &http,
        &base,
        &case_id,
        &cookie,
        multipart(&csrf, "", "huge.pdf", &huge),
    )
    .await;
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(res.text().await.unwrap().contains("不能超过 64 KiB"));
    // Without the session's token: refused, whatever the file.
    let res = upload(
        &http,
        &base,
        &case_id,
        &cookie,
        multipart("forged", "", "a.pdf", b"%PDF-1.7 x"),
    )
    .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // The other routes keep the node's own body limit.
    let res = http
        .post(format!("{base}/cases/{case_id}/steps"))
        .header(COOKIE, &cookie)
        .header("sec-fetch-site", "same-origin")
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(vec![b'a'; 2 * 1024 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);

    assert!(
        stored_files(&dir.path().join("attachments")).is_empty(),
        "nothing was stored"
    );
    let html = page(&http, format!("{base}/cases/{case_id}"), &cookie).await;
    assert!(html.contains("暂无附件"), "nothing was added: {html}");
    // A good file still goes in after all that.
    let res = upload(
        &http,
        &base,
        &case_id,
        &cookie,
        multipart(&csrf, "", "scan.pdf", b"%PDF-1.7 small scan"),
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(stored_files(&dir.path().join("attachments")).len(), 1);
    app.stop().await;
}
