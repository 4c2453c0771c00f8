//! What accounts are made of: roles, usernames and the password policy, the errors, and the
//! records of accounts, sessions and login attempts.

use std::fmt;

use time::{Duration, OffsetDateTime};

use super::*;

// ---------------------------------------------------------------------------------------------
// Roles, names and errors
// ---------------------------------------------------------------------------------------------

pub use bangban_domain::account::{InvalidUsername, Role, Username};

impl From<InvalidUsername> for AuthError {
    fn from(_: InvalidUsername) -> Self {
        AuthError::InvalidUsername
    }
}

/// Checks a new password against the policy: 8–128 characters, not digits only, not the username.
pub fn check_password_policy(username: &Username, password: &str) -> Result<(), AuthError> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(AuthError::PasswordTooShort);
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(AuthError::PasswordTooLong);
    }
    if password.chars().all(char::is_numeric) {
        return Err(AuthError::PasswordAllDigits);
    }
    if password.to_lowercase() == username.as_str() {
        return Err(AuthError::PasswordIsUsername);
    }
    Ok(())
}

pub(super) fn check_display_name(name: &str) -> Result<String, AuthError> {
    let name = name.trim();
    let chars = name.chars().count();
    if (1..=64).contains(&chars) && !name.chars().any(char::is_control) {
        Ok(name.to_owned())
    } else {
        Err(AuthError::InvalidDisplayName)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("a username has 3 to 32 characters, each a lowercase letter, a digit, '_', '.' or '-'")]
    InvalidUsername,
    #[error("the display name must have 1 to 64 characters and no control characters")]
    InvalidDisplayName,
    #[error("the password must have at least {MIN_PASSWORD_CHARS} characters")]
    PasswordTooShort,
    #[error("the password must have at most {MAX_PASSWORD_CHARS} characters")]
    PasswordTooLong,
    #[error("the password must not consist of digits only")]
    PasswordAllDigits,
    #[error("the password must not be the same as the username")]
    PasswordIsUsername,
    #[error("the username {0} is taken")]
    DuplicateUsername(String),
    #[error("no operator {0}")]
    UnknownOperator(String),
    #[error(
        "unknown role {0:?}: use one of district_admin, inspector, station_admin, station_operator, agent"
    )]
    UnknownRole(String),
    #[error("administrators cannot disable their own account or change their own role")]
    CannotChangeSelf,
    #[error("this is the last enabled administrator of the node: enable or create another first")]
    LastAdmin,
    #[error("a station administrator cannot give or change a district administrator's account")]
    RoleNotGrantable,
    #[error("only an administrator may change accounts")]
    NotAdmin,
    /// Also the answer for a disabled account: the caller learns nothing about the account.
    #[error("wrong username or password")]
    InvalidCredentials,
    #[error("too many failed logins: try again in {} seconds", wait_secs(*retry_after))]
    Throttled { retry_after: Duration },
    #[error("the node is busy checking other logins; try again in a moment")]
    Busy,
    #[error("not logged in: log in first")]
    MissingToken,
    #[error("the session has expired or is not valid: log in again")]
    InvalidToken,
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("password hashing failed: {0}")]
    Hashing(String),
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
}

impl AuthError {
    /// The HTTP status this error answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            AuthError::InvalidUsername
            | AuthError::InvalidDisplayName
            | AuthError::PasswordTooShort
            | AuthError::PasswordTooLong
            | AuthError::PasswordAllDigits
            | AuthError::PasswordIsUsername
            | AuthError::UnknownRole(_)
            | AuthError::CannotChangeSelf => StatusCode::UNPROCESSABLE_ENTITY,
            AuthError::DuplicateUsername(_) | AuthError::LastAdmin => StatusCode::CONFLICT,
            AuthError::RoleNotGrantable | AuthError::NotAdmin => StatusCode::FORBIDDEN,
            AuthError::UnknownOperator(_) => StatusCode::NOT_FOUND,
            AuthError::InvalidCredentials | AuthError::MissingToken | AuthError::InvalidToken => {
                StatusCode::UNAUTHORIZED
            }
            AuthError::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
            AuthError::Busy => StatusCode::SERVICE_UNAVAILABLE,
            AuthError::Db(_) | AuthError::Hashing(_) | AuthError::Corrupt(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }

    /// Whether the node, not the caller, is at fault (and the cause must not be shown).
    pub fn is_internal(&self) -> bool {
        matches!(
            self,
            AuthError::Db(_) | AuthError::Hashing(_) | AuthError::Corrupt(_)
        )
    }
}

impl Bilingual for AuthError {
    fn code(&self) -> &'static str {
        match self {
            AuthError::InvalidUsername => "auth.invalid_username",
            AuthError::InvalidDisplayName => "auth.invalid_display_name",
            AuthError::PasswordTooShort => "auth.password_too_short",
            AuthError::PasswordTooLong => "auth.password_too_long",
            AuthError::PasswordAllDigits => "auth.password_all_digits",
            AuthError::PasswordIsUsername => "auth.password_is_username",
            AuthError::DuplicateUsername(_) => "auth.duplicate_username",
            AuthError::UnknownOperator(_) => "auth.unknown_operator",
            AuthError::UnknownRole(_) => "auth.unknown_role",
            AuthError::CannotChangeSelf => "auth.cannot_change_self",
            AuthError::LastAdmin => "auth.last_admin",
            AuthError::RoleNotGrantable => "auth.role_not_grantable",
            AuthError::NotAdmin => "auth.not_admin",
            AuthError::InvalidCredentials => "auth.invalid_credentials",
            AuthError::Throttled { .. } => "auth.throttled",
            AuthError::Busy => "auth.busy",
            AuthError::MissingToken => "auth.missing_token",
            AuthError::InvalidToken => "auth.invalid_token",
            AuthError::Db(_) => "internal.database",
            AuthError::Hashing(_) => "internal.password_hash",
            AuthError::Corrupt(_) => "internal.corrupt",
        }
    }

    fn message_zh(&self) -> String {
        match self {
            AuthError::InvalidUsername => {
                "用户名须为 3–32 个字符，只能包含小写字母、数字、下划线（_）、点（.）和连字符（-）"
                    .to_owned()
            }
            AuthError::InvalidDisplayName => "姓名须为 1–64 个字符，且不能含控制字符".to_owned(),
            AuthError::PasswordTooShort => format!("密码至少需要 {MIN_PASSWORD_CHARS} 个字符"),
            AuthError::PasswordTooLong => format!("密码不能超过 {MAX_PASSWORD_CHARS} 个字符"),
            AuthError::PasswordAllDigits => "密码不能全部是数字".to_owned(),
            AuthError::PasswordIsUsername => "密码不能与用户名相同".to_owned(),
            AuthError::DuplicateUsername(u) => format!("用户名 {u} 已被使用"),
            AuthError::UnknownOperator(u) => format!("没有用户名为 {u} 的账号"),
            AuthError::UnknownRole(_) => "请选择一个有效的角色".to_owned(),
            AuthError::CannotChangeSelf => "不能停用自己的账号，也不能更改自己的角色".to_owned(),
            AuthError::LastAdmin => {
                "这是本节点最后一个启用的管理员账号，不能停用或改为其他角色；请先启用或创建另一个管理员"
                    .to_owned()
            }
            AuthError::RoleNotGrantable => {
                "站点管理员不能开设、更改或停用区级管理员账号".to_owned()
            }
            AuthError::NotAdmin => "只有管理员可以管理账号".to_owned(),
            AuthError::InvalidCredentials => "用户名或密码错误".to_owned(),
            AuthError::Throttled { retry_after } => {
                format!("登录失败次数过多，请 {} 秒后重试", wait_secs(*retry_after))
            }
            AuthError::Busy => "系统正忙于处理其他登录，请稍后重试".to_owned(),
            AuthError::MissingToken => "尚未登录，请先登录".to_owned(),
            AuthError::InvalidToken => "登录已失效，请重新登录".to_owned(),
            AuthError::Db(_) | AuthError::Hashing(_) | AuthError::Corrupt(_) => {
                "系统内部错误，请稍后重试".to_owned()
            }
        }
    }
}

impl From<&AuthError> for Problem {
    fn from(err: &AuthError) -> Problem {
        if err.is_internal() {
            // Logs the cause; the caller sees a generic message.
            Problem::internal(err)
        } else {
            Problem::from_domain(err.status(), err)
        }
    }
}

impl From<AuthError> for Problem {
    fn from(err: AuthError) -> Problem {
        Problem::from(&err)
    }
}

/// A wait in whole seconds, rounded up, at least one (a caller told "in 2 seconds" must not be
/// refused again after 2 seconds).
pub(super) fn wait_secs(wait: Duration) -> i64 {
    let secs = wait.whole_seconds();
    let rounded = if wait > Duration::seconds(secs) {
        secs + 1
    } else {
        secs
    };
    rounded.max(1)
}

// ---------------------------------------------------------------------------------------------
// Accounts, sessions and audit records
// ---------------------------------------------------------------------------------------------

/// An operator account as the rest of the node sees it. Never carries the password hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Operator {
    pub username: Username,
    pub display_name: String,
    pub role: Role,
    pub disabled: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// What an administrator fills in to create an account.
#[derive(Clone)]
pub struct NewOperator {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub password: String,
}

impl fmt::Debug for NewOperator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewOperator")
            .field("username", &self.username)
            .field("display_name", &self.display_name)
            .field("role", &self.role)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// A bearer token. Only its holder and this type ever see it; `Debug` redacts it and it has no
/// `Display`, so it cannot slip into a log line by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionToken(pub(super) String);

impl SessionToken {
    /// The token itself, to hand to the client that logged in.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionToken(<redacted>)")
    }
}

/// A successful login.
#[derive(Debug, Clone)]
pub struct Session {
    pub token: SessionToken,
    pub operator: Operator,
    pub expires_at: OffsetDateTime,
}

/// How a login attempt ended, as recorded in the audit trail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LoginOutcome {
    Ok,
    WrongPassword,
    UnknownUser,
    /// Refused because the caller must wait (see [`throttle`]); the password was not checked.
    Throttled,
    /// The right password for a disabled account (answered as a wrong one).
    Disabled,
    /// Refused because the account was locked. Written by versions that locked accounts; read
    /// back from old audit rows only.
    Locked,
    /// A wrong password that locked the account. Old audit rows only, as `Locked`.
    Lockout,
}

impl LoginOutcome {
    const ALL: [LoginOutcome; 7] = [
        LoginOutcome::Ok,
        LoginOutcome::WrongPassword,
        LoginOutcome::UnknownUser,
        LoginOutcome::Throttled,
        LoginOutcome::Disabled,
        LoginOutcome::Locked,
        LoginOutcome::Lockout,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LoginOutcome::Ok => "ok",
            LoginOutcome::WrongPassword => "wrong_password",
            LoginOutcome::UnknownUser => "unknown_user",
            LoginOutcome::Throttled => "throttled",
            LoginOutcome::Locked => "locked",
            LoginOutcome::Lockout => "lockout",
            LoginOutcome::Disabled => "disabled",
        }
    }

    pub fn parse(s: &str) -> Option<LoginOutcome> {
        LoginOutcome::ALL.into_iter().find(|o| o.as_str() == s)
    }
}

/// One row of the login audit trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoginAttempt {
    pub id: i64,
    /// `None` when what was typed is not a well-formed username: it may be a mistyped password,
    /// so it is not recorded.
    pub username: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub success: bool,
    pub outcome: LoginOutcome,
    /// The client's IP address, when the listener provides it.
    pub peer: Option<String>,
}
