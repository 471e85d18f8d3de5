//! `lms course`: the catalogue.

use std::process::ExitCode;

use clap::Subcommand;

use crate::{Context, Failure, output};

/// Course commands.
#[derive(Debug, Subcommand)]
pub enum CourseCommand {
    /// Liste les formations du catalogue.
    List,
}

/// Runs a course command.
pub fn run(context: &Context, command: CourseCommand) -> Result<ExitCode, Failure> {
    match command {
        CourseCommand::List => {
            let mut conn = context.connect()?;
            let courses = lms_core::catalogue::list_courses(&mut conn)?;
            let rows = courses
                .iter()
                .map(|c| {
                    vec![
                        c.code.clone(),
                        c.title.clone(),
                        format!("{} j / {} h", c.duration_days, c.duration_hours),
                        format!("{:.2} €", c.price_cents as f64 / 100.0),
                        c.certification.clone().unwrap_or_else(|| "—".into()),
                    ]
                })
                .collect();
            output::listing(context, &courses, &["code", "titre", "durée", "tarif", "certification"], rows)
        }
    }
}
