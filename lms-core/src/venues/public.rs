//! What anyone may read about venues: the list, and one venue's page with its upcoming published
//! sessions (the API's `/venues` and the page `/lieux/{slug}`).

use std::collections::HashMap;

use chrono::NaiveDate;
use diesel::prelude::*;
use serde::Serialize;

use super::{VenueError, VenueKind, VenueView, find_venue_by_slug, list_venues};
use crate::catalogue::TrainingSessionStatus;
use crate::db::ids::TrainingSessionId;
use crate::db::schema::{courses, half_days, training_sessions};
use crate::db::{DbConn, DbError};

/// A venue in the public list.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct VenueSummary {
    /// Stable slug (the page is `/lieux/{slug}`).
    pub slug: String,
    /// Name.
    pub name: String,
    /// Kinds of place.
    pub kinds: Vec<VenueKind>,
    /// Street address, when published.
    pub address: Option<String>,
    /// Postcode.
    pub postcode: Option<String>,
    /// Commune name.
    pub commune: String,
    /// Commune INSEE code.
    pub insee: String,
    /// Step-free access (PMR), when known.
    pub pmr: Option<bool>,
    /// Latitude.
    pub lat: f64,
    /// Longitude.
    pub lon: f64,
    /// True when the point is the commune's, not the venue's own.
    pub approximate_position: bool,
}

impl From<VenueView> for VenueSummary {
    fn from(v: VenueView) -> Self {
        VenueSummary {
            slug: v.slug,
            name: v.name,
            kinds: v.kinds,
            address: v.address,
            postcode: v.postcode,
            commune: v.commune,
            insee: v.insee,
            pmr: v.pmr,
            lat: v.lat,
            lon: v.lon,
            approximate_position: v.approximate_position,
        }
    }
}

impl VenueSummary {
    /// The venue's address on one line (see [`super::VenueAddress::one_line`]).
    pub fn one_line_address(&self) -> String {
        super::VenueAddress {
            street: self.address.as_deref(),
            postcode: self.postcode.as_deref(),
            commune: &self.commune,
        }
        .one_line()
    }
}

/// A published session with at least one half-day at the venue, not over yet.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct VenueSession {
    /// Identifier.
    pub id: TrainingSessionId,
    /// Human reference.
    pub reference: String,
    /// Course code.
    pub course: String,
    /// Course title.
    pub course_title: String,
    /// First day of the session.
    pub start: NaiveDate,
    /// Last day of the session.
    pub end: NaiveDate,
    /// Half-days held at this venue.
    pub half_days_here: i64,
    /// Half-days of the whole session.
    pub half_days_total: i64,
    /// Seats left.
    pub seats_left: i64,
}

/// One venue for the public: the place, its access, its contact and its upcoming sessions.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PublicVenue {
    /// The place.
    #[serde(flatten)]
    pub summary: VenueSummary,
    /// Département code.
    pub departement: String,
    /// One neutral sentence.
    pub description: String,
    /// Access details: parking, public transport, lift.
    pub access_note: Option<String>,
    /// Contact e-mail.
    pub email: Option<String>,
    /// Contact phone number.
    pub phone: Option<String>,
    /// Web site.
    pub url: Option<String>,
    /// Attribution of the facts.
    pub source: Option<String>,
    /// Published sessions with a half-day here that end on or after `today`, soonest first.
    pub upcoming_sessions: Vec<VenueSession>,
}

/// Every venue for the public, by département then name.
pub fn public_venues(conn: &mut DbConn) -> Result<Vec<VenueSummary>, VenueError> {
    Ok(list_venues(conn)?.into_iter().map(VenueSummary::from).collect())
}

#[derive(Queryable)]
struct SessionHere {
    id: TrainingSessionId,
    reference: String,
    course: String,
    course_title: String,
    start: NaiveDate,
    end: NaiveDate,
    capacity: i32,
    seats_taken: i32,
}

/// One venue by slug with its upcoming published sessions (`today` is the Paris date).
pub fn public_venue(conn: &mut DbConn, slug: &str, today: NaiveDate) -> Result<PublicVenue, VenueError> {
    crate::db::read_transaction(conn, |conn| {
        let view = find_venue_by_slug(conn, slug)?;
        let here: Vec<SessionHere> = half_days::table
            .inner_join(training_sessions::table.inner_join(courses::table))
            .filter(half_days::venue_id.eq(&view.id))
            .filter(training_sessions::status.eq(TrainingSessionStatus::Published))
            .filter(training_sessions::ends_on.ge(today))
            .select((
                training_sessions::id,
                training_sessions::reference,
                courses::code,
                courses::title,
                training_sessions::starts_on,
                training_sessions::ends_on,
                training_sessions::capacity,
                training_sessions::seats_taken,
            ))
            .order((training_sessions::starts_on.asc(), training_sessions::reference.asc()))
            .load(conn)
            .map_err(DbError::from)?;
        let ids: Vec<TrainingSessionId> = here.iter().map(|s| s.id.clone()).collect();
        let totals: HashMap<TrainingSessionId, i64> = half_days::table
            .filter(half_days::training_session_id.eq_any(&ids))
            .group_by(half_days::training_session_id)
            .select((half_days::training_session_id, diesel::dsl::count_star()))
            .load::<(TrainingSessionId, i64)>(conn)
            .map_err(DbError::from)?
            .into_iter()
            .collect();
        let mut sessions: Vec<VenueSession> = Vec::new();
        for row in here {
            if let Some(last) = sessions.last_mut()
                && last.id == row.id
            {
                last.half_days_here += 1;
                continue;
            }
            sessions.push(VenueSession {
                half_days_total: totals.get(&row.id).copied().unwrap_or(0),
                id: row.id,
                reference: row.reference,
                course: row.course,
                course_title: row.course_title,
                start: row.start,
                end: row.end,
                half_days_here: 1,
                seats_left: i64::from(row.capacity - row.seats_taken).max(0),
            });
        }
        Ok(PublicVenue {
            departement: view.departement.clone(),
            description: view.description.clone(),
            access_note: view.access_note.clone(),
            email: view.email.clone(),
            phone: view.phone.clone(),
            url: view.url.clone(),
            source: view.source.clone(),
            summary: VenueSummary::from(view),
            upcoming_sessions: sessions,
        })
    })
}
