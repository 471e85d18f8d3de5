//! The JSON API under `/api/v1`: typed request and response bodies, errors as
//! `{"error": {"code", "message"}}`. One module per noun.

mod accounts;
mod catalogue;
mod enrolments;
mod json;

use axum::Router;

use crate::state::AppState;

pub use catalogue::session_id;
pub use json::ApiJson;

/// Every API route, relative to `/api/v1`.
pub fn router() -> Router<AppState> {
    Router::new().merge(accounts::router()).merge(catalogue::router()).merge(enrolments::router())
}
