//! Cache-through with a live provider (the mock provider over real HTTP on 127.0.0.1): fetch
//! only what the store lacks, never refetch, replace restated histories, fall back to stored
//! data when the provider is down; and the live-only services.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::NaiveDate;
use stratus_analytics::{Analytics, AppError};
use stratus_app::Settings;
use stratus_core::{CalendarKind, Method, TradingCalendar};
use stratus_providers::mock::{Behaviour, MockData, MockServer};
use stratus_providers::{Dividend, Observation, PricePoint, ProviderErrorKind};

fn date(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn path(ticker: &str, end: &str, base: f64, scale_before: Option<(&str, f64)>) -> Vec<PricePoint> {
    TradingCalendar::get(CalendarKind::Nyse)
        .sessions(date("2023-01-03"), date(end))
        .into_iter()
        .enumerate()
        .map(|(i, d)| {
            let mut close = base * (1.0 + 0.001 * i as f64 + 0.02 * (i as f64 / 4.0).sin());
            if let Some((cut, factor)) = scale_before
                && d < date(cut)
            {
                close *= factor;
            }
            PricePoint {
                ticker: ticker.into(),
                date: d,
                open: None,
                close,
            }
        })
        .collect()
}

fn data(end: &str, restate: Option<(&str, f64)>) -> MockData {
    let mut prices = BTreeMap::new();
    prices.insert("AAA".to_string(), path("AAA", end, 50.0, restate));
    prices.insert("SPY".to_string(), path("SPY", end, 400.0, None));
    let mut dividends = BTreeMap::new();
    dividends.insert(
        "AAA".to_string(),
        (0..8)
            .map(|k| Dividend {
                ticker: "AAA".into(),
                date: date("2022-06-15") + chrono::Duration::days(91 * k),
                amount: 0.5 + 0.01 * k as f64,
            })
            .collect(),
    );
    let mut series = BTreeMap::new();
    series.insert(
        "UNRATE".to_string(),
        (1..=5)
            .map(|m| Observation {
                series: "UNRATE".into(),
                date: NaiveDate::from_ymd_opt(2024, m, 1).unwrap(),
                value: 3.8,
            })
            .collect(),
    );
    MockData {
        prices,
        dividends,
        yields: Vec::new(),
        series,
    }
}

struct Env(BTreeMap<String, String>);

impl Env {
    fn new(mock: &MockServer, home: &std::path::Path, today: &str) -> Env {
        let mut env = BTreeMap::new();
        for (k, v) in [
            ("STRATUS_HOME", home.display().to_string()),
            ("STRATUS_PROVIDER", "alphavantage".into()),
            ("ALPHA_VANTAGE_KEY", "k".into()),
            ("STRATUS_ALPHA_VANTAGE_URL", mock.alphavantage_url()),
            ("STRATUS_ALPHA_VANTAGE_RATE", "0".into()),
            ("STRATUS_TREASURY_URL", mock.treasury_url()),
            ("STRATUS_FRED_URL", mock.fred_url()),
            ("FRED_KEY", "f".into()),
            ("STRATUS_HTTP_TIMEOUT", "2".into()),
            ("STRATUS_HTTP_RETRIES", "1".into()),
            ("STRATUS_HTTP_BACKOFF_MS", "10".into()),
            ("STRATUS_TODAY", today.into()),
        ] {
            env.insert(k.to_string(), v);
        }
        Env(env)
    }

    fn settings(&self) -> Settings {
        Settings::load(&|k| self.0.get(k).cloned()).unwrap()
    }

    async fn analytics(&self) -> Analytics {
        let settings = self.settings();
        let store = stratus_app::open_store(&settings).await.unwrap();
        let analytics = stratus_app::analytics(Arc::clone(&store), &settings);
        analytics.ensure_seeded(&|_| {}).await.unwrap();
        analytics
    }
}

async fn last_close(analytics: &Analytics, ticker: &str) -> (NaiveDate, f64) {
    let (t, w) = analytics
        .window(&[ticker.to_string()], None, None)
        .await
        .unwrap();
    analytics.series(&t[0], w).await.unwrap().last().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_prices_are_fetched_once_then_only_the_missing_days() {
    let home = tempfile::tempdir().unwrap();
    let first = MockServer::start(data("2024-06-07", None)).await.unwrap();
    let env = Env::new(&first, home.path(), "2024-06-10");
    assert_eq!(env.settings().market_proxy, "SPY", "live default proxy");
    let analytics = env.analytics().await;
    // With a live provider only the bundled Treasury history is loaded, no bundled prices.
    assert!(
        analytics
            .store()
            .latest_price_date("AAPL")
            .await
            .unwrap()
            .is_none()
    );
    let (tickers, window) = analytics.window(&["aaa".into()], None, None).await.unwrap();
    assert_eq!(window.end, date("2024-06-07"));
    analytics
        .risk_profiles(&tickers, window, Method::Moments)
        .await
        .unwrap();
    assert_eq!((first.calls("AAA"), first.calls("SPY")), (1, 1));
    assert_eq!(
        first.calls("TREASURY"),
        0,
        "bundled yields cover the window"
    );

    // A new process on the same store: nothing is missing, nothing is fetched.
    let again = env.analytics().await;
    again
        .window(&["AAA".into(), "SPY".into()], None, None)
        .await
        .unwrap();
    assert_eq!(first.total_calls(), 2);

    // Eight sessions later the provider has them; only AAA's gap is fetched (compactly).
    let later = MockServer::start(data("2024-06-20", None)).await.unwrap();
    let env = Env::new(&later, home.path(), "2024-06-21");
    let analytics = env.analytics().await;
    assert_eq!(last_close(&analytics, "AAA").await.0, date("2024-06-20"));
    assert_eq!(later.calls("AAA"), 1);
    assert_eq!(later.calls("SPY"), 0);
    assert!(analytics.take_notices().is_empty());
    let stored = analytics
        .store()
        .prices("AAA", date("2023-01-01"), date("2024-12-31"))
        .await
        .unwrap();
    assert_eq!(stored.len(), path("AAA", "2024-06-20", 50.0, None).len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restated_adjusted_prices_replace_the_stored_history() {
    let home = tempfile::tempdir().unwrap();
    let first = MockServer::start(data("2024-06-07", None)).await.unwrap();
    Env::new(&first, home.path(), "2024-06-10")
        .analytics()
        .await
        .window(&["AAA".into()], None, None)
        .await
        .unwrap();
    // A dividend on 2024-06-14: the provider now reports every earlier close × 0.99.
    let restated = MockServer::start(data("2024-06-20", Some(("2024-06-14", 0.99))))
        .await
        .unwrap();
    let analytics = Env::new(&restated, home.path(), "2024-06-21")
        .analytics()
        .await;
    analytics.window(&["AAA".into()], None, None).await.unwrap();
    assert_eq!(restated.calls("AAA"), 2, "compact, then the full history");
    let expected = path("AAA", "2024-06-20", 50.0, Some(("2024-06-14", 0.99)));
    let stored = analytics
        .store()
        .prices("AAA", date("2023-01-01"), date("2024-12-31"))
        .await
        .unwrap();
    assert_eq!(stored.len(), expected.len());
    for (row, want) in stored.iter().zip(&expected) {
        assert!(
            (row.close - want.close).abs() < 1e-3,
            "{} {} {}",
            row.date,
            row.close,
            want.close
        );
    }
    let notices = analytics.take_notices();
    assert!(
        notices.iter().any(|n| n.contains("restated")),
        "{notices:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_outage_uses_stored_data_or_fails_clearly() {
    let home = tempfile::tempdir().unwrap();
    let first = MockServer::start(data("2024-06-07", None)).await.unwrap();
    Env::new(&first, home.path(), "2024-06-10")
        .analytics()
        .await
        .window(&["AAA".into()], None, None)
        .await
        .unwrap();
    let down = MockServer::start(data("2024-06-20", None)).await.unwrap();
    down.set_behaviour("AAA", Behaviour::Fail(100));
    down.set_behaviour("BBB", Behaviour::Fail(100));
    let analytics = Env::new(&down, home.path(), "2024-06-21").analytics().await;
    assert_eq!(last_close(&analytics, "AAA").await.0, date("2024-06-07"));
    let notices = analytics.take_notices();
    assert!(
        notices[0].contains("using stored prices up to 2024-06-07"),
        "{notices:?}"
    );
    let error = analytics
        .window(&["BBB".into()], None, None)
        .await
        .unwrap_err();
    match &error {
        AppError::Provider(p) => assert_eq!(p.kind(), ProviderErrorKind::Unavailable),
        other => panic!("{other}"),
    }
    assert!(!error.is_user_error());
    assert!(error.to_string().contains("HTTP 503"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_ticker_during_an_outage_is_retried_once_the_provider_recovers() {
    let home = tempfile::tempdir().unwrap();
    let mock = MockServer::start(data("2024-06-07", None)).await.unwrap();
    // Two failing answers: the first request's call and its one retry.
    mock.set_behaviour("AAA", Behaviour::Fail(2));
    let analytics = Env::new(&mock, home.path(), "2024-06-10").analytics().await;
    let error = analytics
        .window(&["AAA".into()], None, None)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, AppError::Provider(p) if p.kind() == ProviderErrorKind::Unavailable),
        "{error}"
    );
    assert_eq!(mock.calls("AAA"), 2);
    // The same process asks again (it did not remember "unknown"), and gets the prices.
    let (names, _) = analytics.window(&["AAA".into()], None, None).await.unwrap();
    assert_eq!(names, ["AAA"]);
    assert!(mock.calls("AAA") > 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_request_cannot_fetch_more_new_tickers_than_allowed() {
    let home = tempfile::tempdir().unwrap();
    let mock = MockServer::start(data("2024-06-07", None)).await.unwrap();
    let mut env = Env::new(&mock, home.path(), "2024-06-10");
    env.0.insert("STRATUS_MAX_NEW_TICKERS".into(), "1".into());
    let analytics = env.analytics().await;
    let error = analytics
        .window(&["AAA".into(), "SPY".into()], None, None)
        .await
        .unwrap_err();
    assert!(
        matches!(
            &error,
            AppError::InvalidInput {
                field: "tickers",
                ..
            }
        ),
        "{error}"
    );
    assert!(error.is_user_error());
    assert!(
        error.to_string().contains("STRATUS_MAX_NEW_TICKERS"),
        "{error}"
    );
    assert_eq!(
        mock.calls("AAA") + mock.calls("SPY"),
        0,
        "no upstream call was made"
    );
    // One at a time is fine, and a stored ticker does not count.
    analytics.window(&["AAA".into()], None, None).await.unwrap();
    analytics
        .window(&["AAA".into(), "SPY".into()], None, None)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dividends_ddm_screen_and_series_with_a_live_provider() {
    let home = tempfile::tempdir().unwrap();
    let mock = MockServer::start(data("2024-06-07", None)).await.unwrap();
    let analytics = Env::new(&mock, home.path(), "2024-06-10").analytics().await;
    let divs = analytics.dividends("aaa").await.unwrap();
    assert_eq!(divs.len(), 8);
    let model = analytics
        .dividend_model("AAA", Some(0.07), Method::Moments)
        .await
        .unwrap();
    let history: Vec<(NaiveDate, f64)> = divs.iter().map(|d| (d.date, d.amount)).collect();
    let direct =
        stratus_core::dividends::discount_dividend_model("AAA", &history, date("2024-06-10"), 0.07)
            .unwrap();
    assert_eq!(model, direct);

    assert!(analytics.watchlist().unwrap().is_empty());
    assert_eq!(
        analytics
            .watch(&["aaa".into(), "SPY".into()])
            .await
            .unwrap(),
        ["AAA", "SPY"]
    );
    assert_eq!(analytics.watchlist().unwrap(), ["AAA", "SPY"]);
    let (rows, skipped) = analytics.screen(Some(0.07), Method::Moments).await.unwrap();
    assert_eq!(rows.len(), 1);
    let price = last_close(&analytics, "AAA").await.1;
    assert!((rows[0].discount - (model.npv - price)).abs() < 1e-9);
    assert_eq!(
        skipped[0].ticker, "SPY",
        "SPY pays no dividends in the mock"
    );
    assert!(
        skipped[0].reason.contains("at least 3"),
        "{}",
        skipped[0].reason
    );

    let series = analytics
        .economic_series(&["unrate".into()], date("2024-01-01"), date("2024-06-10"))
        .await
        .unwrap();
    assert_eq!((series[0].0.as_str(), series[0].1.len()), ("UNRATE", 5));
    let missing = analytics
        .economic_series(&["NOSUCH".into()], date("2024-01-01"), date("2024-06-10"))
        .await
        .unwrap_err();
    assert!(
        missing.is_user_error() && missing.to_string().contains("does not exist"),
        "{missing}"
    );
}

#[tokio::test]
async fn the_bundled_provider_says_live_data_is_needed() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path().display().to_string();
    let settings = Settings::load(&move |k| (k == "STRATUS_HOME").then(|| h.clone())).unwrap();
    let store = stratus_app::open_store(&settings).await.unwrap();
    let analytics = stratus_app::analytics(store, &settings);
    for error in [
        analytics.dividends("AAPL").await.unwrap_err(),
        analytics
            .economic_series(&["GDP".into()], date("2024-01-01"), date("2024-02-01"))
            .await
            .unwrap_err(),
    ] {
        let text = error.to_string();
        assert!(
            text.contains("need live data") && text.contains("STRATUS_PROVIDER"),
            "{text}"
        );
        assert!(error.is_user_error());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_for_a_new_ticker_share_one_fetch() {
    let home = tempfile::tempdir().unwrap();
    let mock = MockServer::start(data("2024-06-07", None)).await.unwrap();
    mock.set_behaviour(
        "AAA",
        Behaviour::Stall(std::time::Duration::from_millis(300)),
    );
    let analytics = Arc::new(Env::new(&mock, home.path(), "2024-06-10").analytics().await);
    let requests: Vec<_> = (0..4)
        .map(|_| {
            let analytics = Arc::clone(&analytics);
            tokio::spawn(async move { analytics.window(&["AAA".into()], None, None).await })
        })
        .collect();
    for request in requests {
        let (_, window) = request.await.unwrap().unwrap();
        assert_eq!(window.end, date("2024-06-07"));
    }
    assert_eq!(mock.calls("AAA"), 1);
}
