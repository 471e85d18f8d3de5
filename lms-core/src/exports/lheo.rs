//! The offer in LHEO 2.3 (namespace `http://lheo.gouv.fr/2.3`), so regional catalogues (Carif-Oref)
//! can list our sessions: one `formation` per course, one `action` per published or finished
//! training session with its `session` period and every hosting tiers-lieu as a
//! `lieu-de-formation` (INSEE code and coordinates), and the organisation responsible.
//!
//! The organisation's identity comes from settings (`organisation.name`, `.siret`, `.nda`,
//! `.address`, `.postcode`, `.city`, `.email`, `.phone`); missing ones are all listed, and stored
//! values are checked again by [`organisation::validate_setting`] (the SIRET's check digit too).
//!
//! The file is written to validate against the official XSD (`../shared/standards/lheo-2.3.xsd`,
//! checked in the tests): element order, the lengths of each element (a value that does not fit is
//! listed as a problem rather than cut), a venue's street address on `ligne`s of 50 characters.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;

use super::{ExportError, XmlOut, commit_file, write_temporary};
use crate::catalogue::CourseRow;
use crate::db::ids::{CertificationId, TrainingSessionId};
use crate::db::schema::{certifications, communes, courses, half_days, training_sessions, venues};
use crate::db::{DbConn, DbError};
use crate::documents::organisation::{self, SettingKey};

/// LHEO 2.3 namespace.
pub const NAMESPACE: &str = "http://lheo.gouv.fr/2.3";
/// `code-public-vise`: « Tout public » (83056), a Formacode of the public, with the version of the
/// LHEO dictionary that lists it (`dict-public-vise-formacode-V10`).
pub const PUBLIC_VISE: (&str, &str) = ("83056", "V10");
/// The version of the Formacode the courses' `formacode` and `rome` codes are read in.
pub const FORMACODE_VERSION: &str = "V13";
/// The longest `ligne` of an address, and how many an address may have.
const LINE_MAX_CHARS: usize = 50;
const ADDRESS_MAX_LINES: usize = 4;
/// Settings the export needs (the representative is not sent).
pub const REQUIRED_SETTINGS: [SettingKey; 8] = [
    SettingKey::Name,
    SettingKey::Siret,
    SettingKey::Nda,
    SettingKey::Address,
    SettingKey::Postcode,
    SettingKey::City,
    SettingKey::Email,
    SettingKey::Phone,
];

/// Result of an LHEO export.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LheoExport {
    /// File written.
    pub file: String,
    /// Courses (`formation`).
    pub formations: usize,
    /// Training sessions (`action`/`session`).
    pub sessions: usize,
}

/// Where a certification is registered (`RS`, `RS5142`).
struct RegistryCode {
    registry: String,
    code: String,
}

/// A training session sent as an `action` (the columns selected in [`export_lheo`], in order).
#[derive(Debug, Queryable)]
struct SessionRow {
    id: TrainingSessionId,
    reference: String,
    starts_on: NaiveDate,
    ends_on: NaiveDate,
    course_id: String,
}

/// A tiers-lieu hosting a session (the columns selected in [`export_lheo`], in order).
#[derive(Debug, Queryable)]
struct PlaceRow {
    session: TrainingSessionId,
    name: String,
    address: Option<String>,
    postcode: Option<String>,
    city: String,
    insee: String,
    departement: String,
    region: String,
    lat: f64,
    lon: f64,
}

/// A text cut into address lines of at most [`LINE_MAX_CHARS`] characters, at word boundaries;
/// `None` when it needs more than `max_lines` or a single word is longer than a line.
fn address_lines(text: &str, max_lines: usize) -> Option<Vec<String>> {
    let mut lines: Vec<String> = Vec::new();
    for word in text.split_whitespace() {
        if word.chars().count() > LINE_MAX_CHARS {
            return None;
        }
        match lines.last_mut() {
            Some(line) if line.chars().count() + 1 + word.chars().count() <= LINE_MAX_CHARS => {
                line.push(' ');
                line.push_str(word);
            }
            _ => lines.push(word.to_owned()),
        }
    }
    (!lines.is_empty() && lines.len() <= max_lines).then_some(lines)
}

/// A price in euros with two decimals (`350.00`).
fn price(cents: i64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

/// Records a problem when `value` is empty or longer than the XSD allows for `element`.
fn check_fits(problems: &mut Vec<String>, whose: &str, element: &str, value: &str, max_chars: usize) {
    let length = value.chars().count();
    if length == 0 {
        problems.push(format!("{whose} : {element} vide"));
    } else if length > max_chars {
        problems.push(format!("{whose} : {element} dépasse {max_chars} caractères ({length})"));
    }
}

/// A course's list stored as JSON text (objectives, content, prerequisites), joined for LHEO.
fn list(course: &str, what: &str, json: &str) -> Result<String, ExportError> {
    serde_json::from_str::<Vec<String>>(json)
        .map(|items| items.join(" — "))
        .map_err(|e| ExportError::Corrupt(format!("formation {course}, {what} : {e}")))
}

/// Writes the offer to `out`.
pub fn export_lheo(conn: &mut DbConn, out: &Path, now: NaiveDateTime) -> Result<LheoExport, ExportError> {
    let setting = organisation::all_settings(conn)?;
    let mut problems = Vec::new();
    for key in REQUIRED_SETTINGS {
        match setting.get(&key) {
            None => problems.push(format!("réglage {key} ({}) manquant", key.label_fr())),
            // A value stored before the rule existed (or by hand) is checked again, by the same rule.
            Some(value) => {
                if let Err(error) = organisation::validate_setting(key, value) {
                    problems.push(error.to_string());
                }
            }
        }
    }
    let all_courses: Vec<CourseRow> =
        // Archived courses (and their sessions) are no longer offered.
        courses::table
            .filter(courses::archived_at.is_null())
            .order(courses::code.asc())
            .select(CourseRow::as_select())
            .load(conn)
            .map_err(DbError::from)?;
    if all_courses.is_empty() {
        problems.push("aucune formation au catalogue".into());
    }
    if !problems.is_empty() {
        return Err(ExportError::Refused(problems));
    }
    let get = |key: SettingKey| setting.get(&key).cloned().unwrap_or_default();
    let organisation_lines = address_lines(&get(SettingKey::Address), ADDRESS_MAX_LINES).unwrap_or_else(|| {
        problems.push(format!("{} : adresse trop longue pour 4 lignes de 50 caractères", SettingKey::Address));
        Vec::new()
    });
    check_fits(&mut problems, "organisme", "ville", &get(SettingKey::City), 50);
    check_fits(&mut problems, "organisme", "numtel", &get(SettingKey::Phone), 25);
    check_fits(&mut problems, "organisme", "courriel", &get(SettingKey::Email), 160);
    check_fits(&mut problems, "organisme", "raison-sociale", &get(SettingKey::Name), 250);
    for course in &all_courses {
        let whose = format!("formation {}", course.code);
        check_fits(&mut problems, &whose, "intitule-formation", &course.title, 255);
        check_fits(
            &mut problems,
            &whose,
            "objectif-formation",
            &list(&course.code, "objectifs", &course.objectives)?,
            3000,
        );
        check_fits(&mut problems, &whose, "resultats-attendus", &course.evaluation_modalities, 3000);
        check_fits(&mut problems, &whose, "contenu-formation", &list(&course.code, "contenu", &course.content)?, 3000);
        check_fits(&mut problems, &whose, "rythme-formation", &course.modalities, 3000);
        check_fits(
            &mut problems,
            &whose,
            "conditions-specifiques",
            &list(&course.code, "prérequis", &course.prerequisites)?,
            3000,
        );
        check_fits(&mut problems, &whose, "prix-total-TTC", &price(course.price_cents), 10);
        if course.nsf_code.len() < 3 || !course.nsf_code.is_char_boundary(3) {
            problems.push(format!("{whose} : code NSF « {} » illisible", course.nsf_code));
        }
    }
    let codes: BTreeMap<CertificationId, RegistryCode> = certifications::table
        .select((certifications::id, certifications::registry, certifications::code))
        .load::<(CertificationId, String, String)>(conn)
        .map_err(DbError::from)?
        .into_iter()
        .map(|(id, registry, code)| (id, RegistryCode { registry, code }))
        .collect();
    let sessions: Vec<SessionRow> = training_sessions::table
        .filter(training_sessions::status.eq_any(crate::catalogue::TrainingSessionStatus::PUBLIC))
        .filter(training_sessions::course_id.eq_any(all_courses.iter().map(|c| c.id.clone()).collect::<Vec<_>>()))
        .order((training_sessions::starts_on.asc(), training_sessions::reference.asc()))
        .select((
            training_sessions::id,
            training_sessions::reference,
            training_sessions::starts_on,
            training_sessions::ends_on,
            training_sessions::course_id,
        ))
        .load(conn)
        .map_err(DbError::from)?;
    let places: Vec<PlaceRow> = half_days::table
        .inner_join(venues::table.inner_join(communes::table))
        .filter(half_days::training_session_id.eq_any(sessions.iter().map(|s| s.id.clone()).collect::<Vec<_>>()))
        .select((
            half_days::training_session_id,
            venues::name,
            venues::address,
            venues::postcode,
            communes::name,
            communes::insee,
            communes::departement,
            communes::region,
            venues::lat,
            venues::lon,
        ))
        .distinct()
        .load(conn)
        .map_err(DbError::from)?;
    let mut places_of: BTreeMap<TrainingSessionId, Vec<PlaceRow>> = BTreeMap::new();
    for place in places {
        places_of.entry(place.session.clone()).or_default().push(place);
    }
    // DISTINCT leaves the order to the database: the same file on every backend.
    for list in places_of.values_mut() {
        list.sort_by(|a, b| (&a.name, &a.insee).cmp(&(&b.name, &b.insee)));
    }
    let mut place_lines: BTreeMap<(&str, &str), Vec<String>> = BTreeMap::new();
    for place in places_of.values().flatten() {
        let whose = format!("lieu {}", place.name);
        // A venue without a known street is found by its name in its commune.
        let street = place.address.as_deref().map(str::trim).filter(|a| !a.is_empty()).unwrap_or(&place.name);
        match address_lines(street, ADDRESS_MAX_LINES) {
            Some(lines) => {
                place_lines.insert((&place.name, &place.insee), lines);
            }
            None => problems.push(format!("{whose} : adresse trop longue pour 4 lignes de 50 caractères")),
        }
        check_fits(&mut problems, &whose, "ville", &place.city, 50);
        check_fits(&mut problems, &whose, "denomination", &place.name, 255);
        if place.postcode.as_deref().is_none_or(|p| p.len() != 5) {
            problems.push(format!("{whose} : code postal manquant ou hors format (5 chiffres)"));
        }
    }
    if !problems.is_empty() {
        // A venue hosting several sessions is named once.
        let mut seen = std::collections::HashSet::new();
        problems.retain(|problem| seen.insert(problem.clone()));
        return Err(ExportError::Refused(problems));
    }
    // xs:dateTime, in UTC.
    let stamp = now.and_utc().format("%Y-%m-%dT%H:%M:%SZ").to_string();

    let mut xml = XmlOut::new();
    xml.open_with("lheo", &[("xmlns", NAMESPACE), ("horodatage-export", &stamp)]);
    xml.open("offres");
    let mut session_count = 0;
    for course in &all_courses {
        let certification = course.certification_id.as_ref().and_then(|id| codes.get(id));
        xml.open_with("formation", &[("numero", &course.code)]);
        xml.open("domaine-formation");
        xml.leaf_with("code-FORMACODE", &[("ref", FORMACODE_VERSION)], &course.formacode);
        // LHEO takes the NSF group (`341`); the letter (`p`) is the field of the speciality.
        xml.leaf("code-NSF", course.nsf_code.get(..3).unwrap_or_default());
        for rome in course.rome_codes.0.iter().filter(|code| code.chars().count() == 5).take(5) {
            xml.leaf("code-ROME", rome);
        }
        xml.close("domaine-formation");
        xml.leaf("intitule-formation", &course.title);
        xml.leaf("objectif-formation", &list(&course.code, "objectifs", &course.objectives)?);
        xml.leaf("resultats-attendus", &course.evaluation_modalities);
        xml.leaf("contenu-formation", &list(&course.code, "contenu", &course.content)?);
        xml.leaf("certifiante", if certification.is_some() { "1" } else { "0" });
        xml.open("contact-formation");
        xml.open("coordonnees");
        xml.open("telfixe");
        xml.leaf("numtel", &get(SettingKey::Phone));
        xml.close("telfixe");
        xml.leaf("courriel", &get(SettingKey::Email));
        xml.close("coordonnees");
        xml.close("contact-formation");
        xml.leaf("parcours-de-formation", "1");
        xml.leaf("code-niveau-entree", "0");
        if let Some(RegistryCode { registry, code }) = certification {
            xml.open("certification");
            if registry == "RS" {
                xml.leaf("code-RS", code.trim_start_matches("RS"));
            } else {
                xml.leaf("code-RNCP", code.trim_start_matches("RNCP"));
            }
            xml.close("certification");
        }
        for SessionRow { id, reference, starts_on, ends_on, .. } in
            sessions.iter().filter(|s| s.course_id == course.id.as_str())
        {
            session_count += 1;
            xml.open_with("action", &[("numero", reference)]);
            xml.leaf("rythme-formation", &course.modalities);
            xml.leaf_with("code-public-vise", &[("ref", PUBLIC_VISE.1)], PUBLIC_VISE.0);
            xml.leaf("niveau-entree-obligatoire", "0");
            xml.leaf("modalites-alternance", "Sans objet");
            xml.leaf("modalites-enseignement", "0");
            xml.leaf("conditions-specifiques", &list(&course.code, "prérequis", &course.prerequisites)?);
            xml.leaf("prise-en-charge-frais-possible", "1");
            for PlaceRow { name, postcode, city, insee, departement, region, lat, lon, .. } in
                places_of.get(id).map(Vec::as_slice).unwrap_or_default()
            {
                xml.open("lieu-de-formation");
                xml.open("coordonnees");
                // `nom` is optional and takes 50 characters; `denomination` always has the whole name.
                if name.chars().count() <= 50 {
                    xml.leaf("nom", name);
                }
                xml.open("adresse");
                xml.leaf("denomination", name);
                for line in place_lines.get(&(name.as_str(), insee.as_str())).map(Vec::as_slice).unwrap_or_default() {
                    xml.leaf("ligne", line);
                }
                xml.leaf("codepostal", postcode.as_deref().unwrap_or_default());
                xml.leaf("ville", city);
                xml.leaf("departement", departement);
                xml.leaf("code-INSEE-commune", insee);
                xml.leaf("region", region);
                xml.leaf("pays", "FR");
                xml.open("geolocalisation");
                xml.leaf("latitude", &format!("{lat:.6}"));
                xml.leaf("longitude", &format!("{lon:.6}"));
                xml.close("geolocalisation");
                xml.close("adresse");
                xml.close("coordonnees");
                xml.close("lieu-de-formation");
            }
            xml.leaf("modalites-entrees-sorties", "0");
            xml.open_with("session", &[("numero", reference)]);
            xml.open("periode");
            xml.leaf("debut", &starts_on.format("%Y%m%d").to_string());
            xml.leaf("fin", &ends_on.format("%Y%m%d").to_string());
            xml.close("periode");
            xml.open("adresse-inscription");
            xml.open("adresse");
            for line in &organisation_lines {
                xml.leaf("ligne", line);
            }
            xml.leaf("codepostal", &get(SettingKey::Postcode));
            xml.leaf("ville", &get(SettingKey::City));
            xml.close("adresse");
            xml.close("adresse-inscription");
            xml.close("session");
            xml.leaf("prix-total-TTC", &price(course.price_cents));
            xml.leaf("nombre-heures-total", &(course.duration_minutes / 60).to_string());
            xml.close("action");
        }
        xml.open_with("organisme-formation-responsable", &[("numero", &get(SettingKey::Siret))]);
        xml.leaf("numero-activite", &get(SettingKey::Nda));
        xml.open("SIRET-organisme-formation");
        xml.leaf("SIRET", &get(SettingKey::Siret));
        xml.close("SIRET-organisme-formation");
        xml.leaf("nom-organisme", &get(SettingKey::Name));
        xml.leaf("raison-sociale", &get(SettingKey::Name));
        xml.open("coordonnees-organisme");
        xml.open("coordonnees");
        xml.open("adresse");
        for line in &organisation_lines {
            xml.leaf("ligne", line);
        }
        xml.leaf("codepostal", &get(SettingKey::Postcode));
        xml.leaf("ville", &get(SettingKey::City));
        xml.close("adresse");
        xml.close("coordonnees");
        xml.close("coordonnees-organisme");
        xml.open("contact-organisme");
        xml.open("coordonnees");
        xml.leaf("courriel", &get(SettingKey::Email));
        xml.close("coordonnees");
        xml.close("contact-organisme");
        xml.close("organisme-formation-responsable");
        xml.close("formation");
    }
    xml.close("offres");
    xml.close("lheo");
    let bytes = xml.finish();
    let temporary = write_temporary(out, &bytes)?;
    commit_file(&temporary, out)?;
    Ok(LheoExport { file: out.display().to_string(), formations: all_courses.len(), sessions: session_count })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_cut_into_lines_of_50_characters_at_word_boundaries() {
        assert_eq!(address_lines("27 Rue Grosse Horloge", 4), Some(vec!["27 Rue Grosse Horloge".to_owned()]));
        let long = "Zone artisanale des Grands Champs, bâtiment C, entrée par la cour de l'ancienne laiterie";
        let lines = address_lines(long, 4).unwrap_or_default();
        assert_eq!(lines.len(), 2);
        assert!(lines.iter().all(|line| line.chars().count() <= LINE_MAX_CHARS), "{lines:?}");
        assert_eq!(lines.join(" "), long);
        assert_eq!(address_lines(&"mot ".repeat(60), 4), None);
        assert_eq!(address_lines(&"x".repeat(51), 4), None);
        assert_eq!(address_lines("  ", 4), None);
        assert_eq!(price(35_000), "350.00");
        assert_eq!(price(1_205), "12.05");
    }
}
