//! `lms quality`: the Qualiopi quality file, assembled from recorded data for an auditor.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use lms_core::quality::evidence::{self, EvidenceScope};
use serde::Serialize;

use crate::{Context, Failure, output};

/// Quality commands.
#[derive(Debug, Subcommand)]
pub enum QualityCommand {
    /// Dossier de preuves Qualiopi : pour chaque indicateur documenté (1, 2, 3, 8, 11, 26, 30, 31, 32), un tableau
    /// en CSV et en PDF, avec `index.csv` et `LISEZMOI.txt` (fichier, indicateur, titre, nombre
    /// de lignes, date de génération, organisme). Un indicateur sans donnée a quand même son
    /// fichier, qui le dit. Le dossier est créé s'il manque ; un dossier non vide est refusé sans
    /// --force. Rien n'est écrit en cas d'erreur.
    Evidence {
        /// Dossier où écrire les fichiers.
        #[arg(long, value_name = "DOSSIER")]
        out: PathBuf,
        /// Premier jour de la période (AAAA-MM-JJ) ; par défaut douze mois avant --to.
        #[arg(long, value_name = "DATE")]
        from: Option<String>,
        /// Dernier jour de la période (AAAA-MM-JJ) ; par défaut aujourd'hui.
        #[arg(long, value_name = "DATE")]
        to: Option<String>,
        /// Écrit dans un dossier qui n'est pas vide (les fichiers du dossier qualité y sont remplacés).
        #[arg(long)]
        force: bool,
    },
}

/// What `--json` prints.
#[derive(Serialize)]
struct Written<'a> {
    dir: String,
    organisation: &'a str,
    period: lms_core::reports::outcomes::Period,
    generated_at: chrono::NaiveDateTime,
    files: Vec<String>,
    index: &'a [evidence::IndexEntry],
}

/// Runs a quality command.
pub fn run(context: &Context, command: QualityCommand) -> Result<ExitCode, Failure> {
    match command {
        QualityCommand::Evidence { out, from, to, force } => {
            let now = lms_core::db::now();
            // The period is checked before the database is opened or anything is written.
            let period = super::report::period_of(from.as_deref(), to.as_deref(), now)?;
            let mut conn = context.connect()?;
            let scope = EvidenceScope { period, now, public_url: Some(context.public_url.clone()) };
            let bundle = evidence::evidence_bundle(&mut conn, &scope)?;
            let written = evidence::write_bundle(&bundle, &out, force)?;
            if context.json {
                return output::json(&Written {
                    dir: written.dir,
                    organisation: &bundle.organisation,
                    period: bundle.period,
                    generated_at: bundle.generated_at,
                    files: written.files,
                    index: &bundle.index,
                });
            }
            outln!(
                "Dossier qualité de {} ({}) écrit dans {} : {} fichiers.",
                bundle.organisation,
                evidence::period_fr(bundle.period),
                written.dir,
                written.files.len()
            );
            let rows = bundle
                .index
                .iter()
                .map(|e| {
                    let rows = if e.rows == 0 { "aucune donnée enregistrée".to_owned() } else { e.rows.to_string() };
                    vec![e.file.clone(), e.indicator.to_string(), e.title.clone(), rows]
                })
                .collect();
            output::listing(context, &bundle.index, &["fichier", "indicateur", "titre", "lignes"], rows)
        }
    }
}
