//! Typed, layered settings: defaults → file → environment → command-line flags.
//!
//! Every variable Stratus reads is listed once in [`crate::vars::ENV_VARS`] with its settings-file
//! key, and both layers go through that table: a file value is read as the text the variable
//! would hold and parsed by the same code. scrilla's names are accepted where scrilla had one
//! (`CACHE_MODE`, `RISK_FREE`, `MARKET_PROXY`, `MA_1`…) so a scrilla user's environment keeps
//! working, and a `STRATUS_` name wins over it. Values are
//! validated when loaded: an unknown cache mode or method is a start-up error naming the variable,
//! not a silent fallback (scrilla defect D17).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::StoreLocation;
use stratus_core::{DEFAULT_WINDOW_RETURNS, Maturity, Method};

/// Which store backs the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheMode {
    /// An embedded SQLite file (default).
    Sqlite,
    /// DynamoDB tables.
    Dynamodb,
}

impl std::str::FromStr for CacheMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "sqlite" => Ok(CacheMode::Sqlite),
            "dynamodb" => Ok(CacheMode::Dynamodb),
            _ => Err("expected sqlite or dynamodb".into()),
        }
    }
}

/// A credential: kept out of `Debug` output and messages.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    /// Wraps a credential.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The credential itself, for the one call that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Which source fills the store with prices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderChoice {
    /// The bundled dataset (offline).
    Bundled,
    /// AlphaVantage over HTTP.
    AlphaVantage,
    /// A CSV URL.
    Csv,
}

impl std::str::FromStr for ProviderChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "bundled" => Ok(ProviderChoice::Bundled),
            "alphavantage" | "alpha_vantage" | "alpha-vantage" => Ok(ProviderChoice::AlphaVantage),
            "csv" => Ok(ProviderChoice::Csv),
            _ => Err("expected bundled, alphavantage or csv".into()),
        }
    }
}

/// Live data sources and how to call them.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveSettings {
    /// The price provider.
    pub provider: ProviderChoice,
    /// AlphaVantage endpoint.
    pub alpha_vantage_url: String,
    /// AlphaVantage key.
    pub alpha_vantage_key: Option<Secret>,
    /// AlphaVantage time-series function.
    pub alpha_vantage_function: stratus_providers::alphavantage::PriceFunction,
    /// AlphaVantage calls per minute (0 = unlimited).
    pub alpha_vantage_rate: u32,
    /// Treasury base URL.
    pub treasury_url: String,
    /// FRED base URL.
    pub fred_url: String,
    /// FRED key.
    pub fred_key: Option<Secret>,
    /// CSV URL template.
    pub csv_url: Option<String>,
    /// Per-call limits shared by every provider.
    pub http: stratus_providers::HttpPolicy,
    /// "Today", when pinned.
    pub today: Option<chrono::NaiveDate>,
    /// Most tickers one command or request may fetch from the provider (0 = unlimited), so one
    /// request cannot queue hours of rate-limited upstream calls.
    pub max_new_tickers: usize,
}

impl Default for LiveSettings {
    fn default() -> Self {
        LiveSettings {
            provider: ProviderChoice::Bundled,
            alpha_vantage_url: stratus_providers::alphavantage::DEFAULT_URL.into(),
            alpha_vantage_key: None,
            alpha_vantage_function: stratus_providers::alphavantage::PriceFunction::DailyAdjusted,
            alpha_vantage_rate: 5,
            treasury_url: stratus_providers::treasury::DEFAULT_URL.into(),
            fred_url: stratus_providers::fred::DEFAULT_URL.into(),
            fred_key: None,
            csv_url: None,
            http: stratus_providers::HttpPolicy::default(),
            today: None,
            max_new_tickers: 10,
        }
    }
}

/// A bad setting, naming where it came from.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// A value that does not parse.
    #[error("invalid {source_name} = {value:?}: {reason}")]
    Invalid {
        /// The variable, file key or flag.
        source_name: String,
        /// The value.
        value: String,
        /// What is allowed.
        reason: String,
    },
    /// An unreadable settings file.
    #[error("cannot read settings file {path}: {reason}")]
    File {
        /// Path.
        path: String,
        /// Why.
        reason: String,
    },
    /// No home folder could be determined.
    #[error("cannot determine a data folder; set STRATUS_HOME")]
    NoHome,
}

/// DynamoDB billing for tables Stratus creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DynamoBilling {
    /// On demand.
    PayPerRequest,
    /// Provisioned capacity on every table and index.
    Provisioned {
        /// Read capacity units.
        read: i64,
        /// Write capacity units.
        write: i64,
    },
}

/// Where the DynamoDB backend keeps profiles and correlations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DynamoLayout {
    /// scrilla's `profile` and `correlations` tables (shared with scrilla).
    Scrilla,
    /// Stratus's own tables keyed by every identifying field.
    CollisionFree,
}

impl std::str::FromStr for DynamoLayout {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "scrilla" => Ok(DynamoLayout::Scrilla),
            "collision-free" | "collision_free" => Ok(DynamoLayout::CollisionFree),
            _ => Err("expected scrilla or collision-free".into()),
        }
    }
}

/// Where the job system keeps its tasks and config.
#[derive(Debug, Clone, PartialEq)]
pub struct JobsSettings {
    /// Task-table name prefix (empty: sosw's names).
    pub table_prefix: String,
    /// The config table.
    pub config_table: String,
    /// The env of the config rows.
    pub env: String,
    /// Seconds a config row is cached.
    pub config_ttl: f64,
}

impl Default for JobsSettings {
    fn default() -> Self {
        JobsSettings {
            table_prefix: String::new(),
            config_table: "config".into(),
            env: "production".into(),
            config_ttl: 60.0,
        }
    }
}

/// Resolved settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// The job system's tables.
    pub jobs: JobsSettings,
    /// DynamoDB table-name prefix.
    pub table_prefix: String,
    /// DynamoDB billing.
    pub dynamo_billing: DynamoBilling,
    /// DynamoDB tables for profiles and correlations.
    pub dynamo_layout: DynamoLayout,
    /// DynamoDB connection timeout (None: the backend's default).
    pub dynamo_connect_timeout: Option<std::time::Duration>,
    /// DynamoDB operation timeout (None: the backend's default).
    pub dynamo_timeout: Option<std::time::Duration>,
    /// Data folder.
    pub home: PathBuf,
    /// The store (`STRATUS_STORE`, else scrilla's `CACHE_MODE`).
    pub store: StoreLocation,
    /// The SQLite file `sqlite` and `CACHE_MODE=sqlite` mean.
    pub sqlite_file: PathBuf,
    /// Connections to a server database per process.
    pub db_pool_size: u32,
    /// Wait for a server-database connection.
    pub db_connect_timeout: std::time::Duration,
    /// Time between checks of a snapshot's version.
    pub snapshot_ttl: std::time::Duration,
    /// How to reach S3 (snapshots).
    pub s3: crate::objects::S3Settings,
    /// Risk-free maturity.
    pub risk_free: Maturity,
    /// Market proxy ticker.
    pub market_proxy: String,
    /// Default estimation method.
    pub method: Method,
    /// Returns in a default window.
    pub window_returns: usize,
    /// Moving-average periods, increasing.
    pub moving_average_periods: Vec<usize>,
    /// Live providers.
    pub live: LiveSettings,
}

mod parse;
#[cfg(test)]
mod tests;

use parse::*;

impl Settings {
    /// Loads settings from the environment (through `env`, so tests need not touch the process
    /// environment) and the settings file it points at.
    pub fn load(env: &dyn Fn(&str) -> Option<String>) -> Result<Settings, SettingsError> {
        let from_env = |primary: &str| crate::vars::lookup(env, primary);
        let home = match from_env("STRATUS_HOME") {
            Some((_, h)) => PathBuf::from(h),
            None => directories::ProjectDirs::from("", "", "stratus")
                .ok_or(SettingsError::NoHome)?
                .data_dir()
                .to_path_buf(),
        };
        let mut settings = Settings {
            jobs: JobsSettings::default(),
            table_prefix: String::new(),
            dynamo_billing: DynamoBilling::PayPerRequest,
            dynamo_layout: DynamoLayout::Scrilla,
            dynamo_connect_timeout: None,
            dynamo_timeout: None,
            sqlite_file: home.join("stratus.db"),
            store: StoreLocation::Sqlite(home.join("stratus.db")),
            db_pool_size: 16,
            db_connect_timeout: std::time::Duration::from_secs(10),
            snapshot_ttl: std::time::Duration::from_secs(60),
            s3: crate::objects::S3Settings::from_env(env),
            home,
            risk_free: Maturity::TenYear,
            market_proxy: "SP500".into(),
            method: Method::Moments,
            window_returns: DEFAULT_WINDOW_RETURNS,
            moving_average_periods: vec![20, 60, 100],
            live: LiveSettings::default(),
        };
        let file = match from_env("STRATUS_CONFIG") {
            Some((_, path)) => Some(PathBuf::from(path)),
            None => Some(settings.home.join("stratus.toml")).filter(|p| p.is_file()),
        };
        let from_file = match &file {
            Some(path) => file_values(path)?,
            None => HashMap::new(),
        };
        // One value per variable: the environment's, else the file's, parsed by the same rules.
        let lookup = |primary: &str| from_env(primary).or_else(|| from_file.get(primary).cloned());
        if let Some((_, v)) = lookup("STRATUS_SQLITE_FILE") {
            settings.sqlite_file = PathBuf::from(v);
        }
        if let Some((name, v)) = lookup("STRATUS_TABLE_PREFIX") {
            settings.table_prefix = v;
            settings.check_table_prefix(&name)?;
        }
        // The store: a URL beats scrilla's mode within a layer, and the environment beats the file.
        let store_of = |layer: &dyn Fn(&str) -> Option<(String, String)>| {
            layer("STRATUS_STORE")
                .map(|found| (true, found))
                .or_else(|| layer("STRATUS_CACHE_MODE").map(|found| (false, found)))
        };
        if let Some((is_url, (name, v))) =
            store_of(&from_env).or_else(|| store_of(&|primary| from_file.get(primary).cloned()))
        {
            settings.store = if is_url {
                StoreLocation::parse_with(&v, &settings.sqlite_file)
                    .map_err(|e| invalid(&name, &crate::location::redact(&v), e))?
            } else {
                match v.parse().map_err(|e: String| invalid(&name, &v, e))? {
                    CacheMode::Sqlite => StoreLocation::Sqlite(settings.sqlite_file.clone()),
                    CacheMode::Dynamodb => StoreLocation::Dynamodb { prefix: None },
                }
            };
        } else {
            settings.store = StoreLocation::Sqlite(settings.sqlite_file.clone());
        }
        if let Some((name, v)) = lookup("STRATUS_DB_POOL_SIZE") {
            settings.db_pool_size = v
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=1000).contains(n))
                .ok_or_else(|| invalid(&name, &v, "expected a whole number from 1 to 1000"))?;
        }
        if let Some((name, v)) = lookup("STRATUS_DB_CONNECT_TIMEOUT") {
            settings.db_connect_timeout = parse_seconds(&name, &v)?;
        }
        if let Some((name, v)) = lookup("STRATUS_SNAPSHOT_TTL") {
            settings.snapshot_ttl = parse_seconds(&name, &v)?;
        }
        let table_name = |name: &str, v: &str| -> Result<String, SettingsError> {
            if v.len() <= 200
                && v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
            {
                Ok(v.to_string())
            } else {
                Err(invalid(
                    name,
                    v,
                    "use letters, digits, '_', '-' and '.' only",
                ))
            }
        };
        if let Some((name, v)) = lookup("STRATUS_JOBS_TABLE_PREFIX") {
            settings.jobs.table_prefix = table_name(&name, &v)?;
        }
        if let Some((name, v)) = lookup("STRATUS_JOBS_CONFIG_TABLE") {
            if v.len() < 3 {
                return Err(invalid(
                    &name,
                    &v,
                    "a DynamoDB table name has at least 3 characters",
                ));
            }
            settings.jobs.config_table = table_name(&name, &v)?;
        }
        if let Some((name, v)) = lookup("STRATUS_JOBS_ENV") {
            if v.is_empty() || v.len() > 100 {
                return Err(invalid(
                    &name,
                    &v,
                    "expected a name such as production or dev",
                ));
            }
            settings.jobs.env = v;
        }
        if let Some((name, v)) = lookup("STRATUS_JOBS_CONFIG_TTL") {
            settings.jobs.config_ttl = parse_seconds(&name, &v)?.as_secs_f64();
        }
        if let Some((name, v)) = lookup("STRATUS_DYNAMO_LAYOUT") {
            settings.dynamo_layout = v.parse().map_err(|e: String| invalid(&name, &v, e))?;
        }
        if let Some((name, v)) = lookup("STRATUS_DYNAMO_CONNECT_TIMEOUT") {
            settings.dynamo_connect_timeout = Some(parse_seconds(&name, &v)?);
        }
        if let Some((name, v)) = lookup("STRATUS_DYNAMO_TIMEOUT") {
            settings.dynamo_timeout = Some(parse_seconds(&name, &v)?);
        }
        // Billing comes whole from one layer: STRATUS_DYNAMO_*, else DYNAMO_CONF, else the file.
        let billing_of = |layer: &dyn Fn(&str) -> Option<(String, String)>| {
            [
                layer("STRATUS_DYNAMO_BILLING"),
                layer("STRATUS_DYNAMO_RCU"),
                layer("STRATUS_DYNAMO_WCU"),
            ]
        };
        let stratus_billing = billing_of(&from_env);
        let [mode, read, write] = if stratus_billing.iter().any(Option::is_some) {
            stratus_billing
        } else if let Some((_, conf)) = from_env("DYNAMO_CONF") {
            dynamo_conf_entries(&conf)?
        } else {
            billing_of(&|primary| from_file.get(primary).cloned())
        };
        settings.dynamo_billing = dynamo_billing(mode, read, write)?;
        if let Some((name, v)) = lookup("STRATUS_RISK_FREE") {
            settings.risk_free = v
                .parse()
                .map_err(|e: stratus_core::AnalyticsError| invalid(&name, &v, e.to_string()))?;
        }
        settings.apply_live_env(&lookup)?;
        if let Some((_, v)) = lookup("STRATUS_MARKET_PROXY") {
            settings.market_proxy = v.trim().to_ascii_uppercase();
        } else if settings.live.provider != ProviderChoice::Bundled {
            // SP500 is the bundled index's name; live providers quote the SPY ETF, scrilla's default.
            settings.market_proxy = "SPY".into();
        }
        if let Some((name, v)) = lookup("STRATUS_METHOD") {
            settings.method = v
                .parse()
                .map_err(|_| invalid(&name, &v, "expected moments, percentiles or likelihood"))?;
        }
        if let Some((name, v)) = lookup("STRATUS_WINDOW") {
            settings.window_returns = parse_count(&name, &v)?;
        }
        if let Some((name, v)) = lookup("STRATUS_MA_PERIODS") {
            settings.moving_average_periods = v
                .split(',')
                .map(|p| parse_count(&name, p))
                .collect::<Result<_, _>>()?;
        }
        for (slot, names) in ["STRATUS_MA_1", "STRATUS_MA_2", "STRATUS_MA_3"]
            .iter()
            .enumerate()
        {
            if let Some((name, v)) = lookup(names) {
                let period = parse_count(&name, &v)?;
                if let Some(p) = settings.moving_average_periods.get_mut(slot) {
                    *p = period;
                }
            }
        }
        stratus_core::moving_average::check_periods(&settings.moving_average_periods).map_err(
            |e| {
                invalid(
                    "MA_1/MA_2/MA_3",
                    &format!("{:?}", settings.moving_average_periods),
                    e.to_string(),
                )
            },
        )?;
        Ok(settings)
    }

    fn apply_live_env(&mut self, lookup: &Lookup<'_>) -> Result<(), SettingsError> {
        let live = &mut self.live;
        if let Some((name, v)) = lookup("STRATUS_PROVIDER") {
            live.provider = v.parse().map_err(|e: String| invalid(&name, &v, e))?;
        }
        if let Some((_, v)) = lookup("ALPHA_VANTAGE_KEY") {
            live.alpha_vantage_key = Some(Secret::new(v.trim()));
        }
        if let Some((name, v)) = lookup("STRATUS_ALPHA_VANTAGE_URL") {
            stratus_providers::http::check_url(v.trim()).map_err(|e| invalid(&name, &v, e))?;
            live.alpha_vantage_url = v.trim().into();
        }
        if let Some((name, v)) = lookup("STRATUS_ALPHA_VANTAGE_FUNCTION") {
            live.alpha_vantage_function = v.parse().map_err(|e: String| invalid(&name, &v, e))?;
        }
        if let Some((name, v)) = lookup("STRATUS_ALPHA_VANTAGE_RATE") {
            live.alpha_vantage_rate = v
                .trim()
                .parse()
                .map_err(|_| invalid(&name, &v, "expected a whole number of calls per minute"))?;
        }
        if let Some((name, v)) = lookup("STRATUS_MAX_NEW_TICKERS") {
            live.max_new_tickers = v.trim().parse().map_err(|_| {
                invalid(
                    &name,
                    &v,
                    "expected a whole number of tickers (0 = unlimited)",
                )
            })?;
        }
        if let Some((name, v)) = lookup("STRATUS_TREASURY_URL") {
            stratus_providers::http::check_url(v.trim()).map_err(|e| invalid(&name, &v, e))?;
            live.treasury_url = v.trim().into();
        }
        if let Some((_, v)) = lookup("FRED_KEY") {
            live.fred_key = Some(Secret::new(v.trim()));
        }
        if let Some((name, v)) = lookup("STRATUS_FRED_URL") {
            stratus_providers::http::check_url(v.trim()).map_err(|e| invalid(&name, &v, e))?;
            live.fred_url = v.trim().into();
        }
        if let Some((name, v)) = lookup("STRATUS_CSV_URL") {
            stratus_providers::http::check_url(v.trim()).map_err(|e| invalid(&name, &v, e))?;
            live.csv_url = Some(v.trim().into());
        }
        if let Some((name, v)) = lookup("STRATUS_HTTP_TIMEOUT") {
            live.http.timeout = parse_seconds(&name, &v)?;
        }
        if let Some((name, v)) = lookup("STRATUS_HTTP_RETRIES") {
            live.http.retries = v
                .trim()
                .parse()
                .ok()
                .filter(|r| *r <= 20)
                .ok_or_else(|| invalid(&name, &v, "expected a whole number from 0 to 20"))?;
        }
        if let Some((name, v)) = lookup("STRATUS_HTTP_BACKOFF_MS") {
            live.http.backoff = std::time::Duration::from_millis(
                v.trim()
                    .parse()
                    .map_err(|_| invalid(&name, &v, "expected milliseconds"))?,
            );
        }
        if let Some((name, v)) = lookup("STRATUS_TODAY") {
            live.today = Some(
                chrono::NaiveDate::parse_from_str(v.trim(), "%Y-%m-%d")
                    .map_err(|_| invalid(&name, &v, "expected YYYY-MM-DD"))?,
            );
        }
        if live.provider == ProviderChoice::Csv && live.csv_url.is_none() {
            return Err(invalid(
                "STRATUS_PROVIDER",
                "csv",
                "needs STRATUS_CSV_URL (a URL; {ticker} is replaced by the symbol)",
            ));
        }
        Ok(())
    }

    fn check_table_prefix(&self, source_name: &str) -> Result<(), SettingsError> {
        crate::location::check_table_prefix(&self.table_prefix)
            .map_err(|e| invalid(source_name, &self.table_prefix, e))
    }
}
