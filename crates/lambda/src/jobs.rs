//! The job system's roles as Lambda modes (`STRATUS_FUNCTION=jobs-…`), sosw's four Essentials
//! plus the worker:
//!
//! - `jobs-scheduler`: `{"job": {…}}` (or sosw's top-level job with `lambda_name`) → tasks;
//!   near the deadline it stops and invokes itself asynchronously with `{"cursor": …}` (at most
//!   100 times per job), instead of sosw's scan of every EventBridge rule.
//! - `jobs-orchestrator` (every minute): for every configured worker with an `arn`, claim and
//!   invoke queued tasks asynchronously through the Lambda API, within its health-scaled limit.
//! - `jobs-scavenger` (every minute): archive, retry, expire, bury for every configured worker.
//! - `jobs-assistant`: sosw's `{"action": "mark_task_as_completed" | "mark_task_as_failed",
//!   "task_id", "attempt", "stats", "result"}` from workers.
//! - `jobs-worker`: performs one task event and reports it — through the assistant function
//!   (`STRATUS_JOBS_ASSISTANT`, asynchronously, as sosw workers do) or straight to the task table.

use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;
use serde_json::{Map, Value, json};
use stratus_analytics::ErrorClass;
use stratus_jobs::config::LabourerConfig;
use stratus_jobs::model::Invocation;
use stratus_jobs::orchestrator::{InvokeError, Invoker};
use stratus_jobs::pool::Work;
use stratus_jobs::submit::Cursor;
use stratus_jobs::{Alerts, Jobs, JobsError, SystemClock, Task};

use crate::FunctionError;

/// The job modes.
pub(crate) const MODES: [&str; 5] = [
    "jobs-scheduler",
    "jobs-orchestrator",
    "jobs-scavenger",
    "jobs-assistant",
    "jobs-worker",
];

/// What a job mode keeps across invocations.
pub(crate) struct JobsContext {
    jobs: Arc<Jobs>,
    lambda: LambdaInvoker,
    worker: Option<stratus_work::Worker>,
    assistant: Option<String>,
    own_name: Option<String>,
}

/// Starts workers with the Lambda `Invoke` API (`InvocationType=Event`).
pub(crate) struct LambdaInvoker {
    client: aws_sdk_lambda::Client,
}

impl LambdaInvoker {
    async fn invoke_event(&self, function: &str, event: &Value) -> Result<(), InvokeError> {
        self.client
            .invoke()
            .function_name(function)
            .invocation_type(InvocationType::Event)
            .payload(Blob::new(event.to_string()))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| {
                use aws_sdk_lambda::error::ProvideErrorMetadata;
                let code = e.code().unwrap_or("unreachable").to_string();
                InvokeError {
                    retryable: !matches!(
                        code.as_str(),
                        "ResourceNotFoundException"
                            | "InvalidRequestContentException"
                            | "RequestTooLargeException"
                    ),
                    message: format!(
                        "invoking {function}: {code}: {}",
                        aws_sdk_lambda::error::DisplayErrorContext(&e)
                    ),
                }
            })
    }
}

#[async_trait]
impl Invoker for LambdaInvoker {
    async fn timeout(
        &self,
        labourer_id: &str,
        labourer: &LabourerConfig,
    ) -> Result<Option<f64>, InvokeError> {
        let function = labourer.arn.as_deref().unwrap_or(labourer_id);
        let configuration = self
            .client
            .get_function_configuration()
            .function_name(function)
            .send()
            .await
            .map_err(|e| InvokeError {
                message: format!(
                    "reading {function}'s timeout: {}",
                    aws_sdk_lambda::error::DisplayErrorContext(&e)
                ),
                retryable: true,
            })?;
        Ok(configuration.timeout.map(f64::from))
    }

    async fn invoke(
        &self,
        labourer: &LabourerConfig,
        invocation: &Invocation,
    ) -> Result<(), InvokeError> {
        let function = labourer.arn.as_deref().unwrap_or(&invocation.labourer_id);
        self.invoke_event(function, &invocation.to_event()).await
    }
}

/// A dead task is a log line (`"stratus_dead_task"`) that the deployment's metric filter turns
/// into an alarm and an SNS e-mail.
struct LogAlerts;

#[async_trait]
impl Alerts for LogAlerts {
    async fn dead(&self, task: &Task, reason: &str) {
        use std::io::Write;
        let line = json!({"stratus_dead_task": task.task_id, "labourer_id": task.labourer_id, "job_id": task.job_id, "reason": reason});
        let _ = writeln!(std::io::stderr(), "{line}");
    }
}

fn bad(message: String) -> FunctionError {
    FunctionError {
        kind: ErrorClass::UserInput.lambda_error_type(),
        message,
    }
}

fn failed(error: JobsError) -> FunctionError {
    FunctionError {
        kind: if error.is_user_error() {
            ErrorClass::UserInput.lambda_error_type()
        } else {
            ErrorClass::Unavailable.lambda_error_type()
        },
        message: error.to_string(),
    }
}

/// Builds the job context of a cold start.
pub(crate) async fn context(
    settings: &stratus_app::Settings,
    mode: &str,
    analytics: &stratus_analytics::Analytics,
    env: stratus_work::Env,
) -> Result<JobsContext, String> {
    let store = stratus_app::tasks::open_task_store(settings, false)
        .await
        .map_err(|e| e.to_string())?;
    let author = stratus_app::vars::from_process("AWS_LAMBDA_FUNCTION_NAME")
        .unwrap_or_else(|| mode.to_string());
    let jobs = Jobs::new(
        store,
        Arc::new(SystemClock),
        &settings.jobs.env,
        settings.jobs.config_ttl,
        &author,
    )
    .with_alerts(Arc::new(LogAlerts));
    // The deployment's worker functions and their limits, under whatever the config row says.
    let jobs = match env("STRATUS_JOBS_WORKERS") {
        Some(text) => {
            let workers: Value = serde_json::from_str(&text)
                .ok()
                .filter(Value::is_object)
                .ok_or("STRATUS_JOBS_WORKERS must be a JSON object of worker functions, e.g. {\"worker\": {\"arn\": \"worker\"}}")?;
            jobs.with_config_defaults(json!({"task_config": {"labourers": workers}}))
        }
        None => jobs,
    };
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    let timeouts = aws_sdk_lambda::config::timeout::TimeoutConfig::builder()
        .connect_timeout(std::time::Duration::from_secs(3))
        .operation_timeout(std::time::Duration::from_secs(20))
        .build();
    let client = aws_sdk_lambda::Client::from_conf(
        aws_sdk_lambda::config::Builder::from(&config)
            .timeout_config(timeouts)
            .build(),
    );
    let jobs = jobs.with_metrics(Arc::new(stratus_jobs::cloudwatch::CloudWatch {
        client: aws_sdk_cloudwatch::Client::from_conf(
            aws_sdk_cloudwatch::config::Builder::from(&config)
                .timeout_config(
                    aws_sdk_cloudwatch::config::timeout::TimeoutConfig::builder()
                        .connect_timeout(std::time::Duration::from_secs(3))
                        .operation_timeout(std::time::Duration::from_secs(10))
                        .build(),
                )
                .build(),
        ),
    }));
    let worker = (mode == "jobs-worker").then(|| {
        // Its own services over the same store connection.
        let analytics = stratus_app::analytics(analytics.store().clone(), settings);
        stratus_work::Worker::new(analytics, settings.live.clone(), env.clone())
    });
    Ok(JobsContext {
        jobs: Arc::new(jobs),
        lambda: LambdaInvoker { client },
        worker,
        assistant: env("STRATUS_JOBS_ASSISTANT").filter(|s| !s.is_empty()),
        own_name: stratus_app::vars::from_process("AWS_LAMBDA_FUNCTION_NAME"),
    })
}

/// The workers the orchestrator and scavenger serve: every configured one with a function.
async fn labourers(jobs: &Jobs) -> Result<Vec<String>, FunctionError> {
    let config = jobs.config.get().await.map_err(|e| failed(e.into()))?;
    Ok(config
        .labourers
        .iter()
        .filter(|(_, l)| l.arn.is_some())
        .map(|(id, _)| id.clone())
        .collect())
}

fn epoch_seconds(deadline: std::time::SystemTime) -> f64 {
    deadline
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Runs one event of a job mode.
pub(crate) async fn run(
    context: &JobsContext,
    mode: &str,
    event: Value,
    deadline: std::time::SystemTime,
) -> Result<Value, FunctionError> {
    let jobs = &context.jobs;
    match mode {
        "jobs-scheduler" => {
            let deadline = Some(epoch_seconds(deadline));
            let submission = if let Some(cursor) = event.get("cursor") {
                let cursor: Cursor = serde_json::from_value(cursor.clone()).map_err(|e| {
                    bad(format!(
                        "a continuation needs the cursor a scheduler sent: {e}"
                    ))
                })?;
                jobs.resume(&cursor, deadline).await
            } else {
                let job = match event.get("job") {
                    Some(Value::Object(job)) => job.clone(),
                    Some(Value::String(text)) => {
                        serde_json::from_str::<Map<String, Value>>(text)
                            .map_err(|e| bad(format!("\"job\" is not a JSON object: {e}")))?
                    }
                    Some(other) => {
                        return Err(bad(format!("\"job\" must be an object, not {other}")));
                    }
                    None => match event {
                        Value::Object(map)
                            if map.contains_key("lambda_name") || map.contains_key("labourer") =>
                        {
                            map
                        }
                        _ => {
                            return Err(bad(
                                "expected {\"job\": {…}} with a labourer (or lambda_name)".into(),
                            ));
                        }
                    },
                };
                let config = jobs.config.get().await.map_err(|e| failed(e.into()))?;
                let now = stratus_jobs::Clock::now(&SystemClock) as i64;
                let today = chrono::DateTime::from_timestamp(now, 0)
                    .map_or_else(Default::default, |t| t.date_naive());
                let payloads = stratus_jobs::scheduler::plan(&job, &config, today)
                    .map_err(|e| failed(e.into()))?;
                stratus_work::check_job(&payloads).map_err(|e| failed(e.into()))?;
                jobs.submit(&job, today, deadline).await
            }
            .map_err(failed)?;
            if let Some(cursor) = &submission.cursor {
                let Some(name) = &context.own_name else {
                    return Err(bad("the scheduler ran out of time and cannot name itself to continue (AWS_LAMBDA_FUNCTION_NAME)".into()));
                };
                let event = json!({ "cursor": cursor });
                context
                    .lambda
                    .invoke_event(name, &event)
                    .await
                    .map_err(|e| FunctionError {
                        kind: "Unavailable",
                        message: e.message,
                    })?;
            }
            Ok(json!({
                "job": submission.job_id,
                "tasks": submission.tasks,
                "created": submission.created,
                "continued": submission.cursor.is_some(),
            }))
        }
        "jobs-orchestrator" => {
            let mut reports = Map::new();
            for labourer in labourers(jobs).await? {
                let report = jobs.orchestrate(&labourer, &context.lambda, None).await;
                reports.insert(
                    labourer,
                    match report {
                        Ok(r) => json!({"health": r.health, "running": r.running, "invoked": r.invoked, "skipped": r.skipped, "invoke_failed": r.invoke_failed}),
                        Err(e) => json!({"error": e.to_string()}),
                    },
                );
            }
            Ok(Value::Object(reports))
        }
        "jobs-scavenger" => {
            let mut reports = Map::new();
            for labourer in labourers(jobs).await? {
                let report = jobs
                    .scavenge(&labourer, &context.lambda)
                    .await
                    .map_err(failed)?;
                reports.insert(
                    labourer,
                    json!({"archived": report.archived, "retried": report.retried, "dead": report.dead, "requeued": report.requeued}),
                );
            }
            Ok(Value::Object(reports))
        }
        "jobs-assistant" => assistant(jobs, &event).await,
        "jobs-worker" => {
            let invocation = Invocation::from_event(&event)
                .ok_or_else(|| bad("a worker event needs task_id, labourer_id and attempt (the orchestrator sends them)".into()))?;
            let Some(worker) = &context.worker else {
                return Err(bad("not a worker function".into()));
            };
            let outcome = worker.perform(&invocation).await;
            let (report, value) = match &outcome {
                Ok(done) => (
                    json!({
                        "action": "mark_task_as_completed",
                        "task_id": invocation.task_id,
                        "labourer_id": invocation.labourer_id,
                        "attempt": invocation.attempt,
                        "stats": done.stats.iter().map(|(k, v)| (k.clone(), json!(v))).collect::<Map<String, Value>>(),
                        "result": {"json": done.result.as_ref().map(Value::to_string)},
                    }),
                    done.result.clone().unwrap_or(Value::Null),
                ),
                Err(failure) => (
                    json!({
                        "action": "mark_task_as_failed",
                        "task_id": invocation.task_id,
                        "labourer_id": invocation.labourer_id,
                        "attempt": invocation.attempt,
                        "result": {"error": failure.message},
                        "retryable": failure.retryable,
                    }),
                    json!({"error": failure.message}),
                ),
            };
            match &context.assistant {
                Some(function) => context
                    .lambda
                    .invoke_event(function, &report)
                    .await
                    .map_err(|e| FunctionError {
                        kind: "Unavailable",
                        message: e.message,
                    })?,
                None => {
                    assistant(jobs, &report).await?;
                }
            }
            Ok(value)
        }
        other => Err(bad(format!(
            "unknown job mode {other}; use one of {}",
            MODES.join(", ")
        ))),
    }
}

/// sosw's worker-assistant event.
async fn assistant(jobs: &Jobs, event: &Value) -> Result<Value, FunctionError> {
    let action = event.get("action").and_then(Value::as_str).unwrap_or("");
    let task_id = event
        .get("task_id")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("an assistant event needs task_id".into()))?;
    let attempt = event
        .get("attempt")
        .and_then(Value::as_u64)
        .and_then(|a| u32::try_from(a).ok())
        .ok_or_else(|| {
            bad(
                "an assistant event needs the attempt it reports (the worker event's \"attempt\")"
                    .into(),
            )
        })?;
    let labourer_id = event
        .get("labourer_id")
        .and_then(Value::as_str)
        .unwrap_or("unknown")
        .to_string();
    let invocation = Invocation {
        task_id: task_id.to_string(),
        labourer_id,
        job_id: None,
        attempt,
        payload: Map::new(),
    };
    let stats: Vec<(String, f64)> = event
        .get("stats")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_f64()?)))
                .collect()
        })
        .unwrap_or_default();
    let result: Vec<(String, String)> = event
        .get("result")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| match v {
                    Value::String(s) => Some((k.clone(), s.clone())),
                    Value::Null => None,
                    other => Some((k.clone(), other.to_string())),
                })
                .collect()
        })
        .unwrap_or_default();
    let applied = match action {
        "mark_task_as_completed" => jobs.complete(&invocation, &stats, &result).await,
        "mark_task_as_failed" => {
            let error = result
                .iter()
                .find(|(k, _)| k == "error")
                .map_or("the worker reported a failure", |(_, v)| v.as_str());
            let retryable = event
                .get("retryable")
                .and_then(Value::as_bool)
                .unwrap_or(true);
            jobs.fail(&invocation, &stats, error, retryable).await
        }
        other => {
            return Err(bad(format!(
                "unknown action {other:?}; use mark_task_as_completed or mark_task_as_failed"
            )));
        }
    }
    .map_err(failed)?;
    Ok(json!({"task_id": task_id, "applied": applied == stratus_jobs::store::Applied::Applied}))
}
