//! `cargo bench -p stratus-lambda`: Lambda cold start = process start to the first response
//! posted to the Runtime API, for the release `stratus-lambda` against the local Runtime API of
//! the tests, on a SQLite store that already holds the bundled data (as a warm `/tmp` or
//! DynamoDB would). Prints min / median / max over repeated cold starts of each mode.

#![allow(missing_docs, clippy::print_stdout, unreachable_pub)]

#[path = "../tests/support/runtime.rs"]
mod runtime;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use runtime::{FakeRuntime, Outcome};
use serde_json::json;

const RUNS: usize = 20;

async fn cold_start(home: &std::path::Path, function: Option<&str>) -> Duration {
    let mut api = FakeRuntime::start().await;
    let event = match function {
        Some(_) => json!({"tickers": ["AAPL", "MSFT", "JPM", "KO"]}),
        None => json!({
            "version": "2.0", "routeKey": "$default", "rawPath": "/api/risk-profile",
            "rawQueryString": "tickers=AAPL,MSFT,JPM,KO", "headers": {"host": "x"},
            "requestContext": {"accountId": "1", "apiId": "a", "domainName": "x", "domainPrefix": "x",
                "requestId": "r", "routeKey": "$default", "stage": "$default", "time": "t", "timeEpoch": 0,
                "http": {"method": "GET", "path": "/api/risk-profile", "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "b"}},
            "isBase64Encoded": false
        }),
    };
    api.invoke(event);
    let mut command = Command::new(env!("CARGO_BIN_EXE_stratus-lambda"));
    command
        .envs(api.environment())
        .env("STRATUS_HOME", home)
        .env_remove("STRATUS_FUNCTION")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if let Some(f) = function {
        command.env("STRATUS_FUNCTION", f);
    }
    let start = Instant::now();
    let mut child = command.spawn().expect("stratus-lambda starts");
    let outcome = api.next_outcome().await;
    let elapsed = start.elapsed();
    let _ = child.kill();
    let _ = child.wait();
    assert!(matches!(outcome, Outcome::Response { .. }), "{outcome:?}");
    elapsed
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let home = tempfile::tempdir().expect("temporary folder");
    // Seed the store once (the first cold start of a container on an empty /tmp pays this).
    let seed_start = Instant::now();
    cold_start(home.path(), Some("risk-profile")).await;
    let seeding = seed_start.elapsed();
    println!("| mode | runs | min ms | median ms | max ms | target ms |");
    println!("|---|---|---|---|---|---|");
    for (label, function) in [
        (
            "function (STRATUS_FUNCTION=risk-profile)",
            Some("risk-profile"),
        ),
        ("HTTP (Function URL event)", None),
    ] {
        let mut samples = Vec::with_capacity(RUNS);
        for _ in 0..RUNS {
            samples.push(cold_start(home.path(), function).await);
        }
        samples.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        println!(
            "| {label} | {RUNS} | {:.1} | {:.1} | {:.1} | ≤ 30 |",
            ms(samples[0]),
            ms(samples[RUNS / 2]),
            ms(samples[RUNS - 1])
        );
    }
    println!(
        "\nfirst cold start on an empty store (loads the bundled data into SQLite): {:.0} ms",
        seeding.as_secs_f64() * 1e3
    );
}
