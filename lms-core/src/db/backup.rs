//! Backup and restore of the embedded SQLite database (`lms backup` / `lms restore`).
//!
//! A backup is a consistent snapshot (`VACUUM INTO`), safe while the server runs. A restore checks
//! that the file is a SQLite database of this application whose schema this binary knows, then
//! replaces the database file atomically (stop the server first: open connections would keep the
//! old file). PostgreSQL is backed up with its own tools (`pg_dump -Fc` / `pg_restore`, see README).

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{DatabaseUrl, DbConn, DbError};

/// What a backup or restore did.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BackupReport {
    /// The database file.
    pub database: String,
    /// The backup file.
    pub file: String,
    /// Size in bytes.
    pub bytes: u64,
}

fn postgres_refusal(action: &str) -> DbError {
    DbError::InvalidUrl(format!("{action} PostgreSQL : utilisez pg_dump -Fc / pg_restore (voir README), pas lms"))
}

/// Writes a consistent snapshot of the SQLite database to `target` (which must not exist).
pub fn backup(conn: &mut DbConn, url: &DatabaseUrl, target: &Path) -> Result<BackupReport, DbError> {
    let DatabaseUrl::Sqlite(path) = url else { return Err(postgres_refusal("sauvegarde")) };
    if target.exists() {
        return Err(DbError::InvalidUrl(format!("{} existe déjà : choisissez un autre fichier", target.display())));
    }
    super::sqlite_snapshot(conn, target)?;
    let bytes = std::fs::metadata(target).map(|m| m.len()).unwrap_or(0);
    Ok(BackupReport { database: path.display().to_string(), file: target.display().to_string(), bytes })
}

/// Replaces the SQLite database with `source` after checking it (a SQLite file, migrated by a
/// version of this application no newer than this binary). The previous file is kept as
/// `<database>.before-restore`.
pub fn restore(url: &DatabaseUrl, source: &Path) -> Result<BackupReport, DbError> {
    let DatabaseUrl::Sqlite(path) = url else { return Err(postgres_refusal("restauration")) };
    let mut header = [0_u8; 16];
    let readable = std::fs::File::open(source).and_then(|mut f| std::io::Read::read_exact(&mut f, &mut header));
    if readable.is_err() || &header != b"SQLite format 3\0" {
        return Err(DbError::InvalidUrl(format!("{} n'est pas une sauvegarde SQLite lisible", source.display())));
    }
    // Work on a copy next to the target, so the rename below is atomic and the source untouched.
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    std::fs::create_dir_all(&parent).map_err(|e| DbError::InvalidUrl(e.to_string()))?;
    let staging = parent.join(".lms-restore.db");
    std::fs::copy(source, &staging).map_err(|e| DbError::InvalidUrl(format!("copie impossible : {e}")))?;
    let checked = (|| {
        let mut conn = super::connect(&DatabaseUrl::Sqlite(staging.clone()))?;
        let has_schema: Result<i64, _> = {
            use diesel::RunQueryDsl;
            diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
                "(SELECT count(*) FROM sqlite_master WHERE name = '__diesel_schema_migrations')",
            ))
            .get_result(&mut conn)
        };
        if has_schema.map_err(DbError::from)? == 0 {
            return Err(DbError::InvalidUrl("ce fichier n'est pas une base tierslieux-lms".into()));
        }
        // Pending migrations are fine (applied at the next start); unknown newer ones are not.
        super::run_migrations(&mut conn)?;
        drop(conn);
        Ok(())
    })();
    if let Err(error) = checked {
        let _ = std::fs::remove_file(&staging);
        return Err(error);
    }
    if path.exists() {
        let _ = std::fs::copy(path, path.with_extension("db.before-restore"));
    }
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        let _ = std::fs::remove_file(format!("{}{suffix}", staging.display()));
    }
    std::fs::rename(&staging, path).map_err(|e| DbError::InvalidUrl(format!("remplacement impossible : {e}")))?;
    let bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    Ok(BackupReport { database: path.display().to_string(), file: source.display().to_string(), bytes })
}
