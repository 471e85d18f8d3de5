//! `lms jury`: the procès-verbal of certification juries.

use std::path::PathBuf;
use std::process::ExitCode;

use chrono::NaiveDate;
use clap::Subcommand;
use lms_core::certification::jury::{self, JuryDecisionInput, JuryDecisionView, JuryVerdict};

use crate::{Context, Failure, output};

/// Jury commands.
#[derive(Debug, Subcommand)]
pub enum JuryCommand {
    /// Enregistre la décision du jury pour un·e candidat·e (conservée définitivement ; une nouvelle
    /// décision s'ajoute, la plus récente compte).
    Record {
        /// Identifiant ou référence de la session.
        #[arg(long)]
        session: String,
        /// E-mail du ou de la candidat·e.
        #[arg(long)]
        trainee: String,
        /// Décision : admitted (admis·e), refused (refusé·e) ou deferred (ajourné·e).
        #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(JuryVerdict::ALL.map(JuryVerdict::as_str)))]
        decision: String,
        /// Date du jury (AAAA-MM-JJ) : au plus tôt le jour de la dernière demi-journée de la
        /// session, au plus tard aujourd'hui.
        #[arg(long, value_parser = parse_date)]
        date: NaiveDate,
        /// Membre du jury, « Nom, fonction » ; répétable.
        #[arg(long = "member", required = true)]
        members: Vec<String>,
        /// Observations portées au procès-verbal.
        #[arg(long)]
        notes: Option<String>,
    },
    /// Importe des décisions depuis un CSV (en-tête : trainee,decision,date,members,notes ; membres
    /// séparés par « ; »). Toutes les lignes sont vérifiées ; rien n'est enregistré si l'une est fausse.
    Import {
        /// Identifiant ou référence de la session.
        #[arg(long)]
        session: String,
        /// Fichier CSV (UTF-8).
        file: PathBuf,
    },
    /// Affiche le procès-verbal d'une session (toutes les décisions, dans l'ordre).
    List {
        /// Identifiant ou référence de la session.
        #[arg(long)]
        session: String,
    },
}

fn parse_date(raw: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(raw, "%Y-%m-%d").map_err(|_| format!("date invalide « {raw} » (attendu AAAA-MM-JJ)"))
}

fn render(context: &Context, decisions: &[JuryDecisionView]) -> Result<ExitCode, Failure> {
    let rows = decisions
        .iter()
        .map(|d| {
            vec![
                d.trainee.clone(),
                d.decision.to_string(),
                d.decided_on.to_string(),
                d.members.join(" ; "),
                d.exam_conditions.clone().unwrap_or_default(),
            ]
        })
        .collect();
    output::listing(context, decisions, &["candidat·e", "décision", "date", "jury", "conditions d'examen"], rows)
}

/// Runs a jury command.
pub fn run(context: &Context, command: JuryCommand) -> Result<ExitCode, Failure> {
    let today = lms_core::catalogue::paris_today();
    match command {
        JuryCommand::Record { session, trainee, decision, date, members, notes } => {
            let verdict = JuryVerdict::parse(&decision)?;
            let mut conn = context.connect()?;
            let session = super::find_session(&mut conn, &session)?;
            let view = jury::record_decision(
                &mut conn,
                &session,
                &JuryDecisionInput { trainee_email: trainee, verdict, decided_on: date, members, notes },
                None,
                today,
            )?;
            render(context, std::slice::from_ref(&view))
        }
        JuryCommand::Import { session, file } => {
            let text = std::fs::read_to_string(&file)
                .map_err(|e| Failure::new("io_error", format!("lecture de {} impossible : {e}", file.display())))?;
            let mut conn = context.connect()?;
            let session = super::find_session(&mut conn, &session)?;
            let views = jury::import_jury_csv(&mut conn, &session, &text, None, today)?;
            render(context, &views)
        }
        JuryCommand::List { session } => {
            let mut conn = context.connect()?;
            let session = super::find_session(&mut conn, &session)?;
            let views = jury::list_decisions(&mut conn, &session)?;
            render(context, &views)
        }
    }
}
