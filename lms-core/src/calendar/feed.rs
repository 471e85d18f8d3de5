//! Personal calendar feeds: `GET /calendar/{token}.ics` serves a person's half-days, as a
//! trainee (seats held, and sessions called off while enrolled) and as a trainer, to any
//! calendar application that subscribes to the address. The token is the only credential.
//!
//! Only the token's SHA-256 is stored, like login sessions and API tokens: a copy of the
//! database gives nobody's schedule away. So the address is shown once, right after it is made;
//! someone who lost it makes a new one, which ends the old one. Revoking keeps the row with
//! `revoked_at` set, and an unknown or revoked token gets the same answer.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{CalendarError, CalendarEvent, EventContext, EventRow, Ics, Method, event_rows, ical};
use crate::access::{random_token, token_hash};
use crate::catalogue::TrainingSessionStatus;
use crate::db::ids::UserId;
use crate::db::schema::{calendar_feeds, communes, courses, enrolments, half_days, session_trainers};
use crate::db::schema::{training_sessions, venues};
use crate::db::{self, DbConn, DbError};
use crate::documents::organisation::OrganisationIdentity;
use crate::enrolment::EnrolmentStatus;

/// A person's feed as stored (row type).
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = calendar_feeds)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct FeedStatus {
    /// Whose feed.
    pub user_id: UserId,
    /// When the current address was made (UTC).
    pub created_at: NaiveDateTime,
    /// When it was revoked (UTC), if it was.
    pub revoked_at: Option<NaiveDateTime>,
}

impl FeedStatus {
    /// Whether the address still answers.
    pub fn is_active(&self) -> bool {
        self.revoked_at.is_none()
    }
}

/// A freshly made feed: the secret token, shown once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFeed {
    /// The secret, the last segment of the address (before `.ics`).
    pub token: String,
    /// Whether an earlier address was replaced (and so stopped working).
    pub replaced: bool,
}

/// The feed's address for a token.
pub fn feed_url(public_url: &str, token: &str) -> String {
    format!("{}/calendar/{token}.ics", public_url.trim().trim_end_matches('/'))
}

/// Makes the person's feed address, or a new one that replaces (and so ends) the previous one.
pub fn create_or_rotate_feed(conn: &mut DbConn, user: &UserId, now: NaiveDateTime) -> Result<NewFeed, CalendarError> {
    let token = random_token();
    let hash = token_hash(&token);
    db::write_transaction(conn, |conn| {
        let replaced = diesel::delete(calendar_feeds::table.filter(calendar_feeds::user_id.eq(user)))
            .execute(conn)
            .map_err(DbError::from)?
            > 0;
        diesel::insert_into(calendar_feeds::table)
            .values((
                calendar_feeds::user_id.eq(user),
                calendar_feeds::token_hash.eq(&hash),
                calendar_feeds::created_at.eq(now),
            ))
            .execute(conn)
            .map_err(DbError::from)?;
        Ok(NewFeed { token, replaced })
    })
}

/// Revokes the person's feed address; `false` when there was no active one (nothing changes).
pub fn revoke_feed(conn: &mut DbConn, user: &UserId, now: NaiveDateTime) -> Result<bool, CalendarError> {
    db::write_transaction(conn, |conn| {
        let revoked = diesel::update(
            calendar_feeds::table.filter(calendar_feeds::user_id.eq(user)).filter(calendar_feeds::revoked_at.is_null()),
        )
        .set(calendar_feeds::revoked_at.eq(now))
        .execute(conn)
        .map_err(DbError::from)?;
        Ok(revoked > 0)
    })
}

/// The person's feed, if they ever made one.
pub fn feed_status(conn: &mut DbConn, user: &UserId) -> Result<Option<FeedStatus>, CalendarError> {
    Ok(calendar_feeds::table
        .find(user)
        .select(FeedStatus::as_select())
        .first(conn)
        .optional()
        .map_err(DbError::from)?)
}

/// Whether text can be a token at all (URL-safe base64 of 32 bytes), so that anything else is
/// refused before any database work.
fn plausible_token(token: &str) -> bool {
    token.len() == 43 && token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The events of a person's half-days, as trainee and as trainer, in one query: seats held
/// (confirmed or completed), sessions called off while they were enrolled (shown cancelled),
/// sessions they teach; drafts excluded.
pub fn person_events(conn: &mut DbConn, user: &UserId, public_url: &str) -> Result<Vec<CalendarEvent>, CalendarError> {
    let seated = enrolments::table
        .filter(enrolments::trainee_id.eq(user))
        .filter(enrolments::status.eq_any(EnrolmentStatus::SEATED))
        .select(enrolments::training_session_id);
    let was_enrolled = enrolments::table
        .filter(enrolments::trainee_id.eq(user))
        .filter(enrolments::status.eq(EnrolmentStatus::Cancelled))
        .select(enrolments::training_session_id);
    let teaches = session_trainers::table
        .filter(session_trainers::trainer_id.eq(user))
        .select(session_trainers::training_session_id);
    let rows: Vec<EventRow> = event_rows!()
        .filter(training_sessions::status.ne(TrainingSessionStatus::Draft))
        .filter(
            half_days::training_session_id.eq_any(seated).or(half_days::training_session_id.eq_any(teaches)).or(
                half_days::training_session_id
                    .eq_any(was_enrolled)
                    .and(training_sessions::status.eq(TrainingSessionStatus::Cancelled)),
            ),
        )
        .order((half_days::starts_at.asc(), half_days::id.asc()))
        .load(conn)
        .map_err(DbError::from)?;
    let organisation = OrganisationIdentity::load(conn)?;
    let context = EventContext::new(public_url, &organisation)?;
    Ok(rows.iter().map(|row| context.event(row, false)).collect())
}

/// The feed behind a token: `METHOD:PUBLISH`, every half-day of its owner. An unknown or revoked
/// token is [`CalendarError::UnknownFeed`], with nothing written.
pub fn feed_for_token(
    conn: &mut DbConn,
    token: &str,
    public_url: &str,
    now: NaiveDateTime,
) -> Result<Ics, CalendarError> {
    if !plausible_token(token) {
        return Err(CalendarError::UnknownFeed);
    }
    let hash = token_hash(token);
    db::read_transaction(conn, |conn| {
        let user: UserId = calendar_feeds::table
            .filter(calendar_feeds::token_hash.eq(&hash))
            .filter(calendar_feeds::revoked_at.is_null())
            .select(calendar_feeds::user_id)
            .first(conn)
            .optional()
            .map_err(DbError::from)?
            .ok_or(CalendarError::UnknownFeed)?;
        let events = person_events(conn, &user, public_url)?;
        let organisation = OrganisationIdentity::load(conn)?;
        let host = super::host_of(public_url)?;
        let organizer = super::organizer(&organisation, &host);
        let name = format!("Mes formations — {}", organisation.display_name());
        Ok(ical::render(Method::Publish, &name, &events, &organizer, None, now))
    })
}
