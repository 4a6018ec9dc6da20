//! The job system's throughput: tasks per second scheduled, claimed and completed, the
//! lifecycle cost per task, and a local pool end to end — on SQLite and on DynamoDB Local
//! (`STRATUS_TEST_DYNAMODB=http://127.0.0.1:PORT`), for no-op and `risk-profile` tasks.
//!
//! `cargo bench -p stratus-work`. There is no Python peer to time: sosw 0.7 runs only against
//! AWS (its Essentials are Lambda functions over DynamoDB), and its maintainers removed it in 3.0.

#![allow(missing_docs, clippy::print_stdout, clippy::print_stderr)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde_json::{Map, Value, json};
use stratus_jobs::config::LabourerConfig;
use stratus_jobs::model::Invocation;
use stratus_jobs::orchestrator::{InvokeError, Invoker};
use stratus_jobs::pool::{self, PoolOptions, Until, Work};
use stratus_jobs::{Jobs, SystemClock, TaskStore};
use stratus_store::tables::TaskTables;

#[derive(Default)]
struct Collect(Mutex<Vec<Invocation>>);

#[async_trait]
impl Invoker for Collect {
    async fn timeout(&self, _: &str, _: &LabourerConfig) -> Result<Option<f64>, InvokeError> {
        Ok(Some(900.0))
    }
    async fn invoke(&self, _: &LabourerConfig, invocation: &Invocation) -> Result<(), InvokeError> {
        self.0.lock().unwrap().push(invocation.clone());
        Ok(())
    }
}

fn job(tasks: usize, labourer: &str, work: Value) -> Map<String, Value> {
    let mut job = work.as_object().unwrap().clone();
    job.insert("labourer".into(), json!(labourer));
    job.insert(
        "tasks".into(),
        Value::Array((0..tasks).map(|n| json!({"n": n})).collect()),
    );
    job
}

fn today() -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2026, 11, 30).unwrap()
}

/// Phase by phase, one caller: (scheduled/s, claimed/s, completed/s, archived/s, ms per task).
async fn phases(store: Arc<dyn TaskStore>, n: usize) -> [f64; 5] {
    let jobs = Jobs::new(store, Arc::new(SystemClock), "bench", 60.0, "bench");
    jobs.config
        .set(
            "task_config.labourers.phases",
            json!({"max_simultaneous_invocations": 1_000_000, "timeout": 900}),
        )
        .await
        .unwrap();
    let t = Instant::now();
    jobs.submit(&job(n, "phases", json!({"work": "noop"})), today(), None)
        .await
        .unwrap();
    let schedule = t.elapsed().as_secs_f64();
    let invoker = Collect::default();
    let t = Instant::now();
    let mut claimed = 0;
    while claimed < n as u64 {
        claimed += jobs
            .orchestrate("phases", &invoker, Some(500))
            .await
            .unwrap()
            .invoked;
    }
    let claim = t.elapsed().as_secs_f64();
    let invocations = std::mem::take(&mut *invoker.0.lock().unwrap());
    let t = Instant::now();
    for invocation in &invocations {
        jobs.complete(invocation, &[], &[("json".into(), "{}".into())])
            .await
            .unwrap();
    }
    let complete = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let mut archived = 0;
    while archived < n as u64 {
        archived += jobs.scavenge("phases", &invoker).await.unwrap().archived;
    }
    let archive = t.elapsed().as_secs_f64();
    let n = n as f64;
    [
        n / schedule,
        n / claim,
        n / complete,
        n / archive,
        (schedule + claim + complete + archive) * 1000.0 / n,
    ]
}

struct Noop;

#[async_trait]
impl Work for Noop {
    async fn perform(&self, _: &Invocation) -> Result<pool::Done, pool::Failure> {
        Ok(pool::Done {
            result: Some(json!({"noop": true})),
            stats: vec![],
        })
    }
}

/// A local pool end to end: tasks/s from submission to the last archive, and from the first
/// claim to the last archive.
async fn pooled(
    store: Arc<dyn TaskStore>,
    n: usize,
    work: Arc<dyn Work>,
    payload: Value,
    workers: usize,
) -> (f64, f64) {
    let jobs = Arc::new(Jobs::new(
        store,
        Arc::new(SystemClock),
        "bench",
        60.0,
        "bench",
    ));
    jobs.config
        .set(
            "task_config.labourers.pool",
            json!({"max_simultaneous_invocations": 64, "timeout": 900}),
        )
        .await
        .unwrap();
    let t = Instant::now();
    let submission = jobs
        .submit(&job(n, "pool", payload), today(), None)
        .await
        .unwrap();
    let run = Instant::now();
    let options = PoolOptions {
        labourer_id: "pool".into(),
        concurrency: workers,
        scavenge: true,
        scavenge_every: Duration::from_millis(500),
        poll: Duration::from_millis(20),
        until: Until::JobDone(submission.job_id),
    };
    let report = pool::run(jobs, work, options, &|_| {}).await.unwrap();
    assert_eq!(report.status.unwrap().completed, n as u64);
    (
        n as f64 / t.elapsed().as_secs_f64(),
        n as f64 / run.elapsed().as_secs_f64(),
    )
}

fn row(backend: &str, tasks: usize, p: [f64; 5], pool: (f64, f64)) {
    println!(
        "| {backend} | no-op | {tasks} | {:.0} | {:.0} | {:.0} | {:.0} | {:.2} | {:.0} | {:.0} |",
        p[0], p[1], p[2], p[3], p[4], pool.0, pool.1
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    println!(
        "| store | tasks | count | scheduled/s | claimed/s | completed/s | archived/s | lifecycle ms/task (one caller) | pool, 2 workers: submit → all archived, tasks/s | the same from the first claim |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let dir = tempfile::tempdir().unwrap();
    let sqlite = |name: &str| {
        let store = stratus_store_sqlite::SqliteTaskStore::open(
            dir.path().join(name),
            TaskTables::new("", "config"),
        )
        .unwrap();
        Arc::new(store) as Arc<dyn TaskStore>
    };
    let store = sqlite("phases.db");
    store.provision().await.unwrap();
    let p = phases(store.clone(), 5_000).await;
    let pool_rate = pooled(store, 5_000, Arc::new(Noop), json!({"work": "noop"}), 2).await;
    row("SQLite", 5_000, p, pool_rate);

    // risk-profile tasks on the bundled data, through the same worker the CLI runs.
    let home = dir.path().join("home");
    let home_text = home.display().to_string();
    let settings =
        stratus_app::Settings::load(&|k| (k == "STRATUS_HOME").then(|| home_text.clone())).unwrap();
    let cache = stratus_app::open_store(&settings).await.unwrap();
    let analytics = stratus_app::analytics(cache, &settings);
    analytics.ensure_seeded(&|_| {}).await.unwrap();
    let worker =
        stratus_work::Worker::new(analytics, settings.live.clone(), Arc::new(|_: &str| None));
    let tasks = stratus_app::tasks::open_task_store(&settings, true)
        .await
        .unwrap();
    let tickers = [
        "AAPL", "MSFT", "JPM", "XOM", "KO", "PG", "PFE", "WMT", "HD", "GE",
    ];
    let n = 1_000;
    let jobs = Arc::new(Jobs::new(
        tasks.clone(),
        Arc::new(SystemClock),
        "bench",
        60.0,
        "bench",
    ));
    let payloads: Vec<Value> = (0..n)
        .map(|i| json!({"tickers": [tickers[i % 10]], "params": {"start": "2018-01-02", "end": format!("2020-{:02}-{:02}", 1 + (i / 10) % 12, 1 + (i / 120) % 28)}}))
        .collect();
    jobs.config
        .set(
            "task_config.labourers.pool",
            json!({"max_simultaneous_invocations": 64, "timeout": 900}),
        )
        .await
        .unwrap();
    let t = Instant::now();
    let mut spec = job(0, "pool", json!({"verb": "risk-profile"}));
    spec.insert("tasks".into(), Value::Array(payloads));
    let submission = jobs.submit(&spec, today(), None).await.unwrap();
    let run = Instant::now();
    let options = PoolOptions {
        labourer_id: "pool".into(),
        concurrency: 2,
        scavenge: true,
        scavenge_every: Duration::from_millis(500),
        poll: Duration::from_millis(20),
        until: Until::JobDone(submission.job_id),
    };
    let report = pool::run(jobs, Arc::new(worker), options, &|_| {})
        .await
        .unwrap();
    let rate = n as f64 / t.elapsed().as_secs_f64();
    let run_rate = n as f64 / run.elapsed().as_secs_f64();
    assert_eq!(report.status.unwrap().completed, n as u64);
    println!("| SQLite | risk-profile | {n} | | | | | | {rate:.0} | {run_rate:.0} |");

    let Ok(url) = std::env::var("STRATUS_TEST_DYNAMODB") else {
        eprintln!("SKIPPED DynamoDB Local: set STRATUS_TEST_DYNAMODB=http://127.0.0.1:PORT");
        return;
    };
    use aws_sdk_dynamodb::config::{Credentials, Region};
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(&url)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("local", "local", None, None, "bench"))
        .load()
        .await;
    let prefix = format!("jobbench{}_", std::process::id());
    let settings = stratus_store_dynamodb::DynamoSettings {
        table_prefix: prefix.clone(),
        ..Default::default()
    };
    let cache = stratus_store_dynamodb::DynamoStore::with_config(&config, &settings)
        .await
        .unwrap();
    let store: Arc<dyn TaskStore> = Arc::new(cache.task_store(
        TaskTables::new(&prefix, &format!("{prefix}config")),
        stratus_store_dynamodb::Billing::OnDemand,
    ));
    store.provision().await.unwrap();
    let p = phases(store.clone(), 2_000).await;
    let pool_rate = pooled(
        store.clone(),
        2_000,
        Arc::new(Noop),
        json!({"work": "noop"}),
        2,
    )
    .await;
    row("DynamoDB Local", 2_000, p, pool_rate);
    let wide = pooled(store, 2_000, Arc::new(Noop), json!({"work": "noop"}), 8).await;
    println!(
        "| DynamoDB Local, 8 workers | no-op | 2000 | | | | | | {:.0} | {:.0} |",
        wide.0, wide.1
    );
}
