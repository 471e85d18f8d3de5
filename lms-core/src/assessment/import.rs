//! Bulk import of results from a CSV file (`lms assess import --session ID FILE.csv`).
//!
//! Format: a header line, then one result per line. Columns, by name (English or French):
//! `trainee`/`stagiaire` (e-mail), `competence` (number, `1.3`), `result`/`resultat`
//! (`acquired`, `in_progress`, `not_acquired`, or `acquise`, `en cours`, `non acquise`), and
//! optionally `evidence`/`preuve` (note) and `assessor`/`evaluateur` (e-mail of a trainer of the
//! session; `--assessor` gives the default). Comma or semicolon separated (spreadsheets in French
//! write semicolons), UTF-8, an optional byte-order mark.
//!
//! The file is accepted or refused as a whole: every invalid line is reported with its line
//! number in the file, and nothing is written unless every line is valid (one transaction).
//! Re-importing the same file adds nothing (lines equal to the current result are skipped).

use std::collections::HashMap;

use chrono::NaiveDateTime;
use serde::Serialize;

use super::AssessmentError;
use super::AssessmentResult;
use super::grid::{CheckedLine, clean_evidence, referentiel_of, write_lines};
use crate::db::ids::{CompetenceId, TrainingSessionId, UserId};
use crate::db::{self, DbConn};
use crate::people::{self, Role};
use crate::rights::teaches;
use crate::roster::confirmed_trainees;

/// Most data lines accepted in one file.
pub const MAX_ROWS: usize = 20_000;

/// One invalid line.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ImportProblem {
    /// Line number in the file (the header is line 1).
    pub line: u64,
    /// What is wrong, in French.
    pub message: String,
}

/// What an import did.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ImportReport {
    /// Data lines read.
    pub rows: usize,
    /// Results recorded.
    pub recorded: usize,
    /// Lines equal to the current result, skipped.
    pub unchanged: usize,
}

#[derive(Debug, Clone, Copy)]
struct Columns {
    trainee: usize,
    competence: usize,
    result: usize,
    evidence: Option<usize>,
    assessor: Option<usize>,
}

fn fold(header: &str) -> String {
    header
        .trim()
        .trim_start_matches('\u{feff}')
        .to_lowercase()
        .chars()
        .map(|c| match c {
            'é' | 'è' | 'ê' => 'e',
            'à' => 'a',
            ' ' | '-' => '_',
            other => other,
        })
        .collect()
}

fn columns(headers: &csv::StringRecord) -> Result<Columns, String> {
    let find = |names: &[&str]| headers.iter().position(|h| names.contains(&fold(h).as_str()));
    let trainee = find(&["trainee", "stagiaire", "email", "e_mail"]);
    let competence = find(&["competence", "code"]);
    let result = find(&["result", "resultat"]);
    let missing: Vec<&str> = [("trainee", trainee), ("competence", competence), ("result", result)]
        .into_iter()
        .filter(|(_, found)| found.is_none())
        .map(|(name, _)| name)
        .collect();
    match (trainee, competence, result) {
        (Some(trainee), Some(competence), Some(result)) => Ok(Columns {
            trainee,
            competence,
            result,
            evidence: find(&["evidence", "preuve", "note"]),
            assessor: find(&["assessor", "evaluateur", "evaluatrice", "formateur"]),
        }),
        _ => Err(format!(
            "en-tête incomplet : colonne(s) {} manquante(s) (attendu : trainee, competence, result[, evidence, assessor])",
            missing.join(", ")
        )),
    }
}

/// One data line of an import file as read, before anything is looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportLine {
    /// Line number in the file (the header is line 1).
    pub line: u64,
    /// Trainee e-mail, lowercased.
    pub trainee: String,
    /// Competence number as written.
    pub competence: String,
    /// The result, or why it cannot be read.
    pub result: Result<AssessmentResult, String>,
    /// The note (`None`: no evidence column; `Some(None)`: empty cell), or why it is refused.
    pub evidence: Result<Option<Option<String>>, String>,
    /// Assessor e-mail (the line's, else the default), trimmed and lowercased.
    pub assessor: Option<String>,
}

/// What a file holds: its readable lines, and the problems found without the database.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParsedImport {
    /// Data lines (blank lines skipped).
    pub lines: Vec<ImportLine>,
    /// Unreadable lines, too many lines.
    pub problems: Vec<ImportProblem>,
}

/// Reads an import file without the database: header, delimiter, each line's cells, results and
/// notes. The pure half of [`import_csv`] (and what the `assess_import` fuzz target exercises);
/// an unusable header refuses the whole file.
pub fn parse_import(text: &str, default_assessor: Option<&str>) -> Result<ParsedImport, AssessmentError> {
    // Line numbers count line feeds: a file saved with bare carriage returns (old Mac
    // spreadsheets) is read as the lines it shows, not as one line.
    let text = if text.contains('\r') {
        std::borrow::Cow::Owned(text.replace("\r\n", "\n").replace('\r', "\n"))
    } else {
        std::borrow::Cow::Borrowed(text)
    };
    let first_line = text.lines().next().unwrap_or_default();
    let delimiter = if first_line.contains(';') && !first_line.contains(',') { b';' } else { b',' };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(false)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let reject = |line: u64, message: String| AssessmentError::ImportRejected(vec![ImportProblem { line, message }]);
    let headers = reader.headers().map_err(|e| reject(1, format!("en-tête illisible : {e}")))?.clone();
    let columns = columns(&headers).map_err(|m| reject(1, m))?;
    let mut parsed = ParsedImport::default();
    for record in reader.records() {
        let record = match record {
            Ok(record) => record,
            Err(error) => {
                let line = error.position().map(|p| p.line()).unwrap_or(0);
                parsed.problems.push(ImportProblem { line, message: format!("ligne illisible : {error}") });
                continue;
            }
        };
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        if record.iter().all(str::is_empty) {
            continue;
        }
        if parsed.lines.len() >= MAX_ROWS {
            parsed.problems.push(ImportProblem { line, message: format!("au plus {MAX_ROWS} lignes par fichier") });
            break;
        }
        let field = |index: usize| record.get(index).unwrap_or_default();
        parsed.lines.push(ImportLine {
            line,
            trainee: field(columns.trainee).to_lowercase(),
            competence: field(columns.competence).to_owned(),
            result: AssessmentResult::parse(field(columns.result)).map_err(|e| e.to_string()),
            evidence: match columns.evidence.map(field) {
                Some(note) => clean_evidence(Some(note)).map_err(|e| e.to_string()),
                None => Ok(None),
            },
            assessor: columns
                .assessor
                .map(field)
                .filter(|a| !a.is_empty())
                .or(default_assessor)
                .map(|a| a.trim().to_lowercase()),
        });
    }
    Ok(parsed)
}

/// Imports results for `session` from CSV text. `default_assessor` (e-mail) is used for lines
/// without an assessor column or value. Refused as a whole, with every line's problem, if any
/// line is invalid.
pub fn import_csv(
    conn: &mut DbConn,
    session: &TrainingSessionId,
    text: &str,
    default_assessor: Option<&str>,
    now: NaiveDateTime,
) -> Result<ImportReport, AssessmentError> {
    let reject = |line: u64, message: String| AssessmentError::ImportRejected(vec![ImportProblem { line, message }]);
    let parsed = parse_import(text, default_assessor)?;

    db::write_transaction(conn, |conn| {
        let (_, units) = referentiel_of(conn, session)?;
        if units.is_empty() {
            crate::attendance::sheets::session_header(conn, session)?;
            return Err(reject(1, "la formation de cette session ne prépare aucune certification à évaluer".into()));
        }
        let competences: HashMap<String, CompetenceId> =
            units.iter().flat_map(|u| u.competences.iter()).map(|c| (c.code.clone(), c.id.clone())).collect();
        let trainees: HashMap<String, UserId> =
            confirmed_trainees(conn, session)?.into_iter().map(|m| (m.email, m.id)).collect();
        let mut assessors: HashMap<String, Option<UserId>> = HashMap::new();
        let mut problems: Vec<ImportProblem> = parsed.problems.clone();
        let mut lines: Vec<CheckedLine> = Vec::new();
        let mut first_seen: HashMap<(UserId, CompetenceId), u64> = HashMap::new();
        for read in &parsed.lines {
            let line = read.line;
            let mut messages: Vec<String> = Vec::new();
            let trainee = trainees.get(&read.trainee).cloned();
            if trainee.is_none() {
                messages.push(format!(
                    "« {} » n'est pas stagiaire confirmé·e de la session",
                    read.trainee.chars().take(80).collect::<String>()
                ));
            }
            let competence = competences.get(&read.competence).cloned();
            if competence.is_none() {
                messages.push(format!(
                    "compétence « {} » absente du référentiel",
                    read.competence.chars().take(20).collect::<String>()
                ));
            }
            let result = read.result.clone().map_err(|e| messages.push(e)).ok();
            let evidence = read.evidence.clone().map_err(|e| messages.push(e)).ok().flatten();
            let assessor = match &read.assessor {
                None => {
                    messages.push("évaluateur·rice manquant·e (colonne assessor ou option --assessor)".into());
                    None
                }
                Some(email) => {
                    if !assessors.contains_key(email) {
                        let found = match people::user_id_by_email(conn, email)? {
                            Some(id) if teaches(conn, &id, session)? || people::has_role(conn, &id, Role::Admin)? => {
                                Some(id)
                            }
                            _ => None,
                        };
                        assessors.insert(email.clone(), found);
                    }
                    let found = assessors.get(email).cloned().flatten();
                    if found.is_none() {
                        messages.push(format!(
                            "évaluateur·rice « {} » inconnu·e ou ni formateur·rice de la session ni administrateur·rice",
                            email.chars().take(80).collect::<String>()
                        ));
                    }
                    found
                }
            };
            if let (Some(trainee), Some(competence)) = (&trainee, &competence) {
                match first_seen.get(&(trainee.clone(), competence.clone())) {
                    Some(earlier) => {
                        messages.push(format!("même stagiaire et même compétence qu'à la ligne {earlier}"));
                    }
                    None => {
                        first_seen.insert((trainee.clone(), competence.clone()), line);
                    }
                }
            }
            match (messages.is_empty(), trainee, competence, result, assessor) {
                (true, Some(trainee), Some(competence), Some(result), Some(assessor)) => {
                    lines.push(CheckedLine { trainee, competence, result, evidence, assessor });
                }
                _ => problems.push(ImportProblem { line, message: messages.join(" ; ") }),
            }
        }
        let rows = parsed.lines.len();
        if rows == 0 && problems.is_empty() {
            problems.push(ImportProblem { line: 2, message: "aucune ligne de résultat".into() });
        }
        if !problems.is_empty() {
            // Unreadable lines were found while reading, the others while checking: file order.
            problems.sort_by_key(|p| p.line);
            return Err(AssessmentError::ImportRejected(problems));
        }
        let outcome = write_lines(conn, session, &lines, now)?;
        Ok(ImportReport { rows, recorded: outcome.recorded, unchanged: outcome.unchanged })
    })
}

/// Lines of a CSV template for a session: one per trainee and competence, result left empty.
pub fn csv_template(conn: &mut DbConn, session: &TrainingSessionId) -> Result<String, AssessmentError> {
    let (_, units) = referentiel_of(conn, session)?;
    let trainees = confirmed_trainees(conn, session).map_err(AssessmentError::from)?;
    let mut out = String::from("trainee,competence,result,evidence,assessor\n");
    let codes: Vec<&str> = units.iter().flat_map(|u| u.competences.iter()).map(|c| c.code.as_str()).collect();
    for trainee in trainees {
        for code in &codes {
            out.push_str(&format!("{},{code},,,\n", trainee.email));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_numbered_as_shown_whatever_the_line_endings() {
        // Regression (fuzz target `assess_import`): with bare carriage returns every line was
        // reported as line 1.
        for ending in ["\n", "\r\n", "\r"] {
            let text =
                ["trainee;competence;result", "a@example.org;1.1;acquise", "b@example.org;1.2;bof", ""].join(ending);
            let parsed = parse_import(&text, Some("f@example.org")).unwrap();
            let numbers: Vec<u64> = parsed.lines.iter().map(|l| l.line).collect();
            assert_eq!(numbers, vec![2, 3], "{ending:?}");
            assert_eq!(parsed.lines[0].result, Ok(AssessmentResult::Acquired));
            assert!(parsed.lines[1].result.is_err());
        }
    }

    #[test]
    fn an_unusable_header_refuses_the_file() {
        for text in ["", "nom,prenom\nx,y\n", "trainee,competence\n"] {
            assert!(matches!(parse_import(text, None), Err(AssessmentError::ImportRejected(_))), "{text:?}");
        }
    }
}
