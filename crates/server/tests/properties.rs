//! Property tests over every served verb: requests generated from the same clap declarations
//! the API reads (each verb's parameters, their kinds and choices), filled with odd values —
//! non-finite and extreme numbers, empty, duplicate, unknown and oversized ticker lists, weekend,
//! ancient and future dates, values of the wrong JSON type — and sent through the real router.
//!
//! Whatever the input, the answer must be: no panic and no 5xx (the offline live-data verbs'
//! documented 501 aside); a JSON body (an error has `error` and `status`); every number in a
//! successful answer finite (serde writes a NaN as `null`, so no `null` either, except the
//! moving averages' documented "not enough history"); and portfolio weights that sum to 1 within
//! 1e-9 and respect their bounds. `PROPTEST_CASES` sets the cases per property.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Map, Value, json};
use stratus_analytics::Analytics;
use stratus_app::Settings;
use stratus_server::{ServerOptions, router};
use stratus_verbs::request::verb_docs;
use stratus_verbs::testkit::{
    PORTFOLIO_VERBS, any_request, check_weights, nulls_and_numbers, one_odd_parameter, query_of,
};
use tower::ServiceExt;

fn seeded_home() -> &'static Path {
    static HOME: OnceLock<PathBuf> = OnceLock::new();
    HOME.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap().keep();
        let runtime = runtime();
        runtime.block_on(async {
            analytics_in(&dir)
                .await
                .ensure_seeded(&|_| {})
                .await
                .unwrap();
        });
        dir
    })
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

async fn analytics_in(home: &Path) -> Analytics {
    let home = home.display().to_string();
    let settings = Settings::load(&|k| (k == "STRATUS_HOME").then(|| home.clone())).unwrap();
    let store = stratus_app::open_store(&settings).await.unwrap();
    stratus_app::analytics(store, &settings)
}

fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Answer {
    status: StatusCode,
    content_type: String,
    body: Vec<u8>,
}

async fn send(app: &axum::Router, request: Request<Body>) -> Answer {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap()
        .to_vec();
    Answer {
        status,
        content_type,
        body,
    }
}

/// The checks every answer must pass.
fn check_answer(
    verb: &str,
    params: &Map<String, Value>,
    answer: &Answer,
) -> Result<(), TestCaseError> {
    let shown = String::from_utf8_lossy(&answer.body)
        .chars()
        .take(400)
        .collect::<String>();
    let status = answer.status.as_u16();
    let offline = status == 501 && shown.contains("need live data");
    prop_assert!(
        matches!(status, 200 | 400 | 404 | 413 | 503) || offline,
        "{verb} {params:?}: status {status}: {shown}"
    );
    if !answer.content_type.starts_with("application/json") {
        prop_assert!(
            status == 200 && answer.content_type.starts_with("image/"),
            "{verb}: {} {shown}",
            answer.content_type
        );
        return Ok(());
    }
    let json: Value = serde_json::from_slice(&answer.body)
        .map_err(|e| TestCaseError::fail(format!("{verb}: not JSON ({e}): {shown}")))?;
    if status != 200 {
        prop_assert!(
            json["error"].as_str().is_some_and(|e| !e.is_empty())
                && json["status"] == json!(status),
            "{verb}: error body {json}"
        );
        return Ok(());
    }
    let mut bad = Vec::new();
    nulls_and_numbers(&json, "$", &mut bad);
    if verb == "mov-averages" {
        bad.retain(|p| !p.contains(".MA_"));
    }
    prop_assert!(
        bad.is_empty(),
        "{verb} {params:?}: not finite at {bad:?}: {shown}"
    );
    if PORTFOLIO_VERBS.contains(&verb) {
        check_weights(&json, params)
            .map_err(|e| TestCaseError::fail(format!("{verb} {params:?}: {e}")))?;
    }
    Ok(())
}

fn run_property(
    name: &str,
    default_cases: u32,
    strategy: BoxedStrategy<(String, Map<String, Value>)>,
    as_post: bool,
) {
    let home = seeded_home();
    let rt = runtime();
    let app = rt.block_on(async { router(analytics_in(home).await, &ServerOptions::default()) });
    let mut runner = TestRunner::new(Config {
        cases: cases(default_cases),
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&strategy, |(verb, params)| {
        let request = if as_post {
            Request::post(format!("/api/{verb}"))
                .header("content-type", "application/json")
                .body(Body::from(Value::Object(params.clone()).to_string()))
                .unwrap()
        } else {
            Request::get(format!("/api/{verb}?{}", query_of(&params)))
                .body(Body::empty())
                .unwrap()
        };
        let answer = rt.block_on(send(&app, request));
        check_answer(&verb, &params, &answer)
    });
    if let Err(e) = result {
        panic!("{name}: {e}");
    }
}

#[test]
fn any_query_to_any_verb_is_answered_cleanly() {
    run_property("GET", 400, any_request(), false);
}

#[test]
fn any_json_body_to_any_verb_is_answered_cleanly() {
    run_property("POST", 300, any_request(), true);
}

#[test]
fn one_odd_parameter_in_an_otherwise_valid_request_is_answered_cleanly() {
    for verb in verb_docs() {
        let name = verb.name.clone();
        run_property(&name, 150, one_odd_parameter(verb), false);
    }
}

#[test]
fn portfolios_from_valid_requests_are_fully_invested_within_bounds() {
    // Mostly valid requests, so that the weight checks run often.
    let verbs = prop_oneof![
        Just("optimize-portfolio"),
        Just("max-return"),
        Just("optimize-cvar"),
        Just("efficient-frontier")
    ];
    let tickers = proptest::sample::subsequence(
        vec!["AAPL", "MSFT", "KO", "PG", "JPM", "XOM", "BAC", "MTUM"],
        2..6,
    );
    let strategy = (
        verbs,
        tickers,
        proptest::option::of(0.0f64..0.3),
        proptest::option::of(0.3f64..1.0),
        proptest::option::of(prop_oneof![
            Just("2021-01-04"),
            Just("2014-06-02"),
            Just("2019-03-01")
        ]),
        proptest::option::of(-0.5f64..0.8),
        any::<bool>(),
        proptest::option::of(1usize..4),
    )
        .prop_map(
            |(verb, tickers, min, max, start, target, historical, max_assets)| {
                let mut map = Map::new();
                map.insert("tickers".into(), json!(tickers));
                if let Some(v) = min {
                    map.insert("min_weight".into(), json!(v));
                }
                if let Some(v) = max {
                    map.insert("max_weight".into(), json!(v));
                }
                if let Some(v) = start {
                    map.insert("start".into(), json!(v));
                }
                match verb {
                    "optimize-portfolio" => {
                        if let Some(v) = target {
                            map.insert("target".into(), json!(v));
                        }
                        if let Some(k) = max_assets {
                            map.insert("max_assets".into(), json!(k));
                        }
                    }
                    "optimize-cvar" => {
                        map.insert("historical".into(), json!(historical));
                    }
                    "efficient-frontier" => {
                        map.insert("steps".into(), json!(7));
                    }
                    _ => {}
                }
                (verb.to_string(), map)
            },
        )
        .boxed();
    run_property("portfolios", 150, strategy, true);
}
