//! The OpenAPI 3.1 document, generated from the same clap declarations the verbs parse with, so
//! it cannot describe a parameter the API does not take; numeric bounds come from the same
//! table the parsers enforce ([`stratus_verbs::args::number_domain`]). Responses are described
//! by schema — every number a JSON `number`, so an answer carrying a NaN (which JSON writes as
//! `null`) breaks the contract — and every status a request can get is listed; CI checks both
//! with openapi-spec-validator and schemathesis against a running server.

use axum::Json;
use serde_json::{Map, Value, json};
use stratus_verbs::request::{MAX_LIST_ITEMS, ParamDoc, verb_docs};

fn error_response(description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    })
}

fn json_response(description: &str, schema: Value) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": schema}}})
}

/// What a ticker looks like (surrounding spaces and any case are accepted).
const TICKER_PATTERN: &str = r"^\s*[A-Za-z0-9.\-^=]{1,20}\s*$";

fn number() -> Value {
    json!({"type": "number"})
}

/// An object whose keys are data (tickers, dates, maturities) and whose values are `value`.
fn map_of(value: Value) -> Value {
    json!({"type": "object", "additionalProperties": value})
}

fn object(properties: &[(&str, Value)], required: &[&str]) -> Value {
    let properties: Map<String, Value> = properties
        .iter()
        .map(|(k, v)| ((*k).to_string(), v.clone()))
        .collect();
    json!({"type": "object", "properties": properties, "required": required})
}

/// The schema of a verb's JSON answer: exactly what `stratus <verb> --json` prints.
fn answer_schema(verb: &str) -> Value {
    let allocation = json!({"$ref": "#/components/schemas/Allocation"});
    match verb {
        "risk-profile" => map_of(object(
            &[
                ("annual_return", number()),
                ("annual_volatility", number()),
                ("sharpe_ratio", number()),
                ("asset_beta", number()),
                ("equity_cost", number()),
            ],
            &[
                "annual_return",
                "annual_volatility",
                "sharpe_ratio",
                "asset_beta",
                "equity_cost",
            ],
        )),
        "sharpe-ratio" | "close" | "risk-free" | "yield-curve" | "stat" => map_of(number()),
        "capm-beta" => map_of(object(&[("asset_beta", number())], &["asset_beta"])),
        "capm-equity" => map_of(object(&[("equity_cost", number())], &["equity_cost"])),
        "var" => map_of(object(&[("value_at_risk", number())], &["value_at_risk"])),
        "cvar" => map_of(object(
            &[("conditional_value_at_risk", number())],
            &["conditional_value_at_risk"],
        )),
        // A moving average is null on a date with too little history before it.
        "mov-averages" => map_of(map_of(json!({"type": ["number", "null"]}))),
        "correlations" => map_of(number()),
        "interest" | "prices" | "dividends" | "stats" => map_of(map_of(number())),
        "asset" => map_of(json!({"type": "string", "enum": ["equity"]})),
        "correlation" | "covariance" => {
            let key = if verb == "correlation" {
                "correlation_matrix"
            } else {
                "covariance_matrix"
            };
            object(
                &[
                    (
                        "tickers",
                        json!({"type": "array", "items": {"type": "string"}}),
                    ),
                    (
                        key,
                        json!({"type": "array", "items": {"type": "array", "items": number()}}),
                    ),
                ],
                &["tickers", key],
            )
        }
        "tickers" => json!({"type": "array", "items": object(
            &[
                ("ticker", json!({"type": "string"})),
                ("first", json!({"type": "string", "format": "date"})),
                ("last", json!({"type": "string", "format": "date"})),
                ("prices", json!({"type": "integer", "minimum": 0})),
            ],
            &["ticker", "first", "last", "prices"],
        )}),
        "optimize-portfolio" | "max-return" | "optimize-cvar" => allocation,
        "backtest" => {
            let run = object(
                &[
                    ("name", json!({"type": "string"})),
                    ("equity_curve", map_of(number())),
                    ("returns", map_of(number())),
                    (
                        "rebalances",
                        json!({"type": "array", "items": {"type": "object"}}),
                    ),
                    ("final_equity", number()),
                    ("rebalance_count", json!({"type": "integer"})),
                    ("total_turnover", number()),
                    ("total_cost", number()),
                    ("risk_report", json!({"type": "object"})),
                ],
                &[
                    "name",
                    "final_equity",
                    "rebalance_count",
                    "total_turnover",
                    "total_cost",
                    "risk_report",
                ],
            );
            object(
                &[
                    (
                        "tickers",
                        json!({"type": "array", "items": {"type": "string"}}),
                    ),
                    ("strategies", json!({"type": "array", "items": run})),
                    ("benchmark", run),
                    ("cost_bps", number()),
                    ("risk_free", number()),
                ],
                &["tickers", "strategies", "benchmark"],
            )
        }
        "efficient-frontier" => json!({"type": "array", "items": allocation}),
        "discount-dividend-model" => map_of(object(
            &[
                ("discount_dividend", number()),
                ("discount_rate", number()),
                ("intercept", number()),
                ("slope_per_year", number()),
                ("period_years", number()),
                ("next_payment", json!({"type": "string", "format": "date"})),
                ("payments", json!({"type": "integer"})),
            ],
            &["discount_dividend", "discount_rate", "next_payment"],
        )),
        "watchlist" => json!({"type": "array", "items": {"type": "string"}}),
        "screen" => object(
            &[
                (
                    "passing",
                    json!({"type": "array", "items": {"type": "string"}}),
                ),
                (
                    "valued",
                    json!({"type": "array", "items": {"type": "object"}}),
                ),
                (
                    "skipped",
                    json!({"type": "array", "items": {"type": "object"}}),
                ),
            ],
            &["passing", "valued", "skipped"],
        ),
        // A verb added without a schema here still documents an object or list answer.
        _ => json!({"type": ["object", "array"]}),
    }
}

fn allocation_schema() -> Value {
    let holding = object(
        &[
            ("ticker", json!({"type": "string"})),
            ("allocation", number()),
            ("annual_return", number()),
            ("annual_volatility", number()),
            ("shares", json!({"type": "integer", "minimum": 0})),
            ("price", number()),
        ],
        &["ticker", "allocation", "annual_return", "annual_volatility"],
    );
    object(
        &[
            ("holdings", json!({"type": "array", "items": holding})),
            ("portfolio_return", number()),
            ("portfolio_volatility", number()),
            ("sharpe_ratio", number()),
            ("solver", json!({"type": "string"})),
            ("status", json!({"type": "string"})),
            ("conditional_value_at_risk", number()),
            (
                "cardinality",
                object(
                    &[
                        ("max_assets", json!({"type": "integer"})),
                        ("method", json!({"type": "string"})),
                        ("gap_to_relaxation", number()),
                        ("proven_optimal", json!({"type": "boolean"})),
                    ],
                    &[
                        "max_assets",
                        "method",
                        "gap_to_relaxation",
                        "proven_optimal",
                    ],
                ),
            ),
            ("total", number()),
            ("cash", number()),
        ],
        &[
            "holdings",
            "portfolio_return",
            "portfolio_volatility",
            "sharpe_ratio",
            "solver",
            "status",
        ],
    )
}

/// The JSON schema of one parameter's value. `known` are tickers the store holds: listed as an
/// alternative to the general pattern (which admits them anyway), so that clients and test
/// generators see names that give answers rather than 404s.
fn parameter_schema(p: &ParamDoc, known: &[String]) -> Value {
    let pattern = json!({"type": "string", "pattern": TICKER_PATTERN});
    let ticker = if known.is_empty() {
        pattern
    } else {
        json!({"anyOf": [{"type": "string", "enum": known}, pattern], "examples": [known[0]]})
    };
    let mut schema = match (p.kind, p.name.as_str()) {
        ("array", "tickers") => {
            json!({"type": "array", "items": ticker, "minItems": 1, "maxItems": MAX_LIST_ITEMS})
        }
        ("array", _) => json!({
            "type": "array", "items": {"type": "string", "minLength": 1},
            "minItems": 1, "maxItems": MAX_LIST_ITEMS
        }),
        (_, "first" | "second" | "ticker") => ticker,
        (kind, _) => json!({"type": kind}),
    };
    if let Some(format) = p.format {
        schema["format"] = json!(format);
    }
    if !p.choices.is_empty() {
        schema["enum"] = json!(p.choices);
    }
    // Bounds describe numbers only (`--benchmark` is a return on covariance, a ticker on a
    // backtest).
    if let Some(domain) = p.domain.filter(|_| matches!(p.kind, "number" | "integer")) {
        for (key, bound) in [
            ("minimum", domain.minimum),
            ("maximum", domain.maximum),
            ("exclusiveMinimum", domain.exclusive_minimum),
            ("exclusiveMaximum", domain.exclusive_maximum),
        ] {
            if let Some(bound) = bound {
                schema[key] = json!(bound);
            }
        }
    }
    // Defaults in the parameter's own type (clap keeps them as text).
    let default = p.default.as_deref().and_then(|d| match p.kind {
        "number" => d.parse::<f64>().ok().map(|v| json!(v)),
        "integer" => d.parse::<i64>().ok().map(|v| json!(v)),
        "boolean" => None,
        _ => Some(json!(d)),
    });
    if let Some(words) = p.domain.map(|d| d.words).filter(|w| !w.is_empty()) {
        schema = json!({"anyOf": [schema, {"type": "string", "enum": words}]});
    }
    if let Some(default) = default {
        schema["default"] = default;
    }
    schema
}

/// Every status a verb can answer with, besides 200.
fn verb_errors() -> Map<String, Value> {
    [
        (
            "400",
            "a parameter is missing or invalid (`field` names it)",
        ),
        ("404", "unknown ticker, series or verb"),
        ("405", "a method other than GET or POST"),
        ("413", "request body too large"),
        ("414", "request target too long (send long lists with POST)"),
        ("431", "too many or too large request headers"),
        (
            "500",
            "an internal error (a defect; the answer is still this JSON)",
        ),
        (
            "501",
            "the verb needs live data and the configured provider has none",
        ),
        (
            "502",
            "the data provider answered with something unreadable",
        ),
        ("503", "the store or the data provider is unavailable"),
        ("504", "the data provider did not answer in time"),
    ]
    .into_iter()
    .map(|(status, text)| (status.to_string(), error_response(text)))
    .collect()
}

/// The document, built per request (it is small) with the tickers the store holds.
pub(crate) fn build(known: &[String]) -> Value {
    let mut paths = Map::new();
    for verb in verb_docs() {
        let parameters: Vec<Value> = verb
            .params
            .iter()
            .map(|p| {
                let mut parameter = json!({
                    "name": p.name,
                    "in": "query",
                    "required": p.required,
                    "description": p.help,
                    "schema": parameter_schema(p, known),
                });
                if p.kind == "array" {
                    parameter["style"] = json!("form");
                    parameter["explode"] = json!(false);
                }
                parameter
            })
            .collect();
        let mut parameters = parameters;
        let mut properties = Map::new();
        let mut required = Vec::new();
        if verb.chart {
            let format = json!({"type": "string", "enum": ["svg", "png"], "default": "svg"});
            parameters.push(json!({
                "name": "format", "in": "query", "required": false,
                "description": "the chart's file format", "schema": format
            }));
            properties.insert("format".into(), format);
        }
        for p in &verb.params {
            let mut schema = parameter_schema(p, known);
            schema["description"] = json!(p.help);
            properties.insert(p.name.clone(), schema);
            if p.required {
                required.push(p.name.clone());
            }
        }
        let ok = if verb.chart {
            json!({"description": "the chart", "content": {
                "image/svg+xml": {"schema": {"type": "string"}},
                "image/png": {"schema": {"type": "string", "contentMediaType": "image/png"}}
            }})
        } else {
            json_response(
                &format!("what `stratus {} --json` prints", verb.name),
                answer_schema(&verb.name),
            )
        };
        let mut responses = verb_errors();
        responses.insert("200".into(), ok);
        let id = verb.name.replace('-', "_");
        let mut get_op = json!({
            "operationId": format!("{id}_get"),
            "summary": verb.about,
            "parameters": parameters,
            "responses": responses,
        });
        if !verb.aliases.is_empty() {
            get_op["description"] = json!(format!("CLI aliases: {}", verb.aliases.join(", ")));
        }
        let mut post_responses = responses.clone();
        if verb.name == "backtest" {
            post_responses.insert(
                "202".into(),
                json_response(
                    "queued on the job system (with `Prefer: respond-async`, when the server runs job workers): poll the job",
                    object(
                        &[
                            ("job", json!({"type": "string"})),
                            ("state", json!({"type": "string", "enum": ["queued"]})),
                            ("poll", json!({"type": "string"})),
                        ],
                        &["job", "state", "poll"],
                    ),
                ),
            );
        }
        let post_op = json!({
            "operationId": format!("{id}_post"),
            "summary": format!("{} (parameters as a JSON object)", verb.about),
            "requestBody": {"content": {"application/json": {"schema": {
                "type": "object", "properties": properties, "required": required,
                "additionalProperties": false
            }}}},
            "responses": post_responses,
        });
        paths.insert(
            format!("/api/{}", verb.name),
            json!({"get": get_op, "post": post_op}),
        );
    }
    let listing = object(
        &[
            ("page", json!({"type": "integer"})),
            ("limit", json!({"type": "integer"})),
            ("total", json!({"type": "integer"})),
            ("tickers", answer_schema("tickers")),
        ],
        &["page", "limit", "total", "tickers"],
    );
    paths.insert(
        "/tickers".into(),
        json!({"get": {
            "operationId": "list_tickers",
            "summary": "Tickers in the store, filtered by a substring and paged",
            "parameters": [
                {"name": "q", "in": "query", "schema": {"type": "string"}, "description": "substring of the ticker"},
                {"name": "limit", "in": "query", "schema": {"type": "integer", "default": 100, "minimum": 0, "maximum": 1000}},
                {"name": "page", "in": "query", "schema": {"type": "integer", "default": 0, "minimum": 0}}
            ],
            "responses": {
                "200": json_response("one page of the listing", listing),
                "400": error_response("bad paging"),
                "405": error_response("a method other than GET"),
                "503": error_response("the store is unavailable")
            }
        }}),
    );
    let maturities = object(
        &[
            (
                "maturities",
                json!({"type": "array", "items": object(
                    &[("maturity", json!({"type": "string"})), ("label", json!({"type": "string"})), ("years", number())],
                    &["maturity", "label", "years"],
                )}),
            ),
            (
                "latest",
                json!({"type": ["string", "null"], "format": "date"}),
            ),
        ],
        &["maturities", "latest"],
    );
    paths.insert(
        "/maturities".into(),
        json!({"get": {
            "operationId": "list_maturities",
            "summary": "Treasury maturities and the latest yield date",
            "responses": {
                "200": json_response("the maturities", maturities),
                "405": error_response("a method other than GET")
            }
        }}),
    );
    let job = object(
        &[
            ("job", json!({"type": "string"})),
            (
                "state",
                json!({"type": "string", "enum": ["queued", "running", "done", "failed"]}),
            ),
            ("tasks", json!({"type": "integer"})),
            ("completed", json!({"type": "integer"})),
            ("dead", json!({"type": "integer"})),
            (
                "result",
                json!({"description": "the backtest's JSON, once done"}),
            ),
            ("error", json!({"type": ["string", "null"]})),
        ],
        &["job", "state", "tasks", "completed", "dead"],
    );
    paths.insert(
        "/api/jobs/{job}".into(),
        json!({"get": {
            "operationId": "job_status",
            "summary": "A queued backtest: its state, and its result once done",
            "parameters": [
                {"name": "job", "in": "path", "required": true, "schema": {"type": "string"}, "description": "the job id a 202 answer named"}
            ],
            "responses": {
                "200": json_response("the job's state", job),
                "404": error_response("no such job, or the server runs no job workers"),
                "405": error_response("a method other than GET"),
                "503": error_response("the task store is unavailable")
            }
        }}),
    );
    let health = object(
        &[
            ("status", json!({"type": "string", "enum": ["ok"]})),
            ("version", json!({"type": "string"})),
            (
                "store",
                json!({"type": "string", "enum": ["ready", "empty"]}),
            ),
            (
                "backend",
                json!({"type": "string", "description": "the store's kind: sqlite, dynamodb, postgres, mysql or snapshot"}),
            ),
            ("read_only", json!({"type": "boolean"})),
        ],
        &["status", "version", "store", "backend", "read_only"],
    );
    paths.insert(
        "/health".into(),
        json!({"get": {
            "operationId": "health",
            "summary": "Liveness: the server answers and the store can be read",
            "responses": {
                "200": json_response("alive", health),
                "405": error_response("a method other than GET"),
                "503": error_response("the store is unavailable")
            }
        }}),
    );
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Stratus analytics API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Every Stratus analytics verb; each answers with exactly what `stratus <verb> --json` prints."
        },
        "paths": paths,
        "components": {"schemas": {
            "Error": {
                "type": "object",
                "required": ["error", "status"],
                "properties": {
                    "error": {"type": "string"},
                    "status": {"type": "integer"},
                    "field": {"type": "string", "description": "the parameter at fault"}
                }
            },
            "Allocation": allocation_schema()
        }}
    })
}

/// How many of the store's tickers the document lists.
const LISTED_TICKERS: usize = 50;

pub(crate) async fn document(
    axum::extract::State(state): axum::extract::State<std::sync::Arc<crate::State>>,
) -> Json<Value> {
    // The listing is cached; a store that is down gives a document without examples.
    let known: Vec<String> = state
        .analytics
        .ticker_summaries()
        .await
        .map(|list| {
            list.iter()
                .take(LISTED_TICKERS)
                .map(|t| t.ticker.clone())
                .collect()
        })
        .unwrap_or_default();
    Json(build(&known))
}
