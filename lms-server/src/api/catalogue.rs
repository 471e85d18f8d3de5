//! Public catalogue reads: courses and training sessions (published ones only).

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use lms_core::catalogue::{self, CourseView, TrainingSessionDetail, TrainingSessionStatus};
use lms_core::db::ids::TrainingSessionId;

use crate::error::ApiError;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/courses", get(courses))
        .route("/courses/{code}", get(course))
        .route("/sessions/{id}", get(session))
}

async fn courses(State(state): State<AppState>) -> Result<Json<Vec<CourseView>>, ApiError> {
    Ok(Json(state.db(catalogue::list_courses).await?))
}

async fn course(State(state): State<AppState>, Path(code): Path<String>) -> Result<Json<CourseView>, ApiError> {
    Ok(Json(state.db(move |conn| catalogue::find_course(conn, &code)).await?))
}

/// A session id from the path; anything malformed is simply unknown.
pub fn session_id(raw: &str) -> Result<TrainingSessionId, ApiError> {
    TrainingSessionId::parse(raw)
        .map_err(|_| ApiError::from(catalogue::CatalogueError::UnknownTrainingSession(raw.chars().take(40).collect())))
}

async fn session(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<TrainingSessionDetail>, ApiError> {
    let id = session_id(&id)?;
    let detail = state.db(move |conn| catalogue::show_training_session(conn, &id)).await?;
    // Drafts are not public.
    if detail.session.status == TrainingSessionStatus::Draft {
        return Err(catalogue::CatalogueError::UnknownTrainingSession(detail.session.id.to_string()).into());
    }
    Ok(Json(detail))
}
