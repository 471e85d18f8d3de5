//! A person's home (`/me`): what each of their roles gives them to see, read in one use case.
//!
//! A trainee sees their sessions (one line each, with progress towards the attendance rule), their
//! next half-days at their own venue, their notifications and their calendar address; a trainer
//! their sessions of today and next; an administrator what waits for them (admission requests,
//! failed e-mails, sessions starting soon without a trainer). Someone with several roles sees each
//! part. The decision of who sees which part is [`personal_home`]'s.

use chrono::{Duration, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;

use crate::access::Caller;
use crate::assessment::AssessmentError;
use crate::assessment::grid::TraineeAssessment;
use crate::attendance::AttendanceError;
use crate::attendance::sheets::MyAttendance;
use crate::calendar::CalendarError;
use crate::calendar::feed::FeedStatus;
use crate::catalogue::{self, Slot, TrainingSessionFilter, TrainingSessionStatus, TrainingSessionView};
use crate::db::ids::TrainingSessionId;
use crate::db::schema::{
    certifications, courses, enrolments, half_days, outbox_messages, session_trainers, training_sessions, venues,
};
use crate::db::{self, DbConn, DbError};
use crate::enrolment::{EnrolmentError, EnrolmentStatus, MyEnrolment, MyHalfDay, NoticeReading};
use crate::mail::OutboxStatus;
use crate::notifications::NotificationView;
use crate::people::Role;
use crate::{Classify, ErrorKind};

/// How many days ahead a session without a trainer is flagged to administrators.
pub const UNSTAFFED_WITHIN_DAYS: i64 = 30;

/// How many half-days, notifications and sessions each list shows at most.
const LIST_LIMIT: i64 = 10;

/// Errors of [`personal_home`]: those of the modules it reads.
#[derive(Debug, thiserror::Error)]
pub enum HomeError {
    /// Reading enrolments failed.
    #[error(transparent)]
    Enrolment(#[from] EnrolmentError),
    /// Reading attendance failed.
    #[error(transparent)]
    Attendance(#[from] AttendanceError),
    /// Reading results failed.
    #[error(transparent)]
    Assessment(#[from] AssessmentError),
    /// Reading the calendar address failed.
    #[error(transparent)]
    Calendar(#[from] CalendarError),
    /// Storage failure.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<catalogue::CatalogueError> for HomeError {
    fn from(error: catalogue::CatalogueError) -> Self {
        HomeError::Enrolment(error.into())
    }
}

impl Classify for HomeError {
    fn kind(&self) -> ErrorKind {
        match self {
            HomeError::Enrolment(e) => e.kind(),
            HomeError::Attendance(e) => e.kind(),
            HomeError::Assessment(e) => e.kind(),
            HomeError::Calendar(e) => e.kind(),
            HomeError::Db(e) => e.kind(),
        }
    }
    fn code(&self) -> &'static str {
        match self {
            HomeError::Enrolment(e) => e.code(),
            HomeError::Attendance(e) => e.code(),
            HomeError::Assessment(e) => e.code(),
            HomeError::Calendar(e) => e.code(),
            HomeError::Db(e) => e.code(),
        }
    }
}

/// Everything `/me` shows, each part present only for the roles (or history) that call for it.
#[derive(Debug, Clone, PartialEq)]
pub struct PersonalHome {
    /// The trainee's part: for a trainee, or anyone who has ever enrolled.
    pub trainee: Option<TraineeHome>,
    /// The trainer's part.
    pub trainer: Option<TrainerHome>,
    /// The administrator's part.
    pub office: Option<OfficeHome>,
    /// The latest notifications, newest first, as they were before this read (every role).
    pub notifications: Vec<NotificationView>,
    /// The personal calendar address, if one was made (every role).
    pub calendar_feed: Option<FeedStatus>,
    /// The satisfaction questionnaires awaiting the person's answer (every role).
    pub open_surveys: Vec<crate::surveys::OpenSurvey>,
    /// Whether the person is the disability referent, who reads the adjustment requests.
    pub disability_referent: bool,
}

/// What a trainee sees: one line per session, and where to go next.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TraineeHome {
    /// One line per session, live ones first, then by start.
    pub sessions: Vec<TraineeSessionLine>,
    /// The next half-days where they hold a seat, each at its own venue.
    pub next_half_days: Vec<MyHalfDay>,
}

/// One of the trainee's sessions with their standing, attendance and results.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TraineeSessionLine {
    /// The enrolment (session, status, rank, abandonment).
    pub enrolment: MyEnrolment,
    /// Attendance so far, for a seat held now or once (confirmed, completed, abandoned).
    pub attendance: Option<MyAttendance>,
    /// Progress towards the attendance rule, once some hours are planned.
    pub progress: Option<AttendanceProgress>,
    /// Competence results, when the session prepares a certification.
    pub results: Option<TraineeAssessment>,
}

/// Where a trainee stands against the attendance rule of their session's certification.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct AttendanceProgress {
    /// Minutes attended.
    pub attended_minutes: i64,
    /// Minutes planned on half-days already started.
    pub elapsed_minutes: i64,
    /// Minutes planned in total.
    pub scheduled_minutes: i64,
    /// The certification's minimum share of planned time, percent (none: no certification).
    pub min_percent: Option<i32>,
    /// Whether the minimum is already met.
    pub met: bool,
    /// Whether attending every half-day still to come would meet the minimum.
    pub reachable: bool,
}

impl AttendanceProgress {
    /// Progress from the minutes attended, planned on started half-days and planned in all,
    /// against `min_percent` when the session certifies; `None` while no hour is planned.
    pub fn of(attended: i64, elapsed: i64, scheduled: i64, min_percent: Option<i32>) -> Option<Self> {
        use crate::certification::eligibility::attendance_met;
        if scheduled <= 0 {
            return None;
        }
        let to_come = (scheduled - elapsed).max(0);
        let (met, reachable) = match min_percent {
            Some(min) => (attendance_met(attended, scheduled, min), attendance_met(attended + to_come, scheduled, min)),
            None => (true, true),
        };
        Some(AttendanceProgress {
            attended_minutes: attended,
            elapsed_minutes: elapsed,
            scheduled_minutes: scheduled,
            min_percent,
            met,
            reachable,
        })
    }
}

/// What a trainer sees: their sessions not over yet, soonest first.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TrainerHome {
    /// Sessions they teach with a half-day today.
    pub today: Vec<TaughtSession>,
    /// Their next sessions (not today).
    pub next: Vec<TaughtSession>,
}

/// A session a trainer teaches, with its next half-day.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TaughtSession {
    /// The session.
    pub session: TrainingSessionView,
    /// Its next half-day not over yet.
    pub next_half_day: Option<TaughtHalfDay>,
}

/// A half-day as the trainer's home names it (row type: fields in the order selected).
#[derive(Debug, Clone, Serialize, PartialEq, Queryable)]
pub struct TaughtHalfDay {
    /// Session.
    #[serde(skip)]
    pub session: TrainingSessionId,
    /// Local date.
    pub date: NaiveDate,
    /// `morning` or `afternoon`.
    pub slot: Slot,
    /// Start (UTC).
    pub starts_at: NaiveDateTime,
    /// End (UTC).
    pub ends_at: NaiveDateTime,
    /// Venue name.
    pub venue_name: String,
    /// Venue slug.
    pub venue: String,
}

/// What waits for an administrator.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct OfficeHome {
    /// Sessions with admission requests to decide, oldest session first.
    pub pending_requests: Vec<PendingRequests>,
    /// E-mails the outbox gave up on (`lms mail retry` puts them back).
    pub failed_mails: i64,
    /// Published sessions starting within [`UNSTAFFED_WITHIN_DAYS`] days with no trainer.
    pub unstaffed_sessions: Vec<TrainingSessionView>,
}

/// Admission requests waiting in one session.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PendingRequests {
    /// The session.
    pub session: TrainingSessionView,
    /// How many requests wait.
    pub count: i64,
}

/// The caller's home at `now`, in one transaction (a write transaction when the notifications
/// are marked as seen): the trainee's part for a trainee or anyone with an enrolment, the
/// trainer's for a trainer, the office's for an administrator.
pub fn personal_home(
    conn: &mut DbConn,
    caller: &Caller,
    reading: NoticeReading,
    now: NaiveDateTime,
) -> Result<PersonalHome, HomeError> {
    let read = |conn: &mut DbConn| -> Result<PersonalHome, HomeError> {
        let me = &caller.user.id;
        let enrolments = crate::enrolment::my_enrolments(conn, me)?;
        let trainee = if caller.has_role(Role::Trainee) || !enrolments.is_empty() {
            Some(trainee_home(conn, caller, enrolments, now)?)
        } else {
            None
        };
        let trainer = if caller.has_role(Role::Trainer) { Some(trainer_home(conn, caller, now)?) } else { None };
        let office = if caller.has_role(Role::Admin) { Some(office_home(conn, now)?) } else { None };
        let notifications = crate::notifications::recent_notifications(conn, me, LIST_LIMIT)?;
        if reading == NoticeReading::MarkSeen {
            crate::notifications::mark_all_read(conn, me, now)?;
        }
        let calendar_feed = crate::calendar::feed::feed_status(conn, me)?;
        let open_surveys = crate::surveys::my_open_surveys(conn, me, now)?;
        let disability_referent = crate::adjustments::is_referent(conn, caller)?;
        Ok(PersonalHome { trainee, trainer, office, notifications, calendar_feed, open_surveys, disability_referent })
    };
    match reading {
        NoticeReading::MarkSeen => db::write_transaction(conn, read),
        NoticeReading::Peek => db::read_transaction(conn, read),
    }
}

fn trainee_home(
    conn: &mut DbConn,
    caller: &Caller,
    enrolments: Vec<MyEnrolment>,
    now: NaiveDateTime,
) -> Result<TraineeHome, HomeError> {
    let me = &caller.user.id;
    let ids: Vec<TrainingSessionId> = enrolments.iter().map(|e| e.session.id.clone()).collect();
    let thresholds: Vec<(TrainingSessionId, i32)> = training_sessions::table
        .inner_join(courses::table.inner_join(certifications::table))
        .filter(training_sessions::id.eq_any(&ids))
        .select((training_sessions::id, certifications::min_attendance_percent))
        .load(conn)
        .map_err(DbError::from)?;
    let mut results = crate::assessment::grid::my_results(conn, me)?;
    let mut sessions = Vec::with_capacity(enrolments.len());
    for enrolment in enrolments {
        let id = enrolment.session.id.clone();
        let held_a_seat = EnrolmentStatus::STARTED.contains(&enrolment.status);
        let attendance =
            if held_a_seat { Some(crate::attendance::sheets::one_attendance(conn, &id, me, now)?) } else { None };
        let min_percent = thresholds.iter().find(|(session, _)| *session == id).map(|(_, min)| *min);
        let progress = attendance.as_ref().and_then(|a| {
            AttendanceProgress::of(a.attended_minutes, a.elapsed_minutes, a.scheduled_minutes, min_percent)
        });
        let result = match results.iter().position(|r| r.session.id == id) {
            Some(at) if held_a_seat => Some(results.swap_remove(at)),
            _ => None,
        };
        sessions.push(TraineeSessionLine { enrolment, attendance, progress, results: result });
    }
    let next_half_days = crate::enrolment::my_next_half_days(conn, me, now, LIST_LIMIT)?;
    Ok(TraineeHome { sessions, next_half_days })
}

fn trainer_home(conn: &mut DbConn, caller: &Caller, now: NaiveDateTime) -> Result<TrainerHome, HomeError> {
    let today = crate::locale::to_paris(now).date();
    let taught = crate::roster::sessions_taught_by(conn, &caller.user.id)?;
    let mut sessions = catalogue::list_training_sessions(
        conn,
        &TrainingSessionFilter { ids: Some(taught.clone()), ..Default::default() },
    )?;
    sessions.retain(|s| s.end >= today && s.status == TrainingSessionStatus::Published);
    sessions.sort_by_key(|s| s.start);
    let coming: Vec<TaughtHalfDay> = half_days::table
        .inner_join(venues::table)
        .filter(half_days::training_session_id.eq_any(&taught))
        .filter(half_days::ends_at.gt(now))
        .order(half_days::starts_at.asc())
        .select((
            half_days::training_session_id,
            half_days::day,
            half_days::slot,
            half_days::starts_at,
            half_days::ends_at,
            venues::name,
            venues::slug,
        ))
        .load(conn)
        .map_err(DbError::from)?;
    let (mut today_list, mut next) = (Vec::new(), Vec::new());
    for session in sessions {
        let next_half_day = coming.iter().find(|h| h.session == session.id).cloned();
        let is_today = next_half_day.as_ref().is_some_and(|h| h.date == today);
        let line = TaughtSession { session, next_half_day };
        if is_today {
            today_list.push(line);
        } else if next.len() < LIST_LIMIT as usize {
            next.push(line);
        }
    }
    Ok(TrainerHome { today: today_list, next })
}

fn office_home(conn: &mut DbConn, now: NaiveDateTime) -> Result<OfficeHome, HomeError> {
    let today = crate::locale::to_paris(now).date();
    let waiting: Vec<(TrainingSessionId, i64)> = enrolments::table
        .filter(enrolments::status.eq(EnrolmentStatus::Requested))
        .group_by(enrolments::training_session_id)
        .select((enrolments::training_session_id, diesel::dsl::count_star()))
        .load(conn)
        .map_err(DbError::from)?;
    let failed_mails: i64 = outbox_messages::table
        .filter(outbox_messages::status.eq(OutboxStatus::Failed))
        .count()
        .get_result(conn)
        .map_err(DbError::from)?;
    let unstaffed: Vec<TrainingSessionId> = training_sessions::table
        .filter(training_sessions::status.eq(TrainingSessionStatus::Published))
        .filter(training_sessions::starts_on.ge(today))
        .filter(training_sessions::starts_on.le(today + Duration::days(UNSTAFFED_WITHIN_DAYS)))
        .filter(diesel::dsl::not(diesel::dsl::exists(
            session_trainers::table.filter(session_trainers::training_session_id.eq(training_sessions::id)),
        )))
        .select(training_sessions::id)
        .load(conn)
        .map_err(DbError::from)?;
    let mut ids: Vec<TrainingSessionId> = waiting.iter().map(|(id, _)| id.clone()).collect();
    ids.extend(unstaffed.iter().cloned());
    let mut views =
        catalogue::list_training_sessions(conn, &TrainingSessionFilter { ids: Some(ids), ..Default::default() })?;
    views.sort_by_key(|s| s.start);
    let pending_requests = views
        .iter()
        .filter_map(|s| {
            waiting
                .iter()
                .find(|(id, _)| *id == s.id)
                .map(|(_, count)| PendingRequests { session: s.clone(), count: *count })
        })
        .collect();
    let unstaffed_sessions = views.into_iter().filter(|s| unstaffed.contains(&s.id)).collect();
    Ok(OfficeHome { pending_requests, failed_mails, unstaffed_sessions })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_tells_met_reachable_and_out_of_reach_apart() {
        // 35 h planned, 80 %: 28 h needed.
        let total = 35 * 60;
        let met = AttendanceProgress::of(28 * 60, 28 * 60, total, Some(80)).unwrap();
        assert!(met.met && met.reachable);
        // 10 h attended of 14 h so far, 21 h to come: 31 h still possible.
        let reachable = AttendanceProgress::of(10 * 60, 14 * 60, total, Some(80)).unwrap();
        assert!(!reachable.met && reachable.reachable);
        // 3 h attended of 14 h so far: at most 24 h, under 28 h.
        let lost = AttendanceProgress::of(3 * 60, 14 * 60, total, Some(80)).unwrap();
        assert!(!lost.met && !lost.reachable);
        // Exactly on the threshold once everything to come is attended.
        let edge = AttendanceProgress::of(7 * 60, 14 * 60, total, Some(80)).unwrap();
        assert!(edge.reachable);
        let under = AttendanceProgress::of(7 * 60 - 1, 14 * 60, total, Some(80)).unwrap();
        assert!(!under.reachable);
    }

    #[test]
    fn no_planned_hours_means_no_progress_and_no_rule_means_no_warning() {
        assert_eq!(AttendanceProgress::of(0, 0, 0, Some(80)), None);
        let free = AttendanceProgress::of(0, 14 * 60, 35 * 60, None).unwrap();
        assert!(free.reachable && free.min_percent.is_none());
    }
}
