//! Jury decisions (procès-verbal): admitted, refused or deferred, by whom, on which date. Kept for
//! good: a new decision (a re-sit) is a new row, and the latest one counts; nothing is ever edited
//! or deleted.
//!
//! A decision is dated between the session's last half-day (a jury rules on a completed
//! training) and today (a procès-verbal records a decision already taken, never a planned one).
//! Member names follow the person-name character rule of [`crate::text`]. A CSV import is all or
//! nothing, every problem reported with its line number in the file.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use super::eligibility::{CertifyError, certification_of_session};
use crate::db::ids::{AuditEntryId, JuryDecisionId, TrainingSessionId, UserId};
use crate::db::json_text::{JsonText, to_json_text};
use crate::db::schema::{audit_log, enrolments, half_days, jury_decisions, users};
use crate::db::{self, DbConn, DbError};

crate::text_enum! {
    /// A jury's decision.
    pub enum JuryVerdict: "décision" {
        /// Admis·e: the certification may be issued.
        Admitted = "admitted", "Admis·e";
        /// Refusé·e.
        Refused = "refused", "Refusé·e";
        /// Ajourné·e (deferred to a later jury).
        Deferred = "deferred", "Ajourné·e";
    }
}

impl JuryVerdict {
    /// Parses `admitted`, `refused` or `deferred`.
    pub fn parse(raw: &str) -> Result<Self, CertifyError> {
        JuryVerdict::from_stored(raw.trim()).map_err(|_| {
            CertifyError::Invalid(format!(
                "décision inconnue « {} » (attendu : admitted, refused ou deferred)",
                crate::text::printable(raw.trim(), 40)
            ))
        })
    }
}

/// One decision to record.
#[derive(Debug, Clone)]
pub struct JuryDecisionInput {
    /// The candidate's e-mail.
    pub trainee_email: String,
    /// The decision.
    pub verdict: JuryVerdict,
    /// Date of the jury.
    pub decided_on: NaiveDate,
    /// Members, each "Name, role".
    pub members: Vec<String>,
    /// Free notes for the procès-verbal.
    pub notes: Option<String>,
}

/// A recorded decision.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct JuryDecisionView {
    /// Identifier.
    pub id: JuryDecisionId,
    /// Candidate's e-mail.
    pub trainee: String,
    /// `admitted`, `refused` or `deferred`.
    pub decision: JuryVerdict,
    /// Date of the jury.
    pub decided_on: NaiveDate,
    /// Members.
    pub members: Vec<String>,
    /// Notes.
    pub notes: Option<String>,
    /// When it was recorded (UTC).
    pub recorded_at: NaiveDateTime,
    /// The exam conditions agreed with the disability referent for this candidate, when any
    /// (`crate::adjustments`): the jury applies them.
    pub exam_conditions: Option<String>,
}

fn validate(input: &JuryDecisionInput, today: NaiveDate) -> Result<(Vec<String>, Option<String>), String> {
    if input.decided_on > today {
        return Err(format!("date du jury dans le futur ({})", input.decided_on));
    }
    let members: Vec<String> =
        input.members.iter().map(|m| m.split_whitespace().collect::<Vec<_>>().join(" ")).collect();
    if members.is_empty() {
        return Err("au moins un membre du jury (« Nom, fonction ») est requis".into());
    }
    for (index, member) in members.iter().enumerate() {
        // Checked before any message quotes the member: it may hold an escape or a bidi override.
        if let Some(problem) = crate::text::name_character_problem(member) {
            return Err(format!("membre n° {} du jury : {problem}", index + 1));
        }
        let Some((name, role)) = member.split_once(',') else {
            return Err(format!("membre « {member} » : format attendu « Nom, fonction »"));
        };
        if name.trim().is_empty() || role.trim().is_empty() || member.chars().count() > 200 {
            return Err(format!("membre « {member} » : format attendu « Nom, fonction » (200 caractères au plus)"));
        }
    }
    let notes = input.notes.as_deref().map(str::trim).filter(|n| !n.is_empty()).map(str::to_owned);
    if notes.as_ref().is_some_and(|n| n.chars().count() > 2_000) {
        return Err("notes trop longues (2 000 caractères au plus)".into());
    }
    if let Some(problem) = notes.as_deref().and_then(crate::text::control_character_problem) {
        return Err(format!("notes : {problem}"));
    }
    Ok((members, notes))
}

/// Refuses a jury date before the session's last half-day (none scheduled: nothing to compare).
fn check_after_training(decided_on: NaiveDate, last_day: Option<NaiveDate>) -> Result<(), String> {
    match last_day {
        Some(last) if decided_on < last => Err(format!(
            "date du jury ({decided_on}) antérieure à la dernière demi-journée de la session ({last}) : \
             le jury se prononce après la formation"
        )),
        _ => Ok(()),
    }
}

/// Records one decision (one transaction).
pub fn record_decision(
    conn: &mut DbConn,
    session: &TrainingSessionId,
    input: &JuryDecisionInput,
    recorded_by: Option<&UserId>,
    today: NaiveDate,
) -> Result<JuryDecisionView, CertifyError> {
    let mut views = record_decisions(conn, session, std::slice::from_ref(input), recorded_by, today)?;
    views.pop().ok_or_else(|| CertifyError::Invalid("aucune décision".into()))
}

/// Records several decisions at once (a CSV import): every line is checked first and every problem
/// is reported; nothing is written unless all lines are valid.
pub fn record_decisions(
    conn: &mut DbConn,
    session: &TrainingSessionId,
    inputs: &[JuryDecisionInput],
    recorded_by: Option<&UserId>,
    today: NaiveDate,
) -> Result<Vec<JuryDecisionView>, CertifyError> {
    let lines: Vec<Option<usize>> =
        if inputs.len() > 1 { (1..=inputs.len()).map(Some).collect() } else { vec![None; inputs.len()] };
    record_numbered(conn, session, inputs, &lines, recorded_by, today)
}

/// Imports a jury CSV ([`parse_jury_csv`]) and records every decision in it, or none: problems
/// carry the line number in the file.
pub fn import_jury_csv(
    conn: &mut DbConn,
    session: &TrainingSessionId,
    text: &str,
    recorded_by: Option<&UserId>,
    today: NaiveDate,
) -> Result<Vec<JuryDecisionView>, CertifyError> {
    let (lines, inputs): (Vec<Option<usize>>, Vec<JuryDecisionInput>) =
        parse_jury_csv_lines(text)?.into_iter().map(|(line, input)| (Some(line), input)).unzip();
    record_numbered(conn, session, &inputs, &lines, recorded_by, today)
}

/// Records `inputs`, `lines[i]` being the line number that problems of `inputs[i]` are reported
/// with (none: reported bare).
fn record_numbered(
    conn: &mut DbConn,
    session: &TrainingSessionId,
    inputs: &[JuryDecisionInput],
    lines: &[Option<usize>],
    recorded_by: Option<&UserId>,
    today: NaiveDate,
) -> Result<Vec<JuryDecisionView>, CertifyError> {
    if inputs.is_empty() {
        return Err(CertifyError::Invalid("aucune décision à enregistrer".into()));
    }
    db::write_transaction(conn, |conn| {
        let certification = certification_of_session(conn, session)?;
        // The recorder must be an account: the administrator named, or the first administrator.
        let recorder = match recorded_by {
            Some(id) => id.clone(),
            None => default_recorder(conn)?,
        };
        let last_day: Option<NaiveDate> = half_days::table
            .filter(half_days::training_session_id.eq(session))
            .select(diesel::dsl::max(half_days::day))
            .first(conn)
            .map_err(DbError::from)?;
        let mut problems = Vec::new();
        let mut rows = Vec::new();
        for (index, input) in inputs.iter().enumerate() {
            let line = |p: String| match lines.get(index).copied().flatten() {
                Some(number) => format!("ligne {number} : {p}"),
                None => p,
            };
            let checked =
                validate(input, today).and_then(|ok| check_after_training(input.decided_on, last_day).map(|()| ok));
            let (members, notes) = match checked {
                Ok(ok) => ok,
                Err(p) => {
                    problems.push(line(p));
                    continue;
                }
            };
            let email = input.trainee_email.trim().to_lowercase();
            let trainee = crate::people::user_id_by_email(conn, &email)?;
            let Some(trainee) = trainee else {
                problems.push(line(format!("aucun compte pour « {email} »")));
                continue;
            };
            let candidate: bool = diesel::select(diesel::dsl::exists(
                enrolments::table
                    .filter(enrolments::training_session_id.eq(session))
                    .filter(enrolments::trainee_id.eq(&trainee))
                    .filter(enrolments::status.eq_any(crate::enrolment::EnrolmentStatus::SEATED)),
            ))
            .get_result(conn)
            .map_err(DbError::from)?;
            if !candidate {
                problems.push(line(format!("{email} n'est pas candidat·e de cette session")));
                continue;
            }
            rows.push(CheckedDecision {
                trainee,
                email,
                verdict: input.verdict,
                decided_on: input.decided_on,
                members,
                notes,
            });
        }
        if !problems.is_empty() {
            return Err(CertifyError::Invalid(format!("aucune décision enregistrée — {}", problems.join(" ; "))));
        }
        let now = db::now();
        let exam_conditions = crate::adjustments::exam_conditions_for_session(conn, session)?;
        let mut views = Vec::new();
        for CheckedDecision { trainee, email, verdict, decided_on, members, notes } in rows {
            let id = JuryDecisionId::generate();
            let members_json = to_json_text(&members)?;
            diesel::insert_into(jury_decisions::table)
                .values((
                    jury_decisions::id.eq(&id),
                    jury_decisions::training_session_id.eq(session),
                    jury_decisions::trainee_id.eq(&trainee),
                    jury_decisions::certification_id.eq(&certification.id),
                    jury_decisions::decision.eq(verdict),
                    jury_decisions::decided_on.eq(decided_on),
                    jury_decisions::members.eq(&members_json),
                    jury_decisions::notes.eq(&notes),
                    jury_decisions::recorded_by.eq(&recorder),
                    jury_decisions::recorded_at.eq(now),
                ))
                .execute(conn)
                .map_err(DbError::from)?;
            audit(conn, Some(&recorder), "jury_decision", "jury_decision", id.as_str(), verdict.as_str())?;
            views.push(JuryDecisionView {
                id,
                exam_conditions: exam_conditions.get(&email).cloned(),
                trainee: email,
                decision: verdict,
                decided_on,
                members,
                notes,
                recorded_at: now,
            });
        }
        Ok(views)
    })
}

/// A decision that passed every check, waiting for the whole import to pass.
struct CheckedDecision {
    trainee: UserId,
    email: String,
    verdict: JuryVerdict,
    decided_on: NaiveDate,
    members: Vec<String>,
    notes: Option<String>,
}

/// The oldest administrator account: the recorder when the CLI does not name one.
pub(crate) fn default_recorder(conn: &mut DbConn) -> Result<UserId, CertifyError> {
    use crate::db::schema::user_roles;
    users::table
        .inner_join(user_roles::table)
        .filter(user_roles::role.eq("admin"))
        .order(users::created_at.asc())
        .select(users::id)
        .first(conn)
        .optional()
        .map_err(DbError::from)?
        .ok_or_else(|| {
            CertifyError::Invalid("aucun compte administrateur : créez-en un avec `lms user add --role admin`".into())
        })
}

/// Appends to the audit log (inside the caller's transaction).
pub(crate) fn audit(
    conn: &mut DbConn,
    actor: Option<&UserId>,
    action: &str,
    entity_kind: &str,
    entity_id: &str,
    details: &str,
) -> Result<(), DbError> {
    diesel::insert_into(audit_log::table)
        .values((
            audit_log::id.eq(AuditEntryId::generate()),
            audit_log::at.eq(db::now()),
            audit_log::actor_id.eq(actor),
            audit_log::action.eq(action),
            audit_log::entity_kind.eq(entity_kind),
            audit_log::entity_id.eq(entity_id),
            audit_log::details.eq(Some(details)),
        ))
        .execute(conn)?;
    Ok(())
}

/// Parses a jury CSV: header `trainee,decision,date,members,notes`; members separated by `;`.
/// Every malformed line is reported.
pub fn parse_jury_csv(text: &str) -> Result<Vec<JuryDecisionInput>, CertifyError> {
    Ok(parse_jury_csv_lines(text)?.into_iter().map(|(_, input)| input).collect())
}

/// [`parse_jury_csv`], each decision with its line number in the file (the header is line 1).
fn parse_jury_csv_lines(text: &str) -> Result<Vec<(usize, JuryDecisionInput)>, CertifyError> {
    #[derive(Deserialize)]
    struct Line {
        trainee: String,
        decision: String,
        date: String,
        members: String,
        #[serde(default)]
        notes: Option<String>,
    }
    // A spreadsheet may save a byte-order mark before the header.
    let text = text.trim_start_matches('\u{feff}');
    let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).flexible(false).from_reader(text.as_bytes());
    let mut out = Vec::new();
    let mut problems = Vec::new();
    let headers = reader
        .headers()
        .map_err(|e| CertifyError::Invalid(format!("en-tête illisible : {}", csv_message(&e))))?
        .clone();
    for (index, record) in reader.records().enumerate() {
        // The line where the record starts in the file (a quoted note may span lines).
        let line_of = |position: Option<&csv::Position>| {
            position.and_then(|p| usize::try_from(p.line()).ok()).unwrap_or(index + 2)
        };
        let record = match record {
            Ok(record) => record,
            Err(e) => {
                problems.push(format!("ligne {} : {}", line_of(e.position()), csv_message(&e)));
                continue;
            }
        };
        let line_no = line_of(record.position());
        let line: Line = match record.deserialize(Some(&headers)) {
            Ok(line) => line,
            Err(e) => {
                problems.push(format!("ligne {line_no} : {}", csv_message(&e)));
                continue;
            }
        };
        let verdict = JuryVerdict::parse(&line.decision);
        let date = NaiveDate::parse_from_str(&line.date, "%Y-%m-%d");
        match (verdict, date) {
            (Ok(verdict), Ok(decided_on)) => out.push((
                line_no,
                JuryDecisionInput {
                    trainee_email: line.trainee,
                    verdict,
                    decided_on,
                    members: line.members.split(';').map(str::to_owned).filter(|m| !m.trim().is_empty()).collect(),
                    notes: line.notes,
                },
            )),
            (Err(e), _) => problems.push(format!("ligne {line_no} : {e}")),
            (_, Err(_)) => problems.push(format!(
                "ligne {line_no} : date invalide « {} » (AAAA-MM-JJ)",
                crate::text::printable(&line.date, 40)
            )),
        }
    }
    if !problems.is_empty() {
        return Err(CertifyError::Invalid(format!("fichier refusé — {}", problems.join(" ; "))));
    }
    if out.is_empty() {
        return Err(CertifyError::Invalid(
            "fichier vide (en-tête attendu : trainee,decision,date,members,notes)".into(),
        ));
    }
    Ok(out)
}

fn csv_message(error: &csv::Error) -> String {
    match error.kind() {
        csv::ErrorKind::Deserialize { err, .. } => err.to_string(),
        csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
            format!("{len} colonnes au lieu de {expected_len}")
        }
        _ => error.to_string(),
    }
}

/// One recorded decision with the trainee's e-mail (the columns of [`list_decisions`], in order).
#[derive(Debug, Queryable)]
struct DecisionRow {
    id: JuryDecisionId,
    trainee: String,
    decision: JuryVerdict,
    decided_on: NaiveDate,
    members: JsonText<Vec<String>>,
    notes: Option<String>,
    recorded_at: NaiveDateTime,
}

/// The procès-verbal of a session: every decision ever recorded, oldest first. A decision whose
/// stored list of jury members is not readable fails the whole list loudly.
pub fn list_decisions(conn: &mut DbConn, session: &TrainingSessionId) -> Result<Vec<JuryDecisionView>, CertifyError> {
    let rows: Vec<DecisionRow> = jury_decisions::table
        .inner_join(users::table.on(users::id.eq(jury_decisions::trainee_id)))
        .filter(jury_decisions::training_session_id.eq(session))
        .order((jury_decisions::recorded_at.asc(), jury_decisions::id.asc()))
        .select((
            jury_decisions::id,
            users::email,
            jury_decisions::decision,
            jury_decisions::decided_on,
            jury_decisions::members,
            jury_decisions::notes,
            jury_decisions::recorded_at,
        ))
        .load(conn)
        .map_err(DbError::from)?;
    let exam_conditions = crate::adjustments::exam_conditions_for_session(conn, session)?;
    Ok(rows
        .into_iter()
        .map(|row| JuryDecisionView {
            exam_conditions: exam_conditions.get(&row.trainee).cloned(),
            id: row.id,
            trainee: row.trainee,
            decision: row.decision,
            decided_on: row.decided_on,
            members: row.members.into_inner(),
            notes: row.notes,
            recorded_at: row.recorded_at,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_lines_are_all_checked() {
        let good = "trainee,decision,date,members,notes\nlea@example.org,admitted,2026-06-30,\"A B, présidente; C D, professionnel\",\n";
        let parsed = parse_jury_csv(good).unwrap_or_default();
        assert_eq!(parsed.len(), 1);
        assert_eq!(parsed[0].members.len(), 2);
        let bad = "trainee,decision,date,members,notes\nx@y.fr,maybe,2026-06-30,\"A, b\",\ny@y.fr,admitted,30/06/2026,\"A, b\",\n";
        let error = parse_jury_csv(bad).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(error.contains("ligne 2") && error.contains("ligne 3"), "{error}");
    }

    fn decision(members: &[&str], decided_on: NaiveDate) -> JuryDecisionInput {
        JuryDecisionInput {
            trainee_email: "lea@example.org".into(),
            verdict: JuryVerdict::Admitted,
            decided_on,
            members: members.iter().map(|m| (*m).to_owned()).collect(),
            notes: None,
        }
    }

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 6, d).unwrap_or_default()
    }

    #[test]
    fn member_names_follow_the_name_rule_and_are_not_echoed() {
        for (bad, code) in [
            ("Ana \u{1B}[31mDupont, présidente", "U+001B"),
            ("Ana \u{202E}tnopuD, présidente", "U+202E"),
            ("Ana\u{200B} Dupont, présidente", "U+200B"),
        ] {
            let problem =
                validate(&decision(&["Paul Roy, professionnel", bad], day(10)), day(20)).err().unwrap_or_default();
            assert!(problem.contains("membre n° 2") && problem.contains(code), "{bad:?}: {problem}");
            assert!(!problem.contains('\u{1B}') && !problem.contains('\u{202E}'), "{problem:?}");
        }
        assert!(validate(&decision(&["Awa Diop\u{200D}, présidente"], day(10)), day(20)).is_ok());
    }

    #[test]
    fn a_jury_sits_after_the_last_half_day_and_not_in_the_future() {
        assert!(check_after_training(day(9), Some(day(10))).is_err_and(|p| p.contains("2026-06-10")));
        assert!(check_after_training(day(10), Some(day(10))).is_ok(), "the afternoon of the last day");
        assert!(check_after_training(day(1), None).is_ok());
        assert!(validate(&decision(&["A B, présidente"], day(21)), day(20)).is_err_and(|p| p.contains("futur")));
    }

    #[test]
    fn csv_problems_carry_the_line_of_the_file() {
        let text = "\u{feff}trainee,decision,date,members,notes\n\
                    a@example.org,admitted,2026-06-30,\"A B, présidente\",\"sur\ndeux lignes\"\n\
                    b@example.org,maybe,2026-06-30,\"A B, présidente\",\n";
        let error = parse_jury_csv(text).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(error.contains("ligne 4 : décision inconnue"), "{error}");
        let lines = parse_jury_csv_lines(&text.replace("maybe", "refused")).unwrap_or_default();
        assert_eq!(lines.iter().map(|(line, _)| *line).collect::<Vec<_>>(), [2, 4]);
        let error =
            parse_jury_csv(&text.replace("maybe", "\u{1B}[2J")).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(!error.contains('\u{1B}') && error.contains("ligne 4"), "{error:?}");
    }
}
