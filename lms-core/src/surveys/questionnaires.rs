//! Questionnaires as data: their questions ([`Question`]), the checks every questionnaire passes
//! ([`QuestionnaireSpec::validate`]), the default questionnaires shipped as reference data
//! (`fixtures/questionnaires.toml`, loaded by `lms fixtures load`) and the all-or-nothing import
//! of a course's own (`lms survey questionnaire import FILE.toml`).
//!
//! Every survey also asks the overall `satisfaction` score (1 to 5); it is not one of the
//! questions, so no questionnaire can leave it out ([`SATISFACTION`] is reserved).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use super::{SurveyAudience, SurveyError, SurveyTiming};
use crate::db::ids::{CourseId, QuestionnaireId};
use crate::db::json_text::{JsonText, to_json_text};
use crate::db::schema::{courses, questionnaires};
use crate::db::{self, DbConn, DbError};

/// The default questionnaires (reference data).
pub const DEFAULT_QUESTIONNAIRES_TOML: &str = include_str!("../../../fixtures/questionnaires.toml");

/// The id of the overall score every survey asks; no question may take it.
pub const SATISFACTION: &str = "satisfaction";

/// Longest question id.
const MAX_ID: usize = 40;
/// Longest label, title or option.
const MAX_LABEL: usize = 300;
/// Longest free comment a question may allow.
pub const MAX_TEXT_LIMIT: u32 = 5_000;
/// A free comment's limit when the questionnaire does not say.
pub const DEFAULT_TEXT_LIMIT: u32 = 2_000;
/// Most questions in one questionnaire.
const MAX_QUESTIONS: usize = 40;

/// The lowest and highest values of a scale question (and of the overall score).
pub const SCALE: std::ops::RangeInclusive<i64> = 1..=5;

/// What kind of answer a question takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuestionKind {
    /// A score from 1 to 5, its ends labelled.
    Scale,
    /// A free comment, at most `max_length` characters.
    Text,
    /// One of `options`.
    Choice,
}

impl QuestionKind {
    /// The French name of the kind.
    pub fn label_fr(self) -> &'static str {
        match self {
            QuestionKind::Scale => "échelle de 1 à 5",
            QuestionKind::Text => "commentaire libre",
            QuestionKind::Choice => "choix",
        }
    }
}

/// One question, as written in a questionnaire file and stored (JSON) with the questionnaire and
/// each survey.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Question {
    /// Stable slug (`objectifs`, `formateur`…), the key of the answers.
    pub id: String,
    /// The question, in French.
    pub label: String,
    /// What kind of answer it takes.
    pub kind: QuestionKind,
    /// Whether an answer is required.
    #[serde(default)]
    pub required: bool,
    /// Scale: the label of 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_label: Option<String>,
    /// Scale: the label of 5.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_label: Option<String>,
    /// Text: the longest comment, in characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u32>,
    /// Choice: the options offered.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
}

impl Question {
    /// The longest comment a text question accepts.
    pub fn text_limit(&self) -> usize {
        self.max_length.unwrap_or(DEFAULT_TEXT_LIMIT) as usize
    }
}

/// A questionnaire as written in a file: for one course (by code) or by default, one audience,
/// one timing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuestionnaireSpec {
    /// The course's code; absent for a default questionnaire.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub course: Option<String>,
    /// Who answers it.
    pub audience: SurveyAudience,
    /// When it is asked.
    pub timing: SurveyTiming,
    /// Its title, in French.
    pub title: String,
    /// Whether the answers are kept without the respondent.
    #[serde(default)]
    pub anonymous: bool,
    /// The questions, in order.
    #[serde(rename = "question")]
    pub questions: Vec<Question>,
}

/// A file of questionnaires: `[[questionnaire]]` tables.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuestionnaireFile {
    /// The questionnaires.
    pub questionnaire: Vec<QuestionnaireSpec>,
}

impl QuestionnaireFile {
    /// Reads and checks a TOML file of questionnaires (every one, and no scope twice).
    pub fn parse(text: &str) -> Result<Self, SurveyError> {
        let file: QuestionnaireFile = toml::from_str(text)
            .map_err(|e| SurveyError::InvalidQuestionnaire(format!("fichier de questionnaires illisible : {e}")))?;
        if file.questionnaire.is_empty() {
            return Err(SurveyError::InvalidQuestionnaire("le fichier ne contient aucun questionnaire".into()));
        }
        let mut scopes = std::collections::HashSet::new();
        for spec in &file.questionnaire {
            spec.validate()?;
            if !scopes.insert((spec.course.clone(), spec.audience, spec.timing)) {
                return Err(SurveyError::InvalidQuestionnaire(format!(
                    "deux questionnaires pour {} dans le fichier",
                    spec.scope_fr()
                )));
            }
        }
        Ok(file)
    }
}

fn invalid(context: &str, reason: impl std::fmt::Display) -> SurveyError {
    SurveyError::InvalidQuestionnaire(format!("{context} : {reason}"))
}

fn check_label(context: &str, what: &str, text: &str) -> Result<(), SurveyError> {
    if text.trim().is_empty() {
        return Err(invalid(context, format!("{what} vide")));
    }
    if text.chars().count() > MAX_LABEL {
        return Err(invalid(context, format!("{what} trop long (au plus {MAX_LABEL} caractères)")));
    }
    if let Some(problem) = crate::text::name_character_problem(text) {
        return Err(invalid(context, format!("{what} : {problem}")));
    }
    Ok(())
}

impl QuestionnaireSpec {
    /// « le questionnaire par défaut (Stagiaires, À chaud) » or « la formation ANIM (…) ».
    pub fn scope_fr(&self) -> String {
        let scope = match &self.course {
            Some(code) => format!("la formation {code}"),
            None => "le questionnaire par défaut".to_owned(),
        };
        format!("{scope} ({}, {})", self.audience.label_fr(), self.timing.label_fr().to_lowercase())
    }

    /// Checks the questionnaire: a title, 1 to 40 questions with distinct slug ids (never
    /// `satisfaction`), labels, and what each kind needs (a scale's two end labels, a text's
    /// limit, a choice's distinct options).
    pub fn validate(&self) -> Result<(), SurveyError> {
        let scope = self.scope_fr();
        check_label(&scope, "titre", &self.title)?;
        if self.questions.is_empty() {
            return Err(invalid(&scope, "aucune question"));
        }
        if self.questions.len() > MAX_QUESTIONS {
            return Err(invalid(&scope, format!("plus de {MAX_QUESTIONS} questions")));
        }
        let mut ids = std::collections::HashSet::new();
        for question in &self.questions {
            let context = format!("{scope}, question « {} »", question.id);
            let id_ok = !question.id.is_empty()
                && question.id.len() <= MAX_ID
                && question.id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
            if !id_ok {
                return Err(invalid(
                    &context,
                    format!("identifiant invalide (minuscules, chiffres, « _ » ou « - », {MAX_ID} caractères au plus)"),
                ));
            }
            if question.id == SATISFACTION {
                return Err(invalid(
                    &context,
                    "identifiant réservé à la satisfaction générale, posée par chaque questionnaire",
                ));
            }
            if !ids.insert(question.id.as_str()) {
                return Err(invalid(&context, "identifiant en double"));
            }
            check_label(&context, "libellé", &question.label)?;
            let stray = |field: &str| {
                invalid(
                    &context,
                    format!("« {field} » ne convient pas à une question de type {}", question.kind.label_fr()),
                )
            };
            match question.kind {
                QuestionKind::Scale => {
                    let (Some(min), Some(max)) = (&question.min_label, &question.max_label) else {
                        return Err(invalid(&context, "une échelle nomme ses deux extrémités (min_label, max_label)"));
                    };
                    check_label(&context, "min_label", min)?;
                    check_label(&context, "max_label", max)?;
                    if question.max_length.is_some() {
                        return Err(stray("max_length"));
                    }
                    if !question.options.is_empty() {
                        return Err(stray("options"));
                    }
                }
                QuestionKind::Text => {
                    if let Some(limit) = question.max_length
                        && !(1..=MAX_TEXT_LIMIT).contains(&limit)
                    {
                        return Err(invalid(&context, format!("max_length entre 1 et {MAX_TEXT_LIMIT}")));
                    }
                    if question.min_label.is_some() || question.max_label.is_some() {
                        return Err(stray("min_label/max_label"));
                    }
                    if !question.options.is_empty() {
                        return Err(stray("options"));
                    }
                }
                QuestionKind::Choice => {
                    if question.options.len() < 2 {
                        return Err(invalid(&context, "un choix propose au moins deux options"));
                    }
                    let mut seen = std::collections::HashSet::new();
                    for option in &question.options {
                        check_label(&context, "option", option)?;
                        if !seen.insert(option.trim()) {
                            return Err(invalid(&context, format!("option « {option} » en double")));
                        }
                    }
                    if question.min_label.is_some() || question.max_label.is_some() {
                        return Err(stray("min_label/max_label"));
                    }
                    if question.max_length.is_some() {
                        return Err(stray("max_length"));
                    }
                }
            }
        }
        Ok(())
    }
}

/// A stored questionnaire (row type, in the order selected).
#[derive(Debug, Clone, Queryable)]
pub struct QuestionnaireRow {
    /// Identifier.
    pub id: QuestionnaireId,
    /// The course's code, when it is a course's own.
    pub course: Option<String>,
    /// Who answers it.
    pub audience: SurveyAudience,
    /// When.
    pub timing: SurveyTiming,
    /// Title.
    pub title: String,
    /// The questions.
    pub questions: JsonText<Vec<Question>>,
    /// Whether answers are kept without the respondent.
    pub anonymous: bool,
}

/// A questionnaire as `lms survey questionnaire show` prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QuestionnaireView {
    /// Identifier.
    pub id: QuestionnaireId,
    /// The course's code; none for a default one.
    pub course: Option<String>,
    /// Who answers it.
    pub audience: SurveyAudience,
    /// When.
    pub timing: SurveyTiming,
    /// Title.
    pub title: String,
    /// Whether answers are kept without the respondent.
    pub anonymous: bool,
    /// The questions (the overall satisfaction score is asked besides them).
    pub questions: Vec<Question>,
}

impl From<QuestionnaireRow> for QuestionnaireView {
    fn from(row: QuestionnaireRow) -> Self {
        QuestionnaireView {
            id: row.id,
            course: row.course,
            audience: row.audience,
            timing: row.timing,
            title: row.title,
            anonymous: row.anonymous,
            questions: row.questions.into_inner(),
        }
    }
}

fn select_rows(conn: &mut DbConn, course: Option<&CourseId>) -> Result<Vec<QuestionnaireRow>, DbError> {
    let mut query = questionnaires::table
        .left_join(courses::table)
        .select((
            questionnaires::id,
            courses::code.nullable(),
            questionnaires::audience,
            questionnaires::timing,
            questionnaires::title,
            questionnaires::questions,
            questionnaires::anonymous,
        ))
        .order((questionnaires::audience.asc(), questionnaires::timing.asc()))
        .into_boxed();
    query = match course {
        Some(id) => query.filter(questionnaires::course_id.eq(id)),
        None => query.filter(questionnaires::course_id.is_null()),
    };
    query.load(conn).map_err(DbError::from)
}

fn course_id(conn: &mut DbConn, code: &str) -> Result<CourseId, SurveyError> {
    courses::table
        .filter(courses::code.eq(code.trim()))
        .select(courses::id)
        .first(conn)
        .optional()
        .map_err(DbError::from)?
        .ok_or_else(|| SurveyError::UnknownCourse(code.chars().take(40).collect()))
}

/// The questionnaires of a course (its own only) or, without a code, the default ones.
pub fn show(conn: &mut DbConn, course: Option<&str>) -> Result<Vec<QuestionnaireView>, SurveyError> {
    db::read_transaction(conn, |conn| {
        let id = course.map(|code| course_id(conn, code)).transpose()?;
        Ok(select_rows(conn, id.as_ref())?.into_iter().map(QuestionnaireView::from).collect())
    })
}

/// What an import wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    /// Questionnaires created.
    pub created: u32,
    /// Questionnaires replaced (same course, audience and timing).
    pub updated: u32,
}

/// Writes `spec` (already checked), replacing the questionnaire of the same scope if
/// `replace`; returns whether it created one (`Some(true)`), replaced one (`Some(false)`) or left
/// an existing one alone (`None`).
fn upsert(
    conn: &mut DbConn,
    spec: &QuestionnaireSpec,
    replace: bool,
    now: NaiveDateTime,
) -> Result<Option<bool>, SurveyError> {
    let course = spec.course.as_deref().map(|code| course_id(conn, code)).transpose()?;
    let mut existing = questionnaires::table
        .filter(questionnaires::audience.eq(spec.audience))
        .filter(questionnaires::timing.eq(spec.timing))
        .select(questionnaires::id)
        .into_boxed();
    existing = match &course {
        Some(id) => existing.filter(questionnaires::course_id.eq(id.clone())),
        None => existing.filter(questionnaires::course_id.is_null()),
    };
    let existing: Option<QuestionnaireId> = existing.first(conn).optional().map_err(DbError::from)?;
    let questions = to_json_text(&spec.questions)?;
    match existing {
        Some(id) if replace => {
            diesel::update(questionnaires::table.filter(questionnaires::id.eq(&id)))
                .set((
                    questionnaires::title.eq(spec.title.trim()),
                    questionnaires::questions.eq(&questions),
                    questionnaires::anonymous.eq(spec.anonymous),
                    questionnaires::updated_at.eq(now),
                ))
                .execute(conn)
                .map_err(DbError::from)?;
            Ok(Some(false))
        }
        Some(_) => Ok(None),
        None => {
            diesel::insert_into(questionnaires::table)
                .values((
                    questionnaires::id.eq(QuestionnaireId::generate()),
                    questionnaires::course_id.eq(course.as_ref()),
                    questionnaires::audience.eq(spec.audience),
                    questionnaires::timing.eq(spec.timing),
                    questionnaires::title.eq(spec.title.trim()),
                    questionnaires::questions.eq(&questions),
                    questionnaires::anonymous.eq(spec.anonymous),
                    questionnaires::created_at.eq(now),
                    questionnaires::updated_at.eq(now),
                ))
                .execute(conn)
                .map_err(DbError::from)?;
            Ok(Some(true))
        }
    }
}

/// Imports a TOML file of questionnaires, all or nothing: every questionnaire is checked (and its
/// course must exist) before anything is written; one of the same course, audience and timing is
/// replaced. Surveys already opened keep the questions they asked.
pub fn import(conn: &mut DbConn, text: &str, now: NaiveDateTime) -> Result<ImportReport, SurveyError> {
    let file = QuestionnaireFile::parse(text)?;
    db::write_transaction(conn, |conn| {
        let mut report = ImportReport::default();
        for spec in &file.questionnaire {
            match upsert(conn, spec, true, now)? {
                Some(true) => report.created += 1,
                Some(false) => report.updated += 1,
                None => {}
            }
        }
        Ok(report)
    })
}

/// Inserts the default questionnaires that are not there yet (reference data; an existing one,
/// perhaps edited by the office, is left alone). Returns how many were inserted.
pub fn load_defaults(conn: &mut DbConn, now: NaiveDateTime) -> Result<u32, SurveyError> {
    let file = QuestionnaireFile::parse(DEFAULT_QUESTIONNAIRES_TOML)?;
    db::write_transaction(conn, |conn| {
        let mut inserted = 0;
        for spec in &file.questionnaire {
            if upsert(conn, spec, false, now)? == Some(true) {
                inserted += 1;
            }
        }
        Ok(inserted)
    })
}

/// The questionnaire to ask for `course`, `audience` and `timing`: the course's own, else the
/// default one, else none.
pub(crate) fn questionnaire_for(
    conn: &mut DbConn,
    course: &CourseId,
    audience: SurveyAudience,
    timing: SurveyTiming,
) -> Result<Option<QuestionnaireRow>, DbError> {
    let rows: Vec<QuestionnaireRow> = questionnaires::table
        .left_join(courses::table)
        .filter(questionnaires::audience.eq(audience))
        .filter(questionnaires::timing.eq(timing))
        .filter(questionnaires::course_id.eq(course).or(questionnaires::course_id.is_null()))
        .select((
            questionnaires::id,
            courses::code.nullable(),
            questionnaires::audience,
            questionnaires::timing,
            questionnaires::title,
            questionnaires::questions,
            questionnaires::anonymous,
        ))
        .load(conn)?;
    let (own, default): (Vec<_>, Vec<_>) = rows.into_iter().partition(|row| row.course.is_some());
    Ok(own.into_iter().next().or_else(|| default.into_iter().next()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_questionnaires_are_valid_and_ask_what_an_auditor_expects() {
        let Ok(file) = QuestionnaireFile::parse(DEFAULT_QUESTIONNAIRES_TOML) else { panic!("invalid defaults") };
        let trainee = file
            .questionnaire
            .iter()
            .find(|q| q.audience == SurveyAudience::Trainee && q.timing == SurveyTiming::AChaud && q.course.is_none());
        let Some(trainee) = trainee else { panic!("no default trainee questionnaire") };
        for id in ["objectifs", "contenu", "formateur", "organisation", "recommandation", "commentaire"] {
            assert!(trainee.questions.iter().any(|q| q.id == id), "{id}");
        }
    }

    #[test]
    fn bad_questionnaires_are_refused_with_a_reason() {
        let base = r#"
[[questionnaire]]
audience = "trainee"
timing = "a_chaud"
title = "T"
[[questionnaire.question]]
id = "ID"
label = "L"
kind = "KIND"
EXTRA
"#;
        let cases = [
            ("q1", "scale", "", "extrémités"),
            ("Q1", "text", "", "identifiant invalide"),
            ("satisfaction", "text", "", "réservé"),
            ("q1", "choice", "options = [\"a\"]", "deux options"),
            ("q1", "choice", "options = [\"a\", \"a\"]", "double"),
            ("q1", "text", "max_length = 0", "max_length"),
            ("q1", "text", "options = [\"a\", \"b\"]", "ne convient pas"),
        ];
        for (id, kind, extra, expected) in cases {
            let text = base.replace("ID", id).replace("KIND", kind).replace("EXTRA", extra);
            match QuestionnaireFile::parse(&text) {
                Err(error) => assert!(error.to_string().contains(expected), "{id} {kind} {extra}: {error}"),
                Ok(_) => panic!("accepted: {id} {kind} {extra}"),
            }
        }
    }
}
