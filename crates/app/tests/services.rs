//! The analytics services over the in-memory store: seeding, window resolution, caching and
//! invalidation, and the risk-free rate taken as of the window's end.

use std::sync::Arc;

use stratus_analytics::{Analytics, AppError};
use stratus_app::Settings;
use stratus_core::{Method, NaiveDate, Window};
use stratus_store::{AnalyticsCache, MemoryStore, PriceStore, ProfileKey, Store};

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

async fn seeded() -> (Arc<MemoryStore>, Analytics, tempfile::TempDir) {
    let home = tempfile::tempdir().unwrap();
    let path = home.path().display().to_string();
    let settings = Settings::load(&move |k| (k == "STRATUS_HOME").then(|| path.clone())).unwrap();
    let store = Arc::new(MemoryStore::new());
    let analytics = stratus_app::analytics(Arc::clone(&store) as Arc<dyn Store>, &settings);
    let steps = std::sync::Mutex::new(Vec::new());
    assert!(
        analytics
            .ensure_seeded(&|p| steps.lock().unwrap().push((p.done, p.total)))
            .await
            .unwrap()
    );
    let steps = steps.into_inner().unwrap();
    let (done, total) = *steps.last().unwrap();
    assert_eq!(done, total, "progress ends complete");
    assert!(
        steps.windows(2).all(|w| w[0].0 <= w[1].0),
        "progress never goes back"
    );
    (store, analytics, home)
}

#[tokio::test]
async fn seeding_loads_everything_once() {
    let (store, analytics, _home) = seeded().await;
    let status = store.status().await.unwrap();
    assert_eq!(status.prices, 21 * 8313 + 5 * 2264);
    // Non-empty cells of the Treasury CSV (counted with Python's csv module).
    assert_eq!(status.rates, 95_286);
    assert!(
        !analytics.ensure_seeded(&|_| {}).await.unwrap(),
        "a seeded store is left alone"
    );
    assert_eq!(analytics.ticker_names().await.unwrap().len(), 26);
}

#[tokio::test]
async fn default_window_ends_at_the_latest_data_not_today() {
    let (_, analytics, _home) = seeded().await;
    let (names, window) = analytics
        .window(&["aapl".into(), "MTUM".into()], None, None)
        .await
        .unwrap();
    assert_eq!(names, ["AAPL", "MTUM"]);
    assert_eq!(
        window,
        Window {
            start: d("2022-08-05"),
            end: d("2022-12-28")
        }
    );
    let err = analytics
        .window(&["AAPL".into(), "TSLA".into()], None, None)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, AppError::UnknownTicker { ticker, known } if ticker == "TSLA" && known.len() == 26)
    );
    assert!(err.is_user_error());
}

#[tokio::test]
async fn risk_free_is_taken_as_of_the_window_end() {
    let (_, analytics, _home) = seeded().await;
    // 10-year par yields published on those days: 0.73 % and 3.88 %.
    assert_eq!(
        analytics.risk_free(d("2020-03-16")).await.unwrap(),
        (d("2020-03-16"), 0.0073)
    );
    assert_eq!(
        analytics.risk_free(d("2022-12-28")).await.unwrap(),
        (d("2022-12-28"), 0.0388)
    );
    // A Sunday uses the Friday before.
    assert_eq!(
        analytics.risk_free(d("2022-12-25")).await.unwrap().0,
        d("2022-12-23")
    );
    let (_, early) = analytics
        .window(&["KO".into()], Some(d("2020-01-02")), Some(d("2020-03-16")))
        .await
        .unwrap();
    let (_, late) = analytics.window(&["KO".into()], None, None).await.unwrap();
    let sharpe_early = analytics
        .risk_profiles(&["KO".into()], early, Method::Moments)
        .await
        .unwrap()[0]
        .1;
    let profile = analytics
        .profile("KO", early, Method::Moments)
        .await
        .unwrap();
    let expected = (profile.annual_return - 0.0073) / profile.annual_volatility;
    assert!((sharpe_early.sharpe_ratio - expected).abs() < 1e-12);
    assert_ne!(early, late);
}

#[tokio::test]
async fn results_are_cached_and_an_import_invalidates_them() {
    let (store, analytics, _home) = seeded().await;
    let (_, window) = analytics.window(&["KO".into()], None, None).await.unwrap();
    let key = ProfileKey {
        ticker: "KO".into(),
        start: window.start,
        end: window.end,
        method: Method::Moments,
        weekends: false,
    };
    assert!(store.profile(&key).await.unwrap().is_none());
    let first = analytics
        .profile("KO", window, Method::Moments)
        .await
        .unwrap();
    assert_eq!(
        store.profile(&key).await.unwrap().unwrap().annual_return,
        first.annual_return
    );
    analytics
        .correlation("KO", "PEP", window, Method::Moments)
        .await
        .unwrap();
    assert_eq!(store.status().await.unwrap().correlations, 2);
    // New prices for KO: its cached results go, and the next answer reflects the new data. A
    // file that disagrees with the stored closes needs --replace (the file becomes KO's history).
    let mut csv = String::from("date,ticker,close\n");
    for row in store.prices("KO", window.start, window.end).await.unwrap() {
        let close = if row.date == window.end {
            1000.0
        } else {
            row.close
        };
        csv.push_str(&format!("{},KO,{close}\n", row.date));
    }
    let refused = analytics.import_csv("ko.csv", csv.as_bytes(), false).await;
    assert!(
        refused
            .as_ref()
            .is_err_and(|e| e.to_string().contains("--replace")),
        "{refused:?}"
    );
    assert!(
        store.profile(&key).await.unwrap().is_some(),
        "nothing was imported"
    );
    analytics
        .import_csv("ko.csv", csv.as_bytes(), true)
        .await
        .unwrap();
    assert!(store.profile(&key).await.unwrap().is_none());
    assert_eq!(store.status().await.unwrap().correlations, 0);
    let second = analytics
        .profile("KO", window, Method::Moments)
        .await
        .unwrap();
    assert!(second.annual_volatility > first.annual_volatility);
}

#[tokio::test]
async fn one_pass_correlation_matrix_equals_pair_by_pair() {
    let (_, analytics, _home) = seeded().await;
    let tickers: Vec<String> = [
        "AAPL", "AMD", "BAC", "BBY", "CVX", "GE", "HD", "JNJ", "JPM", "KO", "SP500",
    ]
    .map(String::from)
    .to_vec();
    let (_, window) = analytics
        .window(&tickers, Some(d("2021-01-04")), None)
        .await
        .unwrap();
    for method in [Method::Moments, Method::Likelihood] {
        let batch = analytics
            .correlation_matrix(&tickers, window, method)
            .await
            .unwrap();
        for i in 0..tickers.len() {
            assert_eq!(batch[i][i], 1.0);
            for j in 0..i {
                let pair = analytics
                    .correlation(&tickers[i], &tickers[j], window, method)
                    .await
                    .unwrap();
                assert!(
                    (batch[i][j] - pair).abs() < 1e-12,
                    "{method} {i},{j}: {} vs {pair}",
                    batch[i][j]
                );
                assert_eq!(batch[i][j], batch[j][i]);
            }
        }
    }
}

#[tokio::test]
async fn the_ticker_listing_is_shared_until_this_process_writes_prices() {
    let (store, analytics, _home) = seeded().await;
    let first = analytics.ticker_summaries().await.unwrap();
    let again = analytics.ticker_summaries().await.unwrap();
    assert!(
        Arc::ptr_eq(&first, &again),
        "one read of the store serves both"
    );
    // A store that went down meanwhile is not consulted while the listing is fresh.
    store.set_unavailable(true);
    assert!(analytics.ticker_summaries().await.is_ok());
    store.set_unavailable(false);
    // An import changes the listing at once.
    let csv = "date,ticker,close\n2021-01-04,NEWCO,10\n2021-01-05,NEWCO,11\n";
    analytics
        .import_csv("new.csv", csv.as_bytes(), false)
        .await
        .unwrap();
    let after = analytics.ticker_summaries().await.unwrap();
    assert!(after.iter().any(|t| t.ticker == "NEWCO"));
    assert_eq!(after.len(), first.len() + 1);
}

#[tokio::test]
async fn a_read_only_store_is_computed_on_and_never_written() {
    let home = tempfile::tempdir().unwrap();
    let path = home.path().display().to_string();
    let settings = Settings::load(&move |k| (k == "STRATUS_HOME").then(|| path.clone())).unwrap();
    let file = settings.sqlite_file.clone();
    {
        let store = stratus_app::open_store(&settings).await.unwrap();
        stratus_app::analytics(store, &settings)
            .ensure_seeded(&|_| {})
            .await
            .unwrap();
    }
    let before = std::fs::read(&file).unwrap();
    let snapshot: Arc<dyn Store> =
        Arc::new(stratus_store_sqlite::SqliteStore::open_read_only(&file).unwrap());
    let analytics = stratus_app::analytics(Arc::clone(&snapshot), &settings);
    assert!(!analytics.ensure_seeded(&|_| {}).await.unwrap());
    let (tickers, window) = analytics
        .window(&["KO".into(), "PEP".into()], None, None)
        .await
        .unwrap();
    let profiles = analytics
        .risk_profiles(&tickers, window, Method::Moments)
        .await
        .unwrap();
    assert_eq!(profiles.len(), 2);
    assert!(profiles.iter().all(|(_, p)| p.annual_volatility > 0.0));
    assert_eq!(
        snapshot.status().await.unwrap().profiles,
        0,
        "nothing cached"
    );
    drop((analytics, snapshot));
    assert_eq!(
        std::fs::read(&file).unwrap(),
        before,
        "the file is untouched"
    );
}
