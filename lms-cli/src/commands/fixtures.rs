//! `lms fixtures`: reference and demo data.

use std::process::ExitCode;

use clap::Subcommand;

use crate::{Context, Failure, output};

/// Fixture commands.
#[derive(Debug, Subcommand)]
pub enum FixturesCommand {
    /// Charge les communes, les tiers-lieux, le référentiel RS5142 et le catalogue (sans doublon :
    /// recharger ne change rien). Applique d'abord les migrations en attente.
    Load {
        /// Ajoute les données de démonstration (personnes, sessions, inscriptions, émargements).
        #[arg(long)]
        demo: bool,
    },
}

/// Runs a fixture command.
pub fn run(context: &Context, command: FixturesCommand) -> Result<ExitCode, Failure> {
    match command {
        FixturesCommand::Load { demo } => {
            let mut conn = context.connect_unchecked()?;
            lms_core::db::run_migrations(&mut conn)?;
            let today = lms_core::catalogue::paris_today();
            let report = if demo {
                lms_core::fixtures::load_demo(&mut conn, today)?
            } else {
                lms_core::fixtures::load_reference(&mut conn)?
            };
            if context.json {
                return output::json(&report);
            }
            if report.is_empty() {
                println!("Rien à ajouter : les données sont déjà chargées.");
            } else {
                println!(
                    "Ajouté : {} communes ({} codes postaux, {} anciens noms), {} lieux, {} certification(s), {} formations, {} personnes, {} sessions, {} inscriptions, {} émargements, {} évaluations.",
                    report.communes,
                    report.postcodes,
                    report.commune_aliases,
                    report.venues,
                    report.certifications,
                    report.courses,
                    report.people,
                    report.training_sessions,
                    report.enrolments,
                    report.attendance_entries,
                    report.assessments
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
