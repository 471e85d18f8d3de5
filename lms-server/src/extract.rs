//! What every page handler shares: the page error that renders itself (so handlers use `?`),
//! forms whose CSRF token is checked before the handler runs, and the typed training-session
//! path that answers 404 for an unknown id or reference.
//!
//! The module graph is one-way: `state`, `error` and `extract` know nothing of `api` or `pages`;
//! `auth` builds on them; `api` and `pages` build on all three.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, RawPathParams, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use lms_core::Classify;
use lms_core::access::Caller;
use lms_core::db::ids::TrainingSessionId;
use minijinja::context;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::auth::{self, PageCaller};
use crate::error::ApiError;
use crate::state::AppState;

/// A refusal on a page: a French page with the refusal's status, or the login page for a 401.
/// Handlers return `Result<Response, PageError>` ([`PageResult`]) and use `?` on any core error.
#[derive(Debug)]
pub struct PageError(pub ApiError);

/// What a page handler returns.
pub type PageResult = Result<Response, PageError>;

impl From<ApiError> for PageError {
    fn from(error: ApiError) -> Self {
        PageError(error)
    }
}

impl<E: Classify + std::fmt::Display> From<E> for PageError {
    fn from(error: E) -> Self {
        PageError(ApiError::from(error))
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let error = self.0;
        if error.status == StatusCode::UNAUTHORIZED {
            return Redirect::to("/login").into_response();
        }
        let rendered = crate::templates::shared()
            .get_template("error.html")
            .and_then(|t| t.render(context! { status => error.status.as_u16(), message => error.message }));
        match rendered {
            Ok(html) => (error.status, Html(html)).into_response(),
            Err(cause) => {
                tracing::error!(%cause, "rendu de la page d'erreur impossible");
                (StatusCode::INTERNAL_SERVER_ERROR, "Erreur interne du serveur.").into_response()
            }
        }
    }
}

#[derive(Deserialize)]
struct CsrfField {
    #[serde(default)]
    csrf: String,
}

/// The body of a form, read once and checked for its content type; `csrf` is its token.
async fn form_body(request: Request, state: &AppState) -> Result<(Bytes, String), PageError> {
    let is_form = request.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| {
        v.split(';').next().is_some_and(|m| m.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"))
    });
    if !is_form {
        return Err(PageError(ApiError {
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            code: "unsupported_media_type",
            message: "Ce formulaire doit être envoyé par le navigateur (application/x-www-form-urlencoded).".into(),
            details: None,
        }));
    }
    let bytes = Bytes::from_request(request, state).await.map_err(|_| {
        PageError(ApiError {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            code: "body_too_large",
            message: "Le formulaire envoyé est trop volumineux.".into(),
            details: None,
        })
    })?;
    let token = serde_urlencoded::from_bytes::<CsrfField>(&bytes).map(|f| f.csrf).unwrap_or_default();
    Ok((bytes, token))
}

fn parse_form<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, PageError> {
    serde_urlencoded::from_bytes(bytes).map_err(|cause| {
        tracing::debug!(%cause, "formulaire illisible");
        PageError(ApiError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: "invalid_form",
            message: "Le formulaire envoyé est incomplet ou mal formé.".into(),
            details: None,
        })
    })
}

/// A logged-in visitor's form whose `csrf` field matched their login session's token. Anonymous
/// visitors are sent to the login page first; a wrong token is a 403 page, before `T` is read.
#[derive(Debug)]
pub struct CsrfForm<T> {
    /// Who sent the form.
    pub caller: Caller,
    /// The form's fields (a `csrf` field in `T` is allowed and ignored).
    pub form: T,
}

impl<T: DeserializeOwned + Send> FromRequest<AppState> for CsrfForm<T> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        let PageCaller(caller) = PageCaller::from_request_parts(&mut parts, state).await?;
        let (bytes, token) =
            form_body(Request::from_parts(parts, body), state).await.map_err(IntoResponse::into_response)?;
        auth::check_form_token(&caller, &token).map_err(|e| PageError::from(e).into_response())?;
        let form = parse_form(&bytes).map_err(IntoResponse::into_response)?;
        Ok(CsrfForm { caller, form })
    }
}

/// An anonymous visitor's form (login, sign-up) whose `csrf` field matched its double-submit
/// cookie. Unlike [`CsrfForm`], its fields are read before the token is checked.
#[derive(Debug)]
pub struct AnonymousCsrfForm<T> {
    /// The request's cookies (the handler may set or clear some).
    pub jar: CookieJar,
    /// The form's fields.
    pub form: T,
}

impl<T: DeserializeOwned + Send> FromRequest<AppState> for AnonymousCsrfForm<T> {
    type Rejection = PageError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, PageError> {
        let jar = CookieJar::from_headers(request.headers());
        let (bytes, token) = form_body(request, state).await?;
        // Fields first: a probe without them is told the form is incomplete (422), as on every
        // public route, rather than refused (403).
        let form = parse_form(&bytes)?;
        auth::check_anonymous_form_token(&jar, &token)?;
        Ok(AnonymousCsrfForm { jar, form })
    }
}

/// The training session named by the path's `{id}`: its UUID or its reference
/// (`PTL-NA-DEMO-0`). Anything else is a 404, in the shape of the door that asked.
#[derive(Debug, Clone)]
pub struct SessionPath(pub TrainingSessionId);

impl FromRequestParts<AppState> for SessionPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let raw = RawPathParams::from_request_parts(parts, state)
            .await
            .ok()
            .and_then(|params| params.iter().find(|(name, _)| *name == "id").map(|(_, value)| value.to_owned()))
            .ok_or_else(ApiError::not_found)?;
        resolve_session(state, raw).await.map(SessionPath)
    }
}

/// A session id or reference as the core resolves it; unknown ones are 404.
pub async fn resolve_session(state: &AppState, raw: String) -> Result<TrainingSessionId, ApiError> {
    // Text that cannot be an id or a reference never reaches the database (PostgreSQL refuses
    // text holding NUL).
    if raw.is_empty() || raw.len() > 80 || raw.chars().any(char::is_control) {
        return Err(ApiError::not_found());
    }
    state.db(move |conn| lms_core::attendance::records::find_session(conn, &raw)).await
}

/// A typed id in the path's `{id}` (any `FromStr` id type); one that does not parse is a 404.
#[derive(Debug, Clone)]
pub struct IdPath<T>(pub T);

impl<T: std::str::FromStr + Send> FromRequestParts<AppState> for IdPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        RawPathParams::from_request_parts(parts, state)
            .await
            .ok()
            .and_then(|params| params.iter().find(|(name, _)| *name == "id").and_then(|(_, value)| value.parse().ok()))
            .map(IdPath)
            .ok_or_else(ApiError::not_found)
    }
}

/// A form with no field but its token (a button).
#[derive(Debug, Deserialize)]
pub struct NoFields {}
