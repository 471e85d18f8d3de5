//! Competence assessment over JSON: a session's grid (trainees × competences, grouped by unit),
//! recording results in one request, one trainee's results with history, and the trainee's own
//! results. Who may do what is decided in `lms_core::rights`.

use axum::Json;
use axum::extract::{Path, State};
use lms_core::assessment::grid::{self, ResultInput};
use lms_core::assessment::{AssessmentError, AssessmentResult};
use lms_core::attendance::Actor;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::attendance::{JsonBodyRefusals, TrainerWriteRefusals};
use super::json::ApiJson;
use super::openapi::ErrorResponse;
use super::views::{GridTrainee, SessionHeader, TraineeAssessmentResponse, Unit, convert};
use crate::auth::{ApiCaller, ApiSessionTrainer};
use crate::error::ApiError;
use crate::extract::resolve_session;
use crate::routes::Routes;
use crate::state::AppState;

pub fn router() -> Routes {
    Routes::new()
        .get("/sessions/{id}/assessments", read_grid)
        .put("/sessions/{id}/assessments", record)
        .get("/sessions/{id}/assessments/{trainee}", trainee_results)
        .get("/me/assessments", my_results)
}

/// A session's assessment grid: trainees × competences, grouped by unit.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct AssessmentGridResponse {
    /// The session.
    session: SessionHeader,
    /// `teaches`, `oversees` or `console`.
    right: String,
    /// Registry code of the certification prepared (`RS5142`), if any.
    certification: Option<String>,
    /// Units and competences, in référentiel order.
    units: Vec<Unit>,
    /// Number of competences.
    competences: u64,
    /// Confirmed trainees, by name.
    trainees: Vec<GridTrainee>,
}

/// A session's assessment grid.
#[utoipa::path(
    get,
    path = "/api/v1/sessions/{id}/assessments",
    tag = "assessment",
    params(("id" = String, Path, description = "Training session id.")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The grid.", body = AssessmentGridResponse),
        (status = 401, description = "No valid token.", body = ErrorResponse),
        (status = 403, description = "Neither its trainer nor an administrator.", body = ErrorResponse),
        (status = 404, description = "No such session.", body = ErrorResponse),
        (status = 409, description = "The session prepares no certification.", body = ErrorResponse),
        (status = 503, description = "Database busy, retry.", body = ErrorResponse),
    ),
)]
pub(super) async fn read_grid(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<AssessmentGridResponse>, ApiError> {
    let session = resolve_session(&state, id).await?;
    Ok(Json(convert(state.db(move |conn| grid::assessment_grid(conn, Actor::Person(&caller), &session)).await?)?))
}

/// One result in a request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ResultBody {
    /// User id or e-mail address.
    trainee: String,
    /// Competence number (`1.3`).
    competence: String,
    /// `acquired`, `in_progress` or `not_acquired`.
    result: String,
    /// Evidence note (absent: not given).
    #[serde(default)]
    evidence: Option<String>,
}

/// Results to record, in one request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ResultsBody {
    /// The results.
    results: Vec<ResultBody>,
}

impl ResultsBody {
    /// The core's inputs: each result read, each line named in errors.
    pub(super) fn into_inputs(self) -> Result<Vec<ResultInput>, AssessmentError> {
        let mut inputs = Vec::with_capacity(self.results.len());
        for line in self.results {
            let result = AssessmentResult::parse(&line.result).map_err(|e| AssessmentError::InLine {
                line: format!("{} — compétence {}", line.trainee, line.competence),
                source: Box::new(e),
            })?;
            inputs.push(ResultInput {
                trainee: line.trainee,
                competence: line.competence,
                result,
                evidence: line.evidence,
            });
        }
        Ok(inputs)
    }
}

/// What recording results did.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct GridOutcomeResponse {
    /// New results recorded.
    recorded: u64,
    /// Lines identical to the current result, left alone.
    unchanged: u64,
}

/// Records results in one request (the session's trainer).
#[utoipa::path(
    put,
    path = "/api/v1/sessions/{id}/assessments",
    tag = "assessment",
    params(("id" = String, Path, description = "Training session id.")),
    request_body = ResultsBody,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Recorded.", body = GridOutcomeResponse),
        (status = 404, description = "No such session, trainee or competence.", body = ErrorResponse),
        (status = 409, description = "The session prepares no certification, or results are frozen.", body = ErrorResponse),
        (status = 422, description = "Invalid result.", body = ErrorResponse),
        TrainerWriteRefusals,
        JsonBodyRefusals,
    ),
)]
pub(super) async fn record(
    State(state): State<AppState>,
    ApiSessionTrainer(caller, session): ApiSessionTrainer,
    ApiJson(body): ApiJson<ResultsBody>,
) -> Result<Json<GridOutcomeResponse>, ApiError> {
    let inputs = body.into_inputs()?;
    Ok(Json(convert(
        state.db(move |conn| grid::record_results(conn, &caller, &session, &inputs, lms_core::db::now())).await?,
    )?))
}

/// One trainee's results in a session, with history (the trainee, or the session's readers).
#[utoipa::path(
    get,
    path = "/api/v1/sessions/{id}/assessments/{trainee}",
    tag = "assessment",
    params(
        ("id" = String, Path, description = "Training session id."),
        ("trainee" = String, Path, description = "User id or e-mail address."),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The trainee's results.", body = TraineeAssessmentResponse),
        (status = 401, description = "No valid token.", body = ErrorResponse),
        (status = 403, description = "Neither the trainee nor a reader of the session.", body = ErrorResponse),
        (status = 404, description = "No such session or trainee in it.", body = ErrorResponse),
        (status = 409, description = "The session prepares no certification.", body = ErrorResponse),
        (status = 503, description = "Database busy, retry.", body = ErrorResponse),
    ),
)]
pub(super) async fn trainee_results(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path((id, trainee)): Path<(String, String)>,
) -> Result<Json<TraineeAssessmentResponse>, ApiError> {
    let session = resolve_session(&state, id).await?;
    Ok(Json(convert(
        state.db(move |conn| grid::trainee_assessment(conn, Actor::Person(&caller), &session, &trainee)).await?,
    )?))
}

/// The caller's own results, per session.
#[utoipa::path(
    get,
    path = "/api/v1/me/assessments",
    tag = "assessment",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One item per session assessed.", body = Vec<TraineeAssessmentResponse>),
        (status = 401, description = "No valid token.", body = ErrorResponse),
        (status = 503, description = "Database busy, retry.", body = ErrorResponse),
    ),
)]
pub(super) async fn my_results(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
) -> Result<Json<Vec<TraineeAssessmentResponse>>, ApiError> {
    Ok(Json(convert(state.db(move |conn| grid::my_results(conn, &caller.user.id)).await?)?))
}
