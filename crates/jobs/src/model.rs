//! The task as sosw 0.7 stores it, and the clock every role reads time from.
//!
//! A task's whole lifecycle is its `greenfield` number (`orchestration.md` §4): small numbers are
//! a FIFO queue, an invocation sets it to "invocation time + one year", so the invocation time
//! can be read back and compared with the worker's timeout. Times are epoch seconds as `f64`, as
//! sosw writes them, so an existing sosw table reads unchanged. Stratus adds `job_id` (which job a
//! task belongs to) and keeps the failure count and stats beside sosw's attributes.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// sosw's `greenfield_invocation_delta`: one year, in seconds.
pub const INVOCATION_DELTA: f64 = 31_557_600.0;

/// sosw's `greenfield_task_step`: the gap between consecutive queued tasks.
pub const TASK_STEP: f64 = 1000.0;

/// One task, in the live (`sosw_tasks`), retry or closed table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Task {
    /// Unique id.
    pub task_id: String,
    /// The worker (labourer) that runs it: a Lambda function name, or `local`.
    pub labourer_id: String,
    /// The job it belongs to (a Stratus addition; absent on tasks sosw created).
    pub job_id: Option<String>,
    /// When it was created (epoch seconds).
    pub created_at: f64,
    /// The lifecycle number (see the module documentation).
    pub greenfield: f64,
    /// Invocations so far.
    pub attempts: u32,
    /// Failure reports so far.
    pub failed_attempts: u32,
    /// When a worker reported it completed.
    pub completed_at: Option<f64>,
    /// When it was archived (closed table only).
    pub closed_at: Option<f64>,
    /// When a retry is due (retry table only).
    pub desired_launch_time: Option<f64>,
    /// The worker's ARN, where the job named one.
    pub arn: Option<String>,
    /// The work, as JSON text: every job field that is not a task attribute.
    pub payload: String,
    /// Worker statistics (`stat_<k>` attributes).
    pub stats: BTreeMap<String, f64>,
    /// Worker results (`result_<k>` attributes): `result_json` holds a verb's JSON output,
    /// `result_error` the last failure.
    pub result: BTreeMap<String, String>,
    /// Completed or dead (closed table only).
    pub status: Option<ClosedStatus>,
}

impl Task {
    /// A new queued task.
    pub fn new(task_id: String, labourer_id: String, payload: &Value, created_at: f64) -> Self {
        Task {
            task_id,
            labourer_id,
            job_id: None,
            created_at,
            greenfield: 0.0,
            attempts: 0,
            failed_attempts: 0,
            completed_at: None,
            closed_at: None,
            desired_launch_time: None,
            arn: None,
            payload: payload.to_string(),
            stats: BTreeMap::new(),
            result: BTreeMap::new(),
            status: None,
        }
    }

    /// The payload as JSON (an object; anything else reads as an empty one).
    pub fn payload_json(&self) -> Map<String, Value> {
        match serde_json::from_str(&self.payload) {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        }
    }

    /// When it was invoked, for a task in the invoked range.
    pub fn invoked_at(&self) -> f64 {
        self.greenfield - INVOCATION_DELTA
    }

    /// What the worker receives: the payload merged with the task's own fields (as sosw sends),
    /// plus this attempt's idempotency token.
    pub fn invocation(&self) -> Invocation {
        Invocation {
            task_id: self.task_id.clone(),
            labourer_id: self.labourer_id.clone(),
            job_id: self.job_id.clone(),
            attempt: self.attempts,
            payload: self.payload_json(),
        }
    }
}

/// How a closed task ended: sosw's `labourer_id_task_status` suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClosedStatus {
    /// `_1`: completed.
    Completed,
    /// `_0`: failed for good (the dead-letter archive).
    Dead,
}

impl ClosedStatus {
    /// `"<labourer_id>_1"` or `"<labourer_id>_0"`.
    pub fn key(self, labourer_id: &str) -> String {
        match self {
            ClosedStatus::Completed => format!("{labourer_id}_1"),
            ClosedStatus::Dead => format!("{labourer_id}_0"),
        }
    }

    /// Reads a `labourer_id_task_status` value.
    pub fn from_key(key: &str) -> Option<Self> {
        if key.ends_with("_1") {
            Some(ClosedStatus::Completed)
        } else if key.ends_with("_0") {
            Some(ClosedStatus::Dead)
        } else {
            None
        }
    }
}

/// One invocation of a worker: what the orchestrator sends and the worker reports back against.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Invocation {
    /// The task.
    pub task_id: String,
    /// The worker.
    pub labourer_id: String,
    /// The job.
    pub job_id: Option<String>,
    /// The attempt this invocation is (the idempotency token: a report for another attempt is
    /// recorded, never applied).
    pub attempt: u32,
    /// The work.
    pub payload: Map<String, Value>,
}

impl Invocation {
    /// The event sent to a worker function: the payload with the task fields merged in, as sosw
    /// sends it, plus `attempt`.
    pub fn to_event(&self) -> Value {
        let mut event = self.payload.clone();
        event.insert("task_id".into(), self.task_id.clone().into());
        event.insert("labourer_id".into(), self.labourer_id.clone().into());
        event.insert("attempt".into(), self.attempt.into());
        if let Some(job) = &self.job_id {
            event.insert("job_id".into(), job.clone().into());
        }
        Value::Object(event)
    }

    /// Reads a worker event back (the inverse of [`Invocation::to_event`]).
    pub fn from_event(event: &Value) -> Option<Invocation> {
        let mut payload = event.as_object()?.clone();
        let task_id = payload.remove("task_id")?.as_str()?.to_string();
        let labourer_id = payload.remove("labourer_id")?.as_str()?.to_string();
        let attempt = u32::try_from(payload.remove("attempt")?.as_u64()?).ok()?;
        let job_id = match payload.remove("job_id") {
            Some(Value::String(s)) => Some(s),
            _ => None,
        };
        Some(Invocation {
            task_id,
            labourer_id,
            job_id,
            attempt,
            payload,
        })
    }
}

/// One audit row (`sosw_tasks_meta`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetaRow {
    /// The task.
    pub task_id: String,
    /// When (epoch seconds; part of the key, so unique per task).
    pub created_at: f64,
    /// What happened (`created`, `invoked`, `marked_as_completed`, …).
    pub action: String,
    /// Who did it (the role or function name).
    pub author: String,
    /// The worker.
    pub labourer_id: String,
    /// Details (the attempt, the reason).
    pub detail: Option<String>,
}

/// Where time comes from: the system clock, or a hand-set one in tests.
pub trait Clock: Send + Sync {
    /// Now, in epoch seconds.
    fn now(&self) -> f64;
}

/// The system clock.
#[derive(Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> f64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64())
    }
}

/// A clock that moves only when told to.
#[derive(Debug)]
pub struct ManualClock(Mutex<f64>);

impl ManualClock {
    /// A clock at `now`.
    pub fn new(now: f64) -> Self {
        ManualClock(Mutex::new(now))
    }

    /// Moves it forward.
    pub fn advance(&self, seconds: f64) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) += seconds;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> f64 {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}
