//! Catalogue: courses (formations) and their dated cohorts, training sessions, with the schedule of
//! half-days (demi-journées) that may move between venues.
//!
//! Everything a training organisation must publish about an offer (Qualiopi indicator 1) lives on
//! the course; capacity, dates, status and the schedule live on the training session.
//! Finding sessions near a place, ranked by estimated travel time, is [`search_sessions`]
//! (`search.rs`): it belongs to the catalogue because what it returns is the public offer.
//! Changes once a session is planned (moving a half-day, trainers, capacity) are `changes.rs`.

mod calendar;
mod changes;
mod course_import;
mod courses;
mod offer;
mod schedule;
mod search;
mod training_sessions;

pub use calendar::*;
pub use changes::*;
pub use course_import::*;
pub use courses::*;
pub use offer::*;
pub use schedule::*;
pub use search::*;
pub use training_sessions::*;

use crate::db::DbError;
use crate::{Classify, ErrorKind};

/// Errors of catalogue use cases.
#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    /// Malformed input.
    #[error("{0}")]
    Invalid(String),
    /// No course with that code.
    #[error("formation inconnue : « {0} »")]
    UnknownCourse(String),
    /// No venue with that slug.
    #[error("lieu inconnu : « {0} »")]
    UnknownVenue(String),
    /// No training session with that id.
    #[error("session inconnue : « {0} »")]
    UnknownTrainingSession(String),
    /// No trainer with that e-mail.
    #[error("formateur inconnu : « {0} » (créez-le avec `lms user add --role trainer`)")]
    UnknownTrainer(String),
    /// The change is not allowed in the session's current status.
    #[error("{0}")]
    WrongStatus(String),
    /// Stored data that does not have its expected shape (never shown as empty).
    #[error("données enregistrées illisibles ({what}) : {cause}")]
    CorruptData {
        /// What was being read.
        what: String,
        /// Why it could not be read.
        cause: String,
    },
    /// A schedule names a weekend day or a public holiday.
    #[error("{date} : pas de formation ce jour-là ({reason})")]
    NonWorkingDay {
        /// The date refused.
        date: chrono::NaiveDate,
        /// « samedi », « dimanche » or the holiday's name.
        reason: &'static str,
    },
    /// A schedule that cannot be held (overlaps, hours, past dates, empty).
    #[error("{0}")]
    BadSchedule(String),
    /// A person would be in two places at once.
    #[error("{0}")]
    ScheduleConflict(Conflict),
    /// A refusal about one line of an imported file.
    #[error("ligne {line} : {source}")]
    AtLine {
        /// Line number in the file (the header is line 1).
        line: usize,
        /// What is wrong with it.
        source: Box<CatalogueError>,
    },
    /// The actor may not do this.
    #[error("{0}")]
    Forbidden(&'static str),
    /// Storage failure.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl Classify for CatalogueError {
    fn kind(&self) -> ErrorKind {
        match self {
            CatalogueError::Invalid(_) | CatalogueError::UnknownTrainer(_) | CatalogueError::UnknownVenue(_) => {
                ErrorKind::Invalid
            }
            CatalogueError::UnknownCourse(_) | CatalogueError::UnknownTrainingSession(_) => ErrorKind::NotFound,
            CatalogueError::WrongStatus(_) => ErrorKind::Conflict,
            CatalogueError::NonWorkingDay { .. } | CatalogueError::BadSchedule(_) => ErrorKind::Invalid,
            CatalogueError::AtLine { source, .. } => source.kind(),
            CatalogueError::ScheduleConflict(_) => ErrorKind::Conflict,
            CatalogueError::CorruptData { .. } => ErrorKind::Internal,
            CatalogueError::Forbidden(_) => ErrorKind::Forbidden,
            CatalogueError::Db(e) => e.kind(),
        }
    }
    fn code(&self) -> &'static str {
        match self {
            CatalogueError::Invalid(_) => "invalid_input",
            CatalogueError::UnknownCourse(_) => "unknown_course",
            CatalogueError::UnknownVenue(_) => "unknown_venue",
            CatalogueError::UnknownTrainingSession(_) => "unknown_session",
            CatalogueError::UnknownTrainer(_) => "unknown_trainer",
            CatalogueError::WrongStatus(_) => "wrong_status",
            CatalogueError::NonWorkingDay { .. } => "non_working_day",
            CatalogueError::BadSchedule(_) => "invalid_schedule",
            CatalogueError::AtLine { source, .. } => source.code(),
            CatalogueError::ScheduleConflict(_) => "schedule_conflict",
            CatalogueError::CorruptData { .. } => "corrupt_data",
            CatalogueError::Forbidden(_) => "forbidden",
            CatalogueError::Db(e) => e.code(),
        }
    }
}
