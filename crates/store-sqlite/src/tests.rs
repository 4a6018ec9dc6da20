//! The SQLite store against the conformance suite, scrilla's own files and reads, and damage.

use super::*;

fn fresh() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("cache.db")).unwrap();
    (dir, store)
}

mod conformance {
    stratus_store::conformance_tests!(super::Fixture::new(), super::Fixture::store);
}

#[tokio::test]
async fn a_read_only_store_answers_the_same_and_never_writes() {
    let (dir, store) = fresh();
    let d = |s: &str| s.parse::<NaiveDate>().unwrap();
    let rows: Vec<PriceRow> = ["2024-01-02", "2024-01-03", "2024-01-04"]
        .iter()
        .enumerate()
        .map(|(i, date)| PriceRow {
            ticker: "AAA".into(),
            date: d(date),
            open: None,
            close: 10.0 + i as f64,
        })
        .collect();
    store.put_prices(&rows).await.unwrap();
    store
        .put_rates(&[RateRow {
            maturity: Maturity::TenYear,
            date: d("2024-01-03"),
            percent: 4.0,
        }])
        .await
        .unwrap();
    drop(store);
    let path = dir.path().join("cache.db");
    let before = std::fs::read(&path).unwrap();
    let snapshot = SqliteStore::open_read_only(&path).unwrap();
    assert_eq!(snapshot.capabilities(), Capabilities::READ_ONLY);
    assert_eq!(
        snapshot
            .date_ranges(&["AAA".into(), "ZZZ".into()])
            .await
            .unwrap(),
        vec![
            Some(DateRange {
                first: d("2024-01-02"),
                last: d("2024-01-04")
            }),
            None
        ]
    );
    let publication = snapshot
        .publication(d("2024-01-04"), &[Maturity::TenYear])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(publication.date, d("2024-01-03"));
    let key = ProfileKey {
        ticker: "AAA".into(),
        start: d("2024-01-02"),
        end: d("2024-01-04"),
        method: Method::Moments,
        weekends: false,
    };
    let record = ProfileRecord {
        annual_return: 0.1,
        annual_volatility: 0.2,
        sharpe_ratio: None,
        asset_beta: None,
        equity_cost: None,
    };
    let refused = snapshot.put_profile(&key, &record).await.unwrap_err();
    assert!(refused.message.contains("read-only"), "{}", refused.message);
    assert!(snapshot.put_prices(&rows).await.is_err());
    assert!(snapshot.clear_all().await.is_err());
    drop(snapshot);
    assert_eq!(
        std::fs::read(&path).unwrap(),
        before,
        "the file is untouched"
    );
    assert!(SqliteStore::open_read_only(dir.path().join("missing.db")).is_err());
}

/// Keeps the temporary folder alive as long as the store.
struct Fixture {
    _dir: tempfile::TempDir,
    store: SqliteStore,
}

impl Fixture {
    fn store(&self) -> &SqliteStore {
        &self.store
    }

    fn new() -> Self {
        let (dir, store) = fresh();
        Fixture { _dir: dir, store }
    }
}

#[test]
fn a_missing_folder_is_an_unavailable_store_with_a_clear_message() {
    let err = SqliteStore::open("/nonexistent/folder/cache.db")
        .err()
        .unwrap();
    assert_eq!(err.kind, StoreErrorKind::Unavailable);
    assert!(
        err.message.contains("/nonexistent/folder/cache.db")
            && err.message.contains("STRATUS_HOME")
    );
}

#[tokio::test]
async fn opens_a_scrilla_cache_and_removes_its_duplicate_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("scrilla.db");
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(SCHEMA).unwrap();
        // scrilla writes (t2, t1) twice (defect D11) and builds profile rows column by column.
        conn.execute_batch(
            "INSERT INTO correlations VALUES ('AAPL','MSFT','2022-08-05','2022-12-28',0.8,'moments',0);
             INSERT INTO correlations VALUES ('MSFT','AAPL','2022-08-05','2022-12-28',0.8,'moments',0);
             INSERT INTO correlations VALUES ('MSFT','AAPL','2022-08-05','2022-12-28',0.8,'moments',0);
             INSERT INTO profile(ticker,start_date,end_date,annual_return,method,weekends)
                 VALUES ('KO','2022-08-05','2022-12-28',0.1,'moments',0);
             INSERT INTO prices VALUES ('KO','2022-12-28',60.1,60.5);",
        )
        .unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    let status = store.status().await.unwrap();
    assert_eq!(status.correlations, 2);
    let key = ProfileKey {
        ticker: "KO".into(),
        start: "2022-08-05".parse().unwrap(),
        end: "2022-12-28".parse().unwrap(),
        method: Method::Moments,
        weekends: false,
    };
    // Without a volatility the row is a miss, not a half-filled answer.
    assert_eq!(store.profile(&key).await.unwrap(), None);
    let prices = store.prices("KO", key.start, key.end).await.unwrap();
    assert_eq!((prices[0].open, prices[0].close), (Some(60.1), 60.5));
}

/// scrilla's own statements (`scrilla/cache.py`, 1.6.0), as it runs them on a shared file.
const SCRILLA_CORRELATION_INSERT: &str = "INSERT INTO correlations (ticker_1, ticker_2, start_date, end_date, correlation, method, weekends) VALUES (:ticker_1, :ticker_2, :start_date, :end_date, :correlation, :method, :weekends)";
const SCRILLA_CORRELATION_QUERY: &str = "SELECT correlation FROM correlations WHERE ticker_1=:ticker_1 AND ticker_2=:ticker_2 AND start_date=date(:start_date) AND end_date=date(:end_date) AND method=:method AND weekends=:weekends";

fn scrilla_saves_a_correlation(path: &Path, value: f64) -> rusqlite::Result<()> {
    // A fresh connection per statement, (t1, t2) then (t2, t1), as scrilla does.
    for (a, b) in [("AAPL", "MSFT"), ("MSFT", "AAPL")] {
        let conn = Connection::open(path)?;
        conn.execute(
            SCRILLA_CORRELATION_INSERT,
            rusqlite::named_params! {
                ":ticker_1": a, ":ticker_2": b, ":start_date": "2022-08-05",
                ":end_date": "2022-12-28", ":correlation": value, ":method": "moments",
                ":weekends": 0,
            },
        )?;
    }
    Ok(())
}

fn scrilla_reads_the_correlation(path: &Path) -> Option<f64> {
    let conn = Connection::open(path).unwrap();
    conn.query_row(
        SCRILLA_CORRELATION_QUERY,
        rusqlite::named_params! {
            ":ticker_1": "AAPL", ":ticker_2": "MSFT", ":start_date": "2022-08-05",
            ":end_date": "2022-12-28", ":method": "moments", ":weekends": 0,
        },
        |r| r.get(0),
    )
    .optional()
    .unwrap()
}

#[tokio::test]
async fn scrilla_keeps_working_on_a_file_stratus_opened_and_its_rows_are_not_served() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.db");
    let store = SqliteStore::open(&path).unwrap();
    // scrilla saves the same correlation again and again (no upsert): never an
    // IntegrityError on a file Stratus has opened.
    scrilla_saves_a_correlation(&path, 0.68568).unwrap();
    scrilla_saves_a_correlation(&path, 0.68568).unwrap();
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute(
            "INSERT INTO profile (ticker, start_date, end_date, annual_return, annual_volatility, method, weekends)
             VALUES ('AAPL', '2020-01-02', '2020-12-31', 0.687, 0.45, 'moments', 0)",
            [],
        )
        .unwrap();
    }
    let key = CorrelationKey {
        ticker_1: "AAPL".into(),
        ticker_2: "MSFT".into(),
        start: "2022-08-05".parse().unwrap(),
        end: "2022-12-28".parse().unwrap(),
        method: Method::Moments,
        weekends: false,
    };
    let profile_key = ProfileKey {
        ticker: "AAPL".into(),
        start: "2020-01-02".parse().unwrap(),
        end: "2020-12-31".parse().unwrap(),
        method: Method::Moments,
        weekends: false,
    };
    // scrilla's numbers are not Stratus's: a miss, to be recomputed.
    assert_eq!(store.correlation(&key).await.unwrap(), None);
    assert_eq!(store.profile(&profile_key).await.unwrap(), None);
    assert!(store.all_correlations().await.unwrap().is_empty());
    // Stratus's result replaces scrilla's rows of that identity, and scrilla reads it.
    store.put_correlation(&key, 0.69117).await.unwrap();
    assert_eq!(store.correlation(&key).await.unwrap(), Some(0.69117));
    assert_eq!(scrilla_reads_the_correlation(&path), Some(0.69117));
    scrilla_saves_a_correlation(&path, 0.68568).unwrap();
    let record = ProfileRecord {
        annual_return: 0.68712,
        annual_volatility: 0.45,
        sharpe_ratio: None,
        asset_beta: None,
        equity_cost: None,
    };
    store.put_profile(&profile_key, &record).await.unwrap();
    assert_eq!(store.profile(&profile_key).await.unwrap(), Some(record));
}

#[test]
fn many_first_opens_of_one_new_file_all_succeed() {
    for _ in 0..25 {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new.db");
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(6));
        let openers: Vec<_> = (0..6)
            .map(|_| {
                let (path, barrier) = (path.clone(), std::sync::Arc::clone(&barrier));
                std::thread::spawn(move || {
                    barrier.wait();
                    SqliteStore::open(&path).map(|_| ())
                })
            })
            .collect();
        for opener in openers {
            opener.join().unwrap().unwrap();
        }
    }
}

#[tokio::test]
async fn a_version_1_file_loses_its_unique_correlation_index() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v1.db");
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(SCHEMA).unwrap();
        conn.execute_batch(MIGRATION_1).unwrap();
        conn.execute_batch(
            "CREATE UNIQUE INDEX correlation_identity
                 ON correlations(ticker_1, ticker_2, start_date, end_date, method, weekends);
             PRAGMA user_version = 1;",
        )
        .unwrap();
    }
    let _store = SqliteStore::open(&path).unwrap();
    scrilla_saves_a_correlation(&path, 0.5).unwrap();
    scrilla_saves_a_correlation(&path, 0.5).unwrap();
    let conn = Connection::open(&path).unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, SCHEMA_VERSION);
}

#[tokio::test]
async fn malformed_rows_are_reported_not_panicked_on() {
    let (_dir, store) = fresh();
    store
        .run(|c| {
            c.execute_batch("INSERT INTO prices VALUES ('X','not-a-date',1,2)")
                .map_err(query_failed)
        })
        .await
        .unwrap();
    store
        .run(|c| {
            c.execute_batch("INSERT INTO prices VALUES ('Y','2022-01-03',1,NULL)")
                .map_err(query_failed)
        })
        .await
        .unwrap();
    let err = store.tickers().await.unwrap_err();
    assert_eq!(err.kind, StoreErrorKind::Invalid);
    assert!(err.message.contains("not-a-date"));
    let err = store
        .prices(
            "Y",
            "2022-01-01".parse().unwrap(),
            "2022-12-31".parse().unwrap(),
        )
        .await
        .unwrap_err();
    assert!(err.message.contains("has no close"));
}

#[tokio::test]
async fn closes_report_malformed_rows_as_prices_does() {
    let (_dir, store) = fresh();
    store
        .run(|c| {
            c.execute_batch(
                "INSERT INTO prices VALUES ('Y','2022-01-03',1,NULL); \
                 INSERT INTO prices VALUES ('Z','2022-13-03',1,2);",
            )
            .map_err(query_failed)
        })
        .await
        .unwrap();
    let (start, end) = ("2022-01-01".parse().unwrap(), "2022-12-31".parse().unwrap());
    let err = store.closes("Y", start, end).await.unwrap_err();
    assert!(err.message.contains("Y 2022-01-03 has no close"), "{err}");
    // '2022-13-03' sorts inside the range as text; its month is impossible.
    let err = store
        .closes("Z", start, "2023-01-01".parse().unwrap())
        .await
        .unwrap_err();
    assert!(
        err.message.contains("malformed date \"2022-13-03\""),
        "{err}"
    );
}

#[test]
fn the_fast_date_reader_agrees_with_chrono() {
    let mut day = NaiveDate::from_ymd_opt(1800, 1, 1).unwrap();
    while chrono::Datelike::year(&day) < 2200 {
        let text = day.format("%Y-%m-%d").to_string();
        assert_eq!(parse_date("prices", &text).unwrap(), day);
        assert_eq!(
            parse_date("prices", &format!("{text} 00:00:00")).unwrap(),
            day
        );
        day += chrono::Duration::days(3);
    }
    for odd in [
        "2022-02-30",
        "2022-00-10",
        "2022-01-00",
        "2022-1-05",
        "2022/01/05",
        "20220105",
        "",
        "2022-01-0",
        "２０２２-01-05",
        "+2022-01-05",
        "-001-01-01",
        "2022-01-05x",
    ] {
        let chrono_reads = odd.get(..10).and_then(|t| t.parse::<NaiveDate>().ok());
        assert_eq!(parse_date("prices", odd).ok(), chrono_reads, "{odd:?}");
    }
}

#[tokio::test]
async fn a_bulk_write_leaves_no_write_ahead_log_behind() {
    let (dir, store) = fresh();
    let first = NaiveDate::from_ymd_opt(1990, 1, 1).unwrap();
    let rows: Vec<PriceRow> = (0..BULK_ROWS as i64)
        .map(|i| PriceRow {
            ticker: format!("T{}", i % 4),
            date: first + chrono::Duration::days(i / 4),
            open: Some(1.0),
            close: 2.0,
        })
        .collect();
    let wal = dir.path().join("cache.db-wal");
    store.put_prices(&rows[..10]).await.unwrap();
    let small = std::fs::metadata(&wal).map_or(0, |m| m.len());
    assert!(small > 0, "a small write stays in the log");
    store.put_prices(&rows).await.unwrap();
    assert_eq!(std::fs::metadata(&wal).map_or(0, |m| m.len()), 0);
    let back = store
        .closes(
            "T1",
            first,
            first + chrono::Duration::days(BULK_ROWS as i64),
        )
        .await
        .unwrap();
    assert_eq!(back.len(), BULK_ROWS / 4);
}
