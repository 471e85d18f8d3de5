//! Admission on request: for a course whose admission is `on_request`, enrolling stores a
//! request with the trainee's answers to the course's positioning questions; an administrator
//! admits it (a seat, or a waitlist ticket when full, by the same rule as an open enrolment) or
//! refuses it with a reason that is kept and told to the trainee. Trainers of the session read
//! the requests and their answers; only administrators (and the console) decide.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use super::{
    EnrolmentError, EnrolmentOutcome, EnrolmentStatus, MAX_ANSWER_CHARS, PositioningResult, Stated, lock_session,
    take_seat_or_ticket, waitlist_position,
};
use crate::db::ids::{EnrolmentId, TrainingSessionId, UserId};
use crate::db::json_text::{JsonText, to_json_text};
use crate::db::schema::{enrolments, training_sessions, users};
use crate::db::{self, DbConn, DbError};
use crate::notifications::SessionNews;
use crate::rights::Actor;

/// Longest reason given with a decision.
pub const MAX_REASON_CHARS: usize = 1_000;

/// One positioning question and the trainee's answer, as stored with a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PositioningAnswer {
    /// The question, as the course asked it when the request was made.
    pub question: String,
    /// The answer, trimmed.
    pub answer: String,
}

/// Pairs the course's questions with the trainee's answers: one non-empty answer per question.
pub(crate) fn answers_for(questions: &[String], answers: &[String]) -> Result<Vec<PositioningAnswer>, EnrolmentError> {
    if answers.len() != questions.len() {
        return Err(EnrolmentError::Invalid(format!(
            "cette formation est sur demande : répondez aux {} questions de positionnement ({} réponse(s) reçue(s))",
            questions.len(),
            answers.len()
        )));
    }
    questions
        .iter()
        .zip(answers)
        .enumerate()
        .map(|(index, (question, answer))| {
            let answer = answer.trim();
            if answer.is_empty() {
                return Err(EnrolmentError::Invalid(format!(
                    "réponse {} manquante (« {} »)",
                    index + 1,
                    crate::text::printable(question, 80)
                )));
            }
            if answer.chars().count() > MAX_ANSWER_CHARS {
                return Err(EnrolmentError::Invalid(format!(
                    "réponse {} trop longue ({MAX_ANSWER_CHARS} caractères au plus)",
                    index + 1
                )));
            }
            Ok(PositioningAnswer { question: question.clone(), answer: answer.to_owned() })
        })
        .collect()
}

/// Stores a request (a new row, or the trainee's earlier cancelled one), inside the enrolment
/// transaction: no seat, no ticket, the answers kept for whoever decides.
pub(crate) fn store_request(
    conn: &mut DbConn,
    session: &TrainingSessionId,
    trainee: &UserId,
    existing: Option<EnrolmentId>,
    stated: &Stated,
    answers: &[PositioningAnswer],
    now: NaiveDateTime,
) -> Result<EnrolmentOutcome, EnrolmentError> {
    let answers_json = to_json_text(answers)?;
    let id = match existing {
        Some(id) => {
            diesel::update(enrolments::table.find(&id))
                .set((
                    enrolments::status.eq(EnrolmentStatus::Requested),
                    enrolments::waitlist_seq.eq(None::<i64>),
                    enrolments::funding_source.eq(stated.funding_source),
                    enrolments::trainee_category.eq(stated.trainee_category),
                    enrolments::positioning_answers.eq(stated.positioning_answers.as_deref()),
                    enrolments::positioning_result.eq(Some(PositioningResult::Pending)),
                    enrolments::request_answers.eq(Some(&answers_json)),
                    enrolments::decision_reason.eq(None::<String>),
                    enrolments::decided_at.eq(None::<NaiveDateTime>),
                    enrolments::updated_at.eq(now),
                    enrolments::confirmed_at.eq(None::<NaiveDateTime>),
                    enrolments::cancelled_at.eq(None::<NaiveDateTime>),
                ))
                .execute(conn)
                .map_err(DbError::from)?;
            id
        }
        None => {
            let id = EnrolmentId::generate();
            diesel::insert_into(enrolments::table)
                .values((
                    enrolments::id.eq(&id),
                    enrolments::training_session_id.eq(session),
                    enrolments::trainee_id.eq(trainee),
                    enrolments::status.eq(EnrolmentStatus::Requested),
                    enrolments::funding_source.eq(stated.funding_source),
                    enrolments::trainee_category.eq(stated.trainee_category),
                    enrolments::positioning_answers.eq(stated.positioning_answers.as_deref()),
                    enrolments::positioning_result.eq(Some(PositioningResult::Pending)),
                    enrolments::request_answers.eq(Some(&answers_json)),
                    enrolments::created_at.eq(now),
                    enrolments::updated_at.eq(now),
                ))
                .execute(conn)
                .map_err(DbError::from)?;
            id
        }
    };
    Ok(EnrolmentOutcome {
        enrolment_id: id,
        status: EnrolmentStatus::Requested,
        waitlist_position: None,
        created: true,
    })
}

/// A request as listed for whoever reviews it (`lms enrolment requests`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RequestView {
    /// Enrolment id.
    pub id: EnrolmentId,
    /// Trainee e-mail.
    pub trainee: String,
    /// Trainee name.
    pub name: String,
    /// `requested` (pending) or `refused`.
    pub status: EnrolmentStatus,
    /// When the request was made (UTC).
    pub requested_at: NaiveDateTime,
    /// The answers to the positioning questions.
    pub answers: Vec<PositioningAnswer>,
    /// The reason of a refusal.
    pub decision_reason: Option<String>,
    /// When it was decided (UTC).
    pub decided_at: Option<NaiveDateTime>,
}

/// A request with its trainee (row type; fields in the order selected).
#[derive(Queryable)]
struct RequestRow {
    id: EnrolmentId,
    email: String,
    display_name: String,
    status: EnrolmentStatus,
    created_at: NaiveDateTime,
    request_answers: Option<JsonText<Vec<PositioningAnswer>>>,
    decision_reason: Option<String>,
    decided_at: Option<NaiveDateTime>,
}

/// The requests of a session, pending first then refused, oldest first: administrators, the
/// console and the session's trainers (who read the answers but do not decide).
pub fn list_requests(
    conn: &mut DbConn,
    actor: Actor<'_>,
    session: &TrainingSessionId,
) -> Result<Vec<RequestView>, EnrolmentError> {
    db::read_transaction(conn, |conn| {
        let exists: bool = diesel::select(diesel::dsl::exists(training_sessions::table.find(session)))
            .get_result(conn)
            .map_err(DbError::from)?;
        if !exists {
            return Err(EnrolmentError::UnknownTrainingSession);
        }
        match actor {
            _ if actor.is_office() => {}
            Actor::Console => {}
            Actor::Person(caller) => {
                if !crate::rights::teaches(conn, &caller.user.id, session)? {
                    return Err(EnrolmentError::Forbidden(
                        "réservé aux formateur·rices de la session et aux administrateur·rices",
                    ));
                }
            }
        }
        let rows: Vec<RequestRow> = enrolments::table
            .inner_join(users::table)
            .filter(enrolments::training_session_id.eq(session))
            .filter(enrolments::status.eq_any([EnrolmentStatus::Requested, EnrolmentStatus::Refused]))
            .order((enrolments::status.asc(), enrolments::created_at.asc(), users::email.asc()))
            .select((
                enrolments::id,
                users::email,
                users::display_name,
                enrolments::status,
                enrolments::created_at,
                enrolments::request_answers,
                enrolments::decision_reason,
                enrolments::decided_at,
            ))
            .load(conn)
            .map_err(DbError::from)?;
        // `requested` sorts after `refused` as text: pending requests come first.
        let mut views: Vec<RequestView> = rows
            .into_iter()
            .map(|r| RequestView {
                id: r.id,
                trainee: r.email,
                name: r.display_name,
                status: r.status,
                requested_at: r.created_at,
                answers: r.request_answers.map(JsonText::into_inner).unwrap_or_default(),
                decision_reason: r.decision_reason,
                decided_at: r.decided_at,
            })
            .collect();
        views.sort_by_key(|v| v.status != EnrolmentStatus::Requested);
        Ok(views)
    })
}

/// What a decision on a request gave.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DecisionOutcome {
    /// The enrolment.
    pub enrolment_id: EnrolmentId,
    /// `confirmed`, `waitlisted` when admitted to a full session, or `refused`.
    pub status: EnrolmentStatus,
    /// Rank on the waitlist, when waitlisted.
    pub waitlist_position: Option<i64>,
}

/// A reason as stored: trimmed, checked; `None` when blank.
fn checked_reason(reason: Option<&str>) -> Result<Option<String>, EnrolmentError> {
    let Some(reason) = reason.map(str::trim).filter(|r| !r.is_empty()) else {
        return Ok(None);
    };
    if reason.chars().count() > MAX_REASON_CHARS {
        return Err(EnrolmentError::Invalid(format!("motif trop long ({MAX_REASON_CHARS} caractères au plus)")));
    }
    if let Some(problem) = crate::text::control_character_problem(reason) {
        return Err(EnrolmentError::Invalid(format!("motif : {problem}")));
    }
    Ok(Some(reason.to_owned()))
}

/// The pending request of `trainee` (an e-mail) in `session`, under the session's lock.
fn pending_request(
    conn: &mut DbConn,
    session: &TrainingSessionId,
    trainee: &str,
) -> Result<(EnrolmentId, UserId), EnrolmentError> {
    let trainee_id = crate::people::user_id_by_email(conn, trainee)?.ok_or(EnrolmentError::NoPendingRequest)?;
    let id: EnrolmentId = enrolments::table
        .filter(enrolments::training_session_id.eq(session))
        .filter(enrolments::trainee_id.eq(&trainee_id))
        .filter(enrolments::status.eq(EnrolmentStatus::Requested))
        .select(enrolments::id)
        .first(conn)
        .optional()
        .map_err(DbError::from)?
        .ok_or(EnrolmentError::NoPendingRequest)?;
    Ok((id, trainee_id))
}

fn notify(
    conn: &mut DbConn,
    user: &UserId,
    news: &SessionNews<'_>,
    session: &TrainingSessionId,
    now: NaiveDateTime,
) -> Result<(), DbError> {
    crate::notifications::notify_about_session(conn, std::slice::from_ref(user), news, session, now)
}

/// Admits a pending request: a seat while any is left, otherwise the end of the waitlist (the
/// same rule and code as an open enrolment), and a notification to the trainee, in one
/// transaction. Administrators and the console only; the optional reason is kept.
pub fn admit(
    conn: &mut DbConn,
    actor: Actor<'_>,
    session: &TrainingSessionId,
    trainee: &str,
    reason: Option<&str>,
    now: NaiveDateTime,
) -> Result<DecisionOutcome, EnrolmentError> {
    crate::catalogue::ensure_admin(actor)?;
    let reason = checked_reason(reason)?;
    db::write_transaction(conn, |conn| {
        let state = lock_session(conn, session)?;
        let (id, trainee_id) = pending_request(conn, session, trainee)?;
        // The office's decision: as for an office enrolment, only a cancelled or finished
        // session is closed to it.
        match state.facts.closure(now) {
            Some(super::EnrolmentClosure::Cancelled) => return Err(EnrolmentError::SessionCancelled),
            Some(super::EnrolmentClosure::Finished) => return Err(EnrolmentError::SessionFinished),
            _ => {}
        }
        if let Some(conflict) = crate::catalogue::trainee_conflict(conn, &trainee_id, session)? {
            return Err(crate::catalogue::CatalogueError::from(conflict).into());
        }
        let (status, seq) = take_seat_or_ticket(conn, session, &state)?;
        diesel::update(enrolments::table.find(&id))
            .set((
                enrolments::status.eq(status),
                enrolments::waitlist_seq.eq(seq),
                enrolments::decision_reason.eq(reason.as_deref()),
                enrolments::decided_at.eq(Some(now)),
                enrolments::updated_at.eq(now),
                enrolments::confirmed_at.eq((status == EnrolmentStatus::Confirmed).then_some(now)),
            ))
            .execute(conn)
            .map_err(DbError::from)?;
        let waitlist_position = match seq {
            Some(seq) => Some(waitlist_position(conn, session, seq)?),
            None => None,
        };
        let news = SessionNews::RequestAdmitted { waitlist_position, comment: reason.as_deref() };
        notify(conn, &trainee_id, &news, session, now)?;
        // The e-mail of an admission is that of a seat taken: the convocation, or the waitlist.
        let mail = match waitlist_position {
            Some(rank) => crate::mail::messages::waitlisted(conn, session, &trainee_id, rank)?,
            None => crate::mail::messages::convocation(conn, session, &trainee_id, false, now)?,
        };
        crate::mail::outbox::enqueue(conn, &mail, now)?;
        Ok(DecisionOutcome { enrolment_id: id, status, waitlist_position })
    })
}

/// Refuses a pending request with a reason (required), kept on the enrolment and told to the
/// trainee by a notification, in one transaction. Administrators and the console only.
pub fn refuse(
    conn: &mut DbConn,
    actor: Actor<'_>,
    session: &TrainingSessionId,
    trainee: &str,
    reason: Option<&str>,
    now: NaiveDateTime,
) -> Result<DecisionOutcome, EnrolmentError> {
    crate::catalogue::ensure_admin(actor)?;
    let reason = checked_reason(reason)?
        .ok_or_else(|| EnrolmentError::Invalid("un refus se motive : donnez la raison (--reason)".into()))?;
    db::write_transaction(conn, |conn| {
        lock_session(conn, session)?;
        let (id, trainee_id) = pending_request(conn, session, trainee)?;
        diesel::update(enrolments::table.find(&id))
            .set((
                enrolments::status.eq(EnrolmentStatus::Refused),
                enrolments::decision_reason.eq(Some(&reason)),
                enrolments::decided_at.eq(Some(now)),
                enrolments::updated_at.eq(now),
            ))
            .execute(conn)
            .map_err(DbError::from)?;
        notify(conn, &trainee_id, &SessionNews::RequestRefused { reason: &reason }, session, now)?;
        let mail = crate::mail::messages::request_refused(conn, session, &trainee_id, &reason)?;
        crate::mail::outbox::enqueue(conn, &mail, now)?;
        Ok(DecisionOutcome { enrolment_id: id, status: EnrolmentStatus::Refused, waitlist_position: None })
    })
}
