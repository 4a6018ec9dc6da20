//! `stratus-lambda`: one binary, two ways to be invoked.
//!
//! - Behind API Gateway (REST or HTTP API), an ALB or a Function URL it serves the same router
//!   as `stratus serve`: same endpoints, same JSON, same errors.
//! - With `STRATUS_FUNCTION=<verb>` it runs that one analytics function on each event's JSON
//!   (`{"tickers": ["AAPL", "MSFT"], "start": "2021-01-04"}`) and returns what
//!   `stratus <verb> --json` prints. An EventBridge scheduled event runs it on the event's
//!   `detail`; `STRATUS_FUNCTION_PARAMS` (a JSON object) supplies defaults under every event, so a
//!   schedule needs no payload.
//!
//! Settings, the store client and the analytics context are built once per cold start and reused
//! by every invocation of the container. Failures are Lambda errors with a type a caller can
//! branch on (`BadRequest`, `NotFound`, `Unavailable`, `Internal`), never panics.

use std::sync::Arc;

use lambda_http::lambda_runtime::{self, Diagnostic, LambdaEvent};
use serde_json::{Map, Value};
use stratus_app::{Analytics, Settings};
use stratus_server::{ApiError, Params, Reply, ServerOptions, call_verb};

/// A failed invocation in function mode.
#[derive(Debug)]
struct FunctionError {
    kind: &'static str,
    message: String,
}

impl From<ApiError> for FunctionError {
    fn from(e: ApiError) -> Self {
        let kind = match e.status.as_u16() {
            404 => "NotFound",
            503 => "Unavailable",
            400..=499 => "BadRequest",
            _ => "Internal",
        };
        FunctionError {
            kind,
            message: e.message,
        }
    }
}

impl From<FunctionError> for Diagnostic {
    fn from(e: FunctionError) -> Diagnostic {
        Diagnostic {
            error_type: e.kind.into(),
            error_message: e.message,
        }
    }
}

/// The parameters of one function-mode event: the defaults from `STRATUS_FUNCTION_PARAMS`,
/// overlaid with the event's own (an EventBridge event's `detail`).
fn event_params(defaults: &Map<String, Value>, event: Value) -> Result<Value, FunctionError> {
    let is_scheduled = event.get("source").and_then(Value::as_str) == Some("aws.events")
        || event.get("detail-type").is_some();
    let own = if is_scheduled {
        event.get("detail").cloned().unwrap_or(Value::Null)
    } else {
        event
    };
    let mut merged = defaults.clone();
    match own {
        Value::Object(map) => merged.extend(map),
        Value::Null => {}
        other => {
            return Err(FunctionError {
                kind: "BadRequest",
                message: format!(
                    "expected a JSON object of parameters, e.g. {{\"tickers\": [\"AAPL\", \"MSFT\"]}}, not {other}"
                ),
            });
        }
    }
    Ok(Value::Object(merged))
}

async fn run_function(
    analytics: &Analytics,
    verb: &str,
    defaults: &Map<String, Value>,
    event: Value,
) -> Result<Value, FunctionError> {
    let params = event_params(defaults, event)?;
    match call_verb(analytics, verb, Params::Json(&params)).await? {
        Reply::Json(value) => Ok(value),
        Reply::Chart {
            content_type: "image/svg+xml",
            bytes,
        } => Ok(serde_json::json!({
            "content_type": "image/svg+xml",
            "chart": String::from_utf8_lossy(&bytes),
        })),
        Reply::Chart { .. } => Err(FunctionError {
            kind: "BadRequest",
            message: "charts are returned as SVG in function mode; drop \"format\": \"png\" or use the HTTP API".into(),
        }),
    }
}

/// Everything a cold start builds once.
async fn context() -> Result<Analytics, lambda_runtime::Error> {
    let env = |k: &str| std::env::var(k).ok();
    let settings = Settings::load(&env)?;
    let store = stratus_app::open_store(&settings).await?;
    let analytics = Analytics::new(store, settings);
    // The SQLite store fills itself from the bundled data (in /tmp on Lambda) once per
    // container; DynamoDB is filled by `stratus cache migrate` and is never seeded here.
    analytics.ensure_seeded(&|_| {}).await?;
    Ok(analytics)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    let analytics = context().await?;
    let function = std::env::var("STRATUS_FUNCTION")
        .ok()
        .filter(|f| !f.trim().is_empty());
    match function {
        Some(verb) => {
            let defaults = match std::env::var("STRATUS_FUNCTION_PARAMS") {
                Ok(text) if !text.trim().is_empty() => match serde_json::from_str(&text)? {
                    Value::Object(map) => map,
                    other => {
                        return Err(format!(
                            "STRATUS_FUNCTION_PARAMS must be a JSON object, not {other}"
                        )
                        .into());
                    }
                },
                _ => Map::new(),
            };
            let shared = Arc::new((analytics, verb, defaults));
            lambda_runtime::run(lambda_runtime::service_fn(
                move |event: LambdaEvent<Value>| {
                    let shared = Arc::clone(&shared);
                    async move {
                        let (analytics, verb, defaults) = &*shared;
                        run_function(analytics, verb, defaults, event.payload).await
                    }
                },
            ))
            .await
        }
        None => {
            let env = |k: &str| std::env::var(k).ok();
            let app = stratus_server::router(analytics, &ServerOptions::from_env(&env));
            lambda_http::run(app).await
        }
    }
}
