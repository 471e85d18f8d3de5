//! `lms documents`: the documents a training organisation hands out to each trainee
//! (certificat de réalisation, attestation de fin de formation), and the organisation identity
//! printed on them.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use lms_core::attendance::Actor;
use lms_core::attendance::records;
use lms_core::documents::organisation;

use super::attendance::{report_document, write_document};
use crate::{Context, Failure, output};

/// Document commands.
#[derive(Debug, Subcommand)]
pub enum DocumentsCommand {
    /// Écrit le certificat de réalisation d'un·e stagiaire (heures réellement suivies, calculées
    /// à partir du registre d'émargement).
    Completion {
        /// Identifiant ou référence de la session.
        #[arg(long)]
        session: String,
        /// E-mail du ou de la stagiaire.
        #[arg(long)]
        trainee: String,
        /// Fichier PDF à écrire.
        #[arg(long)]
        out: PathBuf,
    },
    /// Écrit l'attestation de fin de formation d'un·e stagiaire (objectifs, nature, durée,
    /// résultats de l'évaluation), une fois la dernière demi-journée passée.
    Attestation {
        /// Identifiant ou référence de la session.
        #[arg(long)]
        session: String,
        /// E-mail du ou de la stagiaire.
        #[arg(long)]
        trainee: String,
        /// Fichier PDF à écrire.
        #[arg(long)]
        out: PathBuf,
    },
    /// Enregistre un élément de l'identité de l'organisme imprimée sur les documents
    /// (organisation.name, .siret, .nda, .address, .postcode, .city, .email, .phone,
    /// .representative). Une valeur vide l'efface.
    Setting {
        /// Nom du réglage.
        key: String,
        /// Valeur.
        value: String,
    },
    /// Liste l'identité de l'organisme et ce qui manque.
    Settings,
    /// Enregistre l'employeur d'un·e stagiaire pour cette formation (imprimé sur le certificat
    /// de réalisation). Une valeur vide l'efface.
    Employer {
        /// Identifiant ou référence de la session.
        #[arg(long)]
        session: String,
        /// E-mail du ou de la stagiaire.
        #[arg(long)]
        trainee: String,
        /// Raison sociale de l'employeur.
        employer: String,
    },
}

/// Runs a documents command.
pub fn run(context: &Context, command: DocumentsCommand) -> Result<ExitCode, Failure> {
    let now = lms_core::db::now();
    match command {
        DocumentsCommand::Completion { session, trainee, out } => {
            let mut conn = context.connect()?;
            let session = records::find_session(&mut conn, &session)?;
            let document = records::completion_pdf(&mut conn, Actor::Console, &session, &trainee, now)?;
            write_document(&out, &document)?;
            report_document(context, &out, &document)
        }
        DocumentsCommand::Attestation { session, trainee, out } => {
            let mut conn = context.connect()?;
            let session = records::find_session(&mut conn, &session)?;
            let document =
                lms_core::assessment::attestation::attestation_pdf(&mut conn, Actor::Console, &session, &trainee, now)?;
            write_document(&out, &document)?;
            report_document(context, &out, &document)
        }
        DocumentsCommand::Setting { key, value } => {
            let mut conn = context.connect()?;
            organisation::set_setting(&mut conn, &key, &value)?;
            if context.json {
                return output::json(&serde_json::json!({ "key": key.trim(), "value": value.trim() }));
            }
            outln!("Réglage {} enregistré.", key.trim());
            Ok(ExitCode::SUCCESS)
        }
        DocumentsCommand::Settings => {
            let mut conn = context.connect()?;
            let settings = organisation::organisation_settings(&mut conn)?;
            let rows = settings
                .iter()
                .map(|s| {
                    vec![
                        s.key.to_owned(),
                        s.value.clone().unwrap_or_else(|| "(non renseigné)".into()),
                        s.label.to_owned(),
                    ]
                })
                .collect();
            output::listing(context, &settings, &["réglage", "valeur", "description"], rows)
        }
        DocumentsCommand::Employer { session, trainee, employer } => {
            let mut conn = context.connect()?;
            let session = records::find_session(&mut conn, &session)?;
            let employer = lms_core::enrolment::employer::set_employer(
                &mut conn,
                Actor::Console,
                &session,
                &trainee,
                &employer,
                now,
            )?;
            if context.json {
                return output::json(&serde_json::json!({ "trainee": trainee.trim(), "employer": employer }));
            }
            match employer {
                Some(employer) => outln!("Employeur de {} : {employer}.", trainee.trim()),
                None => outln!("Employeur de {} effacé.", trainee.trim()),
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
