//! Calendars: the iCalendar objects a person gets for their half-days. Invitations and
//! cancellations (RFC 5546 `REQUEST`/`CANCEL`, for the convocation and change e-mails) are built
//! here from the stored schedule; [`feed`] serves each person's subscribed feed; [`ical`] turns
//! plain events into text.
//!
//! Every half-day has one stable UID, `halfday-{half_day_id}@{host of the public URL}`, and its
//! `SEQUENCE` is `half_days.sequence`, raised by every reschedule. A cancelled session's events
//! go out with that sequence plus one and `STATUS:CANCELLED`, so that a client replaces the event
//! it holds instead of keeping it or adding a duplicate.
//!
//! **The public address in e-mails.** Invitations are written into the outbox by core use cases,
//! which do not know the site's public address (only the doors do). The UID of a mailed event must
//! still be the feed's UID for the same half-day, or calendars would hold both. So the mailed
//! objects ([`invitation_for_mail`], [`cancellation_for_mail`]) are built with two markers, the
//! UID host [`PUBLIC_HOST_MARKER`] and the link base `mail::render::PUBLIC_URL_MARKER`, and the
//! sending worker, the one place that knows the address, calls [`ical::with_public_address`]:
//! it unfolds the lines, replaces both markers, and folds again at 75 octets with CRLF. The
//! stored message stays true whatever address the site later moves to, and the feed and the
//! e-mail name each half-day the same way.

pub mod feed;
pub mod ical;

use chrono::NaiveDateTime;
use diesel::prelude::*;

pub use ical::{CalendarEvent, CalendarPerson, Ics, Method};

use crate::catalogue::TrainingSessionStatus;
use crate::db::ids::{HalfDayId, TrainingSessionId, UserId};
use crate::db::schema::{communes, courses, enrolments, half_days, training_sessions, venues};
use crate::db::{self, DbConn, DbError};
use crate::documents::organisation::OrganisationIdentity;
use crate::enrolment::EnrolmentStatus;
use crate::people::{self, PeopleError};
use crate::{Classify, ErrorKind};

/// Errors of calendar use cases.
#[derive(Debug, thiserror::Error)]
pub enum CalendarError {
    /// The feed address is unknown or was revoked (one answer for both: nothing leaks).
    #[error("adresse d'agenda inconnue ou révoquée")]
    UnknownFeed,
    /// No such training session.
    #[error("session inconnue")]
    UnknownTrainingSession,
    /// No such half-day.
    #[error("demi-journée inconnue")]
    UnknownHalfDay,
    /// The person holds no enrolment that this calendar object is about.
    #[error("aucune inscription à cette session")]
    NotEnrolled,
    /// The configured public URL has no host to name the events' UIDs after.
    #[error("adresse publique du service invalide : « {0} »")]
    InvalidPublicUrl(String),
    /// Reading the person failed.
    #[error(transparent)]
    People(#[from] PeopleError),
    /// Storage failure.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl Classify for CalendarError {
    fn kind(&self) -> ErrorKind {
        match self {
            CalendarError::UnknownFeed
            | CalendarError::UnknownTrainingSession
            | CalendarError::UnknownHalfDay
            | CalendarError::NotEnrolled => ErrorKind::NotFound,
            CalendarError::InvalidPublicUrl(_) => ErrorKind::Invalid,
            CalendarError::People(e) => e.kind(),
            CalendarError::Db(e) => e.kind(),
        }
    }
    fn code(&self) -> &'static str {
        match self {
            CalendarError::UnknownFeed => "unknown_calendar_feed",
            CalendarError::UnknownTrainingSession => "unknown_session",
            CalendarError::UnknownHalfDay => "unknown_half_day",
            CalendarError::NotEnrolled => "not_enrolled",
            CalendarError::InvalidPublicUrl(_) => "invalid_public_url",
            CalendarError::People(e) => e.code(),
            CalendarError::Db(e) => e.code(),
        }
    }
}

/// The host part of the public base URL (`https://formation.example.org:8443/x` →
/// `formation.example.org`), which names the events' UIDs.
pub fn host_of(public_url: &str) -> Result<String, CalendarError> {
    let refuse = || CalendarError::InvalidPublicUrl(public_url.chars().take(200).collect());
    let rest = public_url.trim().split_once("://").map(|(_, rest)| rest).ok_or_else(refuse)?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    let host = if host_port.starts_with('[') {
        host_port.split_inclusive(']').next().unwrap_or_default()
    } else {
        host_port.split(':').next().unwrap_or_default()
    };
    if host.is_empty() || host.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(refuse());
    }
    Ok(host.to_ascii_lowercase())
}

/// Stands for the public URL's host in the UIDs of stored (mailed) calendars, until the sender
/// fills it in with [`ical::with_public_address`]. Only characters a UID and a host may hold.
pub const PUBLIC_HOST_MARKER: &str = "lms-public-host.invalid";

/// Where the public address of a calendar object comes from.
#[derive(Debug, Clone, Copy)]
enum Address<'a> {
    /// The door passed it (the feed, a download).
    Known(&'a str),
    /// An e-mail: markers, filled in by the sending worker.
    Deferred,
}

/// The stable UID of a half-day's event.
pub fn half_day_uid(half_day: &HalfDayId, host: &str) -> String {
    format!("halfday-{half_day}@{host}")
}

/// One half-day with what its event says (row type: fields in the order selected).
#[derive(Debug, Clone, Queryable)]
pub(crate) struct EventRow {
    half_day: HalfDayId,
    session_status: TrainingSessionStatus,
    session_reference: String,
    course_title: String,
    starts_at: NaiveDateTime,
    ends_at: NaiveDateTime,
    module: Option<String>,
    sequence: i32,
    venue_name: String,
    address: Option<String>,
    postcode: Option<String>,
    commune: String,
    access_note: Option<String>,
}

/// The joined half-days, sessions, courses and venues every calendar reads (one query; the
/// caller adds the filter and the order).
macro_rules! event_rows {
    () => {
        half_days::table
            .inner_join(training_sessions::table.inner_join(courses::table))
            .inner_join(venues::table.inner_join(communes::table))
            .select((
                half_days::id,
                training_sessions::status,
                training_sessions::reference,
                courses::title,
                half_days::starts_at,
                half_days::ends_at,
                half_days::module,
                half_days::sequence,
                venues::name,
                venues::address,
                venues::postcode,
                communes::name,
                venues::accessibility_note,
            ))
    };
}
pub(crate) use event_rows;

/// What every event of a calendar object shares: the UID host, the organisation's contact and
/// the link back to the person's page.
pub(crate) struct EventContext {
    host: String,
    me_url: String,
    contact: String,
}

impl EventContext {
    pub(crate) fn new(public_url: &str, organisation: &OrganisationIdentity) -> Result<Self, CalendarError> {
        let host = host_of(public_url)?;
        let contact = [organisation.email.clone(), organisation.phone.clone()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" · ");
        let contact = if contact.is_empty() {
            organisation.display_name()
        } else {
            format!("{} ({contact})", organisation.display_name())
        };
        Ok(EventContext { host, me_url: format!("{}/me", public_url.trim().trim_end_matches('/')), contact })
    }

    fn for_address(address: Address<'_>, organisation: &OrganisationIdentity) -> Result<Self, CalendarError> {
        match address {
            Address::Known(public_url) => Self::new(public_url, organisation),
            Address::Deferred => {
                // Any URL with a host gives the contact line; host and link are then the markers.
                let mut context = Self::new("https://localhost", organisation)?;
                context.host = PUBLIC_HOST_MARKER.to_owned();
                context.me_url = format!("{}/me", crate::mail::render::PUBLIC_URL_MARKER);
                Ok(context)
            }
        }
    }

    /// The event of a row; `cancel` forces the cancelled form (an iTIP `CANCEL`).
    pub(crate) fn event(&self, row: &EventRow, cancel: bool) -> CalendarEvent {
        let cancelled = cancel || row.session_status == TrainingSessionStatus::Cancelled;
        let base = u32::try_from(row.sequence).unwrap_or(0);
        let summary = match &row.module {
            Some(module) if !module.trim().is_empty() => format!("{} — {}", row.course_title, module.trim()),
            _ => row.course_title.clone(),
        };
        let place = match &row.postcode {
            Some(postcode) => format!("{postcode} {}", row.commune),
            None => row.commune.clone(),
        };
        let location =
            [Some(row.venue_name.clone()), row.address.clone(), Some(place)].into_iter().flatten().collect::<Vec<_>>();
        let mut description = Vec::new();
        if cancelled {
            description.push("Cette demi-journée est annulée.".to_owned());
        }
        description.push(format!("Session {}.", row.session_reference));
        if let Some(note) = row.access_note.as_deref().filter(|n| !n.trim().is_empty()) {
            description.push(format!("Accès : {}", note.trim()));
        }
        description.push(format!("Contact : {}", self.contact));
        description.push(format!("Votre espace : {}", self.me_url));
        CalendarEvent {
            uid: half_day_uid(&row.half_day, &self.host),
            // A cancellation is a change of its own: one more than the last revision sent.
            sequence: if cancelled { base.saturating_add(1) } else { base },
            starts_at: row.starts_at,
            ends_at: row.ends_at,
            summary,
            location: location.join(", "),
            description: description.join("\n"),
            cancelled,
            url: Some(self.me_url.clone()),
        }
    }
}

/// The organisation as iTIP organiser: its contact e-mail, or a no-reply address at the public
/// host while none is set (iTIP requires one).
fn organizer(organisation: &OrganisationIdentity, host: &str) -> CalendarPerson {
    CalendarPerson {
        name: organisation.display_name(),
        email: organisation.email.clone().unwrap_or_else(|| format!("ne-pas-repondre@{host}")),
    }
}

/// The trainee's enrolment status in the session, if any.
fn enrolment_status(
    conn: &mut DbConn,
    session: &TrainingSessionId,
    trainee: &UserId,
) -> Result<Option<EnrolmentStatus>, CalendarError> {
    let exists: i64 = training_sessions::table
        .filter(training_sessions::id.eq(session))
        .count()
        .get_result(conn)
        .map_err(DbError::from)?;
    if exists == 0 {
        return Err(CalendarError::UnknownTrainingSession);
    }
    Ok(enrolments::table
        .filter(enrolments::training_session_id.eq(session))
        .filter(enrolments::trainee_id.eq(trainee))
        .select(enrolments::status)
        .first(conn)
        .optional()
        .map_err(DbError::from)?)
}

/// Builds one invitation or cancellation for a trainee: the rows, the organiser, the attendee.
fn itip(
    conn: &mut DbConn,
    rows: &[EventRow],
    trainee: &UserId,
    method: Method,
    address: Address<'_>,
    now: NaiveDateTime,
) -> Result<Ics, CalendarError> {
    let organisation = OrganisationIdentity::load(conn)?;
    let context = EventContext::for_address(address, &organisation)?;
    let person = people::find_user(conn, trainee)?;
    let attendee = CalendarPerson { name: person.name, email: person.email };
    let cancel = method == Method::Cancel;
    let events: Vec<CalendarEvent> = rows.iter().map(|row| context.event(row, cancel)).collect();
    let name = rows.first().map_or_else(|| "Formation".to_owned(), |r| r.course_title.clone());
    Ok(ical::render(method, &name, &events, &organizer(&organisation, &context.host), Some(&attendee), now))
}

fn session_rows(conn: &mut DbConn, session: &TrainingSessionId) -> Result<Vec<EventRow>, CalendarError> {
    Ok(event_rows!()
        .filter(half_days::training_session_id.eq(session))
        .order(half_days::starts_at.asc())
        .load(conn)
        .map_err(DbError::from)?)
}

/// The invitation of a trainee holding a seat (confirmed or completed) in a session:
/// `METHOD:REQUEST`, one event per half-day, the trainee as attendee. Sent again after a change,
/// it updates the events the trainee's calendar holds (same UIDs, higher SEQUENCE). A cancelled
/// session's invitation carries its events as cancelled.
pub fn invitation_for_enrolment(
    conn: &mut DbConn,
    session: &TrainingSessionId,
    trainee: &UserId,
    public_url: &str,
    now: NaiveDateTime,
) -> Result<Ics, CalendarError> {
    invitation(conn, session, trainee, Address::Known(public_url), now)
}

/// [`invitation_for_enrolment`] for an e-mail: the public address left as markers, filled in at
/// send time (see the module's documentation). Same UIDs and SEQUENCE as the feed.
pub fn invitation_for_mail(
    conn: &mut DbConn,
    session: &TrainingSessionId,
    trainee: &UserId,
    now: NaiveDateTime,
) -> Result<Ics, CalendarError> {
    invitation(conn, session, trainee, Address::Deferred, now)
}

fn invitation(
    conn: &mut DbConn,
    session: &TrainingSessionId,
    trainee: &UserId,
    address: Address<'_>,
    now: NaiveDateTime,
) -> Result<Ics, CalendarError> {
    db::read_transaction(conn, |conn| {
        if !enrolment_status(conn, session, trainee)?.is_some_and(EnrolmentStatus::has_convocation) {
            return Err(CalendarError::NotEnrolled);
        }
        let rows = session_rows(conn, session)?;
        itip(conn, &rows, trainee, Method::Request, address, now)
    })
}

/// The cancellation of every half-day of a session for one trainee who was enrolled in it (any
/// status, since the enrolment is cancelled with the session): `METHOD:CANCEL`,
/// `STATUS:CANCELLED`, SEQUENCE one above the stored revision.
pub fn cancellation_for_session(
    conn: &mut DbConn,
    session: &TrainingSessionId,
    trainee: &UserId,
    public_url: &str,
    now: NaiveDateTime,
) -> Result<Ics, CalendarError> {
    session_cancellation(conn, session, trainee, Address::Known(public_url), now)
}

/// [`cancellation_for_session`] for an e-mail: the public address left as markers, filled in at
/// send time (see the module's documentation).
pub fn cancellation_for_mail(
    conn: &mut DbConn,
    session: &TrainingSessionId,
    trainee: &UserId,
    now: NaiveDateTime,
) -> Result<Ics, CalendarError> {
    session_cancellation(conn, session, trainee, Address::Deferred, now)
}

fn session_cancellation(
    conn: &mut DbConn,
    session: &TrainingSessionId,
    trainee: &UserId,
    address: Address<'_>,
    now: NaiveDateTime,
) -> Result<Ics, CalendarError> {
    db::read_transaction(conn, |conn| {
        if enrolment_status(conn, session, trainee)?.is_none() {
            return Err(CalendarError::NotEnrolled);
        }
        let rows = session_rows(conn, session)?;
        itip(conn, &rows, trainee, Method::Cancel, address, now)
    })
}

/// The cancellation of one half-day for one trainee enrolled in its session: `METHOD:CANCEL`
/// with that half-day's event only. Built while the half-day is still stored.
pub fn cancellation_for_half_day(
    conn: &mut DbConn,
    half_day: &HalfDayId,
    trainee: &UserId,
    public_url: &str,
    now: NaiveDateTime,
) -> Result<Ics, CalendarError> {
    db::read_transaction(conn, |conn| {
        let session: TrainingSessionId = half_days::table
            .find(half_day)
            .select(half_days::training_session_id)
            .first(conn)
            .optional()
            .map_err(DbError::from)?
            .ok_or(CalendarError::UnknownHalfDay)?;
        if enrolment_status(conn, &session, trainee)?.is_none() {
            return Err(CalendarError::NotEnrolled);
        }
        let rows: Vec<EventRow> = event_rows!().filter(half_days::id.eq(half_day)).load(conn).map_err(DbError::from)?;
        itip(conn, &rows, trainee, Method::Cancel, Address::Known(public_url), now)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_uid_host_comes_from_the_public_url() {
        assert_eq!(host_of("https://Formation.example.org:8443/lms").ok().as_deref(), Some("formation.example.org"));
        assert_eq!(host_of("http://127.0.0.1:8080").ok().as_deref(), Some("127.0.0.1"));
        assert_eq!(host_of("http://[::1]:8080/").ok().as_deref(), Some("[::1]"));
        assert!(matches!(host_of("formation.example.org"), Err(CalendarError::InvalidPublicUrl(_))));
        assert!(matches!(host_of("https:///x"), Err(CalendarError::InvalidPublicUrl(_))));
    }
}
