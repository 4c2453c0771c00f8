//! Browser sessions: the session token of `auth` in an HttpOnly, SameSite=Lax cookie (a fresh
//! token at every login, so a planted cookie never becomes a session), the extractor that turns
//! it into the signed-in operator or sends the browser to the login page, and CSRF protection of
//! every state-changing form: the browser's own `Sec-Fetch-Site` / `Origin` must say the request
//! comes from this site, and the form must carry the session's token.

use crate::auth::Operator;
use axum::extract::{FromRequestParts, OriginalUri};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};

/// The name of the session cookie.
pub const SESSION_COOKIE: &str = "bangban_session";

/// The value of cookie `name` in the request, if any.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A `Set-Cookie` value for the session. `secure` when the UI is served over HTTPS.
pub fn session_cookie(token: &str, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("bangban_session=; Path=/; Max-Age=0"))
}

/// A `Set-Cookie` value that removes the session cookie.
pub fn cleared_session_cookie() -> HeaderValue {
    HeaderValue::from_static("bangban_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0")
}

/// The operator signed in with the request's session cookie, and the session's CSRF token.
#[derive(Debug, Clone)]
pub struct WebUser {
    pub operator: Operator,
    /// The token every form of this session carries (see [`check_form`]).
    pub csrf: String,
    token: String,
}

impl WebUser {
    pub fn token(&self) -> &str {
        &self.token
    }
}

/// What an anonymous or expired browser gets: the login page, then back to where it was.
pub struct ToLogin {
    next: String,
    expired: bool,
}

impl IntoResponse for ToLogin {
    fn into_response(self) -> Response {
        let mut target = format!("/login?next={}", encode(&self.next));
        if self.expired {
            target.push_str("&expired=1");
        }
        let mut res = Redirect::to(&target).into_response();
        if self.expired {
            res.headers_mut()
                .insert(header::SET_COOKIE, cleared_session_cookie());
        }
        res
    }
}

/// The redirect to the login page for a browser that was going to `path`.
pub fn to_login(path: &str, expired: bool) -> Response {
    ToLogin {
        next: path.to_owned(),
        expired,
    }
    .into_response()
}

/// The page to come back to after logging in: the page itself for a GET (with its query), and
/// for a form that was sent the page that showed the form (its `Referer` on this site), or the
/// start page. A form's own address is never a page to GET.
pub fn page_to_return_to(
    method: &axum::http::Method,
    uri: &axum::http::Uri,
    headers: &HeaderMap,
) -> String {
    if method == axum::http::Method::GET || method == axum::http::Method::HEAD {
        return uri
            .path_and_query()
            .map_or_else(|| uri.path().to_owned(), |pq| pq.as_str().to_owned());
    }
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let referer = headers
        .get(header::REFERER)
        .and_then(|r| r.to_str().ok())
        .and_then(|r| r.parse::<axum::http::Uri>().ok());
    match (referer, host) {
        (Some(r), Some(host)) if r.authority().map(|a| a.as_str()) == Some(host) => {
            let path = r.path_and_query().map_or("/start", |pq| pq.as_str());
            safe_next(Some(path)).to_owned()
        }
        _ => "/start".to_owned(),
    }
}

/// Percent-encodes a path for a query value.
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"/-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Where to go after login: a local path only (never another site, never `//host`).
pub fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n,
        _ => "/start",
    }
}

/// The operator the access check (`crate::access`) authenticated by the session cookie. A page
/// that takes a `WebUser` must have a `Needs(…)` rule; on any other route the browser is sent to
/// the login page (never let through without a session).
impl<S: Send + Sync> FromRequestParts<S> for WebUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let Some(done) = parts
            .extensions
            .get::<crate::access::Authenticated>()
            .filter(|done| done.by_cookie)
        else {
            let next = match parts.extensions.get::<OriginalUri>() {
                Some(uri) => uri.0.path().to_owned(),
                None => parts.uri.path().to_owned(),
            };
            return Err(to_login(&next, false));
        };
        Ok(WebUser {
            operator: done.operator.clone(),
            csrf: crate::auth::csrf_token(&done.token).map_err(|e| {
                super::pages::internal_error(&e, super::i18n::Lang::Zh).into_response()
            })?,
            token: done.token.clone(),
        })
    }
}

/// Whether the browser says the request comes from this site. Browsers send `Sec-Fetch-Site`
/// (all current ones) or at least `Origin` on a cross-site POST; a request with neither is not
/// from a browser form on another site (a script could forge headers, but not the cookie).
pub fn same_site(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return site == "same-origin";
    }
    match headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        Some("null") => false,
        Some(origin) => {
            let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
            let origin_host = origin
                .split_once("://")
                .map(|(_, rest)| rest)
                .unwrap_or(origin);
            host.is_some_and(|h| h == origin_host)
        }
        None => true,
    }
}

/// Checks a state-changing form of a signed-in session: same site, and its CSRF token.
pub fn check_form(headers: &HeaderMap, user: &WebUser, form_token: &str) -> bool {
    same_site(headers) && constant_time_eq(user.csrf.as_bytes(), form_token.as_bytes())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn cookies_are_found_by_name_among_others() {
        let h = headers(&[("cookie", "a=1; bangban_session=abc; bangban_lang=en")]);
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&h, "bangban_lang"), Some("en"));
        assert_eq!(cookie(&h, "nope"), None);
    }

    #[test]
    fn only_same_site_requests_pass() {
        assert!(same_site(&headers(&[("sec-fetch-site", "same-origin")])));
        assert!(!same_site(&headers(&[("sec-fetch-site", "cross-site")])));
        assert!(!same_site(&headers(&[("sec-fetch-site", "same-site")])));
        assert!(same_site(&headers(&[
            ("origin", "http://127.0.0.1:8200"),
            ("host", "127.0.0.1:8200")
        ])));
        assert!(!same_site(&headers(&[
            ("origin", "http://evil.example"),
            ("host", "127.0.0.1:8200")
        ])));
        assert!(!same_site(&headers(&[("origin", "null")])));
    }

    #[test]
    fn after_login_only_local_paths() {
        assert_eq!(safe_next(Some("/cases/1")), "/cases/1");
        for bad in ["//evil.example", "https://evil.example", "/\\evil", "cases"] {
            assert_eq!(safe_next(Some(bad)), "/start", "{bad}");
        }
        assert_eq!(safe_next(None), "/start");
    }
}
