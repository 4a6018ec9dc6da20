//! A stand-in for the live providers, served over real HTTP on 127.0.0.1 (feature `mock`).
//!
//! Tests, benchmarks and demos must never touch the internet, yet they should exercise the real
//! clients: URLs, query strings, status codes, payload parsing, retries. This server speaks each
//! provider's documented format — AlphaVantage's `/query` (time series, `DIVIDENDS`, and the
//! `Note`/`Information`/`Error Message` payloads delivered with HTTP 200), the Treasury's yearly
//! Atom XML, FRED's observations JSON and its HTTP 400 errors, and a long-format CSV — generated
//! from the data it is given, and can misbehave on request (throttle, fail, stall).

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::Datelike;
use serde_json::{Map, Value, json};

use crate::{Dividend, Observation, PricePoint, YieldPoint};

/// How the server treats requests for one symbol (or one provider).
#[derive(Debug, Clone, PartialEq)]
pub enum Behaviour {
    /// Answer normally.
    Normal,
    /// Answer the first `n` calls with the provider's throttle payload, then normally.
    Throttle(usize),
    /// Answer the first `n` calls with HTTP 503, then normally.
    Fail(usize),
    /// Wait this long before every answer (to trip client timeouts).
    Stall(Duration),
    /// Refuse the key (AlphaVantage `Error Message` about the apikey; FRED HTTP 400).
    BadKey,
    /// AlphaVantage's daily-limit `Information` payload.
    DailyLimit,
}

/// What the mock serves.
#[derive(Debug, Default)]
pub struct MockData {
    /// Prices by ticker.
    pub prices: BTreeMap<String, Vec<PricePoint>>,
    /// Dividends by ticker.
    pub dividends: BTreeMap<String, Vec<Dividend>>,
    /// Treasury yields.
    pub yields: Vec<YieldPoint>,
    /// FRED series by code.
    pub series: BTreeMap<String, Vec<Observation>>,
}

#[derive(Debug, Default)]
struct Shared {
    data: MockData,
    behaviour: Mutex<HashMap<String, Behaviour>>,
    calls: Mutex<HashMap<String, usize>>,
    total: AtomicUsize,
}

/// A running mock provider server; stops when dropped.
#[derive(Debug)]
pub struct MockServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

impl MockServer {
    /// Starts serving `data` on an ephemeral port of 127.0.0.1 (inside the current runtime).
    pub async fn start(data: MockData) -> std::io::Result<MockServer> {
        let shared = Arc::new(Shared {
            data,
            ..Shared::default()
        });
        let app = axum::Router::new()
            .route("/query", get(alphavantage))
            .route("/interest-rates/pages/xml", get(treasury))
            .route("/fred/series/observations", get(fred))
            .route("/csv/{file}", get(csv))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        Ok(MockServer {
            addr,
            shared,
            _shutdown: tx,
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// AlphaVantage's endpoint (`ALPHA_VANTAGE_URL`).
    pub fn alphavantage_url(&self) -> String {
        format!("{}/query", self.base())
    }

    /// The Treasury base (`TREASURY_URL`).
    pub fn treasury_url(&self) -> String {
        self.base()
    }

    /// FRED's base (`FRED_URL`).
    pub fn fred_url(&self) -> String {
        format!("{}/fred", self.base())
    }

    /// A CSV URL template with `{ticker}`.
    pub fn csv_url(&self) -> String {
        format!("{}/csv/{{ticker}}.csv", self.base())
    }

    /// Sets how requests for `key` are treated: a ticker or series code, or `treasury`.
    pub fn set_behaviour(&self, key: &str, behaviour: Behaviour) {
        self.shared
            .behaviour
            .lock()
            .expect("mock state")
            .insert(key.to_ascii_uppercase(), behaviour);
    }

    /// Requests answered so far for `key` (a ticker, series code or `TREASURY`).
    pub fn calls(&self, key: &str) -> usize {
        *self
            .shared
            .calls
            .lock()
            .expect("mock state")
            .get(&key.to_ascii_uppercase())
            .unwrap_or(&0)
    }

    /// Requests answered so far, all keys.
    pub fn total_calls(&self) -> usize {
        self.shared.total.load(Ordering::SeqCst)
    }
}

enum Act {
    Normal,
    Throttle,
    Fail,
    BadKey,
    DailyLimit,
}

/// Counts the call and decides how to answer it (after any stall).
async fn act(shared: &Shared, key: &str) -> Act {
    let key = key.to_ascii_uppercase();
    shared.total.fetch_add(1, Ordering::SeqCst);
    let count = {
        let mut calls = shared.calls.lock().expect("mock state");
        let c = calls.entry(key.clone()).or_default();
        *c += 1;
        *c
    };
    let behaviour = shared
        .behaviour
        .lock()
        .expect("mock state")
        .get(&key)
        .cloned()
        .unwrap_or(Behaviour::Normal);
    match behaviour {
        Behaviour::Normal => Act::Normal,
        Behaviour::Throttle(n) if count <= n => Act::Throttle,
        Behaviour::Fail(n) if count <= n => Act::Fail,
        Behaviour::Throttle(_) | Behaviour::Fail(_) => Act::Normal,
        Behaviour::Stall(d) => {
            tokio::time::sleep(d).await;
            Act::Normal
        }
        Behaviour::BadKey => Act::BadKey,
        Behaviour::DailyLimit => Act::DailyLimit,
    }
}

fn json_response(value: &Value) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        value.to_string(),
    )
        .into_response()
}

fn unavailable() -> Response {
    (StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable").into_response()
}

async fn alphavantage(
    State(shared): State<Arc<Shared>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let symbol = q.get("symbol").cloned().unwrap_or_default();
    match act(&shared, &symbol).await {
        Act::Throttle => {
            return json_response(
                &json!({"Note": "Thank you for using Alpha Vantage! Our standard API call frequency is 5 calls per minute and 500 calls per day."}),
            );
        }
        Act::Fail => return unavailable(),
        Act::BadKey => {
            return json_response(
                &json!({"Error Message": "the parameter apikey is invalid or missing. Please claim your free API key on (https://www.alphavantage.co/support/#api-key)."}),
            );
        }
        Act::DailyLimit => {
            return json_response(
                &json!({"Information": "We have detected your API key as X and our standard API rate limit is 25 requests per day."}),
            );
        }
        Act::Normal => {}
    }
    let function = q.get("function").map(String::as_str).unwrap_or_default();
    let unknown = || {
        json_response(
            &json!({"Error Message": format!("Invalid API call. Please retry or visit the documentation (https://www.alphavantage.co/documentation/) for {function}.")}),
        )
    };
    match function {
        "TIME_SERIES_DAILY" | "TIME_SERIES_DAILY_ADJUSTED" => {
            let Some(points) = shared.data.prices.get(&symbol) else {
                return unknown();
            };
            let take = if q.get("outputsize").map(String::as_str) == Some("full") {
                points.len()
            } else {
                100
            };
            let adjusted = function.ends_with("ADJUSTED");
            let mut series = Map::new();
            for p in points.iter().rev().take(take) {
                let mut entry = Map::new();
                let open = p.open.unwrap_or(p.close);
                entry.insert("1. open".into(), json!(format!("{open:.4}")));
                entry.insert("2. high".into(), json!(format!("{:.4}", open.max(p.close))));
                entry.insert("3. low".into(), json!(format!("{:.4}", open.min(p.close))));
                entry.insert("4. close".into(), json!(format!("{:.4}", p.close)));
                if adjusted {
                    entry.insert("5. adjusted close".into(), json!(format!("{:.4}", p.close)));
                    entry.insert("6. volume".into(), json!("1000000"));
                    entry.insert("7. dividend amount".into(), json!("0.0000"));
                    entry.insert("8. split coefficient".into(), json!("1.0"));
                } else {
                    entry.insert("5. volume".into(), json!("1000000"));
                }
                series.insert(p.date.to_string(), Value::Object(entry));
            }
            json_response(&json!({
                "Meta Data": {"2. Symbol": symbol, "4. Output Size": if take == points.len() { "Full size" } else { "Compact" }},
                "Time Series (Daily)": series,
            }))
        }
        "DIVIDENDS" => {
            let Some(rows) = shared.data.dividends.get(&symbol) else {
                return json_response(&json!({"symbol": symbol, "data": []}));
            };
            let data: Vec<Value> = rows
                .iter()
                .rev()
                .map(|d| json!({"ex_dividend_date": d.date.to_string(), "payment_date": d.date.to_string(), "amount": format!("{}", d.amount)}))
                .collect();
            json_response(&json!({"symbol": symbol, "data": data}))
        }
        _ => unknown(),
    }
}

async fn treasury(
    State(shared): State<Arc<Shared>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    match act(&shared, "TREASURY").await {
        Act::Normal => {}
        _ => return unavailable(),
    }
    let year: i32 = q
        .get("field_tdr_date_value")
        .and_then(|y| y.parse().ok())
        .unwrap_or(0);
    let mut by_date: BTreeMap<chrono::NaiveDate, Vec<&YieldPoint>> = BTreeMap::new();
    for y in shared.data.yields.iter().filter(|y| y.date.year() == year) {
        by_date.entry(y.date).or_default().push(y);
    }
    let mut xml = String::from(
        r#"<?xml version="1.0" encoding="utf-8" standalone="yes"?><feed xmlns="http://www.w3.org/2005/Atom" xmlns:d="http://schemas.microsoft.com/ado/2007/08/dataservices" xmlns:m="http://schemas.microsoft.com/ado/2007/08/dataservices/metadata"><title type="text">DailyTreasuryYieldCurveRateData</title>"#,
    );
    for (date, points) in by_date {
        let _ = write!(
            xml,
            r#"<entry><content type="application/xml"><m:properties><d:NEW_DATE m:type="Edm.DateTime">{date}T00:00:00</d:NEW_DATE>"#
        );
        for p in points {
            let field = treasury_field(p.maturity);
            let _ = write!(
                xml,
                r#"<d:{field} m:type="Edm.Double">{}</d:{field}>"#,
                p.percent
            );
        }
        xml.push_str("</m:properties></content></entry>");
    }
    xml.push_str("</feed>");
    ([(header::CONTENT_TYPE, "application/atom+xml")], xml).into_response()
}

fn treasury_field(maturity: stratus_core::Maturity) -> &'static str {
    use stratus_core::Maturity as M;
    match maturity {
        M::OneMonth => "BC_1MONTH",
        M::TwoMonth => "BC_2MONTH",
        M::ThreeMonth => "BC_3MONTH",
        M::FourMonth => "BC_4MONTH",
        M::SixMonth => "BC_6MONTH",
        M::OneYear => "BC_1YEAR",
        M::TwoYear => "BC_2YEAR",
        M::ThreeYear => "BC_3YEAR",
        M::FiveYear => "BC_5YEAR",
        M::SevenYear => "BC_7YEAR",
        M::TenYear => "BC_10YEAR",
        M::TwentyYear => "BC_20YEAR",
        M::ThirtyYear => "BC_30YEAR",
    }
}

async fn fred(
    State(shared): State<Arc<Shared>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let code = q.get("series_id").cloned().unwrap_or_default();
    let error = |message: &str| {
        (
            StatusCode::BAD_REQUEST,
            [(header::CONTENT_TYPE, "application/json")],
            json!({"error_code": 400, "error_message": message}).to_string(),
        )
            .into_response()
    };
    match act(&shared, &code).await {
        Act::Normal => {}
        Act::Throttle => {
            return (
                StatusCode::TOO_MANY_REQUESTS,
                json!({"error_code": 429, "error_message": "Too Many Requests.  Exceeded Rate Limit"}).to_string(),
            )
                .into_response();
        }
        Act::BadKey | Act::DailyLimit => {
            return error(
                "Bad Request.  The value for variable api_key is not registered.  Read https://fred.stlouisfed.org/docs/api/api_key.html for more information.",
            );
        }
        Act::Fail => return unavailable(),
    }
    let Some(rows) = shared.data.series.get(&code) else {
        return error("Bad Request.  The series does not exist.");
    };
    let start = q.get("observation_start").cloned().unwrap_or_default();
    let end = q
        .get("observation_end")
        .cloned()
        .unwrap_or_else(|| "9999-12-31".into());
    let observations: Vec<Value> = rows
        .iter()
        .filter(|o| o.date.to_string() >= start && o.date.to_string() <= end)
        .map(|o| json!({"date": o.date.to_string(), "value": format!("{}", o.value)}))
        .collect();
    json_response(&json!({"count": observations.len(), "observations": observations}))
}

async fn csv(State(shared): State<Arc<Shared>>, Path(file): Path<String>) -> Response {
    let ticker = file.trim_end_matches(".csv").to_ascii_uppercase();
    match act(&shared, &ticker).await {
        Act::Normal => {}
        _ => return unavailable(),
    }
    let Some(points) = shared.data.prices.get(&ticker) else {
        return (StatusCode::NOT_FOUND, "no such file").into_response();
    };
    let mut body = String::from("date,ticker,open,close\n");
    for p in points {
        let _ = writeln!(
            body,
            "{},{},{},{}",
            p.date,
            p.ticker,
            p.open.map(|o| o.to_string()).unwrap_or_default(),
            p.close
        );
    }
    ([(header::CONTENT_TYPE, "text/csv")], body).into_response()
}
