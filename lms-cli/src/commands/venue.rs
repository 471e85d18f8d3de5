//! `lms venue`: tiers-lieux. Every rule is in `lms_core::venues`; this file parses and renders.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use lms_core::rights::Actor;
use lms_core::venues::{self, NewVenue, VenueChanges, VenueView};

use crate::{Context, Failure, output};

/// The fields `venue add` and `venue update` share.
#[derive(Debug, Args)]
pub struct VenueFields {
    /// Latitude WGS84 (avec --lon) ; sinon le point de la commune.
    #[arg(long, requires = "lon", allow_negative_numbers = true)]
    lat: Option<f64>,
    /// Longitude WGS84 (avec --lat).
    #[arg(long, requires = "lat", allow_negative_numbers = true)]
    lon: Option<f64>,
    /// Type de lieu (répétable) : coworking, fablab, atelier_partage, tiers_lieu_nourricier,
    /// cafe_associatif, campus_connecte, micro_folie, tiers_lieu.
    #[arg(long = "kind")]
    kinds: Vec<String>,
    /// Accès de plain-pied pour les personnes à mobilité réduite.
    #[arg(long, value_parser = ["yes", "no"])]
    pmr: Option<String>,
    /// Note d'accès : stationnement, transports, ascenseur (vide pour l'effacer).
    #[arg(long)]
    access_note: Option<String>,
    /// Adresse e-mail de contact (vide pour l'effacer).
    #[arg(long)]
    email: Option<String>,
    /// Téléphone de contact (vide pour l'effacer).
    #[arg(long)]
    phone: Option<String>,
    /// Site web, https://… (vide pour l'effacer).
    #[arg(long)]
    url: Option<String>,
}

/// Venue commands.
#[derive(Debug, Subcommand)]
pub enum VenueCommand {
    /// Liste les tiers-lieux (par département puis nom).
    List,
    /// Ajoute un tiers-lieu (adresse et code postal obligatoires ; le code postal doit être
    /// celui de la commune).
    Add {
        /// Identifiant stable (minuscules, chiffres et tirets).
        #[arg(long)]
        slug: String,
        /// Nom du lieu.
        #[arg(long)]
        name: String,
        /// Code INSEE de la commune.
        #[arg(long)]
        insee: String,
        /// Adresse (numéro et voie).
        #[arg(long)]
        address: String,
        /// Code postal.
        #[arg(long)]
        postcode: String,
        #[command(flatten)]
        fields: VenueFields,
    },
    /// Modifie un tiers-lieu : seuls les champs donnés changent.
    Update {
        /// Identifiant du lieu.
        slug: String,
        /// Nouveau nom.
        #[arg(long)]
        name: Option<String>,
        /// Nouvelle commune (code INSEE).
        #[arg(long)]
        insee: Option<String>,
        /// Nouvelle adresse.
        #[arg(long)]
        address: Option<String>,
        /// Nouveau code postal.
        #[arg(long)]
        postcode: Option<String>,
        #[command(flatten)]
        fields: VenueFields,
    },
    /// Affiche un tiers-lieu.
    Show {
        /// Identifiant du lieu.
        slug: String,
    },
    /// Importe des lieux d'un fichier CSV (colonnes nommées comme les options ; mise à jour par
    /// identifiant ; tout ou rien).
    Import {
        /// Fichier CSV en UTF-8 (`-` pour l'entrée standard).
        file: PathBuf,
    },
}

fn pmr(raw: &Option<String>) -> Result<Option<bool>, Failure> {
    Ok(match raw {
        Some(text) => venues::parse_pmr(text)?,
        None => None,
    })
}

fn show(context: &Context, venue: &VenueView) -> Result<ExitCode, Failure> {
    if context.json {
        return output::json(venue);
    }
    let unknown = || "non renseigné".to_owned();
    let lines = [
        ("Lieu", format!("{} ({})", venue.name, venue.slug)),
        ("Types", venue.kinds.iter().map(|k| k.label_fr()).collect::<Vec<_>>().join(", ")),
        ("Adresse", venue.address.clone().unwrap_or_else(unknown)),
        (
            "Commune",
            format!("{} {} ({})", venue.postcode.as_deref().unwrap_or(""), venue.commune, venue.insee)
                .trim()
                .to_owned(),
        ),
        (
            "Position",
            format!("{:.5}, {:.5} ({})", venue.lat, venue.lon, venue.coordinates_source.label_fr().to_lowercase()),
        ),
        (
            "Accès PMR",
            match venue.pmr {
                Some(true) => "oui".to_owned(),
                Some(false) => "non".to_owned(),
                None => unknown(),
            },
        ),
        ("Note d'accès", venue.access_note.clone().unwrap_or_else(unknown)),
        ("E-mail", venue.email.clone().unwrap_or_else(unknown)),
        ("Téléphone", venue.phone.clone().unwrap_or_else(unknown)),
        ("Site", venue.url.clone().unwrap_or_else(unknown)),
    ];
    for (label, value) in lines {
        outln!("{label} : {value}");
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs a venue command.
pub fn run(context: &Context, command: VenueCommand) -> Result<ExitCode, Failure> {
    match command {
        VenueCommand::List => {
            let mut conn = context.connect()?;
            let venues = venues::list_venues(&mut conn)?;
            let rows = venues
                .iter()
                .map(|v| {
                    vec![
                        v.slug.clone(),
                        v.name.clone(),
                        format!("{} ({})", v.commune, v.departement),
                        v.kinds.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", "),
                        format!("{:.4}, {:.4}{}", v.lat, v.lon, if v.approximate_position { " ≈" } else { "" }),
                    ]
                })
                .collect();
            output::listing(context, &venues, &["slug", "nom", "commune", "types", "position"], rows)
        }
        VenueCommand::Add { slug, name, insee, address, postcode, fields } => {
            let new = NewVenue {
                slug,
                name,
                kinds: fields.kinds,
                commune_insee: insee,
                postcode: Some(postcode),
                address: Some(address),
                lat: fields.lat,
                lon: fields.lon,
                description: String::new(),
                accessible_pmr: pmr(&fields.pmr)?,
                accessibility_note: fields.access_note,
                source: None,
                email: fields.email,
                phone: fields.phone,
                url: fields.url,
            };
            let mut conn = context.connect()?;
            let venue = venues::add_venue(&mut conn, &Actor::Console, &new)?;
            if !context.json {
                outln!("Lieu ajouté.");
            }
            show(context, &venue)
        }
        VenueCommand::Update { slug, name, insee, address, postcode, fields } => {
            let changes = VenueChanges {
                name,
                kinds: (!fields.kinds.is_empty()).then_some(fields.kinds),
                commune_insee: insee,
                address,
                postcode,
                lat: fields.lat,
                lon: fields.lon,
                accessible_pmr: pmr(&fields.pmr)?,
                accessibility_note: fields.access_note,
                email: fields.email,
                phone: fields.phone,
                url: fields.url,
            };
            let mut conn = context.connect()?;
            let venue = venues::update_venue(&mut conn, &Actor::Console, &slug, &changes)?;
            if !context.json {
                outln!("Lieu modifié.");
            }
            show(context, &venue)
        }
        VenueCommand::Show { slug } => {
            let mut conn = context.connect()?;
            let venue = venues::show_venue(&mut conn, &Actor::Console, &slug)?;
            show(context, &venue)
        }
        VenueCommand::Import { file } => {
            let text = super::read_input(&file)?;
            let mut conn = context.connect()?;
            let report = venues::import_venues(&mut conn, &Actor::Console, &text)?;
            if context.json {
                return output::json(&report);
            }
            outln!("{} lieu(x) créé(s), {} mis à jour.", report.created, report.updated);
            Ok(ExitCode::SUCCESS)
        }
    }
}
