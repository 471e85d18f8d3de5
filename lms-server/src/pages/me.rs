//! `/me`: my enrolments with status or rank, my next half-days, my notifications, convocations.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::get;
use lms_core::enrolment::{self, EnrolmentError};
use lms_core::locale;
use lms_core::notifications;
use minijinja::context;
use serde::{Deserialize, Serialize};

use super::{base_context, error_page, info_message, render};
use crate::auth::PageCaller;
use crate::error::ApiError;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/me", get(me)).route("/me/convocations/{id}", get(convocation))
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
    address: String,
}

#[derive(Serialize)]
struct Notice {
    message: String,
    link: Option<String>,
    date: String,
    unread: bool,
}

async fn me(State(state): State<AppState>, PageCaller(caller): PageCaller, Query(query): Query<InfoQuery>) -> Response {
    let id = caller.user.id.clone();
    let found = state
        .db(move |conn| {
            let now = lms_core::db::now();
            let mine = enrolment::my_enrolments(conn, &id)?;
            let next = enrolment::my_next_half_days(conn, &id, now, 10)?;
            let notes = notifications::recent_notifications(conn, &id, 10).map_err(EnrolmentError::from)?;
            notifications::mark_all_read(conn, &id, now).map_err(EnrolmentError::from)?;
            Ok::<_, EnrolmentError>((mine, next, notes))
        })
        .await;
    let (mine, next, notes) = match found {
        Ok(found) => found,
        Err(error) => return error_page(&state, error),
    };
    let records = match super::trainee_records::records_context(&state, &caller).await {
        Ok(records) => records,
        Err(error) => return error_page(&state, error),
    };
    let next: Vec<NextHalfDay> = next
        .into_iter()
        .map(|h| NextHalfDay {
            session: h.session.to_string(),
            course_title: h.course_title,
            date: locale::date_fr(h.date),
            slot: h.slot.label_fr_lower(),
            hours: format!("{} – {}", locale::time_fr(h.starts_at), locale::time_fr(h.ends_at)),
            module: h.module,
            venue_name: h.venue_name,
            address: [h.address, h.postcode.map(|p| format!("{p} {}", h.commune)).or(Some(h.commune))]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(", "),
        })
        .collect();
    let notes: Vec<Notice> = notes
        .into_iter()
        .map(|n| Notice {
            message: n.message,
            link: n.link,
            date: locale::short_date_fr(locale::to_paris(n.created_at).date()),
            unread: n.read_at.is_none(),
        })
        .collect();
    render(
        &state,
        "me.html",
        context! {
            user => caller.user.clone(),
            enrolments => mine,
            next_half_days => next,
            notifications => notes,
            records => records,
            info => info_message(query.info.as_deref()),
            ..base_context(Some(&caller))
        },
    )
}

async fn convocation(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    Path(id): Path<String>,
) -> Response {
    let Ok(session) = crate::api::session_id(&id) else {
        return error_page(&state, ApiError::not_found());
    };
    let trainee = caller.user.id.clone();
    match state.db(move |conn| enrolment::convocation(conn, &session, &trainee)).await {
        Ok(convocation) => {
            let days: Vec<_> = convocation
                .session
                .half_days
                .iter()
                .map(|h| {
                    context! {
                        date => locale::date_fr(h.date),
                        slot => h.slot.label_fr_lower(),
                        hours => format!("{} – {}", locale::time_fr(h.starts_at), locale::time_fr(h.ends_at)),
                        venue => format!("{} ({})", h.venue_name, h.commune),
                        module => h.module.clone(),
                    }
                })
                .collect();
            render(
                &state,
                "convocation.html",
                context! {
                    convocation => convocation,
                    days => days,
                    issued_on => locale::date_fr(lms_core::catalogue::paris_today()),
                    ..base_context(Some(&caller))
                },
            )
        }
        Err(error) => error_page(&state, error),
    }
}
