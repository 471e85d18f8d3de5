//! `lms assess`: competence results in bulk.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use lms_core::assessment::import;
use lms_core::attendance::records;

use crate::{Context, Failure, output};

/// Assessment commands.
#[derive(Debug, Subcommand)]
pub enum AssessCommand {
    /// Importe des résultats depuis un fichier CSV (en-tête : trainee,competence,result[,evidence,
    /// assessor] ; séparateur virgule ou point-virgule). Le fichier est accepté ou refusé en
    /// entier : chaque ligne invalide est signalée avec son numéro et rien n'est enregistré.
    Import {
        /// Identifiant ou référence de la session.
        #[arg(long)]
        session: String,
        /// Évaluateur·rice par défaut (e-mail d'un·e formateur·rice de la session).
        #[arg(long)]
        assessor: Option<String>,
        /// Fichier CSV (UTF-8), ou « - » pour l'entrée standard.
        file: PathBuf,
    },
    /// Écrit sur la sortie standard un modèle CSV : une ligne par stagiaire et par compétence.
    Template {
        /// Identifiant ou référence de la session.
        #[arg(long)]
        session: String,
    },
}

/// Runs an assessment command.
pub fn run(context: &Context, command: AssessCommand) -> Result<ExitCode, Failure> {
    match command {
        AssessCommand::Import { session, assessor, file } => {
            let text = super::read_input(&file)?;
            let mut conn = context.connect()?;
            let session = records::find_session(&mut conn, &session)?;
            let report = import::import_csv(&mut conn, &session, &text, assessor.as_deref(), lms_core::db::now())?;
            if context.json {
                return output::json(&report);
            }
            outln!(
                "{} ligne(s) lue(s) : {} résultat(s) enregistré(s), {} inchangé(s).",
                report.rows,
                report.recorded,
                report.unchanged
            );
            Ok(ExitCode::SUCCESS)
        }
        AssessCommand::Template { session } => {
            let mut conn = context.connect()?;
            let session = records::find_session(&mut conn, &session)?;
            output::text(&import::csv_template(&mut conn, &session)?);
            Ok(ExitCode::SUCCESS)
        }
    }
}
