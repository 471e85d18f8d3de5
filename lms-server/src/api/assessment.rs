//! Competence assessment over JSON: a session's grid (trainees × competences, grouped by unit),
//! recording results in one request, one trainee's results with history, and the trainee's own
//! results. Who may do what is decided in `lms_core::attendance::authz`.

use axum::extract::{Path, Request, State};
use axum::routing::get;
use axum::{Json, Router};
use lms_core::assessment::grid::{self, AssessmentGrid, GridOutcome, ResultInput, TraineeAssessment};
use lms_core::assessment::{AssessmentError, AssessmentResult};
use lms_core::attendance::Actor;
use serde::Deserialize;

use super::catalogue::session_id;
use crate::auth::ApiCaller;
use crate::error::ApiError;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/sessions/{id}/assessments", get(read_grid).put(record))
        .route("/sessions/{id}/assessments/{trainee}", get(trainee_results))
        .route("/me/assessments", get(my_results))
}

async fn read_grid(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<AssessmentGrid>, ApiError> {
    let session = session_id(&id)?;
    Ok(Json(state.db(move |conn| grid::assessment_grid(conn, Actor::Person(&caller), &session)).await?))
}

/// One result in a request.
#[derive(Debug, Deserialize)]
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ResultsBody {
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

async fn record(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    request: Request,
) -> Result<Json<GridOutcome>, ApiError> {
    let session = session_id(&id)?;
    let body: ResultsBody = super::attendance::trainer_body(&state, &caller, &session, request).await?;
    let inputs = body.into_inputs()?;
    Ok(Json(state.db(move |conn| grid::record_results(conn, &caller, &session, &inputs, lms_core::db::now())).await?))
}

async fn trainee_results(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path((id, trainee)): Path<(String, String)>,
) -> Result<Json<TraineeAssessment>, ApiError> {
    let session = session_id(&id)?;
    Ok(Json(state.db(move |conn| grid::trainee_assessment(conn, Actor::Person(&caller), &session, &trainee)).await?))
}

async fn my_results(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
) -> Result<Json<Vec<TraineeAssessment>>, ApiError> {
    Ok(Json(state.db(move |conn| grid::my_results(conn, &caller.user.id)).await?))
}
