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
mod openapi;

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderValue, Method};
use axum::routing::get;
use stratus_app::Analytics;

pub use api::{ApiError, Params, Reply, call_verb};

/// What `serve` can be told.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Origins allowed by CORS (`*` for any); empty: same origin only.
    pub cors_origins: Vec<String>,
    /// Largest request body accepted (bytes).
    pub max_body_bytes: usize,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            cors_origins: Vec::new(),
            max_body_bytes: 64 * 1024,
        }
    }
}

impl ServerOptions {
    /// Options from the environment: `STRATUS_CORS_ORIGINS` (comma-separated, or `*`).
    pub fn from_env(env: &dyn Fn(&str) -> Option<String>) -> Self {
        let cors_origins = env("STRATUS_CORS_ORIGINS")
            .map(|v| {
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
}

const INDEX_HTML: &str = include_str!("../web/index.html");
const APP_JS: &str = include_str!("../web/app.js");
const CHARTS_JS: &str = include_str!("../web/charts.js");
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
        .fallback(api::not_found)
        .with_state(state);
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

/// Serves `app` on `listener` until the process ends.
pub async fn serve(listener: tokio::net::TcpListener, app: Router) -> std::io::Result<()> {
    axum::serve(listener, app).await
}
