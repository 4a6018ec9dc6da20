//! The deployment as a resource model: which functions exist, what each runs, when, and exactly
//! what each touches. The template, the per-function IAM roles, `deploy policy`, `deploy verify`
//! and `deploy cost` all read this one model, so a policy cannot drift from what a function does.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::{Value, json};
use stratus_ingest::IngestConfig as IngestFile;
use stratus_ingest::config::ProviderName;
use stratus_store::tables::{
    AnalyticsLayout, CacheTables, CorrelationLayout, TableKind, TaskTables,
};

use crate::cron;
use crate::manifest::{CacheMode, Compute, Layout, Manifest};

/// What a function does.
#[derive(Debug, Clone, PartialEq)]
pub enum Role {
    /// Serves the HTTP API (every verb).
    Api,
    /// Runs one verb per event.
    Verb(String),
    /// Runs ingest configs and exports to the bucket.
    Ingest,
    /// One role of the job system.
    Job(JobRole),
}

/// The job system's functions (sosw's Essentials and a worker).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum JobRole {
    /// Job → tasks (invoked with a job; continues itself near its timeout).
    Scheduler,
    /// Every minute: claims queued tasks and invokes the worker.
    Orchestrator,
    /// Every minute: archives, retries, expires, buries.
    Scavenger,
    /// Marks tasks completed or failed for the worker.
    Assistant,
    /// Performs tasks.
    Worker,
}

impl JobRole {
    /// Every role, in deployment order.
    pub const ALL: [JobRole; 5] = [
        JobRole::Scheduler,
        JobRole::Orchestrator,
        JobRole::Scavenger,
        JobRole::Assistant,
        JobRole::Worker,
    ];

    /// The `STRATUS_FUNCTION` mode (and the function's short name).
    pub fn mode(self) -> &'static str {
        match self {
            JobRole::Scheduler => "jobs-scheduler",
            JobRole::Orchestrator => "jobs-orchestrator",
            JobRole::Scavenger => "jobs-scavenger",
            JobRole::Assistant => "jobs-assistant",
            JobRole::Worker => "jobs-worker",
        }
    }
}

/// One EventBridge schedule of a function.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    /// The job's name (from the manifest or schedule.toml).
    pub name: String,
    /// The cron expression as written (Unix, UTC).
    pub cron: String,
    /// EventBridge expressions (two when Unix cron restricts both day fields).
    pub expressions: Vec<String>,
    /// The event the rule sends (`None`: EventBridge's own scheduled event).
    pub input: Option<Value>,
}

/// What a function may touch: the IAM role is derived from this and nothing else.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Access {
    /// Cache tables, each with whether it is written.
    pub tables: BTreeMap<TableKind, bool>,
    /// Writes (and reads back) objects under the export prefix.
    pub exports: bool,
    /// SSM parameters (secrets) it reads at cold start.
    pub secrets: Vec<String>,
    /// Sends failed asynchronous events to the dead-letter queue.
    pub dead_letters: bool,
    /// The job system's tables, as this role uses them.
    pub jobs: Option<JobRole>,
    /// Functions it invokes (by name).
    pub invoke: Vec<String>,
}

/// One Lambda function.
#[derive(Debug, Clone, PartialEq)]
pub struct Function {
    /// Short name: `api`, `ingest` or a `[[function]]`'s name.
    pub short: String,
    /// CloudFormation logical id prefix (`Api`, `Ingest`, `FnNightlyProfiles`).
    pub logical: String,
    /// Full function name.
    pub name: String,
    /// What it does.
    pub role: Role,
    /// Memory (MB).
    pub memory_mb: u32,
    /// Timeout (s).
    pub timeout_s: u32,
    /// Environment (names of secrets only, never values).
    pub env: BTreeMap<String, String>,
    /// Schedules.
    pub schedules: Vec<Schedule>,
    /// What it touches.
    pub access: Access,
}

/// A deployment that cannot be modelled (a schedule or ingest file).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {reason}")]
pub struct ModelError {
    /// The file at fault.
    pub file: String,
    /// What is wrong and how to fix it.
    pub reason: String,
}

/// The whole deployment.
#[derive(Debug, Clone, PartialEq)]
pub struct Deployment {
    /// The manifest.
    pub manifest: Manifest,
    /// Cache tables (DynamoDB mode).
    pub tables: Option<CacheTables>,
    /// Functions, API first.
    pub functions: Vec<Function>,
    /// Ingest jobs run by an EC2 schedule instead of a function.
    pub ec2_jobs: Vec<Schedule>,
    /// The provider keys (variable names) those jobs' sources need.
    pub ec2_secrets: Vec<String>,
    /// The job system's tables (`[jobs]` enabled).
    pub task_tables: Option<TaskTables>,
}

/// The tables a verb reads and (`true`) writes, as found by counting every served verb's store
/// operations (`tests/verb_tables.rs` holds this map to what the verbs do: nothing they touch
/// is missing, nothing they never touch is named). Verbs that compute risk profiles or
/// correlations cache them; `live` (a provider key is deployed) adds writes to the market data a
/// verb reads, which a live provider refreshes.
pub fn verb_tables(verb: &str, live: bool) -> BTreeMap<TableKind, bool> {
    use TableKind::{Correlations, Interest, Prices, Profile};
    let grants: &[(TableKind, bool)] = match verb {
        "risk-profile"
        | "sharpe-ratio"
        | "capm-beta"
        | "capm-equity"
        | "optimize-portfolio"
        | "max-return"
        | "optimize-cvar"
        | "efficient-frontier"
        | "plot-efficient-frontier"
        | "black-litterman"
        | "risk-parity"
        | "hrp"
        | "herc"
        | "max-diversification"
        | "inverse-volatility"
        | "equal-weight"
        | "screen"
        | "discount-dividend-model" => &[
            (Prices, false),
            (Interest, false),
            (Profile, true),
            (Correlations, true),
        ],
        "correlation" | "plot-correlation" => {
            &[(Prices, false), (Profile, false), (Correlations, true)]
        }
        "covariance" => &[(Prices, false), (Profile, true), (Correlations, true)],
        "var" | "cvar" | "plot-risk-profile" => {
            &[(Prices, false), (Profile, true), (Correlations, false)]
        }
        "correlations"
        | "mov-averages"
        | "prices"
        | "tickers"
        | "close"
        | "asset"
        | "plot-correlations"
        | "plot-moving-averages"
        | "plot-return-qq"
        | "plot-return-distribution" => &[(Prices, false)],
        "yield-curve" | "risk-free" | "plot-yield-curve" | "interest" => &[(Interest, false)],
        // Risk reports and backtests read returns and the risk-free rate; they cache nothing.
        "risk-report"
        | "plot-drawdown"
        | "plot-risk-contribution"
        | "backtest"
        | "plot-backtest" => &[(Prices, false), (Interest, false)],
        // Live-provider data (dividends, FRED series) and the watchlist file: no tables.
        _ => &[],
    };
    grants
        .iter()
        .map(|(kind, write)| {
            let refreshed = live && matches!(kind, Prices | Interest);
            (*kind, *write || refreshed)
        })
        .collect()
}

/// The settings every function's store needs, as environment variables.
pub fn cache_env(manifest: &Manifest) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    match manifest.cache.mode {
        CacheMode::Dynamodb => {
            env.insert("STRATUS_CACHE_MODE".into(), "dynamodb".into());
            env.insert(
                "STRATUS_TABLE_PREFIX".into(),
                manifest.cache.table_prefix.clone(),
            );
            let layout = match manifest.cache.layout {
                Layout::Scrilla => "scrilla",
                Layout::CollisionFree => "collision-free",
            };
            env.insert("STRATUS_DYNAMO_LAYOUT".into(), layout.into());
        }
        CacheMode::Sqlite => {
            env.insert("STRATUS_CACHE_MODE".into(), "sqlite".into());
            env.insert("STRATUS_HOME".into(), "/tmp/stratus".into());
        }
        // The URL, password included, comes from SSM at cold start (STRATUS_SECRET_PARAMETERS).
        CacheMode::Database => {
            env.insert("STRATUS_HOME".into(), "/tmp/stratus".into());
        }
        CacheMode::Snapshot => {
            env.insert("STRATUS_STORE".into(), manifest.cache.snapshot.clone());
            env.insert("STRATUS_HOME".into(), "/tmp/stratus".into());
        }
    }
    env.retain(|_, v| !v.is_empty());
    env
}

/// Environment variables naming which provider keys a provider needs.
fn provider_secret(provider: ProviderName) -> Option<&'static str> {
    match provider {
        ProviderName::Alphavantage => Some("ALPHA_VANTAGE_KEY"),
        ProviderName::Fred => Some("FRED_KEY"),
        _ => None,
    }
}

fn camel(name: &str) -> String {
    name.split(['-', '_'])
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut c = p.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// The job system's five functions.
fn job_functions(manifest: &Manifest) -> Vec<Function> {
    let name = |role: JobRole| manifest.function_name(role.mode());
    let worker_timeout = manifest.jobs.worker_timeout_s.unwrap_or(300);
    let every_minute = || {
        vec![Schedule {
            name: "every-minute".into(),
            cron: "* * * * *".into(),
            expressions: vec!["rate(1 minute)".into()],
            input: None,
        }]
    };
    JobRole::ALL
        .iter()
        .map(|&role| {
            let mut env = cache_env(manifest);
            env.insert("STRATUS_FUNCTION".into(), role.mode().into());
            env.insert(
                "STRATUS_JOBS_TABLE_PREFIX".into(),
                manifest.jobs.table_prefix.clone(),
            );
            env.insert(
                "STRATUS_JOBS_CONFIG_TABLE".into(),
                manifest.jobs.config_table.clone(),
            );
            let mut access = Access {
                jobs: Some(role),
                dead_letters: true,
                ..Access::default()
            };
            let (memory_mb, timeout_s, schedules) = match role {
                JobRole::Scheduler => {
                    access.invoke = vec![name(role)];
                    (1024, 900, Vec::new())
                }
                JobRole::Orchestrator | JobRole::Scavenger => {
                    // The worker and its limits, under whatever the config table adds.
                    let workers = json!({ name(JobRole::Worker): {
                        "arn": name(JobRole::Worker),
                        "max_simultaneous_invocations": manifest.jobs.max_concurrency,
                        "timeout": worker_timeout,
                    }});
                    env.insert("STRATUS_JOBS_WORKERS".into(), workers.to_string());
                    if role == JobRole::Orchestrator {
                        access.invoke = vec![name(JobRole::Worker)];
                    }
                    (256, 60, every_minute())
                }
                JobRole::Assistant => (256, 30, Vec::new()),
                JobRole::Worker => {
                    env.insert("STRATUS_JOBS_ASSISTANT".into(), name(JobRole::Assistant));
                    env.insert(
                        "STRATUS_EXPORT_URL".into(),
                        format!("s3://${{ExportBucket}}/{}", manifest.export_prefix()),
                    );
                    if !manifest.secrets.is_empty() {
                        let pairs: Vec<String> = manifest
                            .secrets
                            .iter()
                            .map(|n| format!("{n}={}", manifest.secret_parameter(n)))
                            .collect();
                        env.insert("STRATUS_SECRET_PARAMETERS".into(), pairs.join(","));
                        access.secrets = manifest
                            .secrets
                            .iter()
                            .map(|n| manifest.secret_parameter(n))
                            .collect();
                    }
                    access.tables = TableKind::ALL.iter().map(|k| (*k, true)).collect();
                    access.exports = true;
                    access.invoke = vec![name(JobRole::Assistant)];
                    (
                        manifest.jobs.worker_memory_mb.unwrap_or(manifest.memory_mb),
                        worker_timeout,
                        Vec::new(),
                    )
                }
            };
            env.retain(|_, v| !v.is_empty());
            Function {
                short: role.mode().into(),
                logical: camel(role.mode()),
                name: name(role),
                role: Role::Job(role),
                memory_mb,
                timeout_s,
                env,
                schedules,
                access,
            }
        })
        .collect()
}

/// The largest event an EventBridge target takes as constant input.
const MAX_INPUT: usize = 8192;

impl Deployment {
    /// The deployment of `manifest`, whose relative paths are relative to `base`.
    pub fn new(manifest: &Manifest, base: &Path) -> Result<Deployment, ModelError> {
        let tables = (manifest.cache.mode == CacheMode::Dynamodb).then(|| {
            CacheTables::new(
                &manifest.cache.table_prefix,
                match manifest.cache.layout {
                    Layout::Scrilla => AnalyticsLayout::Scrilla,
                    Layout::CollisionFree => AnalyticsLayout::CollisionFree,
                },
                CorrelationLayout::IdKeyed,
            )
        });
        let secret_env = |names: &[String]| -> Vec<String> {
            names.iter().map(|n| manifest.secret_parameter(n)).collect()
        };
        let mut functions = Vec::new();
        let base_env = |role: &str| -> BTreeMap<String, String> {
            let mut env = cache_env(manifest);
            if role == "ingest" {
                // Rendered with the bucket's name by the template (`Fn::Sub`).
                env.insert(
                    "STRATUS_EXPORT_URL".into(),
                    format!("s3://${{ExportBucket}}/{}", manifest.export_prefix()),
                );
            }
            env
        };
        let with_secrets = |mut env: BTreeMap<String, String>, names: &[String]| {
            if !names.is_empty() {
                let pairs: Vec<String> = names
                    .iter()
                    .map(|n| format!("{n}={}", manifest.secret_parameter(n)))
                    .collect();
                env.insert("STRATUS_SECRET_PARAMETERS".into(), pairs.join(","));
            }
            env
        };
        let table_access = |wanted: BTreeMap<TableKind, bool>| match manifest.cache.mode {
            CacheMode::Dynamodb => wanted,
            CacheMode::Sqlite | CacheMode::Database | CacheMode::Snapshot => BTreeMap::new(),
        };
        if manifest.api.enabled {
            let all = TableKind::ALL.iter().map(|k| (*k, true)).collect();
            functions.push(Function {
                short: "api".into(),
                logical: "Api".into(),
                name: manifest.function_name("api"),
                role: Role::Api,
                memory_mb: manifest.api_memory(),
                timeout_s: manifest.api_timeout(),
                env: with_secrets(base_env("api"), &manifest.secrets),
                schedules: Vec::new(),
                access: Access {
                    tables: table_access(all),
                    exports: false,
                    secrets: secret_env(&manifest.secrets),
                    dead_letters: false,
                    ..Access::default()
                },
            });
        }
        for f in &manifest.functions {
            let mut env = with_secrets(base_env("function"), &manifest.secrets);
            env.insert("STRATUS_FUNCTION".into(), f.verb.clone());
            if !f.params.is_empty() {
                env.insert(
                    "STRATUS_FUNCTION_PARAMS".into(),
                    serde_json::to_string(&f.params).unwrap_or_default(),
                );
            }
            let schedules = match &f.schedule {
                Some(expression) => vec![Schedule {
                    name: f.name.clone(),
                    cron: expression.clone(),
                    expressions: cron::to_eventbridge(expression).map_err(|e| ModelError {
                        file: "manifest".into(),
                        reason: e.to_string(),
                    })?,
                    input: None,
                }],
                None => Vec::new(),
            };
            let dead_letters = !schedules.is_empty();
            functions.push(Function {
                short: f.name.clone(),
                logical: format!("Fn{}", camel(&f.name)),
                name: manifest.function_name(&f.name),
                role: Role::Verb(f.verb.clone()),
                memory_mb: f.memory_mb.unwrap_or(manifest.memory_mb),
                timeout_s: f.timeout_s.unwrap_or(manifest.timeout_s),
                env,
                schedules,
                access: Access {
                    tables: table_access(verb_tables(&f.verb, !manifest.secrets.is_empty())),
                    exports: false,
                    secrets: secret_env(&manifest.secrets),
                    dead_letters,
                    ..Access::default()
                },
            });
        }
        let (ingest_jobs, ingest_secrets) = ingest_schedules(manifest, base)?;
        let mut ec2_jobs = Vec::new();
        let mut ec2_secrets = Vec::new();
        if !ingest_jobs.is_empty() {
            match manifest.ingest.compute {
                Compute::Lambda => {
                    let mut env = with_secrets(base_env("ingest"), &ingest_secrets);
                    env.insert("STRATUS_FUNCTION".into(), "ingest".into());
                    functions.push(Function {
                        short: "ingest".into(),
                        logical: "Ingest".into(),
                        name: manifest.function_name("ingest"),
                        role: Role::Ingest,
                        memory_mb: manifest.ingest.memory_mb.unwrap_or(manifest.memory_mb),
                        timeout_s: manifest.ingest.timeout_s.unwrap_or(manifest.timeout_s),
                        env,
                        schedules: ingest_jobs,
                        access: Access {
                            tables: table_access(BTreeMap::from([
                                (TableKind::Prices, true),
                                (TableKind::Interest, true),
                                (TableKind::Profile, true),
                                (TableKind::Correlations, true),
                            ])),
                            exports: true,
                            secrets: secret_env(&ingest_secrets),
                            dead_letters: true,
                            ..Access::default()
                        },
                    });
                }
                Compute::Ec2Schedule => {
                    ec2_jobs = ingest_jobs;
                    ec2_secrets = ingest_secrets;
                }
            }
        }
        let task_tables = manifest.jobs.enabled.then(|| {
            functions.extend(job_functions(manifest));
            TaskTables::new(&manifest.jobs.table_prefix, &manifest.jobs.config_table)
        });
        Ok(Deployment {
            manifest: manifest.clone(),
            tables,
            functions,
            ec2_jobs,
            ec2_secrets,
            task_tables,
        })
    }

    /// Every SSM parameter any part of the deployment reads.
    pub fn secret_parameters(&self) -> BTreeSet<String> {
        self.functions
            .iter()
            .flat_map(|f| f.access.secrets.iter().cloned())
            .collect()
    }

    /// Whether anything is scheduled (a dead-letter queue is then needed).
    pub fn has_schedules(&self) -> bool {
        self.functions.iter().any(|f| !f.schedules.is_empty()) || !self.ec2_jobs.is_empty()
    }
}

/// The ingest jobs of the manifest's schedule file as schedules whose event carries the job's
/// ingest config, with the provider keys their sources need. No schedule file: no ingest.
fn ingest_schedules(
    manifest: &Manifest,
    base: &Path,
) -> Result<(Vec<Schedule>, Vec<String>), ModelError> {
    let path = base.join(&manifest.ingest.schedule);
    if !path.exists() {
        return Ok((Vec::new(), Vec::new()));
    }
    let shown = path.display().to_string();
    let fail = |file: &str, reason: String| ModelError {
        file: file.to_string(),
        reason,
    };
    let jobs = stratus_ingest::schedule::load(&path).map_err(|e| fail(&shown, e.reason))?;
    let mut schedules = Vec::new();
    let mut secrets = BTreeSet::new();
    if !jobs.is_empty() && manifest.cache.mode == CacheMode::Snapshot {
        return Err(fail(
            &shown,
            "a snapshot store is read-only, so scheduled ingest has nowhere to write; ingest into a writable store and publish it with `stratus cache snapshot`, or remove the schedule".into(),
        ));
    }
    if manifest.cache.mode == CacheMode::Database {
        secrets.insert(crate::manifest::STORE_SECRET.to_string());
    }
    for job in jobs {
        let at = format!("job {:?}", job.name);
        if job.command.first().map(String::as_str) != Some("ingest") {
            return Err(fail(
                &shown,
                format!(
                    "{at}: only `ingest` jobs are deployed from a schedule file; run an analytics verb on a schedule with a [[function]] in the manifest (verb, params, schedule)"
                ),
            ));
        }
        let mut config = None;
        let mut full = false;
        let mut force = false;
        let mut args = job.command[1..].iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--config" => config = args.next().cloned(),
                "--full" => full = true,
                "--force" => force = true,
                other => {
                    return Err(fail(
                        &shown,
                        format!(
                            "{at}: `{other}` cannot be deployed (the export destination is the stack's bucket); use --config FILE, --full, --force"
                        ),
                    ));
                }
            }
        }
        let config = config.ok_or_else(|| {
            fail(
                &shown,
                format!("{at}: name its ingest config with --config FILE"),
            )
        })?;
        let config_path = path.parent().unwrap_or(base).join(&config);
        let config_shown = config_path.display().to_string();
        let text = std::fs::read_to_string(&config_path).map_err(|e| {
            fail(
                &config_shown,
                format!("cannot read it ({e}); {at} names it"),
            )
        })?;
        let parsed =
            IngestFile::parse(&config_shown, &text).map_err(|e| fail(&config_shown, e.reason))?;
        for source in &parsed.sources {
            if let Some(secret) = provider_secret(source.provider) {
                secrets.insert(secret.to_string());
            }
        }
        let input = json!({"config": text, "full": full, "force": force});
        let size = input.to_string().len();
        if size > MAX_INPUT {
            return Err(fail(
                &config_shown,
                format!(
                    "{size} bytes as an EventBridge event; a scheduled event holds {MAX_INPUT}: split the sources over several configs and jobs"
                ),
            ));
        }
        schedules.push(Schedule {
            name: job.name.clone(),
            cron: job.expression.clone(),
            expressions: cron::to_eventbridge(&job.expression)
                .map_err(|e| fail(&shown, e.to_string()))?,
            input: Some(input),
        });
    }
    Ok((schedules, secrets.into_iter().collect()))
}
