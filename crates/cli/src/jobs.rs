//! `stratus jobs`: batch jobs on the job system (sosw's task model) with local workers.
//!
//! The task store is the configured store (the SQLite file, or DynamoDB with
//! `CACHE_MODE=dynamodb`); `run` and `work` are the four roles in one process, so a laptop runs
//! the same lifecycle — claims, retries, expiry, the dead archive — as the deployed functions.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use serde_json::{Map, Value, json};
use stratus_analytics::AppError;
use stratus_app::Settings;
use stratus_app::tasks::{app_error, open_task_store};
use stratus_jobs::pool::{self, PoolOptions, Until};
use stratus_jobs::scavenger::RedriveFilter;
use stratus_jobs::status::JobStatus;
use stratus_jobs::{Jobs, JobsError, SystemClock};

use crate::args::{JobsAction, JobsConfigAction};
use crate::output::Output;

pub(crate) fn jobs_error(error: JobsError) -> AppError {
    match error {
        JobsError::Job(e) => AppError::InvalidInput {
            field: "job",
            message: e.0,
        },
        JobsError::Store(e) => app_error(e),
        JobsError::NotFound(message) => AppError::InvalidInput {
            field: "job",
            message,
        },
    }
}

/// The job system over the configured task store.
pub(crate) async fn open(settings: &Settings) -> anyhow::Result<Arc<Jobs>> {
    let store = open_task_store(settings, true).await?;
    Ok(Arc::new(Jobs::new(
        store,
        Arc::new(SystemClock),
        &settings.jobs.env,
        settings.jobs.config_ttl,
        "stratus-cli",
    )))
}

/// Runs one `stratus jobs` action.
pub(crate) fn run(
    action: &JobsAction,
    settings: Settings,
    env: &dyn Fn(&str) -> Option<String>,
    quiet: bool,
) -> anyhow::Result<Output> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let jobs = open(&settings).await?;
        match action {
            JobsAction::Submit {
                file,
                verb,
                tickers_file,
                params,
                labourer,
                options,
            } => {
                let job = match (file, verb, tickers_file) {
                    (Some(file), _, _) => job_file(file)?,
                    (None, Some(verb), Some(tickers)) => {
                        verb_job(verb, tickers, params, options, labourer.as_deref())?
                    }
                    _ => anyhow::bail!("give a job file, or --verb with --tickers-file"),
                };
                submit(&jobs, job, &settings).await
            }
            JobsAction::Run {
                job,
                concurrency,
                labourer,
            } => {
                let until = match job {
                    Some(job) => {
                        jobs.status(job).await.map_err(jobs_error)?;
                        // A job whose tasks are for another worker would never finish here.
                        let tasks = jobs.store.job(job).await.map_err(app_error)?;
                        let others: std::collections::BTreeSet<&str> = tasks
                            .live
                            .iter()
                            .chain(&tasks.retry)
                            .map(|t| t.labourer_id.as_str())
                            .filter(|l| *l != labourer)
                            .collect();
                        if let Some(other) = others.first() {
                            return Err(AppError::InvalidInput {
                                field: "labourer",
                                message: format!(
                                    "job {job} has tasks for worker {other:?}; run them here with --labourer {other}, or let its deployed orchestrator run them"
                                ),
                            }
                            .into());
                        }
                        Until::JobDone(job.clone())
                    }
                    None => Until::Idle,
                };
                work(&jobs, &settings, env, labourer, *concurrency, until, quiet).await
            }
            JobsAction::Work {
                concurrency,
                labourer,
                until_idle,
            } => {
                let until = if *until_idle {
                    Until::Idle
                } else {
                    Until::Forever
                };
                work(&jobs, &settings, env, labourer, *concurrency, until, quiet).await
            }
            JobsAction::Status { job } => {
                let status = jobs.status(job).await.map_err(jobs_error)?;
                Ok(status_output(&status))
            }
            JobsAction::Results { job } => results(&jobs, job).await,
            JobsAction::Redrive {
                tasks,
                labourer,
                since,
                until,
            } => {
                redrive(
                    &jobs,
                    tasks,
                    labourer.as_deref(),
                    since.as_deref(),
                    until.as_deref(),
                )
                .await
            }
            JobsAction::Config { action } => config(&jobs, action).await,
        }
    })
}

/// Reads a job file (TOML) into the job's JSON; an ingest job's config file is read now and
/// travels as text in every task.
fn job_file(path: &Path) -> anyhow::Result<Map<String, Value>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the job file {}", path.display()))?;
    let table: toml::Table = toml::from_str(&text).map_err(|e| AppError::InvalidInput {
        field: "job",
        message: format!("{}: {e}", path.display()),
    })?;
    let mut job = match serde_json::to_value(table)? {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    if let Some(Value::String(file)) = job.get("ingest_config").cloned()
        && !file.contains('\n')
        && file.ends_with(".toml")
    {
        let relative = path.parent().unwrap_or(Path::new(".")).join(&file);
        let config = std::fs::read_to_string(&relative).with_context(|| {
            format!(
                "cannot read the ingest config {} the job names",
                relative.display()
            )
        })?;
        // Chunk by source and symbol: sources = {name = {symbols = {SYM = null, …}}}.
        let parsed = stratus_ingest::IngestConfig::parse(&relative.display().to_string(), &config)?;
        let sources: Map<String, Value> = parsed
            .sources
            .iter()
            .map(|s| {
                let symbols: Map<String, Value> =
                    s.symbols.iter().map(|t| (t.clone(), Value::Null)).collect();
                let sub = if symbols.is_empty() {
                    Value::Null
                } else {
                    json!({ "symbols": symbols })
                };
                (s.name.clone(), sub)
            })
            .collect();
        job.insert("ingest_config".into(), Value::String(config));
        job.entry("work").or_insert(json!("ingest"));
        job.entry("job_schema_name").or_insert(json!("ingest"));
        job.entry("sources").or_insert(Value::Object(sources));
    }
    Ok(job)
}

/// A job of one verb call per line of a tickers file.
fn verb_job(
    verb: &str,
    tickers_file: &Path,
    params: &[String],
    options: &[String],
    labourer: Option<&str>,
) -> anyhow::Result<Map<String, Value>> {
    let text = std::fs::read_to_string(tickers_file)
        .with_context(|| format!("cannot read the tickers file {}", tickers_file.display()))?;
    let tasks: Vec<Value> = text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            let tickers: Vec<Value> = line
                .split(|c: char| c == ',' || c.is_whitespace())
                .filter(|t| !t.is_empty())
                .map(|t| Value::String(t.to_string()))
                .collect();
            json!({ "tickers": tickers })
        })
        .collect();
    if tasks.is_empty() {
        return Err(AppError::InvalidInput {
            field: "tickers-file",
            message: format!(
                "{} has no lines of tickers; write one call per line, e.g. AAPL MSFT",
                tickers_file.display()
            ),
        }
        .into());
    }
    let mut map = Map::new();
    for pair in params {
        let (name, value) = pair.split_once('=').ok_or_else(|| AppError::InvalidInput {
            field: "param",
            message: format!("--param {pair:?}: expected NAME=VALUE, e.g. start=2023-01-03"),
        })?;
        map.insert(
            name.trim().trim_start_matches("--").to_string(),
            Value::String(value.to_string()),
        );
    }
    let mut rest = options.iter().peekable();
    while let Some(option) = rest.next() {
        let Some(name) = option.strip_prefix("--") else {
            return Err(AppError::InvalidInput {
                field: "options",
                message: format!("{option:?}: the verb's options go after `--` as --name value; the tickers come from --tickers-file"),
            }
            .into());
        };
        match name.split_once('=') {
            Some((name, value)) => {
                map.insert(name.to_string(), Value::String(value.to_string()));
            }
            None => {
                let value = match rest.peek() {
                    Some(next) if !next.starts_with("--") => {
                        Value::String(rest.next().cloned().unwrap_or_default())
                    }
                    _ => Value::Bool(true),
                };
                map.insert(name.to_string(), value);
            }
        }
    }
    let mut job = Map::new();
    job.insert("verb".into(), Value::String(verb.to_string()));
    job.insert("params".into(), Value::Object(map));
    job.insert("tasks".into(), Value::Array(tasks));
    if let Some(labourer) = labourer {
        job.insert("labourer".into(), Value::String(labourer.to_string()));
    }
    Ok(job)
}

pub(crate) async fn submit(
    jobs: &Jobs,
    mut job: Map<String, Value>,
    settings: &Settings,
) -> anyhow::Result<Output> {
    let today = settings.live.today.unwrap_or_else(|| {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        chrono::DateTime::from_timestamp(now, 0).map_or_else(Default::default, |t| t.date_naive())
    });
    // The whole job is checked before a task is written.
    let config = jobs.config.get().await.map_err(app_error)?;
    let payloads =
        stratus_jobs::scheduler::plan(&job, &config, today).map_err(|e| jobs_error(e.into()))?;
    if payloads.is_empty() {
        return Err(AppError::InvalidInput {
            field: "job",
            message: "the job makes no tasks; give tickers, tasks or sources".into(),
        }
        .into());
    }
    stratus_work::check_job(&payloads).map_err(|e| jobs_error(e.into()))?;
    job.remove("name");
    let submission = jobs.submit(&job, today, None).await.map_err(jobs_error)?;
    Ok(Output::text_table(
        json!({ "job": submission.job_id, "tasks": submission.tasks }),
        vec!["job".into(), "tasks".into(), "new".into()],
        vec![vec![
            submission.job_id.clone(),
            submission.tasks.to_string(),
            submission.created.to_string(),
        ]],
    )
    .note(format!(
        "run it with: stratus jobs run {} --concurrency 2",
        submission.job_id
    )))
}

pub(crate) async fn work(
    jobs: &Arc<Jobs>,
    settings: &Settings,
    env: &dyn Fn(&str) -> Option<String>,
    labourer: &str,
    concurrency: u16,
    until: Until,
    quiet: bool,
) -> anyhow::Result<Output> {
    let store = stratus_app::open_store(settings).await?;
    let analytics = stratus_app::analytics(store, settings);
    crate::seed_with_progress(&analytics, quiet).await?;
    let worker = worker(analytics, settings, env);
    let bar = progress(quiet);
    let draw = |status: &JobStatus| {
        bar.set_length(status.tasks);
        bar.set_position(status.completed + status.dead);
        bar.set_message(format!(
            "{} running, {} pending, {} waiting to retry, {} dead",
            status.running, status.pending, status.failed, status.dead
        ));
    };
    let options = PoolOptions {
        labourer_id: labourer.to_string(),
        concurrency: usize::from(concurrency),
        scavenge: true,
        scavenge_every: Duration::from_secs(1),
        poll: Duration::from_millis(200),
        until,
    };
    let report = pool::run(jobs.clone(), Arc::new(worker), options, &draw)
        .await
        .map_err(jobs_error)?;
    bar.finish_and_clear();
    Ok(match report.status {
        Some(status) => status_output(&status).note(format!(
            "this process completed {} task(s) of the queue (any job), reported {} failure(s)",
            report.completed, report.failed
        )),
        None => Output::text_table(
            json!({ "completed": report.completed, "failed": report.failed }),
            vec!["completed".into(), "failed".into()],
            vec![vec![
                report.completed.to_string(),
                report.failed.to_string(),
            ]],
        ),
    })
}

/// A worker over `analytics` that sees the registry's variables and the AWS credentials of `env`
/// (an ingest task's secrets), nothing else.
pub(crate) fn worker(
    analytics: stratus_analytics::Analytics,
    settings: &Settings,
    env: &dyn Fn(&str) -> Option<String>,
) -> stratus_work::Worker {
    let owned: std::collections::HashMap<String, String> = stratus_app::ENV_VARS
        .iter()
        .flat_map(|v| v.names.iter())
        .chain(
            [
                "AWS_ACCESS_KEY_ID",
                "AWS_SECRET_ACCESS_KEY",
                "AWS_SESSION_TOKEN",
                "AWS_REGION",
                "AWS_ENDPOINT_URL",
            ]
            .iter(),
        )
        .filter_map(|name| env(name).map(|v| (name.to_string(), v)))
        .collect();
    stratus_work::Worker::new(
        analytics,
        settings.live.clone(),
        Arc::new(move |name: &str| owned.get(name).cloned()),
    )
}

fn progress(quiet: bool) -> indicatif::ProgressBar {
    use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
    let bar = ProgressBar::with_draw_target(
        None,
        if quiet {
            ProgressDrawTarget::hidden()
        } else {
            ProgressDrawTarget::stderr()
        },
    );
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} tasks  {per_sec}  {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

fn status_output(status: &JobStatus) -> Output {
    let json = serde_json::to_value(status).unwrap_or(Value::Null);
    let done = status.completed + status.dead;
    let width = 30usize;
    let filled = if status.tasks == 0 {
        0
    } else {
        (done as usize * width) / status.tasks as usize
    };
    let bar = format!(
        "[{}{}] {done}/{}",
        "#".repeat(filled),
        "-".repeat(width - filled),
        status.tasks
    );
    Output::text_table(
        json,
        [
            "job",
            "tasks",
            "pending",
            "running",
            "completed",
            "failed",
            "dead",
        ]
        .map(String::from)
        .to_vec(),
        vec![vec![
            status.job.clone(),
            status.tasks.to_string(),
            status.pending.to_string(),
            status.running.to_string(),
            status.completed.to_string(),
            status.failed.to_string(),
            status.dead.to_string(),
        ]],
    )
    .note(if status.is_done() {
        format!("{bar}  done")
    } else {
        bar
    })
}

async fn results(jobs: &Jobs, job: &str) -> anyhow::Result<Output> {
    let results = jobs.results(job).await.map_err(jobs_error)?;
    let short = |v: &Value| {
        let text = v.to_string();
        if text.chars().count() > 60 {
            format!("{}…", text.chars().take(59).collect::<String>())
        } else {
            text
        }
    };
    let mut rows: Vec<Vec<String>> = results
        .results
        .iter()
        .map(|r| {
            vec![
                r.task.clone(),
                "completed".into(),
                short(&r.params),
                short(&r.result),
            ]
        })
        .collect();
    rows.extend(results.dead.iter().map(|d| {
        vec![
            d.task.clone(),
            format!("dead after {}", d.attempts),
            short(&d.params),
            d.error.clone().unwrap_or_default(),
        ]
    }));
    let json = serde_json::to_value(&results).unwrap_or(Value::Null);
    Ok(Output::text_table(
        json,
        ["task", "state", "params", "result"]
            .map(String::from)
            .to_vec(),
        rows,
    ))
}

fn parse_time(field: &'static str, text: &str) -> Result<f64, AppError> {
    if let Ok(date) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(date
            .and_hms_opt(0, 0, 0)
            .map_or(0.0, |d| d.and_utc().timestamp() as f64));
    }
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| t.timestamp() as f64 + f64::from(t.timestamp_subsec_micros()) / 1e6)
        .map_err(|_| AppError::InvalidInput {
            field,
            message: format!(
                "{text:?} is not a time; use YYYY-MM-DD or RFC 3339 (2026-11-30T12:00:00Z)"
            ),
        })
}

async fn redrive(
    jobs: &Jobs,
    tasks: &[String],
    labourer: Option<&str>,
    since: Option<&str>,
    until: Option<&str>,
) -> anyhow::Result<Output> {
    let filter = match labourer {
        Some(labourer) => RedriveFilter::Labourer {
            labourer_id: labourer.to_string(),
            from: since
                .map(|t| parse_time("since", t))
                .transpose()?
                .unwrap_or(0.0),
            to: until
                .map(|t| parse_time("until", t))
                .transpose()?
                .unwrap_or(f64::INFINITY),
        },
        None => RedriveFilter::Ids(tasks.to_vec()),
    };
    let redriven = jobs.redrive(&filter).await.map_err(jobs_error)?;
    let ids: Vec<String> = redriven.iter().map(|t| t.task_id.clone()).collect();
    Ok(Output::text_table(
        json!({ "redriven": ids }),
        vec!["redriven".into()],
        ids.iter().map(|id| vec![id.clone()]).collect(),
    )
    .note(format!("{} dead task(s) queued again", ids.len())))
}

async fn config(jobs: &Jobs, action: &JobsConfigAction) -> anyhow::Result<Output> {
    let config = match action {
        JobsConfigAction::Get { .. } => jobs.config.get().await,
        JobsConfigAction::Set { key, value } => {
            let value =
                serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.clone()));
            jobs.config.set(key, value).await
        }
    }
    .map_err(app_error)?;
    let shown = match action {
        JobsConfigAction::Get { key: Some(key) } | JobsConfigAction::Set { key, .. } => key
            .split('.')
            .try_fold(&config.raw, |v, k| v.get(k))
            .cloned()
            .ok_or_else(|| AppError::InvalidInput {
                field: "key",
                message: format!("no config key {key}; `stratus jobs config get` shows them all"),
            })?,
        JobsConfigAction::Get { key: None } => config.raw.clone(),
    };
    let text = serde_json::to_string_pretty(&shown)?;
    Ok(Output::text_table(shown, vec![], vec![]).note(text))
}
