//! The catalogue's blank forms and samples for the operators (`GET /catalogue/files/{sha256}`),
//! linked from the application form and the pre-review checklist.
//!
//! It serves only a file the catalogue in force names, from this node's blob store (a station
//! fetches them from its parent, see `crate::policy::files`); never any other blob.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bangban_domain::attachment::ContentHash;
use bangban_domain::catalogue::FileRef;

use super::Web;
use super::i18n::{Lang, Tr};
use super::pages::error_page;
use super::session::WebUser;
use crate::policy::files::{check, file_headers, named};

/// The UI link to a file of the catalogue.
pub fn href(reference: &FileRef) -> String {
    format!("/catalogue/files/{}", reference.sha256)
}

/// `GET /catalogue/files/{sha256}`: the file, when the catalogue in force names it (404
/// otherwise); a clear "not fetched yet" while the station has not got it from its parent.
pub async fn download(
    State(web): State<Web>,
    lang: Lang,
    _user: WebUser,
    Path(raw): Path<String>,
) -> Response {
    let t = Tr::new(lang);
    let not_found = || {
        error_page(
            StatusCode::NOT_FOUND,
            lang,
            t.s("catalogue_file.not_found").to_owned(),
        )
    };
    let Ok(hash) = ContentHash::parse(&raw) else {
        return not_found();
    };
    let in_force = web.store.policy().current();
    let Some(reference) = named(&in_force.catalogue, &hash).cloned() else {
        return not_found();
    };
    let not_yet = || {
        error_page(
            StatusCode::SERVICE_UNAVAILABLE,
            lang,
            t.s("catalogue_file.not_yet").to_owned(),
        )
    };
    let Some(kept) = web.store.attachments() else {
        return not_yet();
    };
    match kept.blobs().read(&hash).await {
        Ok(Some(bytes)) if check(&reference, &bytes).is_ok() => {
            let mut res = (StatusCode::OK, file_headers(&reference), bytes).into_response();
            res.headers_mut().insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, max-age=3600"),
            );
            res
        }
        Ok(Some(_)) => {
            tracing::error!(sha256 = %hash, "a stored catalogue file does not match its reference");
            not_yet()
        }
        Ok(None) => not_yet(),
        Err(e) => super::pages::internal_error(&e, lang),
    }
}
