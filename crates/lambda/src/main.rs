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
//! - With `STRATUS_FUNCTION=ingest` each event's ingest config is run and exported to the
//!   deployment's bucket (`STRATUS_EXPORT_URL`), as the schedules `stratus deploy` creates send.
//!
//! Secrets are read at cold start from the SSM parameters `STRATUS_SECRET_PARAMETERS` names.
//! Settings, the store client and the analytics context are built once per cold start and reused
//! by every invocation of the container. Failures are Lambda errors with a type a caller can
//! branch on (`BadRequest`, `NotFound`, `Unavailable`, `Internal`), never panics.

mod ingest;
mod jobs;
mod secrets;

use std::collections::BTreeMap;
use std::sync::Arc;

use lambda_http::lambda_runtime::{self, Diagnostic, LambdaEvent};
use serde_json::{Map, Value};
use stratus_analytics::Analytics;
use stratus_app::Settings;
use stratus_server::{ApiError, Params, Reply, ServerOptions, call_verb};

/// A failed invocation in function mode.
#[derive(Debug)]
struct FunctionError {
    kind: &'static str,
    message: String,
}

impl From<ApiError> for FunctionError {
    fn from(e: ApiError) -> Self {
        FunctionError {
            kind: e.class.lambda_error_type(),
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

/// What every invocation shares: built once per cold start.
struct Context {
    analytics: Analytics,
    settings: Settings,
    /// Decrypted secrets, overlaid on the process environment.
    secrets: BTreeMap<String, String>,
    function: Option<(String, Map<String, Value>)>,
    /// The job system, in a `jobs-…` mode.
    jobs: Option<jobs::JobsContext>,
}

impl Context {
    /// The environment with the secrets overlaid.
    fn env(&self, name: &str) -> Option<String> {
        self.secrets
            .get(name)
            .cloned()
            .or_else(|| std::env::var(name).ok())
    }
}

async fn run_function(
    context: &Context,
    verb: &str,
    defaults: &Map<String, Value>,
    event: Value,
    deadline: std::time::SystemTime,
) -> Result<Value, FunctionError> {
    if let Some(jobs) = &context.jobs {
        return jobs::run(jobs, verb, event, deadline).await;
    }
    let params = event_params(defaults, event)?;
    let analytics = &context.analytics;
    if verb == "ingest" {
        let Value::Object(params) = params else {
            return Ok(Value::Null);
        };
        let env = |name: &str| context.env(name);
        return ingest::run(analytics, &context.settings.live, &env, &params).await;
    }
    match call_verb(analytics, verb, Params::Json(&params)).await? {
        Reply::Json(value) => Ok(value),
        // Function mode never asks for text.
        Reply::Text(text) => Ok(Value::String(text)),
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

/// What a cold start builds once: the analytics context, the function-mode verb and its
/// default parameters. An error here is an init error, reported to Lambda with the variable or
/// setting to fix, never a silent exit.
async fn context() -> Result<Context, Diagnostic> {
    let init = |kind: &str, message: String| Diagnostic {
        error_type: kind.into(),
        error_message: message,
    };
    let secrets = match stratus_app::vars::from_process("STRATUS_SECRET_PARAMETERS") {
        Some(spec) => secrets::resolve(&spec)
            .await
            .map_err(|e| init("InvalidConfiguration", e))?,
        None => BTreeMap::new(),
    };
    let env = |k: &str| secrets.get(k).cloned().or_else(|| std::env::var(k).ok());
    let settings = Settings::load(&env).map_err(|e| init("InvalidConfiguration", e.to_string()))?;
    let function = match stratus_app::vars::from_process("STRATUS_FUNCTION") {
        Some(verb) => {
            let defaults = match stratus_app::vars::from_process("STRATUS_FUNCTION_PARAMS") {
                Some(text) => match serde_json::from_str::<Value>(&text) {
                    Ok(Value::Object(map)) => map,
                    Ok(other) => {
                        return Err(init(
                            "InvalidConfiguration",
                            format!(
                                "STRATUS_FUNCTION_PARAMS must be a JSON object such as {{\"tickers\": [\"AAPL\"]}}, not {other}"
                            ),
                        ));
                    }
                    Err(e) => {
                        return Err(init(
                            "InvalidConfiguration",
                            format!(
                                "STRATUS_FUNCTION_PARAMS is not JSON ({e}); set it to a JSON object such as {{\"tickers\": [\"AAPL\"]}}"
                            ),
                        ));
                    }
                },
                _ => Map::new(),
            };
            Some((verb.trim().to_string(), defaults))
        }
        _ => None,
    };
    let store = stratus_app::open_store(&settings)
        .await
        .map_err(|e| init("StoreUnavailable", e.to_string()))?;
    let analytics = stratus_app::analytics(store, &settings);
    // The SQLite store fills itself from the bundled data (in /tmp on Lambda) once per
    // container; DynamoDB is filled by `stratus cache migrate` and is never seeded here.
    analytics
        .ensure_seeded(&|_| {})
        .await
        .map_err(|e| init("StoreUnavailable", e.to_string()))?;
    let jobs = match &function {
        Some((mode, _)) if jobs::MODES.contains(&mode.as_str()) => {
            let owned = secrets.clone();
            let env: stratus_work::Env =
                Arc::new(move |k: &str| owned.get(k).cloned().or_else(|| std::env::var(k).ok()));
            Some(
                jobs::context(&settings, mode, &analytics, env)
                    .await
                    .map_err(|e| init("StoreUnavailable", e))?,
            )
        }
        Some((mode, _)) if mode.starts_with("jobs-") => {
            return Err(init(
                "InvalidConfiguration",
                format!(
                    "STRATUS_FUNCTION={mode} is not a job mode; use one of {}",
                    jobs::MODES.join(", ")
                ),
            ));
        }
        _ => None,
    };
    Ok(Context {
        analytics,
        settings,
        secrets,
        function,
        jobs,
    })
}

/// Tells the Runtime API why this container cannot start (`POST /runtime/init/error`), so the
/// reason shows in the invocation's error and the logs instead of a bare exit.
async fn report_init_error(diagnostic: &Diagnostic) {
    let Some(endpoint) = stratus_app::vars::from_process("AWS_LAMBDA_RUNTIME_API") else {
        return;
    };
    let Ok(uri) = format!("http://{endpoint}").parse() else {
        return;
    };
    let Ok(client) = lambda_runtime_api_client::Client::builder()
        .with_endpoint(uri)
        .build()
    else {
        return;
    };
    let body = serde_json::json!({
        "errorType": diagnostic.error_type,
        "errorMessage": diagnostic.error_message,
    })
    .to_string();
    let Ok(request) = lambda_runtime_api_client::build_request()
        .method("POST")
        .uri("/2018-06-01/runtime/init/error")
        .header(
            "Lambda-Runtime-Function-Error-Type",
            diagnostic.error_type.as_str(),
        )
        .header("content-type", "application/json")
        .body(lambda_runtime_api_client::body::Body::from(body))
    else {
        return;
    };
    // The Runtime API is local to the container; a report that cannot be made in 2 s is dropped.
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), client.call(request)).await;
}

/// Identifies this executable as the Lambda handler: `stratus package lambda` looks for it and
/// refuses to package any other binary as `bootstrap`.
const IDENTITY: &str = "stratus-lambda/bootstrap/v1";

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    if std::env::args().nth(1).as_deref() == Some("--identity") {
        use std::io::Write;
        writeln!(std::io::stdout(), "{IDENTITY}")?;
        return Ok(());
    }
    let context = match context().await {
        Ok(built) => built,
        Err(diagnostic) => {
            report_init_error(&diagnostic).await;
            return Err(format!("{}: {}", diagnostic.error_type, diagnostic.error_message).into());
        }
    };
    match context.function.clone() {
        Some((verb, defaults)) => {
            let shared = Arc::new((context, verb, defaults));
            lambda_runtime::run(lambda_runtime::service_fn(
                move |event: LambdaEvent<Value>| {
                    let shared = Arc::clone(&shared);
                    async move {
                        let (context, verb, defaults) = &*shared;
                        let deadline = std::time::UNIX_EPOCH
                            + std::time::Duration::from_millis(event.context.deadline);
                        run_function(context, verb, defaults, event.payload, deadline).await
                    }
                },
            ))
            .await
        }
        None => {
            let env = |k: &str| context.env(k);
            let options = ServerOptions::from_env(&env);
            let app = stratus_server::router(context.analytics, &options);
            let app = lambda_http::tower::ServiceExt::map_request(app, without_stage);
            lambda_runtime::run(HttpEvents(lambda_http::Adapter::from(app))).await
        }
    }
}

/// The request path as the API knows it. API Gateway's REST API (and an HTTP API with a named
/// stage) puts the stage first (`/prod/api/risk-profile`), and lambda_http keeps it there; the
/// routes have no stage, so it is taken off here.
fn without_stage(mut request: lambda_http::Request) -> lambda_http::Request {
    use lambda_http::RequestExt;
    use lambda_http::request::RequestContext;
    let stage = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV1(context)) => context.stage.clone(),
        Some(RequestContext::ApiGatewayV2(context)) => context.stage.clone(),
        _ => None,
    };
    let Some(stage) = stage.filter(|s| !s.is_empty() && s != "$default") else {
        return request;
    };
    let prefix = format!("/{stage}");
    let path = request.uri().path();
    let rest = match path.strip_prefix(&prefix) {
        Some("") => "/",
        Some(rest) if rest.starts_with('/') => rest,
        _ => return request,
    };
    let rebuilt = match request.uri().query() {
        Some(query) => format!("{rest}?{query}"),
        None => rest.to_string(),
    };
    if let Ok(path_and_query) = rebuilt.parse::<lambda_http::http::uri::PathAndQuery>() {
        let mut parts = request.uri().clone().into_parts();
        parts.path_and_query = Some(path_and_query);
        if let Ok(uri) = lambda_http::http::Uri::from_parts(parts) {
            *request.uri_mut() = uri;
        }
    }
    request
}

/// HTTP mode's handler: an event that is not an HTTP request (a function-style event sent to
/// the wrong function) is a `BadRequest` saying so, rather than the runtime's deserializer error.
struct HttpEvents<S>(S);

impl<S, R> lambda_runtime::Service<LambdaEvent<Value>> for HttpEvents<S>
where
    S: lambda_runtime::Service<
            LambdaEvent<lambda_http::request::LambdaRequest>,
            Response = R,
            Error = std::convert::Infallible,
        >,
    S::Future: Send + 'static,
    R: Send + 'static,
{
    type Response = R;
    type Error = Diagnostic;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<Self::Response, Diagnostic>> + Send>,
    >;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Diagnostic>> {
        self.0.poll_ready(cx).map_err(|never| match never {})
    }

    fn call(&mut self, event: LambdaEvent<Value>) -> Self::Future {
        let LambdaEvent { payload, context } = event;
        match serde_json::from_value::<lambda_http::request::LambdaRequest>(payload) {
            Ok(request) => {
                let answer = self.0.call(LambdaEvent::new(request, context));
                Box::pin(async move { answer.await.map_err(|never| match never {}) })
            }
            Err(_) => Box::pin(std::future::ready(Err(Diagnostic {
                error_type: "BadRequest".into(),
                error_message: "this function serves HTTP events (API Gateway, ALB, Function URL); for one analytics function per JSON event, deploy it with STRATUS_FUNCTION=<verb>".into(),
            }))),
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::{Map, Value, json};

    fn any_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<f64>().prop_map(|x| json!(x)),
            "[ -~]{0,12}".prop_map(Value::String),
            Just(json!("aws.events")),
            Just(json!("Scheduled Event")),
        ];
        leaf.prop_recursive(3, 24, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                proptest::collection::btree_map(
                    prop_oneof![
                        Just("source".to_string()),
                        Just("detail".to_string()),
                        Just("detail-type".to_string()),
                        Just("tickers".to_string()),
                        "[a-z_]{1,8}",
                    ],
                    inner,
                    0..5
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 1000, failure_persistence: None, ..ProptestConfig::default() })]

        /// Any event, any defaults: an object of parameters (the defaults overlaid with the
        /// event's own, or a schedule's `detail`), or a `BadRequest` — never a panic.
        #[test]
        fn any_event_is_parameters_or_a_bad_request(event in any_json(), defaults in any_json()) {
            let defaults: Map<String, Value> = match defaults {
                Value::Object(map) => map,
                _ => Map::new(),
            };
            match super::event_params(&defaults, event.clone()) {
                Ok(Value::Object(params)) => {
                    for key in defaults.keys() {
                        prop_assert!(params.contains_key(key));
                    }
                }
                Ok(other) => prop_assert!(false, "not an object: {other}"),
                Err(e) => prop_assert_eq!(e.kind, "BadRequest"),
            }
        }
    }
}

#[cfg(test)]
mod error_types {
    use stratus_analytics::{AppError, ErrorClass};
    use stratus_server::ApiError;

    #[test]
    fn a_function_error_has_its_class_s_type() {
        let cases = [
            (
                AppError::NoData {
                    message: "too few prices".into(),
                },
                ErrorClass::UserInput,
            ),
            (
                AppError::UnknownTicker {
                    ticker: "ZZZ".into(),
                    known: vec![],
                },
                ErrorClass::NotFound,
            ),
            (
                AppError::Store(stratus_store::StoreError::new(
                    stratus_store::StoreErrorKind::Throttled,
                    "slow down",
                )),
                ErrorClass::Unavailable,
            ),
            (
                AppError::Setup {
                    message: "broken".into(),
                },
                ErrorClass::Internal,
            ),
        ];
        for (error, class) in cases {
            let function = super::FunctionError::from(ApiError::from(error));
            assert_eq!(function.kind, class.lambda_error_type());
        }
    }
}
