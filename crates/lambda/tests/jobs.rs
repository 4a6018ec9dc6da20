//! The job system on Lambda, with real processes: the scheduler, orchestrator, scavenger,
//! worker-assistant and worker functions are each the real `stratus-lambda` binary under a local
//! Runtime API, and the orchestrator's and workers' invocations go through the real AWS SDK Lambda
//! client to a local Invoke API (tests/support/invoke.rs) that hands them to the worker and
//! assistant processes — as Lambda does with `InvocationType=Event`.

mod support {
    pub mod invoke;
    pub mod runtime;
}

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::invoke::FakeInvokeApi;
use support::runtime::{FakeRuntime, Outcome};

/// `stratus <args> --json` in process (on a thread of its own: the CLI runs its own runtime).
fn cli(home: &Path, args: &[&str]) -> Value {
    use clap::Parser;
    let mut argv = vec!["stratus".to_string(), "--json".to_string()];
    argv.extend(args.iter().map(|a| (*a).to_string()));
    let home = home.display().to_string();
    let (out, err) = std::thread::spawn(move || {
        let mut cli = stratus_cli::args::Cli::try_parse_from(&argv).unwrap();
        cli.argv = argv.iter().map(std::ffi::OsString::from).collect();
        let env = move |k: &str| (k == "STRATUS_HOME").then(|| home.clone());
        let (mut out, mut err) = (Vec::new(), Vec::new());
        stratus_cli::run(cli, &env, &mut out, &mut err);
        (
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap(),
        )
    })
    .join()
    .unwrap();
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("stratus {args:?}: {e}: {out} {err}"))
}

/// One function: a `stratus-lambda` process polling its own Runtime API; killed when dropped.
struct Function {
    runtime: Arc<FakeRuntime>,
    process: Child,
}

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

async fn function(name: &str, mode: &str, home: &Path, invoke: &FakeInvokeApi) -> Function {
    let runtime = FakeRuntime::start().await;
    let mut command = Command::new(env!("CARGO_BIN_EXE_stratus-lambda"));
    for name in [
        "STRATUS_FUNCTION_PARAMS",
        "CACHE_MODE",
        "STRATUS_CACHE_MODE",
        "STRATUS_CONFIG",
        "AWS_PROFILE",
    ] {
        command.env_remove(name);
    }
    let process = command
        .envs(runtime.environment())
        .env("AWS_LAMBDA_FUNCTION_NAME", name)
        .env("STRATUS_FUNCTION", mode)
        .env("STRATUS_HOME", home)
        .env("STRATUS_JOBS_ASSISTANT", "assistant")
        .env("AWS_ENDPOINT_URL_LAMBDA", invoke.url())
        .env("AWS_ACCESS_KEY_ID", "local")
        .env("AWS_SECRET_ACCESS_KEY", "local")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    Function {
        runtime: Arc::new(runtime),
        process,
    }
}

/// Invokes a function synchronously (its Runtime API) and returns its answer.
async fn call(function: &mut Function, event: Value) -> Value {
    function.runtime.invoke(event);
    let runtime = Arc::get_mut(&mut function.runtime).expect("not shared");
    match runtime.next_outcome().await {
        Outcome::Response { body, .. } => body,
        other => panic!("{other:?}"),
    }
}

/// Invokes a function with an event it must refuse; returns the error body.
async fn refused(function: &mut Function, event: Value) -> Value {
    function.runtime.invoke(event);
    let runtime = Arc::get_mut(&mut function.runtime).expect("not shared");
    match runtime.next_outcome().await {
        Outcome::Error { body, .. } => body,
        other => panic!("{other:?}"),
    }
}

async fn wait_until(home: &Path, job: &str, done: u64) -> Value {
    let start = Instant::now();
    loop {
        let status = cli(home, &["jobs", "status", job]);
        if status["completed"].as_u64().unwrap_or(0) + status["dead"].as_u64().unwrap_or(0) >= done
        {
            return status;
        }
        assert!(start.elapsed() < Duration::from_secs(120), "{status}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_orchestrator_invokes_real_worker_functions_through_the_lambda_api() {
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    cli(home, &["tickers"]); // the bundled data, once
    cli(
        home,
        &[
            "jobs",
            "config",
            "set",
            "task_config.labourers.worker",
            r#"{"arn": "worker", "max_simultaneous_invocations": 3}"#,
        ],
    );
    cli(
        home,
        &[
            "jobs",
            "config",
            "set",
            "task_config.labourers.gone",
            r#"{"arn": "no-such-function"}"#,
        ],
    );
    let invoke = FakeInvokeApi::start().await;
    let worker = function("worker", "jobs-worker", home, &invoke).await;
    let assistant = function("assistant", "jobs-assistant", home, &invoke).await;
    invoke.register("worker", worker.runtime.clone(), 30);
    invoke.register("assistant", assistant.runtime.clone(), 30);
    let mut scheduler = function("scheduler", "jobs-scheduler", home, &invoke).await;
    let mut orchestrator = function("orchestrator", "jobs-orchestrator", home, &invoke).await;
    let mut scavenger = function("scavenger", "jobs-scavenger", home, &invoke).await;

    let tickers = ["AAPL", "MSFT", "JPM", "XOM", "KO"];
    let submitted = call(
        &mut scheduler,
        json!({"job": {"labourer": "worker", "verb": "risk-profile", "tickers": tickers, "isolate_tickers": true, "params": {"start": "2021-01-04"}}}),
    )
    .await;
    assert_eq!(submitted["tasks"], 5, "{submitted}");
    let job = submitted["job"].as_str().unwrap().to_string();
    // A bad job is refused whole, naming the parameter.
    let mut bad_scheduler = function("scheduler2", "jobs-scheduler", home, &invoke).await;
    bad_scheduler.runtime.invoke(json!({"job": {"labourer": "worker", "verb": "risk-profile", "tickers": ["AAPL"], "params": {"strat": "x"}}}));
    match Arc::get_mut(&mut bad_scheduler.runtime)
        .unwrap()
        .next_outcome()
        .await
    {
        Outcome::Error { body, .. } => {
            assert_eq!(body["errorType"], "BadRequest");
            assert!(
                body["errorMessage"].as_str().unwrap().contains("strat"),
                "{body}"
            );
        }
        other => panic!("{other:?}"),
    }

    // At most 3 at once (the worker's max_simultaneous_invocations).
    let first = call(
        &mut orchestrator,
        json!({"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}),
    )
    .await;
    assert_eq!(first["worker"]["invoked"], 3, "{first}");
    wait_until(home, &job, 3).await;
    let second = call(&mut orchestrator, json!({})).await;
    assert_eq!(second["worker"]["invoked"], 2, "{second}");
    let status = wait_until(home, &job, 5).await;
    assert_eq!(status["completed"], 5);
    let scavenged = call(&mut scavenger, json!({})).await;
    assert_eq!(scavenged["worker"]["archived"], 5, "{scavenged}");

    // The workers were invoked asynchronously with the task and its attempt; each reported to
    // the assistant the same way.
    let invocations = invoke.invocations();
    let to_workers: Vec<&Value> = invocations
        .iter()
        .filter(|(f, _)| f == "worker")
        .map(|(_, e)| e)
        .collect();
    let to_assistant = invocations.iter().filter(|(f, _)| f == "assistant").count();
    assert_eq!((to_workers.len(), to_assistant), (5, 5));
    assert!(
        to_workers
            .iter()
            .all(|e| e["attempt"] == 1 && e["task_id"].is_string())
    );

    // Each result is what `stratus risk-profile T --start … --json` prints.
    let results = cli(home, &["jobs", "results", &job]);
    let rows = results["results"].as_array().unwrap();
    assert_eq!(rows.len(), 5);
    for row in rows {
        let ticker = row["params"]["tickers"][0].as_str().unwrap();
        let direct = cli(home, &["risk-profile", ticker, "--start", "2021-01-04"]);
        assert_eq!(row["result"], direct, "{ticker}");
    }

    // A worker function that does not exist: the task is dead at once, not left to expire.
    let gone = call(
        &mut scheduler,
        json!({"job": {"labourer": "gone", "work": "noop", "tasks": [{}]}}),
    )
    .await;
    let gone_job = gone["job"].as_str().unwrap().to_string();
    let report = call(&mut orchestrator, json!({})).await;
    assert_eq!(report["gone"]["invoke_failed"], 1, "{report}");
    let status = cli(home, &["jobs", "status", &gone_job]);
    assert_eq!(status["dead"], 1, "{status}");
    let dead = cli(home, &["jobs", "results", &gone_job]);
    assert!(
        dead["dead"][0]["error"]
            .as_str()
            .unwrap()
            .contains("ResourceNotFoundException"),
        "{dead}"
    );

    // Events a role cannot use are BadRequest errors naming what is missing; nothing is written.
    let mut worker2 = function("worker2", "jobs-worker", home, &invoke).await;
    let mut assistant2 = function("assistant2", "jobs-assistant", home, &invoke).await;
    for (which, event, expected) in [
        (0, json!({"job": 3}), "must be an object"),
        (0, json!({"cursor": {"job_id": 1}}), "cursor"),
        (0, json!([1, 2]), "labourer"),
        (1, json!({"verb": "risk-profile"}), "task_id"),
        (2, json!({"action": "mark_task_as_completed"}), "task_id"),
        (
            2,
            json!({"action": "mark_task_as_completed", "task_id": "x"}),
            "attempt",
        ),
        (
            2,
            json!({"action": "dance", "task_id": "x", "attempt": 1}),
            "unknown action",
        ),
    ] {
        let function = match which {
            0 => &mut scheduler,
            1 => &mut worker2,
            _ => &mut assistant2,
        };
        let body = refused(function, event.clone()).await;
        assert_eq!(body["errorType"], "BadRequest", "{event}: {body}");
        assert!(
            body["errorMessage"].as_str().unwrap().contains(expected),
            "{event}: {body}"
        );
    }
    // A report for a task that does not exist is recorded as stale, not an error and not a task.
    let stale = call(
        &mut assistant2,
        json!({"action": "mark_task_as_completed", "task_id": "ghost", "attempt": 1}),
    )
    .await;
    assert_eq!(stale["applied"], false);
}

/// `backtest --sweep` with `labourer = "worker"`: the grid is queued for deployed workers (here
/// real worker functions behind the Lambda API), and the same command run again once they are
/// done ranks their results — each the backtest the point names, as run alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backtest_sweep_runs_on_worker_functions_and_is_ranked_when_run_again() {
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    cli(home, &["tickers"]);
    cli(
        home,
        &[
            "jobs",
            "config",
            "set",
            "task_config.labourers.worker",
            r#"{"arn": "worker", "max_simultaneous_invocations": 3}"#,
        ],
    );
    let invoke = FakeInvokeApi::start().await;
    let worker = function("worker", "jobs-worker", home, &invoke).await;
    let assistant = function("assistant", "jobs-assistant", home, &invoke).await;
    invoke.register("worker", worker.runtime.clone(), 60);
    invoke.register("assistant", assistant.runtime.clone(), 60);
    let mut orchestrator = function("orchestrator", "jobs-orchestrator", home, &invoke).await;

    let grid = home.join("grid.toml");
    std::fs::write(
        &grid,
        "strategies = [\"min-variance\", \"risk-parity\", \"equal-weight\"]\nlabourer = \"worker\"\n",
    )
    .unwrap();
    let grid = grid.display().to_string();
    let base = [
        "backtest",
        "--tickers",
        "AAPL",
        "MSFT",
        "JPM",
        "XOM",
        "--start",
        "2021-01-04",
        "--end",
        "2022-12-28",
        "--lookback",
        "252",
        "--rebalance",
        "quarterly",
    ];
    let sweep: Vec<&str> = base
        .iter()
        .copied()
        .chain(["--sweep", grid.as_str()])
        .collect();
    let queued = cli(home, &sweep);
    assert_eq!(
        (queued["tasks"].as_u64(), queued["done"].as_u64()),
        (Some(3), Some(0)),
        "{queued}"
    );
    let job = queued["job"].as_str().unwrap().to_string();
    // Nothing ran here: asked again before the workers ran, it is still queued.
    assert_eq!(cli(home, &sweep)["done"], 0);

    let report = call(&mut orchestrator, json!({})).await;
    assert_eq!(report["worker"]["invoked"], 3, "{report}");
    wait_until(home, &job, 3).await;
    let ranked = cli(home, &sweep);
    assert_eq!(ranked["job"], job.as_str(), "{ranked}");
    let points = ranked["points"].as_array().unwrap();
    assert_eq!(points.len(), 3, "{ranked}");
    let sharpe: Vec<f64> = points
        .iter()
        .map(|p| p["value"].as_f64().unwrap())
        .collect();
    assert!(sharpe.windows(2).all(|w| w[0] >= w[1]), "{sharpe:?}");
    for point in points {
        let strategy = point["strategy"].as_str().unwrap();
        let alone_args: Vec<&str> = base
            .iter()
            .copied()
            .chain(["--strategy", strategy])
            .collect();
        let alone = cli(home, &alone_args);
        assert_eq!(
            point["result"]["risk_report"], alone["strategies"][0]["risk_report"],
            "{strategy}: a worker function's backtest differs from the same backtest run here"
        );
    }
    let to_workers = invoke
        .invocations()
        .iter()
        .filter(|(f, _)| f == "worker")
        .count();
    assert_eq!(to_workers, 3, "each point ran once, on a worker function");
}
