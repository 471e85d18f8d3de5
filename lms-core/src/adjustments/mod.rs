//! Disability adjustments (Qualiopi indicator 26): a trainee asks, privately, for adjustments to
//! their training (on enrolment or at any time, for one session or in general); the request
//! reaches **the disability referent only** (the organisation setting
//! `quality.disability_referent_email`), who records the decision: the adjustments agreed and the
//! exam conditions for the certification jury, or a refusal with its reason.
//!
//! Who sees what:
//! - the request text: the trainee who wrote it and the referent (and the console) — never the
//!   trainers, never the general administration listings, never the quality evidence;
//! - the agreed adjustments (not the request): the trainers of the trainee's sessions;
//! - the exam conditions: the certification jury (`lms jury list`).
//!
//! Without a referent, a request is refused with a clear message rather than stored where nobody
//! would read it: the trainee is told to contact the organisation directly, and the organisation
//! sees at once that the referent must be named (`lms documents setting
//! quality.disability_referent_email …`).

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use crate::access::Caller;
use crate::db::ids::{AdjustmentRequestId, TrainingSessionId, UserId};
use crate::db::schema::{adjustment_requests, enrolments, training_sessions, users};
use crate::db::{self, DbConn, DbError};
use crate::documents::organisation::{OrganisationIdentity, QualitySettings};
use crate::enrolment::EnrolmentStatus;
use crate::mail::render::{self, Signature};
use crate::mail::{MailKind, OutgoingMail};
use crate::people::Role;
use crate::rights::Actor;
use crate::{Classify, ErrorKind};

/// Longest request, agreed adjustments, exam conditions or reason.
pub const MAX_TEXT_CHARS: usize = 4_000;

crate::text_enum! {
    /// Where an adjustment request stands.
    pub enum AdjustmentStatus: "statut de demande d'aménagement" {
        /// Waiting for the referent.
        Requested = "requested", "En cours d'examen";
        /// Adjustments agreed.
        Agreed = "agreed", "Aménagement convenu";
        /// Declined, with a reason.
        Declined = "declined", "Non retenue";
    }
}

/// Errors of the adjustment use cases.
#[derive(Debug, thiserror::Error)]
pub enum AdjustmentError {
    /// Malformed input.
    #[error("{0}")]
    Invalid(String),
    /// The organisation has not named its disability referent yet.
    #[error(
        "l'organisme n'a pas encore désigné de référent·e handicap : votre demande ne peut pas être transmise \
         en ligne ; contactez directement l'organisme{0}"
    )]
    NoReferent(String),
    /// Only trainees ask for adjustments.
    #[error("seuls les stagiaires peuvent demander un aménagement")]
    NotATrainee,
    /// The caller is not the disability referent.
    #[error("réservé au ou à la référent·e handicap de l'organisme")]
    NotReferent,
    /// No such request (or not readable by the caller).
    #[error("demande d'aménagement introuvable")]
    UnknownRequest,
    /// No such session.
    #[error("session inconnue")]
    UnknownTrainingSession,
    /// The request was already decided.
    #[error("cette demande d'aménagement a déjà reçu une réponse ({0})")]
    AlreadyDecided(&'static str),
    /// The enrolment that carried the request was refused.
    #[error(transparent)]
    Enrolment(#[from] crate::enrolment::EnrolmentError),
    /// Storage failure.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl Classify for AdjustmentError {
    fn kind(&self) -> ErrorKind {
        match self {
            AdjustmentError::Invalid(_) => ErrorKind::Invalid,
            AdjustmentError::NoReferent(_) => ErrorKind::Conflict,
            AdjustmentError::NotATrainee | AdjustmentError::NotReferent => ErrorKind::Forbidden,
            AdjustmentError::UnknownRequest | AdjustmentError::UnknownTrainingSession => ErrorKind::NotFound,
            AdjustmentError::AlreadyDecided(_) => ErrorKind::Conflict,
            AdjustmentError::Enrolment(e) => e.kind(),
            AdjustmentError::Db(e) => e.kind(),
        }
    }

    fn code(&self) -> &'static str {
        match self {
            AdjustmentError::Invalid(_) => "invalid_input",
            AdjustmentError::NoReferent(_) => "no_disability_referent",
            AdjustmentError::NotATrainee => "forbidden",
            AdjustmentError::NotReferent => "not_disability_referent",
            AdjustmentError::UnknownRequest => "unknown_adjustment_request",
            AdjustmentError::UnknownTrainingSession => "unknown_session",
            AdjustmentError::AlreadyDecided(_) => "already_decided",
            AdjustmentError::Enrolment(e) => e.code(),
            AdjustmentError::Db(e) => e.code(),
        }
    }
}

/// A free text as stored: trimmed, required (`what` names it), bounded, without control characters.
fn required_text(text: &str, what: &str) -> Result<String, AdjustmentError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(AdjustmentError::Invalid(format!("{what} : ce champ est obligatoire")));
    }
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(AdjustmentError::Invalid(format!("{what} : {MAX_TEXT_CHARS} caractères au plus")));
    }
    if let Some(problem) = crate::text::control_character_problem(text) {
        return Err(AdjustmentError::Invalid(format!("{what} : {problem}")));
    }
    Ok(text.to_owned())
}

fn optional_text(text: Option<&str>, what: &str) -> Result<Option<String>, AdjustmentError> {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(text) => required_text(text, what).map(Some),
    }
}

/// The referent's e-mail and name, or why a request cannot be sent.
fn referent(conn: &mut DbConn) -> Result<(String, String), AdjustmentError> {
    let settings = QualitySettings::load(conn)?;
    match settings.disability_referent_email.filter(|e| !e.trim().is_empty()) {
        Some(email) => {
            let name = settings.disability_referent_name.unwrap_or_else(|| "Référent·e handicap".to_owned());
            Ok((email, name))
        }
        None => {
            let identity = OrganisationIdentity::load(conn)?;
            let contact = [identity.email, identity.phone].into_iter().flatten().collect::<Vec<_>>().join(" ou ");
            Err(AdjustmentError::NoReferent(if contact.is_empty() { String::new() } else { format!(" ({contact})") }))
        }
    }
}

/// The referent's contact as convocations print it (« Inès Marchand — referent@example.org »),
/// when the organisation has named one.
pub fn referent_contact(conn: &mut DbConn) -> Result<Option<String>, DbError> {
    let settings = QualitySettings::load(conn)?;
    Ok(settings.disability_referent_email.filter(|e| !e.trim().is_empty()).map(|email| {
        match settings.disability_referent_name.filter(|n| !n.trim().is_empty()) {
            Some(name) => format!("{name} — {email}"),
            None => email,
        }
    }))
}

/// Whether `caller` is the disability referent: their account e-mail is the referent setting.
pub fn is_referent(conn: &mut DbConn, caller: &Caller) -> Result<bool, DbError> {
    let settings = QualitySettings::load(conn)?;
    Ok(settings.disability_referent_email.is_some_and(|email| email.trim().eq_ignore_ascii_case(&caller.user.email)))
}

/// Refuses anyone but the referent and the console (the pages check it before reading a form).
pub fn check_referent(conn: &mut DbConn, actor: Actor<'_>) -> Result<(), AdjustmentError> {
    ensure_referent(conn, actor).map(|_| ())
}

fn ensure_referent(conn: &mut DbConn, actor: Actor<'_>) -> Result<Option<UserId>, AdjustmentError> {
    match actor {
        Actor::Console => Ok(None),
        Actor::Person(caller) => {
            if is_referent(conn, caller)? {
                Ok(Some(caller.user.id.clone()))
            } else {
                Err(AdjustmentError::NotReferent)
            }
        }
    }
}

#[derive(Debug, Serialize)]
struct RequestMailData {
    trainee: String,
    session: Option<String>,
}

/// The message to the referent: who asks and for which session, and where to read the request.
/// The request itself stays in the application (e-mail crosses servers the organisation does not
/// control; health details do not travel in it).
fn referent_mail(
    conn: &mut DbConn,
    referent_email: String,
    referent_name: String,
    trainee_name: &str,
    session: Option<String>,
) -> Result<OutgoingMail, DbError> {
    let identity = OrganisationIdentity::load(conn)?;
    let signature = Signature::from_identity(&identity);
    let data = RequestMailData { trainee: trainee_name.to_owned(), session };
    let rendered = render::render(MailKind::AdjustmentRequest, &referent_name, &signature, &data)?;
    Ok(OutgoingMail {
        kind: MailKind::AdjustmentRequest,
        to_email: referent_email,
        to_name: referent_name,
        sender_name: signature.name,
        reply_to: identity.email,
        subject: format!("Nouvelle demande d'aménagement de {trainee_name}"),
        text_body: rendered.text,
        html_body: rendered.html,
        attachments: Vec::new(),
        dedupe_key: None,
    })
}

fn session_label(conn: &mut DbConn, session: &TrainingSessionId) -> Result<Option<String>, DbError> {
    Ok(crate::db::schema::courses::table
        .inner_join(training_sessions::table)
        .filter(training_sessions::id.eq(session))
        .select((crate::db::schema::courses::title, training_sessions::reference))
        .first::<(String, String)>(conn)
        .optional()?
        .map(|(title, reference)| format!("« {title} » ({reference})")))
}

/// A trainee asks for adjustments, for one session or in general. The request is stored and the
/// referent is told by e-mail, in one transaction; without a referent nothing is written.
pub fn request(
    conn: &mut DbConn,
    caller: &Caller,
    session: Option<&TrainingSessionId>,
    text: &str,
    now: NaiveDateTime,
) -> Result<AdjustmentRequestId, AdjustmentError> {
    if !caller.has_role(Role::Trainee) {
        return Err(AdjustmentError::NotATrainee);
    }
    let text = required_text(text, "demande d'aménagement")?;
    db::write_transaction(conn, |conn| store_request(conn, &caller.user.id, &caller.user.name, session, &text, now))
}

/// Stores a checked request and queues the referent's e-mail, inside the caller's transaction
/// (the enrolment form uses it with the enrolment).
pub(crate) fn store_request(
    conn: &mut DbConn,
    trainee: &UserId,
    trainee_name: &str,
    session: Option<&TrainingSessionId>,
    text: &str,
    now: NaiveDateTime,
) -> Result<AdjustmentRequestId, AdjustmentError> {
    let (referent_email, referent_name) = referent(conn)?;
    let label = match session {
        Some(session) => Some(session_label(conn, session)?.ok_or(AdjustmentError::UnknownTrainingSession)?),
        None => None,
    };
    let id = AdjustmentRequestId::generate();
    diesel::insert_into(adjustment_requests::table)
        .values((
            adjustment_requests::id.eq(&id),
            adjustment_requests::trainee_id.eq(trainee),
            adjustment_requests::training_session_id.eq(session),
            adjustment_requests::request_text.eq(text),
            adjustment_requests::status.eq(AdjustmentStatus::Requested),
            adjustment_requests::created_at.eq(now),
        ))
        .execute(conn)
        .map_err(DbError::from)?;
    let mail = referent_mail(conn, referent_email, referent_name, trainee_name, label)?;
    crate::mail::outbox::enqueue(conn, &mail, now)?;
    Ok(id)
}

/// Enrols the caller (`enrolment::enrol_as`) and, when `text` is not blank, stores their
/// adjustment request for that session, in one transaction: either both are written or neither
/// (the session page's enrolment form).
pub fn enrol_with_request(
    conn: &mut DbConn,
    session: &TrainingSessionId,
    caller: &Caller,
    request: &crate::enrolment::EnrolmentRequest,
    text: Option<&str>,
    now: NaiveDateTime,
) -> Result<crate::enrolment::EnrolmentOutcome, AdjustmentError> {
    let text = optional_text(text, "demande d'aménagement")?;
    db::write_transaction(conn, |conn| {
        let outcome = crate::enrolment::enrol_as(conn, session, caller, request, now)?;
        // A repeated form (the enrolment already there) does not file the request twice.
        if let Some(text) = text.as_deref().filter(|_| outcome.created) {
            store_request(conn, &caller.user.id, &caller.user.name, Some(session), text, now)?;
        }
        Ok(outcome)
    })
}

/// A request as the referent (and its author) read it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AdjustmentView {
    /// Identifier.
    pub id: AdjustmentRequestId,
    /// Trainee e-mail.
    pub trainee: String,
    /// Trainee name.
    pub name: String,
    /// The session concerned, « title » (reference), when one was named.
    pub session: Option<String>,
    /// The session's id, when one was named.
    pub session_id: Option<TrainingSessionId>,
    /// What the trainee asked (private: the trainee and the referent only).
    pub request: String,
    /// Where it stands.
    pub status: AdjustmentStatus,
    /// The adjustments agreed.
    pub agreed_adjustments: Option<String>,
    /// The exam conditions, for the certification jury.
    pub exam_conditions: Option<String>,
    /// Why it was declined.
    pub decline_reason: Option<String>,
    /// When it was asked (UTC).
    pub requested_at: NaiveDateTime,
    /// When it was decided (UTC).
    pub decided_at: Option<NaiveDateTime>,
    /// Who decided: a name, or « console ».
    pub decided_by: Option<String>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = adjustment_requests)]
struct AdjustmentRow {
    id: AdjustmentRequestId,
    trainee_id: UserId,
    training_session_id: Option<TrainingSessionId>,
    request_text: String,
    status: AdjustmentStatus,
    agreed_adjustments: Option<String>,
    exam_conditions: Option<String>,
    decline_reason: Option<String>,
    decided_by: Option<UserId>,
    decided_at: Option<NaiveDateTime>,
    created_at: NaiveDateTime,
}

fn views(conn: &mut DbConn, rows: Vec<AdjustmentRow>) -> Result<Vec<AdjustmentView>, DbError> {
    let mut people: Vec<&UserId> = rows.iter().map(|r| &r.trainee_id).collect();
    people.extend(rows.iter().filter_map(|r| r.decided_by.as_ref()));
    let named: HashMap<UserId, (String, String)> = users::table
        .filter(users::id.eq_any(people))
        .select((users::id, users::email, users::display_name))
        .load::<(UserId, String, String)>(conn)?
        .into_iter()
        .map(|(id, email, name)| (id, (email, name)))
        .collect();
    let mut labels: HashMap<TrainingSessionId, Option<String>> = HashMap::new();
    for session in rows.iter().filter_map(|r| r.training_session_id.as_ref()) {
        if !labels.contains_key(session) {
            let label = session_label(conn, session)?;
            labels.insert(session.clone(), label);
        }
    }
    Ok(rows
        .into_iter()
        .map(|row| {
            let (trainee, name) = named.get(&row.trainee_id).cloned().unwrap_or_default();
            let decided_by = match (&row.decided_by, row.decided_at) {
                (Some(id), _) => Some(named.get(id).map(|(_, name)| name.clone()).unwrap_or_else(|| id.to_string())),
                (None, Some(_)) => Some("console".to_owned()),
                (None, None) => None,
            };
            AdjustmentView {
                id: row.id,
                trainee,
                name,
                session: row.training_session_id.as_ref().and_then(|s| labels.get(s).cloned().flatten()),
                session_id: row.training_session_id,
                request: row.request_text,
                status: row.status,
                agreed_adjustments: row.agreed_adjustments,
                exam_conditions: row.exam_conditions,
                decline_reason: row.decline_reason,
                requested_at: row.created_at,
                decided_at: row.decided_at,
                decided_by,
            }
        })
        .collect())
}

/// The caller's own requests, newest first (their own text included).
pub fn own_requests(conn: &mut DbConn, caller: &Caller) -> Result<Vec<AdjustmentView>, AdjustmentError> {
    db::read_transaction(conn, |conn| {
        let rows: Vec<AdjustmentRow> = adjustment_requests::table
            .filter(adjustment_requests::trainee_id.eq(&caller.user.id))
            .order((adjustment_requests::created_at.desc(), adjustment_requests::id.desc()))
            .select(AdjustmentRow::as_select())
            .load(conn)
            .map_err(DbError::from)?;
        Ok(views(conn, rows)?)
    })
}

/// A session the trainee may name in a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SessionChoice {
    /// Session id.
    pub id: TrainingSessionId,
    /// « Title » (reference).
    pub label: String,
}

/// The sessions the caller is enrolled in, waiting for, or asking to join, soonest first: the
/// choices of the request form.
pub fn sessions_to_choose(conn: &mut DbConn, caller: &Caller) -> Result<Vec<SessionChoice>, DbError> {
    let rows: Vec<(TrainingSessionId, String, String)> = enrolments::table
        .inner_join(training_sessions::table.inner_join(crate::db::schema::courses::table))
        .filter(enrolments::trainee_id.eq(&caller.user.id))
        .filter(enrolments::status.eq_any([
            EnrolmentStatus::Confirmed,
            EnrolmentStatus::Waitlisted,
            EnrolmentStatus::Requested,
        ]))
        .order((training_sessions::reference.asc(),))
        .select((training_sessions::id, crate::db::schema::courses::title, training_sessions::reference))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, title, reference)| SessionChoice { id, label: format!("« {title} » ({reference})") })
        .collect())
}

/// Every request, pending first then newest: the referent and the console only.
pub fn list_for_referent(conn: &mut DbConn, actor: Actor<'_>) -> Result<Vec<AdjustmentView>, AdjustmentError> {
    db::read_transaction(conn, |conn| {
        ensure_referent(conn, actor)?;
        let rows: Vec<AdjustmentRow> = adjustment_requests::table
            .order((adjustment_requests::created_at.desc(), adjustment_requests::id.desc()))
            .select(AdjustmentRow::as_select())
            .load(conn)
            .map_err(DbError::from)?;
        let mut all = views(conn, rows)?;
        all.sort_by_key(|v| v.status != AdjustmentStatus::Requested);
        Ok(all)
    })
}

/// What the referent decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdjustmentDecision {
    /// Adjustments agreed, with the exam conditions for the jury when any.
    Agree {
        /// The adjustments agreed (shown to the session's trainers).
        adjustments: String,
        /// The exam conditions (shown to the certification jury).
        exam_conditions: Option<String>,
    },
    /// Declined, with the reason told to the trainee.
    Decline {
        /// Why.
        reason: String,
    },
}

/// Records the referent's decision on a pending request (the referent or the console only), in
/// one transaction; a decided request is not decided again.
pub fn decide(
    conn: &mut DbConn,
    actor: Actor<'_>,
    id: &AdjustmentRequestId,
    decision: &AdjustmentDecision,
    now: NaiveDateTime,
) -> Result<AdjustmentView, AdjustmentError> {
    db::write_transaction(conn, |conn| {
        // Who decides is checked before anything about the request or the answer is said.
        let by = ensure_referent(conn, actor)?;
        let (status, agreed, exam, reason) = match decision {
            AdjustmentDecision::Agree { adjustments, exam_conditions } => (
                AdjustmentStatus::Agreed,
                Some(required_text(adjustments, "aménagements convenus")?),
                optional_text(exam_conditions.as_deref(), "conditions d'examen")?,
                None,
            ),
            AdjustmentDecision::Decline { reason } => {
                (AdjustmentStatus::Declined, None, None, Some(required_text(reason, "motif du refus")?))
            }
        };
        let current: AdjustmentStatus = adjustment_requests::table
            .find(id)
            .select(adjustment_requests::status)
            .first(conn)
            .optional()
            .map_err(DbError::from)?
            .ok_or(AdjustmentError::UnknownRequest)?;
        if current != AdjustmentStatus::Requested {
            return Err(AdjustmentError::AlreadyDecided(current.label_fr()));
        }
        diesel::update(
            adjustment_requests::table.find(id).filter(adjustment_requests::status.eq(AdjustmentStatus::Requested)),
        )
        .set((
            adjustment_requests::status.eq(status),
            adjustment_requests::agreed_adjustments.eq(agreed.as_deref()),
            adjustment_requests::exam_conditions.eq(exam.as_deref()),
            adjustment_requests::decline_reason.eq(reason.as_deref()),
            adjustment_requests::decided_by.eq(by.as_ref()),
            adjustment_requests::decided_at.eq(Some(now)),
        ))
        .execute(conn)
        .map_err(DbError::from)?;
        let row: AdjustmentRow = adjustment_requests::table
            .find(id)
            .select(AdjustmentRow::as_select())
            .first(conn)
            .map_err(DbError::from)?;
        Ok(views(conn, vec![row])?.remove(0))
    })
}

/// An agreed adjustment as a session's trainers see it: who, and what was agreed (never the
/// request, never the exam conditions).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AgreedAdjustment {
    /// Trainee name.
    pub name: String,
    /// Trainee e-mail.
    pub trainee: String,
    /// The adjustments agreed.
    pub adjustments: String,
    /// The exam conditions (for the jury; filled only by [`exam_conditions_for_session`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exam_conditions: Option<String>,
}

/// Agreed requests that apply to `session`: named for it, or general ones of its trainees.
fn agreed_rows(conn: &mut DbConn, session: &TrainingSessionId) -> Result<Vec<AgreedAdjustment>, DbError> {
    let trainees: Vec<UserId> = enrolments::table
        .filter(enrolments::training_session_id.eq(session))
        .filter(enrolments::status.eq_any([
            EnrolmentStatus::Confirmed,
            EnrolmentStatus::Waitlisted,
            EnrolmentStatus::Completed,
            EnrolmentStatus::Abandoned,
        ]))
        .select(enrolments::trainee_id)
        .load(conn)?;
    let rows: Vec<(String, String, Option<String>, Option<String>)> = adjustment_requests::table
        .inner_join(users::table)
        .filter(adjustment_requests::status.eq(AdjustmentStatus::Agreed))
        .filter(adjustment_requests::trainee_id.eq_any(&trainees))
        .filter(
            adjustment_requests::training_session_id.eq(session).or(adjustment_requests::training_session_id.is_null()),
        )
        .order((users::display_name.asc(), adjustment_requests::decided_at.asc()))
        .select((
            users::display_name,
            users::email,
            adjustment_requests::agreed_adjustments,
            adjustment_requests::exam_conditions,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(name, trainee, adjustments, exam_conditions)| AgreedAdjustment {
            name,
            trainee,
            adjustments: adjustments.unwrap_or_default(),
            exam_conditions,
        })
        .collect())
}

/// The adjustments agreed for the trainees of `session`, for its trainers and the office.
pub fn agreed_for_session(
    conn: &mut DbConn,
    actor: Actor<'_>,
    session: &TrainingSessionId,
) -> Result<Vec<AgreedAdjustment>, AdjustmentError> {
    db::read_transaction(conn, |conn| {
        let exists: bool = diesel::select(diesel::dsl::exists(training_sessions::table.find(session)))
            .get_result(conn)
            .map_err(DbError::from)?;
        if !exists {
            return Err(AdjustmentError::UnknownTrainingSession);
        }
        if let Actor::Person(caller) = actor
            && !actor.is_office()
            && !crate::rights::teaches(conn, &caller.user.id, session)?
        {
            return Err(AdjustmentError::UnknownTrainingSession);
        }
        let mut rows = agreed_rows(conn, session)?;
        for row in &mut rows {
            row.exam_conditions = None;
        }
        Ok(rows)
    })
}

/// The exam conditions agreed for the candidates of `session`, by trainee e-mail (several
/// agreements are joined), for the certification jury.
pub fn exam_conditions_for_session(
    conn: &mut DbConn,
    session: &TrainingSessionId,
) -> Result<HashMap<String, String>, DbError> {
    let mut conditions: HashMap<String, String> = HashMap::new();
    for row in agreed_rows(conn, session)? {
        if let Some(exam) = row.exam_conditions {
            conditions.entry(row.trainee).and_modify(|all| *all = format!("{all} ; {exam}")).or_insert(exam);
        }
    }
    Ok(conditions)
}

/// Initials of a name (« Léa Dubois » → « L. D. »), so that the evidence names nobody in full.
fn initials(name: &str) -> String {
    name.split_whitespace()
        .filter_map(|word| word.chars().next())
        .map(|c| format!("{}.", c.to_uppercase()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// One request as the evidence lists it (fields in the order selected): nothing private.
#[derive(Queryable)]
struct EvidenceRow {
    id: AdjustmentRequestId,
    name: String,
    session: Option<String>,
    status: AdjustmentStatus,
    asked: NaiveDateTime,
    decided: Option<NaiveDateTime>,
}

/// The adjustment file for the quality audit (Qualiopi indicator 26): one row per request with
/// its dates, status and how many days the decision took. No request text, agreed adjustment,
/// exam condition or reason: these are health-related data that stay with the referent.
pub fn evidence(conn: &mut DbConn) -> Result<Vec<crate::quality::EvidenceTable>, DbError> {
    db::read_transaction(conn, |conn| {
        let rows: Vec<EvidenceRow> = adjustment_requests::table
            .inner_join(users::table)
            .left_join(training_sessions::table)
            .order((adjustment_requests::created_at.asc(), adjustment_requests::id.asc()))
            .select((
                adjustment_requests::id,
                users::display_name,
                training_sessions::reference.nullable(),
                adjustment_requests::status,
                adjustment_requests::created_at,
                adjustment_requests::decided_at,
            ))
            .load(conn)?;
        let day = |at: NaiveDateTime| crate::locale::to_paris(at).format("%d/%m/%Y").to_string();
        let table_rows = rows
            .into_iter()
            .map(|EvidenceRow { id, name, session, status, asked, decided }| {
                let id = id.to_string();
                vec![
                    format!(
                        "{} ({})",
                        initials(&name),
                        id.chars().rev().take(6).collect::<Vec<_>>().into_iter().rev().collect::<String>()
                    ),
                    session.unwrap_or_else(|| "toutes ses sessions".to_owned()),
                    day(asked),
                    status.label_fr().to_owned(),
                    decided.map(day).unwrap_or_default(),
                    decided.map(|d| (d.date() - asked.date()).num_days().to_string()).unwrap_or_default(),
                ]
            })
            .collect();
        Ok(vec![crate::quality::EvidenceTable {
            indicator: 26,
            file_stem: "26-amenagements-handicap".into(),
            title: "Demandes d'aménagement (situation de handicap)".into(),
            description: "Chaque demande d'aménagement reçue par le ou la référent·e handicap : dates, suite donnée \
                          et délai de réponse en jours. Données de santé : ni le texte de la demande, ni les \
                          aménagements convenus, ni les conditions d'examen ne figurent ici ; les stagiaires sont \
                          désigné·es par leurs initiales et la fin de l'identifiant de la demande."
                .into(),
            columns: ["Stagiaire", "Session", "Demandée le", "Suite donnée", "Décidée le", "Délai (jours)"]
                .map(String::from)
                .to_vec(),
            rows: table_rows,
        }])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initials_name_nobody() {
        assert_eq!(initials("Léa Dubois"), "L. D.");
        assert_eq!(initials("  émile  "), "É.");
    }
}
