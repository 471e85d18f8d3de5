//! The offer in LHEO 2.3 (namespace `http://lheo.gouv.fr/2.3`), so regional catalogues (Carif-Oref)
//! can list our sessions: one `formation` per course, one `action` per published or finished
//! training session with its `session` period and every hosting tiers-lieu as a
//! `lieu-de-formation` (INSEE code and coordinates), and the organisation responsible.
//!
//! The organisation's identity comes from settings (`organisation.name`, `.siret`, `.nda`,
//! `.address`, `.postcode`, `.city`, `.email`, `.phone`); missing ones are all listed.

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
    let get = |key: SettingKey| setting.get(&key).cloned().unwrap_or_default();
    let stamp = now.format("%Y%m%dT%H%M%S").to_string();

    let mut xml = XmlOut::new();
    xml.open_with("lheo", &[("xmlns", NAMESPACE), ("horodatage-export", &stamp)]);
    xml.open("offres");
    let mut session_count = 0;
    for course in &all_courses {
        let certification = course.certification_id.as_ref().and_then(|id| codes.get(id));
        xml.open_with("formation", &[("numero", &course.code)]);
        xml.open("domaine-formation");
        xml.leaf_with("code-FORMACODE", &[("ref", "V13")], &course.formacode);
        xml.leaf("code-NSF", &course.nsf_code);
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
            xml.leaf("code-public-vise", "0");
            xml.leaf("niveau-entree-obligatoire", "0");
            xml.leaf("modalites-alternance", "Sans objet");
            xml.leaf("modalites-enseignement", "0");
            xml.leaf("conditions-specifiques", &list(&course.code, "prérequis", &course.prerequisites)?);
            xml.leaf("prise-en-charge-frais-possible", "1");
            for PlaceRow { name, address, postcode, city, insee, departement, region, lat, lon, .. } in
                places_of.get(id).map(Vec::as_slice).unwrap_or_default()
            {
                xml.open("lieu-de-formation");
                xml.open("coordonnees");
                xml.leaf("nom", name);
                xml.open("adresse");
                xml.leaf("denomination", name);
                xml.leaf("ligne", address.as_deref().unwrap_or(city));
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
            xml.leaf("ligne", &get(SettingKey::Address));
            xml.leaf("codepostal", &get(SettingKey::Postcode));
            xml.leaf("ville", &get(SettingKey::City));
            xml.close("adresse");
            xml.close("adresse-inscription");
            xml.close("session");
            xml.leaf("nombre-heures-total", &(course.duration_minutes / 60).to_string());
            xml.leaf("prix-total-TTC", &format!("{}.{:02}", course.price_cents / 100, course.price_cents % 100));
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
        xml.leaf("ligne", &get(SettingKey::Address));
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
