//! The district's policy as its administrators author it, before it is published: the tree of
//! centres, the catalogue and the working calendar, each one JSON document in the shape of its
//! policy file (`policy_drafts`), and the audit of every change to the policy or the agent
//! registry (`policy_audit`).
//!
//! A page edits a section in three steps: [`Drafts::topology`] (or `catalogue`, `calendar`) reads
//! the document with its revision; the page changes the domain value and checks it with the
//! domain's own validators (the same that check a policy file or a bundle); [`Drafts::save`]
//! writes it back with the audit rows of the change, in one transaction, only if the revision
//! is still the one read. So nothing invalid is ever saved, nothing is half-saved, and two
//! administrators cannot overwrite each other's changes unseen ([`DraftError::Conflict`]).
//!
//! At first start the drafts are seeded from the policy in force (the policy files), so the
//! district starts authoring from what it runs on.

use bangban_domain::calendar::WorkingCalendar;
use bangban_domain::catalogue::Catalogue;
use bangban_domain::topology::Topology;
use bangban_kit::db::Db;
use bangban_kit::policy::Policy;
use serde::Serialize;
use sqlx::Row;
use time::OffsetDateTime;

/// The actor of the rows written when the drafts are seeded from the policy files.
pub const SEED_ACTOR: &str = "@seed";

/// A section of the authored policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Topology,
    Catalogue,
    Calendar,
}

impl Section {
    pub const ALL: [Section; 3] = [Section::Topology, Section::Catalogue, Section::Calendar];

    pub fn as_str(self) -> &'static str {
        match self {
            Section::Topology => "topology",
            Section::Catalogue => "catalogue",
            Section::Calendar => "calendar",
        }
    }
}

/// A section's document as authored, with the revision a change must name.
#[derive(Debug, Clone)]
pub struct Draft<T> {
    pub doc: T,
    pub revision: i64,
    pub updated_at: OffsetDateTime,
    pub updated_by: String,
}

/// One line of the policy audit, as a change writes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// `topology`, `catalogue`, `calendar`, `agents` or `bundle`.
    pub section: &'static str,
    /// What was done, e.g. `tier.add`, `item.update`, `calendar.year`, `agent.status`.
    pub action: &'static str,
    /// What it was done to: a centre's or item's code, a year, a badge number, a bundle number.
    pub subject: String,
    /// The subject before (JSON), `None` when it was created.
    pub before: Option<serde_json::Value>,
    /// The subject after (JSON), `None` when it was removed.
    pub after: Option<serde_json::Value>,
}

impl Change {
    /// A change of `subject` from `before` to `after`; each side serialised to JSON.
    pub fn of<B: Serialize, A: Serialize>(
        section: &'static str,
        action: &'static str,
        subject: impl Into<String>,
        before: Option<&B>,
        after: Option<&A>,
    ) -> Change {
        Change {
            section,
            action,
            subject: subject.into(),
            before: before.and_then(|b| serde_json::to_value(b).ok()),
            after: after.and_then(|a| serde_json::to_value(a).ok()),
        }
    }
}

/// One recorded line of the policy audit.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    pub id: i64,
    pub at: OffsetDateTime,
    pub actor: String,
    pub section: String,
    pub action: String,
    pub subject: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

#[derive(Debug, thiserror::Error)]
pub enum DraftError {
    /// Another change was saved since this one's page was read.
    #[error("the {section} was changed by {by} since it was read; reload and try again")]
    Conflict { section: &'static str, by: String },
    /// The stored document no longer passes the domain's checks (edited by hand in the database).
    #[error("the stored {section} does not read: {problem}")]
    Corrupt {
        section: &'static str,
        problem: String,
    },
    #[error("the {0} has not been seeded")]
    Missing(&'static str),
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
}

impl DraftError {
    /// The message for the page, in Chinese and English.
    pub fn message(&self) -> (String, String) {
        match self {
            DraftError::Conflict { by, .. } => (
                format!("保存前{by}已修改了此内容，请刷新页面后重新操作。"),
                format!("{by} changed this since the page was opened; reload and try again."),
            ),
            other => (
                "无法读取或保存政策草稿，请联系系统管理员。".to_owned(),
                format!("The policy draft cannot be read or saved: {other}"),
            ),
        }
    }
}

/// The authored policy and its audit, on the district's database (SQLite or PostgreSQL).
#[derive(Debug, Clone)]
pub struct Drafts {
    db: Db,
}

impl Drafts {
    pub fn new(db: Db) -> Drafts {
        Drafts { db }
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Seeds every section that has no draft yet from `policy` (the files in force at start),
    /// with an audit line each. Sections already authored are left alone; running it again
    /// changes nothing. A node without a tree (a misconfigured district) seeds no tree.
    pub async fn seed(&self, policy: &Policy) -> Result<(), DraftError> {
        let docs = [
            (
                Section::Topology,
                policy.topology.as_ref().and_then(to_json),
            ),
            (Section::Catalogue, to_json(&policy.catalogue)),
            (Section::Calendar, to_json(&policy.calendar)),
        ];
        let now = OffsetDateTime::now_utc().unix_timestamp();
        for (section, body) in docs {
            let Some(body) = body else { continue };
            let mut tx = self.db.pool().begin().await?;
            let inserted = sqlx::query(
                "INSERT INTO policy_drafts (section, body, revision, updated_at, updated_by) \
                 VALUES ($1, $2, 1, $3, $4) ON CONFLICT (section) DO NOTHING",
            )
            .bind(section.as_str())
            .bind(&body)
            .bind(now)
            .bind(SEED_ACTOR)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if inserted == 1 {
                let change = Change {
                    section: section.as_str(),
                    action: "draft.seed",
                    subject: section.as_str().to_owned(),
                    before: None,
                    after: None,
                };
                record(&mut tx, now, SEED_ACTOR, &change).await?;
            }
            tx.commit().await?;
        }
        Ok(())
    }

    pub async fn topology(&self) -> Result<Draft<Topology>, DraftError> {
        self.read(Section::Topology, Topology::from_json).await
    }

    pub async fn catalogue(&self) -> Result<Draft<Catalogue>, DraftError> {
        self.read(Section::Catalogue, Catalogue::from_json).await
    }

    pub async fn calendar(&self) -> Result<Draft<WorkingCalendar>, DraftError> {
        self.read(Section::Calendar, WorkingCalendar::from_json)
            .await
    }

    /// All three sections as one policy (what a bundle would carry now).
    pub async fn policy(&self) -> Result<(Policy, i64), DraftError> {
        let (topology, catalogue, calendar) = (
            self.topology().await?,
            self.catalogue().await?,
            self.calendar().await?,
        );
        // The sum of the revisions changes with every saved change: a cheap "anything new?".
        let revisions = topology.revision + catalogue.revision + calendar.revision;
        Ok((
            Policy {
                calendar: calendar.doc,
                catalogue: catalogue.doc,
                topology: Some(topology.doc),
                agents: None,
            },
            revisions,
        ))
    }

    async fn read<T, E: std::fmt::Display>(
        &self,
        section: Section,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Result<Draft<T>, DraftError> {
        let row = sqlx::query(
            "SELECT body, revision, updated_at, updated_by FROM policy_drafts WHERE section = $1",
        )
        .bind(section.as_str())
        .fetch_optional(self.db.pool())
        .await?
        .ok_or(DraftError::Missing(section.as_str()))?;
        let body: String = row.try_get("body")?;
        let doc = parse(&body).map_err(|e| DraftError::Corrupt {
            section: section.as_str(),
            problem: e.to_string(),
        })?;
        Ok(Draft {
            doc,
            revision: row.try_get("revision")?,
            updated_at: from_unix(row.try_get("updated_at")?),
            updated_by: row.try_get("updated_by")?,
        })
    }

    /// Saves `doc` (already checked by the domain's validators) as `section`'s draft if its
    /// revision is still `revision`, with `changes` in the audit, all in one transaction.
    /// Returns the new revision.
    pub async fn save<T: Serialize>(
        &self,
        section: Section,
        doc: &T,
        revision: i64,
        actor: &str,
        changes: &[Change],
    ) -> Result<i64, DraftError> {
        let body = serde_json::to_string_pretty(doc).map_err(|e| DraftError::Corrupt {
            section: section.as_str(),
            problem: e.to_string(),
        })?;
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let mut tx = self.db.pool().begin().await?;
        let updated = sqlx::query(
            "UPDATE policy_drafts SET body = $1, revision = revision + 1, updated_at = $2, \
             updated_by = $3 WHERE section = $4 AND revision = $5",
        )
        .bind(&body)
        .bind(now)
        .bind(actor)
        .bind(section.as_str())
        .bind(revision)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if updated != 1 {
            tx.rollback().await?;
            let by = sqlx::query("SELECT updated_by FROM policy_drafts WHERE section = $1")
                .bind(section.as_str())
                .fetch_optional(self.db.pool())
                .await?
                .map(|r| r.try_get::<String, _>("updated_by"))
                .transpose()?
                .ok_or(DraftError::Missing(section.as_str()))?;
            return Err(DraftError::Conflict {
                section: section.as_str(),
                by,
            });
        }
        for change in changes {
            record(&mut tx, now, actor, change).await?;
        }
        tx.commit().await?;
        Ok(revision + 1)
    }

    /// Writes one audit line on its own (for what is recorded elsewhere, e.g. a publication).
    pub async fn note(&self, actor: &str, change: &Change) -> Result<(), DraftError> {
        let mut tx = self.db.pool().begin().await?;
        record(
            &mut tx,
            OffsetDateTime::now_utc().unix_timestamp(),
            actor,
            change,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The latest lines of the policy audit, newest first; only `section`'s when given.
    pub async fn audit(
        &self,
        section: Option<&str>,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, DraftError> {
        let rows = match section {
            Some(s) => {
                sqlx::query(
                    "SELECT id, at, actor, section, action, subject, before, after \
                     FROM policy_audit WHERE section = $1 ORDER BY id DESC LIMIT $2",
                )
                .bind(s)
                .bind(i64::from(limit))
                .fetch_all(self.db.pool())
                .await?
            }
            None => {
                sqlx::query(
                    "SELECT id, at, actor, section, action, subject, before, after \
                     FROM policy_audit ORDER BY id DESC LIMIT $1",
                )
                .bind(i64::from(limit))
                .fetch_all(self.db.pool())
                .await?
            }
        };
        rows.iter()
            .map(|r| {
                let json = |col: &str| -> Result<Option<serde_json::Value>, sqlx::Error> {
                    Ok(r.try_get::<Option<String>, _>(col)?
                        .and_then(|s| serde_json::from_str(&s).ok()))
                };
                Ok(AuditEntry {
                    id: r.try_get("id")?,
                    at: from_unix(r.try_get("at")?),
                    actor: r.try_get("actor")?,
                    section: r.try_get("section")?,
                    action: r.try_get("action")?,
                    subject: r.try_get("subject")?,
                    before: json("before")?,
                    after: json("after")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(DraftError::Db)
    }
}

/// Writes one audit line inside the caller's transaction (the registry's changes use this too,
/// so that a change and its audit line commit together).
pub async fn record(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    at_unix: i64,
    actor: &str,
    change: &Change,
) -> Result<(), sqlx::Error> {
    let json = |v: &Option<serde_json::Value>| v.as_ref().map(|v| v.to_string());
    sqlx::query(
        "INSERT INTO policy_audit (at, actor, section, action, subject, before, after) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(at_unix)
    .bind(actor)
    .bind(change.section)
    .bind(change.action)
    .bind(&change.subject)
    .bind(json(&change.before))
    .bind(json(&change.after))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn to_json<T: Serialize>(value: &T) -> Option<String> {
    serde_json::to_string_pretty(value).ok()
}

fn from_unix(secs: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(secs).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}
