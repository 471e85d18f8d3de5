//! Satisfaction surveys for the caller: `GET /me/surveys` (the surveys awaiting their answer,
//! with their questions) and `POST /surveys/{id}/responses` (an answer, once). Both call the core's
//! `surveys` use cases, as the page `/me/questionnaires/{id}` does.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use lms_core::db::ids::SurveyId;
use lms_core::surveys::{self, Answer};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ApiJson;
use super::openapi::ErrorResponse;
use super::views::convert;
use crate::auth::ApiCaller;
use crate::error::ApiError;
use crate::extract::IdPath;
use crate::routes::Routes;
use crate::state::AppState;

pub fn router() -> Routes {
    Routes::new().get("/me/surveys", my_surveys).post("/surveys/{id}/responses", respond)
}

/// One question of a survey.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct SurveyQuestion {
    /// Stable id, the key of its answer.
    id: String,
    /// The question, in French.
    label: String,
    /// `scale` (an integer 1 to 5), `text` (a comment) or `choice` (one of `options`).
    kind: String,
    /// Whether an answer is required.
    required: bool,
    /// Scale: the label of 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    min_label: Option<String>,
    /// Scale: the label of 5.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    max_label: Option<String>,
    /// Text: the longest comment accepted, in characters (2000 when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    max_length: Option<u32>,
    /// Choice: the options.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    options: Vec<String>,
}

/// A survey awaiting the caller's answer.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct SurveyBody {
    /// Survey id (UUID), for `POST /api/v1/surveys/{id}/responses`.
    id: String,
    /// Its title.
    title: String,
    /// `trainee`, `trainer` or `funder`.
    audience: String,
    /// `a_chaud` or `a_froid`.
    timing: String,
    /// Whether the answers are kept without the respondent.
    anonymous: bool,
    /// When it opened (UTC, ISO 8601).
    opens_at: String,
    /// When it closes (UTC, ISO 8601): no answer is taken from then on.
    closes_at: String,
    /// The questions; the overall `satisfaction` (1 to 5) is asked besides them.
    questions: Vec<SurveyQuestion>,
    /// The training session's id.
    session_id: String,
    /// The session's reference.
    session_reference: String,
    /// The course's title.
    course_title: String,
}

/// The caller's open surveys (invited, not answered, open now), closing soonest first.
#[utoipa::path(
    get,
    path = "/api/v1/me/surveys",
    tag = "surveys",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The surveys awaiting the caller's answer.", body = Vec<SurveyBody>),
        (status = 401, description = "No valid token.", body = ErrorResponse),
        (status = 503, description = "Database busy, retry.", body = ErrorResponse),
    ),
)]
pub(super) async fn my_surveys(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
) -> Result<Json<Vec<SurveyBody>>, ApiError> {
    let person = caller.user.id.clone();
    let open = state.db(move |conn| surveys::my_open_surveys(conn, &person, lms_core::db::now())).await?;
    Ok(Json(convert(open)?))
}

/// An answer to a survey.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ResponseBody {
    /// The overall satisfaction, an integer from 1 to 5 (required: without it the answer is
    /// refused with `invalid_satisfaction`, once the caller is known to be invited).
    #[serde(default)]
    satisfaction: Option<i64>,
    /// One value per question id: an integer 1 to 5 for a scale, the option for a choice, the
    /// comment for a text; a question left out is unanswered.
    #[serde(default)]
    #[schema(value_type = Object)]
    answers: BTreeMap<String, serde_json::Value>,
}

/// What was recorded.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ResponseRecorded {
    /// The survey.
    survey: String,
    /// Whether the response was recorded without the respondent.
    anonymous: bool,
    /// When (UTC; midnight of the day for an anonymous survey).
    submitted_at: String,
}

/// Answers a survey the caller was invited to, once.
#[utoipa::path(
    post,
    path = "/api/v1/surveys/{id}/responses",
    tag = "surveys",
    params(("id" = String, Path, description = "Survey id (UUID).")),
    request_body = ResponseBody,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Answer recorded.", body = ResponseRecorded),
        (status = 400, description = "Malformed JSON.", body = ErrorResponse),
        (status = 401, description = "No valid token.", body = ErrorResponse),
        (status = 404, description = "No such survey for the caller (`survey_not_found`).", body = ErrorResponse),
        (status = 409, description = "Already answered (`survey_already_answered`).", body = ErrorResponse),
        (status = 413, description = "Body too large.", body = ErrorResponse),
        (status = 422, description = "Closed (`survey_closed`), not open yet (`survey_not_open`), or an answer that does not fit (`invalid_satisfaction`, `unknown_question`, `missing_answer`, `invalid_answer`): nothing written.", body = ErrorResponse),
        (status = 503, description = "Database busy, retry.", body = ErrorResponse),
    ),
)]
pub(super) async fn respond(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    IdPath(id): IdPath<SurveyId>,
    ApiJson(body): ApiJson<ResponseBody>,
) -> Result<(StatusCode, Json<ResponseRecorded>), ApiError> {
    let answer = Answer { satisfaction: body.satisfaction.map(serde_json::Value::from), answers: body.answers };
    let receipt = state.db(move |conn| surveys::answer(conn, &caller, &id, &answer, lms_core::db::now())).await?;
    Ok((StatusCode::CREATED, Json(convert(receipt)?)))
}
