//! `lms enrolment`: who is in a session; the office enrols and cancels.

use std::process::ExitCode;

use clap::Subcommand;
use lms_core::enrolment::{self, EnrolmentStatus, office::OfficeEnrolment};
use lms_core::rights::Actor;

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
    /// Liste les demandes d'inscription d'une session (formations sur demande), avec les réponses
    /// de positionnement : en attente d'abord, puis refusées.
    Requests {
        /// Identifiant ou référence de la session.
        #[arg(long)]
        session: String,
    },
    /// Accepte une demande : une place, ou la liste d'attente si la session est complète.
    Admit {
        /// Identifiant ou référence de la session.
        #[arg(long)]
        session: String,
        /// E-mail du ou de la stagiaire.
        #[arg(long)]
        trainee: String,
        /// Commentaire transmis avec la décision.
        #[arg(long)]
        reason: Option<String>,
        /// Parcours adapté : nombre d'heures à suivre (positif, au plus la durée de la formation ;
        /// 35 ou 17,5).
        #[arg(long = "adapted-hours", value_name = "H")]
        adapted_hours: Option<String>,
        /// Parcours adapté : un module du planning de la session à suivre ; répétable.
        #[arg(long = "adapted-module", value_name = "M")]
        adapted_modules: Vec<String>,
        /// Parcours adapté : la note qui l'explique (avec --adapted-hours ou --adapted-module).
        #[arg(long)]
        note: Option<String>,
    },
    /// Refuse une demande, avec son motif (obligatoire), conservé et transmis au ou à la stagiaire.
    Refuse {
        /// Identifiant ou référence de la session.
        #[arg(long)]
        session: String,
        /// E-mail du ou de la stagiaire.
        #[arg(long)]
        trainee: String,
        /// Motif du refus.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Inscrit un stagiaire (par exemple sur commande d'un financeur) : une place s'il en reste,
    /// sinon la liste d'attente ; avec son plan de financement et sa catégorie BPF.
    Add {
        /// Identifiant ou référence de la session.
        #[arg(long)]
        session: String,
        /// Adresse e-mail du stagiaire (un compte existant, rôle stagiaire).
        #[arg(long)]
        trainee: String,
        /// Un financeur et son montant en euros, FINANCEUR:EUROS (opco:1200, cpf:850,50) ;
        /// répétable. Financeurs : company (ou employer), opco, cpf, france_travail, region,
        /// state, other_public, self_funded (ou self), other_provider, other.
        #[arg(long = "funding", value_name = "PAYER:EUROS")]
        funding: Vec<String>,
        /// Catégorie BPF du stagiaire : employee, apprentice, job_seeker, individual, other.
        #[arg(long)]
        category: Option<String>,
    },
    /// Annule l'inscription d'un stagiaire, avec un motif ; après le début de la session,
    /// l'annulation est un abandon (les heures suivies restent acquises).
    Cancel {
        /// Identifiant ou référence de la session.
        #[arg(long)]
        session: String,
        /// Adresse e-mail du stagiaire.
        #[arg(long)]
        trainee: String,
        /// Motif de l'annulation.
        #[arg(long)]
        reason: String,
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
        EnrolmentCommand::Requests { session } => {
            let mut conn = context.connect()?;
            let session = super::find_session(&mut conn, &session)?;
            let requests = lms_core::enrolment::list_requests(&mut conn, Actor::Console, &session)?;
            let rows = requests
                .iter()
                .map(|r| {
                    vec![
                        r.trainee.clone(),
                        r.name.clone(),
                        match r.decision {
                            Some(decision) => decision.label_fr().to_owned(),
                            None => r.status.label_fr().to_owned(),
                        },
                        r.pathway.as_ref().map(|p| p.summary_fr()).unwrap_or_default(),
                        r.decided_by.clone().unwrap_or_default(),
                        r.answers
                            .iter()
                            .map(|a| format!("{} → {}", a.question, a.answer))
                            .collect::<Vec<_>>()
                            .join("\n"),
                        r.decision_reason.clone().unwrap_or_default(),
                    ]
                })
                .collect();
            output::listing(
                context,
                &requests,
                &["e-mail", "nom", "décision", "parcours adapté", "décidé par", "réponses", "motif"],
                rows,
            )
        }
        EnrolmentCommand::Admit { session, trainee, reason, adapted_hours, adapted_modules, note } => {
            let pathway = enrolment::PathwayInput { hours: adapted_hours, modules: adapted_modules, note };
            let mut conn = context.connect()?;
            let session = super::find_session(&mut conn, &session)?;
            let outcome = lms_core::enrolment::admit_with_pathway(
                &mut conn,
                Actor::Console,
                &session,
                &trainee,
                reason.as_deref(),
                &pathway,
                lms_core::db::now(),
            )?;
            if context.json {
                return output::json(&outcome);
            }
            match outcome.waitlist_position {
                None => outln!("Demande acceptée : place confirmée."),
                Some(rank) => outln!("Demande acceptée : session complète, liste d'attente au rang {rank}."),
            }
            Ok(ExitCode::SUCCESS)
        }
        EnrolmentCommand::Refuse { session, trainee, reason } => {
            let mut conn = context.connect()?;
            let session = super::find_session(&mut conn, &session)?;
            let outcome = lms_core::enrolment::refuse(
                &mut conn,
                Actor::Console,
                &session,
                &trainee,
                reason.as_deref(),
                lms_core::db::now(),
            )?;
            if context.json {
                return output::json(&outcome);
            }
            outln!("Demande refusée ; le motif est transmis au ou à la stagiaire.");
            Ok(ExitCode::SUCCESS)
        }
        EnrolmentCommand::Add { session, trainee, funding, category } => {
            let request = OfficeEnrolment {
                trainee_email: trainee,
                funding: funding.iter().map(|f| enrolment::funding::parse_funding(f)).collect::<Result<_, _>>()?,
                category: category.as_deref().map(enrolment::TraineeCategory::parse_input).transpose()?,
            };
            let mut conn = context.connect()?;
            let session = super::find_session(&mut conn, &session)?;
            let added = enrolment::office::add(&mut conn, Actor::Console, &session, &request, lms_core::db::now())?;
            if context.json {
                return output::json(&added);
            }
            match added.outcome.waitlist_position {
                Some(rank) => outln!("{} inscrit·e sur la liste d'attente, rang {rank}.", added.trainee),
                None => outln!("{} inscrit·e : place confirmée.", added.trainee),
            }
            if !added.funding.is_empty() {
                outln!(
                    "Financement : {} (total {}).",
                    enrolment::funding::plan_text(&added.funding),
                    lms_core::locale::euros_fr(added.funding_total_cents)
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        EnrolmentCommand::Cancel { session, trainee, reason } => {
            let mut conn = context.connect()?;
            let session = super::find_session(&mut conn, &session)?;
            let cancelled =
                enrolment::office::cancel(&mut conn, Actor::Console, &session, &trainee, &reason, lms_core::db::now())?;
            if context.json {
                return output::json(&cancelled);
            }
            match cancelled.outcome.status {
                EnrolmentStatus::Abandoned => {
                    outln!("{} : abandon enregistré (les heures suivies restent acquises).", cancelled.trainee)
                }
                _ => outln!("{} : inscription annulée.", cancelled.trainee),
            }
            if let Some(promoted) = &cancelled.promoted_email {
                outln!("Place attribuée à {promoted} (liste d'attente).");
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
