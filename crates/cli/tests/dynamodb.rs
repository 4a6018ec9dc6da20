//! `CACHE_MODE=dynamodb` end to end through the real binary against DynamoDB Local: provision,
//! migrate from SQLite, identical results on both backends, status, the empty-store and
//! unreachable-endpoint messages, and the confirmation clear-cache needs. Skipped without
//! `STRATUS_TEST_DYNAMODB` (a failure under `CI=true`).

#![allow(clippy::print_stderr)] // skipping loudly is the point of the message

mod support;

use std::path::Path;

use stratus_store::{PriceRow, PriceStore, RateRow, RateStore};
use support::dynamo::{endpoint, prefix, stratus};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A small SQLite cache: four tickers and the 10-year yield over 2022, from the bundled data.
async fn small_sqlite(path: &Path) {
    let store = stratus_store_sqlite::SqliteStore::open(path).unwrap();
    let from: chrono::NaiveDate = "2022-01-01".parse().unwrap();
    let rows: Vec<PriceRow> = stratus_providers::bundled::prices()
        .unwrap()
        .into_iter()
        .filter(|p| p.date >= from && ["AAPL", "MSFT", "KO", "SP500"].contains(&p.ticker.as_str()))
        .map(|p| PriceRow {
            ticker: p.ticker,
            date: p.date,
            open: p.open,
            close: p.close,
        })
        .collect();
    store.put_prices(&rows).await.unwrap();
    let rates: Vec<RateRow> = stratus_providers::bundled::treasury_yields()
        .unwrap()
        .into_iter()
        .filter(|y| y.date >= from && y.maturity == stratus_core::Maturity::TenYear)
        .map(|y| RateRow {
            maturity: y.maturity,
            date: y.date,
            percent: y.percent,
        })
        .collect();
    store.put_rates(&rates).await.unwrap();
}

#[tokio::test]
async fn migrate_then_identical_results_on_both_backends() {
    let Some(url) = endpoint() else { return };
    let home = tempfile::tempdir().unwrap();
    let p = prefix();
    small_sqlite(&home.path().join("stratus.db")).await;

    // Before provisioning: a clear message naming the command that fixes it.
    let missing = stratus(home.path(), &url, &p, "dynamodb", &["rp", "AAPL"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        text(&missing.stderr).contains("stratus cache provision"),
        "{}",
        text(&missing.stderr)
    );

    let provision = stratus(
        home.path(),
        &url,
        &p,
        "dynamodb",
        &["cache", "provision", "--json"],
    );
    assert!(provision.status.success(), "{}", text(&provision.stderr));
    let empty = stratus(home.path(), &url, &p, "dynamodb", &["rp", "AAPL"]);
    assert_eq!(empty.status.code(), Some(2));
    assert!(
        text(&empty.stderr).contains("cache migrate --from sqlite --to STORE"),
        "{}",
        text(&empty.stderr)
    );

    let migrate = stratus(
        home.path(),
        &url,
        &p,
        "sqlite",
        &[
            "cache", "migrate", "--from", "sqlite", "--to", "dynamodb", "--json",
        ],
    );
    assert!(migrate.status.success(), "{}", text(&migrate.stderr));
    let report: serde_json::Value = serde_json::from_slice(&migrate.stdout).unwrap();
    assert_eq!(report["verified"], true);
    let again = stratus(
        home.path(),
        &url,
        &p,
        "sqlite",
        &[
            "cache", "migrate", "--from", "sqlite", "--to", "dynamodb", "--json",
        ],
    );
    let again: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(again["prices"]["written"], 0, "a rerun rewrites nothing");
    assert_eq!(again["prices"]["skipped"], report["prices"]["source"]);

    for args in [
        vec!["rp", "AAPL", "MSFT", "KO", "--json"],
        vec![
            "cor",
            "AAPL",
            "MSFT",
            "KO",
            "--method",
            "percentiles",
            "--json",
        ],
        vec!["opt", "AAPL", "MSFT", "KO", "--sharpe", "--json"],
        vec!["var", "AAPL", "--prob", "0.05", "--expiry", "0.5", "--json"],
    ] {
        let sqlite = stratus(home.path(), &url, &p, "sqlite", &args);
        let dynamo = stratus(home.path(), &url, &p, "dynamodb", &args);
        assert!(
            sqlite.status.success() && dynamo.status.success(),
            "{}",
            text(&dynamo.stderr)
        );
        assert_eq!(
            text(&sqlite.stdout),
            text(&dynamo.stdout),
            "{args:?} differs between backends"
        );
    }

    let status = stratus(
        home.path(),
        &url,
        &p,
        "dynamodb",
        &["cache", "status", "--json"],
    );
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["backend"], "dynamodb");
    assert_eq!(status["items"]["prices"], report["prices"]["source"]);
    // The default reads DynamoDB's own item counts; --exact counts every item.
    assert!(
        status["location"].as_str().unwrap().contains("refreshed"),
        "{status}"
    );
    let exact = stratus(
        home.path(),
        &url,
        &p,
        "dynamodb",
        &["cache", "status", "--exact", "--json"],
    );
    let exact: serde_json::Value = serde_json::from_slice(&exact.stdout).unwrap();
    assert_eq!(exact["items"]["prices"], report["prices"]["source"]);
    assert!(
        !exact["location"].as_str().unwrap().contains("refreshed"),
        "{exact}"
    );

    let unconfirmed = stratus(home.path(), &url, &p, "dynamodb", &["clear-cache"]);
    assert_eq!(unconfirmed.status.code(), Some(2));
    assert!(text(&unconfirmed.stderr).contains("--yes"));
    let cleared = stratus(home.path(), &url, &p, "dynamodb", &["clear-cache", "--yes"]);
    assert!(cleared.status.success(), "{}", text(&cleared.stderr));
}

#[test]
fn an_unreachable_dynamodb_is_one_line_and_exit_1() {
    let Some(_) = endpoint() else { return };
    let home = tempfile::tempdir().unwrap();
    let out = stratus(
        home.path(),
        "http://127.0.0.1:9",
        &prefix(),
        "dynamodb",
        &["rp", "AAPL"],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("cannot reach DynamoDB at http://127.0.0.1:9")
            && err.contains("AWS_ENDPOINT_URL"),
        "{err}"
    );
}
