//! Faults a server database brings: down at start, a wrong password, every connection dropped
//! under the pool (what clients see when the server restarts), and many writers at once.

mod support;

use std::time::Duration;

use chrono::NaiveDate;
use stratus_store::{PriceRow, PriceStore, Store, StoreErrorKind};
use stratus_store_sql::{DatabaseUrl, SqlSettings, SqlStore};

fn day(n: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, 1, 1).unwrap() + chrono::Days::new(u64::from(n))
}

fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn a_server_that_is_down_is_unavailable_naming_host_and_port() {
    for scheme in ["postgres", "mysql"] {
        let port = closed_port();
        let url = DatabaseUrl::parse(&format!("{scheme}://app:hunter2@127.0.0.1:{port}/stratus"))
            .unwrap();
        let settings = SqlSettings {
            connect_timeout: Duration::from_secs(2),
            ..Default::default()
        };
        let error = SqlStore::connect(&url, &settings)
            .await
            .err()
            .expect("nothing listens there");
        assert_eq!(error.kind, StoreErrorKind::Unavailable, "{error}");
        let text = error.to_string();
        assert!(text.contains(&format!("127.0.0.1:{port}")), "{text}");
        assert!(!text.contains("hunter2") && !text.contains('\n'), "{text}");
    }
}

async fn wrong_password(var: &str) {
    let Some(base) = support::server(var) else {
        return;
    };
    let mut url = url::Url::parse(&base).unwrap();
    url.set_password(Some("not-the-password-xyz")).unwrap();
    let error = SqlStore::connect(
        &DatabaseUrl::parse(url.as_str()).unwrap(),
        &SqlSettings::default(),
    )
    .await
    .err()
    .expect("a wrong password is refused");
    assert_eq!(error.kind, StoreErrorKind::Unavailable, "{error}");
    let text = error.to_string();
    assert!(
        text.contains("password not shown") && !text.contains("not-the-password-xyz"),
        "{text}"
    );
}

#[tokio::test]
async fn a_wrong_password_is_a_clear_error_without_the_password_postgres() {
    wrong_password("STRATUS_TEST_POSTGRES").await;
}

#[tokio::test]
async fn a_wrong_password_is_a_clear_error_without_the_password_mysql() {
    wrong_password("STRATUS_TEST_MYSQL").await;
}

/// Drops every connection of the store's database from the server side, as a restart does.
async fn drop_connections(var: &str, url: &str) {
    let database = url::Url::parse(url)
        .unwrap()
        .path()
        .trim_start_matches('/')
        .to_string();
    let admin = support::server(var).unwrap();
    if var.contains("POSTGRES") {
        support::execute(
            &admin,
            &format!("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '{database}' AND pid <> pg_backend_pid()"),
        )
        .await;
    } else {
        // MariaDB cannot KILL from a query, so each connection of the database is killed by id.
        let ids = support::query_ints(
            &admin,
            &format!("SELECT id FROM information_schema.processlist WHERE db = '{database}' AND id <> CONNECTION_ID()"),
        )
        .await;
        assert!(!ids.is_empty(), "the store holds pooled connections");
        for id in ids {
            support::execute(&admin, &format!("KILL {id}")).await;
        }
    }
}

async fn survives_dropped_connections(var: &str) {
    let Some(url) = support::fresh_database(var).await else {
        return;
    };
    let store = SqlStore::connect(&DatabaseUrl::parse(&url).unwrap(), &SqlSettings::default())
        .await
        .unwrap();
    let rows: Vec<PriceRow> = (0..5)
        .map(|i| PriceRow {
            ticker: "AAA".into(),
            date: day(i),
            open: None,
            close: 1.0 + f64::from(i),
        })
        .collect();
    store.put_prices(&rows).await.unwrap();
    drop_connections(var, &url).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    // The next request gets a fresh connection; nothing fails.
    let back = store
        .prices("AAA", day(0), day(10))
        .await
        .expect("reconnects");
    assert_eq!(back, rows);
    drop_connections(var, &url).await;
    store
        .put_prices(&rows[..1])
        .await
        .expect("writes after a reconnect too");
}

#[tokio::test]
async fn dropped_connections_are_replaced_postgres() {
    survives_dropped_connections("STRATUS_TEST_POSTGRES").await;
}

#[tokio::test]
async fn dropped_connections_are_replaced_mysql() {
    survives_dropped_connections("STRATUS_TEST_MYSQL").await;
}

/// Eight stores (eight pools, as eight processes would have) open a new database at once —
/// each applying the schema — and write overlapping prices and the same correlations; the result
/// is every row once, with one writer's value each.
async fn concurrent_writers(var: &str) {
    let Some(url) = support::fresh_database(var).await else {
        return;
    };
    let url = DatabaseUrl::parse(&url).unwrap();
    let mut writers = Vec::new();
    for w in 0..8u32 {
        let url = url.clone();
        writers.push(tokio::spawn(async move {
            let store = SqlStore::connect(
                &url,
                &SqlSettings {
                    pool_size: 2,
                    ..Default::default()
                },
            )
            .await
            .expect("connect while others migrate");
            for round in 0..5u32 {
                let rows: Vec<PriceRow> = (0..200)
                    .map(|i| PriceRow {
                        ticker: format!("T{}", (i + round) % 7),
                        date: day(i),
                        open: Some(f64::from(w)),
                        close: f64::from(w * 1000 + i),
                    })
                    .collect();
                store.put_prices(&rows).await.expect("concurrent upsert");
                if round % 2 == 0 {
                    store
                        .replace_prices(
                            "T0",
                            &rows
                                .iter()
                                .filter(|r| r.ticker == "T0")
                                .cloned()
                                .collect::<Vec<_>>(),
                        )
                        .await
                        .expect("concurrent replace");
                }
            }
        }));
    }
    for writer in writers {
        writer.await.unwrap();
    }
    let store = SqlStore::connect(&url, &SqlSettings::default())
        .await
        .unwrap();
    let status = store.status().await.unwrap();
    let tickers = store.tickers().await.unwrap();
    assert_eq!(tickers.len(), 7);
    assert_eq!(status.prices, tickers.iter().map(|t| t.count).sum::<u64>());
    for t in &tickers {
        for row in store.prices(&t.ticker, day(0), day(400)).await.unwrap() {
            let writer = row.open.unwrap();
            // Each row is exactly one writer's: its open and close agree.
            assert_eq!(row.close % 1000.0 + writer * 1000.0, row.close, "{row:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_are_safe_postgres() {
    concurrent_writers("STRATUS_TEST_POSTGRES").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_are_safe_mysql() {
    concurrent_writers("STRATUS_TEST_MYSQL").await;
}

/// A statement prepared with a NULL number and run again with a value (and the other way round):
/// both servers keep the value exactly.
async fn nulls_then_values(var: &str) {
    use stratus_store::{AnalyticsCache, ProfileKey, ProfileRecord};
    let Some(store) = support::fresh(var).await else {
        return;
    };
    let key = |ticker: &str| ProfileKey {
        ticker: ticker.into(),
        start: day(0),
        end: day(9),
        method: stratus_core::Method::Moments,
        weekends: false,
    };
    let bare = ProfileRecord {
        annual_return: 0.1,
        annual_volatility: 0.2,
        sharpe_ratio: None,
        asset_beta: None,
        equity_cost: None,
    };
    let full = ProfileRecord {
        sharpe_ratio: Some(0.123_456_789_012_345_67),
        asset_beta: Some(-1.5e-300),
        equity_cost: Some(f64::MAX),
        ..bare
    };
    for (ticker, record) in [("A", bare), ("B", full), ("C", bare), ("D", full)] {
        store.put_profile(&key(ticker), &record).await.unwrap();
        assert_eq!(store.profile(&key(ticker)).await.unwrap(), Some(record));
    }
    let rows = |open: Option<f64>| {
        vec![PriceRow {
            ticker: "P".into(),
            date: day(1),
            open,
            close: 2.5,
        }]
    };
    for open in [
        None,
        Some(1.000_000_000_000_000_2),
        None,
        Some(f64::MIN_POSITIVE),
    ] {
        store.put_prices(&rows(open)).await.unwrap();
        assert_eq!(store.prices("P", day(0), day(5)).await.unwrap(), rows(open));
    }
}

#[tokio::test]
async fn nulls_then_values_in_one_statement_postgres() {
    nulls_then_values("STRATUS_TEST_POSTGRES").await;
}

#[tokio::test]
async fn nulls_then_values_in_one_statement_mysql() {
    nulls_then_values("STRATUS_TEST_MYSQL").await;
}

/// TLS options in the URL reach the driver: asking a server without TLS for it fails clearly.
#[tokio::test]
async fn tls_options_in_the_url_are_honoured() {
    for (var, option) in [
        ("STRATUS_TEST_POSTGRES", "sslmode=require"),
        ("STRATUS_TEST_MYSQL", "ssl-mode=REQUIRED"),
    ] {
        let Some(url) = support::fresh_database(var).await else {
            continue;
        };
        let url = DatabaseUrl::parse(&format!("{url}?{option}")).unwrap();
        let settings = SqlSettings {
            connect_timeout: Duration::from_secs(3),
            ..Default::default()
        };
        let error = SqlStore::connect(&url, &settings)
            .await
            .err()
            .expect("no TLS there");
        assert_eq!(error.kind, StoreErrorKind::Unavailable, "{error}");
        assert!(
            error.to_string().to_ascii_lowercase().contains("tls"),
            "{error}"
        );
    }
}

/// A database a newer Stratus migrated is refused, not written with an old layout.
#[tokio::test]
async fn a_newer_schema_is_refused() {
    for var in ["STRATUS_TEST_POSTGRES", "STRATUS_TEST_MYSQL"] {
        let Some(url) = support::fresh_database(var).await else {
            continue;
        };
        let parsed = DatabaseUrl::parse(&url).unwrap();
        drop(
            SqlStore::connect(&parsed, &SqlSettings::default())
                .await
                .unwrap(),
        );
        // Opening again applies nothing twice.
        drop(
            SqlStore::connect(&parsed, &SqlSettings::default())
                .await
                .unwrap(),
        );
        support::execute(&url, "UPDATE stratus_schema SET version = 99").await;
        let error = SqlStore::connect(&parsed, &SqlSettings::default())
            .await
            .err()
            .unwrap();
        assert!(
            error.to_string().contains("newer than this Stratus"),
            "{error}"
        );
    }
}
