//! The JSON API under `/api/v1`: one module per resource, each with its typed request and response
//! structs (distinct from the core's types, so the contract changes only on purpose) and its
//! `router()`. Errors answer `{"error": {"code", "message", …}}` through [`crate::ApiError`].

mod accounts;
mod assessment;
mod attendance;
mod catalogue;
mod enrolments;
mod json;
mod search;

use axum::Router;

use crate::state::AppState;

pub use attendance::{half_day_id, public_base};
pub use catalogue::session_id;
pub use json::ApiJson;

/// Every API route, relative to `/api/v1`.
pub fn router() -> Router<AppState> {
    Router::new()
        .merge(accounts::router())
        .merge(catalogue::router())
        .merge(enrolments::router())
        .merge(search::router())
        .merge(attendance::router())
        .merge(assessment::router())
}
