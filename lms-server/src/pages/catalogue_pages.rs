//! Course and session pages — everything a training organisation must publish — and the enrol and
//! cancel buttons.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect};
use lms_core::catalogue;
use lms_core::enrolment::{self, EnrolmentRequest, EnrolmentStatus};
use lms_core::locale;
use minijinja::context;
use serde::{Deserialize, Serialize};

use super::{base_context, info_message, render};
use crate::auth::MaybeCaller;
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
    venue_name: String,
    venue: String,
    commune: String,
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
    let page = state.db(move |conn| enrolment::session_page(conn, viewer.as_ref(), &id, lms_core::db::now())).await?;
    let half_days: Vec<HalfDayRow> = page
        .detail
        .half_days
        .iter()
        .map(|h| HalfDayRow {
            date: locale::date_fr(h.date),
            slot: h.slot.label_fr(),
            hours: format!("{} – {}", locale::time_fr(h.starts_at), locale::time_fr(h.ends_at)),
            module: h.module.clone(),
            venue_name: h.venue_name.clone(),
            venue: h.venue.clone(),
            commune: h.commune.clone(),
        })
        .collect();
    let enrolment_status = page.standing.as_ref().map(|s| s.status);
    Ok(render(
        &state,
        "session.html",
        context! {
            under_way => page.closure == Some(enrolment::EnrolmentClosure::UnderWay),
            confirmed => enrolment_status == Some(EnrolmentStatus::Confirmed),
            waitlisted => enrolment_status == Some(EnrolmentStatus::Waitlisted),
            session => page.detail.session,
            trainers => page.detail.trainers,
            scheduled_hours => page.detail.scheduled_hours,
            half_days => half_days,
            price => locale::euros_fr(page.course.price_cents),
            course => page.course,
            waitlist_position => page.standing.and_then(|s| s.waitlist_position),
            active => page.standing.is_some_and(|s| s.is_active()),
            open => page.open,
            closed_because => page.closure.map(|c| c.explanation_fr()),
            funding_labels => FUNDING_LABELS,
            category_labels => CATEGORY_LABELS,
            info => info_message(query.info.as_deref()),
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
    };
    let target = session.clone();
    let outcome =
        state.db(move |conn| enrolment::enrol_as(conn, &target, &caller, &request, lms_core::db::now())).await?;
    let info = match (outcome.created, outcome.status) {
        (false, _) => "already",
        (true, EnrolmentStatus::Waitlisted) => "waitlisted",
        _ => "enrolled",
    };
    Ok(Redirect::to(&format!("/sessions/{session}?info={info}")).into_response())
}

async fn cancel(
    State(state): State<AppState>,
    SessionPath(session): SessionPath,
    CsrfForm { caller, .. }: CsrfForm<NoFields>,
) -> PageResult {
    let target = session.clone();
    let outcome = state.db(move |conn| enrolment::cancel(conn, &target, &caller, lms_core::db::now())).await?;
    if let Some(promoted) = outcome.promoted {
        state.email_promotion(session.clone(), promoted);
    }
    Ok(Redirect::to(&format!("/sessions/{session}?info=cancelled")).into_response())
}
