//! The JSON API under `/api/v1`: one module per resource, each with its typed request and response
//! structs (distinct from the core's types, so the contract changes only on purpose) and its
//! `router()`. Errors answer `{"error": {"code", "message", …}}` through [`crate::ApiError`].
//! The contract is written down as an OpenAPI 3.1 document (`openapi::ApiDoc`, served at
//! `GET /api/v1/openapi.json`); response types mirror the core's JSON (see `views`).

mod accounts;
mod assessment;
mod attendance;
mod catalogue;
mod complaints;
mod enrolments;
mod json;
mod openapi;
mod password_reset;
mod search;
mod surveys;
mod venues;
mod views;

use crate::routes::Routes;

pub use accounts::{SIGN_UP_RECEIVED, register};
pub use attendance::{half_day_id, public_base};
pub use complaints::{parse_kind as parse_complaint_kind, send_complaint};
pub use json::ApiJson;
pub(crate) use openapi::ErrorResponse;
pub use password_reset::{RESET_DONE, RESET_REQUESTED, ask_for_reset, reset_with_token};
pub(crate) use views::convert;

/// Every API route, relative to `/api/v1`.
pub fn router() -> Routes {
    Routes::new()
        .merge(accounts::router())
        .merge(catalogue::router())
        .merge(enrolments::router())
        .merge(search::router())
        .merge(attendance::router())
        .merge(assessment::router())
        .merge(venues::router())
        .merge(password_reset::router())
        .merge(complaints::router())
        .merge(surveys::router())
        .get("/openapi.json", openapi::openapi_json)
}

/// Fuzzing entry (`tests/fuzz`, target `api_json`): `data` as the body of every JSON request
/// type, through the same extractor the routes use ([`ApiJson`], or the enrolment's optional
/// body), then through the conversions and the core's checks that need no database; and as the
/// query string of the search. Never panics on any input; returns how many bodies were accepted.
#[doc(hidden)]
pub fn fuzz_api_bodies(data: &[u8]) -> usize {
    use axum::extract::FromRequest;
    use std::sync::OnceLock;

    static RUNTIME: OnceLock<Option<tokio::runtime::Runtime>> = OnceLock::new();
    let Some(runtime) = RUNTIME.get_or_init(|| tokio::runtime::Builder::new_current_thread().build().ok()) else {
        return 0;
    };
    let request = || {
        axum::http::Request::builder()
            .method("POST")
            .header("content-type", "application/json")
            .body(axum::body::Body::from(data.to_vec()))
            .ok()
    };
    async fn extract<T: serde::de::DeserializeOwned>(request: Option<axum::extract::Request>) -> Option<T> {
        ApiJson::<T>::from_request(request?, &()).await.ok().map(|ApiJson(body)| body)
    }
    let mut accepted = 0;
    runtime.block_on(async {
        if let Some(body) = extract::<accounts::SignUpBody>(request()).await {
            accepted += 1;
            let _ = body.into_request().validate();
        }
        if extract::<accounts::TokenRequest>(request()).await.is_some() {
            accepted += 1;
        }
        if extract::<password_reset::ResetRequestBody>(request()).await.is_some() {
            accepted += 1;
        }
        if extract::<password_reset::ResetConfirmBody>(request()).await.is_some() {
            accepted += 1;
        }
        if extract::<attendance::CheckinBody>(request()).await.is_some() {
            accepted += 1;
        }
        if let Some(body) = extract::<attendance::SheetBody>(request()).await {
            accepted += 1;
            if let Ok(input) = body.into_input() {
                let _ = lms_core::attendance::recording::validate_sheet(&input);
            }
        }
        if let Some(body) = extract::<attendance::SignatureBody>(request()).await {
            accepted += 1;
            let _ = lms_core::attendance::signature::DrawnSignature::parse(&body.signature_text());
        }
        if let Some(body) = extract::<assessment::ResultsBody>(request()).await {
            accepted += 1;
            for input in body.into_inputs().unwrap_or_default() {
                let _ = lms_core::assessment::grid::clean_evidence(input.evidence.as_deref());
            }
        }
    });
    if let Ok(body) = enrolments::parse_optional_body(&axum::body::Bytes::copy_from_slice(data)) {
        accepted += 1;
        let _ = body.into_request().validate();
    }
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(uri) = format!("/?{text}").parse::<axum::http::Uri>()
        && let Ok(axum::extract::Query(params)) = axum::extract::Query::<search::SearchParams>::try_from_uri(&uri)
        && search::to_query(params).is_ok()
    {
        accepted += 1;
    }
    accepted
}
