//! `/trainer/sessions/{id}/incident`: a trainer of the session notes an incident (a trainee
//! taken ill, a venue closed, equipment broken…); it lands in the complaints register, where the
//! office follows it up. Only the session's trainers reach the form.

use axum::extract::State;
use axum::http::StatusCode;
use lms_core::access::Caller;
use lms_core::complaints;
use lms_core::db::ids::TrainingSessionId;
use lms_core::notifications::SessionNaming;
use minijinja::context;
use minijinja::value::merge_maps;
use serde::Deserialize;

use crate::auth::PageSessionTrainer;
use crate::error::PageResult;
use crate::forms::CsrfForm;
use crate::pages::{base_context, render};
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub(super) struct IncidentForm {
    #[serde(default)]
    subject: String,
    note: String,
}

async fn show(
    state: &AppState,
    caller: &Caller,
    session: TrainingSessionId,
    status: StatusCode,
    extra: minijinja::Value,
) -> PageResult {
    let id = session.to_string();
    let naming = state.db(move |conn| SessionNaming::load(conn, &session)).await?;
    let mut page = render(
        state,
        "trainer_incident.html",
        merge_maps([
            context! { session => context! { id => id, reference => naming.reference, course_title => naming.title } },
            extra,
            base_context(Some(caller)),
        ]),
    );
    *page.status_mut() = status;
    Ok(page)
}

pub(super) async fn incident_form(
    State(state): State<AppState>,
    PageSessionTrainer(caller, session): PageSessionTrainer,
) -> PageResult {
    show(&state, &caller, session, StatusCode::OK, context! {}).await
}

pub(super) async fn record_incident(
    State(state): State<AppState>,
    PageSessionTrainer(_, session): PageSessionTrainer,
    CsrfForm { caller, form }: CsrfForm<IncidentForm>,
) -> PageResult {
    let (who, target) = (caller.clone(), session.clone());
    let (subject, note) = (form.subject.clone(), form.note.clone());
    let recorded = state
        .db(move |conn| complaints::record_incident(conn, &who, &target, &subject, &note, lms_core::db::now()))
        .await;
    match recorded {
        Ok(receipt) => show(&state, &caller, session, StatusCode::OK, context! { recorded => receipt.reference }).await,
        Err(error) => {
            let extra = context! { error => error.message, subject => form.subject, note => form.note };
            show(&state, &caller, session, error.status, extra).await
        }
    }
}
