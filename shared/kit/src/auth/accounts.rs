//! Operator accounts: read and list; create, set a password, disable and enable as the node's
//! command line (each change goes through `admin`, which records it in the account audit).

use time::OffsetDateTime;

use super::*;

impl AuthStore {
    /// Creates an account as the node's command line (`@cli` in the account audit); see
    /// [`AuthStore::create_operator_as`]. The username is normalised (trimmed, lowercased) and
    /// must be free.
    pub async fn create_operator(
        &self,
        new: NewOperator,
        now: OffsetDateTime,
    ) -> Result<Operator, AuthError> {
        self.create_operator_as(Actor::Cli, new, now).await
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

    /// Sets a new password (an administrator's reset, from the command line). Clears the
    /// account's failure count and ends every session of the account, so a stolen session does
    /// not outlive the reset.
    pub async fn set_password(
        &self,
        username: &str,
        password: &str,
        now: OffsetDateTime,
    ) -> Result<(), AuthError> {
        let change = AccountChange::ResetPassword(password.to_owned());
        self.change_account(Actor::Cli, username, change, now).await
    }

    /// Disables an account and ends its sessions (from the command line).
    pub async fn disable(&self, username: &str, now: OffsetDateTime) -> Result<(), AuthError> {
        self.change_account(Actor::Cli, username, AccountChange::Disable, now)
            .await
    }

    /// Enables a disabled account again (from the command line).
    pub async fn enable(&self, username: &str, now: OffsetDateTime) -> Result<(), AuthError> {
        self.change_account(Actor::Cli, username, AccountChange::Enable, now)
            .await
    }
}
