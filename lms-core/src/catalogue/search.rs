//! Search: published training sessions, open for enrolment, within an estimated travel time of
//! a place — "a tiers-lieu within 20 minutes of every home".
//!
//! Where a session takes place is **every venue of its schedule** (the venue of each half-day), not
//! only its main venue: a certifying course that moves between tiers-lieux is found near each of
//! them, and reported at the nearest one (with how many venues it uses).
//!
//! Query plan (rust-stack.md §5), bounded whatever the size of the tables, and with no N+1:
//! 1. venues inside the bounding box of the reachable radius, from the `(lat, lon)` index;
//! 2. exact haversine distance in Rust, keeping the venues within the radius;
//! 3. the sessions of those venues from the `half_days (venue_id, day, training_session_id)` index,
//!    joined to `training_sessions` by primary key and filtered on status, dates and window;
//! 4. ranking in Rust (estimated minutes, then start date), then one batched query each for the
//!    details of the page of results (course, seats) and their venue counts.

use std::collections::HashMap;
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
/// Results returned when no limit is given.
pub const DEFAULT_SEARCH_LIMIT: u32 = 50;
/// Most results returned at once.
pub const MAX_SEARCH_LIMIT: u32 = 200;
/// Longest course code accepted as a filter.
pub const MAX_COURSE_CODE_CHARS: usize = 40;
/// Venue ids per `IN (…)` list, well under both backends' bind-parameter limits.
const VENUE_CHUNK: usize = 500;
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
    /// Storage failure.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl Classify for SearchError {
    fn kind(&self) -> ErrorKind {
        match self {
            SearchError::Geo(e) => e.kind(),
            SearchError::Invalid { .. } => ErrorKind::Invalid,
            SearchError::Db(e) => e.kind(),
        }
    }

    fn code(&self) -> &'static str {
        match self {
            SearchError::Geo(e) => e.code(),
            SearchError::Invalid { .. } => "invalid_parameter",
            SearchError::Db(e) => e.code(),
        }
    }

    fn details(&self) -> Option<serde_json::Value> {
        match self {
            SearchError::Geo(e) => e.details(),
            SearchError::Invalid { parameter, .. } => Some(serde_json::json!({ "parameter": parameter })),
            SearchError::Db(_) => None,
        }
    }
}

impl SearchError {
    /// A refusal of one parameter.
    pub fn invalid(parameter: &'static str, message: impl Into<String>) -> Self {
        SearchError::Invalid { parameter, message: message.into() }
    }

    /// The candidates of an ambiguous place (for pages that show them as links).
    pub fn candidates(&self) -> Option<&[geo::PlaceCandidate]> {
        match self {
            SearchError::Geo(e) => e.candidates(),
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
}

impl SearchQuery {
    /// A search around `near` with every default.
    pub fn near(near: Near) -> Self {
        SearchQuery { near, minutes: None, from: None, course: None, limit: None }
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
    /// First day.
    pub start: NaiveDate,
    /// Last day.
    pub end: NaiveDate,
    /// Estimated travel time to that venue.
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
    /// Matching sessions in all (the list may be cut at the limit).
    pub total: usize,
    /// The sessions, by estimated time then start date.
    pub sessions: Vec<SessionNearby>,
}

/// Searches the sessions near a place, as of now (today in Europe/Paris). Read-only.
pub fn search_sessions(
    conn: &mut DbConn,
    query: &SearchQuery,
    model: &TravelModel,
) -> Result<SearchResults, SearchError> {
    search_sessions_at(conn, query, model, db::now(), super::paris_today())
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
            if code.chars().count() > MAX_COURSE_CODE_CHARS
                || !code.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
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
            total: 0,
            sessions: Vec::new(),
        };
        let course_id = match &checked.course {
            None => None,
            Some(code) => match course_id_by_code(conn, code)? {
                Some(id) => Some(id),
                // An unknown course simply has no sessions.
                None => return Ok(results),
            },
        };
        let nearby = venues_within(conn, &results.place, radius_km)?;
        if nearby.is_empty() {
            return Ok(results);
        }
        let mut found = sessions_at(conn, &nearby, checked.from, now, course_id.as_ref())?;
        let uncertainty = results.place.uncertainty_km;
        let mut ranked: Vec<Ranked> = found
            .drain()
            .filter_map(|(id, (venue, start))| {
                let (_, km) = nearby.get(&venue)?;
                Some(Ranked { travel: model.estimate(*km, uncertainty), km: *km, start, id, venue })
            })
            .collect();
        ranked.sort_by(|a, b| {
            (a.travel.minutes, a.start)
                .cmp(&(b.travel.minutes, b.start))
                .then(a.km.total_cmp(&b.km))
                .then_with(|| a.id.cmp(&b.id))
        });
        results.total = ranked.len();
        ranked.truncate(checked.limit);
        results.sessions = details(conn, ranked, &nearby, now)?;
        Ok(results)
    })
}

struct Ranked {
    travel: TravelEstimate,
    km: f64,
    start: NaiveDate,
    id: TrainingSessionId,
    venue: VenueId,
}

fn course_id_by_code(conn: &mut DbConn, code: &str) -> Result<Option<CourseId>, DbError> {
    courses::table.filter(courses::code.eq(code)).select(courses::id).first(conn).optional().map_err(DbError::from)
}

type VenueRowForSearch = (VenueId, String, String, Option<String>, Option<String>, String, String, f64, f64, String);

/// Venues within `radius_km` of the place, with their distance.
fn venues_within(
    conn: &mut DbConn,
    place: &Place,
    radius_km: f64,
) -> Result<HashMap<VenueId, (NearbyVenue, f64)>, DbError> {
    // A 1 % margin so that the box never cuts the circle; longitude degrees shrink towards the
    // poles, so the box uses the cosine of its highest latitude.
    let dlat = radius_km * 1.01 / KM_PER_DEGREE;
    let highest = (place.lat.abs() + dlat).min(89.0);
    let dlon = (radius_km * 1.01 / (KM_PER_DEGREE * highest.to_radians().cos())).min(180.0);
    let rows: Vec<VenueRowForSearch> = venues::table
        .inner_join(communes::table)
        .filter(venues::lat.between(place.lat - dlat, place.lat + dlat))
        .filter(venues::lon.between(place.lon - dlon, place.lon + dlon))
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
    Ok(rows
        .into_iter()
        .filter_map(|(id, slug, name, address, postcode, insee, commune, lat, lon, source)| {
            let km = geo::haversine_km(place.lat, place.lon, lat, lon);
            (km <= radius_km).then(|| {
                let venue = NearbyVenue {
                    slug,
                    name,
                    commune,
                    insee,
                    postcode,
                    address,
                    lat,
                    lon,
                    approximate_position: source == "commune",
                };
                (id, (venue, km))
            })
        })
        .collect())
}

/// Open sessions held (at least one half-day) at one of `nearby`, each with its nearest such
/// venue and its start date.
fn sessions_at(
    conn: &mut DbConn,
    nearby: &HashMap<VenueId, (NearbyVenue, f64)>,
    from: NaiveDate,
    now: NaiveDateTime,
    course: Option<&CourseId>,
) -> Result<HashMap<TrainingSessionId, (VenueId, NaiveDate)>, DbError> {
    let ids: Vec<&VenueId> = nearby.keys().collect();
    let mut best: HashMap<TrainingSessionId, (VenueId, NaiveDate)> = HashMap::new();
    for chunk in ids.chunks(VENUE_CHUNK) {
        let mut query = half_days::table
            .inner_join(training_sessions::table)
            .filter(half_days::venue_id.eq_any(chunk.iter().copied()))
            .filter(half_days::day.ge(from))
            .filter(training_sessions::status.eq(TrainingSessionStatus::Published.as_str()))
            .filter(training_sessions::starts_on.ge(from))
            .filter(training_sessions::enrolment_closes_at.is_null().or(training_sessions::enrolment_closes_at.gt(now)))
            .select((half_days::training_session_id, half_days::venue_id, training_sessions::starts_on))
            .distinct()
            .into_boxed();
        if let Some(course) = course {
            query = query.filter(training_sessions::course_id.eq(course.clone()));
        }
        let rows: Vec<(TrainingSessionId, VenueId, NaiveDate)> = query.load(conn)?;
        for (session, venue, start) in rows {
            let km = |v: &VenueId| nearby.get(v).map_or(f64::INFINITY, |(_, km)| *km);
            match best.get_mut(&session) {
                Some(current) if km(&venue) < km(&current.0) => current.0 = venue,
                Some(_) => {}
                None => {
                    best.insert(session, (venue, start));
                }
            }
        }
    }
    Ok(best)
}

type DetailRow = (TrainingSessionId, String, String, String, NaiveDate, i32, i32, Option<NaiveDateTime>);

/// The page of results with their details: two queries whatever the page size.
fn details(
    conn: &mut DbConn,
    ranked: Vec<Ranked>,
    nearby: &HashMap<VenueId, (NearbyVenue, f64)>,
    now: NaiveDateTime,
) -> Result<Vec<SessionNearby>, DbError> {
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
    let mut rows: HashMap<TrainingSessionId, DetailRow> = rows.into_iter().map(|r| (r.0.clone(), r)).collect();
    let venue_pairs: Vec<(TrainingSessionId, VenueId)> = half_days::table
        .filter(half_days::training_session_id.eq_any(ids.iter().copied()))
        .select((half_days::training_session_id, half_days::venue_id))
        .distinct()
        .load(conn)?;
    let mut venue_count: HashMap<TrainingSessionId, u32> = HashMap::new();
    for (session, _) in venue_pairs {
        *venue_count.entry(session).or_default() += 1;
    }
    Ok(ranked
        .into_iter()
        .filter_map(|r| {
            let (_, reference, code, title, end, capacity, taken, opens_at) = rows.remove(&r.id)?;
            let (venue, _) = nearby.get(&r.venue)?;
            Some(SessionNearby {
                venue_count: venue_count.get(&r.id).copied().unwrap_or(1),
                id: r.id,
                reference,
                course: CourseSummary { code, title },
                venue: venue.clone(),
                start: r.start,
                end,
                travel: r.travel,
                distance_km: (r.km * 10.0).round() / 10.0,
                capacity,
                seats_left: (capacity - taken).max(0),
                enrolment_open: opens_at.is_none_or(|opens| opens <= now),
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
        assert_eq!(checked.as_ref().map(|c| (c.minutes, c.from, c.limit)), Some((20, today(), 50)));
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
