//! The orchestrator: start queued tasks, oldest first, within each worker's concurrency scaled by
//! its health.
//!
//! Starting a task is sosw's invocation guard — one conditional write that moves the greenfield
//! from "queued" to "invoked now" — followed by the asynchronous invocation. Of two orchestrators
//! racing for a task, one wins the write and the other skips it. An invocation that fails after
//! the claim is reported like a worker's failure (requeued with backoff), not left to expire.

use async_trait::async_trait;
use futures_util::{StreamExt, TryStreamExt, stream};

use crate::config::{JobsConfig, LabourerConfig};
use crate::ecology;
use crate::model::{Invocation, Task};
use crate::{Jobs, JobsError};

/// Why a worker could not be started.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct InvokeError {
    /// What happened.
    pub message: String,
    /// False when retrying cannot help (the function does not exist).
    pub retryable: bool,
}

/// How workers are started: a local pool's queue, or the Lambda `Invoke` API.
#[async_trait]
pub trait Invoker: Send + Sync {
    /// The worker's real timeout in seconds, where the invoker can read it (a Lambda function's
    /// configuration); `None` to use the configured one.
    async fn timeout(
        &self,
        labourer_id: &str,
        labourer: &LabourerConfig,
    ) -> Result<Option<f64>, InvokeError>;

    /// Starts a worker on `invocation` without waiting for it.
    async fn invoke(
        &self,
        labourer: &LabourerConfig,
        invocation: &Invocation,
    ) -> Result<(), InvokeError>;
}

/// sosw's per-run labourer registration: the time windows that classify the tasks.
#[derive(Debug, Clone, PartialEq)]
pub struct Registration {
    /// Now.
    pub start: f64,
    /// The greenfield a task invoked now gets.
    pub invoked: f64,
    /// Invoked tasks with a greenfield at or below this have expired.
    pub expired: f64,
    /// The worker's timeout.
    pub max_duration: f64,
    /// Attempts before a task is dead.
    pub max_attempts: u32,
}

/// Claims sent at once.
const CLAIMS_IN_FLIGHT: usize = 16;

/// The default timeout of a worker whose timeout is neither configured nor readable: Lambda's
/// longest.
pub const DEFAULT_TIMEOUT: f64 = 900.0;

impl Registration {
    /// Registration of a worker at `start` with timeout `timeout`: expiry comes `timeout` plus
    /// the configured margin after the invocation (sosw used a fixed 20 minutes).
    pub fn new(config: &JobsConfig, labourer: &LabourerConfig, start: f64, timeout: f64) -> Self {
        let invoked = start + config.invocation_delta;
        Registration {
            start,
            invoked,
            expired: invoked - (timeout + config.expiry_margin),
            max_duration: timeout,
            max_attempts: labourer.max_attempts.unwrap_or(config.max_attempts),
        }
    }
}

/// What one orchestration run did for one worker.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OrchestrateReport {
    /// Health 0–4.
    pub health: u8,
    /// Tasks running when the run began.
    pub running: u64,
    /// How many it tried to start.
    pub desired: u64,
    /// Started.
    pub invoked: u64,
    /// Taken by another orchestrator first.
    pub skipped: u64,
    /// Claimed but the invocation failed (requeued).
    pub invoke_failed: u64,
}

impl Jobs {
    /// The worker's registration now.
    pub async fn register(
        &self,
        labourer_id: &str,
        invoker: &dyn Invoker,
    ) -> Result<(Registration, LabourerConfig), JobsError> {
        let config = self.config.get().await?;
        let labourer = config.labourer(labourer_id);
        let timeout = match labourer.timeout {
            Some(t) => t,
            None => invoker
                .timeout(labourer_id, &labourer)
                .await
                .ok()
                .flatten()
                .unwrap_or(DEFAULT_TIMEOUT),
        };
        Ok((
            Registration::new(&config, &labourer, self.clock.now(), timeout),
            labourer,
        ))
    }

    /// Starts as many queued tasks of `labourer_id` as its health and concurrency allow (and at
    /// most `cap`, for a local pool with that many free workers).
    pub async fn orchestrate(
        &self,
        labourer_id: &str,
        invoker: &dyn Invoker,
        cap: Option<u64>,
    ) -> Result<OrchestrateReport, JobsError> {
        let config = self.config.get().await?;
        let (registration, labourer) = self.register(labourer_id, invoker).await?;
        let health = ecology::health(self.metrics.as_ref(), &labourer.health_metrics)
            .await
            .map_err(|m| {
                crate::TaskError::new(
                    crate::TaskErrorKind::Unavailable,
                    format!("health metrics of {labourer_id}: {m}; no tasks started this run"),
                )
            })?;
        let running = self
            .store
            .count_invoked(labourer_id, registration.expired, f64::INFINITY, false)
            .await?;
        let mut desired = ecology::desired(
            labourer.max_simultaneous_invocations,
            &config.coefficients,
            health,
            running,
        );
        if let Some(cap) = cap {
            desired = desired.min(cap);
        }
        let mut report = OrchestrateReport {
            health,
            running,
            desired,
            ..Default::default()
        };
        if desired == 0 {
            return Ok(report);
        }
        let queued = self
            .store
            .queued(labourer_id, registration.start, desired as usize)
            .await?;
        // Claims go out together (each is one conditional write); invocations then follow in
        // queue order.
        type Claim<'a> = std::pin::Pin<
            Box<dyn std::future::Future<Output = Result<(Task, f64, bool), JobsError>> + Send + 'a>,
        >;
        let claims: Vec<Claim<'_>> = queued
            .into_iter()
            .map(|task| {
                let greenfield = self.clock.now() + config.invocation_delta;
                let meta = self.meta(
                    &task,
                    "invoked",
                    Some(format!("attempt {}", task.attempts + 1)),
                );
                let start = registration.start;
                Box::pin(async move {
                    let claimed = self
                        .store
                        .claim(&task.task_id, start, greenfield, &meta)
                        .await?;
                    Ok((task, greenfield, claimed))
                }) as Claim<'_>
            })
            .collect();
        let claimed: Vec<_> = stream::iter(claims)
            .buffered(CLAIMS_IN_FLIGHT)
            .try_collect()
            .await?;
        for (mut task, greenfield, won) in claimed {
            if !won {
                report.skipped += 1;
                continue;
            }
            task.greenfield = greenfield;
            task.attempts += 1;
            let invocation = task.invocation();
            match invoker.invoke(&labourer, &invocation).await {
                Ok(()) => report.invoked += 1,
                Err(e) => {
                    report.invoke_failed += 1;
                    self.fail(
                        &invocation,
                        &[],
                        &format!("could not start the worker: {}", e.message),
                        e.retryable,
                    )
                    .await?;
                }
            }
        }
        Ok(report)
    }
}
