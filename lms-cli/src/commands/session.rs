//! `lms session`: training sessions.

use std::process::ExitCode;

use chrono::{NaiveDate, NaiveTime};
use clap::Subcommand;
use std::path::PathBuf;

use lms_core::catalogue::{
    self, HalfDayChange, HalfDayRef, NewConsecutiveSession, NewScheduledSession, Slot, TrainingSessionFilter,
    TrainingSessionView,
};
use lms_core::rights::Actor;

use crate::{Context, Failure, output};

/// Training-session commands.
#[derive(Debug, Subcommand)]
pub enum SessionCommand {
    /// Crée une session : soit un calendrier de demi-journées (`--schedule`), soit N jours ouvrés
    /// consécutifs (9 h–12 h 30 et 13 h 30–17 h) dans un lieu (`--venue --start --days`).
    Create {
        /// Code de la formation (voir `lms course list`).
        #[arg(long)]
        course: String,
        /// Fichier CSV `date,slot,start,end,venue,module` (une demi-journée par ligne).
        #[arg(long, conflicts_with_all = ["venue", "start", "days"], required_unless_present_all = ["venue", "start", "days"])]
        schedule: Option<PathBuf>,
        /// Slug du tiers-lieu (voir `lms venue list`).
        #[arg(long, requires_all = ["start", "days"])]
        venue: Option<String>,
        /// Premier jour (AAAA-MM-JJ) ; un week-end ou un jour férié mène au jour ouvré suivant.
        #[arg(long, value_parser = parse_date, requires_all = ["venue", "days"])]
        start: Option<NaiveDate>,
        /// Nombre de jours de formation (1 à 60 ; week-ends et jours fériés sautés).
        #[arg(long, requires_all = ["venue", "start"])]
        days: Option<u32>,
        /// Nombre de places (1 à 500).
        #[arg(long)]
        capacity: i32,
        /// Formateur ou formatrice (e-mail d'un compte au rôle trainer) ; répétable.
        #[arg(long = "trainer")]
        trainers: Vec<String>,
        /// Publie la session aussitôt (sinon elle reste en brouillon).
        #[arg(long)]
        publish: bool,
    },
    /// Publie une session en brouillon.
    Publish {
        /// Identifiant ou référence de la session.
        id: String,
    },
    /// Annule une session : chaque inscription (confirmée ou en attente) est annulée et chaque
    /// stagiaire et formateur concerné est prévenu avec le motif.
    Cancel {
        /// Identifiant ou référence de la session.
        id: String,
        /// Motif de l'annulation (1 à 500 caractères), transmis aux personnes concernées.
        #[arg(long)]
        reason: String,
    },
    /// Repasse une session publiée en brouillon (refusé tant qu'elle a des inscrits ou une liste d'attente).
    Unpublish {
        /// Identifiant ou référence de la session.
        id: String,
    },
    /// Déplace une demi-journée (date, créneau, horaires ou lieu) ; le motif est gardé dans
    /// l'historique et transmis aux stagiaires et formateurs. Refusé si elle a déjà des émargements.
    Reschedule {
        /// Identifiant ou référence de la session.
        id: String,
        /// La demi-journée : son identifiant (`session show --json`) ou `AAAA-MM-JJ:morning|afternoon`.
        #[arg(long = "half-day")]
        half_day: String,
        /// Nouvelle date (AAAA-MM-JJ).
        #[arg(long, value_parser = parse_date)]
        date: Option<NaiveDate>,
        /// Nouveau créneau (morning ou afternoon) ; sans horaires, ceux du créneau par défaut.
        #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(Slot::ALL.map(Slot::as_str)))]
        slot: Option<String>,
        /// Nouvelle heure de début (HH:MM, heure de Paris).
        #[arg(long, value_parser = parse_time, requires = "end")]
        start: Option<NaiveTime>,
        /// Nouvelle heure de fin (HH:MM, heure de Paris).
        #[arg(long, value_parser = parse_time, requires = "start")]
        end: Option<NaiveTime>,
        /// Nouveau lieu (slug, voir `lms venue list`).
        #[arg(long)]
        venue: Option<String>,
        /// Motif du changement (3 à 500 caractères).
        #[arg(long)]
        reason: String,
    },
    /// Ajoute ou retire un formateur ou une formatrice (la personne est prévenue).
    Trainers {
        /// Identifiant ou référence de la session.
        id: String,
        /// E-mail d'un compte au rôle trainer à ajouter.
        #[arg(long, conflicts_with = "remove", required_unless_present = "remove")]
        add: Option<String>,
        /// E-mail du formateur à retirer (refusé pour le dernier d'une session publiée).
        #[arg(long)]
        remove: Option<String>,
    },
    /// Change le nombre de places ; une hausse confirme la liste d'attente dans l'ordre.
    Capacity {
        /// Identifiant ou référence de la session.
        id: String,
        /// Nouveau nombre de places (1 à 500, au moins les inscriptions confirmées).
        capacity: i32,
    },
    /// Liste les sessions (par date de début).
    List {
        /// Seulement cette formation.
        #[arg(long)]
        course: Option<String>,
        /// Seulement ce statut.
        #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(catalogue::TrainingSessionStatus::ALL.map(catalogue::TrainingSessionStatus::as_str)))]
        status: Option<String>,
    },
    /// Affiche une session et son calendrier de demi-journées.
    Show {
        /// Identifiant ou référence de la session.
        id: String,
    },
}

fn parse_date(raw: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(raw, "%Y-%m-%d").map_err(|_| format!("date invalide « {raw} » (attendu AAAA-MM-JJ)"))
}

fn parse_time(raw: &str) -> Result<NaiveTime, String> {
    NaiveTime::parse_from_str(raw, "%H:%M").map_err(|_| format!("heure invalide « {raw} » (attendu HH:MM)"))
}

fn rows(sessions: &[TrainingSessionView]) -> Vec<Vec<String>> {
    sessions
        .iter()
        .map(|s| {
            vec![
                s.id.to_string(),
                s.course.clone(),
                format!("{} ({})", s.venue_name, s.commune),
                format!("{} → {}", s.start, s.end),
                format!("{}/{}", s.confirmed, s.capacity),
                s.waitlisted.to_string(),
                s.status.as_str().into(),
            ]
        })
        .collect()
}

const HEADER: &[&str] = &["id", "formation", "lieu", "dates", "inscrits", "attente", "statut"];

/// Runs a training-session command.
pub fn run(context: &Context, command: SessionCommand) -> Result<ExitCode, Failure> {
    match command {
        SessionCommand::Create { course, schedule, venue, start, days, capacity, trainers, publish } => {
            let session = match (schedule, venue, start, days) {
                (Some(path), _, _, _) => {
                    let text = std::fs::read_to_string(&path).map_err(|e| {
                        Failure::new("io_error", format!("lecture de {} impossible : {e}", path.display()))
                    })?;
                    let half_days = catalogue::parse_schedule_csv(&text)?;
                    let mut conn = context.connect()?;
                    catalogue::create_scheduled_session(
                        &mut conn,
                        Actor::Console,
                        &NewScheduledSession {
                            course_code: course,
                            half_days,
                            capacity,
                            trainer_emails: trainers,
                            publish,
                            reference: None,
                        },
                        lms_core::db::now(),
                    )?
                }
                (None, Some(venue_slug), Some(start), Some(days)) => {
                    let mut conn = context.connect()?;
                    catalogue::create_session_on_consecutive_days(
                        &mut conn,
                        Actor::Console,
                        &NewConsecutiveSession {
                            course_code: course,
                            venue_slug,
                            start,
                            days,
                            capacity,
                            trainer_emails: trainers,
                            publish,
                        },
                        lms_core::db::now(),
                    )?
                }
                _ => {
                    return Err(Failure::new(
                        "invalid_input",
                        "indiquez --schedule FICHIER.csv, ou --venue, --start et --days",
                    ));
                }
            };
            if context.json {
                return output::json(&session);
            }
            outln!("Session créée : {} ({}, {})", session.id, session.reference, session.status.as_str());
            Ok(ExitCode::SUCCESS)
        }
        SessionCommand::Publish { id } => {
            let mut conn = context.connect()?;
            let id = super::find_session(&mut conn, &id)?;
            let session = catalogue::publish_training_session(&mut conn, Actor::Console, &id)?;
            if context.json {
                return output::json(&session);
            }
            outln!("Session publiée : {}", session.id);
            Ok(ExitCode::SUCCESS)
        }
        SessionCommand::Cancel { id, reason } => {
            let mut conn = context.connect()?;
            let id = super::find_session(&mut conn, &id)?;
            let session =
                catalogue::cancel_training_session(&mut conn, Actor::Console, &id, &reason, lms_core::db::now())?;
            if context.json {
                return output::json(&session);
            }
            outln!("Session annulée : {} ({})", session.id, session.reference);
            Ok(ExitCode::SUCCESS)
        }
        SessionCommand::Unpublish { id } => {
            let mut conn = context.connect()?;
            let id = super::find_session(&mut conn, &id)?;
            let session = catalogue::unpublish_training_session(&mut conn, Actor::Console, &id, lms_core::db::now())?;
            if context.json {
                return output::json(&session);
            }
            outln!("Session repassée en brouillon : {} ({})", session.id, session.reference);
            Ok(ExitCode::SUCCESS)
        }
        SessionCommand::Reschedule { id, half_day, date, slot, start, end, venue, reason } => {
            let half_day = HalfDayRef::parse(&half_day)?;
            let slot = slot
                .as_deref()
                .map(Slot::from_stored)
                .transpose()
                .map_err(|e| Failure::new("invalid_input", e.to_string()))?;
            let change = HalfDayChange { date, slot, hours: start.zip(end), venue_slug: venue };
            let mut conn = context.connect()?;
            let id = super::find_session(&mut conn, &id)?;
            let moved = catalogue::reschedule_half_day(
                &mut conn,
                Actor::Console,
                &id,
                &half_day,
                &change,
                &reason,
                lms_core::db::now(),
            )?;
            if context.json {
                return output::json(&moved);
            }
            outln!(
                "Demi-journée déplacée : {} ({}) {}–{} à {} → {} ({}) {}–{} à {}",
                moved.before.date,
                moved.before.slot.label_fr_lower(),
                moved.before.start,
                moved.before.end,
                moved.before.venue,
                moved.after.date,
                moved.after.slot.label_fr_lower(),
                moved.after.start,
                moved.after.end,
                moved.after.venue
            );
            Ok(ExitCode::SUCCESS)
        }
        SessionCommand::Trainers { id, add, remove } => {
            let mut conn = context.connect()?;
            let id = super::find_session(&mut conn, &id)?;
            let now = lms_core::db::now();
            let changed = match (add, remove) {
                (Some(email), _) => catalogue::add_trainer(&mut conn, Actor::Console, &id, &email, now)?,
                (None, Some(email)) => catalogue::remove_trainer(&mut conn, Actor::Console, &id, &email, now)?,
                (None, None) => return Err(Failure::new("invalid_input", "indiquez --add E ou --remove E")),
            };
            if context.json {
                return output::json(&changed);
            }
            let names: Vec<String> = changed.trainers.iter().map(|t| format!("{} <{}>", t.name, t.email)).collect();
            outln!(
                "Formateurs de {} : {}",
                changed.reference,
                if names.is_empty() { "—".into() } else { names.join(", ") }
            );
            Ok(ExitCode::SUCCESS)
        }
        SessionCommand::Capacity { id, capacity } => {
            let mut conn = context.connect()?;
            let id = super::find_session(&mut conn, &id)?;
            let changed = catalogue::change_capacity(&mut conn, Actor::Console, &id, capacity, lms_core::db::now())?;
            if context.json {
                return output::json(&changed);
            }
            let s = &changed.session;
            outln!("Places : {} confirmées sur {}, {} en attente", s.confirmed, s.capacity, s.waitlisted);
            if !changed.promoted.is_empty() {
                outln!("Confirmés depuis la liste d'attente : {}", changed.promoted.join(", "));
            }
            Ok(ExitCode::SUCCESS)
        }
        SessionCommand::List { course, status } => {
            let status = status.as_deref().map(catalogue::TrainingSessionStatus::parse).transpose()?;
            let mut conn = context.connect()?;
            let sessions = catalogue::list_training_sessions(
                &mut conn,
                &TrainingSessionFilter { course_code: course, status, ..Default::default() },
            )?;
            let rows = rows(&sessions);
            output::listing(context, &sessions, HEADER, rows)
        }
        SessionCommand::Show { id } => {
            let mut conn = context.connect()?;
            let id = super::find_session(&mut conn, &id)?;
            let detail = catalogue::session_sheet(&mut conn, &id)?;
            if context.json {
                return output::json(&detail);
            }
            let s = &detail.session;
            outln!("{} — {} ({})", s.reference, s.course_title, s.status.as_str());
            outln!("Formateurs : {}", if detail.trainers.is_empty() { "—".into() } else { detail.trainers.join(", ") });
            outln!(
                "Places : {} confirmées sur {}, {} en attente ; {} h prévues",
                s.confirmed,
                s.capacity,
                s.waitlisted,
                detail.scheduled_hours
            );
            for change in &detail.changes {
                outln!(
                    "Déplacée le {} : {} ({}) {}–{} à {} → {} ({}) {}–{} à {} — {}",
                    change.changed_at.format("%Y-%m-%d %H:%M UTC"),
                    change.before.date,
                    change.before.slot.label_fr_lower(),
                    change.before.start,
                    change.before.end,
                    change.before.venue,
                    change.after.date,
                    change.after.slot.label_fr_lower(),
                    change.after.start,
                    change.after.end,
                    change.after.venue,
                    change.reason
                );
            }
            let rows = detail
                .half_days
                .iter()
                .map(|h| {
                    vec![
                        h.half_day.date.to_string(),
                        h.half_day.slot.label_fr_lower().into(),
                        format!("{}–{}", h.start, h.end),
                        format!("{} ({})", h.half_day.venue_name, h.half_day.commune),
                        h.half_day.module.clone().unwrap_or_default(),
                        h.status.label_fr().into(),
                    ]
                })
                .collect();
            output::listing(context, &detail, &["date", "demi-journée", "horaires", "lieu", "module", "statut"], rows)
        }
    }
}
