//! Venues: the tiers-lieux where half-days take place.
//!
//! A venue always has a point: its own coordinates when known, otherwise its commune's point
//! (flagged `coordinates_source = "commune"` so pages can say the position is approximate).
//!
//! Administrators add and change venues through [`add_venue`], [`update_venue`] and
//! [`import_venues`] (all or nothing); every rule on a venue's fields lives in
//! [`NewVenue::validate`] and [`insert_or_replace`], so the three doors cannot disagree.

mod import;
mod public;

use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::db::ids::VenueId;
use crate::db::schema::{commune_postcodes, communes, venues};
use crate::db::{self, DbConn, DbError};
use crate::{Classify, ErrorKind};

pub use import::{ImportReport, import_venues, parse_pmr, parse_venue_csv};
pub use public::{PublicVenue, VenueSession, VenueSummary, public_venue, public_venues};

crate::text_enum! {
    /// Kinds of tiers-lieux the organisation works with (a closed list).
    pub enum VenueKind: "type de lieu" {
        /// Shared office space.
        Coworking = "coworking", "Coworking";
        /// Fabrication laboratory.
        Fablab = "fablab", "Fablab";
        /// Shared workshop (wood, metal, repairs).
        AtelierPartage = "atelier_partage", "Atelier partagé";
        /// Food-growing or food-processing tiers-lieu.
        TiersLieuNourricier = "tiers_lieu_nourricier", "Tiers-lieu nourricier";
        /// Community café.
        CafeAssociatif = "cafe_associatif", "Café associatif";
        /// Campus connecté (remote higher education).
        CampusConnecte = "campus_connecte", "Campus connecté";
        /// Micro-Folie (digital museum).
        MicroFolie = "micro_folie", "Micro-Folie";
        /// General-purpose tiers-lieu.
        TiersLieu = "tiers_lieu", "Tiers-lieu";
    }
}

/// The stored texts of [`VenueKind`], for code that draws kinds at random (benchmark data).
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
    /// The postcode is not one of the commune's.
    #[error("le code postal « {postcode} » n'est pas celui de {commune} (attendu : {expected})")]
    PostcodeMismatch {
        /// The postcode given.
        postcode: String,
        /// The commune's name and INSEE code.
        commune: String,
        /// The commune's postcodes, comma-separated.
        expected: String,
    },
    /// Only administrators manage venues.
    #[error("seul·e un·e administrateur·rice peut gérer les lieux")]
    Forbidden,
    /// Another venue already uses this slug.
    #[error("un lieu utilise déjà l'identifiant « {0} »")]
    DuplicateSlug(String),
    /// A line of an imported file was refused; nothing was written.
    #[error("ligne {line} : {error}")]
    AtLine {
        /// Line number in the file (the header is line 1).
        line: usize,
        /// Why the line was refused.
        error: Box<VenueError>,
    },
    /// Storage failure.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl Classify for VenueError {
    fn kind(&self) -> ErrorKind {
        match self {
            VenueError::Invalid(_) | VenueError::UnknownCommune(_) | VenueError::PostcodeMismatch { .. } => {
                ErrorKind::Invalid
            }
            VenueError::UnknownVenue(_) => ErrorKind::NotFound,
            VenueError::Forbidden => ErrorKind::Forbidden,
            VenueError::DuplicateSlug(_) => ErrorKind::Conflict,
            // A bad line makes the whole file invalid, whatever the line's own refusal.
            VenueError::AtLine { error, .. } => match error.kind() {
                ErrorKind::Internal | ErrorKind::Unavailable => error.kind(),
                _ => ErrorKind::Invalid,
            },
            VenueError::Db(e) => e.kind(),
        }
    }
    fn code(&self) -> &'static str {
        match self {
            VenueError::Invalid(_) => "invalid_venue",
            VenueError::UnknownVenue(_) => "unknown_venue",
            VenueError::UnknownCommune(_) => "unknown_commune",
            VenueError::PostcodeMismatch { .. } => "postcode_mismatch",
            VenueError::Forbidden => "forbidden",
            VenueError::DuplicateSlug(_) => "duplicate_slug",
            VenueError::AtLine { error, .. } => error.code(),
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
    /// Comma-separated kinds (see [`VenueKind`]).
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
    /// Contact e-mail.
    pub email: Option<String>,
    /// Contact phone number.
    pub phone: Option<String>,
    /// Web site.
    pub website: Option<String>,
}

/// A venue as shown to scripts and the API (`lms venue list|show --json`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct VenueView {
    /// Identifier.
    pub id: VenueId,
    /// Stable slug.
    pub slug: String,
    /// Name.
    pub name: String,
    /// Kinds of place.
    pub kinds: Vec<VenueKind>,
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
    /// Where the point comes from (`exact` or `commune`).
    pub coordinates_source: CoordinatesSource,
    /// True when the point is the commune's, not the venue's own.
    pub approximate_position: bool,
    /// Step-free access (PMR), when known.
    pub pmr: Option<bool>,
    /// Access details: parking, public transport, lift.
    pub access_note: Option<String>,
    /// Contact e-mail.
    pub email: Option<String>,
    /// Contact phone number.
    pub phone: Option<String>,
    /// Web site.
    pub url: Option<String>,
    /// Short description.
    pub description: String,
    /// Attribution of the facts.
    pub source: Option<String>,
}

/// Reads the stored comma-separated kinds; an unknown one fails loudly, like any text enum.
fn parse_stored_kinds(raw: &str) -> Result<Vec<VenueKind>, VenueError> {
    raw.split(',')
        .filter(|k| !k.is_empty())
        .map(|k| {
            VenueKind::from_stored(k)
                .map_err(|e| VenueError::Db(DbError::Query(diesel::result::Error::DeserializationError(Box::new(e)))))
        })
        .collect()
}

impl VenueView {
    fn from_row(row: VenueRow, commune: String, departement: String) -> Result<Self, VenueError> {
        Ok(VenueView {
            kinds: parse_stored_kinds(&row.kinds)?,
            approximate_position: row.coordinates_source.is_approximate(),
            coordinates_source: row.coordinates_source,
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
            pmr: row.accessible_pmr,
            access_note: row.accessibility_note,
            email: row.email,
            phone: row.phone,
            url: row.website,
            description: row.description,
            source: row.source,
        })
    }
}

/// A venue's postal address as its parts are stored: the one place that decides how a venue's
/// address is written on one line (pages, sheets, convocations), so no door formats it again.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VenueAddress<'a> {
    /// Street address, when known.
    pub street: Option<&'a str>,
    /// Postcode, when known.
    pub postcode: Option<&'a str>,
    /// Commune name.
    pub commune: &'a str,
}

impl VenueAddress<'_> {
    /// `12 rue des Halles, 17400 Saint-Jean-d'Angély`; without a street (or a postcode), what is
    /// known, the commune always (a blank street is treated as unknown).
    pub fn one_line(&self) -> String {
        let town = match self.postcode.map(str::trim).filter(|p| !p.is_empty()) {
            Some(postcode) => format!("{postcode} {}", self.commune),
            None => self.commune.to_owned(),
        };
        match self.street.map(str::trim).filter(|s| !s.is_empty()) {
            Some(street) => format!("{street}, {town}"),
            None => town,
        }
    }
}

/// A venue's accessibility for a convocation: step-free access (PMR) when known, then the note.
pub fn accessibility_fr(pmr: Option<bool>, note: Option<&str>) -> Option<String> {
    let pmr = pmr.map(|yes| {
        if yes {
            "Accessible aux personnes à mobilité réduite".to_owned()
        } else {
            "Non accessible aux personnes à mobilité réduite".to_owned()
        }
    });
    let note = note.map(str::trim).filter(|n| !n.is_empty()).map(str::to_owned);
    let parts: Vec<String> = [pmr, note].into_iter().flatten().collect();
    (!parts.is_empty()).then(|| parts.join(". "))
}

impl VenueView {
    /// The venue's address on one line (see [`VenueAddress::one_line`]).
    pub fn one_line_address(&self) -> String {
        VenueAddress { street: self.address.as_deref(), postcode: self.postcode.as_deref(), commune: &self.commune }
            .one_line()
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
    rows.into_iter().map(|(v, c, d)| VenueView::from_row(v, c, d)).collect()
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
        .transpose()?
        .ok_or_else(|| VenueError::UnknownVenue(crate::text::printable(slug, 80)))
}

/// What it takes to create a venue (or to replace one, in an import).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct NewVenue {
    /// Stable slug, lowercase ASCII words joined by hyphens.
    pub slug: String,
    /// Name.
    pub name: String,
    /// Kinds, as typed (checked against [`VenueKind`]).
    pub kinds: Vec<String>,
    /// Commune INSEE code.
    pub commune_insee: String,
    /// Postcode; it must be one of the commune's.
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
    /// Access details (parking, transport, lift).
    #[serde(default)]
    pub accessibility_note: Option<String>,
    /// Attribution of the facts.
    #[serde(default)]
    pub source: Option<String>,
    /// Contact e-mail.
    #[serde(default)]
    pub email: Option<String>,
    /// Contact phone number (French: ten digits, or +33 and nine).
    #[serde(default)]
    pub phone: Option<String>,
    /// Web site (`https://…` or `http://…`).
    #[serde(default)]
    pub url: Option<String>,
}

/// True for `rupellab-la-rochelle`-style slugs.
pub fn is_valid_slug(slug: &str) -> bool {
    !slug.is_empty()
        && slug.len() <= 80
        && slug
            .split('-')
            .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()))
}

/// A venue's fields once checked, ready to be written.
#[derive(Debug, Clone)]
struct ValidVenue {
    slug: String,
    name: String,
    kinds: Vec<VenueKind>,
    commune_insee: String,
    postcode: Option<String>,
    address: Option<String>,
    coordinates: Option<(f64, f64)>,
    description: String,
    accessible_pmr: Option<bool>,
    accessibility_note: Option<String>,
    source: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    url: Option<String>,
}

/// Whether an administrator's door requires the street address and postcode (the fixtures'
/// sources do not always publish one, and the fixtures say so instead of inventing it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AddressRule {
    Required,
    Optional,
}

fn invalid(message: impl Into<String>) -> VenueError {
    VenueError::Invalid(message.into())
}

/// Trims an optional text; an empty one means "none".
fn optional_text(
    raw: &Option<String>,
    what: &str,
    max_chars: usize,
    multiline: bool,
) -> Result<Option<String>, VenueError> {
    let Some(text) = raw.as_deref().map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    let problem = if multiline {
        text.chars().find(|c| c.is_control() && *c != '\n').map(|_| "un caractère de contrôle".to_owned())
    } else {
        crate::text::control_character_problem(text)
    }
    .or_else(|| crate::text::bidi_override_problem(text));
    if let Some(problem) = problem {
        return Err(invalid(format!("{what} invalide : {problem}")));
    }
    if text.chars().count() > max_chars {
        return Err(invalid(format!("{what} trop long (au plus {max_chars} caractères)")));
    }
    Ok(Some(text.to_owned()))
}

/// French phone numbers: `05 46 00 00 00`, `05.46.00.00.00` or `+33 5 46 00 00 00`.
fn check_phone(raw: &str) -> Result<String, VenueError> {
    let compact: String = raw.chars().filter(|c| !matches!(c, ' ' | '.' | '-')).collect();
    let digits = compact.strip_prefix("+33").map(|rest| format!("0{rest}")).unwrap_or_else(|| compact.clone());
    let ok = digits.len() == 10
        && digits.starts_with('0')
        && digits.as_bytes().get(1).is_some_and(|d| (b'1'..=b'9').contains(d))
        && digits.bytes().all(|b| b.is_ascii_digit());
    if !ok {
        return Err(invalid(format!(
            "numéro de téléphone invalide « {} » (dix chiffres, ou +33 et neuf chiffres)",
            crate::text::printable(raw, 40)
        )));
    }
    Ok(raw.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// Web sites: an absolute http(s) address with a dotted host and nothing a page could misuse.
fn check_url(raw: &str) -> Result<String, VenueError> {
    let bad = || invalid(format!("adresse de site invalide « {} » (https://…)", crate::text::printable(raw, 80)));
    let rest = raw.strip_prefix("https://").or_else(|| raw.strip_prefix("http://")).ok_or_else(bad)?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_ok = host.contains('.')
        && !host.starts_with('.')
        && !host.ends_with('.')
        && host.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':'));
    if !host_ok || raw.len() > 300 || raw.chars().any(|c| c.is_whitespace() || c.is_control() || "<>\"'`".contains(c)) {
        return Err(bad());
    }
    Ok(raw.to_owned())
}

impl NewVenue {
    /// Checks every field that needs no database: slug, name, kinds, coordinates, texts and contact.
    fn validate(&self, address_rule: AddressRule) -> Result<ValidVenue, VenueError> {
        if !is_valid_slug(&self.slug) {
            return Err(invalid(format!(
                "identifiant de lieu invalide « {} » (minuscules, chiffres et tirets)",
                crate::text::printable(&self.slug, 80)
            )));
        }
        let name = self.name.trim();
        if let Some(problem) = crate::text::name_character_problem(name) {
            return Err(invalid(format!("nom du lieu invalide : {problem}")));
        }
        let name_len = name.chars().count();
        if name_len == 0 || name_len > 200 {
            return Err(invalid("le nom du lieu doit faire de 1 à 200 caractères"));
        }
        if self.kinds.is_empty() {
            return Err(invalid(format!(
                "le lieu « {} » n'a aucun type (attendu : {})",
                self.slug,
                VenueKind::EXPECTED
            )));
        }
        let mut kinds = Vec::new();
        for raw in &self.kinds {
            let kind = VenueKind::from_stored(raw.trim()).map_err(|e| invalid(e.to_string()))?;
            if !kinds.contains(&kind) {
                kinds.push(kind);
            }
        }
        let coordinates = match (self.lat, self.lon) {
            (Some(lat), Some(lon)) => {
                if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
                    return Err(invalid(format!("coordonnées hors limites : {lat}, {lon}")));
                }
                Some((lat, lon))
            }
            (None, None) => None,
            _ => return Err(invalid("latitude et longitude vont ensemble")),
        };
        let commune_insee = self.commune_insee.trim();
        if commune_insee.is_empty()
            || commune_insee.len() > 5
            || !commune_insee.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            return Err(VenueError::UnknownCommune(crate::text::printable(commune_insee, 10)));
        }
        let postcode = optional_text(&self.postcode, "code postal", 5, false)?;
        if let Some(code) = &postcode
            && (code.len() != 5 || !code.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(invalid(format!(
                "code postal invalide « {} » (cinq chiffres)",
                crate::text::printable(code, 10)
            )));
        }
        let address = optional_text(&self.address, "adresse", 300, false)?;
        if address_rule == AddressRule::Required {
            if address.is_none() {
                return Err(invalid(format!("le lieu « {} » n'a pas d'adresse", self.slug)));
            }
            if postcode.is_none() {
                return Err(invalid(format!("le lieu « {} » n'a pas de code postal", self.slug)));
            }
        }
        let email = match optional_text(&self.email, "adresse e-mail", 254, false)? {
            Some(raw) => Some(crate::people::normalize_email(&raw).map_err(|e| invalid(e.to_string()))?),
            None => None,
        };
        let phone =
            optional_text(&self.phone, "numéro de téléphone", 30, false)?.map(|p| check_phone(&p)).transpose()?;
        let url = optional_text(&self.url, "adresse de site", 300, false)?.map(|u| check_url(&u)).transpose()?;
        Ok(ValidVenue {
            slug: self.slug.clone(),
            name: name.to_owned(),
            kinds,
            commune_insee: commune_insee.to_owned(),
            postcode,
            address,
            coordinates,
            description: optional_text(&Some(self.description.clone()), "description", 1000, true)?.unwrap_or_default(),
            accessible_pmr: self.accessible_pmr,
            accessibility_note: optional_text(&self.accessibility_note, "note d'accès", 1000, true)?,
            source: optional_text(&self.source, "source", 500, false)?,
            email,
            phone,
            url,
        })
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
    let valid = new.validate(AddressRule::Optional)?;
    db::write_transaction(conn, |conn| write_venue(conn, &valid, None))
}

/// `lms venue add`: creates a venue with its street address and postcode (both required), the
/// postcode being one of the commune's, and the commune's point unless coordinates are given.
pub fn add_venue(conn: &mut DbConn, actor: &crate::rights::Actor<'_>, new: &NewVenue) -> Result<VenueView, VenueError> {
    ensure_can_manage(actor)?;
    let valid = new.validate(AddressRule::Required)?;
    db::write_transaction(conn, |conn| {
        write_venue(conn, &valid, None)?;
        find_venue_by_slug(conn, &valid.slug)
    })
}

/// What `lms venue update` may change; `None` leaves a field as it is, an empty text clears an
/// optional one.
#[derive(Debug, Clone, Default)]
pub struct VenueChanges {
    /// New name.
    pub name: Option<String>,
    /// New kinds (replacing the old ones).
    pub kinds: Option<Vec<String>>,
    /// New commune; without new coordinates, the point becomes the new commune's unless the old
    /// one was exact and the commune is unchanged.
    pub commune_insee: Option<String>,
    /// New street address.
    pub address: Option<String>,
    /// New postcode.
    pub postcode: Option<String>,
    /// New latitude (with `lon`).
    pub lat: Option<f64>,
    /// New longitude (with `lat`).
    pub lon: Option<f64>,
    /// New PMR access.
    pub accessible_pmr: Option<bool>,
    /// New access note.
    pub accessibility_note: Option<String>,
    /// New e-mail.
    pub email: Option<String>,
    /// New phone number.
    pub phone: Option<String>,
    /// New web site.
    pub url: Option<String>,
}

impl NewVenue {
    fn from_stored(row: VenueRow) -> Result<NewVenue, VenueError> {
        let exact = !row.coordinates_source.is_approximate();
        Ok(NewVenue {
            kinds: parse_stored_kinds(&row.kinds)?.into_iter().map(|k| k.as_str().to_owned()).collect(),
            slug: row.slug,
            name: row.name,
            commune_insee: row.commune_insee,
            postcode: row.postcode,
            address: row.address,
            lat: exact.then_some(row.lat),
            lon: exact.then_some(row.lon),
            description: row.description,
            accessible_pmr: row.accessible_pmr,
            accessibility_note: row.accessibility_note,
            source: row.source,
            email: row.email,
            phone: row.phone,
            url: row.website,
        })
    }

    fn apply(mut self, changes: &VenueChanges) -> NewVenue {
        if let Some(insee) = &changes.commune_insee
            && insee.trim() != self.commune_insee
        {
            // The old exact point belongs to the old commune.
            self.commune_insee = insee.clone();
            self.lat = None;
            self.lon = None;
        }
        if changes.lat.is_some() || changes.lon.is_some() {
            self.lat = changes.lat;
            self.lon = changes.lon;
        }
        let set = |field: &mut Option<String>, value: &Option<String>| {
            if let Some(v) = value {
                *field = Some(v.clone());
            }
        };
        if let Some(name) = &changes.name {
            self.name = name.clone();
        }
        if let Some(kinds) = &changes.kinds {
            self.kinds = kinds.clone();
        }
        set(&mut self.address, &changes.address);
        set(&mut self.postcode, &changes.postcode);
        set(&mut self.accessibility_note, &changes.accessibility_note);
        set(&mut self.email, &changes.email);
        set(&mut self.phone, &changes.phone);
        set(&mut self.url, &changes.url);
        if changes.accessible_pmr.is_some() {
            self.accessible_pmr = changes.accessible_pmr;
        }
        self
    }
}

/// `lms venue update`: changes the given fields of a venue and checks the result as a whole
/// (a new commune needs a postcode of that commune).
pub fn update_venue(
    conn: &mut DbConn,
    actor: &crate::rights::Actor<'_>,
    slug: &str,
    changes: &VenueChanges,
) -> Result<VenueView, VenueError> {
    ensure_can_manage(actor)?;
    db::write_transaction(conn, |conn| {
        let row = stored_row(conn, slug)?.ok_or_else(|| VenueError::UnknownVenue(crate::text::printable(slug, 80)))?;
        let id = row.id.clone();
        let valid = NewVenue::from_stored(row)?.apply(changes).validate(AddressRule::Optional)?;
        write_venue(conn, &valid, Some(&id))?;
        find_venue_by_slug(conn, slug)
    })
}

/// `lms venue show`: one venue, for whoever manages venues.
pub fn show_venue(conn: &mut DbConn, actor: &crate::rights::Actor<'_>, slug: &str) -> Result<VenueView, VenueError> {
    ensure_can_manage(actor)?;
    find_venue_by_slug(conn, slug)
}

/// Only the console and administrators manage venues.
fn ensure_can_manage(actor: &crate::rights::Actor<'_>) -> Result<(), VenueError> {
    if actor.is_office() { Ok(()) } else { Err(VenueError::Forbidden) }
}

fn stored_row(conn: &mut DbConn, slug: &str) -> Result<Option<VenueRow>, VenueError> {
    Ok(venues::table
        .filter(venues::slug.eq(slug))
        .select(VenueRow::as_select())
        .first(conn)
        .optional()
        .map_err(DbError::from)?)
}

/// Inserts inside the caller's transaction (used by fixture loading, which batches many venues).
pub(crate) fn insert_venue(conn: &mut DbConn, new: &NewVenue) -> Result<VenueId, VenueError> {
    let valid = new.validate(AddressRule::Optional)?;
    write_venue(conn, &valid, None)
}

/// Inserts a new venue (`existing = None`) or replaces the fields of `existing`, inside the
/// caller's transaction, after the checks that need the database: the commune exists and the
/// postcode is one of its postcodes; the point is the commune's unless coordinates were given.
fn write_venue(conn: &mut DbConn, valid: &ValidVenue, existing: Option<&VenueId>) -> Result<VenueId, VenueError> {
    let commune = crate::geo::find_commune(conn, &valid.commune_insee)?
        .ok_or_else(|| VenueError::UnknownCommune(crate::text::printable(&valid.commune_insee, 10)))?;
    if let Some(postcode) = &valid.postcode {
        let known: Vec<String> = commune_postcodes::table
            .filter(commune_postcodes::insee.eq(&commune.insee))
            .select(commune_postcodes::postcode)
            .order(commune_postcodes::postcode.asc())
            .load(conn)
            .map_err(DbError::from)?;
        if !known.contains(postcode) {
            return Err(VenueError::PostcodeMismatch {
                postcode: postcode.clone(),
                commune: format!("{} ({})", commune.name, commune.insee),
                expected: if known.is_empty() { "aucun code connu".into() } else { known.join(", ") },
            });
        }
    }
    let (lat, lon, source) = match valid.coordinates {
        Some((lat, lon)) => (lat, lon, CoordinatesSource::Exact),
        None => (commune.lat, commune.lon, CoordinatesSource::Commune),
    };
    let kinds = valid.kinds.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(",");
    let written = match existing {
        Some(id) => diesel::update(venues::table.find(id))
            .set((
                venues::name.eq(&valid.name),
                venues::kinds.eq(&kinds),
                venues::description.eq(&valid.description),
                venues::address.eq(valid.address.as_deref()),
                venues::postcode.eq(valid.postcode.as_deref()),
                venues::commune_insee.eq(&commune.insee),
                venues::lat.eq(lat),
                venues::lon.eq(lon),
                venues::coordinates_source.eq(source),
                venues::accessible_pmr.eq(valid.accessible_pmr),
                venues::accessibility_note.eq(valid.accessibility_note.as_deref()),
                venues::email.eq(valid.email.as_deref()),
                venues::phone.eq(valid.phone.as_deref()),
                venues::website.eq(valid.url.as_deref()),
            ))
            .execute(conn)
            .map(|_| id.clone())
            .map_err(DbError::from),
        None => {
            let id = VenueId::generate();
            diesel::insert_into(venues::table)
                .values((
                    venues::id.eq(&id),
                    venues::slug.eq(&valid.slug),
                    venues::name.eq(&valid.name),
                    venues::kinds.eq(&kinds),
                    venues::description.eq(&valid.description),
                    venues::address.eq(valid.address.as_deref()),
                    venues::postcode.eq(valid.postcode.as_deref()),
                    venues::commune_insee.eq(&commune.insee),
                    venues::lat.eq(lat),
                    venues::lon.eq(lon),
                    venues::coordinates_source.eq(source),
                    venues::accessible_pmr.eq(valid.accessible_pmr),
                    venues::accessibility_note.eq(valid.accessibility_note.as_deref()),
                    venues::source.eq(valid.source.as_deref()),
                    venues::created_at.eq(db::now()),
                    venues::email.eq(valid.email.as_deref()),
                    venues::phone.eq(valid.phone.as_deref()),
                    venues::website.eq(valid.url.as_deref()),
                ))
                .execute(conn)
                .map(|_| id)
                .map_err(DbError::from)
        }
    };
    match written {
        Ok(id) => Ok(id),
        Err(e) if e.unique_violation().is_some() => Err(VenueError::DuplicateSlug(valid.slug.clone())),
        Err(e) => Err(e.into()),
    }
}

/// Looks up a venue id by slug (None if absent).
pub fn venue_id_by_slug(conn: &mut DbConn, slug: &str) -> Result<Option<VenueId>, DbError> {
    venues::table.filter(venues::slug.eq(slug)).select(venues::id).first(conn).optional().map_err(DbError::from)
}

#[cfg(test)]
mod tests {
    use super::{VENUE_KINDS, VenueAddress, VenueKind, accessibility_fr, check_phone, check_url, is_valid_slug};

    #[test]
    fn an_address_is_written_on_one_line_with_what_is_known() {
        let full =
            VenueAddress {
                street: Some("12 rue des Halles"), postcode: Some("17400"), commune: "Saint-Jean-d'Angély"
            };
        assert_eq!(full.one_line(), "12 rue des Halles, 17400 Saint-Jean-d'Angély");
        let no_street = VenueAddress { street: Some("  "), ..full };
        assert_eq!(no_street.one_line(), "17400 Saint-Jean-d'Angély");
        let commune_only = VenueAddress { street: None, postcode: None, commune: "Melle" };
        assert_eq!(commune_only.one_line(), "Melle");
    }

    #[test]
    fn accessibility_says_pmr_then_the_note() {
        assert_eq!(accessibility_fr(None, Some(" ")), None);
        assert_eq!(
            accessibility_fr(Some(true), Some("Parking rue Gambetta")).as_deref(),
            Some("Accessible aux personnes à mobilité réduite. Parking rue Gambetta")
        );
        assert_eq!(
            accessibility_fr(Some(false), None).as_deref(),
            Some("Non accessible aux personnes à mobilité réduite")
        );
    }

    #[test]
    fn slugs_are_lowercase_words_joined_by_hyphens() {
        assert!(is_valid_slug("rupellab-la-rochelle"));
        assert!(is_valid_slug("le-400-brive"));
        for bad in ["", "-a", "a-", "a--b", "Rupellab", "é-t-é", "a b", "a_b"] {
            assert!(!is_valid_slug(bad), "{bad}");
        }
    }

    #[test]
    fn the_kind_list_is_the_enum() {
        let stored: Vec<&str> = VenueKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(stored, VENUE_KINDS);
    }

    #[test]
    fn phones_and_sites() {
        for good in ["05 46 00 00 00", "05.46.00.00.00", "+33 5 46 00 00 00", "0546000000"] {
            assert!(check_phone(good).is_ok(), "{good}");
        }
        for bad in ["12", "00 46 00 00 00", "05 46 00 00 0x", "+44 20 7946 0000"] {
            assert!(check_phone(bad).is_err(), "{bad}");
        }
        assert!(check_url("https://example.org/lieu").is_ok());
        for bad in ["example.org", "javascript:alert(1)", "https://localhost", "https://a.org/<x>", "https://a b.org"] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
    }
}
