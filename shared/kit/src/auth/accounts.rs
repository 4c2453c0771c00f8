//! Operator accounts: create, read, list, set a password, disable and enable.

use time::OffsetDateTime;

use super::*;

impl AuthStore {
    /// Creates an account. The username is normalised (trimmed, lowercased) and must be free.
    pub async fn create_operator(
        &self,
        new: NewOperator,
        now: OffsetDateTime,
    ) -> Result<Operator, AuthError> {
        let username = Username::parse(&new.username)?;
        let display_name = check_display_name(&new.display_name)?;
        check_password_policy(&username, &new.password)?;
        // Cheap check first, so that a taken name does not cost a hash; the insert still guards.
        if self.operator(username.as_str()).await?.is_some() {
            return Err(AuthError::DuplicateUsername(username.into_string()));
        }
        let hash = self.hash_password(new.password).await?;
        let now_ms = to_ms(now);
        let done = sqlx::query(
            "INSERT INTO operators (username, display_name, role, password_hash, disabled, \
             failed_attempts, locked_until, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, 0, 0, NULL, $5, $5) ON CONFLICT (username) DO NOTHING",
        )
        .bind(username.as_str())
        .bind(&display_name)
        .bind(new.role.as_str())
        .bind(hash)
        .bind(now_ms)
        .execute(self.db.pool())
        .await?;
        if done.rows_affected() == 0 {
            return Err(AuthError::DuplicateUsername(username.into_string()));
        }
        tracing::info!(username = %username, role = %new.role, "operator created");
        self.operator(username.as_str())
            .await?
            .ok_or_else(|| AuthError::Corrupt("a new operator vanished".into()))
    }

    /// One account, or `None`.
    pub async fn operator(&self, username: &str) -> Result<Option<Operator>, AuthError> {
        let Ok(username) = Username::parse(username) else {
            return Ok(None);
        };
        let sql = format!("SELECT {OPERATOR_COLUMNS} FROM operators WHERE username = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(username.as_str())
            .fetch_optional(self.db.pool())
            .await?;
        row.as_ref().map(operator_from_row).transpose()
    }

    /// Every account, by username. No password hashes.
    pub async fn list_operators(&self) -> Result<Vec<Operator>, AuthError> {
        let sql = format!("SELECT {OPERATOR_COLUMNS} FROM operators ORDER BY username");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(self.db.pool())
            .await?;
        rows.iter().map(operator_from_row).collect()
    }

    /// Sets a new password (an administrator's reset). Clears the account's failure count and
    /// ends every session of the account, so a stolen session does not outlive the reset.
    pub async fn set_password(
        &self,
        username: &str,
        password: &str,
        now: OffsetDateTime,
    ) -> Result<(), AuthError> {
        let name =
            Username::parse(username).map_err(|_| AuthError::UnknownOperator(username.into()))?;
        check_password_policy(&name, password)?;
        let hash = self.hash_password(password.to_owned()).await?;
        let mut tx = self.begin().await?;
        // The legacy lock columns are cleared too, so that no old lock lingers in the data.
        let done = sqlx::query(
            "UPDATE operators SET password_hash = $2, failed_attempts = 0, locked_until = NULL, \
             updated_at = $3 WHERE username = $1",
        )
        .bind(name.as_str())
        .bind(hash)
        .bind(to_ms(now))
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(AuthError::UnknownOperator(name.into_string()));
        }
        end_sessions_of(&mut tx, &name).await?;
        tx.commit().await?;
        self.throttle.clear_account(&name);
        tracing::info!(username = %name, "password set");
        Ok(())
    }

    /// Disables an account and ends its sessions.
    pub async fn disable(&self, username: &str, now: OffsetDateTime) -> Result<(), AuthError> {
        self.set_disabled(username, true, now).await
    }

    /// Enables a disabled account again.
    pub async fn enable(&self, username: &str, now: OffsetDateTime) -> Result<(), AuthError> {
        self.set_disabled(username, false, now).await
    }

    pub(super) async fn set_disabled(
        &self,
        username: &str,
        disabled: bool,
        now: OffsetDateTime,
    ) -> Result<(), AuthError> {
        let name =
            Username::parse(username).map_err(|_| AuthError::UnknownOperator(username.into()))?;
        let mut tx = self.begin().await?;
        let done =
            sqlx::query("UPDATE operators SET disabled = $2, updated_at = $3 WHERE username = $1")
                .bind(name.as_str())
                .bind(i64::from(disabled))
                .bind(to_ms(now))
                .execute(&mut *tx)
                .await?;
        if done.rows_affected() == 0 {
            return Err(AuthError::UnknownOperator(name.into_string()));
        }
        if disabled {
            end_sessions_of(&mut tx, &name).await?;
        }
        tx.commit().await?;
        tracing::info!(username = %name, disabled, "operator status set");
        Ok(())
    }
}
