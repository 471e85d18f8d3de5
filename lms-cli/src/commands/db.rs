//! `lms db`: schema migrations.

use std::process::ExitCode;

use clap::Subcommand;

use crate::{Context, Failure, output};

/// Database commands.
#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Applique les migrations en attente (crée la base SQLite si besoin).
    Migrate,
}

/// Runs a database command.
pub fn run(context: &Context, command: DbCommand) -> Result<ExitCode, Failure> {
    match command {
        DbCommand::Migrate => {
            let mut conn = context.connect_unchecked()?;
            let applied = lms_core::db::run_migrations(&mut conn)?;
            if context.json {
                return output::json(&serde_json::json!({ "applied": applied }));
            }
            if applied.is_empty() {
                outln!("Base à jour : aucune migration en attente.");
            } else {
                for name in &applied {
                    outln!("migration appliquée : {name}");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
