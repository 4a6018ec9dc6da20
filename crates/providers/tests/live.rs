//! The live providers against fixture payloads in their documented formats, served by a scripted
//! HTTP server on 127.0.0.1: parsing, error payloads, retries, timeouts, rate limits, redaction.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::IntoResponse;
use chrono::NaiveDate;
use stratus_core::Maturity;
use stratus_providers::alphavantage::{AlphaVantage, PriceFunction};
use stratus_providers::csv_url::CsvUrl;
use stratus_providers::fred::Fred;
use stratus_providers::treasury::Treasury;
use stratus_providers::{History, HttpPolicy, Provider, ProviderError, ProviderErrorKind};

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

#[derive(Clone)]
struct Reply {
    status: u16,
    body: String,
    delay: Duration,
}

fn ok(body: String) -> Reply {
    Reply {
        status: 200,
        body,
        delay: Duration::ZERO,
    }
}

#[derive(Default)]
struct Script {
    replies: Mutex<VecDeque<Reply>>,
    seen: Mutex<Vec<String>>,
}

/// Answers each request with the next scripted reply; the last one repeats.
struct Scripted {
    base: String,
    script: Arc<Script>,
}

impl Scripted {
    async fn start(replies: Vec<Reply>) -> Scripted {
        let script = Arc::new(Script {
            replies: Mutex::new(replies.into()),
            seen: Mutex::default(),
        });
        async fn answer(State(script): State<Arc<Script>>, uri: Uri) -> axum::response::Response {
            script.seen.lock().unwrap().push(uri.to_string());
            let reply = {
                let mut q = script.replies.lock().unwrap();
                if q.len() > 1 {
                    q.pop_front().unwrap()
                } else {
                    q.front().cloned().unwrap()
                }
            };
            tokio::time::sleep(reply.delay).await;
            (StatusCode::from_u16(reply.status).unwrap(), reply.body).into_response()
        }
        let app = axum::Router::new()
            .fallback(answer)
            .with_state(script.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Scripted { base, script }
    }

    fn seen(&self) -> Vec<String> {
        self.script.seen.lock().unwrap().clone()
    }
}

fn quick() -> HttpPolicy {
    HttpPolicy {
        timeout: Duration::from_secs(5),
        retries: 3,
        backoff: Duration::from_millis(5),
        calls_per_minute: 0,
    }
}

fn alpha(server: &Scripted, key: Option<&str>) -> AlphaVantage {
    AlphaVantage::new(
        &format!("{}/query", server.base),
        key.map(String::from),
        PriceFunction::DailyAdjusted,
        quick(),
    )
    .unwrap()
}

fn date(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

#[tokio::test]
async fn alphavantage_adjusted_prices_parse_in_date_order() {
    let server = Scripted::start(vec![ok(fixture("alphavantage_IBM_full.json"))]).await;
    let points = alpha(&server, Some("SECRET"))
        .daily_prices("ibm", History::Full)
        .await
        .unwrap();
    assert_eq!(points.len(), 61);
    assert_eq!(points[0].date, date("2024-01-02"));
    assert_eq!(points.last().unwrap().date, date("2024-03-28"));
    assert!(points.windows(2).all(|w| w[0].date < w[1].date));
    // Before the dividend the adjusted close is 0.99 × the close; the open is scaled alike.
    let first = &points[0];
    let raw_close = 160.0;
    assert!((first.close - raw_close * 0.99).abs() < 1e-3, "{first:?}");
    assert!((first.open.unwrap() - (raw_close - 0.5) * 0.99).abs() < 1e-3);
    let url = &server.seen()[0];
    assert!(url.contains("function=TIME_SERIES_DAILY_ADJUSTED") && url.contains("symbol=IBM"));
    assert!(
        url.contains("outputsize=full") && url.contains("apikey=SECRET"),
        "{url}"
    );
}

#[tokio::test]
async fn alphavantage_throttle_notes_are_retried_then_succeed() {
    let note = ok(fixture("alphavantage_note.json"));
    let server = Scripted::start(vec![
        note.clone(),
        note,
        ok(fixture("alphavantage_IBM_compact.json")),
    ])
    .await;
    let points = alpha(&server, Some("K"))
        .daily_prices("IBM", History::Recent)
        .await
        .unwrap();
    assert_eq!(points.len(), 20);
    assert_eq!(server.seen().len(), 3);
    assert!(server.seen()[2].contains("outputsize=compact"));
}

#[tokio::test]
async fn alphavantage_endless_throttling_is_a_typed_error_after_the_retries() {
    let server = Scripted::start(vec![ok(fixture("alphavantage_note.json"))]).await;
    let err = alpha(&server, Some("K"))
        .daily_prices("IBM", History::Full)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ProviderErrorKind::Throttled, "{err}");
    assert_eq!(server.seen().len(), 4, "first call and 3 retries");
    assert!(err.to_string().contains("call frequency"), "{err}");
}

#[tokio::test]
async fn alphavantage_refusals_are_not_retried() {
    for (file, kind, words) in [
        (
            "alphavantage_error.json",
            ProviderErrorKind::Input,
            "no data for ZZZZ",
        ),
        (
            "alphavantage_bad_key.json",
            ProviderErrorKind::Credentials,
            "ALPHA_VANTAGE_KEY",
        ),
        (
            "alphavantage_daily_limit.json",
            ProviderErrorKind::Throttled,
            "25 requests per day",
        ),
    ] {
        let server =
            Scripted::start(vec![ok(fixture(file).replace("as demo", "as TOPSECRET"))]).await;
        let err = alpha(&server, Some("TOPSECRET"))
            .daily_prices("ZZZZ", History::Full)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), kind, "{file}: {err}");
        assert!(err.to_string().contains(words), "{file}: {err}");
        assert!(!err.to_string().contains("TOPSECRET"), "{err}");
        assert_eq!(server.seen().len(), 1, "{file}");
    }
}

#[tokio::test]
async fn a_missing_key_is_reported_without_calling() {
    let server = Scripted::start(vec![ok(String::new())]).await;
    let err = alpha(&server, None).dividends("IBM").await.unwrap_err();
    assert!(matches!(err, ProviderError::MissingKey { .. }));
    assert!(err.to_string().contains("ALPHA_VANTAGE_KEY"));
    assert!(server.seen().is_empty());
}

#[tokio::test]
async fn alphavantage_dividends_parse_ascending() {
    let server = Scripted::start(vec![ok(fixture("alphavantage_IBM_dividends.json"))]).await;
    let divs = alpha(&server, Some("K")).dividends("IBM").await.unwrap();
    assert_eq!(divs.len(), 12);
    assert_eq!(divs[0].date, date("2022-03-10"));
    assert_eq!(divs[11].date, date("2024-12-10"));
    assert!((divs[11].amount - 1.67).abs() < 1e-12);
    assert!(server.seen()[0].contains("function=DIVIDENDS"));
}

#[tokio::test]
async fn server_errors_are_retried_with_backoff() {
    let down = Reply {
        status: 503,
        body: "busy".into(),
        delay: Duration::ZERO,
    };
    let server = Scripted::start(vec![
        down.clone(),
        down,
        ok(fixture("alphavantage_IBM_compact.json")),
    ])
    .await;
    let points = alpha(&server, Some("K"))
        .daily_prices("IBM", History::Recent)
        .await
        .unwrap();
    assert_eq!(points.len(), 20);
    assert_eq!(server.seen().len(), 3);
}

#[tokio::test]
async fn a_stalled_provider_times_out_with_a_clear_error() {
    let server = Scripted::start(vec![Reply {
        status: 200,
        body: "{}".into(),
        delay: Duration::from_secs(3),
    }])
    .await;
    let policy = HttpPolicy {
        timeout: Duration::from_millis(200),
        retries: 1,
        backoff: Duration::from_millis(5),
        calls_per_minute: 0,
    };
    let provider = Treasury::new(&server.base, policy).unwrap();
    let started = Instant::now();
    let err = provider
        .treasury_yields(date("2024-01-02"), date("2024-01-05"))
        .await
        .unwrap_err();
    assert!(matches!(err, ProviderError::Timeout { .. }), "{err}");
    assert!(err.to_string().contains("STRATUS_HTTP_TIMEOUT"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(server.seen().len(), 2);
}

#[tokio::test]
async fn an_unreachable_provider_is_unavailable() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let provider = Fred::new(&base, Some("SECRETKEY".into()), quick()).unwrap();
    let err = provider
        .series("UNRATE", date("2024-01-01"), date("2024-12-31"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ProviderErrorKind::Unavailable, "{err}");
    assert!(err.to_string().contains("api_key=***"), "{err}");
    assert!(!err.to_string().contains("SECRETKEY"), "{err}");
}

#[tokio::test]
async fn the_rate_limit_spaces_calls() {
    let server = Scripted::start(vec![ok(fixture("alphavantage_IBM_compact.json"))]).await;
    let provider = AlphaVantage::new(
        &format!("{}/query", server.base),
        Some("K".into()),
        PriceFunction::Daily,
        HttpPolicy {
            calls_per_minute: 600,
            ..quick()
        },
    )
    .unwrap();
    let started = Instant::now();
    for _ in 0..4 {
        provider.daily_prices("IBM", History::Recent).await.unwrap();
    }
    // 600 per minute is one per 100 ms: four calls need at least 300 ms.
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert!(server.seen()[0].contains("function=TIME_SERIES_DAILY&"));
}

#[tokio::test]
async fn treasury_feed_parses_every_tenor_of_the_year_asked_for() {
    let server = Scripted::start(vec![ok(fixture("treasury_2024.xml"))]).await;
    let provider = Treasury::new(&server.base, quick()).unwrap();
    let yields = provider
        .treasury_yields(date("2024-01-03"), date("2024-01-31"))
        .await
        .unwrap();
    assert_eq!(yields.len(), 2 * 13, "two dates in range, 13 tenors each");
    let ten = yields
        .iter()
        .find(|y| y.date == date("2024-01-04") && y.maturity == Maturity::TenYear)
        .unwrap();
    assert!((ten.percent - 3.99).abs() < 1e-12);
    let url = &server.seen()[0];
    assert!(url.starts_with("/interest-rates/pages/xml?data=daily_treasury_yield_curve"));
    assert!(url.contains("field_tdr_date_value=2024"), "{url}");
}

#[tokio::test]
async fn fred_observations_and_errors() {
    let server = Scripted::start(vec![
        ok(fixture("fred_UNRATE.json")),
        Reply {
            status: 400,
            body: fixture("fred_missing.json"),
            delay: Duration::ZERO,
        },
    ])
    .await;
    let provider = Fred::new(&format!("{}/fred", server.base), Some("K".into()), quick()).unwrap();
    let obs = provider
        .series("unrate", date("2024-01-01"), date("2024-12-31"))
        .await
        .unwrap();
    assert_eq!(obs.len(), 11, "the '.' month is skipped");
    assert_eq!(obs[0].series, "UNRATE");
    let url = &server.seen()[0];
    assert!(
        url.starts_with("/fred/series/observations?series_id=UNRATE"),
        "{url}"
    );
    assert!(url.contains("observation_start=2024-01-01") && url.contains("file_type=json"));
    let err = provider
        .series("NOPE", date("2024-01-01"), date("2024-12-31"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ProviderErrorKind::Input, "{err}");
    assert!(err.to_string().contains("does not exist"), "{err}");
}

#[tokio::test]
async fn csv_urls_are_validated_like_imports() {
    let server = Scripted::start(vec![
        ok(fixture("prices_long.csv")),
        ok("date,ticker,close\n2024-01-02,ACME,-1\n".into()),
        Reply {
            status: 404,
            body: "nope".into(),
            delay: Duration::ZERO,
        },
    ])
    .await;
    let provider = CsvUrl::new(&format!("{}/files/{{ticker}}.csv", server.base), quick()).unwrap();
    let acme = provider.daily_prices("acme", History::Full).await.unwrap();
    assert_eq!(acme.len(), 3);
    assert_eq!(server.seen()[0], "/files/ACME.csv");
    let err = provider
        .daily_prices("ACME", History::Full)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("finite positive"), "{err}");
    let err = provider
        .daily_prices("GONE", History::Full)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ProviderErrorKind::Input, "{err}");
}
