//! `lms course`: the catalogue. Every rule is in `lms_core::catalogue`; this file parses and renders.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use lms_core::catalogue::{self, CourseView};
use lms_core::locale;
use lms_core::rights::Actor;

use crate::{Context, Failure, output};

/// Course commands.
#[derive(Debug, Subcommand)]
pub enum CourseCommand {
    /// Liste les formations du catalogue, archivées comprises.
    List,
    /// Importe des formations d'un fichier TOML (`[[course]]`, mise à jour par code ; tout ou rien).
    Import {
        /// Fichier TOML en UTF-8 (`-` pour l'entrée standard).
        file: PathBuf,
    },
    /// Affiche une formation ; `--toml` l'écrit au format que `lms course import` relit.
    Show {
        /// Code de la formation.
        code: String,
        /// Écrit la formation au format d'import (TOML).
        #[arg(long)]
        toml: bool,
    },
    /// Archive une formation : elle quitte le catalogue public, la recherche et l'export LHEO ;
    /// ses sessions existantes continuent, aucune nouvelle session ne peut être créée.
    Archive {
        /// Code de la formation.
        code: String,
    },
}

fn summary(course: &CourseView) -> Vec<(&'static str, String)> {
    let contact = course.contact.as_ref().map_or_else(
        || "celui de l'organisme".to_owned(),
        |c| {
            [Some(c.name.clone()), c.email.clone(), c.phone.clone()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(", ")
        },
    );
    vec![
        ("Formation", format!("{} ({})", course.title, course.code)),
        ("Durée", format!("{} j / {} h", course.duration_days, course.duration_hours)),
        ("Tarif", locale::euros_fr(course.price_cents)),
        ("Admission", course.admission.label_fr().to_owned()),
        (
            "Clôture des inscriptions",
            match course.enrolment_deadline_days {
                0 => "au début de la session".to_owned(),
                days => format!("{days} jour(s) avant le début de la session"),
            },
        ),
        ("Certification", course.certification.clone().unwrap_or_else(|| "aucune".into())),
        ("NSF / Formacode", format!("{} / {}", course.nsf_code, course.formacode)),
        ("ROME", if course.rome_codes.is_empty() { "—".into() } else { course.rome_codes.join(", ") }),
        ("Contact", contact),
        ("Modules", course.modules.len().to_string()),
        (
            "État",
            match course.archived_at {
                Some(at) => format!("archivée le {}", locale::date_fr(locale::to_paris(at).date())),
                None => "au catalogue".to_owned(),
            },
        ),
    ]
}

/// Runs a course command.
pub fn run(context: &Context, command: CourseCommand) -> Result<ExitCode, Failure> {
    match command {
        CourseCommand::List => {
            let mut conn = context.connect()?;
            let courses = catalogue::list_courses(&mut conn)?;
            let rows = courses
                .iter()
                .map(|c| {
                    vec![
                        c.code.clone(),
                        c.title.clone(),
                        format!("{} j / {} h", c.duration_days, c.duration_hours),
                        format!("{:.2} €", c.price_cents as f64 / 100.0),
                        c.certification.clone().unwrap_or_else(|| "—".into()),
                        c.admission.as_str().to_owned(),
                        if c.is_offered() { "au catalogue".into() } else { "archivée".into() },
                    ]
                })
                .collect();
            output::listing(
                context,
                &courses,
                &["code", "titre", "durée", "tarif", "certification", "admission", "état"],
                rows,
            )
        }
        CourseCommand::Import { file } => {
            let text = super::read_input(&file)?;
            let mut conn = context.connect()?;
            let report = catalogue::import_courses(&mut conn, Actor::Console, &text, lms_core::db::now())?;
            if context.json {
                return output::json(&report);
            }
            outln!("{} formation(s) créée(s), {} mise(s) à jour.", report.created, report.updated);
            Ok(ExitCode::SUCCESS)
        }
        CourseCommand::Show { code, toml } => {
            let mut conn = context.connect()?;
            if toml {
                output::text(&catalogue::course_toml(&mut conn, &code)?);
                return Ok(ExitCode::SUCCESS);
            }
            let course = catalogue::find_course(&mut conn, &code)?;
            if context.json {
                return output::json(&course);
            }
            for (label, value) in summary(&course) {
                outln!("{label} : {value}");
            }
            Ok(ExitCode::SUCCESS)
        }
        CourseCommand::Archive { code } => {
            let mut conn = context.connect()?;
            let course = catalogue::archive_course(&mut conn, Actor::Console, &code, lms_core::db::now())?;
            if context.json {
                return output::json(&course);
            }
            outln!("Formation {} archivée : elle ne figure plus au catalogue public.", course.code);
            Ok(ExitCode::SUCCESS)
        }
    }
}
