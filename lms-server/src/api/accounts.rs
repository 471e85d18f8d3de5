//! `POST /accounts` (sign up as a trainee) and `POST /auth/token` (API token).

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use lms_core::access;
use lms_core::people::{NewUser, Role};
use serde::{Deserialize, Serialize};

use super::ApiJson;
use crate::auth::Client;
use crate::error::ApiError;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/accounts", post(sign_up)).route("/auth/token", post(token))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SignUpBody {
    email: String,
    name: String,
    password: String,
}

/// The answer to a sign-up, the same whether the address was free or already had an account
/// (never the password or its hash, nor anything saying which case it was).
#[derive(Debug, Serialize)]
struct SignUpAccepted {
    email: String,
    name: String,
    roles: Vec<Role>,
    message: &'static str,
}

/// What every accepted sign-up is told, on the API and the page.
pub const SIGN_UP_RECEIVED: &str = "Inscription reçue : si cette adresse n'avait pas encore de compte, il est créé. \
     Connectez-vous avec votre adresse et votre mot de passe.";

impl SignUpBody {
    pub(super) fn into_new_user(self) -> NewUser {
        NewUser { email: self.email, display_name: self.name, role: Role::Trainee, password: self.password }
    }
}

async fn sign_up(
    State(state): State<AppState>,
    Client(client): Client,
    ApiJson(body): ApiJson<SignUpBody>,
) -> Result<(StatusCode, Json<SignUpAccepted>), ApiError> {
    let receipt = register(&state, body.into_new_user(), client).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(SignUpAccepted {
            email: receipt.email,
            name: receipt.name,
            roles: receipt.roles,
            message: SIGN_UP_RECEIVED,
        }),
    ))
}

/// A sign-up from either door: checked (cheap), counted by the limiter, hashed without holding a
/// connection, then stored by the core.
pub async fn register(
    state: &AppState,
    new: NewUser,
    client: access::ClientInfo,
) -> Result<access::accounts::SignUpReceipt, ApiError> {
    new.validate()?;
    state.db(move |conn| access::accounts::reserve_sign_up(conn, &client, lms_core::db::now())).await?;
    let prepared = state.cpu(move || new.prepare()).await??;
    state.db(move |conn| access::accounts::sign_up(conn, &prepared)).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TokenRequest {
    email: String,
    password: String,
}

#[derive(Debug, Serialize)]
struct TokenBody {
    token: String,
}

async fn token(
    State(state): State<AppState>,
    Client(client): Client,
    ApiJson(body): ApiJson<TokenRequest>,
) -> Result<Json<TokenBody>, ApiError> {
    let user = crate::auth::check_credentials(&state, body.email, body.password, client).await?;
    let token = state.db(move |conn| access::create_api_token(conn, &user, lms_core::db::now())).await?;
    Ok(Json(TokenBody { token }))
}
