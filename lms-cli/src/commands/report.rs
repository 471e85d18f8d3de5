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
    /// Indicateurs de résultats publiés (inscrits, terminés, abandons, présentés — ajournés
    /// compris —, certifiés, taux de certification, satisfaction et taux de réponse), au total et
    /// par formation, pour les sessions terminées dans la période (par défaut : les douze mois
    /// finissant aujourd'hui).
    Outcomes {
        /// Premier jour de la période (AAAA-MM-JJ) ; par défaut douze mois avant --to.
        #[arg(long, value_name = "DATE")]
        from: Option<String>,
        /// Dernier jour de la période (AAAA-MM-JJ) ; par défaut aujourd'hui.
        #[arg(long, value_name = "DATE")]
        to: Option<String>,
    },
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

/// The period typed at the console: either end may be left out (see [`outcomes::Period::resolve`]).
pub fn period_of(
    from: Option<&str>,
    to: Option<&str>,
    now: chrono::NaiveDateTime,
) -> Result<outcomes::Period, Failure> {
    let from = from.map(|raw| outcomes::Period::parse_date("--from", raw)).transpose()?;
    let to = to.map(|raw| outcomes::Period::parse_date("--to", raw)).transpose()?;
    Ok(outcomes::Period::resolve(from, to, now)?)
}

/// The outcome indicators: the period, then one line per course and the total.
fn print_outcomes(report: &outcomes::OutcomesReport) {
    use lms_core::locale::{count_fr, decimal_fr, percent_fr, short_date_fr};
    outln!(
        "Résultats des sessions terminées du {} au {} (mis à jour le {}).",
        short_date_fr(report.period.from),
        short_date_fr(report.period.to),
        short_date_fr(report.updated_on)
    );
    if !report.has_data() {
        outln!("Aucune session terminée sur la période : aucune donnée enregistrée.");
        return;
    }
    let percent = |v: Option<f64>| v.map(percent_fr).unwrap_or_else(|| "non calculable".into());
    let mut table = Table::new();
    table.load_preset(UTF8_BORDERS_ONLY).set_content_arrangement(ContentArrangement::Dynamic);
    table.set_header([
        "formation",
        "inscrits",
        "terminés",
        "abandons",
        "achèvement",
        "présentés",
        "certifiés",
        "taux de certification",
        "satisfaction",
    ]);
    for i in report.by_course.iter().chain(std::iter::once(&report.total)) {
        let name = match (&i.course, &i.title) {
            (Some(code), Some(title)) => format!("{code} — {title}"),
            _ => "TOTAL".to_owned(),
        };
        let satisfaction = match (i.satisfaction_mean, i.satisfaction_response_rate) {
            (Some(mean), rate) => format!(
                "{} / 5 ({} sur {}{})",
                decimal_fr(mean, 1),
                count_fr(i.satisfaction_answered, "réponse", "réponses"),
                count_fr(i.satisfaction_invited, "interrogé", "interrogés"),
                rate.map(|r| format!(", {}", percent_fr(r))).unwrap_or_default()
            ),
            (None, _) if i.satisfaction_invited > 0 => {
                format!("aucune réponse sur {}", count_fr(i.satisfaction_invited, "interrogé", "interrogés"))
            }
            (None, _) => "pas de questionnaire".to_owned(),
        };
        table.add_row(vec![
            name,
            i.enrolled.to_string(),
            i.completed.to_string(),
            i.abandoned.to_string(),
            percent(i.completion_rate),
            format!("{} (dont {} ajournés)", i.presented, i.deferred),
            i.certified.to_string(),
            percent(i.certification_rate),
            satisfaction,
        ]);
    }
    outln!("{table}");
    outln!("Taux de certification = certifiés ÷ présentés (admis, refusés et ajournés).");
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
        ReportCommand::Outcomes { from, to } => {
            let now = lms_core::db::now();
            let period = period_of(from.as_deref(), to.as_deref(), now)?;
            let report = outcomes::outcomes_report(&mut conn, period, now)?;
            if context.json {
                return output::json(&report);
            }
            print_outcomes(&report);
            Ok(ExitCode::SUCCESS)
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
