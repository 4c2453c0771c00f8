//! The item page's blank forms and samples: upload (through kit's attachment checks), take off,
//! and download (only what the item names).

use super::*;

/// The material index and kind a files form names.
fn file_target(t: Tr, material: &str, kind: &str) -> Result<(usize, FileKind), Refusal> {
    let material = material.trim().parse::<usize>().map_err(|_| Refusal {
        field: "material",
        row: None,
        message: t
            .pick(
                "请选择该事项的一项材料",
                "Choose one of the item's materials",
            )
            .to_owned(),
    })?;
    let kind = FileKind::parse(kind.trim()).ok_or_else(|| Refusal {
        field: "kind",
        row: None,
        message: t
            .pick(
                "请选择“空白表格”或“示范样表”",
                "Choose blank form or sample",
            )
            .to_owned(),
    })?;
    Ok((material, kind))
}

/// What the upload form sent.
#[derive(Default)]
struct Posted {
    csrf: String,
    material: String,
    kind: String,
    file_name: String,
    bytes: Option<Vec<u8>>,
}

async fn read_multipart(mut form: Multipart) -> Result<Posted, StatusCode> {
    let mut posted = Posted::default();
    loop {
        let field = match form.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => return Ok(posted),
            Err(e) => return Err(e.status()),
        };
        let name = field.name().unwrap_or_default().to_owned();
        if name == "file" {
            posted.file_name = field.file_name().unwrap_or_default().to_owned();
            let bytes = field.bytes().await.map_err(|e| e.status())?;
            posted.bytes = Some(bytes.to_vec());
            continue;
        }
        let text = field.text().await.map_err(|e| e.status())?;
        let text: String = text.chars().take(200).collect();
        match name.as_str() {
            "csrf" => posted.csrf = text,
            "material" => posted.material = text,
            "kind" => posted.kind = text,
            _ => {}
        }
    }
}

/// `POST /policy/catalogue/{code}/files` (multipart: `csrf`, `material`, `kind`, `file`): the
/// file becomes the material's blank form or sample; 303 back to the item.
pub(super) async fn upload(
    State(items): State<Items>,
    lang: Lang,
    chrome: Chrome,
    user: WebUser,
    headers: HeaderMap,
    Path(code): Path<String>,
    form: Multipart,
) -> Response {
    let frame = Frame::new(lang, &chrome, &user);
    let t = frame.t;
    let posted = match read_multipart(form).await {
        Ok(p) => p,
        Err(status) => {
            let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
                use bangban_domain::Bilingual;
                let e = bangban_kit::attachments::UploadError::TooLarge {
                    max_kib: items.files.max_bytes() / 1024,
                };
                t.pick(&e.message_zh(), &e.message_en()).to_owned()
            } else {
                t.pick(
                    "上传的表单无法读取，请重试。",
                    "The upload could not be read; try again.",
                )
                .to_owned()
            };
            let refusal = Refusal {
                field: "file",
                row: None,
                message,
            };
            let res = refuse_on_item(&items, frame, &code, refusal, status).await;
            return with_lang(lang, &headers, res);
        }
    };
    if !check_form(&headers, &user, &posted.csrf) {
        return csrf_refused(lang);
    }
    let target = file_target(t, &posted.material, &posted.kind);
    let (material, kind) = match target {
        Ok(x) => x,
        Err(refusal) => {
            let res = refuse_on_item(
                &items,
                frame,
                &code,
                refusal,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
            return with_lang(lang, &headers, res);
        }
    };
    let Some(bytes) = posted.bytes.filter(|_| !posted.file_name.is_empty()) else {
        let refusal = Refusal {
            field: "file",
            row: None,
            message: t
                .pick("请选择要上传的文件", "Choose a file to upload")
                .to_owned(),
        };
        let res = refuse_on_item(
            &items,
            frame,
            &code,
            refusal,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        return with_lang(lang, &headers, res);
    };
    match items
        .attach(
            &code,
            material,
            kind,
            &posted.file_name,
            bytes,
            user.operator.username.as_str(),
        )
        .await
    {
        Ok(_) => Redirect::to(&format!("/policy/catalogue/{code}?done=file#files")).into_response(),
        Err(e) => {
            edit_failed(&items, frame, &headers, &code, e, |r| {
                if r.field == "form" {
                    r.field = "file";
                }
            })
            .await
        }
    }
}

/// `POST /policy/catalogue/{code}/detach` (`material`, `kind`): takes the file off the material.
pub(super) async fn detach(
    State(items): State<Items>,
    lang: Lang,
    chrome: Chrome,
    user: WebUser,
    headers: HeaderMap,
    Path(code): Path<String>,
    form: Result<axum::Form<SmallForm>, FormRejection>,
) -> Response {
    let frame = Frame::new(lang, &chrome, &user);
    let t = frame.t;
    let form = form.map(|axum::Form(f)| f).unwrap_or_default();
    if !check_form(&headers, &user, &form.csrf) {
        return csrf_refused(lang);
    }
    let (material, kind) = match file_target(t, &form.material, &form.kind) {
        Ok(x) => x,
        Err(refusal) => {
            let res = refuse_on_item(
                &items,
                frame,
                &code,
                refusal,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
            return with_lang(lang, &headers, res);
        }
    };
    match items
        .detach(&code, material, kind, user.operator.username.as_str())
        .await
    {
        Ok(()) => {
            Redirect::to(&format!("/policy/catalogue/{code}?done=detached#files")).into_response()
        }
        Err(e) => edit_failed(&items, frame, &headers, &code, e, |r| r.field = "file").await,
    }
}

/// `GET /policy/catalogue/{code}/files/{sha256}`: a blank form or sample the item names, with
/// its stored type, under its safe name, never sniffed.
pub(super) async fn download(
    State(items): State<Items>,
    lang: Lang,
    Path((code, raw_hash)): Path<(String, String)>,
) -> Response {
    let Ok(hash) = ContentHash::parse(&raw_hash) else {
        return not_found(lang);
    };
    let (file, bytes) = match items.file(&code, &hash).await {
        Ok(Some(found)) => found,
        Ok(None) => return not_found(lang),
        Err(e) => return internal_error(&e, lang),
    };
    let mut res = bytes.into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(file.media_type.as_str()),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        bangban_kit::web::attachments::content_disposition(&file.name, file.media_type.extension()),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox",
        ),
    );
    res
}
