//! Shared set-up: a mock provider with synthetic data, a SQLite store, settings pointing at the
//! mock, and a local S3-compatible server when one is configured.

#![allow(clippy::print_stderr)]
#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::NaiveDate;
use stratus_analytics::Analytics;
use stratus_app::Settings;
use stratus_core::{CalendarKind, Maturity, TradingCalendar};
use stratus_providers::mock::{MockData, MockServer};
use stratus_providers::{Dividend, Observation, PricePoint, YieldPoint};

pub const TODAY: &str = "2024-06-10";

pub fn date(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

/// Sessions from `start` to `end`, with a deterministic wiggly price path per ticker.
pub fn prices(ticker: &str, start: &str, end: &str, base: f64) -> Vec<PricePoint> {
    let calendar = TradingCalendar::get(CalendarKind::Nyse);
    calendar
        .sessions(date(start), date(end))
        .into_iter()
        .enumerate()
        .map(|(i, d)| {
            let close = base * (1.0 + 0.002 * i as f64 + 0.03 * ((i as f64) / 5.0).sin());
            PricePoint {
                ticker: ticker.into(),
                date: d,
                open: Some(close * 0.999),
                close,
            }
        })
        .collect()
}

pub fn mock_data() -> MockData {
    let mut prices_by = BTreeMap::new();
    prices_by.insert(
        "AAA".to_string(),
        prices("AAA", "2023-01-03", "2024-06-07", 50.0),
    );
    let mut bbb = prices("BBB", "2023-01-03", "2024-06-07", 20.0);
    // Two bad records: a NaN close and a date after "today".
    bbb[10].close = f64::NAN;
    bbb.push(PricePoint {
        ticker: "BBB".into(),
        date: date("2024-06-12"),
        open: Some(21.0),
        close: 21.0,
    });
    prices_by.insert("BBB".to_string(), bbb);
    prices_by.insert(
        "SPY".to_string(),
        prices("SPY", "2023-01-03", "2024-06-07", 400.0),
    );
    let mut dividends = BTreeMap::new();
    dividends.insert(
        "AAA".to_string(),
        (0..8)
            .map(|k| Dividend {
                ticker: "AAA".into(),
                date: date("2022-09-15") + chrono::Duration::days(91 * k),
                amount: 0.40 + 0.01 * k as f64,
            })
            .collect(),
    );
    let calendar = TradingCalendar::get(CalendarKind::Nyse);
    let mut yields = Vec::new();
    for (i, d) in calendar
        .sessions(date("2024-01-02"), date("2024-06-07"))
        .into_iter()
        .enumerate()
    {
        for (j, m) in Maturity::ALL.into_iter().enumerate() {
            yields.push(YieldPoint {
                maturity: m,
                date: d,
                percent: 4.0 + 0.05 * j as f64 + 0.001 * i as f64,
            });
        }
    }
    let mut series = BTreeMap::new();
    series.insert(
        "UNRATE".to_string(),
        (1..=5)
            .map(|m| Observation {
                series: "UNRATE".into(),
                date: NaiveDate::from_ymd_opt(2024, m, 1).unwrap(),
                value: 3.7 + 0.05 * f64::from(m),
            })
            .collect(),
    );
    MockData {
        prices: prices_by,
        dividends,
        yields,
        series,
    }
}

/// Environment for settings that use `mock` as every live provider.
pub fn live_env(mock: &MockServer, home: &std::path::Path) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    for (k, v) in [
        ("STRATUS_HOME", home.display().to_string()),
        ("STRATUS_PROVIDER", "alphavantage".into()),
        ("ALPHA_VANTAGE_KEY", "test-key".into()),
        ("STRATUS_ALPHA_VANTAGE_URL", mock.alphavantage_url()),
        ("STRATUS_ALPHA_VANTAGE_RATE", "0".into()),
        ("STRATUS_TREASURY_URL", mock.treasury_url()),
        ("STRATUS_FRED_URL", mock.fred_url()),
        ("FRED_KEY", "fred-key".into()),
        ("STRATUS_HTTP_TIMEOUT", "1".into()),
        ("STRATUS_HTTP_RETRIES", "1".into()),
        ("STRATUS_HTTP_BACKOFF_MS", "10".into()),
        ("STRATUS_TODAY", TODAY.into()),
    ] {
        env.insert(k.to_string(), v);
    }
    env
}

pub fn settings(env: &BTreeMap<String, String>) -> Settings {
    Settings::load(&|k| env.get(k).cloned()).unwrap()
}

pub async fn analytics(env: &BTreeMap<String, String>) -> Analytics {
    let settings = settings(env);
    let store = stratus_app::open_store(&settings).await.unwrap();
    let analytics = stratus_app::analytics(Arc::clone(&store), &settings);
    analytics.ensure_seeded(&|_| {}).await.unwrap();
    analytics
}

/// The local S3-compatible endpoint, if configured (`.ci/run` starts moto's server). Under
/// CI=true a missing endpoint fails the test instead of skipping it.
pub fn s3_endpoint() -> Option<String> {
    match std::env::var("STRATUS_TEST_S3") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var("CI").map_or(true, |v| v != "true"),
                "CI=true but STRATUS_TEST_S3 is not set: .ci/run must start the S3 server"
            );
            eprintln!("skipping: set STRATUS_TEST_S3 to a local S3-compatible endpoint");
            None
        }
    }
}

/// Creates a bucket on the S3-compatible server (moto accepts unsigned requests).
pub async fn create_bucket(endpoint: &str, bucket: &str) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = endpoint.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = tokio::net::TcpStream::connect(host).await.unwrap();
    let request = format!(
        "PUT /{bucket} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 200"),
        "create bucket: {answer}"
    );
}

/// Environment entries for the S3 destination at `endpoint`.
pub fn s3_env(env: &mut BTreeMap<String, String>, endpoint: &str) {
    env.insert("AWS_ENDPOINT_URL_S3".into(), endpoint.into());
    env.insert("AWS_REGION".into(), "us-east-1".into());
    env.insert("AWS_ACCESS_KEY_ID".into(), "testing".into());
    env.insert("AWS_SECRET_ACCESS_KEY".into(), "testing".into());
}
