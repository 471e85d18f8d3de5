//! The assessment grid of a training session: for each confirmed trainee and each competence of
//! the course's référentiel (grouped by unit), the current result — the latest one, by time then
//! record order — with its evidence note, assessor and date, and the history behind it.
//!
//! Trainers of the session read and write it; administrators read it; a trainee reads their own
//! results. Recording a grid is one transaction: every line is checked first, and nothing is
//! written if one is refused. A line identical to the current result adds nothing to history.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use super::{AssessmentError, AssessmentResult};
use crate::access::Caller;
use crate::attendance::sheets::{SessionHeader, session_header};
use crate::certification::{UnitView, units_of};
use crate::db::ids::{AssessmentId, CertificationId, CompetenceId, TrainingSessionId, UserId};
use crate::db::schema::{assessments, certifications, courses, training_sessions};
use crate::db::{self, DbConn, DbError};
use crate::rights::{self as authz, Actor, SessionRight};
use crate::roster::{self, find_person};

/// Most lines accepted in one recording.
pub const MAX_LINES: usize = 5_000;
/// Longest evidence note.
pub const MAX_EVIDENCE_CHARS: usize = 2_000;

/// The current result of one trainee on one competence.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct GridCell {
    /// Result.
    pub result: AssessmentResult,
    /// Evidence note.
    pub evidence: Option<String>,
    /// Assessor's name.
    pub assessor: String,
    /// When (UTC).
    pub assessed_at: NaiveDateTime,
    /// Results recorded so far on this competence (this one included).
    pub history: usize,
}

/// One trainee's row of the grid.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct GridTrainee {
    /// The trainee.
    pub trainee: UserId,
    /// Name.
    pub name: String,
    /// E-mail address.
    pub email: String,
    /// Current results by competence code (`1.3`); competences never assessed are absent.
    pub results: BTreeMap<String, GridCell>,
    /// Competences acquired.
    pub acquired: usize,
}

/// A session's assessment grid.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AssessmentGrid {
    /// The session.
    pub session: SessionHeader,
    /// What the caller may do.
    pub right: SessionRight,
    /// Registry code of the certification prepared (`RS5142`), if any.
    pub certification: Option<String>,
    /// Units and competences, in référentiel order.
    pub units: Vec<UnitView>,
    /// Number of competences.
    pub competences: usize,
    /// Confirmed trainees, by name.
    pub trainees: Vec<GridTrainee>,
}

/// A certification's id, code and title.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = certifications)]
pub(crate) struct CertificationSummary {
    pub(crate) id: CertificationId,
    pub(crate) code: String,
    pub(crate) title: String,
}

/// The référentiel of the session's course (none when the course prepares no certification).
pub(crate) fn referentiel_of(
    conn: &mut DbConn,
    session: &TrainingSessionId,
) -> Result<(Option<CertificationSummary>, Vec<UnitView>), DbError> {
    let certification: Option<CertificationSummary> = training_sessions::table
        .inner_join(courses::table.inner_join(certifications::table))
        .filter(training_sessions::id.eq(session))
        .select(CertificationSummary::as_select())
        .first(conn)
        .optional()?;
    let units = match &certification {
        Some(certification) => units_of(conn, &certification.id)?,
        None => Vec::new(),
    };
    Ok((certification, units))
}

/// One stored result.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = assessments)]
pub(crate) struct StoredResult {
    #[diesel(column_name = trainee_id)]
    pub(crate) trainee: UserId,
    #[diesel(column_name = competence_id)]
    pub(crate) competence: CompetenceId,
    pub(crate) result: AssessmentResult,
    pub(crate) evidence: Option<String>,
    #[diesel(column_name = assessor_id)]
    pub(crate) assessor: UserId,
    pub(crate) assessed_at: NaiveDateTime,
}

/// Results of a session (or of one trainee), oldest first (time, then record order).
pub(crate) fn stored_results(
    conn: &mut DbConn,
    session: &TrainingSessionId,
    trainee: Option<&UserId>,
) -> Result<Vec<StoredResult>, DbError> {
    let mut query = assessments::table
        .filter(assessments::training_session_id.eq(session))
        .order((assessments::assessed_at.asc(), assessments::id.asc()))
        .select(StoredResult::as_select())
        .into_boxed();
    if let Some(trainee) = trainee {
        query = query.filter(assessments::trainee_id.eq(trainee.clone()));
    }
    query.load(conn).map_err(DbError::from)
}

fn names(conn: &mut DbConn, ids: &[UserId]) -> Result<HashMap<UserId, String>, DbError> {
    Ok(roster::members(conn, ids)?.into_iter().map(|(id, member)| (id, member.name)).collect())
}

/// The grid: trainers of the session and administrators.
pub fn assessment_grid(
    conn: &mut DbConn,
    actor: Actor<'_>,
    session: &TrainingSessionId,
) -> Result<AssessmentGrid, AssessmentError> {
    db::read_transaction(conn, |conn| {
        let right = authz::ensure_can_read(conn, actor, session)?;
        let header = session_header(conn, session)?;
        let (certification, units) = referentiel_of(conn, session)?;
        let code_of: HashMap<CompetenceId, String> =
            units.iter().flat_map(|u| u.competences.iter()).map(|c| (c.id.clone(), c.code.clone())).collect();
        let results = stored_results(conn, session, None)?;
        let assessors: Vec<UserId> = results.iter().map(|r| r.assessor.clone()).collect();
        let assessor_names = names(conn, &assessors)?;
        let mut cells: HashMap<(UserId, String), GridCell> = HashMap::new();
        for stored in &results {
            let Some(code) = code_of.get(&stored.competence) else { continue };
            let result = stored.result;
            let key = (stored.trainee.clone(), code.clone());
            let history = cells.get(&key).map(|c| c.history).unwrap_or(0) + 1;
            cells.insert(
                key,
                GridCell {
                    result,
                    evidence: stored.evidence.clone(),
                    assessor: assessor_names.get(&stored.assessor).cloned().unwrap_or_default(),
                    assessed_at: stored.assessed_at,
                    history,
                },
            );
        }
        let trainees = roster::confirmed_trainees(conn, session)?
            .into_iter()
            .map(|roster::Member { id: trainee, name, email }| {
                let results: BTreeMap<String, GridCell> = code_of
                    .values()
                    .filter_map(|code| cells.get(&(trainee.clone(), code.clone())).map(|c| (code.clone(), c.clone())))
                    .collect();
                let acquired = results.values().filter(|c| c.result == AssessmentResult::Acquired).count();
                GridTrainee { trainee, name, email, results, acquired }
            })
            .collect();
        Ok(AssessmentGrid {
            session: header,
            right,
            certification: certification.map(|c| c.code),
            competences: code_of.len(),
            units,
            trainees,
        })
    })
}

/// One result to record.
#[derive(Debug, Clone, PartialEq)]
pub struct ResultInput {
    /// The trainee: user id or e-mail address.
    pub trainee: String,
    /// Competence number (`1.3`).
    pub competence: String,
    /// Result.
    pub result: AssessmentResult,
    /// Evidence note; `None` means "not given" (a line with the current result then changes
    /// nothing), `Some("")` means an explicitly empty note.
    pub evidence: Option<String>,
}

/// What recording did.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct GridOutcome {
    /// New results recorded.
    pub recorded: usize,
    /// Lines identical to the current result, left alone.
    pub unchanged: usize,
}

/// A line checked against the référentiel and the session's trainees.
pub(crate) struct CheckedLine {
    pub(crate) trainee: UserId,
    pub(crate) competence: CompetenceId,
    pub(crate) result: AssessmentResult,
    pub(crate) evidence: Option<Option<String>>,
    pub(crate) assessor: UserId,
}

/// Trims an evidence note and checks it (length, control characters).
pub fn clean_evidence(raw: Option<&str>) -> Result<Option<Option<String>>, AssessmentError> {
    match raw {
        None => Ok(None),
        Some(text) => {
            let text = text.trim();
            if text.chars().count() > MAX_EVIDENCE_CHARS {
                return Err(AssessmentError::Invalid(format!(
                    "note de preuve trop longue ({MAX_EVIDENCE_CHARS} caractères au plus)"
                )));
            }
            if let Some(problem) = crate::text::control_character_problem(text) {
                return Err(AssessmentError::Invalid(format!("note de preuve : {problem}")));
            }
            Ok(Some((!text.is_empty()).then(|| text.to_owned())))
        }
    }
}

/// Writes checked lines, skipping those equal to the current result. Inside a transaction.
pub(crate) fn write_lines(
    conn: &mut DbConn,
    session: &TrainingSessionId,
    lines: &[CheckedLine],
    now: NaiveDateTime,
) -> Result<GridOutcome, AssessmentError> {
    let mut latest: HashMap<(UserId, CompetenceId), StoredResult> = HashMap::new();
    for stored in stored_results(conn, session, None)? {
        latest.insert((stored.trainee.clone(), stored.competence.clone()), stored);
    }
    let mut outcome = GridOutcome { recorded: 0, unchanged: 0 };
    for line in lines {
        let current = latest.get(&(line.trainee.clone(), line.competence.clone()));
        let same =
            current.is_some_and(|c| c.result == line.result && line.evidence.as_ref().is_none_or(|e| e == &c.evidence));
        if same {
            outcome.unchanged += 1;
            continue;
        }
        diesel::insert_into(assessments::table)
            .values((
                assessments::id.eq(AssessmentId::generate()),
                assessments::training_session_id.eq(session),
                assessments::trainee_id.eq(&line.trainee),
                assessments::competence_id.eq(&line.competence),
                assessments::result.eq(line.result.as_str()),
                assessments::evidence.eq(line.evidence.clone().flatten()),
                assessments::assessor_id.eq(&line.assessor),
                assessments::assessed_at.eq(now),
            ))
            .execute(conn)
            .map_err(DbError::from)?;
        outcome.recorded += 1;
    }
    Ok(outcome)
}

/// Records results for a session in one transaction. Only a trainer of the session, who is the
/// assessor; only confirmed trainees and competences of the course's référentiel.
pub fn record_results(
    conn: &mut DbConn,
    caller: &Caller,
    session: &TrainingSessionId,
    inputs: &[ResultInput],
    now: NaiveDateTime,
) -> Result<GridOutcome, AssessmentError> {
    let label = |input: &ResultInput| {
        format!(
            "{} — compétence {}",
            input.trainee.chars().take(80).collect::<String>(),
            input.competence.chars().take(20).collect::<String>()
        )
    };
    let in_line = |input: &ResultInput, error: AssessmentError| AssessmentError::InLine {
        line: label(input),
        source: Box::new(error),
    };
    db::write_transaction(conn, |conn| {
        // Who may write comes first: a refused caller learns nothing from the validation.
        authz::ensure_trainer_of(conn, caller, session)?;
        if inputs.is_empty() {
            return Err(AssessmentError::Invalid("aucun résultat à enregistrer".into()));
        }
        if inputs.len() > MAX_LINES {
            return Err(AssessmentError::Invalid(format!("au plus {MAX_LINES} résultats par envoi")));
        }
        let (_, units) = referentiel_of(conn, session)?;
        let competences: HashMap<String, CompetenceId> =
            units.iter().flat_map(|u| u.competences.iter()).map(|c| (c.code.clone(), c.id.clone())).collect();
        let enrolled: HashSet<UserId> = roster::confirmed_trainees(conn, session)?.into_iter().map(|m| m.id).collect();
        let mut seen = HashSet::new();
        let mut lines = Vec::with_capacity(inputs.len());
        for input in inputs {
            let trainee = match find_person(conn, input.trainee.trim())? {
                Some(id) if enrolled.contains(&id) => id,
                _ => return Err(in_line(input, AssessmentError::NotATrainee)),
            };
            let competence = competences.get(input.competence.trim()).cloned().ok_or_else(|| {
                in_line(input, AssessmentError::UnknownCompetence(input.competence.chars().take(20).collect()))
            })?;
            if !seen.insert((trainee.clone(), competence.clone())) {
                return Err(in_line(input, AssessmentError::Invalid("figure deux fois dans l'envoi".into())));
            }
            let evidence = clean_evidence(input.evidence.as_deref()).map_err(|e| in_line(input, e))?;
            lines.push(CheckedLine {
                trainee,
                competence,
                result: input.result,
                evidence,
                assessor: caller.user.id.clone(),
            });
        }
        write_lines(conn, session, &lines, now)
    })
}

/// One past result.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct HistoryItem {
    /// Result.
    pub result: AssessmentResult,
    /// Evidence note.
    pub evidence: Option<String>,
    /// Assessor's name.
    pub assessor: String,
    /// When (UTC).
    pub assessed_at: NaiveDateTime,
}

/// One competence with its current result and history.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CompetenceRecord {
    /// Number (`1.3`).
    pub code: String,
    /// Wording.
    pub label: String,
    /// Current result (the latest), if any.
    pub current: Option<HistoryItem>,
    /// Every result, oldest first.
    pub history: Vec<HistoryItem>,
}

/// One unit of a trainee's record.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct UnitRecord {
    /// Unit number.
    pub number: i32,
    /// Title.
    pub title: String,
    /// Competences, in référentiel order.
    pub competences: Vec<CompetenceRecord>,
    /// True when every competence is acquired.
    pub validated: bool,
}

/// A trainee's results in one session.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TraineeAssessment {
    /// The session.
    pub session: SessionHeader,
    /// Certification prepared, if any (`RS5142 — Piloter un tiers-lieu`).
    pub certification: Option<String>,
    /// The trainee.
    pub trainee: UserId,
    /// Name.
    pub name: String,
    /// E-mail.
    pub email: String,
    /// Units.
    pub units: Vec<UnitRecord>,
    /// Competences acquired.
    pub acquired: usize,
    /// Competences in the référentiel.
    pub total: usize,
}

/// One trainee's results and history in a session (no access check).
pub(crate) fn trainee_record(
    conn: &mut DbConn,
    session: &TrainingSessionId,
    trainee: &UserId,
) -> Result<TraineeAssessment, AssessmentError> {
    let header = session_header(conn, session)?;
    let (certification, units) = referentiel_of(conn, session)?;
    let roster::Member { name, email, .. } =
        roster::members(conn, std::slice::from_ref(trainee))?.remove(trainee).ok_or(AssessmentError::NotATrainee)?;
    let results = stored_results(conn, session, Some(trainee))?;
    let assessors: Vec<UserId> = results.iter().map(|r| r.assessor.clone()).collect();
    let assessor_names = names(conn, &assessors)?;
    let mut by_competence: HashMap<CompetenceId, Vec<HistoryItem>> = HashMap::new();
    for stored in results {
        let result = stored.result;
        by_competence.entry(stored.competence.clone()).or_default().push(HistoryItem {
            result,
            evidence: stored.evidence,
            assessor: assessor_names.get(&stored.assessor).cloned().unwrap_or_default(),
            assessed_at: stored.assessed_at,
        });
    }
    let mut acquired = 0;
    let mut total = 0;
    let units = units
        .into_iter()
        .map(|unit| {
            let competences: Vec<CompetenceRecord> = unit
                .competences
                .into_iter()
                .map(|c| {
                    let history = by_competence.remove(&c.id).unwrap_or_default();
                    CompetenceRecord { code: c.code, label: c.label, current: history.last().cloned(), history }
                })
                .collect();
            let unit_acquired = competences
                .iter()
                .filter(|c| c.current.as_ref().is_some_and(|r| r.result == AssessmentResult::Acquired))
                .count();
            acquired += unit_acquired;
            total += competences.len();
            UnitRecord {
                number: unit.number,
                title: unit.title,
                validated: unit_acquired == competences.len(),
                competences,
            }
        })
        .collect();
    Ok(TraineeAssessment {
        session: header,
        certification: certification.map(|c| format!("{} — {}", c.code, c.title)),
        trainee: trainee.clone(),
        name,
        email,
        units,
        acquired,
        total,
    })
}

/// One trainee's results with history: the trainee themself, trainers of the session,
/// administrators.
pub fn trainee_assessment(
    conn: &mut DbConn,
    actor: Actor<'_>,
    session: &TrainingSessionId,
    trainee: &str,
) -> Result<TraineeAssessment, AssessmentError> {
    db::read_transaction(conn, |conn| {
        let Some(trainee) = find_person(conn, trainee)? else {
            // Unknown person: say so only to those who may read the session.
            authz::ensure_can_read(conn, actor, session)?;
            return Err(AssessmentError::NotATrainee);
        };
        authz::ensure_can_read_trainee(conn, actor, session, &trainee)?;
        if roster::started_trainee_name(conn, session, &trainee)?.is_none() {
            return Err(AssessmentError::NotATrainee);
        }
        trainee_record(conn, session, &trainee)
    })
}

/// One trainee's results as the trainer's page shows them, with what the caller may do there.
#[derive(Debug, Clone, Serialize)]
pub struct TraineeResultsView {
    /// The results.
    pub record: TraineeAssessment,
    /// The caller's right on the session.
    pub right: SessionRight,
}

/// [`trainee_assessment`] and the caller's right on the session, in one transaction; only for
/// those who may read the session (trainers, administrators, the console).
pub fn trainee_results_view(
    conn: &mut DbConn,
    actor: Actor<'_>,
    session: &TrainingSessionId,
    trainee: &str,
) -> Result<TraineeResultsView, AssessmentError> {
    db::read_transaction(conn, |conn| {
        let record = trainee_assessment(conn, actor, session, trainee)?;
        let right = authz::ensure_can_read(conn, actor, session)?;
        Ok(TraineeResultsView { record, right })
    })
}

/// Every session where `trainee` is (or was) a trainee, with their results.
pub fn my_results(conn: &mut DbConn, trainee: &UserId) -> Result<Vec<TraineeAssessment>, AssessmentError> {
    db::read_transaction(conn, |conn| {
        let sessions = roster::sessions_of_trainee(conn, trainee, &roster::STARTED)?;
        let mut out = Vec::with_capacity(sessions.len());
        for session in sessions {
            out.push(trainee_record(conn, &session, trainee)?);
        }
        out.sort_by_key(|record| std::cmp::Reverse(record.session.start));
        Ok(out)
    })
}
