//! The home page: "find a session near home" — a form and its results, ranked by estimated
//! travel time (or by date), with the candidates as links when the place is ambiguous, the
//! suggestions when it matched nothing (« Vouliez-vous dire … ? ») and, when nothing is within
//! the time, the nearest sessions beyond it. Without a place, the upcoming sessions of the whole
//! region. `/static/search.js` only adds « Utiliser ma position »: the form works without it.

use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use lms_core::catalogue::{self, HomeFound, Near, SearchOrder, SearchQuery, SessionNearby};
use lms_core::geo::PlaceCandidate;
use lms_core::locale;
use minijinja::context;
use serde::{Deserialize, Serialize};

use super::{base_context, render};
use crate::auth::MaybeCaller;
use crate::error::PageResult;
use crate::state::AppState;

/// Travel times offered in the form (minutes).
const MINUTE_CHOICES: &[u32] = &[10, 15, 20, 30, 45, 60, 90];

/// The optional script: fills the form with the browser's position.
pub const SEARCH_JS: &str = include_str!("../../static/search.js");

/// `GET /static/search.js`.
pub async fn script() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")],
        SEARCH_JS,
    )
        .into_response()
}

#[derive(Debug, Deserialize)]
pub struct HomeQuery {
    near: Option<String>,
    lat: Option<String>,
    lon: Option<String>,
    minutes: Option<String>,
    course: Option<String>,
    from: Option<String>,
    sort: Option<String>,
    pmr: Option<String>,
}

#[derive(Serialize)]
struct ResultCard {
    id: String,
    course_code: String,
    course_title: String,
    venue: String,
    venue_name: String,
    commune: String,
    approximate_position: bool,
    other_venues: u32,
    half_days_here: u32,
    half_days_total: u32,
    dates: String,
    band: String,
    distance_km: String,
    seats_left: i32,
    enrolment_open: bool,
}

impl ResultCard {
    fn new(s: &SessionNearby) -> Self {
        ResultCard {
            id: s.id.to_string(),
            course_code: s.course.code.clone(),
            course_title: s.course.title.clone(),
            venue: s.venue.slug.clone(),
            venue_name: s.venue.name.clone(),
            commune: s.venue.commune.clone(),
            approximate_position: s.venue.approximate_position,
            other_venues: s.venue_count.saturating_sub(1),
            half_days_here: s.half_days_at_near_venue,
            half_days_total: s.half_days_total,
            dates: format!("du {} au {}", locale::short_date_fr(s.start), locale::short_date_fr(s.end)),
            band: if s.travel.min == s.travel.max {
                format!("≈ {} min en voiture", s.travel.minutes)
            } else {
                format!("≈ {}–{} min en voiture", s.travel.min, s.travel.max)
            },
            distance_km: format!("{:.1}", s.distance_km).replace('.', ","),
            seats_left: s.seats_left,
            enrolment_open: s.enrolment_open,
        }
    }
}

#[derive(Serialize)]
struct Candidate {
    label: String,
    href: String,
}

/// The filters of a search, kept in the links the page offers (candidates, suggestions).
struct Filters<'a> {
    minutes: u32,
    course: Option<&'a str>,
    from: Option<&'a str>,
    sort: SearchOrder,
    pmr: bool,
}

impl Filters<'_> {
    fn link(&self, near: &str) -> String {
        let mut query = format!("/?near={}&minutes={}", crate::auth::urlencode(near), self.minutes);
        if let Some(course) = self.course {
            query.push_str(&format!("&course={}", crate::auth::urlencode(course)));
        }
        if let Some(from) = self.from {
            query.push_str(&format!("&from={}", crate::auth::urlencode(from)));
        }
        if self.sort != SearchOrder::Travel {
            query.push_str(&format!("&sort={}", self.sort.as_str()));
        }
        if self.pmr {
            query.push_str("&pmr=true");
        }
        query
    }

    fn candidates(&self, candidates: &[PlaceCandidate]) -> Vec<Candidate> {
        candidates
            .iter()
            .map(|c| {
                let departement = if c.departement_name.is_empty() {
                    c.departement.clone()
                } else {
                    format!("{} ({})", c.departement_name, c.departement)
                };
                let label = match &c.part_of {
                    Some(current) => {
                        format!("{} — {departement}, {} — aujourd'hui {current}", c.name, c.postcodes.join(", "))
                    }
                    None => format!("{} — {departement}, {}", c.name, c.postcodes.join(", ")),
                };
                Candidate { label, href: self.link(&c.query) }
            })
            .collect()
    }
}

fn given(raw: &Option<String>) -> Option<String> {
    raw.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned)
}

/// What the form asks, read from the query string; a value that cannot be read is answered on
/// the form, without searching.
fn read_search(query: &HomeQuery) -> Result<Option<SearchQuery>, &'static str> {
    let point = match (given(&query.lat), given(&query.lon)) {
        (Some(lat), Some(lon)) => match (lat.parse::<f64>(), lon.parse::<f64>()) {
            (Ok(lat), Ok(lon)) => Some(Near::Point { lat, lon }),
            _ => return Err("Position invalide : latitude et longitude en degrés décimaux attendues."),
        },
        _ => None,
    };
    let Some(near) = given(&query.near).map(Near::Text).or(point) else { return Ok(None) };
    let minutes: u32 = match given(&query.minutes) {
        None => catalogue::DEFAULT_SEARCH_MINUTES,
        Some(raw) => raw.parse().map_err(|_| "Temps de trajet invalide : indiquez un nombre de minutes.")?,
    };
    let from = match given(&query.from) {
        None => None,
        Some(raw) => Some(
            NaiveDate::parse_from_str(&raw, "%Y-%m-%d")
                .map_err(|_| "Date de début invalide : choisissez une date dans le calendrier (AAAA-MM-JJ).")?,
        ),
    };
    let order = SearchOrder::parse(query.sort.as_deref().unwrap_or_default())
        .map_err(|_| "Tri invalide : par temps de trajet ou par date.")?;
    Ok(Some(SearchQuery {
        minutes: Some(minutes),
        from,
        course: given(&query.course),
        order,
        pmr_only: query.pmr.as_deref().is_some_and(|v| matches!(v.trim(), "true" | "on" | "1")),
        ..SearchQuery::near(near)
    }))
}

pub async fn home(
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    Query(query): Query<HomeQuery>,
) -> PageResult {
    let near = given(&query.near);
    let course = given(&query.course);
    let from = given(&query.from);
    let model = state.travel_model();
    let search = read_search(&query);
    let asked = search.as_ref().ok().cloned().flatten();
    let filters = Filters {
        minutes: asked.as_ref().and_then(|s| s.minutes).unwrap_or(catalogue::DEFAULT_SEARCH_MINUTES),
        course: course.as_deref(),
        from: from.as_deref(),
        sort: asked.as_ref().map(|s| s.order).unwrap_or_default(),
        pmr: asked.as_ref().is_some_and(|s| s.pmr_only),
    };
    let page = state
        .db(move |conn| {
            catalogue::home_page(conn, asked.as_ref(), &model, lms_core::db::now(), catalogue::paris_today())
        })
        .await?;
    let base = context! {
        near => near.clone(),
        minute_choices => MINUTE_CHOICES,
        minutes => filters.minutes,
        courses => page.courses,
        selected_course => course.clone(),
        from => from.clone(),
        sort => filters.sort.as_str(),
        pmr => filters.pmr,
        method => model.method_fr(),
        ..base_context(caller.as_ref())
    };
    if let Err(message) = search {
        return Ok(render(&state, "home.html", context! { error => message, ..base }));
    }
    match page.found {
        HomeFound::Upcoming(sessions) => Ok(render(&state, "home.html", context! { sessions => sessions, ..base })),
        HomeFound::Results(results) => {
            let cards: Vec<ResultCard> = results.sessions.iter().map(ResultCard::new).collect();
            let beyond: Vec<ResultCard> = results.beyond.iter().map(ResultCard::new).collect();
            let place_name = results.place.name.clone().unwrap_or_else(|| results.place.label.clone());
            Ok(render(
                &state,
                "home.html",
                context! {
                    searched => true,
                    place => results.place.label,
                    place_name => place_name,
                    minutes => results.minutes,
                    total => results.sessions.len(),
                    more => results.more,
                    results => cards,
                    beyond => beyond,
                    ..base
                },
            ))
        }
        HomeFound::Refused(error) => {
            let candidates = filters.candidates(error.candidates().unwrap_or_default());
            let suggestions = filters.candidates(error.suggestions().unwrap_or_default());
            let mut page = render(
                &state,
                "home.html",
                context! { error => error.to_string(), candidates => candidates, suggestions => suggestions, ..base },
            );
            *page.status_mut() = crate::error::status_for(lms_core::Classify::kind(&error));
            Ok(page)
        }
    }
}
