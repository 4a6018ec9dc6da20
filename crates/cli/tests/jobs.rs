//! `stratus jobs` end to end, with real processes and `kill -9`.
//!
//! A 10 000-task job on the SQLite file: a worker process and then the orchestrator process are
//! killed mid-run, a new run finishes the job, and the tables are counted: every task archived as
//! completed exactly once, one applied completion per task (a late or repeated report is recorded
//! as stale, never applied), nothing left in the queue or the retry table, and each cached
//! profile present once. The same on DynamoDB Local (2 000 tasks, two orchestrators at once), when
//! `STRATUS_TEST_DYNAMODB` is set (required under `CI=true`).

#![allow(clippy::print_stderr)]

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use stratus_jobs::model::ClosedStatus;
use stratus_jobs::{Jobs, SystemClock, TaskStore};

const BIN: &str = env!("CARGO_BIN_EXE_stratus");

struct Env(Vec<(String, String)>);

impl Env {
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(BIN);
        command
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default());
        for (k, v) in &self.0 {
            command.env(k, v);
        }
        command
    }

    fn run(&self, args: &[&str]) -> String {
        let output = self.command(args).output().unwrap();
        assert!(
            output.status.success(),
            "stratus {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    }

    fn spawn(&self, args: &[&str]) -> Child {
        self.command(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    }

    fn lookup(&self) -> impl Fn(&str) -> Option<String> + '_ {
        move |name: &str| {
            self.0
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        }
    }

    /// The task store the processes use, opened here with the same settings (and, for DynamoDB
    /// Local, the same endpoint and dummy credentials given explicitly).
    async fn store(&self) -> Arc<dyn TaskStore> {
        let settings = stratus_app::Settings::load(&self.lookup()).unwrap();
        let Some(url) = self.lookup()("AWS_ENDPOINT_URL") else {
            return stratus_app::tasks::open_task_store(&settings, false)
                .await
                .unwrap();
        };
        use aws_sdk_dynamodb::config::{Credentials, Region};
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(url)
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("local", "local", None, None, "tests"))
            .load()
            .await;
        let dynamo = stratus_app::dynamo_settings(&settings);
        let cache = stratus_store_dynamodb::DynamoStore::with_config(&config, &dynamo)
            .await
            .unwrap();
        Arc::new(cache.task_store(stratus_app::tasks::task_tables(&settings), dynamo.billing))
    }
}

fn configure(env: &Env) {
    // Short timeouts, so tasks of a killed process expire within seconds.
    for (key, value) in [
        ("task_config.labourers.local.timeout", "3"),
        ("task_config.expiry_margin", "1"),
        ("task_config.max_attempts", "6"),
        (
            "task_config.backoff",
            r#"{"kind": "exponential", "base": 0.2, "max": 2, "jitter": 0.2}"#,
        ),
    ] {
        env.run(&["--quiet", "jobs", "config", "set", key, value]);
    }
}

fn submit(env: &Env, file: &Path) -> (String, u64) {
    let out = env.run(&["--json", "jobs", "submit", file.to_str().unwrap()]);
    let json: Value = serde_json::from_str(&out).unwrap();
    (
        json["job"].as_str().unwrap().to_string(),
        json["tasks"].as_u64().unwrap(),
    )
}

async fn completed(jobs: &Jobs, job: &str) -> u64 {
    jobs.status(job).await.map(|s| s.completed).unwrap_or(0)
}

async fn wait_for(jobs: &Jobs, job: &str, at_least: u64, limit: Duration) {
    let start = Instant::now();
    while completed(jobs, job).await < at_least {
        assert!(
            start.elapsed() < limit,
            "{job}: fewer than {at_least} tasks done after {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn kill(mut child: Child) {
    let _ = child.kill(); // SIGKILL (a child that already finished is a zombie until waited for)
    child.wait().unwrap();
}

/// Counts the job in the tables: returns (retries that happened, stale reports recorded).
async fn audit(store: &dyn TaskStore, job: &str, tasks: u64) -> (usize, usize) {
    let all = store.job(job).await.unwrap();
    assert!(all.live.is_empty(), "{} tasks still live", all.live.len());
    assert!(
        all.retry.is_empty(),
        "{} tasks still waiting to retry",
        all.retry.len()
    );
    assert_eq!(all.closed.len() as u64, tasks, "every task archived once");
    assert!(
        all.closed
            .iter()
            .all(|t| t.status == Some(ClosedStatus::Completed)),
        "no task dead"
    );
    let mut retries = 0;
    let mut stale = 0;
    for task in &all.closed {
        let meta = store.meta(&task.task_id).await.unwrap();
        let count = |action: &str| meta.iter().filter(|m| m.action == action).count();
        assert_eq!(
            count("marked_as_completed"),
            1,
            "{}: {meta:?}",
            task.task_id
        );
        assert_eq!(count("archived"), 1, "{}", task.task_id);
        assert!(
            task.result.contains_key("json"),
            "{} has its result",
            task.task_id
        );
        retries += count("scheduled_for_retry");
        stale += count("stale_completion") + count("stale_failure");
    }
    (retries, stale)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_tasks_survive_kill_9_of_a_worker_and_of_the_orchestrator() {
    let dir = tempfile::tempdir().unwrap();
    let env = Env(vec![(
        "STRATUS_HOME".into(),
        dir.path().display().to_string(),
    )]);
    env.run(&["--quiet", "tickers"]); // load the bundled data once
    configure(&env);
    // 20 stocks × 500 window ends = 10 000 risk profiles.
    let file = dir.path().join("job.toml");
    std::fs::write(
        &file,
        r#"
verb = "risk-profile"
tickers = ["AAPL", "AMD", "BAC", "BBY", "CVX", "GE", "HD", "JNJ", "JPM", "KO",
           "LLY", "MRK", "MSFT", "PEP", "PFE", "PG", "RRC", "UNH", "WMT", "XOM"]
isolate_tickers = true
st_date = "2019-01-01"
en_date = "2020-05-14"
isolate_days = true
[params]
start = "2018-01-02"
"#,
    )
    .unwrap();
    let (job, tasks) = submit(&env, &file);
    assert_eq!(tasks, 10_000);
    let store = env.store().await;
    let jobs = Jobs::new(
        store.clone(),
        Arc::new(SystemClock),
        "production",
        60.0,
        "test",
    );
    let started = Instant::now();
    let orchestrator = env.spawn(&["jobs", "run", &job, "--concurrency", "2"]);
    let worker = env.spawn(&["jobs", "work", "--concurrency", "2"]);
    wait_for(&jobs, &job, 2_000, Duration::from_secs(300)).await;
    kill(worker);
    wait_for(&jobs, &job, 5_000, Duration::from_secs(300)).await;
    kill(orchestrator);
    let killed_at = completed(&jobs, &job).await;
    let finish = env
        .command(&["jobs", "run", &job, "--concurrency", "2"])
        .output()
        .unwrap();
    assert!(
        finish.status.success(),
        "{}",
        String::from_utf8_lossy(&finish.stderr)
    );
    eprintln!(
        "10 000 tasks in {:?} (orchestrator killed at {killed_at})",
        started.elapsed()
    );
    let (retries, stale) = audit(store.as_ref(), &job, tasks).await;
    eprintln!("retried after the kills: {retries}; stale reports recorded: {stale}");
    assert!(
        retries >= 1,
        "the killed processes' in-flight tasks expired and were retried"
    );
    // Each window's profile is cached exactly once.
    let db = rusqlite::Connection::open(dir.path().join("stratus.db")).unwrap();
    let duplicates: i64 = db
        .query_row(
            "SELECT count(*) FROM (SELECT 1 FROM profile GROUP BY ticker, start_date, end_date, method, weekends HAVING count(*) > 1)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(duplicates, 0);
    let results: Value =
        serde_json::from_str(&env.run(&["--json", "jobs", "results", &job])).unwrap();
    let rows = results["results"].as_array().unwrap();
    assert_eq!(rows.len(), 10_000);
    for row in rows {
        let ticker = row["params"]["tickers"][0].as_str().unwrap();
        assert!(
            row["result"][ticker]["annual_volatility"].as_f64().unwrap() > 0.0,
            "{row}"
        );
    }
    // Windows that resolve to the same sessions share a row; none is cached twice.
    let cached: i64 = db
        .query_row("SELECT count(*) FROM profile", [], |r| r.get(0))
        .unwrap();
    assert!(
        cached > 5_000 && cached <= 10_000,
        "{cached} cached profiles"
    );
}

fn dynamodb_env(dir: &Path) -> Option<Env> {
    let url = match std::env::var("STRATUS_TEST_DYNAMODB") {
        Ok(url) if !url.is_empty() => url,
        _ if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("CI=true but STRATUS_TEST_DYNAMODB is not set")
        }
        _ => {
            eprintln!("SKIPPED: needs STRATUS_TEST_DYNAMODB (DynamoDB Local)");
            return None;
        }
    };
    let prefix = format!("jobs{}_", std::process::id());
    Some(Env([
        ("STRATUS_HOME", dir.display().to_string()),
        ("CACHE_MODE", "dynamodb".into()),
        ("STRATUS_TABLE_PREFIX", prefix.clone()),
        ("STRATUS_JOBS_TABLE_PREFIX", prefix.clone()),
        ("STRATUS_JOBS_CONFIG_TABLE", format!("{prefix}config")),
        ("AWS_ENDPOINT_URL", url),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_ACCESS_KEY_ID", "local".into()),
        ("AWS_SECRET_ACCESS_KEY", "local".into()),
    ]
    .map(|(k, v)| (k.to_string(), v))
    .to_vec()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_dynamodb_two_orchestrators_and_a_kill_lose_nothing_and_apply_nothing_twice() {
    let dir = tempfile::tempdir().unwrap();
    let Some(env) = dynamodb_env(dir.path()) else {
        return;
    };
    configure(&env);
    let file = dir.path().join("job.toml");
    let tasks: Vec<String> = (0..2_000).map(|n| format!("{{n = {n}}}")).collect();
    std::fs::write(
        &file,
        format!(
            "work = \"noop\"\nsleep_ms = 100\ntasks = [{}]\n",
            tasks.join(", ")
        ),
    )
    .unwrap();
    let (job, count) = submit(&env, &file);
    assert_eq!(count, 2_000);
    let store = env.store().await;
    let jobs = Jobs::new(
        store.clone(),
        Arc::new(SystemClock),
        "production",
        60.0,
        "test",
    );
    let started = Instant::now();
    let first = env.spawn(&["jobs", "run", &job, "--concurrency", "4"]);
    let second = env.spawn(&["jobs", "run", &job, "--concurrency", "4"]);
    wait_for(&jobs, &job, 600, Duration::from_secs(300)).await;
    kill(first);
    let finish = env
        .command(&["jobs", "run", &job, "--concurrency", "4"])
        .output()
        .unwrap();
    assert!(
        finish.status.success(),
        "{}",
        String::from_utf8_lossy(&finish.stderr)
    );
    kill(second);
    eprintln!("2 000 tasks on DynamoDB Local in {:?}", started.elapsed());
    let (retries, stale) = audit(store.as_ref(), &job, count).await;
    eprintln!("retried after the kill: {retries}; stale reports recorded: {stale}");
    assert!(
        retries >= 1,
        "the killed orchestrator's in-flight tasks expired and were retried"
    );
}
