//! Notifications shown on a person's page (`/me`): waitlist promotions and other news. E-mail
//! delivery, when configured, is a copy of these; the page is the record.

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

/// An e-mail to send, written by the domain (French), sent by whichever door has a mailer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailMessage {
    /// Recipient address.
    pub to: String,
    /// Recipient name.
    pub to_name: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub body: String,
}

/// The e-mail telling a trainee they were promoted from the waitlist of `session`.
/// `public_url` is the site's address, for the link.
pub fn promotion_email(
    conn: &mut DbConn,
    session: &crate::db::ids::TrainingSessionId,
    trainee: &UserId,
    public_url: &str,
) -> Result<EmailMessage, DbError> {
    use crate::db::schema::{courses, training_sessions, users};
    /// The recipient (row type).
    #[derive(Queryable)]
    struct Recipient {
        email: String,
        display_name: String,
    }
    /// The session as the message names it (row type).
    #[derive(Queryable)]
    struct Named {
        title: String,
        start: chrono::NaiveDate,
        end: chrono::NaiveDate,
    }
    let Recipient { email: to, display_name: to_name } =
        users::table.find(trainee).select((users::email, users::display_name)).first(conn)?;
    let Named { title, start, end } = training_sessions::table
        .inner_join(courses::table)
        .filter(training_sessions::id.eq(session))
        .select((courses::title, training_sessions::starts_on, training_sessions::ends_on))
        .first(conn)?;
    let link = format!("{}/sessions/{session}", public_url.trim_end_matches('/'));
    Ok(EmailMessage {
        subject: format!("Une place s'est libérée : « {title} »"),
        body: format!(
            "Bonjour {to_name},\n\nUne place s'est libérée dans la session « {title} » du {} au {} : \
             votre inscription est confirmée.\n\nVotre convocation et le calendrier sont sur votre espace :\n{link}\n\n\
             Si vous ne pouvez plus participer, annulez votre inscription depuis cette page pour libérer la place.\n",
            crate::locale::date_fr(start),
            crate::locale::date_fr(end),
        ),
        to,
        to_name,
    })
}
