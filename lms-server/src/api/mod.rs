//! The JSON API under `/api/v1`: one module per resource, each with its typed request and response
//! structs (distinct from the core's types, so the contract changes only on purpose) and its
//! `router()`. Errors answer `{"error": {"code", "message", …}}` through [`crate::ApiError`].

use axum::Router;

use crate::state::AppState;

mod search;

/// Every API route, relative to `/api/v1`.
pub fn router() -> Router<AppState> {
    Router::new().merge(search::router())
}
