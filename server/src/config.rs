//! Configuration from the environment (12-factor), with defaults that run on a fresh machine.
//!
//! Every variable the server reads is read here, by [`Config::from_lookup`], and nowhere else; an
//! invalid value stops startup with a message that names the variable and what it accepts.
//! Defaults that other layers own are taken from them (the pool from `mosaic_db::PoolSettings` and
//! `Engine`, session lifetimes from `SessionPolicy`), so each is written once.
//!
//! | Variable | Default |
//! |---|---|
//! | `DATABASE_URL` | `sqlite:$MOSAIC_DATA_DIR/mosaic.db` |
//! | `MOSAIC_DATA_DIR` | `./data` |
//! | `DB_POOL_MAX`, `DB_IDLE_TIMEOUT`, `DB_CONNECT_TIMEOUT` | 8 (SQLite) or 20 (PostgreSQL), 30 s, 5 s |
//! | `LEPTOS_SITE_ADDR` | `127.0.0.1:3000` |
//! | `LEPTOS_SITE_ROOT`, `LEPTOS_SITE_PKG_DIR`, `LEPTOS_OUTPUT_NAME` | `target/site`, `pkg`, `mosaic` |
//! | `LEPTOS_HASH_FILES` | whether the build left `hash.txt` beside the binary |
//! | `LEPTOS_ENV`, `LEPTOS_RELOAD_PORT` | `DEV`, `3001` (set by `cargo leptos watch`) |
//! | `MOSAIC_ALLOW_SIGNUP` | `true` |
//! | `MOSAIC_PUBLIC_URL` | unset |
//! | `MOSAIC_ALLOWED_HOSTS` | none (comma-separated host names served besides IP literals, localhost and the public URL's host) |
//! | `MOSAIC_COOKIE_SECURE` | `true` when `MOSAIC_PUBLIC_URL` is https |
//! | `MOSAIC_SESSION_IDLE_HOURS`, `MOSAIC_SESSION_MAX_DAYS` | 168, 30 |
//! | `MOSAIC_PROVIDERS`, `MOSAIC_PROVIDER_<NAME>_URL` / `_KEY` / `_MODEL` / `_MAX_CONCURRENT` / `_MODELS` | none; -, -, -, 4, what the provider lists |
//! | `MOSAIC_PROVIDER_CONNECT_TIMEOUT`, `MOSAIC_PROVIDER_STALL_TIMEOUT` | 10 s, 60 s |
//! | `MOSAIC_CHAT_HISTORY_CHARS` | 24000 |
//! | `MOSAIC_REPLY_MAX_CHARS`, `MOSAIC_REPLY_MAX_TOKENS`, `MOSAIC_REPLY_MAX_SECS` | 64000 (at most 262144), 4096, 600 |
//! | `MOSAIC_DEMO_PROVIDER`, `MOSAIC_DEMO_MAX_CONCURRENT` | `false`, 16 |
//! | `MOSAIC_BUS_URL` | unset: instances talk over PostgreSQL `LISTEN/NOTIFY` (`redis://…`: Redis or Valkey pub/sub) |
//! | `MOSAIC_METRICS_TOKEN` | unset: `GET /metrics` is not served (at least 16 characters) |
//! | `MOSAIC_LEASE_SECS` | 10 (PostgreSQL: a dead instance's replies are settled within about 1⅓ of it) |
//! | `SESSION_GC_CRON`, `TIER_MANAGEMENT_CRON`, `SUMMARIZATION_CRON` | `0 4 * * *`, `0 3 * * *`, `0 */6 * * *` (UTC; `off` turns one off) |
//! | `MOSAIC_COLD_START_COLLECT` | `true` |
//! | `MOSAIC_LOG_HOT_HOURS`, `MOSAIC_LOG_WARM_DAYS`, `MOSAIC_LOG_COLD_DAYS` | 24, 30, 90 |
//! | `MOSAIC_JOB_RUNS_KEEP_DAYS` | 30 |
//! | `MOSAIC_JOB_ATTEMPTS`, `MOSAIC_JOB_BACKOFF_MS` | 3, 30000 |
//! | `MOSAIC_JOB_BATCH_ROWS`, `MOSAIC_JOB_BATCH_PAUSE_MS`, `MOSAIC_JOB_DUTY_PERCENT` | 500, 5, 25 |
//! | `SUMMARIZATION_MODEL` | none (extractive summaries); `provider/model` of a configured provider |
//! | `MOSAIC_SHUTDOWN_SECS` | 10 |
//! | `MOSAIC_OIDC_PROVIDERS`, `MOSAIC_OIDC_<ID>_ISSUER` / `_CLIENT_ID` / `_CLIENT_SECRET` / `_NAME` / `_LINK_EXISTING` | none; -, -, -, the id capitalised, `false` |
//! | `MOSAIC_OIDC_TIMEOUT_SECS` | 10 |
//! | `MOSAIC_ADMIN_EMAIL` | none (comma-separated emails made admin at their first provider sign-in) |
//! | `RUST_LOG` | `info,sqlx=warn,leptos=warn` |
//!
//! (Leptos itself also looks at `LEPTOS_WATCH`, which `cargo leptos watch` sets, to add its
//! live-reload script.)

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

mod oidc;

use leptos::config::{Env, LeptosOptions};
use mosaic_chat::provider::ProviderConfig;
use mosaic_db::sessions::SessionPolicy;
use mosaic_db::{Engine, PoolSettings};

use crate::jobs::{JobSettings, LogAges, Schedule, DEFAULT_SUMMARISE_CRON, DEFAULT_SWEEP_CRON, DEFAULT_TIERS_CRON};
use crate::oidc::OidcSettings;

/// A variable with a value the server cannot use.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{var}: {problem}")]
pub struct ConfigError {
    pub var: String,
    pub problem: String,
}

impl ConfigError {
    fn new(var: impl Into<String>, problem: impl Into<String>) -> ConfigError {
        ConfigError { var: var.into(), problem: problem.into() }
    }
}

/// The server's settings.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// Where the database is and how big its pool is.
    pub pool: PoolSettings,
    /// Where the SQLite file and uploads live (MOSAIC_DATA_DIR).
    pub data_dir: PathBuf,
    /// The address to listen on (LEPTOS_SITE_ADDR).
    pub site_addr: SocketAddr,
    /// Where the built site is and what its files are called (LEPTOS_*).
    pub site: SiteConfig,
    /// Whether anyone may sign up (MOSAIC_ALLOW_SIGNUP); the first account is always allowed.
    pub allow_signup: bool,
    /// Whether cookies are marked Secure (MOSAIC_COOKIE_SECURE); default: on when MOSAIC_PUBLIC_URL is https.
    pub secure_cookies: bool,
    /// The public origin behind a proxy (MOSAIC_PUBLIC_URL), accepted by the Origin check.
    pub public_origin: Option<String>,
    /// Host names the server answers to besides IP literals and localhost: the public URL's host
    /// and MOSAIC_ALLOWED_HOSTS, lower-cased.
    /// MOSAIC_METRICS_TOKEN: the bearer token `GET /metrics` asks for (at least 16 characters);
    /// unset, the metrics are not served.
    pub metrics_token: Option<String>,
    pub allowed_hosts: Vec<String>,
    /// Reverse proxies whose forwarding headers name the client (MOSAIC_TRUSTED_PROXIES, CIDRs).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Accounts one client may create per hour (MOSAIC_SIGN_UPS_PER_HOUR).
    pub sign_ups_per_hour: i64,
    /// Session lifetimes (MOSAIC_SESSION_IDLE_HOURS, MOSAIC_SESSION_MAX_DAYS).
    pub session_policy: SessionPolicy,
    /// Model providers and chat limits.
    pub chat: ChatConfig,
    /// Background jobs: schedules, ages, retries, batches.
    pub jobs: JobSettings,
    /// SUMMARIZATION_MODEL as (provider, model): one of the configured providers.
    pub summarization_model: Option<(String, String)>,
    /// MOSAIC_CLIENT_TIMEOUT_SECS: how long a client may take to send its request headers, or pause
    /// while sending a body, before the connection is closed (slow clients cannot hold it).
    pub client_timeout: Duration,
    /// MOSAIC_SOCKETS_PER_USER: WebSockets one user may hold open at once.
    pub sockets_per_user: usize,
    /// MOSAIC_SHUTDOWN_SECS: how long shutdown waits for replies and jobs before exiting anyway.
    pub shutdown_timeout: Duration,
    /// The log filter (RUST_LOG), in `tracing_subscriber`'s EnvFilter syntax.
    pub log_filter: String,
    /// Sign-in through OpenID Connect providers, and who becomes admin through them.
    pub oidc: OidcSettings,
}

/// The built site: where it is and what its files are called.
#[derive(Clone, Debug, PartialEq)]
pub struct SiteConfig {
    /// LEPTOS_SITE_ROOT: the folder the build wrote (`pkg/`, `img/`, static files).
    pub root: PathBuf,
    /// LEPTOS_SITE_PKG_DIR: the folder under the root with the CSS, JS and wasm.
    pub pkg_dir: String,
    /// LEPTOS_OUTPUT_NAME: the name of the CSS, JS and wasm files.
    pub output_name: String,
    /// LEPTOS_HASH_FILES: whether those names carry content hashes; `None` means "if the build left
    /// `hash.txt` beside the binary".
    pub hash_files: Option<bool>,
    /// LEPTOS_ENV: PROD, or DEV (the default, as in Leptos).
    pub production: bool,
    /// LEPTOS_RELOAD_PORT: the live-reload port of `cargo leptos watch`.
    pub reload_port: u32,
}

impl SiteConfig {
    /// Leptos's options for this site, listening on `addr`.
    pub fn leptos_options(&self, addr: SocketAddr) -> LeptosOptions {
        let hash_files = self.hash_files.unwrap_or_else(|| {
            let exe = std::env::current_exe().ok();
            exe.as_deref().and_then(Path::parent).is_some_and(|dir| dir.join("hash.txt").exists())
        });
        LeptosOptions::builder()
            .output_name(Arc::<str>::from(self.output_name.as_str()))
            .site_root(Arc::<str>::from(self.root.to_string_lossy().as_ref()))
            .site_pkg_dir(Arc::<str>::from(self.pkg_dir.as_str()))
            .env(if self.production { Env::PROD } else { Env::DEV })
            .site_addr(addr)
            .reload_port(self.reload_port)
            .hash_files(hash_files)
            .build()
    }
}

/// Model providers and chat limits.
#[derive(Clone, Debug, PartialEq)]
pub struct ChatConfig {
    /// MOSAIC_PROVIDERS=name,… with MOSAIC_PROVIDER_<NAME>_URL / _KEY / _MODEL / _MAX_CONCURRENT.
    pub providers: Vec<ProviderConfig>,
    /// MOSAIC_PROVIDER_CONNECT_TIMEOUT, seconds (10).
    pub connect_timeout: Duration,
    /// MOSAIC_PROVIDER_STALL_TIMEOUT, seconds without a byte from the provider before giving up (60).
    pub stall_timeout: Duration,
    /// MOSAIC_CHAT_HISTORY_CHARS: characters of history sent with each request, newest kept (24000).
    pub history_chars: usize,
    /// MOSAIC_REPLIES_PER_USER: replies one user may have written at once (3).
    pub replies_per_user: usize,
    /// MOSAIC_REPLY_MAX_CHARS: a reply is cut here and saved complete with reason "length" (64000;
    /// at most 262144, so any reply fits the store's 1 MiB limit).
    pub reply_max_chars: usize,
    /// MOSAIC_REPLY_MAX_TOKENS: sent to providers as `max_tokens` (4096).
    pub reply_max_tokens: u32,
    /// MOSAIC_REPLY_MAX_SECS: the longest a reply may take before it is stopped (600).
    pub reply_max_time: Duration,
    /// MOSAIC_DEMO_PROVIDER: start the built-in stand-in model as provider "demo".
    pub demo: bool,
    /// MOSAIC_DEMO_MAX_CONCURRENT: requests at once to the stand-in model (16; the cluster
    /// benchmark runs 100 replies at once).
    pub demo_max_concurrent: usize,
    /// MOSAIC_LEASE_SECS: how long an instance's lease on its replies lasts (10): with several
    /// instances, a reply whose instance died is settled as interrupted within about 1⅓ of it.
    pub lease: Duration,
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `get`, so tests can supply their own environment.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let get = |name: &str| get(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        let data_dir = PathBuf::from(get("MOSAIC_DATA_DIR").unwrap_or_else(|| "./data".into()));
        let url = get("DATABASE_URL").unwrap_or_else(|| format!("sqlite:{}", data_dir.join("mosaic.db").display()));
        let Some(engine) = Engine::of_url(&url) else {
            return Err(ConfigError::new(
                "DATABASE_URL",
                "must be a sqlite: URL (sqlite:./data/mosaic.db) or a postgres:// URL",
            ));
        };
        let defaults = PoolSettings::new(&url);
        let pool = PoolSettings {
            max_connections: number(&get, "DB_POOL_MAX", engine.default_pool_size(), 1, 1000)?,
            idle_timeout: seconds(&get, "DB_IDLE_TIMEOUT", defaults.idle_timeout, 86_400)?,
            connect_timeout: seconds(&get, "DB_CONNECT_TIMEOUT", defaults.connect_timeout, 600)?,
            sqlite_full_sync: match get("MOSAIC_SQLITE_SYNCHRONOUS").map(|v| v.to_lowercase()).as_deref() {
                None | Some("normal") => false,
                Some("full") => true,
                Some(v) => {
                    return Err(ConfigError::new("MOSAIC_SQLITE_SYNCHRONOUS", format!("{v:?} is not normal or full")))
                }
            },
            bus_url: match get("MOSAIC_BUS_URL") {
                None => None,
                Some(_) if engine == Engine::Sqlite => {
                    return Err(ConfigError::new(
                        "MOSAIC_BUS_URL",
                        "is for several instances on PostgreSQL; a SQLite database serves one instance",
                    ))
                }
                Some(v) if v.starts_with("redis://") || v.starts_with("rediss://") || v.starts_with("valkey://") => {
                    Some(v.replacen("valkey://", "redis://", 1))
                }
                Some(v) => return Err(ConfigError::new("MOSAIC_BUS_URL", format!("{v:?} is not a redis:// URL"))),
            },
            url,
        };
        let site_addr = match get("LEPTOS_SITE_ADDR") {
            Some(v) => v.parse().map_err(|_| {
                ConfigError::new("LEPTOS_SITE_ADDR", format!("{v:?} is not an address like 127.0.0.1:3000"))
            })?,
            None => SocketAddr::from(([127, 0, 0, 1], 3000)),
        };
        let public_origin = match get("MOSAIC_PUBLIC_URL") {
            Some(v) if v.starts_with("http://") || v.starts_with("https://") => {
                Some(v.trim_end_matches('/').to_string())
            }
            Some(_) => return Err(ConfigError::new("MOSAIC_PUBLIC_URL", "must start with http:// or https://")),
            None => None,
        };
        let https = public_origin.as_deref().is_some_and(|o| o.starts_with("https://"));
        let public_origin_for_oidc = public_origin.clone();
        let mut allowed_hosts: Vec<String> = get("MOSAIC_ALLOWED_HOSTS")
            .map(|v| {
                v.split(',').map(|h| h.trim().trim_end_matches('.').to_lowercase()).filter(|h| !h.is_empty()).collect()
            })
            .unwrap_or_default();
        if let Some(host) = public_origin.as_deref().and_then(|o| o.split_once("://")).map(|(_, rest)| rest) {
            let host = host.split('/').next().unwrap_or(host);
            let name = host.rsplit_once(':').map_or(host, |(name, _)| name);
            allowed_hosts.push(name.trim_start_matches('[').trim_end_matches(']').to_lowercase());
        }
        let chat = ChatConfig {
            providers: providers(&get)?,
            connect_timeout: seconds(&get, "MOSAIC_PROVIDER_CONNECT_TIMEOUT", Duration::from_secs(10), 600)?,
            stall_timeout: seconds(&get, "MOSAIC_PROVIDER_STALL_TIMEOUT", Duration::from_secs(60), 3600)?,
            history_chars: number(&get, "MOSAIC_CHAT_HISTORY_CHARS", 24_000, 100, 2_000_000)? as usize,
            replies_per_user: number(&get, "MOSAIC_REPLIES_PER_USER", 3, 1, 1000)? as usize,
            reply_max_chars: number(&get, "MOSAIC_REPLY_MAX_CHARS", 64_000, 1, MAX_REPLY_CHARS)? as usize,
            reply_max_tokens: number(&get, "MOSAIC_REPLY_MAX_TOKENS", 4096, 1, 10_000_000)?,
            reply_max_time: seconds(&get, "MOSAIC_REPLY_MAX_SECS", Duration::from_secs(600), 86_400)?,
            demo: boolean(&get, "MOSAIC_DEMO_PROVIDER", false)?,
            demo_max_concurrent: number(&get, "MOSAIC_DEMO_MAX_CONCURRENT", 16, 1, 10_000)? as usize,
            lease: seconds(&get, "MOSAIC_LEASE_SECS", Duration::from_secs(10), 3600)?,
        };
        let summarization_model = summarization_model(&get, &chat)?;
        let idle_hours = number(&get, "MOSAIC_SESSION_IDLE_HOURS", SessionPolicy::DEFAULT_IDLE_HOURS, 1, 24 * 365)?;
        let max_days = number(&get, "MOSAIC_SESSION_MAX_DAYS", SessionPolicy::DEFAULT_MAX_DAYS, 1, 365)?;
        Ok(Config {
            pool,
            data_dir,
            site_addr,
            site: site(&get)?,
            allow_signup: boolean(&get, "MOSAIC_ALLOW_SIGNUP", true)?,
            secure_cookies: boolean(&get, "MOSAIC_COOKIE_SECURE", https)?,
            public_origin,
            allowed_hosts,
            metrics_token: match get("MOSAIC_METRICS_TOKEN") {
                Some(t) if t.chars().count() < 16 || t.chars().any(char::is_whitespace) => {
                    return Err(ConfigError::new(
                        "MOSAIC_METRICS_TOKEN",
                        "must be at least 16 characters without spaces (the metrics reveal load)",
                    ))
                }
                t => t,
            },
            trusted_proxies: trusted_proxies(&get)?,
            sign_ups_per_hour: i64::from(number(&get, "MOSAIC_SIGN_UPS_PER_HOUR", 10, 1, 1_000_000)?),
            session_policy: SessionPolicy::new(idle_hours, max_days),
            chat,
            jobs: jobs(&get)?,
            summarization_model,
            sockets_per_user: number(&get, "MOSAIC_SOCKETS_PER_USER", 16, 1, 100_000)? as usize,
            client_timeout: seconds(&get, "MOSAIC_CLIENT_TIMEOUT_SECS", Duration::from_secs(20), 600)?,
            shutdown_timeout: seconds(&get, "MOSAIC_SHUTDOWN_SECS", Duration::from_secs(10), 600)?,
            log_filter: get("RUST_LOG").unwrap_or_else(|| "info,sqlx=warn,leptos=warn".into()),
            oidc: oidc::settings(&get, public_origin_for_oidc.as_deref())?,
        })
    }
}

/// MOSAIC_TRUSTED_PROXIES: comma-separated networks (`10.0.0.0/8`) or addresses (`127.0.0.1`).
fn trusted_proxies(get: &impl Fn(&str) -> Option<String>) -> Result<Vec<ipnet::IpNet>, ConfigError> {
    let Some(list) = get("MOSAIC_TRUSTED_PROXIES") else { return Ok(Vec::new()) };
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<ipnet::IpNet>().or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from)).map_err(|_| {
                ConfigError::new(
                    "MOSAIC_TRUSTED_PROXIES",
                    format!("{s:?} is not an address or a network like 10.0.0.0/8"),
                )
            })
        })
        .collect()
}

/// The LEPTOS_* variables that say where the built site is.
fn site(get: &impl Fn(&str) -> Option<String>) -> Result<SiteConfig, ConfigError> {
    let production = match get("LEPTOS_ENV").map(|v| v.to_lowercase()).as_deref() {
        None | Some("dev" | "development") => false,
        Some("prod" | "production") => true,
        Some(v) => return Err(ConfigError::new("LEPTOS_ENV", format!("{v:?} is not PROD or DEV"))),
    };
    let hash_files = match get("LEPTOS_HASH_FILES") {
        None => None,
        Some(_) => Some(boolean(get, "LEPTOS_HASH_FILES", false)?),
    };
    Ok(SiteConfig {
        root: PathBuf::from(get("LEPTOS_SITE_ROOT").unwrap_or_else(|| "target/site".into())),
        pkg_dir: get("LEPTOS_SITE_PKG_DIR").unwrap_or_else(|| "pkg".into()),
        output_name: get("LEPTOS_OUTPUT_NAME").unwrap_or_else(|| "mosaic".into()),
        hash_files,
        production,
        reload_port: number(get, "LEPTOS_RELOAD_PORT", 3001, 1, 65_535)?,
    })
}

/// The background jobs' schedules, ages, retries and batches.
fn jobs(get: &impl Fn(&str) -> Option<String>) -> Result<JobSettings, ConfigError> {
    let schedule = |var: &str, default: &str| -> Result<Option<Schedule>, ConfigError> {
        match get(var).unwrap_or_else(|| default.to_string()).as_str() {
            "off" | "OFF" | "false" | "none" => Ok(None),
            text => Schedule::parse(text)
                .map(Some)
                .map_err(|e| ConfigError::new(var, format!("{e} (write 5 fields, like \"{default}\", or off)"))),
        }
    };
    const HOUR: i64 = 3600 * mosaic_db::clock::SECOND;
    const DAY: i64 = 24 * HOUR;
    let defaults = JobSettings::default();
    // Each default in whole units of the variable that sets it.
    let unit = |micros: i64, unit: i64| u32::try_from(micros / unit).unwrap_or(u32::MAX);
    let hours =
        |var: &str, default: i64| number(get, var, unit(default, HOUR), 1, 24 * 365).map(|n| i64::from(n) * HOUR);
    let days = |var: &str, default: i64| number(get, var, unit(default, DAY), 1, 3650).map(|n| i64::from(n) * DAY);
    let ages = LogAges {
        hot: hours("MOSAIC_LOG_HOT_HOURS", defaults.ages.hot)?,
        warm: days("MOSAIC_LOG_WARM_DAYS", defaults.ages.warm)?,
        cold: days("MOSAIC_LOG_COLD_DAYS", defaults.ages.cold)?,
    };
    if ages.cold <= ages.warm {
        return Err(ConfigError::new("MOSAIC_LOG_COLD_DAYS", "must be more than MOSAIC_LOG_WARM_DAYS"));
    }
    let millis = |d: Duration| u32::try_from(d.as_millis()).unwrap_or(u32::MAX);
    Ok(JobSettings {
        sweep: schedule("SESSION_GC_CRON", DEFAULT_SWEEP_CRON)?,
        tiers: schedule("TIER_MANAGEMENT_CRON", DEFAULT_TIERS_CRON)?,
        summarise: schedule("SUMMARIZATION_CRON", DEFAULT_SUMMARISE_CRON)?,
        cold_start: boolean(get, "MOSAIC_COLD_START_COLLECT", defaults.cold_start)?,
        ages,
        keep_runs: days("MOSAIC_JOB_RUNS_KEEP_DAYS", defaults.keep_runs)?,
        attempts: number(get, "MOSAIC_JOB_ATTEMPTS", defaults.attempts, 1, 20)?,
        backoff: Duration::from_millis(
            number(get, "MOSAIC_JOB_BACKOFF_MS", millis(defaults.backoff), 1, 3_600_000)?.into(),
        ),
        batch_rows: number(get, "MOSAIC_JOB_BATCH_ROWS", defaults.batch_rows, 1, 100_000)?,
        pace: mosaic_db::gc::Pace {
            min_pause: Duration::from_millis(
                number(get, "MOSAIC_JOB_BATCH_PAUSE_MS", millis(defaults.pace.min_pause), 0, 60_000)?.into(),
            ),
            duty_percent: number(get, "MOSAIC_JOB_DUTY_PERCENT", defaults.pace.duty_percent, 1, 100)?,
        },
        file_grace: defaults.file_grace,
    })
}

/// SUMMARIZATION_MODEL: `provider/model`, the provider one of those configured.
fn summarization_model(
    get: &impl Fn(&str) -> Option<String>,
    chat: &ChatConfig,
) -> Result<Option<(String, String)>, ConfigError> {
    let Some(text) = get("SUMMARIZATION_MODEL") else { return Ok(None) };
    let Some((provider, model)) = text.split_once('/').filter(|(p, m)| !p.is_empty() && !m.is_empty()) else {
        return Err(ConfigError::new("SUMMARIZATION_MODEL", format!("{text:?} is not provider/model")));
    };
    let known = chat.providers.iter().any(|p| p.name == provider) || (chat.demo && provider == "demo");
    if !known {
        return Err(ConfigError::new(
            "SUMMARIZATION_MODEL",
            format!("{provider:?} is not a configured provider (MOSAIC_PROVIDERS, or demo with MOSAIC_DEMO_PROVIDER)"),
        ));
    }
    Ok(Some((provider.to_string(), model.to_string())))
}

/// The providers named by MOSAIC_PROVIDERS, each from its MOSAIC_PROVIDER_<NAME>_* variables.
fn providers(get: &impl Fn(&str) -> Option<String>) -> Result<Vec<ProviderConfig>, ConfigError> {
    let Some(names) = get("MOSAIC_PROVIDERS") else { return Ok(Vec::new()) };
    let mut out: Vec<ProviderConfig> = Vec::new();
    for name in names.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        if !name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            || out.iter().any(|p| p.name == name)
        {
            return Err(ConfigError::new(
                "MOSAIC_PROVIDERS",
                format!("{name:?}: names are distinct, of lower-case letters, digits and '-'"),
            ));
        }
        let prefix = format!("MOSAIC_PROVIDER_{}", name.to_uppercase().replace('-', "_"));
        let url_var = format!("{prefix}_URL");
        let base_url = get(&url_var).ok_or_else(|| {
            ConfigError::new(&url_var, "is required for each provider: the API base, like https://api.openai.com/v1")
        })?;
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            return Err(ConfigError::new(&url_var, "must start with http:// or https://"));
        }
        out.push(ProviderConfig {
            name: name.to_string(),
            base_url,
            api_key: get(&format!("{prefix}_KEY")),
            default_model: get(&format!("{prefix}_MODEL")),
            max_concurrent: number(get, &format!("{prefix}_MAX_CONCURRENT"), 4, 1, 1000)? as usize,
            allowed_models: get(&format!("{prefix}_MODELS"))
                .map(|list| list.split(',').map(str::trim).filter(|m| !m.is_empty()).map(str::to_string).collect()),
        });
    }
    Ok(out)
}

/// The longest reply limit allowed: a character is at most 4 bytes, so any reply fits the store's
/// limit ([`mosaic_db::messages::MAX_REPLY_BYTES`]).
const MAX_REPLY_CHARS: u32 = (mosaic_db::messages::MAX_REPLY_BYTES / 4) as u32;

fn number(
    get: &impl Fn(&str) -> Option<String>,
    var: &str,
    default: u32,
    min: u32,
    max: u32,
) -> Result<u32, ConfigError> {
    match get(var) {
        None => Ok(default),
        Some(v) => v
            .parse::<u32>()
            .ok()
            .filter(|n| (min..=max).contains(n))
            .ok_or_else(|| ConfigError::new(var, format!("{v:?} is not a whole number from {min} to {max}"))),
    }
}

/// A whole number of seconds from 1 to `max`.
fn seconds(
    get: &impl Fn(&str) -> Option<String>,
    var: &str,
    default: Duration,
    max: u32,
) -> Result<Duration, ConfigError> {
    let default = u32::try_from(default.as_secs()).unwrap_or(max);
    Ok(Duration::from_secs(number(get, var, default, 1, max)?.into()))
}

fn boolean(get: &impl Fn(&str) -> Option<String>, var: &str, default: bool) -> Result<bool, ConfigError> {
    match get(var).map(|v| v.to_lowercase()).as_deref() {
        None => Ok(default),
        Some("1" | "true" | "yes" | "on") => Ok(true),
        Some("0" | "false" | "no" | "off") => Ok(false),
        Some(v) => Err(ConfigError::new(var, format!("{v:?} is not true or false"))),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(super) fn with(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let vars: Vec<(String, String)> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(move |name| vars.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
    }

    #[test]
    fn defaults_run_on_a_fresh_machine() {
        let c = with(&[]).expect("defaults");
        assert_eq!(c.pool.url, "sqlite:./data/mosaic.db");
        assert_eq!(
            (c.pool.max_connections, c.pool.idle_timeout.as_secs(), c.pool.connect_timeout.as_secs()),
            (8, 30, 5)
        );
        let pg = with(&[("DATABASE_URL", "postgres://localhost/mosaic")]).expect("postgres");
        assert_eq!(pg.pool.max_connections, 20, "PostgreSQL keeps the larger pool");
        assert_eq!(c.site_addr.to_string(), "127.0.0.1:3000");
        assert!(c.allow_signup && !c.secure_cookies);
    }

    /// The defaults are the data layer's own (one place per fact), whatever the engine.
    #[test]
    fn defaults_come_from_the_layers_that_own_them() {
        for url in ["sqlite:./data/mosaic.db", "postgres://localhost/mosaic"] {
            let c = with(&[("DATABASE_URL", url)]).expect("config");
            assert_eq!(c.pool, PoolSettings::new(url), "{url}");
        }
        assert_eq!(with(&[]).expect("config").session_policy, SessionPolicy::default());
    }

    /// Every LEPTOS_* variable the site needs is read here, and RUST_LOG too.
    #[test]
    fn the_site_and_the_log_filter_are_configured_here() {
        let c = with(&[]).expect("defaults");
        assert_eq!(
            (c.site.root.as_path(), c.site.pkg_dir.as_str(), c.site.output_name.as_str()),
            (Path::new("target/site"), "pkg", "mosaic")
        );
        assert_eq!((c.site.hash_files, c.site.production, c.site.reload_port), (None, false, 3001));
        assert_eq!(c.log_filter, "info,sqlx=warn,leptos=warn");
        let c = with(&[
            ("LEPTOS_SITE_ROOT", "/srv/site"),
            ("LEPTOS_OUTPUT_NAME", "app"),
            ("LEPTOS_HASH_FILES", "true"),
            ("LEPTOS_ENV", "PROD"),
            ("RUST_LOG", "debug"),
        ])
        .expect("config");
        let options = c.site.leptos_options(c.site_addr);
        assert_eq!((&*options.site_root, &*options.output_name, options.hash_files), ("/srv/site", "app", true));
        assert_eq!(options.env, Env::PROD);
        assert_eq!(c.log_filter, "debug");
        assert_eq!(with(&[("LEPTOS_ENV", "staging")]).expect_err("refused").var, "LEPTOS_ENV");
        assert_eq!(with(&[("LEPTOS_HASH_FILES", "sometimes")]).expect_err("refused").var, "LEPTOS_HASH_FILES");
    }

    #[test]
    fn invalid_values_name_the_variable() {
        assert_eq!(with(&[("DB_POOL_MAX", "lots")]).expect_err("refused").var, "DB_POOL_MAX");
        assert_eq!(with(&[("DB_POOL_MAX", "0")]).expect_err("refused").var, "DB_POOL_MAX");
        assert_eq!(with(&[("DB_CONNECT_TIMEOUT", "-1")]).expect_err("refused").var, "DB_CONNECT_TIMEOUT");
        assert_eq!(with(&[("DATABASE_URL", "mysql://x")]).expect_err("refused").var, "DATABASE_URL");
        assert_eq!(with(&[("LEPTOS_SITE_ADDR", "localhost")]).expect_err("refused").var, "LEPTOS_SITE_ADDR");
        assert_eq!(with(&[("MOSAIC_ALLOW_SIGNUP", "maybe")]).expect_err("refused").var, "MOSAIC_ALLOW_SIGNUP");
        let msg = with(&[("DB_IDLE_TIMEOUT", "soon")]).expect_err("refused").to_string();
        assert!(msg.starts_with("DB_IDLE_TIMEOUT:") && msg.contains("whole number"), "{msg}");
    }

    #[test]
    fn providers_are_read_per_name() {
        let c = with(&[
            ("MOSAIC_PROVIDERS", "openai, local"),
            ("MOSAIC_PROVIDER_OPENAI_URL", "https://api.openai.com/v1"),
            ("MOSAIC_PROVIDER_OPENAI_KEY", "sk-test"),
            ("MOSAIC_PROVIDER_OPENAI_MODEL", "gpt-4o-mini"),
            ("MOSAIC_PROVIDER_LOCAL_URL", "http://127.0.0.1:11434/v1"),
        ])
        .expect("config");
        let names: Vec<_> = c.chat.providers.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["openai", "local"]);
        assert_eq!(c.chat.providers[0].api_key.as_deref(), Some("sk-test"));
        assert_eq!(c.chat.providers[1].max_concurrent, 4);
        assert_eq!(with(&[("MOSAIC_PROVIDERS", "x")]).expect_err("refused").var, "MOSAIC_PROVIDER_X_URL");
        assert_eq!(with(&[("MOSAIC_PROVIDERS", "Bad Name")]).expect_err("refused").var, "MOSAIC_PROVIDERS");
        assert!(with(&[]).expect("none").chat.providers.is_empty());
    }

    #[test]
    fn jobs_default_to_the_originals_schedules_and_ages() {
        let j = with(&[]).expect("defaults").jobs;
        assert_eq!(j, JobSettings::default(), "the defaults are the jobs module's own");
        let texts: Vec<_> =
            [&j.sweep, &j.tiers, &j.summarise].iter().map(|s| s.as_ref().map(Schedule::as_str)).collect();
        assert_eq!(texts, [Some("0 4 * * *"), Some("0 3 * * *"), Some("0 */6 * * *")]);
        let hour = 3600 * mosaic_db::clock::SECOND;
        assert_eq!((j.ages.hot, j.ages.warm, j.ages.cold), (24 * hour, 30 * 24 * hour, 90 * 24 * hour));
        assert!(j.cold_start);
        let off = with(&[("SUMMARIZATION_CRON", "off")]).expect("off").jobs;
        assert!(off.summarise.is_none() && off.sweep.is_some());
    }

    #[test]
    fn a_malformed_schedule_or_model_names_its_variable() {
        for var in ["SESSION_GC_CRON", "TIER_MANAGEMENT_CRON", "SUMMARIZATION_CRON"] {
            let err = with(&[(var, "0 4 * *")]).expect_err("refused");
            assert_eq!(err.var, var);
            assert!(err.to_string().contains("\"0 4 * *\""), "{err}");
        }
        assert_eq!(with(&[("SUMMARIZATION_MODEL", "gpt-4o-mini")]).expect_err("refused").var, "SUMMARIZATION_MODEL");
        assert_eq!(
            with(&[("SUMMARIZATION_MODEL", "openai/gpt")]).expect_err("no such provider").var,
            "SUMMARIZATION_MODEL"
        );
        let ok = with(&[("MOSAIC_DEMO_PROVIDER", "1"), ("SUMMARIZATION_MODEL", "demo/standin")]).expect("demo");
        assert_eq!(ok.summarization_model, Some(("demo".into(), "standin".into())));
        assert_eq!(with(&[("MOSAIC_LOG_COLD_DAYS", "10")]).expect_err("refused").var, "MOSAIC_LOG_COLD_DAYS");
    }

    #[test]
    fn https_public_url_makes_cookies_secure() {
        let c = with(&[("MOSAIC_PUBLIC_URL", "https://chat.example.com/"), ("MOSAIC_DATA_DIR", "/var/lib/mosaic")])
            .expect("config");
        assert!(c.secure_cookies);
        assert_eq!(c.public_origin.as_deref(), Some("https://chat.example.com"));
        assert_eq!(c.pool.url, "sqlite:/var/lib/mosaic/mosaic.db");
    }
}
