//! `lms mail`: the e-mail outbox — what waits, what went out, what failed and why; retrying.

use std::process::ExitCode;

use clap::Subcommand;
use lms_core::mail::OutboxStatus;
use lms_core::mail::outbox::{self, OutboxView};
use lms_core::mail::reminders;

use crate::{Context, Failure, output};

/// Mail commands.
#[derive(Debug, Subcommand)]
pub enum MailCommand {
    /// Liste les messages de la boîte d'envoi, du plus récent au plus ancien (avec la dernière
    /// erreur des envois manqués).
    List {
        /// Seulement ce statut : pending (en attente ou en cours d'envoi), sent ou failed.
        #[arg(long, value_parser = ["pending", "sent", "failed"])]
        status: Option<String>,
        /// Nombre de messages au plus.
        #[arg(long, default_value = "200")]
        limit: i64,
    },
    /// Remet un message en attente ou en échec dans la file, à envoyer tout de suite (un message
    /// déjà envoyé n'est pas renvoyé).
    Retry {
        /// Identifiant du message (voir `lms mail list`).
        id: String,
    },
    /// Met en file les rappels dus maintenant (stagiaires une semaine et la veille de chaque
    /// période dans un lieu, formateurs dont une feuille terminée n'est pas contresignée) ; le
    /// serveur qui envoie les e-mails le fait lui-même toutes les LMS_REMINDER_EVERY_SECS.
    Remind,
}

fn rows(messages: &[OutboxView]) -> Vec<Vec<String>> {
    messages
        .iter()
        .map(|m| {
            vec![
                m.id.to_string(),
                m.kind.as_str().into(),
                m.to.clone(),
                m.subject.clone(),
                m.status.as_str().into(),
                m.attempts.to_string(),
                m.last_error.clone().unwrap_or_default(),
                m.created_at.format("%Y-%m-%d %H:%M").to_string(),
                m.sent_at.map(|t| t.format("%Y-%m-%d %H:%M").to_string()).unwrap_or_default(),
            ]
        })
        .collect()
}

const HEADER: [&str; 9] =
    ["id", "type", "destinataire", "objet", "statut", "essais", "dernière erreur", "créé (UTC)", "envoyé (UTC)"];

/// Runs a mail command.
pub fn run(context: &Context, command: MailCommand) -> Result<ExitCode, Failure> {
    match command {
        MailCommand::List { status, limit } => {
            let status = status
                .map(|s| s.parse::<OutboxStatus>())
                .transpose()
                .map_err(|e| Failure::new("invalid_input", e.to_string()))?;
            let mut conn = context.connect()?;
            let messages = outbox::list(&mut conn, status, limit)?;
            output::listing(context, &messages, &HEADER, rows(&messages))
        }
        MailCommand::Retry { id } => {
            let mut conn = context.connect()?;
            let message = outbox::retry(&mut conn, &id, lms_core::db::now())?;
            if context.json {
                return output::json(&message);
            }
            outln!("Message {} remis en file : il part au prochain passage du serveur.", message.id);
            Ok(ExitCode::SUCCESS)
        }
        MailCommand::Remind => {
            let mut conn = context.connect()?;
            let report = reminders::enqueue_due(&mut conn, lms_core::db::now())?;
            if context.json {
                return output::json(&report);
            }
            outln!(
                "Rappels mis en file : {} à une semaine, {} la veille, {} feuille(s) à contresigner.",
                report.trainee_week_before,
                report.trainee_day_before,
                report.trainer_cosign
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}
