//! `POST /password-reset` (ask for a reset link by e-mail) and `POST /password-reset/confirm`
//! (choose a new password with the link's token). Anyone may call them; the first answers the
//! same whether or not the address has an account.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use lms_core::access::password_reset;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ApiJson;
use super::openapi::ErrorResponse;
use crate::auth::Client;
use crate::error::ApiError;
use crate::routes::Routes;
use crate::state::AppState;

pub fn router() -> Routes {
    Routes::new().post("/password-reset", request).post("/password-reset/confirm", confirm)
}

/// A request for a reset link.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ResetRequestBody {
    /// The account's e-mail address.
    email: String,
}

/// The answer to a reset request, the same whether or not the address has an account.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct ResetAccepted {
    /// Always `accepted`.
    status: &'static str,
    /// What happens next (French).
    message: &'static str,
}

/// What every accepted reset request is told, on the API and the page.
pub const RESET_REQUESTED: &str = "Si un compte existe pour cette adresse, un courriel vient de lui être envoyé \
     avec un lien pour choisir un nouveau mot de passe (valable une heure, utilisable une fois).";

/// Asks for a password-reset link by e-mail. The answer is the same whether or not the address
/// has an account.
#[utoipa::path(
    post,
    path = "/api/v1/password-reset",
    tag = "accounts",
    request_body = ResetRequestBody,
    responses(
        (status = 202, description = "Request received (whether or not the account exists).", body = ResetAccepted),
        (status = 400, description = "Malformed JSON.", body = ErrorResponse),
        (status = 413, description = "Body too large.", body = ErrorResponse),
        (status = 415, description = "Not JSON.", body = ErrorResponse),
        (status = 422, description = "Not an e-mail address (`invalid_input`).", body = ErrorResponse),
        (status = 429, description = "Too many requests for this address or from this client.", body = ErrorResponse),
        (status = 503, description = "Database busy, retry.", body = ErrorResponse),
    ),
)]
pub(super) async fn request(
    State(state): State<AppState>,
    Client(client): Client,
    ApiJson(body): ApiJson<ResetRequestBody>,
) -> Result<(StatusCode, Json<ResetAccepted>), ApiError> {
    ask_for_reset(&state, body.email, client).await?;
    Ok((StatusCode::ACCEPTED, Json(ResetAccepted { status: "accepted", message: RESET_REQUESTED })))
}

/// A reset request from either door.
pub async fn ask_for_reset(
    state: &AppState,
    email: String,
    client: lms_core::access::ClientInfo,
) -> Result<(), ApiError> {
    state.db(move |conn| password_reset::request_reset(conn, &email, &client, lms_core::db::now())).await
}

/// A new password with a reset token.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ResetConfirmBody {
    /// The token from the e-mailed link (`/mot-de-passe-oublie/{token}`).
    token: String,
    /// The new password (checked against the password rules).
    password: String,
}

/// The answer to a successful reset.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct ResetDone {
    /// Always `password_changed`.
    status: &'static str,
    /// What happened (French).
    message: &'static str,
}

/// What a successful reset is told.
pub const RESET_DONE: &str =
    "Mot de passe changé : toutes les connexions ouvertes sont fermées. Connectez-vous avec le nouveau mot de passe.";

/// Sets a new password with a reset token; every login session and API token of the account
/// ends.
#[utoipa::path(
    post,
    path = "/api/v1/password-reset/confirm",
    tag = "accounts",
    request_body = ResetConfirmBody,
    responses(
        (status = 200, description = "Password changed; every login session and token ended.", body = ResetDone),
        (status = 400, description = "Malformed JSON.", body = ErrorResponse),
        (status = 413, description = "Body too large.", body = ErrorResponse),
        (status = 415, description = "Not JSON.", body = ErrorResponse),
        (status = 422, description = "Unknown, expired or used token (`reset_token_invalid`), or weak password.", body = ErrorResponse),
        (status = 503, description = "Database busy, retry.", body = ErrorResponse),
    ),
)]
pub(super) async fn confirm(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<ResetConfirmBody>,
) -> Result<Json<ResetDone>, ApiError> {
    reset_with_token(&state, body.token, body.password).await?;
    Ok(Json(ResetDone { status: "password_changed", message: RESET_DONE }))
}

/// A reset from either door (argon2 runs in the core before its write transaction).
pub async fn reset_with_token(state: &AppState, token: String, password: String) -> Result<String, ApiError> {
    state.db(move |conn| password_reset::reset_password(conn, &token, &password, lms_core::db::now())).await
}
