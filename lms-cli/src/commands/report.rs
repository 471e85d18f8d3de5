//! `lms report`: BPF figures, outcome indicators, territorial coverage.

use std::process::ExitCode;

use clap::Subcommand;
use lms_core::reports::{bpf, coverage, outcomes};

use crate::{Context, Failure, output};

/// Report commands.
#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Chiffres du Bilan pédagogique et financier d'une année : stagiaires et heures-stagiaires par
    /// catégorie (F-1), par objectif (F-3), par spécialité NSF (F-4) ; produits par financeur.
    Bpf {
        /// Année civile (AAAA).
        #[arg(long)]
        year: i32,
    },
    /// Indicateurs de résultats publiés (inscrits, terminés, abandons, présentés, certifiés, taux
    /// d'obtention, satisfaction), au total et par formation.
    Outcomes,
    /// Part de la population d'une région à moins de N minutes estimées d'un tiers-lieu accueillant
    /// des sessions, et communes non couvertes.
    Coverage {
        /// Code région INSEE (75 : Nouvelle-Aquitaine).
        #[arg(long, default_value = "75")]
        region: String,
        /// Temps de trajet maximal estimé, en minutes.
        #[arg(long, default_value_t = 20.0)]
        minutes: f64,
    },
}

fn hours(h: f64) -> String {
    format!("{h:.1} h")
}

/// Runs a report command.
pub fn run(context: &Context, command: ReportCommand) -> Result<ExitCode, Failure> {
    let mut conn = context.connect()?;
    match command {
        ReportCommand::Bpf { year } => {
            let report = bpf::bpf_report(&mut conn, year)?;
            if context.json {
                return output::json(&report);
            }
            outln!("BPF {year} : {} stagiaire(s), {}", report.total.trainees, hours(report.total.hours));
            let mut rows = Vec::new();
            for (cadre, map) in
                [("F-1", &report.by_trainee_category), ("F-3", &report.by_objective), ("F-4", &report.by_nsf)]
            {
                for (key, line) in map {
                    rows.push(vec![cadre.to_owned(), key.clone(), line.trainees.to_string(), hours(line.hours)]);
                }
            }
            for (source, cents) in &report.income_cents_by_funding {
                rows.push(vec!["C".into(), source.clone(), String::new(), lms_core::locale::euros_fr(*cents)]);
            }
            output::listing(context, &report, &["cadre", "ligne", "stagiaires", "heures / montant"], rows)
        }
        ReportCommand::Outcomes => {
            let report = outcomes::outcomes_report(&mut conn)?;
            if context.json {
                return output::json(&report);
            }
            let percent = |v: Option<f64>| v.map(|v| format!("{v:.1} %")).unwrap_or_else(|| "—".into());
            let rows = std::iter::once(&report.total)
                .chain(report.by_course.iter())
                .map(|i| {
                    vec![
                        i.course.clone().unwrap_or_else(|| "TOTAL".into()),
                        i.enrolled.to_string(),
                        i.completed.to_string(),
                        i.abandoned.to_string(),
                        i.sat_certification.to_string(),
                        i.certified.to_string(),
                        percent(i.obtention_rate),
                    ]
                })
                .collect();
            output::listing(
                context,
                &report,
                &["formation", "inscrits", "terminés", "abandons", "présentés", "certifiés", "taux d'obtention"],
                rows,
            )
        }
        ReportCommand::Coverage { region, minutes } => {
            let report = coverage::coverage_report(&mut conn, &region, minutes)?;
            if context.json {
                return output::json(&report);
            }
            outln!(
                "Région {} : {:.1} % de la population ({} sur {}) à moins de {} min d'un des {} lieux accueillant des sessions ; {} commune(s) hors de portée.",
                report.region,
                report.covered_percent,
                report.covered_population,
                report.population,
                report.minutes,
                report.hosting_venues,
                report.uncovered.len()
            );
            let rows = report
                .uncovered
                .iter()
                .take(20)
                .map(|c| {
                    vec![
                        c.insee.clone(),
                        c.name.clone(),
                        c.population.to_string(),
                        format!("{:.0} min", c.minutes),
                        c.nearest_venue.clone().unwrap_or_default(),
                    ]
                })
                .collect();
            output::listing(
                context,
                &report,
                &["INSEE", "commune (20 plus peuplées)", "population", "trajet", "lieu le plus proche"],
                rows,
            )
        }
    }
}
