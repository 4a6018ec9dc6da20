//! The four roles over a real SQLite task store, with a hand-moved clock: FIFO, the claim,
//! immediate requeue, expiry from the worker's timeout, backoff, the dead archive and redrive,
//! stale reports, health throttling, config hot reload and scheduler continuation.

#![allow(clippy::print_stderr)]

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::NaiveDate;
use serde_json::{Map, Value, json};
use stratus_jobs::config::LabourerConfig;
use stratus_jobs::ecology::MetricSource;
use stratus_jobs::model::{ClosedStatus, Invocation, ManualClock};
use stratus_jobs::orchestrator::{InvokeError, Invoker};
use stratus_jobs::scavenger::RedriveFilter;
use stratus_jobs::store::Applied;
use stratus_jobs::{Alerts, Jobs, Task, TaskStore};
use stratus_store::tables::TaskTables;
use stratus_store_sqlite::SqliteTaskStore;

const T0: f64 = 1_800_000_000.0;

#[derive(Default)]
struct Recorder {
    invoked: Mutex<Vec<Invocation>>,
    fail_with: Mutex<Option<InvokeError>>,
}

#[async_trait]
impl Invoker for Recorder {
    async fn timeout(&self, _: &str, _: &LabourerConfig) -> Result<Option<f64>, InvokeError> {
        Ok(Some(600.0))
    }
    async fn invoke(&self, _: &LabourerConfig, invocation: &Invocation) -> Result<(), InvokeError> {
        if let Some(e) = self.fail_with.lock().unwrap().clone() {
            return Err(e);
        }
        self.invoked.lock().unwrap().push(invocation.clone());
        Ok(())
    }
}

impl Recorder {
    fn take(&self) -> Vec<Invocation> {
        std::mem::take(&mut *self.invoked.lock().unwrap())
    }
}

#[derive(Default)]
struct DeadLetters(Mutex<Vec<(String, String)>>);

#[async_trait]
impl Alerts for DeadLetters {
    async fn dead(&self, task: &Task, reason: &str) {
        self.0
            .lock()
            .unwrap()
            .push((task.task_id.clone(), reason.to_string()));
    }
}

struct FakeMetrics(Mutex<Result<Vec<f64>, String>>);

#[async_trait]
impl MetricSource for FakeMetrics {
    async fn datapoints(&self, _: &Value) -> Result<Vec<f64>, String> {
        self.0.lock().unwrap().clone()
    }
}

struct Setup {
    _dir: tempfile::TempDir,
    store: Arc<SqliteTaskStore>,
    clock: Arc<ManualClock>,
    jobs: Jobs,
    alerts: Arc<DeadLetters>,
}

async fn setup(config: Value) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(
        SqliteTaskStore::open(dir.path().join("s.db"), TaskTables::new("", "config")).unwrap(),
    );
    store.provision().await.unwrap();
    store
        .config_put(
            "test",
            stratus_jobs::config::CONFIG_NAME,
            &config.to_string(),
        )
        .await
        .unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let alerts = Arc::new(DeadLetters::default());
    let mut jobs =
        Jobs::new(store.clone(), clock.clone(), "test", 0.0, "tests").with_alerts(alerts.clone());
    jobs.jitter = Arc::new(|| 0.5);
    Setup {
        _dir: dir,
        store,
        clock,
        jobs,
        alerts,
    }
}

fn job(value: Value) -> Map<String, Value> {
    value.as_object().unwrap().clone()
}

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2027, 1, 15).unwrap()
}

fn worker(max: u32, timeout: f64) -> Value {
    json!({"task_config": {
        "expiry_margin": 5.0,
        "backoff": {"kind": "linear", "base": 30.0, "max": 1000.0, "jitter": 0.2},
        "labourers": {"w": {"max_simultaneous_invocations": max, "timeout": timeout}}
    }})
}

#[tokio::test]
async fn tasks_run_first_in_first_out_within_the_concurrency_limit() {
    let s = setup(worker(2, 60.0)).await;
    let sub = s
        .jobs
        .submit(
            &job(json!({"labourer": "w", "tickers": ["A", "B", "C"], "isolate_tickers": true})),
            today(),
            None,
        )
        .await
        .unwrap();
    assert_eq!((sub.tasks, sub.created), (3, 3));
    let invoker = Recorder::default();
    let report = s.jobs.orchestrate("w", &invoker, None).await.unwrap();
    assert_eq!((report.running, report.desired, report.invoked), (0, 2, 2));
    let first = invoker.take();
    assert_eq!(first[0].payload["tickers"], json!(["A"]));
    assert_eq!(first[1].payload["tickers"], json!(["B"]));
    assert_eq!(first[0].attempt, 1);
    // Full: nothing more starts.
    assert_eq!(
        s.jobs
            .orchestrate("w", &invoker, None)
            .await
            .unwrap()
            .invoked,
        0
    );
    let result = [("json".to_string(), "{\"ok\":true}".to_string())];
    assert_eq!(
        s.jobs
            .complete(&first[0], &[("ms".into(), 3.0)], &result)
            .await
            .unwrap(),
        Applied::Applied
    );
    // A completed task stops counting as running even before it is archived.
    assert_eq!(
        s.jobs
            .orchestrate("w", &invoker, None)
            .await
            .unwrap()
            .invoked,
        1
    );
    assert_eq!(invoker.take()[0].payload["tickers"], json!(["C"]));
    let report = s.jobs.scavenge("w", &invoker).await.unwrap();
    assert_eq!(report.archived, 1);
    let status = s.jobs.status(&sub.job_id).await.unwrap();
    assert_eq!(
        (
            status.tasks,
            status.completed,
            status.running,
            status.pending
        ),
        (3, 1, 2, 0)
    );
    let results = s.jobs.results(&sub.job_id).await.unwrap();
    assert_eq!(results.results.len(), 1);
    assert_eq!(results.results[0].result, json!({"ok": true}));
    let actions: Vec<String> = s
        .store
        .meta(&first[0].task_id)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.action)
        .collect();
    assert_eq!(
        actions,
        ["created", "invoked", "marked_as_completed", "archived"]
    );
}

#[tokio::test]
async fn a_failure_requeues_at_once_after_the_backoff_at_the_head_of_the_queue() {
    let s = setup(worker(1, 60.0)).await;
    s.jobs
        .submit(
            &job(json!({"labourer": "w", "tasks": [{"n": 1}, {"n": 2}]})),
            today(),
            None,
        )
        .await
        .unwrap();
    let invoker = Recorder::default();
    s.jobs.orchestrate("w", &invoker, None).await.unwrap();
    let first = invoker.take().remove(0);
    s.jobs
        .fail(&first, &[], "provider said 503", true)
        .await
        .unwrap();
    // Straight to the retry table (sosw waited 20 minutes for expiry), due after 30 s × 1.
    let retry = s.store.due_retries("w", f64::INFINITY, 10).await.unwrap();
    assert_eq!(retry.len(), 1);
    assert_eq!(retry[0].desired_launch_time, Some(T0 + 30.0));
    assert_eq!(retry[0].result["error"], "provider said 503");
    // The other task runs meanwhile.
    s.jobs.orchestrate("w", &invoker, None).await.unwrap();
    let second = invoker.take().remove(0);
    assert_eq!(second.payload["n"], 2);
    s.jobs.complete(&second, &[], &[]).await.unwrap();
    s.clock.advance(29.0);
    assert_eq!(s.jobs.scavenge("w", &invoker).await.unwrap().requeued, 0);
    s.clock.advance(2.0);
    assert_eq!(s.jobs.scavenge("w", &invoker).await.unwrap().requeued, 1);
    s.jobs.orchestrate("w", &invoker, None).await.unwrap();
    let again = invoker.take().remove(0);
    assert_eq!(
        (again.task_id.as_str(), again.attempt),
        (first.task_id.as_str(), 2)
    );
}

#[tokio::test]
async fn expiry_follows_the_worker_timeout_and_the_last_attempt_is_buried_and_redriven() {
    let mut config = worker(5, 10.0);
    config["task_config"]["max_attempts"] = json!(2);
    let s = setup(config).await;
    let sub = s
        .jobs
        .submit(
            &job(json!({"labourer": "w", "tasks": [{"n": 1}]})),
            today(),
            None,
        )
        .await
        .unwrap();
    let invoker = Recorder::default();
    s.jobs.orchestrate("w", &invoker, None).await.unwrap();
    let attempt1 = invoker.take().remove(0);
    s.clock.advance(14.0); // timeout 10 + margin 5 not yet passed
    assert_eq!(s.jobs.scavenge("w", &invoker).await.unwrap().retried, 0);
    s.clock.advance(2.0);
    assert_eq!(s.jobs.scavenge("w", &invoker).await.unwrap().retried, 1);
    s.clock.advance(31.0);
    s.jobs.scavenge("w", &invoker).await.unwrap();
    s.jobs.orchestrate("w", &invoker, None).await.unwrap();
    let attempt2 = invoker.take().remove(0);
    assert_eq!(attempt2.attempt, 2);
    // The first attempt finishes late: recorded, not applied.
    assert_eq!(
        s.jobs.complete(&attempt1, &[], &[]).await.unwrap(),
        Applied::Stale
    );
    assert!(
        s.store
            .get(&attempt2.task_id)
            .await
            .unwrap()
            .unwrap()
            .completed_at
            .is_none()
    );
    let actions: Vec<String> = s
        .store
        .meta(&attempt1.task_id)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.action)
        .collect();
    assert!(
        actions.contains(&"stale_completion".to_string()),
        "{actions:?}"
    );
    // The second attempt expires too: max_attempts = 2, so it is dead, with an alert.
    s.clock.advance(16.0);
    let report = s.jobs.scavenge("w", &invoker).await.unwrap();
    assert_eq!((report.retried, report.dead), (0, 1));
    assert_eq!(s.alerts.0.lock().unwrap().len(), 1);
    let status = s.jobs.status(&sub.job_id).await.unwrap();
    assert_eq!((status.dead, status.tasks), (1, 1));
    assert!(status.is_done());
    // Redrive by worker and time range puts it back, attempts reset.
    let from = T0 + 60.0;
    let none = s
        .jobs
        .redrive(&RedriveFilter::Labourer {
            labourer_id: "w".into(),
            from,
            to: from + 1.0,
        })
        .await
        .unwrap();
    assert!(none.is_empty());
    let back = s
        .jobs
        .redrive(&RedriveFilter::Labourer {
            labourer_id: "w".into(),
            from: T0,
            to: f64::INFINITY,
        })
        .await
        .unwrap();
    assert_eq!(back.len(), 1);
    assert_eq!(s.jobs.status(&sub.job_id).await.unwrap().pending, 1);
    s.jobs.orchestrate("w", &invoker, None).await.unwrap();
    assert_eq!(invoker.take()[0].attempt, 1);
    // Redrive by id names what is wrong.
    assert!(
        s.jobs
            .redrive(&RedriveFilter::Ids(vec!["nope".into()]))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn a_failure_retrying_cannot_fix_is_dead_at_once() {
    let s = setup(worker(5, 60.0)).await;
    s.jobs
        .submit(
            &job(json!({"labourer": "w", "tasks": [{"n": 1}]})),
            today(),
            None,
        )
        .await
        .unwrap();
    let invoker = Recorder::default();
    s.jobs.orchestrate("w", &invoker, None).await.unwrap();
    let inv = invoker.take().remove(0);
    s.jobs
        .fail(&inv, &[], "unknown ticker ZZZZ", false)
        .await
        .unwrap();
    let closed = s.store.get_closed(&inv.task_id).await.unwrap().unwrap();
    assert_eq!(closed.status, Some(ClosedStatus::Dead));
    assert_eq!(closed.attempts, 1);
    // A second report for the same attempt changes nothing.
    assert_eq!(
        s.jobs.fail(&inv, &[], "again", false).await.unwrap(),
        Applied::Stale
    );
    assert_eq!(s.alerts.0.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn an_invocation_that_fails_is_requeued_not_left_to_expire() {
    let s = setup(worker(5, 60.0)).await;
    s.jobs
        .submit(
            &job(json!({"labourer": "w", "tasks": [{"n": 1}]})),
            today(),
            None,
        )
        .await
        .unwrap();
    let invoker = Recorder::default();
    *invoker.fail_with.lock().unwrap() = Some(InvokeError {
        message: "throttled".into(),
        retryable: true,
    });
    let report = s.jobs.orchestrate("w", &invoker, None).await.unwrap();
    assert_eq!(report.invoke_failed, 1);
    assert_eq!(
        s.store
            .due_retries("w", f64::INFINITY, 5)
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn health_scales_the_concurrency() {
    let mut config = worker(4, 60.0);
    config["task_config"]["labourers"]["w"]["health_metrics"] = json!([{
        "details": {"Namespace": "AWS/RDS", "MetricName": "CPUUtilization"},
        "feelings": {"2": 75, "3": 50, "4": 25},
        "feeling_comparison_operator": "<="
    }]);
    let s = setup(config).await;
    let metrics = Arc::new(FakeMetrics(Mutex::new(Ok(vec![60.0, 70.0]))));
    let jobs = Jobs::new(s.store.clone(), s.clock.clone(), "test", 0.0, "tests")
        .with_metrics(metrics.clone());
    jobs.submit(
        &job(json!({"labourer": "w", "tasks": [{}, {}, {}, {}, {}, {}, {}, {}]})),
        today(),
        None,
    )
    .await
    .unwrap();
    let invoker = Recorder::default();
    // Mean 65 → "Moderate" (2) → 4 × 0.5 = 2.
    let report = jobs.orchestrate("w", &invoker, None).await.unwrap();
    assert_eq!((report.health, report.invoked), (2, 2));
    *metrics.0.lock().unwrap() = Ok(vec![99.0]);
    let report = jobs.orchestrate("w", &invoker, None).await.unwrap();
    assert_eq!((report.health, report.invoked), (0, 0));
    *metrics.0.lock().unwrap() = Ok(vec![10.0]);
    let report = jobs.orchestrate("w", &invoker, None).await.unwrap();
    assert_eq!((report.health, report.running, report.invoked), (4, 2, 2));
    *metrics.0.lock().unwrap() = Err("CloudWatch is down".into());
    let error = jobs.orchestrate("w", &invoker, None).await.unwrap_err();
    assert!(error.to_string().contains("CloudWatch is down"), "{error}");
}

#[tokio::test]
async fn config_changes_are_seen_after_the_ttl_without_a_restart() {
    let s = setup(worker(1, 60.0)).await;
    let jobs = Jobs::new(s.store.clone(), s.clock.clone(), "test", 60.0, "tests");
    assert_eq!(
        jobs.config
            .get()
            .await
            .unwrap()
            .labourer("w")
            .max_simultaneous_invocations,
        1
    );
    s.store
        .config_put(
            "test",
            stratus_jobs::config::CONFIG_NAME,
            &worker(7, 60.0).to_string(),
        )
        .await
        .unwrap();
    s.clock.advance(59.0);
    assert_eq!(
        jobs.config
            .get()
            .await
            .unwrap()
            .labourer("w")
            .max_simultaneous_invocations,
        1
    );
    s.clock.advance(2.0);
    assert_eq!(
        jobs.config
            .get()
            .await
            .unwrap()
            .labourer("w")
            .max_simultaneous_invocations,
        7
    );
    // `config set` merges a dotted key into the row, unions lists, and refuses bad values.
    jobs.config
        .set("task_config.labourers.w.max_attempts", json!(9))
        .await
        .unwrap();
    let config = jobs.config.get().await.unwrap();
    assert_eq!(config.labourer("w").max_attempts, Some(9));
    assert_eq!(config.labourer("w").max_simultaneous_invocations, 7);
    let error = jobs
        .config
        .set("task_config.max_attempts", json!("many"))
        .await
        .unwrap_err();
    assert!(
        error.message.contains("task_config.max_attempts"),
        "{error}"
    );
    assert_eq!(jobs.config.get().await.unwrap().max_attempts, 3);
}

#[tokio::test]
async fn two_orchestrators_never_start_the_same_task() {
    let s = setup(worker(1000, 60.0)).await;
    let tasks: Vec<Value> = (0..300).map(|n| json!({"n": n})).collect();
    s.jobs
        .submit(
            &job(json!({"labourer": "w", "tasks": tasks})),
            today(),
            None,
        )
        .await
        .unwrap();
    let other = Jobs::new(s.store.clone(), s.clock.clone(), "test", 0.0, "other");
    let (a, b) = (Recorder::default(), Recorder::default());
    let mut seen = std::collections::BTreeSet::new();
    let mut skipped = 0;
    for _ in 0..10 {
        let (x, y) = tokio::join!(
            s.jobs.orchestrate("w", &a, Some(40)),
            other.orchestrate("w", &b, Some(40))
        );
        skipped += x.unwrap().skipped + y.unwrap().skipped;
        for inv in a.take().into_iter().chain(b.take()) {
            assert!(
                seen.insert(inv.task_id.clone()),
                "{} started twice",
                inv.task_id
            );
        }
    }
    assert_eq!(seen.len(), 300);
    eprintln!("claims lost to the other orchestrator: {skipped}");
}

#[tokio::test]
async fn a_submission_past_its_budget_continues_from_its_cursor() {
    let mut config = worker(1, 60.0);
    config["scheduler_config"] = json!({"rows_to_process": 2, "shutdown_period": 60.0});
    let s = setup(config).await;
    let tasks: Vec<Value> = (0..5).map(|n| json!({"n": n})).collect();
    let spec = job(json!({"labourer": "w", "job_id": "fixed", "tasks": tasks}));
    let deadline = T0 + 59.0; // already inside the shutdown period: one batch per call
    let mut sub = s.jobs.submit(&spec, today(), Some(deadline)).await.unwrap();
    let mut created = sub.created;
    let mut calls = 1;
    while let Some(cursor) = sub.cursor.clone() {
        sub = s.jobs.resume(&cursor, Some(deadline)).await.unwrap();
        created += sub.created;
        calls += 1;
    }
    assert_eq!((created, calls), (5, 3));
    // Submitting the same job id again creates nothing twice.
    assert_eq!(
        s.jobs.submit(&spec, today(), None).await.unwrap().created,
        0
    );
    let invoker = Recorder::default();
    let mut order = Vec::new();
    for _ in 0..5 {
        s.jobs.orchestrate("w", &invoker, None).await.unwrap();
        let inv = invoker.take().remove(0);
        order.push(inv.payload["n"].as_i64().unwrap());
        s.jobs.complete(&inv, &[], &[]).await.unwrap();
    }
    assert_eq!(order, [0, 1, 2, 3, 4]);
}
