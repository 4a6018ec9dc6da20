//! A local implementation of the Lambda Runtime API (the `2018-06-01` HTTP interface a custom
//! runtime polls), on 127.0.0.1, for running the real `stratus-lambda` binary outside AWS.
//!
//! Events queued with [`FakeRuntime::invoke`] are handed out by `GET …/invocation/next`; what the
//! function posts back (`…/response`, `…/error`, `init/error`) arrives on [`FakeRuntime::next_outcome`].

#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::routing::{get, post};
use serde_json::Value;
use tokio::sync::{Mutex, mpsc};

/// What the function did with one invocation.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// `POST /runtime/invocation/{id}/response`.
    Response { id: String, body: Value },
    /// `POST /runtime/invocation/{id}/error`.
    Error { id: String, body: Value },
    /// `POST /runtime/init/error`.
    InitError { body: Value },
}

struct Shared {
    events: Mutex<mpsc::UnboundedReceiver<(String, Value)>>,
    outcomes: mpsc::UnboundedSender<Outcome>,
}

/// The runtime API server and its two queues.
pub struct FakeRuntime {
    pub addr: SocketAddr,
    events: mpsc::UnboundedSender<(String, Value)>,
    outcomes: mpsc::UnboundedReceiver<Outcome>,
    next_id: AtomicU64,
    server: tokio::task::JoinHandle<()>,
}

fn parse(body: &Bytes) -> Value {
    serde_json::from_slice(body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).to_string()))
}

async fn next(State(shared): State<Arc<Shared>>) -> (HeaderMap, String) {
    // A function polls until it is killed; once the test has finished, it waits forever.
    let Some((id, event)) = shared.events.lock().await.recv().await else {
        return std::future::pending().await;
    };
    let deadline = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
        + 60_000;
    let mut headers = HeaderMap::new();
    let mut set = |name: &'static str, value: String| {
        headers.insert(name, HeaderValue::from_str(&value).unwrap());
    };
    set("lambda-runtime-aws-request-id", id);
    set("lambda-runtime-deadline-ms", deadline.to_string());
    set(
        "lambda-runtime-invoked-function-arn",
        "arn:aws:lambda:us-east-1:123456789012:function:stratus".into(),
    );
    set(
        "lambda-runtime-trace-id",
        "Root=1-00000000-000000000000000000000000".into(),
    );
    (headers, event.to_string())
}

async fn response(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> StatusCode {
    let _ = shared.outcomes.send(Outcome::Response {
        id,
        body: parse(&body),
    });
    StatusCode::ACCEPTED
}

async fn error(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> StatusCode {
    let _ = shared.outcomes.send(Outcome::Error {
        id,
        body: parse(&body),
    });
    StatusCode::ACCEPTED
}

async fn init_error(State(shared): State<Arc<Shared>>, body: Bytes) -> StatusCode {
    let _ = shared
        .outcomes
        .send(Outcome::InitError { body: parse(&body) });
    StatusCode::ACCEPTED
}

impl FakeRuntime {
    /// Starts the API on a free port.
    pub async fn start() -> FakeRuntime {
        let (event_tx, event_rx) = mpsc::unbounded_channel();
        let (outcome_tx, outcome_rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            events: Mutex::new(event_rx),
            outcomes: outcome_tx,
        });
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(shared);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        FakeRuntime {
            addr,
            events: event_tx,
            outcomes: outcome_rx,
            next_id: AtomicU64::new(1),
            server,
        }
    }

    /// Queues an event; returns its request id.
    pub fn invoke(&self, event: Value) -> String {
        let id = format!("req-{}", self.next_id.fetch_add(1, Ordering::SeqCst));
        self.events.send((id.clone(), event)).unwrap();
        id
    }

    /// The next thing the function posted (waits up to a minute).
    pub async fn next_outcome(&mut self) -> Outcome {
        tokio::time::timeout(std::time::Duration::from_secs(60), self.outcomes.recv())
            .await
            .expect("the function answered within a minute")
            .expect("the runtime API is running")
    }

    /// The environment Lambda gives a function, pointing at this API.
    pub fn environment(&self) -> Vec<(String, String)> {
        [
            ("AWS_LAMBDA_RUNTIME_API", self.addr.to_string()),
            ("AWS_LAMBDA_FUNCTION_NAME", "stratus".into()),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512".into()),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into()),
            ("AWS_LAMBDA_LOG_STREAM_NAME", "local".into()),
            ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/stratus".into()),
            ("AWS_REGION", "us-east-1".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }
}

impl Drop for FakeRuntime {
    fn drop(&mut self) {
        self.server.abort();
    }
}
