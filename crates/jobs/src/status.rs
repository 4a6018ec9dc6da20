//! A job's progress and results, read from all three task tables.
//!
//! Every task is counted exactly once: queued tasks are `pending`, invoked ones `running`,
//! retries waiting for their time `failed` (they will run again), archived failures `dead`, and
//! completed tasks — archived or not yet — `completed`.

use serde::Serialize;
use serde_json::Value;

use crate::model::{ClosedStatus, Task};
use crate::{Jobs, JobsError};

/// Counts by state (`jobs status --json`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct JobStatus {
    /// The job.
    pub job: String,
    /// All its tasks.
    pub tasks: u64,
    /// Queued.
    pub pending: u64,
    /// Invoked, not yet reported.
    pub running: u64,
    /// Completed.
    pub completed: u64,
    /// Failed, waiting for a retry.
    pub failed: u64,
    /// Failed for good.
    pub dead: u64,
}

impl JobStatus {
    /// Nothing left to do.
    pub fn is_done(&self) -> bool {
        self.pending + self.running + self.failed == 0
    }
}

/// One completed task's result (`jobs results --json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TaskResultRow {
    /// The task.
    pub task: String,
    /// What it was asked to do.
    pub params: Value,
    /// What it returned (a verb's JSON).
    pub result: Value,
}

/// One dead task.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeadRow {
    /// The task.
    pub task: String,
    /// What it was asked to do.
    pub params: Value,
    /// The last error.
    pub error: Option<String>,
    /// Attempts made.
    pub attempts: u32,
}

/// A job's results.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobResults {
    /// The job.
    pub job: String,
    /// Completed tasks, by task id.
    pub results: Vec<TaskResultRow>,
    /// Dead tasks, by task id.
    pub dead: Vec<DeadRow>,
}

fn result_of(task: &Task) -> Value {
    match task.result.get("json") {
        Some(text) => serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.clone())),
        None => Value::Null,
    }
}

impl Jobs {
    /// A job's counts.
    pub async fn status(&self, job_id: &str) -> Result<JobStatus, JobsError> {
        let tasks = self.store.job(job_id).await?;
        let now = self.clock.now();
        let mut status = JobStatus {
            job: job_id.to_string(),
            ..Default::default()
        };
        for task in &tasks.live {
            if task.completed_at.is_some() {
                status.completed += 1;
            } else if task.greenfield < now {
                status.pending += 1;
            } else {
                status.running += 1;
            }
        }
        status.failed = tasks.retry.len() as u64;
        for task in &tasks.closed {
            match task.status {
                Some(ClosedStatus::Dead) => status.dead += 1,
                _ => status.completed += 1,
            }
        }
        status.tasks =
            status.pending + status.running + status.completed + status.failed + status.dead;
        if status.tasks == 0 {
            return Err(JobsError::NotFound(format!(
                "no job {job_id} in {}; `stratus jobs submit` prints the id of a new job",
                self.store.describe()
            )));
        }
        Ok(status)
    }

    /// A job's results: completed tasks with their output, dead ones with their last error.
    pub async fn results(&self, job_id: &str) -> Result<JobResults, JobsError> {
        let tasks = self.store.job(job_id).await?;
        if tasks.live.is_empty() && tasks.retry.is_empty() && tasks.closed.is_empty() {
            return Err(JobsError::NotFound(format!(
                "no job {job_id} in {}",
                self.store.describe()
            )));
        }
        let params = |t: &Task| Value::Object(t.payload_json());
        let mut results: Vec<TaskResultRow> = tasks
            .live
            .iter()
            .filter(|t| t.completed_at.is_some())
            .chain(
                tasks
                    .closed
                    .iter()
                    .filter(|t| t.status != Some(ClosedStatus::Dead)),
            )
            .map(|t| TaskResultRow {
                task: t.task_id.clone(),
                params: params(t),
                result: result_of(t),
            })
            .collect();
        results.sort_by(|a, b| a.task.cmp(&b.task));
        let mut dead: Vec<DeadRow> = tasks
            .closed
            .iter()
            .filter(|t| t.status == Some(ClosedStatus::Dead))
            .map(|t| DeadRow {
                task: t.task_id.clone(),
                params: params(t),
                error: t.result.get("error").cloned(),
                attempts: t.attempts,
            })
            .collect();
        dead.sort_by(|a, b| a.task.cmp(&b.task));
        Ok(JobResults {
            job: job_id.to_string(),
            results,
            dead,
        })
    }
}
