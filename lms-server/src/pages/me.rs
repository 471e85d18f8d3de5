//! `/me`: one page per person, with a part for each role (the core's `dashboard::personal_home`):
//! a trainee's sessions and progress, a trainer's sessions, what waits for an administrator; and
//! the convocations.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use lms_core::dashboard::{
    OfficeHome, TaughtSession, TraineeSessionLine, TrainerHome, UNSTAFFED_WITHIN_DAYS, personal_home,
};
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
            let hours = locale::duration_fr(enrolment.attended_minutes.unwrap_or(0));
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

/// One session line of the trainee's part: standing, progress, documents, records.
fn session_line(line: TraineeSessionLine) -> minijinja::Value {
    let TraineeSessionLine { enrolment, attendance, progress, results } = line;
    let session = &enrolment.session;
    context! {
        id => session.id.to_string(),
        reference => session.reference.clone(),
        course_title => session.course_title.clone(),
        start => session.start,
        end => session.end,
        standing => standing(&enrolment),
        abandoned => enrolment.status == EnrolmentStatus::Abandoned,
        has_convocation => enrolment.status.has_convocation(),
        progress => progress.map(|p| context! {
            attended => locale::duration_fr(p.attended_minutes),
            elapsed => locale::duration_fr(p.elapsed_minutes),
            scheduled => locale::duration_fr(p.scheduled_minutes),
            started => p.elapsed_minutes > 0,
            min_percent => p.min_percent,
            met => p.met,
            reachable => p.reachable,
        }),
        completion => attendance.as_ref().is_some_and(|a| a.completion_available),
        attestation => attendance.as_ref().is_some_and(|a| a.attestation_available),
        half_days => attendance.map(|a| a.half_days.iter().map(|h| context! {
            date => locale::short_date_fr(h.date),
            slot => h.slot.label_fr_lower(),
            status => h.status.map(|s| s.label_fr()).unwrap_or("Non renseigné"),
            counted => locale::duration_fr(h.attended_minutes),
            signed => h.signed,
            closed => h.closed,
        }).collect::<Vec<_>>()).unwrap_or_default(),
        results => results.map(|r| context! {
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
                    at => c.current.as_ref().map(|r| locale::short_date_fr(locale::to_paris(r.assessed_at).date())),
                }).collect::<Vec<_>>(),
            }).collect::<Vec<_>>(),
        }),
    }
}

fn half_day_hours(starts_at: chrono::NaiveDateTime, ends_at: chrono::NaiveDateTime) -> String {
    format!("{} – {}", locale::time_fr(starts_at), locale::time_fr(ends_at))
}

/// The trainer's part: sessions of today and next, each with its next half-day.
fn trainer_part(home: TrainerHome) -> minijinja::Value {
    let line = |t: TaughtSession| {
        context! {
            id => t.session.id.to_string(),
            reference => t.session.reference,
            course_title => t.session.course_title,
            start => t.session.start,
            end => t.session.end,
            next => t.next_half_day.map(|h| context! {
                date => locale::date_fr(h.date),
                slot => h.slot.label_fr_lower(),
                hours => half_day_hours(h.starts_at, h.ends_at),
                venue => h.venue,
                venue_name => h.venue_name,
            }),
        }
    };
    context! {
        today => home.today.into_iter().map(line).collect::<Vec<_>>(),
        next => home.next.into_iter().map(line).collect::<Vec<_>>(),
    }
}

/// The administrator's part: what waits for them.
fn office_part(home: OfficeHome) -> minijinja::Value {
    context! {
        pending_requests => home.pending_requests.into_iter().map(|p| context! {
            id => p.session.id.to_string(),
            reference => p.session.reference,
            course_title => p.session.course_title,
            start => p.session.start,
            count => p.count,
        }).collect::<Vec<_>>(),
        failed_mails => home.failed_mails,
        unstaffed => home.unstaffed_sessions.into_iter().map(|s| context! {
            id => s.id.to_string(),
            reference => s.reference,
            course_title => s.course_title,
            start => s.start,
        }).collect::<Vec<_>>(),
        unstaffed_days => UNSTAFFED_WITHIN_DAYS,
    }
}

async fn me(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    Query(query): Query<InfoQuery>,
) -> PageResult {
    let who = caller.clone();
    let home = state.db(move |conn| personal_home(conn, &who, NoticeReading::MarkSeen, lms_core::db::now())).await?;
    let trainee = home.trainee.map(|t| {
        let next: Vec<NextHalfDay> = t
            .next_half_days
            .into_iter()
            .map(|h| NextHalfDay {
                address: h.one_line_address(),
                session: h.session.to_string(),
                course_title: h.course_title,
                date: locale::date_fr(h.date),
                slot: h.slot.label_fr_lower(),
                hours: half_day_hours(h.starts_at, h.ends_at),
                module: h.module,
                venue_name: h.venue_name,
                venue: h.venue,
            })
            .collect();
        context! {
            sessions => t.sessions.into_iter().map(session_line).collect::<Vec<_>>(),
            next_half_days => next,
        }
    });
    let notes: Vec<Notice> = home
        .notifications
        .into_iter()
        .map(|n| Notice {
            message: n.message,
            link: n.link,
            date: locale::short_date_fr(locale::to_paris(n.created_at).date()),
            unread: n.read_at.is_none(),
        })
        .collect();
    let calendar = match home.calendar_feed {
        Some(status) => context! {
            active => status.is_active(),
            created => locale::short_date_fr(locale::to_paris(status.created_at).date()),
        },
        None => context! { active => false },
    };
    Ok(render(
        &state,
        "me.html",
        context! {
            user => caller.user.clone(),
            trainee => trainee,
            trainer => home.trainer.map(trainer_part),
            office => home.office.map(office_part),
            notifications => notes,
            calendar => calendar,
            open_surveys => home.open_surveys.iter().map(|s| context! {
                id => s.id.to_string(),
                title => s.title.clone(),
                course_title => s.course_title.clone(),
                reference => s.session_reference.clone(),
                last_day => locale::date_fr(s.last_day()),
            }).collect::<Vec<_>>(),
            disability_referent => home.disability_referent,
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
    let referent = state.db(lms_core::adjustments::referent_contact).await?;
    let referent_sentence = lms_core::documents::convocation::referent_sentence(
        referent.as_deref(),
        "par le formulaire de contact ou l'adresse de l'organisme",
    );
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
            referent_sentence => referent_sentence,
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
