//! Assessment: each trainee's result on each competence of the course's référentiel
//! (acquired / in progress / not acquired), by whom, when, with evidence notes. Every result is
//! kept; the latest per competence is the current one.
//!
//! [`grid`] is what trainers read and write (trainees × competences, grouped by unit) and what a
//! trainee reads of their own results; [`import`] is the bulk CSV import (`lms assess import`);
//! [`attestation`] renders the attestation de fin de formation with the results.

pub mod attestation;
pub mod grid;
pub mod import;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::ids::{AssessmentId, CompetenceId, TrainingSessionId, UserId};
use crate::db::schema::{assessments, certification_units, competences, courses, enrolments, training_sessions};
use crate::db::{self, DbConn, DbError};
use crate::{Classify, ErrorKind};

/// Errors of assessment use cases.
#[derive(Debug, thiserror::Error)]
pub enum AssessmentError {
    /// Malformed input.
    #[error("{0}")]
    Invalid(String),
    /// The competence is not in the référentiel of the session's course.
    #[error("compétence « {0} » absente du référentiel de cette formation")]
    UnknownCompetence(String),
    /// The person is not a trainee of the session.
    #[error("cette personne n'est pas stagiaire de la session")]
    NotATrainee,
    /// Who may read or write the session (see [`crate::rights`]), or a document
    /// built from attendance.
    #[error(transparent)]
    Access(#[from] crate::attendance::AttendanceError),
    /// One line of a grid was refused; nothing was written.
    #[error("{line} : {source}")]
    InLine {
        /// Which line (trainee and competence).
        line: String,
        /// Why.
        source: Box<AssessmentError>,
    },
    /// A CSV import was refused as a whole: every invalid line, numbered as in the file.
    #[error("fichier refusé, rien n'a été enregistré : {}", .0.iter().map(|p| format!("ligne {} : {}", p.line, p.message)).collect::<Vec<_>>().join(" ; "))]
    ImportRejected(Vec<import::ImportProblem>),
    /// The attestation de fin de formation is handed out at the end of the training.
    #[error("l'attestation de fin de formation est disponible après la dernière demi-journée de la session")]
    NotFinished,
    /// The stored objectives of the course are not a JSON list of texts: a legal document is
    /// never printed with an empty list in their place.
    #[error("objectifs de la formation {course} illisibles en base : {reason}")]
    CorruptObjectives {
        /// Course code.
        course: String,
        /// What the JSON decoder said.
        reason: String,
    },
    /// A document could not be rendered.
    #[error(transparent)]
    Document(#[from] crate::documents::PdfError),
    /// Storage failure.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl Classify for AssessmentError {
    fn kind(&self) -> ErrorKind {
        match self {
            AssessmentError::Db(e) => e.kind(),
            AssessmentError::Access(e) => e.kind(),
            AssessmentError::InLine { source, .. } => source.kind(),
            AssessmentError::Document(e) => e.kind(),
            AssessmentError::NotFinished => ErrorKind::Conflict,
            AssessmentError::CorruptObjectives { .. } => ErrorKind::Internal,
            _ => ErrorKind::Invalid,
        }
    }
    fn code(&self) -> &'static str {
        match self {
            AssessmentError::Invalid(_) => "invalid_assessment",
            AssessmentError::UnknownCompetence(_) => "unknown_competence",
            AssessmentError::NotATrainee => "not_a_trainee",
            AssessmentError::Access(e) => e.code(),
            AssessmentError::InLine { source, .. } => source.code(),
            AssessmentError::ImportRejected(_) => "import_rejected",
            AssessmentError::NotFinished => "training_not_finished",
            AssessmentError::CorruptObjectives { .. } => "corrupt_course_data",
            AssessmentError::Document(e) => e.code(),
            AssessmentError::Db(e) => e.code(),
        }
    }
    fn details(&self) -> Option<serde_json::Value> {
        match self {
            AssessmentError::ImportRejected(problems) => Some(serde_json::json!({ "problems": problems })),
            _ => None,
        }
    }
}

crate::text_enum! {
    /// A result on one competence.
    pub enum AssessmentResult: "résultat" {
        /// Acquise.
        Acquired = "acquired", "Acquise";
        /// En cours d'acquisition.
        InProgress = "in_progress", "En cours d'acquisition";
        /// Non acquise.
        NotAcquired = "not_acquired", "Non acquise";
    }
}

impl AssessmentResult {
    /// Parses `acquired`, `in_progress` or `not_acquired` (and, for people typing a CSV file, the
    /// French `acquise`, `en cours`, `non acquise`, case and accents ignored).
    pub fn parse(raw: &str) -> Result<Self, AssessmentError> {
        let folded: String = raw
            .trim()
            .to_lowercase()
            .chars()
            .map(|c| match c {
                ' ' | '-' => '_',
                'é' | 'è' => 'e',
                other => other,
            })
            .collect();
        match folded.as_str() {
            "acquired" | "acquise" | "acquis" => Ok(AssessmentResult::Acquired),
            "in_progress" | "en_cours" | "en_cours_d'acquisition" => Ok(AssessmentResult::InProgress),
            "not_acquired" | "non_acquise" | "non_acquis" => Ok(AssessmentResult::NotAcquired),
            _ => Err(AssessmentError::Invalid(format!(
                "résultat inconnu « {} » (attendu : acquired, in_progress ou not_acquired)",
                raw.trim().chars().take(40).collect::<String>()
            ))),
        }
    }
}

/// The competence with code `code` in the référentiel of the session's course, if any.
pub fn competence_of_session(
    conn: &mut DbConn,
    session: &TrainingSessionId,
    code: &str,
) -> Result<Option<CompetenceId>, DbError> {
    training_sessions::table
        .inner_join(courses::table)
        .inner_join(
            certification_units::table
                .on(courses::certification_id.eq(certification_units::certification_id.nullable())),
        )
        .inner_join(competences::table.on(competences::unit_id.eq(certification_units::id)))
        .filter(training_sessions::id.eq(session))
        .filter(competences::code.eq(code.trim()))
        .select(competences::id)
        .first(conn)
        .optional()
        .map_err(DbError::from)
}

/// One result to record.
#[derive(Debug, Clone)]
pub struct AssessmentInput {
    /// The training session.
    pub session: TrainingSessionId,
    /// The trainee assessed.
    pub trainee: UserId,
    /// Competence number in the référentiel (`1.3`).
    pub competence_code: String,
    /// The result.
    pub result: AssessmentResult,
    /// Evidence note.
    pub evidence: Option<String>,
    /// Who assessed.
    pub assessor: UserId,
}

/// Records a result (a new row; history is kept).
pub fn record_assessment(
    conn: &mut DbConn,
    input: &AssessmentInput,
    now: NaiveDateTime,
) -> Result<AssessmentId, AssessmentError> {
    let AssessmentInput { session, trainee, competence_code, result, evidence, assessor } = input;
    let evidence = evidence.as_deref().map(str::trim).filter(|e| !e.is_empty());
    if evidence.is_some_and(|e| e.chars().count() > 2_000) {
        return Err(AssessmentError::Invalid("note de preuve trop longue (2 000 caractères au plus)".into()));
    }
    db::write_transaction(conn, |conn| {
        let competence = competence_of_session(conn, session, competence_code)?
            .ok_or_else(|| AssessmentError::UnknownCompetence(competence_code.chars().take(20).collect()))?;
        let enrolled: bool = diesel::select(diesel::dsl::exists(
            enrolments::table
                .filter(enrolments::training_session_id.eq(session))
                .filter(enrolments::trainee_id.eq(trainee))
                .filter(enrolments::status.eq_any(crate::enrolment::EnrolmentStatus::SEATED)),
        ))
        .get_result(conn)
        .map_err(DbError::from)?;
        if !enrolled {
            return Err(AssessmentError::NotATrainee);
        }
        let id = AssessmentId::generate();
        diesel::insert_into(assessments::table)
            .values((
                assessments::id.eq(&id),
                assessments::training_session_id.eq(session),
                assessments::trainee_id.eq(trainee),
                assessments::competence_id.eq(&competence),
                assessments::result.eq(result.as_str()),
                assessments::evidence.eq(evidence),
                assessments::assessor_id.eq(assessor),
                assessments::assessed_at.eq(now),
            ))
            .execute(conn)
            .map_err(DbError::from)?;
        Ok(id)
    })
}
