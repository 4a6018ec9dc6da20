//! The real `stratus-lambda` binary against a local Runtime API (tests/support/runtime.rs): each
//! mode, bad events, and one request through the CLI, the HTTP API and Lambda giving identical
//! JSON.

mod support {
    pub mod runtime;
}

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

use serde_json::{Value, json};
use support::runtime::{FakeRuntime, Outcome};

/// A data folder whose SQLite cache holds the bundled data, seeded once for every test here.
fn seeded_home() -> &'static Path {
    static HOME: OnceLock<PathBuf> = OnceLock::new();
    HOME.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap().keep();
        let (code, _, err) = cli(&dir, &["tickers"]);
        assert_eq!(code, std::process::ExitCode::SUCCESS, "{err}");
        dir
    })
}

/// `stratus <args> --json` in process: exit code, stdout, stderr. (On a thread of its own: the
/// CLI runs its own runtime, and the tests are inside theirs.)
fn cli(home: &Path, args: &[&str]) -> (std::process::ExitCode, String, String) {
    cli_with(home, &[], args)
}

/// [`cli`] with more environment variables.
fn cli_with(
    home: &Path,
    vars: &[(&str, &str)],
    args: &[&str],
) -> (std::process::ExitCode, String, String) {
    use clap::Parser;
    let mut argv = vec!["stratus".to_string(), "--json".to_string()];
    argv.extend(args.iter().map(|a| (*a).to_string()));
    let mut vars: std::collections::HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect();
    vars.insert("STRATUS_HOME".into(), home.display().to_string());
    std::thread::spawn(move || {
        let cli = stratus_cli::args::Cli::try_parse_from(argv).unwrap();
        let env = move |k: &str| vars.get(k).cloned();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = stratus_cli::run(cli, &env, &mut out, &mut err);
        (
            code,
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap(),
        )
    })
    .join()
    .unwrap()
}

fn cli_json(args: &[&str]) -> Value {
    let (_, out, err) = cli(seeded_home(), args);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out} {err}"))
}

/// The Lambda process; killed when dropped.
struct Lambda(Child);

impl Drop for Lambda {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_lambda(runtime: &FakeRuntime, env: &[(&str, &str)]) -> Lambda {
    let mut command = Command::new(env!("CARGO_BIN_EXE_stratus-lambda"));
    for name in [
        "STRATUS_FUNCTION",
        "STRATUS_FUNCTION_PARAMS",
        "CACHE_MODE",
        "STRATUS_CACHE_MODE",
        "STRATUS_CONFIG",
    ] {
        command.env_remove(name);
    }
    command
        .envs(runtime.environment())
        .env("STRATUS_HOME", seeded_home())
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    Lambda(command.spawn().expect("the stratus-lambda binary starts"))
}

fn response_of(outcome: Outcome, id: &str) -> Value {
    match outcome {
        Outcome::Response { id: got, body } if got == id => body,
        other => panic!("expected a response to {id}, got {other:?}"),
    }
}

fn error_of(outcome: Outcome, id: &str) -> (String, String) {
    match outcome {
        Outcome::Error { id: got, body } if got == id => (
            body["errorType"].as_str().unwrap_or_default().to_string(),
            body["errorMessage"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        ),
        other => panic!("expected an error for {id}, got {other:?}"),
    }
}

#[tokio::test]
async fn function_mode_runs_its_verb_on_each_event_and_reports_bad_ones() {
    let mut runtime = FakeRuntime::start().await;
    let _lambda = start_lambda(
        &runtime,
        &[
            ("STRATUS_FUNCTION", "risk-profile"),
            ("STRATUS_FUNCTION_PARAMS", r#"{"tickers": ["KO"]}"#),
        ],
    );

    let id = runtime
        .invoke(json!({"tickers": ["AAPL", "MSFT"], "start": "2021-01-04", "end": "2021-12-31"}));
    assert_eq!(
        response_of(runtime.next_outcome().await, &id),
        cli_json(&[
            "rp",
            "AAPL",
            "MSFT",
            "--start",
            "2021-01-04",
            "--end",
            "2021-12-31"
        ])
    );

    let id = runtime.invoke(json!({"tickers": ["NOPE"]}));
    let (kind, message) = error_of(runtime.next_outcome().await, &id);
    assert_eq!(kind, "NotFound");
    assert!(message.contains("unknown ticker NOPE"), "{message}");

    let id = runtime.invoke(json!({"start": "2021-13-01"}));
    let (kind, message) = error_of(runtime.next_outcome().await, &id);
    assert_eq!(kind, "BadRequest");
    assert!(
        message.contains("start") && message.contains("YYYY-MM-DD"),
        "{message}"
    );

    let id = runtime.invoke(json!({"tickers": ["AAPL"], "save": "/tmp/x.json"}));
    let (kind, message) = error_of(runtime.next_outcome().await, &id);
    assert_eq!(kind, "BadRequest");
    assert!(message.contains("unknown parameter"), "{message}");

    let id = runtime.invoke(json!("AAPL"));
    let (kind, _) = error_of(runtime.next_outcome().await, &id);
    assert_eq!(kind, "BadRequest");

    // An EventBridge schedule: the defaults from STRATUS_FUNCTION_PARAMS, overlaid with `detail`.
    let id = runtime.invoke(json!({
        "version": "0", "id": "7bf73129-1428-4cd3-a780-95db273d1602",
        "detail-type": "Scheduled Event", "source": "aws.events", "account": "123456789012",
        "time": "2026-11-22T18:00:00Z", "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/nightly"],
        "detail": {"end": "2022-06-30"}
    }));
    assert_eq!(
        response_of(runtime.next_outcome().await, &id),
        cli_json(&["rp", "KO", "--end", "2022-06-30"])
    );

    // Still serving after the errors.
    let id = runtime.invoke(json!({"tickers": "JPM"}));
    assert_eq!(
        response_of(runtime.next_outcome().await, &id),
        cli_json(&["rp", "JPM"])
    );
}

/// An API Gateway HTTP API (payload 2.0) / Function URL event.
fn http_event(path: &str, query: &str) -> Value {
    json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": {"host": "abc.lambda-url.us-east-1.on.aws", "accept": "application/json"},
        "requestContext": {
            "accountId": "123456789012", "apiId": "abc", "domainName": "abc.lambda-url.us-east-1.on.aws",
            "domainPrefix": "abc", "requestId": "r1", "routeKey": "$default", "stage": "$default",
            "time": "22/Nov/2026:18:00:00 +0000", "timeEpoch": 1795370400000_i64,
            "http": {"method": "GET", "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "test"}
        },
        "isBase64Encoded": false
    })
}

/// An API Gateway REST API (payload 1.0) proxy event on `stage`.
fn rest_event(stage: &str, path: &str, ticker: &str) -> Value {
    json!({
        "resource": "/{proxy+}",
        "path": path,
        "httpMethod": "GET",
        "headers": {"Host": "abc.execute-api.us-east-1.amazonaws.com", "Accept": "application/json"},
        "multiValueHeaders": {"Host": ["abc.execute-api.us-east-1.amazonaws.com"], "Accept": ["application/json"]},
        "queryStringParameters": {"tickers": ticker},
        "multiValueQueryStringParameters": {"tickers": [ticker]},
        "pathParameters": {"proxy": path.trim_start_matches('/')},
        "stageVariables": null,
        "requestContext": {
            "accountId": "123456789012", "resourceId": "r", "stage": stage, "requestId": "r2",
            "identity": {"sourceIp": "127.0.0.1", "userAgent": "test"},
            "resourcePath": "/{proxy+}", "httpMethod": "GET", "apiId": "abc",
            "path": path, "protocol": "HTTP/1.1", "requestTimeEpoch": 1795370400000_i64
        },
        "body": null,
        "isBase64Encoded": false
    })
}

#[tokio::test]
async fn a_bad_function_params_variable_is_an_init_error_naming_it() {
    let mut runtime = FakeRuntime::start().await;
    let _lambda = start_lambda(
        &runtime,
        &[
            ("STRATUS_FUNCTION", "risk-profile"),
            ("STRATUS_FUNCTION_PARAMS", "{not json"),
        ],
    );
    match runtime.next_outcome().await {
        Outcome::InitError { body } => {
            assert_eq!(body["errorType"], "InvalidConfiguration", "{body}");
            assert!(
                body["errorMessage"]
                    .as_str()
                    .unwrap()
                    .contains("STRATUS_FUNCTION_PARAMS"),
                "{body}"
            );
        }
        other => panic!("expected an init error, got {other:?}"),
    }
}

/// Ingest mode's bad events: each a `BadRequest` naming what to fix, and nothing exported (the
/// config is checked before any source runs). A bad secrets variable stops the cold start.
#[tokio::test]
async fn ingest_mode_names_what_is_wrong_with_an_event() {
    let exports = tempfile::tempdir().unwrap();
    let mut runtime = FakeRuntime::start().await;
    let url = exports.path().display().to_string();
    let _lambda = start_lambda(
        &runtime,
        &[("STRATUS_FUNCTION", "ingest"), ("STRATUS_EXPORT_URL", &url)],
    );
    let source = "destination = \"x\"\n[[source]]\nname = \"p\"\nprovider = \"bundled\"\nsymbols = [\"AAPL\"]\n";
    let cases = [
        (json!({}), "\"config\""),
        (json!({"config": 42}), "\"config\""),
        (json!({"config": "not [toml"}), "event config"),
        (json!({"config": "destination = \"x\"\n"}), "[[source]]"),
        (json!({"config": source, "full": "yes"}), "\"full\""),
    ];
    for (event, named) in cases {
        let id = runtime.invoke(event.clone());
        let (kind, message) = error_of(runtime.next_outcome().await, &id);
        assert_eq!(kind, "BadRequest", "{event}: {message}");
        assert!(message.contains(named), "{event}: {message}");
    }
    assert_eq!(std::fs::read_dir(exports.path()).unwrap().count(), 0);

    let mut runtime = FakeRuntime::start().await;
    let _lambda = start_lambda(
        &runtime,
        &[
            ("STRATUS_FUNCTION", "ingest"),
            ("STRATUS_SECRET_PARAMETERS", "lower=/x"),
        ],
    );
    match runtime.next_outcome().await {
        Outcome::InitError { body } => {
            assert!(
                body["errorMessage"]
                    .as_str()
                    .unwrap()
                    .contains("STRATUS_SECRET_PARAMETERS"),
                "{body}"
            );
        }
        other => panic!("expected an init error, got {other:?}"),
    }
}

#[tokio::test]
async fn http_mode_serves_the_api_behind_a_function_url() {
    let mut runtime = FakeRuntime::start().await;
    let _lambda = start_lambda(&runtime, &[]);

    let id = runtime.invoke(http_event(
        "/api/correlation",
        "tickers=AAPL,KO,XOM&method=percentiles",
    ));
    let answer = response_of(runtime.next_outcome().await, &id);
    assert_eq!(answer["statusCode"], 200, "{answer}");
    let body: Value = serde_json::from_str(answer["body"].as_str().unwrap()).unwrap();
    assert_eq!(
        body,
        cli_json(&["cor", "AAPL", "KO", "XOM", "--method", "percentiles"])
    );

    let id = runtime.invoke(http_event("/api/var", "tickers=AAPL&prob=often"));
    let answer = response_of(runtime.next_outcome().await, &id);
    assert_eq!(answer["statusCode"], 400, "{answer}");
    let body: Value = serde_json::from_str(answer["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["field"], "prob");

    let id = runtime.invoke(http_event("/health", ""));
    let answer = response_of(runtime.next_outcome().await, &id);
    assert_eq!(answer["statusCode"], 200, "{answer}");

    // Not an HTTP event at all: a BadRequest saying what this function serves, and the function
    // keeps serving.
    let id = runtime.invoke(json!({"tickers": ["AAPL"]}));
    let (kind, message) = error_of(runtime.next_outcome().await, &id);
    assert_eq!(kind, "BadRequest");
    assert!(message.contains("STRATUS_FUNCTION"), "{message}");

    // Behind a REST API (payload 1.0) on stage `prod`, and an HTTP API with a named stage: the
    // stage is not part of the route.
    let id = runtime.invoke(rest_event("prod", "/prod/api/capm-beta", "AAPL"));
    let answer = response_of(runtime.next_outcome().await, &id);
    assert_eq!(answer["statusCode"], 200, "{answer}");
    let body: Value = serde_json::from_str(answer["body"].as_str().unwrap()).unwrap();
    assert_eq!(body, cli_json(&["capm-b", "AAPL"]));
    let mut staged = http_event("/live/api/capm-beta", "tickers=AAPL");
    staged["requestContext"]["stage"] = json!("live");
    staged["requestContext"]["http"]["path"] = json!("/live/api/capm-beta");
    let id = runtime.invoke(staged);
    let answer = response_of(runtime.next_outcome().await, &id);
    assert_eq!(answer["statusCode"], 200, "{answer}");
    let id = runtime.invoke(http_event("/api/capm-beta", "tickers=AAPL"));
    let answer = response_of(runtime.next_outcome().await, &id);
    assert_eq!(answer["statusCode"], 200, "{answer}");
}

#[tokio::test]
async fn one_request_through_cli_http_and_lambda_gives_identical_json() {
    use tower::ServiceExt;
    let args = [
        "opt",
        "AAPL",
        "MSFT",
        "JPM",
        "KO",
        "--sharpe",
        "--start",
        "2020-01-02",
        "--end",
        "2021-12-31",
    ];
    let (_, cli_text, _) = cli(seeded_home(), &args);

    let home = seeded_home().display().to_string();
    let settings =
        stratus_app::Settings::load(&|k| (k == "STRATUS_HOME").then(|| home.clone())).unwrap();
    let store = stratus_app::open_store(&settings).await.unwrap();
    let app = stratus_server::router(
        stratus_app::analytics(store, &settings),
        &stratus_server::ServerOptions::default(),
    );
    let request = axum::http::Request::get(
        "/api/optimize-portfolio?tickers=AAPL,MSFT,JPM,KO&sharpe=true&start=2020-01-02&end=2021-12-31",
    )
    .body(axum::body::Body::empty())
    .unwrap();
    let response = app.oneshot(request).await.unwrap();
    let http_text = String::from_utf8(
        axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap()
            .to_vec(),
    )
    .unwrap();

    let mut runtime = FakeRuntime::start().await;
    let _lambda = start_lambda(&runtime, &[("STRATUS_FUNCTION", "optimize-portfolio")]);
    let id = runtime.invoke(json!({
        "tickers": ["AAPL", "MSFT", "JPM", "KO"], "sharpe": true, "start": "2020-01-02", "end": "2021-12-31"
    }));
    let lambda_text = response_of(runtime.next_outcome().await, &id).to_string();

    assert_eq!(cli_text.trim_end(), http_text);
    assert_eq!(http_text, lambda_text);
}

/// A cold start whose store is a read-only snapshot on S3 (moto's server): the function
/// downloads it, answers exactly as the local store does, and writes nothing locally. Skipped
/// without `STRATUS_TEST_S3` (a failure under `CI=true`).
#[tokio::test]
async fn a_cold_start_serves_a_snapshot_from_s3() {
    let endpoint = match std::env::var("STRATUS_TEST_S3") {
        Ok(url) if !url.is_empty() => url,
        _ => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true but STRATUS_TEST_S3 is not set"
            );
            return;
        }
    };
    let bucket = format!("lambda-snapshot-{}", std::process::id());
    {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let host = endpoint.trim_start_matches("http://").trim_end_matches('/');
        let mut stream = tokio::net::TcpStream::connect(host).await.unwrap();
        let request = format!(
            "PUT /{bucket} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    }
    let url = format!("s3://{bucket}/stratus.db");
    let aws = [
        ("AWS_ENDPOINT_URL_S3", endpoint.as_str()),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
    ];
    let (code, out, err) = cli_with(seeded_home(), &aws, &["cache", "snapshot", "--to", &url]);
    assert_eq!(code, std::process::ExitCode::SUCCESS, "{out} {err}");

    let empty = tempfile::tempdir().unwrap();
    let home = empty.path().display().to_string();
    let mut env = aws.to_vec();
    env.extend([
        ("STRATUS_STORE", url.as_str()),
        ("STRATUS_HOME", home.as_str()),
        ("STRATUS_FUNCTION", "risk-profile"),
    ]);
    let mut runtime = FakeRuntime::start().await;
    let _lambda = start_lambda(&runtime, &env);
    let id = runtime.invoke(json!({"tickers": ["AAPL", "MSFT"], "start": "2021-01-04"}));
    assert_eq!(
        response_of(runtime.next_outcome().await, &id),
        cli_json(&["rp", "AAPL", "MSFT", "--start", "2021-01-04"])
    );
    assert_eq!(
        std::fs::read_dir(empty.path()).unwrap().count(),
        0,
        "nothing is written locally"
    );
}
