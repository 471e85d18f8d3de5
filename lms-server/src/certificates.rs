//! Public verification of certificates and published outcomes:
//! - `GET /verify/{code}`: French page saying what was certified (holder, certification, date,
//!   units) and whether it is valid or revoked (with date and reason); nothing else personal;
//! - `GET /api/v1/certificates/{code}`: the same as JSON (`number`, `status`, …);
//! - `GET /.well-known/jwks.json`: the organisation's public signing key (JWKS), read from the keys
//!   folder (`LMS_KEYS_DIR`); the server never needs the secret key;
//! - `GET /resultats`: the outcome indicators a certified organisation publishes;
//! - Open Badges 3.0 resolution: `GET /issuer` (the credentials' `issuer.id`: the issuer `Profile`
//!   as JSON-LD, browsers are sent to the home page), `GET /achievements/{code}` (the
//!   `achievement.id`: JSON-LD, or an HTML page for browsers) and `GET /credentials/status/{list}`
//!   (the signed Bitstring Status List the credentials' `credentialStatus` points at);
//! - « Mes certificats »: `GET /me/certificates` (page), `GET /me/certificates/{number}.pdf|.jwt|.json`
//!   (the holder's own files; anyone else's is a 404) and `GET /api/v1/me/certificates`.
//!
//! Unknown codes get a 404 that says nothing more. Guessing is rate-limited per client address:
//! after [`MAX_MISSES`] unknown codes within [`WINDOW`], further lookups get 429 until the window
//! ends. The counters live in this instance's memory (several instances each keep their own:
//! a guesser behind a load balancer gets at most `MAX_MISSES` × instances tries per window, and
//! 128-bit codes make that harmless); they are a cache that may be lost.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::HeaderMap;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use lms_core::certification::credential::JsonLd;
use lms_core::certification::registry::{self, CertificateFormat, PublicCertificate};
use lms_core::certification::status_list;
use minijinja::context;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::{ErrorResponse, convert};
use crate::auth::{ApiCaller, PageCaller};
use crate::error::{ApiError, PageResult};
use crate::pages::base_context;
use crate::pages::render;
use crate::routes::Routes;
use crate::state::AppState;

/// Unknown codes tolerated per client address and window.
pub const MAX_MISSES: u32 = 20;
/// Length of the rate-limit window.
pub const WINDOW: Duration = Duration::from_secs(600);

/// Per-address counters of unknown codes (in memory, per instance).
#[derive(Clone, Default)]
pub struct GuessLimiter {
    misses: Arc<Mutex<HashMap<String, (Instant, u32)>>>,
}

impl GuessLimiter {
    fn blocked(&self, client: &str) -> bool {
        let Ok(map) = self.misses.lock() else { return false };
        map.get(client).is_some_and(|(start, count)| start.elapsed() < WINDOW && *count >= MAX_MISSES)
    }

    fn record_miss(&self, client: &str) {
        let Ok(mut map) = self.misses.lock() else { return };
        if map.len() > 10_000 {
            map.retain(|_, (start, _)| start.elapsed() < WINDOW);
        }
        let entry = map.entry(client.to_owned()).or_insert((Instant::now(), 0));
        if entry.0.elapsed() >= WINDOW {
            *entry = (Instant::now(), 0);
        }
        entry.1 += 1;
    }
}

/// The routes of this module (merged into the application router).
pub fn router() -> Routes {
    Routes::new()
        .get("/verify/{code}", verify_page)
        .get("/api/v1/certificates/{code}", verify_api)
        .get("/.well-known/jwks.json", jwks)
        .get("/resultats", outcomes_page)
        .get("/issuer", issuer)
        .get("/achievements/{code}", achievement)
        .get("/credentials/status/{list}", status_list)
        .get("/me/certificates", my_certificates_page)
        .get("/me/certificates/{file}", my_certificate_file)
        .get("/api/v1/me/certificates", my_certificates_api)
        .map_router(|router| router.layer(Extension(GuessLimiter::default())))
}

fn client_of(request: &Request) -> String {
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(address)| address.ip().to_string())
        .unwrap_or_else(|| "local".into())
}

fn too_many() -> ApiError {
    ApiError {
        status: StatusCode::TOO_MANY_REQUESTS,
        code: "rate_limited",
        message: "Trop de codes inconnus : réessayez dans quelques minutes.".into(),
        details: None,
    }
}

async fn lookup(
    state: &AppState,
    limiter: &GuessLimiter,
    client: &str,
    code: String,
) -> Result<PublicCertificate, ApiError> {
    if limiter.blocked(client) {
        return Err(too_many());
    }
    let found = state.db(move |conn| registry::public_certificate(conn, &code)).await?;
    match found {
        Some(certificate) => Ok(certificate),
        None => {
            limiter.record_miss(client);
            Err(ApiError::not_found())
        }
    }
}

fn no_store(mut response: Response) -> Response {
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

async fn verify_page(
    State(state): State<AppState>,
    Extension(limiter): Extension<GuessLimiter>,
    Path(code): Path<String>,
    request: Request,
) -> PageResult {
    let client = client_of(&request);
    let certificate = lookup(&state, &limiter, &client, code).await?;
    let valid = certificate.status == lms_core::certification::registry::CertificateStatus::Valid;
    Ok(no_store(render(&state, "verify.html", context! { c => certificate, valid => valid })))
}

/// A certificate as anyone may verify it (nothing personal but the holder's name).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CertificateResponse {
    /// Certificate number.
    number: String,
    /// `valid` or `revoked`.
    status: String,
    /// Holder's name.
    holder_name: String,
    /// Certification title.
    certification: String,
    /// Registry code (`RS5142`).
    registry_code: String,
    /// Certifying body.
    certifier: String,
    /// Award date (`YYYY-MM-DD`).
    awarded_on: String,
    /// Units certified.
    units: Vec<String>,
    /// When it was revoked (UTC).
    revoked_at: Option<String>,
    /// Why.
    revocation_reason: Option<String>,
}

/// Verifies a certificate by the code printed on it.
#[utoipa::path(
    get,
    path = "/api/v1/certificates/{code}",
    tag = "certificates",
    params(("code" = String, Path, description = "Verification code printed on the certificate.")),
    responses(
        (status = 200, description = "The certificate.", body = CertificateResponse),
        (status = 404, description = "Unknown code (nothing more is said).", body = ErrorResponse),
        (status = 429, description = "Too many unknown codes from this address.", body = ErrorResponse),
        (status = 503, description = "Database busy, retry.", body = ErrorResponse),
    ),
)]
pub(crate) async fn verify_api(
    State(state): State<AppState>,
    Extension(limiter): Extension<GuessLimiter>,
    Path(code): Path<String>,
    request: Request,
) -> Response {
    let client = client_of(&request);
    match lookup(&state, &limiter, &client, code).await {
        Ok(certificate) => match convert::<_, CertificateResponse>(certificate) {
            Ok(body) => no_store(Json(body).into_response()),
            Err(error) => error.into_response(),
        },
        Err(error) => error.into_response(),
    }
}

async fn jwks(State(state): State<AppState>) -> Response {
    match state.keys().public_jwk() {
        Ok(jwk) => ([(header::CACHE_CONTROL, "public, max-age=300")], Json(serde_json::json!({ "keys": [jwk] })))
            .into_response(),
        Err(error) => {
            tracing::warn!(%error, "clé publique indisponible");
            ApiError::not_found().into_response()
        }
    }
}

/// The published outcomes over the default period (twelve months ending today), with the
/// complaints handled and the improvement actions they led to.
async fn outcomes_page(State(state): State<AppState>) -> PageResult {
    let now = lms_core::db::now();
    let published = state.db(move |conn| lms_core::reports::outcomes::published_results(conn, now)).await?;
    Ok(render(&state, "outcomes.html", context! { report => published.outcomes, complaints => published.complaints }))
}

/// Whether the client asked for a page (browsers send `text/html`); verifiers asking for
/// `application/json`, `application/ld+json` or anything else get JSON-LD.
fn wants_html(headers: &HeaderMap) -> bool {
    headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|accept| accept.contains("text/html"))
}

fn json_ld<T: Serialize>(node: T) -> Response {
    let body = match serde_json::to_vec_pretty(&JsonLd::open_badges(node)) {
        Ok(body) => body,
        Err(error) => return ApiError::internal(&error.to_string()).into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, "application/ld+json"),
            (header::CACHE_CONTROL, "public, max-age=300"),
            (header::VARY, "Accept"),
        ],
        body,
    )
        .into_response()
}

fn with_vary_accept(mut response: Response) -> Response {
    response.headers_mut().insert(header::VARY, HeaderValue::from_static("Accept"));
    response
}

/// The credentials' `issuer.id`.
async fn issuer(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    if wants_html(&headers) {
        return Ok(with_vary_accept(axum::response::Redirect::to("/").into_response()));
    }
    let public_url = state.public_url().to_owned();
    let profile = state.db(move |conn| registry::issuer_profile(conn, &public_url)).await?;
    profile.map(json_ld).ok_or_else(ApiError::not_found)
}

/// The credentials' `achievement.id`.
async fn achievement(State(state): State<AppState>, headers: HeaderMap, Path(code): Path<String>) -> PageResult {
    let public_url = state.public_url().to_owned();
    let found = state.db(move |conn| registry::achievement(conn, &public_url, &code)).await?;
    let achievement = found.ok_or_else(ApiError::not_found)?;
    if wants_html(&headers) {
        return Ok(with_vary_accept(render(&state, "achievement.html", context! { a => achievement })));
    }
    Ok(json_ld(achievement))
}

/// A signed status list (`application/vc+jwt`), as the credentials' `credentialStatus` names it.
async fn status_list(State(state): State<AppState>, Path(list): Path<String>) -> Result<Response, ApiError> {
    let Ok(list) = list.parse::<i32>() else { return Err(ApiError::not_found()) };
    let published = state.db(move |conn| status_list::published_list(conn, list)).await?;
    let jwt = published.ok_or_else(ApiError::not_found)?;
    // Short caching: a revocation reaches verifiers within a minute.
    Ok(([(header::CONTENT_TYPE, "application/vc+jwt"), (header::CACHE_CONTROL, "public, max-age=60")], jwt)
        .into_response())
}

/// « Mes certificats ».
async fn my_certificates_page(State(state): State<AppState>, PageCaller(caller): PageCaller) -> PageResult {
    let who = caller.clone();
    let certificates = state.db(move |conn| registry::my_certificates(conn, &who)).await?;
    Ok(render(
        &state,
        "me_certificates.html",
        context! {
            certificates => certificates,
            public_url => state.public_url(),
            ..base_context(Some(&caller))
        },
    ))
}

/// `/me/certificates/{number}.pdf`, `.jwt` or `.json`: the router matches whole segments, so the
/// extension decides.
async fn my_certificate_file(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    Path(file): Path<String>,
) -> PageResult {
    let Some((number, format)) = CertificateFormat::from_file_name(&file) else {
        return Err(ApiError::not_found().into());
    };
    let number = number.to_owned();
    let file_name = format!("{}.{}", number.to_uppercase(), format.extension());
    let bytes = state.db(move |conn| registry::my_certificate_file(conn, &caller, &number, format)).await?;
    let disposition = if format == CertificateFormat::BadgeJson { "inline" } else { "attachment" };
    let mut response =
        ([(header::CONTENT_TYPE, format.content_type()), (header::CACHE_CONTROL, "private, no-store")], bytes)
            .into_response();
    if let Ok(value) = HeaderValue::from_str(&format!("{disposition}; filename=\"{file_name}\"")) {
        response.headers_mut().insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

/// One of the caller's certificates.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct OwnCertificateResponse {
    /// Certificate number.
    number: String,
    /// Verification code (`/verify/{code}`).
    code: String,
    /// Certification title.
    certification_title: String,
    /// Registry code (`RS5142`).
    registry_code: String,
    /// Date of the jury's decision (`YYYY-MM-DD`).
    decided_on: String,
    /// Award date (`YYYY-MM-DD`).
    awarded_on: String,
    /// `valid` or `revoked`.
    status: String,
    /// When it was revoked (UTC).
    revoked_at: Option<String>,
}

/// The caller's own certificates, newest first; the files are at `/me/certificates/{number}.pdf`,
/// `.jwt` (the signed Open Badges 3.0 credential) and `.json`.
#[utoipa::path(
    get,
    path = "/api/v1/me/certificates",
    tag = "certificates",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's certificates.", body = [OwnCertificateResponse]),
        (status = 401, description = "No valid token.", body = ErrorResponse),
        (status = 503, description = "Database busy, retry.", body = ErrorResponse),
    ),
)]
pub(crate) async fn my_certificates_api(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
) -> Result<Json<Vec<OwnCertificateResponse>>, ApiError> {
    let certificates = state.db(move |conn| registry::my_certificates(conn, &caller)).await?;
    Ok(Json(convert(certificates)?))
}
