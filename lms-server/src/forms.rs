//! Forms whose CSRF token is checked before the handler runs: a logged-in visitor's
//! ([`CsrfForm`], the login session's token) and an anonymous visitor's ([`AnonymousCsrfForm`],
//! the double-submit cookie).

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use lms_core::access::Caller;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::auth::{self, PageCaller};
use crate::error::{ApiError, PageError};
use crate::state::AppState;

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

/// A form with no field but its token (a button).
#[derive(Debug, Deserialize)]
pub struct NoFields {}
