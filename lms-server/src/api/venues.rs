//! Public venue reads: the tiers-lieux and, for one of them, its access, contact and upcoming
//! published sessions.

use axum::Json;
use axum::extract::{Path, State};
use lms_core::venues;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::openapi::ErrorResponse;
use super::views::convert;
use crate::error::ApiError;
use crate::routes::Routes;
use crate::state::AppState;

pub fn router() -> Routes {
    Routes::new().get("/venues", list).get("/venues/{slug}", venue)
}

/// A venue of the list.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct VenueSummaryResponse {
    /// Stable slug (the page is `/lieux/{slug}`).
    slug: String,
    /// Name.
    name: String,
    /// Kinds (`coworking`, `fablab`, `atelier_partage`, `tiers_lieu_nourricier`,
    /// `cafe_associatif`, `campus_connecte`, `micro_folie`, `tiers_lieu`).
    kinds: Vec<String>,
    /// Street address, when published.
    address: Option<String>,
    /// Postcode.
    postcode: Option<String>,
    /// Commune name.
    commune: String,
    /// Commune INSEE code.
    insee: String,
    /// Step-free access (PMR); null when unknown.
    pmr: Option<bool>,
    /// Latitude (WGS84).
    lat: f64,
    /// Longitude (WGS84).
    lon: f64,
    /// True when the point is the commune's, not the venue's own.
    approximate_position: bool,
}

/// An upcoming published session with at least one half-day at the venue.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct VenueSessionResponse {
    /// Identifier.
    id: String,
    /// Human reference.
    reference: String,
    /// Course code.
    course: String,
    /// Course title.
    course_title: String,
    /// First day (`YYYY-MM-DD`).
    start: String,
    /// Last day (`YYYY-MM-DD`).
    end: String,
    /// Half-days held at this venue.
    half_days_here: i64,
    /// Half-days of the whole session.
    half_days_total: i64,
    /// Seats left.
    seats_left: i64,
}

/// One venue with its access, contact and upcoming sessions.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct VenueDetailResponse {
    /// Stable slug.
    slug: String,
    /// Name.
    name: String,
    /// Kinds.
    kinds: Vec<String>,
    /// Street address, when published.
    address: Option<String>,
    /// Postcode.
    postcode: Option<String>,
    /// Commune name.
    commune: String,
    /// Commune INSEE code.
    insee: String,
    /// Département code.
    departement: String,
    /// Step-free access (PMR); null when unknown.
    pmr: Option<bool>,
    /// Latitude (WGS84).
    lat: f64,
    /// Longitude (WGS84).
    lon: f64,
    /// True when the point is the commune's, not the venue's own.
    approximate_position: bool,
    /// One neutral sentence.
    description: String,
    /// Access details: parking, public transport, lift.
    access_note: Option<String>,
    /// Contact e-mail.
    email: Option<String>,
    /// Contact phone number.
    phone: Option<String>,
    /// Web site.
    url: Option<String>,
    /// Attribution of the facts.
    source: Option<String>,
    /// Published sessions with a half-day here that are not over, soonest first.
    upcoming_sessions: Vec<VenueSessionResponse>,
}

/// Lists the tiers-lieux.
#[utoipa::path(
    get,
    path = "/api/v1/venues",
    tag = "catalogue",
    responses(
        (status = 200, description = "Every venue, by département then name.", body = Vec<VenueSummaryResponse>),
        (status = 503, description = "Database busy, retry.", body = ErrorResponse),
    ),
)]
pub(super) async fn list(State(state): State<AppState>) -> Result<Json<Vec<VenueSummaryResponse>>, ApiError> {
    Ok(Json(convert(state.db(venues::public_venues).await?)?))
}

/// One venue by its slug.
#[utoipa::path(
    get,
    path = "/api/v1/venues/{slug}",
    tag = "catalogue",
    params(("slug" = String, Path, description = "Venue slug (`rupellab-la-rochelle`).")),
    responses(
        (status = 200, description = "The venue.", body = VenueDetailResponse),
        (status = 404, description = "No such venue.", body = ErrorResponse),
        (status = 503, description = "Database busy, retry.", body = ErrorResponse),
    ),
)]
pub(super) async fn venue(
    State(state): State<AppState>,
    Path(slug): Path<String>,
) -> Result<Json<VenueDetailResponse>, ApiError> {
    let today = lms_core::catalogue::paris_today();
    Ok(Json(convert(state.db(move |conn| venues::public_venue(conn, &slug, today)).await?)?))
}
