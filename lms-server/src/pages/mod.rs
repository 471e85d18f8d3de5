//! HTML pages (French) and operational endpoints. Pages work without JavaScript: every action is
//! a form, answered by a redirect to a page that says what happened (`?info=…`, fixed messages).

mod accounts;
mod catalogue_pages;
mod checkin;
mod home;
mod me;
mod trainee_records;
mod trainer;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use minijinja::context;
use serde::Serialize;

use crate::error::ApiError;
use crate::state::AppState;

/// Page routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home::home))
        .route("/static/style.css", get(stylesheet))
        .merge(accounts::router())
        .merge(catalogue_pages::router())
        .merge(me::router())
        .merge(trainer::router())
        .merge(checkin::router())
        .merge(trainee_records::router())
}

/// Context every page gets: who is logged in and the form token for the logout button.
pub fn base_context(caller: Option<&lms_core::access::Caller>) -> minijinja::Value {
    match caller {
        Some(caller) => context! {
            current_user => context! {
                name => caller.user.name.clone(),
                is_trainer => caller.has_role(lms_core::people::Role::Trainer),
                is_admin => caller.has_role(lms_core::people::Role::Admin),
            },
            csrf => caller.csrf_token.clone(),
        },
        None => context! {},
    }
}

/// A fixed French message for `?info=` codes (user text is never echoed).
pub fn info_message(code: Option<&str>) -> Option<&'static str> {
    Some(match code? {
        "enrolled" => "Votre inscription est confirmée. Votre convocation est disponible ci-dessous.",
        "waitlisted" => {
            "La session est complète : vous êtes sur la liste d'attente. Vous serez prévenu·e si une place se libère."
        }
        "already" => "Vous étiez déjà inscrit·e à cette session.",
        "cancelled" => "Votre inscription est annulée.",
        "password_changed" => "Votre mot de passe a été modifié. Vos autres connexions ont été fermées.",
        "welcome" => "Bienvenue ! Votre compte est créé et vous êtes connecté·e.",
        "logged_out" => "Vous êtes déconnecté·e.",
        _ => return None,
    })
}

/// Renders a template, or a plain 500 if the template itself fails.
pub fn render(state: &AppState, name: &str, ctx: minijinja::Value) -> Response {
    match state.templates().get_template(name).and_then(|t| t.render(ctx)) {
        Ok(html) => Html(html).into_response(),
        Err(error) => {
            tracing::error!(%error, template = name, "rendu impossible");
            (StatusCode::INTERNAL_SERVER_ERROR, "Erreur interne du serveur.").into_response()
        }
    }
}

/// Renders a refusal as a French page with the right status.
pub fn error_page(state: &AppState, error: ApiError) -> Response {
    if error.status == StatusCode::UNAUTHORIZED {
        return axum::response::Redirect::to("/login").into_response();
    }
    let mut response =
        render(state, "error.html", context! { status => error.status.as_u16(), message => error.message });
    *response.status_mut() = error.status;
    response
}

#[derive(Serialize)]
struct Health {
    status: &'static str,
    database: &'static str,
}

/// `GET /healthz`: 200 when the database answers, 503 otherwise.
pub async fn healthz(State(state): State<AppState>) -> Response {
    let backend = state.backend();
    let check = state.db(lms_core::db::ping).await;
    match check {
        Ok(()) => axum::Json(Health { status: "ok", database: backend }).into_response(),
        Err(error) => {
            let mut response = error.into_response();
            *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
            response
        }
    }
}

async fn stylesheet() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")],
        crate::templates::STYLE_CSS,
    )
        .into_response()
}

/// Answers a body over [`crate::MAX_BODY_BYTES`] (refused up front by its `Content-Length`, or
/// while being read) with the API's JSON error or a French page, instead of a bare text 413.
pub async fn explain_payload_too_large(
    State(state): State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let api = request.uri().path().starts_with("/api/");
    let response = next.run(request).await;
    if response.status() != StatusCode::PAYLOAD_TOO_LARGE {
        return response;
    }
    let error = ApiError {
        status: StatusCode::PAYLOAD_TOO_LARGE,
        code: "payload_too_large",
        message: format!("Requête trop volumineuse ({} Ko au plus).", crate::MAX_BODY_BYTES / 1024),
        details: None,
    };
    if api { error.into_response() } else { error_page(&state, error) }
}

/// Unknown paths: JSON under `/api/`, a French page elsewhere.
pub async fn not_found(State(state): State<AppState>, uri: axum::http::Uri) -> Response {
    if uri.path().starts_with("/api/") {
        return ApiError::not_found().into_response();
    }
    error_page(&state, ApiError::not_found())
}
