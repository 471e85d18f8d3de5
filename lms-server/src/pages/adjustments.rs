//! Disability adjustments: the trainee's private requests (`/me/amenagements`: their own list and
//! the form) and the disability referent's page (`/referent/amenagements`: every request and the
//! decision on each). Whoever else asks for the referent's page gets a 403; no page shows a
//! request to anyone but its author and the referent.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect};
use lms_core::adjustments::{self, AdjustmentDecision, AdjustmentError, AdjustmentStatus};
use lms_core::db::ids::{AdjustmentRequestId, TrainingSessionId};
use lms_core::rights::Actor;
use minijinja::context;
use serde::Deserialize;

use super::{base_context, render};
use crate::auth::PageCaller;
use crate::error::PageResult;
use crate::extract::IdPath;
use crate::forms::CsrfForm;
use crate::routes::Routes;
use crate::state::AppState;

pub fn router() -> Routes {
    Routes::new()
        .get("/me/amenagements", own_page)
        .post("/me/amenagements", ask)
        .get("/referent/amenagements", referent_page)
        .post("/referent/amenagements/{id}", decide)
}

#[derive(Debug, Deserialize)]
struct NoticeQuery {
    #[serde(default)]
    info: Option<String>,
}

fn notice(code: Option<&str>) -> Option<&'static str> {
    match code? {
        "envoyee" => Some(
            "Votre demande est transmise au ou à la référent·e handicap, seule personne à la lire. Vous serez \
             informé·e de sa réponse ici.",
        ),
        "enregistree" => Some("Réponse enregistrée."),
        _ => None,
    }
}

async fn own_page(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    Query(query): Query<NoticeQuery>,
) -> PageResult {
    let who = caller.clone();
    let (requests, sessions) = state
        .db(move |conn| -> Result<_, AdjustmentError> {
            let requests = adjustments::own_requests(conn, &who)?;
            let sessions = adjustments::sessions_to_choose(conn, &who)?;
            Ok((requests, sessions))
        })
        .await?;
    Ok(render(
        &state,
        "adjustments.html",
        context! {
            requests => requests,
            sessions => sessions,
            is_trainee => caller.has_role(lms_core::people::Role::Trainee),
            info => notice(query.info.as_deref()),
            ..base_context(Some(&caller))
        },
    ))
}

#[derive(Debug, Deserialize)]
struct AskForm {
    #[serde(default)]
    session: Option<String>,
    #[serde(default)]
    request: String,
}

async fn ask(State(state): State<AppState>, CsrfForm { caller, form }: CsrfForm<AskForm>) -> PageResult {
    let session = match form.session.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(raw) => Some(raw.parse::<TrainingSessionId>().map_err(|_| AdjustmentError::UnknownTrainingSession)?),
    };
    state
        .db(move |conn| adjustments::request(conn, &caller, session.as_ref(), &form.request, lms_core::db::now()))
        .await?;
    Ok(Redirect::to("/me/amenagements?info=envoyee").into_response())
}

async fn referent_page(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    Query(query): Query<NoticeQuery>,
) -> PageResult {
    let who = caller.clone();
    let requests = state.db(move |conn| adjustments::list_for_referent(conn, Actor::Person(&who))).await?;
    let pending = requests.iter().filter(|r| r.status == AdjustmentStatus::Requested).count();
    Ok(render(
        &state,
        "adjustment_referent.html",
        context! {
            requests => requests,
            pending => pending,
            info => notice(query.info.as_deref()),
            ..base_context(Some(&caller))
        },
    ))
}

#[derive(Debug, Deserialize)]
struct DecideForm {
    #[serde(default)]
    decision: String,
    #[serde(default)]
    adjustments: String,
    #[serde(default)]
    exam_conditions: String,
    #[serde(default)]
    reason: String,
}

async fn decide(
    State(state): State<AppState>,
    IdPath(id): IdPath<AdjustmentRequestId>,
    CsrfForm { caller, form }: CsrfForm<DecideForm>,
) -> PageResult {
    let decision = match form.decision.as_str() {
        "agree" => AdjustmentDecision::Agree {
            adjustments: form.adjustments,
            exam_conditions: Some(form.exam_conditions).filter(|e| !e.trim().is_empty()),
        },
        "decline" => AdjustmentDecision::Decline { reason: form.reason },
        _ => {
            let who = caller.clone();
            state.db(move |conn| adjustments::check_referent(conn, Actor::Person(&who))).await?;
            return Err(AdjustmentError::Invalid(
                "choisissez la réponse : aménagement convenu ou demande non retenue".into(),
            )
            .into());
        }
    };
    state
        .db(move |conn| adjustments::decide(conn, Actor::Person(&caller), &id, &decision, lms_core::db::now()))
        .await?;
    Ok(Redirect::to("/referent/amenagements?info=enregistree").into_response())
}
