//! The trainer's list of sessions, one session's half-days with absence alerts, and the PDF
//! attendance sheet of the whole session.

use axum::extract::{Query, State};
use lms_core::attendance::records;
use lms_core::attendance::sheets::{self, HalfDayState, SessionTiming};
use lms_core::attendance::{Actor, AttendanceError};
use lms_core::locale::{date_fr, short_date_fr, time_fr};
use minijinja::context;
use serde::Serialize;

use super::{InfoQuery, at_fr, info, pdf_response};
use crate::auth::PageCaller;
use crate::error::PageResult;
use crate::extract::SessionPath;
use crate::pages::{base_context, render};
use crate::state::AppState;

#[derive(Serialize)]
struct SessionCard {
    id: String,
    reference: String,
    course_title: String,
    dates: String,
    status: lms_core::catalogue::TrainingSessionStatus,
    trainees: i64,
    half_days: i64,
    to_cosign: i64,
    next: Option<String>,
    teaches: bool,
    timing: SessionTiming,
}

pub(super) async fn my_sessions(State(state): State<AppState>, PageCaller(caller): PageCaller) -> PageResult {
    let who = caller.clone();
    let sessions = state.db(move |conn| sheets::sessions_for(conn, &who, lms_core::db::now())).await?;
    let cards: Vec<SessionCard> = sessions
        .into_iter()
        .map(|s| SessionCard {
            id: s.session.id.to_string(),
            reference: s.session.reference,
            course_title: s.session.course_title,
            dates: format!("{} – {}", short_date_fr(s.session.start), short_date_fr(s.session.end)),
            status: s.session.status,
            trainees: s.trainees,
            half_days: s.half_days,
            to_cosign: s.half_days_to_cosign,
            next: s.next_half_day_at.map(at_fr),
            teaches: s.right.can_write(),
            timing: s.timing,
        })
        .collect();
    Ok(render(&state, "trainer_sessions.html", context! { sessions => cards, ..base_context(Some(&caller)) }))
}

#[derive(Serialize)]
struct HalfDayLine {
    id: String,
    date: String,
    slot: &'static str,
    hours: String,
    venue: String,
    venue_name: String,
    address: String,
    module: Option<String>,
    state: HalfDayState,
    state_label: &'static str,
    started: bool,
    recorded: i64,
    attended: i64,
    absent: i64,
    signed: i64,
    cosigned: Option<String>,
}

#[derive(Serialize)]
struct AlertLine {
    name: String,
    email: String,
    consecutive: u32,
    excused: u32,
    since: String,
}

pub(super) async fn session_page(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    SessionPath(session): SessionPath,
    Query(query): Query<InfoQuery>,
) -> PageResult {
    let threshold = match query.seuil.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => sheets::DEFAULT_ABSENCE_ALERT,
        Some(raw) => raw
            .parse::<u32>()
            .map_err(|_| AttendanceError::Invalid("le seuil d'alerte est un nombre de demi-journées".into()))?,
    };
    let who = caller.clone();
    let target = session.clone();
    let attendance = state
        .db(move |conn| sheets::session_attendance(conn, Actor::Person(&who), &target, threshold, lms_core::db::now()))
        .await?;
    // Admission requests with their decisions, and the adjustments agreed (never the requests).
    let who = caller.clone();
    let target = session.clone();
    let requests = state.db(move |conn| lms_core::enrolment::list_requests(conn, Actor::Person(&who), &target)).await?;
    let who = caller.clone();
    let adjustments =
        state.db(move |conn| lms_core::adjustments::agreed_for_session(conn, Actor::Person(&who), &session)).await?;
    let half_days: Vec<HalfDayLine> = attendance
        .half_days
        .iter()
        .map(|h| HalfDayLine {
            id: h.id.to_string(),
            date: date_fr(h.date),
            slot: h.slot.label_fr(),
            hours: format!("{} – {}", time_fr(h.starts_at), time_fr(h.ends_at)),
            venue: h.venue_slug.clone(),
            venue_name: h.venue.clone(),
            address: h.venue_address.clone(),
            module: h.module.clone(),
            state: h.state,
            state_label: h.state.label_fr(),
            started: h.state != HalfDayState::Upcoming,
            recorded: h.recorded,
            attended: h.attended,
            absent: h.absent,
            signed: h.signed,
            cosigned: match (&h.cosigned_by, h.cosigned_at) {
                (Some(by), Some(at)) => Some(format!("par {by}, le {}", at_fr(at))),
                _ => None,
            },
        })
        .collect();
    let alerts: Vec<AlertLine> = attendance
        .alerts
        .iter()
        .map(|a| AlertLine {
            name: a.name.clone(),
            email: a.email.clone(),
            consecutive: a.consecutive,
            excused: a.excused,
            since: date_fr(a.since),
        })
        .collect();
    Ok(render(
        &state,
        "trainer_session.html",
        context! {
            session => attendance.session,
            dates => format!("{} – {}", short_date_fr(attendance.session.start), short_date_fr(attendance.session.end)),
            right => records::right_label(attendance.right),
            can_write => attendance.right.can_write(),
            trainees => attendance.trainees,
            half_days => half_days,
            alerts => alerts,
            absences => attendance.absences_recorded(),
            threshold => attendance.alert_threshold,
            ledger => attendance.ledger,
            requests => requests
                .iter()
                .map(|r| context! {
                    name => r.name,
                    trainee => r.trainee,
                    requested_on => short_date_fr(r.requested_at.date()),
                    answers => r.answers,
                    decision => r.decision.map(|d| d.label_fr()).unwrap_or(r.status.label_fr()),
                    pathway => r.pathway.as_ref().map(|p| p.summary_fr()),
                    reason => r.decision_reason,
                    decided => r.decided_at.map(|at| format!(
                        "{}{}",
                        at_fr(at),
                        r.decided_by.as_ref().map(|by| format!(", par {by}")).unwrap_or_default()
                    )),
                })
                .collect::<Vec<_>>(),
            adjustments => adjustments,
            info => info(query.info.as_deref()),
            ..base_context(Some(&caller))
        },
    ))
}

pub(super) async fn session_sheet_pdf(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    SessionPath(session): SessionPath,
) -> PageResult {
    let document = state
        .db(move |conn| {
            records::attendance_sheet_pdf(conn, Actor::Person(&caller), &session, None, lms_core::db::now())
        })
        .await?;
    Ok(pdf_response(document))
}
