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

pub mod employer;
pub mod funding;
pub mod office;
mod requests;
mod trainee;

pub use funding::{Funding, FundingPayer, TraineeCategory};
pub use requests::*;
pub use trainee::*;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use crate::access::Caller;
use crate::catalogue::{CatalogueError, TrainingSessionStatus};
use crate::db::ids::{EnrolmentId, TrainingSessionId, UserId};
use crate::db::schema::{enrolments, training_sessions};
use crate::db::{self, DbConn, DbError, LockableTable};
use crate::notifications::SessionNews;
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
    /// The session is over: its enrolments can no longer change.
    #[error("cette session est terminée")]
    SessionFinished,
    /// The session was cancelled.
    #[error("cette session est annulée")]
    SessionCancelled,
    /// The trainee already holds a seat or a ticket in this session.
    #[error("cette personne est déjà inscrite à cette session ({0})")]
    AlreadyEnrolled(&'static str),
    /// No account with this e-mail.
    #[error("aucun compte pour l'adresse « {0} »")]
    UnknownTrainee(String),
    /// The account exists but is not a trainee's.
    #[error("le compte « {0} » n'a pas le rôle stagiaire")]
    NotATraineeAccount(String),
    /// Only the office (an administrator, or the console) runs this.
    #[error("réservé à l'administration")]
    OfficeOnly,
    /// A cancellation by the office must say why.
    #[error("indiquez le motif de l'annulation")]
    ReasonRequired,
    /// The same payer twice in a funding plan.
    #[error("le financeur « {0} » apparaît deux fois dans le plan de financement")]
    DuplicatePayer(&'static str),
    /// The funding plan adds up to more than the course price.
    #[error("le plan de financement ({total}) dépasse le prix de la formation ({price})")]
    FundingExceedsPrice {
        /// The plan's total, in French.
        total: String,
        /// The course price, in French.
        price: String,
    },
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
            EnrolmentError::UnknownTrainingSession
            | EnrolmentError::NotEnrolled
            | EnrolmentError::UnknownTrainee(_) => ErrorKind::NotFound,
            EnrolmentError::NotOpen
            | EnrolmentError::WindowClosed
            | EnrolmentError::WindowNotYetOpen
            | EnrolmentError::Finished
            | EnrolmentError::RequestRefused
            | EnrolmentError::SessionFinished
            | EnrolmentError::SessionCancelled
            | EnrolmentError::AlreadyEnrolled(_) => ErrorKind::Conflict,
            EnrolmentError::NoPendingRequest => ErrorKind::NotFound,
            EnrolmentError::NotATrainee | EnrolmentError::Forbidden(_) | EnrolmentError::OfficeOnly => {
                ErrorKind::Forbidden
            }
            EnrolmentError::Invalid(_)
            | EnrolmentError::NotATraineeAccount(_)
            | EnrolmentError::ReasonRequired
            | EnrolmentError::DuplicatePayer(_)
            | EnrolmentError::FundingExceedsPrice { .. } => ErrorKind::Invalid,
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
            EnrolmentError::NotATrainee | EnrolmentError::Forbidden(_) | EnrolmentError::OfficeOnly => "forbidden",
            EnrolmentError::RequestRefused => "request_refused",
            EnrolmentError::NoPendingRequest => "no_pending_request",
            EnrolmentError::SessionFinished => "session_finished",
            EnrolmentError::SessionCancelled => "session_cancelled",
            EnrolmentError::AlreadyEnrolled(_) => "already_enrolled",
            EnrolmentError::UnknownTrainee(_) => "unknown_trainee",
            EnrolmentError::NotATraineeAccount(_) => "not_a_trainee",
            EnrolmentError::ReasonRequired => "reason_required",
            EnrolmentError::DuplicatePayer(_) => "duplicate_payer",
            EnrolmentError::FundingExceedsPrice { .. } => "funding_exceeds_price",
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

/// Longest answer to one positioning question.
pub const MAX_ANSWER_CHARS: usize = 2_000;

/// What a trainee states when enrolling, as typed (the door's raw text).
#[derive(Debug, Clone, Default)]
pub struct EnrolmentRequest {
    /// A [`FundingPayer`] (its stored text, or `employer` / `self`).
    pub funding_source: Option<String>,
    /// A [`TraineeCategory`].
    pub trainee_category: Option<String>,
    /// Answers to the positioning (prerequisites) questions, free text.
    pub positioning_answers: Option<String>,
    /// For a course on request: one answer per positioning question of the course, in order.
    pub answers: Vec<String>,
}

/// An enrolment request once checked: typed funding and category.
#[derive(Debug, Clone, Default)]
pub(crate) struct Stated {
    pub(crate) funding_source: Option<FundingPayer>,
    pub(crate) trainee_category: Option<TraineeCategory>,
    pub(crate) positioning_answers: Option<String>,
    /// Answers to a course's positioning questions (courses on request).
    pub(crate) answers: Vec<String>,
}

impl EnrolmentRequest {
    /// Checks the stated funding, category and answers (no database).
    pub fn validate(&self) -> Result<(), EnrolmentError> {
        self.checked().map(|_| ())
    }

    pub(crate) fn checked(&self) -> Result<Stated, EnrolmentError> {
        let funding_source = self.funding_source.as_deref().map(FundingPayer::parse_input).transpose()?;
        let trainee_category = self.trainee_category.as_deref().map(TraineeCategory::parse_input).transpose()?;
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
        Ok(Stated {
            funding_source,
            trainee_category,
            positioning_answers: self.positioning_answers.clone(),
            answers: self.answers.clone(),
        })
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
    /// Status now: `cancelled`, or `abandoned` when the session had started.
    pub status: EnrolmentStatus,
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

/// A session's counters, window and status (row type; fields in the order selected).
#[derive(Queryable)]
struct SessionCounters {
    status: TrainingSessionStatus,
    capacity: i32,
    seats_taken: i32,
    waitlist_next_seq: i64,
    enrolment_opens_at: Option<NaiveDateTime>,
    enrolment_closes_at: Option<NaiveDateTime>,
}

/// What decides whether a session takes enrolments: its status, window and schedule bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnrolmentFacts {
    /// The session's status.
    pub status: TrainingSessionStatus,
    /// When enrolment opens, if set.
    pub opens_at: Option<NaiveDateTime>,
    /// When enrolment closes, if set.
    pub closes_at: Option<NaiveDateTime>,
    /// Start of the first half-day (UTC), if any.
    pub first_start: Option<NaiveDateTime>,
    /// End of the last half-day (UTC), if any.
    pub last_end: Option<NaiveDateTime>,
}

/// Why a session takes no enrolment now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum EnrolmentClosure {
    /// Not published (a draft).
    NotPublished,
    /// Called off.
    Cancelled,
    /// Its last half-day is over (or it is marked completed).
    Finished,
    /// Its first half-day has started.
    UnderWay,
    /// Its enrolment window closed at this time (UTC).
    Closed {
        /// When.
        at: NaiveDateTime,
    },
    /// Its enrolment window opens at this time (UTC).
    NotYetOpen {
        /// When.
        at: NaiveDateTime,
    },
}

impl EnrolmentClosure {
    /// What the pages say, in French.
    pub fn explanation_fr(self) -> String {
        use crate::locale::{date_fr, to_paris};
        match self {
            EnrolmentClosure::NotPublished => "Les inscriptions à cette session ne sont pas ouvertes.".into(),
            EnrolmentClosure::Cancelled => "Session annulée.".into(),
            EnrolmentClosure::Finished => "Session terminée.".into(),
            EnrolmentClosure::UnderWay => "Session en cours.".into(),
            EnrolmentClosure::Closed { at } => format!("Inscriptions closes le {}.", date_fr(to_paris(at).date())),
            EnrolmentClosure::NotYetOpen { at } => {
                format!("Inscriptions ouvertes à partir du {}.", date_fr(to_paris(at).date()))
            }
        }
    }

    /// The refusal a trainee's enrolment gets (the codes the API has always answered: a
    /// session under way or over is `enrolment_closed`, a cancelled one `session_not_open`).
    fn refusal(self) -> EnrolmentError {
        match self {
            EnrolmentClosure::NotPublished | EnrolmentClosure::Cancelled => EnrolmentError::NotOpen,
            EnrolmentClosure::Finished | EnrolmentClosure::UnderWay => EnrolmentError::WindowClosed,
            EnrolmentClosure::Closed { .. } => EnrolmentError::WindowClosed,
            EnrolmentClosure::NotYetOpen { .. } => EnrolmentError::WindowNotYetOpen,
        }
    }
}

impl EnrolmentFacts {
    /// **The one decision of whether a session takes a trainee's enrolment at `now`**, and why
    /// not: used by [`enrol_as`] and by the session page.
    pub fn closure(&self, now: NaiveDateTime) -> Option<EnrolmentClosure> {
        match self.status {
            TrainingSessionStatus::Cancelled => return Some(EnrolmentClosure::Cancelled),
            TrainingSessionStatus::Completed => return Some(EnrolmentClosure::Finished),
            TrainingSessionStatus::Draft => return Some(EnrolmentClosure::NotPublished),
            TrainingSessionStatus::Published => {}
        }
        if self.has_ended(now) {
            return Some(EnrolmentClosure::Finished);
        }
        if self.has_started(now) {
            return Some(EnrolmentClosure::UnderWay);
        }
        if let Some(at) = self.closes_at.filter(|closes| now >= *closes) {
            return Some(EnrolmentClosure::Closed { at });
        }
        if let Some(at) = self.opens_at.filter(|opens| now < *opens) {
            return Some(EnrolmentClosure::NotYetOpen { at });
        }
        None
    }

    /// Whether the first half-day has started.
    pub fn has_started(&self, now: NaiveDateTime) -> bool {
        self.first_start.is_some_and(|start| now >= start)
    }

    /// Whether the session is over (completed, or its last half-day ended).
    pub fn has_ended(&self, now: NaiveDateTime) -> bool {
        self.status == TrainingSessionStatus::Completed || self.last_end.is_some_and(|end| now >= end)
    }
}

/// A locked session: counters and the facts enrolment is decided on.
pub(crate) struct SessionState {
    capacity: i32,
    seats_taken: i32,
    waitlist_next_seq: i64,
    facts: EnrolmentFacts,
}

/// The facts of one session (no lock), for pages and for [`lock_session`].
pub fn enrolment_facts(conn: &mut DbConn, session: &TrainingSessionId) -> Result<EnrolmentFacts, EnrolmentError> {
    Ok(read_session(conn, session)?.facts)
}

fn read_session(conn: &mut DbConn, session: &TrainingSessionId) -> Result<SessionState, EnrolmentError> {
    use crate::db::schema::half_days;
    use diesel::dsl::{max, min};
    let counters: SessionCounters = training_sessions::table
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
        .ok_or(EnrolmentError::UnknownTrainingSession)?;
    let (first_start, last_end): (Option<NaiveDateTime>, Option<NaiveDateTime>) = half_days::table
        .filter(half_days::training_session_id.eq(session))
        .select((min(half_days::starts_at), max(half_days::ends_at)))
        .first(conn)
        .map_err(DbError::from)?;
    Ok(SessionState {
        capacity: counters.capacity,
        seats_taken: counters.seats_taken,
        waitlist_next_seq: counters.waitlist_next_seq,
        facts: EnrolmentFacts {
            status: counters.status,
            opens_at: counters.enrolment_opens_at,
            closes_at: counters.enrolment_closes_at,
            first_start,
            last_end,
        },
    })
}

pub(crate) fn lock_session(conn: &mut DbConn, session: &TrainingSessionId) -> Result<SessionState, EnrolmentError> {
    db::lock_row_for_update(conn, LockableTable::TrainingSessions, session.as_str())?;
    read_session(conn, session)
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

/// Cancels every confirmed or waitlisted enrolment (and pending request) of a session that is
/// itself cancelled, each keeping the session's reason (no promotion: there is no seat left to
/// give). Runs inside the caller's transaction.
pub(crate) fn cancel_all_of_session(
    conn: &mut DbConn,
    session: &TrainingSessionId,
    reason: &str,
    now: NaiveDateTime,
) -> Result<usize, DbError> {
    diesel::update(enrolments::table.filter(enrolments::training_session_id.eq(session)).filter(
        enrolments::status.eq_any([
            EnrolmentStatus::Confirmed,
            EnrolmentStatus::Waitlisted,
            EnrolmentStatus::Requested,
        ]),
    ))
    .set((cancellation(now), enrolments::cancel_reason.eq(reason)))
    .execute(conn)
    .map_err(DbError::from)
}

/// Who asks for a seat: a trainee follows the session's enrolment window; the office may enrol
/// in a draft, after the window or once the session is under way, never in a cancelled or
/// finished session, nor twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Door {
    Trainee,
    Office,
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
    let stated = request.checked()?;
    db::write_transaction(conn, |conn| seat(conn, session, trainee, &stated, Door::Trainee, now))
}

/// A seat or a waitlist ticket, inside the caller's write transaction: the one place where the
/// seat rules (capacity, waitlist order, schedule conflicts, idempotence) are applied.
pub(crate) fn seat(
    conn: &mut DbConn,
    session: &TrainingSessionId,
    trainee: &UserId,
    stated: &Stated,
    door: Door,
    now: NaiveDateTime,
) -> Result<EnrolmentOutcome, EnrolmentError> {
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
    match (door, state.facts.closure(now)) {
        (_, None) => {}
        (Door::Office, Some(EnrolmentClosure::Cancelled)) => return Err(EnrolmentError::SessionCancelled),
        (Door::Office, Some(EnrolmentClosure::Finished)) => return Err(EnrolmentError::SessionFinished),
        (Door::Office, Some(_)) => {}
        (Door::Trainee, Some(closure)) => return Err(closure.refusal()),
    }
    // Refused on the waitlist too: a promotion must never seat someone twice at once.
    if let Some(conflict) = crate::catalogue::trainee_conflict(conn, trainee, session)? {
        return Err(CatalogueError::from(conflict).into());
    }

    // A course on request: the answers are kept and an administrator decides (no seat yet). The
    // office enrols directly: its decision is the admission.
    if door == Door::Trainee {
        let admission = crate::catalogue::admission_of(conn, session)?;
        if admission.mode == crate::catalogue::AdmissionMode::OnRequest {
            let answers = requests::answers_for(&admission.questions, &stated.answers)?;
            return requests::store_request(conn, session, trainee, existing.map(|e| e.id), stated, &answers, now);
        }
    }

    let (status, seq) = take_seat_or_ticket(conn, session, &state)?;
    let confirmed = status == EnrolmentStatus::Confirmed;

    let id = match existing {
        Some(EnrolmentStateRow { id, .. }) => {
            diesel::update(enrolments::table.find(&id))
                .set((
                    enrolments::status.eq(status),
                    enrolments::waitlist_seq.eq(seq),
                    enrolments::funding_source.eq(stated.funding_source),
                    enrolments::trainee_category.eq(stated.trainee_category),
                    enrolments::positioning_answers.eq(stated.positioning_answers.as_deref()),
                    enrolments::updated_at.eq(now),
                    enrolments::confirmed_at.eq(confirmed.then_some(now)),
                    enrolments::cancelled_at.eq(None::<NaiveDateTime>),
                    enrolments::cancel_reason.eq(None::<String>),
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
                    enrolments::funding_source.eq(stated.funding_source),
                    enrolments::trainee_category.eq(stated.trainee_category),
                    enrolments::positioning_answers.eq(stated.positioning_answers.as_deref()),
                    enrolments::positioning_result
                        .eq(stated.positioning_answers.as_ref().map(|_| PositioningResult::Pending)),
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
        None => crate::mail::messages::convocation(conn, session, trainee, false, now)?,
    };
    crate::mail::outbox::enqueue(conn, &message, now)?;
    Ok(EnrolmentOutcome { enrolment_id: id, status, waitlist_position, created: true })
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

/// Cancels the caller's confirmed or waitlisted enrolment (see [`withdraw`]: once the session
/// has started, a seat given up is an abandonment). No role is required: whoever holds an
/// enrolment may give it up (someone without one gets [`EnrolmentError::NotEnrolled`]).
pub fn cancel(
    conn: &mut DbConn,
    session: &TrainingSessionId,
    caller: &Caller,
    now: NaiveDateTime,
) -> Result<CancellationOutcome, EnrolmentError> {
    let trainee = &caller.user.id;
    db::write_transaction(conn, |conn| withdraw(conn, session, trainee, None, now))
}

/// What withdrawing from a session does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WithdrawalEffect {
    /// The enrolment (seat, ticket or request) is cancelled.
    Cancel,
    /// The seat of a session under way becomes an abandonment; the hours attended stay.
    Abandon,
}

/// **The one decision of what withdrawing does**, for an enrolment in `previous_status` at `now`:
/// refused when nothing is live or the session is over, an abandonment for a seat once the first
/// half-day has started, a cancellation otherwise. [`withdraw`] acts on it; the session page and
/// the confirmation page announce it.
pub fn withdrawal_effect(
    previous_status: EnrolmentStatus,
    facts: &EnrolmentFacts,
    now: NaiveDateTime,
) -> Result<WithdrawalEffect, EnrolmentError> {
    match previous_status {
        EnrolmentStatus::Confirmed | EnrolmentStatus::Waitlisted | EnrolmentStatus::Requested => {}
        EnrolmentStatus::Cancelled | EnrolmentStatus::Refused => return Err(EnrolmentError::NotEnrolled),
        EnrolmentStatus::Completed | EnrolmentStatus::Abandoned => return Err(EnrolmentError::Finished),
    }
    if facts.has_ended(now) {
        return Err(EnrolmentError::SessionFinished);
    }
    if previous_status == EnrolmentStatus::Confirmed && facts.has_started(now) {
        Ok(WithdrawalEffect::Abandon)
    } else {
        Ok(WithdrawalEffect::Cancel)
    }
}

/// **The one path of every cancellation** (the trainee's own, the office's with a reason), inside
/// the caller's write transaction. Before the first half-day starts, the enrolment is cancelled;
/// after, a confirmed seat becomes an abandonment (`abandoned`, `abandoned_at`; the hours attended
/// stay on the record). A finished session is refused. A freed seat goes to the first ticket of
/// the waitlist still free at those hours, and that trainee is notified.
pub(crate) fn withdraw(
    conn: &mut DbConn,
    session: &TrainingSessionId,
    trainee: &UserId,
    reason: Option<&str>,
    now: NaiveDateTime,
) -> Result<CancellationOutcome, EnrolmentError> {
    let state = lock_session(conn, session)?;
    let EnrolmentStateRow { id, status: previous_status, .. } = enrolments::table
        .filter(enrolments::training_session_id.eq(session))
        .filter(enrolments::trainee_id.eq(trainee))
        .select(EnrolmentStateRow::as_select())
        .first(conn)
        .optional()
        .map_err(DbError::from)?
        .ok_or(EnrolmentError::NotEnrolled)?;
    let abandoned = withdrawal_effect(previous_status, &state.facts, now)? == WithdrawalEffect::Abandon;
    let status = if abandoned {
        diesel::update(enrolments::table.find(&id))
            .set((
                enrolments::status.eq(EnrolmentStatus::Abandoned),
                enrolments::abandoned_at.eq(Some(now)),
                enrolments::cancel_reason.eq(reason),
                enrolments::updated_at.eq(now),
            ))
            .execute(conn)
            .map_err(DbError::from)?;
        EnrolmentStatus::Abandoned
    } else {
        diesel::update(enrolments::table.find(&id))
            .set((cancellation(now), enrolments::cancel_reason.eq(reason)))
            .execute(conn)
            .map_err(DbError::from)?;
        EnrolmentStatus::Cancelled
    };
    // Neither a ticket nor a request holds a seat: nothing to give to the next one.
    if previous_status != EnrolmentStatus::Confirmed {
        return Ok(CancellationOutcome { previous_status, status, promoted: None });
    }

    match promote_next(conn, session, now)? {
        None => {
            diesel::update(training_sessions::table.find(session))
                .filter(training_sessions::seats_taken.gt(0))
                .set(training_sessions::seats_taken.eq(training_sessions::seats_taken - 1))
                .execute(conn)
                .map_err(DbError::from)?;
            Ok(CancellationOutcome { previous_status, status, promoted: None })
        }
        // The seat passes straight from one trainee to the next: seats_taken is unchanged.
        Some(promoted) => Ok(CancellationOutcome { previous_status, status, promoted: Some(promoted) }),
    }
}

/// Writes a notification about a session for a person (inside the caller's transaction).
pub(crate) fn notify(
    conn: &mut DbConn,
    person: &UserId,
    news: &SessionNews<'_>,
    session: &TrainingSessionId,
    now: NaiveDateTime,
) -> Result<(), DbError> {
    crate::notifications::notify_about_session(conn, std::slice::from_ref(person), news, session, now)
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
    notify(conn, &promoted_trainee, &SessionNews::WaitlistPromoted, session, now)?;
    let convocation = crate::mail::messages::convocation(conn, session, &promoted_trainee, true, now)?;
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
