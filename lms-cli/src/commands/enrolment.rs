//! `lms enrolment`: who is in a session.

use std::process::ExitCode;

use clap::Subcommand;

use crate::{Context, Failure, output};

/// Enrolment commands.
#[derive(Debug, Subcommand)]
pub enum EnrolmentCommand {
    /// Liste les inscriptions d'une session : confirmées, puis liste d'attente dans l'ordre.
    List {
        /// Identifiant ou référence de la session.
        #[arg(long)]
        session: String,
    },
}

/// Runs an enrolment command.
pub fn run(context: &Context, command: EnrolmentCommand) -> Result<ExitCode, Failure> {
    match command {
        EnrolmentCommand::List { session } => {
            let mut conn = context.connect()?;
            let session = super::find_session(&mut conn, &session)?;
            lms_core::catalogue::find_training_session(&mut conn, &session)?;
            let enrolments = lms_core::enrolment::list_enrolments(&mut conn, &session)?;
            let rows = enrolments
                .iter()
                .map(|e| {
                    vec![
                        e.trainee.clone(),
                        e.name.clone(),
                        e.status.as_str().into(),
                        e.waitlist_position.map(|p| p.to_string()).unwrap_or_default(),
                        e.funding_source.clone().unwrap_or_default(),
                    ]
                })
                .collect();
            output::listing(context, &enrolments, &["e-mail", "nom", "statut", "rang", "financement"], rows)
        }
    }
}
