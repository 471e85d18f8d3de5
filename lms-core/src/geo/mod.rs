//! Geography: communes of France, turning what people type into a place, and the travel-time
//! estimate (straight-line distance × detour factor at an average speed, never a route).
//!
//! The constants are measured on the communes table (`fixtures/geo/README.md`). Resolving typed
//! input lives in [`places`], suggestions for text that matched nothing in [`suggestions`], and
//! the names of the départements in [`departements`] (all re-exported here).

pub mod countries;
mod departements;
mod places;
mod suggestions;

pub use departements::departement_name;
pub use places::*;
pub use suggestions::{MAX_SUGGESTIONS, suggest_communes, warm_up_suggestions};

use diesel::prelude::*;
use serde::Serialize;
use unicode_normalization::UnicodeNormalization;

use crate::db::schema::communes;
use crate::db::{DbConn, DbError};

/// Mean Earth radius (km), as used by the geodata research and the `geo` crate.
const EARTH_RADIUS_KM: f64 = 6371.0088;

/// A commune as stored (row type).
#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = communes)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct Commune {
    /// INSEE code (`17300`, `2A004`).
    pub insee: String,
    /// Official name with accents (`La Rochelle`).
    pub name: String,
    /// Normalised name used for lookups (see [`normalize_place_name`]).
    pub name_search: String,
    /// Département code (`17`, `2A`, `971`).
    pub departement: String,
    /// Région code (`75` is Nouvelle-Aquitaine).
    pub region: String,
    /// Municipal population.
    pub population: i64,
    /// Latitude of the commune point (bbox centre), WGS84.
    pub lat: f64,
    /// Longitude of the commune point, WGS84.
    pub lon: f64,
    /// Half-diagonal of the commune's bounding box: how far a home may be from the point.
    pub half_diag_km: f64,
    /// How the point was obtained (`bbox`, `ancien_code`, `cp_mean`).
    pub point_source: String,
}

/// Finds a commune by INSEE code.
pub fn find_commune(conn: &mut DbConn, insee: &str) -> Result<Option<Commune>, DbError> {
    communes::table.find(insee).select(Commune::as_select()).first(conn).optional().map_err(DbError::from)
}

/// Normalises a place name for lookup: accents, case, punctuation, `St`/`Ste` and a leading article
/// do not matter (`l'Île-d'Yeu` and `ILE D YEU` give the same key).
pub fn normalize_place_name(raw: &str) -> String {
    let folded: String = raw
        .nfd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .map(|c| match c {
            'œ' | 'Œ' => 'Œ',
            'æ' | 'Æ' => 'Æ',
            c if c.is_alphanumeric() => c,
            _ => ' ',
        })
        .collect::<String>()
        .replace('Œ', "OE")
        .replace('Æ', "AE")
        .to_uppercase();
    let mut words: Vec<&str> = folded.split_whitespace().collect();
    if words.len() > 1 && matches!(words[0], "LE" | "LA" | "LES" | "L") {
        words.remove(0);
    }
    words
        .into_iter()
        .map(|w| match w {
            "ST" => "SAINT",
            "STE" => "SAINTE",
            other => other,
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Great-circle distance in kilometres.
pub fn haversine_km(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (phi1, phi2) = (lat1.to_radians(), lat2.to_radians());
    let dphi = (lat2 - lat1).to_radians();
    let dlambda = (lon2 - lon1).to_radians();
    let a = (dphi / 2.0).sin().powi(2) + phi1.cos() * phi2.cos() * (dlambda / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * a.sqrt().min(1.0).asin()
}

/// The travel-time model: `minutes = fixed + 60 × detour × km / speed` (geodata.md §3.2).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TravelModel {
    /// Road distance over straight-line distance (default 1.3).
    pub detour_factor: f64,
    /// Average door-to-door speed in km/h (default 60).
    pub speed_kmh: f64,
    /// Fixed minutes for parking and the last metres (default 2).
    pub fixed_minutes: f64,
}

impl Default for TravelModel {
    fn default() -> Self {
        TravelModel { detour_factor: 1.3, speed_kmh: 60.0, fixed_minutes: 2.0 }
    }
}

/// Share of the driving time added on each side of the estimate for the model itself (the detour
/// factor and the speed are averages: geodata.md §3.2 brackets them with k 1.2–1.4, v 50–70).
pub const MODEL_SPREAD: f64 = 0.15;
/// Cap on how much the size of the trainee's commune may widen the band, in minutes, so that a
/// vast commune (up to 15 km half-diagonal) does not make the band meaningless.
pub const MAX_WIDENING_MINUTES: f64 = 10.0;

/// A travel-time estimate: a central figure and the band shown to people.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TravelEstimate {
    /// Central estimate, rounded to the minute (what results are ranked by).
    pub minutes: u32,
    /// Low end of the band (minutes, rounded down).
    pub min: u32,
    /// High end of the band (minutes, rounded up).
    pub max: u32,
}

impl TravelModel {
    /// Sensible range of the detour factor (road distance over straight-line distance).
    pub const DETOUR_RANGE: std::ops::RangeInclusive<f64> = 1.0..=3.0;
    /// Sensible range of the average speed (km/h).
    pub const SPEED_RANGE: std::ops::RangeInclusive<f64> = 10.0..=130.0;
    /// Sensible range of the fixed minutes.
    pub const FIXED_MINUTES_RANGE: std::ops::RangeInclusive<f64> = 0.0..=30.0;

    /// A model with checked constants (each within its `*_RANGE`).
    pub fn new(detour_factor: f64, speed_kmh: f64, fixed_minutes: f64) -> Result<Self, GeoError> {
        let check = |value: f64, range: &std::ops::RangeInclusive<f64>, what: &str| {
            if value.is_finite() && range.contains(&value) {
                Ok(())
            } else {
                Err(GeoError::InvalidTravelModel(format!(
                    "{what} invalide : {value} (attendu entre {} et {})",
                    range.start(),
                    range.end()
                )))
            }
        };
        check(detour_factor, &Self::DETOUR_RANGE, "facteur de détour")?;
        check(speed_kmh, &Self::SPEED_RANGE, "vitesse moyenne (km/h)")?;
        check(fixed_minutes, &Self::FIXED_MINUTES_RANGE, "minutes fixes")?;
        Ok(TravelModel { detour_factor, speed_kmh, fixed_minutes })
    }

    /// The estimate for a straight-line distance from a point known to within `uncertainty_km`
    /// (the half-diagonal of the trainee's commune; 0 for exact coordinates).
    pub fn estimate(&self, km: f64, uncertainty_km: f64) -> TravelEstimate {
        let central = self.minutes_for_km(km);
        let widening = (60.0 * self.detour_factor * uncertainty_km.max(0.0) / self.speed_kmh).min(MAX_WIDENING_MINUTES);
        let spread = MODEL_SPREAD * (central - self.fixed_minutes) + widening;
        // Float-to-int `as` saturates, and these are small positive numbers of minutes.
        TravelEstimate {
            minutes: central.round() as u32,
            min: (central - spread).max(self.fixed_minutes).floor() as u32,
            max: (central + spread).ceil() as u32,
        }
    }

    /// The method in French, with this model's constants, for the page that shows estimates.
    pub fn method_fr(&self) -> String {
        let french = |x: f64| {
            let text = format!("{x:.2}");
            let text = text.trim_end_matches('0').trim_end_matches('.');
            text.replace('.', ",")
        };
        format!(
            "Temps de trajet estimé, pas un itinéraire : distance à vol d'oiseau entre le centre de votre commune \
             (ou le point indiqué) et le tiers-lieu, multipliée par {} pour les détours de la route, parcourue à \
             {} km/h de moyenne, plus {} min pour partir et se garer. La fourchette tient compte de l'incertitude \
             de la méthode (± {} %) et de la taille de votre commune, car votre domicile n'est pas en son centre \
             (au plus ± {} min). Vérifiez le trajet réel, surtout près des estuaires, des îles et en montagne.",
            french(self.detour_factor),
            french(self.speed_kmh),
            french(self.fixed_minutes),
            french(MODEL_SPREAD * 100.0),
            french(MAX_WIDENING_MINUTES),
        )
    }

    /// Estimated minutes for a straight-line distance.
    pub fn minutes_for_km(&self, km: f64) -> f64 {
        self.fixed_minutes + 60.0 * self.detour_factor * km / self.speed_kmh
    }

    /// The straight-line radius reachable within `minutes` (for the bounding-box prefilter).
    pub fn km_for_minutes(&self, minutes: f64) -> f64 {
        ((minutes - self.fixed_minutes).max(0.0)) * self.speed_kmh / (60.0 * self.detour_factor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_the_ways_people_type_commune_names() {
        let key = normalize_place_name("Saint-Jean-d'Angély");
        for typed in ["saint jean d angely", "ST JEAN D'ANGELY", "St-Jean-d’Angély", "  saint-jean-d'angély "] {
            assert_eq!(normalize_place_name(typed), key, "{typed}");
        }
        assert_eq!(normalize_place_name("La Rochelle"), "ROCHELLE");
        assert_eq!(normalize_place_name("rochelle"), "ROCHELLE");
        assert_eq!(normalize_place_name("L'Isle-d'Espagnac"), "ISLE D ESPAGNAC");
        assert_eq!(normalize_place_name("Sainte-Foy-la-Grande"), normalize_place_name("ste foy la grande"));
        assert_eq!(normalize_place_name("Œuilly"), "OEUILLY");
        // A lone article is a name, not an article.
        assert_eq!(normalize_place_name("Les"), "LES");
    }

    #[test]
    fn haversine_matches_a_known_distance() {
        // Paris (Notre-Dame) → Versailles (château): 17.2 km per the geo crate oracle in rust-stack.md.
        let km = haversine_km(48.8530, 2.3499, 48.8049, 2.1204);
        assert!((km - 17.65).abs() < 0.5, "{km}");
        assert!(haversine_km(45.0, 0.0, 45.0, 0.0).abs() < 1e-9);
    }

    #[test]
    fn the_band_widens_with_the_size_of_the_commune_and_is_capped() {
        let model = TravelModel::default();
        let exact = model.estimate(10.0, 0.0);
        assert_eq!(exact.minutes, 15); // 2 + 60 × 1.3 × 10 / 60 = 15
        assert_eq!((exact.min, exact.max), (13, 17)); // ± 15 % of the 13 driving minutes
        let vague = model.estimate(10.0, 4.0);
        assert_eq!((vague.min, vague.max), (7, 23)); // ± (1.95 + 5.2)
        let huge = model.estimate(10.0, 100.0);
        assert_eq!((huge.min, huge.max), (3, 27)); // widening capped at 10 min
        let near = model.estimate(1.0, 100.0);
        assert_eq!((near.minutes, near.min), (3, 2)); // never below the fixed minutes
        let here = model.estimate(0.0, 0.0);
        assert_eq!((here.minutes, here.min, here.max), (2, 2, 2));
        assert!(model.method_fr().contains("multipliée par 1,3") && model.method_fr().contains("60 km/h"));
    }

    #[test]
    fn model_constants_are_checked() {
        assert!(TravelModel::new(1.3, 60.0, 2.0).is_ok());
        for (k, v, t) in
            [(0.5, 60.0, 2.0), (1.3, 0.0, 2.0), (1.3, 60.0, -1.0), (f64::NAN, 60.0, 2.0), (1.3, 500.0, 2.0)]
        {
            assert!(matches!(TravelModel::new(k, v, t), Err(GeoError::InvalidTravelModel(_))), "{k} {v} {t}");
        }
    }

    #[test]
    fn twenty_minutes_is_about_fourteen_kilometres_by_default() {
        let model = TravelModel::default();
        assert!((model.km_for_minutes(20.0) - 13.846).abs() < 0.01);
        assert!((model.minutes_for_km(model.km_for_minutes(20.0)) - 20.0).abs() < 1e-9);
        assert_eq!(model.km_for_minutes(1.0), 0.0);
    }
}
