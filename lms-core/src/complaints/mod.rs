//! The complaints register (Qualiopi indicator 31) and the improvement actions it leads to
//! (indicator 32).
//!
//! Anyone may send a complaint or report a difficulty, with or without an account ([`submit`]);
//! a trainer records an incident during one of their sessions ([`record_incident`]). Each gets a
//! gapless yearly reference (`REC-2026-0001`) and an answer deadline counted in working days
//! ([`answer_due_on`]). The office then moves it, one step at a time and in this order only:
//! [`acknowledge`], [`answer`] (the answer is e-mailed to its author), [`close`]. Each step keeps
//! who and when on the row and a line of history ([`ComplaintStep`]). [`is_overdue`] is the one
//! rule of lateness. Improvement actions live in [`actions`]; the auditor's tables in
//! [`evidence()`]; the public figures in [`public_summary`].

pub mod actions;
mod evidence;
mod export;
mod mail;

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;

pub use evidence::evidence;
pub use export::COLUMNS as CSV_COLUMNS;
pub(crate) use export::write_csv;

use crate::access::limiter::{self, Locked};
use crate::access::{Caller, ClientInfo};
use crate::attendance::AttendanceError;
use crate::catalogue::{HolidayRegion, non_working_reason};
use crate::db::ids::{ComplaintEventId, ComplaintId, TrainingSessionId, UserId};
use crate::db::schema::{complaint_counters, complaint_events, complaints, improvement_actions, training_sessions};
use crate::db::{self, DbConn, DbError};
use crate::documents::organisation::QualitySettings;
use crate::rights::{self, Actor};
use crate::{Classify, ErrorKind, locale, people, text};

/// Longest subject, in characters.
pub const MAX_SUBJECT_CHARS: usize = 200;
/// Longest message, answer or note, in characters.
pub const MAX_MESSAGE_CHARS: usize = 5_000;
/// Longest author name, in characters.
pub const MAX_NAME_CHARS: usize = 120;
/// What the history names as the author of a step taken at the command line.
pub const CONSOLE: &str = "console";

crate::text_enum! {
    /// What was reported.
    pub enum ComplaintKind: "nature de réclamation" {
        /// A complaint about the service.
        Complaint = "complaint", "Réclamation";
        /// A difficulty met during a training (not a complaint, but it needs an answer).
        Difficulty = "difficulty", "Difficulté";
        /// An incident noted by a trainer during a session.
        Incident = "incident", "Incident";
    }
}

crate::text_enum! {
    /// Where a complaint stands; it only moves forward, one step at a time.
    pub enum ComplaintStatus: "statut de réclamation" {
        /// Received, nobody has looked at it yet.
        New = "new", "Reçue";
        /// The office has read it and is working on it.
        Acknowledged = "acknowledged", "Prise en compte";
        /// The answer was sent to its author.
        Answered = "answered", "Répondue";
        /// Nothing more to do.
        Closed = "closed", "Close";
    }
}

crate::text_enum! {
    /// A line of a complaint's history.
    pub enum ComplaintStep: "étape de réclamation" {
        /// The complaint was received.
        Received = "received", "Réception";
        /// The office acknowledged it.
        Acknowledged = "acknowledged", "Prise en compte";
        /// The office answered it.
        Answered = "answered", "Réponse";
        /// The office closed it.
        Closed = "closed", "Clôture";
    }
}

/// Errors of the complaints register.
#[derive(Debug, thiserror::Error)]
pub enum ComplaintError {
    /// A field breaks a rule.
    #[error("{0}")]
    Invalid(String),
    /// The training session named does not exist.
    #[error("session inconnue : « {0} »")]
    UnknownSession(String),
    /// No complaint has this reference.
    #[error("aucune réclamation n'a la référence « {0} »")]
    NotFound(String),
    /// No improvement action has this identifier.
    #[error("aucune action d'amélioration n'a l'identifiant « {0} »")]
    ActionNotFound(String),
    /// The action was already marked done.
    #[error("cette action d'amélioration est déjà réalisée (le {0})")]
    ActionAlreadyDone(String),
    /// Only the office may do this.
    #[error("{0}")]
    Forbidden(&'static str),
    /// The step does not follow the complaint's status.
    #[error("{message}")]
    OutOfOrder {
        /// Stable code of the refusal.
        code: &'static str,
        /// French explanation.
        message: String,
    },
    /// Too many complaints from this client or for this address.
    #[error("trop de réclamations envoyées : réessayez dans {minutes} minute(s), ou écrivez-nous directement")]
    TooManyRequests {
        /// Minutes until the lock ends.
        minutes: i64,
    },
    /// A session right was refused (incidents).
    #[error(transparent)]
    Session(#[from] AttendanceError),
    /// Storage failure.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl Classify for ComplaintError {
    fn kind(&self) -> ErrorKind {
        match self {
            ComplaintError::Invalid(_) | ComplaintError::UnknownSession(_) => ErrorKind::Invalid,
            ComplaintError::NotFound(_) | ComplaintError::ActionNotFound(_) => ErrorKind::NotFound,
            ComplaintError::ActionAlreadyDone(_) | ComplaintError::OutOfOrder { .. } => ErrorKind::Conflict,
            ComplaintError::Forbidden(_) => ErrorKind::Forbidden,
            ComplaintError::TooManyRequests { .. } => ErrorKind::RateLimited,
            ComplaintError::Session(e) => e.kind(),
            ComplaintError::Db(e) => e.kind(),
        }
    }

    fn code(&self) -> &'static str {
        match self {
            ComplaintError::Invalid(_) => "invalid_input",
            ComplaintError::UnknownSession(_) => "unknown_session",
            ComplaintError::NotFound(_) => "complaint_not_found",
            ComplaintError::ActionNotFound(_) => "improvement_action_not_found",
            ComplaintError::ActionAlreadyDone(_) => "improvement_action_already_done",
            ComplaintError::Forbidden(_) => "forbidden",
            ComplaintError::OutOfOrder { code, .. } => code,
            ComplaintError::TooManyRequests { .. } => "too_many_attempts",
            ComplaintError::Session(e) => e.code(),
            ComplaintError::Db(e) => e.code(),
        }
    }
}

const OFFICE_ONLY: &str = "seule l'administration de l'organisme traite les réclamations";

fn ensure_office(actor: Actor<'_>) -> Result<(), ComplaintError> {
    if actor.is_office() { Ok(()) } else { Err(ComplaintError::Forbidden(OFFICE_ONLY)) }
}

fn actor_name(actor: Actor<'_>) -> String {
    match actor {
        Actor::Console => CONSOLE.to_owned(),
        Actor::Person(caller) => caller.user.name.clone(),
    }
}

// ---------------------------------------------------------------------------------------------
// Rules

/// The last day to answer a complaint received on `received`: `working_days` working days later,
/// weekends and French public holidays skipped (a complaint received on a Friday with 1 day is
/// due on Monday, or Tuesday when Monday is a holiday).
pub fn answer_due_on(received: NaiveDate, working_days: u32) -> NaiveDate {
    let mut day = received;
    let mut counted = 0;
    // Bounded: 60 working days never span more than a few months.
    for _ in 0..400 {
        if counted >= working_days {
            break;
        }
        day += Duration::days(1);
        if non_working_reason(day, HolidayRegion::General).is_none() {
            counted += 1;
        }
    }
    day
}

/// **Whether a complaint is overdue**: not answered yet and its answer day has passed (Paris
/// date of `today`). The one rule behind the lists, the evidence and the public figures.
pub fn is_overdue(status: ComplaintStatus, answer_due_on: NaiveDate, today: NaiveDate) -> bool {
    matches!(status, ComplaintStatus::New | ComplaintStatus::Acknowledged) && today > answer_due_on
}

/// Whether the deadline was kept: `Some(true)` answered on or before the due day, `Some(false)`
/// answered late or overdue, `None` still within its time.
pub fn deadline_kept(
    status: ComplaintStatus,
    answered_at: Option<NaiveDateTime>,
    answer_due_on: NaiveDate,
    today: NaiveDate,
) -> Option<bool> {
    match answered_at {
        Some(at) => Some(paris_date(at) <= answer_due_on),
        None if is_overdue(status, answer_due_on, today) => Some(false),
        None => None,
    }
}

fn paris_date(utc: NaiveDateTime) -> NaiveDate {
    locale::to_paris(utc).date()
}

/// Checks a free text (message, answer, note): required, at most `max` characters, no control
/// character but line breaks and tabs. Returns it trimmed.
fn checked_text(raw: &str, what: &str, max: usize) -> Result<String, ComplaintError> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(ComplaintError::Invalid(format!("{what} est obligatoire")));
    }
    if trimmed.chars().count() > max {
        return Err(ComplaintError::Invalid(format!("{what} dépasse {max} caractères")));
    }
    if let Some(problem) = text::control_character_problem(trimmed) {
        return Err(ComplaintError::Invalid(format!("{what} : {problem}")));
    }
    Ok(trimmed.to_owned())
}

/// Checks a one-line text (subject, name, owner): as [`checked_text`], without line breaks.
fn checked_line(raw: &str, what: &str, max: usize) -> Result<String, ComplaintError> {
    let line = checked_text(raw, what, max)?;
    if let Some(problem) = text::name_character_problem(&line) {
        return Err(ComplaintError::Invalid(format!("{what} : {problem}")));
    }
    Ok(line)
}

// ---------------------------------------------------------------------------------------------
// Rows and views

/// A complaint as stored (row type).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = complaints)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
struct ComplaintRow {
    id: ComplaintId,
    reference: String,
    kind: ComplaintKind,
    status: ComplaintStatus,
    author_name: String,
    author_email: String,
    author_id: Option<UserId>,
    subject: String,
    message: String,
    received_at: NaiveDateTime,
    answer_due_on: NaiveDate,
    acknowledged_at: Option<NaiveDateTime>,
    answer: Option<String>,
    answered_at: Option<NaiveDateTime>,
    closed_at: Option<NaiveDateTime>,
}

/// One complaint in a list: what the office needs to triage it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ComplaintLine {
    /// `REC-2026-0001`.
    pub reference: String,
    /// What was reported.
    pub kind: ComplaintKind,
    /// Where it stands.
    pub status: ComplaintStatus,
    /// Who sent it.
    pub author_name: String,
    /// Their address (the answer goes there).
    pub author_email: String,
    /// Whether the author was signed in (the complaint is linked to their account).
    pub has_account: bool,
    /// The training session it is about, by reference.
    pub session: Option<String>,
    /// Its subject.
    pub subject: String,
    /// When it was received (UTC).
    pub received_at: NaiveDateTime,
    /// The last day to answer.
    pub answer_due_on: NaiveDate,
    /// Not answered and past its answer day ([`is_overdue`]).
    pub overdue: bool,
}

/// One line of a complaint's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Queryable)]
pub struct ComplaintEvent {
    /// The step taken.
    pub step: ComplaintStep,
    /// Who took it: a person's name, or « console ».
    pub by: String,
    /// When (UTC).
    pub at: NaiveDateTime,
    /// The note left with it (the answer's text is on the complaint).
    pub note: Option<String>,
}

/// A complaint with its message, answer, history and improvement actions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ComplaintDetail {
    /// What a list shows.
    #[serde(flatten)]
    pub line: ComplaintLine,
    /// The author's message.
    pub message: String,
    /// When it was acknowledged.
    pub acknowledged_at: Option<NaiveDateTime>,
    /// The answer sent.
    pub answer: Option<String>,
    /// When it was answered.
    pub answered_at: Option<NaiveDateTime>,
    /// When it was closed.
    pub closed_at: Option<NaiveDateTime>,
    /// Every step, oldest first.
    pub history: Vec<ComplaintEvent>,
    /// Improvement actions opened from it.
    pub actions: Vec<actions::ImprovementAction>,
}

/// What the author is told once the complaint is recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Receipt {
    /// `REC-2026-0001`.
    pub reference: String,
    /// What was reported.
    pub kind: ComplaintKind,
    /// Where it stands (new).
    pub status: ComplaintStatus,
    /// When it was received (UTC).
    pub received_at: NaiveDateTime,
    /// The last day to answer.
    pub answer_due_on: NaiveDate,
    /// Where the acknowledgement and the answer go.
    pub email: String,
}

// ---------------------------------------------------------------------------------------------
// Submission

/// A complaint or difficulty as typed on `/reclamation` or sent to `POST /api/v1/complaints`.
#[derive(Debug, Clone, Default)]
pub struct NewComplaint {
    /// The author's name (ignored when signed in: the account's name is used).
    pub name: String,
    /// The author's address (ignored when signed in).
    pub email: String,
    /// Complaint or difficulty (an incident is recorded by a trainer, [`record_incident`]).
    pub kind: Option<ComplaintKind>,
    /// A training session's reference or id, when it is about one.
    pub session: Option<String>,
    /// Subject, one line.
    pub subject: String,
    /// The message.
    pub message: String,
}

/// A submission whose every field passed its check.
struct Checked {
    kind: ComplaintKind,
    author_name: String,
    author_email: String,
    author_id: Option<UserId>,
    session: Option<TrainingSessionId>,
    subject: String,
    message: String,
}

fn find_session(conn: &mut DbConn, raw: &str) -> Result<TrainingSessionId, ComplaintError> {
    let raw = raw.trim();
    let shown = text::printable(raw, 60);
    let by_id = TrainingSessionId::parse(raw).ok();
    let mut query = training_sessions::table.filter(training_sessions::reference.eq(raw)).into_boxed();
    if let Some(id) = by_id {
        query = query.or_filter(training_sessions::id.eq(id));
    }
    query
        .select(training_sessions::id)
        .first(conn)
        .optional()
        .map_err(DbError::from)?
        .ok_or(ComplaintError::UnknownSession(shown))
}

fn check_submission(
    conn: &mut DbConn,
    caller: Option<&Caller>,
    input: &NewComplaint,
) -> Result<Checked, ComplaintError> {
    let kind = input.kind.unwrap_or(ComplaintKind::Complaint);
    if kind == ComplaintKind::Incident {
        return Err(ComplaintError::Invalid(
            "un incident est consigné par le formateur ou la formatrice de la session ; choisissez « réclamation » \
             ou « difficulté »"
                .into(),
        ));
    }
    let (author_name, author_email, author_id) = match caller {
        Some(caller) => (caller.user.name.clone(), caller.user.email.clone(), Some(caller.user.id.clone())),
        None => {
            let name = checked_line(&input.name, "le nom", MAX_NAME_CHARS)?;
            let email = people::normalize_email(&input.email).map_err(|e| ComplaintError::Invalid(e.to_string()))?;
            (name, email, None)
        }
    };
    let subject = checked_line(&input.subject, "l'objet", MAX_SUBJECT_CHARS)?;
    let message = checked_text(&input.message, "le message", MAX_MESSAGE_CHARS)?;
    let session = match input.session.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(raw) => Some(find_session(conn, raw)?),
        None => None,
    };
    Ok(Checked { kind, author_name, author_email, author_id, session, subject, message })
}

/// Records a complaint or a difficulty from anyone: a signed-in `caller`'s is linked to their
/// account (name and address from it). Every field is checked first, then the limiter is charged
/// ([`limiter::complaint_limits`]: per address and per e-mail); a refusal writes nothing. The
/// complaint, its first history line and the acknowledgement e-mail (reference and answer day)
/// are written in one transaction.
pub fn submit(
    conn: &mut DbConn,
    caller: Option<&Caller>,
    input: &NewComplaint,
    client: &ClientInfo,
    now: NaiveDateTime,
) -> Result<Receipt, ComplaintError> {
    let checked = db::read_transaction(conn, |conn| check_submission(conn, caller, input))?;
    let limits = limiter::complaint_limits(&checked.author_email, client.ip.as_deref());
    if let Err(Locked { minutes }) = limiter::reserve(conn, &limits, now)? {
        return Err(ComplaintError::TooManyRequests { minutes });
    }
    with_retry(conn, |conn| record(conn, &checked, true, now))
}

/// Runs a write that numbers a complaint: two first complaints of a year racing to create the
/// counter make one of them fail on its key; it starts again and finds the counter.
fn with_retry<T>(
    conn: &mut DbConn,
    mut work: impl FnMut(&mut DbConn) -> Result<T, ComplaintError>,
) -> Result<T, ComplaintError> {
    let mut tries = 0;
    loop {
        tries += 1;
        match db::write_transaction(conn, &mut work) {
            Err(ComplaintError::Db(error)) if tries < 4 && error.unique_violation().is_some() => continue,
            other => return other,
        }
    }
}

/// The next reference of `year`, numbered without gaps: the counter moves in the transaction
/// that records the complaint (the update takes the row lock on PostgreSQL, the write lock on
/// SQLite), so a rolled-back complaint gives its number back.
fn next_reference(conn: &mut DbConn, year: i32) -> Result<String, DbError> {
    let updated = diesel::update(complaint_counters::table.find(year))
        .set(complaint_counters::last_seq.eq(complaint_counters::last_seq + 1))
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(complaint_counters::table)
            .values((complaint_counters::year.eq(year), complaint_counters::last_seq.eq(1_i64)))
            .execute(conn)?;
    }
    let seq: i64 = complaint_counters::table.find(year).select(complaint_counters::last_seq).first(conn)?;
    Ok(format!("REC-{year}-{seq:04}"))
}

fn record(
    conn: &mut DbConn,
    checked: &Checked,
    send_mail: bool,
    now: NaiveDateTime,
) -> Result<Receipt, ComplaintError> {
    let received_on = paris_date(now);
    let settings = QualitySettings::load(conn)?;
    let due = answer_due_on(received_on, settings.complaint_answer_days);
    let reference = next_reference(conn, received_on.year())?;
    let id = ComplaintId::generate();
    diesel::insert_into(complaints::table)
        .values((
            complaints::id.eq(&id),
            complaints::reference.eq(&reference),
            complaints::kind.eq(checked.kind),
            complaints::status.eq(ComplaintStatus::New),
            complaints::author_name.eq(&checked.author_name),
            complaints::author_email.eq(&checked.author_email),
            complaints::author_id.eq(&checked.author_id),
            complaints::training_session_id.eq(&checked.session),
            complaints::subject.eq(&checked.subject),
            complaints::message.eq(&checked.message),
            complaints::received_at.eq(now),
            complaints::answer_due_on.eq(due),
        ))
        .execute(conn)
        .map_err(DbError::from)?;
    add_event(conn, &id, ComplaintStep::Received, checked.author_id.as_ref(), &checked.author_name, None, now)?;
    let receipt = Receipt {
        reference,
        kind: checked.kind,
        status: ComplaintStatus::New,
        received_at: now,
        answer_due_on: due,
        email: checked.author_email.clone(),
    };
    if send_mail && checked.kind != ComplaintKind::Incident {
        let message = mail::acknowledgement(conn, &checked.author_name, &checked.author_email, &receipt)?;
        crate::mail::outbox::enqueue(conn, &message, now)?;
    }
    Ok(receipt)
}

fn add_event(
    conn: &mut DbConn,
    complaint: &ComplaintId,
    step: ComplaintStep,
    actor: Option<&UserId>,
    actor_name: &str,
    note: Option<&str>,
    now: NaiveDateTime,
) -> Result<(), DbError> {
    diesel::insert_into(complaint_events::table)
        .values((
            complaint_events::id.eq(ComplaintEventId::generate()),
            complaint_events::complaint_id.eq(complaint),
            complaint_events::step.eq(step),
            complaint_events::actor_id.eq(actor),
            complaint_events::actor_name.eq(actor_name),
            complaint_events::at.eq(now),
            complaint_events::note.eq(note),
        ))
        .execute(conn)?;
    Ok(())
}

/// Records an incident noted by `caller` during `session`, which they must teach
/// ([`rights::ensure_trainer_of`]). It lands in the register as kind incident, linked to the
/// session, authored by the trainer; no acknowledgement is mailed. An empty subject becomes
/// « Incident en session ».
pub fn record_incident(
    conn: &mut DbConn,
    caller: &Caller,
    session: &TrainingSessionId,
    subject: &str,
    note: &str,
    now: NaiveDateTime,
) -> Result<Receipt, ComplaintError> {
    let subject = if subject.trim().is_empty() {
        "Incident en session".to_owned()
    } else {
        checked_line(subject, "l'objet", MAX_SUBJECT_CHARS)?
    };
    let message = checked_text(note, "la description de l'incident", MAX_MESSAGE_CHARS)?;
    with_retry(conn, |conn| {
        rights::ensure_trainer_of(conn, caller, session)?;
        let checked = Checked {
            kind: ComplaintKind::Incident,
            author_name: caller.user.name.clone(),
            author_email: caller.user.email.clone(),
            author_id: Some(caller.user.id.clone()),
            session: Some(session.clone()),
            subject: subject.clone(),
            message: message.clone(),
        };
        record(conn, &checked, false, now)
    })
}

// ---------------------------------------------------------------------------------------------
// Steps

fn find_row(conn: &mut DbConn, reference: &str) -> Result<ComplaintRow, ComplaintError> {
    let reference = reference.trim().to_uppercase();
    complaints::table
        .filter(complaints::reference.eq(&reference))
        .select(ComplaintRow::as_select())
        .first(conn)
        .optional()
        .map_err(DbError::from)?
        .ok_or_else(|| ComplaintError::NotFound(text::printable(&reference, 40)))
}

fn out_of_order(row: &ComplaintRow, wanted: ComplaintStep) -> ComplaintError {
    let reference = &row.reference;
    let (code, message) = match (row.status, wanted) {
        (ComplaintStatus::Closed, _) => {
            ("complaint_closed", format!("la réclamation {reference} est close : plus aucune étape n'est possible"))
        }
        (_, ComplaintStep::Acknowledged) => (
            "complaint_already_acknowledged",
            format!("la réclamation {reference} est déjà prise en compte (statut « {} »)", row.status.label_fr()),
        ),
        (ComplaintStatus::New, ComplaintStep::Answered) => (
            "complaint_not_acknowledged",
            format!(
                "la réclamation {reference} n'est pas encore prise en compte : accusez-en réception avant d'y répondre"
            ),
        ),
        (ComplaintStatus::Answered, ComplaintStep::Answered) => {
            ("complaint_already_answered", format!("la réclamation {reference} a déjà reçu une réponse"))
        }
        (_, _) => (
            "complaint_not_answered",
            format!("la réclamation {reference} n'a pas reçu de réponse : répondez avant de la clore"),
        ),
    };
    ComplaintError::OutOfOrder { code, message }
}

/// The status a step needs and the one it leads to.
fn transition(step: ComplaintStep) -> (ComplaintStatus, ComplaintStatus) {
    match step {
        ComplaintStep::Received | ComplaintStep::Acknowledged => (ComplaintStatus::New, ComplaintStatus::Acknowledged),
        ComplaintStep::Answered => (ComplaintStatus::Acknowledged, ComplaintStatus::Answered),
        ComplaintStep::Closed => (ComplaintStatus::Answered, ComplaintStatus::Closed),
    }
}

/// Moves `row` one step: the update is guarded by the expected status, so of two offices taking
/// the same step at once only one does.
fn take_step(
    conn: &mut DbConn,
    actor: Actor<'_>,
    row: &ComplaintRow,
    step: ComplaintStep,
    answer: Option<&str>,
    note: Option<&str>,
    now: NaiveDateTime,
) -> Result<(), ComplaintError> {
    let (from, to) = transition(step);
    if row.status != from {
        return Err(out_of_order(row, step));
    }
    let by = actor.person().cloned();
    let target = complaints::table.find(&row.id).filter(complaints::status.eq(from));
    let updated = match step {
        ComplaintStep::Received | ComplaintStep::Acknowledged => diesel::update(target)
            .set((
                complaints::status.eq(to),
                complaints::acknowledged_at.eq(Some(now)),
                complaints::acknowledged_by.eq(&by),
            ))
            .execute(conn),
        ComplaintStep::Answered => diesel::update(target)
            .set((
                complaints::status.eq(to),
                complaints::answer.eq(answer),
                complaints::answered_at.eq(Some(now)),
                complaints::answered_by.eq(&by),
            ))
            .execute(conn),
        ComplaintStep::Closed => diesel::update(target)
            .set((complaints::status.eq(to), complaints::closed_at.eq(Some(now)), complaints::closed_by.eq(&by)))
            .execute(conn),
    }
    .map_err(DbError::from)?;
    if updated != 1 {
        let current = find_row(conn, &row.reference)?;
        return Err(out_of_order(&current, step));
    }
    add_event(conn, &row.id, step, by.as_ref(), &actor_name(actor), note, now)?;
    Ok(())
}

fn checked_note(note: Option<&str>) -> Result<Option<String>, ComplaintError> {
    match note.map(str::trim).filter(|n| !n.is_empty()) {
        Some(note) => Ok(Some(checked_text(note, "la note", MAX_MESSAGE_CHARS)?)),
        None => Ok(None),
    }
}

/// The office acknowledges a new complaint (`new` → `acknowledged`), with an optional note.
pub fn acknowledge(
    conn: &mut DbConn,
    actor: Actor<'_>,
    reference: &str,
    note: Option<&str>,
    now: NaiveDateTime,
) -> Result<ComplaintDetail, ComplaintError> {
    ensure_office(actor)?;
    let note = checked_note(note)?;
    db::write_transaction(conn, |conn| {
        let row = find_row(conn, reference)?;
        take_step(conn, actor, &row, ComplaintStep::Acknowledged, None, note.as_deref(), now)?;
        detail(conn, &row.reference, now)
    })
}

/// The office answers an acknowledged complaint (`acknowledged` → `answered`): the text is
/// required, stored, and e-mailed to the author in the same transaction. An improvement action
/// may be opened from the answer at once (`action`).
pub fn answer(
    conn: &mut DbConn,
    actor: Actor<'_>,
    reference: &str,
    text: &str,
    action: Option<&actions::NewAction>,
    now: NaiveDateTime,
) -> Result<ComplaintDetail, ComplaintError> {
    ensure_office(actor)?;
    let text = checked_text(text, "la réponse", MAX_MESSAGE_CHARS)?;
    let action = action.map(actions::check).transpose()?;
    db::write_transaction(conn, |conn| {
        let row = find_row(conn, reference)?;
        take_step(conn, actor, &row, ComplaintStep::Answered, Some(&text), None, now)?;
        let message = mail::answer(conn, &row.author_name, &row.author_email, &row.reference, &row.subject, &text)?;
        crate::mail::outbox::enqueue(conn, &message, now)?;
        if let Some(action) = &action {
            actions::insert(conn, actor, Some(&row.id), action, now)?;
        }
        detail(conn, &row.reference, now)
    })
}

/// The office closes an answered complaint (`answered` → `closed`), with an optional note.
pub fn close(
    conn: &mut DbConn,
    actor: Actor<'_>,
    reference: &str,
    note: Option<&str>,
    now: NaiveDateTime,
) -> Result<ComplaintDetail, ComplaintError> {
    ensure_office(actor)?;
    let note = checked_note(note)?;
    db::write_transaction(conn, |conn| {
        let row = find_row(conn, reference)?;
        take_step(conn, actor, &row, ComplaintStep::Closed, None, note.as_deref(), now)?;
        detail(conn, &row.reference, now)
    })
}

// ---------------------------------------------------------------------------------------------
// Reading

/// Which complaints [`list`] returns.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ListFilter {
    /// Only this status.
    pub status: Option<ComplaintStatus>,
    /// Only overdue complaints ([`is_overdue`]).
    pub overdue_only: bool,
}

fn line(row: &ComplaintRow, session: Option<String>, today: NaiveDate) -> ComplaintLine {
    ComplaintLine {
        reference: row.reference.clone(),
        kind: row.kind,
        status: row.status,
        author_name: row.author_name.clone(),
        author_email: row.author_email.clone(),
        has_account: row.author_id.is_some(),
        session,
        subject: row.subject.clone(),
        received_at: row.received_at,
        answer_due_on: row.answer_due_on,
        overdue: is_overdue(row.status, row.answer_due_on, today),
    }
}

/// The register for the office, newest first.
pub fn list(
    conn: &mut DbConn,
    actor: Actor<'_>,
    filter: ListFilter,
    now: NaiveDateTime,
) -> Result<Vec<ComplaintLine>, ComplaintError> {
    ensure_office(actor)?;
    let today = paris_date(now);
    db::read_transaction(conn, |conn| {
        let mut query = complaints::table.left_join(training_sessions::table).into_boxed();
        if let Some(status) = filter.status {
            query = query.filter(complaints::status.eq(status));
        }
        if filter.overdue_only {
            query = query
                .filter(complaints::status.eq_any([ComplaintStatus::New, ComplaintStatus::Acknowledged]))
                .filter(complaints::answer_due_on.lt(today));
        }
        let rows: Vec<(ComplaintRow, Option<String>)> = query
            .order((complaints::received_at.desc(), complaints::reference.desc()))
            .select((ComplaintRow::as_select(), training_sessions::reference.nullable()))
            .load(conn)
            .map_err(DbError::from)?;
        Ok(rows.iter().map(|(row, session)| line(row, session.clone(), today)).collect())
    })
}

fn detail(conn: &mut DbConn, reference: &str, now: NaiveDateTime) -> Result<ComplaintDetail, ComplaintError> {
    let row = find_row(conn, reference)?;
    let session: Option<String> = complaints::table
        .find(&row.id)
        .inner_join(training_sessions::table)
        .select(training_sessions::reference)
        .first(conn)
        .optional()
        .map_err(DbError::from)?;
    let history: Vec<ComplaintEvent> = complaint_events::table
        .filter(complaint_events::complaint_id.eq(&row.id))
        .order((complaint_events::at.asc(), complaint_events::id.asc()))
        .select((complaint_events::step, complaint_events::actor_name, complaint_events::at, complaint_events::note))
        .load(conn)
        .map_err(DbError::from)?;
    let actions = actions::of_complaint(conn, &row.id, &row.reference, paris_date(now))?;
    Ok(ComplaintDetail {
        line: line(&row, session, paris_date(now)),
        message: row.message.clone(),
        acknowledged_at: row.acknowledged_at,
        answer: row.answer.clone(),
        answered_at: row.answered_at,
        closed_at: row.closed_at,
        history,
        actions,
    })
}

/// One complaint for the office, with its history and its improvement actions.
pub fn show(
    conn: &mut DbConn,
    actor: Actor<'_>,
    reference: &str,
    now: NaiveDateTime,
) -> Result<ComplaintDetail, ComplaintError> {
    ensure_office(actor)?;
    db::read_transaction(conn, |conn| detail(conn, reference, now))
}

// ---------------------------------------------------------------------------------------------
// Public figures

/// What the public results page may say of complaints: figures only, nothing that names anyone.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ComplaintsSummary {
    /// First day of the twelve months counted.
    pub since: NaiveDate,
    /// Complaints and difficulties received over the twelve months (incidents excluded).
    pub received: i64,
    /// Of those, how many have a settled deadline: answered, or overdue.
    pub settled: i64,
    /// Of the settled ones, how many were answered on or before their answer day.
    pub answered_in_time: i64,
    /// `answered_in_time / settled`, percent with one decimal, when anything is settled.
    pub answered_in_time_rate: Option<f64>,
    /// Improvement actions done over the twelve months.
    pub actions_done: i64,
    /// Improvement actions still open today.
    pub actions_open: i64,
}

/// Received complaints over the last twelve months, the share answered in time, and the
/// improvement actions done and open: the figures the lead shows on `/resultats`. One read.
pub fn public_summary(conn: &mut DbConn, now: NaiveDateTime) -> Result<ComplaintsSummary, DbError> {
    let today = paris_date(now);
    let since = today - Duration::days(365);
    let since_instant = since.and_hms_opt(0, 0, 0).unwrap_or(now);
    db::read_transaction(conn, |conn| {
        let rows: Vec<(ComplaintStatus, NaiveDate, Option<NaiveDateTime>)> = complaints::table
            .filter(complaints::received_at.ge(since_instant))
            .filter(complaints::kind.ne(ComplaintKind::Incident))
            .select((complaints::status, complaints::answer_due_on, complaints::answered_at))
            .load(conn)?;
        let mut settled = 0;
        let mut in_time = 0;
        for (status, due, answered_at) in &rows {
            match deadline_kept(*status, *answered_at, *due, today) {
                Some(true) => {
                    settled += 1;
                    in_time += 1;
                }
                Some(false) => settled += 1,
                None => {}
            }
        }
        let actions_done: i64 =
            improvement_actions::table.filter(improvement_actions::done_on.ge(since)).count().get_result(conn)?;
        let actions_open: i64 =
            improvement_actions::table.filter(improvement_actions::done_on.is_null()).count().get_result(conn)?;
        Ok(ComplaintsSummary {
            since,
            received: rows.len() as i64,
            settled,
            answered_in_time: in_time,
            answered_in_time_rate: (settled > 0).then(|| ((in_time as f64) * 1000.0 / (settled as f64)).round() / 10.0),
            actions_done,
            actions_open,
        })
    })
}

// ---------------------------------------------------------------------------------------------
// Demo data

/// What the demo fixtures record (`fixtures/demo_complaints.rs`): no limiter, no e-mail.
pub(crate) struct DemoComplaint<'a> {
    pub(crate) kind: ComplaintKind,
    pub(crate) author: (&'a str, &'a str, Option<UserId>),
    pub(crate) session: Option<TrainingSessionId>,
    pub(crate) subject: &'a str,
    pub(crate) message: &'a str,
}

/// Records a demo complaint at `now` and takes `steps` (acknowledge, answer with its text, close)
/// at the given times, as the console, without e-mails. Returns its reference.
pub(crate) fn demo_record(
    conn: &mut DbConn,
    complaint: &DemoComplaint<'_>,
    now: NaiveDateTime,
    steps: &[(ComplaintStep, NaiveDateTime, Option<&str>)],
) -> Result<String, ComplaintError> {
    let checked = Checked {
        kind: complaint.kind,
        author_name: complaint.author.0.to_owned(),
        author_email: complaint.author.1.to_owned(),
        author_id: complaint.author.2.clone(),
        session: complaint.session.clone(),
        subject: complaint.subject.to_owned(),
        message: complaint.message.to_owned(),
    };
    let receipt = record(conn, &checked, false, now)?;
    for (step, at, text) in steps {
        let row = find_row(conn, &receipt.reference)?;
        let (answer, note) = if *step == ComplaintStep::Answered { (*text, None) } else { (None, *text) };
        take_step(conn, Actor::Console, &row, *step, answer, note, *at)?;
    }
    Ok(receipt.reference)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
    }

    #[test]
    fn deadlines_count_working_days_only() {
        // Friday 18 December 2026 + 10 working days: the 25th and 1 January are holidays.
        assert_eq!(answer_due_on(date(2026, 12, 18), 10), date(2027, 1, 5));
        // Thursday 30 April 2026 + 1: 1 May is a holiday (Friday), then the weekend.
        assert_eq!(answer_due_on(date(2026, 4, 30), 1), date(2026, 5, 4));
        // Saturday: the first working day counted is Monday.
        assert_eq!(answer_due_on(date(2026, 12, 5), 1), date(2026, 12, 7));
    }

    #[test]
    fn overdue_means_unanswered_past_the_due_day() {
        let due = date(2026, 12, 10);
        assert!(!is_overdue(ComplaintStatus::New, due, due));
        assert!(is_overdue(ComplaintStatus::Acknowledged, due, date(2026, 12, 11)));
        assert!(!is_overdue(ComplaintStatus::Answered, due, date(2027, 1, 1)));
        assert!(!is_overdue(ComplaintStatus::Closed, due, date(2027, 1, 1)));
    }

    #[test]
    fn codes_are_stable() {
        assert_eq!(ComplaintError::TooManyRequests { minutes: 3 }.kind(), ErrorKind::RateLimited);
        assert_eq!(ComplaintError::UnknownSession("x".into()).code(), "unknown_session");
        assert_eq!(ComplaintError::NotFound("x".into()).kind(), ErrorKind::NotFound);
    }
}
