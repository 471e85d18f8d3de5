//! What a trainee sees of their own training records on `/me`: hours attended per session,
//! each half-day's status and signature, competence results, and the documents to download
//! (certificat de réalisation, attestation de fin de formation).

use std::collections::HashMap;

use axum::extract::State;
use lms_core::access::Caller;
use lms_core::assessment::AssessmentError;
use lms_core::assessment::attestation::attestation_pdf;
use lms_core::assessment::grid::my_results;
use lms_core::attendance::Actor;
use lms_core::attendance::records::completion_pdf;
use lms_core::attendance::sheets::my_attendance;
use lms_core::db::ids::TrainingSessionId;
use lms_core::documents::completion::hours_fr;
use lms_core::locale::{short_date_fr, to_paris};
use minijinja::context;

use super::trainer::pdf_response;
use crate::auth::PageCaller;
use crate::error::{ApiError, PageResult};
use crate::extract::SessionPath;
use crate::routes::Routes;
use crate::state::AppState;

pub fn router() -> Routes {
    Routes::new()
        .get("/me/documents/{id}/completion.pdf", completion)
        .get("/me/documents/{id}/attestation.pdf", attestation)
}

/// The `records` value of the `/me` page: one entry per session with attendance and results.
pub async fn records_context(state: &AppState, caller: &Caller) -> Result<minijinja::Value, ApiError> {
    let trainee = caller.user.id.clone();
    let (attendance, results) = state
        .db(move |conn| {
            let attendance = my_attendance(conn, &trainee, lms_core::db::now())?;
            let results = my_results(conn, &trainee)?;
            Ok::<_, AssessmentError>((attendance, results))
        })
        .await?;
    let mut results: HashMap<String, _> = results.into_iter().map(|r| (r.session.id.to_string(), r)).collect();
    let sessions: Vec<minijinja::Value> = attendance
        .into_iter()
        .map(|a| {
            let id = a.session.id.to_string();
            let result = results.remove(&id);
            context! {
                id => id,
                course_title => a.session.course_title,
                reference => a.session.reference,
                attended => hours_fr(a.attended_minutes),
                elapsed => hours_fr(a.elapsed_minutes),
                scheduled => hours_fr(a.scheduled_minutes),
                completion => a.completion_available,
                attestation => a.attestation_available,
                half_days => a.half_days.iter().map(|h| context! {
                    date => short_date_fr(h.date),
                    slot => h.slot.label_fr_lower(),
                    status => h.status.map(|s| s.label_fr()).unwrap_or("Non renseigné"),
                    counted => hours_fr(h.attended_minutes),
                    signed => h.signed,
                    closed => h.closed,
                }).collect::<Vec<_>>(),
                results => result.map(|r| context! {
                    certification => r.certification,
                    acquired => r.acquired,
                    total => r.total,
                    units => r.units.iter().map(|u| context! {
                        number => u.number,
                        title => u.title,
                        validated => u.validated,
                        competences => u.competences.iter().map(|c| context! {
                            code => c.code,
                            label => c.label,
                            result => c.current.as_ref().map(|r| r.result.label_fr()).unwrap_or("Non évaluée"),
                            evidence => c.current.as_ref().and_then(|r| r.evidence.clone()),
                            at => c.current.as_ref().map(|r| short_date_fr(to_paris(r.assessed_at).date())),
                        }).collect::<Vec<_>>(),
                    }).collect::<Vec<_>>(),
                }),
            }
        })
        .collect();
    Ok(minijinja::Value::from(sessions))
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
