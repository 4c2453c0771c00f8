//! Attachments of cases: scans and photos of the applicant's materials. This module owns the
//! checks an upload passes (type from the bytes only, size, not empty), the removal of image
//! metadata before hashing, the content-addressed blob store, and the transfer of blobs to the
//! parent with an escalation (`transfer`).
//!
//! It never trusts a file name or a client's Content-Type, and never stores an image with its
//! EXIF/XMP. A PDF is stored as it came (its metadata is not touched). What the log knows of an
//! attachment is an `attachment_added` event; the `attachments` table is its projection.

pub mod blobs;
pub mod strip;
pub mod transfer;

use std::path::PathBuf;

use axum::http::StatusCode;
use bangban_domain::Bilingual;
use bangban_domain::attachment::{ContentHash, MediaType, sanitize_file_name};
use bangban_domain::event::{Attachment, CaseId, EventBody};

use crate::http::Problem;
use crate::intake::{Intake, IntakeError, NewEvent};

pub use blobs::{BlobStore, sha256};

/// The default largest attachment: 10 MiB.
pub const DEFAULT_MAX_BYTES: u64 = 10 * 1024 * 1024;

/// A node's attachments: where the blobs live and how large one may be. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Attachments {
    blobs: BlobStore,
    max_bytes: u64,
}

/// What an accepted upload became.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    pub sha256: ContentHash,
    pub media_type: MediaType,
    /// The stored size (after stripping).
    pub size: u64,
    /// Whether metadata stripping ran (images); a PDF is stored as it came.
    pub stripped: bool,
    /// Whether these bytes were new to the blob store (the same bytes are stored once).
    pub new_blob: bool,
}

/// Why an upload is refused. Each reads in Chinese and English.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error("the file is empty")]
    Empty,
    #[error("the file is larger than {max_kib} KiB")]
    TooLarge { max_kib: u64 },
    #[error("only JPEG, PNG and PDF files are accepted (told from the file's content)")]
    Unsupported,
    #[error("the {0} file is damaged and cannot be read")]
    Damaged(&'static str),
    #[error("cannot store the file: {0}")]
    Storage(#[from] std::io::Error),
}

impl UploadError {
    /// Whether the uploader can fix it (anything but storage).
    pub fn is_client_error(&self) -> bool {
        !matches!(self, UploadError::Storage(_))
    }
}

impl Bilingual for UploadError {
    fn code(&self) -> &'static str {
        match self {
            UploadError::Empty => "attachment.empty",
            UploadError::TooLarge { .. } => "attachment.too_large",
            UploadError::Unsupported => "attachment.unsupported_type",
            UploadError::Damaged(_) => "attachment.damaged",
            UploadError::Storage(_) => "attachment.storage",
        }
    }

    fn message_zh(&self) -> String {
        match self {
            UploadError::Empty => "文件为空，请重新选择文件".to_owned(),
            UploadError::TooLarge { max_kib } => {
                format!("文件过大：单个附件不能超过 {}", size_label(max_kib * 1024))
            }
            UploadError::Unsupported => {
                "仅接受 JPEG、PNG 图片或 PDF 文件（按文件内容判断，与文件名无关）".to_owned()
            }
            UploadError::Damaged(kind) => format!("该 {kind} 文件已损坏，无法读取"),
            UploadError::Storage(_) => "附件保存失败，请稍后重试".to_owned(),
        }
    }

    fn message_en(&self) -> String {
        match self {
            UploadError::TooLarge { max_kib } => format!(
                "the file is too large: an attachment may be at most {}",
                size_label(max_kib * 1024)
            ),
            UploadError::Storage(_) => "the file could not be stored; retry later".to_owned(),
            other => other.to_string(),
        }
    }
}

/// `512 KiB`, `10 MiB`, `1.5 MiB`: a size as people read it.
pub fn size_label(bytes: u64) -> String {
    const KIB: u64 = 1024;
    const MIB: u64 = 1024 * 1024;
    if bytes >= MIB {
        let tenths = bytes * 10 / MIB;
        if tenths.is_multiple_of(10) {
            format!("{} MiB", tenths / 10)
        } else {
            format!("{}.{} MiB", tenths / 10, tenths % 10)
        }
    } else if bytes >= KIB {
        format!("{} KiB", bytes.div_ceil(KIB))
    } else {
        format!("{bytes} B")
    }
}

impl Attachments {
    /// Attachments stored in `dir`, each at most `max_bytes`.
    pub fn new(dir: impl Into<PathBuf>, max_bytes: u64) -> Attachments {
        Attachments {
            blobs: BlobStore::new(dir),
            max_bytes,
        }
    }

    pub fn blobs(&self) -> &BlobStore {
        &self.blobs
    }

    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    /// The largest upload request to let in: the file plus room for the form around it.
    pub fn max_request_bytes(&self) -> usize {
        usize::try_from(self.max_bytes)
            .unwrap_or(usize::MAX)
            .saturating_add(64 * 1024)
    }

    /// Checks the bytes, strips image metadata, and stores what is left under its hash.
    pub async fn accept(&self, bytes: Vec<u8>) -> Result<Accepted, UploadError> {
        let (media_type, prepared, stripped) = self.prepare(bytes)?;
        let size = u64::try_from(prepared.len()).unwrap_or(u64::MAX);
        let (sha256, new_blob) = self.blobs.put(prepared).await?;
        Ok(Accepted {
            sha256,
            media_type,
            size,
            stripped,
            new_blob,
        })
    }

    /// The checks and the stripping, without storing: the type, the bytes to store, and
    /// whether they were stripped.
    pub fn prepare(&self, bytes: Vec<u8>) -> Result<(MediaType, Vec<u8>, bool), UploadError> {
        if bytes.is_empty() {
            return Err(UploadError::Empty);
        }
        if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > self.max_bytes {
            return Err(UploadError::TooLarge {
                max_kib: self.max_bytes / 1024,
            });
        }
        let media_type = MediaType::sniff(&bytes).ok_or(UploadError::Unsupported)?;
        let damaged = |_| UploadError::Damaged(media_type.label());
        Ok(match media_type {
            MediaType::Jpeg => (
                media_type,
                strip::strip_jpeg(&bytes).map_err(damaged)?,
                true,
            ),
            MediaType::Png => (media_type, strip::strip_png(&bytes).map_err(damaged)?, true),
            MediaType::Pdf => (media_type, bytes, false),
        })
    }
}

/// A file an operator uploads to a case.
#[derive(Debug, Clone)]
pub struct Upload {
    /// The name the browser sent (only shown, never trusted; made safe before it is kept).
    pub file_name: String,
    /// The material of the item's list it is for, if any.
    pub material: Option<String>,
    pub bytes: Vec<u8>,
}

/// What an upload did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Added {
    /// A new attachment of the case, recorded in its log.
    New(Accepted),
    /// The case already has this very file (after stripping); nothing changed.
    AlreadyAttached(ContentHash),
}

/// Why a file was not added to a case.
#[derive(Debug, thiserror::Error)]
pub enum AddError {
    #[error("this node keeps no attachments")]
    NotKept,
    #[error("the material {0} is not on the item's list")]
    UnknownMaterial(String),
    #[error(transparent)]
    Upload(#[from] UploadError),
    #[error(transparent)]
    Intake(#[from] IntakeError),
}

impl From<AddError> for Problem {
    fn from(err: AddError) -> Problem {
        match err {
            AddError::NotKept => Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "attachment.not_kept",
                "本节点未启用附件存储".to_owned(),
                "this node keeps no attachments".to_owned(),
            ),
            AddError::UnknownMaterial(name) => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "attachment.unknown_material",
                format!("“{name}”不在该事项的材料清单中"),
                format!("“{name}” is not on the item's list of materials"),
            ),
            AddError::Upload(e) if e.is_client_error() => {
                Problem::from_domain(StatusCode::UNPROCESSABLE_ENTITY, &e)
            }
            AddError::Upload(e) => Problem::internal(&e),
            AddError::Intake(e) => e.into(),
        }
    }
}

/// Adds a file to a case: checks and strips it, stores the bytes, and records an
/// `attachment_added` event by `actor` (whose row the store projects). The same file on the
/// same case again changes nothing.
pub async fn add_to_case(
    intake: &Intake,
    actor: &str,
    case_id: CaseId,
    upload: Upload,
) -> Result<Added, AddError> {
    let attachments = intake.store.attachments().ok_or(AddError::NotKept)?;
    let (state, _) = intake
        .store
        .case(case_id)
        .await
        .map_err(IntakeError::from)?
        .ok_or(IntakeError::CaseNotFound)?;
    let material = upload
        .material
        .map(|m| m.trim().to_owned())
        .filter(|m| !m.is_empty());
    if let Some(name) = &material {
        let policy = intake.policy.current();
        let listed = state
            .item
            .as_ref()
            .and_then(|i| policy.catalogue.get(&i.code))
            .is_some_and(|item| item.materials.iter().any(|m| &m.name == name));
        if !listed {
            return Err(AddError::UnknownMaterial(name.clone()));
        }
    }
    let accepted = attachments.accept(upload.bytes).await?;
    if intake
        .store
        .case_attachment(case_id, &accepted.sha256)
        .await
        .map_err(IntakeError::from)?
        .is_some()
    {
        return Ok(Added::AlreadyAttached(accepted.sha256));
    }
    let body = EventBody::AttachmentAdded(Attachment {
        sha256: accepted.sha256.clone(),
        media_type: accepted.media_type,
        size: accepted.size,
        file_name: sanitize_file_name(&upload.file_name, accepted.media_type),
        material,
        stripped: accepted.stripped,
    });
    intake
        .append_step(
            actor,
            case_id,
            NewEvent {
                event_id: None,
                body,
            },
        )
        .await?;
    tracing::info!(case_id = %case_id, sha256 = %accepted.sha256, size = accepted.size, "attachment added");
    Ok(Added::New(accepted))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn sizes_read_as_people_read_them() {
        assert_eq!(size_label(10 * 1024 * 1024), "10 MiB");
        assert_eq!(size_label(1536 * 1024), "1.5 MiB");
        assert_eq!(size_label(2048), "2 KiB");
        assert_eq!(size_label(100), "100 B");
    }

    #[test]
    fn refusals_read_in_both_languages() {
        for e in [
            UploadError::Empty,
            UploadError::TooLarge { max_kib: 10240 },
            UploadError::Unsupported,
            UploadError::Damaged("JPEG"),
        ] {
            assert!(e.is_client_error());
            assert!(!e.message_zh().is_empty() && !e.message_en().is_empty());
            assert!(e.code().starts_with("attachment."));
        }
        assert!(
            UploadError::TooLarge { max_kib: 10240 }
                .message_zh()
                .contains("10 MiB")
        );
    }
}
