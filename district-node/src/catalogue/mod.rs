//! The catalogue of service items as the district's administrators author it: add, change and
//! remove an item of the draft catalogue, and keep each material's blank form and sample. The
//! pages (`pages`) and the JSON API (`api`) both call [`Items`]; neither builds a document.
//!
//! INVARIANT: the draft catalogue is valid after every save. A change is applied to a copy of
//! the document, the copy is checked whole by the domain's validators, and only then saved with
//! its audit line (`item.add`, `item.update`, `item.remove`; subject the item's code; before and
//! after the item) in one transaction. Files are content-addressed in the node's blob store and
//! referenced from the material; this module never serves a blob the catalogue does not name.

pub mod api;
pub mod pages;

use bangban_domain::attachment::{ContentHash, MediaType, sanitize_file_name};
use bangban_domain::catalogue::{
    Catalogue, CatalogueError, CatalogueItem, FileRef, ItemError, ItemField, ItemProblem,
};
use bangban_kit::attachments::{Attachments, UploadError};

use crate::drafts::{Change, Draft, DraftError, Drafts, Section};

/// Which file of a material.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// 空白表格
    BlankForm,
    /// 示范样表
    Sample,
}

impl FileKind {
    pub fn parse(s: &str) -> Option<FileKind> {
        match s {
            "blank_form" => Some(FileKind::BlankForm),
            "sample" => Some(FileKind::Sample),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            FileKind::BlankForm => "blank_form",
            FileKind::Sample => "sample",
        }
    }
}

/// Why a change was not saved.
#[derive(Debug, thiserror::Error)]
pub enum EditError {
    /// A field of the item is wrong (nothing saved).
    #[error(transparent)]
    Invalid(ItemError),
    #[error("no item {0} in the catalogue")]
    NotFound(String),
    /// Someone saved since the page was read, or the database failed.
    #[error(transparent)]
    Draft(#[from] DraftError),
    /// The uploaded file was refused.
    #[error(transparent)]
    Upload(#[from] UploadError),
    /// A material index that the item does not have.
    #[error("the item has no material {0}")]
    NoMaterial(usize),
}

impl EditError {
    /// Whether it is ours (the database, the disk) rather than the caller's.
    pub fn is_internal(&self) -> bool {
        match self {
            EditError::Draft(DraftError::Conflict { .. }) => false,
            EditError::Draft(_) => true,
            EditError::Upload(e) => !e.is_client_error(),
            _ => false,
        }
    }
}

/// The catalogue's editor: the drafts and where the files are kept.
#[derive(Clone)]
pub struct Items {
    pub drafts: Drafts,
    pub files: Attachments,
}

impl Items {
    /// The draft catalogue with its revision.
    pub async fn read(&self) -> Result<Draft<Catalogue>, EditError> {
        Ok(self.drafts.catalogue().await?)
    }

    /// Adds `item` at the end of the catalogue, if the catalogue is still at `revision`
    /// (`None`: whatever it is now).
    pub async fn create(
        &self,
        item: CatalogueItem,
        revision: Option<i64>,
        actor: &str,
    ) -> Result<i64, EditError> {
        item.validate().map_err(EditError::Invalid)?;
        // A code already taken is the more useful answer, even from a page read long ago.
        if self.read().await?.doc.get(&item.code).is_some() {
            return Err(EditError::Invalid(ItemError::new(
                &item.code,
                ItemField::Code,
                ItemProblem::DuplicateCode,
            )));
        }
        let draft = self.at(revision).await?;
        let mut doc = draft.doc;
        doc.items.push(item.clone());
        let change = Change::of::<(), _>("catalogue", "item.add", &item.code, None, Some(&item));
        self.save(doc, draft.revision, actor, change).await
    }

    /// Replaces item `code` by `item` (whose code must be the same). Each material keeps the
    /// files of the material it came from: `origins[i]` names that material of the stored item
    /// (by name; `None` or missing: the material of the same name).
    pub async fn update(
        &self,
        code: &str,
        mut item: CatalogueItem,
        origins: &[Option<String>],
        revision: Option<i64>,
        actor: &str,
    ) -> Result<i64, EditError> {
        if item.code != code {
            return Err(EditError::Invalid(ItemError::new(
                code,
                ItemField::Code,
                ItemProblem::CodeFixed,
            )));
        }
        let draft = self.at(revision).await?;
        let mut doc = draft.doc;
        let index = position(&doc, code)?;
        let before = doc.items[index].clone();
        for (i, m) in item.materials.iter_mut().enumerate() {
            let from = origins
                .get(i)
                .and_then(|o| o.as_deref())
                .unwrap_or(m.name.as_str());
            if let Some(old) = before.materials.iter().find(|o| o.name == from) {
                m.blank_form = old.blank_form.clone();
                m.sample = old.sample.clone();
            }
        }
        item.validate().map_err(EditError::Invalid)?;
        doc.items[index] = item.clone();
        let change = Change::of("catalogue", "item.update", code, Some(&before), Some(&item));
        self.save(doc, draft.revision, actor, change).await
    }

    /// Removes item `code`; its last state stays in the audit.
    pub async fn remove(
        &self,
        code: &str,
        revision: Option<i64>,
        actor: &str,
    ) -> Result<i64, EditError> {
        let draft = self.at(revision).await?;
        let mut doc = draft.doc;
        let index = position(&doc, code)?;
        let before = doc.items.remove(index);
        let change = Change::of::<_, ()>("catalogue", "item.remove", code, Some(&before), None);
        self.save(doc, draft.revision, actor, change).await
    }

    /// Checks and stores `bytes` (type from the bytes, image metadata stripped) and makes them
    /// the `kind` file of material `material` of item `code`, replacing any before.
    pub async fn attach(
        &self,
        code: &str,
        material: usize,
        kind: FileKind,
        file_name: &str,
        bytes: Vec<u8>,
        actor: &str,
    ) -> Result<FileRef, EditError> {
        // Refuse an unknown item before anything is stored.
        position(&self.read().await?.doc, code)?;
        let accepted = self.files.accept(bytes).await?;
        let file = FileRef {
            name: sanitize_file_name(file_name, accepted.media_type),
            sha256: accepted.sha256,
            media_type: accepted.media_type,
            size: accepted.size,
        };
        self.set_file(code, material, kind, Some(file.clone()), actor)
            .await?;
        Ok(file)
    }

    /// Takes the `kind` file off material `material` of item `code` (the blob stays: another
    /// item, a case or a published bundle may name the same bytes).
    pub async fn detach(
        &self,
        code: &str,
        material: usize,
        kind: FileKind,
        actor: &str,
    ) -> Result<(), EditError> {
        self.set_file(code, material, kind, None, actor).await
    }

    async fn set_file(
        &self,
        code: &str,
        material: usize,
        kind: FileKind,
        file: Option<FileRef>,
        actor: &str,
    ) -> Result<(), EditError> {
        let draft = self.read().await?;
        let mut doc = draft.doc;
        let index = position(&doc, code)?;
        let before = doc.items[index].clone();
        let item = &mut doc.items[index];
        let m = item
            .materials
            .get_mut(material)
            .ok_or(EditError::NoMaterial(material))?;
        match kind {
            FileKind::BlankForm => m.blank_form = file,
            FileKind::Sample => m.sample = file,
        }
        item.validate().map_err(EditError::Invalid)?;
        let after = item.clone();
        let change = Change::of(
            "catalogue",
            "item.update",
            code,
            Some(&before),
            Some(&after),
        );
        self.save(doc, draft.revision, actor, change).await?;
        Ok(())
    }

    /// The file of item `code` with hash `sha256` (blank form or sample of one of its
    /// materials): its reference and its bytes. `None` when the item names no such file or
    /// the bytes are not here.
    pub async fn file(
        &self,
        code: &str,
        sha256: &ContentHash,
    ) -> Result<Option<(FileRef, Vec<u8>)>, EditError> {
        let doc = self.read().await?.doc;
        let Some(file) = doc.get(code).and_then(|item| {
            item.materials
                .iter()
                .flat_map(|m| [&m.blank_form, &m.sample])
                .flatten()
                .find(|f| &f.sha256 == sha256)
                .cloned()
        }) else {
            return Ok(None);
        };
        let bytes = self
            .files
            .blobs()
            .read(sha256)
            .await
            .map_err(UploadError::Storage)?;
        Ok(bytes.map(|b| (file, b)))
    }

    /// The draft at `revision`, or a conflict when someone saved since.
    async fn at(&self, revision: Option<i64>) -> Result<Draft<Catalogue>, EditError> {
        let draft = self.read().await?;
        match revision {
            Some(r) if r != draft.revision => Err(EditError::Draft(DraftError::Conflict {
                section: "catalogue",
                by: draft.updated_by,
            })),
            _ => Ok(draft),
        }
    }

    /// Checks the whole document, then saves it with its audit line.
    async fn save(
        &self,
        doc: Catalogue,
        revision: i64,
        actor: &str,
        change: Change,
    ) -> Result<i64, EditError> {
        match doc.validate() {
            Ok(()) => {}
            Err(CatalogueError::Item(e)) => return Err(EditError::Invalid(e)),
            Err(CatalogueError::Duplicate(code)) => {
                return Err(EditError::Invalid(ItemError::new(
                    &code,
                    ItemField::Code,
                    ItemProblem::DuplicateCode,
                )));
            }
            Err(other) => {
                return Err(EditError::Draft(DraftError::Corrupt {
                    section: "catalogue",
                    problem: other.to_string(),
                }));
            }
        }
        Ok(self
            .drafts
            .save(Section::Catalogue, &doc, revision, actor, &[change])
            .await?)
    }
}

fn position(doc: &Catalogue, code: &str) -> Result<usize, EditError> {
    doc.items
        .iter()
        .position(|i| i.code == code)
        .ok_or_else(|| EditError::NotFound(code.chars().take(64).collect()))
}

/// A media type's label for the pages.
pub fn media_label(m: MediaType) -> &'static str {
    m.label()
}
