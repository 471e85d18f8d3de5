//! The trainee's own documents linked from `/me`: the certificat de réalisation and the
//! attestation de fin de formation (the records themselves come with `dashboard::personal_home`).

use axum::extract::State;
use lms_core::access::Caller;
use lms_core::assessment::attestation::attestation_pdf;
use lms_core::attendance::Actor;
use lms_core::attendance::records::completion_pdf;
use lms_core::db::ids::TrainingSessionId;

use super::trainer::pdf_response;
use crate::auth::PageCaller;
use crate::error::PageResult;
use crate::extract::SessionPath;
use crate::routes::Routes;
use crate::state::AppState;

pub fn router() -> Routes {
    Routes::new()
        .get("/me/documents/{id}/completion.pdf", completion)
        .get("/me/documents/{id}/attestation.pdf", attestation)
}

/// Which of the trainee's own documents.
#[derive(Clone, Copy)]
enum MyDocument {
    /// The certificat de réalisation.
    Completion,
    /// The attestation de fin de formation.
    Attestation,
}

async fn my_document(state: &AppState, caller: Caller, session: TrainingSessionId, which: MyDocument) -> PageResult {
    let trainee = caller.user.id.to_string();
    let document = state
        .db(move |conn| {
            let (actor, now) = (Actor::Person(&caller), lms_core::db::now());
            match which {
                MyDocument::Completion => Ok(completion_pdf(conn, actor, &session, &trainee, now)?),
                MyDocument::Attestation => attestation_pdf(conn, actor, &session, &trainee, now),
            }
        })
        .await?;
    Ok(pdf_response(document))
}

async fn completion(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    SessionPath(session): SessionPath,
) -> PageResult {
    my_document(&state, caller, session, MyDocument::Completion).await
}

async fn attestation(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    SessionPath(session): SessionPath,
) -> PageResult {
    my_document(&state, caller, session, MyDocument::Attestation).await
}
