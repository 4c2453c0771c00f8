//! Logging in (throttled, hashed on the bounded pool, audited), bearer sessions with sliding
//! expiry, logging out, and the purges the jobs run.

use sqlx::Row;
use time::OffsetDateTime;

use super::*;

impl AuthStore {
    /// Checks a username and password and opens a session.
    ///
    /// A caller that must wait (see [`throttle`]) is refused with `auth.throttled` (429) before
    /// any argon2 work. Every other refusal, whether the username is unknown or malformed, the
    /// password wrong, or the account disabled, is `auth.invalid_credentials` (401) after exactly
    /// one argon2 verification, so neither the answer nor its time tells them apart; the audit
    /// trail does. When no hashing thread frees up in time the answer is `auth.busy` (503) and the
    /// attempt counts for nothing. Every attempt is audited, whatever its outcome.
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        peer: Option<String>,
        now: OffsetDateTime,
    ) -> Result<Session, AuthError> {
        let name = Username::parse(username).ok();
        let source = Source::from_peer(peer.as_deref());
        if let Err(retry_after) = self.throttle.admit(source, name.as_ref(), now) {
            self.audit(name.as_ref(), now, LoginOutcome::Throttled, peer)
                .await?;
            return Err(AuthError::Throttled { retry_after });
        }
        // From here the attempt counts as a failure unless it is shown otherwise.
        let result = self
            .check_password(name.as_ref(), password, peer, now)
            .await;
        match (&result, &name) {
            (Ok(session), _) => self.throttle.succeeded(source, &session.operator.username),
            (Err(AuthError::InvalidCredentials), _) => {}
            // Busy or broken: the password was not judged.
            (Err(_), name) => self.throttle.withdraw(source, name.as_ref()),
        }
        result
    }

    pub(super) async fn check_password(
        &self,
        name: Option<&Username>,
        password: &str,
        peer: Option<String>,
        now: OffsetDateTime,
    ) -> Result<Session, AuthError> {
        // Whoever logs in first pays for the dummy hash, so its cost tells nothing either.
        let dummy = self.dummy_hash().await?;
        let account = match name {
            Some(n) => self.account(n).await?,
            None => None,
        };
        let Some((operator, password_hash)) = account else {
            // Same work as a real check; the result is meaningless.
            self.verify_password(password.to_owned(), dummy).await?;
            self.audit(name, now, LoginOutcome::UnknownUser, peer)
                .await?;
            return Err(AuthError::InvalidCredentials);
        };
        let name = &operator.username;
        if !self
            .verify_password(password.to_owned(), password_hash)
            .await?
        {
            self.audit(Some(name), now, LoginOutcome::WrongPassword, peer)
                .await?;
            return Err(AuthError::InvalidCredentials);
        }
        if operator.disabled {
            // The right password, but answered as a wrong one: a caller who guessed it learns
            // nothing, and the operator's administrator sees it in the audit trail.
            self.audit(Some(name), now, LoginOutcome::Disabled, peer)
                .await?;
            return Err(AuthError::InvalidCredentials);
        }
        let token = new_token()?;
        let expires_at = now + SESSION_TTL;
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO sessions (token_hash, username, created_at, expires_at, last_seen_at) \
             VALUES ($1, $2, $3, $4, $3)",
        )
        .bind(token_digest(&token.0)?)
        .bind(name.as_str())
        .bind(to_ms(now))
        .bind(to_ms(expires_at))
        .execute(&mut *tx)
        .await?;
        audit_in(&mut tx, Some(name), now, LoginOutcome::Ok, peer).await?;
        tx.commit().await?;
        Ok(Session {
            token,
            operator,
            expires_at,
        })
    }

    /// An account with its password hash, or `None`.
    pub(super) async fn account(
        &self,
        name: &Username,
    ) -> Result<Option<(Operator, String)>, AuthError> {
        let sql =
            format!("SELECT {OPERATOR_COLUMNS}, password_hash FROM operators WHERE username = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(name.as_str())
            .fetch_optional(self.db.pool())
            .await?;
        row.map(|row| Ok((operator_from_row(&row)?, row.try_get("password_hash")?)))
            .transpose()
    }

    pub(super) async fn dummy_hash(&self) -> Result<String, AuthError> {
        self.dummy_hash
            .get_or_try_init(|| async move {
                let random = new_token()?;
                self.hash_password(random.0).await
            })
            .await
            .cloned()
    }

    pub(super) async fn audit(
        &self,
        username: Option<&Username>,
        now: OffsetDateTime,
        outcome: LoginOutcome,
        peer: Option<String>,
    ) -> Result<(), AuthError> {
        let mut conn = self.db.pool().acquire().await?;
        audit_in(&mut conn, username, now, outcome, peer).await
    }

    /// The operator a bearer token belongs to. Each use keeps the session alive for another
    /// [`SESSION_TTL`], up to [`SESSION_MAX`] after the login; an expired or unknown token, or one of a disabled account, is refused
    /// with `auth.invalid_token`.
    pub async fn authenticate(
        &self,
        token: &str,
        now: OffsetDateTime,
    ) -> Result<Operator, AuthError> {
        if !well_formed_token(token) {
            return Err(AuthError::InvalidToken);
        }
        let digest = token_digest(token)?;
        let sql = format!(
            "SELECT s.expires_at AS s_expires_at, s.last_seen_at AS s_last_seen_at, \
             s.created_at AS s_created_at, \
             {cols} FROM sessions s JOIN operators o ON o.username = s.username \
             WHERE s.token_hash = $1",
            cols = OPERATOR_COLUMNS
                .split(", ")
                .map(|c| format!("o.{c}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&digest)
            .fetch_optional(self.db.pool())
            .await?
            .ok_or(AuthError::InvalidToken)?;
        let expires_at: i64 = row.try_get("s_expires_at")?;
        let last_seen_at: i64 = row.try_get("s_last_seen_at")?;
        let created_at: i64 = row.try_get("s_created_at")?;
        let end_of_session = created_at
            .saturating_add(i64::try_from(SESSION_MAX.whole_milliseconds()).unwrap_or(i64::MAX));
        let operator = operator_from_row(&row)?;
        let now_ms = to_ms(now);
        if now_ms >= expires_at || now_ms >= end_of_session || operator.disabled {
            return Err(AuthError::InvalidToken);
        }
        if i128::from(now_ms - last_seen_at) >= RENEW_EVERY.whole_milliseconds() {
            // Only ever extends; the guard keeps a concurrent logout or expiry final.
            sqlx::query(
                "UPDATE sessions SET last_seen_at = $2, expires_at = $3 \
                 WHERE token_hash = $1 AND expires_at > $2 AND expires_at < $3",
            )
            .bind(&digest)
            .bind(now_ms)
            .bind(to_ms(now + SESSION_TTL).min(end_of_session))
            .execute(self.db.pool())
            .await?;
        }
        Ok(operator)
    }

    /// Ends the session of `token`. Returns whether there was one; an unknown token is no error.
    pub async fn logout(&self, token: &str) -> Result<bool, AuthError> {
        if !well_formed_token(token) {
            return Ok(false);
        }
        let done = sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_digest(token)?)
            .execute(self.db.pool())
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Deletes expired sessions; returns how many. Run it from a job now and then.
    pub async fn purge_expired(&self, now: OffsetDateTime) -> Result<u64, AuthError> {
        let done = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(to_ms(now))
            .execute(self.db.pool())
            .await?;
        Ok(done.rows_affected())
    }

    /// Forgets login attempts recorded before `before` (the retention period has passed).
    pub async fn purge_login_audit(&self, before: OffsetDateTime) -> Result<u64, AuthError> {
        let done = sqlx::query("DELETE FROM login_audit WHERE at < $1")
            .bind(to_ms(before))
            .execute(self.db.pool())
            .await?;
        Ok(done.rows_affected())
    }

    /// The latest `limit` login attempts (at most 1,000), newest first.
    pub async fn login_attempts(&self, limit: u32) -> Result<Vec<LoginAttempt>, AuthError> {
        let rows = sqlx::query(
            "SELECT id, username, at, success, outcome, peer FROM login_audit \
             ORDER BY id DESC LIMIT $1",
        )
        .bind(i64::from(limit.min(1000)))
        .fetch_all(self.db.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let outcome: String = r.try_get("outcome")?;
                Ok(LoginAttempt {
                    id: r.try_get("id")?,
                    username: r.try_get("username")?,
                    at: from_ms(r.try_get("at")?)?,
                    success: r.try_get::<i64, _>("success")? != 0,
                    outcome: LoginOutcome::parse(&outcome)
                        .ok_or_else(|| AuthError::Corrupt(format!("login outcome {outcome}")))?,
                    peer: r.try_get("peer")?,
                })
            })
            .collect()
    }

    /// How many sessions are open (not yet purged, possibly expired), for status and tests.
    pub async fn session_count(&self) -> Result<i64, AuthError> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM sessions")
            .fetch_one(self.db.pool())
            .await?;
        Ok(row.try_get("n")?)
    }
}
