//! The local runner: an orchestrator, a scavenger and N workers in one process.
//!
//! The orchestrator "invokes" by handing the invocation to an in-process queue that the workers
//! drain, so the claim, the idempotency token, expiry and retries work exactly as they do across
//! Lambda functions. Several processes can share one store (`jobs work` beside `jobs run`): the
//! conditional claim keeps them from taking the same task, and a process killed mid-task leaves
//! invoked tasks that expire after the worker timeout and are retried by whichever scavenger runs.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;
use tokio::sync::{Mutex, Notify, mpsc};

use crate::config::LabourerConfig;
use crate::model::Invocation;
use crate::orchestrator::{InvokeError, Invoker};
use crate::status::JobStatus;
use crate::{Jobs, JobsError};

/// What a finished task returns.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Done {
    /// The result (stored as `result_json`), e.g. a verb's JSON output.
    pub result: Option<Value>,
    /// Statistics (`stat_<k>`).
    pub stats: Vec<(String, f64)>,
}

/// Why a task failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// What went wrong.
    pub message: String,
    /// False when running it again cannot help (bad parameters): it goes straight to the dead
    /// archive instead of using up its retries.
    pub retryable: bool,
}

/// What a worker does with a task's payload.
#[async_trait]
pub trait Work: Send + Sync {
    /// Performs one invocation.
    async fn perform(&self, invocation: &Invocation) -> Result<Done, Failure>;
}

/// When the pool stops.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Until {
    /// When this job has nothing pending, running or waiting for a retry.
    JobDone(String),
    /// When the queue has been empty with nothing running for a while.
    Idle,
    /// Never (a worker process, stopped by a signal).
    Forever,
}

/// How the pool runs.
#[derive(Debug, Clone)]
pub struct PoolOptions {
    /// The worker these tasks are for (`local`).
    pub labourer_id: String,
    /// Workers.
    pub concurrency: usize,
    /// Also run the scavenger (a `jobs work` process beside a `jobs run` may leave it out).
    pub scavenge: bool,
    /// How often the scavenger runs.
    pub scavenge_every: Duration,
    /// How long the orchestrator waits when nothing is free or queued.
    pub poll: Duration,
    /// When to stop.
    pub until: Until,
}

/// What the pool did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PoolReport {
    /// Tasks this process completed.
    pub completed: u64,
    /// Failure reports this process made.
    pub failed: u64,
    /// The job's final counts (for [`Until::JobDone`]).
    pub status: Option<JobStatus>,
}

struct LocalInvoker {
    queue: mpsc::Sender<Invocation>,
}

#[async_trait]
impl Invoker for LocalInvoker {
    async fn timeout(&self, _: &str, _: &LabourerConfig) -> Result<Option<f64>, InvokeError> {
        Ok(None)
    }

    async fn invoke(&self, _: &LabourerConfig, invocation: &Invocation) -> Result<(), InvokeError> {
        self.queue
            .send(invocation.clone())
            .await
            .map_err(|_| InvokeError {
                message: "the local workers stopped".into(),
                retryable: true,
            })
    }
}

/// Runs the pool until `options.until`; `progress` is called with the job's counts as they
/// change.
pub async fn run(
    jobs: Arc<Jobs>,
    work: Arc<dyn Work>,
    options: PoolOptions,
    progress: &(dyn Fn(&JobStatus) + Sync),
) -> Result<PoolReport, JobsError> {
    let concurrency = options.concurrency.max(1);
    // Claimed ahead: one more task per worker waits in the queue, so a worker that finishes
    // starts the next task at once instead of waiting for the orchestrator's round trip.
    let depth = concurrency * 2;
    let (sender, receiver) = mpsc::channel::<Invocation>(depth);
    let receiver = Arc::new(Mutex::new(receiver));
    let busy = Arc::new(AtomicUsize::new(0));
    let freed = Arc::new(Notify::new());
    let completed = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let errors: Arc<std::sync::Mutex<Option<JobsError>>> = Arc::new(std::sync::Mutex::new(None));
    let timeout = {
        let config = jobs.config.get().await?;
        config
            .labourer(&options.labourer_id)
            .timeout
            .unwrap_or(crate::orchestrator::DEFAULT_TIMEOUT)
    };
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (receiver, jobs, work) = (receiver.clone(), jobs.clone(), work.clone());
        let (busy, freed, completed, failed, errors) = (
            busy.clone(),
            freed.clone(),
            completed.clone(),
            failed.clone(),
            errors.clone(),
        );
        workers.push(tokio::spawn(async move {
            loop {
                let next = receiver.lock().await.recv().await;
                let Some(invocation) = next else { break };
                let outcome = tokio::time::timeout(
                    Duration::from_secs_f64(timeout),
                    work.perform(&invocation),
                )
                .await
                .unwrap_or_else(|_| {
                    Err(Failure {
                        message: format!("timed out after {timeout} s"),
                        retryable: true,
                    })
                });
                let reported = match outcome {
                    Ok(done) => {
                        let result: Vec<(String, String)> = done
                            .result
                            .map(|v| vec![("json".to_string(), v.to_string())])
                            .unwrap_or_default();
                        completed.fetch_add(1, Ordering::Relaxed);
                        jobs.complete(&invocation, &done.stats, &result)
                            .await
                            .map(|_| ())
                    }
                    Err(failure) => {
                        failed.fetch_add(1, Ordering::Relaxed);
                        jobs.fail(&invocation, &[], &failure.message, failure.retryable)
                            .await
                            .map(|_| ())
                    }
                };
                if let Err(e) = reported {
                    errors
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .get_or_insert(e);
                }
                busy.fetch_sub(1, Ordering::SeqCst);
                freed.notify_one();
            }
        }));
    }
    let invoker = LocalInvoker { queue: sender };
    // The scavenger runs beside the orchestrator, so archiving never holds up claiming.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stopping = Arc::new(Notify::new());
    let scavenger = options.scavenge.then(|| {
        let (jobs, stop, errors) = (jobs.clone(), stop.clone(), errors.clone());
        let stopping = stopping.clone();
        let (labourer, every) = (options.labourer_id.clone(), options.scavenge_every);
        tokio::spawn(async move {
            let idle = LocalInvoker {
                queue: mpsc::channel(1).0,
            };
            while !stop.load(Ordering::SeqCst) {
                if let Err(e) = jobs.scavenge(&labourer, &idle).await {
                    errors
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .get_or_insert(e);
                    break;
                }
                // Woken early when the pool stops, so stopping does not wait out the interval.
                let _ = tokio::time::timeout(every, stopping.notified()).await;
            }
        })
    });
    let mut last_status: Option<JobStatus> = None;
    let mut idle_since: Option<tokio::time::Instant> = None;
    let mut last_check = tokio::time::Instant::now() - Duration::from_secs(60);
    let mut finished_at_check = 0u64;
    let result = loop {
        if let Some(e) = errors.lock().unwrap_or_else(|p| p.into_inner()).take() {
            break Err(e);
        }
        let free = depth.saturating_sub(busy.load(Ordering::SeqCst)) as u64;
        let mut started = 0;
        if free > 0 {
            // Count the slots before the claim: a worker may finish the task before the
            // orchestrator returns.
            busy.fetch_add(free as usize, Ordering::SeqCst);
            match jobs
                .orchestrate(&options.labourer_id, &invoker, Some(free))
                .await
            {
                Ok(report) => {
                    started = report.invoked;
                    busy.fetch_sub((free - report.invoked) as usize, Ordering::SeqCst);
                }
                Err(e) => {
                    busy.fetch_sub(free as usize, Ordering::SeqCst);
                    break Err(e);
                }
            }
        }
        // Reading a job's state can mean scanning its tasks (DynamoDB has no index on the job):
        // often when the pool has nothing to do (is the job done?), rarely while it is busy —
        // and at once when the last running task has just finished, so a job that is done ends
        // the pool without waiting out the interval.
        let idle = started == 0 && busy.load(Ordering::SeqCst) == 0;
        let check_every = if idle {
            options.poll.max(Duration::from_millis(500))
        } else {
            Duration::from_secs(5)
        };
        let finished = completed.load(Ordering::Relaxed) + failed.load(Ordering::Relaxed);
        if last_check.elapsed() >= check_every || (idle && finished != finished_at_check) {
            last_check = tokio::time::Instant::now();
            finished_at_check = finished;
            match &options.until {
                Until::JobDone(job) => match jobs.status(job).await {
                    Ok(status) => {
                        if last_status.as_ref() != Some(&status) {
                            progress(&status);
                        }
                        let done = status.is_done();
                        last_status = Some(status);
                        if done && busy.load(Ordering::SeqCst) == 0 {
                            break Ok(());
                        }
                    }
                    Err(e) => break Err(e),
                },
                Until::Forever => {}
                Until::Idle => {
                    if busy.load(Ordering::SeqCst) == 0 && started == 0 {
                        let since = *idle_since.get_or_insert_with(tokio::time::Instant::now);
                        if since.elapsed() >= options.poll * 10 {
                            break Ok(());
                        }
                    } else {
                        idle_since = None;
                    }
                }
            }
        }
        if started > 0 {
            idle_since = None;
        }
        if started == 0 || busy.load(Ordering::SeqCst) >= depth {
            let _ = tokio::time::timeout(options.poll, freed.notified()).await;
        }
    };
    drop(invoker);
    for worker in workers {
        let _ = worker.await;
    }
    stop.store(true, Ordering::SeqCst);
    stopping.notify_one();
    if let Some(scavenger) = scavenger {
        let _ = scavenger.await;
    }
    result?;
    if options.scavenge {
        // Archive what the last workers completed.
        let invoker = LocalInvoker {
            queue: mpsc::channel(1).0,
        };
        jobs.scavenge(&options.labourer_id, &invoker).await?;
    }
    let status = match &options.until {
        Until::JobDone(job) => {
            let status = jobs.status(job).await?;
            progress(&status);
            Some(status)
        }
        Until::Idle | Until::Forever => None,
    };
    Ok(PoolReport {
        completed: completed.load(Ordering::Relaxed),
        failed: failed.load(Ordering::Relaxed),
        status,
    })
}
