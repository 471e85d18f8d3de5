//! Storage: the one place where SQLite and PostgreSQL differ.
//!
//! Domain modules take a `&mut DbConn` and never look at the backend. Everything that must differ
//! (URL parsing, per-connection PRAGMAs, migrations, write locks) is a named function here, with both
//! arms side by side, each with the reason it differs.

pub mod backup;
pub mod ids;
pub mod json_text;
pub mod lock;
pub mod schema;
pub mod text_enum;

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{NaiveDateTime, SubsecRound, Utc};
use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::r2d2::{self, CustomizeConnection, ManageConnection};
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel::{Connection, PgConnection, SqliteConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

/// Migrations of each backend, embedded at compile time (`build.rs` reruns on changes).
const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/postgres");

/// Arbitrary constant for `pg_advisory_lock`, so that several server instances starting at once
/// do not run the same migration concurrently (diesel_migrations takes no lock itself).
const MIGRATION_LOCK_KEY: i64 = 0x746c_6d73_6d69_6772;

/// Default SQLite file, shared by the server and the CLI.
pub const DEFAULT_DATABASE_PATH: &str = "data/lms.db";

/// A connection to either backend. Queries written against it run unchanged on both.
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    /// PostgreSQL, the scale-out path.
    Pg(PgConnection),
    /// SQLite, the embedded default.
    Sqlite(SqliteConnection),
}

/// Errors of the storage layer.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The `DATABASE_URL` could not be understood.
    #[error("DATABASE_URL invalide : {0}")]
    InvalidUrl(String),
    /// The database could not be opened or reached.
    #[error("impossible d'ouvrir la base de données ({url}) : {reason}")]
    Connect {
        /// The URL with any password removed.
        url: String,
        /// What the driver said.
        reason: String,
    },
    /// Another writer holds the lock for longer than the busy timeout.
    #[error("la base de données est occupée, réessayez")]
    Busy,
    /// No connection could be had from the pool in time.
    #[error("la base de données est indisponible : {0}")]
    Unavailable(String),
    /// A migration failed.
    #[error("échec de la migration : {0}")]
    Migration(String),
    /// A backup or restore was refused or failed; the message names the file concerned.
    #[error("{0}")]
    Backup(String),
    /// Another process (a running `lms-server`) holds the database, so it cannot be replaced.
    #[error("{0}")]
    InUse(String),
    /// The database file (or its folder) is read-only and the command needs to write.
    #[error("la base de données est en lecture seule (fichier ou dossier non modifiable) : cette commande doit écrire")]
    ReadOnly,
    /// Any other query error.
    #[error("{}", describe_query_error(.0))]
    Query(DieselError),
}

/// The message of a query error: a constraint the database enforced is said in French (the raw
/// driver text, such as `CHECK constraint failed: …`, means nothing to an administrator).
fn describe_query_error(error: &DieselError) -> String {
    let DieselError::DatabaseError(kind, info) = error else {
        return format!("erreur de base de données : {error}");
    };
    let what = info.constraint_name().map(str::to_owned).unwrap_or_else(|| {
        // SQLite: "CHECK constraint failed: lat BETWEEN -90 AND 90" → the part after the colon.
        info.message().split_once(": ").map(|(_, rest)| rest.to_owned()).unwrap_or_default()
    });
    let what = if what.is_empty() { String::new() } else { format!(" ({what})") };
    match kind {
        DatabaseErrorKind::CheckViolation => {
            format!("valeur refusée : elle sort des limites permises par la base de données{what}")
        }
        DatabaseErrorKind::NotNullViolation => format!("valeur obligatoire manquante{what}"),
        DatabaseErrorKind::UniqueViolation => format!("cette valeur existe déjà{what}"),
        DatabaseErrorKind::ForeignKeyViolation => {
            format!("référence à un élément inexistant ou encore utilisé ailleurs{what}")
        }
        _ => format!("erreur de base de données : {}", info.message()),
    }
}

/// Fragments of libpq messages that mean the server went away.
const LOST_CONNECTION_MESSAGES: &[&str] = &[
    "server closed the connection",
    "no connection to the server",
    "could not receive data",
    "could not send data",
    "terminating connection",
    "connection to server",
    "SSL SYSCALL",
    "Connection refused",
];

impl From<DieselError> for DbError {
    fn from(error: DieselError) -> Self {
        match &error {
            DieselError::DatabaseError(DatabaseErrorKind::Unknown, info)
                if info.message().contains("database is locked") || info.message().contains("database is busy") =>
            {
                DbError::Busy
            }
            DieselError::DatabaseError(DatabaseErrorKind::ClosedConnection, info) => {
                DbError::Unavailable(info.message().to_owned())
            }
            // libpq reports a lost server as an unknown error; it is an outage, not a bug.
            DieselError::DatabaseError(DatabaseErrorKind::Unknown, info)
                if LOST_CONNECTION_MESSAGES.iter().any(|m| info.message().contains(m)) =>
            {
                DbError::Unavailable(info.message().to_owned())
            }
            DieselError::DatabaseError(_, info)
                if info.message().contains("readonly database") || info.message().contains("read-only") =>
            {
                DbError::ReadOnly
            }
            DieselError::BrokenTransactionManager => DbError::Unavailable("connexion interrompue".into()),
            _ => DbError::Query(error),
        }
    }
}

impl From<r2d2::PoolError> for DbError {
    fn from(error: r2d2::PoolError) -> Self {
        DbError::Unavailable(error.to_string())
    }
}

impl DbError {
    /// Name of the violated unique constraint, if this error is one.
    ///
    /// SQLite reports the columns (`UNIQUE constraint failed: users.email`), PostgreSQL the
    /// constraint name (`users_email_key`); callers match on a table/column fragment.
    pub fn unique_violation(&self) -> Option<String> {
        match self {
            DbError::Query(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info)) => {
                Some(info.constraint_name().map(str::to_owned).unwrap_or_else(|| info.message().to_owned()))
            }
            _ => None,
        }
    }

    /// True when a foreign key or CHECK constraint refused the write.
    pub fn is_constraint_violation(&self) -> bool {
        matches!(
            self,
            DbError::Query(DieselError::DatabaseError(
                DatabaseErrorKind::ForeignKeyViolation
                    | DatabaseErrorKind::CheckViolation
                    | DatabaseErrorKind::NotNullViolation
                    | DatabaseErrorKind::UniqueViolation,
                _
            ))
        )
    }

    /// True when the row asked for does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, DbError::Query(DieselError::NotFound))
    }
}

impl crate::Classify for DbError {
    fn kind(&self) -> crate::ErrorKind {
        match self {
            DbError::InvalidUrl(_) | DbError::Backup(_) => crate::ErrorKind::Invalid,
            DbError::InUse(_) | DbError::ReadOnly => crate::ErrorKind::Conflict,
            DbError::Busy | DbError::Unavailable(_) | DbError::Connect { .. } => crate::ErrorKind::Unavailable,
            DbError::Query(DieselError::NotFound) => crate::ErrorKind::NotFound,
            error if error.is_constraint_violation() => crate::ErrorKind::Conflict,
            _ => crate::ErrorKind::Internal,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            DbError::InvalidUrl(_) => "invalid_database_url",
            DbError::Backup(_) => "backup_refused",
            DbError::InUse(_) => "database_in_use",
            DbError::ReadOnly => "database_read_only",
            DbError::Busy => "database_busy",
            DbError::Unavailable(_) | DbError::Connect { .. } => "database_unavailable",
            DbError::Query(DieselError::NotFound) => "not_found",
            error if error.is_constraint_violation() => "constraint_violation",
            _ => "database_error",
        }
    }
}

/// Which backend a `DATABASE_URL` designates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// `postgres://…` or `postgresql://…`, passed to libpq as is.
    Postgres(String),
    /// A SQLite file.
    Sqlite(PathBuf),
}

impl DatabaseUrl {
    /// Parses `postgres://…`, `postgresql://…`, `sqlite://PATH`, `sqlite:PATH` or a bare file path.
    ///
    /// Any other scheme is refused rather than silently opened as a SQLite file named after the URL.
    pub fn parse(raw: &str) -> Result<Self, DbError> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(DbError::InvalidUrl("l'adresse est vide".into()));
        }
        if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
            return Ok(DatabaseUrl::Postgres(raw.to_owned()));
        }
        let path = if let Some(rest) = raw.strip_prefix("sqlite://") {
            rest
        } else if let Some(rest) = raw.strip_prefix("sqlite:") {
            rest
        } else if let Some((scheme, _)) = raw.split_once("://") {
            return Err(DbError::InvalidUrl(format!(
                "schéma « {scheme} » non pris en charge (attendu : postgres://, sqlite:// ou un chemin de fichier)"
            )));
        } else {
            raw
        };
        if path.is_empty() {
            return Err(DbError::InvalidUrl("chemin SQLite vide".into()));
        }
        if path == ":memory:" {
            return Err(DbError::InvalidUrl(
                "une base SQLite en mémoire n'est pas partagée entre connexions ; indiquez un fichier".into(),
            ));
        }
        Ok(DatabaseUrl::Sqlite(PathBuf::from(path)))
    }

    /// The default database: `data/lms.db` next to the working directory.
    pub fn default_sqlite() -> Self {
        DatabaseUrl::Sqlite(PathBuf::from(DEFAULT_DATABASE_PATH))
    }

    /// The URL for messages and logs, with any password removed.
    pub fn redacted(&self) -> String {
        match self {
            DatabaseUrl::Sqlite(path) => format!("sqlite://{}", path.display()),
            DatabaseUrl::Postgres(url) => redact_password(url),
        }
    }

    /// True for SQLite.
    pub fn is_sqlite(&self) -> bool {
        matches!(self, DatabaseUrl::Sqlite(_))
    }

    fn establish(&self) -> Result<DbConn, DbError> {
        match self {
            DatabaseUrl::Postgres(url) => PgConnection::establish(url)
                .map(DbConn::Pg)
                .map_err(|e| DbError::Connect { url: self.redacted(), reason: e.to_string().trim().to_owned() }),
            DatabaseUrl::Sqlite(path) => {
                if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty())
                    && !parent.is_dir()
                {
                    return Err(DbError::Connect {
                        url: self.redacted(),
                        reason: format!("le dossier {} n'existe pas", parent.display()),
                    });
                }
                let path_str =
                    path.to_str().ok_or_else(|| DbError::InvalidUrl("le chemin SQLite n'est pas en UTF-8".into()))?;
                let access = sqlite_access(path);
                let target = match access {
                    SqliteAccess::ReadWrite => path_str.to_owned(),
                    SqliteAccess::ReadOnly => format!("file:{}?mode=ro", uri_escape(path_str)),
                    SqliteAccess::Immutable => format!("file:{}?immutable=1", uri_escape(path_str)),
                };
                let mut conn = SqliteConnection::establish(&target)
                    .map_err(|e| DbError::Connect { url: self.redacted(), reason: e.to_string() })?;
                apply_sqlite_pragmas(&mut conn, access == SqliteAccess::ReadWrite)
                    .map_err(|e| DbError::Connect { url: self.redacted(), reason: e.to_string() })?;
                Ok(DbConn::Sqlite(conn))
            }
        }
    }
}

fn redact_password(url: &str) -> String {
    // postgres://user:secret@host/db → postgres://user:***@host/db
    if let Some((scheme, rest)) = url.split_once("://")
        && let Some((credentials, host)) = rest.split_once('@')
        && let Some((user, _)) = credentials.split_once(':')
    {
        return format!("{scheme}://{user}:***@{host}");
    }
    url.to_owned()
}

/// How a SQLite file can be opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SqliteAccess {
    /// The normal case (also a file that does not exist yet: SQLite creates it).
    ReadWrite,
    /// The file is not writable: `?mode=ro`, so read-only commands work and writes are refused
    /// with [`DbError::ReadOnly`] instead of failing at the first PRAGMA.
    ReadOnly,
    /// The file and its folder are read-only and no `-wal` exists: nobody can change the file,
    /// and a read-only WAL database cannot create its `-shm` there, so open it `?immutable=1`.
    Immutable,
}

/// Decides [`SqliteAccess`] from the file's permission bits (which also speak for root, who could
/// write anyway: a file an administrator made read-only is left untouched) and, for other
/// accounts, from whether it can be opened for writing.
fn sqlite_access(path: &Path) -> SqliteAccess {
    let Ok(metadata) = std::fs::metadata(path) else { return SqliteAccess::ReadWrite };
    let folder = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or_else(|| Path::new("."));
    let folder_read_only = std::fs::metadata(folder).map(|m| m.permissions().readonly()).unwrap_or(false);
    let file_read_only = metadata.permissions().readonly()
        || std::fs::OpenOptions::new().append(true).open(path).is_err_and(|e| {
            matches!(e.kind(), std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem)
        });
    let wal_exists = Path::new(&format!("{}-wal", path.display())).exists();
    match (file_read_only, folder_read_only) {
        (false, false) => SqliteAccess::ReadWrite,
        (_, true) if !wal_exists => SqliteAccess::Immutable,
        _ => SqliteAccess::ReadOnly,
    }
}

/// Escapes a path for a `file:` URI (SQLite decodes `%XX`; `?` and `#` would end the path).
fn uri_escape(path: &str) -> String {
    path.replace('%', "%25").replace('?', "%3f").replace('#', "%23")
}

/// Per-connection SQLite settings. busy_timeout comes first so the others wait for locks too.
/// `writable` is false for a read-only file: the journal mode (stored in the file) is left as is.
fn apply_sqlite_pragmas(conn: &mut SqliteConnection, writable: bool) -> Result<(), DieselError> {
    conn.batch_execute("PRAGMA busy_timeout = 10000;")?;
    if writable {
        conn.batch_execute("PRAGMA journal_mode = WAL;")?;
    }
    // NORMAL is safe with WAL: a power cut may lose the last commits, never corrupt the file.
    conn.batch_execute("PRAGMA synchronous = NORMAL;")?;
    conn.batch_execute("PRAGMA foreign_keys = ON;")?;
    conn.batch_execute("PRAGMA cache_size = -20000;")?;
    conn.batch_execute("PRAGMA temp_store = MEMORY;")?;
    // Reads through a memory map instead of read() calls into the 20 MB page cache: searches over
    // a national data set seek in indexes larger than that cache (measured: about 20 % faster).
    // Address space only; the pages are the kernel's file cache, shared by every connection.
    conn.batch_execute("PRAGMA mmap_size = 1073741824;")?;
    Ok(())
}

/// Opens one connection (no pool): for the CLI and for tests.
pub fn connect(url: &DatabaseUrl) -> Result<DbConn, DbError> {
    url.establish()
}

/// r2d2 manager that picks the backend from the URL, never by trial and error.
#[derive(Debug, Clone)]
pub struct ConnectionManager {
    url: DatabaseUrl,
}

impl ManageConnection for ConnectionManager {
    type Connection = DbConn;
    type Error = DbError;

    fn connect(&self) -> Result<DbConn, DbError> {
        self.url.establish()
    }

    fn is_valid(&self, conn: &mut DbConn) -> Result<(), DbError> {
        conn.batch_execute("SELECT 1").map_err(DbError::from)
    }

    fn has_broken(&self, conn: &mut DbConn) -> bool {
        // A connection left inside a transaction (a panic mid-use case) must not be reused.
        match conn {
            DbConn::Pg(c) => in_transaction(c),
            DbConn::Sqlite(c) => in_transaction(c),
        }
    }
}

#[derive(Debug)]
struct NoCustomization;
impl CustomizeConnection<DbConn, DbError> for NoCustomization {}

/// A pool of connections, shared by request handlers.
pub type Pool = r2d2::Pool<ConnectionManager>;
/// A connection borrowed from the pool.
pub type PooledConn = r2d2::PooledConnection<ConnectionManager>;

/// Pool settings, with the defaults documented in the README.
#[derive(Debug, Clone)]
pub struct PoolOptions {
    /// Connections kept open; SQLite writers serialise anyway, so a few suffice there.
    pub max_size: u32,
    /// How long a request waits for a connection before the server answers 503.
    pub connection_timeout: Duration,
}

impl PoolOptions {
    /// Defaults per backend: 8 for SQLite, 16 for PostgreSQL; 5 s wait.
    pub fn default_for(url: &DatabaseUrl) -> Self {
        PoolOptions { max_size: if url.is_sqlite() { 8 } else { 16 }, connection_timeout: Duration::from_secs(5) }
    }
}

/// Builds a pool; fails at once with a clear error if the database cannot be opened.
pub fn build_pool(url: &DatabaseUrl, options: &PoolOptions) -> Result<Pool, DbError> {
    // Try one connection first so a bad URL is reported as such, not as a pool timeout.
    drop(url.establish()?);
    r2d2::Pool::builder()
        .max_size(options.max_size)
        .min_idle(Some(1))
        .connection_timeout(options.connection_timeout)
        .connection_customizer(Box::new(NoCustomization))
        .build(ConnectionManager { url: url.clone() })
        .map_err(DbError::from)
}

/// Creates the parent folder of a SQLite file (used for the default `data/` folder).
pub fn ensure_sqlite_parent(url: &DatabaseUrl) -> std::io::Result<()> {
    if let DatabaseUrl::Sqlite(path) = url
        && let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty())
    {
        std::fs::create_dir_all(parent)?;
    }
    Ok(())
}

/// Applies pending migrations; returns the names of those applied.
pub fn run_migrations(conn: &mut DbConn) -> Result<Vec<String>, DbError> {
    let migration_error = |e: Box<dyn std::error::Error + Send + Sync>| DbError::Migration(e.to_string());
    match conn {
        DbConn::Sqlite(c) => {
            // Table rebuilds need foreign keys off, and the PRAGMA is ignored inside a transaction.
            c.batch_execute("PRAGMA foreign_keys = OFF;")?;
            let applied: Result<Vec<String>, DbError> = c
                .run_pending_migrations(SQLITE_MIGRATIONS)
                .map(|versions| versions.iter().map(ToString::to_string).collect())
                .map_err(migration_error);
            c.batch_execute("PRAGMA foreign_keys = ON;")?;
            applied
        }
        DbConn::Pg(c) => {
            c.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})"))?;
            let applied: Result<Vec<String>, DbError> = c
                .run_pending_migrations(POSTGRES_MIGRATIONS)
                .map(|versions| versions.iter().map(ToString::to_string).collect())
                .map_err(migration_error);
            c.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})"))?;
            applied
        }
    }
}

/// Versions recorded as applied in the database that this binary does not know: the database was
/// migrated by a newer version of the application (diesel itself ignores them).
pub fn unknown_applied_migrations(conn: &mut DbConn) -> Result<Vec<String>, DbError> {
    use diesel::migration::MigrationSource;
    let migration_error = |e: Box<dyn std::error::Error + Send + Sync>| DbError::Migration(e.to_string());
    let (known, applied): (Vec<String>, Vec<String>) = match conn {
        DbConn::Sqlite(c) => (
            MigrationSource::<diesel::sqlite::Sqlite>::migrations(&SQLITE_MIGRATIONS)
                .map_err(migration_error)?
                .iter()
                .map(|m| m.name().version().to_string())
                .collect(),
            c.applied_migrations().map_err(migration_error)?.iter().map(ToString::to_string).collect(),
        ),
        DbConn::Pg(c) => (
            MigrationSource::<diesel::pg::Pg>::migrations(&POSTGRES_MIGRATIONS)
                .map_err(migration_error)?
                .iter()
                .map(|m| m.name().version().to_string())
                .collect(),
            c.applied_migrations().map_err(migration_error)?.iter().map(ToString::to_string).collect(),
        ),
    };
    Ok(applied.into_iter().filter(|version| !known.contains(version)).collect())
}

/// Names of migrations embedded in this binary but not yet applied.
pub fn pending_migrations(conn: &mut DbConn) -> Result<Vec<String>, DbError> {
    let migration_error = |e: Box<dyn std::error::Error + Send + Sync>| DbError::Migration(e.to_string());
    Ok(match conn {
        DbConn::Sqlite(c) => c
            .pending_migrations(SQLITE_MIGRATIONS)
            .map_err(migration_error)?
            .iter()
            .map(|m| m.name().to_string())
            .collect(),
        DbConn::Pg(c) => c
            .pending_migrations(POSTGRES_MIGRATIONS)
            .map_err(migration_error)?
            .iter()
            .map(|m| m.name().to_string())
            .collect(),
    })
}

/// Runs `work` in one transaction that holds the write lock from its first statement.
///
/// SQLite: `BEGIN IMMEDIATE`, because a deferred transaction that reads and then writes fails at once
/// with "database is locked" when another writer got there first (busy_timeout does not apply to
/// that upgrade). PostgreSQL: an ordinary transaction; use cases take row locks with conditional
/// updates or [`lock_row_for_update`].
pub fn write_transaction<T, E, F>(conn: &mut DbConn, work: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConn) -> Result<T, E>,
    E: From<DbError>,
{
    // Nested calls (a use case composed into a larger one) become savepoints.
    let nested = match conn {
        DbConn::Sqlite(c) => in_transaction(c),
        DbConn::Pg(c) => in_transaction(c),
    };
    let begin = match conn {
        DbConn::Sqlite(c) if !nested => AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE"),
        _ => <DbConn as Connection>::TransactionManager::begin_transaction(conn),
    };
    begin.map_err(|e| E::from(DbError::from(e)))?;
    match work(conn) {
        Ok(value) => {
            <DbConn as Connection>::TransactionManager::commit_transaction(conn)
                .map_err(|e| E::from(DbError::from(e)))?;
            Ok(value)
        }
        Err(error) => {
            // The original error matters more than a failed rollback, which also breaks the
            // connection so the pool discards it.
            let _ = <DbConn as Connection>::TransactionManager::rollback_transaction(conn);
            Err(error)
        }
    }
}

fn in_transaction<C>(conn: &mut C) -> bool
where
    C: Connection<TransactionManager = AnsiTransactionManager>,
{
    AnsiTransactionManager::transaction_manager_status_mut(conn)
        .transaction_depth()
        .map(|depth| depth.is_some())
        .unwrap_or(true)
}

/// Runs a read-only unit of work in one transaction (a consistent snapshot on both backends).
pub fn read_transaction<T, E, F>(conn: &mut DbConn, work: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConn) -> Result<T, E>,
    E: From<DbError>,
{
    conn.transaction(|c| work(c).map_err(TxError::Inner)).map_err(|e| match e {
        TxError::Inner(e) => e,
        TxError::Db(e) => E::from(DbError::from(e)),
    })
}

enum TxError<E> {
    Inner(E),
    Db(DieselError),
}

impl<E> From<DieselError> for TxError<E> {
    fn from(error: DieselError) -> Self {
        TxError::Db(error)
    }
}

/// Locks one row for the rest of the transaction (PostgreSQL `SELECT … FOR UPDATE`; SQLite already
/// holds the database write lock inside [`write_transaction`]).
pub fn lock_row_for_update(conn: &mut DbConn, table: LockableTable, id: &str) -> Result<(), DbError> {
    use diesel::RunQueryDsl;
    use diesel::sql_types::Text;
    if let DbConn::Pg(c) = conn {
        let sql = format!("SELECT 1 FROM {} WHERE id = $1 FOR UPDATE", table.name());
        diesel::sql_query(sql).bind::<Text, _>(id).execute(c)?;
    }
    Ok(())
}

/// The ids of up to `limit` outbox messages due for sending at `now` (pending and due, or
/// claimed by a worker whose lease ran out), locked for the calling transaction.
///
/// PostgreSQL: `FOR UPDATE SKIP LOCKED`, so that several server instances claiming at once each
/// get different rows instead of waiting on (then re-sending) the same ones. SQLite: the caller's
/// [`write_transaction`] already holds the database write lock, which serialises claims.
pub fn claim_due_outbox_ids(
    conn: &mut DbConn,
    now: NaiveDateTime,
    limit: i64,
) -> Result<Vec<ids::OutboxMessageId>, DbError> {
    use diesel::RunQueryDsl;
    use diesel::sql_types::{BigInt, Timestamp};

    #[derive(diesel::QueryableByName)]
    struct Due {
        #[diesel(sql_type = diesel::sql_types::Text)]
        id: ids::OutboxMessageId,
    }
    use crate::mail::OutboxStatus;
    // The statuses are constants of the closed set, never input.
    let due = format!(
        "SELECT id FROM outbox_messages \
         WHERE (status = '{pending}' AND next_attempt_at <= $1) OR (status = '{sending}' AND locked_until <= $1) \
         ORDER BY next_attempt_at, id LIMIT $2",
        pending = OutboxStatus::Pending.as_str(),
        sending = OutboxStatus::Sending.as_str(),
    );
    let rows: Vec<Due> = match conn {
        DbConn::Pg(c) => diesel::sql_query(format!("{due} FOR UPDATE SKIP LOCKED"))
            .bind::<Timestamp, _>(now)
            .bind::<BigInt, _>(limit)
            .load(c)?,
        DbConn::Sqlite(c) => diesel::sql_query(due.replace("$1", "?1").replace("$2", "?2"))
            .bind::<Timestamp, _>(now)
            .bind::<BigInt, _>(limit)
            .load(c)?,
    };
    Ok(rows.into_iter().map(|row| row.id).collect())
}

/// Tables whose rows use cases lock explicitly (a closed list, so no SQL is built from input).
#[derive(Debug, Clone, Copy)]
pub enum LockableTable {
    /// `training_sessions`
    TrainingSessions,
    /// `certifications` (serialises certificate numbering per certification)
    Certifications,
}

impl LockableTable {
    fn name(self) -> &'static str {
        match self {
            LockableTable::TrainingSessions => "training_sessions",
            LockableTable::Certifications => "certifications",
        }
    }
}

/// Current UTC time truncated to microseconds, so a value reads back identically on both backends.
pub fn now() -> NaiveDateTime {
    Utc::now().naive_utc().trunc_subsecs(6)
}

/// Consistent copy of a SQLite database into `target` (`VACUUM INTO`), safe while the server runs.
pub fn sqlite_snapshot(conn: &mut DbConn, target: &Path) -> Result<(), DbError> {
    use diesel::RunQueryDsl;
    use diesel::sql_types::Text;
    match conn {
        DbConn::Sqlite(c) => {
            let target = target
                .to_str()
                .ok_or_else(|| DbError::Backup(format!("{} : chemin de sauvegarde non UTF-8", target.display())))?;
            diesel::sql_query("VACUUM INTO ?").bind::<Text, _>(target).execute(c)?;
            Ok(())
        }
        DbConn::Pg(_) => Err(DbError::Backup("la sauvegarde PostgreSQL se fait avec pg_dump (voir README)".into())),
    }
}

/// Which backend a connection talks to, for messages only (never for branching domain logic).
pub fn backend_name(conn: &DbConn) -> &'static str {
    match conn {
        DbConn::Pg(_) => "postgresql",
        DbConn::Sqlite(_) => "sqlite",
    }
}

/// Runs the same diesel expression on the concrete connection of either backend.
///
/// For the few statements `MultiBackend` cannot express but both backends can (multi-row
/// `INSERT … VALUES`): the code is identical in both arms, only the types differ.
#[macro_export]
macro_rules! on_inner_connection {
    ($conn:expr, |$inner:ident| $body:expr) => {
        match $conn {
            $crate::db::DbConn::Pg($inner) => $body,
            $crate::db::DbConn::Sqlite($inner) => $body,
        }
    };
}

/// Refreshes the query planner's statistics after a bulk load (`ANALYZE`).
///
/// On SQLite only the per-index summaries (`sqlite_stat1`) are kept: the bundled SQLite is built
/// with STAT4, whose samples make the planner estimate every value of an `IN (…)` list one by
/// one. The search near home binds hundreds of venue and session ids per query, so STAT4 made a
/// search cost about 30 % more CPU without changing a single plan (measured on the national data
/// set: 1.07 → 0.74 ms of server CPU per search, identical answers).
pub fn refresh_planner_statistics(conn: &mut DbConn) -> Result<(), DbError> {
    use diesel::RunQueryDsl;
    match conn {
        DbConn::Pg(c) => c.batch_execute("ANALYZE")?,
        DbConn::Sqlite(c) => {
            c.batch_execute("ANALYZE")?;
            let stat4: i64 = diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
                "(SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat4')",
            ))
            .get_result(c)?;
            if stat4 > 0 {
                // Then reload the statistics: they are read when the schema is.
                c.batch_execute("DELETE FROM sqlite_stat4; ANALYZE sqlite_schema;")?;
            }
        }
    }
    Ok(())
}

/// Cheapest round trip to the database (for health checks).
pub fn ping(conn: &mut DbConn) -> Result<(), DbError> {
    conn.batch_execute("SELECT 1").map_err(DbError::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_documented_url_form() {
        assert_eq!(
            DatabaseUrl::parse("postgres://u@127.0.0.1/db").ok(),
            Some(DatabaseUrl::Postgres("postgres://u@127.0.0.1/db".into()))
        );
        assert!(matches!(DatabaseUrl::parse("postgresql://h/db"), Ok(DatabaseUrl::Postgres(_))));
        for (raw, path) in [
            ("sqlite://data/x.db", "data/x.db"),
            ("sqlite:data/x.db", "data/x.db"),
            ("sqlite:///tmp/x.db", "/tmp/x.db"),
            ("data/x.db", "data/x.db"),
            ("/abs/x.db", "/abs/x.db"),
        ] {
            assert_eq!(DatabaseUrl::parse(raw).ok(), Some(DatabaseUrl::Sqlite(path.into())), "{raw}");
        }
    }

    #[test]
    fn refuses_unknown_schemes_and_empty_urls() {
        for raw in ["", "   ", "mysql://x/y", "sqlite:", "sqlite://", "http://x", ":memory:"] {
            assert!(matches!(DatabaseUrl::parse(raw), Err(DbError::InvalidUrl(_))), "{raw}");
        }
    }

    #[test]
    fn redacts_passwords() {
        let url = DatabaseUrl::parse("postgres://bob:hunter2@db:5432/lms").ok();
        assert_eq!(url.map(|u| u.redacted()).as_deref(), Some("postgres://bob:***@db:5432/lms"));
    }
}
