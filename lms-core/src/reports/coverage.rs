//! Coverage of a region: the share of its population whose commune lies within N estimated minutes
//! (straight-line distance × detour at an average speed, [`crate::geo::TravelModel`]) of a venue
//! hosting half-days of a published or finished training session, and the communes left out.
//! The regional aim is a tiers-lieu within 20 minutes of every home.

use diesel::prelude::*;
use serde::Serialize;

use super::ReportError;
use crate::db::schema::{communes, half_days, training_sessions, venues};
use crate::db::{DbConn, DbError};
use crate::geo::{TravelModel, haversine_km};

/// A commune beyond the limit.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct UncoveredCommune {
    /// INSEE code.
    pub insee: String,
    /// Name.
    pub name: String,
    /// Population.
    pub population: i64,
    /// Estimated minutes to the nearest hosting venue.
    pub minutes: f64,
    /// That venue's name.
    pub nearest_venue: Option<String>,
}

/// The coverage report.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CoverageReport {
    /// Région code (`75` is Nouvelle-Aquitaine).
    pub region: String,
    /// Minutes limit.
    pub minutes: f64,
    /// Venues hosting sessions (anywhere: a neighbouring region's venue may serve the border).
    pub hosting_venues: usize,
    /// Communes of the region.
    pub communes: usize,
    /// Population of the region.
    pub population: i64,
    /// Population within the limit.
    pub covered_population: i64,
    /// Share covered, percent (one decimal).
    pub covered_percent: f64,
    /// Communes beyond the limit, most populated first.
    pub uncovered: Vec<UncoveredCommune>,
}

/// A tiers-lieu hosting a public session, with its point.
#[derive(Debug, Queryable)]
struct PlaceRow {
    name: String,
    lat: f64,
    lon: f64,
}

/// A commune of the region with its population and point.
#[derive(Debug, Queryable)]
struct CommuneRow {
    insee: String,
    name: String,
    population: i64,
    lat: f64,
    lon: f64,
}

/// Computes the coverage of `region` within `minutes`.
pub fn coverage_report(conn: &mut DbConn, region: &str, minutes: f64) -> Result<CoverageReport, ReportError> {
    let region = region.trim();
    if region.is_empty() || region.len() > 3 || !region.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ReportError::Invalid(format!(
            "code région invalide « {} » (ex. 75)",
            region.chars().take(10).collect::<String>()
        )));
    }
    if !(1.0..=240.0).contains(&minutes) {
        return Err(ReportError::Invalid(format!("durée invalide : {minutes} minutes (de 1 à 240)")));
    }
    let model = TravelModel::default();
    let hosts: Vec<PlaceRow> = venues::table
        .filter(
            venues::id.eq_any(
                half_days::table
                    .inner_join(training_sessions::table)
                    .filter(training_sessions::status.eq_any(crate::catalogue::TrainingSessionStatus::PUBLIC))
                    .select(half_days::venue_id),
            ),
        )
        .select((venues::name, venues::lat, venues::lon))
        .load(conn)
        .map_err(DbError::from)?;
    let rows: Vec<CommuneRow> = communes::table
        .filter(communes::region.eq(region))
        .order(communes::insee.asc())
        .select((communes::insee, communes::name, communes::population, communes::lat, communes::lon))
        .load(conn)
        .map_err(DbError::from)?;
    if rows.is_empty() {
        return Err(ReportError::Invalid(format!("aucune commune pour la région « {region} » (données chargées ?)")));
    }
    let mut covered = 0_i64;
    let mut total = 0_i64;
    let mut uncovered = Vec::new();
    for commune in &rows {
        total += commune.population;
        let nearest = hosts
            .iter()
            .map(|venue| {
                (&venue.name, model.minutes_for_km(haversine_km(commune.lat, commune.lon, venue.lat, venue.lon)))
            })
            .min_by(|a, b| a.1.total_cmp(&b.1));
        match nearest {
            Some((_, travel)) if travel <= minutes => covered += commune.population,
            other => uncovered.push(UncoveredCommune {
                insee: commune.insee.clone(),
                name: commune.name.clone(),
                population: commune.population,
                minutes: other.map(|(_, m)| (m * 10.0).round() / 10.0).unwrap_or(f64::INFINITY),
                nearest_venue: other.map(|(v, _)| v.clone()),
            }),
        }
    }
    uncovered.sort_by(|a, b| b.population.cmp(&a.population).then(a.insee.cmp(&b.insee)));
    Ok(CoverageReport {
        region: region.to_owned(),
        minutes,
        hosting_venues: hosts.len(),
        communes: rows.len(),
        population: total,
        covered_population: covered,
        covered_percent: if total > 0 { ((covered as f64) * 1000.0 / (total as f64)).round() / 10.0 } else { 0.0 },
        uncovered,
    })
}
