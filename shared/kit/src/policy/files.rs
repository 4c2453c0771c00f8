//! The catalogue's files (blank forms and samples) down the tree. The signed bundle carries only
//! their references ([`FileRef`]: hash, safe name, type, size); a parent serves the bytes on
//! `GET /v1/policy/files/{sha256}` from its blob store, and a station keeps what it fetched in its
//! own, checked against the reference first.
//!
//! It must never serve a blob the catalogue in force on this node does not name: the blob store
//! also holds the cases' attachments, which are personal data.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bangban_domain::attachment::ContentHash;
use bangban_domain::catalogue::{Catalogue, FileRef};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::PolicyHandle;
use crate::attachments::blobs::{BlobStore, sha256};
use crate::http::Problem;
use crate::tls::Peer;

/// The path of one file on the inter-node listener, for hash `hash`.
pub fn file_path(hash: &ContentHash) -> String {
    format!("/v1/policy/files/{hash}")
}

/// The reference named `hash` in `catalogue` (a blank form or a sample of any material).
pub fn named<'a>(catalogue: &'a Catalogue, hash: &ContentHash) -> Option<&'a FileRef> {
    catalogue
        .items
        .iter()
        .flat_map(|i| i.materials.iter())
        .flat_map(|m| [m.blank_form.as_ref(), m.sample.as_ref()])
        .flatten()
        .find(|f| &f.sha256 == hash)
}

/// Every file `catalogue` names, once each.
pub fn refs(catalogue: &Catalogue) -> Vec<FileRef> {
    let mut out: Vec<FileRef> = Vec::new();
    for f in catalogue
        .items
        .iter()
        .flat_map(|i| i.materials.iter())
        .flat_map(|m| [m.blank_form.as_ref(), m.sample.as_ref()])
        .flatten()
    {
        if !out.iter().any(|o| o.sha256 == f.sha256) {
            out.push(f.clone());
        }
    }
    out
}

/// The files `catalogue` names that `blobs` does not hold.
pub async fn missing(catalogue: &Catalogue, blobs: &BlobStore) -> Vec<FileRef> {
    let mut out = Vec::new();
    for f in refs(catalogue) {
        if !blobs.has(&f.sha256).await {
            out.push(f);
        }
    }
    out
}

/// Why fetched bytes were not kept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileMismatch {
    #[error("{got} bytes where the catalogue names {expected}")]
    Size { expected: u64, got: u64 },
    #[error("the bytes hash to {got}, not to the catalogue's {expected}")]
    Hash {
        expected: ContentHash,
        got: ContentHash,
    },
}

/// Whether `bytes` are the file `reference` names: its size and its SHA-256.
pub fn check(reference: &FileRef, bytes: &[u8]) -> Result<(), FileMismatch> {
    let got = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
    if got != reference.size {
        return Err(FileMismatch::Size {
            expected: reference.size,
            got,
        });
    }
    let hash = sha256(bytes);
    if hash != reference.sha256 {
        return Err(FileMismatch::Hash {
            expected: reference.sha256.clone(),
            got: hash,
        });
    }
    Ok(())
}

/// The file's headers: its stored type (never sniffed), its safe name, a strong ETag of its
/// hash; shown inline, run nothing.
pub fn file_headers(reference: &FileRef) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(reference.media_type.as_str()),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        crate::web::attachments::content_disposition(
            &reference.name,
            reference.media_type.extension(),
        ),
    );
    if let Ok(tag) = HeaderValue::from_str(&format!("\"{}\"", reference.sha256)) {
        h.insert(header::ETAG, tag);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox",
        ),
    );
    h
}

/// What the inter-node route serves from: the policy in force here and this node's blobs.
#[derive(Clone)]
pub struct FileSource {
    pub policy: PolicyHandle,
    pub blobs: BlobStore,
}

/// The route, with its state.
pub fn routes(source: FileSource) -> axum::Router {
    let (router, _doc) = router().with_state(source).split_for_parts();
    router
}

/// The route with its documentation, before it gets its state.
pub fn router() -> OpenApiRouter<FileSource> {
    OpenApiRouter::new().routes(routes!(file))
}

/// The documentation of this route, for the inter-node OpenAPI document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    router().into_openapi()
}

fn not_named() -> Response {
    Problem::new(
        StatusCode::NOT_FOUND,
        "policy_file.not_named",
        "在用事项目录中没有这个文件".to_owned(),
        "the catalogue in force names no such file".to_owned(),
    )
    .into_response()
}

/// A blank form or sample of the catalogue in force on this node, byte for byte. Any hash the
/// catalogue does not name is a 404, whatever the blob store holds.
#[utoipa::path(
    get,
    path = "/v1/policy/files/{sha256}",
    tag = "policy",
    params(("sha256" = String, Path, description = "文件的 SHA-256（小写十六进制）。The file's SHA-256, lower-case hex.")),
    responses(
        (status = OK, description = "文件原样字节，类型为目录所载类型。The file's exact bytes, with the catalogue's media type.", body = Vec<u8>, content_type = "application/octet-stream", headers(("ETag" = String, description = "文件哈希（强校验）。The file's hash, quoted (strong)."), ("Content-Disposition" = String, description = "安全文件名。The safe file name."))),
        (status = NOT_FOUND, description = "在用目录未列此文件，或本节点尚未取得。Not named by the catalogue in force, or not yet held here.", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn file(State(source): State<FileSource>, _peer: Peer, Path(raw): Path<String>) -> Response {
    let Ok(hash) = ContentHash::parse(&raw) else {
        return not_named();
    };
    let in_force = source.policy.current();
    let Some(reference) = named(&in_force.catalogue, &hash).cloned() else {
        return not_named();
    };
    match source.blobs.read(&hash).await {
        Ok(Some(bytes)) if check(&reference, &bytes).is_ok() => {
            (StatusCode::OK, file_headers(&reference), bytes).into_response()
        }
        Ok(Some(_)) => {
            tracing::error!(sha256 = %hash, "a stored catalogue file does not match its reference");
            not_held()
        }
        Ok(None) => not_held(),
        Err(e) => {
            tracing::error!(sha256 = %hash, error = %e, "a catalogue file cannot be read");
            Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "policy_file.unavailable",
                "暂时无法读取该文件，请稍后重试".to_owned(),
                "the file cannot be read now; try again later".to_owned(),
            )
            .into_response()
        }
    }
}

fn not_held() -> Response {
    Problem::new(
        StatusCode::NOT_FOUND,
        "policy_file.not_held",
        "本节点尚未取得该文件，请稍后再试".to_owned(),
        "this node does not hold the file yet; try again later".to_owned(),
    )
    .into_response()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use bangban_domain::attachment::MediaType;

    fn reference(bytes: &[u8]) -> FileRef {
        FileRef {
            sha256: sha256(bytes),
            name: "申请表.pdf".into(),
            media_type: MediaType::Pdf,
            size: bytes.len() as u64,
        }
    }

    #[test]
    fn only_the_exact_bytes_pass_the_check() {
        let bytes = b"%PDF-1.4 blank form".to_vec();
        let r = reference(&bytes);
        assert_eq!(check(&r, &bytes), Ok(()));
        let mut tampered = bytes.clone();
        tampered[5] ^= 1;
        assert!(matches!(
            check(&r, &tampered),
            Err(FileMismatch::Hash { .. })
        ));
        assert_eq!(
            check(&r, &bytes[..4]),
            Err(FileMismatch::Size {
                expected: bytes.len() as u64,
                got: 4
            })
        );
    }

    #[test]
    fn the_catalogue_names_its_files_once_each() {
        let mut cat =
            Catalogue::from_json(include_str!("../../../../deploy/policy/catalogue.json")).unwrap();
        assert!(refs(&cat).is_empty());
        let form = reference(b"form");
        let sample = reference(b"sample");
        cat.items[0].materials[0].blank_form = Some(form.clone());
        cat.items[0].materials[0].sample = Some(sample.clone());
        cat.items[1].materials[0].blank_form = Some(form.clone());
        assert_eq!(refs(&cat), vec![form.clone(), sample.clone()]);
        assert_eq!(named(&cat, &sample.sha256), Some(&sample));
        assert_eq!(named(&cat, &sha256(b"other")), None);
    }
}
