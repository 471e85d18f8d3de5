//! Jury decisions (procès-verbal): admitted, refused or deferred, by whom, on which date. Kept for
//! good: a new decision (a re-sit) is a new row, and the latest one counts; nothing is ever edited
//! or deleted.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use super::eligibility::{CertifyError, certification_of_session};
use crate::db::ids::{AuditEntryId, JuryDecisionId, TrainingSessionId, UserId};
use crate::db::schema::{audit_log, enrolments, jury_decisions, users};
use crate::db::{self, DbConn, DbError};

/// A jury's decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JuryVerdict {
    /// Admis·e: the certification may be issued.
    Admitted,
    /// Refusé·e.
    Refused,
    /// Ajourné·e (deferred to a later jury).
    Deferred,
}

impl JuryVerdict {
    /// Stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            JuryVerdict::Admitted => "admitted",
            JuryVerdict::Refused => "refused",
            JuryVerdict::Deferred => "deferred",
        }
    }

    /// Parses `admitted`, `refused` or `deferred`.
    pub fn parse(raw: &str) -> Result<Self, CertifyError> {
        match raw.trim() {
            "admitted" => Ok(JuryVerdict::Admitted),
            "refused" => Ok(JuryVerdict::Refused),
            "deferred" => Ok(JuryVerdict::Deferred),
            other => Err(CertifyError::Invalid(format!(
                "décision inconnue « {} » (attendu : admitted, refused ou deferred)",
                other.chars().take(40).collect::<String>()
            ))),
        }
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
    pub decision: String,
    /// Date of the jury.
    pub decided_on: NaiveDate,
    /// Members.
    pub members: Vec<String>,
    /// Notes.
    pub notes: Option<String>,
    /// When it was recorded (UTC).
    pub recorded_at: NaiveDateTime,
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
    for member in &members {
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
        let mut problems = Vec::new();
        let mut rows = Vec::new();
        for (index, input) in inputs.iter().enumerate() {
            let line = |p: String| if inputs.len() > 1 { format!("ligne {} : {p}", index + 1) } else { p };
            let (members, notes) = match validate(input, today) {
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
                    .filter(enrolments::status.eq_any(["confirmed", "completed"])),
            ))
            .get_result(conn)
            .map_err(DbError::from)?;
            if !candidate {
                problems.push(line(format!("{email} n'est pas candidat·e de cette session")));
                continue;
            }
            rows.push((trainee, email, input.verdict, input.decided_on, members, notes));
        }
        if !problems.is_empty() {
            return Err(CertifyError::Invalid(format!("aucune décision enregistrée — {}", problems.join(" ; "))));
        }
        let now = db::now();
        let mut views = Vec::new();
        for (trainee, email, verdict, decided_on, members, notes) in rows {
            let id = JuryDecisionId::generate();
            let members_json = serde_json::to_string(&members).map_err(|e| CertifyError::Invalid(e.to_string()))?;
            diesel::insert_into(jury_decisions::table)
                .values((
                    jury_decisions::id.eq(&id),
                    jury_decisions::training_session_id.eq(session),
                    jury_decisions::trainee_id.eq(&trainee),
                    jury_decisions::certification_id.eq(&certification.id),
                    jury_decisions::decision.eq(verdict.as_str()),
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
                trainee: email,
                decision: verdict.as_str().into(),
                decided_on,
                members,
                notes,
                recorded_at: now,
            });
        }
        Ok(views)
    })
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
    #[derive(Deserialize)]
    struct Line {
        trainee: String,
        decision: String,
        date: String,
        members: String,
        #[serde(default)]
        notes: Option<String>,
    }
    let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).flexible(false).from_reader(text.as_bytes());
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for (index, record) in reader.deserialize::<Line>().enumerate() {
        let line_no = index + 2;
        match record {
            Err(e) => problems.push(format!("ligne {line_no} : {}", csv_message(&e))),
            Ok(line) => {
                let verdict = JuryVerdict::parse(&line.decision);
                let date = NaiveDate::parse_from_str(&line.date, "%Y-%m-%d");
                match (verdict, date) {
                    (Ok(verdict), Ok(decided_on)) => out.push(JuryDecisionInput {
                        trainee_email: line.trainee,
                        verdict,
                        decided_on,
                        members: line.members.split(';').map(str::to_owned).filter(|m| !m.trim().is_empty()).collect(),
                        notes: line.notes,
                    }),
                    (Err(e), _) => problems.push(format!("ligne {line_no} : {e}")),
                    (_, Err(_)) => {
                        problems.push(format!("ligne {line_no} : date invalide « {} » (AAAA-MM-JJ)", line.date))
                    }
                }
            }
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

/// The procès-verbal of a session: every decision ever recorded, oldest first.
pub fn list_decisions(conn: &mut DbConn, session: &TrainingSessionId) -> Result<Vec<JuryDecisionView>, CertifyError> {
    type DecisionRow = (JuryDecisionId, String, String, NaiveDate, String, Option<String>, NaiveDateTime);
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
    Ok(rows
        .into_iter()
        .map(|(id, trainee, decision, decided_on, members, notes, recorded_at)| JuryDecisionView {
            id,
            trainee,
            decision,
            decided_on,
            members: serde_json::from_str(&members).unwrap_or_default(),
            notes,
            recorded_at,
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
}
