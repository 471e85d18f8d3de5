//! The messages, one builder per kind: each reads what the message states (the course, every
//! half-day with its venue, whom to call) and renders it with [`super::render`]. Producers call
//! a builder and [`super::outbox::enqueue`] inside the transaction of the change.
//!
//! The convocation carries two files ([`OutgoingMail::attach`]): the PDF convocation
//! (`convocation.pdf`) and an iCalendar invitation (`invitation.ics`, `text/calendar;
//! method=REQUEST`). A schedule change carries the updated invitation to trainees; a
//! cancellation of a seat, a `METHOD:CANCEL` calendar. Calendars are attachments only, with no
//! inline `text/calendar` alternative: an alternative makes Outlook and Gmail show the message as
//! a bare meeting request, hiding the text that says what changed and why. Their public address
//! is left as markers that the sending worker fills in (see `crate::calendar`).

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;

use super::render::{self, PUBLIC_URL_MARKER, Signature};
use super::{Attachment, DeferredDocument, MailError, MailKind, OutgoingMail};
use crate::calendar::{self, Ics};
use crate::catalogue::Slot;
use crate::db::ids::{TrainingSessionId, UserId, VenueId};
use crate::db::schema::{communes, half_days, session_trainers, users, venues};
use crate::db::{DbConn, DbError};
use crate::documents::organisation::OrganisationIdentity;
use crate::locale;
use crate::notifications::SessionNaming;

/// What a convocation asks trainees to bring (the course has no field for it yet).
pub const WHAT_TO_BRING: &str =
    "de quoi prendre des notes, un ordinateur portable si vous en avez un, et cette convocation.";

/// A person a message goes to (row type).
#[derive(Queryable)]
struct Recipient {
    email: String,
    display_name: String,
}

fn recipient(conn: &mut DbConn, user: &UserId) -> Result<Recipient, DbError> {
    users::table.find(user).select((users::email, users::display_name)).first(conn).map_err(DbError::from)
}

/// What every session message shows of the session.
#[derive(Debug, Serialize)]
struct SessionData {
    session_id: String,
    course: String,
    reference: String,
    first_date: String,
    last_date: String,
}

impl SessionData {
    fn new(session: &TrainingSessionId, named: SessionNaming) -> Self {
        SessionData {
            session_id: session.to_string(),
            course: named.title,
            reference: named.reference,
            first_date: locale::date_fr(named.start),
            last_date: locale::date_fr(named.end),
        }
    }
}

/// A half-day with its venue (row type; fields in the order selected).
#[derive(Queryable)]
struct HalfDayRow {
    day: NaiveDate,
    slot: Slot,
    starts_at: NaiveDateTime,
    ends_at: NaiveDateTime,
    module: Option<String>,
    venue_id: VenueId,
    venue_name: String,
    address: Option<String>,
    postcode: Option<String>,
    commune: String,
    pmr: Option<bool>,
    access_note: Option<String>,
    phone: Option<String>,
}

#[derive(Debug, Serialize)]
struct HalfDayData {
    date: String,
    slot: &'static str,
    start: String,
    end: String,
    module: Option<String>,
    venue: String,
}

#[derive(Debug, Serialize)]
struct VenueData {
    name: String,
    address: String,
    access_note: Option<String>,
    phone: Option<String>,
}

#[derive(Debug, Serialize)]
struct ConvocationData {
    #[serde(flatten)]
    session: SessionData,
    promoted: bool,
    half_days: Vec<HalfDayData>,
    venues: Vec<VenueData>,
    what_to_bring: &'static str,
    trainers: Vec<String>,
    /// Whom to ask for adjustments (`crate::adjustments::referent_contact`).
    disability_referent: Option<String>,
}

fn mail(
    conn: &mut DbConn,
    kind: MailKind,
    to: Recipient,
    subject: String,
    data: &impl Serialize,
) -> Result<OutgoingMail, DbError> {
    let identity = OrganisationIdentity::load(conn)?;
    let signature = Signature::from_identity(&identity);
    let rendered = render::render(kind, &to.display_name, &signature, data)?;
    Ok(OutgoingMail {
        kind,
        to_email: to.email,
        to_name: to.display_name,
        sender_name: signature.name,
        reply_to: identity.email,
        subject,
        text_body: rendered.text,
        html_body: rendered.html,
        attachments: Vec::new(),
        dedupe_key: None,
    })
}

/// The convocation of `trainee` to `session`: every half-day (date, hours, venue), each venue's
/// address and access note, what to bring, whom to call. `promoted` when the seat came from the
/// waitlist (kind [`MailKind::Promotion`]).
///
/// Attaches the PDF convocation and the invitation (`METHOD:REQUEST`, one event per half-day).
pub fn convocation(
    conn: &mut DbConn,
    session: &TrainingSessionId,
    trainee: &UserId,
    promoted: bool,
    now: NaiveDateTime,
) -> Result<OutgoingMail, DbError> {
    let to = recipient(conn, trainee)?;
    let invitation = invitation(conn, session, trainee, now)?;
    let named = SessionNaming::load(conn, session)?;
    let rows: Vec<HalfDayRow> = half_days::table
        .inner_join(venues::table.inner_join(communes::table))
        .filter(half_days::training_session_id.eq(session))
        .order(half_days::starts_at.asc())
        .select((
            half_days::day,
            half_days::slot,
            half_days::starts_at,
            half_days::ends_at,
            half_days::module,
            venues::id,
            venues::name,
            venues::address,
            venues::postcode,
            communes::name,
            venues::accessible_pmr,
            venues::accessibility_note,
            venues::phone,
        ))
        .load(conn)
        .map_err(DbError::from)?;
    let trainers: Vec<String> = session_trainers::table
        .inner_join(users::table)
        .filter(session_trainers::training_session_id.eq(session))
        .order(users::display_name.asc())
        .select(users::display_name)
        .load(conn)
        .map_err(DbError::from)?;
    let mut seen: Vec<VenueId> = Vec::new();
    let mut venues_data = Vec::new();
    let mut half_days_data = Vec::new();
    for row in rows {
        half_days_data.push(HalfDayData {
            date: locale::date_fr(row.day),
            slot: row.slot.label_fr_lower(),
            start: locale::time_fr(row.starts_at),
            end: locale::time_fr(row.ends_at),
            module: row.module,
            venue: format!("{} ({})", row.venue_name, row.commune),
        });
        if !seen.contains(&row.venue_id) {
            seen.push(row.venue_id);
            let address = crate::venues::VenueAddress {
                street: row.address.as_deref(),
                postcode: row.postcode.as_deref(),
                commune: &row.commune,
            }
            .one_line();
            venues_data.push(VenueData {
                name: row.venue_name,
                address,
                // The PMR sentence and the note, as on the PDF and the page.
                access_note: crate::venues::accessibility_fr(row.pmr, row.access_note.as_deref()),
                phone: row.phone,
            });
        }
    }
    let subject = if promoted {
        format!("Une place s'est libérée : convocation à « {} »", named.title)
    } else {
        format!("Convocation : « {} »", named.title)
    };
    let data = ConvocationData {
        session: SessionData::new(session, named),
        promoted,
        half_days: half_days_data,
        venues: venues_data,
        what_to_bring: WHAT_TO_BRING,
        trainers,
        disability_referent: crate::adjustments::referent_contact(conn)?,
    };
    let kind = if promoted { MailKind::Promotion } else { MailKind::Convocation };
    Ok(mail(conn, kind, to, subject, &data)?
        .attach(Attachment {
            filename: "convocation.pdf".into(),
            content_type: "application/pdf".into(),
            content: Vec::new(),
            render: Some(DeferredDocument::Convocation { session: session.clone(), trainee: trainee.clone() }),
        })
        .attach(invitation))
}

/// A file that could not be built, as the error the producers' transactions carry.
fn attachment_error(file: &str, error: impl std::fmt::Display) -> DbError {
    DbError::from(MailError::Attachment(format!("{file} : {error}")))
}

fn ics_attachment(ics: Ics) -> Attachment {
    Attachment {
        filename: "invitation.ics".into(),
        content_type: ics.content_type(),
        content: ics.into_bytes(),
        render: None,
    }
}

/// The trainee's invitation to every half-day of the session, as it stands (`METHOD:REQUEST`).
fn invitation(
    conn: &mut DbConn,
    session: &TrainingSessionId,
    trainee: &UserId,
    now: NaiveDateTime,
) -> Result<Attachment, DbError> {
    calendar::invitation_for_mail(conn, session, trainee, now)
        .map(ics_attachment)
        .map_err(|e| attachment_error("invitation.ics", e))
}

/// The trainee's cancellation of every half-day of the session (`METHOD:CANCEL`).
fn cancellation(
    conn: &mut DbConn,
    session: &TrainingSessionId,
    trainee: &UserId,
    now: NaiveDateTime,
) -> Result<Attachment, DbError> {
    calendar::cancellation_for_mail(conn, session, trainee, now)
        .map(|ics| Attachment { filename: "annulation.ics".into(), ..ics_attachment(ics) })
        .map_err(|e| attachment_error("annulation.ics", e))
}

#[derive(Debug, Serialize)]
struct WaitlistData {
    #[serde(flatten)]
    session: SessionData,
    rank: i64,
}

/// Tells `trainee` they are on the waitlist of `session`, at `rank`.
pub fn waitlisted(
    conn: &mut DbConn,
    session: &TrainingSessionId,
    trainee: &UserId,
    rank: i64,
) -> Result<OutgoingMail, DbError> {
    let to = recipient(conn, trainee)?;
    let named = SessionNaming::load(conn, session)?;
    let subject = format!("Liste d'attente : « {} »", named.title);
    mail(conn, MailKind::Waitlisted, to, subject, &WaitlistData { session: SessionData::new(session, named), rank })
}

#[derive(Debug, Serialize)]
struct CancelledData {
    #[serde(flatten)]
    session: SessionData,
    reason: String,
    calendar: bool,
}

/// Tells `user` (a trainee or a trainer) that `session` is cancelled, and why. `held_seat` (a
/// trainee who held a seat, whose calendar holds the events) adds the `METHOD:CANCEL` calendar;
/// it is built after the session is marked cancelled, so it carries `STATUS:CANCELLED`.
pub fn session_cancelled(
    conn: &mut DbConn,
    session: &TrainingSessionId,
    user: &UserId,
    reason: &str,
    held_seat: bool,
    now: NaiveDateTime,
) -> Result<OutgoingMail, DbError> {
    let to = recipient(conn, user)?;
    let named = SessionNaming::load(conn, session)?;
    let subject = format!("Session annulée : « {} »", named.title);
    let data =
        CancelledData { session: SessionData::new(session, named), reason: reason.to_owned(), calendar: held_seat };
    let message = mail(conn, MailKind::SessionCancelled, to, subject, &data)?;
    if held_seat { Ok(message.attach(cancellation(conn, session, user, now)?)) } else { Ok(message) }
}

#[derive(Debug, Serialize)]
struct RefusedData {
    #[serde(flatten)]
    session: SessionData,
    reason: String,
}

/// Tells `trainee` that their admission request to `session` was refused, and why.
pub fn request_refused(
    conn: &mut DbConn,
    session: &TrainingSessionId,
    trainee: &UserId,
    reason: &str,
) -> Result<OutgoingMail, DbError> {
    let to = recipient(conn, trainee)?;
    let named = SessionNaming::load(conn, session)?;
    let subject = format!("Demande non retenue : « {} »", named.title);
    let data = RefusedData { session: SessionData::new(session, named), reason: reason.to_owned() };
    mail(conn, MailKind::RequestRefused, to, subject, &data)
}

#[derive(Debug, Serialize)]
struct EnrolmentCancelledData {
    #[serde(flatten)]
    session: SessionData,
    reason: String,
    abandoned: bool,
    calendar: bool,
}

/// Tells `trainee` that the office cancelled their enrolment in `session` (or recorded their
/// abandonment, `abandoned`), and why. `held_seat` adds the `METHOD:CANCEL` calendar of the
/// session's half-days, which their calendar holds from the convocation.
pub fn enrolment_cancelled(
    conn: &mut DbConn,
    session: &TrainingSessionId,
    trainee: &UserId,
    reason: &str,
    abandoned: bool,
    held_seat: bool,
    now: NaiveDateTime,
) -> Result<OutgoingMail, DbError> {
    let to = recipient(conn, trainee)?;
    let named = SessionNaming::load(conn, session)?;
    let subject = if abandoned {
        format!("Abandon enregistré : « {} »", named.title)
    } else {
        format!("Inscription annulée : « {} »", named.title)
    };
    let data = EnrolmentCancelledData {
        session: SessionData::new(session, named),
        reason: reason.to_owned(),
        abandoned,
        calendar: held_seat,
    };
    let message = mail(conn, MailKind::EnrolmentCancelled, to, subject, &data)?;
    if held_seat { Ok(message.attach(cancellation(conn, session, trainee, now)?)) } else { Ok(message) }
}

/// One half-day as it was or is now: when and where (UTC instants, as stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HalfDayAt {
    /// Its slot.
    pub slot: Slot,
    /// Start (UTC).
    pub starts_at: NaiveDateTime,
    /// End (UTC).
    pub ends_at: NaiveDateTime,
    /// Where.
    pub venue: VenueId,
}

#[derive(Debug, Serialize)]
struct PlacingData {
    date: String,
    slot: &'static str,
    start: String,
    end: String,
    venue: String,
}

#[derive(Debug, Serialize)]
struct ChangedData {
    #[serde(flatten)]
    session: SessionData,
    before: PlacingData,
    after: PlacingData,
    reason: String,
    venue: VenueData,
    invitation: bool,
}

/// A venue as a change message shows it (row type: fields in the order selected).
#[derive(Queryable)]
struct VenueRow {
    name: String,
    address: Option<String>,
    postcode: Option<String>,
    commune: String,
    access_note: Option<String>,
    phone: Option<String>,
}

fn venue_row(conn: &mut DbConn, venue: &VenueId) -> Result<VenueRow, DbError> {
    venues::table
        .inner_join(communes::table)
        .filter(venues::id.eq(venue))
        .select((
            venues::name,
            venues::address,
            venues::postcode,
            communes::name,
            venues::accessibility_note,
            venues::phone,
        ))
        .first(conn)
        .map_err(DbError::from)
}

fn placing(conn: &mut DbConn, placing: &HalfDayAt) -> Result<PlacingData, DbError> {
    let venue = venue_row(conn, &placing.venue)?;
    Ok(PlacingData {
        date: locale::date_fr(locale::to_paris(placing.starts_at).date()),
        slot: placing.slot.label_fr_lower(),
        start: locale::time_fr(placing.starts_at),
        end: locale::time_fr(placing.ends_at),
        venue: format!("{} ({})", venue.name, venue.commune),
    })
}

/// « Changement de planning »: tells `user` that a half-day of `session` moved from `before` to
/// `after`, why, and the address and access note of where it is now. `invite` (a trainee holding
/// a seat) attaches the updated invitation: every half-day with its stored SEQUENCE, the moved
/// one raised, the same UIDs as before. Trainers get the message without it (their calendar
/// follows through their personal feed).
#[allow(clippy::too_many_arguments)]
pub fn session_changed(
    conn: &mut DbConn,
    session: &TrainingSessionId,
    user: &UserId,
    before: &HalfDayAt,
    after: &HalfDayAt,
    reason: &str,
    invite: bool,
    now: NaiveDateTime,
) -> Result<OutgoingMail, DbError> {
    let to = recipient(conn, user)?;
    let named = SessionNaming::load(conn, session)?;
    let subject = format!("Changement de planning : « {} »", named.title);
    let venue = venue_row(conn, &after.venue)?;
    let address = crate::venues::VenueAddress {
        street: venue.address.as_deref(),
        postcode: venue.postcode.as_deref(),
        commune: &venue.commune,
    }
    .one_line();
    let data = ChangedData {
        session: SessionData::new(session, named),
        before: placing(conn, before)?,
        after: placing(conn, after)?,
        reason: reason.to_owned(),
        venue: VenueData { name: venue.name, address, access_note: venue.access_note, phone: venue.phone },
        invitation: invite,
    };
    let message = mail(conn, MailKind::SessionChanged, to, subject, &data)?;
    if invite { Ok(message.attach(invitation(conn, session, user, now)?)) } else { Ok(message) }
}

#[derive(Debug, Serialize)]
struct ResetData {
    token_link: String,
    valid_minutes: i64,
}

/// The link to choose a new password (`/mot-de-passe-oublie/{token}`), valid `valid_minutes`.
pub fn password_reset(
    conn: &mut DbConn,
    user: &UserId,
    token: &str,
    valid_minutes: i64,
) -> Result<OutgoingMail, DbError> {
    let to = recipient(conn, user)?;
    let data = ResetData { token_link: format!("{PUBLIC_URL_MARKER}/mot-de-passe-oublie/{token}"), valid_minutes };
    mail(conn, MailKind::PasswordReset, to, "Choisir un nouveau mot de passe".into(), &data)
}
