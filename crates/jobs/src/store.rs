//! The task store: sosw's five tables as operations, not as SQL or DynamoDB requests.
//!
//! Every operation maps onto one DynamoDB request (a key read, an index query, a conditional
//! update) or one transaction, so a DynamoDB table with sosw's keys can implement it and an SQLite
//! file can mirror it. The moves between tables (archive, retry, requeue, redrive) are single
//! transactions guarded by a condition on the row as it was read: two scavengers racing over the
//! same task move it once, and a crash never leaves a task in two tables or in none. The
//! conditional claim is the orchestrators' only lock, as in sosw.

use async_trait::async_trait;

use crate::model::{ClosedStatus, MetaRow, Task};

/// What went wrong, for callers that branch on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskErrorKind {
    /// The store cannot be reached; retry later.
    Unavailable,
    /// The store asked us to slow down.
    Throttled,
    /// A request or a stored row is invalid.
    Invalid,
    /// Anything else.
    Internal,
}

/// A task-store failure, naming the table and what to do.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct TaskError {
    /// For branching.
    pub kind: TaskErrorKind,
    /// What happened and what to do.
    pub message: String,
}

impl TaskError {
    /// A new error.
    pub fn new(kind: TaskErrorKind, message: impl Into<String>) -> Self {
        TaskError {
            kind,
            message: message.into(),
        }
    }
}

/// Result alias.
pub type TaskResult<T> = Result<T, TaskError>;

/// Whether a worker's report changed the task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// The report was for the task's current attempt and was applied.
    Applied,
    /// The task has moved on (another attempt, already completed, archived): the report is
    /// recorded in the audit trail only.
    Stale,
}

/// Which closed tasks to read.
#[derive(Debug, Clone, PartialEq)]
pub struct ClosedQuery {
    /// The worker.
    pub labourer_id: String,
    /// Completed or dead.
    pub status: ClosedStatus,
    /// Closed at or after (epoch seconds).
    pub from: f64,
    /// Closed at or before.
    pub to: f64,
    /// Newest first when true.
    pub newest_first: bool,
    /// At most this many.
    pub limit: usize,
}

/// Everything a job has, wherever each task is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobTasks {
    /// Live tasks (queued, invoked, completed but not yet archived).
    pub live: Vec<Task>,
    /// Tasks waiting for a retry.
    pub retry: Vec<Task>,
    /// Archived tasks (completed or dead).
    pub closed: Vec<Task>,
}

/// sosw's tables as operations. Times are epoch seconds; "queued" means `greenfield < before`.
///
/// Every operation that changes a task takes its audit row and writes it in the same transaction
/// when (and only when) the change is applied, so the audit trail cannot miss or invent a state
/// change, whatever moment a process is killed at.
#[async_trait]
pub trait TaskStore: Send + Sync {
    /// Where it is, for messages (never a secret).
    fn describe(&self) -> String;

    /// Creates the tables if missing (idempotent).
    async fn provision(&self) -> TaskResult<()>;

    /// Adds tasks; a task whose id exists already is left as it is (so a scheduler re-run after a
    /// crash creates nothing twice). Returns how many were new.
    async fn create(&self, tasks: &[Task], meta: &[MetaRow]) -> TaskResult<usize>;

    /// A live task.
    async fn get(&self, task_id: &str) -> TaskResult<Option<Task>>;

    /// Queued tasks of a worker (`greenfield < before`), lowest greenfield first.
    async fn queued(&self, labourer_id: &str, before: f64, limit: usize) -> TaskResult<Vec<Task>>;

    /// The highest (`newest`) or lowest greenfield among a worker's queued tasks.
    async fn queued_edge(
        &self,
        labourer_id: &str,
        before: f64,
        newest: bool,
    ) -> TaskResult<Option<f64>>;

    /// Live tasks with `from <= greenfield <= to`, either those with `completed_at` or those
    /// without, lowest greenfield first.
    async fn invoked(
        &self,
        labourer_id: &str,
        from: f64,
        to: f64,
        completed: bool,
        limit: usize,
    ) -> TaskResult<Vec<Task>>;

    /// How many [`TaskStore::invoked`] would return without a limit.
    async fn count_invoked(
        &self,
        labourer_id: &str,
        from: f64,
        to: f64,
        completed: bool,
    ) -> TaskResult<u64>;

    /// The invocation guard: if the task is still queued (`greenfield < before`), sets its
    /// greenfield to `greenfield` and adds one attempt. False if someone else took it.
    async fn claim(
        &self,
        task_id: &str,
        before: f64,
        greenfield: f64,
        meta: &MetaRow,
    ) -> TaskResult<bool>;

    /// A completion report for `attempt`: applied only if the task is live, invoked (`greenfield
    /// >= now`), on that attempt and not completed yet.
    async fn complete(
        &self,
        task_id: &str,
        attempt: u32,
        now: f64,
        stats: &[(String, f64)],
        result: &[(String, String)],
        meta: &MetaRow,
    ) -> TaskResult<Applied>;

    /// A failure report for `attempt`, under the same condition: counts the failure and stores
    /// the stats and result. The caller then moves the task on.
    async fn fail(
        &self,
        task_id: &str,
        attempt: u32,
        now: f64,
        stats: &[(String, f64)],
        result: &[(String, String)],
        meta: &MetaRow,
    ) -> TaskResult<Applied>;

    /// Moves a live task to the closed table, if it is still as `task` shows it (same greenfield
    /// and attempts) and, as `status` says, completed (`Completed`) or not (`Dead`). False if it
    /// changed or went.
    async fn archive(
        &self,
        task: &Task,
        status: ClosedStatus,
        closed_at: f64,
        meta: &MetaRow,
    ) -> TaskResult<bool>;

    /// Moves a live, not completed task to the retry table, due at `due`, under the same
    /// condition (a completion that arrived after the caller's read keeps the task where it is).
    async fn to_retry(&self, task: &Task, due: f64, meta: &MetaRow) -> TaskResult<bool>;

    /// Retry rows of a worker due at or before `now`, earliest first.
    async fn due_retries(&self, labourer_id: &str, now: f64, limit: usize)
    -> TaskResult<Vec<Task>>;

    /// Moves a retry row back into the live table at `greenfield`. False if it went already.
    async fn requeue(&self, task: &Task, greenfield: f64, meta: &MetaRow) -> TaskResult<bool>;

    /// Closed tasks, by the `labourer_task_status_with_time` index.
    async fn closed(&self, query: &ClosedQuery) -> TaskResult<Vec<Task>>;

    /// A closed task.
    async fn get_closed(&self, task_id: &str) -> TaskResult<Option<Task>>;

    /// Moves a closed (dead) task back into the live table at `greenfield`, attempts reset.
    /// False if it is not in the closed table any more.
    async fn redrive(&self, task: &Task, greenfield: f64, meta: &MetaRow) -> TaskResult<bool>;

    /// Every task of a job, in all three tables.
    async fn job(&self, job_id: &str) -> TaskResult<JobTasks>;

    /// Appends audit rows.
    async fn write_meta(&self, rows: &[MetaRow]) -> TaskResult<()>;

    /// A task's audit rows, oldest first.
    async fn meta(&self, task_id: &str) -> TaskResult<Vec<MetaRow>>;

    /// A config row's value (`config` table).
    async fn config_get(&self, env: &str, name: &str) -> TaskResult<Option<String>>;

    /// Writes a config row.
    async fn config_put(&self, env: &str, name: &str, value: &str) -> TaskResult<()>;
}
