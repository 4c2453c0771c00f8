//! The district's side of the signed policy bundles: its Ed25519 policy key (`policy keygen`),
//! the numbered bundles signed with it (`policy publish`), the record of those published
//! ([`published`]: what the district serves its towns and puts in force on itself). Verifying
//! and applying a bundle is `bangban_kit::policy`, the same code on every node.
//!
//! It must never write a half-made file: bad input is refused before anything is written, and a
//! bundle or key file that exists already is never replaced (bundles are immutable).
//!
//! SIGHUP and bundles: once a bundle is in force on a node, SIGHUP no longer reloads the policy
//! files (it is logged and ignored); only a newer bundle replaces a bundle.

pub mod published;

use std::path::{Path, PathBuf};

use bangban_domain::calendar::WorkingCalendar;
use bangban_domain::catalogue::Catalogue;
use bangban_domain::topology::Topology;
use bangban_kit::policy::bundle::{BundlePayload, KeyError, PublicKey, SigningKey, verify};
use time::{Duration, OffsetDateTime};

/// The private key's file name in a key folder: PKCS#8 PEM, mode 0600 on unix.
pub const KEY_FILE: &str = "policy.key";
/// The public key's file name: the base64 of its 32 raw bytes, the form a station pins.
pub const PUBLIC_FILE: &str = "policy.pub";
/// The longest validity a bundle may be given.
pub const MAX_EXPIRES_DAYS: u32 = 3660;

/// Why a policy command refused (nothing was written).
#[derive(Debug, thiserror::Error)]
pub enum PolicyCliError {
    #[error("{0} exists already; refusing to replace it")]
    Exists(PathBuf),
    #[error("{path}: {error}")]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{path}: {error}")]
    Key { path: PathBuf, error: KeyError },
    #[error("--{option} {path}: {problem}")]
    Document {
        option: &'static str,
        path: PathBuf,
        problem: String,
    },
    #[error("--number must be at least 1")]
    Number,
    #[error("--expires-days must be between 1 and {MAX_EXPIRES_DAYS}")]
    ExpiresDays,
    #[error("the bundle does not verify with its own key: {0}")]
    SelfCheck(String),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> PolicyCliError + '_ {
    move |error| PolicyCliError::Io {
        path: path.to_path_buf(),
        error,
    }
}

/// Makes a new policy key pair in `dir` (created if missing); refuses to replace either file.
/// Returns the public key.
pub fn keygen(dir: &Path) -> Result<PublicKey, PolicyCliError> {
    let (key_file, public_file) = (dir.join(KEY_FILE), dir.join(PUBLIC_FILE));
    for file in [&key_file, &public_file] {
        if file.exists() {
            return Err(PolicyCliError::Exists(file.clone()));
        }
    }
    let key = SigningKey::generate().map_err(|error| PolicyCliError::Key {
        path: key_file.clone(),
        error,
    })?;
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    write_new(&key_file, key.to_pem().as_bytes(), true)?;
    let public = key.public_key();
    write_new(
        &public_file,
        format!("{}\n", public.to_base64()).as_bytes(),
        false,
    )?;
    Ok(public)
}

/// What `policy publish` reads.
#[derive(Debug, Clone)]
pub struct Publish {
    pub key: PathBuf,
    pub number: u64,
    pub expires_days: u32,
    pub topology: PathBuf,
    pub catalogue: PathBuf,
    pub calendar: PathBuf,
    /// Where to write the signed envelope (must not exist); `None`: not written to a file.
    pub out: Option<PathBuf>,
}

/// A bundle `publish` signed: its payload, its envelope and the key that signed it (to sign
/// the rosters that go with it).
pub struct Signed {
    pub payload: BundlePayload,
    pub envelope: Vec<u8>,
    pub key: SigningKey,
}

/// Signs the policy files into bundle `number`, written to `out` (which must not exist).
/// The district is the root of the tree. Every file is checked by the domain's validators,
/// and the envelope is verified with the key's own public half, before anything is written.
pub fn publish(args: &Publish, now: OffsetDateTime) -> Result<Signed, PolicyCliError> {
    // Whole seconds: the times read better in the bundle and in messages.
    let now = now.replace_nanosecond(0).unwrap_or(now);
    if args.number == 0 {
        return Err(PolicyCliError::Number);
    }
    if !(1..=MAX_EXPIRES_DAYS).contains(&args.expires_days) {
        return Err(PolicyCliError::ExpiresDays);
    }
    if let Some(out) = args.out.as_ref().filter(|o| o.exists()) {
        return Err(PolicyCliError::Exists(out.clone()));
    }
    let key_bytes = std::fs::read(&args.key).map_err(io(&args.key))?;
    let key = SigningKey::from_pkcs8(&key_bytes).map_err(|error| PolicyCliError::Key {
        path: args.key.clone(),
        error,
    })?;
    let topology = read_document("topology", &args.topology, Topology::from_json)?;
    let catalogue = read_document("catalogue", &args.catalogue, Catalogue::from_json)?;
    let calendar = read_document("calendar", &args.calendar, WorkingCalendar::from_json)?;
    let payload = BundlePayload {
        district: topology.district(),
        number: args.number,
        issued_at: now,
        expires_at: now + Duration::days(i64::from(args.expires_days)),
        topology,
        catalogue,
        calendar,
    };
    let bytes = payload
        .to_bytes()
        .map_err(|e| PolicyCliError::SelfCheck(e.to_string()))?;
    let envelope = key.sign_envelope(&bytes);
    verify(&envelope, &[key.public_key()], payload.district, None, now)
        .map_err(|e| PolicyCliError::SelfCheck(e.to_string()))?;
    if let Some(out) = &args.out {
        if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io(dir))?;
        }
        write_new(out, &envelope, false)?;
    }
    Ok(Signed {
        payload,
        envelope,
        key,
    })
}

fn read_document<T, E: std::fmt::Display>(
    option: &'static str,
    path: &Path,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Result<T, PolicyCliError> {
    let problem = |problem: String| PolicyCliError::Document {
        option,
        path: path.to_path_buf(),
        problem,
    };
    let text = std::fs::read_to_string(path).map_err(|e| problem(e.to_string()))?;
    parse(&text).map_err(|e| problem(e.to_string()))
}

/// Writes a file that must not exist yet (`create_new`, so a race cannot replace one either),
/// readable by its owner only when `private`. A failed write leaves no file behind.
fn write_new(path: &Path, contents: &[u8], private: bool) -> Result<(), PolicyCliError> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(if private { 0o600 } else { 0o644 });
    }
    #[cfg(not(unix))]
    let _ = private;
    let mut file = options.open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => PolicyCliError::Exists(path.to_path_buf()),
        _ => PolicyCliError::Io {
            path: path.to_path_buf(),
            error: e,
        },
    })?;
    let written = file.write_all(contents).and_then(|()| file.sync_all());
    if let Err(error) = written {
        let _ = std::fs::remove_file(path);
        return Err(PolicyCliError::Io {
            path: path.to_path_buf(),
            error,
        });
    }
    Ok(())
}

/// Records a bundle `publish` signed, with a roster for every centre of its tree (the agents of
/// `agents`, a JSON list of registry records; none: every roster is empty), into the district's
/// database: the running district serves it and puts it in force within `policy.pull_secs`.
/// Nothing is recorded if the agents do not check or the number is not above the last.
pub async fn record_signed(
    db: bangban_kit::db::Db,
    signed: &Signed,
    agents: Option<&Path>,
    by: &str,
    summary: &str,
) -> anyhow::Result<u64> {
    let agents: Vec<bangban_domain::agent::Agent> = match agents {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| anyhow::anyhow!("--agents {}: {e}", path.display()))?;
            let agents: Vec<bangban_domain::agent::Agent> = serde_json::from_str(&text)
                .map_err(|e| anyhow::anyhow!("--agents {}: {e}", path.display()))?;
            bangban_domain::agent::validate_registry(&agents).map_err(|(i, e)| {
                anyhow::anyhow!("--agents {}: agent {}: {e}", path.display(), i + 1)
            })?;
            agents
        }
        None => Vec::new(),
    };
    let p = &signed.payload;
    let rosters = published::sign_rosters(
        &signed.key,
        &p.topology,
        p.number,
        p.issued_at,
        p.expires_at,
        &agents,
    )?;
    let number = published::Published::new(db)
        .with_keys(vec![signed.key.public_key()])
        .record(&signed.envelope, &rosters, by, summary)
        .await?;
    Ok(number)
}
