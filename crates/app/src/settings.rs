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

/// Resolved settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
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
    /// Cache backend.
    pub cache_mode: CacheMode,
    /// SQLite file.
    pub sqlite_file: PathBuf,
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

fn invalid(source_name: &str, value: &str, reason: impl Into<String>) -> SettingsError {
    SettingsError::Invalid {
        source_name: source_name.into(),
        value: value.into(),
        reason: reason.into(),
    }
}

/// Billing from its three variables: capacity is required with PROVISIONED and refused
/// without it, rather than silently ignored.
fn dynamo_billing(
    mode: Option<(String, String)>,
    read: Option<(String, String)>,
    write: Option<(String, String)>,
) -> Result<DynamoBilling, SettingsError> {
    let mode_source = mode
        .as_ref()
        .map_or("STRATUS_DYNAMO_BILLING".to_string(), |(source, _)| {
            source.clone()
        });
    let capacity = |entry: Option<(String, String)>, name: &str| -> Result<i64, SettingsError> {
        let (source, value) = entry.ok_or_else(|| {
            invalid(
                name,
                "",
                format!("required with {mode_source} = PROVISIONED"),
            )
        })?;
        value
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|v| *v > 0)
            .ok_or_else(|| invalid(&source, &value, "expected a positive whole number"))
    };
    // The capacity setting that is present, named as the user set it.
    let given = || {
        read.clone()
            .or_else(|| write.clone())
            .unwrap_or_else(|| ("STRATUS_DYNAMO_RCU".into(), String::new()))
    };
    match mode.as_ref().map(|(_, v)| v.trim().to_ascii_uppercase()) {
        None => match (&read, &write) {
            (None, None) => Ok(DynamoBilling::PayPerRequest),
            _ => {
                let (source, value) = given();
                Err(invalid(
                    &source,
                    &value,
                    "capacity needs STRATUS_DYNAMO_BILLING=PROVISIONED",
                ))
            }
        },
        Some(m) if m == "PAY_PER_REQUEST" => match (&read, &write) {
            (None, None) => Ok(DynamoBilling::PayPerRequest),
            _ => {
                let (source, value) = given();
                Err(invalid(
                    &source,
                    &value,
                    "capacity is rejected with PAY_PER_REQUEST billing",
                ))
            }
        },
        Some(m) if m == "PROVISIONED" => Ok(DynamoBilling::Provisioned {
            read: capacity(read, "STRATUS_DYNAMO_RCU")?,
            write: capacity(write, "STRATUS_DYNAMO_WCU")?,
        }),
        Some(_) => {
            let (source, value) = mode.unwrap_or_default();
            Err(invalid(
                &source,
                &value,
                "expected PAY_PER_REQUEST or PROVISIONED",
            ))
        }
    }
}

/// The three billing entries from scrilla's `DYNAMO_CONF` dictionary (JSON; a Python literal
/// with single quotes is accepted too, since that is how scrilla users have it).
fn dynamo_conf_entries(text: &str) -> Result<[Option<(String, String)>; 3], SettingsError> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Throughput {
        #[serde(rename = "ReadCapacityUnits")]
        read: serde_json::Value,
        #[serde(rename = "WriteCapacityUnits")]
        write: serde_json::Value,
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct DynamoConf {
        #[serde(rename = "BillingMode")]
        billing_mode: String,
        #[serde(rename = "ProvisionedThroughput")]
        throughput: Option<Throughput>,
    }
    let conf: DynamoConf = serde_json::from_str(text)
        .or_else(|_| serde_json::from_str(&text.replace('\'', "\"")))
        .map_err(|e| {
            invalid(
                "DYNAMO_CONF",
                text,
                format!("expected {{\"BillingMode\": …, \"ProvisionedThroughput\": {{\"ReadCapacityUnits\": R, \"WriteCapacityUnits\": W}}}} ({e})"),
            )
        })?;
    let entry = |field: &str, value: serde_json::Value| {
        let text = match value {
            serde_json::Value::String(s) => s,
            other => other.to_string(),
        };
        Some((format!("DYNAMO_CONF.ProvisionedThroughput.{field}"), text))
    };
    let (read, write) = match conf.throughput {
        Some(t) => (
            entry("ReadCapacityUnits", t.read),
            entry("WriteCapacityUnits", t.write),
        ),
        None => (None, None),
    };
    Ok([
        Some(("DYNAMO_CONF.BillingMode".to_string(), conf.billing_mode)),
        read,
        write,
    ])
}

fn parse_count(name: &str, value: &str) -> Result<usize, SettingsError> {
    value
        .trim()
        .parse::<usize>()
        .ok()
        .filter(|n| *n >= 2)
        .ok_or_else(|| invalid(name, value, "expected a whole number of at least 2"))
}

/// Finds the first of several variable names that is set: (name, value).
type Lookup<'a> = dyn Fn(&str) -> Option<(String, String)> + 'a;

fn parse_seconds(name: &str, value: &str) -> Result<std::time::Duration, SettingsError> {
    value
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v > 0.0 && *v <= 3600.0)
        .map(std::time::Duration::from_secs_f64)
        .ok_or_else(|| {
            invalid(
                name,
                value,
                "expected seconds, more than 0 and at most 3600",
            )
        })
}

/// The settings file's values, by the primary name of the variable each key sets, with the
/// key's name for messages. Only keys the registry gives a variable are allowed; values are read
/// as the text an environment variable would hold (a list as `a,b,c`), so both layers are parsed
/// by the same rules.
fn file_values(path: &Path) -> Result<HashMap<&'static str, (String, String)>, SettingsError> {
    let failed = |reason: String| SettingsError::File {
        path: path.display().to_string(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| failed(e.to_string()))?;
    let table: toml::Table = toml::from_str(&text).map_err(|e| failed(e.to_string()))?;
    let mut values = HashMap::new();
    for (key, value) in table {
        let Some(var) = crate::vars::by_file_key(&key) else {
            let known: Vec<&str> = crate::vars::ENV_VARS.iter().filter_map(|v| v.key).collect();
            return Err(failed(format!(
                "unknown key {key}; the keys are {}",
                known.join(", ")
            )));
        };
        let text = |value: &toml::Value| match value {
            toml::Value::String(s) => Some(s.clone()),
            toml::Value::Integer(n) => Some(n.to_string()),
            toml::Value::Float(x) => Some(x.to_string()),
            toml::Value::Boolean(b) => Some(b.to_string()),
            _ => None,
        };
        let value = match &value {
            toml::Value::Array(items) => items
                .iter()
                .map(text)
                .collect::<Option<Vec<_>>>()
                .map(|items| items.join(",")),
            other => text(other),
        }
        .ok_or_else(|| {
            failed(format!(
                "key {key} must be a string, a number or a list of them"
            ))
        })?;
        // Blank is unset, as in the environment.
        if !value.trim().is_empty() {
            values.insert(
                var.names[0],
                (format!("{} key {key}", path.display()), value),
            );
        }
    }
    Ok(values)
}

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
            table_prefix: String::new(),
            dynamo_billing: DynamoBilling::PayPerRequest,
            dynamo_layout: DynamoLayout::Scrilla,
            dynamo_connect_timeout: None,
            dynamo_timeout: None,
            sqlite_file: home.join("stratus.db"),
            home,
            cache_mode: CacheMode::Sqlite,
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
        if let Some((name, v)) = lookup("STRATUS_CACHE_MODE") {
            settings.cache_mode = v.parse().map_err(|e: String| invalid(&name, &v, e))?;
        }
        if let Some((_, v)) = lookup("STRATUS_SQLITE_FILE") {
            settings.sqlite_file = PathBuf::from(v);
        }
        if let Some((name, v)) = lookup("STRATUS_TABLE_PREFIX") {
            settings.table_prefix = v;
            settings.check_table_prefix(&name)?;
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
        let v = &self.table_prefix;
        let valid = v
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
            && v.len() <= 200;
        if valid {
            Ok(())
        } else {
            Err(invalid(
                source_name,
                v,
                "use letters, digits, '_', '-' and '.' only",
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn load(vars: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::load(&move |k| map.get(k).cloned())
    }

    #[test]
    fn live_settings_layer_validate_and_hide_keys() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().to_str().unwrap();
        let s = load(&[("STRATUS_HOME", home)]).unwrap();
        assert_eq!(s.live.provider, ProviderChoice::Bundled);
        assert_eq!(s.market_proxy, "SP500");
        std::fs::write(
            dir.path().join("stratus.toml"),
            "provider = \"alphavantage\"\nalpha_vantage_rate = 75\nhttp_timeout = 2.5\n",
        )
        .unwrap();
        let s = load(&[
            ("STRATUS_HOME", home),
            ("ALPHA_VANTAGE_KEY", "SECRET123"),
            ("STRATUS_HTTP_RETRIES", "1"),
            ("STRATUS_TODAY", "2024-06-10"),
        ])
        .unwrap();
        assert_eq!(s.live.provider, ProviderChoice::AlphaVantage);
        assert_eq!(s.live.alpha_vantage_rate, 75);
        assert_eq!(s.live.http.timeout, std::time::Duration::from_millis(2500));
        assert_eq!(s.live.http.retries, 1);
        assert_eq!(s.market_proxy, "SPY", "live providers quote SPY");
        assert_eq!(
            s.live.alpha_vantage_key.as_ref().unwrap().expose(),
            "SECRET123"
        );
        assert!(!format!("{s:?}").contains("SECRET123"));
        let err = |vars: &[(&str, &str)]| load(vars).unwrap_err().to_string();
        assert!(
            err(&[("STRATUS_HOME", home), ("STRATUS_FRED_URL", "ftp://x")])
                .contains("STRATUS_FRED_URL")
        );
        assert!(
            err(&[("STRATUS_HOME", home), ("STRATUS_PROVIDER", "yahoo")]).contains("alphavantage")
        );
        assert!(
            err(&[("STRATUS_HOME", home), ("STRATUS_PROVIDER", "csv")]).contains("STRATUS_CSV_URL")
        );
        assert!(
            err(&[("STRATUS_HOME", home), ("STRATUS_TODAY", "tomorrow")]).contains("YYYY-MM-DD")
        );
        assert!(err(&[("STRATUS_HOME", home), ("STRATUS_HTTP_TIMEOUT", "0")]).contains("seconds"));
    }

    #[test]
    fn defaults_then_file_then_environment() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().to_str().unwrap();
        let s = load(&[("STRATUS_HOME", home)]).unwrap();
        assert_eq!(
            (s.cache_mode, s.risk_free, s.method),
            (CacheMode::Sqlite, Maturity::TenYear, Method::Moments)
        );
        assert_eq!(s.sqlite_file, dir.path().join("stratus.db"));
        std::fs::write(
            dir.path().join("stratus.toml"),
            "risk_free = \"ONE_YEAR\"\nmarket_proxy = \"spy\"\n",
        )
        .unwrap();
        let s = load(&[("STRATUS_HOME", home)]).unwrap();
        assert_eq!(
            (s.risk_free, s.market_proxy.as_str()),
            (Maturity::OneYear, "SPY")
        );
        // The environment wins over the file, and STRATUS_ names over scrilla's.
        let s = load(&[
            ("STRATUS_HOME", home),
            ("RISK_FREE", "TWO_YEAR"),
            ("STRATUS_RISK_FREE", "FIVE_YEAR"),
            ("MA_1", "10"),
        ])
        .unwrap();
        assert_eq!(s.risk_free, Maturity::FiveYear);
        assert_eq!(s.moving_average_periods, vec![10, 60, 100]);
    }

    #[test]
    fn dynamodb_billing_is_validated() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().to_str().unwrap();
        assert_eq!(
            load(&[("STRATUS_HOME", home)]).unwrap().dynamo_billing,
            DynamoBilling::PayPerRequest
        );
        let p = load(&[
            ("STRATUS_HOME", home),
            ("STRATUS_DYNAMO_BILLING", "provisioned"),
            ("STRATUS_DYNAMO_RCU", "5"),
            ("STRATUS_DYNAMO_WCU", "3"),
        ])
        .unwrap();
        assert_eq!(
            p.dynamo_billing,
            DynamoBilling::Provisioned { read: 5, write: 3 }
        );
        let e = load(&[
            ("STRATUS_HOME", home),
            ("STRATUS_DYNAMO_BILLING", "PROVISIONED"),
            ("STRATUS_DYNAMO_RCU", "5"),
        ])
        .unwrap_err()
        .to_string();
        assert!(e.contains("STRATUS_DYNAMO_WCU"), "{e}");
        let e = load(&[("STRATUS_HOME", home), ("STRATUS_DYNAMO_RCU", "5")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("PROVISIONED"), "{e}");
        let e = load(&[
            ("STRATUS_HOME", home),
            ("STRATUS_DYNAMO_BILLING", "PROVISIONED"),
            ("STRATUS_DYNAMO_RCU", "0"),
            ("STRATUS_DYNAMO_WCU", "1"),
        ])
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("STRATUS_DYNAMO_RCU") && e.contains("positive"),
            "{e}"
        );
        let e = load(&[
            ("STRATUS_HOME", home),
            ("STRATUS_TABLE_PREFIX", "bad prefix"),
        ])
        .unwrap_err()
        .to_string();
        assert!(e.contains("STRATUS_TABLE_PREFIX"), "{e}");
    }

    #[test]
    fn dynamo_conf_is_read_and_stratus_variables_win() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().to_str().unwrap();
        let provisioned = r#"{"BillingMode": "PROVISIONED", "ProvisionedThroughput": {"ReadCapacityUnits": 7, "WriteCapacityUnits": 4}}"#;
        let s = load(&[("STRATUS_HOME", home), ("DYNAMO_CONF", provisioned)]).unwrap();
        assert_eq!(
            s.dynamo_billing,
            DynamoBilling::Provisioned { read: 7, write: 4 }
        );
        // scrilla's Python literal, single quotes and all.
        let s = load(&[
            ("STRATUS_HOME", home),
            ("DYNAMO_CONF", "{'BillingMode': 'PAY_PER_REQUEST'}"),
        ])
        .unwrap();
        assert_eq!(s.dynamo_billing, DynamoBilling::PayPerRequest);
        let s = load(&[
            ("STRATUS_HOME", home),
            ("DYNAMO_CONF", provisioned),
            ("STRATUS_DYNAMO_BILLING", "PAY_PER_REQUEST"),
        ])
        .unwrap();
        assert_eq!(s.dynamo_billing, DynamoBilling::PayPerRequest);
        let e = load(&[
            ("STRATUS_HOME", home),
            ("DYNAMO_CONF", r#"{"BillingMode": "PROVISIONED"}"#),
        ])
        .unwrap_err()
        .to_string();
        assert!(e.contains("DYNAMO_CONF") && e.contains("required"), "{e}");
        let e = load(&[("STRATUS_HOME", home), ("DYNAMO_CONF", "PROVISIONED")])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("DYNAMO_CONF") && e.contains("BillingMode"),
            "{e}"
        );
    }

    #[test]
    fn dynamo_settings_come_from_the_file_and_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().to_str().unwrap();
        std::fs::write(
            dir.path().join("stratus.toml"),
            "table_prefix = \"prod_\"\ndynamo_billing = \"PROVISIONED\"\ndynamo_rcu = 9\ndynamo_wcu = 3\ndynamo_layout = \"collision-free\"\n",
        )
        .unwrap();
        let s = load(&[("STRATUS_HOME", home)]).unwrap();
        assert_eq!(s.table_prefix, "prod_");
        assert_eq!(
            s.dynamo_billing,
            DynamoBilling::Provisioned { read: 9, write: 3 }
        );
        assert_eq!(s.dynamo_layout, DynamoLayout::CollisionFree);
        let s = load(&[
            ("STRATUS_HOME", home),
            ("STRATUS_DYNAMO_LAYOUT", "scrilla"),
            ("STRATUS_DYNAMO_BILLING", "PAY_PER_REQUEST"),
        ])
        .unwrap();
        assert_eq!(s.dynamo_layout, DynamoLayout::Scrilla);
        assert_eq!(s.dynamo_billing, DynamoBilling::PayPerRequest);
        let e = load(&[("STRATUS_HOME", home), ("STRATUS_DYNAMO_LAYOUT", "wide")])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("STRATUS_DYNAMO_LAYOUT") && e.contains("collision-free"),
            "{e}"
        );
    }

    #[test]
    fn bad_values_name_their_variable() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().to_str().unwrap();
        let e = load(&[("STRATUS_HOME", home), ("CACHE_MODE", "postgres")])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("CACHE_MODE") && e.contains("postgres") && e.contains("sqlite or dynamodb"),
            "{e}"
        );
        let e = load(&[
            ("STRATUS_HOME", home),
            ("DEFAULT_ESTIMATION_METHOD", "percents"),
        ])
        .unwrap_err()
        .to_string();
        assert!(e.contains("DEFAULT_ESTIMATION_METHOD"), "{e}");
        let e = load(&[("STRATUS_HOME", home), ("MA_1", "200")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("MA_1/MA_2/MA_3"), "{e}");
        std::fs::write(dir.path().join("stratus.toml"), "colour = 1\n").unwrap();
        let e = load(&[("STRATUS_HOME", home)]).unwrap_err().to_string();
        assert!(e.contains("stratus.toml") && e.contains("colour"), "{e}");
    }
}
