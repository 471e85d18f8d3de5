//! The process lock of a SQLite database: `<database>.lock`, beside the file.
//!
//! Every `lms-server` on a SQLite file holds a *shared* lock on it for its whole life, and every
//! `lms` command while it works (several servers on one file stay possible); `lms restore` takes an *exclusive* lock, without waiting,
//! and holds it while it swaps the files. So a restore is refused while any server runs, and a
//! server that starts during a restore waits for it to finish. The lock is the operating
//! system's (`flock` on Unix, `LockFileEx` on Windows): it is released when the process ends,
//! even on `kill -9`, so a crash never leaves a stale lock behind. The lock file itself is empty
//! and never removed (removing it would let two processes lock two different files).
//!
//! PostgreSQL needs none of this: it is backed up and restored with its own tools.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

use super::{DatabaseUrl, DbError};

/// A held lock; dropping it releases the lock.
#[derive(Debug)]
pub struct DatabaseLock {
    _file: File,
    path: PathBuf,
}

impl DatabaseLock {
    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The lock file of a SQLite database: `<database>.lock`.
pub fn lock_path(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

fn open_lock_file(database: &Path) -> Result<(File, PathBuf), DbError> {
    let path = lock_path(database);
    let file =
        OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path).map_err(|e| {
            DbError::InUse(format!("impossible d'ouvrir le fichier de verrou {} : {e}", path.display()))
        })?;
    Ok((file, path))
}

/// Takes the shared lock a running server (or an `lms` command) holds on its SQLite database
/// (waits while a restore holds the exclusive one). `None` for PostgreSQL, and for a database in
/// a read-only folder.
pub fn hold_shared(url: &DatabaseUrl) -> Result<Option<DatabaseLock>, DbError> {
    let DatabaseUrl::Sqlite(database) = url else { return Ok(None) };
    // A database in a read-only folder (by its permission bits, which speak for root too) cannot
    // be restored over — a restore renames files in that folder — and no lock file is created
    // there.
    let folder = database.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or_else(|| Path::new("."));
    if std::fs::metadata(folder).is_ok_and(|m| m.permissions().readonly()) {
        return Ok(None);
    }
    let (file, path) = open_lock_file(database)?;
    match file.try_lock_shared() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            tracing::warn!(lock = %path.display(), "restauration en cours sur cette base : attente de sa fin");
            file.lock_shared()
                .map_err(|e| DbError::InUse(format!("verrou {} impossible à prendre : {e}", path.display())))?;
        }
        Err(TryLockError::Error(e)) => {
            return Err(DbError::InUse(format!("verrou {} impossible à prendre : {e}", path.display())));
        }
    }
    Ok(Some(DatabaseLock { _file: file, path }))
}

/// Takes the exclusive lock of a SQLite database without waiting; refuses with a clear message
/// when a process (a running server) holds it.
pub fn try_exclusive(database: &Path) -> Result<DatabaseLock, DbError> {
    let (file, path) = open_lock_file(database)?;
    match file.try_lock() {
        Ok(()) => Ok(DatabaseLock { _file: file, path }),
        Err(TryLockError::WouldBlock) => Err(DbError::InUse(format!(
            "la base {} est utilisée par un autre processus (un lms-server tourne ?) : arrêtez-le puis réessayez ; rien n'a été modifié",
            database.display()
        ))),
        Err(TryLockError::Error(e)) => {
            Err(DbError::InUse(format!("verrou {} impossible à prendre : {e}", path.display())))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_locks_coexist_and_exclude_the_exclusive_one() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let database = dir.path().join("lms.db");
        let url = DatabaseUrl::Sqlite(database.clone());
        let first = hold_shared(&url).unwrap_or_else(|e| panic!("{e}"));
        let second = hold_shared(&url).unwrap_or_else(|e| panic!("{e}"));
        assert!(first.is_some() && second.is_some(), "two servers on one file");
        assert!(matches!(try_exclusive(&database), Err(DbError::InUse(_))));
        drop((first, second));
        let exclusive = try_exclusive(&database).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(exclusive.path(), lock_path(&database));
        assert!(matches!(try_exclusive(&database), Err(DbError::InUse(_))));
    }

    #[test]
    fn postgres_takes_no_lock() {
        let url = DatabaseUrl::Postgres("postgres://127.0.0.1/x".into());
        assert!(matches!(hold_shared(&url), Ok(None)));
    }
}
