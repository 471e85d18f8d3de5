//! Course and session pages — everything a training organisation must publish — and the enrol and
//! cancel buttons.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use lms_core::catalogue::{self, TrainingSessionStatus};
use lms_core::enrolment::{self, EnrolmentRequest, EnrolmentStatus};
use lms_core::locale;
use minijinja::context;
use serde::{Deserialize, Serialize};

use super::{base_context, error_page, info_message, render};
use crate::auth::{self, MaybeCaller, PageCaller};
use crate::error::ApiError;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/courses/{code}", get(course_page))
        .route("/sessions/{id}", get(session_page))
        .route("/sessions/{id}/enrol", post(enrol))
        .route("/sessions/{id}/cancel", post(cancel))
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
) -> Response {
    let found = state
        .db(move |conn| {
            let course = catalogue::find_course(conn, &code)?;
            let sessions = catalogue::list_training_sessions(
                conn,
                &catalogue::TrainingSessionFilter {
                    course_code: Some(course.code.clone()),
                    status: Some(TrainingSessionStatus::Published),
                    from: Some(catalogue::paris_today()),
                    ..Default::default()
                },
            )?;
            Ok::<_, catalogue::CatalogueError>((course, sessions))
        })
        .await;
    match found {
        Ok((course, sessions)) => render(
            &state,
            "course.html",
            context! { course => course, price => locale::euros_fr(course.price_cents), sessions => sessions, ..base_context(caller.as_ref()) },
        ),
        Err(error) => error_page(&state, error),
    }
}

#[derive(Debug, Deserialize)]
struct InfoQuery {
    info: Option<String>,
}

async fn session_page(
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    Path(id): Path<String>,
    Query(query): Query<InfoQuery>,
) -> Response {
    let Ok(id) = crate::api::session_id(&id) else {
        return error_page(&state, ApiError::not_found());
    };
    let trainee = caller.as_ref().map(|c| c.user.id.clone());
    let found = state
        .db(move |conn| {
            let detail = catalogue::show_training_session(conn, &id)?;
            let course = catalogue::find_course(conn, &detail.session.course)?;
            let standing = match &trainee {
                Some(trainee) => enrolment::standing(conn, &id, trainee)
                    .map_err(|e| catalogue::CatalogueError::Invalid(e.to_string()))?,
                None => None,
            };
            Ok::<_, catalogue::CatalogueError>((detail, course, standing))
        })
        .await;
    let (detail, course, standing) = match found {
        Ok(found) => found,
        Err(error) => return error_page(&state, error),
    };
    if detail.session.status == TrainingSessionStatus::Draft {
        return error_page(&state, ApiError::not_found());
    }
    let half_days: Vec<HalfDayRow> = detail
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
    let (status, position) = match standing {
        Some((status, position)) => (Some(status), position),
        None => (None, None),
    };
    let active = matches!(status, Some(EnrolmentStatus::Confirmed | EnrolmentStatus::Waitlisted));
    let open = detail.session.status == TrainingSessionStatus::Published;
    render(
        &state,
        "session.html",
        context! {
            session => detail.session,
            trainers => detail.trainers,
            scheduled_hours => detail.scheduled_hours,
            half_days => half_days,
            course => course,
            price => locale::euros_fr(course.price_cents),
            enrolment_status => status,
            waitlist_position => position,
            active => active,
            open => open,
            funding_labels => FUNDING_LABELS,
            category_labels => CATEGORY_LABELS,
            info => info_message(query.info.as_deref()),
            ..base_context(caller.as_ref())
        },
    )
}

#[derive(Debug, Deserialize)]
struct EnrolForm {
    csrf: String,
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
    PageCaller(caller): PageCaller,
    Path(id): Path<String>,
    Form(form): Form<EnrolForm>,
) -> Response {
    if let Err(error) = auth::check_form_token(&caller, &form.csrf) {
        return error_page(&state, error.into());
    }
    if !caller.has_role(lms_core::people::Role::Trainee) {
        return error_page(&state, auth::Forbidden.into());
    }
    let Ok(session) = crate::api::session_id(&id) else {
        return error_page(&state, ApiError::not_found());
    };
    let request = EnrolmentRequest {
        funding_source: blank_to_none(form.funding_source),
        trainee_category: blank_to_none(form.trainee_category),
        positioning_answers: blank_to_none(form.positioning_answers),
    };
    let trainee = caller.user.id.clone();
    let target = session.clone();
    let outcome = state.db(move |conn| enrolment::enrol(conn, &target, &trainee, &request, lms_core::db::now())).await;
    match outcome {
        Ok(outcome) => {
            let info = match (outcome.created, outcome.status) {
                (false, _) => "already",
                (true, EnrolmentStatus::Waitlisted) => "waitlisted",
                _ => "enrolled",
            };
            Redirect::to(&format!("/sessions/{session}?info={info}")).into_response()
        }
        Err(error) => error_page(&state, error),
    }
}

#[derive(Debug, Deserialize)]
struct CancelForm {
    csrf: String,
}

async fn cancel(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    Path(id): Path<String>,
    Form(form): Form<CancelForm>,
) -> Response {
    if let Err(error) = auth::check_form_token(&caller, &form.csrf) {
        return error_page(&state, error.into());
    }
    let Ok(session) = crate::api::session_id(&id) else {
        return error_page(&state, ApiError::not_found());
    };
    let trainee = caller.user.id.clone();
    let target = session.clone();
    match state.db(move |conn| enrolment::cancel(conn, &target, &trainee, lms_core::db::now())).await {
        Ok(outcome) => {
            if let Some(promoted) = outcome.promoted {
                state.email_promotion(session.clone(), promoted);
            }
            Redirect::to(&format!("/sessions/{session}?info=cancelled")).into_response()
        }
        Err(error) => error_page(&state, error),
    }
}
