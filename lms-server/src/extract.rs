//! Typed path parameters: the training session named by `{id}` (its UUID or its reference) and
//! typed ids, each answering 404 when the path names nothing.
//!
//! The server's module graph is one-way: `state`, `error`, `extract` and `routes` know nothing
//! of the others; `auth` builds on them; `forms` on `auth`; `api` and `pages` on all of them.

use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::request::Parts;
use lms_core::db::ids::TrainingSessionId;

use crate::error::ApiError;
use crate::state::AppState;

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
