//! `POST /accounts` (sign up as a trainee) and `POST /auth/token` (API token).

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use lms_core::access;
use lms_core::people::{self, NewUser, Role};
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

/// The account just created (never the password or its hash).
#[derive(Debug, Serialize)]
struct AccountBody {
    id: String,
    email: String,
    name: String,
    roles: Vec<Role>,
}

impl SignUpBody {
    pub(super) fn into_new_user(self) -> NewUser {
        NewUser { email: self.email, display_name: self.name, role: Role::Trainee, password: self.password }
    }
}

async fn sign_up(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<SignUpBody>,
) -> Result<(StatusCode, Json<AccountBody>), ApiError> {
    let new = body.into_new_user();
    let prepared = state.cpu(move || new.prepare()).await??;
    let user = state.db(move |conn| people::insert_prepared_user(conn, &prepared)).await?;
    Ok((
        StatusCode::CREATED,
        Json(AccountBody { id: user.id.to_string(), email: user.email, name: user.name, roles: user.roles }),
    ))
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
