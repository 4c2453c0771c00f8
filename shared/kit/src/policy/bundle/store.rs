//! The last good bundle kept on disk, and putting a bundle in force ([`receive`], [`restore`]).

use std::io::Write as _;
use std::path::{Path, PathBuf};

use bangban_domain::station::StationCode;
use time::OffsetDateTime;

use super::{BUNDLE_FILE, BundleError, PublicKey, VerifiedBundle, verify, verify_content};
use crate::policy::PolicyHandle;
// ---------------------------------------------------------------------------------------------
// The last good bundle, and putting a bundle in force
// ---------------------------------------------------------------------------------------------

/// The last good bundle, kept as its exact envelope bytes in one file of the node's data folder.
#[derive(Debug, Clone)]
pub struct BundleStore {
    dir: PathBuf,
}

impl BundleStore {
    pub fn new(dir: impl Into<PathBuf>) -> BundleStore {
        BundleStore { dir: dir.into() }
    }

    pub fn path(&self) -> PathBuf {
        self.dir.join(BUNDLE_FILE)
    }

    /// The kept envelope bytes, if any.
    pub fn read(&self) -> std::io::Result<Option<Vec<u8>>> {
        match std::fs::read(self.path()) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Keeps `bundle`'s envelope atomically: a temporary file, written and synced, renamed over
    /// the kept one, then the folder synced. A crash leaves the old bundle or the new, whole.
    pub fn save(&self, bundle: &VerifiedBundle) -> std::io::Result<()> {
        write_atomically(&self.path(), &bundle.envelope)
    }

    /// Loads and verifies again the kept bundle (at start). An expired bundle still loads:
    /// offline, the last good bundle is better than none; the caller reports its expiry.
    pub fn load(
        &self,
        pinned: &[PublicKey],
        district: StationCode,
        now: OffsetDateTime,
    ) -> Result<Option<VerifiedBundle>, BundleError> {
        match self.read() {
            Ok(None) => Ok(None),
            Ok(Some(bytes)) => verify_content(&bytes, pinned, district, now).map(Some),
            Err(e) => Err(BundleError::Store(format!(
                "{}: {e}",
                self.path().display()
            ))),
        }
    }
}

/// Writes `bytes` to `path` through a synced temporary file in the same folder and a rename.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let written = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written?;
    // The rename is durable once the folder is synced (not possible on every platform).
    if let Ok(d) = std::fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// What [`receive`] did with a bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Received {
    /// The bundle is now in force, at this policy generation.
    Applied { number: u64, generation: u64 },
    /// The very bytes of the bundle in force: nothing to do.
    AlreadyInForce { number: u64 },
}

/// Takes a bundle from the parent: verifies it against the bundle in force, keeps it as the
/// last good bundle, then puts it in force. On any error the policy in force and the kept
/// bundle stay as they were.
pub fn receive(
    envelope: &[u8],
    pinned: &[PublicKey],
    district: StationCode,
    handle: &PolicyHandle,
    store: &BundleStore,
    now: OffsetDateTime,
) -> Result<Received, BundleError> {
    let last = handle.current().bundle;
    if let Some(number) = last {
        let kept = store
            .read()
            .map_err(|e| BundleError::Store(e.to_string()))?;
        if kept.as_deref() == Some(envelope) {
            return Ok(Received::AlreadyInForce { number });
        }
    }
    let bundle = verify(envelope, pinned, district, last, now).map_err(|e| match e {
        BundleError::NotNewer { number, last } if number == last => {
            BundleError::NumberReused { number }
        }
        e => e,
    })?;
    store
        .save(&bundle)
        .map_err(|e| BundleError::Store(e.to_string()))?;
    let number = bundle.number;
    let generation = handle.install(bundle.policy, number)?;
    Ok(Received::Applied { number, generation })
}

/// The bundle [`restore`] put in force at start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Restored {
    pub number: u64,
    pub expires_at: OffsetDateTime,
    /// Past its expiry: still in force (better than none while offline), to be reported.
    pub expired: bool,
}

/// At start: puts the kept last good bundle in force, verified again (an expired one too, see
/// [`BundleStore::load`]). `Ok(None)` when none is kept; on an error nothing is put in force.
pub fn restore(
    store: &BundleStore,
    pinned: &[PublicKey],
    district: StationCode,
    handle: &PolicyHandle,
    now: OffsetDateTime,
) -> Result<Option<Restored>, BundleError> {
    let Some(bundle) = store.load(pinned, district, now)? else {
        return Ok(None);
    };
    let restored = Restored {
        number: bundle.number,
        expires_at: bundle.expires_at,
        expired: bundle.is_expired(now),
    };
    handle.install(bundle.policy, bundle.number)?;
    Ok(Some(restored))
}
