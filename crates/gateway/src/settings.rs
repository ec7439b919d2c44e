//! Configuration: the environment (API.md), optionally under a TOML file given with `--config`.
//! Every value is parsed once, here; a bad one names its variable and the process exits with 2.

use std::{collections::BTreeMap, net::SocketAddr, path::Path, sync::Arc, time::Duration};

use registry::{domain::Transport, sealing::Keyring};
use secrecy::SecretString;

pub mod onboarding;

pub use self::onboarding::{Onboarding, OnboardingSettings};

#[derive(Debug, thiserror::Error)]
#[error("{variable}: {message}")]
pub struct SettingsError {
    pub variable: &'static str,
    pub message: String,
}

impl SettingsError {
    fn new(variable: &'static str, message: impl Into<String>) -> Self {
        Self { variable, message: message.into() }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Pretty,
}

impl LogFormat {
    /// `json` or `pretty`, as `ACSGW_LOG_FORMAT` names them.
    pub fn from_name(name: &str) -> Option<Self> {
        match name.trim() {
            "json" => Some(Self::Json),
            "pretty" => Some(Self::Pretty),
            _ => None,
        }
    }
}

/// Everything `serve` needs.
#[derive(Debug, Clone)]
pub struct Settings {
    pub database: DatabaseSettings,
    pub listen: SocketAddr,
    pub keyring: Arc<Keyring>,
    pub entra_authority_host: url::Url,
    pub acs_api_version: String,
    pub allow_insecure_http: bool,
    pub log_format: LogFormat,
    pub migrate_on_start: bool,
    pub tenant_cache_ttl: Duration,
    /// How old a tenant record may be and still be served while Postgres cannot be reached.
    pub tenant_stale_if_error: Duration,
    /// The memory, in MiB, for what a replica keeps per tenant (records and their opened secrets);
    /// only tenants that exist take it.
    pub tenant_cache_mb: u64,
    /// The memory, in MiB, for exchange results (D) and users' rate buckets.
    pub exchange_cache_mb: u64,
    /// The memory, in MiB, for what is remembered of verified tokens (A1, B) and webhook answers.
    pub token_cache_mb: u64,
    /// How long a registry call may take on the exchange path, and for admin requests, before it
    /// counts as Postgres not answering.
    pub db_lookup_timeout: Duration,
    pub db_request_timeout: Duration,
    pub shutdown_timeout: Duration,
    /// The least time between two fetches of one Entra key set caused by unknown key ids.
    pub key_refresh_cooldown: Duration,
    /// How often this replica announces itself (the live count divides tenants' rate limits).
    pub heartbeat_interval: Duration,
    /// One try of a call to ACS; and all tries of one exchange together, backoff included.
    pub acs_attempt_timeout: Duration,
    pub acs_total_timeout: Duration,
    /// A separate listener for `/metrics` (then not served on the main one).
    pub metrics_listen: Option<SocketAddr>,
    /// How often per-minute statistics are written to Postgres.
    pub stats_flush_interval: Duration,
    /// Exchanges per minute reaching ACS for each Entra user (`tid`, `oid`) of a tenant.
    pub user_exchanges_per_minute: std::num::NonZeroU32,
    /// Exchanges slower than this are counted per tenant (`acsgw_exchange_slow_total`).
    pub slow_exchange: Duration,
    /// Invitations and the customer's onboarding pages: on when all their settings are given.
    pub onboarding: OnboardingSettings,
}

/// What commands that only touch the database need.
#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    pub url: SecretString,
    pub max_connections: u32,
}

/// Every variable, its TOML key, and its default.
const VARIABLES: &[(&str, &str, Option<&str>)] = &[
    ("DATABASE_URL", "database_url", None),
    ("ACSGW_DB_MAX_CONNECTIONS", "db_max_connections", Some("20")),
    ("ACSGW_DB_LOOKUP_TIMEOUT_MS", "db_lookup_timeout_ms", Some("500")),
    ("ACSGW_DB_REQUEST_TIMEOUT_MS", "db_request_timeout_ms", Some("1500")),
    ("ACSGW_LISTEN", "listen", Some("127.0.0.1:8080")),
    ("ACSGW_SECRET_KEYS", "secret_keys", None),
    ("ACSGW_ENTRA_AUTHORITY_HOST", "entra_authority_host", Some("https://login.microsoftonline.com")),
    ("ACSGW_ACS_API_VERSION", "acs_api_version", Some("2023-10-01")),
    ("ACSGW_ALLOW_INSECURE_HTTP", "allow_insecure_http", Some("false")),
    ("ACSGW_LOG_FORMAT", "log_format", Some("json")),
    ("ACSGW_MIGRATE_ON_START", "migrate_on_start", Some("false")),
    // Changes arrive by NOTIFY; the TTL is only the safety net.
    ("ACSGW_TENANT_CACHE_TTL_SECONDS", "tenant_cache_ttl_seconds", Some("3600")),
    // A managed failover or maintenance restart takes one to two minutes; five leave a wide margin.
    ("ACSGW_TENANT_STALE_IF_ERROR_SECONDS", "tenant_stale_if_error_seconds", Some("300")),
    // About 2.1 KiB a tenant: 100 000 tenants take some 210 MiB.
    ("ACSGW_TENANT_CACHE_MB", "tenant_cache_mb", Some("256")),
    ("ACSGW_EXCHANGE_CACHE_MB", "exchange_cache_mb", Some("32")),
    ("ACSGW_TOKEN_CACHE_MB", "token_cache_mb", Some("32")),
    // As long as one exchange may take upstream (ACSGW_ACS_TOTAL_TIMEOUT_MS); the statistics flush
    // after it is bounded by 5 s.
    ("ACSGW_SHUTDOWN_TIMEOUT_SECONDS", "shutdown_timeout_seconds", Some("10")),
    ("ACSGW_KEY_REFRESH_COOLDOWN_SECONDS", "key_refresh_cooldown_seconds", Some("300")),
    ("ACSGW_HEARTBEAT_SECONDS", "heartbeat_seconds", Some("5")),
    ("ACSGW_ACS_ATTEMPT_TIMEOUT_MS", "acs_attempt_timeout_ms", Some("5000")),
    ("ACSGW_ACS_TOTAL_TIMEOUT_MS", "acs_total_timeout_ms", Some("10000")),
    ("ACSGW_METRICS_LISTEN", "metrics_listen", None),
    ("ACSGW_STATS_FLUSH_SECONDS", "stats_flush_seconds", Some("10")),
    ("ACSGW_USER_EXCHANGES_PER_MINUTE", "user_exchanges_per_minute", Some("30")),
    // Defaults in LogSettings::defaults.
    ("ACSGW_LOG_QUEUE_LINES", "log_queue_lines", None),
    ("ACSGW_ACCESS_LOG_SAMPLE", "access_log_sample", None),
    ("ACSGW_SLOW_EXCHANGE_MS", "slow_exchange_ms", Some("1000")),
    // Onboarding: all four, or onboarding answers 503 `not_configured` (settings/onboarding.rs).
    ("ACSGW_PUBLIC_BASE_URL", "public_base_url", None),
    ("ACSGW_ONBOARDING_CLIENT_ID", "onboarding_client_id", None),
    ("ACSGW_ONBOARDING_CLIENT_SECRET", "onboarding_client_secret", None),
    ("ACSGW_VENDOR_NAME", "vendor_name", None),
];

/// Where values come from: the environment first, then the file, then the defaults.
pub struct Source {
    values: BTreeMap<&'static str, String>,
}

impl Source {
    /// Reads the process environment and, when given, a TOML file of `key = value` lines.
    pub fn load(file: Option<&Path>) -> Result<Self, SettingsError> {
        let file_values = match file {
            Some(path) => read_file(path)?,
            None => BTreeMap::new(),
        };
        Self::from_maps(|name| std::env::var(name).ok(), &file_values)
    }

    /// For tests: values from a closure instead of the environment.
    pub fn from_env_fn(env: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        Self::from_maps(env, &BTreeMap::new())
    }

    fn from_maps(
        env: impl Fn(&str) -> Option<String>,
        file: &BTreeMap<String, String>,
    ) -> Result<Self, SettingsError> {
        let mut values = BTreeMap::new();
        for (variable, key, default) in VARIABLES {
            let value = env(variable)
                .filter(|v| !v.is_empty())
                .or_else(|| file.get(*key).cloned())
                .or_else(|| default.map(str::to_owned));
            if let Some(value) = value {
                values.insert(*variable, value);
            }
        }
        Ok(Self { values })
    }

    /// The log format asked for, leniently: anything but `pretty` is JSON. [`Settings::from_source`]
    /// refuses an invalid value; this only picks how to log before settings are complete.
    pub fn log_format(&self) -> LogFormat {
        self.values.get("ACSGW_LOG_FORMAT").and_then(|v| LogFormat::from_name(v)).unwrap_or(LogFormat::Json)
    }

    fn required(&self, variable: &'static str) -> Result<&str, SettingsError> {
        self.values
            .get(variable)
            .map(String::as_str)
            .ok_or_else(|| SettingsError::new(variable, "is required"))
    }

    fn parsed<T: std::str::FromStr>(
        &self,
        variable: &'static str,
        expected: &str,
    ) -> Result<T, SettingsError> {
        let raw = self.required(variable)?;
        raw.trim().parse().map_err(|_| SettingsError::new(variable, format!("expected {expected}")))
    }

    fn optional<T: std::str::FromStr>(
        &self,
        variable: &'static str,
        expected: &str,
    ) -> Result<Option<T>, SettingsError> {
        match self.values.contains_key(variable) {
            true => self.parsed(variable, expected).map(Some),
            false => Ok(None),
        }
    }

    fn flag(&self, variable: &'static str) -> Result<bool, SettingsError> {
        match self.required(variable)?.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Ok(true),
            "false" | "0" | "no" | "off" => Ok(false),
            _ => Err(SettingsError::new(variable, "expected true or false")),
        }
    }
}

fn read_file(path: &Path) -> Result<BTreeMap<String, String>, SettingsError> {
    const FLAG: &str = "--config";
    let text = std::fs::read_to_string(path)
        .map_err(|e| SettingsError::new(FLAG, format!("cannot read {}: {e}", path.display())))?;
    let table: toml::Table = text
        .parse()
        .map_err(|e| SettingsError::new(FLAG, format!("{} is not valid TOML: {e}", path.display())))?;
    let mut values = BTreeMap::new();
    for (key, value) in table {
        if !VARIABLES.iter().any(|(_, k, _)| *k == key) {
            return Err(SettingsError::new(FLAG, format!("unknown setting {key:?} in {}", path.display())));
        }
        let value = match value {
            toml::Value::String(s) => s,
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            _ => return Err(SettingsError::new(FLAG, format!("{key} must be a string, integer or boolean"))),
        };
        values.insert(key, value);
    }
    Ok(values)
}

impl DatabaseSettings {
    pub fn from_source(source: &Source) -> Result<Self, SettingsError> {
        let url = source.required("DATABASE_URL")?;
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(SettingsError::new("DATABASE_URL", "expected a postgres:// URL"));
        }
        // The parser's message never includes the URL (and so never its password).
        url.parse::<sqlx::postgres::PgConnectOptions>()
            .map_err(|e| SettingsError::new("DATABASE_URL", format!("not a usable Postgres URL: {e}")))?;
        let max_connections: u32 = source.parsed("ACSGW_DB_MAX_CONNECTIONS", "a number of connections")?;
        if max_connections < 2 {
            return Err(SettingsError::new("ACSGW_DB_MAX_CONNECTIONS", "expected at least 2"));
        }
        Ok(Self { url: SecretString::from(url.to_owned()), max_connections })
    }
}

impl Settings {
    pub fn from_source(source: &Source) -> Result<Self, SettingsError> {
        let keyring = Keyring::parse(source.required("ACSGW_SECRET_KEYS")?)
            .map_err(|e| SettingsError::new("ACSGW_SECRET_KEYS", without_prefix(&e.to_string())))?;
        let host_var = "ACSGW_ENTRA_AUTHORITY_HOST";
        let entra_authority_host: url::Url = source.parsed(host_var, "an absolute URL")?;
        let allow_insecure_http = source.flag("ACSGW_ALLOW_INSECURE_HTTP")?;
        let transport = if allow_insecure_http { Transport::AllowInsecureHttp } else { Transport::HttpsOnly };
        registry::domain::ServiceUrl::parse(entra_authority_host.as_str(), transport)
            .map_err(|e| SettingsError::new(host_var, e.to_string()))?;
        let acs_api_version = source.required("ACSGW_ACS_API_VERSION")?.trim().to_owned();
        let version_ok = acs_api_version.len() >= 10
            && acs_api_version.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !version_ok {
            return Err(SettingsError::new("ACSGW_ACS_API_VERSION", "expected a version like 2023-10-01"));
        }
        let log_format = LogFormat::from_name(source.required("ACSGW_LOG_FORMAT")?)
            .ok_or_else(|| SettingsError::new("ACSGW_LOG_FORMAT", "expected json or pretty"))?;
        let seconds = |variable| -> Result<Duration, SettingsError> {
            let value: u64 = source.parsed(variable, "a number of seconds")?;
            Ok(Duration::from_secs(value))
        };
        let millis = |variable| -> Result<Duration, SettingsError> {
            let value: u64 = source.parsed(variable, "a number of milliseconds")?;
            if value == 0 {
                return Err(SettingsError::new(variable, "expected more than 0"));
            }
            Ok(Duration::from_millis(value))
        };
        let mebibytes = |variable| -> Result<u64, SettingsError> {
            let value: u64 = source.parsed(variable, "a number of MiB")?;
            if value == 0 {
                return Err(SettingsError::new(variable, "expected at least 1 MiB"));
            }
            Ok(value)
        };
        let user_exchanges_per_minute =
            source.parsed("ACSGW_USER_EXCHANGES_PER_MINUTE", "a positive integer")?;
        let onboarding = OnboardingSettings::from_source(source, &entra_authority_host, transport)?;
        Ok(Self {
            database: DatabaseSettings::from_source(source)?,
            listen: source.parsed("ACSGW_LISTEN", "host:port, e.g. 127.0.0.1:8080")?,
            keyring: Arc::new(keyring),
            entra_authority_host,
            acs_api_version,
            allow_insecure_http,
            log_format,
            migrate_on_start: source.flag("ACSGW_MIGRATE_ON_START")?,
            tenant_cache_ttl: seconds("ACSGW_TENANT_CACHE_TTL_SECONDS")?,
            tenant_stale_if_error: seconds("ACSGW_TENANT_STALE_IF_ERROR_SECONDS")?,
            tenant_cache_mb: mebibytes("ACSGW_TENANT_CACHE_MB")?,
            exchange_cache_mb: mebibytes("ACSGW_EXCHANGE_CACHE_MB")?,
            token_cache_mb: mebibytes("ACSGW_TOKEN_CACHE_MB")?,
            db_lookup_timeout: millis("ACSGW_DB_LOOKUP_TIMEOUT_MS")?,
            db_request_timeout: millis("ACSGW_DB_REQUEST_TIMEOUT_MS")?,
            shutdown_timeout: seconds("ACSGW_SHUTDOWN_TIMEOUT_SECONDS")?,
            key_refresh_cooldown: seconds("ACSGW_KEY_REFRESH_COOLDOWN_SECONDS")?,
            heartbeat_interval: seconds("ACSGW_HEARTBEAT_SECONDS")?.max(Duration::from_secs(1)),
            acs_attempt_timeout: millis("ACSGW_ACS_ATTEMPT_TIMEOUT_MS")?,
            acs_total_timeout: millis("ACSGW_ACS_TOTAL_TIMEOUT_MS")?,
            metrics_listen: match source.values.contains_key("ACSGW_METRICS_LISTEN") {
                true => Some(source.parsed("ACSGW_METRICS_LISTEN", "host:port, e.g. 0.0.0.0:9090")?),
                false => None,
            },
            stats_flush_interval: seconds("ACSGW_STATS_FLUSH_SECONDS")?.max(Duration::from_secs(1)),
            user_exchanges_per_minute,
            slow_exchange: millis("ACSGW_SLOW_EXCHANGE_MS")?,
            onboarding,
        })
    }

    pub fn transport(&self) -> Transport {
        if self.allow_insecure_http { Transport::AllowInsecureHttp } else { Transport::HttpsOnly }
    }

    /// How the three memory settings are shared among the caches.
    pub fn cache_budgets(&self) -> CacheBudgets {
        let (tenants, exchanges, tokens) = (
            registry::weight::mebibytes(self.tenant_cache_mb),
            registry::weight::mebibytes(self.exchange_cache_mb),
            registry::weight::mebibytes(self.token_cache_mb),
        );
        CacheBudgets {
            // Measured: a record takes about 1.3 KiB, its runtime about 0.8 KiB.
            tenant_records: tenants / 5 * 3,
            tenant_runtimes: tenants / 5 * 2,
            exchange_results: exchanges / 4 * 3,
            user_buckets: exchanges / 4,
            verified_a1s: (tokens / 2 / VERIFIED_A1_BYTES).max(1),
            verified_bs: tokens / 4,
            webhook_answers: tokens / 4,
        }
    }
}

/// What one verified A1 takes in the Entra validator's cache (the claims the per-request checks read,
/// as JSON, and moka's bookkeeping), measured: that cache is bounded by a count, derived from this.
const VERIFIED_A1_BYTES: u64 = 1_700;

/// The caches' shares of `ACSGW_TENANT_CACHE_MB`, `ACSGW_EXCHANGE_CACHE_MB` and
/// `ACSGW_TOKEN_CACHE_MB`, in bytes (and, for verified A1s, in entries).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheBudgets {
    pub tenant_records: u64,
    pub tenant_runtimes: u64,
    pub exchange_results: u64,
    pub user_buckets: u64,
    pub verified_a1s: u64,
    pub verified_bs: u64,
    pub webhook_answers: u64,
}

/// Keyring errors already name the variable; the prefix would say it twice.
fn without_prefix(message: &str) -> String {
    message.strip_prefix("ACSGW_SECRET_KEYS ").unwrap_or(message).to_owned()
}

/// How to log: read before anything else, since every command logs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LogSettings {
    pub format: LogFormat,
    /// Lines waiting for the log writer beyond which new lines are dropped (and counted).
    pub queue_lines: usize,
    /// The share of successful exchanges whose access line is written; refusals and errors always are.
    pub access_sample: f64,
}

impl LogSettings {
    /// The defaults, but for the format.
    pub fn defaults(format: LogFormat) -> Self {
        Self { format, queue_lines: 16_384, access_sample: 1.0 }
    }

    /// The format leniently, as [`Source::log_format`] reads it; the others strictly.
    pub fn from_source(source: &Source) -> Result<Self, SettingsError> {
        let defaults = Self::defaults(source.log_format());
        let (lines, sample) = ("ACSGW_LOG_QUEUE_LINES", "ACSGW_ACCESS_LOG_SAMPLE");
        let queue_lines =
            source.optional(lines, "a positive number of lines")?.unwrap_or(defaults.queue_lines);
        if queue_lines == 0 {
            return Err(SettingsError::new(lines, "expected a positive number of lines"));
        }
        let fraction = "a fraction from 0 to 1, e.g. 0.1";
        let access_sample = source.optional(sample, fraction)?.unwrap_or(defaults.access_sample);
        if !(0.0..=1.0).contains(&access_sample) {
            return Err(SettingsError::new(sample, format!("expected {fraction}")));
        }
        Ok(Self { queue_lines, access_sample, ..defaults })
    }
}

/// The log format alone, read before anything else so that errors are logged in the right shape.
pub fn log_format_from_env() -> LogFormat {
    std::env::var("ACSGW_LOG_FORMAT")
        .ok()
        .as_deref()
        .and_then(LogFormat::from_name)
        .unwrap_or(LogFormat::Json)
}

#[cfg(test)]
mod tests;
