//! Backup and restore of the embedded SQLite database (`lms backup` / `lms restore`).
//!
//! A backup is a consistent snapshot (`VACUUM INTO`), safe while the server runs. A restore:
//! 1. checks that the file is a SQLite database of this application (quick integrity check, the
//!    migrations table) and that every migration it records is known to this binary: a backup
//!    made by a newer version is refused, pending migrations are applied to the copy;
//! 2. takes the exclusive [`lock`](super::lock) of the database without waiting, so it is
//!    refused, with nothing changed, while any `lms-server` holds the shared one;
//! 3. keeps the current database as `<database>.before-restore`, made with `VACUUM INTO`
//!    through a connection, so it holds what the `-wal` file held too (a server killed with
//!    `kill -9` leaves its last acknowledged writes there, not in the main file);
//! 4. only then removes the old `-wal` / `-shm` and renames the checked copy over the database.
//!
//! PostgreSQL is backed up with its own tools (`pg_dump -Fc` / `pg_restore`, see README).

use std::path::{Path, PathBuf};

use diesel::RunQueryDsl;
use diesel::connection::SimpleConnection;
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
    DbError::Backup(format!("{action} PostgreSQL : utilisez pg_dump -Fc / pg_restore (voir README), pas lms"))
}

/// `path` with `suffix` appended to its file name (`lms.db` → `lms.db-wal`).
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn remove_if_present(path: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Removes a database file and its `-wal` / `-shm` / `-journal` companions (best effort: used
/// to clean up our own temporary files).
fn remove_database_files(path: &Path) {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let _ = remove_if_present(&with_suffix(path, suffix));
    }
}

/// Flushes a file (or, on Unix, a folder's entries) to disk; best effort.
fn sync_path(path: &Path) {
    if let Ok(file) = std::fs::File::open(path) {
        let _ = file.sync_all();
    }
}

/// Writes a consistent snapshot of the SQLite database to `target` (which must not exist).
pub fn backup(conn: &mut DbConn, url: &DatabaseUrl, target: &Path) -> Result<BackupReport, DbError> {
    let DatabaseUrl::Sqlite(path) = url else { return Err(postgres_refusal("sauvegarde")) };
    if target.exists() {
        return Err(DbError::Backup(format!("{} existe déjà : choisissez un autre fichier", target.display())));
    }
    super::sqlite_snapshot(conn, target)
        .map_err(|e| DbError::Backup(format!("sauvegarde dans {} impossible : {e}", target.display())))?;
    sync_path(target);
    let bytes = std::fs::metadata(target).map(|m| m.len()).unwrap_or(0);
    Ok(BackupReport { database: path.display().to_string(), file: target.display().to_string(), bytes })
}

/// Replaces the SQLite database with `source` after checking it (see the module docs). The
/// previous content, `-wal` included, is kept as `<database>.before-restore`.
pub fn restore(url: &DatabaseUrl, source: &Path) -> Result<BackupReport, DbError> {
    let DatabaseUrl::Sqlite(path) = url else { return Err(postgres_refusal("restauration")) };
    let mut header = [0_u8; 16];
    let readable = std::fs::File::open(source).and_then(|mut f| std::io::Read::read_exact(&mut f, &mut header));
    if let Err(e) = readable {
        return Err(DbError::Backup(format!("sauvegarde {} illisible : {e}", source.display())));
    }
    if &header != b"SQLite format 3\0" {
        return Err(DbError::Backup(format!("{} n'est pas une sauvegarde SQLite", source.display())));
    }
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    std::fs::create_dir_all(&parent)
        .map_err(|e| DbError::Backup(format!("dossier {} impossible à créer : {e}", parent.display())))?;
    // Refused here, before anything is written, while a server holds the database.
    let _lock = super::lock::try_exclusive(path)?;

    // Work on a copy next to the target, so the rename below is atomic and the source untouched.
    let staging = with_suffix(path, ".restore-staging");
    remove_database_files(&staging);
    let prepared = std::fs::copy(source, &staging)
        .map_err(|e| DbError::Backup(format!("copie de {} impossible : {e}", source.display())))
        .and_then(|_| check_and_prepare(&staging, source))
        .and_then(|()| if path.exists() { safety_copy(path) } else { Ok(()) })
        .and_then(|()| {
            // The safety copy holds the old -wal's content: only now may it go (left beside the
            // new file, SQLite would replay it into the restored database).
            for suffix in ["-wal", "-shm", "-journal"] {
                let companion = with_suffix(path, suffix);
                remove_if_present(&companion)
                    .map_err(|e| DbError::Backup(format!("{} impossible à supprimer : {e}", companion.display())))?;
            }
            std::fs::rename(&staging, path)
                .map_err(|e| DbError::Backup(format!("remplacement de {} impossible : {e}", path.display())))
        });
    if let Err(error) = prepared {
        remove_database_files(&staging);
        return Err(error);
    }
    sync_path(&parent);
    let bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    Ok(BackupReport { database: path.display().to_string(), file: source.display().to_string(), bytes })
}

/// Checks the staging copy of `source` and brings its schema up to this binary's; leaves it as a
/// single file (rollback journal mode, no `-wal`), ready to be renamed.
fn check_and_prepare(staging: &Path, source: &Path) -> Result<(), DbError> {
    let unreadable = |e: DbError| DbError::Backup(format!("sauvegarde {} illisible : {e}", source.display()));
    let mut conn = super::connect(&DatabaseUrl::Sqlite(staging.to_path_buf())).map_err(unreadable)?;
    let DbConn::Sqlite(sqlite) = &mut conn else {
        return Err(DbError::Backup(format!("{} : connexion SQLite attendue", source.display())));
    };
    let check: String = diesel::select(diesel::dsl::sql::<diesel::sql_types::Text>(
        "(SELECT quick_check FROM pragma_quick_check LIMIT 1)",
    ))
    .get_result(sqlite)
    .map_err(|e| unreadable(DbError::from(e)))?;
    if check != "ok" {
        return Err(DbError::Backup(format!("sauvegarde {} endommagée : {check}", source.display())));
    }
    let has_schema: i64 = diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
        "(SELECT count(*) FROM sqlite_master WHERE name = '__diesel_schema_migrations')",
    ))
    .get_result(sqlite)
    .map_err(|e| unreadable(DbError::from(e)))?;
    if has_schema == 0 {
        return Err(DbError::Backup(format!("{} n'est pas une sauvegarde de tierslieux-lms", source.display())));
    }
    // diesel ignores applied migrations it does not know: refuse them here.
    let unknown = super::unknown_applied_migrations(&mut conn).map_err(unreadable)?;
    if !unknown.is_empty() {
        return Err(DbError::Backup(format!(
            "{} vient d'une version plus récente de tierslieux-lms (migration(s) inconnue(s) de ce programme : {}) : mettez lms à jour avant de la restaurer",
            source.display(),
            unknown.join(", ")
        )));
    }
    // Pending migrations are fine: applied now, to the copy only.
    super::run_migrations(&mut conn).map_err(unreadable)?;
    conn.batch_execute("PRAGMA journal_mode = DELETE;").map_err(|e| unreadable(DbError::from(e)))?;
    drop(conn);
    sync_path(staging);
    Ok(())
}

/// Writes `<database>.before-restore` through SQLite (`VACUUM INTO`: main file and `-wal`
/// together), replacing an older one only once the new one is complete.
fn safety_copy(path: &Path) -> Result<(), DbError> {
    let refused = |e: DbError| {
        DbError::Backup(format!("copie de sécurité de {} impossible ({e}) : rien n'a été modifié", path.display()))
    };
    let target = with_suffix(path, ".before-restore");
    let partial = with_suffix(path, ".before-restore.tmp");
    remove_database_files(&partial);
    let mut conn = super::connect(&DatabaseUrl::Sqlite(path.to_path_buf())).map_err(refused)?;
    let written = super::sqlite_snapshot(&mut conn, &partial);
    drop(conn);
    if let Err(error) = written {
        remove_database_files(&partial);
        return Err(refused(error));
    }
    sync_path(&partial);
    std::fs::rename(&partial, &target).map_err(|e| {
        remove_database_files(&partial);
        DbError::Backup(format!("copie de sécurité {} impossible : {e} ; rien n'a été modifié", target.display()))
    })
}
