//! Shared state: the connection pool and the templates. Nothing here outlives a restart except
//! what is in the database (several instances can serve the same users).

use std::sync::Arc;

use anyhow::Context as _;
use lms_core::db::{self, Pool, PoolOptions};
use lms_core::geo::TravelModel;
use lms_core::{DbConn, DbError};

use crate::config::Config;
use crate::error::ApiError;

/// State shared by every handler (cheap to clone).
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    pool: Pool,
    /// One permit per pooled connection: requests beyond that wait here, on the async runtime,
    /// instead of each parking a blocking thread on the pool's lock (32 concurrent searches on an
    /// 8-connection pool spent a noticeable share of the CPU in futex wake-ups).
    db_permits: Arc<tokio::sync::Semaphore>,
    /// How long a request may wait for a connection before the server answers 503.
    db_wait: std::time::Duration,
    /// Bounds concurrent password hashing: argon2 takes ~19 MiB and a core for tens of ms each.
    cpu_permits: tokio::sync::Semaphore,
    backend: &'static str,
    secure_cookies: bool,
    public_url: String,
    keys: lms_core::certification::keys::KeyStore,
    mailer: Option<crate::mailer::Mailer>,
    travel: TravelModel,
    trusted_proxies: Vec<ipnet::IpNet>,
    hsts_max_age: Option<u64>,
    /// Shared lock on a SQLite database, held for the server's whole life so that `lms restore`
    /// refuses to replace the file under it (`None` on PostgreSQL).
    _database_lock: Option<db::lock::DatabaseLock>,
}

impl AppState {
    /// Opens the pool; on first start creates the SQLite folder, migrates and loads startup data.
    pub async fn open(config: &Config) -> anyhow::Result<Self> {
        let config = config.clone();
        tokio::task::spawn_blocking(move || Self::open_blocking(&config)).await.context("démarrage interrompu")?
    }

    fn open_blocking(config: &Config) -> anyhow::Result<Self> {
        if config.default_database {
            db::ensure_sqlite_parent(&config.database).context("impossible de créer le dossier data/")?;
        }
        // Before the first connection: a restore in progress finishes before this server opens the file.
        let database_lock = db::lock::hold_shared(&config.database)?;
        let mut options = PoolOptions::default_for(&config.database);
        if let Some(size) = config.pool_size {
            options.max_size = size;
        }
        let pool = db::build_pool(&config.database, &options)?;
        let mut conn = pool.get().map_err(DbError::from)?;
        let applied = db::run_migrations(&mut conn)?;
        if !applied.is_empty() {
            tracing::info!(count = applied.len(), "migrations appliquées");
        }
        let report =
            lms_core::fixtures::load_on_startup(&mut conn, config.startup_data, lms_core::catalogue::paris_today())
                .map_err(|e| anyhow::anyhow!("chargement des données initiales : {e}"))?;
        if !report.is_empty() {
            tracing::info!(?report, "données initiales chargées");
        }
        let mailer = crate::mailer::Mailer::from_config(config).map_err(anyhow::Error::msg)?;
        let backend = db::backend_name(&conn);
        drop(conn);
        Ok(AppState {
            inner: Arc::new(Inner {
                cpu_permits: tokio::sync::Semaphore::new(
                    std::thread::available_parallelism().map(|n| n.get() * 2).unwrap_or(4),
                ),
                db_permits: Arc::new(tokio::sync::Semaphore::new(options.max_size as usize)),
                db_wait: options.connection_timeout,
                pool,
                backend,
                secure_cookies: config.secure_cookies,
                public_url: config.public_url.clone(),
                keys: lms_core::certification::keys::KeyStore::at(&config.keys_dir),
                mailer,
                travel: config.travel,
                trusted_proxies: config.trusted_proxies.clone(),
                hsts_max_age: config.hsts_max_age,
                _database_lock: database_lock,
            }),
        })
    }

    /// Runs one unit of work on a pooled connection, on a blocking thread so the async runtime
    /// never waits on the database.
    pub async fn db<T, E, F>(&self, work: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: Into<ApiError> + Send + 'static,
    {
        let permit = tokio::time::timeout(self.inner.db_wait, Arc::clone(&self.inner.db_permits).acquire_owned())
            .await
            .map_err(|_| ApiError::from(DbError::Unavailable("toutes les connexions sont occupées".into())))?
            .map_err(|_| ApiError::internal("arrêt en cours"))?;
        let pool = self.inner.pool.clone();
        let outcome = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let mut conn = pool.get().map_err(|e| ApiError::from(DbError::from(e)))?;
            work(&mut conn).map_err(Into::into)
        })
        .await;
        match outcome {
            Ok(result) => result,
            Err(join_error) => match join_error.try_into_panic() {
                Ok(panic) => std::panic::resume_unwind(panic),
                Err(_) => Err(ApiError::internal("tâche annulée")),
            },
        }
    }

    /// Runs CPU-heavy work (password hashing) on a blocking thread, a few at a time, without
    /// holding a database connection.
    pub async fn cpu<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let _permit = self.inner.cpu_permits.acquire().await.map_err(|_| ApiError::internal("arrêt en cours"))?;
        match tokio::task::spawn_blocking(work).await {
            Ok(value) => Ok(value),
            Err(join_error) => match join_error.try_into_panic() {
                Ok(panic) => std::panic::resume_unwind(panic),
                Err(_) => Err(ApiError::internal("tâche annulée")),
            },
        }
    }

    /// The template environment.
    pub fn templates(&self) -> &minijinja::Environment<'static> {
        crate::templates::shared()
    }

    /// The outbox sender, when `LMS_SMTP_URL` is set.
    pub fn mailer(&self) -> Option<&crate::mailer::Mailer> {
        self.inner.mailer.as_ref()
    }

    /// The site's public address.
    pub fn public_url(&self) -> &str {
        &self.inner.public_url
    }

    /// The folder of the certificate signing key (`LMS_KEYS_DIR`); the server reads only its
    /// public key.
    pub fn keys(&self) -> &lms_core::certification::keys::KeyStore {
        &self.inner.keys
    }

    /// Whether cookies carry the `Secure` flag.
    pub fn secure_cookies(&self) -> bool {
        self.inner.secure_cookies
    }

    /// The travel-time model configured for this instance (`LMS_TRAVEL_*`).
    pub fn travel_model(&self) -> TravelModel {
        self.inner.travel
    }

    /// Reverse proxies whose forwarding headers are believed (`LMS_TRUSTED_PROXIES`).
    pub fn trusted_proxies(&self) -> &[ipnet::IpNet] {
        &self.inner.trusted_proxies
    }

    /// `Strict-Transport-Security` max-age, when enabled (`LMS_HSTS_MAX_AGE`).
    pub fn hsts_max_age(&self) -> Option<u64> {
        self.inner.hsts_max_age
    }

    /// `sqlite` or `postgresql`.
    pub fn backend(&self) -> &'static str {
        self.inner.backend
    }
}
