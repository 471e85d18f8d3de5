//! What a trainee sees of their own enrolments: status or rank, next half-days, convocation.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;

use super::{EnrolmentError, EnrolmentStatus};
use crate::catalogue::{self, Slot, TrainingSessionDetail, TrainingSessionFilter, TrainingSessionView};
use crate::db::ids::{HalfDayId, TrainingSessionId, UserId};
use crate::db::schema::{communes, courses, enrolments, half_days, training_sessions, users, venues};
use crate::db::{DbConn, DbError};

/// One of my enrolments.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct MyEnrolment {
    /// The session.
    pub session: TrainingSessionView,
    /// My status.
    pub status: EnrolmentStatus,
    /// My rank on the waitlist.
    pub waitlist_position: Option<i64>,
}

/// A trainee's standing in one session, if enrolled at all.
pub fn standing(
    conn: &mut DbConn,
    session: &TrainingSessionId,
    trainee: &UserId,
) -> Result<Option<(EnrolmentStatus, Option<i64>)>, EnrolmentError> {
    let row: Option<(EnrolmentStatus, Option<i64>)> = enrolments::table
        .filter(enrolments::training_session_id.eq(session))
        .filter(enrolments::trainee_id.eq(trainee))
        .select((enrolments::status, enrolments::waitlist_seq))
        .first(conn)
        .optional()
        .map_err(DbError::from)?;
    let Some((status, seq)) = row else { return Ok(None) };
    let position = match seq {
        Some(seq) => Some(super::waitlist_position(conn, session, seq)?),
        None => None,
    };
    Ok(Some((status, position)))
}

/// Every enrolment of a trainee (cancelled ones last), by session start.
pub fn my_enrolments(conn: &mut DbConn, trainee: &UserId) -> Result<Vec<MyEnrolment>, EnrolmentError> {
    let rows: Vec<(TrainingSessionId, EnrolmentStatus, Option<i64>)> = enrolments::table
        .filter(enrolments::trainee_id.eq(trainee))
        .select((enrolments::training_session_id, enrolments::status, enrolments::waitlist_seq))
        .load(conn)
        .map_err(DbError::from)?;
    let ids: Vec<TrainingSessionId> = rows.iter().map(|(id, _, _)| id.clone()).collect();
    let sessions =
        catalogue::list_training_sessions(conn, &TrainingSessionFilter { ids: Some(ids), ..Default::default() })
            .map_err(|e| EnrolmentError::Invalid(e.to_string()))?;
    let mut mine = Vec::with_capacity(rows.len());
    for (session_id, status, seq) in rows {
        let Some(session) = sessions.iter().find(|s| s.id == session_id).cloned() else { continue };
        // Only waitlisted enrolments need a rank (usually none or one).
        let waitlist_position = match seq {
            Some(seq) => Some(super::waitlist_position(conn, &session_id, seq)?),
            None => None,
        };
        mine.push(MyEnrolment { session, status, waitlist_position });
    }
    let rank = |s: EnrolmentStatus| match s {
        EnrolmentStatus::Confirmed | EnrolmentStatus::Waitlisted => 0,
        EnrolmentStatus::Completed => 1,
        _ => 2,
    };
    mine.sort_by_key(|e| (rank(e.status), e.session.start));
    Ok(mine)
}

/// One of my next half-days, with where to go.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct MyHalfDay {
    /// Half-day.
    pub half_day: HalfDayId,
    /// Session.
    pub session: TrainingSessionId,
    /// Course title.
    pub course_title: String,
    /// Local date.
    pub date: NaiveDate,
    /// `morning` or `afternoon`.
    pub slot: Slot,
    /// Start (UTC).
    pub starts_at: NaiveDateTime,
    /// End (UTC).
    pub ends_at: NaiveDateTime,
    /// Module.
    pub module: Option<String>,
    /// Venue name.
    pub venue_name: String,
    /// Venue street address, when known.
    pub address: Option<String>,
    /// Venue postcode.
    pub postcode: Option<String>,
    /// Venue commune.
    pub commune: String,
}

type MyHalfDayRow = (
    HalfDayId,
    TrainingSessionId,
    String,
    NaiveDate,
    Slot,
    NaiveDateTime,
    NaiveDateTime,
    Option<String>,
    String,
    Option<String>,
    Option<String>,
    String,
);

/// The next half-days of the sessions where the trainee is confirmed (one query).
pub fn my_next_half_days(
    conn: &mut DbConn,
    trainee: &UserId,
    now: NaiveDateTime,
    limit: i64,
) -> Result<Vec<MyHalfDay>, EnrolmentError> {
    let rows: Vec<MyHalfDayRow> = half_days::table
        .inner_join(training_sessions::table.inner_join(courses::table))
        .inner_join(venues::table.inner_join(communes::table))
        .filter(
            half_days::training_session_id.eq_any(
                enrolments::table
                    .filter(enrolments::trainee_id.eq(trainee))
                    .filter(enrolments::status.eq(EnrolmentStatus::Confirmed))
                    .select(enrolments::training_session_id),
            ),
        )
        .filter(half_days::ends_at.gt(now))
        .filter(training_sessions::status.ne(crate::catalogue::TrainingSessionStatus::Cancelled))
        .order(half_days::starts_at.asc())
        .limit(limit.clamp(1, 200))
        .select((
            half_days::id,
            half_days::training_session_id,
            courses::title,
            half_days::day,
            half_days::slot,
            half_days::starts_at,
            half_days::ends_at,
            half_days::module,
            venues::name,
            venues::address,
            venues::postcode,
            communes::name,
        ))
        .load(conn)
        .map_err(DbError::from)?;
    Ok(rows
        .into_iter()
        .map(
            |(
                half_day,
                session,
                course_title,
                date,
                slot,
                starts_at,
                ends_at,
                module,
                venue_name,
                address,
                postcode,
                commune,
            )| {
                MyHalfDay {
                    half_day,
                    session,
                    course_title,
                    date,
                    slot,
                    starts_at,
                    ends_at,
                    module,
                    venue_name,
                    address,
                    postcode,
                    commune,
                }
            },
        )
        .collect())
}

/// What a convocation states: who is invited, to what, when and where.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Convocation {
    /// Trainee's name.
    pub trainee_name: String,
    /// Trainee's e-mail.
    pub trainee_email: String,
    /// The session with its schedule.
    pub session: TrainingSessionDetail,
    /// Course objectives, as published.
    pub objectives: Vec<String>,
    /// Course duration in hours.
    pub duration_hours: f64,
}

/// The convocation of a confirmed trainee (refused otherwise).
pub fn convocation(
    conn: &mut DbConn,
    session: &TrainingSessionId,
    trainee: &UserId,
) -> Result<Convocation, EnrolmentError> {
    match standing(conn, session, trainee)? {
        Some((EnrolmentStatus::Confirmed | EnrolmentStatus::Completed, _)) => {}
        _ => return Err(EnrolmentError::NotEnrolled),
    }
    let detail = catalogue::show_training_session(conn, session).map_err(|_| EnrolmentError::UnknownTrainingSession)?;
    let course =
        catalogue::find_course(conn, &detail.session.course).map_err(|e| EnrolmentError::Invalid(e.to_string()))?;
    let (trainee_name, trainee_email): (String, String) =
        users::table.find(trainee).select((users::display_name, users::email)).first(conn).map_err(DbError::from)?;
    Ok(Convocation {
        trainee_name,
        trainee_email,
        objectives: course.objectives,
        duration_hours: detail.scheduled_hours,
        session: detail,
    })
}
