//! The contract every store backend must meet, as one test per behaviour.
//!
//! A backend runs the whole suite with [`conformance_tests!`](crate::conformance_tests), passing
//! an expression that builds a fresh, empty store. The same assertions then hold for the
//! in-memory store, SQLite and DynamoDB, which is what lets a user switch `CACHE_MODE` and get
//! identical results.

#![allow(missing_docs, clippy::missing_panics_doc)]

use chrono::NaiveDate;
use stratus_core::{Maturity, Method};

use crate::{CorrelationKey, PriceRow, ProfileKey, ProfileRecord, RateRow, Store, StoreErrorKind};

fn d(s: &str) -> NaiveDate {
    s.parse().expect("test date")
}

fn price(ticker: &str, date: &str, close: f64) -> PriceRow {
    PriceRow {
        ticker: ticker.into(),
        date: d(date),
        open: None,
        close,
    }
}

pub async fn prices_round_trip_in_date_order(store: &dyn Store) {
    let rows = vec![
        price("MSFT", "2022-01-05", 3.0),
        PriceRow {
            ticker: "MSFT".into(),
            date: d("2022-01-03"),
            open: Some(0.5),
            close: 1.0,
        },
        price("MSFT", "2022-01-04", 2.0),
        price("AAPL", "2022-01-04", 10.0),
    ];
    assert_eq!(store.put_prices(&rows).await.unwrap(), 4);
    let got = store
        .prices("MSFT", d("2022-01-01"), d("2022-12-31"))
        .await
        .unwrap();
    let closes: Vec<f64> = got.iter().map(|r| r.close).collect();
    assert_eq!(closes, vec![1.0, 2.0, 3.0]);
    assert_eq!(got[0].open, Some(0.5));
    assert_eq!(got[1].open, None);
    // The lean read is the projection of the full one, over any range.
    for (start, end) in [
        ("2022-01-01", "2022-12-31"),
        ("2022-01-04", "2022-01-05"),
        ("2022-01-05", "2022-01-03"),
    ] {
        let closes = store.closes("MSFT", d(start), d(end)).await.unwrap();
        let projected: Vec<(NaiveDate, f64)> = store
            .prices("MSFT", d(start), d(end))
            .await
            .unwrap()
            .iter()
            .map(|r| (r.date, r.close))
            .collect();
        assert_eq!(closes, projected, "closes of MSFT {start}..{end}");
    }
    assert_eq!(
        store
            .closes("MSFT", d("2022-01-01"), d("2022-12-31"))
            .await
            .unwrap()
            .len(),
        3
    );
    assert!(
        store
            .closes("NOPE", d("2022-01-01"), d("2022-12-31"))
            .await
            .unwrap()
            .is_empty()
    );
    let inner = store
        .prices("MSFT", d("2022-01-04"), d("2022-01-04"))
        .await
        .unwrap();
    assert_eq!(inner.len(), 1);
    assert!(
        store
            .prices("MSFT", d("2022-01-05"), d("2022-01-03"))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .prices("NOPE", d("2022-01-01"), d("2022-12-31"))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.latest_price_date("MSFT").await.unwrap(),
        Some(d("2022-01-05"))
    );
    assert_eq!(store.latest_price_date("NOPE").await.unwrap(), None);
    assert_eq!(
        store.first_price_date("MSFT").await.unwrap(),
        Some(d("2022-01-03"))
    );
    assert_eq!(store.first_price_date("NOPE").await.unwrap(), None);
    assert!(store.has_prices().await.unwrap());
}

pub async fn replace_prices_drops_the_old_history(store: &dyn Store) {
    store
        .put_prices(&[
            price("RPL", "2022-01-03", 1.0),
            price("RPL", "2022-01-04", 2.0),
            price("RPL", "2022-01-05", 3.0),
            price("KEEP", "2022-01-04", 9.0),
        ])
        .await
        .unwrap();
    let written = store
        .replace_prices(
            "RPL",
            &[
                price("RPL", "2022-01-05", 30.0),
                price("RPL", "2022-01-06", 40.0),
            ],
        )
        .await
        .unwrap();
    assert_eq!(written, 2);
    let rows = store
        .prices("RPL", d("2020-01-01"), d("2023-01-01"))
        .await
        .unwrap();
    let got: Vec<(NaiveDate, f64)> = rows.iter().map(|r| (r.date, r.close)).collect();
    assert_eq!(got, vec![(d("2022-01-05"), 30.0), (d("2022-01-06"), 40.0)]);
    assert_eq!(
        store.first_price_date("RPL").await.unwrap(),
        Some(d("2022-01-05"))
    );
    // Other tickers are untouched; rows of another ticker are refused.
    assert_eq!(
        store
            .prices("KEEP", d("2022-01-01"), d("2022-12-31"))
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(
        store
            .replace_prices("RPL", &[price("KEEP", "2022-01-07", 1.0)])
            .await
            .is_err()
    );
}

pub async fn price_upsert_replaces_and_tickers_summarise(store: &dyn Store) {
    store
        .put_prices(&[
            price("KO", "2022-01-03", 1.0),
            price("KO", "2022-01-04", 2.0),
        ])
        .await
        .unwrap();
    store
        .put_prices(&[price("KO", "2022-01-04", 5.0)])
        .await
        .unwrap();
    let got = store
        .prices("KO", d("2022-01-01"), d("2022-01-31"))
        .await
        .unwrap();
    assert_eq!(
        got.iter().map(|r| r.close).collect::<Vec<_>>(),
        vec![1.0, 5.0]
    );
    store
        .put_prices(&[price("AAPL", "2021-06-01", 1.0)])
        .await
        .unwrap();
    let tickers = store.tickers().await.unwrap();
    assert_eq!(
        tickers
            .iter()
            .map(|t| t.ticker.as_str())
            .collect::<Vec<_>>(),
        vec!["AAPL", "KO"]
    );
    assert_eq!(
        (tickers[1].first, tickers[1].last, tickers[1].count),
        (d("2022-01-03"), d("2022-01-04"), 2)
    );
}

pub async fn non_finite_values_are_rejected_and_nothing_is_written(store: &dyn Store) {
    let err = store
        .put_prices(&[
            price("X", "2022-01-03", 1.0),
            price("X", "2022-01-04", f64::NAN),
        ])
        .await
        .unwrap_err();
    assert_eq!(err.kind, StoreErrorKind::Invalid);
    assert!(
        store
            .prices("X", d("2022-01-01"), d("2022-12-31"))
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn rates_round_trip_and_latest_date(store: &dyn Store) {
    let rows = vec![
        RateRow {
            maturity: Maturity::TenYear,
            date: d("2022-12-28"),
            percent: 3.88,
        },
        RateRow {
            maturity: Maturity::TenYear,
            date: d("2022-12-27"),
            percent: 3.84,
        },
        RateRow {
            maturity: Maturity::OneMonth,
            date: d("2022-12-30"),
            percent: 4.12,
        },
    ];
    store.put_rates(&rows).await.unwrap();
    let ten = store
        .rates(Maturity::TenYear, d("2022-12-01"), d("2022-12-31"))
        .await
        .unwrap();
    assert_eq!(
        ten.iter().map(|r| r.percent).collect::<Vec<_>>(),
        vec![3.84, 3.88]
    );
    assert_eq!(
        store.latest_rate_date(d("2022-12-29")).await.unwrap(),
        Some(d("2022-12-28"))
    );
    assert_eq!(
        store.latest_rate_date(d("2023-06-01")).await.unwrap(),
        Some(d("2022-12-30"))
    );
    assert_eq!(store.latest_rate_date(d("2000-01-01")).await.unwrap(), None);
}

fn profile_key(ticker: &str, end: &str, method: Method) -> ProfileKey {
    ProfileKey {
        ticker: ticker.into(),
        start: d("2022-08-05"),
        end: d(end),
        method,
        weekends: false,
    }
}

pub async fn profiles_hit_only_on_the_full_identity(store: &dyn Store) {
    let record = ProfileRecord {
        annual_return: 0.1,
        annual_volatility: 0.2,
        sharpe_ratio: Some(0.3),
        asset_beta: None,
        equity_cost: Some(0.05),
    };
    let key = profile_key("AAPL", "2022-12-28", Method::Moments);
    store.put_profile(&key, &record).await.unwrap();
    assert_eq!(store.profile(&key).await.unwrap(), Some(record));
    // Same ticker and start, another end or method: a miss, never somebody else's record.
    assert_eq!(
        store
            .profile(&profile_key("AAPL", "2022-12-27", Method::Moments))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .profile(&profile_key("AAPL", "2022-12-28", Method::Likelihood))
            .await
            .unwrap(),
        None
    );
    let updated = ProfileRecord {
        annual_return: 0.4,
        ..record
    };
    store.put_profile(&key, &updated).await.unwrap();
    assert_eq!(store.profile(&key).await.unwrap(), Some(updated));
    assert_eq!(store.status().await.unwrap().profiles, 1);
}

fn correlation_key(a: &str, b: &str) -> CorrelationKey {
    CorrelationKey {
        ticker_1: a.into(),
        ticker_2: b.into(),
        start: d("2022-08-05"),
        end: d("2022-12-28"),
        method: Method::Moments,
        weekends: false,
    }
}

pub async fn correlations_match_either_order_and_are_idempotent(store: &dyn Store) {
    store
        .put_correlation(&correlation_key("AAPL", "MSFT"), 0.8)
        .await
        .unwrap();
    store
        .put_correlation(&correlation_key("AAPL", "MSFT"), 0.8)
        .await
        .unwrap();
    assert_eq!(
        store
            .correlation(&correlation_key("MSFT", "AAPL"))
            .await
            .unwrap(),
        Some(0.8)
    );
    assert_eq!(
        store
            .correlation(&correlation_key("AAPL", "MSFT"))
            .await
            .unwrap(),
        Some(0.8)
    );
    assert_eq!(
        store
            .correlation(&correlation_key("AAPL", "KO"))
            .await
            .unwrap(),
        None
    );
    // One stored item per ticker order, however often it is saved.
    assert_eq!(store.status().await.unwrap().correlations, 2);
}

pub async fn analytics_can_be_listed_for_migration(store: &dyn Store) {
    let record = ProfileRecord {
        annual_return: 0.1,
        annual_volatility: 0.2,
        sharpe_ratio: Some(0.5),
        asset_beta: Some(1.1),
        equity_cost: None,
    };
    store
        .put_profile(
            &profile_key("AAPL", "2022-12-28", Method::Percentiles),
            &record,
        )
        .await
        .unwrap();
    store
        .put_correlation(&correlation_key("AAPL", "MSFT"), -0.25)
        .await
        .unwrap();
    let profiles = store.all_profiles().await.unwrap();
    assert_eq!(
        profiles,
        vec![(
            profile_key("AAPL", "2022-12-28", Method::Percentiles),
            record
        )]
    );
    let mut correlations = store.all_correlations().await.unwrap();
    correlations.sort_by(|a, b| a.0.ticker_1.cmp(&b.0.ticker_1));
    assert_eq!(
        correlations,
        vec![
            (correlation_key("AAPL", "MSFT"), -0.25),
            (correlation_key("MSFT", "AAPL"), -0.25)
        ]
    );
}

pub async fn invalidation_and_clearing(store: &dyn Store) {
    let record = ProfileRecord {
        annual_return: 0.1,
        annual_volatility: 0.2,
        sharpe_ratio: None,
        asset_beta: None,
        equity_cost: None,
    };
    store
        .put_profile(&profile_key("AAPL", "2022-12-28", Method::Moments), &record)
        .await
        .unwrap();
    store
        .put_profile(&profile_key("KO", "2022-12-28", Method::Moments), &record)
        .await
        .unwrap();
    store
        .put_correlation(&correlation_key("AAPL", "MSFT"), 0.8)
        .await
        .unwrap();
    store
        .put_correlation(&correlation_key("KO", "MSFT"), 0.5)
        .await
        .unwrap();
    store.invalidate_ticker("AAPL").await.unwrap();
    assert_eq!(
        store
            .profile(&profile_key("AAPL", "2022-12-28", Method::Moments))
            .await
            .unwrap(),
        None
    );
    assert!(
        store
            .profile(&profile_key("KO", "2022-12-28", Method::Moments))
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        store
            .correlation(&correlation_key("MSFT", "AAPL"))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .correlation(&correlation_key("MSFT", "KO"))
            .await
            .unwrap(),
        Some(0.5)
    );
    store
        .put_prices(&[price("KO", "2022-01-03", 1.0)])
        .await
        .unwrap();
    store.clear_analytics().await.unwrap();
    let status = store.status().await.unwrap();
    assert_eq!(
        (status.profiles, status.correlations, status.prices),
        (0, 0, 1)
    );
    store.clear_all().await.unwrap();
    let status = store.status().await.unwrap();
    assert_eq!((status.prices, status.rates), (0, 0));
    assert!(store.tickers().await.unwrap().is_empty());
    assert!(!store.has_prices().await.unwrap());
}

/// The batch lookup gives exactly the one-by-one answers: hits, misses, either ticker order,
/// the same key twice, colliding scrilla keys, and nothing asked.
pub async fn a_batch_lookup_equals_the_single_ones(store: &dyn Store) {
    let record = |r: f64| ProfileRecord {
        annual_return: r,
        annual_volatility: 0.2,
        sharpe_ratio: None,
        asset_beta: Some(1.1),
        equity_cost: None,
    };
    let aapl = profile_key("AAPL", "2022-12-28", Method::Moments);
    let msft = profile_key("MSFT", "2022-12-28", Method::Moments);
    store.put_profile(&aapl, &record(0.1)).await.unwrap();
    store.put_profile(&msft, &record(0.2)).await.unwrap();
    store
        .put_correlation(&correlation_key("AAPL", "MSFT"), 0.8)
        .await
        .unwrap();
    store
        .put_correlation(&correlation_key("KO", "MSFT"), -0.3)
        .await
        .unwrap();
    let profiles = vec![
        aapl.clone(),
        profile_key("AAPL", "2022-12-27", Method::Moments),
        msft,
        aapl,
        profile_key("NOPE", "2022-12-28", Method::Moments),
    ];
    let correlations = vec![
        correlation_key("MSFT", "AAPL"),
        correlation_key("AAPL", "MSFT"),
        correlation_key("MSFT", "KO"),
        correlation_key("AAPL", "KO"),
        correlation_key("MSFT", "AAPL"),
    ];
    let cached = store.cached(&profiles, &correlations).await.unwrap();
    let mut one_by_one = Vec::new();
    for key in &profiles {
        one_by_one.push(store.profile(key).await.unwrap());
    }
    assert_eq!(cached.profiles, one_by_one);
    assert_eq!(
        cached
            .profiles
            .iter()
            .map(Option::is_some)
            .collect::<Vec<_>>(),
        [true, false, true, true, false]
    );
    let mut one_by_one = Vec::new();
    for key in &correlations {
        one_by_one.push(store.correlation(key).await.unwrap());
    }
    assert_eq!(cached.correlations, one_by_one);
    assert_eq!(
        cached.correlations,
        [Some(0.8), Some(0.8), Some(-0.3), None, Some(0.8)]
    );
    let nothing = store.cached(&[], &[]).await.unwrap();
    assert!(nothing.profiles.is_empty() && nothing.correlations.is_empty());
}

/// Date ranges of many tickers at once, in the order asked, `None` for unknown ones.
pub async fn date_ranges_equal_first_and_last_dates(store: &dyn Store) {
    store
        .put_prices(&[
            price("MSFT", "2022-01-05", 3.0),
            price("MSFT", "2022-01-03", 1.0),
            price("AAPL", "2022-01-04", 10.0),
        ])
        .await
        .unwrap();
    let asked: Vec<String> = ["MSFT", "NOPE", "AAPL", "MSFT"].map(String::from).to_vec();
    let ranges = store.date_ranges(&asked).await.unwrap();
    assert_eq!(ranges.len(), 4);
    for (ticker, range) in asked.iter().zip(&ranges) {
        assert_eq!(
            range.map(|r| r.first),
            store.first_price_date(ticker).await.unwrap()
        );
        assert_eq!(
            range.map(|r| r.last),
            store.latest_price_date(ticker).await.unwrap()
        );
    }
    assert_eq!(ranges[1], None);
    assert!(store.date_ranges(&[]).await.unwrap().is_empty());
}

/// The latest publication on or before a date: its date, the tenors asked for, and every tenor
/// of that day when one asked for is missing.
pub async fn a_publication_is_the_latest_day_with_its_tenors(store: &dyn Store) {
    let rate = |m: Maturity, date: &str, percent: f64| RateRow {
        maturity: m,
        date: d(date),
        percent,
    };
    store
        .put_rates(&[
            rate(Maturity::TenYear, "2022-01-03", 1.6),
            rate(Maturity::TwoYear, "2022-01-03", 0.8),
            rate(Maturity::TenYear, "2022-01-04", 1.7),
            rate(Maturity::TwoYear, "2022-01-04", 0.9),
            // A day without the 10-year (a curve must be interpolated).
            rate(Maturity::TwoYear, "2022-01-06", 1.0),
            rate(Maturity::ThirtyYear, "2022-01-06", 2.1),
        ])
        .await
        .unwrap();
    let on = |date: &str| {
        let date = d(date);
        async move { store.publication(date, &[Maturity::TenYear]).await.unwrap() }
    };
    let exact = on("2022-01-04").await.unwrap();
    assert_eq!(exact.date, d("2022-01-04"));
    assert!(
        exact
            .rows
            .iter()
            .any(|r| r.maturity == Maturity::TenYear && r.percent == 1.7)
    );
    assert!(exact.rows.iter().all(|r| r.date == exact.date));
    let holiday = on("2022-01-05").await.unwrap();
    assert_eq!(holiday.date, d("2022-01-04"));
    let gap = on("2022-01-07").await.unwrap();
    assert_eq!(gap.date, d("2022-01-06"));
    let mut tenors: Vec<Maturity> = gap.rows.iter().map(|r| r.maturity).collect();
    tenors.sort_by_key(|m| Maturity::ALL.iter().position(|x| x == m));
    assert_eq!(tenors, [Maturity::TwoYear, Maturity::ThirtyYear]);
    assert!(on("2021-12-31").await.is_none());
}

/// Expands to one `#[tokio::test]` per behaviour, each on a fresh store built by `$make`. Where
/// the fixture is not itself the store (it also owns a temporary folder, say), pass a second
/// argument mapping `&fixture` to the store. For a backend that needs an external service, use
/// `conformance_tests!(optional: FUTURE)` with a future yielding `Option<store>`; `None` skips.
#[macro_export]
macro_rules! conformance_tests {
    (optional: $make:expr) => {
        $crate::conformance_tests!(@names optional $make, |fixture| fixture);
    };
    ($make:expr) => {
        $crate::conformance_tests!($make, |fixture| fixture);
    };
    ($make:expr, $view:expr) => {
        $crate::conformance_tests!(@names present $make, $view);
    };
    (@names $mode:ident $make:expr, $view:expr) => {
        $crate::conformance_tests!(@each $mode $make, $view;
            prices_round_trip_in_date_order,
            price_upsert_replaces_and_tickers_summarise,
            replace_prices_drops_the_old_history,
            non_finite_values_are_rejected_and_nothing_is_written,
            rates_round_trip_and_latest_date,
            profiles_hit_only_on_the_full_identity,
            correlations_match_either_order_and_are_idempotent,
            analytics_can_be_listed_for_migration,
            invalidation_and_clearing,
            a_batch_lookup_equals_the_single_ones,
            date_ranges_equal_first_and_last_dates,
            a_publication_is_the_latest_day_with_its_tenors
        );
    };
    (@each present $make:expr, $view:expr; $($name:ident),+) => {
        $(
            #[tokio::test]
            async fn $name() {
                let fixture = $make;
                $crate::conformance::$name($view(&fixture)).await;
            }
        )+
    };
    (@each optional $make:expr, $view:expr; $($name:ident),+) => {
        $(
            #[tokio::test]
            async fn $name() {
                let Some(fixture) = $make.await else { return };
                $crate::conformance::$name($view(&fixture)).await;
            }
        )+
    };
}
