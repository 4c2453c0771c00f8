//! Finding cases by what an operator types: the search terms of a case, written with its row,
//! and how a typed text becomes a lookup of those terms. It must never store personal data in a
//! form a list could show: only what lists show anyway, the last 4 characters of an identifier,
//! and keyed digests.

use std::collections::BTreeSet;

use argon2::{Algorithm, Argon2, Params, Version};
use bangban_domain::case::{CaseState, fold};
use bangban_domain::event::Applicant;
use bangban_domain::ident::{CreditCode, ResidentId};
use sqlx::{AnyConnection, Row};

use super::*;

/// The layout of the terms written now; rows with another (or none) are written again on open.
pub(crate) const SEARCH_VERSION: i64 = 1;

/// Digest terms start with this character, which typed searches never contain (control
/// characters are removed from them), so a typed prefix can never range over digests.
const DIGEST_MARK: char = '\u{1}';

/// The name of the search digests' key in `node_secrets`.
const SALT_NAME: &str = "search_salt";

/// Text as terms and searches compare it: trimmed, without control characters, ASCII letters
/// in upper case (`002x` finds `002X`; Chinese is unchanged).
pub(crate) fn normalise(text: &str) -> String {
    text.trim()
        .chars()
        .filter(|c| !c.is_control())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// The key of this database's search digests: random, made once, kept in `node_secrets`.
pub(crate) async fn load_salt(conn: &mut AnyConnection) -> Result<Vec<u8>, StoreError> {
    if let Some(row) = sqlx::query("SELECT value FROM node_secrets WHERE name = $1")
        .bind(SALT_NAME)
        .fetch_optional(&mut *conn)
        .await?
    {
        return Ok(row.try_get::<String, _>("value")?.into_bytes());
    }
    // 256 bits from the operating system's CSPRNG, through password-hash's salt generator (the
    // one CSPRNG in our dependencies), kept as text.
    let mut value = String::new();
    for _ in 0..2 {
        let random = argon2::password_hash::try_generate_salt()
            .map_err(|e| StoreError::Corrupt(format!("no secure randomness: {e}")))?;
        value.push_str(&hex(&random));
    }
    // Two nodes' replicas may race here: the first value stays, and both read it back.
    sqlx::query(
        "INSERT INTO node_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
    )
    .bind(SALT_NAME)
    .bind(&value)
    .execute(&mut *conn)
    .await?;
    let row = sqlx::query("SELECT value FROM node_secrets WHERE name = $1")
        .bind(SALT_NAME)
        .fetch_one(&mut *conn)
        .await?;
    Ok(row.try_get::<String, _>("value")?.into_bytes())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A keyed one-way digest term of `kind` (`i` identifier, `n` name). argon2id at its minimum
/// cost serves as the keyed hash because it is already a dependency (as for session tokens):
/// microseconds per digest.
fn digest_term(salt: &[u8], kind: char, value: &str) -> Result<String, StoreError> {
    let params = Params::new(8, 1, 1, Some(16)).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let mut out = [0u8; 16];
    let mut input = String::with_capacity(value.len() + 2);
    input.push(kind);
    input.push(':');
    input.push_str(value);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(input.as_bytes(), salt, &mut out)
        .map_err(|e| StoreError::Corrupt(format!("search digest: {e}")))?;
    let mut term = String::with_capacity(34);
    term.push(DIGEST_MARK);
    term.push(kind);
    term.push_str(&hex(&out));
    Ok(term)
}

/// The identifier of an applicant and the person's name, when there is one.
fn personal_keys(applicant: &Applicant) -> (&str, Option<&str>) {
    match applicant {
        Applicant::Person {
            name, id_number, ..
        } => (id_number.as_str(), Some(name.as_str())),
        Applicant::Company { credit_code, .. } => (credit_code.as_str(), None),
    }
}

/// The terms a case is found by (see the module doc of `store`).
pub(crate) fn terms_of(state: &CaseState, salt: &[u8]) -> Result<BTreeSet<String>, StoreError> {
    let mut terms = BTreeSet::new();
    let case_no = state.case_no.to_string();
    // `410402001001-20260210-0001` is also found as `20260210-0001`, as a station reads it.
    if let Some((_, short)) = case_no.split_once('-') {
        terms.insert(normalise(short));
    }
    terms.insert(normalise(&case_no));
    if let Some(item) = &state.item {
        terms.insert(normalise(&item.code));
        terms.insert(normalise(&item.name));
    }
    if let Some(applicant) = &state.applicant {
        terms.insert(normalise(&applicant.display_name()));
        let (id, name) = personal_keys(applicant);
        let id = normalise(id);
        let tail_from = id.char_indices().rev().nth(3).map_or(0, |(i, _)| i);
        terms.insert(id[tail_from..].to_owned());
        terms.insert(digest_term(salt, 'i', &id)?);
        if let Some(name) = name {
            terms.insert(digest_term(salt, 'n', &normalise(name))?);
        }
    }
    terms.remove("");
    Ok(terms)
}

/// What a typed search looks up: every term starting with `prefix`, and the digest term.
pub(crate) struct Lookup {
    pub prefix: String,
    /// Just above every string starting with `prefix`, in byte order.
    pub prefix_end: String,
    /// The digest of the text as a full identifier when it is one, else as a person's name.
    pub digest: String,
}

impl Lookup {
    /// `None` when nothing searchable was typed.
    pub(crate) fn new(typed: &str, salt: &[u8]) -> Result<Option<Lookup>, StoreError> {
        let prefix = normalise(typed);
        if prefix.is_empty() {
            return Ok(None);
        }
        let compact: String = prefix.chars().filter(|c| !c.is_whitespace()).collect();
        // A full identifier, typed with or without spaces: its digest, never the plain value.
        let id = ResidentId::parse(&compact)
            .map(|id| id.as_str().to_owned())
            .or_else(|_| CreditCode::parse_with_override(&compact).map(|c| c.as_str().to_owned()));
        let digest = match id {
            Ok(id) => digest_term(salt, 'i', &normalise(&id))?,
            Err(_) => digest_term(salt, 'n', &prefix)?,
        };
        let mut prefix_end = prefix.clone();
        prefix_end.push(char::MAX);
        Ok(Some(Lookup {
            prefix,
            prefix_end,
            digest,
        }))
    }
}

impl CaseStore {
    /// This database's search key, read once (on `conn`, which may be inside a transaction).
    pub(crate) async fn search_salt(
        &self,
        conn: &mut AnyConnection,
    ) -> Result<std::sync::Arc<[u8]>, StoreError> {
        self.salt
            .get_or_try_init(|| async {
                Ok::<_, StoreError>(std::sync::Arc::from(load_salt(conn).await?))
            })
            .await
            .cloned()
    }

    /// Replaces the terms of a case (inside the append's transaction).
    pub(crate) async fn write_terms(
        conn: &mut AnyConnection,
        case_id: &str,
        opened_at_ms: i64,
        terms: &BTreeSet<String>,
        replace: bool,
    ) -> Result<(), StoreError> {
        if replace {
            sqlx::query("DELETE FROM case_terms WHERE case_id = $1")
                .bind(case_id)
                .execute(&mut *conn)
                .await?;
        }
        // One statement for all of a case's terms: each statement is a round trip to the
        // database's thread.
        let terms: Vec<&String> = terms.iter().collect();
        for chunk in terms.chunks(100) {
            let rows: Vec<String> = (0..chunk.len())
                .map(|i| format!("(${}, $1, $2)", i + 3))
                .collect();
            let sql = format!(
                "INSERT INTO case_terms (term, opened_at, case_id) VALUES {}",
                rows.join(", ")
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(opened_at_ms)
                .bind(case_id);
            for term in chunk {
                q = q.bind(term.as_str());
            }
            q.execute(&mut *conn).await?;
        }
        Ok(())
    }
}

/// Writes the terms of every case stored before they existed (or in an older layout), in
/// batches, so that an existing database finds its old cases too. Runs when the database is
/// opened (`Db::migrate`); a database with nothing pending costs one indexed look-up.
pub(crate) async fn fill_pending(db: &Db) -> Result<u64, StoreError> {
    let salt = {
        let mut conn = db.pool().acquire().await?;
        load_salt(&mut conn).await?
    };
    let mut filled = 0;
    loop {
        // The append lock, as every writer of case rows takes it (see `CaseStore::begin_write`).
        let mut tx = match db.backend() {
            crate::db::Backend::Sqlite => db.pool().begin_with("BEGIN IMMEDIATE").await?,
            crate::db::Backend::Postgres => {
                let mut tx = db.pool().begin().await?;
                sqlx::query("SELECT 1 AS locked FROM pg_advisory_xact_lock($1)")
                    .bind(APPEND_LOCK_KEY)
                    .execute(&mut *tx)
                    .await?;
                tx
            }
        };
        let rows = sqlx::query(
            "SELECT case_id, opened_at, state_doc, version FROM cases \
             WHERE search_version IS NULL ORDER BY case_id LIMIT 500",
        )
        .fetch_all(&mut *tx)
        .await?;
        if rows.is_empty() {
            return Ok(filled);
        }
        for row in &rows {
            let case_id: String = row.try_get("case_id")?;
            let opened_at: i64 = row.try_get("opened_at")?;
            let version: i64 = row.try_get("version")?;
            let stored = row
                .try_get::<Option<String>, _>("state_doc")?
                .and_then(|doc| CaseState::from_stored(&doc).ok())
                .filter(|s| i64::try_from(s.version).ok() == Some(version));
            let state = match stored {
                Some(state) => Some(state),
                // One broken log must not keep the node from starting: the case is then found
                // by nothing but is still listed, and its page says why.
                None => match load_events(&mut tx, &case_id).await {
                    Ok(events) => match fold(&events) {
                        Ok(state) => Some(state),
                        Err(e) => {
                            tracing::warn!(case_id, error = %e, "case does not fold; no search terms");
                            None
                        }
                    },
                    Err(StoreError::Corrupt(e)) => {
                        tracing::warn!(case_id, error = %e, "unreadable case log; no search terms");
                        None
                    }
                    Err(e) => return Err(e),
                },
            };
            let terms = match &state {
                Some(state) => terms_of(state, &salt)?,
                None => BTreeSet::new(),
            };
            CaseStore::write_terms(&mut tx, &case_id, opened_at, &terms, true).await?;
            sqlx::query("UPDATE cases SET search_version = $1 WHERE case_id = $2")
                .bind(SEARCH_VERSION)
                .bind(&case_id)
                .execute(&mut *tx)
                .await?;
            filled += 1;
        }
        tx.commit().await?;
    }
}
