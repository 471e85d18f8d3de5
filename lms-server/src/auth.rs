//! Who is calling: login-session cookies for pages, Bearer tokens for the API, CSRF defences.
//!
//! The rules (token hashing, expiry, the failed-login limiter) live in `lms_core::access`; this
//! module only moves secrets between HTTP and the core.
//!
//! CSRF is defended twice: every unsafe request from a browser must come from our own origin
//! (`Sec-Fetch-Site`/`Origin`, [`same_origin_only`]), and every form carries a synchronizer token —
//! the login session's token once logged in, a double-submit cookie before that.

use std::net::{IpAddr, SocketAddr};

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
            Err(error) => Err(crate::error::PageError(error).into_response()),
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

/// A `next=` target is followed only if it is a path of this site: it starts with one `/`, and
/// holds only visible ASCII without a backslash (browsers drop tabs and line breaks and read `\`
/// as `/`, so `/\t/evil.example` or `/\\evil.example` would leave the site); anything else goes
/// to `/me`. What passes is also a valid `Location` header.
pub fn safe_next(next: Option<&str>) -> String {
    let local = |path: &str| {
        path.len() < 300
            && path.starts_with('/')
            && !path.starts_with("//")
            && path.bytes().all(|b| b.is_ascii_graphic() && b != b'\\')
            && path.parse::<axum::http::uri::PathAndQuery>().is_ok()
    };
    match next {
        Some(path) if local(path) => path.to_owned(),
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

/// The client's address and browser, for the limiters and the login-session record. The address
/// is the socket's, unless it belongs to a trusted reverse proxy (`LMS_TRUSTED_PROXIES`): then
/// the forwarding headers are read from the right, and the first address that is not a trusted
/// proxy is the client (entries further left could have been written by the client itself).
#[derive(Debug, Clone)]
pub struct Client(pub ClientInfo);

impl FromRequestParts<AppState> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(addr)| addr.ip());
        let ip = peer.map(|peer| client_address(peer, &parts.headers, state.trusted_proxies()).to_string());
        let user_agent = parts.headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_owned);
        Ok(Client(ClientInfo { ip, user_agent }))
    }
}

/// The real client behind `peer` (see [`Client`]).
pub fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &[ipnet::IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let mut client = peer;
    for hop in forwarding_chain(headers).into_iter().rev() {
        match hop {
            Some(ip) if is_trusted(&ip) => client = ip,
            Some(ip) => return ip,
            // An entry that is no address: nothing left of it can be believed.
            None => return client,
        }
    }
    client
}

/// The addresses a request went through, client first: from `Forwarded` (RFC 7239) if present,
/// else from `X-Forwarded-For`.
fn forwarding_chain(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let values = |name: header::HeaderName| -> Vec<String> {
        headers.get_all(name).iter().filter_map(|v| v.to_str().ok()).map(str::to_owned).collect()
    };
    let forwarded = values(header::FORWARDED);
    if !forwarded.is_empty() {
        return forwarded
            .iter()
            .flat_map(|line| line.split(','))
            .map(|element| {
                element
                    .split(';')
                    .filter_map(|pair| pair.trim().split_once('='))
                    .find(|(key, _)| key.eq_ignore_ascii_case("for"))
                    .and_then(|(_, value)| parse_node(value.trim().trim_matches('"')))
            })
            .collect();
    }
    values(header::HeaderName::from_static("x-forwarded-for"))
        .iter()
        .flat_map(|line| line.split(','))
        .map(|item| parse_node(item.trim()))
        .collect()
}

/// `192.0.2.1`, `192.0.2.1:4711`, `2001:db8::1` or `[2001:db8::1]:4711`.
fn parse_node(raw: &str) -> Option<IpAddr> {
    if let Ok(ip) = raw.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(socket) = raw.parse::<SocketAddr>() {
        return Some(socket.ip());
    }
    raw.strip_prefix('[').and_then(|rest| rest.split_once(']')).and_then(|(ip, _)| ip.parse().ok())
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

/// Checks an anonymous form's token against its cookie; both must be a token this server could
/// have made (an empty cookie and an empty field are not a matching pair).
pub fn check_anonymous_form_token(jar: &CookieJar, submitted: &str) -> Result<(), CsrfMismatch> {
    match jar.get(CSRF_COOKIE) {
        Some(cookie) if cookie.value().len() == 43 && access::secrets_match(cookie.value(), submitted) => Ok(()),
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

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            if let Ok(value) = value.parse() {
                map.append(*name, value);
            }
        }
        map
    }

    #[test]
    fn forwarding_headers_are_believed_only_from_trusted_proxies() {
        let trusted: Vec<ipnet::IpNet> = ["10.0.0.0/8", "::1/128"].iter().filter_map(|n| n.parse().ok()).collect();
        let ip = |raw: &str| raw.parse::<IpAddr>().unwrap_or(IpAddr::from([0; 4]));
        let xff = headers(&[("x-forwarded-for", "203.0.113.9, 10.0.0.7")]);
        // From an untrusted peer the header is ignored.
        assert_eq!(client_address(ip("198.51.100.1"), &xff, &trusted), ip("198.51.100.1"));
        // Through two trusted proxies, the client is the first untrusted address from the right.
        assert_eq!(client_address(ip("10.0.0.1"), &xff, &trusted), ip("203.0.113.9"));
        // What the client wrote itself, left of the real client, is not believed.
        let spoofed = headers(&[("x-forwarded-for", "1.2.3.4, 203.0.113.9")]);
        assert_eq!(client_address(ip("10.0.0.1"), &spoofed, &trusted), ip("203.0.113.9"));
        let forwarded = headers(&[("forwarded", "for=\"[2001:db8:cafe::17]:4711\";proto=https, for=10.0.0.3")]);
        assert_eq!(client_address(ip("::1"), &forwarded, &trusted), ip("2001:db8:cafe::17"));
        let garbage = headers(&[("x-forwarded-for", "203.0.113.9, n'importe quoi")]);
        assert_eq!(client_address(ip("10.0.0.1"), &garbage, &trusted), ip("10.0.0.1"));
        assert_eq!(client_address(ip("10.0.0.1"), &HeaderMap::new(), &trusted), ip("10.0.0.1"));
    }

    #[test]
    fn next_targets_stay_on_this_site() {
        assert_eq!(safe_next(Some("/sessions/x")), "/sessions/x");
        for evil in [
            "//evil.example",
            "https://evil.example",
            "/\\evil",
            "javascript:alert(1)",
            "/\t/evil.example",
            "/\n/evil.example",
            "/ /evil.example",
            "/\u{0}x",
            "/caf\u{e9}",
            "\t//evil.example",
        ] {
            assert_eq!(safe_next(Some(evil)), "/me", "{evil}");
        }
        assert_eq!(safe_next(None), "/me");
        assert_eq!(safe_next(Some("/sessions/x?tab=1&y=%C3%A9")), "/sessions/x?tab=1&y=%C3%A9");
        assert_eq!(urlencode("/a b?c=d&e"), "/a%20b%3Fc%3Dd%26e");
    }
}

/// The `{id}` of a route path, if the route has one.
async fn session_in_path(parts: &mut Parts) -> Option<String> {
    let params = axum::extract::RawPathParams::from_request_parts(parts, &()).await.ok()?;
    params.iter().find(|(name, _)| *name == "id").map(|(_, value)| value.to_owned())
}

/// The session of the path's `{id}` (id or reference), refused unless `caller` teaches it. An
/// early refusal, before any body is read, so nobody else learns anything from validation
/// messages; the rule is the core's (`lms_core::rights::ensure_trainer_of`), and each write use
/// case applies it again inside its transaction.
async fn taught_session(
    parts: &mut Parts,
    state: &AppState,
    caller: &Caller,
) -> Result<lms_core::db::ids::TrainingSessionId, ApiError> {
    let raw = session_in_path(parts).await.unwrap_or_default();
    let session = crate::extract::resolve_session(state, raw).await?;
    let (checked, target) = (caller.clone(), session.clone());
    state.db(move |conn| lms_core::rights::ensure_trainer_of(conn, &checked, &target)).await?;
    Ok(session)
}

/// An API caller who teaches the training session of the path's `{id}`, and that session.
#[derive(Debug, Clone)]
pub struct ApiSessionTrainer(pub Caller, pub lms_core::db::ids::TrainingSessionId);

impl FromRequestParts<AppState> for ApiSessionTrainer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let ApiCaller(caller) = ApiCaller::from_request_parts(parts, state).await?;
        let session = taught_session(parts, state, &caller).await?;
        Ok(ApiSessionTrainer(caller, session))
    }
}

/// A logged-in page visitor who teaches the training session of the path's `{id}`, and that
/// session.
#[derive(Debug, Clone)]
pub struct PageSessionTrainer(pub Caller, pub lms_core::db::ids::TrainingSessionId);

impl FromRequestParts<AppState> for PageSessionTrainer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let PageCaller(caller) = PageCaller::from_request_parts(parts, state).await?;
        match taught_session(parts, state, &caller).await {
            Ok(session) => Ok(PageSessionTrainer(caller, session)),
            Err(error) => Err(crate::error::PageError(error).into_response()),
        }
    }
}
