//! `lms certify`: eligibility, issuing, revocation, register and verification of certificates.

use std::path::PathBuf;
use std::process::ExitCode;

use chrono::NaiveDate;
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use lms_core::certification::eligibility;
use lms_core::certification::identity::{self, IdentityInput};
use lms_core::certification::issuing::{self, Candidates, IssueOptions};
use lms_core::certification::registry::{self, CertificateFilter, CertificateStatus, CertificateView, VerifyInput};

use crate::{Context, Failure, output};

/// Certification commands.
#[derive(Debug, Subcommand)]
pub enum CertifyCommand {
    /// Vérifie l'éligibilité de chaque candidat·e d'une session certifiante et liste toutes les
    /// conditions non remplies (unités, assiduité, jury, identité).
    Check {
        /// Identifiant ou référence de la session (voir `lms session list`).
        #[arg(long)]
        session: String,
    },
    /// Délivre le certificat (numéro, code de vérification, badge signé, PDF) d'un·e candidat·e
    /// éligible, ou de tous les éligibles. Relancer renvoie le certificat déjà délivré.
    Issue {
        /// Identifiant ou référence de la session.
        #[arg(long)]
        session: String,
        /// E-mail du ou de la candidat·e.
        #[arg(long, conflicts_with = "all_eligible", required_unless_present = "all_eligible")]
        trainee: Option<String>,
        /// Tous les candidat·es éligibles de la session.
        #[arg(long)]
        all_eligible: bool,
        /// Date d'obtention (AAAA-MM-JJ) ; par défaut celle de la décision du jury. Doit la suivre et
        /// tomber dans la période d'enregistrement de la certification.
        #[arg(long, value_parser = parse_date)]
        date: Option<NaiveDate>,
        /// Dossier où écrire les PDF (NUMÉRO.pdf).
        #[arg(long, default_value = "data/certificates")]
        pdf_dir: PathBuf,
    },
    /// Révoque un certificat (il reste au registre, affiché « révoqué » avec la date et le motif) et
    /// publie la révocation dans la liste de statut signée (clé de signature requise).
    Revoke {
        /// Numéro du certificat (RS5142-AAAA-NNNN).
        number: String,
        /// Motif de la révocation (3 à 500 caractères).
        #[arg(long)]
        reason: String,
    },
    /// Liste les certificats délivrés.
    List {
        /// Seulement cette session (identifiant ou référence).
        #[arg(long)]
        session: Option<String>,
        /// Seulement ce statut (valid ou revoked).
        #[arg(long, value_parser = parse_status)]
        status: Option<CertificateStatus>,
        /// Seulement les certificats décernés cette année.
        #[arg(long)]
        year: Option<i32>,
    },
    /// Affiche un certificat (par numéro ou code de vérification).
    Show {
        /// Numéro ou code de vérification.
        number_or_code: String,
    },
    /// Vérifie un certificat : signature du badge, intégrité du PDF, statut au registre. Accepte un
    /// code de vérification, un numéro, un fichier .jwt ou un PDF. Code de sortie 1 si non valide.
    Verify {
        /// Code, numéro, ou chemin d'un fichier (PDF ou badge signé).
        code_or_file: String,
    },
    /// Enregistre l'identité exigée par les registres (nom de naissance, prénoms, date et lieu de
    /// naissance, sexe).
    Identity {
        /// E-mail de la personne.
        #[arg(long)]
        trainee: String,
        /// Nom de naissance.
        #[arg(long)]
        birth_name: String,
        /// Nom d'usage, s'il diffère.
        #[arg(long)]
        usage_name: Option<String>,
        /// Prénoms, le premier en tête.
        #[arg(long)]
        first_names: String,
        /// Date de naissance (AAAA-MM-JJ).
        #[arg(long, value_parser = parse_date)]
        birth_date: NaiveDate,
        /// Code INSEE de la commune de naissance ; né·e à l'étranger : le code pays INSEE
        /// (99xxx, par exemple 99350 pour le Maroc).
        #[arg(long)]
        birth_insee: Option<String>,
        /// Libellé du lieu de naissance (commune, ou ville à l'étranger ; 60 caractères au plus).
        #[arg(long)]
        birth_place: Option<String>,
        /// Pays de naissance, si né·e à l'étranger : code ISO 3166 à 2 ou 3 lettres (MA, MAR) ou
        /// code pays INSEE (99350) ; enregistré en code ISO à 3 lettres.
        #[arg(long)]
        birth_country: Option<String>,
        /// Sexe, tel que l'attend le registre.
        #[arg(long, value_parser = ["M", "F"])]
        sex: String,
    },
}

fn parse_date(raw: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(raw, "%Y-%m-%d").map_err(|_| format!("date invalide « {raw} » (attendu AAAA-MM-JJ)"))
}

fn parse_status(raw: &str) -> Result<CertificateStatus, String> {
    raw.parse().map_err(|e: lms_core::db::text_enum::UnknownValue| e.to_string())
}

fn certificate_rows(certificates: &[CertificateView]) -> Vec<Vec<String>> {
    certificates
        .iter()
        .map(|c| {
            vec![
                c.number.clone(),
                c.holder_name.clone(),
                c.trainee.clone(),
                c.awarded_on.to_string(),
                match (&c.revoked_at, &c.revocation_reason) {
                    (Some(at), Some(reason)) => format!("révoqué le {} ({reason})", at.date()),
                    _ => "valide".into(),
                },
            ]
        })
        .collect()
}

/// Runs a certification command.
pub fn run(context: &Context, command: CertifyCommand) -> Result<ExitCode, Failure> {
    match command {
        CertifyCommand::Check { session } => {
            let mut conn = context.connect()?;
            let session = super::find_session(&mut conn, &session)?;
            let checked = eligibility::check_session(&mut conn, &session, None)?;
            if context.json {
                return output::json(&checked.candidates);
            }
            outln!(
                "{} — assiduité minimale {} % ; {} candidat·e(s)",
                checked.certification.code,
                checked.certification.min_attendance_percent,
                checked.candidates.len()
            );
            let rows = checked
                .candidates
                .iter()
                .map(|c| {
                    vec![
                        c.trainee.clone(),
                        c.name.clone(),
                        if c.eligible { "éligible".into() } else { "non éligible".into() },
                        format!("{:.1} %", c.attendance_percent),
                        c.reasons.join(" ; "),
                    ]
                })
                .collect();
            output::listing(
                context,
                &checked.candidates,
                &["e-mail", "nom", "éligibilité", "assiduité", "motifs"],
                rows,
            )
        }
        CertifyCommand::Issue { session, trainee, all_eligible: _, date, pdf_dir } => {
            let signer = context.keys.signing_key()?;
            let mut conn = context.connect()?;
            let session = super::find_session(&mut conn, &session)?;
            let today = lms_core::catalogue::paris_today();
            let options = IssueOptions { public_url: context.public_url.clone(), pdf_dir, awarded_on: date, today };
            let candidates = match trainee {
                Some(email) => Candidates::One(email),
                None => Candidates::AllEligible,
            };
            let bar = ProgressBar::new(0);
            if context.json {
                bar.set_draw_target(ProgressDrawTarget::hidden());
            }
            if let Ok(style) = ProgressStyle::with_template("{bar:40} {pos}/{len} certificats {msg}") {
                bar.set_style(style);
            }
            let mut progress = |done: usize, total: usize| {
                bar.set_length(total as u64);
                bar.set_position(done as u64);
            };
            let outcome =
                issuing::issue_certificates(&mut conn, &signer, &session, &candidates, &options, &mut progress);
            bar.finish_and_clear();
            let report = outcome?;
            if context.json {
                output::json(&report.issued)?;
            } else {
                for c in &report.issued {
                    outln!(
                        "{} {} → {} (code {}, PDF {})",
                        if c.newly_issued { "Délivré" } else { "Déjà délivré" },
                        c.number,
                        c.trainee,
                        c.code,
                        c.pdf
                    );
                }
            }
            if report.refused.is_empty() {
                Ok(ExitCode::SUCCESS)
            } else {
                let reasons: Vec<&str> = report.refused.iter().map(|r| r.message.as_str()).collect();
                Err(Failure::new("not_issued", reasons.join(" ; ")))
            }
        }
        CertifyCommand::Revoke { number, reason } => {
            // The revocation is published in the certificate's status list, signed with the key.
            let signer = context.keys.signing_key()?;
            let mut conn = context.connect()?;
            let certificate = registry::revoke_certificate(&mut conn, &signer, &number, &reason)?;
            if context.json {
                return output::json(&certificate);
            }
            outln!("Certificat {} révoqué : {}", certificate.number, certificate.revocation_reason.unwrap_or_default());
            Ok(ExitCode::SUCCESS)
        }
        CertifyCommand::List { session, status, year } => {
            let mut conn = context.connect()?;
            let session = session.as_deref().map(|s| super::find_session(&mut conn, s)).transpose()?;
            let certificates = registry::list_certificates(&mut conn, &CertificateFilter { session, status, year })?;
            let rows = certificate_rows(&certificates);
            output::listing(context, &certificates, &["numéro", "titulaire", "e-mail", "obtenu le", "statut"], rows)
        }
        CertifyCommand::Show { number_or_code } => {
            let mut conn = context.connect()?;
            let c = registry::show_certificate(&mut conn, &number_or_code)?;
            if context.json {
                return output::json(&c);
            }
            outln!("Certificat {} — {} ({})", c.number, c.certification_title, c.certification);
            outln!("Titulaire : {} <{}>", c.holder_name, c.trainee);
            outln!("Obtenu le : {} ; session : {}", c.awarded_on, c.session.as_deref().unwrap_or("—"));
            for unit in &c.units {
                outln!("  {unit}");
            }
            outln!("Code de vérification : {}", c.code);
            match (&c.revoked_at, &c.revocation_reason) {
                (Some(at), Some(reason)) => outln!("Statut : RÉVOQUÉ le {} — {reason}", at.date()),
                _ => outln!("Statut : valide"),
            }
            Ok(ExitCode::SUCCESS)
        }
        CertifyCommand::Verify { code_or_file } => {
            let key = context.keys.public_jwk()?;
            let path = PathBuf::from(&code_or_file);
            let input = if path.is_file() {
                let bytes = std::fs::read(&path)
                    .map_err(|e| Failure::new("io_error", format!("lecture de {code_or_file} impossible : {e}")))?;
                if bytes.starts_with(b"%PDF") {
                    VerifyInput::Pdf(bytes)
                } else {
                    VerifyInput::Credential(String::from_utf8_lossy(&bytes).into_owned())
                }
            } else {
                VerifyInput::Code(code_or_file.clone())
            };
            let mut conn = context.connect()?;
            let report = registry::verify(&mut conn, &key, &input)?;
            if context.json {
                output::json(&report)?;
            } else {
                outln!(
                    "Certificat {} : signature {}, statut {}",
                    report.number.as_deref().unwrap_or("inconnu"),
                    if report.signature_ok { "valide" } else { "INVALIDE" },
                    report.status
                );
            }
            if report.is_valid() {
                Ok(ExitCode::SUCCESS)
            } else {
                Err(Failure::new(
                    "invalid_certificate",
                    format!("certificat non valide : {}", report.problems.join(" ; ")),
                ))
            }
        }
        CertifyCommand::Identity {
            trainee,
            birth_name,
            usage_name,
            first_names,
            birth_date,
            birth_insee,
            birth_place,
            birth_country,
            sex,
        } => {
            let mut conn = context.connect()?;
            let view = identity::set_identity(
                &mut conn,
                &trainee,
                &IdentityInput {
                    birth_name,
                    usage_name,
                    first_names,
                    birth_date,
                    birth_commune_insee: birth_insee,
                    birth_place_label: birth_place,
                    birth_country_code: birth_country,
                    sex,
                },
                lms_core::catalogue::paris_today(),
            )?;
            if context.json {
                return output::json(&view);
            }
            outln!("Identité enregistrée pour {}", view.email);
            Ok(ExitCode::SUCCESS)
        }
    }
}
