//! The content-addressed blob store: each attachment's bytes in one file named by its SHA-256,
//! under `<dir>/<first two hex digits>/<hash>`. A blob is written to a temporary file, synced
//! and renamed into place, so a reader never sees half a blob; the same bytes are stored once.
//!
//! Transfers from a child arrive in `<dir>/partial/<hash>.part`, growing with each piece, and
//! move into place only once the whole file hashes to its name.

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use bangban_domain::attachment::ContentHash;

/// The SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> ContentHash {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes);
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    ContentHash::from_digest(&out)
}

/// Why a piece of a transfer was not taken.
#[derive(Debug, thiserror::Error)]
pub enum PartialError {
    /// The piece does not start where the stored part ends: resume from `have`.
    #[error("the transfer is at byte {have}, not at the offset given")]
    Offset { have: u64 },
    /// More bytes than the announced size.
    #[error("more bytes than the announced size")]
    TooLong,
    /// The whole file does not hash to its name; the part is deleted.
    #[error("the bytes do not hash to the name they were sent under")]
    Mismatch,
    /// Another transfer of the same blob is running.
    #[error("another transfer of this file is running")]
    Busy,
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Where a transfer stands after a piece.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// This many bytes are stored; the rest is still to come.
    Partial(u64),
    /// The blob is complete, verified and in place.
    Complete,
}

/// Blobs in one folder. Cheap to clone.
#[derive(Debug, Clone)]
pub struct BlobStore {
    dir: PathBuf,
    /// Hashes with a transfer in progress: one writer per partial file.
    busy: Arc<Mutex<HashSet<ContentHash>>>,
}

/// Releases a hash from the busy set when the transfer ends, however it ends.
struct Claim {
    busy: Arc<Mutex<HashSet<ContentHash>>>,
    hash: ContentHash,
}

impl Drop for Claim {
    fn drop(&mut self) {
        if let Ok(mut busy) = self.busy.lock() {
            busy.remove(&self.hash);
        }
    }
}

impl BlobStore {
    /// A store in `dir`; the folders are made at the first write.
    pub fn new(dir: impl Into<PathBuf>) -> BlobStore {
        BlobStore {
            dir: dir.into(),
            busy: Arc::default(),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the blob named `hash` lives (a `ContentHash` is hex only, so this stays inside).
    pub fn path(&self, hash: &ContentHash) -> PathBuf {
        self.dir.join(&hash.as_str()[..2]).join(hash.as_str())
    }

    fn partial_path(&self, hash: &ContentHash) -> PathBuf {
        self.dir.join("partial").join(format!("{hash}.part"))
    }

    /// Stores `bytes` under their hash. Returns the hash and whether they were new.
    pub async fn put(&self, bytes: Vec<u8>) -> std::io::Result<(ContentHash, bool)> {
        let store = self.clone();
        tokio::task::spawn_blocking(move || {
            let hash = sha256(&bytes);
            let target = store.path(&hash);
            if target.is_file() {
                return Ok((hash, false));
            }
            let tmp_dir = store.dir.join("tmp");
            std::fs::create_dir_all(&tmp_dir)?;
            let tmp = tmp_dir.join(format!("{}.tmp", uuid::Uuid::now_v7().simple()));
            let written = (|| {
                let mut file = std::fs::File::create(&tmp)?;
                file.write_all(&bytes)?;
                file.sync_all()?;
                place(&tmp, &target)
            })();
            if written.is_err() {
                let _ = std::fs::remove_file(&tmp);
            }
            written.map(|()| (hash, true))
        })
        .await
        .map_err(std::io::Error::other)?
    }

    /// Whether the blob is stored.
    pub async fn has(&self, hash: &ContentHash) -> bool {
        tokio::fs::metadata(self.path(hash))
            .await
            .is_ok_and(|m| m.is_file())
    }

    /// The blob's bytes, `None` when it is not stored.
    pub async fn read(&self, hash: &ContentHash) -> std::io::Result<Option<Vec<u8>>> {
        match tokio::fs::read(self.path(hash)).await {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// How many bytes of a transfer of `hash` are stored so far (0: none).
    pub async fn partial_len(&self, hash: &ContentHash) -> std::io::Result<u64> {
        match tokio::fs::metadata(self.partial_path(hash)).await {
            Ok(m) => Ok(m.len()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
            Err(e) => Err(e),
        }
    }

    /// Adds the pieces of `body` to the transfer of `hash` at `offset`, which must be where the
    /// stored part ends. Whatever arrived is kept (synced) even when the body breaks off, so
    /// the sender resumes from there. Once `size` bytes are in, the file must hash to `hash`:
    /// then it moves into place, otherwise the part is deleted.
    pub async fn append_partial(
        &self,
        hash: &ContentHash,
        offset: u64,
        size: u64,
        mut body: axum::body::Body,
    ) -> Result<Progress, PartialError> {
        use axum::body::HttpBody;
        use tokio::io::AsyncWriteExt;
        if self.has(hash).await {
            return Ok(Progress::Complete);
        }
        let _claim = self.claim(hash)?;
        let have = self.partial_len(hash).await?;
        if have != offset {
            return Err(PartialError::Offset { have });
        }
        let path = self.partial_path(hash);
        tokio::fs::create_dir_all(path.parent().unwrap_or(&self.dir)).await?;
        let mut file = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .await?;
        let mut len = have;
        let mut broke = false;
        loop {
            let frame =
                std::future::poll_fn(|cx| std::pin::Pin::new(&mut body).poll_frame(cx)).await;
            let piece = match frame {
                None => break,
                Some(Err(_)) => {
                    broke = true;
                    break;
                }
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) => data,
                    Err(_) => continue, // trailers
                },
            };
            let n = u64::try_from(piece.len()).unwrap_or(u64::MAX);
            if len.saturating_add(n) > size {
                drop(file);
                let _ = tokio::fs::remove_file(&path).await;
                return Err(PartialError::TooLong);
            }
            file.write_all(&piece).await?;
            len += n;
        }
        file.sync_all().await?;
        drop(file);
        if len < size || broke {
            return Ok(Progress::Partial(len));
        }
        let store = self.clone();
        let hash = hash.clone();
        tokio::task::spawn_blocking(move || {
            let bytes = std::fs::read(&path)?;
            if sha256(&bytes) != hash {
                let _ = std::fs::remove_file(&path);
                return Err(PartialError::Mismatch);
            }
            place(&path, &store.path(&hash))?;
            Ok(Progress::Complete)
        })
        .await
        .map_err(|e| PartialError::Io(std::io::Error::other(e)))?
    }

    fn claim(&self, hash: &ContentHash) -> Result<Claim, PartialError> {
        let mut busy = self
            .busy
            .lock()
            .map_err(|_| std::io::Error::other("the transfer registry is poisoned"))?;
        if !busy.insert(hash.clone()) {
            return Err(PartialError::Busy);
        }
        Ok(Claim {
            busy: self.busy.clone(),
            hash: hash.clone(),
        })
    }
}

/// Moves a synced file into place and syncs the folder, so the rename survives a power cut.
fn place(from: &Path, to: &Path) -> std::io::Result<()> {
    let folder = to
        .parent()
        .ok_or_else(|| std::io::Error::other("no folder"))?;
    std::fs::create_dir_all(folder)?;
    std::fs::rename(from, to)?;
    std::fs::File::open(folder)?.sync_all()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn files_in(dir: &Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                out.extend(files_in(&path));
            } else {
                out.push(path);
            }
        }
        out
    }

    #[tokio::test]
    async fn the_same_bytes_are_stored_once_under_their_hash() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store = BlobStore::new(dir.path().join("blobs"));
        let bytes = b"%PDF-1.4 one page".to_vec();
        let (hash, new) = store
            .put(bytes.clone())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(new);
        assert_eq!(hash, sha256(&bytes));
        let (again, new) = store
            .put(bytes.clone())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((again, new), (hash.clone(), false));
        let stored = files_in(&dir.path().join("blobs"));
        assert_eq!(
            stored,
            vec![store.path(&hash)],
            "one file, no temporary left"
        );
        assert!(
            store
                .path(&hash)
                .ends_with(format!("{}/{hash}", &hash.as_str()[..2]))
        );
        assert_eq!(store.read(&hash).await.ok().flatten(), Some(bytes));
        let missing = sha256(b"never stored");
        assert!(!store.has(&missing).await);
        assert_eq!(store.read(&missing).await.ok().flatten(), None);
    }

    #[tokio::test]
    async fn a_transfer_resumes_where_it_stopped_and_is_verified_at_the_end() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store = BlobStore::new(dir.path());
        let bytes: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        let hash = sha256(&bytes);
        let size = bytes.len() as u64;
        let body = |b: &[u8]| axum::body::Body::from(b.to_vec());

        let first = store
            .append_partial(&hash, 0, size, body(&bytes[..4_000]))
            .await;
        assert!(matches!(first, Ok(Progress::Partial(4_000))), "{first:?}");
        assert_eq!(store.partial_len(&hash).await.ok(), Some(4_000));
        assert!(!store.has(&hash).await, "half a blob is never in place");
        // A piece at the wrong offset is refused with where to resume.
        let wrong = store
            .append_partial(&hash, 0, size, body(&bytes[..10]))
            .await;
        assert!(
            matches!(wrong, Err(PartialError::Offset { have: 4_000 })),
            "{wrong:?}"
        );
        let rest = store
            .append_partial(&hash, 4_000, size, body(&bytes[4_000..]))
            .await;
        assert!(matches!(rest, Ok(Progress::Complete)), "{rest:?}");
        assert_eq!(store.read(&hash).await.ok().flatten(), Some(bytes.clone()));
        assert_eq!(store.partial_len(&hash).await.ok(), Some(0));

        // Bytes that do not hash to their name are thrown away; too many are refused.
        let liar = sha256(b"something else");
        let lie = store.append_partial(&liar, 0, size, body(&bytes)).await;
        assert!(matches!(lie, Err(PartialError::Mismatch)), "{lie:?}");
        assert!(!store.has(&liar).await);
        assert_eq!(store.partial_len(&liar).await.ok(), Some(0));
        let long = store.append_partial(&liar, 0, 5, body(&bytes)).await;
        assert!(matches!(long, Err(PartialError::TooLong)), "{long:?}");
        assert_eq!(store.partial_len(&liar).await.ok(), Some(0));
    }
}
