//! One error type for every handler, mapped once from the core's [`lms_core::ErrorKind`] to an
//! HTTP status. API routes answer `{"error": {"code", "message"}}`; pages answer a [`PageError`],
//! which renders the French error page itself.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{Html, Redirect};
use axum::response::{IntoResponse, Response};
use lms_core::{Classify, ErrorKind};
use minijinja::context;
use serde::Serialize;

/// A refusal or failure, ready to render.
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable machine-readable code.
    pub code: &'static str,
    /// French message for people.
    pub message: String,
    /// Extra JSON members of `error` (e.g. `candidates`).
    pub details: Option<serde_json::Value>,
}

/// The status for each kind of failure — the only place this mapping exists.
pub fn status_for(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::Invalid => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::Conflict => StatusCode::CONFLICT,
        ErrorKind::Forbidden => StatusCode::FORBIDDEN,
        ErrorKind::Unauthenticated => StatusCode::UNAUTHORIZED,
        ErrorKind::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl ApiError {
    /// A failure we cannot explain to the user; the cause goes to the log only.
    pub fn internal(cause: &str) -> Self {
        tracing::error!(cause, "erreur interne");
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "internal_error",
            message: "Erreur interne du serveur.".into(),
            details: None,
        }
    }

    /// A 404 for an unknown path.
    pub fn not_found() -> Self {
        ApiError {
            status: StatusCode::NOT_FOUND,
            code: "not_found",
            message: "Page introuvable.".into(),
            details: None,
        }
    }
}

impl<E: Classify + std::fmt::Display> From<E> for ApiError {
    fn from(error: E) -> Self {
        let kind = error.kind();
        if kind == ErrorKind::Internal {
            return ApiError::internal(&error.to_string());
        }
        if kind == ErrorKind::Unavailable {
            tracing::warn!(code = error.code(), "{error}");
        }
        ApiError { status: status_for(kind), code: error.code(), message: error.to_string(), details: error.details() }
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: ErrorContent<'a>,
}

#[derive(Serialize)]
struct ErrorContent<'a> {
    code: &'a str,
    message: &'a str,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    details: Option<&'a serde_json::Value>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorContent { code: self.code, message: &self.message, details: self.details.as_ref() },
        };
        let mut response = (self.status, Json(body)).into_response();
        if self.status == StatusCode::SERVICE_UNAVAILABLE
            && let Ok(value) = axum::http::HeaderValue::from_str("2")
        {
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, value);
        }
        response
    }
}

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

/// What an error page says, carried on the response so that [`crate::pages::explain_refusals`] can
/// dress it with the visitor's header (signed in or not) before it leaves.
#[derive(Debug, Clone)]
pub struct ErrorPage {
    /// HTTP status.
    pub status: StatusCode,
    /// The French message, as the use case worded it.
    pub message: String,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let error = self.0;
        if error.status == StatusCode::UNAUTHORIZED {
            return Redirect::to("/login").into_response();
        }
        let page = ErrorPage { status: error.status, message: error.message };
        let mut response = render_error_page(&page, minijinja::Value::UNDEFINED, None);
        response.extensions_mut().insert(page);
        response
    }
}

/// The French error page: its heading from the status, the message as a sentence, the way back
/// (the page the visitor came from when it is on this site, their space when signed in, the home).
/// `base` is the page context of the visitor ([`crate::pages::base_context`]).
pub fn render_error_page(page: &ErrorPage, base: minijinja::Value, back: Option<String>) -> Response {
    let rendered = crate::templates::shared().get_template("error.html").and_then(|t| {
        t.render(context! { status => page.status.as_u16(), message => page.message.clone(), back => back, ..base })
    });
    match rendered {
        Ok(html) => (page.status, Html(html)).into_response(),
        Err(cause) => {
            tracing::error!(%cause, "rendu de la page d'erreur impossible");
            (StatusCode::INTERNAL_SERVER_ERROR, "Erreur interne du serveur.").into_response()
        }
    }
}
