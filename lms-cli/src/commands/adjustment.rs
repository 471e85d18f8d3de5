//! `lms adjustment`: the disability referent's console — every adjustment request, and the
//! decision on one (agreed adjustments and exam conditions, or declined with a reason).

use std::process::ExitCode;

use clap::Subcommand;
use lms_core::adjustments::{self, AdjustmentDecision, AdjustmentError};
use lms_core::db::ids::AdjustmentRequestId;
use lms_core::rights::Actor;

use crate::{Context, Failure, output};

/// Adjustment commands.
#[derive(Debug, Subcommand)]
pub enum AdjustmentCommand {
    /// Liste les demandes d'aménagement (en attente d'abord), avec leur texte : réservé au ou à la
    /// référent·e handicap.
    List,
    /// Enregistre la réponse à une demande : --agree --adjustments T [--exam-conditions T], ou
    /// --decline --reason T.
    Decide {
        /// Identifiant de la demande (voir `lms adjustment list`).
        id: String,
        /// Aménagement convenu.
        #[arg(long, conflicts_with = "decline", required_unless_present = "decline")]
        agree: bool,
        /// Demande non retenue.
        #[arg(long, conflicts_with_all = ["adjustments", "exam_conditions"])]
        decline: bool,
        /// Les aménagements convenus (montrés aux formateur·rices de la session).
        #[arg(long, requires = "agree")]
        adjustments: Option<String>,
        /// Les conditions d'examen (montrées au jury de certification).
        #[arg(long = "exam-conditions", requires = "agree")]
        exam_conditions: Option<String>,
        /// Le motif du refus (transmis au ou à la stagiaire).
        #[arg(long, requires = "decline")]
        reason: Option<String>,
    },
}

/// Runs an adjustment command.
pub fn run(context: &Context, command: AdjustmentCommand) -> Result<ExitCode, Failure> {
    match command {
        AdjustmentCommand::List => {
            let mut conn = context.connect()?;
            let requests = adjustments::list_for_referent(&mut conn, Actor::Console)?;
            let rows = requests
                .iter()
                .map(|r| {
                    vec![
                        r.id.to_string(),
                        r.trainee.clone(),
                        r.session.clone().unwrap_or_default(),
                        r.status.label_fr().to_owned(),
                        r.request.clone(),
                        r.agreed_adjustments.clone().or_else(|| r.decline_reason.clone()).unwrap_or_default(),
                        r.exam_conditions.clone().unwrap_or_default(),
                    ]
                })
                .collect();
            output::listing(
                context,
                &requests,
                &["id", "stagiaire", "session", "statut", "demande", "réponse", "conditions d'examen"],
                rows,
            )
        }
        AdjustmentCommand::Decide { id, agree, decline: _, adjustments: agreed, exam_conditions, reason } => {
            let id: AdjustmentRequestId = id.parse().map_err(|_| AdjustmentError::UnknownRequest)?;
            let decision = if agree {
                AdjustmentDecision::Agree { adjustments: agreed.unwrap_or_default(), exam_conditions }
            } else {
                AdjustmentDecision::Decline { reason: reason.unwrap_or_default() }
            };
            let mut conn = context.connect()?;
            let view = adjustments::decide(&mut conn, Actor::Console, &id, &decision, lms_core::db::now())?;
            if context.json {
                return output::json(&view);
            }
            outln!("Réponse enregistrée : {}.", view.status.label_fr());
            Ok(ExitCode::SUCCESS)
        }
    }
}
