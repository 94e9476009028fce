//! Configuration from the environment (12-factor), with defaults that run on a fresh machine.
//!
//! Every variable is read here and nowhere else; an invalid value stops startup with a message that
//! names the variable and what it accepts.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use mosaic_db::clock::SECOND;
use mosaic_db::sessions::SessionPolicy;
use mosaic_db::PoolSettings;

use crate::chat::provider::ProviderConfig;

/// A variable with a value the server cannot use.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{var}: {problem}")]
pub struct ConfigError {
    pub var: &'static str,
    pub problem: String,
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
    /// Whether anyone may sign up (MOSAIC_ALLOW_SIGNUP); the first account is always allowed.
    pub allow_signup: bool,
    /// Whether cookies are marked Secure (MOSAIC_COOKIE_SECURE); default: on when MOSAIC_PUBLIC_URL is https.
    pub secure_cookies: bool,
    /// The public origin behind a proxy (MOSAIC_PUBLIC_URL), accepted by the Origin check.
    pub public_origin: Option<String>,
    /// Session lifetimes (MOSAIC_SESSION_IDLE_HOURS, MOSAIC_SESSION_MAX_DAYS).
    pub session_policy: SessionPolicy,
    /// Model providers and chat limits.
    pub chat: ChatConfig,
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
    /// MOSAIC_DEMO_PROVIDER: start the built-in stand-in model as provider "demo".
    pub demo: bool,
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
        let url = match get("DATABASE_URL") {
            Some(url)
                if url.starts_with("sqlite:") || url.starts_with("postgres://") || url.starts_with("postgresql://") =>
            {
                url
            }
            Some(_) => {
                return Err(ConfigError {
                    var: "DATABASE_URL",
                    problem: "must be a sqlite: URL (sqlite:./data/mosaic.db) or a postgres:// URL".into(),
                })
            }
            None => format!("sqlite:{}", data_dir.join("mosaic.db").display()),
        };
        // SQLite: each connection is a thread with its own page cache, and more of them than a few
        // per core only add memory (throughput was the same with 4 as with 20 on two cores).
        let default_pool = if url.starts_with("sqlite:") { 8 } else { 20 };
        let pool = PoolSettings {
            max_connections: number(&get, "DB_POOL_MAX", default_pool, 1, 1000)?,
            url,
            idle_timeout: Duration::from_secs(number(&get, "DB_IDLE_TIMEOUT", 30, 1, 86_400)?.into()),
            connect_timeout: Duration::from_secs(number(&get, "DB_CONNECT_TIMEOUT", 5, 1, 600)?.into()),
        };
        let site_addr = match get("LEPTOS_SITE_ADDR") {
            Some(v) => v.parse().map_err(|_| ConfigError {
                var: "LEPTOS_SITE_ADDR",
                problem: format!("{v:?} is not an address like 127.0.0.1:3000"),
            })?,
            None => SocketAddr::from(([127, 0, 0, 1], 3000)),
        };
        let public_origin = match get("MOSAIC_PUBLIC_URL") {
            Some(v) if v.starts_with("http://") || v.starts_with("https://") => {
                Some(v.trim_end_matches('/').to_string())
            }
            Some(_) => {
                return Err(ConfigError {
                    var: "MOSAIC_PUBLIC_URL",
                    problem: "must start with http:// or https://".into(),
                })
            }
            None => None,
        };
        let https = public_origin.as_deref().is_some_and(|o| o.starts_with("https://"));
        let chat = ChatConfig {
            providers: providers(&get)?,
            connect_timeout: Duration::from_secs(number(&get, "MOSAIC_PROVIDER_CONNECT_TIMEOUT", 10, 1, 600)?.into()),
            stall_timeout: Duration::from_secs(number(&get, "MOSAIC_PROVIDER_STALL_TIMEOUT", 60, 1, 3600)?.into()),
            history_chars: number(&get, "MOSAIC_CHAT_HISTORY_CHARS", 24_000, 100, 2_000_000)? as usize,
            demo: boolean(&get, "MOSAIC_DEMO_PROVIDER", false)?,
        };
        let idle_hours = number(&get, "MOSAIC_SESSION_IDLE_HOURS", 7 * 24, 1, 24 * 365)?;
        let max_days = number(&get, "MOSAIC_SESSION_MAX_DAYS", 30, 1, 365)?;
        Ok(Config {
            pool,
            data_dir,
            site_addr,
            allow_signup: boolean(&get, "MOSAIC_ALLOW_SIGNUP", true)?,
            secure_cookies: boolean(&get, "MOSAIC_COOKIE_SECURE", https)?,
            public_origin,
            session_policy: SessionPolicy {
                idle: i64::from(idle_hours) * 3600 * SECOND,
                absolute: i64::from(max_days) * 24 * 3600 * SECOND,
            },
            chat,
        })
    }
}

/// The providers named by MOSAIC_PROVIDERS, each from its MOSAIC_PROVIDER_<NAME>_* variables.
fn providers(get: &impl Fn(&str) -> Option<String>) -> Result<Vec<ProviderConfig>, ConfigError> {
    let Some(names) = get("MOSAIC_PROVIDERS") else { return Ok(Vec::new()) };
    let mut out: Vec<ProviderConfig> = Vec::new();
    for name in names.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        if !name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            || out.iter().any(|p| p.name == name)
        {
            return Err(ConfigError {
                var: "MOSAIC_PROVIDERS",
                problem: format!("{name:?}: names are distinct, of lower-case letters, digits and '-'"),
            });
        }
        let prefix = format!("MOSAIC_PROVIDER_{}", name.to_uppercase().replace('-', "_"));
        let url_var: &'static str = Box::leak(format!("{prefix}_URL").into_boxed_str());
        let base_url = get(url_var).ok_or_else(|| ConfigError {
            var: url_var,
            problem: "is required for each provider: the API base, like https://api.openai.com/v1".into(),
        })?;
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            return Err(ConfigError { var: url_var, problem: "must start with http:// or https://".into() });
        }
        let max_var: &'static str = Box::leak(format!("{prefix}_MAX_CONCURRENT").into_boxed_str());
        out.push(ProviderConfig {
            name: name.to_string(),
            base_url,
            api_key: get(&format!("{prefix}_KEY")),
            default_model: get(&format!("{prefix}_MODEL")),
            max_concurrent: number(get, max_var, 4, 1, 1000)? as usize,
        });
    }
    Ok(out)
}

fn number(
    get: &impl Fn(&str) -> Option<String>,
    var: &'static str,
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
            .ok_or_else(|| ConfigError { var, problem: format!("{v:?} is not a whole number from {min} to {max}") }),
    }
}

fn boolean(get: &impl Fn(&str) -> Option<String>, var: &'static str, default: bool) -> Result<bool, ConfigError> {
    match get(var).map(|v| v.to_lowercase()).as_deref() {
        None => Ok(default),
        Some("1" | "true" | "yes" | "on") => Ok(true),
        Some("0" | "false" | "no" | "off") => Ok(false),
        Some(v) => Err(ConfigError { var, problem: format!("{v:?} is not true or false") }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let vars: Vec<(String, String)> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
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

    #[test]
    fn invalid_values_name_the_variable() {
        assert_eq!(with(&[("DB_POOL_MAX", "lots")]).unwrap_err().var, "DB_POOL_MAX");
        assert_eq!(with(&[("DB_POOL_MAX", "0")]).unwrap_err().var, "DB_POOL_MAX");
        assert_eq!(with(&[("DB_CONNECT_TIMEOUT", "-1")]).unwrap_err().var, "DB_CONNECT_TIMEOUT");
        assert_eq!(with(&[("DATABASE_URL", "mysql://x")]).unwrap_err().var, "DATABASE_URL");
        assert_eq!(with(&[("LEPTOS_SITE_ADDR", "localhost")]).unwrap_err().var, "LEPTOS_SITE_ADDR");
        assert_eq!(with(&[("MOSAIC_ALLOW_SIGNUP", "maybe")]).unwrap_err().var, "MOSAIC_ALLOW_SIGNUP");
        let msg = with(&[("DB_IDLE_TIMEOUT", "soon")]).unwrap_err().to_string();
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
        assert_eq!(with(&[("MOSAIC_PROVIDERS", "x")]).unwrap_err().var, "MOSAIC_PROVIDER_X_URL");
        assert_eq!(with(&[("MOSAIC_PROVIDERS", "Bad Name")]).unwrap_err().var, "MOSAIC_PROVIDERS");
        assert!(with(&[]).expect("none").chat.providers.is_empty());
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
