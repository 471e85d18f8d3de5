//! HTML pages (French) and operational endpoints. Pages work without JavaScript: every action is
//! a form, answered by a redirect to a page that says what happened (`?info=…`, fixed messages).

mod accounts;
mod adjustments;
mod calendar;
mod catalogue_pages;
mod checkin;
mod complaints;
mod formations;
mod home;
mod legal;
mod me;
mod password_reset;
mod questionnaires;
mod security;
mod trainee_records;
mod trainer;
mod venues;

use axum::extract::{FromRequestParts, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use minijinja::context;
use serde::Serialize;

use crate::error::{ApiError, PageError};
use crate::routes::Routes;
use crate::state::AppState;

/// Page routes.
pub fn router() -> Routes {
    Routes::new()
        .get("/", home::home)
        .get("/static/search.js", home::script)
        .get("/static/style.css", stylesheet)
        .merge(accounts::router())
        .merge(adjustments::router())
        .merge(catalogue_pages::router())
        .merge(me::router())
        .merge(calendar::router())
        .merge(security::router())
        .merge(trainer::router())
        .merge(checkin::router())
        .merge(trainee_records::router())
        .merge(venues::router())
        .merge(formations::router())
        .merge(password_reset::router())
        .merge(complaints::router())
        .merge(questionnaires::router())
        .merge(legal::router())
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
        "requested" => {
            "Votre demande d'inscription est enregistrée : l'équipe l'examine avec vos réponses et vous tiendra informé·e."
        }
        "cancelled" => "Votre inscription est annulée.",
        "abandoned" => "Votre abandon est enregistré. Les heures que vous avez suivies restent acquises.",
        "password_changed" => {
            "Votre mot de passe a été modifié. Vos autres connexions et vos jetons d'API ont été fermés."
        }
        "password_reset" => crate::api::RESET_DONE,
        "welcome" => "Bienvenue ! Votre compte est créé et vous êtes connecté·e.",
        "logged_out" => "Vous êtes déconnecté·e.",
        "signup_received" => crate::api::SIGN_UP_RECEIVED,
        "login_ended" => "La connexion a été fermée.",
        "token_revoked" => "Le jeton a été révoqué : il ne permet plus d'accéder à votre compte.",
        "calendar_revoked" => "L'adresse de votre agenda est révoquée : elle ne donne plus accès à vos demi-journées.",
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

/// Paths whose answers are JSON, refusals included.
fn answers_json(path: &str) -> bool {
    path.starts_with("/api/") || path.starts_with("/.well-known/") || path == "/healthz"
}

/// Every refusal in the shape of its door: JSON `{"error": …}` for the API, a French page
/// elsewhere. Catches the bare refusals of layers and extractors — a body over
/// [`crate::MAX_BODY_BYTES`], a path or query string that does not parse, a form of the wrong
/// type — and an API-shaped refusal reaching a page.
///
/// Error pages are rendered here a second time with the visitor's own header (a signed-in visitor
/// keeps « Mon espace » and the sign-out button) and the way back: only refusals pay for finding
/// who the visitor is.
pub async fn explain_refusals(
    State(state): State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let json_door = answers_json(request.uri().path());
    let (visitor, came_from) =
        if json_door { (None, None) } else { (Some(visitor_parts(&request)), same_site_referrer(request.headers())) };
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    if status != StatusCode::PAYLOAD_TOO_LARGE
        && let Some(page) = response.extensions().get::<crate::error::ErrorPage>().cloned()
        && let Some(visitor) = visitor
    {
        let kept = kept_headers(&response);
        return dress_error_page(&state, page, visitor, came_from, kept).await;
    }
    let content_type =
        response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let is_json = content_type.starts_with("application/json");
    // A bare 413 is rewritten whatever its shape, so that it always says the limit.
    let well_formed = (json_door && is_json) || (!json_door && content_type.starts_with("text/html"));
    if well_formed && status != StatusCode::PAYLOAD_TOO_LARGE {
        return response;
    }
    let allow = response.headers().get(header::ALLOW).cloned();
    let error = if is_json && status != StatusCode::PAYLOAD_TOO_LARGE {
        // An API-shaped refusal on a page: keep its code and message.
        let body = axum::body::to_bytes(response.into_body(), 64 * 1024).await.unwrap_or_default();
        let parsed: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        let message = parsed["error"]["message"].as_str().map(str::to_owned);
        let mut error = refusal_for(status);
        if let Some(message) = message {
            error.message = message;
        }
        error
    } else {
        refusal_for(status)
    };
    let mut answer = if json_door { error.into_response() } else { PageError(error).into_response() };
    if let Some(allow) = allow {
        answer.headers_mut().insert(header::ALLOW, allow);
    }
    match (visitor, answer.extensions().get::<crate::error::ErrorPage>().cloned()) {
        (Some(visitor), Some(page)) => {
            let kept = kept_headers(&answer);
            dress_error_page(&state, page, visitor, came_from, kept).await
        }
        _ => answer,
    }
}

/// Renders an error page again for its visitor, keeping the headers that explain the refusal.
async fn dress_error_page(
    state: &AppState,
    page: crate::error::ErrorPage,
    mut visitor: axum::http::request::Parts,
    came_from: Option<String>,
    kept: axum::http::HeaderMap,
) -> Response {
    // A failing database must not also fail the error page: no lookup on a 5xx.
    let caller = if page.status.is_server_error() {
        None
    } else {
        crate::auth::MaybeCaller::from_request_parts(&mut visitor, state).await.ok().and_then(|c| c.0)
    };
    let mut dressed = crate::error::render_error_page(&page, base_context(caller.as_ref()), came_from);
    dressed.headers_mut().extend(kept);
    dressed
}

/// The headers of a refusal that say more than its page: allowed methods, when to retry, caching.
fn kept_headers(response: &Response) -> axum::http::HeaderMap {
    let mut kept = axum::http::HeaderMap::new();
    for name in [header::ALLOW, header::RETRY_AFTER, header::CACHE_CONTROL] {
        if let Some(value) = response.headers().get(&name) {
            kept.insert(name, value.clone());
        }
    }
    kept
}

/// The parts of a page request needed to find its visitor later: the credentials, nothing else.
fn visitor_parts(request: &axum::extract::Request) -> axum::http::request::Parts {
    let (mut parts, ()) = axum::http::Request::new(()).into_parts();
    for name in [header::COOKIE, header::AUTHORIZATION] {
        for value in request.headers().get_all(&name) {
            parts.headers.append(name.clone(), value.clone());
        }
    }
    parts
}

/// The path of the page the visitor came from, when it is on this site (the `Referer` is sent
/// same-origin only, by our `Referrer-Policy`) and is not the failing page itself.
fn same_site_referrer(headers: &axum::http::HeaderMap) -> Option<String> {
    let referrer = headers.get(header::REFERER)?.to_str().ok()?;
    let host = headers.get(header::HOST)?.to_str().ok()?;
    let rest = referrer.strip_prefix("http://").or_else(|| referrer.strip_prefix("https://"))?;
    let path = rest.strip_prefix(host)?;
    (path.starts_with('/') && !path.starts_with("//")).then(|| path.to_owned())
}

/// A stable code and a French message for a refusal that came without one.
fn refusal_for(status: StatusCode) -> ApiError {
    let (code, message) = match status {
        StatusCode::BAD_REQUEST => {
            ("bad_request", "Requête invalide : vérifiez l'adresse et ses paramètres.".to_owned())
        }
        StatusCode::NOT_FOUND => ("not_found", "Page introuvable.".to_owned()),
        StatusCode::METHOD_NOT_ALLOWED => {
            ("method_not_allowed", "Méthode non autorisée pour cette adresse.".to_owned())
        }
        StatusCode::PAYLOAD_TOO_LARGE => {
            ("payload_too_large", format!("Requête trop volumineuse ({} Ko au plus).", crate::MAX_BODY_BYTES / 1024))
        }
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "unsupported_media_type",
            "Type de contenu non pris en charge : envoyez un formulaire (ou du JSON pour l'API).".to_owned(),
        ),
        StatusCode::UNPROCESSABLE_ENTITY => {
            ("invalid_request", "Données incomplètes ou invalides : vérifiez les champs du formulaire.".to_owned())
        }
        StatusCode::FORBIDDEN => ("forbidden", "Accès refusé.".to_owned()),
        StatusCode::UNAUTHORIZED => ("unauthenticated", "Authentification requise.".to_owned()),
        StatusCode::TOO_MANY_REQUESTS => {
            ("rate_limited", "Trop de requêtes : réessayez dans quelques minutes.".to_owned())
        }
        StatusCode::SERVICE_UNAVAILABLE => {
            ("unavailable", "Service momentanément indisponible : réessayez.".to_owned())
        }
        other if other.is_server_error() => ("internal_error", "Erreur interne du serveur.".to_owned()),
        _ => ("bad_request", "Requête refusée.".to_owned()),
    };
    ApiError { status, code, message, details: None }
}

/// Unknown paths: JSON under `/api/`, a French page elsewhere.
pub async fn not_found(uri: axum::http::Uri) -> Response {
    if uri.path().starts_with("/api/") {
        return ApiError::not_found().into_response();
    }
    PageError(ApiError::not_found()).into_response()
}
