//! Notifications shown on a person's page (`/me`): waitlist promotions and other news. The
//! e-mails telling the same news are written by [`crate::mail`], in the same transaction.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use crate::db::ids::{NotificationId, UserId};
use crate::db::schema::notifications;
use crate::db::{DbConn, DbError};

crate::text_enum! {
    /// What a notification is about.
    pub enum NotificationKind: "type de notification" {
        /// A seat was freed and went to the first on the waitlist.
        WaitlistPromoted = "waitlist_promoted", "Place libérée";
        /// A session the person was enrolled in, or taught, was called off.
        SessionCancelled = "session_cancelled", "Session annulée";
        /// A request for a seat was admitted.
        RequestAdmitted = "request_admitted", "Demande acceptée";
        /// A request for a seat was refused.
        RequestRefused = "request_refused", "Demande non retenue";
        /// A half-day of a session the person is enrolled in, or teaches, moved (date, hours or venue).
        HalfDayMoved = "half_day_moved", "Demi-journée déplacée";
        /// The person was added to the trainers of a session.
        TrainerAssigned = "trainer_assigned", "Animation confiée";
        /// The person was taken off the trainers of a session.
        TrainerRemoved = "trainer_removed", "Animation retirée";
        /// The office enrolled the person in a session.
        EnrolledByOffice = "enrolled_by_office", "Inscription par l'organisme";
        /// The office cancelled the person's enrolment.
        EnrolmentCancelled = "enrolment_cancelled", "Inscription annulée";
    }
}

/// A notification as shown (also its row type).
#[derive(Debug, Clone, Serialize, PartialEq, Queryable, Selectable)]
#[diesel(table_name = notifications)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct NotificationView {
    /// Identifier.
    pub id: NotificationId,
    /// Kind.
    pub kind: NotificationKind,
    /// French message.
    pub message: String,
    /// Where to look.
    pub link: Option<String>,
    /// When (UTC).
    pub created_at: NaiveDateTime,
    /// When it was seen.
    pub read_at: Option<NaiveDateTime>,
}

/// Writes the notification of `kind` about `session` for `person`, linking to the session's page:
/// the one place notification rows are written, inside the caller's transaction (with the change
/// it tells of, and the e-mail of the same news).
pub fn notify_about_session(
    conn: &mut DbConn,
    person: &UserId,
    kind: NotificationKind,
    message: &str,
    session: &crate::db::ids::TrainingSessionId,
    now: NaiveDateTime,
) -> Result<(), DbError> {
    diesel::insert_into(notifications::table)
        .values((
            notifications::id.eq(NotificationId::generate()),
            notifications::user_id.eq(person),
            notifications::kind.eq(kind),
            notifications::message.eq(message),
            notifications::link.eq(Some(format!("/sessions/{session}"))),
            notifications::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// The French text telling a trainee or a trainer that the session « `title` » (from `start` to
/// `end`) is cancelled, and why.
pub fn session_cancelled_message(
    title: &str,
    start: chrono::NaiveDate,
    end: chrono::NaiveDate,
    reason: &str,
) -> String {
    format!(
        "La session « {title} » du {} au {} est annulée. Motif : {reason}",
        crate::locale::date_fr(start),
        crate::locale::date_fr(end),
    )
}

/// The latest notifications of a person, newest first.
pub fn recent_notifications(conn: &mut DbConn, user: &UserId, limit: i64) -> Result<Vec<NotificationView>, DbError> {
    notifications::table
        .filter(notifications::user_id.eq(user))
        .order(notifications::created_at.desc())
        .limit(limit.clamp(1, 100))
        .select(NotificationView::as_select())
        .load(conn)
        .map_err(DbError::from)
}

/// Marks every unread notification of a person as seen.
pub fn mark_all_read(conn: &mut DbConn, user: &UserId, now: NaiveDateTime) -> Result<usize, DbError> {
    diesel::update(
        notifications::table.filter(notifications::user_id.eq(user)).filter(notifications::read_at.is_null()),
    )
    .set(notifications::read_at.eq(Some(now)))
    .execute(conn)
    .map_err(DbError::from)
}
