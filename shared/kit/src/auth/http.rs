//! The HTTP side of accounts: login and logout routes, the bearer-token extractor
//! [`CurrentOperator`], the peer address, and problem documents for refusals.

use std::fmt;

use time::OffsetDateTime;

use super::*;

// ---------------------------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

impl fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginRequest")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

#[derive(Clone, Serialize, utoipa::ToSchema)]
pub struct LoginResponse {
    /// The bearer token for `Authorization: Bearer <token>`.
    pub token: String,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    pub username: String,
    pub display_name: String,
    pub role: Role,
}

impl fmt::Debug for LoginResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginResponse")
            .field("token", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .field("username", &self.username)
            .field("display_name", &self.display_name)
            .field("role", &self.role)
            .finish()
    }
}

/// An authentication failure as a response: problem+json, with `WWW-Authenticate: Bearer` on a
/// 401 (RFC 9110 requires it) and `Retry-After` when throttled or busy.
#[derive(Debug)]
pub struct AuthRejection {
    problem: Problem,
    /// `invalid_token` for a token that was presented but refused (RFC 6750).
    bearer_error: Option<&'static str>,
    retry_after_secs: Option<i64>,
}

impl AuthRejection {
    pub fn problem(&self) -> &Problem {
        &self.problem
    }

    pub fn into_problem(self) -> Problem {
        self.problem
    }

    /// Seconds to wait before trying again (throttled or busy), for `Retry-After`.
    pub fn retry_after_secs(&self) -> Option<i64> {
        self.retry_after_secs
    }
}

impl From<AuthError> for AuthRejection {
    fn from(err: AuthError) -> Self {
        let retry_after_secs = match &err {
            AuthError::Throttled { retry_after } => Some(wait_secs(*retry_after)),
            AuthError::Busy => Some(1),
            _ => None,
        };
        let bearer_error = matches!(err, AuthError::InvalidToken).then_some("invalid_token");
        AuthRejection {
            problem: Problem::from(&err),
            bearer_error,
            retry_after_secs,
        }
    }
}

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        let unauthorized = self.problem.status() == StatusCode::UNAUTHORIZED;
        let mut res = self.problem.into_response();
        if unauthorized {
            let challenge = match self.bearer_error {
                Some(e) => format!("Bearer realm=\"bangban\", error=\"{e}\""),
                None => "Bearer realm=\"bangban\"".to_owned(),
            };
            if let Ok(v) = HeaderValue::from_str(&challenge) {
                res.headers_mut().insert(header::WWW_AUTHENTICATE, v);
            }
        }
        if let Some(secs) = self.retry_after_secs {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        res
    }
}

/// The token of an `Authorization: Bearer <token>` header. Any other or no `Authorization`
/// header is a missing token.
pub fn bearer_token(headers: &HeaderMap) -> Result<&str, AuthError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or(AuthError::MissingToken)?
        .to_str()
        .map_err(|_| AuthError::InvalidToken)?;
    let (scheme, token) = value
        .trim()
        .split_once(' ')
        .ok_or(AuthError::MissingToken)?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return Err(AuthError::MissingToken);
    }
    Ok(token)
}

/// The client's IP address, when the server was started with
/// `into_make_service_with_connect_info::<SocketAddr>()`; `None` otherwise. Taken only from the
/// connection, never from a header a client can forge.
#[derive(Debug, Clone, Copy)]
pub struct PeerAddr(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for PeerAddr {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(PeerAddr(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
}

/// The operator behind the request's bearer token; rejects with 401 `auth.missing_token` or
/// `auth.invalid_token`.
#[derive(Debug, Clone)]
pub struct CurrentOperator(pub Operator);

impl<S> FromRequestParts<S> for CurrentOperator
where
    AuthStore: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        // Authenticated once already by the access check (`crate::access`).
        if let Some(done) = parts.extensions.get::<crate::access::Authenticated>()
            && !done.by_cookie
        {
            return Ok(CurrentOperator(done.operator.clone()));
        }
        let token = bearer_token(&parts.headers)?;
        let auth = AuthStore::from_ref(state);
        let operator = auth.authenticate(token, OffsetDateTime::now_utc()).await?;
        Ok(CurrentOperator(operator))
    }
}

/// `POST /api/v1/login`: username and password in, a bearer token out.
///
/// Repeated failures from one address or for one account are throttled (429 with
/// `Retry-After`).
#[utoipa::path(
    post,
    path = "/api/v1/login",
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = OK, description = "已登录。Logged in.", body = LoginResponse),
        (status = UNAUTHORIZED, description = "用户名或密码错误。Wrong username or password.", body = Problem, content_type = "application/problem+json"),
        (status = TOO_MANY_REQUESTS, description = "尝试过于频繁，请稍后再试。Too many attempts; retry after `Retry-After` seconds.", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn login_handler(
    State(auth): State<AuthStore>,
    PeerAddr(peer): PeerAddr,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<Json<LoginResponse>, AuthRejection> {
    let session = auth
        .login(
            &req.username,
            &req.password,
            peer.map(|ip| ip.to_string()),
            OffsetDateTime::now_utc(),
        )
        .await?;
    Ok(Json(LoginResponse {
        token: session.token.0,
        expires_at: session.expires_at,
        username: session.operator.username.into_string(),
        display_name: session.operator.display_name,
        role: session.operator.role,
    }))
}

/// `POST /api/v1/logout`: ends the session of the bearer token. 204 even when the session had
/// already ended, so a retry is harmless.
#[utoipa::path(
    post,
    path = "/api/v1/logout",
    tag = "auth",
    security(("bearer" = [])),
    responses((status = NO_CONTENT, description = "已退出。Logged out.")),
)]
pub async fn logout_handler(
    State(auth): State<AuthStore>,
    headers: HeaderMap,
) -> Result<StatusCode, AuthRejection> {
    let token = bearer_token(&headers)?;
    auth.logout(token).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/login` and `POST /api/v1/logout`, for any state that holds an [`AuthStore`].
pub fn auth_routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    AuthStore: FromRef<S>,
{
    auth_router().into()
}

/// [`auth_routes`] with their OpenAPI documentation.
pub fn auth_router<S>() -> utoipa_axum::router::OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    AuthStore: FromRef<S>,
{
    utoipa_axum::router::OpenApiRouter::new()
        .routes(utoipa_axum::routes!(login_handler))
        .routes(utoipa_axum::routes!(logout_handler))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn usernames_are_normalised_and_checked() {
        assert_eq!(Username::parse(" ZhangSan ").unwrap(), "zhangsan");
        assert_eq!(Username::parse("li.si-01_a").unwrap(), "li.si-01_a");
        for bad in ["ab", "", &"a".repeat(33), "张三", "a b c", "a@b.cn"] {
            assert!(Username::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn password_policy() {
        let u = Username::parse("wangwu").unwrap();
        assert!(matches!(
            check_password_policy(&u, "short1"),
            Err(AuthError::PasswordTooShort)
        ));
        assert!(matches!(
            check_password_policy(&u, "12345678"),
            Err(AuthError::PasswordAllDigits)
        ));
        assert!(matches!(
            check_password_policy(&Username::parse("wangwu01").unwrap(), "WangWu01"),
            Err(AuthError::PasswordIsUsername)
        ));
        assert!(matches!(
            check_password_policy(&u, &"x".repeat(129)),
            Err(AuthError::PasswordTooLong)
        ));
        check_password_policy(&u, "办件密码2026").unwrap();
    }

    #[test]
    fn tokens_are_256_random_bits_in_hex() {
        let a = new_token().unwrap();
        let b = new_token().unwrap();
        assert_ne!(a, b);
        assert!(well_formed_token(a.expose()));
        assert_eq!(a.expose().len(), 64);
        assert_eq!(format!("{a:?}"), "SessionToken(<redacted>)");
        let d = token_digest(a.expose()).unwrap();
        assert_eq!(d, token_digest(a.expose()).unwrap());
        assert_ne!(d, a.expose());
        assert!(!well_formed_token("ABCDEF"));
    }

    #[test]
    fn bearer_header_parsing() {
        let mut h = HeaderMap::new();
        assert!(matches!(bearer_token(&h), Err(AuthError::MissingToken)));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert!(matches!(bearer_token(&h), Err(AuthError::MissingToken)));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("bearer  abc "),
        );
        assert_eq!(bearer_token(&h).unwrap(), "abc");
    }

    #[test]
    fn secrets_are_redacted_in_debug() {
        let req = LoginRequest {
            username: "zhangsan".into(),
            password: "s3cret-pass".into(),
        };
        assert!(!format!("{req:?}").contains("s3cret"));
        let new = NewOperator {
            username: "zhangsan".into(),
            display_name: "张三".into(),
            role: Role::Agent,
            password: "s3cret-pass".into(),
        };
        assert!(!format!("{new:?}").contains("s3cret"));
    }

    #[test]
    fn waits_are_shown_in_whole_seconds_rounded_up() {
        assert_eq!(wait_secs(Duration::milliseconds(1)), 1);
        assert_eq!(wait_secs(Duration::seconds(2)), 2);
        assert_eq!(wait_secs(Duration::milliseconds(2_001)), 3);
        assert_eq!(wait_secs(Duration::ZERO), 1);
    }

    #[test]
    fn busy_and_throttled_are_the_callers_to_retry_not_internal_errors() {
        let busy = Problem::from(AuthError::Busy);
        assert_eq!((busy.status, busy.code.as_str()), (503, "auth.busy"));
        let throttled = Problem::from(AuthError::Throttled {
            retry_after: Duration::seconds(4),
        });
        assert_eq!(
            (throttled.status, throttled.code.as_str()),
            (429, "auth.throttled")
        );
        assert!(throttled.message_zh.contains('4') && throttled.message_en.contains('4'));
    }
}
