//! The attachments of a case on its page: the list (file, material, type, size, who, when), the
//! upload form, and the file itself (`GET /cases/{case_id}/attachments/{sha256}`).
//!
//! Uploading needs `HandleCases`; opening a file (scans of ID cards, licences…) is a view of
//! personal data: it needs `ViewPersonalData` (operators and agents) and is written to the
//! personal-data audit before the bytes are sent. Other readers of the case (inspectors, station
//! admins) see the list without links. The checks, the stripping and the storage are
//! `crate::attachments`'; this module never decides what a file is.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{FromRequestParts, Multipart, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use bangban_domain::account::Permission;
use bangban_domain::attachment::ContentHash;
use bangban_domain::case::CaseState;
use bangban_domain::event::CaseId;

use super::Web;
use super::i18n::{Lang, Tr};
use super::pages::{UserView, china_time, csrf_refused, error_page, internal_error, with_lang};
use super::session::{WebUser, check_form};
use crate::attachments::{AddError, Upload, UploadError, add_to_case, size_label};
use crate::http::Problem;

/// One file of the list, ready to show.
pub struct FileRow {
    pub href: String,
    pub file_name: String,
    pub material: String,
    pub media: &'static str,
    pub size: String,
    pub by: String,
    pub when: String,
    /// Whether the bytes are on this node (a parent may know of a file before it arrives).
    pub available: bool,
}

/// What `attachments.html` shows.
pub struct AttachmentsView {
    pub case_id: String,
    pub rows: Vec<FileRow>,
    /// The reader may open the files.
    pub may_view: bool,
    /// The form is offered (the reader handles cases and this node keeps attachments).
    pub may_upload: bool,
    /// This node keeps attachments at all.
    pub kept: bool,
    /// The item's materials, and whether each is the one chosen.
    pub materials: Vec<(String, bool)>,
    pub csrf: String,
    /// Why the last upload was refused, shown beside the form.
    pub error: Option<String>,
    pub max_label: String,
}

/// The attachments part of a case's page.
pub async fn view(web: &Web, user: &WebUser, state: &CaseState) -> AttachmentsView {
    build(web, user, state, None, None).await
}

async fn build(
    web: &Web,
    user: &WebUser,
    state: &CaseState,
    chosen: Option<&str>,
    error: Option<String>,
) -> AttachmentsView {
    let case_id = state.case_id;
    let kept = web.store.attachments();
    let may = user.operator.role.may(Permission::HandleCases);
    let may_view = user.operator.role.may(Permission::ViewPersonalData);
    let found = match web.store.case_attachments(case_id).await {
        Ok(rows) => rows,
        Err(e) => {
            tracing::error!(case_id = %case_id, error = %e, "cannot read the attachments");
            Vec::new()
        }
    };
    let mut rows = Vec::with_capacity(found.len());
    for a in found {
        let available = match kept {
            Some(k) => k.blobs().has(&a.sha256).await,
            None => false,
        };
        rows.push(FileRow {
            href: format!("/cases/{case_id}/attachments/{}", a.sha256),
            file_name: a.file_name,
            material: a.material.unwrap_or_default(),
            media: a.media_type.label(),
            size: size_label(a.size),
            by: match a.uploaded_by {
                Some(by) => format!("{} · {by}", a.station),
                None => a.station.to_string(),
            },
            when: china_time(a.uploaded_at),
            available,
        });
    }
    let policy = web.store.policy().current();
    let materials = state
        .item
        .as_ref()
        .and_then(|i| policy.catalogue.get(&i.code))
        .map(|item| {
            item.materials
                .iter()
                .map(|m| (m.name.clone(), chosen == Some(m.name.as_str())))
                .collect()
        })
        .unwrap_or_default();
    AttachmentsView {
        case_id: case_id.to_string(),
        rows,
        may_view,
        may_upload: may && kept.is_some(),
        kept: kept.is_some(),
        materials,
        csrf: user.csrf.clone(),
        error,
        max_label: kept.map(|k| size_label(k.max_bytes())).unwrap_or_default(),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "attachment_refused.html")]
struct RefusedPage {
    t: Tr,
    centre: Option<String>,
    user: Option<UserView>,
    exposed_plain_http: bool,
    case_no: String,
    files: AttachmentsView,
}

/// What the form sent.
#[derive(Default)]
struct Posted {
    csrf: String,
    material: String,
    file_name: String,
    bytes: Option<Vec<u8>>,
}

/// Reads the form. `Err` carries the status and whether the body was too large.
async fn read_form(mut form: Multipart) -> Result<Posted, StatusCode> {
    let mut posted = Posted::default();
    loop {
        let field = match form.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => return Ok(posted),
            Err(e) => return Err(e.status()),
        };
        let name = field.name().unwrap_or_default().to_owned();
        match name.as_str() {
            "file" => {
                posted.file_name = field.file_name().unwrap_or_default().to_owned();
                let bytes = field.bytes().await.map_err(|e| e.status())?;
                posted.bytes = Some(bytes.to_vec());
            }
            "csrf" | "material" => {
                let text = field.text().await.map_err(|e| e.status())?;
                let text: String = text.chars().take(500).collect();
                if name == "csrf" {
                    posted.csrf = text;
                } else {
                    posted.material = text;
                }
            }
            _ => {
                // Unknown fields are read and dropped (the body limit still applies).
                field.bytes().await.map_err(|e| e.status())?;
            }
        }
    }
}

/// `POST /cases/{case_id}/attachments` (multipart: `csrf`, `material`, `file`): adds the file,
/// then 303 back to the case. A refusal shows the form again with the reason, nothing stored.
pub async fn upload(
    State(web): State<Web>,
    lang: Lang,
    user: WebUser,
    headers: HeaderMap,
    Path(raw): Path<String>,
    form: Multipart,
) -> Response {
    let t = Tr::new(lang);
    let Ok(case_id) = raw.parse::<CaseId>() else {
        return error_page(
            StatusCode::NOT_FOUND,
            lang,
            t.s("case.not_found").to_owned(),
        );
    };
    let posted = match read_form(form).await {
        Ok(p) => p,
        Err(status) => {
            // A body over the limit is the one refusal a browser can cause here: say so.
            let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
                too_large_message(&web, lang)
            } else {
                t.s("att.bad_form").to_owned()
            };
            return refuse(&web, lang, &user, &headers, case_id, "", message, status).await;
        }
    };
    if !check_form(&headers, &user, &posted.csrf) {
        return csrf_refused(lang);
    }
    let Some(bytes) = posted.bytes.filter(|_| !posted.file_name.is_empty()) else {
        let message = t.s("att.no_file").to_owned();
        return refuse(
            &web,
            lang,
            &user,
            &headers,
            case_id,
            &posted.material,
            message,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let upload = Upload {
        file_name: posted.file_name,
        material: Some(posted.material.clone()),
        bytes,
    };
    match add_to_case(
        &web.intake(),
        user.operator.username.as_str(),
        case_id,
        upload,
    )
    .await
    {
        Ok(_) => Redirect::to(&format!("/cases/{case_id}#attachments")).into_response(),
        Err(AddError::Intake(crate::intake::IntakeError::CaseNotFound)) => error_page(
            StatusCode::NOT_FOUND,
            lang,
            t.s("case.not_found").to_owned(),
        ),
        Err(e) => {
            let problem = Problem::from(e);
            if problem.status().is_server_error() {
                return internal_error(&problem.message_en, lang);
            }
            let message = t.pick(&problem.message_zh, &problem.message_en).to_owned();
            refuse(
                &web,
                lang,
                &user,
                &headers,
                case_id,
                &posted.material,
                message,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

fn too_large_message(web: &Web, lang: Lang) -> String {
    let max_kib = web.store.attachments().map_or(0, |a| a.max_bytes() / 1024);
    let e = UploadError::TooLarge { max_kib };
    use bangban_domain::Bilingual;
    Tr::new(lang)
        .pick(&e.message_zh(), &e.message_en())
        .to_owned()
}

/// The refusal page: the case's attachments with the form again and the reason beside it.
#[allow(clippy::too_many_arguments)]
async fn refuse(
    web: &Web,
    lang: Lang,
    user: &WebUser,
    headers: &HeaderMap,
    case_id: CaseId,
    material: &str,
    message: String,
    status: StatusCode,
) -> Response {
    let state = match web.store.case(case_id).await {
        Ok(Some((state, _))) => state,
        Ok(None) => {
            return error_page(
                StatusCode::NOT_FOUND,
                lang,
                Tr::new(lang).s("case.not_found").to_owned(),
            );
        }
        Err(e) => return internal_error(&e, lang),
    };
    let page = RefusedPage {
        t: Tr::new(lang),
        centre: Some(web.name.clone()),
        user: Some(UserView::from(user)),
        exposed_plain_http: web.exposed_plain_http,
        case_no: state.case_no.to_string(),
        files: build(web, user, &state, Some(material), Some(message)).await,
    };
    with_lang(lang, headers, (status, page).into_response())
}

/// `GET /cases/{case_id}/attachments/{sha256}`: the file, only when it belongs to that case,
/// with its stored type, shown inline under its safe name, never sniffed or cached.
pub async fn download(
    State(web): State<Web>,
    lang: Lang,
    user: WebUser,
    Path((raw_case, raw_hash)): Path<(String, String)>,
) -> Response {
    let t = Tr::new(lang);
    let not_found = || {
        error_page(
            StatusCode::NOT_FOUND,
            lang,
            t.s("case.not_found").to_owned(),
        )
    };
    let (Ok(case_id), Ok(hash)) = (raw_case.parse::<CaseId>(), ContentHash::parse(&raw_hash))
    else {
        return not_found();
    };
    let row = match web.store.case_attachment(case_id, &hash).await {
        Ok(Some(row)) => row,
        Ok(None) => return not_found(),
        Err(e) => return internal_error(&e, lang),
    };
    let Some(kept) = web.store.attachments() else {
        return not_found();
    };
    // The view is recorded before any byte is read out.
    let actor = user.operator.username.as_str();
    match web
        .store
        .reveal_personal_data(case_id, actor, time::OffsetDateTime::now_utc())
        .await
    {
        Ok(Some(_)) => {}
        Ok(None) => return not_found(),
        Err(e) => return internal_error(&e, lang),
    }
    let bytes = match kept.blobs().read(&hash).await {
        Ok(Some(bytes)) => bytes,
        Ok(None) => return not_found(),
        Err(e) => return internal_error(&e, lang),
    };
    let mut res = bytes.into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(row.media_type.as_str()),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        content_disposition(&row.file_name, row.media_type.extension()),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    // A PDF or image opened inline may run nothing and load nothing.
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox",
        ),
    );
    res
}

/// `inline` with an ASCII fallback name and the real one percent-encoded (RFC 6266, 5987).
pub fn content_disposition(file_name: &str, ext: &str) -> HeaderValue {
    let stem = file_name
        .rsplit_once('.')
        .map_or(file_name, |(stem, _)| stem);
    let stem: String = stem
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
        .collect();
    let stem = if stem.is_empty() { "attachment" } else { &stem };
    let ascii = format!("{stem}.{ext}");
    let mut encoded = String::new();
    for b in file_name.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            encoded.push(char::from(b));
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    HeaderValue::from_str(&format!(
        "inline; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("inline"))
}

/// Whether a request is an upload of an attachment (`POST /cases/{case_id}/attachments`, or a
/// catalogue item's blank form or sample: `POST /policy/catalogue/{code}/files`).
pub fn is_upload(method: &Method, path: &str) -> bool {
    let under = |prefix: &str, suffix: &str| {
        path.strip_prefix(prefix)
            .and_then(|rest| rest.strip_suffix(suffix))
            .is_some_and(|id| !id.is_empty() && !id.contains('/'))
    };
    // A case's attachments; a catalogue item's blank forms and samples (district).
    method == Method::POST
        && (under("/cases/", "/attachments") || under("/policy/catalogue/", "/files"))
}

/// The UI listener's early refusal of oversized bodies (`crate::http::refuse_oversized`), with
/// the larger limit for attachment uploads: `(every route, uploads)`. An upload over its limit
/// gets a page that says so, in the reader's language.
pub async fn refuse_oversized(
    State((limit, upload_limit)): State<(usize, usize)>,
    req: Request,
    next: Next,
) -> Response {
    if !is_upload(req.method(), req.uri().path()) {
        return crate::http::refuse_oversized(State(limit), req, next).await;
    }
    let announced = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|n| n > u64::try_from(upload_limit).unwrap_or(u64::MAX)) {
        let (mut parts, _) = req.into_parts();
        let Ok(lang) = Lang::from_request_parts(&mut parts, &()).await;
        let max_kib = u64::try_from(upload_limit.saturating_sub(64 * 1024) / 1024).unwrap_or(0);
        let e = UploadError::TooLarge { max_kib };
        use bangban_domain::Bilingual;
        let message = Tr::new(lang)
            .pick(&e.message_zh(), &e.message_en())
            .to_owned();
        let mut res = error_page(StatusCode::PAYLOAD_TOO_LARGE, lang, message);
        res.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        return res;
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn only_the_upload_route_gets_the_larger_limit() {
        let id = "0190a5c2-7f3e-7a4b-9c1d-2e3f4a5b6c7d";
        assert!(is_upload(
            &Method::POST,
            &format!("/cases/{id}/attachments")
        ));
        assert!(!is_upload(
            &Method::GET,
            &format!("/cases/{id}/attachments")
        ));
        assert!(!is_upload(&Method::POST, &format!("/cases/{id}/steps")));
        assert!(!is_upload(&Method::POST, "/cases//attachments"));
        assert!(!is_upload(&Method::POST, "/cases/a/b/attachments"));
        assert!(!is_upload(&Method::POST, "/api/v1/cases"));
    }

    #[test]
    fn served_names_are_quoted_safely() {
        let v = content_disposition("户口簿 \"第1页\".jpg", "jpg");
        assert_eq!(
            v.to_str().unwrap_or_default(),
            "inline; filename=\"1.jpg\"; filename*=UTF-8''%E6%88%B7%E5%8F%A3%E7%B0%BF%20%22%E7%AC%AC1%E9%A1%B5%22.jpg"
        );
        let v = content_disposition("户口簿.pdf", "pdf");
        assert!(
            v.to_str()
                .unwrap_or_default()
                .starts_with("inline; filename=\"attachment.pdf\"; filename*=UTF-8''%E6")
        );
    }
}
