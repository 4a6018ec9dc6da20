//! Long backtests over the job system: with workers beside the server, `POST /api/backtest` and
//! `Prefer: respond-async` answers 202 with a job, `GET /api/jobs/{job}` reports it queued or
//! running and then done with exactly the JSON the synchronous call returns. Bad parameters are
//! refused at once (400, nothing queued); an unknown job is a 404; without the header, or without
//! workers, the answer is the synchronous one.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use stratus_app::Settings;
use stratus_jobs::pool::{PoolOptions, Until};
use stratus_server::{JobsHandle, ServerOptions, router};
use tower::ServiceExt;

async fn call(
    app: &axum::Router,
    method: &str,
    uri: &str,
    body: &Value,
    prefer: bool,
) -> (StatusCode, Option<String>, Value) {
    let mut request = Request::builder().method(method).uri(uri);
    if prefer {
        request = request.header("prefer", "respond-async");
    }
    let request = request
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let location = response
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string());
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, location, serde_json::from_slice(&bytes).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_backtest_is_queued_polled_and_answers_as_the_synchronous_call() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path().display().to_string();
    let settings = Settings::load(&|k| (k == "STRATUS_HOME").then(|| h.clone())).unwrap();
    let store = stratus_app::open_store(&settings).await.unwrap();
    let analytics = stratus_app::analytics(store.clone(), &settings);
    analytics.ensure_seeded(&|_| {}).await.unwrap();
    let tasks = stratus_app::tasks::open_task_store(&settings, true)
        .await
        .unwrap();
    let jobs = Arc::new(stratus_jobs::Jobs::new(
        tasks,
        Arc::new(stratus_jobs::SystemClock),
        &settings.jobs.env,
        settings.jobs.config_ttl,
        "test",
    ));
    let worker = stratus_work::Worker::new(
        stratus_app::analytics(store.clone(), &settings),
        settings.live.clone(),
        Arc::new(|_: &str| None),
    );
    let pool = tokio::spawn(stratus_jobs::pool::run(
        jobs.clone(),
        Arc::new(worker),
        PoolOptions {
            labourer_id: "local".into(),
            concurrency: 1,
            scavenge: true,
            scavenge_every: Duration::from_secs(1),
            poll: Duration::from_millis(50),
            until: Until::Forever,
        },
        &|_| {},
    ));
    let options = ServerOptions {
        jobs: Some(JobsHandle(jobs)),
        ..ServerOptions::default()
    };
    let app = router(stratus_app::analytics(store, &settings), &options);
    let params = json!({
        "tickers": ["AAPL", "MSFT", "KO", "PG"], "strategy": ["min-variance", "hrp"],
        "start": "2018-01-02", "end": "2021-12-31", "lookback": 252, "cost": 10,
    });

    let (status, location, queued) = call(&app, "POST", "/api/backtest", &params, true).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{queued}");
    let poll = location.unwrap();
    assert_eq!(queued["poll"], json!(poll));
    assert_eq!(queued["state"], "queued");
    let mut answer = Value::Null;
    for _ in 0..600 {
        let (status, _, body) = call(&app, "GET", &poll, &json!({}), false).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(
            ["queued", "running", "done"].contains(&body["state"].as_str().unwrap()),
            "{body}"
        );
        if body["state"] == "done" {
            answer = body;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (status, _, direct) = call(&app, "POST", "/api/backtest", &params, false).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        answer["result"], direct,
        "the job's result is the synchronous answer"
    );

    // Refused at once, nothing queued.
    let bad = json!({"tickers": ["AAPL", "MSFT"], "lookback": "NaN"});
    let (status, _, body) = call(&app, "POST", "/api/backtest", &bad, true).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["field"], "lookback");
    let (status, _, _) = call(&app, "GET", "/api/jobs/no-such-job", &json!({}), false).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Only backtests are queued: another verb with the header answers at once.
    let (status, _, body) = call(
        &app,
        "POST",
        "/api/risk-profile",
        &json!({"tickers": ["AAPL"]}),
        true,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    pool.abort();
}

#[tokio::test]
async fn without_workers_the_header_changes_nothing() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path().display().to_string();
    let settings = Settings::load(&|k| (k == "STRATUS_HOME").then(|| h.clone())).unwrap();
    let store = stratus_app::open_store(&settings).await.unwrap();
    let analytics = stratus_app::analytics(store, &settings);
    analytics.ensure_seeded(&|_| {}).await.unwrap();
    let app = router(analytics, &ServerOptions::default());
    let params = json!({"tickers": ["AAPL", "KO"], "strategy": "equal-weight", "start": "2021-01-04", "lookback": 60});
    let (status, _, body) = call(&app, "POST", "/api/backtest", &params, true).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["strategies"][0]["risk_report"]["sharpe_ratio"].is_number());
    let (status, _, body) = call(&app, "GET", "/api/jobs/x", &json!({}), false).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("STRATUS_SERVE_WORKERS")
    );
}
