//! A trainee's signature drawn on the trainer's device. When one may be asked for is the core's
//! decision (`recording::drawn_signature_request`); this page only shows the pad, and shows again
//! with the core's explanation when what was drawn is refused (an empty pad, a tap). Without
//! JavaScript the pad cannot be drawn on: the page says so and offers the self check-in code.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use lms_core::access::Caller;
use lms_core::attendance::recording;
use lms_core::db::ids::{HalfDayId, TrainingSessionId};
use lms_core::locale::date_fr;
use minijinja::context;
use serde::Deserialize;

use super::half_day_key;
use crate::auth::PageSessionTrainer;
use crate::error::{ApiError, PageResult};
use crate::forms::CsrfForm;
use crate::pages::{base_context, render};
use crate::state::AppState;

async fn render_pad(
    state: &AppState,
    caller: &Caller,
    session: TrainingSessionId,
    half_day: HalfDayId,
    trainee: String,
    refusal: Option<ApiError>,
) -> PageResult {
    let who = caller.clone();
    let request = state
        .db(move |conn| {
            recording::drawn_signature_request(conn, &who, &session, &half_day, &trainee, lms_core::db::now())
        })
        .await?;
    let (status, error) = match refusal {
        Some(refusal) => (refusal.status, Some(refusal.message)),
        None => (StatusCode::OK, None),
    };
    let mut response = render(
        state,
        "trainer_signature.html",
        context! {
            session => request.session,
            half_day_id => request.half_day.id.to_string(),
            half_day_label => format!("{}, {}", date_fr(request.half_day.date), request.half_day.slot.label_fr_lower()),
            trainee => request.trainee.to_string(),
            name => request.name,
            already => request.already_signed,
            checkin_code_open => request.checkin_code_open,
            error => error,
            ..base_context(Some(caller))
        },
    );
    *response.status_mut() = status;
    Ok(response)
}

pub(super) async fn signature_page(
    State(state): State<AppState>,
    PageSessionTrainer(caller, session): PageSessionTrainer,
    Path((_, half_day, trainee)): Path<(String, String, String)>,
) -> PageResult {
    let half_day = half_day_key(&half_day)?;
    render_pad(&state, &caller, session, half_day, trainee, None).await
}

#[derive(Debug, Deserialize)]
pub(super) struct SignatureForm {
    #[serde(default)]
    signature: String,
}

pub(super) async fn sign(
    State(state): State<AppState>,
    PageSessionTrainer(_, session): PageSessionTrainer,
    Path((_, half_day, trainee)): Path<(String, String, String)>,
    CsrfForm { caller, form }: CsrfForm<SignatureForm>,
) -> PageResult {
    let half_day = half_day_key(&half_day)?;
    let target = format!("/trainer/sessions/{session}/half-days/{half_day}?info=signed");
    let (who, at, key, whom) = (caller.clone(), session.clone(), half_day.clone(), trainee.clone());
    let outcome = state
        .db(move |conn| {
            recording::record_drawn_signature(conn, &who, &at, &key, &whom, &form.signature, lms_core::db::now())
        })
        .await;
    match outcome {
        Ok(_) => Ok(Redirect::to(&target).into_response()),
        // What was drawn is refused: the pad again, with why and what to do.
        Err(refusal) if refusal.status == StatusCode::UNPROCESSABLE_ENTITY => {
            render_pad(&state, &caller, session, half_day, trainee, Some(refusal)).await
        }
        Err(refusal) => Err(refusal.into()),
    }
}
