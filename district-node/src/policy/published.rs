//! The district's record of the signed policy bundles it published (`policy_bundles`), each with
//! the agent rosters signed for it (`policy_rosters`), on SQLite or PostgreSQL; the latest one
//! is what the district serves its towns and puts in force on itself ([`put_in_force`]).
//!
//! Rows are only ever inserted: a number is recorded once, above every number before it, and a
//! recorded envelope is never changed (the stations compare the exact bytes).

use std::sync::Arc;

use bangban_domain::agent::{Agent, for_centre};
use bangban_domain::station::{StationCode, Tier};
use bangban_domain::topology::Topology;
use bangban_kit::db::Db;
use bangban_kit::policy::PolicyHandle;
use bangban_kit::policy::bundle::{BundleError, PublicKey, SigningKey, peek, verify};
use bangban_kit::policy::roster::{RosterEntry, RosterPayload, RosterSet, verify_roster};
use bangban_kit::policy::serve::{BundleSource, SourceFuture};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use sqlx::Row as _;
use time::OffsetDateTime;

/// Why a bundle was not recorded (nothing was), or the record could not be read.
#[derive(Debug, thiserror::Error)]
pub enum PublishedError {
    #[error("bundle {number} is not above bundle {last}, the last recorded")]
    NotNewer { number: u64, last: u64 },
    #[error("the bundle: {0}")]
    Bundle(BundleError),
    #[error("the roster of {station}: {error}")]
    Roster {
        station: StationCode,
        error: BundleError,
    },
    #[error("two rosters for {0}")]
    RosterTwice(StationCode),
    #[error("the database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("a recorded value does not read: {0}")]
    Corrupt(String),
}

/// One recorded bundle.
#[derive(Debug, Clone)]
pub struct PublishedBundle {
    pub number: u64,
    /// The exact signed envelope, as served.
    pub envelope: Vec<u8>,
    pub issued_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub published_at: OffsetDateTime,
    pub published_by: String,
    pub summary: String,
}

/// The district's published bundles.
#[derive(Debug, Clone)]
pub struct Published {
    db: Db,
    /// The district's policy key(s): when set, `record` refuses what does not verify with them.
    keys: Arc<Vec<PublicKey>>,
}

fn ms(t: OffsetDateTime) -> i64 {
    bangban_kit::store::to_ms(t)
}

fn from_ms(ms: i64) -> Result<OffsetDateTime, PublishedError> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .map_err(|e| PublishedError::Corrupt(e.to_string()))
}

fn number_col(n: i64) -> Result<u64, PublishedError> {
    u64::try_from(n).map_err(|e| PublishedError::Corrupt(e.to_string()))
}

fn db_number(n: u64) -> Result<i64, PublishedError> {
    i64::try_from(n).map_err(|_| {
        PublishedError::Bundle(BundleError::Payload(format!("number {n} is too large")))
    })
}

impl Published {
    pub fn new(db: Db) -> Published {
        Published {
            db,
            keys: Arc::default(),
        }
    }

    /// Verifies every envelope `record` is given with `keys` (the key's public half, or the
    /// district's pinned keys) before recording it.
    pub fn with_keys(mut self, keys: Vec<PublicKey>) -> Published {
        self.keys = Arc::new(keys);
        self
    }

    /// Records one bundle and its rosters in one transaction; refuses a number not above the
    /// last recorded one, and, when keys are set ([`Published::with_keys`]), an envelope or a
    /// roster that does not verify with them (a roster must be for its station, the district
    /// and the bundle's number). Returns the bundle's number.
    pub async fn record(
        &self,
        bundle: &[u8],
        rosters: &[(StationCode, Vec<u8>)],
        by: &str,
        summary: &str,
    ) -> Result<u64, PublishedError> {
        let now = OffsetDateTime::now_utc();
        let head = peek(bundle).map_err(PublishedError::Bundle)?;
        if !self.keys.is_empty() {
            verify(bundle, &self.keys, head.district, None, now).map_err(PublishedError::Bundle)?;
        }
        let mut seen = std::collections::BTreeSet::new();
        for (station, envelope) in rosters {
            if !seen.insert(*station) {
                return Err(PublishedError::RosterTwice(*station));
            }
            if !self.keys.is_empty() {
                verify_roster(envelope, &self.keys, head.district, *station, head.number).map_err(
                    |error| PublishedError::Roster {
                        station: *station,
                        error,
                    },
                )?;
            }
        }
        let number = db_number(head.number)?;
        let mut tx = self.db.pool().begin().await?;
        let last: Option<i64> = sqlx::query("SELECT MAX(number) AS last FROM policy_bundles")
            .fetch_one(&mut *tx)
            .await?
            .try_get("last")?;
        if let Some(last) = last
            && number <= last
        {
            return Err(PublishedError::NotNewer {
                number: head.number,
                last: number_col(last)?,
            });
        }
        sqlx::query(
            "INSERT INTO policy_bundles \
             (number, envelope, issued_at, expires_at, published_at, published_by, summary) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(number)
        .bind(bundle.to_vec())
        .bind(ms(head.issued_at))
        .bind(ms(head.expires_at))
        .bind(ms(now))
        .bind(by.to_owned())
        .bind(summary.to_owned())
        .execute(&mut *tx)
        .await?;
        for (station, envelope) in rosters {
            sqlx::query(
                "INSERT INTO policy_rosters (number, station, envelope) VALUES ($1, $2, $3)",
            )
            .bind(number)
            .bind(station.to_string())
            .bind(envelope.clone())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(head.number)
    }

    fn row(row: &sqlx::any::AnyRow) -> Result<PublishedBundle, PublishedError> {
        Ok(PublishedBundle {
            number: number_col(row.try_get("number")?)?,
            envelope: row.try_get("envelope")?,
            issued_at: from_ms(row.try_get("issued_at")?)?,
            expires_at: from_ms(row.try_get("expires_at")?)?,
            published_at: from_ms(row.try_get("published_at")?)?,
            published_by: row.try_get("published_by")?,
            summary: row.try_get("summary")?,
        })
    }

    /// The latest recorded bundle.
    pub async fn latest(&self) -> Result<Option<PublishedBundle>, PublishedError> {
        Ok(self.history(1).await?.into_iter().next())
    }

    /// The number of the latest recorded bundle.
    pub async fn last_number(&self) -> Result<Option<u64>, PublishedError> {
        let last: Option<i64> = sqlx::query("SELECT MAX(number) AS last FROM policy_bundles")
            .fetch_one(self.db.pool())
            .await?
            .try_get("last")?;
        last.map(number_col).transpose()
    }

    /// The latest `limit` recorded bundles, newest first.
    pub async fn history(&self, limit: u32) -> Result<Vec<PublishedBundle>, PublishedError> {
        let rows = sqlx::query(
            "SELECT number, envelope, issued_at, expires_at, published_at, published_by, summary \
             FROM policy_bundles ORDER BY number DESC LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(self.db.pool())
        .await?;
        rows.iter().map(Self::row).collect()
    }

    /// The rosters recorded with bundle `number`.
    pub async fn rosters(&self, number: u64) -> Result<RosterSet, PublishedError> {
        let rows = sqlx::query(
            "SELECT station, envelope FROM policy_rosters WHERE number = $1 ORDER BY station",
        )
        .bind(db_number(number)?)
        .fetch_all(self.db.pool())
        .await?;
        let mut rosters = Vec::with_capacity(rows.len());
        for row in &rows {
            let station: String = row.try_get("station")?;
            let envelope: Vec<u8> = row.try_get("envelope")?;
            rosters.push(RosterEntry {
                station: StationCode::parse(&station)
                    .map_err(|e| PublishedError::Corrupt(e.to_string()))?,
                envelope: B64.encode(envelope),
            });
        }
        Ok(RosterSet { number, rosters })
    }
}

/// Signs one roster per centre (town or village) of `tree`: the agents of the registry whose
/// centre it is, and an empty roster for every centre without any (so that a station whose last
/// agent left learns it). Agents of centres outside the tree are left out.
pub fn sign_rosters(
    key: &SigningKey,
    tree: &Topology,
    number: u64,
    issued_at: OffsetDateTime,
    expires_at: OffsetDateTime,
    agents: &[Agent],
) -> Result<Vec<(StationCode, Vec<u8>)>, BundleError> {
    tree.stations()
        .map(|s| s.code)
        .filter(|code| code.tier() != Tier::District)
        .map(|station| {
            let payload = RosterPayload {
                district: tree.district(),
                station,
                number,
                issued_at,
                expires_at,
                agents: for_centre(agents, station),
            };
            payload.sign(key).map(|envelope| (station, envelope))
        })
        .collect()
}

/// Puts the latest recorded bundle in force on the district itself when it is newer than the
/// one in force and verifies with `pinned` (the district's own key): the publish screen calls
/// this right after [`Published::record`]; the watcher ([`watch`]) calls it for bundles that
/// another process recorded. Returns the number put in force, if any. A refusal is noted on the
/// handle (start page, `/readyz`, `/metrics`) and the policy in force stays.
pub async fn put_in_force(
    published: &Published,
    policy: &PolicyHandle,
    me: StationCode,
    pinned: &[PublicKey],
) -> Result<Option<u64>, PublishedError> {
    if pinned.is_empty() {
        return Ok(None);
    }
    let Some(latest) = published.latest().await? else {
        return Ok(None);
    };
    let in_force = policy.current().bundle;
    if in_force.is_some_and(|n| n >= latest.number) {
        return Ok(None);
    }
    let now = OffsetDateTime::now_utc();
    let refused = |e: BundleError| {
        policy.note_refusal(&e, now);
        PublishedError::Bundle(e)
    };
    // An expired bundle is still the latest the district published: in force, flagged.
    let verified = verify(&latest.envelope, pinned, me.district(), in_force, now)
        .or_else(|e| match e {
            BundleError::Expired { .. } => verify(
                &latest.envelope,
                pinned,
                me.district(),
                in_force,
                latest.issued_at,
            ),
            e => Err(e),
        })
        .map_err(refused)?;
    if let Some(tree) = &verified.policy.topology
        && !tree.contains(me)
    {
        return Err(refused(BundleError::TreeDistrict {
            bundle: me,
            tree: tree.district(),
        }));
    }
    let number = verified.number;
    policy.install(verified.policy, number).map_err(refused)?;
    policy.note_good(Some(verified.expires_at));
    Ok(Some(number))
}

/// Looks at the recorded bundles every `every` and puts a newer one in force (see
/// [`put_in_force`]), until `stop`. A refused bundle is logged once.
pub async fn watch(
    published: Published,
    policy: PolicyHandle,
    me: StationCode,
    pinned: Vec<PublicKey>,
    every: std::time::Duration,
    stop: bangban_kit::node::Stop,
) {
    let mut stopped = stop.receiver();
    let mut refused: Option<u64> = None;
    loop {
        match published.last_number().await {
            Ok(Some(last))
                if policy.current().bundle.is_none_or(|n| n < last) && refused != Some(last) =>
            {
                match put_in_force(&published, &policy, me, &pinned).await {
                    Ok(Some(number)) => {
                        tracing::info!(bundle = number, "recorded policy bundle in force");
                    }
                    Ok(None) => {}
                    Err(e) => {
                        tracing::warn!(bundle = last, error = %e, "recorded policy bundle refused; the policy in force stays");
                        refused = Some(last);
                    }
                }
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "the recorded policy bundles cannot be read"),
        }
        tokio::select! {
            _ = stopped.wait_for(|s| *s) => return,
            () = tokio::time::sleep(every) => {}
        }
    }
}

impl BundleSource for Published {
    fn latest(&self) -> SourceFuture<'_, Option<(u64, Vec<u8>)>> {
        Box::pin(async move {
            self.latest()
                .await
                .map(|b| b.map(|b| (b.number, b.envelope)))
                .map_err(|e| e.to_string())
        })
    }

    fn rosters(&self, number: u64, _caller: StationCode) -> SourceFuture<'_, RosterSet> {
        Box::pin(async move {
            Published::rosters(self, number)
                .await
                .map_err(|e| e.to_string())
        })
    }
}
