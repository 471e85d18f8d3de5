//! Configuration from the command line and the environment, with documented defaults (see
//! README): [`ServerArgs`] names every variable once.

use std::path::PathBuf;

use lms_core::DatabaseUrl;
use lms_core::fixtures::StartupData;
use lms_core::geo::TravelModel;

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Server configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// `DATABASE_URL`; default `data/lms.db` (SQLite, created on first start).
    pub database: DatabaseUrl,
    /// True when `DATABASE_URL` was not set.
    pub default_database: bool,
    /// `LMS_BIND`; default `127.0.0.1:8080`.
    pub bind: String,
    /// `LMS_LOG`; default `info,tower_http=info`.
    pub log_filter: String,
    /// `LMS_LOG_FORMAT` (`text` or `json`); default `text`.
    pub log_format: LogFormat,
    /// `LMS_STARTUP_DATA` (`none`, `reference`, `demo`); default `demo` for the default database,
    /// `reference` otherwise. Data is only ever loaded into an empty database.
    pub startup_data: StartupData,
    /// `LMS_DB_POOL_SIZE`; default 8 (SQLite) or 16 (PostgreSQL).
    pub pool_size: Option<u32>,
    /// `LMS_PUBLIC_URL`: the address people reach the site at, for links in e-mails and documents;
    /// default `http://127.0.0.1:8080`.
    pub public_url: String,
    /// `LMS_SMTP_URL` (`smtp://[user:pass@]host[:port]` or `smtps://…`); unset = no e-mail.
    pub smtp_url: Option<String>,
    /// `LMS_MAIL_FROM`; default `Tiers-lieux formation <no-reply@localhost>`. Its address is the
    /// sender of every message; the name shown is the organisation's (`organisation.name`).
    pub mail_from: String,
    /// `LMS_MAIL_POLL_SECS`: how often the outbox worker looks for messages to send; default 5.
    pub mail_poll: std::time::Duration,
    /// `LMS_MAIL_MAX_ATTEMPTS`: attempts before a message is marked failed; default 8.
    pub mail_max_attempts: i32,
    /// `LMS_MAIL_RETRY_BASE_SECS`: the first wait after a failed attempt, doubled at each next
    /// one (at most an hour); default 60.
    pub mail_retry_base: std::time::Duration,
    /// `LMS_REMINDER_EVERY_SECS`: how often the outbox worker queues the reminders due
    /// (`lms_core::mail::reminders`) and every server opens the satisfaction surveys due
    /// (`lms_core::surveys`), with or without SMTP; default 300.
    pub reminder_every: std::time::Duration,
    /// `LMS_SECURE_COOKIES` (`true` behind TLS): cookies get the `Secure` flag; default `false`.
    pub secure_cookies: bool,
    /// Travel-time estimate: `LMS_TRAVEL_DETOUR` (default 1.3), `LMS_TRAVEL_SPEED_KMH` (60),
    /// `LMS_TRAVEL_FIXED_MIN` (2); see geodata.md §3.2.
    pub travel: TravelModel,
    /// `LMS_KEYS_DIR`: the folder of the certificate signing key (only its public key is read);
    /// default `data/keys`.
    pub keys_dir: PathBuf,
    /// `LMS_TRUSTED_PROXIES`: comma-separated addresses or CIDRs of reverse proxies whose
    /// `X-Forwarded-For` / `Forwarded` header names the real client (for the limiters and the
    /// login-session record); default none: the socket's address is the client.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// `LMS_HSTS_MAX_AGE` (seconds): sends `Strict-Transport-Security` when set above 0 (only
    /// behind TLS); default unset.
    pub hsts_max_age: Option<u64>,
    /// `LMS_HEADER_TIMEOUT_SECS`: a connection that has not sent a whole request head within this
    /// time (first request or next one on a kept-alive connection) is closed; default 10.
    pub header_timeout: std::time::Duration,
    /// `LMS_MAX_CONNECTIONS`: connections served at once; further ones wait in the listen queue
    /// until one closes; default 1024.
    pub max_connections: usize,
}

/// The server's command line: every setting has a flag and an environment variable (the usual
/// way to configure it), with its default. This is the one place that names them.
#[derive(Debug, Clone, clap::Parser)]
#[command(
    name = "lms-server",
    version,
    about = "Serveur de tierslieux-lms : API JSON /api/v1 et pages HTML.",
    long_about = None
)]
pub struct ServerArgs {
    /// Base de données : postgres://…, sqlite://CHEMIN, sqlite:CHEMIN ou un chemin de fichier.
    /// Par défaut data/lms.db (SQLite, créée au premier démarrage).
    #[arg(long, env = "DATABASE_URL", value_parser = parse_database_url)]
    pub database_url: Option<DatabaseUrl>,
    /// Adresse et port d'écoute.
    #[arg(long, env = "LMS_BIND", default_value = "127.0.0.1:8080")]
    pub bind: String,
    /// Adresse publique du site (liens des e-mails et des documents, QR codes), http:// ou
    /// https://. Par défaut http://127.0.0.1:8080 ; les QR codes d'émargement prennent alors
    /// l'hôte de la requête.
    #[arg(long, env = "LMS_PUBLIC_URL", value_parser = parse_public_url)]
    pub public_url: Option<String>,
    /// Données chargées dans une base vide : none, reference ou demo. Par défaut demo pour la
    /// base par défaut, reference sinon.
    #[arg(long, env = "LMS_STARTUP_DATA", value_parser = parse_startup_data)]
    pub startup_data: Option<StartupData>,
    /// Taille du pool de connexions (1 à 200). Par défaut 8 (SQLite) ou 16 (PostgreSQL).
    #[arg(long, env = "LMS_DB_POOL_SIZE", value_parser = clap::value_parser!(u32).range(1..=200))]
    pub db_pool_size: Option<u32>,
    /// Cookies marqués `Secure` (true derrière TLS).
    #[arg(long, env = "LMS_SECURE_COOKIES", default_value = "false", action = clap::ArgAction::Set, value_parser = parse_bool)]
    pub secure_cookies: bool,
    /// Serveur d'envoi des e-mails (smtp://[user:pass@]hôte[:port] ou smtps://…) ; sans lui, pas d'e-mail.
    #[arg(long, env = "LMS_SMTP_URL")]
    pub smtp_url: Option<String>,
    /// Expéditeur des e-mails.
    #[arg(long, env = "LMS_MAIL_FROM", default_value = "Tiers-lieux formation <no-reply@localhost>")]
    pub mail_from: String,
    /// Intervalle, en secondes, entre deux passages de l'envoi des e-mails en attente (1 à 3600).
    #[arg(long, env = "LMS_MAIL_POLL_SECS", default_value = "5", value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub mail_poll_secs: u64,
    /// Essais d'envoi d'un e-mail avant de le marquer en échec (1 à 100).
    #[arg(long, env = "LMS_MAIL_MAX_ATTEMPTS", default_value = "8", value_parser = clap::value_parser!(u32).range(1..=100))]
    pub mail_max_attempts: u32,
    /// Attente, en secondes, après un premier échec d'envoi, doublée à chaque essai suivant (au
    /// plus une heure) ; 1 à 3600.
    #[arg(long, env = "LMS_MAIL_RETRY_BASE_SECS", default_value = "60", value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub mail_retry_base_secs: u64,
    /// Intervalle, en secondes, entre deux recherches des rappels à envoyer (avant la formation,
    /// feuilles à contresigner) par le serveur qui envoie les e-mails, et entre deux ouvertures des
    /// questionnaires de satisfaction dus (par chaque serveur, avec ou sans SMTP) ; 10 à 86400.
    #[arg(long, env = "LMS_REMINDER_EVERY_SECS", default_value = "300", value_parser = clap::value_parser!(u64).range(10..=86400))]
    pub reminder_every_secs: u64,
    /// Temps de trajet : coefficient de détour (virgule décimale acceptée).
    #[arg(long, env = "LMS_TRAVEL_DETOUR", default_value = "1.3", value_parser = parse_decimal)]
    pub travel_detour: f64,
    /// Temps de trajet : vitesse moyenne en km/h.
    #[arg(long, env = "LMS_TRAVEL_SPEED_KMH", default_value = "60", value_parser = parse_decimal)]
    pub travel_speed_kmh: f64,
    /// Temps de trajet : minutes fixes ajoutées.
    #[arg(long, env = "LMS_TRAVEL_FIXED_MIN", default_value = "2", value_parser = parse_decimal)]
    pub travel_fixed_min: f64,
    /// Dossier de la clé de signature des certificats (le serveur n'en lit que la clé publique).
    #[arg(long, env = "LMS_KEYS_DIR", default_value = DEFAULT_KEYS_DIR)]
    pub keys_dir: PathBuf,
    /// Mandataires inverses dont les en-têtes X-Forwarded-For / Forwarded sont crus : adresses
    /// ou réseaux CIDR, séparés par des virgules ou des espaces. Par défaut aucun.
    #[arg(long, env = "LMS_TRUSTED_PROXIES", value_parser = parse_trusted_proxies_arg)]
    pub trusted_proxies: Option<TrustedProxies>,
    /// Durée HSTS en secondes (derrière TLS seulement) ; 0 ou absent : pas d'en-tête HSTS.
    #[arg(long, env = "LMS_HSTS_MAX_AGE", value_parser = clap::value_parser!(u64))]
    pub hsts_max_age: Option<u64>,
    /// Délai, en secondes, pour recevoir l'en-tête complet d'une requête (1 à 300).
    #[arg(long, env = "LMS_HEADER_TIMEOUT_SECS", default_value = "10", value_parser = clap::value_parser!(u64).range(1..=300))]
    pub header_timeout_secs: u64,
    /// Connexions servies à la fois (1 à 100000) ; les suivantes attendent.
    #[arg(long, env = "LMS_MAX_CONNECTIONS", default_value = "1024", value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub max_connections: u64,
    /// Filtre des journaux (syntaxe tracing-subscriber EnvFilter).
    #[arg(long, env = "LMS_LOG", default_value = "info,tower_http=info")]
    pub log: String,
    /// Format des journaux : text ou json.
    #[arg(long, env = "LMS_LOG_FORMAT", default_value = "text", value_parser = parse_log_format)]
    pub log_format: LogFormat,
}

/// The default public address (the default `LMS_BIND`).
pub const DEFAULT_PUBLIC_URL: &str = lms_core::certification::issuing::DEFAULT_PUBLIC_URL;
/// The default keys folder.
pub const DEFAULT_KEYS_DIR: &str = lms_core::certification::keys::DEFAULT_KEYS_DIR;

/// `LMS_TRUSTED_PROXIES` as one value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedProxies(pub Vec<ipnet::IpNet>);

fn parse_database_url(raw: &str) -> Result<DatabaseUrl, String> {
    DatabaseUrl::parse(raw).map_err(|e| e.to_string())
}

fn parse_public_url(raw: &str) -> Result<String, String> {
    let url = lms_core::certification::issuing::normalise_public_url(raw);
    if url.starts_with("http://") || url.starts_with("https://") {
        Ok(url)
    } else {
        Err(format!("« {raw} » : http:// ou https:// attendu"))
    }
}

fn parse_startup_data(raw: &str) -> Result<StartupData, String> {
    match raw.trim() {
        "none" => Ok(StartupData::None),
        "reference" => Ok(StartupData::Reference),
        "demo" => Ok(StartupData::Demo),
        other => Err(format!("« {other} » : none, reference ou demo attendu")),
    }
}

fn parse_bool(raw: &str) -> Result<bool, String> {
    match raw.trim() {
        "false" | "0" => Ok(false),
        "true" | "1" => Ok(true),
        other => Err(format!("« {other} » : true ou false attendu")),
    }
}

fn parse_decimal(raw: &str) -> Result<f64, String> {
    raw.trim().replace(',', ".").parse::<f64>().map_err(|_| format!("« {raw} » : nombre attendu"))
}

fn parse_log_format(raw: &str) -> Result<LogFormat, String> {
    match raw.trim() {
        "text" => Ok(LogFormat::Text),
        "json" => Ok(LogFormat::Json),
        other => Err(format!("« {other} » : text ou json attendu")),
    }
}

fn parse_trusted_proxies_arg(raw: &str) -> Result<TrustedProxies, String> {
    parse_trusted_proxies(raw).map(TrustedProxies)
}

impl Config {
    /// The configuration the parsed arguments describe (checks what depends on several of them).
    pub fn from_args(args: ServerArgs) -> Result<Self, String> {
        let default_database = args.database_url.is_none();
        let database = args.database_url.unwrap_or_else(DatabaseUrl::default_sqlite);
        let startup_data =
            args.startup_data.unwrap_or(if default_database { StartupData::Demo } else { StartupData::Reference });
        let travel = TravelModel::new(args.travel_detour, args.travel_speed_kmh, args.travel_fixed_min)
            .map_err(|e| format!("modèle de temps de trajet (LMS_TRAVEL_*) : {e}"))?;
        Ok(Config {
            database,
            default_database,
            bind: args.bind,
            log_filter: args.log,
            log_format: args.log_format,
            startup_data,
            pool_size: args.db_pool_size,
            public_url: args.public_url.unwrap_or_else(|| DEFAULT_PUBLIC_URL.into()),
            smtp_url: args.smtp_url,
            mail_from: args.mail_from,
            mail_poll: std::time::Duration::from_secs(args.mail_poll_secs),
            mail_max_attempts: i32::try_from(args.mail_max_attempts)
                .map_err(|e| format!("LMS_MAIL_MAX_ATTEMPTS : {e}"))?,
            mail_retry_base: std::time::Duration::from_secs(args.mail_retry_base_secs),
            reminder_every: std::time::Duration::from_secs(args.reminder_every_secs),
            secure_cookies: args.secure_cookies,
            travel,
            keys_dir: args.keys_dir,
            trusted_proxies: args.trusted_proxies.map(|p| p.0).unwrap_or_default(),
            hsts_max_age: args.hsts_max_age.filter(|seconds| *seconds > 0),
            header_timeout: std::time::Duration::from_secs(args.header_timeout_secs),
            max_connections: usize::try_from(args.max_connections).map_err(|e| format!("LMS_MAX_CONNECTIONS : {e}"))?,
        })
    }

    /// A configuration for tests: the given database, port 0, no startup data.
    pub fn for_tests(database: DatabaseUrl) -> Self {
        Config {
            database,
            default_database: false,
            bind: "127.0.0.1:0".into(),
            log_filter: "warn".into(),
            log_format: LogFormat::Text,
            startup_data: StartupData::None,
            pool_size: Some(4),
            secure_cookies: false,
            public_url: DEFAULT_PUBLIC_URL.into(),
            keys_dir: PathBuf::from(DEFAULT_KEYS_DIR),
            smtp_url: None,
            mail_from: "Tiers-lieux formation <no-reply@localhost>".into(),
            mail_poll: std::time::Duration::from_secs(5),
            mail_max_attempts: lms_core::mail::outbox::DEFAULT_MAX_ATTEMPTS,
            mail_retry_base: std::time::Duration::from_secs(60),
            reminder_every: std::time::Duration::from_secs(300),
            travel: TravelModel::default(),
            trusted_proxies: Vec::new(),
            hsts_max_age: None,
            header_timeout: std::time::Duration::from_secs(10),
            max_connections: 1024,
        }
    }
}

/// `LMS_TRUSTED_PROXIES`: addresses (`10.0.0.5`, `::1`) or networks (`10.0.0.0/8`), comma- or
/// space-separated.
fn parse_trusted_proxies(raw: &str) -> Result<Vec<ipnet::IpNet>, String> {
    raw.split([',', ' '])
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(|item| {
            item.parse::<ipnet::IpNet>().or_else(|_| item.parse::<std::net::IpAddr>().map(ipnet::IpNet::from)).map_err(
                |_| format!("LMS_TRUSTED_PROXIES invalide : « {item} » n'est ni une adresse ni un réseau CIDR"),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trusted_proxies_are_addresses_or_networks() {
        let Ok(parsed) = parse_trusted_proxies("10.0.0.0/8, 127.0.0.1 ::1") else { panic!("a valid list refused") };
        assert_eq!(parsed.len(), 3);
        assert!(parsed[0].contains(&std::net::IpAddr::from([10, 1, 2, 3])));
        assert_eq!(parsed[1].prefix_len(), 32);
        assert!(parse_trusted_proxies("10.0.0.0/33").is_err());
        assert!(parse_trusted_proxies("proxy.example").is_err());
    }

    fn parse(pairs: &[(&str, &str)]) -> Result<Config, String> {
        use clap::Parser as _;
        let mut argv = vec!["lms-server".to_owned()];
        for (flag, value) in pairs {
            argv.push(format!("--{flag}={value}"));
        }
        ServerArgs::try_parse_from(argv).map_err(|e| e.to_string()).and_then(Config::from_args)
    }

    #[test]
    fn defaults_are_the_documented_ones() {
        let Ok(config) = parse(&[]) else { panic!("defaults refused") };
        assert!(config.default_database);
        assert_eq!(config.startup_data, StartupData::Demo);
        assert_eq!(config.bind, "127.0.0.1:8080");
        assert_eq!(config.public_url, "http://127.0.0.1:8080");
        assert_eq!(config.travel, TravelModel::default());
        assert_eq!(config.keys_dir, PathBuf::from("data/keys"));
        assert_eq!(config.header_timeout, std::time::Duration::from_secs(10));
        assert_eq!(config.max_connections, 1024);
        assert_eq!(config.hsts_max_age, None);
        assert!(!config.secure_cookies);
        assert_eq!(config.log_format, LogFormat::Text);
    }

    #[test]
    fn the_travel_model_reads_its_three_variables() {
        let custom = parse(&[("travel-detour", "1,4"), ("travel-speed-kmh", "50")]).map(|c| c.travel);
        assert_eq!(custom, Ok(TravelModel { detour_factor: 1.4, speed_kmh: 50.0, fixed_minutes: 2.0 }));
        assert!(parse(&[("travel-speed-kmh", "vite")]).is_err());
        assert!(parse(&[("travel-detour", "0.2")]).is_err());
        assert!(parse(&[("travel-fixed-min", "NaN")]).is_err());
    }

    #[test]
    fn invalid_values_are_refused_with_the_option_named() {
        for (flag, value) in [
            ("db-pool-size", "0"),
            ("secure-cookies", "oui"),
            ("log-format", "xml"),
            ("startup-data", "all"),
            ("public-url", "formation.example.org"),
            ("header-timeout-secs", "0"),
            ("trusted-proxies", "proxy.example"),
        ] {
            let Err(message) = parse(&[(flag, value)]) else { panic!("{flag}={value} accepted") };
            assert!(message.contains(&format!("--{flag}")), "{message}");
        }
        let Ok(config) = parse(&[("hsts-max-age", "0"), ("public-url", "https://formation.example.org/")]) else {
            panic!("valid values refused")
        };
        assert_eq!(config.hsts_max_age, None);
        assert_eq!(config.public_url, "https://formation.example.org");
        assert!(
            parse(&[("database-url", "postgres://u@localhost/lms")])
                .is_ok_and(|c| !c.default_database && c.startup_data == StartupData::Reference)
        );
    }
}
