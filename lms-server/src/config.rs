//! Configuration from the environment, with documented defaults (see README).

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
    /// `LMS_MAIL_FROM`; default `Tiers-lieux formation <no-reply@localhost>`.
    pub mail_from: String,
    /// `LMS_SECURE_COOKIES` (`true` behind TLS): cookies get the `Secure` flag; default `false`.
    pub secure_cookies: bool,
    /// Travel-time estimate: `LMS_TRAVEL_DETOUR` (default 1.3), `LMS_TRAVEL_SPEED_KMH` (60),
    /// `LMS_TRAVEL_FIXED_MIN` (2); see geodata.md §3.2.
    pub travel: TravelModel,
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

impl Config {
    /// Reads the environment; an invalid value is an error, never silently replaced.
    pub fn from_env() -> Result<Self, String> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let (database, default_database) = match var("DATABASE_URL") {
            Some(raw) => (DatabaseUrl::parse(&raw).map_err(|e| e.to_string())?, false),
            None => (DatabaseUrl::default_sqlite(), true),
        };
        let log_format = match var("LMS_LOG_FORMAT").as_deref() {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => return Err(format!("LMS_LOG_FORMAT invalide « {other} » (text ou json)")),
        };
        let startup_data = match var("LMS_STARTUP_DATA").as_deref() {
            None if default_database => StartupData::Demo,
            None => StartupData::Reference,
            Some("none") => StartupData::None,
            Some("reference") => StartupData::Reference,
            Some("demo") => StartupData::Demo,
            Some(other) => return Err(format!("LMS_STARTUP_DATA invalide « {other} » (none, reference ou demo)")),
        };
        let pool_size = var("LMS_DB_POOL_SIZE")
            .map(|raw| {
                raw.parse::<u32>()
                    .ok()
                    .filter(|n| (1..=200).contains(n))
                    .ok_or(format!("LMS_DB_POOL_SIZE invalide « {raw} »"))
            })
            .transpose()?;
        let secure_cookies = match var("LMS_SECURE_COOKIES").as_deref() {
            None | Some("false") | Some("0") => false,
            Some("true") | Some("1") => true,
            Some(other) => return Err(format!("LMS_SECURE_COOKIES invalide « {other} » (true ou false)")),
        };
        let travel = travel_model_from(&var)?;
        let trusted_proxies = match var("LMS_TRUSTED_PROXIES") {
            Some(raw) => parse_trusted_proxies(&raw)?,
            None => Vec::new(),
        };
        let positive = |name: &str, default: u64, max: u64| -> Result<u64, String> {
            match var(name) {
                None => Ok(default),
                Some(raw) => raw
                    .trim()
                    .parse::<u64>()
                    .ok()
                    .filter(|n| (1..=max).contains(n))
                    .ok_or(format!("{name} invalide « {raw} » (un entier de 1 à {max})")),
            }
        };
        let hsts_max_age = match var("LMS_HSTS_MAX_AGE") {
            None => None,
            Some(raw) => match raw.trim().parse::<u64>() {
                Ok(0) => None,
                Ok(seconds) => Some(seconds),
                Err(_) => return Err(format!("LMS_HSTS_MAX_AGE invalide « {raw} » (secondes, 0 pour désactiver)")),
            },
        };
        let header_timeout = std::time::Duration::from_secs(positive("LMS_HEADER_TIMEOUT_SECS", 10, 300)?);
        let max_connections = usize::try_from(positive("LMS_MAX_CONNECTIONS", 1024, 100_000)?).unwrap_or(1024);
        let public_url = var("LMS_PUBLIC_URL").unwrap_or_else(|| "http://127.0.0.1:8080".into());
        if !(public_url.starts_with("http://") || public_url.starts_with("https://")) {
            return Err(format!("LMS_PUBLIC_URL invalide « {public_url} » (http:// ou https://)"));
        }
        Ok(Config {
            public_url,
            smtp_url: var("LMS_SMTP_URL"),
            mail_from: var("LMS_MAIL_FROM").unwrap_or_else(|| "Tiers-lieux formation <no-reply@localhost>".into()),
            secure_cookies,
            database,
            default_database,
            bind: var("LMS_BIND").unwrap_or_else(|| "127.0.0.1:8080".into()),
            log_filter: var("LMS_LOG").unwrap_or_else(|| "info,tower_http=info".into()),
            log_format,
            startup_data,
            pool_size,
            travel,
            trusted_proxies,
            hsts_max_age,
            header_timeout,
            max_connections,
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
            public_url: "http://127.0.0.1:8080".into(),
            smtp_url: None,
            mail_from: "Tiers-lieux formation <no-reply@localhost>".into(),
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

/// The travel model from `LMS_TRAVEL_*`, each constant defaulting on its own; a decimal comma is
/// accepted (`1,3`).
fn travel_model_from(var: &dyn Fn(&str) -> Option<String>) -> Result<TravelModel, String> {
    let defaults = TravelModel::default();
    let number = |name: &str, default: f64| -> Result<f64, String> {
        match var(name) {
            None => Ok(default),
            Some(raw) => raw.trim().replace(',', ".").parse::<f64>().map_err(|_| format!("{name} invalide « {raw} »")),
        }
    };
    TravelModel::new(
        number("LMS_TRAVEL_DETOUR", defaults.detour_factor)?,
        number("LMS_TRAVEL_SPEED_KMH", defaults.speed_kmh)?,
        number("LMS_TRAVEL_FIXED_MIN", defaults.fixed_minutes)?,
    )
    .map_err(|e| format!("modèle de temps de trajet (LMS_TRAVEL_*) : {e}"))
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

    #[test]
    fn the_travel_model_reads_its_three_variables() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned())
        };
        assert_eq!(travel_model_from(&env(&[])), Ok(TravelModel::default()));
        let custom = travel_model_from(&env(&[("LMS_TRAVEL_DETOUR", "1,4"), ("LMS_TRAVEL_SPEED_KMH", "50")]));
        assert_eq!(custom, Ok(TravelModel { detour_factor: 1.4, speed_kmh: 50.0, fixed_minutes: 2.0 }));
        assert!(travel_model_from(&env(&[("LMS_TRAVEL_SPEED_KMH", "vite")])).is_err());
        assert!(travel_model_from(&env(&[("LMS_TRAVEL_DETOUR", "0.2")])).is_err());
        assert!(travel_model_from(&env(&[("LMS_TRAVEL_FIXED_MIN", "NaN")])).is_err());
    }
}
