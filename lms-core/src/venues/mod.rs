//! Venues: the tiers-lieux where half-days take place.
//!
//! A venue always has a point: its own coordinates when known, otherwise its commune's point
//! (flagged `coordinates_source = "commune"` so pages can say the position is approximate).

use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::db::ids::VenueId;
use crate::db::schema::{communes, venues};
use crate::db::{self, DbConn, DbError};
use crate::{Classify, ErrorKind};

/// Kinds of tiers-lieux the organisation works with.
pub const VENUE_KINDS: &[&str] = &[
    "coworking",
    "fablab",
    "atelier_partage",
    "tiers_lieu_nourricier",
    "cafe_associatif",
    "campus_connecte",
    "micro_folie",
    "tiers_lieu",
];

/// Errors of venue use cases.
#[derive(Debug, thiserror::Error)]
pub enum VenueError {
    /// Malformed input.
    #[error("{0}")]
    Invalid(String),
    /// No venue with that slug.
    #[error("lieu inconnu : « {0} »")]
    UnknownVenue(String),
    /// The commune code is not in the communes table.
    #[error("commune inconnue (code INSEE « {0} »)")]
    UnknownCommune(String),
    /// Another venue already uses this slug.
    #[error("un lieu utilise déjà l'identifiant « {0} »")]
    DuplicateSlug(String),
    /// Storage failure.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl Classify for VenueError {
    fn kind(&self) -> ErrorKind {
        match self {
            VenueError::Invalid(_) | VenueError::UnknownCommune(_) => ErrorKind::Invalid,
            VenueError::UnknownVenue(_) => ErrorKind::NotFound,
            VenueError::DuplicateSlug(_) => ErrorKind::Conflict,
            VenueError::Db(e) => e.kind(),
        }
    }
    fn code(&self) -> &'static str {
        match self {
            VenueError::Invalid(_) => "invalid_venue",
            VenueError::UnknownVenue(_) => "unknown_venue",
            VenueError::UnknownCommune(_) => "unknown_commune",
            VenueError::DuplicateSlug(_) => "duplicate_slug",
            VenueError::Db(e) => e.code(),
        }
    }
}

/// A venue as stored (row type).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = venues)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct VenueRow {
    /// Identifier.
    pub id: VenueId,
    /// Stable human identifier (`rupellab-la-rochelle`).
    pub slug: String,
    /// Name.
    pub name: String,
    /// Comma-separated kinds (see [`VENUE_KINDS`]).
    pub kinds: String,
    /// One neutral sentence.
    pub description: String,
    /// Street address, when known.
    pub address: Option<String>,
    /// Postcode.
    pub postcode: Option<String>,
    /// Commune INSEE code.
    pub commune_insee: String,
    /// Latitude (WGS84).
    pub lat: f64,
    /// Longitude (WGS84).
    pub lon: f64,
    /// Exact, or the commune's point standing in.
    pub coordinates_source: CoordinatesSource,
    /// Step-free access for people with reduced mobility, when known.
    pub accessible_pmr: Option<bool>,
    /// Accessibility details.
    pub accessibility_note: Option<String>,
    /// Where the facts come from (attribution).
    pub source: Option<String>,
    /// Creation time (UTC).
    pub created_at: chrono::NaiveDateTime,
}

/// A venue as shown to scripts and the API (`lms venue list --json`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct VenueView {
    /// Identifier.
    pub id: VenueId,
    /// Stable slug.
    pub slug: String,
    /// Name.
    pub name: String,
    /// Kinds of place.
    pub kinds: Vec<String>,
    /// Commune INSEE code.
    pub insee: String,
    /// Commune name.
    pub commune: String,
    /// Département code.
    pub departement: String,
    /// Postcode.
    pub postcode: Option<String>,
    /// Street address, when known.
    pub address: Option<String>,
    /// Latitude.
    pub lat: f64,
    /// Longitude.
    pub lon: f64,
    /// True when the point is the commune's, not the venue's own.
    pub approximate_position: bool,
    /// Step-free access, when known.
    pub accessible_pmr: Option<bool>,
    /// Short description.
    pub description: String,
    /// Attribution of the facts.
    pub source: Option<String>,
}

impl VenueView {
    fn from_row(row: VenueRow, commune: String, departement: String) -> Self {
        VenueView {
            kinds: row.kinds.split(',').filter(|k| !k.is_empty()).map(str::to_owned).collect(),
            approximate_position: row.coordinates_source.is_approximate(),
            id: row.id,
            slug: row.slug,
            name: row.name,
            insee: row.commune_insee,
            commune,
            departement,
            postcode: row.postcode,
            address: row.address,
            lat: row.lat,
            lon: row.lon,
            accessible_pmr: row.accessible_pmr,
            description: row.description,
            source: row.source,
        }
    }
}

/// Every venue, by département then name.
pub fn list_venues(conn: &mut DbConn) -> Result<Vec<VenueView>, VenueError> {
    let rows: Vec<(VenueRow, String, String)> = venues::table
        .inner_join(communes::table)
        .select((VenueRow::as_select(), communes::name, communes::departement))
        .order((communes::departement.asc(), venues::name.asc()))
        .load(conn)
        .map_err(DbError::from)?;
    Ok(rows.into_iter().map(|(v, c, d)| VenueView::from_row(v, c, d)).collect())
}

/// One venue by slug.
pub fn find_venue_by_slug(conn: &mut DbConn, slug: &str) -> Result<VenueView, VenueError> {
    venues::table
        .inner_join(communes::table)
        .filter(venues::slug.eq(slug))
        .select((VenueRow::as_select(), communes::name, communes::departement))
        .first::<(VenueRow, String, String)>(conn)
        .optional()
        .map_err(DbError::from)?
        .map(|(v, c, d)| VenueView::from_row(v, c, d))
        .ok_or_else(|| VenueError::UnknownVenue(slug.chars().take(80).collect()))
}

/// What it takes to create a venue.
#[derive(Debug, Clone, Deserialize)]
pub struct NewVenue {
    /// Stable slug, lowercase ASCII words joined by hyphens.
    pub slug: String,
    /// Name.
    pub name: String,
    /// Kinds (see [`VENUE_KINDS`]).
    pub kinds: Vec<String>,
    /// Commune INSEE code.
    pub commune_insee: String,
    /// Postcode.
    #[serde(default)]
    pub postcode: Option<String>,
    /// Street address.
    #[serde(default)]
    pub address: Option<String>,
    /// Latitude; without it the commune's point is used.
    #[serde(default)]
    pub lat: Option<f64>,
    /// Longitude; without it the commune's point is used.
    #[serde(default)]
    pub lon: Option<f64>,
    /// Short description.
    #[serde(default)]
    pub description: String,
    /// Step-free access, when known.
    #[serde(default)]
    pub accessible_pmr: Option<bool>,
    /// Accessibility details.
    #[serde(default)]
    pub accessibility_note: Option<String>,
    /// Attribution of the facts.
    #[serde(default)]
    pub source: Option<String>,
}

/// True for `rupellab-la-rochelle`-style slugs.
pub fn is_valid_slug(slug: &str) -> bool {
    !slug.is_empty()
        && slug.len() <= 80
        && slug
            .split('-')
            .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()))
}

impl NewVenue {
    fn validate(&self) -> Result<(), VenueError> {
        if !is_valid_slug(&self.slug) {
            return Err(VenueError::Invalid(format!(
                "identifiant de lieu invalide « {} » (minuscules, chiffres et tirets)",
                self.slug.chars().take(80).collect::<String>()
            )));
        }
        let name_len = self.name.trim().chars().count();
        if name_len == 0 || name_len > 200 {
            return Err(VenueError::Invalid("le nom du lieu doit faire de 1 à 200 caractères".into()));
        }
        if self.kinds.is_empty() {
            return Err(VenueError::Invalid(format!("le lieu « {} » n'a aucun type", self.slug)));
        }
        if let Some(kind) = self.kinds.iter().find(|k| !VENUE_KINDS.contains(&k.as_str())) {
            return Err(VenueError::Invalid(format!(
                "type de lieu inconnu « {} » (attendu : {})",
                kind.chars().take(40).collect::<String>(),
                VENUE_KINDS.join(", ")
            )));
        }
        match (self.lat, self.lon) {
            (Some(lat), Some(lon)) => {
                if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
                    return Err(VenueError::Invalid(format!("coordonnées hors limites : {lat}, {lon}")));
                }
            }
            (None, None) => {}
            _ => return Err(VenueError::Invalid("latitude et longitude vont ensemble".into())),
        }
        Ok(())
    }
}

crate::text_enum! {
    /// Where a venue's coordinates come from.
    pub enum CoordinatesSource: "origine des coordonnées" {
        /// The venue's own position.
        Exact = "exact", "Position exacte";
        /// The commune's point stands in (the position is approximate).
        Commune = "commune", "Centre de la commune";
    }
}

impl CoordinatesSource {
    /// Whether the position is only the commune's (pages say it is approximate).
    pub fn is_approximate(self) -> bool {
        self == CoordinatesSource::Commune
    }
}

/// Creates a venue. Refuses a duplicate slug, an unknown commune or malformed fields.
pub fn create_venue(conn: &mut DbConn, new: &NewVenue) -> Result<VenueId, VenueError> {
    new.validate()?;
    db::write_transaction(conn, |conn| insert_venue(conn, new))
}

/// Inserts inside the caller's transaction (used by fixture loading, which batches many venues).
pub(crate) fn insert_venue(conn: &mut DbConn, new: &NewVenue) -> Result<VenueId, VenueError> {
    new.validate()?;
    let commune = crate::geo::find_commune(conn, &new.commune_insee)?
        .ok_or_else(|| VenueError::UnknownCommune(new.commune_insee.chars().take(10).collect()))?;
    let (lat, lon, source) = match (new.lat, new.lon) {
        (Some(lat), Some(lon)) => (lat, lon, CoordinatesSource::Exact),
        _ => (commune.lat, commune.lon, CoordinatesSource::Commune),
    };
    let id = VenueId::generate();
    let inserted = diesel::insert_into(venues::table)
        .values((
            venues::id.eq(&id),
            venues::slug.eq(&new.slug),
            venues::name.eq(new.name.trim()),
            venues::kinds.eq(new.kinds.join(",")),
            venues::description.eq(new.description.trim()),
            venues::address.eq(new.address.as_deref()),
            venues::postcode.eq(new.postcode.as_deref()),
            venues::commune_insee.eq(&commune.insee),
            venues::lat.eq(lat),
            venues::lon.eq(lon),
            venues::coordinates_source.eq(source),
            venues::accessible_pmr.eq(new.accessible_pmr),
            venues::accessibility_note.eq(new.accessibility_note.as_deref()),
            venues::source.eq(new.source.as_deref()),
            venues::created_at.eq(db::now()),
        ))
        .execute(conn)
        .map_err(DbError::from);
    match inserted {
        Ok(_) => Ok(id),
        Err(e) if e.unique_violation().is_some() => Err(VenueError::DuplicateSlug(new.slug.clone())),
        Err(e) => Err(e.into()),
    }
}

/// Looks up a venue id by slug (None if absent).
pub fn venue_id_by_slug(conn: &mut DbConn, slug: &str) -> Result<Option<VenueId>, DbError> {
    venues::table.filter(venues::slug.eq(slug)).select(venues::id).first(conn).optional().map_err(DbError::from)
}

#[cfg(test)]
mod tests {
    use super::is_valid_slug;

    #[test]
    fn slugs_are_lowercase_words_joined_by_hyphens() {
        assert!(is_valid_slug("rupellab-la-rochelle"));
        assert!(is_valid_slug("le-400-brive"));
        for bad in ["", "-a", "a-", "a--b", "Rupellab", "é-t-é", "a b", "a_b"] {
            assert!(!is_valid_slug(bad), "{bad}");
        }
    }
}
