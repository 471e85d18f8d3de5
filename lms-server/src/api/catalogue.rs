//! Public catalogue reads: courses and training sessions (published ones only).

use axum::Json;
use axum::extract::{Path, State};
use lms_core::catalogue;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::openapi::ErrorResponse;
use super::views::{HalfDay, convert};
use crate::error::ApiError;
use crate::extract::SessionPath;
use crate::routes::Routes;
use crate::state::AppState;

pub fn router() -> Routes {
    Routes::new().get("/courses", courses).get("/courses/{code}", course).get("/sessions/{id}", session)
}

/// A course of the catalogue.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct CourseResponse {
    /// Identifier.
    id: String,
    /// Code.
    code: String,
    /// Title.
    title: String,
    /// Summary.
    summary: String,
    /// Objectives.
    objectives: Vec<String>,
    /// Prerequisites.
    prerequisites: Vec<String>,
    /// Audience.
    audience: String,
    /// Content blocks.
    content: Vec<String>,
    /// Module names.
    modules: Vec<String>,
    /// Days.
    duration_days: i64,
    /// Hours (may be fractional).
    duration_hours: f64,
    /// Modalities.
    modalities: String,
    /// Price per trainee in cents.
    price_cents: i64,
    /// Pricing note.
    pricing_note: String,
    /// Accessibility statement.
    accessibility: String,
    /// Evaluation modalities.
    evaluation_modalities: String,
    /// Registry code of the certification prepared.
    certification: Option<String>,
    /// NSF code.
    nsf_code: String,
    /// Formacode.
    formacode: String,
    /// Nature.
    nature: String,
    /// BPF objective category.
    objective_category: String,
    /// ROME codes of the jobs aimed at.
    rome_codes: Vec<String>,
    /// Days before a session's start when its enrolments close.
    enrolment_deadline_days: i64,
    /// `open` or `on_request` (requests decided after positioning).
    admission: String,
    /// Questions a trainee answers when requesting a seat (`answers` of the enrolment body).
    positioning_questions: Vec<String>,
    /// The course's own contact, if any (otherwise the organisation's).
    contact: Option<CourseContactResponse>,
    /// The programme, module by module.
    programme: Vec<ProgrammeModuleResponse>,
    /// When the course left the offer (`null` while offered).
    archived_at: Option<String>,
}

/// Who answers questions about a course.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct CourseContactResponse {
    /// Name.
    name: String,
    /// E-mail.
    #[serde(default)]
    email: Option<String>,
    /// Phone.
    #[serde(default)]
    phone: Option<String>,
}

/// One module of a course's programme.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ProgrammeModuleResponse {
    /// Module name.
    module: String,
    /// What it covers.
    content: Vec<String>,
}

/// A published training session with its schedule and trainers.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct SessionDetailResponse {
    /// Identifier.
    id: String,
    /// Human reference.
    reference: String,
    /// Course code.
    course: String,
    /// Course title.
    course_title: String,
    /// Main venue's slug.
    venue: String,
    /// Main venue's name.
    venue_name: String,
    /// Main venue's commune.
    commune: String,
    /// First day (`YYYY-MM-DD`).
    start: String,
    /// Last day (`YYYY-MM-DD`).
    end: String,
    /// Seats.
    capacity: i64,
    /// Confirmed enrolments.
    confirmed: i64,
    /// Waitlisted enrolments.
    waitlisted: i64,
    /// Seats left.
    seats_left: i64,
    /// `published`, `cancelled` or `completed`.
    status: String,
    /// The schedule, in order.
    half_days: Vec<HalfDay>,
    /// Trainers' display names.
    trainers: Vec<String>,
    /// Scheduled hours in total.
    scheduled_hours: f64,
}

/// Lists the catalogue's courses.
#[utoipa::path(
    get,
    path = "/api/v1/courses",
    tag = "catalogue",
    responses(
        (status = 200, description = "Every course still offered (archived ones left out).", body = Vec<CourseResponse>),
        (status = 503, description = "Database busy, retry.", body = ErrorResponse),
    ),
)]
pub(super) async fn courses(State(state): State<AppState>) -> Result<Json<Vec<CourseResponse>>, ApiError> {
    Ok(Json(convert(state.db(catalogue::list_offered_courses).await?)?))
}

/// One course by its code.
#[utoipa::path(
    get,
    path = "/api/v1/courses/{code}",
    tag = "catalogue",
    params(("code" = String, Path, description = "Course code.")),
    responses(
        (status = 200, description = "The course.", body = CourseResponse),
        (status = 404, description = "No such course.", body = ErrorResponse),
        (status = 503, description = "Database busy, retry.", body = ErrorResponse),
    ),
)]
pub(super) async fn course(
    State(state): State<AppState>,
    Path(code): Path<String>,
) -> Result<Json<CourseResponse>, ApiError> {
    Ok(Json(convert(state.db(move |conn| catalogue::find_course(conn, &code)).await?)?))
}

/// One public training session (drafts are unknown here).
#[utoipa::path(
    get,
    path = "/api/v1/sessions/{id}",
    tag = "catalogue",
    params(("id" = String, Path, description = "Training session id (UUID) or reference (`PTL-NA-DEMO-0`).")),
    responses(
        (status = 200, description = "The session.", body = SessionDetailResponse),
        (status = 404, description = "No such published session.", body = ErrorResponse),
        (status = 503, description = "Database busy, retry.", body = ErrorResponse),
    ),
)]
pub(super) async fn session(
    State(state): State<AppState>,
    SessionPath(id): SessionPath,
) -> Result<Json<SessionDetailResponse>, ApiError> {
    Ok(Json(convert(state.db(move |conn| catalogue::public_session(conn, &id)).await?)?))
}
