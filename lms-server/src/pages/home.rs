//! The home page: "find a session near home" — a form and its results, ranked by estimated
//! travel time, with the candidates as links when the place is ambiguous. Without a place, the
//! upcoming sessions of the whole region.

use axum::extract::{Query, State};
use lms_core::catalogue::{self, HomeFound, Near, SearchQuery};
use lms_core::locale;
use minijinja::context;
use serde::{Deserialize, Serialize};

use super::{base_context, render};
use crate::auth::MaybeCaller;
use crate::error::PageResult;
use crate::state::AppState;

/// Travel times offered in the form (minutes).
const MINUTE_CHOICES: &[u32] = &[10, 15, 20, 30, 45, 60];

#[derive(Debug, Deserialize)]
pub struct HomeQuery {
    near: Option<String>,
    minutes: Option<String>,
    course: Option<String>,
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

#[derive(Serialize)]
struct Candidate {
    label: String,
    href: String,
}

fn query_string(near: &str, minutes: u32, course: Option<&str>) -> String {
    let mut query = format!("/?near={}&minutes={minutes}", crate::auth::urlencode(near));
    if let Some(course) = course {
        query.push_str(&format!("&course={}", crate::auth::urlencode(course)));
    }
    query
}

pub async fn home(
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    Query(query): Query<HomeQuery>,
) -> PageResult {
    let near = query.near.as_deref().map(str::trim).filter(|n| !n.is_empty()).map(str::to_owned);
    let course = query.course.as_deref().map(str::trim).filter(|c| !c.is_empty()).map(str::to_owned);
    let model = state.travel_model();
    let minutes: Option<u32> = match query.minutes.as_deref().map(str::trim).filter(|m| !m.is_empty()) {
        None => Some(catalogue::DEFAULT_SEARCH_MINUTES),
        Some(raw) => raw.parse().ok(),
    };
    // A travel time that is not a number is answered on the form, without searching.
    let search = match (&near, minutes) {
        (Some(near), Some(minutes)) => Some(SearchQuery {
            near: Near::Text(near.clone()),
            minutes: Some(minutes),
            from: None,
            course: course.clone(),
            limit: None,
        }),
        _ => None,
    };
    let page = state
        .db(move |conn| {
            catalogue::home_page(conn, search.as_ref(), &model, lms_core::db::now(), catalogue::paris_today())
        })
        .await?;
    let base = context! {
        near => near.clone(),
        minute_choices => MINUTE_CHOICES,
        courses => page.courses,
        selected_course => course.clone(),
        method => model.method_fr(),
        ..base_context(caller.as_ref())
    };
    let (results, minutes) = match (page.found, minutes) {
        (HomeFound::Upcoming(_), _) if near.is_some() => {
            return Ok(render(
                &state,
                "home.html",
                context! { error => "Temps de trajet invalide : indiquez un nombre de minutes.", minutes => 20, ..base },
            ));
        }
        (HomeFound::Upcoming(sessions), _) => {
            return Ok(render(&state, "home.html", context! { sessions => sessions, minutes => 20, ..base }));
        }
        (HomeFound::Results(results), _) => (Ok(results), catalogue::DEFAULT_SEARCH_MINUTES),
        (HomeFound::Refused(error), minutes) => (Err(error), minutes.unwrap_or(catalogue::DEFAULT_SEARCH_MINUTES)),
    };
    match results {
        Ok(results) => {
            let cards: Vec<ResultCard> = results
                .sessions
                .iter()
                .map(|s| ResultCard {
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
                })
                .collect();
            Ok(render(
                &state,
                "home.html",
                context! {
                    searched => true,
                    place => results.place.label,
                    minutes => results.minutes,
                    total => results.sessions.len(),
                    more => results.more,
                    results => cards,
                    ..base
                },
            ))
        }
        Err(error) => {
            let candidates: Vec<Candidate> = error
                .candidates()
                .unwrap_or_default()
                .iter()
                .map(|c| Candidate {
                    label: match &c.part_of {
                        Some(current) => format!(
                            "{} ({}, {}) — aujourd'hui {}",
                            c.name,
                            c.departement,
                            c.postcodes.join(", "),
                            current
                        ),
                        None => format!("{} ({}, {})", c.name, c.departement, c.postcodes.join(", ")),
                    },
                    href: query_string(&c.query, minutes, course.as_deref()),
                })
                .collect();
            let mut page = render(
                &state,
                "home.html",
                context! { error => error.to_string(), candidates => candidates, minutes => minutes, ..base },
            );
            *page.status_mut() = crate::error::status_for(lms_core::Classify::kind(&error));
            Ok(page)
        }
    }
}
