//! Search: published training sessions, open for enrolment, within an estimated travel time of
//! a place — "a tiers-lieu within 20 minutes of every home".
//!
//! Where a session takes place is **every venue of its schedule** (the venue of each half-day), not
//! only its main venue: a certifying course that moves between tiers-lieux is found near each of
//! them, and reported at the nearest one (with how many venues it uses).
//!
//! Query plan (rust-stack.md §5), bounded by the page of results rather than by the size of the
//! tables, with no N+1:
//! 1. venues inside the bounding box of the reachable radius, from the covering
//!    `venues (lat, lon, id)` index; exact haversine distance in Rust keeps those within the radius,
//!    nearest first;
//! 2. the open sessions held at those venues, **nearest venues first**, in batches of whole
//!    minute-rings (all venues at the same estimated minutes): the distinct (session, venue)
//!    pairs from the covering `half_days (venue_id, day, training_session_id)` index, then those
//!    sessions from the covering `training_sessions (id, status, starts_on, …)` index, filtered
//!    on status, dates and window. A session is first met at its nearest
//!    venue. Once a batch brings the count to the limit, no later session can rank before the
//!    ones found (they are at more minutes), so the search stops: a search from the middle of
//!    Paris reads a few venues' sessions, not the two thousand within twenty minutes;
//! 3. ranking in Rust (estimated minutes, then start date, then distance; or, sorted by date,
//!    start date first — every ring within the time is then read, since an early session may be
//!    at any distance);
//! 4. one batched query each for the details of the page (sessions and courses, venues and
//!    communes, venue counts).
//!
//! When nothing is found within the time, the nearest sessions beyond it (up to
//! [`SEARCH_MINUTES_RANGE`]'s end) are returned apart, in [`SearchResults::beyond`], so that the
//! trainee sees what a longer trip would offer. With `pmr_only`, only sessions whose every venue
//! is declared accessible to people with reduced mobility are kept.

use std::collections::{HashMap, HashSet};
use std::ops::RangeInclusive;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;

use super::TrainingSessionStatus;
use crate::db::ids::{CourseId, TrainingSessionId, VenueId};
use crate::db::schema::{communes, courses, half_days, training_sessions, venues};
use crate::db::{self, DbConn, DbError};
use crate::geo::{self, GeoError, Place, TravelEstimate, TravelModel};
use crate::{Classify, ErrorKind};

/// Travel time searched when none is given: the regional aim.
pub const DEFAULT_SEARCH_MINUTES: u32 = 20;
/// Travel times accepted (minutes); beyond two hours an estimate from straight-line distance means little.
pub const SEARCH_MINUTES_RANGE: RangeInclusive<u32> = 5..=120;
/// Results returned when no limit is given (a page that reads on a phone).
pub const DEFAULT_SEARCH_LIMIT: u32 = 20;
/// Most results returned at once.
pub const MAX_SEARCH_LIMIT: u32 = 200;
/// Longest course code accepted as a filter.
pub const MAX_COURSE_CODE_CHARS: usize = 40;
/// Venue ids per `IN (…)` list, well under both backends' bind-parameter limits.
const VENUE_CHUNK: usize = 500;
/// Session ids per `IN (…)` list.
const SESSION_CHUNK: usize = 2_000;
/// Venues read in the first batch per result asked for (then twice as many each time), nearest
/// first: a venue has a few open sessions at any time, so a first page rarely needs more.
const FIRST_BATCH_VENUES_PER_RESULT: f64 = 0.25;
/// Sessions shown beyond the time searched when none is within it.
pub const BEYOND_LIMIT: u32 = 3;
/// Kilometres per degree of latitude (mean Earth radius 6371.0088 km).
const KM_PER_DEGREE: f64 = 111.195;

/// Errors of the search.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// The place could not be resolved (invalid, ambiguous with candidates, unknown).
    #[error(transparent)]
    Geo(#[from] GeoError),
    /// A search parameter is out of range or malformed.
    #[error("{message}")]
    Invalid {
        /// Which parameter (`minutes`, `from`, `course`, `limit`, `near`).
        parameter: &'static str,
        /// French explanation.
        message: String,
    },
    /// A catalogue read failed.
    #[error(transparent)]
    Catalogue(#[from] super::CatalogueError),
    /// Storage failure.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl Classify for SearchError {
    fn kind(&self) -> ErrorKind {
        match self {
            SearchError::Geo(e) => e.kind(),
            SearchError::Invalid { .. } => ErrorKind::Invalid,
            SearchError::Catalogue(e) => e.kind(),
            SearchError::Db(e) => e.kind(),
        }
    }

    fn code(&self) -> &'static str {
        match self {
            SearchError::Geo(e) => e.code(),
            SearchError::Invalid { .. } => "invalid_parameter",
            SearchError::Catalogue(e) => e.code(),
            SearchError::Db(e) => e.code(),
        }
    }

    fn details(&self) -> Option<serde_json::Value> {
        match self {
            SearchError::Geo(e) => e.details(),
            SearchError::Invalid { parameter, .. } => Some(serde_json::json!({ "parameter": parameter })),
            SearchError::Catalogue(e) => e.details(),
            SearchError::Db(_) => None,
        }
    }
}

impl SearchError {
    /// A refusal of one parameter.
    pub fn invalid(parameter: &'static str, message: impl Into<String>) -> Self {
        SearchError::Invalid { parameter, message: message.into() }
    }

    /// Whether the storage failed (rather than the query being refused).
    pub fn is_storage_failure(&self) -> bool {
        matches!(
            self,
            SearchError::Db(_)
                | SearchError::Catalogue(super::CatalogueError::Db(_))
                | SearchError::Geo(GeoError::Db(_))
        )
    }

    /// The candidates of an ambiguous place (for pages that show them as links).
    pub fn candidates(&self) -> Option<&[geo::PlaceCandidate]> {
        match self {
            SearchError::Geo(e) => e.candidates(),
            _ => None,
        }
    }

    /// The communes suggested for a place that matched nothing (« Vouliez-vous dire … ? »).
    pub fn suggestions(&self) -> Option<&[geo::PlaceCandidate]> {
        match self {
            SearchError::Geo(e) => e.suggestions(),
            _ => None,
        }
    }
}

/// Where to search from.
#[derive(Debug, Clone, PartialEq)]
pub enum Near {
    /// What the trainee typed: postcode, commune, `Name (17)`, coordinates… (see [`geo::resolve_place`]).
    Text(String),
    /// Explicit coordinates (e.g. the browser's geolocation).
    Point {
        /// Latitude (WGS84).
        lat: f64,
        /// Longitude (WGS84).
        lon: f64,
    },
}

/// How results are ordered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SearchOrder {
    /// Nearest first (estimated minutes, then start date).
    #[default]
    Travel,
    /// Earliest start first (then estimated minutes).
    Date,
}

impl SearchOrder {
    /// Reads the order as the doors receive it (`travel`, `date`; empty is the default).
    pub fn parse(raw: &str) -> Result<Self, SearchError> {
        match raw.trim() {
            "" | "travel" => Ok(SearchOrder::Travel),
            "date" => Ok(SearchOrder::Date),
            _ => Err(SearchError::invalid("sort", "sort : « travel » (temps de trajet) ou « date » attendu")),
        }
    }

    /// The value the doors accept for this order.
    pub fn as_str(self) -> &'static str {
        match self {
            SearchOrder::Travel => "travel",
            SearchOrder::Date => "date",
        }
    }
}

/// A search request; `None` fields take their documented defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchQuery {
    /// Where from.
    pub near: Near,
    /// Largest estimated travel time, in minutes ([`DEFAULT_SEARCH_MINUTES`], within [`SEARCH_MINUTES_RANGE`]).
    pub minutes: Option<u32>,
    /// Sessions starting on or after this date (default: today in Europe/Paris).
    pub from: Option<NaiveDate>,
    /// Only sessions of this course code (case-insensitive).
    pub course: Option<String>,
    /// Most results ([`DEFAULT_SEARCH_LIMIT`], at most [`MAX_SEARCH_LIMIT`]).
    pub limit: Option<u32>,
    /// Order of the results (nearest first by default).
    pub order: SearchOrder,
    /// Only sessions whose every venue is declared accessible to people with reduced mobility.
    pub pmr_only: bool,
}

impl SearchQuery {
    /// A search around `near` with every default.
    pub fn near(near: Near) -> Self {
        SearchQuery {
            near,
            minutes: None,
            from: None,
            course: None,
            limit: None,
            order: SearchOrder::Travel,
            pmr_only: false,
        }
    }
}

/// The course of a result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CourseSummary {
    /// Course code (`PTL`).
    pub code: String,
    /// Title.
    pub title: String,
}

/// The venue a result is reported at (the session's nearest venue).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NearbyVenue {
    /// Stable slug.
    pub slug: String,
    /// Name.
    pub name: String,
    /// Commune name.
    pub commune: String,
    /// Commune INSEE code.
    pub insee: String,
    /// Postcode, when known.
    pub postcode: Option<String>,
    /// Street address, when known.
    pub address: Option<String>,
    /// Latitude.
    pub lat: f64,
    /// Longitude.
    pub lon: f64,
    /// True when the venue's point is its commune's (distance is then less precise).
    pub approximate_position: bool,
}

/// One training session found near the place.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SessionNearby {
    /// Identifier.
    pub id: TrainingSessionId,
    /// Human reference.
    pub reference: String,
    /// Course.
    pub course: CourseSummary,
    /// The nearest of the session's venues.
    pub venue: NearbyVenue,
    /// How many venues the schedule uses (more than one: the session moves).
    pub venue_count: u32,
    /// Slug of the venue the result is reported at (the nearest of the session's venues).
    pub near_venue: String,
    /// Half-days held at that venue: a session that moves is near only for these.
    pub half_days_at_near_venue: u32,
    /// Half-days of the whole schedule.
    pub half_days_total: u32,
    /// First day.
    pub start: NaiveDate,
    /// Last day.
    pub end: NaiveDate,
    /// Estimated travel time to that venue. Within the time searched, the band's high end is
    /// clamped to it (the central figure is within it, and a band reaching past the filter would
    /// contradict it); beyond it, the band is as estimated.
    pub travel: TravelEstimate,
    /// Straight-line distance to that venue, km (rounded to 0.1).
    pub distance_km: f64,
    /// Seats.
    pub capacity: i32,
    /// Seats left (0: enrolling joins the waitlist).
    pub seats_left: i32,
    /// False when the enrolment window has not opened yet.
    pub enrolment_open: bool,
}

/// What a search found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchResults {
    /// The resolved place.
    pub place: Place,
    /// Travel time searched, in minutes.
    pub minutes: u32,
    /// Straight-line radius that this time allows under the model, km (rounded to 0.1).
    pub radius_km: f64,
    /// Sessions starting on or after this date.
    pub from: NaiveDate,
    /// Course filter, normalised, if any.
    pub course: Option<String>,
    /// True when more sessions match than the limit let through (ask for a larger limit or
    /// fewer minutes to see them).
    pub more: bool,
    /// Order of `sessions`.
    pub order: SearchOrder,
    /// Whether only sessions at accessible venues were kept.
    pub pmr_only: bool,
    /// The sessions, by estimated time then start date (or by start date: see `order`).
    pub sessions: Vec<SessionNearby>,
    /// When `sessions` is empty, the nearest sessions beyond the time searched (at most
    /// [`BEYOND_LIMIT`], within [`SEARCH_MINUTES_RANGE`]'s end), nearest first; else empty.
    pub beyond: Vec<SessionNearby>,
}

/// Searches the sessions near a place, as of now (today in Europe/Paris). Read-only.
pub fn search_sessions(
    conn: &mut DbConn,
    query: &SearchQuery,
    model: &TravelModel,
) -> Result<SearchResults, SearchError> {
    search_sessions_at(conn, query, model, db::now(), super::paris_today())
}

/// The home page: the courses, and either the upcoming sessions (no place given), the sessions
/// found near the place, or why the search was refused (an ambiguous place lists candidates).
#[derive(Debug)]
pub struct HomePage {
    /// Every course, by code (the form's course filter).
    pub courses: Vec<super::CourseView>,
    /// What the page shows below the form.
    pub found: HomeFound,
}

/// What the home page shows below its form.
#[derive(Debug)]
pub enum HomeFound {
    /// No place given: the upcoming published sessions.
    Upcoming(Vec<super::TrainingSessionView>),
    /// The sessions near the place (boxed: by far the largest variant).
    Results(Box<SearchResults>),
    /// The search was refused (never a storage failure: those are the use case's error).
    Refused(SearchError),
}

/// Everything the home page shows, in one read transaction. `search` is `None` without a place.
pub fn home_page(
    conn: &mut DbConn,
    search: Option<&SearchQuery>,
    model: &TravelModel,
    now: NaiveDateTime,
    today: NaiveDate,
) -> Result<HomePage, SearchError> {
    db::read_transaction(conn, |conn| {
        let courses = super::list_offered_courses(conn)?;
        let found = match search {
            None => HomeFound::Upcoming(super::upcoming_sessions(conn, today)?),
            Some(query) => match search_sessions_at(conn, query, model, now, today) {
                Ok(results) => HomeFound::Results(Box::new(results)),
                Err(error) if error.is_storage_failure() => return Err(error),
                Err(error) => HomeFound::Refused(error),
            },
        };
        Ok(HomePage { courses, found })
    })
}

struct Checked {
    minutes: u32,
    from: NaiveDate,
    course: Option<String>,
    limit: usize,
}

fn check(query: &SearchQuery, today: NaiveDate) -> Result<Checked, SearchError> {
    let minutes = query.minutes.unwrap_or(DEFAULT_SEARCH_MINUTES);
    if !SEARCH_MINUTES_RANGE.contains(&minutes) {
        return Err(SearchError::invalid(
            "minutes",
            format!(
                "temps de trajet invalide : {minutes} min (de {} à {} minutes)",
                SEARCH_MINUTES_RANGE.start(),
                SEARCH_MINUTES_RANGE.end()
            ),
        ));
    }
    let limit = query.limit.unwrap_or(DEFAULT_SEARCH_LIMIT);
    if limit == 0 || limit > MAX_SEARCH_LIMIT {
        return Err(SearchError::invalid(
            "limit",
            format!("nombre de résultats invalide : {limit} (de 1 à {MAX_SEARCH_LIMIT})"),
        ));
    }
    let from = query.from.unwrap_or(today);
    let earliest = NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or(NaiveDate::MIN);
    let latest = NaiveDate::from_ymd_opt(2100, 12, 31).unwrap_or(NaiveDate::MAX);
    if from < earliest || from > latest {
        return Err(SearchError::invalid("from", format!("date de début invalide : {from} (entre 2000 et 2100)")));
    }
    let course = match query.course.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(code) => {
            if !super::courses::is_course_code(code) {
                return Err(SearchError::invalid(
                    "course",
                    format!(
                        "code de formation invalide (lettres, chiffres, - et _, {MAX_COURSE_CODE_CHARS} caractères au plus)"
                    ),
                ));
            }
            Some(code.to_ascii_uppercase())
        }
    };
    Ok(Checked { minutes, from, course, limit: limit as usize })
}

/// [`search_sessions`] as of `now` (UTC) and `today` (Europe/Paris): what tests use to pin time.
pub fn search_sessions_at(
    conn: &mut DbConn,
    query: &SearchQuery,
    model: &TravelModel,
    now: NaiveDateTime,
    today: NaiveDate,
) -> Result<SearchResults, SearchError> {
    let checked = check(query, today)?;
    db::read_transaction(conn, |conn| {
        let place = match &query.near {
            Near::Text(text) => geo::resolve_place(conn, text)?,
            Near::Point { lat, lon } => geo::place_at(*lat, *lon)?,
        };
        let radius_km = model.km_for_minutes(f64::from(checked.minutes));
        let mut results = SearchResults {
            place,
            minutes: checked.minutes,
            radius_km: (radius_km * 10.0).round() / 10.0,
            from: checked.from,
            course: checked.course.clone(),
            more: false,
            order: query.order,
            pmr_only: query.pmr_only,
            sessions: Vec::new(),
            beyond: Vec::new(),
        };
        let course_id = match &checked.course {
            None => None,
            Some(code) => match course_id_by_code(conn, code)? {
                Some(id) => Some(id),
                // An unknown course simply has no sessions.
                None => return Ok(results),
            },
        };
        let uncertainty = results.place.uncertainty_km;
        let filter = SessionFilter { from: checked.from, now, course: course_id.as_ref(), pmr_only: query.pmr_only };
        let nearby = venues_within(conn, &results.place, None, radius_km, model, uncertainty, &filter)?;
        let stop_early = query.order == SearchOrder::Travel;
        let (mut ranked, more) = nearest_sessions(conn, &nearby, &filter, checked.limit, stop_early)?;
        match query.order {
            SearchOrder::Travel => ranked.sort_by(|a, b| {
                (a.travel.minutes, a.start)
                    .cmp(&(b.travel.minutes, b.start))
                    .then(a.km.total_cmp(&b.km))
                    .then_with(|| a.id.cmp(&b.id))
            }),
            SearchOrder::Date => ranked.sort_by(|a, b| {
                (a.start, a.travel.minutes)
                    .cmp(&(b.start, b.travel.minutes))
                    .then(a.km.total_cmp(&b.km))
                    .then_with(|| a.id.cmp(&b.id))
            }),
        }
        results.more = more || ranked.len() > checked.limit;
        ranked.truncate(checked.limit);
        results.sessions = details(conn, ranked, now)?;
        for session in &mut results.sessions {
            session.travel.max = session.travel.max.min(checked.minutes);
        }
        if results.sessions.is_empty() {
            let farthest_km = model.km_for_minutes(f64::from(*SEARCH_MINUTES_RANGE.end()));
            if farthest_km > radius_km {
                let farther =
                    venues_within(conn, &results.place, Some(radius_km), farthest_km, model, uncertainty, &filter)?;
                let (mut beyond, _) = nearest_sessions(conn, &farther, &filter, BEYOND_LIMIT as usize, true)?;
                beyond.sort_by(|a, b| {
                    (a.travel.minutes, a.start)
                        .cmp(&(b.travel.minutes, b.start))
                        .then(a.km.total_cmp(&b.km))
                        .then_with(|| a.id.cmp(&b.id))
                });
                beyond.truncate(BEYOND_LIMIT as usize);
                results.beyond = details(conn, beyond, now)?;
            }
        }
        Ok(results)
    })
}

/// A venue within reach, with its distance and estimate.
struct Reachable {
    id: VenueId,
    km: f64,
    travel: TravelEstimate,
}

struct Ranked {
    travel: TravelEstimate,
    km: f64,
    start: NaiveDate,
    id: TrainingSessionId,
    venue: VenueId,
}

struct SessionFilter<'a> {
    from: NaiveDate,
    now: NaiveDateTime,
    course: Option<&'a CourseId>,
    pmr_only: bool,
}

/// The sessions with a half-day at a venue not declared accessible (unknown counts as not), as
/// a subquery. A macro because the subquery's diesel type is unwieldy; it reads `half_days`
/// under an alias, so that it also fits in a query that already joins `half_days`.
macro_rules! sessions_at_inaccessible_venues {
    () => {{
        let pmr_half_days = diesel::alias!(half_days as pmr_half_days);
        pmr_half_days
            .inner_join(venues::table.on(venues::id.eq(pmr_half_days.field(half_days::venue_id))))
            .filter(venues::accessible_pmr.is_null().or(venues::accessible_pmr.eq(false)))
            .select(pmr_half_days.field(half_days::training_session_id))
    }};
}

fn course_id_by_code(conn: &mut DbConn, code: &str) -> Result<Option<CourseId>, DbError> {
    courses::table.filter(courses::code.eq(code)).select(courses::id).first(conn).optional().map_err(DbError::from)
}

/// Venues farther than `beyond_km` (when given) and within `radius_km` of the place, nearest first (only the
/// accessible ones when the filter asks for them).
fn venues_within(
    conn: &mut DbConn,
    place: &Place,
    beyond_km: Option<f64>,
    radius_km: f64,
    model: &TravelModel,
    uncertainty_km: f64,
    filter: &SessionFilter<'_>,
) -> Result<Vec<Reachable>, DbError> {
    // A 1 % margin so that the box never cuts the circle; longitude degrees shrink towards the
    // poles, so the box uses the cosine of its highest latitude.
    let dlat = radius_km * 1.01 / KM_PER_DEGREE;
    let highest = (place.lat.abs() + dlat).min(89.0);
    let dlon = (radius_km * 1.01 / (KM_PER_DEGREE * highest.to_radians().cos())).min(180.0);
    let mut query = venues::table
        .filter(venues::lat.between(place.lat - dlat, place.lat + dlat))
        .filter(venues::lon.between(place.lon - dlon, place.lon + dlon))
        .select((venues::id, venues::lat, venues::lon))
        .into_boxed();
    if filter.pmr_only {
        query = query.filter(venues::accessible_pmr.eq(true));
    }
    let rows: Vec<(VenueId, f64, f64)> = query.load(conn)?;
    let mut reachable: Vec<Reachable> = rows
        .into_iter()
        .filter_map(|(id, lat, lon)| {
            let km = geo::haversine_km(place.lat, place.lon, lat, lon);
            (beyond_km.is_none_or(|beyond| km > beyond) && km <= radius_km).then(|| Reachable {
                id,
                km,
                travel: model.estimate(km, uncertainty_km),
            })
        })
        .collect();
    reachable.sort_by(|a, b| a.km.total_cmp(&b.km).then_with(|| a.id.cmp(&b.id)));
    Ok(reachable)
}

/// The open sessions of the nearest venues, each at its nearest venue, stopping (when
/// `stop_early`) once `limit` sessions are certain to be the nearest ones; the flag says whether
/// sessions were left unread.
fn nearest_sessions(
    conn: &mut DbConn,
    nearby: &[Reachable],
    filter: &SessionFilter<'_>,
    limit: usize,
    stop_early: bool,
) -> Result<(Vec<Ranked>, bool), DbError> {
    let mut found: Vec<Ranked> = Vec::new();
    let mut seen: HashSet<TrainingSessionId> = HashSet::new();
    let mut next = 0;
    let mut batch_size = ((limit as f64 * FIRST_BATCH_VENUES_PER_RESULT).ceil() as usize).clamp(4, 64);
    while next < nearby.len() {
        // Whole minute-rings only: a ring cut in two could hide a session starting earlier at
        // the same estimated time.
        let mut end = (next + batch_size).min(nearby.len());
        while end < nearby.len() && nearby[end].travel.minutes == nearby[end - 1].travel.minutes {
            end += 1;
        }
        let batch = &nearby[next..end];
        let position: HashMap<&VenueId, usize> = batch.iter().enumerate().map(|(i, v)| (&v.id, next + i)).collect();
        let mut best: HashMap<TrainingSessionId, (usize, NaiveDate)> = HashMap::new();
        for chunk in batch.chunks(VENUE_CHUNK) {
            for (session, venue, start) in sessions_at(conn, chunk, filter)? {
                if seen.contains(&session) {
                    continue; // already met at a nearer venue
                }
                let Some(&rank) = position.get(&venue) else { continue };
                let entry = best.entry(session).or_insert((rank, start));
                entry.0 = entry.0.min(rank);
            }
        }
        for (id, (rank, start)) in best {
            let venue = &nearby[rank];
            seen.insert(id.clone());
            found.push(Ranked { travel: venue.travel, km: venue.km, start, id, venue: venue.id.clone() });
        }
        next = end;
        batch_size *= 2;
        if stop_early && found.len() >= limit {
            break;
        }
    }
    let unread = &nearby[next..];
    let more = found.len() > limit || (!unread.is_empty() && any_session_at(conn, unread, filter, &seen)?);
    Ok((found, more))
}

/// (session, venue, start) for the open sessions held at `venues`.
///
/// Two steps rather than one join: the distinct (session, venue) pairs come from the covering
/// half-days index alone, and only those sessions are then looked up (a join would look a session
/// up once per half-day, about seven times as often).
fn sessions_at(
    conn: &mut DbConn,
    venues: &[Reachable],
    filter: &SessionFilter<'_>,
) -> Result<Vec<(TrainingSessionId, VenueId, NaiveDate)>, DbError> {
    let pairs: Vec<(TrainingSessionId, VenueId)> = half_days::table
        .filter(half_days::venue_id.eq_any(venues.iter().map(|v| &v.id)))
        .filter(half_days::day.ge(filter.from))
        .select((half_days::training_session_id, half_days::venue_id))
        .distinct()
        .load(conn)?;
    if pairs.is_empty() {
        return Ok(Vec::new());
    }
    let mut ids: Vec<&TrainingSessionId> = pairs.iter().map(|(session, _)| session).collect();
    ids.sort();
    ids.dedup();
    let mut open: HashMap<TrainingSessionId, NaiveDate> = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(SESSION_CHUNK) {
        let mut query = training_sessions::table
            .filter(training_sessions::id.eq_any(chunk.iter().copied()))
            .filter(training_sessions::status.eq(TrainingSessionStatus::Published.as_str()))
            .filter(training_sessions::starts_on.ge(filter.from))
            .filter(
                training_sessions::enrolment_closes_at
                    .is_null()
                    .or(training_sessions::enrolment_closes_at.gt(filter.now)),
            )
            // Archived courses are out of the offer, their running sessions included.
            .filter(training_sessions::course_id.eq_any(offered_course_ids()))
            .select((training_sessions::id, training_sessions::starts_on))
            .into_boxed();
        if let Some(course) = filter.course {
            query = query.filter(training_sessions::course_id.eq(course.clone()));
        }
        if filter.pmr_only {
            query = query.filter(training_sessions::id.ne_all(sessions_at_inaccessible_venues!()));
        }
        open.extend(query.load::<(TrainingSessionId, NaiveDate)>(conn)?);
    }
    Ok(pairs
        .into_iter()
        .filter_map(|(session, venue)| open.get(&session).copied().map(|start| (session, venue, start)))
        .collect())
}

/// The ids of the courses still offered, as a subquery.
fn offered_course_ids()
-> diesel::dsl::Select<diesel::dsl::Filter<courses::table, diesel::dsl::IsNull<courses::archived_at>>, courses::id> {
    courses::table.filter(courses::archived_at.is_null()).select(courses::id)
}

/// Whether any open session not yet `seen` is held at `venues` (stops at the first one).
fn any_session_at(
    conn: &mut DbConn,
    venues: &[Reachable],
    filter: &SessionFilter<'_>,
    seen: &HashSet<TrainingSessionId>,
) -> Result<bool, DbError> {
    for chunk in venues.chunks(VENUE_CHUNK) {
        // Sessions already found may also be held at these farther venues: one more distinct
        // session than those found is enough to be sure that one of them is new.
        let mut query = half_days::table
            .inner_join(training_sessions::table)
            .filter(half_days::venue_id.eq_any(chunk.iter().map(|v| &v.id)))
            .filter(half_days::day.ge(filter.from))
            .filter(training_sessions::status.eq(TrainingSessionStatus::Published.as_str()))
            .filter(training_sessions::starts_on.ge(filter.from))
            .filter(
                training_sessions::enrolment_closes_at
                    .is_null()
                    .or(training_sessions::enrolment_closes_at.gt(filter.now)),
            )
            // Archived courses are out of the offer, their running sessions included.
            .filter(training_sessions::course_id.eq_any(offered_course_ids()))
            .select(half_days::training_session_id)
            .distinct()
            .into_boxed();
        if let Some(course) = filter.course {
            query = query.filter(training_sessions::course_id.eq(course.clone()));
        }
        if filter.pmr_only {
            query = query.filter(training_sessions::id.ne_all(sessions_at_inaccessible_venues!()));
        }
        let probe = i64::try_from(seen.len()).unwrap_or(i64::MAX).saturating_add(1);
        let ids: Vec<TrainingSessionId> = query.limit(probe).load(conn)?;
        if ids.iter().any(|id| !seen.contains(id)) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// A result's session and course (row type; fields in the order selected).
#[derive(Queryable)]
struct DetailRow {
    id: TrainingSessionId,
    reference: String,
    code: String,
    title: String,
    end: NaiveDate,
    capacity: i32,
    seats_taken: i32,
    enrolment_opens_at: Option<NaiveDateTime>,
}

/// A result's venue with its commune (row type; fields in the order selected).
#[derive(Queryable)]
struct VenueDetailRow {
    id: VenueId,
    slug: String,
    name: String,
    address: Option<String>,
    postcode: Option<String>,
    insee: String,
    commune: String,
    lat: f64,
    lon: f64,
    source: crate::venues::CoordinatesSource,
}

/// The page of results with their details: three queries whatever the page size.
fn details(conn: &mut DbConn, ranked: Vec<Ranked>, now: NaiveDateTime) -> Result<Vec<SessionNearby>, DbError> {
    if ranked.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<&TrainingSessionId> = ranked.iter().map(|r| &r.id).collect();
    let rows: Vec<DetailRow> = training_sessions::table
        .inner_join(courses::table)
        .filter(training_sessions::id.eq_any(ids.iter().copied()))
        .select((
            training_sessions::id,
            training_sessions::reference,
            courses::code,
            courses::title,
            training_sessions::ends_on,
            training_sessions::capacity,
            training_sessions::seats_taken,
            training_sessions::enrolment_opens_at,
        ))
        .load(conn)?;
    let mut rows: HashMap<TrainingSessionId, DetailRow> = rows.into_iter().map(|r| (r.id.clone(), r)).collect();
    let mut venue_ids: Vec<&VenueId> = ranked.iter().map(|r| &r.venue).collect();
    venue_ids.sort();
    venue_ids.dedup();
    let venue_rows: Vec<VenueDetailRow> = venues::table
        .inner_join(communes::table)
        .filter(venues::id.eq_any(venue_ids))
        .select((
            venues::id,
            venues::slug,
            venues::name,
            venues::address,
            venues::postcode,
            venues::commune_insee,
            communes::name,
            venues::lat,
            venues::lon,
            venues::coordinates_source,
        ))
        .load(conn)?;
    let venues_by_id: HashMap<VenueId, NearbyVenue> = venue_rows
        .into_iter()
        .map(|row| {
            let venue = NearbyVenue {
                approximate_position: row.source.is_approximate(),
                slug: row.slug,
                name: row.name,
                commune: row.commune,
                insee: row.insee,
                postcode: row.postcode,
                address: row.address,
                lat: row.lat,
                lon: row.lon,
            };
            (row.id, venue)
        })
        .collect();
    // Half-days per (session, venue): how many venues a session uses, and how many of its
    // half-days are held at the venue it is reported at.
    let venue_pairs: Vec<(TrainingSessionId, VenueId, i64)> = half_days::table
        .filter(half_days::training_session_id.eq_any(ids.iter().copied()))
        .group_by((half_days::training_session_id, half_days::venue_id))
        .select((half_days::training_session_id, half_days::venue_id, diesel::dsl::count_star()))
        .load(conn)?;
    let mut venue_count: HashMap<TrainingSessionId, u32> = HashMap::new();
    let mut half_days_total: HashMap<TrainingSessionId, u32> = HashMap::new();
    let mut half_days_at: HashMap<(TrainingSessionId, VenueId), u32> = HashMap::new();
    for (session, venue, count) in venue_pairs {
        let count = u32::try_from(count).unwrap_or(u32::MAX);
        *venue_count.entry(session.clone()).or_default() += 1;
        *half_days_total.entry(session.clone()).or_default() += count;
        half_days_at.insert((session, venue), count);
    }
    Ok(ranked
        .into_iter()
        .filter_map(|r| {
            let row = rows.remove(&r.id)?;
            let venue = venues_by_id.get(&r.venue)?.clone();
            Some(SessionNearby {
                venue_count: venue_count.get(&r.id).copied().unwrap_or(1),
                near_venue: venue.slug.clone(),
                half_days_at_near_venue: half_days_at.get(&(r.id.clone(), r.venue.clone())).copied().unwrap_or(0),
                half_days_total: half_days_total.get(&r.id).copied().unwrap_or(0),
                id: r.id,
                reference: row.reference,
                course: CourseSummary { code: row.code, title: row.title },
                venue,
                start: r.start,
                end: row.end,
                travel: r.travel,
                distance_km: (r.km * 10.0).round() / 10.0,
                capacity: row.capacity,
                seats_left: (row.capacity - row.seats_taken).max(0),
                enrolment_open: row.enrolment_opens_at.is_none_or(|opens| opens <= now),
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query() -> SearchQuery {
        SearchQuery::near(Near::Text("Saintes".into()))
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 23).unwrap_or_default()
    }

    #[test]
    fn parameters_default_and_are_bounded() {
        let checked = check(&query(), today()).ok();
        assert_eq!(checked.as_ref().map(|c| (c.minutes, c.from, c.limit)), Some((20, today(), 20)));
        for (minutes, ok) in [(4, false), (5, true), (120, true), (121, false), (0, false), (u32::MAX, false)] {
            let q = SearchQuery { minutes: Some(minutes), ..query() };
            assert_eq!(check(&q, today()).is_ok(), ok, "{minutes}");
        }
        for (limit, ok) in [(0, false), (1, true), (200, true), (201, false)] {
            let q = SearchQuery { limit: Some(limit), ..query() };
            assert_eq!(check(&q, today()).is_ok(), ok, "{limit}");
        }
        let far = SearchQuery { from: NaiveDate::from_ymd_opt(2200, 1, 1), ..query() };
        assert!(matches!(check(&far, today()), Err(SearchError::Invalid { parameter: "from", .. })));
    }

    #[test]
    fn course_codes_are_normalised_and_checked() {
        let q = SearchQuery { course: Some(" ptl ".into()), ..query() };
        assert_eq!(check(&q, today()).ok().and_then(|c| c.course), Some("PTL".into()));
        let blank = SearchQuery { course: Some("  ".into()), ..query() };
        assert_eq!(check(&blank, today()).ok().map(|c| c.course), Some(None));
        for bad in ["<b>", "P T L", "x".repeat(41).as_str(), "PTL'--"] {
            let q = SearchQuery { course: Some(bad.into()), ..query() };
            assert!(matches!(check(&q, today()), Err(SearchError::Invalid { parameter: "course", .. })), "{bad}");
        }
    }
}
