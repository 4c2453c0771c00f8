//! Changes to accounts made by someone: an administrator in the web UI, or the node's command
//! line. Each change and its row in the account audit are written in one transaction, so no
//! change goes unrecorded; an administrator's change passes the guard rails first.
//!
//! The guard rails (administrators only; the command line is the node owner's recovery tool and
//! may do anything): nobody disables their own account or changes their own role; the last
//! enabled administrator of the node is never disabled or demoted; a station administrator never
//! gives the district administrator role nor changes a district administrator's account (that
//! would let it take the account over by resetting its password).

use std::fmt;

use time::OffsetDateTime;

use super::*;

/// The name the account audit gives the node's command line: never a valid username.
pub const CLI_ACTOR: &str = "@cli";

/// Who makes a change to an account.
#[derive(Debug, Clone, Copy)]
pub enum Actor<'a> {
    /// A signed-in administrator, as authenticated for this request.
    Admin(&'a Operator),
    /// The node's command line (`user add|passwd|disable`).
    Cli,
}

impl Actor<'_> {
    /// The name recorded in the account audit.
    pub fn name(&self) -> &str {
        match self {
            Actor::Admin(op) => op.username.as_str(),
            Actor::Cli => CLI_ACTOR,
        }
    }

    fn admin(&self) -> Option<&Operator> {
        match self {
            Actor::Admin(op) => Some(op),
            Actor::Cli => None,
        }
    }
}

/// What the account audit records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountAction {
    Created,
    Disabled,
    Enabled,
    PasswordReset,
    RoleChanged,
}

impl AccountAction {
    const ALL: [AccountAction; 5] = [
        AccountAction::Created,
        AccountAction::Disabled,
        AccountAction::Enabled,
        AccountAction::PasswordReset,
        AccountAction::RoleChanged,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AccountAction::Created => "created",
            AccountAction::Disabled => "disabled",
            AccountAction::Enabled => "enabled",
            AccountAction::PasswordReset => "password_reset",
            AccountAction::RoleChanged => "role_changed",
        }
    }

    pub fn parse(s: &str) -> Option<AccountAction> {
        AccountAction::ALL.into_iter().find(|a| a.as_str() == s)
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            AccountAction::Created => "开设账号",
            AccountAction::Disabled => "停用账号",
            AccountAction::Enabled => "启用账号",
            AccountAction::PasswordReset => "重置密码",
            AccountAction::RoleChanged => "更改角色",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            AccountAction::Created => "account created",
            AccountAction::Disabled => "account disabled",
            AccountAction::Enabled => "account enabled",
            AccountAction::PasswordReset => "password reset",
            AccountAction::RoleChanged => "role changed",
        }
    }
}

/// One row of the account audit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccountAuditEntry {
    pub id: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The administrator's username, or [`CLI_ACTOR`].
    pub actor: String,
    pub action: AccountAction,
    /// The account changed.
    pub target: String,
    /// The role given at creation (`agent`), or the old and new role (`agent -> inspector`).
    pub detail: Option<String>,
}

/// An account as the accounts page lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountSummary {
    pub operator: Operator,
    /// The last successful login still in the login audit (which is purged after its
    /// retention period), if any.
    pub last_login: Option<OffsetDateTime>,
}

/// A change to an existing account.
#[derive(Clone, PartialEq, Eq)]
pub enum AccountChange {
    /// Disables the account and ends its sessions.
    Disable,
    Enable,
    /// Sets a new password (checked by the password policy) and ends the account's sessions.
    ResetPassword(String),
    ChangeRole(Role),
}

impl fmt::Debug for AccountChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AccountChange::Disable => f.write_str("Disable"),
            AccountChange::Enable => f.write_str("Enable"),
            AccountChange::ResetPassword(_) => f.write_str("ResetPassword(<redacted>)"),
            AccountChange::ChangeRole(r) => write!(f, "ChangeRole({r})"),
        }
    }
}

/// An administrator may act at all, and may give `role`.
fn check_may_grant(admin: &Operator, role: Role) -> Result<(), AuthError> {
    if !admin.role.is_admin() {
        return Err(AuthError::NotAdmin);
    }
    if role == Role::DistrictAdmin && admin.role != Role::DistrictAdmin {
        return Err(AuthError::RoleNotGrantable);
    }
    Ok(())
}

/// The roles that count as administrators, as a SQL list of literals (from [`Role::ALL`], never
/// from input).
fn admin_roles_sql() -> String {
    Role::ALL
        .into_iter()
        .filter(|r| r.is_admin())
        .map(|r| format!("'{}'", r.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

async fn record(
    conn: &mut AnyConnection,
    actor: &Actor<'_>,
    action: AccountAction,
    target: &Username,
    detail: Option<String>,
    now: OffsetDateTime,
) -> Result<(), AuthError> {
    tracing::info!(
        actor = actor.name(),
        action = action.as_str(),
        account = %target,
        "account changed"
    );
    sqlx::query(
        "INSERT INTO account_audit (at, actor, action, target, detail) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(to_ms(now))
    .bind(actor.name())
    .bind(action.as_str())
    .bind(target.as_str())
    .bind(detail)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

impl AuthStore {
    /// A transaction that holds the node's account write lock: SQLite's single writer, and on
    /// PostgreSQL a table lock that admits one account change at a time (logins, which only read
    /// `operators`, are not held up). Without it two administrators disabling each other at the
    /// same instant could both see the other still enabled and leave the node with none.
    async fn begin_account_change(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Any>, AuthError> {
        let mut tx = self.begin().await?;
        if self.db.backend() == Backend::Postgres {
            sqlx::query("LOCK TABLE operators IN SHARE ROW EXCLUSIVE MODE")
                .execute(&mut *tx)
                .await?;
        }
        Ok(tx)
    }

    /// Creates an account on behalf of `actor`, recorded in the account audit. The username is
    /// normalised (trimmed, lowercased) and must be free; the password passes the policy and is
    /// stored as an argon2id hash only.
    pub async fn create_operator_as(
        &self,
        actor: Actor<'_>,
        new: NewOperator,
        now: OffsetDateTime,
    ) -> Result<Operator, AuthError> {
        if let Some(admin) = actor.admin() {
            check_may_grant(admin, new.role)?;
        }
        let username = Username::parse(&new.username)?;
        let display_name = check_display_name(&new.display_name)?;
        check_password_policy(&username, &new.password)?;
        // Cheap check first, so that a taken name does not cost a hash; the insert still guards.
        if self.operator(username.as_str()).await?.is_some() {
            return Err(AuthError::DuplicateUsername(username.into_string()));
        }
        let hash = self.hash_password(new.password).await?;
        let now_ms = to_ms(now);
        let mut tx = self.begin_account_change().await?;
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
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(AuthError::DuplicateUsername(username.into_string()));
        }
        record(
            &mut tx,
            &actor,
            AccountAction::Created,
            &username,
            Some(new.role.as_str().to_owned()),
            now,
        )
        .await?;
        tx.commit().await?;
        self.operator(username.as_str())
            .await?
            .ok_or_else(|| AuthError::Corrupt("a new operator vanished".into()))
    }

    /// Changes an account on behalf of `actor`, recorded in the account audit in the same
    /// transaction. A change that changes nothing (enabling an enabled account) is no error and
    /// is not recorded.
    pub async fn change_account(
        &self,
        actor: Actor<'_>,
        username: &str,
        change: AccountChange,
        now: OffsetDateTime,
    ) -> Result<(), AuthError> {
        let name =
            Username::parse(username).map_err(|_| AuthError::UnknownOperator(username.into()))?;
        if let Some(admin) = actor.admin() {
            let grants = match &change {
                AccountChange::ChangeRole(role) => *role,
                // Only the permission to act at all is checked here.
                _ => Role::StationAdmin,
            };
            check_may_grant(admin, grants)?;
            let about_self = admin.username == name;
            if about_self
                && matches!(
                    change,
                    AccountChange::Disable | AccountChange::ChangeRole(_)
                )
            {
                return Err(AuthError::CannotChangeSelf);
            }
        }
        // The policy and the hash before the lock: a hash takes a while, the lock must not.
        let hash = match &change {
            AccountChange::ResetPassword(password) => {
                check_password_policy(&name, password)?;
                Some(self.hash_password(password.clone()).await?)
            }
            _ => None,
        };
        let mut tx = self.begin_account_change().await?;
        let row = sqlx::query("SELECT role, disabled FROM operators WHERE username = $1")
            .bind(name.as_str())
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| AuthError::UnknownOperator(name.as_str().to_owned()))?;
        let stored: String = row.try_get("role")?;
        let role =
            Role::parse(&stored).ok_or_else(|| AuthError::Corrupt(format!("role {stored}")))?;
        let disabled = row.try_get::<i64, _>("disabled")? != 0;
        if let Some(admin) = actor.admin()
            && role == Role::DistrictAdmin
            && admin.role != Role::DistrictAdmin
        {
            return Err(AuthError::RoleNotGrantable);
        }
        let now_ms = to_ms(now);
        let (action, detail, removes_admin) = match &change {
            AccountChange::Disable if disabled => return Ok(()),
            AccountChange::Enable if !disabled => return Ok(()),
            AccountChange::ChangeRole(new) if *new == role => return Ok(()),
            AccountChange::Disable | AccountChange::Enable => {
                let disable = change == AccountChange::Disable;
                sqlx::query(
                    "UPDATE operators SET disabled = $2, updated_at = $3 WHERE username = $1",
                )
                .bind(name.as_str())
                .bind(i64::from(disable))
                .bind(now_ms)
                .execute(&mut *tx)
                .await?;
                if disable {
                    end_sessions_of(&mut tx, &name).await?;
                    (AccountAction::Disabled, None, role.is_admin())
                } else {
                    (AccountAction::Enabled, None, false)
                }
            }
            AccountChange::ResetPassword(_) => {
                // The legacy lock columns are cleared too, so that no old lock lingers.
                sqlx::query(
                    "UPDATE operators SET password_hash = $2, failed_attempts = 0, \
                     locked_until = NULL, updated_at = $3 WHERE username = $1",
                )
                .bind(name.as_str())
                .bind(hash)
                .bind(now_ms)
                .execute(&mut *tx)
                .await?;
                // A stolen session does not outlive the reset.
                end_sessions_of(&mut tx, &name).await?;
                (AccountAction::PasswordReset, None, false)
            }
            AccountChange::ChangeRole(new) => {
                sqlx::query("UPDATE operators SET role = $2, updated_at = $3 WHERE username = $1")
                    .bind(name.as_str())
                    .bind(new.as_str())
                    .bind(now_ms)
                    .execute(&mut *tx)
                    .await?;
                (
                    AccountAction::RoleChanged,
                    Some(format!("{role} -> {new}")),
                    role.is_admin() && !new.is_admin() && !disabled,
                )
            }
        };
        if actor.admin().is_some() && removes_admin {
            let sql = format!(
                "SELECT COUNT(*) AS n FROM operators WHERE disabled = 0 AND role IN ({})",
                admin_roles_sql()
            );
            let left: i64 = sqlx::query(sqlx::AssertSqlSafe(sql))
                .fetch_one(&mut *tx)
                .await?
                .try_get("n")?;
            if left == 0 {
                return Err(AuthError::LastAdmin); // the transaction rolls back
            }
        }
        record(&mut tx, &actor, action, &name, detail, now).await?;
        tx.commit().await?;
        if action == AccountAction::PasswordReset {
            self.throttle.clear_account(&name);
        }
        Ok(())
    }

    /// Every account by username, with its last successful login if the login audit still has
    /// one. No password hashes.
    pub async fn accounts(&self) -> Result<Vec<AccountSummary>, AuthError> {
        let operators = self.list_operators().await?;
        let rows = sqlx::query(
            "SELECT username, MAX(at) AS last FROM login_audit \
             WHERE success = 1 AND username IS NOT NULL GROUP BY username",
        )
        .fetch_all(self.db.pool())
        .await?;
        let mut last = std::collections::HashMap::new();
        for r in &rows {
            let name: String = r.try_get("username")?;
            let at: i64 = r.try_get("last")?;
            last.insert(name, from_ms(at)?);
        }
        Ok(operators
            .into_iter()
            .map(|operator| AccountSummary {
                last_login: last.get(operator.username.as_str()).copied(),
                operator,
            })
            .collect())
    }

    /// The latest `limit` account changes (at most 1,000), newest first.
    pub async fn account_audit(&self, limit: u32) -> Result<Vec<AccountAuditEntry>, AuthError> {
        let rows = sqlx::query(
            "SELECT id, at, actor, action, target, detail FROM account_audit \
             ORDER BY id DESC LIMIT $1",
        )
        .bind(i64::from(limit.min(1000)))
        .fetch_all(self.db.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let action: String = r.try_get("action")?;
                Ok(AccountAuditEntry {
                    id: r.try_get("id")?,
                    at: from_ms(r.try_get("at")?)?,
                    actor: r.try_get("actor")?,
                    action: AccountAction::parse(&action)
                        .ok_or_else(|| AuthError::Corrupt(format!("account action {action}")))?,
                    target: r.try_get("target")?,
                    detail: r.try_get("detail")?,
                })
            })
            .collect()
    }
}
