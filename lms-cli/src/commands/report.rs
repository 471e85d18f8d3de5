//! `lms report`: BPF figures, outcome indicators, territorial coverage.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Subcommand;
use comfy_table::{ContentArrangement, Table, presets::UTF8_BORDERS_ONLY};
use lms_core::reports::bpf::inputs::{self, BpfInputView};
use lms_core::reports::{bpf, coverage, outcomes};
use lms_core::rights::Actor;

use crate::{Context, Failure, output};

/// Report commands.
#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Bilan pédagogique et financier (Cerfa 10443) d'une année, cadre par cadre (A à H) sur les
    /// lignes du formulaire : calculé depuis les inscriptions, les financements et le registre
    /// d'émargement, complété par les données saisies avec `lms report bpf-input`.
    Bpf {
        /// Année civile (AAAA).
        #[arg(long)]
        year: i32,
        /// Écrit aussi le bilan en PDF, mis en page comme le Cerfa, dans ce fichier.
        #[arg(long, value_name = "FICHIER")]
        pdf: Option<PathBuf>,
    },
    /// Données du BPF que le LMS ne peut pas calculer (charges, produits hors LMS, chiffre
    /// d'affaires, activité principale, formateurs extérieurs, sous-traitance, personne ayant
    /// rempli le bilan), par année. Sans CLÉ : la liste des clés et des valeurs saisies. Avec CLÉ
    /// VALEUR : enregistre la valeur (une valeur vide l'efface). Exemples : `d.total 48000`,
    /// `c.2b 3200,50`, `b.main_activity oui`, `e.external_hours 35,5`.
    BpfInput {
        /// Année civile (AAAA).
        #[arg(long)]
        year: i32,
        /// Clé de la donnée (voir la liste).
        #[arg(requires = "value")]
        key: Option<String>,
        /// Valeur : montant en euros, nombre, heures (une décimale), oui/non ou texte. Une valeur
        /// négative est lue comme une valeur (et refusée avec son explication), pas comme une option.
        #[arg(allow_hyphen_values = true)]
        value: Option<String>,
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

fn input_row(view: &BpfInputView) -> Vec<String> {
    vec![
        view.key.clone(),
        view.value.as_ref().map(|v| v.display_fr()).unwrap_or_else(|| "(non renseigné)".into()),
        view.label.clone(),
    ]
}

/// The form's cadres in order, each as a table of its lines.
fn print_bpf(report: &bpf::BpfReport) {
    outln!("Bilan pédagogique et financier (Cerfa 10443) — exercice {}", report.year);
    for section in report.form() {
        outln!("");
        outln!("Cadre {} — {}", section.cadre, section.title);
        let mut table = Table::new();
        table.load_preset(UTF8_BORDERS_ONLY).set_content_arrangement(ContentArrangement::Dynamic);
        let mut header = vec!["ligne", "libellé"];
        header.extend(section.columns.iter().map(|c| if c.is_empty() { "valeur" } else { c }));
        table.set_header(header);
        for row in &section.rows {
            let label = if row.total { format!("{} (total)", row.label) } else { row.label.clone() };
            let mut cells = vec![row.line.clone(), label];
            cells.extend(row.cells.iter().cloned());
            table.add_row(cells);
        }
        outln!("{table}");
        for note in &section.notes {
            outln!("  {note}");
        }
    }
    if !report.missing_inputs.is_empty() {
        outln!("");
        outln!(
            "À saisir (lms report bpf-input --year {} CLÉ VALEUR) : {}",
            report.year,
            report.missing_inputs.join(", ")
        );
    }
}

/// Writes the PDF through a temporary file, so that a failure leaves nothing behind.
fn write_pdf(out: &Path, bytes: &[u8]) -> Result<(), Failure> {
    let temporary = out.with_extension("pdf.part");
    std::fs::write(&temporary, bytes).and_then(|()| std::fs::rename(&temporary, out)).map_err(|e| {
        let _ = std::fs::remove_file(&temporary);
        Failure::new("io_error", format!("écriture de {} impossible : {e}", out.display()))
    })
}

/// Runs a report command.
pub fn run(context: &Context, command: ReportCommand) -> Result<ExitCode, Failure> {
    let mut conn = context.connect()?;
    match command {
        ReportCommand::Bpf { year, pdf } => {
            let report = bpf::bpf_report(&mut conn, year)?;
            if let Some(out) = &pdf {
                let today = lms_core::catalogue::paris_today();
                write_pdf(out, &lms_core::documents::bpf::render_bpf(&report, today)?)?;
            }
            if context.json {
                return output::json(&report);
            }
            print_bpf(&report);
            if let Some(out) = &pdf {
                outln!("PDF écrit : {}", out.display());
            }
            Ok(ExitCode::SUCCESS)
        }
        ReportCommand::BpfInput { year, key: Some(key), value } => {
            let view = inputs::set_input(
                &mut conn,
                &Actor::Console,
                year,
                &key,
                value.as_deref().unwrap_or_default(),
                lms_core::db::now(),
            )?;
            if context.json {
                return output::json(&view);
            }
            match &view.value {
                Some(value) => outln!("BPF {year} : {} = {}", view.key, value.display_fr()),
                None => outln!("BPF {year} : {} effacé.", view.key),
            }
            Ok(ExitCode::SUCCESS)
        }
        ReportCommand::BpfInput { year, key: None, .. } => {
            let views = inputs::list_inputs(&mut conn, &Actor::Console, year)?;
            let rows = views.iter().map(input_row).collect();
            output::listing(context, &views, &["clé", "valeur", "description"], rows)
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
