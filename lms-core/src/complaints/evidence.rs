//! The register and the improvement actions as audit evidence (`lms quality evidence`):
//! indicator 31 (every complaint, difficulty and incident: dates, nature, subject, status, whether
//! the deadline was kept — no message body) and indicator 32 (every improvement action).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{ComplaintKind, ComplaintStatus, actions, deadline_kept, paris_date};
use crate::db::schema::{complaints, training_sessions};
use crate::db::{self, DbConn, DbError};
use crate::locale;
use crate::quality::EvidenceTable;

type RegisterRow = (
    String,
    NaiveDateTime,
    ComplaintKind,
    Option<String>,
    String,
    ComplaintStatus,
    chrono::NaiveDate,
    Option<NaiveDateTime>,
    Option<NaiveDateTime>,
);

fn day(at: Option<NaiveDateTime>) -> String {
    at.map(|at| locale::short_date_fr(paris_date(at))).unwrap_or_default()
}

/// The evidence tables of indicators 31 (the register) and 32 (improvement actions), as they
/// stand at `now`. One read.
pub fn evidence(conn: &mut DbConn, now: NaiveDateTime) -> Result<Vec<EvidenceTable>, DbError> {
    let today = paris_date(now);
    db::read_transaction(conn, |conn| {
        let rows: Vec<RegisterRow> = complaints::table
            .left_join(training_sessions::table)
            .order((complaints::received_at.asc(), complaints::reference.asc()))
            .select((
                complaints::reference,
                complaints::received_at,
                complaints::kind,
                training_sessions::reference.nullable(),
                complaints::subject,
                complaints::status,
                complaints::answer_due_on,
                complaints::answered_at,
                complaints::closed_at,
            ))
            .load(conn)?;
        let register = EvidenceTable {
            indicator: 31,
            file_stem: "31-reclamations".into(),
            title: "Registre des réclamations, difficultés et incidents".into(),
            description: "Chaque réclamation, difficulté signalée ou incident consigné, avec sa date de réception, \
                          son délai de réponse (en jours ouvrés) et son traitement, tels qu'enregistrés dans le \
                          registre ; le contenu des messages n'y figure pas."
                .into(),
            columns: [
                "Référence",
                "Reçue le",
                "Nature",
                "Session",
                "Objet",
                "Statut",
                "Réponse due le",
                "Répondue le",
                "Close le",
                "Délai tenu",
            ]
            .map(String::from)
            .to_vec(),
            rows: rows
                .into_iter()
                .map(|(reference, received, kind, session, subject, status, due, answered, closed)| {
                    let kept = match deadline_kept(status, answered, due, today) {
                        Some(true) => "oui",
                        Some(false) if answered.is_some() => "non (répondue en retard)",
                        Some(false) => "non (en retard)",
                        None => "en cours",
                    };
                    vec![
                        reference,
                        day(Some(received)),
                        kind.label_fr().into(),
                        session.unwrap_or_default(),
                        subject,
                        status.label_fr().into(),
                        locale::short_date_fr(due),
                        day(answered),
                        day(closed),
                        kept.into(),
                    ]
                })
                .collect(),
        };
        let actions = actions::all(conn, today)?;
        let improvements = EvidenceTable {
            indicator: 32,
            file_stem: "32-actions-amelioration".into(),
            title: "Actions d'amélioration".into(),
            description: "Les actions d'amélioration décidées, à la suite d'une réclamation ou d'elles-mêmes : \
                          responsable, échéance, réalisation et ce qui a été fait."
                .into(),
            columns: [
                "Action",
                "Responsable",
                "Réclamation",
                "Ouverte le",
                "Échéance",
                "Réalisée le",
                "Note",
                "Statut",
            ]
            .map(String::from)
            .to_vec(),
            rows: actions
                .into_iter()
                .map(|a| {
                    let state = match (a.done_on, a.late) {
                        (Some(_), _) => "réalisée",
                        (None, true) => "en retard",
                        (None, false) => "en cours",
                    };
                    vec![
                        a.what,
                        a.owner,
                        a.complaint.unwrap_or_default(),
                        day(Some(a.created_at)),
                        locale::short_date_fr(a.due_on),
                        a.done_on.map(locale::short_date_fr).unwrap_or_default(),
                        a.done_note.unwrap_or_default(),
                        state.into(),
                    ]
                })
                .collect(),
        };
        Ok(vec![register, improvements])
    })
}
