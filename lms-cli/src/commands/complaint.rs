//! `lms complaint`: the complaints register at the console — list (`--status`, `--overdue`), show
//! one with its history and actions, and move it: acknowledge, answer (optionally opening an
//! improvement action), close; `lms complaint action list|add|done` for improvement actions.
//! The console acts as the office (`Actor::Console`, « console » in the history).

use std::process::ExitCode;

use chrono::{NaiveDate, NaiveDateTime};
use clap::Subcommand;
use lms_core::complaints::actions::{self, ImprovementAction, NewAction};
use lms_core::complaints::{self, ComplaintDetail, ComplaintLine, ComplaintStatus, ListFilter};
use lms_core::rights::Actor;

use crate::{Context, Failure, output};

/// Complaint commands.
#[derive(Debug, Subcommand)]
pub enum ComplaintCommand {
    /// Liste le registre des réclamations, de la plus récente à la plus ancienne.
    List {
        /// Seulement ce statut : new, acknowledged, answered ou closed.
        #[arg(long, value_parser = parse_status)]
        status: Option<ComplaintStatus>,
        /// Seulement les réclamations en retard (sans réponse, date de réponse dépassée).
        #[arg(long)]
        overdue: bool,
    },
    /// Affiche une réclamation : message, réponse, historique, actions d'amélioration.
    Show {
        /// Référence (REC-2026-0001).
        reference: String,
    },
    /// Accuse réception d'une réclamation nouvelle (statut « acknowledged »).
    Acknowledge {
        /// Référence (REC-2026-0001).
        reference: String,
        /// Note gardée dans l'historique.
        #[arg(long)]
        note: Option<String>,
    },
    /// Répond à une réclamation prise en compte : la réponse part par e-mail à son auteur·rice.
    Answer {
        /// Référence (REC-2026-0001).
        reference: String,
        /// Texte de la réponse.
        #[arg(long)]
        text: String,
        /// Ouvre aussi une action d'amélioration : ce qui sera fait.
        #[arg(long, requires_all = ["action_owner", "action_due"])]
        action: Option<String>,
        /// Responsable de l'action d'amélioration.
        #[arg(long, requires = "action")]
        action_owner: Option<String>,
        /// Échéance de l'action d'amélioration (AAAA-MM-JJ).
        #[arg(long, requires = "action", value_parser = parse_date)]
        action_due: Option<NaiveDate>,
    },
    /// Clôt une réclamation qui a reçu sa réponse.
    Close {
        /// Référence (REC-2026-0001).
        reference: String,
        /// Note gardée dans l'historique.
        #[arg(long)]
        note: Option<String>,
    },
    /// Actions d'amélioration (indicateur Qualiopi 32).
    #[command(subcommand)]
    Action(ActionCommand),
}

/// Improvement action commands.
#[derive(Debug, Subcommand)]
pub enum ActionCommand {
    /// Liste les actions d'amélioration, les ouvertes d'abord.
    List,
    /// Ouvre une action d'amélioration, seule ou à la suite d'une réclamation.
    Add {
        /// Ce qui sera fait.
        #[arg(long)]
        what: String,
        /// Qui en est responsable.
        #[arg(long)]
        owner: String,
        /// Échéance (AAAA-MM-JJ).
        #[arg(long, value_parser = parse_date)]
        due: NaiveDate,
        /// La réclamation dont elle découle (référence).
        #[arg(long)]
        complaint: Option<String>,
    },
    /// Marque une action comme réalisée aujourd'hui, avec ce qui a été fait.
    Done {
        /// Identifiant de l'action (voir `lms complaint action list`).
        id: String,
        /// Ce qui a été fait.
        #[arg(long)]
        note: String,
    },
}

fn parse_status(raw: &str) -> Result<ComplaintStatus, String> {
    raw.parse::<ComplaintStatus>().map_err(|e| e.to_string())
}

fn parse_date(raw: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d")
        .map_err(|_| format!("date attendue au format AAAA-MM-JJ : « {raw} »"))
}

fn minute(at: NaiveDateTime) -> String {
    at.format("%Y-%m-%d %H:%M").to_string()
}

const HEADER: [&str; 8] =
    ["référence", "nature", "statut", "reçue (UTC)", "réponse due", "retard", "auteur·rice", "objet"];

fn rows(lines: &[ComplaintLine]) -> Vec<Vec<String>> {
    lines
        .iter()
        .map(|c| {
            vec![
                c.reference.clone(),
                c.kind.label_fr().into(),
                c.status.label_fr().into(),
                minute(c.received_at),
                c.answer_due_on.to_string(),
                if c.overdue { "EN RETARD".into() } else { String::new() },
                c.author_name.clone(),
                c.subject.clone(),
            ]
        })
        .collect()
}

const ACTION_HEADER: [&str; 7] = ["id", "action", "responsable", "échéance", "réclamation", "réalisée", "note"];

fn action_rows(list: &[ImprovementAction]) -> Vec<Vec<String>> {
    list.iter()
        .map(|a| {
            vec![
                a.id.to_string(),
                a.what.clone(),
                a.owner.clone(),
                format!("{}{}", a.due_on, if a.late { " (en retard)" } else { "" }),
                a.complaint.clone().unwrap_or_default(),
                a.done_on.map(|d| d.to_string()).unwrap_or_default(),
                a.done_note.clone().unwrap_or_default(),
            ]
        })
        .collect()
}

fn print_detail(context: &Context, detail: &ComplaintDetail) -> Result<ExitCode, Failure> {
    if context.json {
        return output::json(detail);
    }
    let c = &detail.line;
    outln!("{} — {} « {} »", c.reference, c.kind.label_fr(), c.subject);
    outln!("Statut : {}{}", c.status.label_fr(), if c.overdue { " (EN RETARD)" } else { "" });
    outln!("De : {} <{}>{}", c.author_name, c.author_email, if c.has_account { " (compte)" } else { "" });
    if let Some(session) = &c.session {
        outln!("Session : {session}");
    }
    outln!("Reçue le {} (UTC) ; réponse due le {}", minute(c.received_at), c.answer_due_on);
    outln!("\nMessage :\n{}", detail.message);
    if let Some(answer) = &detail.answer {
        outln!("\nRéponse :\n{answer}");
    }
    outln!("\nHistorique :");
    for event in &detail.history {
        let note = event.note.as_deref().map(|n| format!(" — {n}")).unwrap_or_default();
        outln!("  {} {} par {}{note}", minute(event.at), event.step.label_fr(), event.by);
    }
    if !detail.actions.is_empty() {
        outln!("\nActions d'amélioration :");
        for a in &detail.actions {
            let done = a.done_on.map(|d| format!(", réalisée le {d}")).unwrap_or_default();
            outln!("  {} : {} ({}, échéance {}{done})", a.id, a.what, a.owner, a.due_on);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs a complaint command.
pub fn run(context: &Context, command: ComplaintCommand) -> Result<ExitCode, Failure> {
    let now = lms_core::db::now();
    match command {
        ComplaintCommand::List { status, overdue } => {
            let mut conn = context.connect()?;
            let lines = complaints::list(&mut conn, Actor::Console, ListFilter { status, overdue_only: overdue }, now)?;
            output::listing(context, &lines, &HEADER, rows(&lines))
        }
        ComplaintCommand::Show { reference } => {
            let mut conn = context.connect()?;
            let detail = complaints::show(&mut conn, Actor::Console, &reference, now)?;
            print_detail(context, &detail)
        }
        ComplaintCommand::Acknowledge { reference, note } => {
            let mut conn = context.connect()?;
            let detail = complaints::acknowledge(&mut conn, Actor::Console, &reference, note.as_deref(), now)?;
            if context.json {
                return output::json(&detail);
            }
            outln!(
                "Réclamation {} prise en compte : réponse due le {}.",
                detail.line.reference,
                detail.line.answer_due_on
            );
            Ok(ExitCode::SUCCESS)
        }
        ComplaintCommand::Answer { reference, text, action, action_owner, action_due } => {
            let action = match (action, action_owner, action_due) {
                (Some(what), Some(owner), Some(due_on)) => Some(NewAction { what, owner, due_on }),
                _ => None,
            };
            let mut conn = context.connect()?;
            let detail = complaints::answer(&mut conn, Actor::Console, &reference, &text, action.as_ref(), now)?;
            if context.json {
                return output::json(&detail);
            }
            outln!(
                "Réponse à {} enregistrée ; elle part par e-mail à {}.",
                detail.line.reference,
                detail.line.author_email
            );
            for a in &detail.actions {
                outln!("Action d'amélioration {} : {} ({}, échéance {}).", a.id, a.what, a.owner, a.due_on);
            }
            Ok(ExitCode::SUCCESS)
        }
        ComplaintCommand::Close { reference, note } => {
            let mut conn = context.connect()?;
            let detail = complaints::close(&mut conn, Actor::Console, &reference, note.as_deref(), now)?;
            if context.json {
                return output::json(&detail);
            }
            outln!("Réclamation {} close.", detail.line.reference);
            Ok(ExitCode::SUCCESS)
        }
        ComplaintCommand::Action(ActionCommand::List) => {
            let mut conn = context.connect()?;
            let list = actions::list(&mut conn, Actor::Console, now)?;
            output::listing(context, &list, &ACTION_HEADER, action_rows(&list))
        }
        ComplaintCommand::Action(ActionCommand::Add { what, owner, due, complaint }) => {
            let mut conn = context.connect()?;
            let added = actions::add(
                &mut conn,
                Actor::Console,
                complaint.as_deref(),
                &NewAction { what, owner, due_on: due },
                now,
            )?;
            if context.json {
                return output::json(&added);
            }
            outln!("Action d'amélioration {} ouverte (échéance {}).", added.id, added.due_on);
            Ok(ExitCode::SUCCESS)
        }
        ComplaintCommand::Action(ActionCommand::Done { id, note }) => {
            let mut conn = context.connect()?;
            let done = actions::mark_done(&mut conn, Actor::Console, &id, &note, now)?;
            if context.json {
                return output::json(&done);
            }
            outln!(
                "Action d'amélioration {} réalisée le {}.",
                done.id,
                done.done_on.map(|d| d.to_string()).unwrap_or_default()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}
