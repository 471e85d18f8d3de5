//! Notifications shown on a person's page (`/me`): waitlist promotions and other news. The
//! e-mails telling the same news are written by [`crate::mail`], in the same transaction.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use diesel::prelude::*;
use serde::Serialize;

use crate::catalogue::Slot;
use crate::db::ids::{NotificationId, TrainingSessionId, UserId};
use crate::db::schema::{courses, notifications, training_sessions};
use crate::db::{DbConn, DbError};
use crate::locale::{date_fr, date_range_fr};

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
        /// A satisfaction questionnaire about the session awaits the person's answer.
        SurveyOpened = "survey_opened", "Questionnaire de satisfaction";
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

/// The news a notification tells about a session, with what its text needs beyond the session.
#[derive(Debug, Clone, PartialEq)]
pub enum SessionNews<'a> {
    /// A seat was freed and went to this person, first on the waitlist.
    WaitlistPromoted,
    /// The session was called off.
    SessionCancelled {
        /// Why.
        reason: &'a str,
    },
    /// A request for a seat was admitted: a seat, or a rank on the waitlist.
    RequestAdmitted {
        /// The rank, when the session was full.
        waitlist_position: Option<i64>,
        /// The office's comment, if any.
        comment: Option<&'a str>,
    },
    /// A request for a seat was refused.
    RequestRefused {
        /// Why.
        reason: &'a str,
    },
    /// A half-day moved.
    HalfDayMoved {
        /// Its date and slot before.
        before: (NaiveDate, Slot),
        /// Its date, slot and local hours after.
        after: (NaiveDate, Slot, NaiveTime, NaiveTime),
        /// Its venue after.
        venue_name: &'a str,
        /// Why.
        reason: &'a str,
    },
    /// The person now teaches the session.
    TrainerAssigned,
    /// The person no longer teaches the session.
    TrainerRemoved,
    /// The office enrolled the person: a seat, or a rank on the waitlist.
    EnrolledByOffice {
        /// The rank, when the session was full.
        waitlist_position: Option<i64>,
    },
    /// The office cancelled the person's enrolment, or recorded their abandonment.
    EnrolmentCancelled {
        /// True when the session had started (an abandonment).
        abandoned: bool,
        /// Why.
        reason: &'a str,
    },
    /// A satisfaction questionnaire about the session is open for the person's answer.
    SurveyOpened {
        /// The survey (the notification links to its page).
        survey: &'a crate::db::ids::SurveyId,
        /// The last day to answer.
        closes_on: NaiveDate,
    },
}

impl SessionNews<'_> {
    /// Where the notification links: the survey's page for a questionnaire, else the session's.
    fn link(&self, session: &TrainingSessionId) -> String {
        match self {
            SessionNews::SurveyOpened { survey, .. } => format!("/me/questionnaires/{survey}"),
            _ => format!("/sessions/{session}"),
        }
    }

    /// The kind stored with the notification.
    pub fn kind(&self) -> NotificationKind {
        match self {
            SessionNews::WaitlistPromoted => NotificationKind::WaitlistPromoted,
            SessionNews::SessionCancelled { .. } => NotificationKind::SessionCancelled,
            SessionNews::RequestAdmitted { .. } => NotificationKind::RequestAdmitted,
            SessionNews::RequestRefused { .. } => NotificationKind::RequestRefused,
            SessionNews::HalfDayMoved { .. } => NotificationKind::HalfDayMoved,
            SessionNews::TrainerAssigned => NotificationKind::TrainerAssigned,
            SessionNews::TrainerRemoved => NotificationKind::TrainerRemoved,
            SessionNews::EnrolledByOffice { .. } => NotificationKind::EnrolledByOffice,
            SessionNews::EnrolmentCancelled { .. } => NotificationKind::EnrolmentCancelled,
            SessionNews::SurveyOpened { .. } => NotificationKind::SurveyOpened,
        }
    }

    /// The French text of the news about the session named `about`.
    pub fn message(&self, about: &SessionNaming) -> String {
        let session = about.to_string();
        match self {
            SessionNews::WaitlistPromoted => {
                format!("Une place s'est libérée : votre inscription à la session {session} est confirmée.")
            }
            SessionNews::SessionCancelled { reason } => format!("La session {session} est annulée. Motif : {reason}"),
            SessionNews::RequestAdmitted { waitlist_position, comment } => {
                let mut message = match waitlist_position {
                    None => format!(
                        "Votre demande d'inscription à la session {session} est acceptée : votre place est confirmée."
                    ),
                    Some(rank) => format!(
                        "Votre demande d'inscription à la session {session} est acceptée ; la session est complète : vous êtes sur la liste d'attente (rang {rank})."
                    ),
                };
                if let Some(comment) = comment {
                    message.push_str(&format!(" Commentaire : {comment}"));
                }
                message
            }
            SessionNews::RequestRefused { reason } => {
                format!("Votre demande d'inscription à la session {session} n'a pas été retenue : {reason}")
            }
            SessionNews::HalfDayMoved { before, after, venue_name, reason } => {
                let hm = |t: NaiveTime| t.format("%H h %M").to_string();
                format!(
                    "La demi-journée du {} ({}) de la session {session} est déplacée au {} ({}, {} – {}) à {venue_name} : {reason}",
                    date_fr(before.0),
                    before.1.label_fr_lower(),
                    date_fr(after.0),
                    after.1.label_fr_lower(),
                    hm(after.2),
                    hm(after.3),
                )
            }
            SessionNews::TrainerAssigned => format!("Vous animez désormais la session {session}."),
            SessionNews::TrainerRemoved => format!("Vous n'animez plus la session {session}."),
            SessionNews::EnrolledByOffice { waitlist_position: None } => {
                format!("L'organisme vous a inscrit·e à la session {session} : votre place est confirmée.")
            }
            SessionNews::EnrolledByOffice { waitlist_position: Some(rank) } => {
                format!("L'organisme vous a inscrit·e sur la liste d'attente de la session {session} (rang {rank}).")
            }
            SessionNews::EnrolmentCancelled { abandoned: true, reason } => {
                format!("L'organisme a enregistré votre abandon de la session {session}. Motif : {reason}")
            }
            SessionNews::EnrolmentCancelled { abandoned: false, reason } => {
                format!("L'organisme a annulé votre inscription à la session {session}. Motif : {reason}")
            }
            SessionNews::SurveyOpened { closes_on, .. } => format!(
                "Votre avis compte : le questionnaire de satisfaction de la session {session} est ouvert jusqu'au {}.",
                date_fr(*closes_on)
            ),
        }
    }
}

/// How a notification names its session: course title, reference and dates (row type).
#[derive(Debug, Clone, PartialEq, Queryable)]
pub struct SessionNaming {
    /// Course title.
    pub title: String,
    /// Session reference.
    pub reference: String,
    /// First day.
    pub start: NaiveDate,
    /// Last day.
    pub end: NaiveDate,
}

impl SessionNaming {
    /// How `session` is named: one read, shared by notifications and e-mails.
    pub fn load(conn: &mut DbConn, session: &TrainingSessionId) -> Result<SessionNaming, DbError> {
        training_sessions::table
            .inner_join(courses::table)
            .filter(training_sessions::id.eq(session))
            .select((
                courses::title,
                training_sessions::reference,
                training_sessions::starts_on,
                training_sessions::ends_on,
            ))
            .first(conn)
            .map_err(DbError::from)
    }
}

impl std::fmt::Display for SessionNaming {
    /// « Title » (référence PTL-…, du 1er au 2 mars 2027), or « le 1er mars 2027 » for one day.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "« {} » (référence {}, {})", self.title, self.reference, date_range_fr(self.start, self.end))
    }
}

/// Writes the notification of `news` about `session` for each of `people`, linking to the
/// session's page and naming it (course, reference, dates): **the one place notification rows and
/// their texts are written**, inside the caller's transaction (with the change it tells of, and
/// the e-mail of the same news).
pub fn notify_about_session(
    conn: &mut DbConn,
    people: &[UserId],
    news: &SessionNews<'_>,
    session: &TrainingSessionId,
    now: NaiveDateTime,
) -> Result<(), DbError> {
    if people.is_empty() {
        return Ok(());
    }
    let naming = SessionNaming::load(conn, session)?;
    let message = news.message(&naming);
    let link = news.link(session);
    for person in people {
        diesel::insert_into(notifications::table)
            .values((
                notifications::id.eq(NotificationId::generate()),
                notifications::user_id.eq(person),
                notifications::kind.eq(news.kind()),
                notifications::message.eq(&message),
                notifications::link.eq(Some(&link)),
                notifications::created_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn naming(end_offset: i64) -> SessionNaming {
        let start = NaiveDate::from_ymd_opt(2027, 3, 1).unwrap();
        SessionNaming {
            title: "Animer sa communauté".into(),
            reference: "ANIM-2027-01".into(),
            start,
            end: start + chrono::Duration::days(end_offset),
        }
    }

    fn survey_id() -> &'static crate::db::ids::SurveyId {
        static ID: std::sync::OnceLock<crate::db::ids::SurveyId> = std::sync::OnceLock::new();
        ID.get_or_init(crate::db::ids::SurveyId::generate)
    }

    fn every_news() -> Vec<SessionNews<'static>> {
        let day = NaiveDate::from_ymd_opt(2027, 3, 2).unwrap();
        let nine = NaiveTime::from_hms_opt(9, 0, 0).unwrap();
        let noon = NaiveTime::from_hms_opt(12, 0, 0).unwrap();
        vec![
            SessionNews::WaitlistPromoted,
            SessionNews::SessionCancelled { reason: "trop peu d'inscrits" },
            SessionNews::RequestAdmitted { waitlist_position: None, comment: None },
            SessionNews::RequestAdmitted { waitlist_position: Some(2), comment: Some("bienvenue") },
            SessionNews::RequestRefused { reason: "prérequis" },
            SessionNews::HalfDayMoved {
                before: (day, Slot::Morning),
                after: (day, Slot::Afternoon, nine, noon),
                venue_name: "La Kabane",
                reason: "salle indisponible",
            },
            SessionNews::TrainerAssigned,
            SessionNews::TrainerRemoved,
            SessionNews::EnrolledByOffice { waitlist_position: None },
            SessionNews::EnrolledByOffice { waitlist_position: Some(1) },
            SessionNews::EnrolmentCancelled { abandoned: true, reason: "déménagement" },
            SessionNews::EnrolmentCancelled { abandoned: false, reason: "déménagement" },
            SessionNews::SurveyOpened { survey: survey_id(), closes_on: day },
        ]
    }

    #[test]
    fn every_kind_of_news_names_the_course_the_reference_and_the_dates() {
        let news = every_news();
        for kind in NotificationKind::ALL {
            assert!(news.iter().any(|n| n.kind() == kind), "no news of kind {kind:?}");
        }
        for item in &news {
            let message = item.message(&naming(1));
            assert!(message.contains("« Animer sa communauté »"), "{message}");
            assert!(message.contains("ANIM-2027-01"), "{message}");
            assert!(message.contains("(référence ANIM-2027-01, du 1er au 2 mars 2027)"), "{message}");
        }
    }

    #[test]
    fn a_one_day_session_is_named_by_its_day() {
        let message = SessionNews::TrainerAssigned.message(&naming(0));
        assert!(message.contains("(référence ANIM-2027-01, le 1er mars 2027)"), "{message}");
    }
}
