//! `lms fixtures`: reference and demo data.

use std::process::ExitCode;

use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use lms_core::fixtures::{
    DEFAULT_GENERATED_SESSIONS, DEFAULT_GENERATED_TRAINEES, DEFAULT_GENERATED_VENUES, DEFAULT_GENERATION_SEED,
    GenerateOptions, GenerateProgress,
};

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
    /// Génère un jeu de données fictif à l'échelle nationale pour les mesures de performance :
    /// lieux dans toutes les communes de France, sessions, stagiaires sans mot de passe,
    /// inscriptions. Charge d'abord les données de référence si besoin. Même graine, mêmes données.
    Generate {
        /// Nombre de lieux.
        #[arg(long, default_value_t = DEFAULT_GENERATED_VENUES)]
        venues: u32,
        /// Nombre de sessions de formation.
        #[arg(long, default_value_t = DEFAULT_GENERATED_SESSIONS)]
        sessions: u32,
        /// Nombre de stagiaires.
        #[arg(long, default_value_t = DEFAULT_GENERATED_TRAINEES)]
        trainees: u32,
        /// Graine du générateur (une graine déjà utilisée dans la base est refusée).
        #[arg(long, default_value_t = DEFAULT_GENERATION_SEED)]
        seed: u64,
    },
}

/// One progress bar per stage of the generation (hidden when stderr is not a terminal).
struct Bars {
    current: Option<(lms_core::fixtures::GenerateStage, ProgressBar)>,
}

impl Bars {
    fn update(&mut self, progress: GenerateProgress) {
        let same_stage = self.current.as_ref().is_some_and(|(stage, _)| *stage == progress.stage);
        if !same_stage {
            if let Some((_, bar)) = self.current.take() {
                bar.finish();
            }
            let bar = ProgressBar::new(progress.total);
            let style = ProgressStyle::with_template("{prefix:>10} [{bar:40}] {pos}/{len} ({per_sec}, reste {eta})")
                .map(|s| s.progress_chars("=> "))
                .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar.set_prefix(progress.stage.label_fr());
            self.current = Some((progress.stage, bar));
        }
        if let Some((_, bar)) = &self.current {
            bar.set_position(progress.done);
        }
    }

    fn finish(&mut self) {
        if let Some((_, bar)) = self.current.take() {
            bar.finish();
        }
    }
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
                outln!("Rien à ajouter : les données sont déjà chargées.");
            } else {
                outln!(
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
        FixturesCommand::Generate { venues, sessions, trainees, seed } => {
            let mut conn = context.connect_unchecked()?;
            lms_core::db::run_migrations(&mut conn)?;
            lms_core::fixtures::load_reference(&mut conn)?;
            let started = std::time::Instant::now();
            let mut bars = Bars { current: None };
            let options = GenerateOptions { venues, sessions, trainees, seed };
            let report = lms_core::fixtures::generate(&mut conn, &options, &mut |p| bars.update(p));
            bars.finish();
            let report = report?;
            if context.json {
                return output::json(&report);
            }
            outln!(
                "Généré (graine {}) en {:.1} s : {} lieux, {} sessions ({} demi-journées), {} stagiaires, {} inscriptions.",
                report.seed,
                started.elapsed().as_secs_f64(),
                report.venues,
                report.training_sessions,
                report.half_days,
                report.trainees,
                report.enrolments
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}
