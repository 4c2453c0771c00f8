//! Who may call what, on the UI listener: every route names what it needs ([`Access`]), one
//! middleware ([`enforce`]) checks it before any handler runs, and a route that names nothing is
//! refused to everybody (deny by default), so a new endpoint cannot be open by omission.
//!
//! SECURITY-CRITICAL. The caller is authenticated here once: a bearer token (`/api/…`) or the
//! session cookie (the web pages); the operator is then handed to the handler in the request's
//! extensions, so `CurrentOperator` and `WebUser` need no second lookup. Which role has which
//! permission is decided in one place, `bangban_domain::account::Role::may`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bangban_domain::account::Permission;
use time::OffsetDateTime;

use crate::auth::{AuthRejection, AuthStore, Operator, bearer_token};
use crate::http::Problem;

/// What one route needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Anyone, signed in or not (login, health, the stylesheet).
    Public,
    /// A signed-in operator whose role has this permission.
    Needs(Permission),
}

/// The rule of one method on one route (its path as registered, e.g. `/api/v1/cases/{case_id}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    pub method: Method,
    pub path: &'static str,
    pub rule: Rule,
}

impl Access {
    pub fn get(path: &'static str, rule: Rule) -> Access {
        Access {
            method: Method::GET,
            path,
            rule,
        }
    }

    pub fn post(path: &'static str, rule: Rule) -> Access {
        Access {
            method: Method::POST,
            path,
            rule,
        }
    }

    pub fn public_get(path: &'static str) -> Access {
        Access::get(path, Rule::Public)
    }
}

/// The operator a request was authenticated as, with the session token it used.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub operator: Operator,
    pub token: String,
    /// Whether it came from the session cookie (a browser) rather than a bearer token.
    pub by_cookie: bool,
}

/// The rules of every route of a listener, and how to authenticate.
pub struct AccessPolicy {
    rules: HashMap<&'static str, Vec<(Method, Rule)>>,
    auth: AuthStore,
}

impl AccessPolicy {
    /// Refuses two rules for one method and path: that is a programming error, found at start.
    pub fn new(auth: AuthStore, all: impl IntoIterator<Item = Access>) -> anyhow::Result<Self> {
        let mut rules: HashMap<&'static str, Vec<(Method, Rule)>> = HashMap::new();
        for a in all {
            let methods = rules.entry(a.path).or_default();
            anyhow::ensure!(
                methods.iter().all(|(m, _)| *m != a.method),
                "two access rules for {} {}",
                a.method,
                a.path
            );
            methods.push((a.method, a.rule));
        }
        Ok(AccessPolicy { rules, auth })
    }

    /// The rule of `method` on `path`: `None` when the path has rules but not for this method
    /// (the router answers 405), `Some(None)` when the path has no rule at all.
    fn rule(&self, method: &Method, path: &str) -> Option<Option<Rule>> {
        let Some(methods) = self.rules.get(path) else {
            return Some(None);
        };
        let method = if method == Method::HEAD {
            &Method::GET
        } else {
            method
        };
        methods
            .iter()
            .find(|(m, _)| m == method)
            .map(|(_, r)| Some(*r))
    }
}

fn is_api(path: &str) -> bool {
    path.starts_with("/api/")
}

/// The middleware: mount with `axum::middleware::from_fn_with_state(policy, enforce)` over every
/// route of the UI listener.
pub async fn enforce(
    State(policy): State<Arc<AccessPolicy>>,
    mut req: Request,
    next: Next,
) -> Response {
    let Some(path) = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
    else {
        return next.run(req).await; // no route: the fallback's 404
    };
    let permission = match policy.rule(req.method(), &path) {
        None => return next.run(req).await, // 405 from the router
        Some(None) => {
            tracing::error!(route = %path, method = %req.method(), "a route without an access rule was refused");
            return forbidden(&path);
        }
        Some(Some(Rule::Public)) => return next.run(req).await,
        Some(Some(Rule::Needs(p))) => p,
    };
    let now = OffsetDateTime::now_utc();
    let headers = req.headers();
    let (token, by_cookie) = if is_api(&path) {
        match bearer_token(headers) {
            Ok(t) => (t.to_owned(), false),
            Err(e) => return AuthRejection::from(e).into_response(),
        }
    } else {
        match crate::web::session::cookie(headers, crate::web::session::SESSION_COOKIE) {
            Some(t) => (t.to_owned(), true),
            None => {
                let back = crate::web::session::page_to_return_to(req.method(), req.uri(), headers);
                return crate::web::session::to_login(&back, false);
            }
        }
    };
    let operator = match policy.auth.authenticate(&token, now).await {
        Ok(op) => op,
        Err(crate::auth::AuthError::InvalidToken) if by_cookie => {
            let back = crate::web::session::page_to_return_to(req.method(), req.uri(), headers);
            return crate::web::session::to_login(&back, true);
        }
        Err(e) => return AuthRejection::from(e).into_response(),
    };
    if !operator.role.may(permission) {
        tracing::warn!(
            operator = %operator.username,
            role = %operator.role,
            route = %path,
            needs = permission.as_str(),
            "refused: the role lacks the permission"
        );
        return forbidden(&path);
    }
    req.extensions_mut().insert(Authenticated {
        operator,
        token,
        by_cookie,
    });
    next.run(req).await
}

fn forbidden(path: &str) -> Response {
    if is_api(path) {
        Problem::new(
            StatusCode::FORBIDDEN,
            "auth.forbidden",
            "您的账号无权进行此操作".to_owned(),
            "your account may not do this".to_owned(),
        )
        .into_response()
    } else {
        crate::web::pages::forbidden_page()
    }
}
