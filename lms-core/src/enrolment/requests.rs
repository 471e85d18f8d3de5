//! Admission on request: for a course whose admission is `on_request`, enrolling stores a
//! request with the trainee's answers to the course's positioning questions; an administrator
//! admits it (a seat, or a waitlist ticket when full, by the same rule as an open enrolment) or
//! refuses it with a reason that is kept and told to the trainee. Trainers of the session read
//! the requests and their answers; only administrators (and the console) decide.
//!
//! The decision is recorded (Qualiopi indicators 8 and 10): admitted, admitted with an adapted
//! pathway (fewer hours than the course, some of the session's modules, a note), or refused with
//! a reason; who decided and when. [`evidence`] hands the whole history to the quality file.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use super::{
    EnrolmentError, EnrolmentOutcome, EnrolmentStatus, MAX_ANSWER_CHARS, PositioningResult, Stated, lock_session,
    take_seat_or_ticket, waitlist_position,
};
use crate::db::ids::{EnrolmentId, TrainingSessionId, UserId};
use crate::db::json_text::{JsonText, to_json_text};
use crate::db::schema::{courses, enrolments, half_days, training_sessions, users};
use crate::db::{self, DbConn, DbError};
use crate::notifications::SessionNews;
use crate::rights::Actor;

/// Longest reason given with a decision.
pub const MAX_REASON_CHARS: usize = 1_000;

crate::text_enum! {
    /// What was decided on an admission request.
    pub enum AdmissionDecision: "décision d'admission" {
        /// Admitted to the whole course.
        Admitted = "admitted", "Admis·e";
        /// Admitted with an adapted pathway (hours, modules, note).
        AdmittedAdapted = "admitted_adapted", "Admis·e avec un parcours adapté";
        /// Refused, with a reason.
        Refused = "refused", "Refusé·e";
    }
}

/// An adapted pathway as asked by whoever admits: hours and/or modules, and a note.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PathwayInput {
    /// Hours to follow, as typed (`35`, `17,5`, `3.5`); checked against the course's duration.
    pub hours: Option<String>,
    /// Modules of the session's schedule to follow.
    pub modules: Vec<String>,
    /// What the pathway is about, for the trainee and the trainers.
    pub note: Option<String>,
}

/// An adapted pathway as recorded with an admission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AdaptedPathway {
    /// Minutes of training to follow, when reduced.
    pub minutes: Option<i64>,
    /// The pathway's length in French (« 17 h 30 »), when reduced.
    pub hours_fr: Option<String>,
    /// The modules to follow (empty: all of them).
    pub modules: Vec<String>,
    /// The note given with the pathway.
    pub note: Option<String>,
}

impl AdaptedPathway {
    /// The pathway on one French line, for pages and listings.
    pub fn summary_fr(&self) -> String {
        let mut parts = Vec::new();
        if let Some(hours) = &self.hours_fr {
            parts.push(format!("{hours} de formation"));
        }
        if !self.modules.is_empty() {
            parts.push(format!("modules : {}", crate::locale::list_fr(&self.modules)));
        }
        if let Some(note) = &self.note {
            parts.push(note.clone());
        }
        parts.join(" ; ")
    }
}

/// Hours as typed (`35`, `17,5`, `3.5`, `3 h 30` is not accepted) into minutes, refusing zero,
/// negatives and nonsense.
pub fn parse_hours(raw: &str) -> Result<i64, EnrolmentError> {
    let invalid = || {
        EnrolmentError::Invalid(format!(
            "durée adaptée « {} » : un nombre d'heures positif (par exemple 35 ou 17,5)",
            crate::text::printable(raw, 40)
        ))
    };
    let hours: f64 = raw.trim().replace(',', ".").parse().map_err(|_| invalid())?;
    if !hours.is_finite() || hours <= 0.0 || hours > 10_000.0 {
        return Err(invalid());
    }
    let minutes = (hours * 60.0).round() as i64;
    if minutes <= 0 {
        return Err(invalid());
    }
    Ok(minutes)
}

/// A pathway checked without the database: hours parsed, modules trimmed and deduplicated,
/// note checked; `None` when nothing was asked. A note alone is refused: it goes with hours or
/// modules.
/// A pathway that passed the checks that need no database.
struct CheckedPathway {
    minutes: Option<i64>,
    modules: Vec<String>,
    note: Option<String>,
}

fn checked_pathway(input: &PathwayInput) -> Result<Option<CheckedPathway>, EnrolmentError> {
    let minutes = input.hours.as_deref().map(parse_hours).transpose()?;
    let mut modules: Vec<String> = Vec::new();
    for module in &input.modules {
        let module = module.trim();
        if module.is_empty() {
            return Err(EnrolmentError::Invalid("module adapté vide".into()));
        }
        if !modules.iter().any(|m| m == module) {
            modules.push(module.to_owned());
        }
    }
    let note = checked_text(input.note.as_deref(), "note")?;
    if minutes.is_none() && modules.is_empty() {
        if note.is_some() {
            return Err(EnrolmentError::Invalid(
                "une note accompagne un parcours adapté : donnez aussi les heures (--adapted-hours) ou les modules (--adapted-module)".into(),
            ));
        }
        return Ok(None);
    }
    Ok(Some(CheckedPathway { minutes, modules, note }))
}

/// Checks the pathway against the course's duration and the session's modules.
fn check_pathway_in_session(
    conn: &mut DbConn,
    session: &TrainingSessionId,
    minutes: Option<i64>,
    modules: &[String],
) -> Result<(), EnrolmentError> {
    if let Some(minutes) = minutes {
        let course_minutes: i64 = training_sessions::table
            .inner_join(courses::table)
            .filter(training_sessions::id.eq(session))
            .select(courses::duration_minutes)
            .first(conn)
            .map_err(DbError::from)?;
        if minutes > course_minutes {
            return Err(EnrolmentError::Invalid(format!(
                "durée adaptée ({}) supérieure à celle de la formation ({})",
                crate::locale::duration_fr(minutes),
                crate::locale::duration_fr(course_minutes)
            )));
        }
    }
    if !modules.is_empty() {
        let known = session_modules(conn, session)?;
        if let Some(unknown) = modules.iter().find(|m| !known.contains(m)) {
            return Err(EnrolmentError::Invalid(if known.is_empty() {
                format!(
                    "module « {} » inconnu : le planning de cette session ne nomme aucun module",
                    crate::text::printable(unknown, 80)
                )
            } else {
                format!(
                    "module « {} » inconnu dans cette session (modules : {})",
                    crate::text::printable(unknown, 80),
                    known.join(", ")
                )
            }));
        }
    }
    Ok(())
}

/// The modules named by the session's half-days, in schedule order, each once.
pub fn session_modules(conn: &mut DbConn, session: &TrainingSessionId) -> Result<Vec<String>, DbError> {
    let named: Vec<Option<String>> = half_days::table
        .filter(half_days::training_session_id.eq(session))
        .order((half_days::starts_at.asc(), half_days::id.asc()))
        .select(half_days::module)
        .load(conn)?;
    let mut modules: Vec<String> = Vec::new();
    for module in named.into_iter().flatten() {
        if !modules.contains(&module) {
            modules.push(module);
        }
    }
    Ok(modules)
}

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
                    enrolments::admission_decision.eq(None::<AdmissionDecision>),
                    enrolments::adapted_minutes.eq(None::<i64>),
                    enrolments::adapted_modules.eq(None::<String>),
                    enrolments::decision_note.eq(None::<String>),
                    enrolments::decided_by.eq(None::<UserId>),
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
    /// `requested` (pending), `refused`, or where the admitted enrolment stands now.
    pub status: EnrolmentStatus,
    /// When the request was made (UTC).
    pub requested_at: NaiveDateTime,
    /// The answers to the positioning questions.
    pub answers: Vec<PositioningAnswer>,
    /// The reason of a refusal.
    pub decision_reason: Option<String>,
    /// When it was decided (UTC).
    pub decided_at: Option<NaiveDateTime>,
    /// What was decided (`None` while pending, and for requests decided before decisions were
    /// recorded).
    pub decision: Option<AdmissionDecision>,
    /// The adapted pathway of an admission with one.
    pub pathway: Option<AdaptedPathway>,
    /// Who decided: a name, or « console » for the command line.
    pub decided_by: Option<String>,
}

/// A request with its trainee (row type; fields in the order selected).
#[derive(Queryable, Selectable)]
#[diesel(table_name = enrolments)]
struct RequestRow {
    id: EnrolmentId,
    #[diesel(select_expression = users::email)]
    email: String,
    #[diesel(select_expression = users::display_name)]
    display_name: String,
    status: EnrolmentStatus,
    training_session_id: TrainingSessionId,
    created_at: NaiveDateTime,
    request_answers: Option<JsonText<Vec<PositioningAnswer>>>,
    decision_reason: Option<String>,
    decided_at: Option<NaiveDateTime>,
    admission_decision: Option<AdmissionDecision>,
    adapted_minutes: Option<i64>,
    adapted_modules: Option<JsonText<Vec<String>>>,
    decision_note: Option<String>,
    decided_by: Option<UserId>,
}

impl RequestRow {
    fn pathway(&self) -> Option<AdaptedPathway> {
        (self.admission_decision == Some(AdmissionDecision::AdmittedAdapted)).then(|| AdaptedPathway {
            minutes: self.adapted_minutes,
            hours_fr: self.adapted_minutes.map(crate::locale::duration_fr),
            modules: self.adapted_modules.clone().map(JsonText::into_inner).unwrap_or_default(),
            note: self.decision_note.clone(),
        })
    }
}

/// Names of the people who decided, by id.
fn decider_names(conn: &mut DbConn, rows: &[RequestRow]) -> Result<std::collections::HashMap<UserId, String>, DbError> {
    let ids: Vec<&UserId> = rows.iter().filter_map(|r| r.decided_by.as_ref()).collect();
    if ids.is_empty() {
        return Ok(Default::default());
    }
    let named: Vec<(UserId, String)> =
        users::table.filter(users::id.eq_any(ids)).select((users::id, users::display_name)).load(conn)?;
    Ok(named.into_iter().collect())
}

fn decider(row: &RequestRow, names: &std::collections::HashMap<UserId, String>) -> Option<String> {
    match (&row.decided_by, row.decided_at) {
        (Some(id), _) => Some(names.get(id).cloned().unwrap_or_else(|| id.to_string())),
        (None, Some(_)) => Some("console".to_owned()),
        (None, None) => None,
    }
}

fn view(row: RequestRow, names: &std::collections::HashMap<UserId, String>) -> RequestView {
    let pathway = row.pathway();
    let decided_by = decider(&row, names);
    RequestView {
        id: row.id,
        trainee: row.email,
        name: row.display_name,
        status: row.status,
        requested_at: row.created_at,
        answers: row.request_answers.map(JsonText::into_inner).unwrap_or_default(),
        decision_reason: row.decision_reason,
        decided_at: row.decided_at,
        decision: row.admission_decision,
        pathway,
        decided_by,
    }
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
        // Every request ever made in the session (the answers mark it), decided or not.
        let rows: Vec<RequestRow> = enrolments::table
            .inner_join(users::table)
            .filter(enrolments::training_session_id.eq(session))
            .filter(enrolments::request_answers.is_not_null())
            .order((enrolments::created_at.asc(), users::email.asc()))
            .select(RequestRow::as_select())
            .load(conn)
            .map_err(DbError::from)?;
        let names = decider_names(conn, &rows)?;
        let mut views: Vec<RequestView> = rows.into_iter().map(|r| view(r, &names)).collect();
        // Pending requests first, then refused, then admitted; the sort is stable.
        views.sort_by_key(|v| match (v.status, v.decision) {
            (EnrolmentStatus::Requested, _) => 0,
            (EnrolmentStatus::Refused, _) | (_, Some(AdmissionDecision::Refused)) => 1,
            _ => 2,
        });
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
    checked_text(reason, "motif")
}

/// A free text as stored (`what` names it in errors): trimmed, checked; `None` when blank.
fn checked_text(text: Option<&str>, what: &str) -> Result<Option<String>, EnrolmentError> {
    let Some(text) = text.map(str::trim).filter(|r| !r.is_empty()) else {
        return Ok(None);
    };
    if text.chars().count() > MAX_REASON_CHARS {
        return Err(EnrolmentError::Invalid(format!("{what} trop long ({MAX_REASON_CHARS} caractères au plus)")));
    }
    if let Some(problem) = crate::text::control_character_problem(text) {
        return Err(EnrolmentError::Invalid(format!("{what} : {problem}")));
    }
    Ok(Some(text.to_owned()))
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
    admit_with_pathway(conn, actor, session, trainee, reason, &PathwayInput::default(), now)
}

/// [`admit`], with an adapted pathway when `pathway` asks for one: hours (positive, not above
/// the course's duration) and/or modules among the session's, plus a note. The decision, the
/// pathway and who decided are recorded with the enrolment; bad input writes nothing.
pub fn admit_with_pathway(
    conn: &mut DbConn,
    actor: Actor<'_>,
    session: &TrainingSessionId,
    trainee: &str,
    reason: Option<&str>,
    pathway: &PathwayInput,
    now: NaiveDateTime,
) -> Result<DecisionOutcome, EnrolmentError> {
    crate::catalogue::ensure_admin(actor)?;
    let reason = checked_reason(reason)?;
    let pathway = checked_pathway(pathway)?;
    let decided_by = actor.person().cloned();
    db::write_transaction(conn, |conn| {
        let state = lock_session(conn, session)?;
        let (id, trainee_id) = pending_request(conn, session, trainee)?;
        let (decision, minutes, modules, note) = match &pathway {
            Some(CheckedPathway { minutes, modules, note }) => {
                check_pathway_in_session(conn, session, *minutes, modules)?;
                (AdmissionDecision::AdmittedAdapted, *minutes, Some(to_json_text(modules)?), note.clone())
            }
            None => (AdmissionDecision::Admitted, None, None, None),
        };
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
                enrolments::admission_decision.eq(Some(decision)),
                enrolments::adapted_minutes.eq(minutes),
                enrolments::adapted_modules.eq(modules.as_ref()),
                enrolments::decision_note.eq(note.as_deref()),
                enrolments::decided_by.eq(decided_by.as_ref()),
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
                enrolments::admission_decision.eq(Some(AdmissionDecision::Refused)),
                enrolments::decided_by.eq(actor.person()),
            ))
            .execute(conn)
            .map_err(DbError::from)?;
        notify(conn, &trainee_id, &SessionNews::RequestRefused { reason: &reason }, session, now)?;
        let mail = crate::mail::messages::request_refused(conn, session, &trainee_id, &reason)?;
        crate::mail::outbox::enqueue(conn, &mail, now)?;
        Ok(DecisionOutcome { enrolment_id: id, status: EnrolmentStatus::Refused, waitlist_position: None })
    })
}

/// The trainee's own request in a session and its decision (pathway included), for their pages;
/// `None` when they made no request there. Nobody else's request is ever read here.
pub fn own_request(
    conn: &mut DbConn,
    trainee: &UserId,
    session: &TrainingSessionId,
) -> Result<Option<RequestView>, DbError> {
    db::read_transaction(conn, |conn| {
        let row: Option<RequestRow> = enrolments::table
            .inner_join(users::table)
            .filter(enrolments::training_session_id.eq(session))
            .filter(enrolments::trainee_id.eq(trainee))
            .filter(enrolments::request_answers.is_not_null())
            .select(RequestRow::as_select())
            .first(conn)
            .optional()?;
        let Some(row) = row else { return Ok(None) };
        let names = decider_names(conn, std::slice::from_ref(&row))?;
        Ok(Some(view(row, &names)))
    })
}

/// The admission file for the quality audit (Qualiopi indicator 8, positioning, and 10,
/// adaptation): one row per request ever made, with its session, trainee, date, how many
/// positioning questions were answered, the decision, the adapted pathway, who decided and when.
pub fn evidence(conn: &mut DbConn) -> Result<Vec<crate::quality::EvidenceTable>, DbError> {
    db::read_transaction(conn, |conn| {
        let rows: Vec<RequestRow> = enrolments::table
            .inner_join(users::table)
            .filter(enrolments::request_answers.is_not_null())
            .order((enrolments::created_at.asc(), enrolments::id.asc()))
            .select(RequestRow::as_select())
            .load(conn)?;
        let names = decider_names(conn, &rows)?;
        let references: std::collections::HashMap<TrainingSessionId, String> = training_sessions::table
            .select((training_sessions::id, training_sessions::reference))
            .load::<(TrainingSessionId, String)>(conn)?
            .into_iter()
            .collect();
        let day = |at: NaiveDateTime| crate::locale::to_paris(at).format("%d/%m/%Y").to_string();
        let table_rows = rows
            .into_iter()
            .map(|row| {
                let session = references.get(&row.training_session_id).cloned().unwrap_or_default();
                let pathway = row.pathway().map(|p| p.summary_fr()).unwrap_or_default();
                let who = decider(&row, &names).unwrap_or_default();
                let decision = match (row.admission_decision, row.status) {
                    (Some(decision), _) => decision.label_fr().to_owned(),
                    (None, EnrolmentStatus::Requested) => "En attente".to_owned(),
                    (None, EnrolmentStatus::Refused) => AdmissionDecision::Refused.label_fr().to_owned(),
                    (None, _) => AdmissionDecision::Admitted.label_fr().to_owned(),
                };
                let answered = row
                    .request_answers
                    .as_ref()
                    .map(|a| a.0.iter().filter(|a| !a.answer.is_empty()).count())
                    .unwrap_or(0);
                vec![
                    session,
                    format!("{} <{}>", row.display_name, row.email),
                    day(row.created_at),
                    answered.to_string(),
                    decision,
                    pathway,
                    row.decision_reason.clone().unwrap_or_default(),
                    who,
                    row.decided_at.map(day).unwrap_or_default(),
                ]
            })
            .collect();
        Ok(vec![crate::quality::EvidenceTable {
            indicator: 8,
            file_stem: "08-positionnement-admission".into(),
            title: "Positionnement et décisions d'admission".into(),
            description: "Chaque demande d'inscription à une formation sur demande : les réponses aux questions de \
                          positionnement (leur nombre), la décision (admission, admission avec un parcours adapté — \
                          indicateur 10 —, refus motivé), qui l'a prise et quand. Tiré des inscriptions enregistrées."
                .into(),
            columns: [
                "Session",
                "Stagiaire",
                "Demande le",
                "Questions répondues",
                "Décision",
                "Parcours adapté",
                "Motif ou commentaire",
                "Décidé par",
                "Décidé le",
            ]
            .map(String::from)
            .to_vec(),
            rows: table_rows,
        }])
    })
}
