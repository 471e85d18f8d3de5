//! `lms attendance`: the hash-chained attendance ledger.

use std::process::ExitCode;

use clap::Subcommand;
use lms_core::db::ids::TrainingSessionId;

use crate::{Context, Failure, output};

/// Attendance commands.
#[derive(Debug, Subcommand)]
pub enum AttendanceCommand {
    /// Recalcule chaque chaîne d'émargement et nomme toute entrée modifiée, supprimée ou insérée
    /// hors de l'application. Code de sortie 1 si le registre est altéré.
    Verify {
        /// Seulement cette session.
        #[arg(long)]
        session: Option<String>,
    },
}

/// Runs an attendance command.
pub fn run(context: &Context, command: AttendanceCommand) -> Result<ExitCode, Failure> {
    match command {
        AttendanceCommand::Verify { session } => {
            let session =
                session.map(|s| TrainingSessionId::parse(&s).map_err(|e| Failure::new(e.to_string()))).transpose()?;
            let mut conn = context.connect()?;
            let report = lms_core::attendance::verify_ledger(&mut conn, session.as_ref())?;
            if context.json {
                output::json(&report)?;
            } else {
                for p in &report.problems {
                    println!(
                        "session {} · entrée n° {} · {} · {}",
                        p.session,
                        p.seq,
                        p.entry.as_deref().unwrap_or("—"),
                        p.problem
                    );
                }
                println!(
                    "{} session(s), {} entrée(s) vérifiée(s), {} problème(s)",
                    report.sessions,
                    report.entries,
                    report.problems.len()
                );
            }
            if report.problems.is_empty() {
                Ok(ExitCode::SUCCESS)
            } else {
                Err(Failure::new(format!("registre d'émargement altéré : {} problème(s)", report.problems.len())))
            }
        }
    }
}
