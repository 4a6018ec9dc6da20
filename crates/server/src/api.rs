//! Handlers: a verb request in, the CLI's JSON (or chart) out, errors as JSON with a status.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use stratus_analytics::{Analytics, AppError, ErrorClass};
use stratus_core::Maturity;
use stratus_verbs::request::{
    RequestError, command_from_params, params_from_json, params_from_query,
};

/// An error answer: status, message, and the parameter to blame when there is one.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// What went wrong and how to fix it.
    pub message: String,
    /// The parameter at fault.
    pub field: Option<String>,
    /// The failure's class (what the Lambda adapter reports as the error type).
    pub class: ErrorClass,
}

impl ApiError {
    /// A failure of the HTTP exchange itself (no route, wrong method, a request too large),
    /// which no service saw: its class follows from the status.
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        let class = match status.as_u16() {
            404 => ErrorClass::NotFound,
            400..=499 => ErrorClass::UserInput,
            _ => ErrorClass::Internal,
        };
        ApiError {
            status,
            message: message.into(),
            field: None,
            class,
        }
    }

    /// An error of `class`: the status is the class's. An internal error's details go to the
    /// server log, never into the answer.
    pub fn classified(class: ErrorClass, message: String, field: Option<String>) -> Self {
        let message = if class == ErrorClass::Internal {
            #[allow(clippy::print_stderr)] // the server's log
            {
                eprintln!("stratus: internal error: {message}");
            }
            "internal error while answering this request; the server log has the details".into()
        } else {
            message
        };
        ApiError {
            status: StatusCode::from_u16(class.http_status())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            message,
            field,
            class,
        }
    }

    /// A bad request parameter.
    fn bad_parameter(field: &str, message: String) -> Self {
        ApiError::classified(ErrorClass::UserInput, message, Some(field.into()))
    }

    /// The JSON body: `{"error", "status", "field"?}`.
    pub fn body(&self) -> Value {
        let mut body = json!({ "error": self.message, "status": self.status.as_u16() });
        if let Some(field) = &self.field {
            body["field"] = json!(field);
        }
        body
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            [(header::CACHE_CONTROL, "no-store")],
            axum::Json(self.body()),
        )
            .into_response()
    }
}

impl From<RequestError> for ApiError {
    fn from(e: RequestError) -> Self {
        let class = e.class();
        let field = e.field().map(str::to_string);
        ApiError::classified(class, e.to_string(), field)
    }
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        ApiError::classified(e.class(), e.to_string(), e.field().map(str::to_string))
    }
}

/// A verb's answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// The JSON `stratus <verb> --json` prints.
    Json(Value),
    /// The text `stratus <verb>` prints (asked for with `Accept: text/plain`): what a remote
    /// client (`stratus --remote URL <verb>`) prints as it is.
    Text(String),
    /// A chart (plot verbs).
    Chart {
        /// `image/svg+xml` or `image/png`.
        content_type: &'static str,
        /// The file's bytes.
        bytes: Vec<u8>,
    },
}

/// Parameters of one request.
#[derive(Debug, Clone, Copy)]
pub enum Params<'a> {
    /// Query-string pairs.
    Query(&'a [(String, String)]),
    /// A JSON object (POST body, Lambda event).
    Json(&'a Value),
}

/// Runs `verb` with `params`: the HTTP API and the Lambda handler both come here.
pub async fn call_verb(
    analytics: &Analytics,
    verb: &str,
    params: Params<'_>,
) -> Result<Reply, ApiError> {
    call_verb_as(analytics, verb, params, false).await
}

/// [`call_verb`], answering with the CLI's text instead of its JSON when `text` is set.
pub async fn call_verb_as(
    analytics: &Analytics,
    verb: &str,
    params: Params<'_>,
    text: bool,
) -> Result<Reply, ApiError> {
    let mut params = match params {
        Params::Query(pairs) => params_from_query(pairs),
        Params::Json(body) => params_from_json(body)?,
    };
    // Charts take one parameter the CLI spells as a file extension instead.
    let mut format = stratus_charts::Format::Svg;
    if verb.starts_with("plot")
        && let Some(at) = params.iter().position(|(k, _)| k == "format")
    {
        let (_, value) = params.remove(at);
        format = chart_format(value.as_str().unwrap_or_default())?;
    }
    let command = command_from_params(verb, &params)?;
    let output = stratus_verbs::commands::run_verb(&command, analytics, format).await?;
    if text && output.chart.is_none() {
        let mut rendered = Vec::new();
        output
            .write_text(&mut rendered)
            .map_err(|e| ApiError::classified(ErrorClass::Internal, e.to_string(), None))?;
        return Ok(Reply::Text(String::from_utf8_lossy(&rendered).into_owned()));
    }
    Ok(match output.chart {
        Some(bytes) => Reply::Chart {
            content_type: match format {
                stratus_charts::Format::Png => "image/png",
                stratus_charts::Format::Svg => "image/svg+xml",
            },
            bytes,
        },
        None => Reply::Json(output.json),
    })
}

fn chart_format(text: &str) -> Result<stratus_charts::Format, ApiError> {
    match text.trim().to_ascii_lowercase().as_str() {
        "svg" | "" => Ok(stratus_charts::Format::Svg),
        "png" => Ok(stratus_charts::Format::Png),
        other => Err(ApiError::bad_parameter(
            "format",
            format!("format must be svg or png, not {other:?}"),
        )),
    }
}

/// Results for a window with an explicit end (or a dated curve) never change; the rest move with
/// the data.
fn cache_control(dated: bool) -> &'static str {
    if dated {
        "public, max-age=86400"
    } else {
        "no-cache"
    }
}

fn reply(result: Result<Reply, ApiError>, dated: bool) -> Response {
    match result {
        Ok(Reply::Json(value)) => (
            [
                (header::CONTENT_TYPE, "application/json"),
                (header::CACHE_CONTROL, cache_control(dated)),
            ],
            serde_json::to_string(&value).unwrap_or_default(),
        )
            .into_response(),
        Ok(Reply::Text(text)) => (
            [
                (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
                (header::CACHE_CONTROL, cache_control(dated)),
                (header::VARY, "accept"),
            ],
            text,
        )
            .into_response(),
        Ok(Reply::Chart {
            content_type,
            bytes,
        }) => (
            [
                (header::CONTENT_TYPE, content_type),
                (header::CACHE_CONTROL, cache_control(dated)),
            ],
            bytes,
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}

pub(crate) type Shared = State<Arc<crate::State>>;

/// Whether the client asked for the CLI's text (`Accept: text/plain`, before any JSON type).
fn wants_text(headers: &header::HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.split(';').next().unwrap_or_default().trim())
        .find(|t| *t == "text/plain" || *t == "application/json")
        == Some("text/plain")
}

pub(crate) async fn get_verb(
    State(state): Shared,
    Path(verb): Path<String>,
    headers: header::HeaderMap,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Response {
    let pairs = match query {
        Ok(Query(pairs)) => pairs,
        Err(e) => {
            return ApiError::new(StatusCode::BAD_REQUEST, format!("bad query string: {e}"))
                .into_response();
        }
    };
    let dated = pairs.iter().any(|(k, _)| k == "end" || k == "date");
    let text = wants_text(&headers);
    reply(
        call_verb_as(&state.analytics, &verb, Params::Query(&pairs), text).await,
        dated,
    )
}

pub(crate) async fn post_verb(
    State(state): Shared,
    Path(verb): Path<String>,
    headers: header::HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Response {
    let body = match body {
        Ok(b) => b,
        Err(e) => return ApiError::new(e.status(), e.body_text()).into_response(),
    };
    if body.len() > state.max_body_bytes {
        return ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "request body of {} bytes; at most {} accepted",
                body.len(),
                state.max_body_bytes
            ),
        )
        .into_response();
    }
    let value: Value = if body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(e) => {
                return ApiError::new(
                    StatusCode::BAD_REQUEST,
                    format!("request body is not JSON: {e}"),
                )
                .into_response();
            }
        }
    };
    if let Some(jobs) = &state.jobs
        && crate::jobs::prefers_async(&headers)
        && matches!(verb.as_str(), "backtest" | "bt")
    {
        return crate::jobs::queue(&state.analytics, jobs, &value)
            .await
            .unwrap_or_else(IntoResponse::into_response);
    }
    let dated = value.get("end").is_some() || value.get("date").is_some();
    let text = wants_text(&headers);
    reply(
        call_verb_as(&state.analytics, &verb, Params::Json(&value), text).await,
        dated,
    )
}

/// `GET /health`: liveness and whether the store answers — one cheap read (never a count or a
/// scan) — with the server's version and the store's kind, and nothing about where the store is
/// (no path, no endpoint, no credentials).
pub(crate) async fn health(State(state): Shared) -> Response {
    match state.analytics.store().has_prices().await {
        Ok(has_prices) => axum::Json(json!({
            "status": "ok",
            "version": env!("CARGO_PKG_VERSION"),
            "store": if has_prices { "ready" } else { "empty" },
            "backend": state.analytics.store().backend(),
            "read_only": state.analytics.store().capabilities().read_only,
        }))
        .into_response(),
        Err(e) => ApiError::from(AppError::Store(e)).into_response(),
    }
}

/// Any known path with a method it does not serve.
pub(crate) async fn method_not_allowed(
    method: axum::http::Method,
    uri: axum::http::Uri,
) -> Response {
    let allowed = if uri.path().starts_with("/api/") {
        "GET, POST"
    } else {
        "GET"
    };
    let mut response = ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("{method} is not served at {}; use {allowed}", uri.path()),
    )
    .into_response();
    if let Ok(value) = header::HeaderValue::from_str(allowed) {
        response.headers_mut().insert(header::ALLOW, value);
    }
    response
}

/// Longest request target (path and query) accepted.
pub(crate) const MAX_URI_BYTES: usize = 8 * 1024;
/// Most header bytes accepted.
pub(crate) const MAX_HEADER_BYTES: usize = 16 * 1024;
/// Most headers accepted.
pub(crate) const MAX_HEADERS: usize = 64;

/// Oversized request lines and headers get the documented JSON error (414, 431) rather than
/// the bare status a lower layer would send.
pub(crate) async fn request_limits(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let target = request
        .uri()
        .path_and_query()
        .map_or(0, |p| p.as_str().len());
    if target > MAX_URI_BYTES {
        return ApiError::new(
            StatusCode::URI_TOO_LONG,
            format!(
                "the request target is {target} bytes, at most {MAX_URI_BYTES} accepted; send long parameter lists as a JSON body with POST"
            ),
        )
        .into_response();
    }
    let headers = request.headers();
    let header_bytes: usize = headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    if headers.len() > MAX_HEADERS || header_bytes > MAX_HEADER_BYTES {
        return ApiError::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            format!(
                "{} headers of {header_bytes} bytes; at most {MAX_HEADERS} headers and {MAX_HEADER_BYTES} bytes accepted",
                headers.len()
            ),
        )
        .into_response();
    }
    next.run(request).await
}

/// A handler that panicked: a JSON 500 instead of a dropped connection (no input is meant to
/// get here; the property tests look for it).
pub(crate) fn panicked(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal error while answering this request; please report it with the request",
    )
    .into_response()
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TickerQuery {
    q: Option<String>,
    limit: Option<String>,
    page: Option<String>,
}

fn parse_number(
    field: &str,
    text: Option<&str>,
    default: usize,
    max: usize,
) -> Result<usize, ApiError> {
    let Some(text) = text else { return Ok(default) };
    text.trim()
        .parse::<usize>()
        .ok()
        .filter(|n| *n <= max)
        .ok_or_else(|| {
            ApiError::bad_parameter(
                field,
                format!("{field} must be a whole number from 0 to {max}, not {text:?}"),
            )
        })
}

/// `GET /tickers?q=&limit=&page=`: what the store holds, filtered and paged.
pub(crate) async fn tickers(
    State(state): Shared,
    query: Result<Query<TickerQuery>, QueryRejection>,
) -> Response {
    let result = async {
        let Query(query) = query.map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                format!("{e}; parameters are q, limit and page"),
            )
        })?;
        let limit = parse_number("limit", query.limit.as_deref(), 100, 1000)?.max(1);
        let page = parse_number("page", query.page.as_deref(), 0, usize::MAX)?;
        let needle = query.q.unwrap_or_default().trim().to_ascii_uppercase();
        let all = state.analytics.ticker_summaries().await?;
        let matching: Vec<_> = all
            .iter()
            .filter(|t| t.ticker.contains(&needle))
            .collect();
        let total = matching.len();
        let rows: Vec<Value> = matching
            .into_iter()
            .skip(page.saturating_mul(limit))
            .take(limit)
            .map(|t| json!({"ticker": t.ticker, "first": t.first, "last": t.last, "prices": t.count}))
            .collect();
        Ok::<_, ApiError>(json!({"page": page, "limit": limit, "total": total, "tickers": rows}))
    }
    .await;
    match result {
        Ok(v) => axum::Json(v).into_response(),
        Err(e) => e.into_response(),
    }
}

/// `GET /maturities`: the Treasury tenors, for `interest` and the risk-free setting.
pub(crate) async fn maturities(State(state): Shared) -> Response {
    let latest = state.analytics.latest_rate_date().await.ok();
    let names: Vec<Value> = Maturity::ALL
        .iter()
        .map(|m| json!({"maturity": m.name(), "label": m.label(), "years": m.years()}))
        .collect();
    axum::Json(json!({"maturities": names, "latest": latest})).into_response()
}

pub(crate) async fn not_found(uri: axum::http::Uri) -> Response {
    ApiError::new(
        StatusCode::NOT_FOUND,
        format!(
            "no endpoint {}; the API is /api/<verb> (see /openapi.json), plus /tickers, /maturities and /health",
            uri.path()
        ),
    )
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use stratus_store::{StoreError, StoreErrorKind};

    #[test]
    fn the_class_alone_decides_the_status_and_an_internal_answer_says_nothing_internal() {
        let internal = ApiError::from(AppError::Setup {
            message: "cannot open /srv/secret/stratus.db: permission denied".into(),
        });
        assert_eq!(internal.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(internal.class, ErrorClass::Internal);
        assert!(!internal.message.contains("secret"), "{}", internal.message);
        let down = ApiError::from(AppError::Store(StoreError::new(
            StoreErrorKind::Unavailable,
            "DynamoDB at http://127.0.0.1:1 is unreachable",
        )));
        assert_eq!(down.status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(
            down.message.contains("unreachable"),
            "an outage is explained"
        );
        let unknown = ApiError::from(AppError::UnknownTicker {
            ticker: "ZZZ".into(),
            known: vec!["AAPL".into()],
        });
        assert_eq!(unknown.status, StatusCode::NOT_FOUND);
        assert_eq!(unknown.field.as_deref(), Some("tickers"));
        for error in [internal, down, unknown] {
            assert_eq!(error.status.as_u16(), error.class.http_status());
        }
    }
}
