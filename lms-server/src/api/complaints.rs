//! `POST /complaints` (anyone, with or without an account: a complaint or a difficulty, answered
//! with its reference and answer day) and `POST /sessions/{id}/incidents` (a trainer of the
//! session notes an incident). Both land in the complaints register of `lms_core::complaints`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{NaiveDate, NaiveDateTime};
use lms_core::complaints::{self, ComplaintKind, NewComplaint, Receipt};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ApiJson;
use super::attendance::{JsonBodyRefusals, TrainerWriteRefusals};
use super::openapi::ErrorResponse;
use crate::auth::{ApiSessionTrainer, Client, MaybeCaller};
use crate::error::ApiError;
use crate::routes::Routes;
use crate::state::AppState;

pub fn router() -> Routes {
    Routes::new().post("/complaints", submit).post("/sessions/{id}/incidents", incident)
}

/// A complaint or a difficulty. With a bearer token, the account's name and address are used
/// and `name`/`email` may be left empty.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ComplaintBody {
    /// The author's name.
    #[serde(default)]
    name: String,
    /// The author's e-mail address: the acknowledgement and the answer go there.
    #[serde(default)]
    email: String,
    /// One line, at most 200 characters.
    subject: String,
    /// The message, at most 5 000 characters.
    message: String,
    /// `complaint` (default) or `difficulty`.
    #[serde(default)]
    #[schema(value_type = Option<String>, example = "complaint")]
    kind: Option<String>,
    /// A training session's reference or id, when it is about one.
    #[serde(default)]
    session: Option<String>,
}

/// A complaint, difficulty or incident just recorded.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct ComplaintReceipt {
    /// `REC-2026-0001`: to quote in any exchange about it.
    reference: String,
    /// `complaint`, `difficulty` or `incident`.
    kind: String,
    /// Always `new`.
    status: String,
    /// When it was received (UTC, RFC 3339).
    received_at: String,
    /// The last day of the answer (working days counted).
    #[schema(value_type = String, format = Date)]
    answer_due_on: NaiveDate,
    /// Where the acknowledgement and the answer go.
    email: String,
}

fn rfc3339(at: NaiveDateTime) -> String {
    at.and_utc().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

impl From<Receipt> for ComplaintReceipt {
    fn from(receipt: Receipt) -> Self {
        ComplaintReceipt {
            reference: receipt.reference,
            kind: receipt.kind.as_str().to_owned(),
            status: receipt.status.as_str().to_owned(),
            received_at: rfc3339(receipt.received_at),
            answer_due_on: receipt.answer_due_on,
            email: receipt.email,
        }
    }
}

/// The kind as typed: empty is a complaint; anything else must be `complaint` or `difficulty`.
pub fn parse_kind(raw: Option<&str>) -> Result<Option<ComplaintKind>, ApiError> {
    match raw.map(str::trim).filter(|k| !k.is_empty()) {
        None => Ok(None),
        Some(raw) => raw.parse::<ComplaintKind>().map(Some).map_err(|e| {
            ApiError::from(complaints::ComplaintError::Invalid(format!("{e} : « complaint » ou « difficulty »")))
        }),
    }
}

/// Sends a complaint or reports a difficulty; no account needed.
#[utoipa::path(
    post,
    path = "/api/v1/complaints",
    tag = "quality",
    request_body = ComplaintBody,
    responses(
        (status = 201, description = "Recorded; an acknowledgement is e-mailed.", body = ComplaintReceipt),
        (status = 422, description = "A field breaks a rule (`invalid_input`) or the session is unknown (`unknown_session`).", body = ErrorResponse),
        (status = 429, description = "Too many complaints from this client or for this address (`too_many_attempts`); nothing recorded.", body = ErrorResponse),
        (status = 503, description = "Database busy, retry.", body = ErrorResponse),
        JsonBodyRefusals,
    ),
)]
pub(super) async fn submit(
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    Client(client): Client,
    ApiJson(body): ApiJson<ComplaintBody>,
) -> Result<(StatusCode, Json<ComplaintReceipt>), ApiError> {
    let input = NewComplaint {
        name: body.name,
        email: body.email,
        kind: parse_kind(body.kind.as_deref())?,
        session: body.session,
        subject: body.subject,
        message: body.message,
    };
    let receipt = send_complaint(&state, caller, input, client).await?;
    Ok((StatusCode::CREATED, Json(receipt.into())))
}

/// A complaint from either door.
pub async fn send_complaint(
    state: &AppState,
    caller: Option<lms_core::access::Caller>,
    input: NewComplaint,
    client: lms_core::access::ClientInfo,
) -> Result<Receipt, ApiError> {
    state.db(move |conn| complaints::submit(conn, caller.as_ref(), &input, &client, lms_core::db::now())).await
}

/// An incident noted during a session.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct IncidentBody {
    /// One line (« Incident en session » when empty).
    #[serde(default)]
    subject: String,
    /// What happened, at most 5 000 characters.
    note: String,
}

/// A trainer of the session notes an incident; it joins the complaints register.
#[utoipa::path(
    post,
    path = "/api/v1/sessions/{id}/incidents",
    tag = "quality",
    params(("id" = String, Path, description = "Training session id or reference")),
    request_body = IncidentBody,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Recorded in the register.", body = ComplaintReceipt),
        (status = 404, description = "No such session.", body = ErrorResponse),
        (status = 422, description = "Empty or oversized note (`invalid_input`).", body = ErrorResponse),
        TrainerWriteRefusals,
        JsonBodyRefusals,
    ),
)]
pub(super) async fn incident(
    State(state): State<AppState>,
    ApiSessionTrainer(caller, session): ApiSessionTrainer,
    ApiJson(body): ApiJson<IncidentBody>,
) -> Result<(StatusCode, Json<ComplaintReceipt>), ApiError> {
    let receipt = state
        .db(move |conn| {
            complaints::record_incident(conn, &caller, &session, &body.subject, &body.note, lms_core::db::now())
        })
        .await?;
    Ok((StatusCode::CREATED, Json(receipt.into())))
}
