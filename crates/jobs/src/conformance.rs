//! The contract every task store meets, one test per behaviour.
//!
//! A backend runs the suite with [`task_store_conformance_tests!`](crate::task_store_conformance_tests),
//! passing an expression that builds a fresh, provisioned, empty store. The roles rely on exactly
//! these behaviours — above all that claims and moves are conditional and atomic — so SQLite and
//! DynamoDB give the same lifecycle.

#![allow(missing_docs, clippy::missing_panics_doc)]

use serde_json::json;

use std::sync::atomic::{AtomicU64, Ordering};

use crate::model::{ClosedStatus, MetaRow, Task};
use crate::store::{Applied, ClosedQuery, JobTasks, TaskResult, TaskStore};

/// The store with an audit row made up for each change, so the behaviour tests read as the
/// operations themselves; [`audit_rows_are_written_with_the_change_and_only_then`] checks the rows.
struct Audited<'a>(&'a dyn TaskStore);

static SEQUENCE: AtomicU64 = AtomicU64::new(1);

fn audit_row(task_id: &str, action: &str) -> MetaRow {
    MetaRow {
        task_id: task_id.into(),
        created_at: NOW + SEQUENCE.fetch_add(1, Ordering::SeqCst) as f64 / 1000.0,
        action: action.into(),
        author: "conformance".into(),
        labourer_id: "w".into(),
        detail: None,
    }
}

#[allow(dead_code)]
impl Audited<'_> {
    async fn create(&self, tasks: &[Task]) -> TaskResult<usize> {
        let meta: Vec<MetaRow> = tasks
            .iter()
            .map(|t| audit_row(&t.task_id, "created"))
            .collect();
        self.0.create(tasks, &meta).await
    }
    async fn get(&self, id: &str) -> TaskResult<Option<Task>> {
        self.0.get(id).await
    }
    async fn queued(&self, l: &str, before: f64, limit: usize) -> TaskResult<Vec<Task>> {
        self.0.queued(l, before, limit).await
    }
    async fn queued_edge(&self, l: &str, before: f64, newest: bool) -> TaskResult<Option<f64>> {
        self.0.queued_edge(l, before, newest).await
    }
    async fn invoked(
        &self,
        l: &str,
        from: f64,
        to: f64,
        completed: bool,
        limit: usize,
    ) -> TaskResult<Vec<Task>> {
        self.0.invoked(l, from, to, completed, limit).await
    }
    async fn count_invoked(&self, l: &str, from: f64, to: f64, completed: bool) -> TaskResult<u64> {
        self.0.count_invoked(l, from, to, completed).await
    }
    async fn claim(&self, id: &str, before: f64, greenfield: f64) -> TaskResult<bool> {
        self.0
            .claim(id, before, greenfield, &audit_row(id, "invoked"))
            .await
    }
    async fn complete(
        &self,
        id: &str,
        attempt: u32,
        now: f64,
        stats: &[(String, f64)],
        result: &[(String, String)],
    ) -> TaskResult<Applied> {
        self.0
            .complete(
                id,
                attempt,
                now,
                stats,
                result,
                &audit_row(id, "marked_as_completed"),
            )
            .await
    }
    async fn fail(
        &self,
        id: &str,
        attempt: u32,
        now: f64,
        stats: &[(String, f64)],
        result: &[(String, String)],
    ) -> TaskResult<Applied> {
        self.0
            .fail(
                id,
                attempt,
                now,
                stats,
                result,
                &audit_row(id, "marked_as_failed"),
            )
            .await
    }
    async fn archive(&self, task: &Task, status: ClosedStatus, at: f64) -> TaskResult<bool> {
        self.0
            .archive(task, status, at, &audit_row(&task.task_id, "archived"))
            .await
    }
    async fn to_retry(&self, task: &Task, due: f64) -> TaskResult<bool> {
        self.0
            .to_retry(task, due, &audit_row(&task.task_id, "scheduled_for_retry"))
            .await
    }
    async fn due_retries(&self, l: &str, now: f64, limit: usize) -> TaskResult<Vec<Task>> {
        self.0.due_retries(l, now, limit).await
    }
    async fn requeue(&self, task: &Task, greenfield: f64) -> TaskResult<bool> {
        self.0
            .requeue(
                task,
                greenfield,
                &audit_row(&task.task_id, "ready_for_retry"),
            )
            .await
    }
    async fn closed(&self, query: &ClosedQuery) -> TaskResult<Vec<Task>> {
        self.0.closed(query).await
    }
    async fn get_closed(&self, id: &str) -> TaskResult<Option<Task>> {
        self.0.get_closed(id).await
    }
    async fn redrive(&self, task: &Task, greenfield: f64) -> TaskResult<bool> {
        self.0
            .redrive(task, greenfield, &audit_row(&task.task_id, "redriven"))
            .await
    }
    async fn job(&self, id: &str) -> TaskResult<JobTasks> {
        self.0.job(id).await
    }
    async fn write_meta(&self, rows: &[MetaRow]) -> TaskResult<()> {
        self.0.write_meta(rows).await
    }
    async fn meta(&self, id: &str) -> TaskResult<Vec<MetaRow>> {
        self.0.meta(id).await
    }
    async fn config_get(&self, env: &str, name: &str) -> TaskResult<Option<String>> {
        self.0.config_get(env, name).await
    }
    async fn config_put(&self, env: &str, name: &str, value: &str) -> TaskResult<()> {
        self.0.config_put(env, name, value).await
    }
}

const NOW: f64 = 1_750_000_000.0;
const DELTA: f64 = crate::model::INVOCATION_DELTA;

fn task(id: &str, labourer: &str, greenfield: f64) -> Task {
    let mut t = Task::new(
        id.into(),
        labourer.into(),
        &json!({"verb": "risk-profile", "tickers": [id]}),
        NOW - 10.0,
    );
    t.greenfield = greenfield;
    t.job_id = Some("job1".into());
    t
}

async fn invoke(store: &Audited<'_>, id: &str, at: f64) -> Task {
    assert!(
        store.claim(id, NOW, at + DELTA).await.unwrap(),
        "claim {id}"
    );
    store.get(id).await.unwrap().expect("claimed task")
}

pub async fn create_is_idempotent_and_round_trips(store: &dyn TaskStore) {
    let store = &Audited(store);
    let mut a = task("a", "w", 1000.0);
    a.arn = Some("arn:aws:lambda:us-east-1:123456789012:function:w".into());
    assert_eq!(
        store
            .create(&[a.clone(), task("b", "w", 2000.0)])
            .await
            .unwrap(),
        2
    );
    let mut changed = a.clone();
    changed.payload = "{}".into();
    assert_eq!(
        store
            .create(&[changed, task("c", "w", 3000.0)])
            .await
            .unwrap(),
        1
    );
    assert_eq!(store.get("a").await.unwrap(), Some(a));
    assert_eq!(store.get("nope").await.unwrap(), None);
    assert_eq!(store.create(&[]).await.unwrap(), 0);
}

pub async fn queued_tasks_come_in_greenfield_order_per_worker(store: &dyn TaskStore) {
    let store = &Audited(store);
    store
        .create(&[
            task("t3", "a", 3000.0),
            task("t1", "a", 1000.0),
            task("t2", "a", 2000.0),
            task("x", "b", 500.0),
            task("late", "a", NOW + DELTA),
        ])
        .await
        .unwrap();
    let ids = |tasks: Vec<Task>| tasks.into_iter().map(|t| t.task_id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.queued("a", NOW, 10).await.unwrap()),
        ["t1", "t2", "t3"]
    );
    assert_eq!(ids(store.queued("a", NOW, 2).await.unwrap()), ["t1", "t2"]);
    assert_eq!(
        store.queued_edge("a", NOW, true).await.unwrap(),
        Some(3000.0)
    );
    assert_eq!(
        store.queued_edge("a", NOW, false).await.unwrap(),
        Some(1000.0)
    );
    assert_eq!(store.queued_edge("c", NOW, true).await.unwrap(), None);
    assert!(store.queued("c", NOW, 10).await.unwrap().is_empty());
}

pub async fn a_claim_succeeds_once(store: &dyn TaskStore) {
    let store = &Audited(store);
    store.create(&[task("a", "w", 1000.0)]).await.unwrap();
    let g = NOW + DELTA;
    let (x, y, z) = tokio::join!(
        store.claim("a", NOW, g),
        store.claim("a", NOW, g + 1.0),
        store.claim("a", NOW, g + 2.0)
    );
    let wins = [x.unwrap(), y.unwrap(), z.unwrap()]
        .iter()
        .filter(|w| **w)
        .count();
    assert_eq!(wins, 1);
    let claimed = store.get("a").await.unwrap().unwrap();
    assert_eq!(claimed.attempts, 1);
    assert!(claimed.greenfield >= g);
    assert!(!store.claim("missing", NOW, g).await.unwrap());
    assert_eq!(
        store.get("missing").await.unwrap(),
        None,
        "a failed claim creates nothing"
    );
}

pub async fn invoked_windows_and_counts(store: &dyn TaskStore) {
    let store = &Audited(store);
    store
        .create(&[
            task("old", "w", 1.0),
            task("new", "w", 2.0),
            task("done", "w", 3.0),
            task("q", "w", 4.0),
        ])
        .await
        .unwrap();
    invoke(store, "old", NOW - 5000.0).await;
    invoke(store, "new", NOW - 10.0).await;
    invoke(store, "done", NOW - 20.0).await;
    assert_eq!(
        store.complete("done", 1, NOW, &[], &[]).await.unwrap(),
        Applied::Applied
    );
    let expired_before = NOW + DELTA - 1000.0;
    let ids = |tasks: Vec<Task>| tasks.into_iter().map(|t| t.task_id).collect::<Vec<_>>();
    assert_eq!(
        ids(store
            .invoked("w", NOW, expired_before, false, 10)
            .await
            .unwrap()),
        ["old"]
    );
    assert_eq!(
        ids(store
            .invoked("w", expired_before, f64::INFINITY, false, 10)
            .await
            .unwrap()),
        ["new"]
    );
    assert_eq!(
        ids(store
            .invoked("w", NOW, f64::INFINITY, true, 10)
            .await
            .unwrap()),
        ["done"]
    );
    assert_eq!(
        store
            .count_invoked("w", NOW, f64::INFINITY, false)
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        store
            .count_invoked("w", NOW, f64::INFINITY, true)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .count_invoked("other", NOW, f64::INFINITY, false)
            .await
            .unwrap(),
        0
    );
}

pub async fn reports_apply_only_to_the_current_attempt(store: &dyn TaskStore) {
    let store = &Audited(store);
    store
        .create(&[task("a", "w", 1.0), task("b", "w", 2.0)])
        .await
        .unwrap();
    let stats = [("rows".to_string(), 3.0)];
    let result = [("json".to_string(), "{\"x\":1}".to_string())];
    // Not invoked yet: nothing applies.
    assert_eq!(
        store.complete("a", 0, NOW, &stats, &result).await.unwrap(),
        Applied::Stale
    );
    invoke(store, "a", NOW).await;
    assert_eq!(
        store.complete("a", 2, NOW, &stats, &result).await.unwrap(),
        Applied::Stale
    );
    assert_eq!(
        store
            .complete("a", 1, NOW + 1.0, &stats, &result)
            .await
            .unwrap(),
        Applied::Applied
    );
    assert_eq!(
        store.complete("a", 1, NOW + 2.0, &[], &[]).await.unwrap(),
        Applied::Stale
    );
    let done = store.get("a").await.unwrap().unwrap();
    assert_eq!(done.completed_at, Some(NOW + 1.0));
    assert_eq!(done.stats.get("rows"), Some(&3.0));
    assert_eq!(
        done.result.get("json").map(String::as_str),
        Some("{\"x\":1}")
    );
    invoke(store, "b", NOW).await;
    let error = [("error".to_string(), "boom".to_string())];
    assert_eq!(
        store.fail("b", 1, NOW, &[], &error).await.unwrap(),
        Applied::Applied
    );
    let failed = store.get("b").await.unwrap().unwrap();
    assert_eq!(failed.failed_attempts, 1);
    assert_eq!(failed.completed_at, None);
    assert_eq!(failed.result.get("error").map(String::as_str), Some("boom"));
    assert_eq!(
        store.fail("missing", 1, NOW, &[], &error).await.unwrap(),
        Applied::Stale
    );
    assert_eq!(
        store.complete("missing", 1, NOW, &[], &[]).await.unwrap(),
        Applied::Stale
    );
    assert_eq!(store.get("missing").await.unwrap(), None);
}

pub async fn moves_are_conditional_on_the_row_as_read(store: &dyn TaskStore) {
    let store = &Audited(store);
    store
        .create(&[
            task("a", "w", 1.0),
            task("b", "w", 2.0),
            task("c", "w", 3.0),
        ])
        .await
        .unwrap();
    let a = invoke(store, "a", NOW).await;
    // Not completed: cannot be archived as completed.
    assert!(
        !store
            .archive(&a, ClosedStatus::Completed, NOW)
            .await
            .unwrap()
    );
    assert_eq!(
        store.complete("a", 1, NOW, &[], &[]).await.unwrap(),
        Applied::Applied
    );
    // Completed after the caller read it: neither retried nor buried.
    assert!(!store.to_retry(&a, NOW).await.unwrap());
    assert!(!store.archive(&a, ClosedStatus::Dead, NOW).await.unwrap());
    let mut stale = a.clone();
    stale.attempts = 0;
    assert!(
        !store
            .archive(&stale, ClosedStatus::Completed, NOW)
            .await
            .unwrap()
    );
    assert!(
        store
            .archive(&a, ClosedStatus::Completed, NOW + 1.0)
            .await
            .unwrap()
    );
    assert!(
        !store
            .archive(&a, ClosedStatus::Completed, NOW + 1.0)
            .await
            .unwrap()
    );
    assert_eq!(store.get("a").await.unwrap(), None);
    let closed = store.get_closed("a").await.unwrap().unwrap();
    assert_eq!(closed.status, Some(ClosedStatus::Completed));
    assert_eq!(closed.closed_at, Some(NOW + 1.0));
    assert_eq!(closed.payload, a.payload);

    let b = invoke(store, "b", NOW).await;
    let c = invoke(store, "c", NOW).await;
    assert!(store.to_retry(&c, NOW + 50.0).await.unwrap());
    assert!(store.to_retry(&b, NOW + 20.0).await.unwrap());
    assert!(!store.to_retry(&b, NOW + 20.0).await.unwrap());
    assert_eq!(store.get("b").await.unwrap(), None);
    let due = store.due_retries("w", NOW + 30.0, 10).await.unwrap();
    assert_eq!(
        due.iter().map(|t| t.task_id.as_str()).collect::<Vec<_>>(),
        ["b"]
    );
    assert_eq!(due[0].desired_launch_time, Some(NOW + 20.0));
    assert_eq!(due[0].attempts, 1);
    assert_eq!(
        store.due_retries("w", NOW + 60.0, 10).await.unwrap().len(),
        2
    );
    assert_eq!(
        store.due_retries("w", NOW + 60.0, 1).await.unwrap()[0].task_id,
        "b"
    );
    assert!(store.requeue(&due[0], 500.0).await.unwrap());
    assert!(!store.requeue(&due[0], 500.0).await.unwrap());
    let back = store.get("b").await.unwrap().unwrap();
    assert_eq!((back.greenfield, back.attempts), (500.0, 1));
    assert_eq!(store.queued("w", NOW, 10).await.unwrap()[0].task_id, "b");
}

pub async fn dead_tasks_are_listed_and_redriven(store: &dyn TaskStore) {
    let store = &Audited(store);
    store
        .create(&[
            task("a", "w", 1.0),
            task("b", "w", 2.0),
            task("c", "w", 3.0),
        ])
        .await
        .unwrap();
    for (id, at) in [("a", 10.0), ("b", 20.0)] {
        let t = invoke(store, id, NOW).await;
        assert!(
            store
                .archive(&t, ClosedStatus::Dead, NOW + at)
                .await
                .unwrap()
        );
    }
    let c = invoke(store, "c", NOW).await;
    store.complete("c", 1, NOW, &[], &[]).await.unwrap();
    assert!(
        store
            .archive(&c, ClosedStatus::Completed, NOW + 30.0)
            .await
            .unwrap()
    );
    let query = |status, from, to, newest_first, limit| ClosedQuery {
        labourer_id: "w".into(),
        status,
        from,
        to,
        newest_first,
        limit,
    };
    let ids = |tasks: Vec<Task>| tasks.into_iter().map(|t| t.task_id).collect::<Vec<_>>();
    assert_eq!(
        ids(store
            .closed(&query(ClosedStatus::Dead, 0.0, f64::INFINITY, false, 10))
            .await
            .unwrap()),
        ["a", "b"]
    );
    assert_eq!(
        ids(store
            .closed(&query(ClosedStatus::Dead, 0.0, f64::INFINITY, true, 1))
            .await
            .unwrap()),
        ["b"]
    );
    assert_eq!(
        ids(store
            .closed(&query(
                ClosedStatus::Dead,
                NOW + 15.0,
                NOW + 25.0,
                false,
                10
            ))
            .await
            .unwrap()),
        ["b"]
    );
    assert_eq!(
        ids(store
            .closed(&query(
                ClosedStatus::Completed,
                0.0,
                f64::INFINITY,
                false,
                10
            ))
            .await
            .unwrap()),
        ["c"]
    );
    let a = store.get_closed("a").await.unwrap().unwrap();
    assert!(store.redrive(&a, 7000.0).await.unwrap());
    assert!(!store.redrive(&a, 7000.0).await.unwrap());
    assert_eq!(store.get_closed("a").await.unwrap(), None);
    let live = store.get("a").await.unwrap().unwrap();
    assert_eq!(
        (
            live.greenfield,
            live.attempts,
            live.completed_at,
            live.status
        ),
        (7000.0, 0, None, None)
    );
}

pub async fn a_job_is_read_from_all_three_tables(store: &dyn TaskStore) {
    let store = &Audited(store);
    let mut other = task("o", "w", 9.0);
    other.job_id = Some("job2".into());
    store
        .create(&[
            task("a", "w", 1.0),
            task("b", "w", 2.0),
            task("c", "w", 3.0),
            other,
        ])
        .await
        .unwrap();
    let b = invoke(store, "b", NOW).await;
    store.to_retry(&b, NOW).await.unwrap();
    let c = invoke(store, "c", NOW).await;
    store.complete("c", 1, NOW, &[], &[]).await.unwrap();
    store
        .archive(&c, ClosedStatus::Completed, NOW)
        .await
        .unwrap();
    let job = store.job("job1").await.unwrap();
    assert_eq!(
        (job.live.len(), job.retry.len(), job.closed.len()),
        (1, 1, 1)
    );
    assert_eq!(job.retry[0].task_id, "b");
    assert!(store.job("none").await.unwrap().live.is_empty());
}

pub async fn audit_rows_and_config_round_trip(store: &dyn TaskStore) {
    let store = &Audited(store);
    let row = |at: f64, action: &str| MetaRow {
        task_id: "a".into(),
        created_at: at,
        action: action.into(),
        author: "test".into(),
        labourer_id: "w".into(),
        detail: Some("attempt 1".into()),
    };
    store
        .write_meta(&[row(NOW + 1.0, "invoked"), row(NOW, "created")])
        .await
        .unwrap();
    store.write_meta(&[]).await.unwrap();
    let rows = store.meta("a").await.unwrap();
    assert_eq!(rows, [row(NOW, "created"), row(NOW + 1.0, "invoked")]);
    assert_eq!(
        store.config_get("production", "x_config").await.unwrap(),
        None
    );
    store
        .config_put("production", "x_config", "{\"a\":1}")
        .await
        .unwrap();
    store
        .config_put("production", "x_config", "{\"a\":2}")
        .await
        .unwrap();
    store
        .config_put("dev", "x_config", "raw text")
        .await
        .unwrap();
    assert_eq!(
        store
            .config_get("production", "x_config")
            .await
            .unwrap()
            .as_deref(),
        Some("{\"a\":2}")
    );
    assert_eq!(
        store
            .config_get("dev", "x_config")
            .await
            .unwrap()
            .as_deref(),
        Some("raw text")
    );
}

pub async fn audit_rows_are_written_with_the_change_and_only_then(store: &dyn TaskStore) {
    let actions = |rows: Vec<MetaRow>| rows.into_iter().map(|m| m.action).collect::<Vec<_>>();
    let row = |id: &str, action: &str| audit_row(id, action);
    let a = task("a", "w", 1.0);
    assert_eq!(
        store
            .create(std::slice::from_ref(&a), &[row("a", "created")])
            .await
            .unwrap(),
        1
    );
    // A task that exists already: no second "created".
    assert_eq!(
        store
            .create(std::slice::from_ref(&a), &[row("a", "created")])
            .await
            .unwrap(),
        0
    );
    assert!(
        !store
            .claim("a", 0.5, NOW + DELTA, &row("a", "lost"))
            .await
            .unwrap()
    );
    assert!(
        store
            .claim("a", NOW, NOW + DELTA, &row("a", "invoked"))
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .complete("a", 9, NOW, &[], &[], &row("a", "stale"))
            .await
            .unwrap(),
        Applied::Stale
    );
    assert_eq!(
        store
            .complete("a", 1, NOW, &[], &[], &row("a", "marked_as_completed"))
            .await
            .unwrap(),
        Applied::Applied
    );
    let live = store.get("a").await.unwrap().unwrap();
    assert!(!store.to_retry(&live, NOW, &row("a", "lost")).await.unwrap());
    assert!(
        store
            .archive(&live, ClosedStatus::Completed, NOW, &row("a", "archived"))
            .await
            .unwrap()
    );
    assert!(
        !store
            .archive(&live, ClosedStatus::Completed, NOW, &row("a", "lost"))
            .await
            .unwrap()
    );
    assert_eq!(
        actions(store.meta("a").await.unwrap()),
        ["created", "invoked", "marked_as_completed", "archived"]
    );
}

/// Runs every conformance test against a backend.
#[macro_export]
macro_rules! task_store_conformance_tests {
    (optional: $make:expr) => {
        $crate::task_store_conformance_tests!(@each optional $make;
            create_is_idempotent_and_round_trips,
            queued_tasks_come_in_greenfield_order_per_worker,
            a_claim_succeeds_once,
            invoked_windows_and_counts,
            reports_apply_only_to_the_current_attempt,
            moves_are_conditional_on_the_row_as_read,
            dead_tasks_are_listed_and_redriven,
            a_job_is_read_from_all_three_tables,
            audit_rows_and_config_round_trip,
            audit_rows_are_written_with_the_change_and_only_then
        );
    };
    ($make:expr) => {
        $crate::task_store_conformance_tests!(@each present $make;
            create_is_idempotent_and_round_trips,
            queued_tasks_come_in_greenfield_order_per_worker,
            a_claim_succeeds_once,
            invoked_windows_and_counts,
            reports_apply_only_to_the_current_attempt,
            moves_are_conditional_on_the_row_as_read,
            dead_tasks_are_listed_and_redriven,
            a_job_is_read_from_all_three_tables,
            audit_rows_and_config_round_trip,
            audit_rows_are_written_with_the_change_and_only_then
        );
    };
    (@each present $make:expr; $($name:ident),+) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let fixture = $make;
                $crate::conformance::$name(fixture.store()).await;
            }
        )+
    };
    (@each optional $make:expr; $($name:ident),+) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let Some(fixture) = $make.await else { return };
                $crate::conformance::$name(fixture.store()).await;
            }
        )+
    };
}
