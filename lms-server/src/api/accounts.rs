//! `POST /accounts` (sign up as a trainee) and `POST /auth/token` (API token).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use lms_core::access;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ApiJson;
use super::openapi::ErrorResponse;
use super::views::convert;
use crate::auth::Client;
use crate::error::ApiError;
use crate::routes::Routes;
use crate::state::AppState;

pub fn router() -> Routes {
    Routes::new().post("/accounts", sign_up).post("/auth/token", token)
}

/// A trainee's sign-up.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct SignUpBody {
    /// E-mail address (the login).
    email: String,
    /// Display name.
    name: String,
    /// Password (checked against the password rules).
    password: String,
}

/// The answer to a sign-up, the same whether the address was free or already had an account
/// (never the password or its hash, nor anything saying which case it was).
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct SignUpAccepted {
    /// The address as stored.
    email: String,
    /// The name as stored.
    name: String,
    /// Roles (`trainee`).
    roles: Vec<String>,
    /// What to do next (French).
    message: &'static str,
}

/// What every accepted sign-up is told, on the API and the page.
pub const SIGN_UP_RECEIVED: &str = "Inscription reçue : si cette adresse n'avait pas encore de compte, il est créé. \
     Connectez-vous avec votre adresse et votre mot de passe.";

impl SignUpBody {
    pub(super) fn into_request(self) -> access::accounts::SignUpRequest {
        access::accounts::SignUpRequest { email: self.email, name: self.name, password: self.password }
    }
}

/// Signs up as a trainee. The answer is the same whether the address was free or not.
#[utoipa::path(
    post,
    path = "/api/v1/accounts",
    tag = "accounts",
    request_body = SignUpBody,
    responses(
        (status = 202, description = "Sign-up received.", body = SignUpAccepted),
        (status = 400, description = "Malformed JSON.", body = ErrorResponse),
        (status = 413, description = "Body too large.", body = ErrorResponse),
        (status = 415, description = "Not JSON.", body = ErrorResponse),
        (status = 422, description = "Invalid address, name or password.", body = ErrorResponse),
        (status = 429, description = "Too many sign-ups from this address (10 an hour).", body = ErrorResponse),
        (status = 503, description = "Database busy, retry.", body = ErrorResponse),
    ),
)]
pub(super) async fn sign_up(
    State(state): State<AppState>,
    Client(client): Client,
    ApiJson(body): ApiJson<SignUpBody>,
) -> Result<(StatusCode, Json<SignUpAccepted>), ApiError> {
    let receipt = register(&state, body.into_request(), client).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(SignUpAccepted {
            email: receipt.email,
            name: receipt.name,
            roles: convert(receipt.roles)?,
            message: SIGN_UP_RECEIVED,
        }),
    ))
}

/// A sign-up from either door, through the core's steps: checked (cheap), counted by the limiter,
/// hashed without holding a connection, then stored (the core gives the role).
pub async fn register(
    state: &AppState,
    new: access::accounts::SignUpRequest,
    client: access::ClientInfo,
) -> Result<access::accounts::SignUpReceipt, ApiError> {
    new.validate()?;
    state.db(move |conn| access::accounts::reserve_sign_up(conn, &client, lms_core::db::now())).await?;
    let prepared = state.cpu(move || new.prepare()).await??;
    state.db(move |conn| access::accounts::sign_up(conn, &prepared)).await
}

/// Credentials for an API token.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct TokenRequest {
    /// E-mail address.
    email: String,
    /// Password.
    password: String,
}

/// A new API token.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct TokenBody {
    /// Send it as `Authorization: Bearer <token>`.
    token: String,
}

/// Exchanges credentials for an API token.
#[utoipa::path(
    post,
    path = "/api/v1/auth/token",
    tag = "accounts",
    request_body = TokenRequest,
    responses(
        (status = 200, description = "A new token.", body = TokenBody),
        (status = 400, description = "Malformed JSON.", body = ErrorResponse),
        (status = 401, description = "Wrong address or password.", body = ErrorResponse),
        (status = 413, description = "Body too large.", body = ErrorResponse),
        (status = 415, description = "Not JSON.", body = ErrorResponse),
        (status = 422, description = "Body of the wrong shape.", body = ErrorResponse),
        (status = 429, description = "Too many failed logins from this address.", body = ErrorResponse),
        (status = 503, description = "Database busy, retry.", body = ErrorResponse),
    ),
)]
pub(super) async fn token(
    State(state): State<AppState>,
    Client(client): Client,
    ApiJson(body): ApiJson<TokenRequest>,
) -> Result<Json<TokenBody>, ApiError> {
    let user = crate::auth::check_credentials(&state, body.email, body.password, client).await?;
    let token = state.db(move |conn| access::create_api_token(conn, &user, lms_core::db::now())).await?;
    Ok(Json(TokenBody { token }))
}
