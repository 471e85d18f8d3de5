//! `lms backup` / `lms restore`: consistent SQLite snapshots (PostgreSQL: pg_dump, see README).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use crate::{Context, Failure, output};

/// `lms backup`.
#[derive(Debug, Args)]
pub struct BackupArgs {
    /// Fichier de sauvegarde à créer (ne doit pas exister). Sûr pendant que le serveur tourne.
    #[arg(long)]
    out: PathBuf,
}

/// `lms restore`.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// Sauvegarde à restaurer (créée par `lms backup`). Refusée tant qu'un serveur utilise la
    /// base : arrêtez-le d'abord. L'ancienne base (journal -wal compris) est gardée à côté
    /// (.before-restore).
    file: PathBuf,
}

fn url(context: &Context) -> Result<lms_core::DatabaseUrl, Failure> {
    Ok(match &context.database_url {
        Some(raw) => lms_core::DatabaseUrl::parse(raw)?,
        None => lms_core::DatabaseUrl::default_sqlite(),
    })
}

/// Runs `lms backup`.
pub fn backup(context: &Context, args: BackupArgs) -> Result<ExitCode, Failure> {
    let url = url(context)?;
    let mut conn = context.connect()?;
    let report = lms_core::db::backup::backup(&mut conn, &url, &args.out)?;
    if context.json {
        return output::json(&report);
    }
    outln!("Sauvegarde de {} écrite dans {} ({} octets)", report.database, report.file, report.bytes);
    Ok(ExitCode::SUCCESS)
}

/// Runs `lms restore`.
pub fn restore(context: &Context, args: RestoreArgs) -> Result<ExitCode, Failure> {
    let url = url(context)?;
    let report = lms_core::db::backup::restore(&url, &args.file)?;
    if context.json {
        return output::json(&report);
    }
    outln!("{} restaurée depuis {}", report.database, report.file);
    Ok(ExitCode::SUCCESS)
}
