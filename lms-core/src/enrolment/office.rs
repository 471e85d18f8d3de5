//! Enrolments run by the office (`lms enrolment add|cancel`): an administrator enrols someone,
//! for example on a funder's order, with a funding plan and a BPF category, or cancels an
//! enrolment with a reason. The seat rules and the cancellation path are those of
//! [`super::seat`] and [`super::withdraw`]; this module adds who may act and what the office
//! states.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use super::funding::{self, Funding, TraineeCategory};
use super::{CancellationOutcome, Door, EnrolmentError, EnrolmentOutcome, EnrolmentStatus, Stated};
use crate::db::ids::{TrainingSessionId, UserId};
use crate::db::schema::{courses, training_sessions};
use crate::db::{self, DbConn, DbError};
use crate::notifications::SessionNews;
use crate::people::{self, Role};
use crate::rights::Actor;

/// The longest cancellation reason kept, in characters.
const MAX_REASON_CHARS: usize = 500;

/// What the office states when enrolling someone.
#[derive(Debug, Clone, Default)]
pub struct OfficeEnrolment {
    /// The trainee's e-mail address (an existing account with the trainee role).
    pub trainee_email: String,
    /// The funding plan, checked against the course price (may be empty).
    pub funding: Vec<Funding>,
    /// The trainee's BPF category.
    pub category: Option<TraineeCategory>,
}

/// The answer to [`add`]: the seat or the waitlist rank, and who was enrolled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OfficeEnrolmentOutcome {
    /// The trainee's e-mail.
    pub trainee: String,
    /// The seat or the ticket.
    #[serde(flatten)]
    pub outcome: EnrolmentOutcome,
    /// The funding plan recorded.
    pub funding: Vec<Funding>,
    /// Its total, in euro cents.
    pub funding_total_cents: i64,
}

/// The answer to [`cancel`]: what became of the enrolment and who got the seat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OfficeCancellationOutcome {
    /// The trainee's e-mail.
    pub trainee: String,
    /// The status before, the status now (`cancelled` or `abandoned`) and the promotion.
    #[serde(flatten)]
    pub outcome: CancellationOutcome,
    /// The e-mail of the trainee promoted to the freed seat, if any.
    pub promoted_email: Option<String>,
}

fn ensure_office(actor: Actor<'_>) -> Result<(), EnrolmentError> {
    if actor.is_office() { Ok(()) } else { Err(EnrolmentError::OfficeOnly) }
}

/// The trainee behind an e-mail: an existing account with the trainee role.
fn trainee_by_email(conn: &mut DbConn, email: &str) -> Result<people::UserView, EnrolmentError> {
    let shown = || email.chars().take(80).collect::<String>();
    let user = people::find_user_by_email(conn, email).map_err(|e| match e {
        people::PeopleError::Db(e) => EnrolmentError::Db(e),
        _ => EnrolmentError::UnknownTrainee(shown()),
    })?;
    if !user.roles.contains(&Role::Trainee) {
        return Err(EnrolmentError::NotATraineeAccount(user.email));
    }
    Ok(user)
}

/// Enrols a trainee on the office's word, in one transaction: the same seat rules as a trainee's
/// own enrolment (a seat while any is left, else the waitlist; no schedule conflict), outside
/// the enrolment window if need be, never in a cancelled or finished session, never twice
/// ([`EnrolmentError::AlreadyEnrolled`]). The funding plan must add up to at most the course
/// price; its largest payer becomes the enrolment's `funding_source`. The trainee is notified.
pub fn add(
    conn: &mut DbConn,
    actor: Actor<'_>,
    session: &TrainingSessionId,
    request: &OfficeEnrolment,
    now: NaiveDateTime,
) -> Result<OfficeEnrolmentOutcome, EnrolmentError> {
    ensure_office(actor)?;
    db::write_transaction(conn, |conn| {
        let trainee = trainee_by_email(conn, &request.trainee_email)?;
        let price: i64 = training_sessions::table
            .inner_join(courses::table)
            .filter(training_sessions::id.eq(session))
            .select(courses::price_cents)
            .first(conn)
            .optional()
            .map_err(DbError::from)?
            .ok_or(EnrolmentError::UnknownTrainingSession)?;
        funding::check_plan(&request.funding, price)?;
        let stated = Stated {
            funding_source: funding::main_payer(&request.funding),
            trainee_category: request.category,
            positioning_answers: None,
            answers: Vec::new(),
        };
        let outcome = super::seat(conn, session, &trainee.id, &stated, Door::Office, now)?;
        if !outcome.created {
            return Err(EnrolmentError::AlreadyEnrolled(outcome.status.label_fr()));
        }
        funding::write_plan(conn, &outcome.enrolment_id, &request.funding)?;
        let news = SessionNews::EnrolledByOffice { waitlist_position: outcome.waitlist_position };
        super::notify(conn, &trainee.id, &news, session, now)?;
        Ok(OfficeEnrolmentOutcome {
            trainee: trainee.email,
            funding_total_cents: request.funding.iter().map(|f| f.amount_cents).sum(),
            funding: request.funding.clone(),
            outcome,
        })
    })
}

/// Cancels a trainee's enrolment on the office's word, with a reason (required, kept on the
/// enrolment), through the same path as the trainee's own cancellation: an abandonment once the
/// session has started, refused once it is over; the freed seat is promoted; the trainee is
/// notified.
pub fn cancel(
    conn: &mut DbConn,
    actor: Actor<'_>,
    session: &TrainingSessionId,
    trainee_email: &str,
    reason: &str,
    now: NaiveDateTime,
) -> Result<OfficeCancellationOutcome, EnrolmentError> {
    ensure_office(actor)?;
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(EnrolmentError::ReasonRequired);
    }
    if reason.chars().count() > MAX_REASON_CHARS {
        return Err(EnrolmentError::Invalid(format!("motif trop long ({MAX_REASON_CHARS} caractères au plus)")));
    }
    if let Some(problem) = crate::text::control_character_problem(reason) {
        return Err(EnrolmentError::Invalid(format!("motif : {problem}")));
    }
    db::write_transaction(conn, |conn| {
        let trainee = trainee_by_email(conn, trainee_email)?;
        let outcome = super::withdraw(conn, session, &trainee.id, Some(reason), now)?;
        let news = SessionNews::EnrolmentCancelled { abandoned: outcome.status == EnrolmentStatus::Abandoned, reason };
        super::notify(conn, &trainee.id, &news, session, now)?;
        let mail = crate::mail::messages::enrolment_cancelled(
            conn,
            session,
            &trainee.id,
            reason,
            outcome.status == EnrolmentStatus::Abandoned,
            outcome.previous_status == EnrolmentStatus::Confirmed,
            now,
        )?;
        crate::mail::outbox::enqueue(conn, &mail, now)?;
        let promoted_email = match &outcome.promoted {
            Some(id) => Some(email_of(conn, id)?),
            None => None,
        };
        Ok(OfficeCancellationOutcome { trainee: trainee.email, outcome, promoted_email })
    })
}

fn email_of(conn: &mut DbConn, id: &UserId) -> Result<String, DbError> {
    use crate::db::schema::users;
    Ok(users::table.find(id).select(users::email).first(conn)?)
}
