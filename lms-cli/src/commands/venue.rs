//! `lms venue`: tiers-lieux.

use std::process::ExitCode;

use clap::Subcommand;

use crate::{Context, Failure, output};

/// Venue commands.
#[derive(Debug, Subcommand)]
pub enum VenueCommand {
    /// Liste les tiers-lieux (par département puis nom).
    List,
}

/// Runs a venue command.
pub fn run(context: &Context, command: VenueCommand) -> Result<ExitCode, Failure> {
    match command {
        VenueCommand::List => {
            let mut conn = context.connect()?;
            let venues = lms_core::venues::list_venues(&mut conn)?;
            let rows = venues
                .iter()
                .map(|v| {
                    vec![
                        v.slug.clone(),
                        v.name.clone(),
                        format!("{} ({})", v.commune, v.departement),
                        v.kinds.join(", "),
                        format!("{:.4}, {:.4}{}", v.lat, v.lon, if v.approximate_position { " ≈" } else { "" }),
                    ]
                })
                .collect();
            output::listing(context, &venues, &["slug", "nom", "commune", "types", "position"], rows)
        }
    }
}
