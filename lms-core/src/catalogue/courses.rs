//! Courses: the offer as published.

use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use super::CatalogueError;
use crate::db::ids::{CertificationId, CourseId};
use crate::db::schema::{certifications, courses};
use crate::db::{self, DbConn, DbError};

/// A course as written in `fixtures/demo/courses.toml` (and accepted by future imports).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CourseSpec {
    /// Short unique code (`PTL`).
    pub code: String,
    /// Title.
    pub title: String,
    /// One or two sentences.
    pub summary: String,
    /// Operational objectives.
    pub objectives: Vec<String>,
    /// Prerequisites.
    pub prerequisites: Vec<String>,
    /// Who it is for.
    pub public: String,
    /// Content, by block.
    pub content: Vec<String>,
    /// Days of training.
    pub duration_days: i32,
    /// Hours of training.
    pub duration_hours: i32,
    /// How it is delivered.
    pub modalities: String,
    /// Price per trainee, in euro cents.
    pub price_cents: i64,
    /// VAT status and funding notes.
    pub pricing_note: String,
    /// Accessibility statement.
    pub accessibility: String,
    /// How learning is assessed.
    pub evaluation_modalities: String,
    /// Certification prepared, by registry code.
    #[serde(default)]
    pub certification: Option<String>,
    /// NSF speciality code.
    pub nsf_code: String,
    /// Formacode.
    pub formacode: String,
    /// Nature for the certificat de réalisation.
    pub nature: String,
    /// BPF F-3 objective category.
    pub objective_category: String,
    /// Module names labelling half-days, in teaching order.
    pub modules: Vec<String>,
}

/// A course file: `[[course]]` entries.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CourseFile {
    /// The courses.
    #[serde(rename = "course")]
    pub courses: Vec<CourseSpec>,
}

impl CourseFile {
    /// Parses and checks a course file.
    pub fn parse(toml_text: &str) -> Result<Self, CatalogueError> {
        let file: CourseFile = toml::from_str(toml_text)
            .map_err(|e| CatalogueError::Invalid(format!("fichier de formations : {}", e.message())))?;
        for course in &file.courses {
            course.validate()?;
        }
        Ok(file)
    }
}

impl CourseSpec {
    fn validate(&self) -> Result<(), CatalogueError> {
        let bad = |what: &str| Err(CatalogueError::Invalid(format!("formation {} : {what}", self.code)));
        if self.code.is_empty() || !self.code.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()) {
            return bad("code invalide (majuscules et chiffres)");
        }
        if self.duration_days <= 0 || self.duration_hours <= 0 || self.price_cents < 0 {
            return bad("durée ou tarif invalide");
        }
        if !matches!(self.nature.as_str(), "action_formation" | "bilan" | "vae" | "apprentissage") {
            return bad("nature inconnue");
        }
        if !matches!(self.objective_category.as_str(), "rncp" | "rs" | "cqp" | "other") {
            return bad("catégorie d'objectif inconnue");
        }
        if self.modules.is_empty() {
            return bad("aucun module");
        }
        Ok(())
    }
}

/// A course as stored (row type).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = courses)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct CourseRow {
    /// Identifier.
    pub id: CourseId,
    /// Code.
    pub code: String,
    /// Title.
    pub title: String,
    /// Summary.
    pub summary: String,
    /// JSON array of objectives.
    pub objectives: String,
    /// JSON array of prerequisites.
    pub prerequisites: String,
    /// Audience.
    pub audience: String,
    /// JSON array of content blocks.
    pub content: String,
    /// JSON array of module names.
    pub modules: String,
    /// Days.
    pub duration_days: i32,
    /// Minutes.
    pub duration_minutes: i64,
    /// Modalities.
    pub modalities: String,
    /// Price in cents.
    pub price_cents: i64,
    /// Pricing note.
    pub pricing_note: String,
    /// Accessibility statement.
    pub accessibility: String,
    /// Evaluation modalities.
    pub evaluation_modalities: String,
    /// Certification prepared.
    pub certification_id: Option<CertificationId>,
    /// NSF code.
    pub nsf_code: String,
    /// Formacode.
    pub formacode: String,
    /// Nature.
    pub nature: String,
    /// BPF objective category.
    pub objective_category: String,
}

/// A course as shown to scripts, the API and pages (`lms course list --json`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CourseView {
    /// Identifier.
    pub id: CourseId,
    /// Code.
    pub code: String,
    /// Title.
    pub title: String,
    /// Summary.
    pub summary: String,
    /// Objectives.
    pub objectives: Vec<String>,
    /// Prerequisites.
    pub prerequisites: Vec<String>,
    /// Audience.
    pub audience: String,
    /// Content blocks.
    pub content: Vec<String>,
    /// Module names.
    pub modules: Vec<String>,
    /// Days.
    pub duration_days: i32,
    /// Hours (may be fractional).
    pub duration_hours: f64,
    /// Modalities.
    pub modalities: String,
    /// Price per trainee in cents.
    pub price_cents: i64,
    /// Pricing note.
    pub pricing_note: String,
    /// Accessibility statement.
    pub accessibility: String,
    /// Evaluation modalities.
    pub evaluation_modalities: String,
    /// Registry code of the certification prepared.
    pub certification: Option<String>,
    /// NSF code.
    pub nsf_code: String,
    /// Formacode.
    pub formacode: String,
    /// Nature.
    pub nature: String,
    /// BPF objective category.
    pub objective_category: String,
}

/// A list stored as a JSON array of strings; anything else is corrupt data, refused loudly.
pub(crate) fn json_list(code: &str, field: &'static str, raw: &str) -> Result<Vec<String>, CatalogueError> {
    serde_json::from_str(raw).map_err(|cause| CatalogueError::CorruptData {
        what: format!("formation {code}, champ {field}"),
        cause: cause.to_string(),
    })
}

impl CourseView {
    pub(crate) fn from_row(row: CourseRow, certification: Option<String>) -> Result<Self, CatalogueError> {
        Ok(CourseView {
            objectives: json_list(&row.code, "objectives", &row.objectives)?,
            prerequisites: json_list(&row.code, "prerequisites", &row.prerequisites)?,
            content: json_list(&row.code, "content", &row.content)?,
            modules: json_list(&row.code, "modules", &row.modules)?,
            duration_hours: row.duration_minutes as f64 / 60.0,
            id: row.id,
            code: row.code,
            title: row.title,
            summary: row.summary,
            audience: row.audience,
            duration_days: row.duration_days,
            modalities: row.modalities,
            price_cents: row.price_cents,
            pricing_note: row.pricing_note,
            accessibility: row.accessibility,
            evaluation_modalities: row.evaluation_modalities,
            certification,
            nsf_code: row.nsf_code,
            formacode: row.formacode,
            nature: row.nature,
            objective_category: row.objective_category,
        })
    }
}

/// Every course, by code.
pub fn list_courses(conn: &mut DbConn) -> Result<Vec<CourseView>, CatalogueError> {
    let rows: Vec<(CourseRow, Option<String>)> = courses::table
        .left_join(certifications::table)
        .select((CourseRow::as_select(), certifications::code.nullable()))
        .order(courses::code.asc())
        .load(conn)
        .map_err(DbError::from)?;
    rows.into_iter().map(|(row, cert)| CourseView::from_row(row, cert)).collect()
}

/// One course by code.
pub fn find_course(conn: &mut DbConn, code: &str) -> Result<CourseView, CatalogueError> {
    // Text that cannot be a code names no course (and never reaches the database: PostgreSQL
    // refuses to compare text holding NUL).
    if !is_course_code(code.trim()) {
        return Err(CatalogueError::UnknownCourse(code.chars().filter(|c| !c.is_control()).take(40).collect()));
    }
    courses::table
        .left_join(certifications::table)
        .filter(courses::code.eq(code.trim().to_uppercase()))
        .select((CourseRow::as_select(), certifications::code.nullable()))
        .first::<(CourseRow, Option<String>)>(conn)
        .optional()
        .map_err(DbError::from)?
        .map(|(row, cert)| CourseView::from_row(row, cert))
        .ok_or_else(|| CatalogueError::UnknownCourse(code.chars().take(40).collect()))?
}

/// Whether `code` has the shape of a course code: ASCII letters, digits, `-` and `_`, at most
/// [`super::search::MAX_COURSE_CODE_CHARS`] characters.
pub fn is_course_code(code: &str) -> bool {
    !code.is_empty()
        && code.chars().count() <= super::search::MAX_COURSE_CODE_CHARS
        && code.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Stores a course unless one with the same code exists. Returns true when inserted.
pub(crate) fn insert_course_if_absent(conn: &mut DbConn, spec: &CourseSpec) -> Result<bool, CatalogueError> {
    let exists: bool = diesel::select(diesel::dsl::exists(courses::table.filter(courses::code.eq(&spec.code))))
        .get_result(conn)
        .map_err(DbError::from)?;
    if exists {
        return Ok(false);
    }
    let certification_id = match &spec.certification {
        Some(code) => Some(
            crate::certification::find_certification(conn, code)?
                .ok_or_else(|| CatalogueError::Invalid(format!("certification inconnue « {code} »")))?
                .id,
        ),
        None => None,
    };
    let to_json = |list: &Vec<String>| serde_json::to_string(list).unwrap_or_else(|_| "[]".into());
    let now = db::now();
    diesel::insert_into(courses::table)
        .values((
            courses::id.eq(CourseId::generate()),
            courses::code.eq(&spec.code),
            courses::title.eq(&spec.title),
            courses::summary.eq(&spec.summary),
            courses::objectives.eq(to_json(&spec.objectives)),
            courses::prerequisites.eq(to_json(&spec.prerequisites)),
            courses::audience.eq(&spec.public),
            courses::content.eq(to_json(&spec.content)),
            courses::modules.eq(to_json(&spec.modules)),
            courses::duration_days.eq(spec.duration_days),
            courses::duration_minutes.eq(i64::from(spec.duration_hours) * 60),
            courses::modalities.eq(&spec.modalities),
            courses::price_cents.eq(spec.price_cents),
            courses::pricing_note.eq(&spec.pricing_note),
            courses::accessibility.eq(&spec.accessibility),
            courses::evaluation_modalities.eq(&spec.evaluation_modalities),
            courses::certification_id.eq(certification_id),
            courses::nsf_code.eq(&spec.nsf_code),
            courses::formacode.eq(&spec.formacode),
            courses::nature.eq(&spec.nature),
            courses::objective_category.eq(&spec.objective_category),
            courses::created_at.eq(now),
            courses::updated_at.eq(now),
        ))
        .execute(conn)
        .map_err(DbError::from)?;
    Ok(true)
}
