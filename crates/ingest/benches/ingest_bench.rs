//! Ingest throughput and export cost, printed as a table (`cargo bench -p stratus-ingest`).
//!
//! * ingest: the full bundled price history (26 tickers, ~186 000 prices) and the Treasury
//!   yields, served by the mock provider over HTTP on 127.0.0.1 in AlphaVantage's and the
//!   Treasury's formats, fetched, parsed, validated and stored into a fresh SQLite file, then
//!   exported to a folder (the whole run, as `stratus ingest --full` does it);
//! * export: CSV generation and conditional writes of the full bundled history to a folder, and
//!   to S3 when STRATUS_TEST_S3 names a local S3-compatible server.

#![allow(clippy::print_stdout, missing_docs)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use stratus_app::Settings;
use stratus_ingest::records::{Record, to_csv};
use stratus_ingest::{Destination, IngestConfig, IngestOptions, SourceKind, ingest};
use stratus_providers::bundled;
use stratus_providers::mock::{MockData, MockServer};

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(run());
}

async fn run() {
    let prices = bundled::prices().expect("bundled prices");
    let yields = bundled::treasury_yields().expect("bundled yields");
    let mut by_ticker: BTreeMap<String, Vec<_>> = BTreeMap::new();
    for p in &prices {
        by_ticker
            .entry(p.ticker.clone())
            .or_default()
            .push(p.clone());
    }
    let tickers: Vec<String> = by_ticker.keys().cloned().collect();
    let mock = MockServer::start(MockData {
        prices: by_ticker,
        yields: yields.clone(),
        ..MockData::default()
    })
    .await
    .expect("mock server");

    let home = tempfile::tempdir().expect("temp dir");
    let mut env = BTreeMap::new();
    for (k, v) in [
        ("STRATUS_HOME", home.path().display().to_string()),
        ("STRATUS_PROVIDER", "alphavantage".to_string()),
        ("ALPHA_VANTAGE_KEY", "bench".to_string()),
        ("STRATUS_ALPHA_VANTAGE_URL", mock.alphavantage_url()),
        ("STRATUS_ALPHA_VANTAGE_RATE", "0".to_string()),
        ("STRATUS_TREASURY_URL", mock.treasury_url()),
        ("STRATUS_TODAY", "2025-07-14".to_string()),
    ] {
        env.insert(k.to_string(), v);
    }
    let settings = Settings::load(&|k| env.get(k).cloned()).expect("settings");
    let store = stratus_app::open_store(&settings).await.expect("store");
    let analytics = stratus_app::analytics(Arc::clone(&store), &settings);
    let quoted: Vec<String> = tickers.iter().map(|t| format!("{t:?}")).collect();
    let text = format!(
        "destination = \"x\"\n[[source]]\nname = \"equities\"\nprovider = \"alphavantage\"\nsymbols = [{}]\n\
         [[source]]\nname = \"treasury\"\nprovider = \"treasury\"\nlookback_days = 13000\n",
        quoted.join(", ")
    );
    let config = IngestConfig::parse("bench.toml", &text).expect("config");
    let out = home.path().join("exports");
    let destination = Destination::open(out.to_str().expect("utf-8"), &|_| None).expect("folder");
    let options = IngestOptions {
        run_date: "2025-07-14".parse().expect("date"),
        force: false,
        full: true,
    };
    let started = Instant::now();
    let report = ingest(
        &analytics,
        &settings.live,
        &config,
        &destination,
        &options,
        &|_| {},
    )
    .await
    .expect("ingest");
    let seconds = started.elapsed().as_secs_f64();
    let records: usize = report.sources.iter().map(|s| s.records).sum();
    let stored: usize = report.sources.iter().map(|s| s.stored).sum();
    let exported: usize = report.exports.iter().map(|e| e.bytes).sum();

    println!("| benchmark | records | time | rate / size |");
    println!("|---|---|---|---|");
    println!(
        "| ingest --full: mock AlphaVantage + Treasury over HTTP → validate → SQLite → CSV export ({} sources, {} HTTP calls) | {records} ({stored} stored) | {seconds:.2} s | {:.0} records/s |",
        report.sources.len(),
        mock.total_calls(),
        records as f64 / seconds
    );
    for s in &report.sources {
        println!(
            "| … source {} ({}) | {} | {:.2} s | {:.0} records/s |",
            s.name,
            s.status.label(),
            s.records,
            s.duration_seconds,
            s.records as f64 / s.duration_seconds
        );
    }
    println!(
        "| … its exports | {} objects | | {:.1} MiB |",
        report.exports.len(),
        exported as f64 / 1_048_576.0
    );

    // Export alone: the full bundled history as CSV, to a folder and (if configured) to S3.
    let mut price_rows: Vec<(String, Record)> = prices
        .iter()
        .map(|p| {
            (
                "bundled".to_string(),
                Record {
                    key: p.ticker.clone(),
                    date: p.date,
                    value: p.close,
                    open: p.open,
                },
            )
        })
        .collect();
    let mut yield_rows: Vec<(String, Record)> = yields
        .iter()
        .map(|y| {
            (
                "bundled".to_string(),
                Record {
                    key: y.maturity.name().to_string(),
                    date: y.date,
                    value: y.percent,
                    open: None,
                },
            )
        })
        .collect();
    let total = price_rows.len() + yield_rows.len();
    let mut destinations = vec![(
        "folder".to_string(),
        home.path().join("full").display().to_string(),
        BTreeMap::new(),
    )];
    if let Ok(endpoint) = std::env::var("STRATUS_TEST_S3") {
        let bucket = format!("stratus-bench-{}", std::process::id());
        if create_bucket(&endpoint, &bucket).await {
            let mut s3 = BTreeMap::new();
            for (k, v) in [
                ("AWS_ENDPOINT_URL_S3", endpoint.as_str()),
                ("AWS_REGION", "us-east-1"),
                ("AWS_ACCESS_KEY_ID", "bench"),
                ("AWS_SECRET_ACCESS_KEY", "bench"),
            ] {
                s3.insert(k.to_string(), v.to_string());
            }
            destinations.push((
                "S3 (moto, 127.0.0.1)".to_string(),
                format!("s3://{bucket}/full"),
                s3,
            ));
        }
    }
    for (label, url, env) in destinations {
        let destination = Destination::open(&url, &|k| env.get(k).cloned()).expect("destination");
        let started = Instant::now();
        let prices_csv = to_csv(SourceKind::Prices, &mut price_rows);
        let yields_csv = to_csv(SourceKind::Yields, &mut yield_rows);
        let csv_seconds = started.elapsed().as_secs_f64();
        let size = prices_csv.len() + yields_csv.len();
        destination
            .put("prices/prices-full.csv", prices_csv, true)
            .await
            .expect("put prices");
        destination
            .put("yields/yields-full.csv", yields_csv, true)
            .await
            .expect("put yields");
        let seconds = started.elapsed().as_secs_f64();
        println!(
            "| export full bundled history to {label} (CSV {csv_seconds:.2} s + writes) | {total} | {seconds:.2} s | {:.1} MiB |",
            size as f64 / 1_048_576.0
        );
    }
}

/// Creates a bucket on a local S3-compatible server (moto accepts unsigned requests).
async fn create_bucket(endpoint: &str, bucket: &str) -> bool {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = endpoint.trim_start_matches("http://").trim_end_matches('/');
    let Ok(mut stream) = tokio::net::TcpStream::connect(host).await else {
        return false;
    };
    let request = format!(
        "PUT /{bucket} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    let mut answer = String::new();
    stream.write_all(request.as_bytes()).await.is_ok()
        && stream.read_to_string(&mut answer).await.is_ok()
        && answer.starts_with("HTTP/1.1 200")
}
