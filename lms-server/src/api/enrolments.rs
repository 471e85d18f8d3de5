//! Enrolment for the caller: `POST /sessions/{id}/enrolments`, `DELETE /sessions/{id}/enrolments/me`,
//! and `GET /me` (my enrolments, my next half-days, my notifications).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use lms_core::enrolment::{self, EnrolmentRequest, EnrolmentStatus, MyEnrolment, MyHalfDay};
use lms_core::notifications::{self, NotificationView};
use lms_core::people::{Role, UserView};
use serde::{Deserialize, Serialize};

use super::catalogue::session_id;
use crate::auth::{ApiCaller, Forbidden};
use crate::error::ApiError;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/sessions/{id}/enrolments", post(enrol))
        .route("/sessions/{id}/enrolments/me", delete(cancel))
        .route("/me", get(me))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct EnrolBody {
    #[serde(default)]
    funding_source: Option<String>,
    #[serde(default)]
    trainee_category: Option<String>,
    #[serde(default)]
    positioning_answers: Option<String>,
}

/// The answer to an enrolment: a seat or a rank.
#[derive(Debug, Serialize)]
struct EnrolmentBody {
    enrolment_id: String,
    session_id: String,
    status: EnrolmentStatus,
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
        }
    }
}

async fn enrol(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<(StatusCode, Json<EnrolmentBody>), ApiError> {
    // The body is optional ({} or nothing); when present it must be valid JSON of this shape.
    let body = parse_optional_body(&body)?;
    if !caller.has_role(Role::Trainee) {
        return Err(Forbidden.into());
    }
    let session = session_id(&id)?;
    let request = body.into_request();
    let trainee = caller.user.id.clone();
    let session_for_call = session.clone();
    let outcome = state
        .db(move |conn| enrolment::enrol(conn, &session_for_call, &trainee, &request, lms_core::db::now()))
        .await?;
    let status = if outcome.created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((
        status,
        Json(EnrolmentBody {
            enrolment_id: outcome.enrolment_id.to_string(),
            session_id: session.to_string(),
            status: outcome.status,
            waitlist_position: outcome.waitlist_position,
        }),
    ))
}

#[derive(Debug, Serialize)]
struct CancellationBody {
    status: EnrolmentStatus,
    previous_status: EnrolmentStatus,
}

async fn cancel(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<CancellationBody>, ApiError> {
    let session = session_id(&id)?;
    let trainee = caller.user.id.clone();
    let target = session.clone();
    let outcome = state.db(move |conn| enrolment::cancel(conn, &target, &trainee, lms_core::db::now())).await?;
    if let Some(promoted) = outcome.promoted.clone() {
        state.email_promotion(session, promoted);
    }
    // Who was promoted is that person's business: not told here.
    Ok(Json(CancellationBody { status: EnrolmentStatus::Cancelled, previous_status: outcome.previous_status }))
}

#[derive(Debug, Serialize)]
struct MeBody {
    user: UserView,
    enrolments: Vec<MyEnrolment>,
    next_half_days: Vec<MyHalfDay>,
    notifications: Vec<NotificationView>,
}

async fn me(State(state): State<AppState>, ApiCaller(caller): ApiCaller) -> Result<Json<MeBody>, ApiError> {
    let user = caller.user.clone();
    let id = user.id.clone();
    let (enrolments, next_half_days, notifications) = state
        .db(move |conn| {
            let now = lms_core::db::now();
            let enrolments = enrolment::my_enrolments(conn, &id)?;
            let next = enrolment::my_next_half_days(conn, &id, now, 20)?;
            let notes = notifications::recent_notifications(conn, &id, 20).map_err(enrolment::EnrolmentError::from)?;
            Ok::<_, enrolment::EnrolmentError>((enrolments, next, notes))
        })
        .await?;
    Ok(Json(MeBody { user, enrolments, next_half_days, notifications }))
}
