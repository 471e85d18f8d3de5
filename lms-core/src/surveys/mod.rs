//! Satisfaction surveys (Qualiopi indicator 30): questionnaires kept as data, per course or by
//! default, opened for each training session à chaud (when its last half-day ends) and à froid
//! (some days later), answered once per person, optionally anonymously.
//!
//! - `questionnaires.rs`: the questions (`Question`), their checks, the default questionnaires
//!   shipped as reference data and the all-or-nothing import of a course's own;
//! - `opening.rs`: **`open_due`, where surveys are opened and invitations and reminders sent**;
//! - `answering.rs`: a person's open surveys and **`answer`, the one way a response is written**
//!   (anonymous mode included), for the page and the API alike;
//! - `results.rs`: the office's list and results, the CSV rows and the quality evidence;
//! - `figures.rs` holds the one definition of the published satisfaction figures (mean and
//!   response rate), read by the outcome indicators and the quality evidence.

pub mod answering;
pub mod figures;
pub mod opening;
pub mod questionnaires;
pub mod results;

pub use answering::{Answer, AnswerReceipt, OpenSurvey, SurveyPage, SurveyState, answer, my_open_surveys, survey_page};
pub use opening::{ANSWER_DAYS, OpenedSurvey, OpeningReport, REMINDER_AFTER_DAYS, open_due};
pub use questionnaires::{Question, QuestionKind, QuestionnaireSpec, QuestionnaireView};
pub use results::evidence;

use crate::db::DbError;
use crate::{Classify, ErrorKind};

crate::text_enum! {
    /// Who a questionnaire is for.
    pub enum SurveyAudience: "public du questionnaire" {
        /// The session's confirmed trainees.
        Trainee = "trainee", "Stagiaires";
        /// The session's trainers.
        Trainer = "trainer", "Formateurs";
        /// The funder or the employer.
        Funder = "funder", "Financeur ou employeur";
    }
}

crate::text_enum! {
    /// When a questionnaire is asked.
    pub enum SurveyTiming: "moment du questionnaire" {
        /// When the session's last half-day ends.
        AChaud = "a_chaud", "À chaud";
        /// Some days after the end (setting `quality.survey_cold_days`).
        AFroid = "a_froid", "À froid";
    }
}

/// Why a survey operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum SurveyError {
    /// No such survey for this person (or no such survey at all: the two are not told apart).
    #[error("questionnaire introuvable")]
    NotFound,
    /// The person already answered this survey.
    #[error("vous avez déjà répondu à ce questionnaire : une seule réponse par personne")]
    AlreadyAnswered,
    /// The survey is not open yet.
    #[error("ce questionnaire n'est pas encore ouvert")]
    NotYetOpen,
    /// The survey is closed.
    #[error("ce questionnaire est clos depuis le {0} : il n'accepte plus de réponse")]
    Closed(String),
    /// The overall score is missing or outside 1 to 5.
    #[error("la satisfaction générale est une note entière de 1 à 5")]
    InvalidSatisfaction,
    /// An answer names a question the survey does not ask.
    #[error("question inconnue « {0} »")]
    UnknownQuestion(String),
    /// A required question was left unanswered.
    #[error("réponse obligatoire à la question « {0} »")]
    MissingAnswer(String),
    /// An answer does not fit its question.
    #[error("réponse invalide à la question « {question} » : {reason}")]
    InvalidAnswer {
        /// The question's label.
        question: String,
        /// Why, in French.
        reason: String,
    },
    /// A questionnaire file or definition is invalid.
    #[error("{0}")]
    InvalidQuestionnaire(String),
    /// No course with this code.
    #[error("formation inconnue « {0} »")]
    UnknownCourse(String),
    /// No training session with this id or reference.
    #[error("session inconnue « {0} »")]
    UnknownSession(String),
    /// An e-mail could not be written.
    #[error(transparent)]
    Mail(#[from] crate::mail::MailError),
    /// Storage failure.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl Classify for SurveyError {
    fn kind(&self) -> ErrorKind {
        match self {
            SurveyError::NotFound | SurveyError::UnknownCourse(_) | SurveyError::UnknownSession(_) => {
                ErrorKind::NotFound
            }
            SurveyError::AlreadyAnswered => ErrorKind::Conflict,
            SurveyError::NotYetOpen
            | SurveyError::Closed(_)
            | SurveyError::InvalidSatisfaction
            | SurveyError::UnknownQuestion(_)
            | SurveyError::MissingAnswer(_)
            | SurveyError::InvalidAnswer { .. }
            | SurveyError::InvalidQuestionnaire(_) => ErrorKind::Invalid,
            SurveyError::Mail(e) => e.kind(),
            SurveyError::Db(e) => e.kind(),
        }
    }

    fn code(&self) -> &'static str {
        match self {
            SurveyError::NotFound => "survey_not_found",
            SurveyError::AlreadyAnswered => "survey_already_answered",
            SurveyError::NotYetOpen => "survey_not_open",
            SurveyError::Closed(_) => "survey_closed",
            SurveyError::InvalidSatisfaction => "invalid_satisfaction",
            SurveyError::UnknownQuestion(_) => "unknown_question",
            SurveyError::MissingAnswer(_) => "missing_answer",
            SurveyError::InvalidAnswer { .. } => "invalid_answer",
            SurveyError::InvalidQuestionnaire(_) => "invalid_questionnaire",
            SurveyError::UnknownCourse(_) => "unknown_course",
            SurveyError::UnknownSession(_) => "unknown_session",
            SurveyError::Mail(e) => e.code(),
            SurveyError::Db(e) => e.code(),
        }
    }
}
