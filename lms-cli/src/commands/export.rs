//! `lms export`: regulatory files (Accrochage for the Caisse des Dépôts, LHEO 2.3 for catalogues)
//! and CSV of what an administrator lists.

use std::path::PathBuf;
use std::process::ExitCode;

use chrono::NaiveDate;
use clap::Subcommand;
use lms_core::exports::csv::{self as csv_export, CsvKind};
use lms_core::exports::{accrochage, lheo};

use crate::{Context, Failure, output};

/// Export commands.
#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// Fichier des titulaires pour la Caisse des Dépôts (« Accrochage », XML
    /// urn:cdc:cpf:pc5:schema:1.0.0) : certificats valides décernés dans la période (CREATION),
    /// ou avec --suppressions les certificats révoqués déjà déclarés et pas encore retirés
    /// (SUPPRESSION, qui demande la version 1.1.5 du flux : réglage accrochage.flux_version).
    /// Refuse en listant chaque problème ; avertit des obtentions de plus de trois mois.
    Accrochage {
        /// Premier jour d'obtention (AAAA-MM-JJ).
        #[arg(long, value_parser = parse_date, required_unless_present = "suppressions", requires = "to")]
        from: Option<NaiveDate>,
        /// Dernier jour d'obtention (AAAA-MM-JJ).
        #[arg(long, value_parser = parse_date, required_unless_present = "suppressions", requires = "from")]
        to: Option<NaiveDate>,
        /// Flux SUPPRESSION : retire les passages des certificats révoqués que la Caisse des Dépôts a reçus.
        #[arg(long, conflicts_with_all = ["from", "to"])]
        suppressions: bool,
        /// Fichier XML à écrire.
        #[arg(long)]
        out: PathBuf,
    },
    /// Importe l'accusé de traitement de la Caisse des Dépôts et marque chaque passage accepté ou
    /// rejeté (avec ses messages).
    AccrochageReport {
        /// Fichier XML de l'accusé de traitement.
        file: PathBuf,
    },
    /// L'offre de formation (formations, sessions, lieux avec code INSEE et coordonnées) en LHEO 2.3.
    Lheo {
        /// Fichier XML à écrire.
        #[arg(long)]
        out: PathBuf,
    },
    /// Exporte en CSV (UTF-8, ligne d'en-tête, une ligne par élément, colonnes stables décrites
    /// dans le README) : venues, courses, sessions, enrolments, attendance, assessments,
    /// certificates. Le fichier est écrit entier ou pas du tout.
    Csv {
        /// Ce qu'il faut exporter.
        #[arg(value_parser = clap::builder::PossibleValuesParser::new(CsvKind::ALL.map(CsvKind::as_str)))]
        kind: String,
        /// Fichier CSV à écrire.
        #[arg(long)]
        out: PathBuf,
    },
    /// Enregistre un réglage d'identité de l'organisme utilisé par les exports
    /// (organisation.name|siret|nda|address|postcode|city|email|phone, accrochage.emitter_client_id,
    /// accrochage.flux_version : 1.1.2 par défaut, 1.1.5 pour porter cpf:action et les SUPPRESSION).
    Setting {
        /// Nom du réglage.
        key: String,
        /// Valeur.
        value: String,
    },
}

fn parse_date(raw: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(raw, "%Y-%m-%d").map_err(|_| format!("date invalide « {raw} » (attendu AAAA-MM-JJ)"))
}

/// Runs an export command.
pub fn run(context: &Context, command: ExportCommand) -> Result<ExitCode, Failure> {
    let now = lms_core::db::now();
    match command {
        ExportCommand::Accrochage { from, to, suppressions, out } => {
            let mut conn = context.connect()?;
            let export = match (from, to) {
                (Some(from), Some(to)) if !suppressions => {
                    accrochage::export_accrochage(&mut conn, from, to, &out, now)?
                }
                // clap guarantees --suppressions alone or both dates.
                _ => accrochage::export_accrochage_suppressions(&mut conn, &out, now)?,
            };
            for warning in &export.warnings {
                eprintln!("attention : {warning}");
            }
            if context.json {
                return output::json(&export);
            }
            match export.action {
                accrochage::FluxAction::Creation => {
                    outln!("{} titulaire(s) écrit(s) dans {} (flux {})", export.holders, export.file, export.batch_id)
                }
                accrochage::FluxAction::Suppression => outln!(
                    "{} passage(s) à retirer écrit(s) dans {} (flux SUPPRESSION {})",
                    export.holders,
                    export.file,
                    export.batch_id
                ),
            }
            Ok(ExitCode::SUCCESS)
        }
        ExportCommand::AccrochageReport { file } => {
            let text = std::fs::read_to_string(&file)
                .map_err(|e| Failure::new("io_error", format!("lecture de {} impossible : {e}", file.display())))?;
            let mut conn = context.connect()?;
            let result = accrochage::import_report(&mut conn, &text, now)?;
            if context.json {
                return output::json(&result);
            }
            outln!("{} passage(s) accepté(s), {} rejeté(s)", result.accepted, result.rejected.len());
            for rejected in &result.rejected {
                outln!("  {} : {}", rejected.number, rejected.messages.join(" ; "));
            }
            Ok(ExitCode::SUCCESS)
        }
        ExportCommand::Lheo { out } => {
            let mut conn = context.connect()?;
            let export = lheo::export_lheo(&mut conn, &out, now)?;
            if context.json {
                return output::json(&export);
            }
            outln!("{} formation(s), {} session(s) écrites dans {}", export.formations, export.sessions, export.file);
            Ok(ExitCode::SUCCESS)
        }
        ExportCommand::Csv { kind, out } => {
            // clap accepts only the stored texts of CsvKind.
            let kind = CsvKind::from_stored(&kind).map_err(|e| Failure::new("invalid_input", e.to_string()))?;
            let mut conn = context.connect()?;
            let export = csv_export::export_csv_file(&mut conn, kind, &out)?;
            if context.json {
                return output::json(&export);
            }
            outln!("{} ligne(s) {} écrite(s) dans {}", export.rows, kind.as_str(), export.file);
            Ok(ExitCode::SUCCESS)
        }
        ExportCommand::Setting { key, value } => {
            let mut conn = context.connect()?;
            lms_core::documents::organisation::set_setting(&mut conn, &key, &value)?;
            if context.json {
                return output::json(&serde_json::json!({ "key": key, "value": value }));
            }
            outln!("Réglage {key} enregistré.");
            Ok(ExitCode::SUCCESS)
        }
    }
}
