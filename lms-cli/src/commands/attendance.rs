//! `lms attendance`: the hash-chained attendance ledger and the feuille d'émargement.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use lms_core::attendance::Actor;
use lms_core::attendance::records::{self, RenderedDocument};
use lms_core::db::ids::{HalfDayId, TrainingSessionId};

use crate::{Context, Failure, output};

/// Attendance commands.
#[derive(Debug, Subcommand)]
pub enum AttendanceCommand {
    /// Recalcule chaque chaîne d'émargement et nomme toute entrée modifiée, supprimée ou insérée
    /// hors de l'application. Code de sortie 1 si le registre est altéré.
    Verify {
        /// Seulement cette session.
        #[arg(long)]
        session: Option<String>,
    },
    /// Écrit la feuille d'émargement d'une session en PDF : chaque demi-journée commencée, statut
    /// et signature de chaque stagiaire, contresignature, et l'empreinte du registre à l'impression.
    /// Avec --half-day et --blank : la feuille vierge d'une demi-journée (secours papier).
    Sheet {
        /// Identifiant ou référence de la session (ex. PTL-NA-DEMO-1).
        #[arg(long)]
        session: String,
        /// Fichier PDF à écrire.
        #[arg(long)]
        out: PathBuf,
        /// Seulement cette demi-journée (identifiant, voir `lms session show`).
        #[arg(long)]
        half_day: Option<String>,
        /// Feuille vierge à faire signer sur papier (demande --half-day).
        #[arg(long, requires = "half_day")]
        blank: bool,
    },
    /// Vérifie qu'une feuille imprimée correspond aux données : la chaîne est intacte et son entrée
    /// n° SEQ a l'empreinte imprimée. Code de sortie 1 sinon.
    CheckPrint {
        /// Identifiant ou référence de la session.
        #[arg(long)]
        session: String,
        /// Numéro d'entrée imprimé.
        #[arg(long)]
        seq: i64,
        /// Empreinte SHA-256 imprimée.
        #[arg(long)]
        hash: String,
    },
}

/// Writes a rendered document to `out` (through a temporary file, so a failure leaves nothing).
pub fn write_document(out: &std::path::Path, document: &RenderedDocument) -> Result<(), Failure> {
    let temporary = out.with_extension("pdf.part");
    std::fs::write(&temporary, &document.bytes).and_then(|()| std::fs::rename(&temporary, out)).map_err(|e| {
        let _ = std::fs::remove_file(&temporary);
        Failure::new("io_error", format!("écriture de {} impossible : {e}", out.display()))
    })
}

/// Prints what was written, or its JSON description.
pub fn report_document(
    context: &Context,
    out: &std::path::Path,
    document: &RenderedDocument,
) -> Result<ExitCode, Failure> {
    if context.json {
        return output::json(&serde_json::json!({
            "file": out.display().to_string(),
            "sha256": document.sha256,
            "bytes": document.bytes.len(),
            "half_days": document.half_days,
            "ledger": document.ledger,
        }));
    }
    outln!(
        "{} écrit ({} octets, SHA-256 {}) — registre : entrée n° {}, {}",
        out.display(),
        document.bytes.len(),
        document.sha256,
        document.ledger.seq,
        document.ledger.hash
    );
    Ok(ExitCode::SUCCESS)
}

/// Runs an attendance command.
pub fn run(context: &Context, command: AttendanceCommand) -> Result<ExitCode, Failure> {
    match command {
        AttendanceCommand::Verify { session } => {
            let mut conn = context.connect()?;
            let session = session.map(|s| super::find_session(&mut conn, &s)).transpose()?;
            let report = lms_core::attendance::verify_ledger(&mut conn, session.as_ref())?;
            if context.json {
                output::json(&report)?;
            } else {
                for p in &report.problems {
                    outln!(
                        "session {} · entrée n° {} · {} · {}",
                        p.session,
                        p.seq,
                        p.entry.as_deref().unwrap_or("—"),
                        p.problem
                    );
                }
                outln!(
                    "{} session(s), {} entrée(s) vérifiée(s), {} problème(s)",
                    report.sessions,
                    report.entries,
                    report.problems.len()
                );
            }
            if report.problems.is_empty() {
                Ok(ExitCode::SUCCESS)
            } else {
                Err(Failure::new(
                    "ledger_tampered",
                    format!("registre d'émargement altéré : {} problème(s)", report.problems.len()),
                ))
            }
        }
        AttendanceCommand::Sheet { session, out, half_day, blank } => {
            let mut conn = context.connect()?;
            let session = records::find_session(&mut conn, &session)?;
            let half_day = half_day
                .map(|h| HalfDayId::parse(&h).map_err(|e| Failure::new("invalid_id", e.to_string())))
                .transpose()?;
            let now = lms_core::db::now();
            let document = match (&half_day, blank) {
                (Some(half_day), true) => records::blank_sheet_pdf(&mut conn, Actor::Console, &session, half_day, now)?,
                (only, _) => records::attendance_sheet_pdf(&mut conn, Actor::Console, &session, only.as_ref(), now)?,
            };
            write_document(&out, &document)?;
            report_document(context, &out, &document)
        }
        AttendanceCommand::CheckPrint { session, seq, hash } => {
            let mut conn = context.connect()?;
            let session: TrainingSessionId = records::find_session(&mut conn, &session)?;
            let check = records::check_print(&mut conn, &session, seq, &hash)?;
            if context.json {
                output::json(&check)?;
            } else if check.matches {
                outln!("La feuille imprimée correspond au registre (entrée n° {seq}).");
            }
            match (check.matches, check.chain_intact) {
                (true, _) => Ok(ExitCode::SUCCESS),
                (false, false) => Err(Failure::new(
                    "ledger_tampered",
                    "registre d'émargement altéré : lancez `lms attendance verify`",
                )),
                (false, true) => Err(Failure::new(
                    "ledger_tampered",
                    format!(
                        "l'empreinte imprimée ne correspond pas à l'entrée n° {seq} du registre{}",
                        if check.stored_hash.is_none() { " (entrée inexistante)" } else { "" }
                    ),
                )),
            }
        }
    }
}
