//! Who is calling: login-session cookies for pages, Bearer tokens for the API, CSRF defences.
//!
//! The rules (token hashing, expiry, the failed-login limiter) live in `lms_core::access`; this
//! module only moves secrets between HTTP and the core.
//!
//! CSRF is defended twice: every unsafe request from a browser must come from our own origin
//! (`Sec-Fetch-Site`/`Origin`, [`same_origin_only`]), and every form carries a synchronizer token —
//! the login session's token once logged in, a double-submit cookie before that.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use lms_core::access::{self, Caller, ClientInfo};
use lms_core::{Classify, ErrorKind};

use crate::error::ApiError;
use crate::state::AppState;

/// Name of the login-session cookie.
pub const SESSION_COOKIE: &str = "lms_session";
/// Name of the anonymous CSRF cookie (double submit, for the login and sign-up forms).
pub const CSRF_COOKIE: &str = "lms_csrf";

/// The caller, if any (never rejects).
#[derive(Debug, Clone)]
pub struct MaybeCaller(pub Option<Caller>);

fn bearer_token(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_owned())
}

impl FromRequestParts<AppState> for MaybeCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(caller) = parts.extensions.get::<MaybeCaller>() {
            return Ok(caller.clone());
        }
        let bearer = bearer_token(&parts.headers);
        let cookie = CookieJar::from_headers(&parts.headers).get(SESSION_COOKIE).map(|c| c.value().to_owned());
        let caller = match (bearer, cookie) {
            (Some(token), _) => {
                state.db(move |conn| access::caller_from_api_token(conn, &token, lms_core::db::now())).await?
            }
            (None, Some(token)) => {
                state.db(move |conn| access::caller_from_login_session(conn, &token, lms_core::db::now())).await?
            }
            (None, None) => None,
        };
        let caller = MaybeCaller(caller);
        parts.extensions.insert(caller.clone());
        Ok(caller)
    }
}

/// An authenticated API caller; anonymous requests get a 401 JSON error.
#[derive(Debug, Clone)]
pub struct ApiCaller(pub Caller);

/// Why a request needs a caller.
#[derive(Debug, thiserror::Error)]
#[error("authentification requise : connectez-vous ou fournissez un jeton (Authorization: Bearer)")]
pub struct AuthenticationRequired;

impl Classify for AuthenticationRequired {
    fn kind(&self) -> ErrorKind {
        ErrorKind::Unauthenticated
    }
    fn code(&self) -> &'static str {
        "unauthenticated"
    }
}

/// The caller lacks the role or the relation a route needs.
#[derive(Debug, thiserror::Error)]
#[error("accès refusé")]
pub struct Forbidden;

impl Classify for Forbidden {
    fn kind(&self) -> ErrorKind {
        ErrorKind::Forbidden
    }
    fn code(&self) -> &'static str {
        "forbidden"
    }
}

impl FromRequestParts<AppState> for ApiCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match MaybeCaller::from_request_parts(parts, state).await?.0 {
            Some(caller) => Ok(ApiCaller(caller)),
            None => Err(AuthenticationRequired.into()),
        }
    }
}

/// A logged-in visitor of a page; anonymous visitors are sent to the login page and come back.
#[derive(Debug, Clone)]
pub struct PageCaller(pub Caller);

impl FromRequestParts<AppState> for PageCaller {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        match MaybeCaller::from_request_parts(parts, state).await {
            Ok(MaybeCaller(Some(caller))) => Ok(PageCaller(caller)),
            Ok(MaybeCaller(None)) => {
                let next = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
                let target = format!("/login?next={}", urlencode(next));
                Err(Redirect::to(&target).into_response())
            }
            Err(error) => Err(crate::pages::error_page(state, error)),
        }
    }
}

/// Percent-encodes a query value (only what `next=` needs).
pub fn urlencode(raw: &str) -> String {
    raw.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// A `next=` target is followed only if it is a local path (no open redirect).
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(path) if path.starts_with('/') && !path.starts_with("//") && !path.contains('\\') && path.len() < 300 => {
            path.to_owned()
        }
        _ => "/me".to_owned(),
    }
}

/// Checks credentials under the limiter: the lock check and the stored hash come from the
/// database, the (slow) password check runs without holding a connection.
pub async fn check_credentials(
    state: &AppState,
    email: String,
    password: String,
    client: ClientInfo,
) -> Result<lms_core::people::UserView, ApiError> {
    let attempt = state.db(move |conn| access::begin_login(conn, &email, &client, lms_core::db::now())).await?;
    let checked = attempt.clone();
    let verified = state.cpu(move || checked.verify(&password)).await?;
    state.db(move |conn| access::finish_login(conn, &attempt, verified, lms_core::db::now())).await
}

/// The client's address and browser, for the limiter and the login-session record.
#[derive(Debug, Clone)]
pub struct Client(pub ClientInfo);

impl<S: Send + Sync> FromRequestParts<S> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let ip = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(addr)| addr.ip().to_string());
        let user_agent = parts.headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_owned);
        Ok(Client(ClientInfo { ip, user_agent }))
    }
}

/// The login-session cookie (HttpOnly, SameSite=Lax; Secure when served over TLS).
pub fn session_cookie(token: String, secure: bool) -> Cookie<'static> {
    Cookie::build((SESSION_COOKIE, token))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .path("/")
        .max_age(time_days(access::LOGIN_SESSION_DAYS))
        .build()
}

/// A cookie that deletes the login-session cookie.
pub fn expired_session_cookie(secure: bool) -> Cookie<'static> {
    Cookie::build((SESSION_COOKIE, ""))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .path("/")
        .removal()
        .build()
}

/// The anonymous CSRF cookie (read back from the form, so Strict is fine).
pub fn csrf_cookie(token: String, secure: bool) -> Cookie<'static> {
    Cookie::build((CSRF_COOKIE, token)).http_only(true).same_site(SameSite::Strict).secure(secure).path("/").build()
}

fn time_days(days: i64) -> time::Duration {
    time::Duration::days(days)
}

/// The form token of an anonymous visitor: the existing cookie, or a new one to set.
pub fn anonymous_csrf(jar: &CookieJar, secure: bool) -> (String, Option<Cookie<'static>>) {
    match jar.get(CSRF_COOKIE) {
        Some(cookie) if cookie.value().len() == 43 => (cookie.value().to_owned(), None),
        _ => {
            let token = access::random_token();
            (token.clone(), Some(csrf_cookie(token, secure)))
        }
    }
}

/// The submitted form token does not match.
#[derive(Debug, thiserror::Error)]
#[error("formulaire expiré ou invalide : rechargez la page et réessayez")]
pub struct CsrfMismatch;

impl Classify for CsrfMismatch {
    fn kind(&self) -> ErrorKind {
        ErrorKind::Forbidden
    }
    fn code(&self) -> &'static str {
        "csrf_mismatch"
    }
}

/// Checks a logged-in form's token against the login session's.
pub fn check_form_token(caller: &Caller, submitted: &str) -> Result<(), CsrfMismatch> {
    match &caller.csrf_token {
        Some(expected) if access::secrets_match(expected, submitted) => Ok(()),
        _ => Err(CsrfMismatch),
    }
}

/// Checks an anonymous form's token against its cookie.
pub fn check_anonymous_form_token(jar: &CookieJar, submitted: &str) -> Result<(), CsrfMismatch> {
    match jar.get(CSRF_COOKIE) {
        Some(cookie) if access::secrets_match(cookie.value(), submitted) => Ok(()),
        _ => Err(CsrfMismatch),
    }
}

/// Refuses unsafe requests that a browser says come from another site. Requests without these
/// headers (scripts, the CLI, tests) are not browsers' cross-site requests and pass.
pub async fn same_origin_only(State(_state): State<AppState>, request: Request, next: Next) -> Response {
    if matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(request).await;
    }
    let headers = request.headers();
    let fetch_site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    let cross_site = matches!(fetch_site, Some("cross-site") | Some("same-site"));
    let origin_mismatch = match (headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()), headers.get(header::HOST)) {
        (Some("null"), _) => true,
        (Some(origin), Some(host)) => {
            let origin_host = origin.split_once("://").map(|(_, rest)| rest).unwrap_or(origin);
            host.to_str().map(|host| origin_host != host).unwrap_or(true)
        }
        _ => false,
    };
    if cross_site || origin_mismatch {
        let error = ApiError {
            status: StatusCode::FORBIDDEN,
            code: "cross_origin_refused",
            message: "requête refusée : elle ne vient pas de ce site".into(),
            details: None,
        };
        return error.into_response();
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_targets_stay_on_this_site() {
        assert_eq!(safe_next(Some("/sessions/x")), "/sessions/x");
        for evil in ["//evil.example", "https://evil.example", "/\\evil", "javascript:alert(1)"] {
            assert_eq!(safe_next(Some(evil)), "/me", "{evil}");
        }
        assert_eq!(safe_next(None), "/me");
        assert_eq!(urlencode("/a b?c=d&e"), "/a%20b%3Fc%3Dd%26e");
    }
}

/// The `{id}` of a route path, if the route has one.
async fn session_in_path(parts: &mut Parts) -> Option<String> {
    let params = axum::extract::RawPathParams::from_request_parts(parts, &()).await.ok()?;
    params.iter().find(|(name, _)| *name == "id").map(|(_, value)| value.to_owned())
}

/// An API caller who teaches the training session of the path's `{id}`. Checked before the body
/// is read, so nobody else learns anything from validation messages.
#[derive(Debug, Clone)]
pub struct ApiSessionTrainer(pub Caller);

impl FromRequestParts<AppState> for ApiSessionTrainer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let ApiCaller(caller) = ApiCaller::from_request_parts(parts, state).await?;
        let raw = session_in_path(parts).await.unwrap_or_default();
        let session = crate::api::session_id(&raw)?;
        let checked = caller.clone();
        state.db(move |conn| lms_core::attendance::ensure_trainer_of(conn, &checked, &session)).await?;
        Ok(ApiSessionTrainer(caller))
    }
}

/// A logged-in page visitor who teaches the training session of the path's `{id}`.
#[derive(Debug, Clone)]
pub struct PageSessionTrainer(pub Caller);

impl FromRequestParts<AppState> for PageSessionTrainer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let PageCaller(caller) = PageCaller::from_request_parts(parts, state).await?;
        let raw = session_in_path(parts).await.unwrap_or_default();
        let checked = caller.clone();
        let outcome = match crate::api::session_id(&raw) {
            Ok(session) => {
                state.db(move |conn| lms_core::attendance::ensure_trainer_of(conn, &checked, &session)).await
            }
            Err(error) => Err(error),
        };
        match outcome {
            Ok(()) => Ok(PageSessionTrainer(caller)),
            Err(error) => Err(crate::pages::error_page(state, error)),
        }
    }
}
