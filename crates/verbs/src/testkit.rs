//! Property-test generators for the served verbs, shared by the HTTP, Lambda and CLI property
//! tests: requests built from the clap declarations ([`verb_docs`]) with odd values — non-finite
//! and extreme numbers, empty, duplicate, unknown and oversized ticker lists, weekend, ancient and
//! future dates, JSON values of the wrong type — and the checks every successful answer must pass
//! (finite numbers, fully invested portfolios within their bounds). Behind the `testkit` feature;
//! a dev-dependency only.

#![allow(missing_docs, clippy::missing_panics_doc)]

use proptest::prelude::*;
use serde_json::{Map, Value, json};

use crate::request::{ParamDoc, VerbDoc, verb_docs};

/// A verb and its parameters as a JSON object.
pub type Request = (String, Map<String, Value>);

// Value pools. Known tickers are weighted up so that many requests get past validation and
// reach the analytics.

pub const KNOWN: &[&str] = &[
    "AAPL", "MSFT", "KO", "PG", "JPM", "XOM", "SP500", "MTUM", "BAC", "aapl", " ko ",
];
pub const ODD_TICKERS: &[&str] = &[
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
pub const MATURITIES: &[&str] = &[
    "TEN_YEAR",
    "10Y",
    "3M",
    "ONE_MONTH",
    "THIRTY_YEAR",
    "11Y",
    "",
];
pub const DATES: &[&str] = &[
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
pub const NUMBERS: &[&str] = &[
    "NaN", "inf", "-inf", "1e308", "-1e308", "1e300", "1e-300", "0", "-0", "-1", "0.0001", "0.5",
    "0.99", "1", "2", "100", "101", "2001", "1000000", "abc", "", "0x10",
];
/// The values most likely to break a size or a formula, tried most often.
pub const EXTREME_NUMBERS: &[&str] = &[
    "NaN", "inf", "-inf", "1e308", "-1e308", "1e300", "0", "-1", "2001", "1000000",
];
pub const SERIES: &[&str] = &["UNRATE", "DGS10", "", "😀"];
/// Sector maps, well and badly formed.
pub const SECTORS: &[&str] = &[
    "AAPL=Tech,MSFT=Tech,KO=Staples,PG=Staples,JPM=Fin,XOM=Energy",
    "AAPL=Tech",
    "AAPL=Tech,AAPL=Energy",
    "NOPE=Tech",
    "AAPL",
    "",
];
/// Sector limits, well and badly formed.
pub const SECTOR_LIMITS: &[&str] = &[
    "Tech=0.3",
    "Staples=0.1,Tech=0.1",
    "Tech=0",
    "Tech=-1",
    "Tech=NaN",
    "Nope=0.5",
    "Tech",
    "",
];
/// Linear constraints, well and badly formed.
pub const CONSTRAINTS: &[&str] = &[
    "AAPL + MSFT <= 0.3",
    "KO >= 0.5",
    "0.5*KO - PG = 0",
    "AAPL <= -1",
    "AAPL < 0.3",
    "NOPE <= 1",
    "AAPL + AAPL <= 1",
    "AAPL <= NaN",
    "",
];
/// Black–Litterman views, well and badly formed.
pub const VIEWS: &[&str] = &[
    "AAPL = 0.1",
    "AAPL = 0.1 @ 0.6; MSFT - KO = 0.03",
    "0.5*AAPL + 0.5*KO - MSFT = -0.01 @ 0",
    "AAPL = 0.1 @ 1; 2*AAPL = 0.3 @ 1",
    "AAPL = 1e6 @ 1",
    "AAPL = 0.1 @ 1.5",
    "AAPL = NaN",
    "NOPE = 0.1",
    "AAPL",
    "",
    ";;",
];
/// Expected-return estimators, well and badly formed.
pub const MU: &[&str] = &[
    "mean",
    "ema",
    "capm",
    "bl:AAPL = 0.1 @ 0.6",
    "bl:MSFT - KO = 0.02",
    "bl:",
    "bl:NOPE = 1",
    "median",
    "",
];
/// Portfolio weights, well and badly formed.
pub const WEIGHTS: &[&str] = &[
    "AAPL=0.5,MSFT=0.5",
    "AAPL=0.6 KO=0.4",
    "AAPL=1.5,MSFT=-0.5",
    "AAPL=0.5,MSFT=0.6",
    "AAPL=NaN,MSFT=1",
    "AAPL=1e300,MSFT=-1e300",
    "AAPL=1,AAPL=0",
    "NOPE=1",
    "AAPL",
    "",
];
/// Risk budgets, well and badly formed.
pub const BUDGETS: &[&str] = &[
    "AAPL=1,MSFT=2",
    "AAPL=0.5,MSFT=0.3,KO=0.2",
    "AAPL=1,AAPL=2",
    "AAPL=-1,MSFT=1",
    "AAPL=NaN,MSFT=1",
    "AAPL=inf,MSFT=1",
    "AAPL=0,MSFT=1",
    "AAPL=1e308,MSFT=1e-308",
    "NOPE=1",
    "AAPL",
    "=",
    "",
    ",,,",
];

/// Backtest strategies, well and badly formed.
pub const STRATEGIES: &[&str] = &[
    "min-variance",
    "equal-weight",
    "risk-parity",
    "hrp --linkage ward",
    "max-sharpe --cov ledoit-wolf",
    "inverse-volatility --cov oas",
    "target-return --target 0.1",
    "min-variance --turnover 0.2 --cost 10",
    "min-variance --mu capm",
    "max-sharpe --mu bl:AAPL = 0.2",
    "",
    "backtest",
    "covariance",
    "hrp AAPL",
    "min-variance --start 2020-01-02",
    "min-variance \"--cov",
    "max-sharpe --risk-free 0.9",
    "min-variance --cov bogus",
    "target-return",
    "risk-parity --budgets NOPE=1",
];
/// The strategies a careful user would send.
pub const VALID_STRATEGIES: &[&str] = &[
    "min-variance",
    "equal-weight",
    "risk-parity",
    "hrp",
    "max-sharpe --cov ledoit-wolf",
    "inverse-volatility",
];
/// Backtest lookbacks, well and badly formed.
pub const LOOKBACKS: &[&str] = &[
    "252",
    "504",
    "expanding",
    "20",
    "19",
    "0",
    "-1",
    "NaN",
    "1e308",
    "10001",
    "abc",
    "",
];
/// Rebalance schedules, well and badly formed.
pub const SCHEDULES: &[&str] = &[
    "monthly",
    "weekly",
    "quarterly",
    "daily",
    "21",
    "0",
    "-5",
    "dates:2021-03-01,2021-06-01",
    "dates:",
    "dates:2021-02-30",
    "yearly",
    "",
];

pub fn pick(pool: &'static [&'static str]) -> BoxedStrategy<Value> {
    proptest::sample::select(pool)
        .prop_map(|s| Value::String(s.to_string()))
        .boxed()
}

pub fn ticker() -> BoxedStrategy<Value> {
    prop_oneof![4 => pick(KNOWN), 1 => pick(ODD_TICKERS)].boxed()
}

pub fn ticker_list() -> BoxedStrategy<Value> {
    prop_oneof![
        8 => proptest::collection::vec(ticker(), 0..6).prop_map(Value::Array),
        1 => proptest::collection::vec(pick(KNOWN), 101..130).prop_map(Value::Array),
        1 => ticker().prop_map(|t| json!(format!("{},{}", t.as_str().unwrap_or(""), "MSFT"))),
        1 => wrong_type(),
    ]
    .boxed()
}

/// JSON values that are not what any parameter takes.
pub fn wrong_type() -> BoxedStrategy<Value> {
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
pub fn value_for(param: &ParamDoc) -> BoxedStrategy<Value> {
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
        ("budgets", _) => pick(BUDGETS),
        ("weights", _) => pick(WEIGHTS),
        ("market_caps", _) => pick(BUDGETS),
        ("views", _) => pick(VIEWS),
        ("mu", _) => pick(MU),
        ("current", _) => pick(WEIGHTS),
        ("sectors", _) => pick(SECTORS),
        ("sector_max" | "sector_min", _) => prop_oneof![
            pick(SECTOR_LIMITS),
            proptest::collection::vec(pick(SECTOR_LIMITS), 0..3).prop_map(Value::Array),
        ]
        .boxed(),
        ("constraint", _) => prop_oneof![
            pick(CONSTRAINTS),
            proptest::collection::vec(pick(CONSTRAINTS), 0..3).prop_map(Value::Array),
        ]
        .boxed(),
        ("start" | "end" | "date", _) => pick(DATES),
        ("strategy" | "compare", _) => prop_oneof![
            pick(STRATEGIES),
            proptest::collection::vec(pick(STRATEGIES), 0..4).prop_map(Value::Array),
        ]
        .boxed(),
        ("lookback", _) => pick(LOOKBACKS),
        ("rebalance", _) => pick(SCHEDULES),
        ("benchmark", "string") => prop_oneof![pick(KNOWN), pick(ODD_TICKERS)].boxed(),
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
pub fn valid_value_for(param: &ParamDoc) -> BoxedStrategy<Value> {
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
        ("strategy" | "compare", _) => {
            proptest::sample::subsequence(VALID_STRATEGIES.to_vec(), 1..3)
                .prop_map(|s| json!(s))
                .boxed()
        }
        // Daily rebalancing over an expanding window is quadratic work: valid, but kept for the
        // odd-value draws so a property run stays quick.
        ("lookback", _) => pick(&["252", "504", "60"]),
        ("rebalance", _) => pick(&["monthly", "quarterly", "63"]),
        ("benchmark", "string") => pick(&["SP500", "AAPL", "MTUM"]),
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
pub fn one_odd_parameter(verb: VerbDoc) -> BoxedStrategy<Request> {
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
pub fn request_for(verb: VerbDoc) -> BoxedStrategy<Request> {
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

pub fn any_request() -> BoxedStrategy<Request> {
    let strategies: Vec<BoxedStrategy<Request>> =
        verb_docs().into_iter().map(request_for).collect();
    proptest::strategy::Union::new(strategies).boxed()
}

/// A query string from JSON parameters, as a browser would send it.
pub fn query_of(params: &Map<String, Value>) -> String {
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

pub fn nulls_and_numbers(value: &Value, path: &str, found: &mut Vec<String>) {
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

pub fn number(params: &Map<String, Value>, name: &str) -> Option<f64> {
    params.get(name).and_then(|v| match v {
        Value::String(s) => s.trim().parse().ok(),
        other => other.as_f64(),
    })
}

/// Every allocation in `json` (one, or a frontier's list) is fully invested within its bounds.
/// With `max_assets`, the bounds apply to the assets held; the others weigh exactly 0.
pub fn check_weights(json: &Value, params: &Map<String, Value>) -> Result<(), String> {
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
        let unheld = |w: f64| max_assets.is_some() && w == 0.0;
        if let Some(w) = weights
            .iter()
            .find(|w| !((lower - 1e-9..=upper + 1e-9).contains(*w) || unheld(**w)))
        {
            return Err(format!(
                "weight {w} outside [{lower}, {upper}]: {weights:?}"
            ));
        }
    }
    Ok(())
}

pub const PORTFOLIO_VERBS: &[&str] = &[
    "optimize-portfolio",
    "max-return",
    "optimize-cvar",
    "efficient-frontier",
    "risk-parity",
    "hrp",
    "max-diversification",
    "inverse-volatility",
    "equal-weight",
];

/// The command line for a request: the verb, its options as `--name=value`, then `--` and the
/// positional values, as a user would type them (JSON values of other types as their text).
pub fn argv_of(verb: &str, params: &Map<String, Value>) -> Vec<String> {
    let positional: Vec<String> = verb_docs()
        .into_iter()
        .find(|v| v.name == verb)
        .map(|v| {
            v.params
                .into_iter()
                .filter(|p| p.positional)
                .map(|p| p.name)
                .collect()
        })
        .unwrap_or_default();
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let mut argv = vec![verb.to_string()];
    let mut trailing = Vec::new();
    for (name, value) in params {
        if positional.contains(name) {
            match value {
                Value::Array(items) => trailing.extend(items.iter().map(text)),
                other => trailing.push(text(other)),
            }
        } else if let Value::Array(items) = value {
            let name = name.replace('_', "-");
            argv.extend(items.iter().map(|item| format!("--{name}={}", text(item))));
        } else if value == &json!(true) {
            argv.push(format!("--{}", name.replace('_', "-")));
        } else if value != &json!(false) {
            argv.push(format!("--{}={}", name.replace('_', "-"), text(value)));
        }
    }
    if !trailing.is_empty() {
        argv.push("--".into());
        argv.extend(trailing);
    }
    argv
}
