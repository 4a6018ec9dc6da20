//! Job submission (the scheduler role): plan the tasks, then write them in batches, stopping
//! before the time budget runs out and leaving a cursor to continue from.
//!
//! sosw kept the remaining rows in an S3 queue file and found its continuation by scanning every
//! EventBridge rule; here the cursor is the job itself plus an index (the plan is deterministic
//! for a given "today"), so continuing is re-planning and skipping — and a batch re-written after
//! a crash creates nothing twice, because task ids are `<job id>_<index>`.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::scheduler::{JobError, plan};
use crate::{Jobs, JobsError, Task};

/// Where a submission stopped, to continue from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cursor {
    /// The job.
    pub job_id: String,
    /// The job description, as submitted.
    pub job: Map<String, Value>,
    /// The "today" the job was planned with.
    pub today: NaiveDate,
    /// The first task not yet written.
    pub next: usize,
    /// How many continuations came before (a guard against endless self-invocation).
    pub depth: u32,
}

/// What a submission did.
#[derive(Debug, Clone, PartialEq)]
pub struct Submission {
    /// The job.
    pub job_id: String,
    /// Tasks in the job.
    pub tasks: usize,
    /// Tasks written by this call (fewer than attempted when some existed already).
    pub created: usize,
    /// Set when the time budget ran out first: continue from here.
    pub cursor: Option<Cursor>,
}

/// The most continuations of one submission.
pub const MAX_DEPTH: u32 = 100;

/// The worker a job names: `labourer`, else sosw's `lambda_name` (an ARN is trimmed to the
/// function name), else `local`.
pub fn labourer_of(job: &Map<String, Value>) -> Result<String, JobError> {
    let named = job.get("labourer").or_else(|| job.get("lambda_name"));
    let name = match named {
        None | Some(Value::Null) => return Ok("local".into()),
        Some(Value::String(s)) => s.rsplit(':').next().unwrap_or(s).to_string(),
        Some(other) => {
            return Err(JobError(format!(
                "labourer must be a function name, not {other}"
            )));
        }
    };
    if name.is_empty()
        || name.len() > 64
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(JobError(format!(
            "labourer {name:?} is not a function name (letters, digits, - and _, at most 64)"
        )));
    }
    Ok(name)
}

fn job_id_of(job: &Map<String, Value>, now: f64) -> Result<String, JobError> {
    match job.get("job_id") {
        Some(Value::String(id))
            if !id.is_empty()
                && id.len() <= 64
                && id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') =>
        {
            Ok(id.clone())
        }
        Some(other) => Err(JobError(format!(
            "job_id must be letters, digits, - and _ (at most 64), not {other}"
        ))),
        None => Ok(format!(
            "j{:011x}{:04x}",
            (now * 1000.0) as u64,
            fastrand::u16(..)
        )),
    }
}

impl Jobs {
    /// Submits a job planned for `today`; stops early when the clock passes `deadline` minus
    /// the configured shutdown period.
    pub async fn submit(
        &self,
        job: &Map<String, Value>,
        today: NaiveDate,
        deadline: Option<f64>,
    ) -> Result<Submission, JobsError> {
        let job_id = job_id_of(job, self.clock.now())?;
        let cursor = Cursor {
            job_id,
            job: job.clone(),
            today,
            next: 0,
            depth: 0,
        };
        self.resume(&cursor, deadline).await
    }

    /// Continues a submission from its cursor.
    pub async fn resume(
        &self,
        cursor: &Cursor,
        deadline: Option<f64>,
    ) -> Result<Submission, JobsError> {
        if cursor.depth > MAX_DEPTH {
            return Err(JobError(format!(
                "job {} was continued {} times; refusing to continue again",
                cursor.job_id, cursor.depth
            ))
            .into());
        }
        let config = self.config.get().await?;
        let labourer = labourer_of(&cursor.job)?;
        let arn = match cursor.job.get("lambda_name") {
            Some(Value::String(s)) if s.starts_with("arn:") => Some(s.clone()),
            _ => None,
        };
        let payloads = plan(&cursor.job, &config, cursor.today)?;
        let total = payloads.len();
        let mut created = 0;
        let mut next = cursor.next.min(total);
        let first = next;
        while next < total {
            // At least one batch per call, so a continuation always makes progress.
            if let Some(deadline) = deadline
                && next > first
                && self.clock.now() > deadline - config.shutdown_period
            {
                let cursor = Cursor {
                    next,
                    depth: cursor.depth + 1,
                    ..cursor.clone()
                };
                return Ok(Submission {
                    job_id: cursor.job_id.clone(),
                    tasks: total,
                    created,
                    cursor: Some(cursor),
                });
            }
            let end = (next + config.rows_to_process).min(total);
            let now = self.clock.now();
            let newest = self
                .store
                .queued_edge(&labourer, now, true)
                .await?
                .unwrap_or(0.0);
            let batch: Vec<Task> = payloads[next..end]
                .iter()
                .enumerate()
                .map(|(i, payload)| {
                    let mut payload = payload.clone();
                    // The chunking instructions have done their work.
                    payload.retain(|k, _| {
                        !(k.starts_with("isolate_")
                            || (k.starts_with("max_") && k.ends_with("_per_batch"))
                            || k == "job_schema_name")
                    });
                    payload.remove("labourer");
                    payload.remove("lambda_name");
                    payload.remove("job_id");
                    let mut task = Task::new(
                        format!("{}_{:06}", cursor.job_id, next + i),
                        labourer.clone(),
                        &Value::Object(payload),
                        now,
                    );
                    task.job_id = Some(cursor.job_id.clone());
                    task.arn = arn.clone();
                    task.greenfield = newest + config.task_step * (i + 1) as f64;
                    task
                })
                .collect();
            let meta: Vec<_> = batch
                .iter()
                .map(|t| self.meta(t, "created", None))
                .collect();
            created += self.store.create(&batch, &meta).await?;
            next = end;
        }
        Ok(Submission {
            job_id: cursor.job_id.clone(),
            tasks: total,
            created,
            cursor: None,
        })
    }
}
