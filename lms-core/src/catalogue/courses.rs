//! Courses: the offer as published, its import format ([`CourseSpec`]) and its checks, archiving.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use super::CatalogueError;
use crate::db::ids::{CertificationId, CourseId, TrainingSessionId};
use crate::db::json_text::JsonText;
use crate::db::schema::{certifications, courses, training_sessions};
use crate::db::{self, DbConn, DbError};
use crate::rights::Actor;

crate::text_enum! {
    /// How a trainee gets a seat in a course's sessions.
    pub enum AdmissionMode: "mode d'admission" {
        /// Enrolment takes a seat (or a waitlist ticket) at once.
        Open = "open", "Inscription directe";
        /// Enrolment is a request, decided by an administrator after positioning.
        OnRequest = "on_request", "Sur demande, après positionnement";
    }
}

crate::text_enum! {
    /// Nature of the action (certificat de réalisation, article L6313-1).
    pub enum CourseNature: "nature d'action" {
        /// Action de formation.
        ActionFormation = "action_formation", "Action de formation";
        /// Bilan de compétences.
        Bilan = "bilan", "Bilan de compétences";
        /// Validation des acquis de l'expérience.
        Vae = "vae", "Action de VAE";
        /// Formation par apprentissage.
        Apprentissage = "apprentissage", "Action de formation par apprentissage";
    }
}

crate::text_enum! {
    /// Objective category of the BPF (cadre F-3).
    pub enum ObjectiveCategory: "catégorie d'objectif" {
        /// A certification registered in the RNCP.
        Rncp = "rncp", "Certification RNCP";
        /// A certification registered in the Répertoire spécifique.
        Rs = "rs", "Certification du Répertoire spécifique";
        /// A certificat de qualification professionnelle.
        Cqp = "cqp", "CQP";
        /// Any other objective.
        Other = "other", "Autre objectif";
    }
}

/// Who answers questions about a course (the organisation's contact when a course has none).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CourseContact {
    /// Name of the person or team.
    pub name: String,
    /// E-mail address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Phone number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

/// One module of the programme and what it covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProgrammeModule {
    /// Module name (one of the course's `modules`).
    pub module: String,
    /// What the module covers, one line each.
    pub content: Vec<String>,
}

/// A course as imported by `lms course import` and printed by `lms course show --toml` (the same
/// format both ways), and as written in `fixtures/demo/courses.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certification: Option<String>,
    /// NSF speciality code (3 digits and a letter, `310p`).
    pub nsf_code: String,
    /// Formacode (5 digits).
    pub formacode: String,
    /// ROME codes of the jobs aimed at (a letter and 4 digits, `M1503`).
    #[serde(default)]
    pub rome_codes: Vec<String>,
    /// Nature for the certificat de réalisation.
    pub nature: CourseNature,
    /// BPF F-3 objective category.
    pub objective_category: ObjectiveCategory,
    /// Module names labelling half-days, in teaching order.
    pub modules: Vec<String>,
    /// Days before a session's start when its enrolments close (0: at the start).
    #[serde(default)]
    pub enrolment_deadline_days: i32,
    /// Open enrolment, or requests decided after positioning.
    #[serde(default = "default_admission")]
    pub admission: AdmissionMode,
    /// Questions a trainee answers when asking for a seat (courses on request only).
    #[serde(default)]
    pub positioning_questions: Vec<String>,
    /// Who answers questions about the course; the organisation's contact when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<CourseContact>,
    /// The programme, module by module (optional; `content` stays the summary by block).
    #[serde(default)]
    pub programme: Vec<ProgrammeModule>,
}

fn default_admission() -> AdmissionMode {
    AdmissionMode::Open
}

/// A course file: `[[course]]` entries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CourseFile {
    /// The courses.
    #[serde(rename = "course")]
    pub courses: Vec<CourseSpec>,
}

/// Most days before the start a course may close its enrolments.
pub const MAX_ENROLMENT_DEADLINE_DAYS: i32 = 365;
/// Most positioning questions a course may ask.
pub const MAX_POSITIONING_QUESTIONS: usize = 10;
/// Longest text of one field of a course (summary, modalities, statements).
const MAX_TEXT_CHARS: usize = 4_000;
/// Longest text of one line in a list (objective, question, content line).
const MAX_LINE_CHARS: usize = 1_000;

impl CourseFile {
    /// Parses and checks a course file (no database): every field of every course, and no code
    /// twice. Refusals name the course and the field.
    pub fn parse(toml_text: &str) -> Result<Self, CatalogueError> {
        let file: CourseFile = toml::from_str(toml_text)
            .map_err(|e| CatalogueError::Invalid(format!("fichier de formations : {}", e.message())))?;
        if file.courses.is_empty() {
            return Err(CatalogueError::Invalid("fichier de formations : aucune formation ([[course]])".into()));
        }
        let mut seen = std::collections::HashSet::new();
        for course in &file.courses {
            course.validate()?;
            if !seen.insert(course.code.as_str()) {
                return Err(CatalogueError::Invalid(format!(
                    "formation {} : ce code figure deux fois dans le fichier",
                    course.code
                )));
            }
        }
        Ok(file)
    }

    /// The TOML text of this file, as `parse` reads it back.
    pub fn to_toml(&self) -> Result<String, CatalogueError> {
        toml::to_string(self).map_err(|e| CatalogueError::Invalid(format!("formation illisible en TOML : {e}")))
    }
}

fn is_nsf_code(code: &str) -> bool {
    let b = code.as_bytes();
    b.len() == 4 && b[..3].iter().all(u8::is_ascii_digit) && b[3].is_ascii_lowercase()
}

fn is_formacode(code: &str) -> bool {
    code.len() == 5 && code.bytes().all(|b| b.is_ascii_digit())
}

fn is_rome_code(code: &str) -> bool {
    let b = code.as_bytes();
    b.len() == 5 && b[0].is_ascii_uppercase() && b[1..].iter().all(u8::is_ascii_digit)
}

impl CourseSpec {
    /// Checks every field (no database); the refusal names the course and the field.
    pub fn validate(&self) -> Result<(), CatalogueError> {
        let code = crate::text::printable(&self.code, 40);
        let bad =
            |field: &str, what: &str| Err(CatalogueError::Invalid(format!("formation {code}, champ {field} : {what}")));
        if self.code.is_empty()
            || !is_course_code(&self.code)
            || !self.code.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        {
            return bad("code", "code invalide (majuscules et chiffres)");
        }
        let texts: [(&str, &str, bool); 8] = [
            ("title", &self.title, true),
            ("summary", &self.summary, true),
            ("public", &self.public, true),
            ("modalities", &self.modalities, true),
            ("pricing_note", &self.pricing_note, false),
            ("accessibility", &self.accessibility, true),
            ("evaluation_modalities", &self.evaluation_modalities, true),
            ("nsf_code", &self.nsf_code, true),
        ];
        for (field, value, required) in texts {
            if required && value.trim().is_empty() {
                return bad(field, "vide");
            }
            if value.chars().count() > MAX_TEXT_CHARS {
                return bad(field, &format!("trop long ({MAX_TEXT_CHARS} caractères au plus)"));
            }
            if let Some(problem) = crate::text::control_character_problem(value) {
                return bad(field, &problem);
            }
        }
        let lists: [(&str, &Vec<String>); 6] = [
            ("objectives", &self.objectives),
            ("prerequisites", &self.prerequisites),
            ("content", &self.content),
            ("modules", &self.modules),
            ("positioning_questions", &self.positioning_questions),
            ("rome_codes", &self.rome_codes),
        ];
        for (field, list) in lists {
            if list.len() > 100 {
                return bad(field, "trop d'éléments (100 au plus)");
            }
            for line in list {
                if line.trim().is_empty() {
                    return bad(field, "élément vide");
                }
                if line.chars().count() > MAX_LINE_CHARS {
                    return bad(field, &format!("élément trop long ({MAX_LINE_CHARS} caractères au plus)"));
                }
                if let Some(problem) = crate::text::control_character_problem(line) {
                    return bad(field, &problem);
                }
            }
        }
        if self.objectives.is_empty() {
            return bad("objectives", "au moins un objectif");
        }
        if self.duration_days <= 0 || self.duration_days > 366 {
            return bad("duration_days", "nombre de jours invalide (de 1 à 366)");
        }
        if self.duration_hours <= 0 || self.duration_hours > 5_000 {
            return bad("duration_hours", "nombre d'heures invalide (de 1 à 5 000)");
        }
        if self.price_cents < 0 {
            return bad("price_cents", "le tarif ne peut pas être négatif");
        }
        if !is_nsf_code(&self.nsf_code) {
            return bad("nsf_code", "code NSF attendu : 3 chiffres et une lettre minuscule (310p)");
        }
        if !is_formacode(&self.formacode) {
            return bad("formacode", "Formacode attendu : 5 chiffres");
        }
        if let Some(rome) = self.rome_codes.iter().find(|r| !is_rome_code(r)) {
            return bad(
                "rome_codes",
                &format!(
                    "code ROME « {} » invalide : une lettre majuscule et 4 chiffres (M1503)",
                    crate::text::printable(rome, 20)
                ),
            );
        }
        if self.modules.is_empty() {
            return bad("modules", "aucun module");
        }
        if !(0..=MAX_ENROLMENT_DEADLINE_DAYS).contains(&self.enrolment_deadline_days) {
            return bad(
                "enrolment_deadline_days",
                &format!("délai invalide (de 0 à {MAX_ENROLMENT_DEADLINE_DAYS} jours avant le début)"),
            );
        }
        match self.admission {
            AdmissionMode::OnRequest if self.positioning_questions.is_empty() => {
                return bad(
                    "positioning_questions",
                    "une formation sur demande pose au moins une question de positionnement",
                );
            }
            AdmissionMode::Open if !self.positioning_questions.is_empty() => {
                return bad("positioning_questions", "réservé aux formations sur demande (admission = \"on_request\")");
            }
            _ => {}
        }
        if self.positioning_questions.len() > MAX_POSITIONING_QUESTIONS {
            return bad("positioning_questions", &format!("{MAX_POSITIONING_QUESTIONS} questions au plus"));
        }
        if let Some(contact) = &self.contact {
            if contact.name.trim().is_empty() || contact.name.chars().count() > 200 {
                return bad("contact.name", "nom vide ou trop long (200 caractères au plus)");
            }
            if let Some(problem) = crate::text::control_character_problem(&contact.name) {
                return bad("contact.name", &problem);
            }
            use crate::documents::organisation::{SettingKey, validate_setting};
            for (field, key, value) in [
                ("contact.email", SettingKey::Email, &contact.email),
                ("contact.phone", SettingKey::Phone, &contact.phone),
            ] {
                if let Some(value) = value {
                    match validate_setting(key, value) {
                        Ok(checked) if !checked.is_empty() && checked == *value => {}
                        Ok(_) => return bad(field, "valeur vide, ou à écrire sans espaces autour ni majuscules"),
                        Err(e) => return bad(field, &e.to_string()),
                    }
                }
            }
        }
        let mut modules_seen = std::collections::HashSet::new();
        for part in &self.programme {
            if !self.modules.contains(&part.module) {
                return bad(
                    "programme",
                    &format!("module « {} » absent de la liste modules", crate::text::printable(&part.module, 80)),
                );
            }
            if !modules_seen.insert(part.module.as_str()) {
                return bad(
                    "programme",
                    &format!("module « {} » décrit deux fois", crate::text::printable(&part.module, 80)),
                );
            }
            if part.content.is_empty() {
                return bad(
                    "programme",
                    &format!("module « {} » sans contenu", crate::text::printable(&part.module, 80)),
                );
            }
            for line in &part.content {
                if line.trim().is_empty() || line.chars().count() > MAX_LINE_CHARS {
                    return bad("programme", "ligne de contenu vide ou trop longue");
                }
                if let Some(problem) = crate::text::control_character_problem(line) {
                    return bad("programme", &problem);
                }
            }
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
    pub nature: CourseNature,
    /// BPF objective category.
    pub objective_category: ObjectiveCategory,
    /// Days before the start when enrolments close.
    pub enrolment_deadline_days: i32,
    /// Admission mode.
    pub admission: AdmissionMode,
    /// Contact name.
    pub contact_name: Option<String>,
    /// Contact e-mail.
    pub contact_email: Option<String>,
    /// Contact phone.
    pub contact_phone: Option<String>,
    /// ROME codes.
    pub rome_codes: JsonText<Vec<String>>,
    /// Programme by module.
    pub programme: JsonText<Vec<ProgrammeModule>>,
    /// Positioning questions.
    pub positioning_questions: JsonText<Vec<String>>,
    /// When the course left the offer.
    pub archived_at: Option<NaiveDateTime>,
}

/// A course as shown to scripts, the API and pages (`lms course list --json`, `lms course show --json`).
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
    pub nature: CourseNature,
    /// BPF objective category.
    pub objective_category: ObjectiveCategory,
    /// ROME codes.
    pub rome_codes: Vec<String>,
    /// Days before a session's start when its enrolments close.
    pub enrolment_deadline_days: i32,
    /// Open enrolment or requests.
    pub admission: AdmissionMode,
    /// Questions asked of a trainee requesting a seat.
    pub positioning_questions: Vec<String>,
    /// The course's own contact (pages fall back on the organisation's).
    pub contact: Option<CourseContact>,
    /// The programme by module.
    pub programme: Vec<ProgrammeModule>,
    /// When the course left the offer (`null` while offered).
    pub archived_at: Option<NaiveDateTime>,
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
        let contact =
            row.contact_name.map(|name| CourseContact { name, email: row.contact_email, phone: row.contact_phone });
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
            rome_codes: row.rome_codes.into_inner(),
            enrolment_deadline_days: row.enrolment_deadline_days,
            admission: row.admission,
            positioning_questions: row.positioning_questions.into_inner(),
            contact,
            programme: row.programme.into_inner(),
            archived_at: row.archived_at,
        })
    }

    /// The course in the import format (`lms course show --toml`): importing it changes nothing.
    pub fn to_spec(&self) -> CourseSpec {
        CourseSpec {
            code: self.code.clone(),
            title: self.title.clone(),
            summary: self.summary.clone(),
            objectives: self.objectives.clone(),
            prerequisites: self.prerequisites.clone(),
            public: self.audience.clone(),
            content: self.content.clone(),
            duration_days: self.duration_days,
            // Imports store whole hours; a fraction can only come from a hand-edited row.
            duration_hours: self.duration_hours.round() as i32,
            modalities: self.modalities.clone(),
            price_cents: self.price_cents,
            pricing_note: self.pricing_note.clone(),
            accessibility: self.accessibility.clone(),
            evaluation_modalities: self.evaluation_modalities.clone(),
            certification: self.certification.clone(),
            nsf_code: self.nsf_code.clone(),
            formacode: self.formacode.clone(),
            rome_codes: self.rome_codes.clone(),
            nature: self.nature,
            objective_category: self.objective_category,
            modules: self.modules.clone(),
            enrolment_deadline_days: self.enrolment_deadline_days,
            admission: self.admission,
            positioning_questions: self.positioning_questions.clone(),
            contact: self.contact.clone(),
            programme: self.programme.clone(),
        }
    }

    /// Whether the course is still offered (not archived).
    pub fn is_offered(&self) -> bool {
        self.archived_at.is_none()
    }
}

/// Every course, archived ones included, by code (`lms course list`).
pub fn list_courses(conn: &mut DbConn) -> Result<Vec<CourseView>, CatalogueError> {
    let rows: Vec<(CourseRow, Option<String>)> = courses::table
        .left_join(certifications::table)
        .select((CourseRow::as_select(), certifications::code.nullable()))
        .order(courses::code.asc())
        .load(conn)
        .map_err(DbError::from)?;
    rows.into_iter().map(|(row, cert)| CourseView::from_row(row, cert)).collect()
}

/// The courses still offered (not archived), by code: what the public sees.
pub fn list_offered_courses(conn: &mut DbConn) -> Result<Vec<CourseView>, CatalogueError> {
    let rows: Vec<(CourseRow, Option<String>)> = courses::table
        .left_join(certifications::table)
        .filter(courses::archived_at.is_null())
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

/// Takes a course out of the offer (`lms course archive`): it leaves `/formations`, search and
/// the LHEO export, and no new session may be created for it; its sessions keep working.
/// Idempotent (the first archiving time is kept). Administrators and the console only.
pub fn archive_course(
    conn: &mut DbConn,
    actor: Actor<'_>,
    code: &str,
    now: NaiveDateTime,
) -> Result<CourseView, CatalogueError> {
    ensure_admin(actor)?;
    db::write_transaction(conn, |conn| {
        let course = find_course(conn, code)?;
        if course.archived_at.is_none() {
            diesel::update(courses::table.find(&course.id))
                .set((courses::archived_at.eq(Some(now)), courses::updated_at.eq(now)))
                .execute(conn)
                .map_err(DbError::from)?;
        }
        find_course(conn, &course.code)
    })
}

/// Refuses anyone but an administrator or the console.
pub(crate) fn ensure_admin(actor: Actor<'_>) -> Result<(), CatalogueError> {
    if actor.is_office() { Ok(()) } else { Err(CatalogueError::Forbidden("réservé aux administrateur·rices")) }
}

/// Stores a course unless one with the same code exists. Returns true when inserted.
pub(crate) fn insert_course_if_absent(conn: &mut DbConn, spec: &CourseSpec) -> Result<bool, CatalogueError> {
    let exists: bool = diesel::select(diesel::dsl::exists(courses::table.filter(courses::code.eq(&spec.code))))
        .get_result(conn)
        .map_err(DbError::from)?;
    if exists {
        return Ok(false);
    }
    super::course_import::upsert_course(conn, spec, db::now())?;
    Ok(true)
}

/// How a session's course admits trainees, and what it asks of those requesting a seat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CourseAdmission {
    /// Open or on request.
    pub mode: AdmissionMode,
    /// The positioning questions (courses on request).
    pub questions: Vec<String>,
}

/// The admission rules of the course of `session` ([`CatalogueError::UnknownTrainingSession`]
/// when there is no such session).
pub fn admission_of(conn: &mut DbConn, session: &TrainingSessionId) -> Result<CourseAdmission, CatalogueError> {
    let (mode, questions): (AdmissionMode, JsonText<Vec<String>>) = training_sessions::table
        .inner_join(courses::table)
        .filter(training_sessions::id.eq(session))
        .select((courses::admission, courses::positioning_questions))
        .first(conn)
        .optional()
        .map_err(DbError::from)?
        .ok_or_else(|| CatalogueError::UnknownTrainingSession(session.to_string()))?;
    Ok(CourseAdmission { mode, questions: questions.into_inner() })
}
