//! A trainee's signature drawn on the trainer's device. When one may be asked for is the core's
//! decision (`recording::drawn_signature_request`); this page only shows the pad.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect};
use lms_core::attendance::recording;
use lms_core::locale::date_fr;
use minijinja::context;
use serde::Deserialize;

use super::half_day_key;
use crate::auth::PageSessionTrainer;
use crate::error::PageResult;
use crate::forms::CsrfForm;
use crate::pages::{base_context, render};
use crate::state::AppState;

pub(super) async fn signature_page(
    State(state): State<AppState>,
    PageSessionTrainer(caller, session): PageSessionTrainer,
    Path((_, half_day, trainee)): Path<(String, String, String)>,
) -> PageResult {
    let half_day = half_day_key(&half_day)?;
    let who = caller.clone();
    let request = state
        .db(move |conn| {
            recording::drawn_signature_request(conn, &who, &session, &half_day, &trainee, lms_core::db::now())
        })
        .await?;
    Ok(render(
        &state,
        "trainer_signature.html",
        context! {
            session => request.session,
            half_day_id => request.half_day.id.to_string(),
            half_day_label => format!("{}, {}", date_fr(request.half_day.date), request.half_day.slot.label_fr_lower()),
            trainee => request.trainee.to_string(),
            name => request.name,
            already => request.already_signed,
            ..base_context(Some(&caller))
        },
    ))
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
    state
        .db(move |conn| {
            recording::record_drawn_signature(
                conn,
                &caller,
                &session,
                &half_day,
                &trainee,
                &form.signature,
                lms_core::db::now(),
            )
        })
        .await?;
    Ok(Redirect::to(&target).into_response())
}
