//! The worker assistant: what workers call when they finish.
//!
//! A report names the attempt it belongs to. The store applies it only to that attempt of a task
//! that is still invoked and not completed, so a worker that finishes after its task expired and
//! was retried leaves an audit row (`stale_completion`) and changes nothing — a result is never
//! applied twice. A failure report moves the task on at once (sosw waited for expiry): to the
//! retry table after a backoff, or, after the last attempt or a failure retrying cannot fix, to
//! the dead archive with an alert.

use crate::model::{ClosedStatus, Invocation, Task};
use crate::orchestrator::{DEFAULT_TIMEOUT, Registration};
use crate::store::Applied;
use crate::{Jobs, JobsError};

impl Jobs {
    /// A worker completed `invocation`: store its stats and result (`result_<k>` attributes).
    pub async fn complete(
        &self,
        invocation: &Invocation,
        stats: &[(String, f64)],
        result: &[(String, String)],
    ) -> Result<Applied, JobsError> {
        let now = self.clock.now();
        let detail = Some(format!("attempt {}", invocation.attempt));
        let meta = self.meta(&stub(invocation), "marked_as_completed", detail.clone());
        let applied = self
            .store
            .complete(
                &invocation.task_id,
                invocation.attempt,
                now,
                stats,
                result,
                &meta,
            )
            .await?;
        if applied == Applied::Stale {
            let meta = self.meta(&stub(invocation), "stale_completion", detail);
            self.store.write_meta(&[meta]).await?;
        }
        Ok(applied)
    }

    /// A worker failed `invocation` with `error`: count it, then retry after the backoff or, if
    /// attempts are used up or `retryable` is false, archive it as dead and alert.
    pub async fn fail(
        &self,
        invocation: &Invocation,
        stats: &[(String, f64)],
        error: &str,
        retryable: bool,
    ) -> Result<Applied, JobsError> {
        let now = self.clock.now();
        let result = [("error".to_string(), error.to_string())];
        let stub = stub(invocation);
        let detail = Some(format!("attempt {}: {error}", invocation.attempt));
        let meta = self.meta(&stub, "marked_as_failed", detail.clone());
        let applied = self
            .store
            .fail(
                &invocation.task_id,
                invocation.attempt,
                now,
                stats,
                &result,
                &meta,
            )
            .await?;
        if applied == Applied::Stale {
            let meta = self.meta(&stub, "stale_failure", detail);
            self.store.write_meta(&[meta]).await?;
            return Ok(applied);
        }
        // If the task moves on before this (a scavenger), the conditional move below is a no-op.
        let Some(task) = self.store.get(&invocation.task_id).await? else {
            return Ok(applied);
        };
        let config = self.config.get().await?;
        let labourer = config.labourer(&task.labourer_id);
        let timeout = labourer.timeout.unwrap_or(DEFAULT_TIMEOUT);
        let registration = Registration::new(&config, &labourer, now, timeout);
        if retryable && task.attempts < registration.max_attempts {
            self.retry(&task, &registration, &config.backoff).await?;
        } else {
            let reason = if retryable {
                format!("failed {} times; last error: {error}", task.attempts)
            } else {
                format!("failed with an error retrying cannot fix: {error}")
            };
            self.bury(&task, &reason).await?;
        }
        Ok(applied)
    }

    /// Moves a live task to the retry table after the backoff for its attempts.
    pub(crate) async fn retry(
        &self,
        task: &Task,
        registration: &Registration,
        backoff: &crate::config::Backoff,
    ) -> Result<bool, JobsError> {
        let delay = backoff.delay(task.attempts, registration.max_duration, (self.jitter)());
        let due = self.clock.now() + delay;
        let meta = self.meta(
            task,
            "scheduled_for_retry",
            Some(format!("in {delay:.1} s")),
        );
        let moved = self.store.to_retry(task, due, &meta).await?;
        Ok(moved)
    }

    /// Archives a live task as dead and raises the alert.
    pub(crate) async fn bury(&self, task: &Task, reason: &str) -> Result<bool, JobsError> {
        let meta = self.meta(task, "archived_dead", Some(reason.to_string()));
        let moved = self
            .store
            .archive(task, ClosedStatus::Dead, self.clock.now(), &meta)
            .await?;
        if moved {
            self.alerts.dead(task, reason).await;
        }
        Ok(moved)
    }
}

/// A task stand-in for audit rows about an invocation.
fn stub(invocation: &Invocation) -> Task {
    let mut task = Task::new(
        invocation.task_id.clone(),
        invocation.labourer_id.clone(),
        &serde_json::Value::Null,
        0.0,
    );
    task.job_id = invocation.job_id.clone();
    task
}
