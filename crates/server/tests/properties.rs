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
use stratus_app::{Analytics, Settings};
use stratus_server::{ServerOptions, router};
use stratus_verbs::request::{ParamDoc, VerbDoc, verb_docs};
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
    Analytics::new(store, settings)
}

fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

// Value pools. Known tickers are weighted up so that many requests get past validation and
// reach the analytics.

const KNOWN: &[&str] = &[
    "AAPL", "MSFT", "KO", "PG", "JPM", "XOM", "SP500", "MTUM", "BAC", "aapl", " ko ",
];
const ODD_TICKERS: &[&str] = &[
    "",
    " ",
    "NOPE",
    "A B",
    "😀",
    "--home=/",
    "null",
    ";",
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
];
const MATURITIES: &[&str] = &[
    "TEN_YEAR",
    "10Y",
    "3M",
    "ONE_MONTH",
    "THIRTY_YEAR",
    "11Y",
    "",
];
const DATES: &[&str] = &[
    "2021-01-04",
    "2021-12-31",
    "2020-03-16",
    "2014-01-02",
    "2010-01-04",
    "2022-12-30",
    "2021-06-05", // a Saturday
    "2021-04-02", // Good Friday
    "1900-01-01",
    "1989-12-29",
    "2031-06-02",
    "9999-12-31",
    "2021-02-30",
    "2021-13-01",
    "yesterday",
    "",
];
const NUMBERS: &[&str] = &[
    "NaN", "inf", "-inf", "1e308", "-1e308", "1e300", "1e-300", "0", "-0", "-1", "0.0001", "0.5",
    "0.99", "1", "2", "100", "101", "2001", "1000000", "abc", "", "0x10",
];
/// The values most likely to break a size or a formula, tried most often.
const EXTREME_NUMBERS: &[&str] = &[
    "NaN", "inf", "-inf", "1e308", "-1e308", "1e300", "0", "-1", "2001", "1000000",
];
const SERIES: &[&str] = &["UNRATE", "DGS10", "", "😀"];

fn pick(pool: &'static [&'static str]) -> BoxedStrategy<Value> {
    proptest::sample::select(pool)
        .prop_map(|s| Value::String(s.to_string()))
        .boxed()
}

fn ticker() -> BoxedStrategy<Value> {
    prop_oneof![4 => pick(KNOWN), 1 => pick(ODD_TICKERS)].boxed()
}

fn ticker_list() -> BoxedStrategy<Value> {
    prop_oneof![
        8 => proptest::collection::vec(ticker(), 0..6).prop_map(Value::Array),
        1 => proptest::collection::vec(pick(KNOWN), 101..130).prop_map(Value::Array),
        1 => ticker().prop_map(|t| json!(format!("{},{}", t.as_str().unwrap_or(""), "MSFT"))),
        1 => wrong_type(),
    ]
    .boxed()
}

/// JSON values that are not what any parameter takes.
fn wrong_type() -> BoxedStrategy<Value> {
    prop_oneof![
        Just(Value::Null),
        Just(json!([null, null])),
        Just(json!({"a": 1})),
        Just(json!([["AAPL"]])),
        Just(json!(true)),
        Just(json!(1e300)),
        Just(json!(-7)),
    ]
    .boxed()
}

/// A value for one parameter, chosen by what the CLI declares it to be.
fn value_for(param: &ParamDoc) -> BoxedStrategy<Value> {
    let name = param.name.as_str();
    let typed = match (name, param.kind) {
        ("tickers", _) => ticker_list(),
        ("maturities", _) => proptest::collection::vec(pick(MATURITIES), 0..4)
            .prop_map(Value::Array)
            .boxed(),
        ("series", _) => proptest::collection::vec(pick(SERIES), 0..3)
            .prop_map(Value::Array)
            .boxed(),
        ("first" | "second" | "ticker", _) => ticker(),
        ("start" | "end" | "date", _) => pick(DATES),
        (_, "boolean") => prop_oneof![
            Just(json!(true)),
            Just(json!(false)),
            Just(json!("true")),
            Just(json!("maybe"))
        ]
        .boxed(),
        (_, "number") => prop_oneof![
            3 => pick(EXTREME_NUMBERS),
            3 => pick(NUMBERS),
            1 => any::<f64>().prop_map(|x| json!(x.to_string())),
            1 => (-5.0f64..5.0).prop_map(|x| json!(x)),
        ]
        .boxed(),
        _ if !param.choices.is_empty() => {
            let mut choices: Vec<String> = param.choices.clone();
            choices.push("bogus".into());
            proptest::sample::select(choices)
                .prop_map(Value::String)
                .boxed()
        }
        _ => pick(NUMBERS),
    };
    prop_oneof![9 => typed, 1 => wrong_type()].boxed()
}

/// A value for one parameter that a careful user could send: known tickers (each once), dates
/// with data, numbers in their useful ranges.
fn valid_value_for(param: &ParamDoc) -> BoxedStrategy<Value> {
    let name = param.name.as_str();
    let range = |lo: f64, hi: f64| (lo..hi).prop_map(|x| json!(x)).boxed();
    match (name, param.kind) {
        ("tickers", _) => proptest::sample::subsequence(
            vec!["AAPL", "MSFT", "KO", "PG", "JPM", "XOM", "BAC", "MTUM"],
            1..5,
        )
        .prop_map(|t| json!(t))
        .boxed(),
        ("maturities", _) => proptest::sample::subsequence(vec!["TEN_YEAR", "3M", "2Y"], 1..3)
            .prop_map(|t| json!(t))
            .boxed(),
        ("series", _) => Just(json!(["UNRATE"])).boxed(),
        ("first" | "ticker", _) => Just(json!("AAPL")).boxed(),
        ("second", _) => Just(json!("KO")).boxed(),
        ("start", _) => pick(&["2019-01-02", "2020-03-16", "2014-01-02", "2010-01-04"]),
        ("end" | "date", _) => pick(&["2021-12-31", "2022-12-30", "2020-06-30"]),
        ("prob", _) => range(0.01, 0.2),
        ("expiry", _) => range(0.004, 1.0),
        ("target", _) => range(-0.1, 0.5),
        ("min_weight", _) => range(0.0, 0.2),
        ("max_weight", _) => range(0.3, 1.0),
        ("invest", _) => range(1_000.0, 1e6),
        ("risk_free", _) => range(-0.01, 0.05),
        ("discount", _) => range(0.03, 0.15),
        ("steps", _) => (2usize..20).prop_map(|n| json!(n)).boxed(),
        ("max_assets", _) => (1usize..4).prop_map(|n| json!(n)).boxed(),
        (_, "boolean") => any::<bool>().prop_map(|b| json!(b)).boxed(),
        _ if !param.choices.is_empty() => proptest::sample::select(param.choices.clone())
            .prop_map(Value::String)
            .boxed(),
        (_, "number") => range(0.0, 1.0),
        _ => Just(json!("")).boxed(),
    }
}

/// A request for `verb` that is valid but for one parameter (chosen at random), which gets an
/// odd value: every odd value is thus tried where it matters, past the other checks.
fn one_odd_parameter(verb: VerbDoc) -> BoxedStrategy<(String, Map<String, Value>)> {
    let count = verb.params.len().max(1);
    let name = verb.name.clone();
    let params = verb.params.clone();
    (0..count)
        .prop_flat_map(move |odd| {
            let members: Vec<BoxedStrategy<Option<(String, Value)>>> = params
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    let key = p.name.clone();
                    let value = if i == odd {
                        value_for(p)
                    } else {
                        valid_value_for(p)
                    };
                    let present = if i == odd || p.required { 0.999 } else { 0.6 };
                    proptest::option::weighted(present, value)
                        .prop_map(move |v| v.map(|v| (key.clone(), v)))
                        .boxed()
                })
                .collect();
            let name = name.clone();
            members.prop_map(move |members| (name.clone(), members.into_iter().flatten().collect()))
        })
        .boxed()
}

/// A verb and a JSON object of parameters for it: each required parameter usually present, each
/// optional one sometimes, and now and then one the verb does not have.
fn request_for(verb: VerbDoc) -> BoxedStrategy<(String, Map<String, Value>)> {
    let name = verb.name.clone();
    let members: Vec<BoxedStrategy<Option<(String, Value)>>> = verb
        .params
        .iter()
        .map(|p| {
            let key = p.name.clone();
            let present = if p.required { 0.95 } else { 0.4 };
            proptest::option::weighted(present, value_for(p))
                .prop_map(move |v| v.map(|v| (key.clone(), v)))
                .boxed()
        })
        .collect();
    (
        members,
        proptest::option::weighted(0.05, Just(("colour".to_string(), json!("red")))),
    )
        .prop_map(move |(members, extra)| {
            let mut map: Map<String, Value> = members.into_iter().flatten().collect();
            if let Some((k, v)) = extra {
                map.insert(k, v);
            }
            (name.clone(), map)
        })
        .boxed()
}

fn any_request() -> BoxedStrategy<(String, Map<String, Value>)> {
    let strategies: Vec<BoxedStrategy<(String, Map<String, Value>)>> =
        verb_docs().into_iter().map(request_for).collect();
    proptest::strategy::Union::new(strategies).boxed()
}

/// A query string from JSON parameters, as a browser would send it.
fn query_of(params: &Map<String, Value>) -> String {
    let encode = |text: &str| -> String {
        text.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect()
    };
    let mut pairs = Vec::new();
    for (k, v) in params {
        let text = match v {
            Value::String(s) => s.clone(),
            Value::Array(items) => items
                .iter()
                .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_string))
                .collect::<Vec<_>>()
                .join(","),
            other => other.to_string(),
        };
        pairs.push(format!("{}={}", encode(k), encode(&text)));
    }
    pairs.join("&")
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

fn nulls_and_numbers(value: &Value, path: &str, found: &mut Vec<String>) {
    match value {
        Value::Null => found.push(path.to_string()),
        Value::Number(n) if n.as_f64().is_none_or(|x| !x.is_finite()) => {
            found.push(format!("{path} = {n}"));
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                nulls_and_numbers(item, &format!("{path}[{i}]"), found);
            }
        }
        Value::Object(map) => {
            for (k, item) in map {
                nulls_and_numbers(item, &format!("{path}.{k}"), found);
            }
        }
        _ => {}
    }
}

fn number(params: &Map<String, Value>, name: &str) -> Option<f64> {
    params.get(name).and_then(|v| match v {
        Value::String(s) => s.trim().parse().ok(),
        other => other.as_f64(),
    })
}

/// Every allocation in `json` (one, or a frontier's list) is fully invested within its bounds.
/// With `max_assets`, the bounds apply to the assets held; the others weigh exactly 0.
fn check_weights(json: &Value, params: &Map<String, Value>) -> Result<(), String> {
    let max_assets = number(params, "max_assets");
    let allocations: Vec<&Value> = match json {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    let lower = number(params, "min_weight").unwrap_or(0.0);
    let upper = number(params, "max_weight").unwrap_or(1.0);
    for allocation in allocations {
        let Some(holdings) = allocation["holdings"].as_array() else {
            return Err(format!("no holdings in {allocation}"));
        };
        let weights: Vec<f64> = holdings
            .iter()
            .map(|h| h["allocation"].as_f64().unwrap_or(f64::NAN))
            .collect();
        let total: f64 = weights.iter().sum();
        if (total - 1.0).abs() > 1e-9 {
            return Err(format!("weights sum to {total}: {weights:?}"));
        }
        if let Some(k) = max_assets {
            let held = weights.iter().filter(|w| **w != 0.0).count();
            if held as f64 > k {
                return Err(format!("{held} assets held, at most {k}: {weights:?}"));
            }
        }
        if let Some(w) = weights.iter().find(|w| {
            !(lower - 1e-9..=upper + 1e-9).contains(*w) && !(max_assets.is_some() && **w == 0.0)
        }) {
            return Err(format!(
                "weight {w} outside [{lower}, {upper}]: {weights:?}"
            ));
        }
    }
    Ok(())
}

const PORTFOLIO_VERBS: &[&str] = &[
    "optimize-portfolio",
    "max-return",
    "optimize-cvar",
    "efficient-frontier",
];

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
