//! The registry of every environment variable Stratus reads: the only place names are spelled.
//!
//! Every lookup goes through [`lookup`] with a variable's primary name, which tries the names the
//! registry lists for it (Stratus's own first, then scrilla's); the test below fails the build's
//! tests when a source file names a variable the registry does not hold, so documentation and
//! code cannot drift apart.

/// One documented environment variable.
#[derive(Debug, Clone, Copy)]
pub struct EnvVar {
    /// Names, highest precedence first.
    pub names: &'static [&'static str],
    /// Its key in the settings file, where the file may set it (never for a credential).
    pub key: Option<&'static str>,
    /// What it sets.
    pub help: &'static str,
}

/// The registry of every environment variable Stratus reads.
pub const ENV_VARS: &[EnvVar] = &[
    EnvVar {
        names: &["STRATUS_HOME"],
        key: None,
        help: "folder for the cache and config (default: the platform data folder, e.g. ~/.local/share/stratus)",
    },
    EnvVar {
        names: &["STRATUS_CONFIG"],
        key: None,
        help: "settings file (default: $STRATUS_HOME/stratus.toml, if present)",
    },
    EnvVar {
        names: &["STRATUS_STORE"],
        key: Some("store"),
        help: "the store, as a URL: sqlite:///path/stratus.db (default: $STRATUS_HOME/stratus.db), dynamodb://[table-prefix], postgres://user:password@host:port/db, mysql://user:password@host:port/db (MySQL 8, Aurora MySQL, MariaDB; TLS options as URL parameters: sslmode=require, ssl-mode=REQUIRED) or s3://bucket/key.db (a read-only snapshot); wins over CACHE_MODE",
    },
    EnvVar {
        names: &["STRATUS_CACHE_MODE", "CACHE_MODE"],
        key: Some("cache_mode"),
        help: "sqlite (default) or dynamodb: scrilla's switch, used when STRATUS_STORE is not set",
    },
    EnvVar {
        names: &["STRATUS_DB_POOL_SIZE"],
        key: Some("db_pool_size"),
        help: "most connections to a PostgreSQL or MySQL store per process (default 16)",
    },
    EnvVar {
        names: &["STRATUS_DB_CONNECT_TIMEOUT"],
        key: Some("db_connect_timeout"),
        help: "seconds to wait for a PostgreSQL or MySQL connection before the store is reported unavailable (default 10)",
    },
    EnvVar {
        names: &["STRATUS_SNAPSHOT_TTL"],
        key: Some("snapshot_ttl"),
        help: "seconds between checks of an s3:// snapshot's ETag; a changed object is downloaded again (default 60)",
    },
    EnvVar {
        names: &["STRATUS_SQLITE_FILE", "SQLITE_FILE"],
        key: Some("sqlite_file"),
        help: "SQLite cache file (default: $STRATUS_HOME/stratus.db)",
    },
    EnvVar {
        names: &["STRATUS_TABLE_PREFIX"],
        key: Some("table_prefix"),
        help: "prefix of the DynamoDB table names (default none: scrilla's names)",
    },
    EnvVar {
        names: &["STRATUS_JOBS_TABLE_PREFIX"],
        key: Some("jobs_table_prefix"),
        help: "prefix of the job system's task tables (default none: sosw's names, sosw_tasks…; autotest_ gives sosw's test twins)",
    },
    EnvVar {
        names: &["STRATUS_JOBS_CONFIG_TABLE"],
        key: Some("jobs_config_table"),
        help: "the job system's config table (default config, as sosw's code reads)",
    },
    EnvVar {
        names: &["STRATUS_JOBS_ENV"],
        key: Some("jobs_env"),
        help: "the env of the job system's config rows (default production, as sosw)",
    },
    EnvVar {
        names: &["STRATUS_JOBS_CONFIG_TTL"],
        key: Some("jobs_config_ttl"),
        help: "seconds a job config row is cached before it is read again (default 60)",
    },
    EnvVar {
        names: &["STRATUS_JOBS_WORKERS"],
        key: None,
        help: "Lambda job roles: the deployment's worker functions as JSON ({\"name\": {\"arn\": …, \"max_simultaneous_invocations\": N, \"timeout\": S}}), under the config row",
    },
    EnvVar {
        names: &["STRATUS_JOBS_ASSISTANT"],
        key: None,
        help: "Lambda worker: the worker-assistant function it reports to (asynchronously); unset, it writes to the task table itself",
    },
    EnvVar {
        names: &["STRATUS_DYNAMO_BILLING"],
        key: Some("dynamo_billing"),
        help: "PAY_PER_REQUEST (default) or PROVISIONED, for tables Stratus creates",
    },
    EnvVar {
        names: &["STRATUS_DYNAMO_RCU"],
        key: Some("dynamo_rcu"),
        help: "read capacity units per table and index (PROVISIONED only)",
    },
    EnvVar {
        names: &["STRATUS_DYNAMO_WCU"],
        key: Some("dynamo_wcu"),
        help: "write capacity units per table and index (PROVISIONED only)",
    },
    EnvVar {
        names: &["DYNAMO_CONF"],
        key: None,
        help: "scrilla's billing dictionary as JSON, e.g. {\"BillingMode\": \"PROVISIONED\", \"ProvisionedThroughput\": {\"ReadCapacityUnits\": 5, \"WriteCapacityUnits\": 5}}; used when no STRATUS_DYNAMO_BILLING/RCU/WCU is set",
    },
    EnvVar {
        names: &["STRATUS_DYNAMO_LAYOUT"],
        key: Some("dynamo_layout"),
        help: "scrilla (default: profiles and correlations in scrilla's shared tables, colliding keys replace each other) or collision-free (Stratus's own stratus_profile and stratus_correlations tables)",
    },
    EnvVar {
        names: &["STRATUS_DYNAMO_CONNECT_TIMEOUT"],
        key: Some("dynamo_connect_timeout"),
        help: "seconds to wait for a connection to DynamoDB (default 5)",
    },
    EnvVar {
        names: &["STRATUS_DYNAMO_TIMEOUT"],
        key: Some("dynamo_timeout"),
        help: "seconds one DynamoDB operation may take, retries included (default 30)",
    },
    EnvVar {
        names: &["STRATUS_RISK_FREE", "RISK_FREE"],
        key: Some("risk_free"),
        help: "Treasury maturity used as the risk-free rate (default TEN_YEAR)",
    },
    EnvVar {
        names: &["STRATUS_MARKET_PROXY", "MARKET_PROXY"],
        key: Some("market_proxy"),
        help: "market ticker for CAPM (default SP500)",
    },
    EnvVar {
        names: &["STRATUS_METHOD", "DEFAULT_ESTIMATION_METHOD"],
        key: Some("method"),
        help: "moments (default), percentiles or likelihood",
    },
    EnvVar {
        names: &["STRATUS_WINDOW", "DEFAULT_ANALYSIS_PERIOD"],
        key: Some("window"),
        help: "returns in a default window (default 100)",
    },
    EnvVar {
        names: &["STRATUS_MA_PERIODS"],
        key: Some("moving_average_periods"),
        help: "moving-average periods, increasing, e.g. 20,60,100 (MA_1..MA_3 then replace single ones)",
    },
    EnvVar {
        names: &["STRATUS_MA_1", "MA_1"],
        key: None,
        help: "first moving-average period (default 20)",
    },
    EnvVar {
        names: &["STRATUS_MA_2", "MA_2"],
        key: None,
        help: "second moving-average period (default 60)",
    },
    EnvVar {
        names: &["STRATUS_MA_3", "MA_3"],
        key: None,
        help: "third moving-average period (default 100)",
    },
    EnvVar {
        names: &["STRATUS_PROVIDER"],
        key: Some("provider"),
        help: "where prices come from: bundled (default, offline), alphavantage (live, needs ALPHA_VANTAGE_KEY) or csv (STRATUS_CSV_URL); live providers fetch only what the store lacks",
    },
    EnvVar {
        names: &["ALPHA_VANTAGE_KEY"],
        key: None,
        help: "AlphaVantage API key (never printed)",
    },
    EnvVar {
        names: &["STRATUS_ALPHA_VANTAGE_URL", "ALPHA_VANTAGE_URL"],
        key: Some("alpha_vantage_url"),
        help: "AlphaVantage endpoint (default https://www.alphavantage.co/query)",
    },
    EnvVar {
        names: &["STRATUS_ALPHA_VANTAGE_FUNCTION"],
        key: Some("alpha_vantage_function"),
        help: "TIME_SERIES_DAILY_ADJUSTED (default, adjusted closes) or TIME_SERIES_DAILY (raw, free keys)",
    },
    EnvVar {
        names: &["STRATUS_ALPHA_VANTAGE_RATE"],
        key: Some("alpha_vantage_rate"),
        help: "most AlphaVantage calls per minute (default 5, the free tier; 0 = unlimited)",
    },
    EnvVar {
        names: &["STRATUS_MAX_NEW_TICKERS"],
        key: Some("max_new_tickers"),
        help: "most tickers one command or request may fetch from a live provider (default 10; 0 = unlimited)",
    },
    EnvVar {
        names: &["STRATUS_TREASURY_URL", "TREASURY_URL"],
        key: Some("treasury_url"),
        help: "US Treasury data-chart-center base URL (default https://home.treasury.gov/resource-center/data-chart-center)",
    },
    EnvVar {
        names: &["FRED_KEY"],
        key: None,
        help: "FRED API key for stat/stats (never printed)",
    },
    EnvVar {
        names: &["STRATUS_FRED_URL", "FRED_URL"],
        key: Some("fred_url"),
        help: "FRED API base (default https://api.stlouisfed.org/fred)",
    },
    EnvVar {
        names: &["STRATUS_CSV_URL"],
        key: Some("csv_url"),
        help: "price CSV URL for STRATUS_PROVIDER=csv; {ticker} is replaced by the symbol",
    },
    EnvVar {
        names: &["STRATUS_HTTP_TIMEOUT"],
        key: Some("http_timeout"),
        help: "seconds before a provider call times out (default 30)",
    },
    EnvVar {
        names: &["STRATUS_HTTP_RETRIES"],
        key: Some("http_retries"),
        help: "retries of a provider call that may pass: timeout, 5xx, throttle (default 3)",
    },
    EnvVar {
        names: &["STRATUS_HTTP_BACKOFF_MS"],
        key: Some("http_backoff_ms"),
        help: "wait before the first retry, doubled each time (default 2000)",
    },
    EnvVar {
        names: &["STRATUS_REMOTE"],
        key: None,
        help: "a deployed Stratus API every verb runs on instead of locally (as --remote URL)",
    },
    EnvVar {
        names: &["STRATUS_ADDR"],
        key: None,
        help: "address `stratus serve` listens on (default 127.0.0.1:8080)",
    },
    EnvVar {
        names: &["STRATUS_SERVE_WORKERS"],
        key: None,
        help: "`stratus serve`: run this many job workers beside the API, so `POST /api/backtest` with `Prefer: respond-async` answers 202 and a job to poll at /api/jobs/ID (default 0: off)",
    },
    EnvVar {
        names: &["STRATUS_CORS_ORIGINS"],
        key: None,
        help: "origins allowed to call the HTTP API from a browser, comma-separated (default: none)",
    },
    EnvVar {
        names: &["STRATUS_FUNCTION"],
        key: None,
        help: "Lambda: run this verb for every event (function mode) instead of serving HTTP events",
    },
    EnvVar {
        names: &["STRATUS_FUNCTION_PARAMS"],
        key: None,
        help: "Lambda function mode: default parameters as a JSON object, overlaid by each event's",
    },
    EnvVar {
        names: &["STRATUS_SECRET_PARAMETERS"],
        key: None,
        help: "Lambda: secrets to read at cold start from SSM SecureString parameters, as NAME=/parameter,… (set by `stratus deploy`; the values never appear in the environment)",
    },
    EnvVar {
        names: &["STRATUS_EXPORT_URL"],
        key: None,
        help: "Lambda ingest mode: where exports go (s3://bucket/prefix; set by `stratus deploy`), instead of the config's destination",
    },
    EnvVar {
        names: &["AWS_LAMBDA_RUNTIME_API"],
        key: None,
        help: "set by AWS Lambda: the Runtime API the Lambda binary polls",
    },
    EnvVar {
        names: &["AWS_LAMBDA_FUNCTION_NAME"],
        key: None,
        help: "set by Lambda: the function's name (a job scheduler continues itself by it; job audit rows name it)",
    },
    EnvVar {
        names: &["AWS_ENDPOINT_URL"],
        key: None,
        help: "read by the AWS SDK: an endpoint for every AWS service (DynamoDB Local, moto)",
    },
    EnvVar {
        names: &["AWS_ENDPOINT_URL_S3"],
        key: None,
        help: "read by the AWS SDK: an S3 endpoint (ingest exports to a local S3 such as moto)",
    },
    EnvVar {
        names: &["AWS_REGION", "AWS_DEFAULT_REGION"],
        key: None,
        help: "read by the AWS SDK: the region",
    },
    EnvVar {
        names: &["AWS_ACCESS_KEY_ID"],
        key: None,
        help: "read by the AWS SDK: credentials (or a profile, or the instance role)",
    },
    EnvVar {
        names: &["AWS_SECRET_ACCESS_KEY"],
        key: None,
        help: "read by the AWS SDK: credentials",
    },
    EnvVar {
        names: &["AWS_SESSION_TOKEN"],
        key: None,
        help: "read by the AWS SDK: temporary credentials",
    },
    EnvVar {
        names: &["STRATUS_TODAY"],
        key: Some("today"),
        help: "pretend today is this date (YYYY-MM-DD): what counts as missing, DDM's next payment, ingest file dates; for reproducible runs",
    },
];

/// The registered variable the settings file sets with `key`.
pub fn by_file_key(key: &str) -> Option<&'static EnvVar> {
    ENV_VARS.iter().find(|v| v.key == Some(key))
}

/// The registered variable whose first name is `primary`.
pub fn registered(primary: &str) -> Option<&'static EnvVar> {
    ENV_VARS.iter().find(|v| v.names[0] == primary)
}

/// The value of the registered variable `primary` from `env`: the first of its names that is set
/// to something other than blanks, with the name that was used (for messages).
pub fn lookup(env: &dyn Fn(&str) -> Option<String>, primary: &str) -> Option<(String, String)> {
    debug_assert!(
        registered(primary).is_some(),
        "{primary} is not in ENV_VARS"
    );
    registered(primary)?.names.iter().find_map(|name| {
        env(name)
            .filter(|v| !v.trim().is_empty())
            .map(|v| (name.to_string(), v))
    })
}

/// [`lookup`] in the process environment.
pub fn from_process(primary: &str) -> Option<String> {
    lookup(&|name| std::env::var(name).ok(), primary).map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every variable name quoted in any crate's source is registered.
    #[test]
    fn every_variable_the_code_names_is_registered() {
        let crates = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let pattern = ["STRATUS_", "AWS_"];
        let mut unregistered = Vec::new();
        let mut stack = vec![crates];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    if path
                        .file_name()
                        .is_some_and(|n| n != "target" && n != "tests")
                    {
                        stack.push(path);
                    }
                    continue;
                }
                if path.extension().is_none_or(|e| e != "rs")
                    || !path.to_string_lossy().contains("/src/")
                {
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap();
                for quoted in text.split('"').skip(1).step_by(2) {
                    let is_name = pattern
                        .iter()
                        .any(|p| quoted.starts_with(p) && quoted.len() > p.len())
                        && quoted
                            .chars()
                            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
                    // Upper-case words that are values, not variables (a Function URL's auth).
                    let not_variables = ["AWS_IAM"];
                    if is_name
                        && !not_variables.contains(&quoted)
                        && !ENV_VARS.iter().any(|v| v.names.contains(&quoted))
                    {
                        unregistered.push(format!("{quoted} in {}", path.display()));
                    }
                }
            }
        }
        assert!(
            unregistered.is_empty(),
            "used but not registered: {unregistered:?}"
        );
    }

    #[test]
    fn a_lookup_tries_every_name_and_skips_blanks() {
        let env = |name: &str| match name {
            "STRATUS_CACHE_MODE" => Some("  ".to_string()),
            "CACHE_MODE" => Some("dynamodb".to_string()),
            _ => None,
        };
        assert_eq!(
            lookup(&env, "STRATUS_CACHE_MODE"),
            Some(("CACHE_MODE".into(), "dynamodb".into()))
        );
        assert_eq!(lookup(&env, "STRATUS_TODAY"), None);
    }
}
