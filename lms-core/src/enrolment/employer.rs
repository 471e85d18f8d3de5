//! The trainee's employer for one training, printed on the certificat de réalisation.
//!
//! It belongs to the enrolment, not to the person: the employer is the one who sends (and often
//! funds) the trainee to this training, and a person who changes jobs keeps, on the documents of
//! past trainings, the employer they had then. The office records it; the document only reads it.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{EnrolmentError, EnrolmentStatus};
use crate::db::ids::{TrainingSessionId, UserId};
use crate::db::schema::enrolments;
use crate::db::{self, DbConn, DbError};
use crate::rights::Actor;

/// Longest employer name accepted (a raison sociale with its legal form fits).
pub const MAX_EMPLOYER_CHARS: usize = 160;

/// Enrolments whose trainee followed (or is following) the training.
const FOLLOWED: [EnrolmentStatus; 3] =
    [EnrolmentStatus::Confirmed, EnrolmentStatus::Completed, EnrolmentStatus::Abandoned];

/// Checks an employer name as typed: trimmed, empty means none, no control or direction
/// characters, at most [`MAX_EMPLOYER_CHARS`].
pub fn clean_employer(raw: &str) -> Result<Option<String>, EnrolmentError> {
    let employer = raw.trim();
    if employer.is_empty() {
        return Ok(None);
    }
    if let Some(problem) = crate::text::name_character_problem(employer) {
        return Err(EnrolmentError::Invalid(format!("employeur : {problem}")));
    }
    if employer.chars().count() > MAX_EMPLOYER_CHARS {
        return Err(EnrolmentError::Invalid(format!("employeur : {MAX_EMPLOYER_CHARS} caractères au plus")));
    }
    Ok(Some(employer.to_owned()))
}

/// Records (or, with an empty `employer`, clears) the employer of `trainee` (e-mail or id) for
/// `session`. Office only (the console or an administrator); the trainee must hold a seat, have
/// completed or abandoned the training.
pub fn set_employer(
    conn: &mut DbConn,
    actor: Actor<'_>,
    session: &TrainingSessionId,
    trainee: &str,
    employer: &str,
    now: NaiveDateTime,
) -> Result<Option<String>, EnrolmentError> {
    if !actor.is_office() {
        return Err(EnrolmentError::OfficeOnly);
    }
    let employer = clean_employer(employer)?;
    db::write_transaction(conn, |conn| {
        let trainee_id = crate::roster::find_person(conn, trainee)?
            .ok_or_else(|| EnrolmentError::UnknownTrainee(trainee.trim().to_owned()))?;
        let updated = diesel::update(
            enrolments::table
                .filter(enrolments::training_session_id.eq(session))
                .filter(enrolments::trainee_id.eq(&trainee_id))
                .filter(enrolments::status.eq_any(FOLLOWED)),
        )
        .set((enrolments::employer_name.eq(employer.as_deref()), enrolments::updated_at.eq(now)))
        .execute(conn)
        .map_err(DbError::from)?;
        if updated == 0 {
            return Err(EnrolmentError::NotEnrolled);
        }
        Ok(employer)
    })
}

/// The employer recorded for `trainee` in `session`, if any.
pub fn employer_of(
    conn: &mut DbConn,
    session: &TrainingSessionId,
    trainee: &UserId,
) -> Result<Option<String>, DbError> {
    let found: Option<Option<String>> = enrolments::table
        .filter(enrolments::training_session_id.eq(session))
        .filter(enrolments::trainee_id.eq(trainee))
        .filter(enrolments::status.eq_any(FOLLOWED))
        .select(enrolments::employer_name)
        .first(conn)
        .optional()?;
    Ok(found.flatten())
}
