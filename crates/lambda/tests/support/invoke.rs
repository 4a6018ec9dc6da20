//! A local Lambda Invoke API (`2015-03-31`) on 127.0.0.1: the AWS SDK's Lambda client, pointed
//! here with `AWS_ENDPOINT_URL_LAMBDA`, invokes functions that are real `stratus-lambda`
//! processes, each polling its own [`FakeRuntime`](super::runtime::FakeRuntime) — as Lambda
//! queues an asynchronous (`Event`) invocation for a warm container.

#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::runtime::FakeRuntime;

#[derive(Default)]
struct Registry {
    functions: BTreeMap<String, (Arc<FakeRuntime>, i32)>,
    invocations: Vec<(String, Value)>,
}

/// The Invoke API and the functions it knows.
pub struct FakeInvokeApi {
    pub addr: SocketAddr,
    registry: Arc<Mutex<Registry>>,
    server: tokio::task::JoinHandle<()>,
}

fn not_found(name: &str) -> axum::response::Response {
    (
        StatusCode::NOT_FOUND,
        [("x-amzn-ErrorType", "ResourceNotFoundException")],
        json!({"Type": "User", "message": format!("Function not found: {name}")}).to_string(),
    )
        .into_response()
}

async fn invoke(
    State(registry): State<Arc<Mutex<Registry>>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> axum::response::Response {
    let event: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let mut registry = registry.lock().unwrap();
    let Some((runtime, _)) = registry.functions.get(&name).cloned() else {
        return not_found(&name);
    };
    registry.invocations.push((name, event.clone()));
    let asynchronous = headers
        .get("x-amz-invocation-type")
        .is_some_and(|v| v.as_bytes() == b"Event");
    assert!(
        asynchronous,
        "the orchestrator invokes asynchronously (InvocationType=Event)"
    );
    runtime.invoke(event);
    StatusCode::ACCEPTED.into_response()
}

async fn configuration(
    State(registry): State<Arc<Mutex<Registry>>>,
    Path(name): Path<String>,
) -> axum::response::Response {
    let registry = registry.lock().unwrap();
    match registry.functions.get(&name) {
        Some((_, timeout)) => axum::Json(
            json!({"FunctionName": name, "Timeout": timeout, "Runtime": "provided.al2023"}),
        )
        .into_response(),
        None => not_found(&name),
    }
}

impl FakeInvokeApi {
    /// Starts the API on a free port.
    pub async fn start() -> FakeInvokeApi {
        let registry = Arc::new(Mutex::new(Registry::default()));
        let app = Router::new()
            .route("/2015-03-31/functions/{name}/invocations", post(invoke))
            .route(
                "/2015-03-31/functions/{name}/configuration",
                get(configuration),
            )
            .with_state(registry.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        FakeInvokeApi {
            addr,
            registry,
            server,
        }
    }

    /// Makes `name` invocable: its events go to `runtime`; its configured timeout is `timeout`.
    pub fn register(&self, name: &str, runtime: Arc<FakeRuntime>, timeout: i32) {
        self.registry
            .lock()
            .unwrap()
            .functions
            .insert(name.to_string(), (runtime, timeout));
    }

    /// Every invocation so far: (function, event).
    pub fn invocations(&self) -> Vec<(String, Value)> {
        self.registry.lock().unwrap().invocations.clone()
    }

    /// The URL for `AWS_ENDPOINT_URL_LAMBDA`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for FakeInvokeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}
