//! `lms venue import FILE.csv`: an upsert by slug, all or nothing, each refusal naming its line.
//!
//! Columns are named like the flags of `lms venue add` (`slug`, `name`, `insee`, `address`,
//! `postcode`, `lat`, `lon`, `kind`, `pmr`, `access_note`, `email`, `phone`, `url`; a hyphen may
//! stand for the underscore). `kind` holds one or more kinds separated by `;` or `|`.

use std::collections::HashMap;

use serde::Serialize;

use super::{AddressRule, NewVenue, VenueError, ensure_can_manage, stored_row, write_venue};
use crate::db::{self, DbConn};
use crate::rights::Actor;

/// The columns an import file may have.
const COLUMNS: &[&str] = &[
    "slug",
    "name",
    "insee",
    "address",
    "postcode",
    "lat",
    "lon",
    "kind",
    "pmr",
    "access_note",
    "email",
    "phone",
    "url",
];

/// The columns every import file must have.
const REQUIRED: &[&str] = &["slug", "name", "insee", "address", "postcode", "kind"];

/// More lines than any organisation's list of places: a bigger file is a mistake.
const MAX_LINES: usize = 5000;

/// What an import did.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct ImportReport {
    /// Venues created.
    pub created: u64,
    /// Existing venues (same slug) whose fields were replaced.
    pub updated: u64,
}

/// Reads `yes`/`no` (or `oui`/`non`); empty means unknown.
pub fn parse_pmr(raw: &str) -> Result<Option<bool>, VenueError> {
    match raw.trim().to_lowercase().as_str() {
        "" => Ok(None),
        "yes" | "oui" => Ok(Some(true)),
        "no" | "non" => Ok(Some(false)),
        _ => Err(VenueError::Invalid(format!(
            "accès PMR invalide « {} » (attendu : yes ou no)",
            crate::text::printable(raw, 20)
        ))),
    }
}

fn at(line: usize, error: VenueError) -> VenueError {
    VenueError::AtLine { line, error: Box::new(error) }
}

fn parse_coordinate(raw: &str, what: &str) -> Result<Option<f64>, VenueError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    raw.parse::<f64>().ok().filter(|v| v.is_finite()).map(Some).ok_or_else(|| {
        VenueError::Invalid(format!("{what} invalide « {} » (nombre décimal, point)", crate::text::printable(raw, 30)))
    })
}

/// Parses an import file into numbered venues, checking every field that needs no database; the
/// first bad line is refused with its number.
pub fn parse_venue_csv(text: &str) -> Result<Vec<(usize, NewVenue)>, VenueError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = csv::ReaderBuilder::new().flexible(false).trim(csv::Trim::All).from_reader(text.as_bytes());
    let headers = reader.headers().map_err(|e| at(1, VenueError::Invalid(format!("en-tête illisible : {e}"))))?.clone();
    let mut index: HashMap<String, usize> = HashMap::new();
    for (i, raw) in headers.iter().enumerate() {
        let name = raw.trim().to_lowercase().replace('-', "_");
        if !COLUMNS.contains(&name.as_str()) {
            return Err(at(
                1,
                VenueError::Invalid(format!(
                    "colonne inconnue « {} » (attendu : {})",
                    crate::text::printable(raw, 40),
                    COLUMNS.join(", ")
                )),
            ));
        }
        if index.insert(name.clone(), i).is_some() {
            return Err(at(1, VenueError::Invalid(format!("colonne « {name} » en double"))));
        }
    }
    if let Some(missing) = REQUIRED.iter().find(|c| !index.contains_key(**c)) {
        return Err(at(1, VenueError::Invalid(format!("colonne obligatoire absente : « {missing} »"))));
    }
    let mut out: Vec<(usize, NewVenue)> = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map(|p| p.line() as usize).unwrap_or(0);
            at(line, VenueError::Invalid(format!("ligne CSV illisible : {e}")))
        })?;
        let line = record.position().map(|p| p.line() as usize).unwrap_or(out.len() + 2);
        if out.len() >= MAX_LINES {
            return Err(at(line, VenueError::Invalid(format!("fichier trop long (au plus {MAX_LINES} lieux)"))));
        }
        let field = |name: &str| index.get(name).and_then(|i| record.get(*i)).unwrap_or("").to_owned();
        let optional = |name: &str| Some(field(name)).filter(|v| !v.is_empty());
        let venue = NewVenue {
            slug: field("slug"),
            name: field("name"),
            kinds: field("kind")
                .split([';', '|'])
                .map(str::trim)
                .filter(|k| !k.is_empty())
                .map(str::to_owned)
                .collect(),
            commune_insee: field("insee"),
            postcode: optional("postcode"),
            address: optional("address"),
            lat: parse_coordinate(&field("lat"), "latitude").map_err(|e| at(line, e))?,
            lon: parse_coordinate(&field("lon"), "longitude").map_err(|e| at(line, e))?,
            description: String::new(),
            accessible_pmr: parse_pmr(&field("pmr")).map_err(|e| at(line, e))?,
            accessibility_note: optional("access_note"),
            source: None,
            email: optional("email"),
            phone: optional("phone"),
            url: optional("url"),
        };
        venue.validate(AddressRule::Required).map_err(|e| at(line, e))?;
        if let Some(first) = seen.insert(venue.slug.clone(), line) {
            return Err(at(line, VenueError::Invalid(format!("le lieu « {} » figure déjà ligne {first}", venue.slug))));
        }
        out.push((line, venue));
    }
    if out.is_empty() {
        return Err(VenueError::Invalid("le fichier ne contient aucun lieu".into()));
    }
    Ok(out)
}

/// Imports venues from CSV text: a line whose slug exists replaces that venue's fields (its
/// description and source are kept), any other line creates one. One transaction: the first
/// refused line leaves the database as it was.
pub fn import_venues(conn: &mut DbConn, actor: &Actor<'_>, text: &str) -> Result<ImportReport, VenueError> {
    ensure_can_manage(actor)?;
    let lines = parse_venue_csv(text)?;
    db::write_transaction(conn, |conn| {
        let mut report = ImportReport::default();
        for (line, mut venue) in lines {
            let existing = stored_row(conn, &venue.slug).map_err(|e| at(line, e))?;
            if let Some(row) = &existing {
                venue.description = row.description.clone();
                venue.source = row.source.clone();
            }
            let valid = venue.validate(AddressRule::Required).map_err(|e| at(line, e))?;
            write_venue(conn, &valid, existing.as_ref().map(|row| &row.id)).map_err(|e| at(line, e))?;
            if existing.is_some() {
                report.updated += 1;
            } else {
                report.created += 1;
            }
        }
        Ok(report)
    })
}
