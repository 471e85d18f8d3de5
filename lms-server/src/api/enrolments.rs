//! Enrolment for the caller: `POST /sessions/{id}/enrolments`, `DELETE /sessions/{id}/enrolments/me`,
//! and `GET /me` (my enrolments, my next half-days, my notifications).

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use lms_core::enrolment::{self, EnrolmentRequest, EnrolmentStatus, NoticeReading};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::openapi::ErrorResponse;
use super::views::{TrainingSession, convert};
use crate::auth::ApiCaller;
use crate::error::ApiError;
use crate::extract::SessionPath;
use crate::routes::Routes;
use crate::state::AppState;

pub fn router() -> Routes {
    Routes::new().post("/sessions/{id}/enrolments", enrol).delete("/sessions/{id}/enrolments/me", cancel).get("/me", me)
}

/// What a trainee may say when enrolling (the whole body is optional).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct EnrolBody {
    /// How the training is funded.
    #[serde(default)]
    funding_source: Option<String>,
    /// Trainee category.
    #[serde(default)]
    trainee_category: Option<String>,
    /// Answers to the positioning questions.
    #[serde(default)]
    positioning_answers: Option<String>,
    /// For a course on request: one answer per positioning question of the course, in order.
    #[serde(default)]
    answers: Vec<String>,
}

/// The answer to an enrolment: a seat or a rank.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct EnrolmentBody {
    /// Enrolment id.
    enrolment_id: String,
    /// Training session id.
    session_id: String,
    /// `confirmed` or `waitlisted`.
    status: String,
    /// Rank on the waitlist.
    waitlist_position: Option<i64>,
}

pub(super) fn parse_optional_body(bytes: &Bytes) -> Result<EnrolBody, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(EnrolBody::default());
    }
    serde_json::from_slice(bytes).map_err(|e| ApiError {
        status: if e.is_syntax() || e.is_eof() { StatusCode::BAD_REQUEST } else { StatusCode::UNPROCESSABLE_ENTITY },
        code: if e.is_syntax() || e.is_eof() { "malformed_json" } else { "invalid_json" },
        message: format!("corps de requête invalide : {}", e.to_string().chars().take(200).collect::<String>()),
        details: None,
    })
}

impl EnrolBody {
    pub(super) fn into_request(self) -> EnrolmentRequest {
        EnrolmentRequest {
            funding_source: self.funding_source,
            trainee_category: self.trainee_category,
            positioning_answers: self.positioning_answers,
            answers: self.answers,
        }
    }
}

/// Enrols the caller (a trainee) in a session: a seat, or a place on the waitlist.
#[utoipa::path(
    post,
    path = "/api/v1/sessions/{id}/enrolments",
    tag = "enrolment",
    params(("id" = String, Path, description = "Training session id (UUID) or reference (`PTL-NA-DEMO-0`).")),
    request_body(content = Option<EnrolBody>, description = "Optional: `{}` or no body at all."),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Enrolled (or waitlisted) now.", body = EnrolmentBody),
        (status = 200, description = "Already enrolled: the existing enrolment.", body = EnrolmentBody),
        (status = 400, description = "Malformed JSON.", body = ErrorResponse),
        (status = 401, description = "No valid token.", body = ErrorResponse),
        (status = 403, description = "Only trainees enrol.", body = ErrorResponse),
        (status = 404, description = "No such session.", body = ErrorResponse),
        (status = 409, description = "Enrolment closed or refused.", body = ErrorResponse),
        (status = 413, description = "Body too large.", body = ErrorResponse),
        (status = 422, description = "Invalid body.", body = ErrorResponse),
        (status = 503, description = "Database busy, retry.", body = ErrorResponse),
    ),
)]
pub(super) async fn enrol(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    SessionPath(session): SessionPath,
    body: Bytes,
) -> Result<(StatusCode, Json<EnrolmentBody>), ApiError> {
    // The body is optional ({} or nothing); when present it must be valid JSON of this shape.
    let request = parse_optional_body(&body)?.into_request();
    let target = session.clone();
    let outcome =
        state.db(move |conn| enrolment::enrol_as(conn, &target, &caller, &request, lms_core::db::now())).await?;
    let status = if outcome.created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((
        status,
        Json(EnrolmentBody {
            enrolment_id: outcome.enrolment_id.to_string(),
            session_id: session.to_string(),
            status: convert(outcome.status)?,
            waitlist_position: outcome.waitlist_position,
        }),
    ))
}

/// A cancelled enrolment.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct CancellationBody {
    /// `cancelled`.
    status: String,
    /// What it was (`confirmed` or `waitlisted`).
    previous_status: String,
}

/// Cancels the caller's enrolment in a session (the first on the waitlist may get the seat).
#[utoipa::path(
    delete,
    path = "/api/v1/sessions/{id}/enrolments/me",
    tag = "enrolment",
    params(("id" = String, Path, description = "Training session id (UUID) or reference (`PTL-NA-DEMO-0`).")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Cancelled.", body = CancellationBody),
        (status = 401, description = "No valid token.", body = ErrorResponse),
        (status = 404, description = "No such session or no enrolment in it.", body = ErrorResponse),
        (status = 409, description = "Already cancelled or no longer cancellable.", body = ErrorResponse),
        (status = 503, description = "Database busy, retry.", body = ErrorResponse),
    ),
)]
pub(super) async fn cancel(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    SessionPath(session): SessionPath,
) -> Result<Json<CancellationBody>, ApiError> {
    let target = session.clone();
    let outcome = state.db(move |conn| enrolment::cancel(conn, &target, &caller, lms_core::db::now())).await?;
    // Who was promoted is that person's business: not told here.
    Ok(Json(CancellationBody {
        status: convert(EnrolmentStatus::Cancelled)?,
        previous_status: convert(outcome.previous_status)?,
    }))
}

/// The caller as shown.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct MeUser {
    /// User id.
    id: String,
    /// E-mail address.
    email: String,
    /// Display name.
    name: String,
    /// Roles, sorted (`trainee`, `trainer`, `admin`).
    roles: Vec<String>,
    /// Whether the account may log in.
    active: bool,
    /// Creation time (UTC, RFC 3339).
    created_at: String,
}

/// One of my enrolments.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct MyEnrolmentBody {
    /// The session.
    session: TrainingSession,
    /// `confirmed`, `waitlisted`, `cancelled`, `completed` or `abandoned`.
    status: String,
    /// Rank on the waitlist.
    waitlist_position: Option<i64>,
    /// When I dropped out of the session under way (UTC), for an abandonment.
    abandoned_at: Option<String>,
    /// Minutes I attended, for an abandonment (they stay on the record).
    attended_minutes: Option<i64>,
}

/// One of my next half-days, with where to go.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct MyHalfDayBody {
    /// Half-day id.
    half_day: String,
    /// Training session id.
    session: String,
    /// Course title.
    course_title: String,
    /// Local date (`YYYY-MM-DD`).
    date: String,
    /// `morning` or `afternoon`.
    slot: String,
    /// Start (UTC).
    starts_at: String,
    /// End (UTC).
    ends_at: String,
    /// Module.
    module: Option<String>,
    /// Venue name.
    venue_name: String,
    /// Venue street address, when known.
    address: Option<String>,
    /// Venue postcode.
    postcode: Option<String>,
    /// Venue commune.
    commune: String,
}

/// A notification.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct NotificationBody {
    /// Identifier.
    id: String,
    /// Kind (`waitlist_promoted`…).
    kind: String,
    /// French message.
    message: String,
    /// Where to look.
    link: Option<String>,
    /// When (UTC).
    created_at: String,
    /// When it was seen (UTC).
    read_at: Option<String>,
}

/// The caller, their enrolments, next half-days and notifications.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct MeBody {
    /// The caller.
    user: MeUser,
    /// Their enrolments.
    enrolments: Vec<MyEnrolmentBody>,
    /// Their next half-days (at most 20).
    next_half_days: Vec<MyHalfDayBody>,
    /// Their latest notifications (at most 20).
    notifications: Vec<NotificationBody>,
}

/// The caller's own page: who they are, enrolments, next half-days, notifications.
#[utoipa::path(
    get,
    path = "/api/v1/me",
    tag = "enrolment",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's overview.", body = MeBody),
        (status = 401, description = "No valid token.", body = ErrorResponse),
        (status = 503, description = "Database busy, retry.", body = ErrorResponse),
    ),
)]
pub(super) async fn me(State(state): State<AppState>, ApiCaller(caller): ApiCaller) -> Result<Json<MeBody>, ApiError> {
    let user = caller.user.clone();
    let overview = state
        .db(move |conn| enrolment::my_overview(conn, &caller, 20, NoticeReading::Peek, lms_core::db::now()))
        .await?;
    Ok(Json(MeBody {
        user: convert(user)?,
        enrolments: convert(overview.enrolments)?,
        next_half_days: convert(overview.next_half_days)?,
        notifications: convert(overview.notifications)?,
    }))
}
