//! Certification référentiel: certifications (RS5142 « Piloter un tiers-lieu »), their units (blocs)
//! and numbered competences, validity window and pass rules — all data, never code.
//!
//! Issuing, numbering and verifying certificates build on this module: [`eligibility`] (who may
//! be certified and why not), [`jury`] (procès-verbal), [`identity`] (registry identity), [`keys`] (the signing key, outside the
//! database), [`credential`] (Open Badges 3.0 VC-JWT), [`issuing`] (numbers, codes, PDFs) and
//! [`registry`] (list, revoke, verify, public view).

pub mod credential;
pub mod eligibility;
pub mod identity;
pub mod issuing;
pub mod jury;
pub mod keys;
pub mod registry;
pub mod status_list;

use chrono::NaiveDate;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::db::ids::{CertificationId, CompetenceId, UnitId};
use crate::db::schema::{certification_units, certifications, competences};
use crate::db::{self, DbConn, DbError};
use crate::{Classify, ErrorKind};

/// Errors of référentiel use cases.
#[derive(Debug, thiserror::Error)]
pub enum CertificationError {
    /// The référentiel file or input is malformed.
    #[error("référentiel invalide : {0}")]
    Invalid(String),
    /// No certification with that code.
    #[error("certification inconnue : « {0} »")]
    UnknownCertification(String),
    /// Storage failure.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl Classify for CertificationError {
    fn kind(&self) -> ErrorKind {
        match self {
            CertificationError::Invalid(_) => ErrorKind::Invalid,
            CertificationError::UnknownCertification(_) => ErrorKind::NotFound,
            CertificationError::Db(e) => e.kind(),
        }
    }
    fn code(&self) -> &'static str {
        match self {
            CertificationError::Invalid(_) => "invalid_referentiel",
            CertificationError::UnknownCertification(_) => "unknown_certification",
            CertificationError::Db(e) => e.code(),
        }
    }
}

/// A référentiel file (`fixtures/referentiel/*.toml`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReferentielFile {
    /// The certification itself.
    pub certification: CertificationSpec,
    /// Its units, in order.
    #[serde(rename = "unit")]
    pub units: Vec<UnitSpec>,
}

/// Certification fields of a référentiel file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertificationSpec {
    /// `RS` or `RNCP`.
    pub registry: String,
    /// Registry code (`RS5142`).
    pub code: String,
    /// Title.
    pub title: String,
    /// Certifier's name.
    pub certifier: String,
    /// NSF codes.
    pub nsf_codes: Vec<String>,
    /// Formacodes.
    pub formacodes: Vec<String>,
    /// First day awards may be dated (YYYY-MM-DD).
    pub valid_from: Option<String>,
    /// Last day awards may be dated (YYYY-MM-DD).
    pub valid_until: Option<String>,
    /// Minimum share of scheduled hours attended.
    pub min_attendance_percent: i32,
    /// How units combine into the certification.
    pub pass_rule: String,
    /// How competences combine into a unit.
    pub unit_rule: String,
    /// Evaluation modalities, as published.
    pub evaluation_modalities: String,
}

/// A unit of a référentiel file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnitSpec {
    /// Number (1, 2…).
    pub number: i32,
    /// Title.
    pub title: String,
    /// True while the wording awaits checking against the official sheet.
    pub provisional_wording: bool,
    /// Competences, in order.
    #[serde(rename = "competence")]
    pub competences: Vec<CompetenceSpec>,
}

/// A competence of a référentiel file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompetenceSpec {
    /// Number within the référentiel (`1.3`).
    pub code: String,
    /// Wording.
    pub label: String,
    /// True while the wording awaits checking.
    pub provisional_wording: bool,
}

fn parse_date(field: &str, raw: &Option<String>) -> Result<Option<NaiveDate>, CertificationError> {
    raw.as_deref()
        .map(|s| {
            NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map_err(|_| CertificationError::Invalid(format!("{field} : date invalide « {s} »")))
        })
        .transpose()
}

impl ReferentielFile {
    /// Parses and checks a référentiel written in TOML.
    pub fn parse(toml_text: &str) -> Result<Self, CertificationError> {
        let file: ReferentielFile =
            toml::from_str(toml_text).map_err(|e| CertificationError::Invalid(e.message().to_owned()))?;
        file.validate()?;
        Ok(file)
    }

    fn validate(&self) -> Result<(), CertificationError> {
        let c = &self.certification;
        if !matches!(c.registry.as_str(), "RS" | "RNCP") {
            return Err(CertificationError::Invalid(format!("registre inconnu « {} »", c.registry)));
        }
        if c.pass_rule != "all_units" || c.unit_rule != "all_competences_acquired" {
            return Err(CertificationError::Invalid("règle de validation non prise en charge".into()));
        }
        if !(0..=100).contains(&c.min_attendance_percent) {
            return Err(CertificationError::Invalid("assiduité minimale hors de 0–100 %".into()));
        }
        let from = parse_date("valid_from", &c.valid_from)?;
        let until = parse_date("valid_until", &c.valid_until)?;
        if let (Some(from), Some(until)) = (from, until)
            && until < from
        {
            return Err(CertificationError::Invalid("valid_until précède valid_from".into()));
        }
        if self.units.is_empty() {
            return Err(CertificationError::Invalid("aucune unité".into()));
        }
        let mut codes = std::collections::HashSet::new();
        for unit in &self.units {
            if unit.competences.is_empty() {
                return Err(CertificationError::Invalid(format!("l'unité {} n'a aucune compétence", unit.number)));
            }
            for competence in &unit.competences {
                if !competence.code.starts_with(&format!("{}.", unit.number)) {
                    return Err(CertificationError::Invalid(format!(
                        "la compétence {} n'appartient pas à l'unité {}",
                        competence.code, unit.number
                    )));
                }
                if !codes.insert(competence.code.clone()) {
                    return Err(CertificationError::Invalid(format!("compétence en double : {}", competence.code)));
                }
            }
        }
        Ok(())
    }
}

/// A certification as stored (row type).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = certifications)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct CertificationRow {
    /// Identifier.
    pub id: CertificationId,
    /// `RS` or `RNCP`.
    pub registry: String,
    /// Registry code.
    pub code: String,
    /// Title.
    pub title: String,
    /// Certifier.
    pub certifier: String,
    /// Comma-separated NSF codes.
    pub nsf_codes: String,
    /// Comma-separated Formacodes.
    pub formacodes: String,
    /// First valid award date.
    pub valid_from: Option<NaiveDate>,
    /// Last valid award date.
    pub valid_until: Option<NaiveDate>,
    /// Minimum attendance, percent of scheduled hours.
    pub min_attendance_percent: i32,
    /// Pass rule.
    pub pass_rule: String,
    /// Unit rule.
    pub unit_rule: String,
    /// Evaluation modalities.
    pub evaluation_modalities: String,
}

/// A unit with its competences, for grids, eligibility and documents.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct UnitView {
    /// Identifier.
    pub id: UnitId,
    /// Number.
    pub number: i32,
    /// Title.
    pub title: String,
    /// Wording awaiting confirmation.
    pub provisional_wording: bool,
    /// Competences in order.
    pub competences: Vec<CompetenceView>,
}

/// A numbered competence.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CompetenceView {
    /// Identifier.
    pub id: CompetenceId,
    /// Number (`1.3`).
    pub code: String,
    /// Wording.
    pub label: String,
    /// Wording awaiting confirmation.
    pub provisional_wording: bool,
}

/// Stores a référentiel unless a certification with the same code exists (idempotent).
/// Returns true when it was inserted.
pub(crate) fn insert_referentiel_if_absent(
    conn: &mut DbConn,
    file: &ReferentielFile,
) -> Result<bool, CertificationError> {
    let c = &file.certification;
    if find_certification(conn, &c.code)?.is_some() {
        return Ok(false);
    }
    let id = CertificationId::generate();
    diesel::insert_into(certifications::table)
        .values((
            certifications::id.eq(&id),
            certifications::registry.eq(&c.registry),
            certifications::code.eq(&c.code),
            certifications::title.eq(&c.title),
            certifications::certifier.eq(&c.certifier),
            certifications::nsf_codes.eq(c.nsf_codes.join(",")),
            certifications::formacodes.eq(c.formacodes.join(",")),
            certifications::valid_from.eq(parse_date("valid_from", &c.valid_from)?),
            certifications::valid_until.eq(parse_date("valid_until", &c.valid_until)?),
            certifications::min_attendance_percent.eq(c.min_attendance_percent),
            certifications::pass_rule.eq(&c.pass_rule),
            certifications::unit_rule.eq(&c.unit_rule),
            certifications::evaluation_modalities.eq(&c.evaluation_modalities),
            certifications::created_at.eq(db::now()),
        ))
        .execute(conn)
        .map_err(DbError::from)?;
    for unit in &file.units {
        let unit_id = UnitId::generate();
        diesel::insert_into(certification_units::table)
            .values((
                certification_units::id.eq(&unit_id),
                certification_units::certification_id.eq(&id),
                certification_units::number.eq(unit.number),
                certification_units::title.eq(&unit.title),
                certification_units::provisional_wording.eq(unit.provisional_wording),
            ))
            .execute(conn)
            .map_err(DbError::from)?;
        for (position, competence) in (0_i32..).zip(&unit.competences) {
            diesel::insert_into(competences::table)
                .values((
                    competences::id.eq(CompetenceId::generate()),
                    competences::unit_id.eq(&unit_id),
                    competences::code.eq(&competence.code),
                    competences::label.eq(&competence.label),
                    competences::provisional_wording.eq(competence.provisional_wording),
                    competences::position.eq(position),
                ))
                .execute(conn)
                .map_err(DbError::from)?;
        }
    }
    Ok(true)
}

/// A certification by registry code.
pub fn find_certification(conn: &mut DbConn, code: &str) -> Result<Option<CertificationRow>, DbError> {
    certifications::table
        .filter(certifications::code.eq(code))
        .select(CertificationRow::as_select())
        .first(conn)
        .optional()
        .map_err(DbError::from)
}

/// A competence with its unit (the columns selected in [`units_of`], in order).
#[derive(Debug, Queryable)]
struct UnitCompetenceRow {
    unit_id: UnitId,
    number: i32,
    title: String,
    unit_provisional: bool,
    competence_id: CompetenceId,
    code: String,
    label: String,
    competence_provisional: bool,
}

/// The units and competences of a certification, in référentiel order.
pub fn units_of(conn: &mut DbConn, certification: &CertificationId) -> Result<Vec<UnitView>, DbError> {
    let rows: Vec<UnitCompetenceRow> = certification_units::table
        .inner_join(competences::table)
        .filter(certification_units::certification_id.eq(certification))
        .order((certification_units::number.asc(), competences::position.asc()))
        .select((
            certification_units::id,
            certification_units::number,
            certification_units::title,
            certification_units::provisional_wording,
            competences::id,
            competences::code,
            competences::label,
            competences::provisional_wording,
        ))
        .load(conn)?;
    let mut units: Vec<UnitView> = Vec::new();
    for row in rows {
        if units.last().is_none_or(|u| u.id != row.unit_id) {
            units.push(UnitView {
                id: row.unit_id,
                number: row.number,
                title: row.title,
                provisional_wording: row.unit_provisional,
                competences: vec![],
            });
        }
        if let Some(unit) = units.last_mut() {
            unit.competences.push(CompetenceView {
                id: row.competence_id,
                code: row.code,
                label: row.label,
                provisional_wording: row.competence_provisional,
            });
        }
    }
    Ok(units)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rs5142_referentiel_parses_with_four_units() {
        let file = ReferentielFile::parse(crate::fixtures::RS5142_TOML);
        let file = match file {
            Ok(f) => f,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(file.certification.code, "RS5142");
        assert_eq!(file.units.len(), 4);
        assert!(!file.units[0].provisional_wording);
        assert!(file.units[1..].iter().all(|u| u.provisional_wording));
        assert_eq!(file.units.iter().map(|u| u.competences.len()).sum::<usize>(), 19);
    }

    #[test]
    fn malformed_referentiels_are_refused() {
        let good = crate::fixtures::RS5142_TOML;
        assert!(ReferentielFile::parse(&good.replace("registry = \"RS\"", "registry = \"XX\"")).is_err());
        assert!(ReferentielFile::parse(&good.replace("code = \"1.2\"", "code = \"2.9\"")).is_err());
        assert!(
            ReferentielFile::parse(&good.replace("valid_until = \"2027-12-31\"", "valid_until = \"2019-01-01\""))
                .is_err()
        );
        assert!(ReferentielFile::parse("not toml [").is_err());
    }
}
