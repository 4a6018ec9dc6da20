//! The command line, declared with clap derive: doc comments are the help text.

use std::path::PathBuf;

use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand, ValueEnum};
use stratus_core::{Method, checked};

mod admin;
mod backtest;
mod constraints;
mod models;
mod verbs;
mod views;
pub use admin::*;
pub use backtest::*;
pub use constraints::*;
pub use models::*;
pub use verbs::*;
pub use views::*;

/// Stratus: portfolio and risk analytics over a local cache of real market data.
///
/// Runs offline on the bundled dataset (20 S&P 500 stocks, the S&P 500 index as SP500, five
/// factor ETFs, 1990–2022, and US Treasury par yields 1990–2025). The default window is the last
/// 100 trading-day returns ending at the latest date in the store.
#[derive(Debug, Parser)]
#[command(
    name = "stratus",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    /// Options every command accepts.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// What to compute.
    #[command(subcommand)]
    pub command: Command,
    /// The arguments as given (set by the binary; `--remote` sends the verb's own).
    #[arg(skip)]
    pub argv: Vec<std::ffi::OsString>,
}

/// Options shared by every command.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Print exactly one JSON document instead of a table.
    #[arg(long, global = true)]
    pub json: bool,
    /// Also write the result to FILE (.json or .csv); for plot commands the chart (.svg or .png).
    #[arg(long, global = true, value_name = "FILE")]
    pub save: Option<PathBuf>,
    /// For backtest: run a grid of backtests (strategies × risk models × lookbacks ×
    /// rebalances, see the README) as tasks of the job system, and rank them.
    #[arg(long, global = true, value_name = "GRID.toml")]
    pub sweep: Option<PathBuf>,
    /// For backtest: also write the self-contained HTML tear sheet to FILE (.html).
    #[arg(long, global = true, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Data folder (overrides STRATUS_HOME).
    #[arg(long, global = true, value_name = "DIR")]
    pub home: Option<PathBuf>,
    /// The store, as a URL (overrides STRATUS_STORE and CACHE_MODE): sqlite:///path/stratus.db,
    /// dynamodb://[table-prefix], postgres://user:password@host:port/db, mysql://…, or
    /// s3://bucket/key.db (a read-only snapshot).
    #[arg(long, global = true, value_name = "URL")]
    pub store: Option<String>,
    /// Run the verb on a deployed Stratus API instead of locally (`stratus connect URL` checks
    /// one): the same output, errors and exit codes.
    #[arg(long, global = true, value_name = "URL", env = "STRATUS_REMOTE")]
    pub remote: Option<String>,
    /// Print nothing on stdout (errors still go to stderr).
    #[arg(long, short, global = true)]
    pub quiet: bool,
}

fn parse_date(text: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .map_err(|_| format!("bad date {text:?}; expected YYYY-MM-DD"))
}

// Numbers are checked where they are parsed, so the CLI, the HTTP API and Lambda refuse the same
// values with a message naming the flag (clap adds it), before any work is done.

fn parse_number(text: &str) -> Result<f64, String> {
    text.trim()
        .parse::<f64>()
        .map_err(|_| format!("{text:?} is not a number"))
}

fn parse_finite(text: &str) -> Result<f64, String> {
    let value = parse_number(text)?;
    checked::finite("value", value)
        .map_err(|_| format!("{text:?} is not a finite number; give a decimal such as 0.2"))
}

/// The domain of a numeric option as this module's parsers (and, for weights, steps and asset
/// counts, the services) enforce it; the OpenAPI document publishes the same bounds.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize)]
pub struct NumberDomain {
    /// Smallest value allowed.
    pub minimum: Option<f64>,
    /// Largest value allowed.
    pub maximum: Option<f64>,
    /// Values must be above this.
    pub exclusive_minimum: Option<f64>,
    /// Values must be below this.
    pub exclusive_maximum: Option<f64>,
    /// Whole numbers only.
    pub integer: bool,
    /// Words accepted instead of a number (`--lookback expanding`).
    pub words: &'static [&'static str],
}

/// Largest magnitude of a yearly rate given as a decimal (`--risk-free`, `--discount`).
pub const MAX_RATE: f64 = 1.0;

/// The domain of the numeric option `long` (its long name), if it is one.
pub fn number_domain(long: &str) -> Option<NumberDomain> {
    let domain = NumberDomain::default();
    Some(match long {
        "prob" | "probability" => NumberDomain {
            exclusive_minimum: Some(0.0),
            exclusive_maximum: Some(1.0),
            ..domain
        },
        "expiry" => NumberDomain {
            exclusive_minimum: Some(0.0),
            maximum: Some(checked::MAX_HORIZON_YEARS),
            ..domain
        },
        "invest" => NumberDomain {
            exclusive_minimum: Some(0.0),
            maximum: Some(checked::MAX_AMOUNT),
            ..domain
        },
        "risk-free" | "discount" => NumberDomain {
            minimum: Some(-MAX_RATE),
            maximum: Some(MAX_RATE),
            ..domain
        },
        "min-weight" => NumberDomain {
            minimum: Some(-1.0),
            maximum: Some(1.0),
            ..domain
        },
        "max-weight" => NumberDomain {
            minimum: Some(0.0),
            maximum: Some(1.0),
            ..domain
        },
        "turnover" => NumberDomain {
            minimum: Some(0.0),
            maximum: Some(200.0),
            ..domain
        },
        "cost" => NumberDomain {
            minimum: Some(0.0),
            maximum: Some(10_000.0),
            ..domain
        },
        "l2" => NumberDomain {
            minimum: Some(0.0),
            maximum: Some(1e6),
            ..domain
        },
        "leverage" => NumberDomain {
            minimum: Some(1.0),
            maximum: Some(100.0),
            ..domain
        },
        "target" => domain,
        "steps" => NumberDomain {
            minimum: Some(2.0),
            maximum: Some(checked::MAX_FRONTIER_STEPS as f64),
            integer: true,
            ..domain
        },
        "tau" => NumberDomain {
            exclusive_minimum: Some(0.0),
            maximum: Some(10.0),
            ..domain
        },
        "delta" => NumberDomain {
            exclusive_minimum: Some(0.0),
            maximum: Some(1000.0),
            ..domain
        },
        "span" => NumberDomain {
            minimum: Some(1.0),
            ..domain
        },
        "benchmark" => NumberDomain {
            exclusive_minimum: Some(-1.0),
            exclusive_maximum: Some(1.0),
            ..domain
        },
        "lookback" => NumberDomain {
            minimum: Some(stratus_analytics::backtest::MIN_LOOKBACK as f64),
            maximum: Some(backtest::MAX_LOOKBACK as f64),
            integer: true,
            words: &["expanding"],
            ..domain
        },
        "max-assets" => NumberDomain {
            minimum: Some(1.0),
            integer: true,
            ..domain
        },
        _ => return None,
    })
}

fn parse_rate(text: &str) -> Result<f64, String> {
    let value = parse_finite(text)?;
    if (-MAX_RATE..=MAX_RATE).contains(&value) {
        Ok(value)
    } else {
        Err(format!(
            "{text:?} is not a yearly rate as a decimal between -1 and 1 (0.04 is 4 %)"
        ))
    }
}

pub(crate) fn parse_probability(text: &str) -> Result<f64, String> {
    let value = parse_number(text)?;
    stratus_core::risk::check_probability("--prob", value)
        .map(|()| value)
        .map_err(|_| "a probability strictly between 0 and 1 is needed, e.g. 0.05".to_string())
}

fn parse_horizon(text: &str) -> Result<f64, String> {
    let value = parse_number(text)?;
    checked::horizon_years("--expiry", value).map_err(|_| {
        "a positive horizon in years of at most 100 is needed, e.g. 0.5 (1/252 ≈ 0.004 is one trading day)"
            .to_string()
    })
}

fn parse_amount(text: &str) -> Result<f64, String> {
    let value = parse_number(text)?;
    checked::amount("--invest", value)
        .map_err(|_| "a positive amount of at most 1e15 is needed, e.g. 10000".to_string())
}

/// An analysis window; both ends optional.
#[derive(Debug, Clone, Args)]
pub struct WindowArgs {
    /// First date (YYYY-MM-DD); a weekend or holiday moves back to the previous session.
    #[arg(long, visible_alias = "start-date", value_name = "YYYY-MM-DD", value_parser = parse_date)]
    pub start: Option<NaiveDate>,
    /// Last date (YYYY-MM-DD); default: the latest date in the store.
    #[arg(long, visible_alias = "end-date", value_name = "YYYY-MM-DD", value_parser = parse_date)]
    pub end: Option<NaiveDate>,
}

/// Estimation method flag.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum MethodArg {
    /// Sample moments.
    Moments,
    /// Quartile matching.
    Percentiles,
    /// Maximum likelihood.
    Likelihood,
}

impl Command {
    /// Charts are files; every other command prints a result.
    pub fn is_plot(&self) -> bool {
        matches!(self, Command::Verb(verb) if verb.is_plot())
    }

    /// The file a chart is written to when --save is not given.
    pub fn default_chart_name(&self) -> &'static str {
        match self {
            Command::Verb(verb) => verb.default_chart_name(),
            _ => "chart.svg",
        }
    }
}

impl From<MethodArg> for Method {
    fn from(m: MethodArg) -> Method {
        match m {
            MethodArg::Moments => Method::Moments,
            MethodArg::Percentiles => Method::Percentiles,
            MethodArg::Likelihood => Method::Likelihood,
        }
    }
}

/// Window plus method.
#[derive(Debug, Clone, Args)]
pub struct AnalysisArgs {
    /// The window.
    #[command(flatten)]
    pub window: WindowArgs,
    /// Estimation method (default: DEFAULT_ESTIMATION_METHOD, else moments).
    #[arg(long, value_enum)]
    pub method: Option<MethodArg>,
}

/// Value-at-risk options.
#[derive(Debug, Clone, Args)]
pub struct VarArgs {
    /// Tickers.
    #[arg(required = true, value_name = "TICKER")]
    pub tickers: Vec<String>,
    /// Window and method.
    #[command(flatten)]
    pub analysis: AnalysisArgs,
    /// Tail probability, e.g. 0.05 for the 5 % worst outcomes.
    #[arg(long, visible_alias = "probability", default_value_t = 0.05, value_parser = parse_probability)]
    pub prob: f64,
    /// Horizon in years (0.5 = six months; 1/252 ≈ 0.004 = one trading day; at most 100).
    #[arg(long, visible_alias = "exp", default_value_t = 1.0 / 252.0, value_parser = parse_horizon)]
    pub expiry: f64,
    /// Use the empirical distribution of the window's returns instead of the GBM model.
    #[arg(long)]
    pub historical: bool,
}

/// Tickers plus window and method.
#[derive(Debug, Clone, Args)]
pub struct TickersArgs {
    /// Tickers, e.g. AAPL MSFT.
    #[arg(required = true, value_name = "TICKER")]
    pub tickers: Vec<String>,
    /// Window and method.
    #[command(flatten)]
    pub analysis: AnalysisArgs,
}

/// Return convention for portfolio inputs.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ReturnsArg {
    /// Log returns, μ = log drift + σ²/2 (scrilla).
    Log,
    /// Simple returns, μ = 252·mean, Σ = 252·cov (PyPortfolioOpt).
    Simple,
}

/// Options shared by the portfolio commands.
#[derive(Debug, Clone, Args)]
pub struct PortfolioArgs {
    /// Tickers (at least two).
    #[arg(required = true, num_args = 2.., value_name = "TICKER")]
    pub tickers: Vec<String>,
    /// Window and method.
    #[command(flatten)]
    pub analysis: AnalysisArgs,
    /// Return convention for μ and Σ.
    #[arg(long, value_enum, default_value = "log")]
    pub returns: ReturnsArg,
    /// Covariance estimator.
    #[command(flatten)]
    pub risk: RiskModelArgs,
    /// Expected returns: mean, ema (--span), capm (against MARKET_PROXY) or bl:VIEWS (the
    /// Black–Litterman posterior, e.g. "bl:AAPL = 0.1 @ 0.6; MSFT - KO = 0.02").
    #[arg(long, default_value = "mean", value_name = "ESTIMATOR", value_parser = parse_mu)]
    pub mu: MuArg,
    /// Minimum weight of every asset (default 0: long only).
    #[arg(long, value_name = "W", value_parser = parse_finite)]
    pub min_weight: Option<f64>,
    /// Maximum weight of every asset (default 1).
    #[arg(long, value_name = "W", value_parser = parse_finite)]
    pub max_weight: Option<f64>,
    /// Sector, linear, turnover, cost, L2 and leverage constraints (solved as a QP).
    #[command(flatten)]
    pub constraints: ConstraintArgs,
    /// Hold at most K assets (exact enumeration when feasible, else a heuristic with its gap).
    #[arg(long, value_name = "K")]
    pub max_assets: Option<usize>,
    /// Risk-free rate for the Sharpe ratio, as a decimal (default: the RISK_FREE yield published on
    /// or before the window's end).
    #[arg(long, value_name = "RATE", value_parser = parse_rate)]
    pub risk_free: Option<f64>,
    /// Buy whole shares for this amount at the last closes; report the cash left.
    #[arg(long, visible_alias = "investment", value_name = "AMOUNT", value_parser = parse_amount)]
    pub invest: Option<f64>,
    /// How --invest rounds to whole shares: floor, greedy, or lp (exact integer programme).
    #[arg(long, value_enum, default_value = "floor", requires = "invest")]
    pub allocation: RoundingArg,
}

/// The commands (scrilla's verbs and aliases).
// One Command is parsed per process or request; boxing the portfolio options would only obscure
// the clap declarations.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// A verb (also served over HTTP and Lambda).
    #[command(flatten)]
    Verb(Verb),
    /// Load a price CSV: wide (Date,T1,T2,…) or long (date,ticker,close). All rows or none.
    ImportCsv {
        /// The file.
        file: PathBuf,
        /// For tickers the store already holds, replace their whole stored history with the
        /// file's (default: refuse a file whose prices disagree with the stored ones).
        #[arg(long)]
        replace: bool,
    },
    /// Empty the cached profiles and correlations (with --all, the market data too; the bundled
    /// data is reloaded on next use).
    #[command(visible_alias = "cc")]
    ClearCache {
        /// Also delete prices and yields, including imported ones.
        #[arg(long)]
        all: bool,
        /// Confirm emptying a shared DynamoDB cache (required with CACHE_MODE=dynamodb).
        #[arg(long)]
        yes: bool,
    },
    /// Cache backends: create DynamoDB tables, show what a backend holds, migrate between them.
    Cache {
        /// What to do.
        #[command(subcommand)]
        action: CacheAction,
    },
    /// Add tickers to the watchlist ($STRATUS_HOME/watchlist.json); each must have prices.
    #[command(visible_alias = "w")]
    Watch {
        /// Tickers.
        #[arg(required = true, value_name = "TICKER")]
        tickers: Vec<String>,
    },
    /// Fetch every source of an ingest config, validate and store the records, and export
    /// date-stamped CSVs and a run report to a folder or s3:// URL. Exit code 3 if any source
    /// failed.
    Ingest {
        /// The ingest config (TOML; see ingest.example.toml).
        #[arg(long, value_name = "FILE", default_value = "ingest.toml")]
        config: PathBuf,
        /// Overwrite objects already exported for this date (default: keep them).
        #[arg(long)]
        force: bool,
        /// Fetch each symbol's full history, not only what the store lacks.
        #[arg(long)]
        full: bool,
        /// Export to this folder or s3://bucket/prefix instead of the config's destination.
        #[arg(long, value_name = "URL")]
        destination: Option<String>,
    },
    /// Run the jobs of a schedule file on their cron expressions until stopped.
    Schedule {
        /// The schedule (TOML: [[job]] name, cron, command).
        #[arg(long, value_name = "FILE", default_value = "schedule.toml")]
        config: PathBuf,
        /// Print each job's next run times and exit.
        #[arg(long)]
        list: bool,
        /// Stop after this many job runs (default: run forever).
        #[arg(long, value_name = "N")]
        max_runs: Option<u64>,
    },
    /// Batch jobs: a job file becomes tasks in sosw-compatible task tables, run by local workers
    /// (or Lambda workers when deployed); crash-safe and resumable.
    Jobs {
        /// What to do.
        #[command(subcommand)]
        action: JobsAction,
    },
    /// Serve the analytics over HTTP (JSON API, OpenAPI document, web page) on the configured store.
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080", env = "STRATUS_ADDR")]
        addr: String,
    },
    /// Build a deployment artefact.
    Package {
        /// What to package.
        #[command(subcommand)]
        target: PackageTarget,
    },
    /// Deploy to AWS from stratus.deploy.toml: template, policies, cost, apply, verify, destroy.
    Deploy {
        /// The manifest (TOML; a missing file is the defaults, see stratus.deploy.example.toml).
        #[arg(
            long,
            global = true,
            value_name = "FILE",
            default_value = "stratus.deploy.toml"
        )]
        manifest: PathBuf,
        /// What to do.
        #[command(subcommand)]
        action: DeployAction,
    },
    /// Print the version.
    Version,
    /// Check a deployed Stratus API: its health, version and store, and the page's address.
    Connect {
        /// The API's base URL, e.g. https://abc.lambda-url.us-east-1.on.aws/.
        url: String,
    },
}
