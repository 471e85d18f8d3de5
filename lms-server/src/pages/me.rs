//! `/me`: my enrolments with status or rank, my next half-days, my notifications, convocations.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use lms_core::db::ids::TrainingSessionId;
use lms_core::enrolment::{self, EnrolmentStatus, NoticeReading};
use lms_core::locale;
use minijinja::context;
use serde::{Deserialize, Serialize};

use super::{base_context, info_message, render};
use crate::auth::PageCaller;
use crate::error::PageResult;
use crate::extract::resolve_session;
use crate::routes::Routes;
use crate::state::AppState;

pub fn router() -> Routes {
    Routes::new().get("/me", me).get("/me/convocations/{id}", convocation)
}

#[derive(Debug, Deserialize)]
struct InfoQuery {
    info: Option<String>,
}

#[derive(Serialize)]
struct NextHalfDay {
    session: String,
    course_title: String,
    date: String,
    slot: &'static str,
    hours: String,
    module: Option<String>,
    venue_name: String,
    venue: String,
    address: String,
}

#[derive(Serialize)]
struct MyEnrolmentRow {
    #[serde(flatten)]
    enrolment: enrolment::MyEnrolment,
    has_convocation: bool,
    /// What the page says of the enrolment, with the rank on the waitlist.
    standing: String,
}

fn standing(enrolment: &enrolment::MyEnrolment) -> String {
    match enrolment.status {
        EnrolmentStatus::Confirmed => "Inscription confirmée".to_owned(),
        EnrolmentStatus::Waitlisted => match enrolment.waitlist_position {
            Some(rank) => format!("Liste d'attente : rang {rank}"),
            None => "Liste d'attente".to_owned(),
        },
        EnrolmentStatus::Cancelled => "Annulée".to_owned(),
        EnrolmentStatus::Completed => "Terminée".to_owned(),
        EnrolmentStatus::Abandoned => {
            let hours = lms_core::documents::completion::hours_fr(enrolment.attended_minutes.unwrap_or(0));
            match enrolment.abandoned_at {
                Some(at) => format!("Abandon le {} — {hours} suivies", locale::date_fr(locale::to_paris(at).date())),
                None => format!("Abandon — {hours} suivies"),
            }
        }
        EnrolmentStatus::Requested => "Demande en cours d'examen".to_owned(),
        EnrolmentStatus::Refused => "Demande non retenue".to_owned(),
    }
}

#[derive(Serialize)]
struct Notice {
    message: String,
    link: Option<String>,
    date: String,
    unread: bool,
}

async fn me(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    Query(query): Query<InfoQuery>,
) -> PageResult {
    let who = caller.clone();
    let overview = state
        .db(move |conn| enrolment::my_overview(conn, &who, 10, NoticeReading::MarkSeen, lms_core::db::now()))
        .await?;
    let records = super::trainee_records::records_context(&state, &caller).await?;
    let calendar = super::calendar::feed_context(&state, &caller).await?;
    let next: Vec<NextHalfDay> = overview
        .next_half_days
        .into_iter()
        .map(|h| NextHalfDay {
            address: h.one_line_address(),
            session: h.session.to_string(),
            course_title: h.course_title,
            date: locale::date_fr(h.date),
            slot: h.slot.label_fr_lower(),
            hours: format!("{} – {}", locale::time_fr(h.starts_at), locale::time_fr(h.ends_at)),
            module: h.module,
            venue_name: h.venue_name,
            venue: h.venue,
        })
        .collect();
    let notes: Vec<Notice> = overview
        .notifications
        .into_iter()
        .map(|n| Notice {
            message: n.message,
            link: n.link,
            date: locale::short_date_fr(locale::to_paris(n.created_at).date()),
            unread: n.read_at.is_none(),
        })
        .collect();
    Ok(render(
        &state,
        "me.html",
        context! {
            user => caller.user.clone(),
            enrolments => overview
                .enrolments
                .into_iter()
                .map(|e| MyEnrolmentRow { has_convocation: e.status.has_convocation(), standing: standing(&e), enrolment: e })
                .collect::<Vec<_>>(),
            next_half_days => next,
            notifications => notes,
            records => records,
            calendar => calendar,
            info => info_message(query.info.as_deref()),
            ..base_context(Some(&caller))
        },
    ))
}

/// `/me/convocations/{id}` (the page) and `/me/convocations/{id}.pdf` (the printable PDF): the
/// router matches whole segments only, so both share the route and the extension decides.
async fn convocation(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    Path(raw): Path<String>,
) -> PageResult {
    if let Some(id) = raw.strip_suffix(".pdf") {
        let session = resolve_session(&state, id.to_owned()).await?;
        return convocation_pdf(state, caller, session).await;
    }
    let session = resolve_session(&state, raw).await?;
    let who = caller.clone();
    let convocation = state.db(move |conn| enrolment::convocation(conn, &session, &who)).await?;
    let days: Vec<_> = convocation
        .session
        .half_days
        .iter()
        .map(|h| {
            // The places are read with the schedule, in the same transaction: each half-day has its own.
            let place = convocation.places.iter().find(|p| p.half_day == h.id);
            context! {
                date => locale::date_fr(h.date),
                slot => h.slot.label_fr_lower(),
                hours => format!("{} – {}", locale::time_fr(h.starts_at), locale::time_fr(h.ends_at)),
                venue => h.venue.clone(),
                venue_name => h.venue_name.clone(),
                address => place.map(|p| p.address.clone()).unwrap_or_else(|| h.commune.clone()),
                access => place.and_then(|p| p.accessibility_fr()),
                module => h.module.clone(),
            }
        })
        .collect();
    Ok(render(
        &state,
        "convocation.html",
        context! {
            convocation => convocation,
            days => days,
            issued_on => locale::date_fr(lms_core::catalogue::paris_today()),
            ..base_context(Some(&caller))
        },
    ))
}

async fn convocation_pdf(state: AppState, caller: lms_core::access::Caller, session: TrainingSessionId) -> PageResult {
    let file_name = format!("convocation-{session}.pdf");
    let bytes = state.db(move |conn| enrolment::convocation_pdf(conn, &session, &caller, lms_core::db::now())).await?;
    let mut response =
        ([(header::CONTENT_TYPE, "application/pdf"), (header::CACHE_CONTROL, "private, no-store")], bytes)
            .into_response();
    if let Ok(value) = HeaderValue::from_str(&format!("inline; filename=\"{file_name}\"")) {
        response.headers_mut().insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}
