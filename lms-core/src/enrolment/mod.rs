//! Enrolment: seats, the waitlist and its promotions — where "who gets a seat" is decided.
//!
//! Invariants, whatever the load or the order of requests, on both backends:
//! - confirmed enrolments never exceed capacity (`training_sessions.seats_taken` is moved only by a
//!   guarded update inside the same transaction as the enrolment row, and a CHECK backs it);
//! - the waitlist is first come, first served: each waitlisted enrolment holds a ticket
//!   (`waitlist_seq`) and its position is the rank of that ticket, so positions are 1..N with no gap;
//! - a cancellation of a confirmed seat promotes the first ticket in the same transaction;
//! - enrolling twice returns the same answer and writes nothing.
//!
//! Every use case takes the training session's row lock first (SQLite: `BEGIN IMMEDIATE`;
//! PostgreSQL: `SELECT … FOR UPDATE`), so concurrent requests on one session are serialised while
//! requests on different sessions run in parallel on PostgreSQL.

mod requests;
mod trainee;

pub use requests::*;
pub use trainee::*;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use crate::access::Caller;
use crate::catalogue::{CatalogueError, TrainingSessionStatus};
use crate::db::ids::{EnrolmentId, NotificationId, TrainingSessionId, UserId};
use crate::db::schema::{enrolments, notifications, training_sessions};
use crate::db::{self, DbConn, DbError, LockableTable};
use crate::notifications::NotificationKind;
use crate::people::Role;
use crate::{Classify, ErrorKind};

/// Errors of enrolment use cases.
#[derive(Debug, thiserror::Error)]
pub enum EnrolmentError {
    /// No such training session.
    #[error("session inconnue")]
    UnknownTrainingSession,
    /// The session is not open to the public.
    #[error("cette session n'est pas ouverte aux inscriptions")]
    NotOpen,
    /// Outside the enrolment window.
    #[error("les inscriptions à cette session sont closes")]
    WindowClosed,
    /// Enrolment not yet open.
    #[error("les inscriptions à cette session ne sont pas encore ouvertes")]
    WindowNotYetOpen,
    /// The person has no active enrolment in this session.
    #[error("aucune inscription active à cette session")]
    NotEnrolled,
    /// The enrolment is over (completed or abandoned) and cannot change.
    #[error("cette inscription est terminée et ne peut plus être modifiée")]
    Finished,
    /// The trainee's request for this session was refused; the decision stands.
    #[error("votre demande d'inscription à cette session n'a pas été retenue")]
    RequestRefused,
    /// No pending request of that trainee in that session.
    #[error("aucune demande d'inscription en attente pour cette personne dans cette session")]
    NoPendingRequest,
    /// Only administrators decide on requests.
    #[error("{0}")]
    Forbidden(&'static str),
    /// Only trainees enrol (trainers and administrators are refused, as people without a role).
    #[error("seuls les stagiaires peuvent s'inscrire à une session")]
    NotATrainee,
    /// Malformed input.
    #[error("{0}")]
    Invalid(String),
    /// A catalogue read failed (unknown session or course, or storage).
    #[error(transparent)]
    Catalogue(#[from] CatalogueError),
    /// A document could not be rendered.
    #[error(transparent)]
    Pdf(#[from] crate::documents::PdfError),
    /// Storage failure.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl Classify for EnrolmentError {
    fn kind(&self) -> ErrorKind {
        match self {
            EnrolmentError::UnknownTrainingSession | EnrolmentError::NotEnrolled => ErrorKind::NotFound,
            EnrolmentError::NotOpen
            | EnrolmentError::WindowClosed
            | EnrolmentError::WindowNotYetOpen
            | EnrolmentError::Finished
            | EnrolmentError::RequestRefused => ErrorKind::Conflict,
            EnrolmentError::NoPendingRequest => ErrorKind::NotFound,
            EnrolmentError::NotATrainee | EnrolmentError::Forbidden(_) => ErrorKind::Forbidden,
            EnrolmentError::Invalid(_) => ErrorKind::Invalid,
            EnrolmentError::Catalogue(e) => e.kind(),
            EnrolmentError::Pdf(e) => e.kind(),
            EnrolmentError::Db(e) => e.kind(),
        }
    }
    fn code(&self) -> &'static str {
        match self {
            EnrolmentError::UnknownTrainingSession => "unknown_session",
            EnrolmentError::NotOpen => "session_not_open",
            EnrolmentError::WindowClosed => "enrolment_closed",
            EnrolmentError::WindowNotYetOpen => "enrolment_not_open_yet",
            EnrolmentError::NotEnrolled => "not_enrolled",
            EnrolmentError::Finished => "enrolment_finished",
            EnrolmentError::NotATrainee | EnrolmentError::Forbidden(_) => "forbidden",
            EnrolmentError::RequestRefused => "request_refused",
            EnrolmentError::NoPendingRequest => "no_pending_request",
            EnrolmentError::Invalid(_) => "invalid_input",
            EnrolmentError::Catalogue(e) => e.code(),
            EnrolmentError::Pdf(e) => e.code(),
            EnrolmentError::Db(e) => e.code(),
        }
    }
}

crate::text_enum! {
    /// Where an enrolment stands.
    pub enum EnrolmentStatus: "statut d'inscription" {
        /// Has a seat.
        Confirmed = "confirmed", "Confirmée";
        /// Waiting for a seat.
        Waitlisted = "waitlisted", "En liste d'attente";
        /// Withdrawn.
        Cancelled = "cancelled", "Annulée";
        /// Went to the end.
        Completed = "completed", "Terminée";
        /// Dropped out.
        Abandoned = "abandoned", "Abandonnée";
        /// Asked for a seat in a course on request; no seat, no ticket until admitted.
        Requested = "requested", "Demande en attente";
        /// The request was not admitted (the reason is kept).
        Refused = "refused", "Demande non retenue";
    }
}

crate::text_enum! {
    /// Where the review of a trainee's positioning answers stands.
    pub enum PositioningResult: "résultat de positionnement" {
        /// Answers given, not yet reviewed.
        Pending = "pending", "À examiner";
    }
}

impl EnrolmentStatus {
    /// The statuses of trainees who hold (or held to the end) a seat: they sign and are assessed.
    pub const SEATED: [EnrolmentStatus; 2] = [EnrolmentStatus::Confirmed, EnrolmentStatus::Completed];
    /// The statuses of trainees who started the training (seated, or dropped out on the way).
    pub const STARTED: [EnrolmentStatus; 3] =
        [EnrolmentStatus::Confirmed, EnrolmentStatus::Completed, EnrolmentStatus::Abandoned];

    /// Whether a trainee in this status gets a convocation (they hold, or held to the end, a seat).
    pub fn has_convocation(self) -> bool {
        Self::SEATED.contains(&self)
    }
}

/// Funding sources (BPF cadre C).
pub const FUNDING_SOURCES: &[&str] = &[
    "company",
    "opco",
    "cpf",
    "france_travail",
    "region",
    "state",
    "other_public",
    "self_funded",
    "other_provider",
    "other",
];
/// Trainee categories (BPF cadre F-1).
pub const TRAINEE_CATEGORIES: &[&str] = &["employee", "apprentice", "job_seeker", "individual", "other"];

/// Longest answer to one positioning question.
pub const MAX_ANSWER_CHARS: usize = 2_000;

/// What a trainee states when enrolling.
#[derive(Debug, Clone, Default)]
pub struct EnrolmentRequest {
    /// One of [`FUNDING_SOURCES`].
    pub funding_source: Option<String>,
    /// One of [`TRAINEE_CATEGORIES`].
    pub trainee_category: Option<String>,
    /// Answers to the positioning (prerequisites) questions, free text.
    pub positioning_answers: Option<String>,
    /// For a course on request: one answer per positioning question of the course, in order.
    pub answers: Vec<String>,
}

impl EnrolmentRequest {
    /// Checks the stated funding, category and answers (no database).
    pub fn validate(&self) -> Result<(), EnrolmentError> {
        if let Some(f) = &self.funding_source
            && !FUNDING_SOURCES.contains(&f.as_str())
        {
            return Err(EnrolmentError::Invalid(format!(
                "financement inconnu « {} » (attendu : {})",
                f.chars().take(40).collect::<String>(),
                FUNDING_SOURCES.join(", ")
            )));
        }
        if let Some(c) = &self.trainee_category
            && !TRAINEE_CATEGORIES.contains(&c.as_str())
        {
            return Err(EnrolmentError::Invalid(format!(
                "catégorie de stagiaire inconnue « {} » (attendu : {})",
                c.chars().take(40).collect::<String>(),
                TRAINEE_CATEGORIES.join(", ")
            )));
        }
        if self.positioning_answers.as_ref().is_some_and(|a| a.chars().count() > 4_000) {
            return Err(EnrolmentError::Invalid(
                "réponses de positionnement trop longues (4 000 caractères au plus)".into(),
            ));
        }
        if let Some(problem) = self.positioning_answers.as_deref().and_then(crate::text::control_character_problem) {
            return Err(EnrolmentError::Invalid(format!("réponses de positionnement : {problem}")));
        }
        if self.answers.len() > crate::catalogue::MAX_POSITIONING_QUESTIONS {
            return Err(EnrolmentError::Invalid("trop de réponses de positionnement".into()));
        }
        for (index, answer) in self.answers.iter().enumerate() {
            if answer.trim().chars().count() > MAX_ANSWER_CHARS {
                return Err(EnrolmentError::Invalid(format!(
                    "réponse {} trop longue ({MAX_ANSWER_CHARS} caractères au plus)",
                    index + 1
                )));
            }
            if let Some(problem) = crate::text::control_character_problem(answer) {
                return Err(EnrolmentError::Invalid(format!("réponse {} : {problem}", index + 1)));
            }
        }
        Ok(())
    }
}

/// The answer to an enrolment request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnrolmentOutcome {
    /// The enrolment.
    pub enrolment_id: EnrolmentId,
    /// `confirmed` or `waitlisted`, or `requested` for a course on request.
    pub status: EnrolmentStatus,
    /// 1-based rank on the waitlist, when waitlisted.
    pub waitlist_position: Option<i64>,
    /// False when the same request had already been granted (nothing written).
    pub created: bool,
}

/// The answer to a cancellation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CancellationOutcome {
    /// Status before cancelling.
    pub previous_status: EnrolmentStatus,
    /// The trainee promoted to the freed seat, if any.
    pub promoted: Option<UserId>,
}

/// An enrolment's id and where it stands (row type).
#[derive(Queryable, Selectable)]
#[diesel(table_name = enrolments)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
struct EnrolmentStateRow {
    id: EnrolmentId,
    status: EnrolmentStatus,
    waitlist_seq: Option<i64>,
}

/// The first ticket of a waitlist (row type).
#[derive(Queryable, Selectable)]
#[diesel(table_name = enrolments)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
struct WaitingRow {
    id: EnrolmentId,
    trainee_id: UserId,
}

#[derive(Queryable)]
pub(crate) struct SessionState {
    status: TrainingSessionStatus,
    capacity: i32,
    seats_taken: i32,
    waitlist_next_seq: i64,
    enrolment_opens_at: Option<NaiveDateTime>,
    enrolment_closes_at: Option<NaiveDateTime>,
}

pub(crate) fn lock_session(conn: &mut DbConn, session: &TrainingSessionId) -> Result<SessionState, EnrolmentError> {
    db::lock_row_for_update(conn, LockableTable::TrainingSessions, session.as_str())?;
    training_sessions::table
        .find(session)
        .select((
            training_sessions::status,
            training_sessions::capacity,
            training_sessions::seats_taken,
            training_sessions::waitlist_next_seq,
            training_sessions::enrolment_opens_at,
            training_sessions::enrolment_closes_at,
        ))
        .first(conn)
        .optional()
        .map_err(DbError::from)?
        .ok_or(EnrolmentError::UnknownTrainingSession)
}

pub(crate) fn waitlist_position(conn: &mut DbConn, session: &TrainingSessionId, seq: i64) -> Result<i64, DbError> {
    enrolments::table
        .filter(enrolments::training_session_id.eq(session))
        .filter(enrolments::status.eq(EnrolmentStatus::Waitlisted))
        .filter(enrolments::waitlist_seq.le(seq))
        .count()
        .get_result(conn)
        .map_err(DbError::from)
}

/// Enrols the caller, who must be a trainee ([`EnrolmentError::NotATrainee`] otherwise, before
/// anything else is checked): a seat while any is left, otherwise the end of the waitlist.
/// Idempotent: a trainee already confirmed or waitlisted gets the same answer, nothing written.
pub fn enrol_as(
    conn: &mut DbConn,
    session: &TrainingSessionId,
    caller: &Caller,
    request: &EnrolmentRequest,
    now: NaiveDateTime,
) -> Result<EnrolmentOutcome, EnrolmentError> {
    if !caller.has_role(Role::Trainee) {
        return Err(EnrolmentError::NotATrainee);
    }
    enrol(conn, session, &caller.user.id, request, now)
}

/// The columns of a cancelled enrolment: its status, no waitlist ticket, when.
type Cancellation = (
    diesel::dsl::Eq<enrolments::status, EnrolmentStatus>,
    diesel::dsl::Eq<enrolments::waitlist_seq, Option<i64>>,
    diesel::dsl::Eq<enrolments::cancelled_at, Option<NaiveDateTime>>,
    diesel::dsl::Eq<enrolments::updated_at, NaiveDateTime>,
);

fn cancellation(now: NaiveDateTime) -> Cancellation {
    (
        enrolments::status.eq(EnrolmentStatus::Cancelled),
        enrolments::waitlist_seq.eq(None::<i64>),
        enrolments::cancelled_at.eq(Some(now)),
        enrolments::updated_at.eq(now),
    )
}

/// Cancels every confirmed or waitlisted enrolment of a session that is itself cancelled (no
/// promotion: there is no seat left to give). Runs inside the caller's transaction.
pub(crate) fn cancel_all_of_session(
    conn: &mut DbConn,
    session: &TrainingSessionId,
    now: NaiveDateTime,
) -> Result<usize, DbError> {
    diesel::update(enrolments::table.filter(enrolments::training_session_id.eq(session)).filter(
        enrolments::status.eq_any([
            EnrolmentStatus::Confirmed,
            EnrolmentStatus::Waitlisted,
            EnrolmentStatus::Requested,
        ]),
    ))
    .set(cancellation(now))
    .execute(conn)
    .map_err(DbError::from)
}

/// The enrolment itself, for a person already known to be a trainee (the demo loader enrols its
/// own trainees without a caller).
pub(crate) fn enrol(
    conn: &mut DbConn,
    session: &TrainingSessionId,
    trainee: &UserId,
    request: &EnrolmentRequest,
    now: NaiveDateTime,
) -> Result<EnrolmentOutcome, EnrolmentError> {
    request.validate()?;
    db::write_transaction(conn, |conn| {
        let state = lock_session(conn, session)?;
        let existing: Option<EnrolmentStateRow> = enrolments::table
            .filter(enrolments::training_session_id.eq(session))
            .filter(enrolments::trainee_id.eq(trainee))
            .select(EnrolmentStateRow::as_select())
            .first(conn)
            .optional()
            .map_err(DbError::from)?;
        if let Some(EnrolmentStateRow { id, status, waitlist_seq }) = &existing {
            match *status {
                EnrolmentStatus::Confirmed => {
                    return Ok(EnrolmentOutcome {
                        enrolment_id: id.clone(),
                        status: EnrolmentStatus::Confirmed,
                        waitlist_position: None,
                        created: false,
                    });
                }
                EnrolmentStatus::Waitlisted => {
                    let position = waitlist_position(conn, session, waitlist_seq.unwrap_or(i64::MAX))?;
                    return Ok(EnrolmentOutcome {
                        enrolment_id: id.clone(),
                        status: EnrolmentStatus::Waitlisted,
                        waitlist_position: Some(position),
                        created: false,
                    });
                }
                EnrolmentStatus::Requested => {
                    return Ok(EnrolmentOutcome {
                        enrolment_id: id.clone(),
                        status: EnrolmentStatus::Requested,
                        waitlist_position: None,
                        created: false,
                    });
                }
                EnrolmentStatus::Refused => return Err(EnrolmentError::RequestRefused),
                EnrolmentStatus::Completed | EnrolmentStatus::Abandoned => return Err(EnrolmentError::Finished),
                EnrolmentStatus::Cancelled => {} // enrolling again after cancelling is a fresh request
            }
        }
        if !state.status.takes_enrolments() {
            return Err(EnrolmentError::NotOpen);
        }
        if state.enrolment_opens_at.is_some_and(|opens| now < opens) {
            return Err(EnrolmentError::WindowNotYetOpen);
        }
        if state.enrolment_closes_at.is_some_and(|closes| now >= closes) {
            return Err(EnrolmentError::WindowClosed);
        }
        // Refused on the waitlist too: a promotion must never seat someone twice at once.
        if let Some(conflict) = crate::catalogue::trainee_conflict(conn, trainee, session)? {
            return Err(CatalogueError::from(conflict).into());
        }

        // A course on request: the answers are kept and an administrator decides (no seat yet).
        let admission = crate::catalogue::admission_of(conn, session)?;
        if admission.mode == crate::catalogue::AdmissionMode::OnRequest {
            let answers = requests::answers_for(&admission.questions, &request.answers)?;
            return requests::store_request(conn, session, trainee, existing.map(|e| e.id), request, &answers, now);
        }

        let (status, seq) = take_seat_or_ticket(conn, session, &state)?;
        let confirmed = status == EnrolmentStatus::Confirmed;

        let id = match existing {
            Some(EnrolmentStateRow { id, .. }) => {
                diesel::update(enrolments::table.find(&id))
                    .set((
                        enrolments::status.eq(status),
                        enrolments::waitlist_seq.eq(seq),
                        enrolments::funding_source.eq(request.funding_source.as_deref()),
                        enrolments::trainee_category.eq(request.trainee_category.as_deref()),
                        enrolments::positioning_answers.eq(request.positioning_answers.as_deref()),
                        enrolments::updated_at.eq(now),
                        enrolments::confirmed_at.eq(confirmed.then_some(now)),
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
                        enrolments::status.eq(status),
                        enrolments::waitlist_seq.eq(seq),
                        enrolments::funding_source.eq(request.funding_source.as_deref()),
                        enrolments::trainee_category.eq(request.trainee_category.as_deref()),
                        enrolments::positioning_answers.eq(request.positioning_answers.as_deref()),
                        enrolments::positioning_result
                            .eq(request.positioning_answers.as_ref().map(|_| PositioningResult::Pending)),
                        enrolments::created_at.eq(now),
                        enrolments::updated_at.eq(now),
                        enrolments::confirmed_at.eq(confirmed.then_some(now)),
                    ))
                    .execute(conn)
                    .map_err(DbError::from)?;
                id
            }
        };
        let waitlist_position = match seq {
            Some(seq) => Some(waitlist_position(conn, session, seq)?),
            None => None,
        };
        // The message is written with the enrolment: both or neither.
        let message = match waitlist_position {
            Some(rank) => crate::mail::messages::waitlisted(conn, session, trainee, rank)?,
            None => crate::mail::messages::convocation(conn, session, trainee, false)?,
        };
        crate::mail::outbox::enqueue(conn, &message, now)?;
        Ok(EnrolmentOutcome { enrolment_id: id, status, waitlist_position, created: true })
    })
}

/// Takes a seat while any is left, otherwise the next waitlist ticket, inside the caller's
/// transaction holding the session's lock (`state` read under it). The one place seats are taken.
pub(crate) fn take_seat_or_ticket(
    conn: &mut DbConn,
    session: &TrainingSessionId,
    state: &SessionState,
) -> Result<(EnrolmentStatus, Option<i64>), EnrolmentError> {
    if state.seats_taken < state.capacity {
        // Guarded even though we hold the lock: the CHECK and this filter are the backstop.
        let updated = diesel::update(training_sessions::table.find(session))
            .filter(training_sessions::seats_taken.lt(training_sessions::capacity))
            .set(training_sessions::seats_taken.eq(training_sessions::seats_taken + 1))
            .execute(conn)
            .map_err(DbError::from)?;
        if updated != 1 {
            return Err(EnrolmentError::Db(DbError::Busy));
        }
        Ok((EnrolmentStatus::Confirmed, None))
    } else {
        diesel::update(training_sessions::table.find(session))
            .set(training_sessions::waitlist_next_seq.eq(training_sessions::waitlist_next_seq + 1))
            .execute(conn)
            .map_err(DbError::from)?;
        Ok((EnrolmentStatus::Waitlisted, Some(state.waitlist_next_seq)))
    }
}

/// Cancels the caller's confirmed or waitlisted enrolment. A freed seat goes to the first ticket
/// of the waitlist in the same transaction, and that trainee is notified (on `/me` and by a
/// convocation queued in the outbox). No role is required:
/// whoever holds an enrolment may give it up (someone without one gets
/// [`EnrolmentError::NotEnrolled`]).
pub fn cancel(
    conn: &mut DbConn,
    session: &TrainingSessionId,
    caller: &Caller,
    now: NaiveDateTime,
) -> Result<CancellationOutcome, EnrolmentError> {
    let trainee = &caller.user.id;
    db::write_transaction(conn, |conn| {
        lock_session(conn, session)?;
        let EnrolmentStateRow { id, status: previous_status, .. } = enrolments::table
            .filter(enrolments::training_session_id.eq(session))
            .filter(enrolments::trainee_id.eq(trainee))
            .select(EnrolmentStateRow::as_select())
            .first(conn)
            .optional()
            .map_err(DbError::from)?
            .ok_or(EnrolmentError::NotEnrolled)?;
        match previous_status {
            EnrolmentStatus::Confirmed | EnrolmentStatus::Waitlisted | EnrolmentStatus::Requested => {}
            EnrolmentStatus::Cancelled | EnrolmentStatus::Refused => return Err(EnrolmentError::NotEnrolled),
            EnrolmentStatus::Completed | EnrolmentStatus::Abandoned => return Err(EnrolmentError::Finished),
        }
        diesel::update(enrolments::table.find(&id)).set(cancellation(now)).execute(conn).map_err(DbError::from)?;
        // Neither a ticket nor a request holds a seat: nothing to give to the next one.
        if previous_status != EnrolmentStatus::Confirmed {
            return Ok(CancellationOutcome { previous_status, promoted: None });
        }

        match promote_next(conn, session, now)? {
            None => {
                diesel::update(training_sessions::table.find(session))
                    .filter(training_sessions::seats_taken.gt(0))
                    .set(training_sessions::seats_taken.eq(training_sessions::seats_taken - 1))
                    .execute(conn)
                    .map_err(DbError::from)?;
                Ok(CancellationOutcome { previous_status, promoted: None })
            }
            // The seat passes straight from one trainee to the next: seats_taken is unchanged.
            Some(promoted) => Ok(CancellationOutcome { previous_status, promoted: Some(promoted) }),
        }
    })
}

/// Confirms the first waitlisted trainee of `session` who is free at its hours, and notifies
/// them; `None` when nobody can be promoted. The seat count is the caller's to move (a
/// cancellation hands its seat over, a raised capacity adds one). Runs inside the caller's
/// transaction, which holds the session's lock.
fn promote_next(
    conn: &mut DbConn,
    session: &TrainingSessionId,
    now: NaiveDateTime,
) -> Result<Option<UserId>, EnrolmentError> {
    // First come, first served among those free at those hours: someone confirmed elsewhere
    // at the same time since joining keeps their place and is passed over.
    let waiting: Vec<WaitingRow> = enrolments::table
        .filter(enrolments::training_session_id.eq(session))
        .filter(enrolments::status.eq(EnrolmentStatus::Waitlisted))
        .order(enrolments::waitlist_seq.asc())
        .select(WaitingRow::as_select())
        .load(conn)
        .map_err(DbError::from)?;
    let mut next = None;
    for candidate in waiting {
        if crate::catalogue::trainee_conflict(conn, &candidate.trainee_id, session)?.is_none() {
            next = Some(candidate);
            break;
        }
    }
    let Some(WaitingRow { id: promoted_id, trainee_id: promoted_trainee }) = next else {
        return Ok(None);
    };
    diesel::update(enrolments::table.find(&promoted_id))
        .set((
            enrolments::status.eq(EnrolmentStatus::Confirmed),
            enrolments::waitlist_seq.eq(None::<i64>),
            enrolments::confirmed_at.eq(Some(now)),
            enrolments::updated_at.eq(now),
        ))
        .execute(conn)
        .map_err(DbError::from)?;
    diesel::insert_into(notifications::table)
        .values((
            notifications::id.eq(NotificationId::generate()),
            notifications::user_id.eq(&promoted_trainee),
            notifications::kind.eq(NotificationKind::WaitlistPromoted),
            notifications::message.eq("Une place s'est libérée : votre inscription est confirmée."),
            notifications::link.eq(Some(format!("/sessions/{session}"))),
            notifications::created_at.eq(now),
        ))
        .execute(conn)
        .map_err(DbError::from)?;
    let convocation = crate::mail::messages::convocation(conn, session, &promoted_trainee, true)?;
    crate::mail::outbox::enqueue(conn, &convocation, now)?;
    Ok(Some(promoted_trainee))
}

/// Gives every free seat of `session` to the waitlist, in order ([`promote_next`] for each), after
/// its capacity was raised: the promoted trainees, first promoted first. Runs inside the caller's
/// transaction, which holds the session's lock.
pub(crate) fn fill_free_seats(
    conn: &mut DbConn,
    session: &TrainingSessionId,
    now: NaiveDateTime,
) -> Result<Vec<UserId>, EnrolmentError> {
    let mut promoted = Vec::new();
    loop {
        let state = lock_session(conn, session)?;
        if state.seats_taken >= state.capacity {
            break;
        }
        let Some(trainee) = promote_next(conn, session, now)? else {
            break;
        };
        // Guarded as in `enrol`: the CHECK and this filter are the backstop.
        let updated = diesel::update(training_sessions::table.find(session))
            .filter(training_sessions::seats_taken.lt(training_sessions::capacity))
            .set(training_sessions::seats_taken.eq(training_sessions::seats_taken + 1))
            .execute(conn)
            .map_err(DbError::from)?;
        if updated != 1 {
            return Err(EnrolmentError::Db(DbError::Busy));
        }
        promoted.push(trainee);
    }
    Ok(promoted)
}

/// An enrolment as listed for administrators (`lms enrolment list`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct EnrolmentView {
    /// Identifier.
    pub id: EnrolmentId,
    /// Session.
    pub session: TrainingSessionId,
    /// Trainee e-mail.
    pub trainee: String,
    /// Trainee name.
    pub name: String,
    /// Status.
    pub status: EnrolmentStatus,
    /// Rank on the waitlist, when waitlisted.
    pub waitlist_position: Option<i64>,
    /// Funding source.
    pub funding_source: Option<String>,
    /// Trainee category.
    pub trainee_category: Option<String>,
}

/// An enrolment with its trainee, as listed (row type; fields in the order selected).
#[derive(Queryable)]
struct EnrolmentListRow {
    id: EnrolmentId,
    email: String,
    display_name: String,
    status: EnrolmentStatus,
    waitlist_seq: Option<i64>,
    funding_source: Option<String>,
    trainee_category: Option<String>,
}

/// Enrolments of a session: confirmed first, then the waitlist in order, then the others.
pub fn list_enrolments(conn: &mut DbConn, session: &TrainingSessionId) -> Result<Vec<EnrolmentView>, EnrolmentError> {
    use crate::db::schema::users;
    let rows: Vec<EnrolmentListRow> = enrolments::table
        .inner_join(users::table)
        .filter(enrolments::training_session_id.eq(session))
        .order((enrolments::waitlist_seq.asc(), enrolments::created_at.asc()))
        .select((
            enrolments::id,
            users::email,
            users::display_name,
            enrolments::status,
            enrolments::waitlist_seq,
            enrolments::funding_source,
            enrolments::trainee_category,
        ))
        .load(conn)
        .map_err(DbError::from)?;
    let mut views = Vec::with_capacity(rows.len());
    let mut position = 0;
    for EnrolmentListRow { id, email, display_name: name, status, waitlist_seq, funding_source, trainee_category } in
        rows
    {
        let waitlist_position = waitlist_seq.map(|_| {
            position += 1;
            position
        });
        views.push(EnrolmentView {
            id,
            session: session.clone(),
            trainee: email,
            name,
            status,
            waitlist_position,
            funding_source,
            trainee_category,
        });
    }
    let rank = |s: EnrolmentStatus| match s {
        EnrolmentStatus::Confirmed => 0,
        EnrolmentStatus::Waitlisted => 1,
        _ => 2,
    };
    views.sort_by_key(|v| (rank(v.status), v.waitlist_position));
    Ok(views)
}
