//! Where am I? Turning what a trainee types into a [`Place`], offline.
//!
//! Accepted forms (geodata.md §2): a postcode (`17100`), a commune name in any case, with or
//! without accents, hyphens, apostrophes, `St`/`Ste` or a leading article, a name qualified by its
//! département or postcode (`Sainte-Colombe (17)`, `Sainte-Colombe 17210`, `17210 Sainte-Colombe`),
//! the name of a former (delegated, associated) commune or of a Paris/Lyon/Marseille arrondissement,
//! or coordinates (`45.7462, -0.6457`).
//!
//! A postcode shared by several communes is searched from all of them at once (a
//! [`PlaceKind::Postcode`] place: see [`resolve_postcode`] for why its centroid). A name shared by
//! several communes is resolved only when one of them dwarfs the others (`La Rochelle`, 80,000
//! inhabitants, against a village of 40); otherwise it is [`GeoError::AmbiguousPlace`], which
//! carries the candidates — the organisation's region first ([`home_region`]), then the most
//! populous —, each with the exact text ([`PlaceCandidate::query`]) that selects it. A name that
//! matches nothing comes back with suggestions ([`super::suggest_communes`]).

use std::collections::{BTreeMap, HashMap, HashSet};

use diesel::prelude::*;
use serde::Serialize;

use super::{Commune, departement_name, haversine_km, normalize_place_name, suggest_communes};
use crate::db::schema::{commune_aliases, commune_postcodes, communes, venues};
use crate::db::{DbConn, DbError};
use crate::{Classify, ErrorKind};

/// Longest input accepted, in characters (the longest commune name has 45).
pub const MAX_PLACE_INPUT_CHARS: usize = 100;

/// A commune is taken for a shared name without asking when it has this many times the
/// inhabitants of every other commune of that name.
pub const DOMINANT_POPULATION_RATIO: i64 = 20;

/// Punctuation people use in place names and coordinates; anything else is refused.
const ALLOWED_PUNCTUATION: &str = " -'’‘`.,;()/";

/// Errors of geocoding and of the travel model.
#[derive(Debug, thiserror::Error)]
pub enum GeoError {
    /// Empty, overlong or unreadable input.
    #[error("{0}")]
    InvalidPlace(String),
    /// Several communes match; the caller shows the candidates instead of guessing.
    #[error("« {input} » correspond à {} communes : précisez le département ou le code postal.", .candidates.len())]
    AmbiguousPlace {
        /// What was typed (trimmed, truncated).
        input: String,
        /// The communes it may designate, most populous first.
        candidates: Vec<PlaceCandidate>,
    },
    /// No commune matches.
    #[error("{message}")]
    UnknownPlace {
        /// French explanation.
        message: String,
        /// Communes with a close name (« Vouliez-vous dire … ? »), closest first; may be empty.
        suggestions: Vec<PlaceCandidate>,
    },
    /// A travel-model constant is out of its sensible range.
    #[error("{0}")]
    InvalidTravelModel(String),
    /// Storage failure.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl Classify for GeoError {
    fn kind(&self) -> ErrorKind {
        match self {
            GeoError::InvalidPlace(_) | GeoError::AmbiguousPlace { .. } | GeoError::InvalidTravelModel(_) => {
                ErrorKind::Invalid
            }
            GeoError::UnknownPlace { .. } => ErrorKind::NotFound,
            GeoError::Db(e) => e.kind(),
        }
    }

    fn code(&self) -> &'static str {
        match self {
            GeoError::InvalidPlace(_) => "invalid_place",
            GeoError::AmbiguousPlace { .. } => "ambiguous_place",
            GeoError::UnknownPlace { .. } => "unknown_place",
            GeoError::InvalidTravelModel(_) => "invalid_travel_model",
            GeoError::Db(e) => e.code(),
        }
    }

    fn details(&self) -> Option<serde_json::Value> {
        match self {
            GeoError::AmbiguousPlace { candidates, .. } => {
                serde_json::to_value(candidates).ok().map(|c| serde_json::json!({ "candidates": c }))
            }
            GeoError::UnknownPlace { suggestions, .. } if !suggestions.is_empty() => {
                serde_json::to_value(suggestions).ok().map(|s| serde_json::json!({ "suggestions": s }))
            }
            _ => None,
        }
    }
}

impl GeoError {
    /// The candidates of an ambiguous place (for pages that show them as links).
    pub fn candidates(&self) -> Option<&[PlaceCandidate]> {
        match self {
            GeoError::AmbiguousPlace { candidates, .. } => Some(candidates),
            _ => None,
        }
    }

    /// The suggestions for a place that matched nothing (« Vouliez-vous dire … ? »).
    pub fn suggestions(&self) -> Option<&[PlaceCandidate]> {
        match self {
            GeoError::UnknownPlace { suggestions, .. } if !suggestions.is_empty() => Some(suggestions),
            _ => None,
        }
    }

    fn unknown(message: String) -> Self {
        GeoError::UnknownPlace { message, suggestions: Vec::new() }
    }
}

/// What a resolved place is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PlaceKind {
    /// A current commune (its bounding-box centre).
    Commune,
    /// A former commune (déléguée, associée) or a municipal arrondissement.
    FormerCommune,
    /// A postcode shared by several communes: all of them, from their centroid.
    Postcode,
    /// Coordinates given as such.
    Coordinates,
}

/// A resolved place: a point, and how far a home may be from it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Place {
    /// What kind of place.
    pub kind: PlaceKind,
    /// French label for people (`Saintes (17)`, `45.74620, -0.64570`).
    pub label: String,
    /// Commune name (none for coordinates).
    pub name: Option<String>,
    /// INSEE code: the commune's, or the former commune's own code.
    pub insee: Option<String>,
    /// For a former commune, the current commune it belongs to.
    pub part_of: Option<String>,
    /// Département code.
    pub departement: Option<String>,
    /// Postcodes of the commune.
    pub postcodes: Vec<String>,
    /// Latitude (WGS84).
    pub lat: f64,
    /// Longitude (WGS84).
    pub lon: f64,
    /// How far a home may be from the point (half-diagonal of the commune; 0 for coordinates).
    pub uncertainty_km: f64,
}

/// One commune an ambiguous input may designate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlaceCandidate {
    /// Name (of the former commune, for a former commune).
    pub name: String,
    /// Département code.
    pub departement: String,
    /// Département name (`Charente-Maritime`).
    pub departement_name: String,
    /// Postcodes.
    pub postcodes: Vec<String>,
    /// INSEE code (the former commune's own code for a former commune).
    pub insee: String,
    /// For a former commune, the current commune it belongs to.
    pub part_of: Option<String>,
    /// Text that resolves to exactly this candidate (`Sainte-Colombe (17)`), for links.
    pub query: String,
}

/// Resolves what a trainee typed into a place. Read-only.
pub fn resolve_place(conn: &mut DbConn, input: &str) -> Result<Place, GeoError> {
    match parse_place_input(input)? {
        ParsedInput::Coordinates { lat, lon } => place_at(lat, lon),
        ParsedInput::Postcode(postcode) => resolve_postcode(conn, &postcode),
        ParsedInput::Name { display, key, qualifier } => resolve_name(conn, &display, &key, qualifier.as_ref()),
    }
}

/// A place for explicit coordinates (validated: finite, within WGS84 bounds).
pub fn place_at(lat: f64, lon: f64) -> Result<Place, GeoError> {
    if !lat.is_finite() || !lon.is_finite() || !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
        return Err(GeoError::InvalidPlace(format!(
            "coordonnées hors limites : latitude entre -90 et 90, longitude entre -180 et 180 (reçu {lat}, {lon})"
        )));
    }
    Ok(Place {
        kind: PlaceKind::Coordinates,
        label: format!("{lat:.5}, {lon:.5}"),
        name: None,
        insee: None,
        part_of: None,
        departement: None,
        postcodes: Vec::new(),
        lat,
        lon,
        uncertainty_km: 0.0,
    })
}

// ------------------------------------------------------------------------------------------ parsing

/// A département or postcode given next to a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Qualifier {
    /// `17`, `2A`, `971`.
    Departement(String),
    /// `17100`.
    Postcode(String),
}

/// What typed text means, before any lookup (see [`parse_place_input`]).
#[derive(Debug, Clone, PartialEq)]
pub enum ParsedInput {
    /// Explicit coordinates, within WGS84 bounds.
    Coordinates {
        /// Latitude in degrees.
        lat: f64,
        /// Longitude in degrees.
        lon: f64,
    },
    /// A five-digit postcode.
    Postcode(String),
    /// A commune name, maybe qualified.
    Name {
        /// The name as typed (qualifier removed).
        display: String,
        /// Its lookup key ([`normalize_place_name`]).
        key: String,
        /// The département or postcode typed with it.
        qualifier: Option<Qualifier>,
    },
}

fn invalid(message: &str) -> GeoError {
    GeoError::InvalidPlace(message.to_owned())
}

/// Reads what a trainee typed, without the database: the pure half of [`resolve_place`] (and
/// what the `place` fuzz target exercises). Refuses empty, overlong or unreadable input.
pub fn parse_place_input(raw: &str) -> Result<ParsedInput, GeoError> {
    let input = raw.trim();
    if input.is_empty() {
        return Err(invalid(
            "Indiquez un code postal, une commune ou des coordonnées (latitude, longitude), par exemple 17100 ou Saintes.",
        ));
    }
    if input.chars().count() > MAX_PLACE_INPUT_CHARS {
        return Err(GeoError::InvalidPlace(format!("saisie trop longue ({MAX_PLACE_INPUT_CHARS} caractères au plus)")));
    }
    if input.chars().any(|c| !(c.is_alphanumeric() || ALLOWED_PUNCTUATION.contains(c))) {
        return Err(invalid(
            "caractères non reconnus : indiquez un code postal, un nom de commune ou des coordonnées (latitude, longitude)",
        ));
    }
    if input.chars().all(|c| c.is_ascii_digit() || "+-.,; ".contains(c)) {
        // `17 100` is a postcode typed with a space, not coordinates.
        let compact: String = input.chars().filter(|c| *c != ' ').collect();
        if is_postcode(&compact) {
            return Ok(ParsedInput::Postcode(compact));
        }
        if input.chars().all(|c| c.is_ascii_digit()) {
            return Err(invalid("un code postal compte 5 chiffres (par exemple 17100)"));
        }
        return parse_coordinates(input).map(|(lat, lon)| ParsedInput::Coordinates { lat, lon });
    }
    if input.contains(';') {
        return Err(invalid("le point-virgule ne sert qu'à séparer latitude et longitude"));
    }
    let (name, qualifier) = split_qualifier(input);
    let key = normalize_place_name(name);
    if !key.chars().any(char::is_alphabetic) {
        return Err(invalid("nom de commune illisible : indiquez par exemple « Saintes » ou « 17100 »"));
    }
    Ok(ParsedInput::Name { display: name.to_owned(), key, qualifier })
}

fn is_postcode(s: &str) -> bool {
    s.len() == 5 && s.bytes().all(|b| b.is_ascii_digit())
}

/// `01`–`95` (but not `20`), `2A`, `2B`, `971`–`976`; returns the canonical form.
fn departement_code(s: &str) -> Option<String> {
    let upper = s.to_ascii_uppercase();
    match upper.as_str() {
        "2A" | "2B" => Some(upper),
        _ if upper.len() == 2 && upper.bytes().all(|b| b.is_ascii_digit()) => {
            let n: u32 = upper.parse().ok()?;
            ((1..=95).contains(&n) && n != 20).then_some(upper)
        }
        _ if upper.len() == 3 && upper.bytes().all(|b| b.is_ascii_digit()) => {
            let n: u32 = upper.parse().ok()?;
            (971..=976).contains(&n).then_some(upper)
        }
        _ => None,
    }
}

fn qualifier_of(token: &str) -> Option<Qualifier> {
    if is_postcode(token) {
        Some(Qualifier::Postcode(token.to_owned()))
    } else {
        departement_code(token).map(Qualifier::Departement)
    }
}

/// Separates `Name (17)`, `Name, 17`, `Name 17100` and `17100 Name` into name and qualifier.
/// Parentheses holding anything else stay in the name (`Château-Chinon (Ville)`).
fn split_qualifier(input: &str) -> (&str, Option<Qualifier>) {
    fn trim_name(s: &str) -> &str {
        s.trim().trim_end_matches([',', '-', ';', '/']).trim()
    }
    if let Some(inner) = input.strip_suffix(')')
        && let Some(open) = inner.rfind('(')
        && let Some(q) = qualifier_of(inner[open + 1..].trim())
    {
        let name = trim_name(&inner[..open]);
        if !name.is_empty() {
            return (name, Some(q));
        }
    }
    if let Some((head, last)) = input.rsplit_once([' ', ',', ';', '/'])
        && let Some(q) = qualifier_of(last.trim())
    {
        let name = trim_name(head);
        if !name.is_empty() {
            return (name, Some(q));
        }
    }
    if let Some((first, rest)) = input.split_once([' ', ','])
        && is_postcode(first)
    {
        let name = trim_name(rest);
        if !name.is_empty() {
            return (name, Some(Qualifier::Postcode(first.to_owned())));
        }
    }
    (input, None)
}

/// `45.7462, -0.6457`, `45.7462 -0.6457`, `45,7462; -0,6457` (decimal commas need `;` or spaces).
fn parse_coordinates(input: &str) -> Result<(f64, f64), GeoError> {
    let bad = || {
        invalid(
            "coordonnées illisibles : écrivez « latitude, longitude » avec des points décimaux, par exemple 45.7462, -0.6457",
        )
    };
    let parts: Vec<String> = if input.contains(';') {
        input.split(';').map(|p| p.trim().replace(',', ".")).collect()
    } else if input.contains('.') || input.matches(',').count() == 1 {
        input.split([',', ' ']).map(str::trim).filter(|p| !p.is_empty()).map(str::to_owned).collect()
    } else {
        input.split_whitespace().map(|p| p.trim_end_matches(',').replace(',', ".")).collect()
    };
    let [lat, lon] = parts.as_slice() else { return Err(bad()) };
    let number = |p: &str| -> Result<f64, GeoError> {
        let digits = p.trim_start_matches(['+', '-']);
        if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit() || c == '.') || digits.len() > 20 {
            return Err(bad());
        }
        p.parse::<f64>().map_err(|_| bad())
    };
    let (lat, lon) = (number(lat)?, number(lon)?);
    place_at(lat, lon).map(|_| (lat, lon))
}

// --------------------------------------------------------------------------------------- resolving

/// A former commune or arrondissement as stored.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = commune_aliases)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
struct AliasRow {
    kind: String,
    old_insee: String,
    name: String,
    current_insee: String,
    lat: Option<f64>,
    lon: Option<f64>,
    postcodes: String,
}

/// One commune or former commune matching the input, with what is needed to show or use it.
#[derive(Debug, Clone)]
enum Match {
    Commune { commune: Commune, postcodes: Vec<String> },
    Former { alias: AliasRow, current: Commune, postcodes: Vec<String> },
}

impl Match {
    fn departement(&self) -> &str {
        match self {
            Match::Commune { commune, .. } | Match::Former { current: commune, .. } => &commune.departement,
        }
    }

    fn region(&self) -> &str {
        match self {
            Match::Commune { commune, .. } | Match::Former { current: commune, .. } => &commune.region,
        }
    }

    fn postcodes(&self) -> &[String] {
        match self {
            Match::Commune { postcodes, .. } | Match::Former { postcodes, .. } => postcodes,
        }
    }

    fn name(&self) -> &str {
        match self {
            Match::Commune { commune, .. } => &commune.name,
            Match::Former { alias, .. } => &alias.name,
        }
    }

    fn population(&self) -> i64 {
        match self {
            Match::Commune { commune, .. } => commune.population,
            // A former commune is a part of its current commune: rank it after whole communes.
            Match::Former { .. } => -1,
        }
    }

    fn part_of(&self) -> Option<String> {
        match self {
            Match::Commune { .. } => None,
            Match::Former { alias, current, .. } => Some(former_relation(&alias.kind, &current.name)),
        }
    }

    fn into_place(self) -> Place {
        match self {
            Match::Commune { commune, postcodes } => Place {
                kind: PlaceKind::Commune,
                label: format!("{} ({})", commune.name, commune.departement),
                name: Some(commune.name),
                insee: Some(commune.insee),
                part_of: None,
                departement: Some(commune.departement),
                postcodes,
                lat: commune.lat,
                lon: commune.lon,
                uncertainty_km: commune.half_diag_km,
            },
            Match::Former { alias, current, postcodes } => {
                let relation = former_relation(&alias.kind, &current.name);
                // A former commune is smaller than the current one: the current commune's size
                // bounds the uncertainty, whether or not the former one has a point of its own.
                let (lat, lon) = match (alias.lat, alias.lon) {
                    (Some(lat), Some(lon)) => (lat, lon),
                    _ => (current.lat, current.lon),
                };
                Place {
                    kind: PlaceKind::FormerCommune,
                    label: format!("{} ({}), {relation}", alias.name, current.departement),
                    name: Some(alias.name),
                    insee: Some(alias.old_insee),
                    part_of: Some(current.name),
                    departement: Some(current.departement),
                    postcodes,
                    lat,
                    lon,
                    uncertainty_km: current.half_diag_km,
                }
            }
        }
    }

    fn candidate(&self, query: String) -> PlaceCandidate {
        let insee = match self {
            Match::Commune { commune, .. } => commune.insee.clone(),
            Match::Former { alias, .. } => alias.old_insee.clone(),
        };
        PlaceCandidate {
            name: self.name().to_owned(),
            departement: self.departement().to_owned(),
            departement_name: departement_name(self.departement()).unwrap_or_default().to_owned(),
            postcodes: self.postcodes().to_vec(),
            insee,
            part_of: self.part_of(),
            query,
        }
    }
}

fn former_relation(kind: &str, current: &str) -> String {
    match kind {
        "associee" => format!("commune associée à {current}"),
        "arrondissement" => format!("arrondissement de {current}"),
        _ => format!("commune déléguée de {current}"),
    }
}

fn short(input: &str) -> String {
    input.chars().take(60).collect()
}

fn postcodes_of(conn: &mut DbConn, insee: &[String]) -> Result<HashMap<String, Vec<String>>, DbError> {
    let rows: Vec<(String, String)> = commune_postcodes::table
        .filter(commune_postcodes::insee.eq_any(insee))
        .select((commune_postcodes::insee, commune_postcodes::postcode))
        .order((commune_postcodes::insee.asc(), commune_postcodes::postcode.asc()))
        .load(conn)?;
    let mut map: HashMap<String, Vec<String>> = HashMap::new();
    for (insee, postcode) in rows {
        map.entry(insee).or_default().push(postcode);
    }
    Ok(map)
}

fn resolve_postcode(conn: &mut DbConn, postcode: &str) -> Result<Place, GeoError> {
    let found: Vec<Commune> = commune_postcodes::table
        .inner_join(communes::table)
        .filter(commune_postcodes::postcode.eq(postcode))
        .select(Commune::as_select())
        .order((communes::population.desc(), communes::insee.asc()))
        .load(conn)
        .map_err(DbError::from)?;
    if found.is_empty() {
        return Err(GeoError::unknown(format!(
            "Aucune commune n'a le code postal {postcode} (les codes CEDEX ne sont pas reconnus) : indiquez le nom de la commune."
        )));
    }
    if let [only] = found.as_slice() {
        let postcodes = postcodes_of(conn, std::slice::from_ref(&only.insee))?.remove(&only.insee).unwrap_or_default();
        return Ok(Match::Commune { commune: only.clone(), postcodes }.into_place());
    }
    Ok(postcode_area(postcode, &found))
}

/// The communes of a shared postcode as one place: the trainee lives in one of them, and asking
/// which one (`17400` has 19) only delays the answer.
///
/// The point is the communes' centroid weighted by population (where the homes are), and the
/// uncertainty reaches the far edge of the farthest commune, so that the band of each estimate
/// covers every home of the postcode. Travel from the *nearest* of the communes would keep one
/// point per commune and flatter the remote ones: a venue five minutes from one end of the
/// postcode is half an hour from the other.
fn postcode_area(postcode: &str, communes: &[Commune]) -> Place {
    let weight = |c: &Commune| c.population.max(1) as f64;
    let total: f64 = communes.iter().map(weight).sum();
    let lat = communes.iter().map(|c| weight(c) * c.lat).sum::<f64>() / total;
    let lon = communes.iter().map(|c| weight(c) * c.lon).sum::<f64>() / total;
    let uncertainty_km =
        communes.iter().map(|c| haversine_km(lat, lon, c.lat, c.lon) + c.half_diag_km).fold(0.0, f64::max);
    let departements: std::collections::BTreeSet<&str> = communes.iter().map(|c| c.departement.as_str()).collect();
    let others = communes.len().saturating_sub(1);
    let biggest = communes.first().map(|c| c.name.as_str()).unwrap_or_default();
    Place {
        kind: PlaceKind::Postcode,
        label: format!(
            "{postcode} ({biggest} et {others} autre{plural} commune{plural})",
            plural = if others > 1 { "s" } else { "" }
        ),
        name: None,
        insee: None,
        part_of: None,
        departement: match departements.into_iter().collect::<Vec<_>>().as_slice() {
            [only] => Some((*only).to_owned()),
            _ => None,
        },
        postcodes: vec![postcode.to_owned()],
        lat,
        lon,
        uncertainty_km,
    }
}

/// The organisation's region, which candidates and suggestions are ranked by: the region of its
/// postcode when the identity has one, else the region holding most venues.
pub fn home_region(conn: &mut DbConn) -> Result<Option<String>, DbError> {
    let identity = crate::documents::organisation::OrganisationIdentity::load(conn)?;
    if let Some(postcode) = identity.postcode {
        let region: Option<String> = commune_postcodes::table
            .inner_join(communes::table)
            .filter(commune_postcodes::postcode.eq(postcode.trim()))
            .select(communes::region)
            .order(communes::population.desc())
            .first(conn)
            .optional()?;
        if region.is_some() {
            return Ok(region);
        }
    }
    let by_venues: Vec<(String, i64)> = venues::table
        .inner_join(communes::table)
        .group_by(communes::region)
        .select((communes::region, diesel::dsl::count_star()))
        .load(conn)?;
    Ok(by_venues.into_iter().max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.cmp(&a.0))).map(|(region, _)| region))
}

fn single_or_ambiguous(
    conn: &mut DbConn,
    input: &str,
    mut matches: Vec<Match>,
    query: impl Fn(&Match) -> String,
) -> Result<Place, GeoError> {
    if matches.len() == 1
        && let Some(only) = matches.pop()
    {
        return Ok(only.into_place());
    }
    // The organisation's region first, then the most populous (the order `matches` has).
    let region = home_region(conn)?;
    matches.sort_by_key(|m| Some(m.region()) != region.as_deref());
    let candidates = matches.iter().map(|m| m.candidate(query(m))).collect();
    Err(GeoError::AmbiguousPlace { input: short(input), candidates })
}

/// Whether the most populous match dwarfs every other (`matches` is most populous first). A
/// former commune's own population is unknown, so it is never dwarfed.
fn dominant(matches: &[Match]) -> bool {
    match matches {
        [first, rest @ ..] if !rest.is_empty() => rest.iter().all(|other| {
            matches!(other, Match::Commune { .. })
                && first.population() >= DOMINANT_POPULATION_RATIO * other.population().max(1)
        }),
        _ => false,
    }
}

fn resolve_name(conn: &mut DbConn, display: &str, key: &str, qualifier: Option<&Qualifier>) -> Result<Place, GeoError> {
    let mut matches = name_matches(conn, key)?;
    if matches.is_empty() {
        let region = home_region(conn)?;
        let suggestions = suggest_communes(key, region.as_deref());
        let message = if suggestions.is_empty() {
            format!("Commune introuvable : « {} ». Vérifiez l'orthographe ou indiquez le code postal.", short(display))
        } else {
            format!("Commune introuvable : « {} ». Vouliez-vous dire l'une de ces communes ?", short(display))
        };
        return Err(GeoError::UnknownPlace { message, suggestions });
    }
    if qualifier.is_none() && dominant(&matches) {
        matches.truncate(1);
    }
    // Which candidates can be told apart by département alone (else their postcode is used).
    let mut per_departement: HashMap<String, usize> = HashMap::new();
    for m in &matches {
        *per_departement.entry(m.departement().to_owned()).or_default() += 1;
    }
    let query = |m: &Match| match m.postcodes().first() {
        Some(postcode) if per_departement.get(m.departement()).copied().unwrap_or(0) > 1 => {
            format!("{} {postcode}", m.name())
        }
        _ => format!("{} ({})", m.name(), m.departement()),
    };
    let Some(qualifier) = qualifier else {
        return single_or_ambiguous(conn, display, matches, query);
    };
    let (kept, rejected): (Vec<Match>, Vec<Match>) = matches.into_iter().partition(|m| match qualifier {
        Qualifier::Departement(dep) => m.departement() == dep,
        Qualifier::Postcode(postcode) => m.postcodes().iter().any(|p| p == postcode),
    });
    if kept.is_empty() {
        let known: Vec<String> = match qualifier {
            Qualifier::Departement(_) => {
                rejected.iter().map(|m| m.departement().to_owned()).collect::<std::collections::BTreeSet<_>>()
            }
            Qualifier::Postcode(_) => rejected.iter().flat_map(|m| m.postcodes().iter().cloned()).collect(),
        }
        .into_iter()
        .collect();
        let (what, asked) = match qualifier {
            Qualifier::Departement(dep) => ("dans le département", dep),
            Qualifier::Postcode(postcode) => ("avec le code postal", postcode),
        };
        let known_label = match qualifier {
            Qualifier::Departement(_) => "départements",
            Qualifier::Postcode(_) => "codes postaux",
        };
        return Err(GeoError::unknown(format!(
            "Aucune commune « {} » {what} {asked} ({known_label} connus : {}).",
            short(display),
            known.join(", ")
        )));
    }
    let display = match qualifier {
        Qualifier::Departement(dep) => format!("{display} ({dep})"),
        Qualifier::Postcode(postcode) => format!("{display} {postcode}"),
    };
    single_or_ambiguous(conn, &display, kept, query)
}

/// Communes and former communes whose normalised name is `key`, most populous first; a former
/// commune is left out when its current commune already matches (`Bellegarde-sur-Valserine`).
fn name_matches(conn: &mut DbConn, key: &str) -> Result<Vec<Match>, GeoError> {
    let found: Vec<Commune> = communes::table
        .filter(communes::name_search.eq(key))
        .select(Commune::as_select())
        .load(conn)
        .map_err(DbError::from)?;
    let aliases: Vec<AliasRow> = commune_aliases::table
        .filter(commune_aliases::name_search.eq(key))
        .select(AliasRow::as_select())
        .order((commune_aliases::current_insee.asc(), commune_aliases::old_insee.asc()))
        .load(conn)
        .map_err(DbError::from)?;
    let matched: HashSet<String> = found.iter().map(|c| c.insee.clone()).collect();
    let mut seen_current = HashSet::new();
    let aliases: Vec<AliasRow> = aliases
        .into_iter()
        .filter(|a| !matched.contains(&a.current_insee) && seen_current.insert(a.current_insee.clone()))
        .collect();
    let current: BTreeMap<String, Commune> = if aliases.is_empty() {
        BTreeMap::new()
    } else {
        let codes: Vec<&str> = aliases.iter().map(|a| a.current_insee.as_str()).collect();
        communes::table
            .filter(communes::insee.eq_any(codes))
            .select(Commune::as_select())
            .load(conn)
            .map_err(DbError::from)?
            .into_iter()
            .map(|c| (c.insee.clone(), c))
            .collect()
    };
    let mut codes: Vec<String> = found.iter().map(|c| c.insee.clone()).collect();
    codes.extend(current.keys().cloned());
    let mut postcodes = if codes.is_empty() { HashMap::new() } else { postcodes_of(conn, &codes)? };
    let mut matches: Vec<Match> = found
        .into_iter()
        .map(|commune| Match::Commune { postcodes: postcodes.remove(&commune.insee).unwrap_or_default(), commune })
        .collect();
    for alias in aliases {
        let Some(commune) = current.get(&alias.current_insee) else { continue };
        let own: Vec<String> = alias.postcodes.split_whitespace().map(str::to_owned).collect();
        let postcodes = if own.is_empty() { postcodes.get(&commune.insee).cloned().unwrap_or_default() } else { own };
        matches.push(Match::Former { alias, current: commune.clone(), postcodes });
    }
    matches.sort_by(|a, b| b.population().cmp(&a.population()).then_with(|| a.departement().cmp(b.departement())));
    Ok(matches)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(display: &str, key: &str, qualifier: Option<Qualifier>) -> ParsedInput {
        ParsedInput::Name { display: display.into(), key: key.into(), qualifier }
    }

    #[test]
    fn recognises_each_form_of_input() {
        assert_eq!(parse_place_input(" 17100 ").ok(), Some(ParsedInput::Postcode("17100".into())));
        assert_eq!(parse_place_input("17 100").ok(), Some(ParsedInput::Postcode("17100".into())));
        assert_eq!(parse_place_input("Saintes").ok(), Some(name("Saintes", "SAINTES", None)));
        assert_eq!(
            parse_place_input("Sainte-Colombe (17)").ok(),
            Some(name("Sainte-Colombe", "SAINTE COLOMBE", Some(Qualifier::Departement("17".into()))))
        );
        assert_eq!(
            parse_place_input("ste colombe, 17210").ok(),
            Some(name("ste colombe", "SAINTE COLOMBE", Some(Qualifier::Postcode("17210".into()))))
        );
        assert_eq!(
            parse_place_input("17210 Sainte-Colombe").ok(),
            Some(name("Sainte-Colombe", "SAINTE COLOMBE", Some(Qualifier::Postcode("17210".into()))))
        );
        assert_eq!(
            parse_place_input("Ajaccio (2a)").ok(),
            Some(name("Ajaccio", "AJACCIO", Some(Qualifier::Departement("2A".into()))))
        );
        assert_eq!(
            parse_place_input("Château-Chinon (Ville)").ok(),
            Some(name("Château-Chinon (Ville)", "CHATEAU CHINON VILLE", None))
        );
        assert_eq!(
            parse_place_input("Saint-Denis 974").ok().map(|p| matches!(p, ParsedInput::Name { .. })),
            Some(true)
        );
        // 20 is not a département (Corsica is 2A/2B): it stays part of the name.
        assert_eq!(parse_place_input("Lieu (20)").ok(), Some(name("Lieu (20)", "LIEU 20", None)));
    }

    #[test]
    fn reads_coordinates_in_the_usual_notations() {
        for typed in ["45.7462, -0.6457", "45.7462,-0.6457", "45.7462 -0.6457", "45,7462; -0,6457", "45,7462 -0,6457"] {
            assert_eq!(
                parse_place_input(typed).ok(),
                Some(ParsedInput::Coordinates { lat: 45.7462, lon: -0.6457 }),
                "{typed}"
            );
        }
        assert_eq!(parse_place_input("46,-1").ok(), Some(ParsedInput::Coordinates { lat: 46.0, lon: -1.0 }));
        for bad in ["91.0, 2.0", "45.0, 181", "45.1.2, 3", "1,2,3", "--4, 5", "45.0;"] {
            assert!(matches!(parse_place_input(bad), Err(GeoError::InvalidPlace(_))), "{bad}");
        }
    }

    #[test]
    fn refuses_empty_overlong_and_garbage_input() {
        let long = "a".repeat(MAX_PLACE_INPUT_CHARS + 1);
        for bad in [
            "",
            "   ",
            "1234",
            "123456",
            "<script>alert(1)</script>",
            "'; DROP TABLE users; --",
            "!!!",
            "--",
            long.as_str(),
            "Saintes\u{0}",
        ] {
            assert!(matches!(parse_place_input(bad), Err(GeoError::InvalidPlace(_))), "{bad:?}");
        }
        let within = "a".repeat(MAX_PLACE_INPUT_CHARS);
        assert!(parse_place_input(&within).is_ok());
    }

    #[test]
    fn departement_codes_are_checked() {
        for good in ["01", "17", "95", "2A", "2b", "971", "976"] {
            assert!(departement_code(good).is_some(), "{good}");
        }
        for bad in ["00", "20", "96", "99", "970", "977", "2C", "1", "123"] {
            assert!(departement_code(bad).is_none(), "{bad}");
        }
    }
}
