//! The HTTP API and web page (`stratus serve`), and the request handling the Lambda reuses.
//!
//! Every analytics verb is one endpoint, `GET /api/<verb>?tickers=A,B&start=…` (or `POST` with a
//! JSON object of the same parameters), answering with exactly what `stratus <verb> --json`
//! prints: the request becomes the CLI's argument list and runs through the same code
//! ([`stratus_verbs`]). Errors are JSON `{"error", "field", "status"}` with a status a client can
//! act on: 400 bad parameter, 404 unknown ticker or verb, 413 too large, 503 store unavailable.
//! User input never produces a 500 or a panic.
//!
//! The router is built by [`router`] so tests drive it in process; [`serve`] puts it on a socket.

mod api;
mod jobs;
mod openapi;

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderValue, Method};
use axum::routing::get;
use stratus_analytics::Analytics;

pub use api::{ApiError, Params, Reply, call_verb, call_verb_as};

/// What `serve` can be told.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Origins allowed by CORS (`*` for any); empty: same origin only.
    pub cors_origins: Vec<String>,
    /// Largest request body accepted (bytes).
    pub max_body_bytes: usize,
    /// The job system, when workers run beside the server: a backtest asked for with
    /// `Prefer: respond-async` is queued and answered 202 with a job to poll.
    pub jobs: Option<JobsHandle>,
}

/// The job system the server queues long work on.
#[derive(Clone)]
pub struct JobsHandle(pub Arc<stratus_jobs::Jobs>);

impl std::fmt::Debug for JobsHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JobsHandle")
    }
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            cors_origins: Vec::new(),
            max_body_bytes: 64 * 1024,
            jobs: None,
        }
    }
}

impl ServerOptions {
    /// Options from the environment: `STRATUS_CORS_ORIGINS` (comma-separated, or `*`).
    pub fn from_env(env: &dyn Fn(&str) -> Option<String>) -> Self {
        let cors_origins = stratus_app::vars::lookup(env, "STRATUS_CORS_ORIGINS")
            .map(|(_, v)| {
                v.split(',')
                    .map(|o| o.trim().to_string())
                    .filter(|o| !o.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        ServerOptions {
            cors_origins,
            ..ServerOptions::default()
        }
    }
}

/// Shared by every request: the services over the configured store.
pub(crate) struct State {
    pub(crate) analytics: Analytics,
    pub(crate) max_body_bytes: usize,
    pub(crate) jobs: Option<Arc<stratus_jobs::Jobs>>,
}

const INDEX_HTML: &str = include_str!("../web/index.html");
const APP_JS: &str = include_str!("../web/app.js");
const CHARTS_JS: &str = include_str!("../web/charts.js");
const BACKTEST_JS: &str = include_str!("../web/backtest.js");
const DOCS_HTML: &str = include_str!("../web/docs.html");

fn asset(content_type: &'static str, body: &'static str) -> axum::response::Response {
    axum::response::Response::builder()
        .header("content-type", content_type)
        .header("cache-control", "no-cache")
        .body(axum::body::Body::from(body))
        .unwrap_or_default()
}

/// The whole HTTP surface over `analytics`.
pub fn router(analytics: Analytics, options: &ServerOptions) -> Router {
    let state = Arc::new(State {
        analytics,
        max_body_bytes: options.max_body_bytes,
        jobs: options.jobs.as_ref().map(|j| j.0.clone()),
    });
    let mut app = Router::new()
        .route(
            "/",
            get(|| async { asset("text/html; charset=utf-8", INDEX_HTML) }),
        )
        .route(
            "/app.js",
            get(|| async { asset("text/javascript; charset=utf-8", APP_JS) }),
        )
        .route(
            "/backtest.js",
            get(|| async { asset("text/javascript; charset=utf-8", BACKTEST_JS) }),
        )
        .route(
            "/charts.js",
            get(|| async { asset("text/javascript; charset=utf-8", CHARTS_JS) }),
        )
        .route(
            "/docs",
            get(|| async { asset("text/html; charset=utf-8", DOCS_HTML) }),
        )
        .route("/openapi.json", get(openapi::document))
        .route("/health", get(api::health))
        .route("/tickers", get(api::tickers))
        .route("/maturities", get(api::maturities))
        .route("/api/{verb}", get(api::get_verb).post(api::post_verb))
        .route("/api/jobs/{job}", get(jobs::job))
        .fallback(api::not_found)
        .method_not_allowed_fallback(api::method_not_allowed)
        .with_state(state)
        .layer(axum::middleware::from_fn(api::request_limits))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            api::panicked,
        ));
    if !options.cors_origins.is_empty() {
        use tower_http::cors::{AllowOrigin, CorsLayer};
        let origins = if options.cors_origins.iter().any(|o| o == "*") {
            AllowOrigin::any()
        } else {
            AllowOrigin::list(
                options
                    .cors_origins
                    .iter()
                    .filter_map(|o| HeaderValue::from_str(o).ok()),
            )
        };
        app = app.layer(
            CorsLayer::new()
                .allow_origin(origins)
                .allow_methods([Method::GET, Method::POST])
                .allow_headers([axum::http::header::CONTENT_TYPE]),
        );
    }
    app
}

/// Serves `app` on `listener` until the process ends, with the default [`ConnectionLimits`].
pub async fn serve(listener: tokio::net::TcpListener, app: Router) -> std::io::Result<()> {
    serve_with(listener, app, ConnectionLimits::default()).await
}

/// Whether the first bytes a client sends can begin an HTTP/1 request line (a method token, then
/// a space). hyper answers anything else with a bare `400` and no body; this lets the server
/// answer it with the documented JSON error instead. Bytes are only peeked, never consumed;
/// a client that sends nothing within the header timeout is left to hyper's own timeout.
async fn starts_like_http(stream: &tokio::net::TcpStream, wait: std::time::Duration) -> bool {
    let mut head = [0u8; 16];
    let Ok(Ok(count)) = tokio::time::timeout(wait, stream.peek(&mut head)).await else {
        return true;
    };
    let head = &head[..count];
    let method = head.iter().take_while(|b| b.is_ascii_uppercase()).count();
    match head.get(method) {
        // Still within the method, or the method ends with a space: a request line so far.
        None => method > 0 || head.is_empty(),
        Some(b' ') => method > 0,
        Some(_) => false,
    }
}

/// Answers bytes that are not HTTP with the JSON error body, then closes the connection.
async fn refuse_malformed(mut stream: tokio::net::TcpStream) {
    use tokio::io::AsyncWriteExt;
    let body = serde_json::json!({
        "error": "malformed request: expected an HTTP/1.1 request line such as `GET /api/risk-profile?tickers=AAPL HTTP/1.1`",
        "status": 400,
    })
    .to_string();
    let response = format!(
        "HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// What one client may hold of the server.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Connections served at once; further clients wait in the listen backlog until one closes.
    pub max_connections: usize,
    /// Time a client has to send a request's headers, counted from when the connection is
    /// accepted or from the end of its previous response. It closes half-sent requests and
    /// idle keep-alive connections alike.
    pub header_timeout: std::time::Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            max_connections: 512,
            header_timeout: std::time::Duration::from_secs(10),
        }
    }
}

/// [`serve`] with explicit limits. Without them (as `axum::serve` runs), thousands of idle or
/// half-sent connections were kept open forever, until the process ran out of file descriptors
/// and stopped answering even `/health`.
pub async fn serve_with(
    listener: tokio::net::TcpListener,
    app: Router,
    limits: ConnectionLimits,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    let permits = Arc::new(tokio::sync::Semaphore::new(limits.max_connections.max(1)));
    loop {
        let Ok(permit) = Arc::clone(&permits).acquire_owned().await else {
            return Ok(());
        };
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            // Out of descriptors, or a connection reset before it was accepted: wait, go on.
            Err(_) => {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let service =
            hyper_util::service::TowerToHyperService::new(tower::ServiceExt::map_request(
                app.clone(),
                |request: hyper::Request<hyper::body::Incoming>| request.map(axum::body::Body::new),
            ));
        tokio::spawn(async move {
            let _permit = permit;
            let _ = stream.set_nodelay(true);
            if !starts_like_http(&stream, limits.header_timeout).await {
                refuse_malformed(stream).await;
                return;
            }
            // hyper's own limits sit above the router's (api::MAX_URI_BYTES, MAX_HEADER_BYTES,
            // MAX_HEADERS), so an oversized request gets the router's JSON answer; only
            // requests beyond these get hyper's bare 414/431.
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_timeout)
                .max_buf_size(1 << 20)
                .max_headers(api::MAX_HEADERS * 4)
                .serve_connection(TokioIo::new(stream), service);
            // A client that goes away mid-request is its own business.
            let _ = connection.await;
        });
    }
}
