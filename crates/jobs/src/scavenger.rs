//! The scavenger: archive completed tasks, retry or bury expired ones, requeue due retries at the
//! head of the queue — and redrive dead tasks on request.
//!
//! Every move is one conditional transaction on the row as read, so two scavengers (or a
//! scavenger and a late failure report) never move a task twice.

use futures_util::{StreamExt, TryStreamExt, stream};

use crate::model::{ClosedStatus, Task};
use crate::orchestrator::{Invoker, Registration};
use crate::store::ClosedQuery;
use crate::{Jobs, JobsError};

/// What one scavenger run did for one worker.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScavengeReport {
    /// Completed tasks archived.
    pub archived: u64,
    /// Expired tasks scheduled for a retry.
    pub retried: u64,
    /// Expired tasks archived as dead.
    pub dead: u64,
    /// Due retries put back at the head of the queue.
    pub requeued: u64,
}

/// Which dead tasks to redrive.
#[derive(Debug, Clone, PartialEq)]
pub enum RedriveFilter {
    /// These task ids.
    Ids(Vec<String>),
    /// A worker's dead tasks closed between two times (epoch seconds).
    Labourer {
        /// The worker.
        labourer_id: String,
        /// Closed at or after.
        from: f64,
        /// Closed at or before.
        to: f64,
    },
}

/// One in-flight move (boxed: a closure here trips the compiler's lifetime inference for
/// `Send` futures).
type Pending<'a, T> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<T, crate::TaskError>> + Send + 'a>>;

/// Archives sent at once.
const MOVES_IN_FLIGHT: usize = 16;

/// Tasks read per scavenger query.
const PAGE: usize = 500;

impl Jobs {
    /// One scavenger run for `labourer_id`.
    pub async fn scavenge(
        &self,
        labourer_id: &str,
        invoker: &dyn Invoker,
    ) -> Result<ScavengeReport, JobsError> {
        let config = self.config.get().await?;
        let (registration, _) = self.register(labourer_id, invoker).await?;
        let mut report = ScavengeReport::default();
        // 1. Archive completed tasks.
        loop {
            let done = self
                .store
                .invoked(labourer_id, registration.start, f64::INFINITY, true, PAGE)
                .await?;
            let archives: Vec<Pending<'_, bool>> = done
                .iter()
                .map(|task| {
                    let meta = self.meta(task, "archived", None);
                    Box::pin(async move {
                        self.store
                            .archive(task, ClosedStatus::Completed, self.clock.now(), &meta)
                            .await
                    }) as Pending<'_, bool>
                })
                .collect();
            let moved = stream::iter(archives)
                .buffer_unordered(MOVES_IN_FLIGHT)
                .try_fold(0u64, |n, moved| async move { Ok(n + u64::from(moved)) })
                .await?;
            report.archived += moved;
            if done.len() < PAGE || moved == 0 {
                break;
            }
        }
        // 2. Expired tasks: retry or bury.
        loop {
            let expired = self
                .store
                .invoked(
                    labourer_id,
                    registration.start,
                    registration.expired,
                    false,
                    PAGE,
                )
                .await?;
            let mut moved = 0;
            for task in &expired {
                if task.attempts < registration.max_attempts {
                    if self.retry(task, &registration, &config.backoff).await? {
                        report.retried += 1;
                        moved += 1;
                    }
                } else if self
                    .bury(task, &format!("expired after {} attempts", task.attempts))
                    .await?
                {
                    report.dead += 1;
                    moved += 1;
                }
            }
            if expired.len() < PAGE || moved == 0 {
                break;
            }
        }
        // 3. Due retries back to the head of the queue.
        let due = self
            .store
            .due_retries(labourer_id, self.clock.now(), config.retry_tasks_limit)
            .await?;
        if !due.is_empty() {
            let head = self
                .store
                .queued_edge(labourer_id, registration.start, false)
                .await?
                .unwrap_or(config.task_step);
            for (k, task) in due.iter().enumerate() {
                let meta = self.meta(task, "ready_for_retry", None);
                if self
                    .store
                    .requeue(task, head - (k + 1) as f64, &meta)
                    .await?
                {
                    report.requeued += 1;
                }
            }
        }
        Ok(report)
    }

    /// Puts dead tasks back in the queue (attempts reset), newest position; returns those
    /// redriven.
    pub async fn redrive(&self, filter: &RedriveFilter) -> Result<Vec<Task>, JobsError> {
        let config = self.config.get().await?;
        let dead: Vec<Task> = match filter {
            RedriveFilter::Ids(ids) => {
                let mut found = Vec::new();
                for id in ids {
                    match self.store.get_closed(id).await? {
                        Some(task) if task.status == Some(ClosedStatus::Dead) => found.push(task),
                        Some(_) => {
                            return Err(JobsError::NotFound(format!(
                                "task {id} completed; only dead tasks are redriven"
                            )));
                        }
                        None => {
                            return Err(JobsError::NotFound(format!(
                                "no dead task {id}; `stratus jobs status JOB` lists a job's dead tasks"
                            )));
                        }
                    }
                }
                found
            }
            RedriveFilter::Labourer {
                labourer_id,
                from,
                to,
            } => {
                self.store
                    .closed(&ClosedQuery {
                        labourer_id: labourer_id.clone(),
                        status: ClosedStatus::Dead,
                        from: *from,
                        to: *to,
                        newest_first: false,
                        limit: usize::MAX,
                    })
                    .await?
            }
        };
        let mut redriven = Vec::new();
        for task in dead {
            let now = self.clock.now();
            let newest = self
                .store
                .queued_edge(&task.labourer_id, now, true)
                .await?
                .unwrap_or(0.0);
            let meta = self.meta(&task, "redriven", None);
            if self
                .store
                .redrive(&task, newest + config.task_step, &meta)
                .await?
            {
                redriven.push(task);
            }
        }
        Ok(redriven)
    }

    /// The average duration of a worker's recent tasks (sosw: the last 10 closed of each
    /// status; a dead task counts as its timeout × attempts).
    pub async fn average_duration(
        &self,
        labourer_id: &str,
        registration: &Registration,
    ) -> Result<Option<f64>, JobsError> {
        let config = self.config.get().await?;
        let mut durations = Vec::new();
        for status in [ClosedStatus::Completed, ClosedStatus::Dead] {
            let closed = self
                .store
                .closed(&ClosedQuery {
                    labourer_id: labourer_id.to_string(),
                    status,
                    from: 0.0,
                    to: f64::INFINITY,
                    newest_first: true,
                    limit: config.closed_for_duration,
                })
                .await?;
            for task in closed {
                durations.push(match (status, task.completed_at) {
                    (ClosedStatus::Completed, Some(done)) => (done - task.invoked_at()).max(0.0),
                    _ => registration.max_duration * f64::from(task.attempts.max(1)),
                });
            }
        }
        Ok((!durations.is_empty()).then(|| durations.iter().sum::<f64>() / durations.len() as f64))
    }
}
