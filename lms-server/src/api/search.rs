//! `GET /api/v1/sessions/search`: sessions open for enrolment near a place, ranked by estimated
//! travel time then start date (`lms_core::catalogue::search_sessions`).
//!
//! Parameters: `near` (postcode, commune, `Name (17)`, `Name 17100`, `lat,lon`) or `lat` and `lon`;
//! `minutes` (default 20, 5–120); `from` (YYYY-MM-DD, default today); `course` (code); `limit`
//! (default 50, at most 200); `sort` (`travel`, the default, or `date`); `pmr` (`true`: only
//! sessions whose every venue is accessible). When nothing is within the time, `beyond` holds the
//! nearest sessions farther away. Every parameter is read as text and checked here, so that a wrong
//! type gets a JSON error naming the parameter rather than the extractor's plain-text rejection.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use chrono::NaiveDate;
use lms_core::catalogue::{self, Near, SearchError, SearchOrder, SearchQuery, SearchResults, SessionNearby};
use lms_core::geo::{Place, TravelModel};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::openapi::ErrorResponse;
use super::views::convert;
use crate::error::ApiError;
use crate::routes::Routes;
use crate::state::AppState;

/// Longest value accepted for any parameter (a place has its own, shorter limit).
const MAX_PARAMETER_CHARS: usize = 200;

pub fn router() -> Routes {
    Routes::new().get("/sessions/search", search)
}

/// The query string, every value as text (see the module docs).
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct SearchParams {
    /// Postcode, commune, `Name (17)`, `Name 17100` or `lat,lon` (or give `lat` and `lon`).
    near: Option<String>,
    /// Latitude in decimal degrees (with `lon`).
    lat: Option<String>,
    /// Longitude in decimal degrees (with `lat`).
    lon: Option<String>,
    /// Travel time in minutes (default 20, 5–120).
    minutes: Option<String>,
    /// Earliest start, `YYYY-MM-DD` (default today).
    from: Option<String>,
    /// Course code.
    course: Option<String>,
    /// Most results (default 50, at most 200).
    limit: Option<String>,
    /// `travel` (nearest first, the default) or `date` (earliest start first).
    sort: Option<String>,
    /// `true`: only sessions whose every venue is declared accessible to people with reduced mobility.
    pmr: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub(super) struct SearchResponse {
    place: PlaceBody,
    minutes: u32,
    radius_km: f64,
    /// Earliest start (`YYYY-MM-DD`).
    from: String,
    course: Option<String>,
    more: bool,
    travel_model: TravelModelBody,
    results: Vec<SessionResult>,
    /// `travel` or `date`: the order of `results`.
    sort: String,
    /// Whether only sessions at accessible venues were kept.
    pmr: bool,
    /// When `results` is empty: the nearest sessions beyond `minutes` (at most 3, within 120
    /// minutes), nearest first, their travel band as estimated. Empty otherwise.
    beyond: Vec<SessionResult>,
}

#[derive(Debug, Serialize, ToSchema)]
pub(super) struct PlaceBody {
    /// `commune`, `former_commune` or `coordinates`.
    kind: String,
    label: String,
    name: Option<String>,
    insee: Option<String>,
    part_of: Option<String>,
    departement: Option<String>,
    postcodes: Vec<String>,
    lat: f64,
    lon: f64,
    uncertainty_km: f64,
}

#[derive(Debug, Serialize, ToSchema)]
pub(super) struct TravelModelBody {
    detour_factor: f64,
    speed_kmh: f64,
    fixed_minutes: f64,
    method: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub(super) struct SessionResult {
    id: String,
    reference: String,
    course: CourseBody,
    venue: VenueBody,
    venue_count: u32,
    /// Slug of the venue that is near (the nearest of the session's half-day venues).
    near_venue: String,
    /// Half-days held at that venue.
    half_days_at_near_venue: u32,
    /// Half-days of the whole session.
    half_days_total: u32,
    /// First day (`YYYY-MM-DD`).
    start: String,
    /// Last day (`YYYY-MM-DD`).
    end: String,
    travel_minutes: u32,
    travel_band: BandBody,
    distance_km: f64,
    seats_left: i32,
    capacity: i32,
    enrolment_open: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub(super) struct CourseBody {
    code: String,
    title: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub(super) struct VenueBody {
    name: String,
    slug: String,
    commune: String,
    postcode: Option<String>,
    address: Option<String>,
    lat: f64,
    lon: f64,
    approximate_position: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub(super) struct BandBody {
    min: u32,
    max: u32,
}

impl PlaceBody {
    fn new(p: Place) -> Result<Self, ApiError> {
        Ok(PlaceBody {
            kind: convert(p.kind)?,
            label: p.label,
            name: p.name,
            insee: p.insee,
            part_of: p.part_of,
            departement: p.departement,
            postcodes: p.postcodes,
            lat: p.lat,
            lon: p.lon,
            uncertainty_km: p.uncertainty_km,
        })
    }
}

impl From<SessionNearby> for SessionResult {
    fn from(s: SessionNearby) -> Self {
        SessionResult {
            id: s.id.to_string(),
            reference: s.reference,
            course: CourseBody { code: s.course.code, title: s.course.title },
            venue: VenueBody {
                name: s.venue.name,
                slug: s.venue.slug,
                commune: s.venue.commune,
                postcode: s.venue.postcode,
                address: s.venue.address,
                lat: s.venue.lat,
                lon: s.venue.lon,
                approximate_position: s.venue.approximate_position,
            },
            venue_count: s.venue_count,
            near_venue: s.near_venue,
            half_days_at_near_venue: s.half_days_at_near_venue,
            half_days_total: s.half_days_total,
            start: s.start.to_string(),
            end: s.end.to_string(),
            travel_minutes: s.travel.minutes,
            travel_band: BandBody { min: s.travel.min, max: s.travel.max },
            distance_km: s.distance_km,
            seats_left: s.seats_left,
            capacity: s.capacity,
            enrolment_open: s.enrolment_open,
        }
    }
}

impl SearchResponse {
    fn new(results: SearchResults, model: &TravelModel) -> Result<Self, ApiError> {
        Ok(SearchResponse {
            place: PlaceBody::new(results.place)?,
            minutes: results.minutes,
            radius_km: results.radius_km,
            from: results.from.to_string(),
            course: results.course,
            more: results.more,
            travel_model: TravelModelBody {
                detour_factor: model.detour_factor,
                speed_kmh: model.speed_kmh,
                fixed_minutes: model.fixed_minutes,
                method: model.method_fr(),
            },
            results: results.sessions.into_iter().map(SessionResult::from).collect(),
            sort: results.order.as_str().to_owned(),
            pmr: results.pmr_only,
            beyond: results.beyond.into_iter().map(SessionResult::from).collect(),
        })
    }
}

fn malformed_query(rejection: &QueryRejection) -> ApiError {
    ApiError {
        status: StatusCode::BAD_REQUEST,
        code: "invalid_query",
        message: format!(
            "Paramètres de requête invalides ({}). Paramètres acceptés : near, lat, lon, minutes, from, course, limit, sort, pmr.",
            rejection.body_text()
        ),
        details: None,
    }
}

fn number<T: std::str::FromStr>(
    parameter: &'static str,
    raw: Option<&str>,
    expected: &str,
) -> Result<Option<T>, SearchError> {
    raw.map(|text| {
        text.trim().parse::<T>().map_err(|_| SearchError::invalid(parameter, format!("{parameter} : {expected}")))
    })
    .transpose()
}

/// Turns text parameters into a core query; every refusal names its parameter.
pub(super) fn to_query(params: SearchParams) -> Result<SearchQuery, SearchError> {
    let fields = [
        ("near", &params.near),
        ("lat", &params.lat),
        ("lon", &params.lon),
        ("minutes", &params.minutes),
        ("from", &params.from),
        ("course", &params.course),
        ("limit", &params.limit),
        ("sort", &params.sort),
        ("pmr", &params.pmr),
    ];
    for (name, value) in fields {
        if value.as_ref().is_some_and(|v| v.chars().count() > MAX_PARAMETER_CHARS) {
            return Err(SearchError::invalid(
                name,
                format!("{name} : valeur trop longue ({MAX_PARAMETER_CHARS} caractères au plus)"),
            ));
        }
    }
    let lat = number::<f64>("lat", params.lat.as_deref(), "latitude attendue en degrés décimaux (ex. 45.7462)")?;
    let lon = number::<f64>("lon", params.lon.as_deref(), "longitude attendue en degrés décimaux (ex. -0.6457)")?;
    let near = match (params.near, lat, lon) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
            return Err(SearchError::invalid("near", "indiquez soit near, soit lat et lon, pas les deux"));
        }
        (Some(text), None, None) => Near::Text(text),
        (None, Some(lat), Some(lon)) => Near::Point { lat, lon },
        (None, Some(_), None) => return Err(SearchError::invalid("lon", "lon manque (lat et lon vont ensemble)")),
        (None, None, Some(_)) => return Err(SearchError::invalid("lat", "lat manque (lat et lon vont ensemble)")),
        (None, None, None) => {
            return Err(SearchError::invalid(
                "near",
                "indiquez near (code postal, commune ou « latitude, longitude ») ou lat et lon",
            ));
        }
    };
    let from = params
        .from
        .as_deref()
        .map(|raw| {
            NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d")
                .map_err(|_| SearchError::invalid("from", "from : date attendue au format AAAA-MM-JJ (ex. 2027-03-01)"))
        })
        .transpose()?;
    let pmr_only = match params.pmr.as_deref().map(str::trim) {
        None | Some("" | "false") => false,
        Some("true") => true,
        Some(_) => return Err(SearchError::invalid("pmr", "pmr : true ou false attendu")),
    };
    Ok(SearchQuery {
        near,
        minutes: number("minutes", params.minutes.as_deref(), "nombre entier de minutes attendu (de 5 à 120)")?,
        from,
        course: params.course,
        limit: number("limit", params.limit.as_deref(), "nombre entier de résultats attendu (de 1 à 200)")?,
        order: params.sort.as_deref().map(SearchOrder::parse).transpose()?.unwrap_or_default(),
        pmr_only,
    })
}

/// Sessions open for enrolment near a place, ranked by estimated travel time then start date.
#[utoipa::path(
    get,
    path = "/api/v1/sessions/search",
    tag = "catalogue",
    params(SearchParams),
    responses(
        (status = 200, description = "The place understood and the sessions found.", body = SearchResponse),
        (status = 400, description = "Unknown parameter or malformed query string.", body = ErrorResponse),
        (status = 404, description = "Unknown place (the error may list `suggestions`, communes with a close name).", body = ErrorResponse),
        (status = 422, description = "Invalid parameter (the error names it) or ambiguous place (the error lists `candidates`).", body = ErrorResponse),
        (status = 503, description = "Database busy, retry.", body = ErrorResponse),
    ),
)]
pub(super) async fn search(
    State(state): State<AppState>,
    params: Result<Query<SearchParams>, QueryRejection>,
) -> Result<Json<SearchResponse>, ApiError> {
    let Query(params) = params.map_err(|rejection| malformed_query(&rejection))?;
    let query = to_query(params)?;
    let model = state.travel_model();
    let results = state.db(move |conn| catalogue::search_sessions(conn, &query, &model)).await?;
    Ok(Json(SearchResponse::new(results, &model)?))
}
