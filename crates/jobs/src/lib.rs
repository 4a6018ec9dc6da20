//! Batch fan-out: sosw 0.7's task orchestration, rebuilt.
//!
//! A job becomes tasks (the [`scheduler`]); an orchestrator claims queued tasks and starts
//! workers within each worker's concurrency and health ([`orchestrator`]); workers report back
//! through the worker assistant ([`assistant`]); the [`scavenger`] archives what finished and
//! retries or buries what expired. All of it is library code over the [`store::TaskStore`] trait,
//! so the same roles run inside one process on an SQLite file ([`pool`]), or as four Lambda
//! functions over sosw's DynamoDB tables.
//!
//! What Stratus fixes in sosw (`orchestration.md` §13): a failure report requeues at once instead
//! of waiting for expiry; expiry follows the worker's real timeout; each invocation carries its
//! attempt number, so the report of an attempt that was superseded is recorded and not applied;
//! backoff is linear or exponential with jitter; config is re-read after a TTL; health
//! comparisons are a checked enum; dead tasks can be redriven.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;

pub mod assistant;
#[cfg(feature = "cloudwatch")]
pub mod cloudwatch;
pub mod config;
pub mod ecology;
pub mod model;
pub mod orchestrator;
pub mod pool;
pub mod scavenger;
pub mod scheduler;
pub mod status;
pub mod store;
pub mod submit;

#[cfg(any(test, feature = "testsuite"))]
pub mod conformance;

pub use config::{ConfigSource, JobsConfig};
pub use model::{Clock, Invocation, ManualClock, SystemClock, Task};
pub use store::{TaskError, TaskErrorKind, TaskResult, TaskStore};

use model::MetaRow;

/// Why a role's call failed.
#[derive(Debug, thiserror::Error)]
pub enum JobsError {
    /// The job description is wrong (the user's to fix).
    #[error(transparent)]
    Job(#[from] scheduler::JobError),
    /// The task store failed.
    #[error(transparent)]
    Store(#[from] TaskError),
    /// No such job or task.
    #[error("{0}")]
    NotFound(String),
}

impl JobsError {
    /// True when the user's input is to blame (a bad job or config value).
    pub fn is_user_error(&self) -> bool {
        match self {
            JobsError::Job(_) => true,
            JobsError::Store(e) => e.kind == TaskErrorKind::Invalid,
            JobsError::NotFound(_) => false,
        }
    }
}

/// Where a dead task is announced (SNS in sosw; a log line an alarm watches, on AWS).
#[async_trait]
pub trait Alerts: Send + Sync {
    /// A task failed for good.
    async fn dead(&self, task: &Task, reason: &str);
}

/// Alerts that go nowhere (tests that count dead tasks from the tables).
#[derive(Debug, Default)]
pub struct NoAlerts;

#[async_trait]
impl Alerts for NoAlerts {
    async fn dead(&self, _task: &Task, _reason: &str) {}
}

/// The roles' shared context: the store, the clock, the config, metrics and alerts.
pub struct Jobs {
    /// The task tables.
    pub store: Arc<dyn TaskStore>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// The config row, re-read after its TTL.
    pub config: ConfigSource,
    /// Health metrics.
    pub metrics: Arc<dyn ecology::MetricSource>,
    /// Dead-task alerts.
    pub alerts: Arc<dyn Alerts>,
    /// Who writes the audit rows (a role or function name).
    pub author: String,
    /// Uniform draws in [0, 1) for the retry jitter.
    pub jitter: Arc<dyn Fn() -> f64 + Send + Sync>,
    last_meta: Mutex<f64>,
}

impl Jobs {
    /// The roles over `store`, reading config row `env` at most every `config_ttl` seconds.
    pub fn new(
        store: Arc<dyn TaskStore>,
        clock: Arc<dyn Clock>,
        env: &str,
        config_ttl: f64,
        author: &str,
    ) -> Self {
        Jobs {
            config: ConfigSource::new(store.clone(), clock.clone(), env, config_ttl),
            store,
            clock,
            metrics: Arc::new(ecology::NoMetrics),
            alerts: Arc::new(NoAlerts),
            author: author.to_string(),
            jitter: Arc::new(fastrand::f64),
            last_meta: Mutex::new(0.0),
        }
    }

    /// With a metric source.
    pub fn with_metrics(mut self, metrics: Arc<dyn ecology::MetricSource>) -> Self {
        self.metrics = metrics;
        self
    }

    /// With config merged over the defaults and under the stored row (the worker functions a
    /// deployment made, from `STRATUS_JOBS_WORKERS`).
    pub fn with_config_defaults(mut self, extra: serde_json::Value) -> Self {
        self.config = self.config.with_defaults(extra);
        self
    }

    /// With an alert hook.
    pub fn with_alerts(mut self, alerts: Arc<dyn Alerts>) -> Self {
        self.alerts = alerts;
        self
    }

    /// An audit row stamped now. Times are made strictly increasing within this process, since
    /// `(task_id, created_at)` is the meta table's key and two rows must never overwrite.
    pub(crate) fn meta(&self, task: &Task, action: &str, detail: Option<String>) -> MetaRow {
        let now = self.clock.now();
        let mut last = self.last_meta.lock().unwrap_or_else(|e| e.into_inner());
        let at = if now > *last { now } else { *last + 1e-6 };
        *last = at;
        MetaRow {
            task_id: task.task_id.clone(),
            created_at: at,
            action: action.to_string(),
            author: self.author.clone(),
            labourer_id: task.labourer_id.clone(),
            detail,
        }
    }
}
