//! Course and session pages — everything a training organisation must publish — and the enrol and
//! cancel buttons.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect};
use lms_core::catalogue;
use lms_core::enrolment::{self, EnrolmentRequest, EnrolmentStatus, WithdrawalEffect};
use lms_core::locale;
use minijinja::context;
use serde::{Deserialize, Serialize};

use super::{base_context, info_message, render};
use crate::auth::{MaybeCaller, PageCaller};
use crate::error::PageResult;
use crate::extract::SessionPath;
use crate::forms::{CsrfForm, NoFields};
use crate::routes::Routes;
use crate::state::AppState;

pub fn router() -> Routes {
    Routes::new()
        .get("/courses/{code}", course_page)
        .get("/sessions/{id}", session_page)
        .post("/sessions/{id}/enrol", enrol)
        .get("/sessions/{id}/cancel", cancel_confirmation)
        .post("/sessions/{id}/cancel", cancel)
}

/// French labels of funding sources, in the order the form shows them.
const FUNDING_LABELS: &[(&str, &str)] = &[
    ("self_funded", "Financement personnel"),
    ("cpf", "Compte personnel de formation (CPF)"),
    ("opco", "OPCO (plan de développement des compétences)"),
    ("company", "Mon employeur"),
    ("france_travail", "France Travail"),
    ("region", "Région"),
    ("state", "État"),
    ("other_public", "Autre financement public"),
    ("other_provider", "Autre organisme de formation"),
    ("other", "Autre"),
];

const CATEGORY_LABELS: &[(&str, &str)] = &[
    ("employee", "Salarié·e"),
    ("job_seeker", "Demandeur·se d'emploi"),
    ("individual", "Particulier (à titre individuel)"),
    ("apprentice", "Apprenti·e"),
    ("other", "Autre"),
];

#[derive(Serialize)]
struct HalfDayRow {
    date: String,
    slot: &'static str,
    hours: String,
    module: Option<String>,
}

/// One venue of a session page, with what is held there.
#[derive(Serialize)]
struct VenueRow {
    slug: String,
    name: String,
    commune: String,
    address: Option<String>,
    postcode: Option<String>,
    pmr: Option<bool>,
    access_note: Option<String>,
    half_day_count: usize,
    hours: String,
    half_days: Vec<HalfDayRow>,
}

async fn course_page(
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    Path(code): Path<String>,
) -> PageResult {
    let page = state.db(move |conn| catalogue::course_page(conn, &code, catalogue::paris_today())).await?;
    Ok(render(
        &state,
        "course.html",
        context! {
            price => locale::euros_fr(page.course.price_cents),
            admission_label => page.course.admission.label_fr(),
            course => page.course,
            sessions => page.sessions,
            ..base_context(caller.as_ref())
        },
    ))
}

#[derive(Debug, Deserialize)]
struct InfoQuery {
    info: Option<String>,
}

async fn session_page(
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    SessionPath(id): SessionPath,
    Query(query): Query<InfoQuery>,
) -> PageResult {
    let viewer = caller.clone();
    let target = id.clone();
    let page =
        state.db(move |conn| enrolment::session_page(conn, viewer.as_ref(), &target, lms_core::db::now())).await?;
    // The visitor's own admission decision and adapted pathway (nobody else's).
    let own_decision = match caller.as_ref().map(|c| c.user.id.clone()) {
        None => None,
        Some(user) => state
            .db(move |conn| enrolment::own_request(conn, &user, &id))
            .await?
            .and_then(|r| r.decision.map(|d| (d.label_fr(), r.pathway.map(|p| p.summary_fr()), r.decision_reason))),
    };
    let venues: Vec<VenueRow> = page
        .venues
        .iter()
        .map(|v| VenueRow {
            slug: v.venue.clone(),
            name: v.name.clone(),
            commune: v.commune.clone(),
            address: v.address.clone(),
            postcode: v.postcode.clone(),
            pmr: v.accessible_pmr,
            access_note: v.accessibility_note.clone(),
            half_day_count: v.half_days.len(),
            hours: locale::hours_fr(v.hours),
            half_days: v
                .half_days
                .iter()
                .map(|h| HalfDayRow {
                    date: locale::date_fr(h.date),
                    slot: h.slot.label_fr(),
                    hours: format!("{} – {}", locale::time_fr(h.starts_at), locale::time_fr(h.ends_at)),
                    module: h.module.clone(),
                })
                .collect(),
        })
        .collect();
    let place = match venues.as_slice() {
        [only] => format!("{} ({})", only.name, only.commune),
        several => format!("{} lieux", several.len()),
    };
    let cancelled = page.detail.session.status == catalogue::TrainingSessionStatus::Cancelled;
    let enrolment_status = page.standing.as_ref().map(|s| s.status);
    Ok(render(
        &state,
        "session.html",
        context! {
            under_way => page.closure == Some(enrolment::EnrolmentClosure::UnderWay),
            cancelled => cancelled,
            confirmed => enrolment_status == Some(EnrolmentStatus::Confirmed),
            waitlisted => enrolment_status == Some(EnrolmentStatus::Waitlisted),
            requested => enrolment_status == Some(EnrolmentStatus::Requested),
            refused => enrolment_status == Some(EnrolmentStatus::Refused),
            on_request => page.course.admission == catalogue::AdmissionMode::OnRequest,
            closes => page.closes_at.map(|c| format!(
                "{} à {}",
                locale::date_fr(locale::to_paris(c).date()),
                locale::time_fr(c)
            )),
            session => page.detail.session,
            trainers => page.detail.trainers,
            scheduled_hours => locale::hours_fr(page.detail.scheduled_hours),
            venues => venues,
            place => place,
            price => locale::euros_fr(page.course.price_cents),
            admission_label => page.course.admission.label_fr(),
            course => page.course,
            waitlist_position => page.standing.and_then(|s| s.waitlist_position),
            active => page.standing.is_some_and(|s| s.is_active()),
            withdrawal => page.withdrawal,
            open => page.open,
            closed_because => page.closure.map(|c| c.explanation_fr()),
            funding_labels => FUNDING_LABELS,
            category_labels => CATEGORY_LABELS,
            info => info_message(query.info.as_deref()),
            own_decision => own_decision,
            ..base_context(caller.as_ref())
        },
    ))
}

#[derive(Debug, Deserialize)]
struct EnrolForm {
    #[serde(default)]
    funding_source: Option<String>,
    #[serde(default)]
    trainee_category: Option<String>,
    #[serde(default)]
    positioning_answers: Option<String>,
    /// A private request for disability adjustments, sent to the referent with the enrolment.
    #[serde(default)]
    adjustment_request: Option<String>,
    /// `answer_1`, `answer_2`…: the answers to a course's positioning questions (the other
    /// fields of the form land here too and are ignored).
    #[serde(flatten)]
    others: std::collections::HashMap<String, String>,
}

/// The answers `answer_1`… `answer_N` of the form, in order, stopping at the first missing one.
fn numbered_answers(fields: &std::collections::HashMap<String, String>) -> Vec<String> {
    (1..=catalogue::MAX_POSITIONING_QUESTIONS).map_while(|n| fields.get(&format!("answer_{n}")).cloned()).collect()
}

fn blank_to_none(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

async fn enrol(
    State(state): State<AppState>,
    SessionPath(session): SessionPath,
    CsrfForm { caller, form }: CsrfForm<EnrolForm>,
) -> PageResult {
    let request = EnrolmentRequest {
        funding_source: blank_to_none(form.funding_source),
        trainee_category: blank_to_none(form.trainee_category),
        positioning_answers: blank_to_none(form.positioning_answers),
        answers: numbered_answers(&form.others),
    };
    let target = session.clone();
    let adjustment = form.adjustment_request;
    let outcome = state
        .db(move |conn| {
            lms_core::adjustments::enrol_with_request(
                conn,
                &target,
                &caller,
                &request,
                adjustment.as_deref(),
                lms_core::db::now(),
            )
        })
        .await?;
    let info = match (outcome.created, outcome.status) {
        (false, _) => "already",
        (true, EnrolmentStatus::Waitlisted) => "waitlisted",
        (true, EnrolmentStatus::Requested) => "requested",
        _ => "enrolled",
    };
    Ok(Redirect::to(&format!("/sessions/{session}?info={info}")).into_response())
}

/// The confirmation page of a withdrawal (it works without JavaScript): what cancelling will do,
/// as the core decides it, and the form that does it.
async fn cancel_confirmation(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    SessionPath(session): SessionPath,
) -> PageResult {
    let who = caller.clone();
    let preview =
        state.db(move |conn| enrolment::withdrawal_preview(conn, &session, &who, lms_core::db::now())).await?;
    Ok(render(
        &state,
        "cancel_confirm.html",
        context! {
            abandon => preview.effect == WithdrawalEffect::Abandon,
            waitlisted => preview.status == EnrolmentStatus::Waitlisted,
            requested => preview.status == EnrolmentStatus::Requested,
            seat_goes_to_waitlist => preview.seat_goes_to_waitlist,
            attended => preview.attended_minutes.map(locale::duration_fr),
            session => preview.session,
            ..base_context(Some(&caller))
        },
    ))
}

async fn cancel(
    State(state): State<AppState>,
    SessionPath(session): SessionPath,
    CsrfForm { caller, .. }: CsrfForm<NoFields>,
) -> PageResult {
    let target = session.clone();
    // A promoted trainee's convocation is queued by the same transaction.
    let outcome = state.db(move |conn| enrolment::cancel(conn, &target, &caller, lms_core::db::now())).await?;
    if outcome.status == EnrolmentStatus::Abandoned {
        // The hours attended stay on the record: /me shows them.
        return Ok(Redirect::to("/me?info=abandoned").into_response());
    }
    Ok(Redirect::to(&format!("/sessions/{session}?info=cancelled")).into_response())
}
