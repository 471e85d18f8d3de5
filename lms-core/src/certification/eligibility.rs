//! Eligibility (`lms certify check`): for each candidate of a certifying training session, every
//! condition of the référentiel that is not met yet.
//!
//! Rules, all read from data:
//! - units: a unit is validated when every competence's LATEST result (any session preparing the
//!   same certification; ties broken by record order) is `acquired` (`unit_rule =
//!   all_competences_acquired`); the certification needs every unit (`pass_rule = all_units`);
//! - attendance: minutes attended over minutes scheduled for the session must reach the
//!   certification's `min_attendance_percent` (80 % by default). Only the latest ledger entry per
//!   trainee and half-day counts (a superseded entry never does); present counts in full, late and
//!   left-early count minus the minutes missed, absent and excused count zero;
//! - jury: the latest decision recorded for the trainee in this session must be `admitted`;
//! - identity: birth name, first names, birth date, birth commune (INSEE) or country, and sex must
//!   be known (the Accrochage file refuses a holder without them).

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;

use super::credential::CredentialProblem;
use super::jury::JuryVerdict;
use super::keys::KeyError;
use super::{CertificationRow, UnitView};
use crate::assessment::AssessmentResult;
use crate::db::ids::{AssessmentId, CertificationId, HalfDayId, JuryDecisionId, TrainingSessionId, UserId};
use crate::db::schema::{
    assessments, certification_units, certifications, competences, courses, enrolments, half_days, jury_decisions,
    training_sessions, users,
};
use crate::db::{DbConn, DbError};
use crate::documents::PdfError;
use crate::{Classify, ErrorKind};

/// **The attendance rule**: `attended` minutes reach `min_percent` of `scheduled` minutes (a
/// session with nothing scheduled meets nothing). Eligibility and the trainee's progress on `/me`
/// both ask here.
pub fn attendance_met(attended: i64, scheduled: i64, min_percent: i32) -> bool {
    scheduled > 0 && attended * 100 >= scheduled * i64::from(min_percent)
}

/// Errors of the certification use cases (eligibility, jury, issuing, verification).
#[derive(Debug, thiserror::Error)]
pub enum CertifyError {
    /// Malformed input.
    #[error("{0}")]
    Invalid(String),
    /// No such training session.
    #[error("session inconnue : « {0} »")]
    UnknownTrainingSession(String),
    /// The session's course prepares no certification.
    #[error("cette session ne prépare aucune certification")]
    NotCertifying,
    /// No account with that e-mail.
    #[error("aucun compte pour « {0} »")]
    UnknownTrainee(String),
    /// The person is not a candidate (confirmed or completed trainee) of the session.
    #[error("{0} n'est pas candidat·e de cette session (inscription confirmée ou terminée requise)")]
    NotACandidate(String),
    /// The candidate does not meet every rule.
    #[error("{trainee} n'est pas éligible : {}", reasons.join(" ; "))]
    NotEligible {
        /// The candidate.
        trainee: String,
        /// Every unmet rule.
        reasons: Vec<String>,
    },
    /// The award date is outside the certification's validity window (or otherwise refused).
    #[error("{0}")]
    BadAwardDate(String),
    /// No certificate with that number or code.
    #[error("certificat inconnu : « {0} »")]
    UnknownCertificate(String),
    /// The certificate is already revoked.
    #[error("le certificat {0} est déjà révoqué")]
    AlreadyRevoked(String),
    /// Issuing to every eligible candidate found none.
    #[error("aucun·e candidat·e éligible dans cette session")]
    NoEligibleCandidate,
    /// The credential stored with a certificate cannot be read back: the register is damaged.
    #[error("certificat {number} : {problem}")]
    CorruptCertificate {
        /// Certificate number.
        number: String,
        /// What is wrong with the stored credential.
        problem: CredentialProblem,
    },
    /// Signing key problem.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// PDF rendering problem.
    #[error(transparent)]
    Pdf(#[from] PdfError),
    /// File system problem.
    #[error("{0}")]
    Io(String),
    /// Storage failure.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl Classify for CertifyError {
    fn kind(&self) -> ErrorKind {
        match self {
            CertifyError::Invalid(_)
            | CertifyError::NotACandidate(_)
            | CertifyError::NotEligible { .. }
            | CertifyError::BadAwardDate(_) => ErrorKind::Invalid,
            CertifyError::UnknownTrainingSession(_)
            | CertifyError::UnknownTrainee(_)
            | CertifyError::UnknownCertificate(_) => ErrorKind::NotFound,
            CertifyError::NotCertifying | CertifyError::AlreadyRevoked(_) | CertifyError::NoEligibleCandidate => {
                ErrorKind::Conflict
            }
            CertifyError::CorruptCertificate { .. } => ErrorKind::Internal,
            CertifyError::Key(e) => e.kind(),
            CertifyError::Pdf(e) => e.kind(),
            CertifyError::Io(_) => ErrorKind::Unavailable,
            CertifyError::Db(e) => e.kind(),
        }
    }
    fn code(&self) -> &'static str {
        match self {
            CertifyError::Invalid(_) => "invalid_input",
            CertifyError::UnknownTrainingSession(_) => "unknown_session",
            CertifyError::NotCertifying => "session_not_certifying",
            CertifyError::UnknownTrainee(_) => "unknown_trainee",
            CertifyError::NotACandidate(_) => "not_a_candidate",
            CertifyError::NotEligible { .. } => "not_eligible",
            CertifyError::BadAwardDate(_) => "award_date_refused",
            CertifyError::UnknownCertificate(_) => "unknown_certificate",
            CertifyError::AlreadyRevoked(_) => "already_revoked",
            CertifyError::NoEligibleCandidate => "no_eligible_candidate",
            CertifyError::CorruptCertificate { .. } => "corrupt_certificate",
            CertifyError::Key(e) => e.code(),
            CertifyError::Pdf(e) => e.code(),
            CertifyError::Io(_) => "io_error",
            CertifyError::Db(e) => e.code(),
        }
    }
}

/// One unmet rule, with a stable code and a French explanation.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct UnmetRule {
    /// `unit_not_acquired`, `attendance`, `no_jury_decision`, `jury_not_admitted`, `identity`.
    pub code: &'static str,
    /// French explanation.
    pub message: String,
}

/// One candidate's eligibility (`lms certify check --json` item).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CandidateEligibility {
    /// E-mail address.
    pub trainee: String,
    /// Display name.
    pub name: String,
    /// True when every rule is met.
    pub eligible: bool,
    /// French explanation of every unmet rule (empty when eligible).
    pub reasons: Vec<String>,
    /// Stable codes of the unmet rules, in the same order.
    pub reason_codes: Vec<&'static str>,
    /// Share of scheduled time attended, percent (one decimal).
    pub attendance_percent: f64,
    /// Numbers of the units validated.
    pub units_validated: Vec<i32>,
    /// Latest jury decision, if any.
    pub jury_decision: Option<JuryVerdict>,
    /// The date of that decision.
    #[serde(skip)]
    pub jury_decided_on: Option<NaiveDate>,
    #[serde(skip)]
    pub(crate) trainee_id: UserId,
    #[serde(skip)]
    pub(crate) admitted_decision: Option<(JuryDecisionId, NaiveDate)>,
}

/// Eligibility of a whole session, with the référentiel it was checked against.
#[derive(Debug, Clone)]
pub struct SessionEligibility {
    /// The certification prepared.
    pub certification: CertificationRow,
    /// Its units.
    pub units: Vec<UnitView>,
    /// Every candidate, by name.
    pub candidates: Vec<CandidateEligibility>,
}

/// The certification a session prepares (error if none).
pub(crate) fn certification_of_session(
    conn: &mut DbConn,
    session: &TrainingSessionId,
) -> Result<CertificationRow, CertifyError> {
    let certification: Option<Option<CertificationId>> = training_sessions::table
        .inner_join(courses::table)
        .filter(training_sessions::id.eq(session))
        .select(courses::certification_id)
        .first(conn)
        .optional()
        .map_err(DbError::from)?;
    let id = certification
        .ok_or_else(|| CertifyError::UnknownTrainingSession(session.to_string()))?
        .ok_or(CertifyError::NotCertifying)?;
    certifications::table
        .find(&id)
        .select(CertificationRow::as_select())
        .first(conn)
        .map_err(|e| CertifyError::Db(e.into()))
}

/// A seated trainee with the identity the registries need (the columns selected in [`evaluate`]).
#[derive(Debug, Queryable)]
struct CandidateRow {
    id: UserId,
    email: String,
    name: String,
    birth_name: Option<String>,
    first_names: Option<String>,
    birth_date: Option<NaiveDate>,
    birth_insee: Option<String>,
    birth_country: Option<String>,
    sex: Option<String>,
}

/// One recorded result for a competence (the columns selected in [`evaluate`]).
#[derive(Debug, Queryable)]
struct ResultRow {
    trainee: UserId,
    competence: crate::db::ids::CompetenceId,
    result: AssessmentResult,
    assessed_at: NaiveDateTime,
    id: AssessmentId,
}

/// One jury decision (the columns selected in [`evaluate`]).
#[derive(Debug, Clone, Queryable)]
struct DecisionRow {
    trainee: UserId,
    id: JuryDecisionId,
    decision: JuryVerdict,
    decided_on: NaiveDate,
    recorded_at: NaiveDateTime,
}

/// Checks every candidate of `session` (or only `only`), in one consistent read.
pub fn check_session(
    conn: &mut DbConn,
    session: &TrainingSessionId,
    only: Option<&UserId>,
) -> Result<SessionEligibility, CertifyError> {
    crate::db::read_transaction(conn, |conn| evaluate(conn, session, only))
}

/// The same, inside the caller's transaction.
pub(crate) fn evaluate(
    conn: &mut DbConn,
    session: &TrainingSessionId,
    only: Option<&UserId>,
) -> Result<SessionEligibility, CertifyError> {
    let certification = certification_of_session(conn, session)?;
    let units = super::units_of(conn, &certification.id)?;

    let mut query = enrolments::table
        .inner_join(users::table)
        .filter(enrolments::training_session_id.eq(session))
        .filter(enrolments::status.eq_any(crate::enrolment::EnrolmentStatus::SEATED))
        .select((
            users::id,
            users::email,
            users::display_name,
            users::birth_name,
            users::first_names,
            users::birth_date,
            users::birth_commune_insee,
            users::birth_country_code,
            users::sex,
        ))
        .order(users::display_name.asc())
        .into_boxed();
    if let Some(id) = only {
        query = query.filter(users::id.eq(id.clone()));
    }
    let candidates: Vec<CandidateRow> = query.load(conn).map_err(DbError::from)?;
    let ids: Vec<UserId> = candidates.iter().map(|c| c.id.clone()).collect();

    // Latest result per (trainee, competence), over every session preparing this certification.
    let results: Vec<ResultRow> = assessments::table
        .inner_join(competences::table.inner_join(certification_units::table))
        .filter(certification_units::certification_id.eq(&certification.id))
        .filter(assessments::trainee_id.eq_any(&ids))
        .select((
            assessments::trainee_id,
            assessments::competence_id,
            assessments::result,
            assessments::assessed_at,
            assessments::id,
        ))
        .load(conn)
        .map_err(DbError::from)?;
    let mut latest: HashMap<(UserId, crate::db::ids::CompetenceId), ResultRow> = HashMap::new();
    for row in results {
        match latest.entry((row.trainee.clone(), row.competence.clone())) {
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(row);
            }
            std::collections::hash_map::Entry::Occupied(mut slot) => {
                if (row.assessed_at, &row.id) > (slot.get().assessed_at, &slot.get().id) {
                    slot.insert(row);
                }
            }
        }
    }

    let schedule: Vec<(HalfDayId, i32)> = half_days::table
        .filter(half_days::training_session_id.eq(session))
        .select((half_days::id, half_days::minutes))
        .load(conn)
        .map_err(DbError::from)?;
    let scheduled_minutes: i64 = schedule.iter().map(|(_, m)| i64::from(*m)).sum();
    let minutes_of: HashMap<HalfDayId, i32> = schedule.into_iter().collect();
    let attended = attended_minutes(conn, session, &ids, &minutes_of)?;

    let decisions: Vec<DecisionRow> = jury_decisions::table
        .filter(jury_decisions::training_session_id.eq(session))
        .filter(jury_decisions::trainee_id.eq_any(&ids))
        .select((
            jury_decisions::trainee_id,
            jury_decisions::id,
            jury_decisions::decision,
            jury_decisions::decided_on,
            jury_decisions::recorded_at,
        ))
        .load(conn)
        .map_err(DbError::from)?;
    let mut last_decision: HashMap<UserId, DecisionRow> = HashMap::new();
    for row in decisions {
        match last_decision.get(&row.trainee) {
            Some(current)
                if (current.decided_on, current.recorded_at, &current.id)
                    >= (row.decided_on, row.recorded_at, &row.id) => {}
            _ => {
                last_decision.insert(row.trainee.clone(), row);
            }
        }
    }

    let min_percent = certification.min_attendance_percent;
    let mut out = Vec::with_capacity(candidates.len());
    for CandidateRow { id, email, name, birth_name, first_names, birth_date, birth_insee, birth_country, sex } in
        candidates
    {
        let mut unmet: Vec<UnmetRule> = Vec::new();
        let mut validated = Vec::new();
        for unit in &units {
            let missing: Vec<&str> = unit
                .competences
                .iter()
                .filter(|c| {
                    latest.get(&(id.clone(), c.id.clone())).map(|r| r.result) != Some(AssessmentResult::Acquired)
                })
                .map(|c| c.code.as_str())
                .collect();
            if missing.is_empty() {
                validated.push(unit.number);
            } else {
                unmet.push(UnmetRule {
                    code: "unit_not_acquired",
                    message: format!(
                        "unité {} non validée (compétence{} non acquise{} : {})",
                        unit.number,
                        if missing.len() > 1 { "s" } else { "" },
                        if missing.len() > 1 { "s" } else { "" },
                        missing.join(", ")
                    ),
                });
            }
        }
        let minutes = attended.get(&id).copied().unwrap_or(0);
        let percent = if scheduled_minutes > 0 { (minutes as f64) * 100.0 / (scheduled_minutes as f64) } else { 0.0 };
        if !attendance_met(minutes, scheduled_minutes, min_percent) {
            unmet.push(UnmetRule {
                code: "attendance",
                message: format!(
                    "assiduité insuffisante : {} h {:02} suivies sur {} h {:02} prévues ({:.1} %, minimum {} %)",
                    minutes / 60,
                    minutes % 60,
                    scheduled_minutes / 60,
                    scheduled_minutes % 60,
                    percent,
                    min_percent
                ),
            });
        }
        let decision = last_decision.get(&id);
        let mut admitted_decision = None;
        match decision {
            None => unmet.push(UnmetRule { code: "no_jury_decision", message: "aucune décision du jury".into() }),
            Some(DecisionRow { decided_on, id: decision_id, decision: JuryVerdict::Admitted, .. }) => {
                admitted_decision = Some((decision_id.clone(), *decided_on))
            }
            Some(DecisionRow { decided_on, decision, .. }) => unmet.push(UnmetRule {
                code: "jury_not_admitted",
                message: format!(
                    "décision du jury du {} : {}",
                    decided_on,
                    match decision {
                        JuryVerdict::Refused => "refusé",
                        JuryVerdict::Deferred => "ajourné",
                        JuryVerdict::Admitted => "admis",
                    }
                ),
            }),
        }
        let mut missing_identity = Vec::new();
        if birth_name.as_deref().is_none_or(|s| s.trim().is_empty()) {
            missing_identity.push("nom de naissance");
        }
        if first_names.as_deref().is_none_or(|s| s.trim().is_empty()) {
            missing_identity.push("prénom");
        }
        if birth_date.is_none() {
            missing_identity.push("date de naissance");
        }
        if birth_insee.as_deref().is_none_or(|s| s.trim().is_empty())
            && birth_country.as_deref().is_none_or(|s| s.trim().is_empty())
        {
            missing_identity.push("commune ou pays de naissance");
        }
        if sex.as_deref().is_none_or(|s| s.trim().is_empty()) {
            missing_identity.push("sexe");
        }
        if !missing_identity.is_empty() {
            unmet.push(UnmetRule {
                code: "identity",
                message: format!("identité incomplète pour les registres : {}", missing_identity.join(", ")),
            });
        }
        out.push(CandidateEligibility {
            trainee: email,
            name,
            eligible: unmet.is_empty(),
            reasons: unmet.iter().map(|u| u.message.clone()).collect(),
            reason_codes: unmet.iter().map(|u| u.code).collect(),
            attendance_percent: (percent * 10.0).round() / 10.0,
            units_validated: validated,
            jury_decision: decision.map(|d| d.decision),
            jury_decided_on: decision.map(|d| d.decided_on),
            trainee_id: id,
            admitted_decision,
        });
    }
    Ok(SessionEligibility { certification, units, candidates: out })
}

/// Minutes attended per trainee: latest `trainee_status` entry per (trainee, half-day). Half-days
/// missing from `minutes_of` count zero (so a caller can restrict to a period). The rule itself
/// lives in the attendance module ([`crate::attendance::attended_minutes_with_schedule`]), shared
/// with the certificat de réalisation and the trainee's own page.
pub fn attended_minutes(
    conn: &mut DbConn,
    session: &TrainingSessionId,
    trainees: &[UserId],
    minutes_of: &HashMap<HalfDayId, i32>,
) -> Result<HashMap<UserId, i64>, DbError> {
    crate::attendance::attended_minutes_with_schedule(conn, session, trainees, minutes_of)
}
