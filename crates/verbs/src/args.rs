//! The command line, declared with clap derive: doc comments are the help text.

use std::path::PathBuf;

use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand, ValueEnum};
use stratus_core::{Method, checked};

mod constraints;
mod models;
mod views;
pub use constraints::*;
pub use models::*;
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

/// `stratus cache …`.
#[derive(Debug, Subcommand)]
pub enum CacheAction {
    /// Create the four DynamoDB tables (idempotent; an existing table with another layout is an
    /// error). Billing from STRATUS_DYNAMO_BILLING/RCU/WCU, names from STRATUS_TABLE_PREFIX.
    Provision,
    /// The configured backend, its tables and item counts (on DynamoDB the counts DynamoDB keeps,
    /// refreshed about every six hours; --exact counts every item, which reads whole tables).
    Status {
        /// Count every item (a full scan on DynamoDB).
        #[arg(long)]
        exact: bool,
    },
    /// Copy every table from one backend to another, resumably, and verify the copy.
    Migrate {
        /// Source: `sqlite` (the configured file), `dynamodb`, or any store URL.
        #[arg(long)]
        from: String,
        /// Target: `sqlite`, `dynamodb`, or any writable store URL (sqlite:///path,
        /// dynamodb://prefix, postgres://…, mysql://…).
        #[arg(long)]
        to: String,
    },
    /// Publish a read-only snapshot: a consistent SQLite copy of a store, uploaded in one PUT,
    /// for `serve` and Lambda with STRATUS_STORE=s3://bucket/key.db.
    Snapshot {
        /// Where: s3://bucket/key.db.
        #[arg(long, value_name = "URL")]
        to: String,
        /// The store to copy (default: the configured store).
        #[arg(long, value_name = "URL")]
        from: Option<String>,
    },
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

impl Verb {
    /// Charts are files; every other verb prints a result.
    pub fn is_plot(&self) -> bool {
        matches!(
            self,
            Verb::PlotEfficientFrontier { .. }
                | Verb::PlotRiskProfile(_)
                | Verb::PlotCorrelations { .. }
                | Verb::PlotCorrelation(_)
                | Verb::PlotMovingAverages(_)
                | Verb::PlotYieldCurve { .. }
                | Verb::PlotReturnQq { .. }
                | Verb::PlotReturnDistribution { .. }
                | Verb::PlotDividends { .. }
                | Verb::PlotDrawdown(_)
                | Verb::PlotRiskContribution(_)
        )
    }

    /// The file a chart is written to when --save is not given.
    pub fn default_chart_name(&self) -> &'static str {
        match self {
            Verb::PlotEfficientFrontier { .. } => "efficient-frontier.svg",
            Verb::PlotRiskProfile(_) => "risk-profile.svg",
            Verb::PlotDrawdown(_) => "drawdown.svg",
            Verb::PlotRiskContribution(_) => "risk-contribution.svg",
            Verb::PlotCorrelations { .. } => "correlations.svg",
            Verb::PlotCorrelation(_) => "correlation-heatmap.svg",
            Verb::PlotMovingAverages(_) => "moving-averages.svg",
            Verb::PlotYieldCurve { .. } => "yield-curve.svg",
            Verb::PlotReturnQq { .. } => "return-qq.svg",
            Verb::PlotReturnDistribution { .. } => "return-distribution.svg",
            Verb::PlotDividends { .. } => "dividends.svg",
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
    /// Sector, linear, turnover, cost, L2 and leverage constraints (solved with Clarabel).
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

/// `stratus jobs …`.
#[derive(Debug, Subcommand)]
pub enum JobsAction {
    /// Plan a job into tasks and queue them; prints the job id (see jobs.example.toml).
    Submit {
        /// The job file (TOML).
        #[arg(value_name = "FILE", required_unless_present = "verb")]
        file: Option<PathBuf>,
        /// Instead of a file: the verb every task calls.
        #[arg(
            long,
            value_name = "VERB",
            conflicts_with = "file",
            requires = "tickers_file"
        )]
        verb: Option<String>,
        /// With --verb: one task per line, each line the tickers of one call (spaces or commas;
        /// blank lines and lines starting with # are skipped).
        #[arg(long, value_name = "FILE", requires = "verb")]
        tickers_file: Option<PathBuf>,
        /// With --verb: a verb option for every task, NAME=VALUE (repeatable), e.g.
        /// --param start=2023-01-03; or give them after `--` as on the verb's command line.
        #[arg(long = "param", value_name = "NAME=VALUE")]
        params: Vec<String>,
        /// The worker that runs the tasks (default local; a Lambda function's name when deployed).
        #[arg(long, value_name = "NAME")]
        labourer: Option<String>,
        /// With --verb: the verb's options, after `--` (e.g. -- --start 2023-01-03 --method percentiles).
        #[arg(last = true, value_name = "OPTIONS")]
        options: Vec<String>,
    },
    /// Run a job to completion in this process — scheduler, orchestrator, scavenger and N local
    /// workers — with a progress bar. Safe to kill and run again: it resumes.
    Run {
        /// The job (default: every queued task, until none is left).
        job: Option<String>,
        /// Workers.
        #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=256))]
        concurrency: u16,
        /// Run the tasks of this worker (default local).
        #[arg(long, value_name = "NAME", default_value = "local")]
        labourer: String,
    },
    /// Workers only: run queued tasks (of any job) until stopped, beside `jobs run` or on
    /// another machine sharing the store.
    Work {
        /// Workers.
        #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=256))]
        concurrency: u16,
        /// Run the tasks of this worker (default local).
        #[arg(long, value_name = "NAME", default_value = "local")]
        labourer: String,
        /// Stop when nothing has been queued or running for a few seconds.
        #[arg(long)]
        until_idle: bool,
    },
    /// A job's progress: tasks pending, running, completed, failed (waiting for a retry), dead.
    Status {
        /// The job.
        job: String,
    },
    /// A job's results: each completed task's parameters and the verb's JSON; dead tasks with
    /// their last error.
    Results {
        /// The job.
        job: String,
    },
    /// Put dead tasks back in the queue (attempts reset): by id, or a worker's dead tasks in a
    /// time range.
    Redrive {
        /// A dead task's id (repeatable).
        #[arg(long = "task", value_name = "ID", required_unless_present = "labourer")]
        tasks: Vec<String>,
        /// Every dead task of this worker (with --since / --until).
        #[arg(long, value_name = "NAME", conflicts_with = "tasks")]
        labourer: Option<String>,
        /// Dead since (YYYY-MM-DD or RFC 3339; default: ever).
        #[arg(long, value_name = "TIME", requires = "labourer")]
        since: Option<String>,
        /// Dead until (YYYY-MM-DD or RFC 3339; default: now).
        #[arg(long, value_name = "TIME", requires = "labourer")]
        until: Option<String>,
    },
    /// The job system's config row (merged over the defaults; re-read by running roles within
    /// STRATUS_JOBS_CONFIG_TTL seconds).
    Config {
        /// What to do.
        #[command(subcommand)]
        action: JobsConfigAction,
    },
}

/// `stratus jobs config …`.
#[derive(Debug, Subcommand)]
pub enum JobsConfigAction {
    /// Print the merged config, or one dotted key of it.
    Get {
        /// e.g. task_config.max_attempts.
        key: Option<String>,
    },
    /// Set one dotted key of the stored row (VALUE as JSON, else as text); checked before it is
    /// written.
    Set {
        /// e.g. task_config.labourers.local.timeout.
        key: String,
        /// e.g. 60, or '{"kind": "linear"}'.
        value: String,
    },
}

/// `stratus deploy …`.
#[derive(Debug, Subcommand)]
pub enum DeployAction {
    /// Write a commented manifest (every key with its default) to --manifest.
    Init {
        /// Overwrite an existing manifest.
        #[arg(long)]
        force: bool,
    },
    /// Render the CloudFormation template.
    Template {
        /// json or yaml.
        #[arg(long, default_value = "json", value_parser = ["json", "yaml"])]
        format: String,
        /// Write it to this file instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Print the IAM policy a person or CI needs to run a mode of Stratus from outside AWS.
    Policy {
        /// analytics, cache-writer, ingest or deployer.
        #[arg(long = "for", default_value = "analytics", value_parser = ["analytics", "cache-writer", "ingest", "deployer"])]
        audience: String,
        /// The AWS account id in the ARNs (default: any account, `*`).
        #[arg(long, value_name = "ID")]
        account: Option<String>,
    },
    /// Estimate the monthly cost per resource.
    Cost {
        /// API requests a month.
        #[arg(long, value_name = "N", default_value_t = 100_000)]
        requests: u64,
        /// Runs a month of each scheduled function (default: from its cron).
        #[arg(long, value_name = "M")]
        runs_per_month: Option<f64>,
        /// Memory of scheduled runs in MB (default: the function's).
        #[arg(long, value_name = "MB")]
        memory_mb: Option<u32>,
        /// Seconds per scheduled run.
        #[arg(long, value_name = "S", default_value_t = 60.0)]
        duration_s: f64,
        /// GB kept in the export bucket.
        #[arg(long, value_name = "G", default_value_t = 1.0)]
        storage_gb: f64,
    },
    /// Upload the code and create or update the stack (a change set), waiting with progress.
    Apply {
        /// Apply without asking.
        #[arg(long)]
        yes: bool,
        /// Print the change set and stop.
        #[arg(long)]
        dry_run: bool,
    },
    /// The stack's status, outputs and latest events.
    Status,
    /// Check the deployed stack: tables against their definitions, the bucket, every function,
    /// and the API where reachable.
    Verify,
    /// Delete the stack (retained tables and the export bucket stay).
    Destroy {
        /// Delete without asking.
        #[arg(long)]
        yes: bool,
    },
    /// Secrets the functions read at cold start (SSM SecureString parameters).
    Secret {
        /// What to do.
        #[command(subcommand)]
        action: SecretAction,
    },
}

/// `stratus deploy secret …`.
#[derive(Debug, Subcommand)]
pub enum SecretAction {
    /// Store a secret (read from standard input, never from the command line) as
    /// /{stack}/{stage}/NAME.
    Set {
        /// The environment variable the functions will see (e.g. ALPHA_VANTAGE_KEY).
        name: String,
    },
}

/// The verbs served over HTTP and Lambda as well as the command line: every analytics command and
/// chart. Commands that change the store or the machine are not here but in [`Command`], so a new
/// command-line command can never become an endpoint by accident.
#[derive(Debug, Subcommand)]
pub enum Verb {
    /// Annual return, volatility, Sharpe ratio, CAPM beta and cost of equity per ticker.
    #[command(visible_alias = "rp")]
    RiskProfile(TickersArgs),
    /// Correlation matrix of two or more tickers.
    #[command(visible_alias = "cor")]
    Correlation(MatrixArgs),
    /// Rolling correlation of two tickers: one value per session of the window, each over the
    /// default-length window ending that day (moments).
    #[command(visible_alias = "cors")]
    Correlations {
        /// First ticker.
        first: String,
        /// Second ticker.
        second: String,
        /// Window.
        #[command(flatten)]
        window: WindowArgs,
    },
    /// Annualised covariance matrix: σᵢσⱼρᵢⱼ (log returns, scrilla), the sample covariance of
    /// simple returns, or a shrinkage, exponential or semi-covariance estimate (--cov).
    #[command(visible_alias = "cov")]
    Covariance(MatrixArgs),
    /// Sharpe ratio (μ − r_f)/σ with r_f as of the window's end.
    #[command(visible_alias = "sr")]
    SharpeRatio(TickersArgs),
    /// CAPM beta against MARKET_PROXY (default SP500).
    #[command(visible_alias = "capm-b")]
    CapmBeta(TickersArgs),
    /// CAPM cost of equity r_f + β(μ_market − r_f).
    #[command(visible_alias = "capm-e")]
    CapmEquity(TickersArgs),
    /// Value at risk: the price level undershot with probability --prob at --expiry.
    Var(VarArgs),
    /// Conditional value at risk: the expected price given it is below the VaR.
    #[command(visible_alias = "cv")]
    Cvar(VarArgs),
    /// Moving averages of the return (MA_1, MA_2, MA_3 sessions) for each session of the window.
    #[command(visible_alias = "mas")]
    MovAverages(TickersArgs),
    /// Treasury yield curve on a date (decimals; missing tenors interpolated and marked).
    #[command(visible_alias = "yc")]
    YieldCurve {
        /// The date (default: the latest publication); non-publication days use the previous one.
        #[arg(long, visible_alias = "start", value_name = "YYYY-MM-DD", value_parser = parse_date)]
        date: Option<NaiveDate>,
    },
    /// Treasury yield history for maturities (decimals), e.g. TEN_YEAR or 10Y.
    #[command(visible_alias = "int")]
    Interest {
        /// Maturities.
        #[arg(required = true, value_name = "MATURITY")]
        maturities: Vec<String>,
        /// Window (default: the last 100 sessions of the yield history).
        #[command(flatten)]
        window: WindowArgs,
    },
    /// The risk-free rate (RISK_FREE maturity, default TEN_YEAR) as of a date.
    #[command(visible_alias = "rf")]
    RiskFree {
        /// As-of date (default: the latest publication).
        #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
        date: Option<NaiveDate>,
    },
    /// Closing prices in the window.
    #[command(visible_alias = "pr")]
    Prices {
        /// Tickers.
        #[arg(required = true, value_name = "TICKER")]
        tickers: Vec<String>,
        /// Window.
        #[command(flatten)]
        window: WindowArgs,
    },
    /// The last close on or before a date (scrilla returned the open here; Stratus the close).
    #[command(visible_alias = "cl")]
    Close {
        /// Tickers.
        #[arg(required = true, value_name = "TICKER")]
        tickers: Vec<String>,
        /// As-of date (default: latest).
        #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
        date: Option<NaiveDate>,
    },
    /// Asset type of each ticker (every stored ticker is an equity).
    Asset {
        /// Tickers.
        #[arg(required = true, value_name = "TICKER")]
        tickers: Vec<String>,
    },
    /// Tickers in the store with their date ranges.
    Tickers,
    /// Minimum-variance portfolio (or --sharpe, or --target R), long only and fully invested.
    #[command(visible_alias = "opt")]
    OptimizePortfolio {
        /// Portfolio options.
        #[command(flatten)]
        portfolio: PortfolioArgs,
        /// Maximise the Sharpe ratio (risk-free rate as of the window's end).
        #[arg(long, visible_alias = "sh", conflicts_with = "target")]
        sharpe: bool,
        /// Minimum variance at exactly this annual return, e.g. 0.2.
        #[arg(long, visible_alias = "target-return", value_parser = parse_finite)]
        target: Option<f64>,
    },
    /// Maximum-return portfolio.
    #[command(visible_alias = "max")]
    MaxReturn {
        /// Portfolio options.
        #[command(flatten)]
        portfolio: PortfolioArgs,
    },
    /// Portfolio with the least conditional value at risk.
    #[command(visible_alias = "opt-cvar")]
    OptimizeCvar {
        /// Portfolio options.
        #[command(flatten)]
        portfolio: PortfolioArgs,
        /// Tail probability, e.g. 0.05.
        #[arg(long, default_value_t = 0.05, value_parser = parse_probability)]
        prob: f64,
        /// Horizon in years (default one trading day; at most 100).
        #[arg(long, default_value_t = 1.0 / 252.0, value_parser = parse_horizon)]
        expiry: f64,
        /// Minimise the historical CVaR of the window's returns (a linear programme) instead of
        /// the GBM model's.
        #[arg(long)]
        historical: bool,
    },
    /// Efficient frontier from the minimum-variance to the maximum-return portfolio, inclusive.
    #[command(visible_alias = "ef")]
    EfficientFrontier {
        /// Portfolio options.
        #[command(flatten)]
        portfolio: PortfolioArgs,
        /// Number of portfolios (both ends included).
        #[arg(long, visible_alias = "frontier-steps", default_value_t = 5)]
        steps: usize,
    },
    /// Black–Litterman: the market-implied prior moved by views, with the posterior returns and
    /// covariance (use the views in any optimiser with --mu bl:VIEWS).
    #[command(visible_alias = "bl")]
    BlackLitterman(BlackLittermanArgs),
    /// Risk parity: long-only weights whose risk contributions are equal (or --budgets).
    #[command(visible_alias = "rparity")]
    RiskParity {
        /// Allocation options.
        #[command(flatten)]
        allocation: AllocationArgs,
        /// Risk budgets as TICKER=B,TICKER=B (positive, normalised to sum to 1; every ticker once).
        #[arg(long, value_name = "TICKER=B,…", value_parser = parse_budgets)]
        budgets: Option<Budgets>,
    },
    /// Hierarchical risk parity (López de Prado; PyPortfolioOpt's HRPOpt).
    Hrp {
        /// Allocation options.
        #[command(flatten)]
        allocation: AllocationArgs,
        /// Linkage of the hierarchical clustering.
        #[arg(long, value_enum, default_value = "single")]
        linkage: LinkageArg,
    },
    /// Hierarchical equal risk contribution (Raffinot; skfolio's HierarchicalEqualRiskContribution):
    /// clusters cut from the dendrogram, inverse variance inside, risk split between clusters.
    Herc {
        /// Allocation options.
        #[command(flatten)]
        allocation: AllocationArgs,
        /// Linkage of the hierarchical clustering.
        #[arg(long, value_enum, default_value = "ward")]
        linkage: LinkageArg,
    },
    /// Maximum diversification: the highest ratio of weighted volatilities to portfolio volatility.
    #[command(visible_alias = "maxdiv")]
    MaxDiversification(AllocationArgs),
    /// Weights proportional to 1/volatility.
    #[command(visible_alias = "ivol")]
    InverseVolatility(AllocationArgs),
    /// Equal weights (1/N), with the portfolio's return, volatility and Sharpe ratio.
    #[command(visible_alias = "ew")]
    EqualWeight(AllocationArgs),
    /// Risk and performance measures of each ticker (and of a portfolio with --weights):
    /// Sharpe, Sortino, Calmar, Omega, drawdowns, CDaR, Ulcer index, VaR/CVaR, EVaR, moments.
    #[command(visible_alias = "rr")]
    RiskReport(ReportArgs),
    /// Chart: the drawdown of each ticker (and of the portfolio with --weights) over the window.
    #[command(visible_alias = "plot-dd")]
    PlotDrawdown(ReportArgs),
    /// Chart: each asset's share of the portfolio's volatility and CVaR (equal weights unless
    /// --weights).
    #[command(visible_alias = "plot-rc")]
    PlotRiskContribution(ReportArgs),
    /// Chart: the efficient frontier with each asset, minimum variance and maximum Sharpe marked.
    #[command(visible_alias = "plot-ef")]
    PlotEfficientFrontier {
        /// Portfolio options.
        #[command(flatten)]
        portfolio: PortfolioArgs,
        /// Points along the frontier (2 to 2000).
        #[arg(long, default_value_t = 60)]
        steps: usize,
    },
    /// Chart: assets on the volatility–return plane.
    #[command(visible_alias = "plot-rp")]
    PlotRiskProfile(TickersArgs),
    /// Chart: rolling correlation of two tickers.
    #[command(visible_alias = "plot-cors")]
    PlotCorrelations {
        /// First ticker.
        first: String,
        /// Second ticker.
        second: String,
        /// Window.
        #[command(flatten)]
        window: WindowArgs,
    },
    /// Chart: correlation heat map of two or more tickers.
    #[command(visible_alias = "plot-cor")]
    PlotCorrelation(TickersArgs),
    /// Chart: moving averages of one ticker's return.
    #[command(visible_alias = "plot-mas")]
    PlotMovingAverages(TickersArgs),
    /// Chart: the Treasury yield curve on a date.
    #[command(visible_alias = "plot-yc")]
    PlotYieldCurve {
        /// The date (default: the latest publication).
        #[arg(long, visible_alias = "start", value_name = "YYYY-MM-DD", value_parser = parse_date)]
        date: Option<NaiveDate>,
    },
    /// Chart: QQ plot of a ticker's daily log returns against the normal distribution.
    #[command(visible_alias = "plot-qq")]
    PlotReturnQq {
        /// Ticker.
        ticker: String,
        /// Window.
        #[command(flatten)]
        window: WindowArgs,
    },
    /// Chart: histogram of a ticker's daily log returns with the fitted normal density.
    #[command(visible_alias = "plot-dist")]
    PlotReturnDistribution {
        /// Ticker.
        ticker: String,
        /// Window.
        #[command(flatten)]
        window: WindowArgs,
    },
    /// Dividend history per ticker (live data: STRATUS_PROVIDER=alphavantage).
    #[command(visible_alias = "divs")]
    Dividends {
        /// Tickers.
        #[arg(required = true, value_name = "TICKER")]
        tickers: Vec<String>,
    },
    /// Dividend discount model: the present value of the dividends the fitted trend of the
    /// history predicts (live data).
    #[command(visible_alias = "ddm")]
    DiscountDividendModel {
        /// Tickers.
        #[arg(required = true, value_name = "TICKER")]
        tickers: Vec<String>,
        /// Discount rate as a decimal (default: the CAPM cost of equity over the default window).
        #[arg(long, value_name = "RATE", value_parser = parse_rate)]
        discount: Option<f64>,
        /// Estimation method for the cost of equity.
        #[arg(long, value_enum)]
        method: Option<MethodArg>,
    },
    /// The watchlist.
    #[command(visible_alias = "w-ls")]
    Watchlist,
    /// Watchlist tickers whose dividend-discount value exceeds the latest close (live data).
    #[command(visible_alias = "scr")]
    Screen {
        /// Discount rate as a decimal (default: each ticker's CAPM cost of equity).
        #[arg(long, value_name = "RATE", value_parser = parse_rate)]
        discount: Option<f64>,
        /// Estimation method for the cost of equity.
        #[arg(long, value_enum)]
        method: Option<MethodArg>,
    },
    /// Latest value of FRED economic series, e.g. UNRATE DGS10 (live data: FRED_KEY).
    #[command(visible_alias = "s")]
    Stat {
        /// FRED series codes.
        #[arg(required = true, value_name = "SERIES")]
        series: Vec<String>,
    },
    /// History of FRED economic series (default: the last year).
    #[command(visible_alias = "ss")]
    Stats {
        /// FRED series codes.
        #[arg(required = true, value_name = "SERIES")]
        series: Vec<String>,
        /// Window.
        #[command(flatten)]
        window: WindowArgs,
    },
    /// Chart: a ticker's dividends, the fitted trend and the next modelled payments, with the
    /// model value in the title (live data).
    #[command(visible_alias = "plot-divs")]
    PlotDividends {
        /// Ticker.
        ticker: String,
        /// Discount rate as a decimal (default: the CAPM cost of equity).
        #[arg(long, value_name = "RATE", value_parser = parse_rate)]
        discount: Option<f64>,
        /// Estimation method for the cost of equity.
        #[arg(long, value_enum)]
        method: Option<MethodArg>,
    },
}

/// `stratus package …`.
#[derive(Debug, Subcommand)]
pub enum PackageTarget {
    /// The AWS Lambda zip: the `stratus-lambda` binary as `bootstrap`, for the provided.al2023
    /// runtime (build it first: `cargo build --release -p stratus-lambda`).
    Lambda {
        /// The Lambda binary (default: target/release/stratus-lambda).
        #[arg(long, value_name = "FILE")]
        binary: Option<PathBuf>,
        /// The zip to write.
        #[arg(
            long,
            value_name = "FILE",
            default_value = "target/lambda/stratus-lambda.zip"
        )]
        out: PathBuf,
    },
}
