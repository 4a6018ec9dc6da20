//! A migration whose DynamoDB dies half-way, then comes back: the rerun completes, loses nothing
//! and duplicates nothing.
//!
//! The test runs a DynamoDB Local of its own (from `STRATUS_DYNAMODB_LOCAL_JAR`, which `.ci/run`
//! exports), disk-backed so that what was written survives the kill, and kills it with SIGKILL
//! from the migration's progress callback at a fixed point, so the cut is the same on every run.
//! Skipped without the jar, except under `CI=true`, where a missing jar fails.

#![allow(clippy::print_stderr)]

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::config::{Credentials, Region};
use stratus_app::migrate::migrate;
use stratus_store::{PriceRow, PriceStore, RateRow, RateStore, Store, StoreErrorKind};
use stratus_store_dynamodb::{Billing, DynamoSettings, DynamoStore};
use stratus_store_sqlite::SqliteStore;

const TICKERS: usize = 10;
const DAYS: usize = 300;
/// The emulator dies when the migration reaches this ticker.
const KILL_AT: u64 = 4;

fn jar() -> Option<PathBuf> {
    match std::env::var("STRATUS_DYNAMODB_LOCAL_JAR") {
        Ok(path) if !path.is_empty() => Some(PathBuf::from(path)),
        _ if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("CI=true but STRATUS_DYNAMODB_LOCAL_JAR is not set (see .ci/run)")
        }
        _ => {
            eprintln!(
                "SKIPPED: the kill-and-restart test needs STRATUS_DYNAMODB_LOCAL_JAR=/path/to/DynamoDBLocal.jar"
            );
            None
        }
    }
}

/// A disk-backed DynamoDB Local on `port`, ready for requests.
fn start_emulator(jar: &Path, data: &Path, port: u16) -> Child {
    let dir = jar.parent().expect("the jar's folder");
    let child = Command::new("java")
        .current_dir(dir)
        .arg(format!(
            "-Djava.library.path={}",
            dir.join("DynamoDBLocal_lib").display()
        ))
        .arg("-jar")
        .arg(jar)
        .args(["-sharedDb", "-dbPath"])
        .arg(data)
        .args(["-port", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("java runs DynamoDB Local");
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "DynamoDB Local did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    child
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

async fn dynamo(port: u16) -> DynamoStore {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(format!("http://127.0.0.1:{port}"))
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("local", "local", None, None, "tests"))
        .load()
        .await;
    DynamoStore::with_config(&config, &DynamoSettings::default())
        .await
        .expect("connect")
}

fn source(path: &Path) -> SqliteStore {
    SqliteStore::open(path).expect("a SQLite source")
}

async fn fill(store: &SqliteStore) -> (u64, u64) {
    let start: chrono::NaiveDate = "2020-01-02".parse().unwrap();
    let mut prices = Vec::new();
    for t in 0..TICKERS {
        for day in 0..DAYS {
            prices.push(PriceRow {
                ticker: format!("TK{t:02}"),
                date: start + chrono::Days::new(day as u64),
                open: Some(50.0 + (t * DAYS + day) as f64 * 0.01),
                close: 51.0 + (t * DAYS + day) as f64 * 0.01,
            });
        }
    }
    let rates: Vec<RateRow> = (0..DAYS)
        .map(|day| RateRow {
            maturity: stratus_core::Maturity::TenYear,
            date: start + chrono::Days::new(day as u64),
            percent: 1.5 + day as f64 * 0.001,
        })
        .collect();
    store.put_prices(&prices).await.unwrap();
    store.put_rates(&rates).await.unwrap();
    (prices.len() as u64, rates.len() as u64)
}

#[tokio::test]
async fn killed_emulator_mid_migration_then_rerun_completes_without_loss_or_duplicates() {
    let Some(jar) = jar() else { return };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("dynamodb");
    std::fs::create_dir_all(&data).unwrap();
    let from = source(&dir.path().join("source.db"));
    let (prices, rates) = fill(&from).await;
    let port = free_port();

    let emulator = Mutex::new(Some(start_emulator(&jar, &data, port)));
    let to = dynamo(port).await;
    to.provision(Billing::OnDemand).await.unwrap();
    let kill_at_fifth_ticker = |stage: &str, done: u64, _total: u64| {
        if stage == "prices"
            && done == KILL_AT
            && let Some(mut child) = emulator.lock().unwrap().take()
        {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    };
    let error = migrate(&from, &to, &kill_at_fifth_ticker)
        .await
        .expect_err("the emulator died mid-migration");
    assert!(
        error.to_string().contains("cannot reach DynamoDB"),
        "one clear message: {error}"
    );
    assert!(
        matches!(&error, stratus_analytics::AppError::Store(e) if e.kind == StoreErrorKind::Unavailable),
        "{error:?}"
    );

    // Back on the same data: the rerun skips what landed before the kill and writes the rest.
    let mut child = start_emulator(&jar, &data, port);
    let to = dynamo(port).await;
    let report = migrate(&from, &to, &|_: &str, _: u64, _: u64| {}).await;
    let status = to.status().await;
    child.kill().unwrap();
    child.wait().unwrap();
    let report = report.unwrap();
    let per_ticker = DAYS as u64;
    assert_eq!(report.prices.source, prices);
    assert_eq!(report.prices.skipped, KILL_AT * per_ticker, "{report:?}");
    assert_eq!(report.prices.written, prices - KILL_AT * per_ticker);
    assert_eq!(report.interest.source, rates);
    assert!(report.verified, "{:?}", report.mismatch);
    // Every item once: the target's counts are the source's.
    let status = status.unwrap();
    assert_eq!((status.prices, status.rates), (prices, rates));
}
