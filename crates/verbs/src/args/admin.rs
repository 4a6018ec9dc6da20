//! The commands that manage the machine rather than answer questions: the cache, batch jobs,
//! packaging and deployment (never served over HTTP or Lambda; see [`super::Verb`]).

use super::*;

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
