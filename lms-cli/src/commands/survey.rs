//! `lms survey`: satisfaction questionnaires (Qualiopi indicator 30) — opening what is due,
//! the list with response rates, the results per question, and the questionnaires themselves.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use lms_core::locale;
use lms_core::surveys::results::{mean_fr as mean, rate_fr as rate};
use lms_core::surveys::{self, QuestionKind, questionnaires, results};

use crate::{Context, Failure, output};

/// Survey commands.
#[derive(Debug, Subcommand)]
pub enum SurveyCommand {
    /// Ouvre les questionnaires dus maintenant (à chaud à la fin d'une session, à froid
    /// quelques semaines plus tard), invite et relance ; le serveur le fait lui-même toutes les
    /// LMS_REMINDER_EVERY_SECS, qu'il envoie les e-mails ou non.
    Open,
    /// Liste les questionnaires ouverts, avec invités, réponses et taux de réponse.
    List {
        /// Seulement cette session (identifiant ou référence).
        #[arg(long)]
        session: Option<String>,
    },
    /// Résultats question par question (répartition et moyenne, choix, commentaires), par
    /// public et moment ; toutes sessions confondues sans --session.
    Results {
        /// Seulement cette session (identifiant ou référence).
        #[arg(long)]
        session: Option<String>,
    },
    /// Questionnaires : par défaut ou propres à une formation.
    #[command(subcommand)]
    Questionnaire(QuestionnaireCommand),
}

/// Questionnaire commands.
#[derive(Debug, Subcommand)]
pub enum QuestionnaireCommand {
    /// Importe des questionnaires d'un fichier TOML (`[[questionnaire]]`, remplacement par
    /// formation, public et moment ; tout ou rien).
    Import {
        /// Fichier TOML en UTF-8 (`-` pour l'entrée standard).
        file: PathBuf,
    },
    /// Affiche les questionnaires par défaut, ou ceux propres à une formation.
    Show {
        /// Code de la formation.
        #[arg(long)]
        course: Option<String>,
    },
}

fn day(at: chrono::NaiveDateTime) -> String {
    locale::short_date_fr(locale::to_paris(at).date())
}

/// Runs a survey command.
pub fn run(context: &Context, command: SurveyCommand) -> Result<ExitCode, Failure> {
    match command {
        SurveyCommand::Open => {
            let mut conn = context.connect()?;
            let report = surveys::open_due(&mut conn, lms_core::db::now())?;
            if context.json {
                return output::json(&report);
            }
            for s in &report.opened {
                outln!(
                    "Ouvert : {} — « {} » ({}), {} {}, {} invité(s), jusqu'au {}.",
                    s.session,
                    s.course,
                    s.id,
                    s.audience.label_fr(),
                    s.timing.label_fr().to_lowercase(),
                    s.invited,
                    day(s.closes_at)
                );
            }
            outln!("{} questionnaire(s) ouvert(s), {} relance(s).", report.opened.len(), report.reminders);
            Ok(ExitCode::SUCCESS)
        }
        SurveyCommand::List { session } => {
            let mut conn = context.connect()?;
            let list = results::list(&mut conn, session.as_deref())?;
            let rows = list
                .iter()
                .map(|s| {
                    vec![
                        s.session.clone(),
                        s.course.clone(),
                        s.audience.label_fr().to_owned(),
                        s.timing.label_fr().to_owned(),
                        day(s.opens_at),
                        day(s.closes_at),
                        s.invited.to_string(),
                        s.answered.to_string(),
                        rate(s.response_rate),
                        mean(s.satisfaction_mean),
                    ]
                })
                .collect();
            output::listing(
                context,
                &list,
                &[
                    "session",
                    "formation",
                    "public",
                    "moment",
                    "ouvert",
                    "clos",
                    "invités",
                    "réponses",
                    "taux",
                    "satisfaction",
                ],
                rows,
            )
        }
        SurveyCommand::Results { session } => {
            let mut conn = context.connect()?;
            let found = results::results(&mut conn, session.as_deref())?;
            if context.json {
                return output::json(&found);
            }
            if found.groups.is_empty() {
                outln!("(aucun questionnaire)");
            }
            for group in &found.groups {
                outln!(
                    "{} — {} : {} questionnaire(s), {} réponse(s) sur {} invité(s) ({}).",
                    group.audience.label_fr(),
                    group.timing.label_fr().to_lowercase(),
                    group.surveys,
                    group.answered,
                    group.invited,
                    rate(group.response_rate)
                );
                outln!(
                    "  Satisfaction générale : {} ({} note(s) ; 1 à 5 : {:?})",
                    mean(group.satisfaction.mean),
                    group.satisfaction.answers,
                    group.satisfaction.distribution
                );
                for q in &group.questions {
                    outln!("  {} [{}] — {} réponse(s)", q.label, q.kind.label_fr(), q.answers);
                    if let Some(scale) = &q.scale {
                        outln!("    moyenne {} ; 1 à 5 : {:?}", mean(scale.mean), scale.distribution);
                    }
                    for option in q.options.iter().flatten() {
                        outln!("    {} : {}", option.option, option.count);
                    }
                    for comment in q.comments.iter().flatten() {
                        outln!("    « {comment} »");
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        SurveyCommand::Questionnaire(QuestionnaireCommand::Import { file }) => {
            let text = super::read_input(&file)?;
            let mut conn = context.connect()?;
            let report = questionnaires::import(&mut conn, &text, lms_core::db::now())?;
            if context.json {
                return output::json(&report);
            }
            outln!("{} questionnaire(s) créé(s), {} remplacé(s).", report.created, report.updated);
            Ok(ExitCode::SUCCESS)
        }
        SurveyCommand::Questionnaire(QuestionnaireCommand::Show { course }) => {
            let mut conn = context.connect()?;
            let found = questionnaires::show(&mut conn, course.as_deref())?;
            if context.json {
                return output::json(&found);
            }
            if found.is_empty() {
                outln!("(aucun questionnaire propre à cette formation : le questionnaire par défaut s'applique)");
            }
            for q in &found {
                outln!(
                    "« {} » — {}, {}{}",
                    q.title,
                    q.audience.label_fr(),
                    q.timing.label_fr().to_lowercase(),
                    if q.anonymous { ", anonyme" } else { "" }
                );
                outln!("  satisfaction — Dans l'ensemble, êtes-vous satisfait·e ? [échelle de 1 à 5, obligatoire]");
                for question in &q.questions {
                    let detail = match question.kind {
                        QuestionKind::Scale => format!(
                            " : 1 = {}, 5 = {}",
                            question.min_label.as_deref().unwrap_or(""),
                            question.max_label.as_deref().unwrap_or("")
                        ),
                        QuestionKind::Choice => format!(" : {}", question.options.join(" | ")),
                        QuestionKind::Text => format!(" : {} caractères au plus", question.text_limit()),
                    };
                    outln!(
                        "  {} — {} [{}{}]{detail}",
                        question.id,
                        question.label,
                        question.kind.label_fr(),
                        if question.required { ", obligatoire" } else { "" }
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
